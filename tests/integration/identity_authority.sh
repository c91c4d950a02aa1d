#!/usr/bin/env bash
# Issue 11: the CA's issuance record is the authority on identities. A board
# whose flash holds another board's identity cannot `keep` it; a fresh ledger
# file does not let provision mint a second live certificate for a device id;
# `ledger list -P` finds the ledger provision wrote without a "ledger" key; and
# a serial reads the same in the ledger, in `cert list` and from openssl.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"

not() { ! "$@"; }
cd "$T_TMP" || exit 1
FS32='{ "offset": "0x290000", "size": "0x40000" }'
pv_profile a.json auth esp32 "$FS32"
# No "ledger" key: ledger.db beside the profile.
jq 'del(.ledger)' a.json >a.tmp && mv a.tmp a.json
check "ca init" "$ESPPROV" ca init -P a.json
sim_start b1 esp32 --mac 24:0a:c4:00:0f:01
sim_start b2 esp32 --mac 24:0a:c4:00:0f:02
check "provision board 1" "$ESPPROV" provision -P a.json -p "$T_TMP/b1.port"
check "provision board 2" "$ESPPROV" provision -P a.json -p "$T_TMP/b2.port"
assert "provision wrote ledger.db beside the profile" [ -s ledger.db ]

# ---- one ledger path: ledger list -P without a "ledger" key ---------------
check "ledger list -P without a ledger key" "$ESPPROV" ledger list -P a.json --json
cp "$T_TMP/out" list.json
assert "ledger list -P finds the rows provision wrote" \
    [ "$(jq '[.[] | select(.state == "provisioned")] | length' list.json)" -eq 2 ]
assert "the same rows as --ledger ledger.db" \
    cmp -s list.json <("$ESPPROV" ledger list --ledger ledger.db --json)

# ---- one serial format ---------------------------------------------------
pv_fs b1 0x290000 0x40000 b1.fs
s1=$(pv_serial_of b1.fs/client.crt.der)
ledger_s1=$(jq -r '[.[] | select(.mac == "24:0a:c4:00:0f:01")] | last | .cert_serial' list.json)
assert "ledger list's serial is openssl's ($s1)" [ "$ledger_s1" = "$s1" ]
assert "cert list shows the same serial" grep -Eq "^$s1 +device" <("$ESPPROV" cert list -P a.json)
check "ledger show board 1" "$ESPPROV" ledger show -P a.json 24:0a:c4:00:0f:01
assert "ledger show prints it the same way" grep -q "cert serial.* $s1\$" "$T_TMP/out"

# ---- keep refuses another board's identity ---------------------------------
pv_fs b2 0x290000 0x40000 b2.fs
s2=$(pv_serial_of b2.fs/client.crt.der)
sim_stop b2
dd if=b1.bin of=b2.bin bs=4096 skip=$((0x290)) seek=$((0x290)) count=$((0x40)) conv=notrunc \
    status=none
sim_start b2 esp32 --mac 24:0a:c4:00:0f:02
cp ledger.db ledger.before
check_fails "keep on a board holding board 1's flash" 1 \
    "$ESPPROV" provision -P a.json -p "$T_TMP/b2.port" --reprovision keep
assert "the refusal names the owner" \
    grep -q 'belongs to dev-240ac4000f01 (MAC 24:0a:c4:00:0f:01).*flash copied from another board' \
    "$T_TMP/out" "$T_TMP/err"
assert "the hint is --reprovision renew" grep -q -- '--reprovision renew' "$T_TMP/out" "$T_TMP/err"
assert "board 2 is still tied to its own certificate in the ledger" \
    [ "$(pv_ledger a.json | jq -r '[.[] | select(.mac == "24:0a:c4:00:0f:02" and .state == "provisioned")] | last | .cert_serial')" = "$s2" ]
assert "no provisioned row ties board 2 to board 1's serial" \
    [ "$(pv_ledger a.json | jq --arg s "$s1" '[.[] | select(.mac == "24:0a:c4:00:0f:02" and .cert_serial == $s and .state == "provisioned")] | length')" -eq 0 ]
check "renew fixes board 2" "$ESPPROV" provision -P a.json -p "$T_TMP/b2.port" --reprovision renew
pv_fs b2 0x290000 0x40000 b2.fs
assert "board 2 now holds its own id" grep -q '"id":"dev-240ac4000f02"' b2.fs/config.json

# ---- a fresh ledger file does not mint a second live certificate ------------
jq '.ledger = "fresh.db"' a.json >f.json
check_fails "fresh ledger: provision of a provisioned board is refused" 1 \
    "$ESPPROV" provision -P f.json -p "$T_TMP/b1.port"
