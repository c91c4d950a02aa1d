#!/usr/bin/env bash
# `espprov flash info` against RFC 2217 servers that misbehave on purpose
# (espsim --hostile): each run must end on its own, within what the
# configured timeouts allow, with an error that says what went wrong, and
# without holding more memory than a normal run. Each run is also capped by
# `timeout` so a hang fails the test instead of stalling the suite.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../espsim.sh"

TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
    fail "GNU time" "$TIME is missing (Debian package 'time'; .ci/deps test installs it)"
    finish
    exit
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run_hostile MODE: flash info against a fresh `espsim --hostile MODE`; sets
# rc (exit status), ms (wall time), kb (espprov's peak RSS) and leaves its
# stderr in $T_TMP/err.
run_hostile() {
    start_espsim "h_${1//-/_}" --chip esp32 --flash "$T_TMP/$1.bin" --rfc2217 0 --hostile "$1" || return 1
    local port
    port=$(eval "echo \$h_${1//-/_}_RFC2217")
    local t0
    t0=$(now_ms)
    timeout 60 "$TIME" -o "$T_TMP/rss" -f '%M' \
        "$ESPPROV" flash info -p "rfc2217://127.0.0.1:$port" >"$T_TMP/out" 2>"$T_TMP/err"
    rc=$?
    ms=$(($(now_ms) - t0))
    kb=$(tail -n 1 "$T_TMP/rss" 2>/dev/null)
    case "$kb" in '' | *[!0-9]*) kb=999999999 ;; esac
    stop_espsim "h_${1//-/_}"
}

# The baseline: a server that answers and a board that talks.
start_espsim good --chip esp32 --flash "$T_TMP/good.bin" --rfc2217 0
t0=$(now_ms)
$TIME -o "$T_TMP/rss" -f '%M' "$ESPPROV" flash info -p "rfc2217://127.0.0.1:$good_RFC2217" \
    >"$T_TMP/out" 2>"$T_TMP/err"
assert "a well-behaved server works (exit 0)" [ $? -eq 0 ]
base_kb=$(tail -n 1 "$T_TMP/rss")
stop_espsim good
# Peak memory allowed in the hostile runs: the baseline plus the 1 MiB
# receive buffer and its doubling, with room for the allocator.
max_kb=$((base_kb + 16 * 1024))

# Telnet NOPs, forever, instead of serial data: every wait ends at its
# deadline. 7 connect rounds of a reset (<= 0.7 s) and five 100 ms SYNC
# waits come to about 7 s; 20 s leaves room for a loaded machine.
run_hostile nop-stream
assert "nop-stream: fails (exit 1), does not hang (exit 124)" [ "$rc" -eq 1 ]
assert "nop-stream: says no serial data came" grep -q "rfc2217://127.0.0.1:[0-9]*: no serial data received" "$T_TMP/err"
assert "nop-stream: ends within the connect budget (took ${ms} ms)" [ "$ms" -lt 20000 ]
assert "nop-stream: bounded memory (${kb} kB, baseline ${base_kb} kB)" [ "$kb" -lt "$max_kb" ]

# A subnegotiation that never ends, once data flows: a protocol error as
# soon as it passes 1 KiB, not a wait.
run_hostile endless-sb
assert "endless-sb: fails (exit 1)" [ "$rc" -eq 1 ]
assert "endless-sb: names the endless subnegotiation" grep -q "the server sent a telnet subnegotiation of over 1024 bytes while we waited for .*: is it an RFC 2217 server?" "$T_TMP/err"
assert "endless-sb: hints at the server's configuration" grep -q "^hint: check that HOST:PORT is an RFC 2217 server" "$T_TMP/err"
assert "endless-sb: ends before any 3 s answer timeout (took ${ms} ms)" [ "$ms" -lt 3000 ]
assert "endless-sb: bounded memory (${kb} kB)" [ "$kb" -lt "$max_kb" ]

# Data instead of an answer to the option negotiation: the receive buffer
# stops at 1 MiB with an error (it grew to hundreds of MB before).
run_hostile flood
assert "flood: fails (exit 1)" [ "$rc" -eq 1 ]
assert "flood: names the flood and the wait" grep -q "the server sent over 1048576 bytes of serial data while we waited for its answer to the option negotiation: is it an RFC 2217 server?" "$T_TMP/err"
assert "flood: ends before the 3 s negotiation timeout (took ${ms} ms)" [ "$ms" -lt 3000 ]
assert "flood: bounded memory (${kb} kB, baseline ${base_kb} kB)" [ "$kb" -lt "$max_kb" ]
finish
