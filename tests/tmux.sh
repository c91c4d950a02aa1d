# tmux helpers for tests of what a person sees on a terminal. Source after
# tests/lib.sh:
#
#   . "$(dirname "$0")/../tmux.sh"
#   tmux_start 100 30 "$ESPPROV" flash info    # a WIDTHxHEIGHT terminal running the command
#   tmux_wait 'which one'                       # until the screen shows that (ERE)
#   tmux_keys 2 Enter                           # type
#   tmux_screen                                 # the screen, one line per row
#   tmux_wait_exit                              # until the command ended; TMUX_RC its status
#
# Every test gets its own tmux server (-L), killed at exit.
TMUX_SOCK="espprov-test-$$"
TMUX_RC=""

tmux_available() { command -v tmux >/dev/null 2>&1; }

tmux_stop() { tmux -L "$TMUX_SOCK" kill-server 2>/dev/null; }

# tmux_start WIDTH HEIGHT CMD...: the command in a fresh session; its exit
# status lands in $T_TMP/tmux.rc.
tmux_start() {
    local w=$1 h=$2
    shift 2
    tmux_stop
    rm -f "$T_TMP/tmux.rc"
    local cmd
    cmd=$(printf '%q ' "$@")
    tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s t -x "$w" -y "$h" \
        "$cmd; echo \$? >'$T_TMP/tmux.rc'; sleep 30"
    at_exit tmux_stop
}

tmux_keys() { tmux -L "$TMUX_SOCK" send-keys -t t "$@"; }

tmux_screen() { tmux -L "$TMUX_SOCK" capture-pane -p -t t; }

# tmux_wait SECONDS ERE: until the screen matches.
tmux_wait() {
    local limit=$1 re=$2 end
    end=$(($(date +%s) + limit))
    until tmux_screen | grep -Eq -- "$re"; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.1
    done
}

tmux_wait_exit() {
    wait_for "${1:-20}" test -s "$T_TMP/tmux.rc" || return 1
    TMUX_RC=$(cat "$T_TMP/tmux.rc")
}