assert "the refusal names the live serial" grep -q "$s1" "$T_TMP/out" "$T_TMP/err"
assert "and hints at --reprovision" grep -q -- '--reprovision renew' "$T_TMP/out" "$T_TMP/err"
live_for() { "$ESPPROV" cert list -P a.json --json |
    jq --arg id "$1" '[.[] | select(.id == $id and .kind == "device" and .revoked == null)] | length'; }
assert "still one live certificate for dev-240ac4000f01" [ "$(live_for dev-240ac4000f01)" -eq 1 ]
check "fresh ledger: --reprovision renew" \
    "$ESPPROV" provision -P f.json -p "$T_TMP/b1.port" --reprovision renew
assert "exactly one live certificate for dev-240ac4000f01" [ "$(live_for dev-240ac4000f01)" -eq 1 ]
pv_fs b1 0x290000 0x40000 b1.fs
s1new=$(pv_serial_of b1.fs/client.crt.der)
assert "the old one is revoked" grep -q "^$s1 .*REVOKED" <("$ESPPROV" cert list -P a.json)
assert "the live one is on the board" grep -Eq "^$s1new +device +dev-240ac4000f01" <("$ESPPROV" cert list -P a.json)

# ---- cert device: one live certificate per id -------------------------------
mkdir -p out1 out2 out3
check "cert device --id solo" "$ESPPROV" cert device -P a.json --id solo --out out1 --json
solo1=$(jq -r .serial "$T_TMP/out")
check_fails "cert device --id solo again is refused" 1 \
    "$ESPPROV" cert device -P a.json --id solo --out out2
assert "the refusal names the live serial" grep -q "$solo1" "$T_TMP/err"
assert "and hints at --renew" grep -q -- "--renew" "$T_TMP/err"
assert "nothing minted" [ "$(live_for solo)" -eq 1 ]
assert "no files written" [ -z "$(ls out2)" ]
check "cert device --id solo --renew" "$ESPPROV" cert device -P a.json --id solo --out out3 --renew --json
solo2=$(jq -r .serial "$T_TMP/out")
assert "one live certificate for solo, the new one" [ "$(live_for solo)" -eq 1 ]
assert "the old one is revoked" grep -Eq "^$solo1 .*REVOKED" <("$ESPPROV" cert list -P a.json)
assert "the new one is live" grep -Eq "^$solo2 +device +solo " <("$ESPPROV" cert list -P a.json)
assert "and not revoked" not grep -Eq "^$solo2 .*REVOKED" <("$ESPPROV" cert list -P a.json)
# ---- one live certificate per MAC, for {seq} ids too -----------------------
# A {seq} id comes from the ledger's number, so a fresh ledger would give the
# same board a new id: the record finds the board by its MAC instead.
jq '.device.id = "node-{seq}" | .ledger = "seq-a.db"' a.json >q.json
jq '.ledger = "seq-b.db"' q.json >q2.json
sim_start b3 esp32 --mac 24:0a:c4:00:0f:03
check "{seq}: provision board 3" "$ESPPROV" provision -P q.json -p "$T_TMP/b3.port"
q1=$("$ESPPROV" cert list -P q.json --json | jq -r '[.[] | select(.mac == "24:0a:c4:00:0f:03")] | last | .serial')
assert "cert list records the board's MAC" [ -n "$q1" ] && [ "$q1" != null ]
check_fails "{seq}, fresh ledger: a plain provision is refused" 1 \
    "$ESPPROV" provision -P q2.json -p "$T_TMP/b3.port"
assert "the refusal names the MAC and the live serial" \
    grep -q "node-1 (MAC 24:0a:c4:00:0f:03) already has a live certificate $q1" "$T_TMP/out" "$T_TMP/err"
live_mac() { "$ESPPROV" cert list -P a.json --live --json |
    jq '[.[] | select(.mac == "24:0a:c4:00:0f:03")] | length'; }
assert "still one live certificate for the board" [ "$(live_mac)" -eq 1 ]
check "{seq}, fresh ledger: --reprovision renew" \
    "$ESPPROV" provision -P q2.json -p "$T_TMP/b3.port" --reprovision renew
assert "one live certificate for the board, the new one" [ "$(live_mac)" -eq 1 ]
assert "the old one is revoked" grep -q "^$q1 .*REVOKED" <("$ESPPROV" cert list -P a.json)
check_fails "cert device --mac of that board is refused too" 1 \
    "$ESPPROV" cert device -P q.json --mac 24:0a:c4:00:0f:03 --seq 7 --out out1
assert "naming the board's MAC" grep -q "(MAC 24:0a:c4:00:0f:03) already has a live certificate" \
    "$T_TMP/err"
finish
