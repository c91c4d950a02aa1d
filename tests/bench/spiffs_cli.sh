#!/usr/bin/env bash
# `make bench`: end-to-end `espprov spiffs` on a 14 MiB ESP8266 image holding 10 MiB
# (read the folder, build, write + fsync; list with parameter detection).
# Medians of 11 runs, wall clock.
. "$(dirname "$0")/../lib.sh"
cd "$T_TMP" || exit 1
mkdir -p in
for i in $(seq 1 40); do head -c 262144 /dev/urandom >"in/file-$i.bin"; done
median_ms() {
    local runs=()
    for _ in $(seq 1 11); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1 || { echo "FAIL $*"; return 1; }
        t1=$(date +%s%N)
        runs+=($(( (t1 - t0) / 1000 )))
    done
    printf '%s\n' "${runs[@]}" | sort -n | sed -n 6p | awk '{printf "%.1f", $1 / 1000}'
}
build=$(median_ms "$ESPPROV" spiffs build --preset esp8266-arduino --size 0xDFA000 -o img.bin in)
list=$(median_ms "$ESPPROV" spiffs list img.bin)
check=$(median_ms "$ESPPROV" spiffs check --preset esp8266-arduino img.bin)
echo "espprov spiffs, 14 MiB (0xDFA000) ESP8266 image with 10 MiB in 40 files, median of 11:"
echo "  build (read folder, build, write + fsync): ${build} ms"
echo "  list with parameter detection:             ${list} ms"
echo "  check:                                     ${check} ms"
echo "command: make bench (tests/bench/spiffs_cli.sh)"
