# Shell test library, sourced by tests/integration/*.sh and tests/bench/*.sh.
#
#   . "$(dirname "$0")/../lib.sh"
#   check "spiffs list works" "$ESPPROV" spiffs list img.bin
#   check_fails "refuses a bad size" "$ESPPROV" spiffs build --size 7 -o x d
#   assert "image is 64 KiB" [ "$(stat -c %s img.bin)" -eq 65536 ]
#   finish
#
# Each check prints "PASS name" or "FAIL name: why" (see tests/run.sh).
# T_TMP is a fresh directory removed at exit; cleanup hooks run first.
set -u
: "${ESPPROV:?ESPPROV must point at the espprov binary (run through make)}"
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/espprov-test.XXXXXX")
T_PASSED=0
T_FAILED=0
T_CLEANUPS=""

t_on_exit() {
    for c in $T_CLEANUPS; do "$c" >/dev/null 2>&1 || true; done
    rm -rf "$T_TMP"
}
trap t_on_exit EXIT
trap 'exit 130' INT TERM

# Register a function to run at exit (stop a simulator, a broker, ...).
at_exit() { T_CLEANUPS="$1 $T_CLEANUPS"; }

pass() { T_PASSED=$((T_PASSED + 1)); echo "PASS $1"; }
fail() { T_FAILED=$((T_FAILED + 1)); echo "FAIL $1: $2"; }

# check NAME CMD...: CMD must exit 0. Its output is kept in $T_TMP/out, $T_TMP/err.
check() {
    name=$1; shift
    if "$@" >"$T_TMP/out" 2>"$T_TMP/err"; then
        pass "$name"
    else
        fail "$name" "exit $? from: $* -- $(head -c 400 "$T_TMP/err")"
    fi
}

# check_fails NAME CODE CMD...: CMD must exit with status CODE.
check_fails() {
    name=$1; code=$2; shift 2
    "$@" >"$T_TMP/out" 2>"$T_TMP/err"
    rc=$?
    if [ "$rc" -eq "$code" ]; then
        pass "$name"
    else
        fail "$name" "expected exit $code, got $rc from: $* -- $(head -c 400 "$T_TMP/err")"
    fi
}

# assert NAME CMD...: like check, for test conditions ([ ... ], grep -q, cmp ...).
assert() {
    name=$1; shift
    if "$@"; then pass "$name"; else fail "$name" "condition failed: $*"; fi
}

# Output of the last check/check_fails.
last_out() { cat "$T_TMP/out"; }
last_err() { cat "$T_TMP/err"; }

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    while :; do
        p=$(( (RANDOM % 20000) + 20000 ))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return; fi
    done
}

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
    limit=$1; shift
    end=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.05
    done
}

finish() {
    echo "$T_PASSED passed, $T_FAILED failed"
    [ "$T_FAILED" -eq 0 ]
}
