#!/usr/bin/env bash
# What a person sees on a terminal, driven through tmux (send-keys,
# capture-pane): the choice among several boards, progress bars that fit the
# width, the serial monitor and its Ctrl-].
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tmux.sh"
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

finish
