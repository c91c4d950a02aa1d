#!/usr/bin/env bash
# The broker walk-through on a stock Debian Mosquitto: `cert server --owner
# mosquitto` and its listener snippet, loaded by mosquitto started as root the
# way the service starts it (it switches to user mosquitto before reading the
# key); firmware/README.md's "See it connect" commands as written; and `cert
# export` for registries and allow lists.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mosquitto.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
# The broker's user must be able to enter the folders on the way.
chmod 0711 "$T_TMP"
mkdir -m 0755 "$T_TMP/w" && cd "$T_TMP/w" || exit 1
cp -r "$root/profiles/." .
export CA_PASS="ca-pass-$$-broker" WIFI_PASS="wifi-pass-$$-broker"
# The README says `espprov`: the binary under test.
PATH="$(dirname "$ESPPROV"):$PATH"
PORT=$(free_port)
# The DER profile (BearSSL devices), pointed at this machine.
jq --argjson port "$PORT" '.mqtt.host = "localhost" | .mqtt.port = $port' esp8266-arduino.json >profile.json
check "ca init" "$ESPPROV" ca init -P profile.json

# ----- firmware/README.md "See it connect", its commands as written
awk '/^## See it connect/ { on = 1; next } /^## / { on = 0 }
     on && /^```sh/ { code = 1; next } on && /^```/ { code = 0; next }
     on && code' "$root/firmware/README.md" >readme.sh
assert "the README step has the commands" [ "$(grep -c '^espprov\|^mosquitto_sub\|^sudo' readme.sh)" -ge 4 ]
# This machine: the broker at localhost on a free port; no systemd, so the
# service's start (root, Debian's main config with conf.d) is done by hand.
mkdir conf.d run
# /run/mosquitto: the service's RuntimeDirectory, owned by the broker's user.
chown mosquitto run 2>/dev/null
cat >mosquitto.conf <<CONF
# /etc/mosquitto/mosquitto.conf as Debian ships it, with what a test may not
# write (pid file, persistence, log file) moved here.
pid_file $T_TMP/w/run/mosquitto.pid
persistence false
log_dest stderr
log_type all
include_dir $T_TMP/w/conf.d
CONF
start_service() {
    mosquitto -c "$T_TMP/w/mosquitto.conf" >"$T_TMP/w/broker.log" 2>&1 &
    echo $! >"$T_TMP/w/broker.pid"
    MOSQ_PORT=$PORT
    wait_for 10 mosq_port_open
}
stop_service() {
    [ -s "$T_TMP/w/broker.pid" ] && kill "$(cat "$T_TMP/w/broker.pid")" 2>/dev/null
    rm -f "$T_TMP/w/broker.pid"
    sleep 0.2
}
at_exit stop_service
sed -e "s/broker\.local/localhost/g; s/10\.0\.0\.5/127.0.0.1/g; s/-p 8883/-p $PORT/g" \
    -e "s|^sudo cp espprov.conf /etc/mosquitto/conf.d/ && sudo systemctl restart mosquitto$|cp espprov.conf conf.d/ \&\& start_service|" \
    -e "s|^mosquitto_sub |timeout 20 mosquitto_sub -C 1 |" readme.sh >run.sh
assert "every README line was mapped to this machine" sh -c '! grep -q "broker.local\|systemctl\|8883" run.sh'
# A device publishing its status, with an identity of its own.
"$ESPPROV" cert device -P profile.json --id esp-test --format pem --out . >/dev/null 2>&1
publish() {
    for _ in $(seq 20); do
        sleep 0.5
        mosquitto_pub -h localhost -p "$PORT" --cafile ca/ca.crt.pem --cert esp-test.crt.pem \
            --key esp-test.key.pem -t dev/esp-test/status -m '{"id":"esp-test","state":"online"}' \
            2>/dev/null
    done
}
run_readme() { (set -e; . "$T_TMP/w/run.sh"); }

