#!/usr/bin/env bash
# What a person sees on a terminal, driven through tmux (send-keys,
# capture-pane): the choice among several boards, progress bars that fit the
# width, the serial monitor and its Ctrl-].
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tmux.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"
data="$(cd "$(dirname "$0")/../data/umockdev" && pwd)"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
cd "$T_TMP" || exit 1
unset ESPPROV_PORT

# ----- no -p, one board: it is used, and said which
check_fails "one board: flash info without -p goes to it (a fake tty: fails there)" 1 \
    umockdev-run -d "$data/cp2102.umockdev" -- "$ESPPROV" flash info
assert "one board: says which" \
    grep -q 'using /dev/ttyUSB0 (Silicon Labs CP210x USB-UART, the only board plugged in)' "$T_TMP/err"
assert "one board: and then talks to it" grep -q "'/dev/ttyUSB0'" "$T_TMP/err"
check_fails "several boards, no terminal: refused" 2 umockdev-run -d "$data/hub.umockdev" \
    -d "$data/cp2102.umockdev" -d "$data/ch340.umockdev" -- "$ESPPROV" flash info
assert "several boards, no terminal: listed" \
    sh -c "grep -q '2 boards are plugged in; say which with -p' '$T_TMP/err' &&
           grep -q '2) /dev/ttyUSB1 .*CH340' '$T_TMP/err'"
check_fails "no board: the usage error says how to give one" 2 \
    umockdev-run -d "$data/keyboard.umockdev" -- "$ESPPROV" flash info
assert "no board: names -p and ESPPROV_PORT" grep -q 'give -p/--port or set ESPPROV_PORT' "$T_TMP/err"

# ----- no -p, several boards: a numbered list and a question
tmux_start 100 20 umockdev-run -d "$data/hub.umockdev" -d "$data/cp2102.umockdev" \
    -d "$data/ch340.umockdev" -- "$ESPPROV" flash info
assert "several boards: the question is asked" tmux_wait 10 'which one\? \[1-2\]'
assert "several boards: both are listed with their adapters" \
    sh -c "tmux -L '$TMUX_SOCK' capture-pane -p -t t | grep -q '1) /dev/ttyUSB0 .*CP210x' &&
           tmux -L '$TMUX_SOCK' capture-pane -p -t t | grep -q '2) /dev/ttyUSB1 .*CH340'"
tmux_keys 2 Enter
assert "several boards: the answer picks the second" tmux_wait 10 'using /dev/ttyUSB1 \(WCH CH340'
tmux_wait_exit 20
assert "several boards: then it goes on to that port (a fake tty here: fails)" [ "$TMUX_RC" = 1 ]

# ----- progress: lines every few seconds in a log, a bar that fits a terminal
sim_start slow esp32 --pace --mac 24:0a:c4:00:00:55
mkrandom "$T_TMP/rnd.bin" 49152 rnd
check "a long write into a log" env ESPPROV_PROGRESS_SECONDS=1 "$ESPPROV" flash write \
    -p "$T_TMP/slow.port" -b 115200 --no-compress 0x100000 "$T_TMP/rnd.bin"
assert "the log gets progress lines while it runs, not only start and end" \
    [ "$(grep -Ec '^writing 0x00100000: [0-9]+%, .* of 48.0 KiB, [0-9.]+ KiB/s$' "$T_TMP/err")" -ge 2 ]
assert "... and the end line" grep -q '^writing 0x00100000: done, 48.0 KiB in ' "$T_TMP/err"
for w in 100 44; do
    tmux_start "$w" 10 "$ESPPROV" flash write -p "$T_TMP/slow.port" -b 115200 --no-compress \
        0x140000 "$T_TMP/rnd.bin"
    tmux_wait 20 'writing 0x00140000.* [0-9]+%' >/dev/null
    line=$(tmux_screen | grep 'writing 0x00140000' | head -1)
    assert "a ${w}-column terminal: the bar line keeps its percentage" \
        sh -c "printf '%s' '$line' | grep -Eq ' [0-9]+%'"
    assert "a ${w}-column terminal: the bar line fits (${#line} columns)" [ "${#line}" -lt "$w" ]
    if [ "$w" -ge 80 ]; then
        assert "a ${w}-column terminal: with a bar and the rate" \
            sh -c "printf '%s' '$line' | grep -Eq 'writing 0x00140000 \[#* *\] +[0-9]+% .*KiB/s'"
    fi
    tmux_wait_exit 30
done
tmux_stop

# ----- the serial console: over RFC 2217 the reset travels too
sim_start m esp32 --rfc2217 0 --mac 24:0a:c4:00:00:77
M="rfc2217://$(sed -n 's/^rfc2217 //p' "$T_TMP/m.out")"
check "a bootloader and app to boot" "$ESPPROV" flash write -p "$M" \
    0x1000 "$FW_DIR/demo-esp32-bootloader.bin" 0x10000 "$FW_DIR/demo-esp32-app.bin"
