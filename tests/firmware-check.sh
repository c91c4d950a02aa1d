#!/usr/bin/env bash
# Cross-compiles the firmware's portable config parser for the ESP8266 core
# (xtensa-lx106, picolibc) so it is known to build for the target.
set -uo pipefail
src=$(ls firmware/espprov_client/src/*.c 2>/dev/null || true)
if [ -z "$src" ]; then
    echo "FAIL firmware-check: no firmware sources under firmware/espprov_client/src"
    exit 1
fi
out=${BUILD:-build}/firmware-xtensa
mkdir -p "$out"
status=0
for f in $src; do
    o="$out/$(basename "$f" .c).o"
    if xtensa-lx106-elf-gcc -std=c11 -Os -Wall -Wextra -Werror -mlongcalls \
        --specs=picolibc.specs -Ifirmware/espprov_client/src -c "$f" -o "$o" 2>"$o.log"; then
        echo "PASS firmware-check $(basename "$f") builds for xtensa-lx106"
    else
        echo "FAIL firmware-check $(basename "$f"): $(head -c 600 "$o.log")"
        status=1
    fi
done
exit $status
