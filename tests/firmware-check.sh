#!/usr/bin/env bash
# Cross-compiles the firmware's portable config module for the ESP8266
# (xtensa-lx106, Debian's gcc-xtensa-lx106 + picolibc) so it is known to build
# for the target, and checks what matters on a 4 KB-stack, ~40 KB-heap chip:
#   - every source builds with -Werror as C11 and as gnu99 (the C dialect of
#     older ESP8266/ESP32 Arduino cores), with the core's code-generation flags
#   - the public header compiles as C++11 (the sketch is C++)
#   - the objects reference no libc beyond mem*/str* (no malloc, no stdio)
#   - the worst-case stack depth of fwc_parse(), from GCC's call-graph info
# Prints PASS/FAIL lines (tests/run.sh contract).
set -uo pipefail

CC=${XTENSA_CC:-xtensa-lx106-elf-gcc}
CXX=${XTENSA_CXX:-xtensa-lx106-elf-g++}
NM=${XTENSA_NM:-xtensa-lx106-elf-nm}
SIZE=${XTENSA_SIZE:-xtensa-lx106-elf-size}
STACK_LIMIT=${FW_STACK_LIMIT:-1024}
srcdir=firmware/espprov_client/src
out=${BUILD:-build}/firmware-xtensa

src=$(ls $srcdir/*.c 2>/dev/null || true)
if [ -z "$src" ]; then
    echo "FAIL firmware-check: no firmware sources under $srcdir"
    exit 1
fi
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "FAIL firmware-check: $CC not found (install with: .ci/deps firmware)"
    exit 1
fi
# Debian installs the specs file outside gcc's search path.
specs=""
for cand in "$($CC -print-file-name=picolibc.specs)" /usr/lib/xtensa-lx106-elf/picolibc.specs \
    /usr/lib/picolibc/xtensa-lx106-elf/picolibc.specs; do
    if [ -f "$cand" ]; then
        specs=$cand
        break
    fi
done
if [ -z "$specs" ]; then
    echo "FAIL firmware-check: picolibc.specs for xtensa-lx106-elf not found (.ci/deps firmware)"
    exit 1
fi

rm -rf "$out"
mkdir -p "$out/c11" "$out/gnu99"
status=0

# Code generation as the ESP8266 Arduino core's platform.txt sets it: call0 ABI
# is the lx106 default; -mlongcalls because flash code (irom0) and IRAM are too
# far apart for direct CALL0; literals interleaved with the code they serve.
target_flags="-Os -mlongcalls -mtext-section-literals -falign-functions=4
    -ffunction-sections -fdata-sections --specs=$specs -I$srcdir"
warn_flags="-Wall -Wextra -Wpedantic -Werror -Wshadow -Wcast-qual -Wwrite-strings -Wundef
    -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wpointer-arith -Wformat=2"

for f in $src; do
    name=$(basename "$f" .c)
    # shellcheck disable=SC2086
    if $CC -std=c11 $target_flags $warn_flags -fstack-usage -fcallgraph-info=su \
        -c "$f" -o "$out/c11/$name.o" 2>"$out/c11/$name.log"; then
        echo "PASS firmware-check $name.c builds for xtensa-lx106 (C11, -Werror)"
    else
        echo "FAIL firmware-check $name.c (C11): $(head -c 600 "$out/c11/$name.log")"
        status=1
    fi
    # shellcheck disable=SC2086
    if $CC -std=gnu99 $target_flags -Wall -Wextra -Werror -c "$f" -o "$out/gnu99/$name.o" \
        2>"$out/gnu99/$name.log"; then
        echo "PASS firmware-check $name.c builds for xtensa-lx106 (gnu99, -Werror)"
    else
        echo "FAIL firmware-check $name.c (gnu99): $(head -c 600 "$out/gnu99/$name.log")"
        status=1
    fi
done
[ "$status" -eq 0 ] || exit 1

# The sketch includes the header from C++ (extern "C", no C-only syntax).
printf '#include "fwconfig.h"\nstatic fwc_config cfg;\nint probe();\nint probe() { fwc_error e; return fwc_parse("{}", 2, &cfg, &e); }\n' \
    >"$out/header_probe.cpp"
if command -v "$CXX" >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    if $CXX -std=c++11 -Os -mlongcalls -fno-exceptions -fno-rtti -Wall -Wextra -Werror \
        -I$srcdir -c "$out/header_probe.cpp" -o "$out/header_probe.o" 2>"$out/header_probe.log"; then
        echo "PASS firmware-check fwconfig.h compiles as C++11 for xtensa-lx106"
    else
        echo "FAIL firmware-check fwconfig.h as C++11: $(head -c 600 "$out/header_probe.log")"
        status=1
    fi
fi

# No heap, no stdio: only mem*/str* from libc and compiler helpers (__*).
extra=$($NM -u "$out"/c11/*.o | awk '{print $2}' | sort -u |
    grep -v -E '^(mem|str)[a-z]+$|^__' |
    grep -v -x -F -f <($NM --defined-only -g "$out"/c11/*.o | awk 'NF==3{print $3}') || true)
if [ -z "$extra" ]; then
    echo "PASS firmware-check links against mem*/str* only (no malloc, no stdio)"
else
    echo "FAIL firmware-check uses libc beyond mem*/str*: $(echo $extra)"
    status=1
fi

# Worst-case stack of fwc_parse over the static call graph. Defined functions
# carry their frame size; library leaves (mem*, str*) count as 0. The only
# recursion (object -> nested object) is two levels deep by the contract, so
# a function may appear at most twice on a path.
worst=$(cat "$out"/c11/*.ci | awk '
    function title(s) { match(s, /title: "[^"]*"/); return substr(s, RSTART + 8, RLENGTH - 9) }
    function field(s, key,   m) {
        match(s, key ": \"[^\"]*\""); m = substr(s, RSTART, RLENGTH)
        sub(key ": \"", "", m); sub(/"$/, "", m); return m
    }
    /^node:/ {
        t = title($0)
        if (match($0, /[0-9]+ bytes/)) { size[t] = substr($0, RSTART, RLENGTH) + 0 }
        if ($0 ~ /dynamic/) { dyn[t] = 1 }
    }
    /^edge:/ { e = field($0, "sourcename"); calls[e] = calls[e] " " field($0, "targetname") }
    function deepest(f,   best, n, i, d, callees) {
        if (on_path[f] >= 2) return 0
        if (dyn[f]) dynamic_seen = 1
        on_path[f]++
        best = 0
        n = split(calls[f], callees, " ")
        for (i = 1; i <= n; i++) { d = deepest(callees[i]); if (d > best) best = d }
        on_path[f]--
        return size[f] + best
    }
    END { d = deepest("fwc_parse"); print d (dynamic_seen ? " dynamic" : "") }')
if [ -n "$worst" ] && [ "${worst% dynamic}" = "$worst" ] && [ "$worst" -gt 0 ] &&
    [ "$worst" -le "$STACK_LIMIT" ]; then
    echo "PASS firmware-check fwc_parse worst-case stack $worst bytes (limit $STACK_LIMIT; ESP8266 loop stack 4096)"
else
    echo "FAIL firmware-check fwc_parse worst-case stack '$worst' (limit $STACK_LIMIT bytes, no dynamic frames)"
    status=1
fi

# shellcheck disable=SC2086
$SIZE -t "$out"/c11/*.o | tail -n 1 |
    awk '{printf "info: xtensa-lx106 code %d bytes, data %d, bss %d (before --gc-sections)\n", $1, $2, $3}'
exit $status