check "monitor --seconds (no terminal) over RFC 2217" "$ESPPROV" monitor -p "$M" --seconds 3
assert "monitor: it reset the board and showed the boot log" \
    sh -c "grep -q 'rst:0x1 (POWERON_RESET),boot:0x13' '$T_TMP/out' &&
           grep -q 'app running on esp32, MAC 24:0a:c4:00:00:77' '$T_TMP/out'"
check "monitor --no-reset shows nothing new" "$ESPPROV" monitor -p "$M" --no-reset --seconds 1
assert "monitor --no-reset: no boot log" sh -c "! grep -q 'rst:' '$T_TMP/out'"
tmux_start 100 30 "$ESPPROV" monitor -p "$M"
assert "monitor on a terminal: the boot log" tmux_wait 15 'app running on esp32, MAC 24:0a:c4:00:00:77'
assert "monitor on a terminal: says how to leave" tmux_wait 2 'Ctrl-\] to leave'
tmux_keys C-]
assert "Ctrl-] leaves" tmux_wait_exit 10
assert "Ctrl-] leaves with status 0" [ "$TMUX_RC" = 0 ]
assert "Ctrl-] says it left" tmux_wait 2 'left the monitor'

# provision --monitor: the console of the last board, after the batch.
pv_profile e32.json mon esp32 '{ "offset": "0x290000", "size": "0x40000" }'
check "ca init" "$ESPPROV" ca init -P "$T_TMP/e32.json"
tmux_start 120 40 "$ESPPROV" provision -P "$T_TMP/e32.json" -p "$M" --monitor
assert "provision --monitor: provisions, then shows the board's console" \
    tmux_wait 60 'app running on esp32, MAC 24:0a:c4:00:00:77'
assert "provision --monitor: the result line came first" \
    sh -c "tmux -L '$TMUX_SOCK' capture-pane -p -t t | grep -q 'dev-240ac4000077.*provisioned'"
tmux_keys C-]
assert "provision --monitor: Ctrl-] leaves" tmux_wait_exit 10
assert "provision --monitor: status 0" [ "$TMUX_RC" = 0 ]
# ledger list: columns stay aligned with a long port name (rfc2217://...).
sim_start z esp32 --mac 24:0a:c4:00:00:7a
check "a second board on a short port" "$ESPPROV" provision -P "$T_TMP/e32.json" -p "$T_TMP/z.port"
check "ledger list" "$ESPPROV" ledger list -P "$T_TMP/e32.json"
assert "ledger list: both rows" [ "$(grep -c provisioned "$T_TMP/out")" -eq 2 ]
assert "ledger list: STATUS starts in the same column on every line" \
    [ "$(awk 'NR == 1 { print index($0, "STATUS"); next } { print index($0, "provisioned") }' "$T_TMP/out" | sort -u | wc -l)" -eq 1 ]
assert "ledger list: MAC too" \
    [ "$(awk 'NR == 1 { print index($0, "MAC"); next } { print index($0, "24:0a:c4") }' "$T_TMP/out" | sort -u | wc -l)" -eq 1 ]
# A job's progress: lines every few seconds in a log; on a terminal a line in
# the result line's column order (port, id, MAC) that fits the width.
sim_start slowp esp32 --pace --mac 24:0a:c4:00:00:56
check "provision into a log" env ESPPROV_PROGRESS_SECONDS=0.5 "$ESPPROV" provision \
    -P "$T_TMP/e32.json" -p "$T_TMP/slowp.port" --baud 115200
assert "the log gets write progress lines while it runs" \
    [ "$(grep -Ec 'slowp.port: write [0-9]+%, .* of ' "$T_TMP/err")" -ge 2 ]
tmux_start 120 10 "$ESPPROV" provision -P "$T_TMP/e32.json" -p "$T_TMP/slowp.port" --baud 115200 \
    --reprovision renew
tmux_wait 60 'slowp.port .* write .*[0-9]+%' >/dev/null
line=$(tmux_screen | grep 'slowp.port .* write ' | head -1)
assert "a job's progress line: port, id, MAC, phase, bar, percentage" \
    sh -c "printf '%s' '$line' | grep -Eq 'slowp.port +dev-240ac4000056 +24:0a:c4:00:00:56 +write +\[[#-]+\] +[0-9]+%'"
assert "a job's progress line fits (${#line} of 120 columns)" [ "${#line}" -lt 120 ]
tmux_wait_exit 60
assert "the result line: the same column order" \
    sh -c "tmux -L '$TMUX_SOCK' capture-pane -p -t t | grep -Eq 'slowp.port +dev-240ac4000056 +24:0a:c4:00:00:56 +provisioned'"
check_fails "provision --monitor with --watch" 2 "$ESPPROV" provision -P "$T_TMP/e32.json" --watch --monitor

finish
