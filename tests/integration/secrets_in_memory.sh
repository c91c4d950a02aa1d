#!/usr/bin/env bash
# A running `espprov provision` holds the WiFi password and, once typed, the
# CA passphrase: it must be non-dumpable (no core file; no ptrace or
# /proc/PID/mem for other processes of the same user) with a core size limit
# of 0. Observed from outside while it waits at the CA passphrase prompt.
#
# How: the kernel makes /proc/PID/* of a non-dumpable process owned by root.
# That shows only when the process itself is not root, so as root the test
# runs espprov as nobody (setpriv); a dumpable process run the same way is the
# control that shows the method works here.
. "$(dirname "$0")/../lib.sh"
fw=$(cd "$(dirname "$0")/../../profiles/firmware" && pwd)
work=$T_TMP/w
mkdir -p "$work" && cd "$work" || exit 1
export SM_CA_PASS="memory-ca-pass-$$" SM_WIFI_PASS="memory-wifi-$$"

write_profile() { # write_profile FILE WITH_PASSPHRASE
    cat >"$1" <<EOF
{
  "name": "memory",
  "chip": "esp32",
  "firmware": [{ "offset": "0x10000", "file": "$fw/demo-esp32-app.bin" }],
  "filesystem": { "offset": "0x290000", "size": "0x160000" },
  "ca": { "cert": "ca/ca.crt.pem", "key": "ca/ca.key.pem"$2 },
  "device": { "id": "dev-{mac}" },
  "wifi": { "ssid": "lab", "password": "\${SM_WIFI_PASS}" },
  "mqtt": { "host": "127.0.0.1", "topics": { "status": "d/{id}/status" } },
  "ledger": "memory.db"
}
EOF
}
write_profile with.json ', "passphrase": "${SM_CA_PASS}"'
write_profile ask.json ''
check "ca init" "$ESPPROV" ca init -P with.json

as_user=()
if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$T_TMP"
    chown -R 65534:65534 "$work"
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
owner_of() { stat -c %u "/proc/$1/status"; }
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }

# The control: an ordinary process of that user owns its /proc entries.
"${as_user[@]}" sleep 30 &
control=$!
wait_for 5 test "$(uid_of $control)" != 0
assert "control: a dumpable process owns its /proc entries" \
    [ "$(owner_of $control)" = "$(uid_of $control)" ]
kill "$control" 2>/dev/null
wait "$control" 2>/dev/null

# espprov provision, on a terminal (script), waiting at the prompt forever:
# its input is a FIFO nobody writes to.
mkfifo prompt-in
script -qfec "exec ${as_user[*]} '$ESPPROV' provision -P ask.json -p /dev/null" /dev/null \
    <prompt-in >prompt-out 2>&1 &
runner=$!
exec 3>prompt-in
stop_it() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
    exec 3>&-
    kill "$runner" 2>/dev/null
    wait "$runner" 2>/dev/null
}
at_exit stop_it
wait_for 20 grep -q "CA passphrase:" prompt-out
assert "provision is waiting at the CA passphrase prompt" grep -q "CA passphrase:" prompt-out
pid=$(pgrep -P "$runner" | head -1)
assert "found its process" [ -n "$pid" ] && [ -r "/proc/$pid/status" ]
assert "it runs as an ordinary user" [ "$(uid_of "$pid")" != 0 ]
assert "its /proc entries are root's: the process is not dumpable" \
    [ "$(owner_of "$pid")" = 0 ]
assert "its core file size limit is 0" \
    grep -Eq '^Max core file size +0 +0 ' "/proc/$pid/limits"
assert "it is espprov" grep -q espprov "/proc/$pid/cmdline"
finish
