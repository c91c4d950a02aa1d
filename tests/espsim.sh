# Simulated-board helpers for shell tests. Source after tests/lib.sh:
#
#   . "$(dirname "$0")/../lib.sh"
#   . "$(dirname "$0")/../espsim.sh"
#   start_espsim dev --chip esp32 --flash "$T_TMP/dev.bin"
#   check "flash it" "$ESPPROV" flash -p "$dev_PTY" ...
#   reset_espsim dev download
#   stop_espsim dev            # optional: registered with at_exit
#
# start_espsim NAME ARGS... runs $ESPSIM ARGS and waits for "ready". It sets
#   NAME_PTY      a stable symlink to the pty ($T_TMP/NAME.pty; don't pass --pty-link)
#   NAME_DEV      the /dev/pts/N path itself
#   NAME_RFC2217  the RFC 2217 port when ARGS has --rfc2217, else empty
#   NAME_PID      the simulator's pid
#   NAME_LOG      its --log file ($T_TMP/NAME.espsim.log unless ARGS has --log)
# NAME must be a shell identifier. Returns 1 (with the reason on stderr) if
# the simulator does not come up within 10 s.
: "${ESPSIM:?ESPSIM must point at the espsim binary (run through make)}"

start_espsim() {
    _es_name=$1
    shift
    _es_out="$T_TMP/$_es_name.espsim.out"
    _es_log="$T_TMP/$_es_name.espsim.log"
    case " $* " in
    *" --log "*) _es_log=$(printf '%s\n' "$@" | sed -n '/^--log$/{n;p;}' | tail -n 1) ;;
    *) set -- "$@" --log "$_es_log" ;;
    esac
    "$ESPSIM" --pty-link "$T_TMP/$_es_name.pty" "$@" >"$_es_out" 2>"$T_TMP/$_es_name.espsim.err" &
    eval "${_es_name}_PID=$!"
    eval "espsim_cleanup_$_es_name() { stop_espsim $_es_name; }"
    at_exit "espsim_cleanup_$_es_name"
    if ! wait_for 10 grep -qx ready "$_es_out"; then
        echo "start_espsim $_es_name: espsim did not start: $(head -c 300 "$T_TMP/$_es_name.espsim.err")" >&2
        return 1
    fi
    eval "${_es_name}_PTY=\"\$T_TMP/\$_es_name.pty\""
    eval "${_es_name}_DEV=\"\$(sed -n 's/^pty //p' \"\$_es_out\")\""
    eval "${_es_name}_RFC2217=\"\$(sed -n 's/^rfc2217 127\\.0\\.0\\.1://p' \"\$_es_out\")\""
    eval "${_es_name}_LOG=\"\$_es_log\""
    return 0
}

# stop_espsim NAME: SIGTERM, then wait for it (SIGKILL after 5 s).
stop_espsim() {
    _es_pid=$(eval "echo \${$1_PID:-}")
    [ -n "$_es_pid" ] || return 0
    kill -TERM "$_es_pid" 2>/dev/null
    for _es_i in $(seq 50); do
        kill -0 "$_es_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$_es_pid" 2>/dev/null
    wait "$_es_pid" 2>/dev/null
    eval "$1_PID="
    return 0
}

# reset_espsim NAME download|flash: reset the board into that boot mode.
reset_espsim() {
    _es_pid=$(eval "echo \${$1_PID:-}")
    case "$2" in
    download) kill -USR1 "$_es_pid" ;;
    flash) kill -USR2 "$_es_pid" ;;
    *) echo "reset_espsim: download or flash, not '$2'" >&2; return 2 ;;
    esac
}