if [ "$(id -u)" -eq 0 ] && mosq_available && id mosquitto >/dev/null 2>&1; then
    publish &
    pub=$!
    check "firmware/README.md 'See it connect': the commands run as written" run_readme
    kill "$pub" 2>/dev/null
    assert "the observer saw the device's status through the broker" \
        grep -q '^dev/esp-test/status {"id":"esp-test","state":"online"}' "$T_TMP/out"
    assert "the broker ran as user mosquitto (it switched before reading the key)" \
        [ "$(awk '/^Uid:/ { print $3 }' "/proc/$(cat broker.pid)/status")" = "$(id -u mosquitto)" ]
    assert "the broker loaded the key (no permission error)" \
        sh -c "! grep -qi 'unable to load\|permission denied' broker.log"
    assert "the key: group mosquitto, mode 0640" [ "$(stat -c '%G %a' ca/server.key.pem)" = "mosquitto 640" ]
    assert "the snippet says so" grep -q '^# The key is group mosquitto, mode 0640' espprov.conf
    assert "observer files are PEM (the profile's devices get DER)" \
        grep -q 'BEGIN CERTIFICATE' observer.crt.pem
    stop_service

    # Without --owner the key stays root's 0600 and the service cannot read it;
    # the snippet's comment lines say exactly what to run.
    "$ESPPROV" cert server -P profile.json --dns localhost --name plain >plain.conf 2>/dev/null
    assert "without --owner: key 0600" [ "$(stat -c %a ca/plain.key.pem)" = 600 ]
    rm -f conf.d/*
    cp plain.conf conf.d/espprov.conf
    start_service
    assert "without --owner: the service cannot load the key" \
        wait_for 10 grep -qi 'unable to load server key\|permission denied' broker.log
    stop_service
    grep '^#   chgrp' plain.conf | sed 's/^#   //' >fix.sh
    assert "the snippet prints the exact chgrp/chmod line" grep -q "^chgrp mosquitto .*/ca/plain.key.pem && chmod 0640 " fix.sh
    check "running the printed line" sh fix.sh
    start_service
    assert "after it, the service loads the key" sh -c "! grep -qi 'unable to load\|permission denied' broker.log"
    (sleep 1; mosquitto_pub -h localhost -p "$PORT" --cafile ca/ca.crt.pem --cert esp-test.crt.pem \
        --key esp-test.key.pem -t dev/esp-test/status -m again -r) &
    check "after it, a client gets through" timeout 20 mosquitto_sub -h localhost -p "$PORT" \
        --cafile ca/ca.crt.pem --cert observer.crt.pem --key observer.key.pem -t 'dev/+/status' -C 1
    assert "... the message" grep -q '^again$' "$T_TMP/out"
    stop_service
else
    check "cert server --owner as a user: the exact lines instead" "$ESPPROV" cert server \
        -P profile.json --dns localhost --owner "$(id -un)" --name u
    assert "... printed" grep -q '^#   chgrp\|^# The key is group' "$T_TMP/out"
fi

# ----- cert export
check "cert export --id: PEM by default" "$ESPPROV" cert export -P profile.json --id observer
assert "the same certificate as cert device wrote" cmp -s "$T_TMP/out" observer.crt.pem
check "cert export --der -o" "$ESPPROV" cert export -P profile.json --id observer --der -o obs.der
assert "DER: openssl reads it and it is the same certificate" \
    sh -c "openssl x509 -inform der -in obs.der -outform pem | cmp -s - observer.crt.pem"
check "cert export --chain" "$ESPPROV" cert export -P profile.json --id observer --chain -o chain.pem
assert "the chain: two certificates, the CA last" sh -c \
    "[ \$(grep -c 'BEGIN CERTIFICATE' chain.pem) -eq 2 ] && tail -n \$(wc -l <ca/ca.crt.pem) chain.pem | cmp -s - ca/ca.crt.pem"
assert "the chain verifies" openssl verify -CAfile ca/ca.crt.pem -untrusted chain.pem observer.crt.pem
serial=$(openssl x509 -in observer.crt.pem -noout -serial | cut -d= -f2)
check "cert export --id SERIAL" "$ESPPROV" cert export -P profile.json --id "$serial"
assert "by serial: the same certificate" cmp -s "$T_TMP/out" observer.crt.pem
check "cert export of the broker's certificate (its id is the first name)" \
    "$ESPPROV" cert export -P profile.json --id localhost
assert "the broker's certificate" sh -c "openssl x509 -noout -ext extendedKeyUsage <'$T_TMP/out' | grep -q 'Server Authentication'"
check_fails "cert export of an unknown id" 1 "$ESPPROV" cert export -P profile.json --id nobody
assert "... says the CA issued none" grep -q "the CA has issued no certificate for 'nobody'" "$T_TMP/err"
check_fails "--chain with --der" 2 "$ESPPROV" cert export -P profile.json --id observer --der --chain -o x
check "cert revoke, then export warns" "$ESPPROV" cert revoke -P profile.json --id esp-test
check "cert export of a revoked certificate" "$ESPPROV" cert export -P profile.json --id esp-test
assert "... warns it is revoked" grep -q 'REVOKED' "$T_TMP/err"

finish
