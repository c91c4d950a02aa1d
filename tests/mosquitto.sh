# Shell helpers for tests that need a real Mosquitto broker (Debian `mosquitto`).
# Source after tests/lib.sh:
#
#   . "$(dirname "$0")/../mosquitto.sh"
#   mosq_start CAFILE CERTFILE KEYFILE [CRLFILE]   # sets MOSQ_PORT, MOSQ_PID, MOSQ_LOG
#   mosq_deliver TOPIC PUB_CERT PUB_KEY SUB_CERT SUB_KEY   # 0 when the message arrives
#   mosq_reload                                    # SIGHUP: re-reads the CRL
#   (the broker is stopped at exit)
#
# The broker listens on 127.0.0.1 on a free port with require_certificate and
# use_identity_as_username. Started as root, Mosquitto 2.x switches to user
# 'mosquitto' before it reads the key; `user root` keeps it root so it can
# read keys that only root may read (the test's 0700 temporary folder).

MOSQ_PID=""
MOSQ_PORT=""
MOSQ_CAFILE=""

mosq_available() {
    command -v mosquitto >/dev/null 2>&1 && command -v mosquitto_pub >/dev/null 2>&1 &&
        command -v mosquitto_sub >/dev/null 2>&1
}

mosq_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$MOSQ_PORT") 2>/dev/null
}

mosq_stop() {
    if [ -n "$MOSQ_PID" ]; then
        kill "$MOSQ_PID" 2>/dev/null
        wait "$MOSQ_PID" 2>/dev/null
        MOSQ_PID=""
    fi
}

# mosq_start CAFILE CERTFILE KEYFILE [CRLFILE]
mosq_start() {
    MOSQ_CAFILE=$1
    local dir="$T_TMP/mosquitto"
    mkdir -p "$dir"
    MOSQ_LOG="$dir/broker.log"
    local tries=0
    while [ $tries -lt 5 ]; do
        MOSQ_PORT=$(free_port)
        {
            [ "$(id -u)" -eq 0 ] && echo "user root"
            echo "log_dest stderr"
            echo "log_type all"
            echo "listener $MOSQ_PORT 127.0.0.1"
            echo "cafile $1"
            echo "certfile $2"
            echo "keyfile $3"
            echo "require_certificate true"
            echo "use_identity_as_username true"
            [ -n "${4:-}" ] && echo "crlfile $4"
        } >"$dir/mosquitto.conf"
        mosquitto -c "$dir/mosquitto.conf" >"$MOSQ_LOG" 2>&1 &
        MOSQ_PID=$!
        at_exit mosq_stop
        if wait_for 10 mosq_port_open; then
            return 0
        fi
        # Another process may have taken the port between free_port and bind.
        mosq_stop
        tries=$((tries + 1))
    done
    echo "mosquitto did not start; log:" >&2
    tail -n 20 "$MOSQ_LOG" >&2
    return 1
}

mosq_reload() {
    local before
    before=$(grep -c 'Reloading config' "$MOSQ_LOG")
    kill -HUP "$MOSQ_PID"
    wait_for 10 sh -c "[ \$(grep -c 'Reloading config' '$MOSQ_LOG') -gt $before ]"
}

# mosq_deliver TOPIC PUB_CERT PUB_KEY SUB_CERT SUB_KEY
# Publishes a retained message with the first identity (PUB_CERT may be "" for
# a client without a certificate), then subscribes with the second and reports
# whether the message arrived. mosquitto_pub's exit code says little (it can
# exit 0 on a refused publish), so the subscriber's output decides.
mosq_deliver() {
    local topic=$1 msg="hello-$1-$$-$RANDOM"
    local pub_tls=""
    if [ -n "$2" ]; then pub_tls="--cert $2 --key $3"; fi
    # shellcheck disable=SC2086
    mosquitto_pub -h 127.0.0.1 -p "$MOSQ_PORT" --cafile "$MOSQ_CAFILE" $pub_tls \
        -q 1 -r -t "$topic" -m "$msg" >"$T_TMP/pub.out" 2>&1
    mosquitto_sub -h 127.0.0.1 -p "$MOSQ_PORT" --cafile "$MOSQ_CAFILE" --cert "$4" --key "$5" \
        -t "$topic" -C 1 -W 3 >"$T_TMP/sub.out" 2>&1
    grep -qx "$msg" "$T_TMP/sub.out"
}
