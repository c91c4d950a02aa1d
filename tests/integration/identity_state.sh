#!/usr/bin/env bash
# Issue 11, case 3: the ledger follows every change of a board's state,
# whichever command made it. A `cert revoke` shows as revoked in `ledger list`
# (also when it was made through another ledger file); a factory reset shows
# as reset with whether the certificate is still live; and what the next
# `provision` does follows from the board's real state: an erased board gets
# a new identity from a plain run and cannot `keep` one.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"

not() { ! "$@"; }
cd "$T_TMP" || exit 1
FS_OFF=0x290000 FS_SIZE=0x40000
pv_profile s.json state esp32 "{ \"offset\": \"$FS_OFF\", \"size\": \"$FS_SIZE\" }"
check "ca init" "$ESPPROV" ca init -P s.json
M1=24:0a:c4:00:0f:01 M2=24:0a:c4:00:0f:02 M3=24:0a:c4:00:0f:03
sim_start b1 esp32 --mac $M1
sim_start b2 esp32 --mac $M2
sim_start b3 esp32 --mac $M3
for b in b1 b2 b3; do
    check "provision $b" "$ESPPROV" provision -P s.json -p "$T_TMP/$b.port"
done

serial_on() { pv_fs "$1" $FS_OFF $FS_SIZE "$1.fs" && pv_serial_of "$1.fs/client.crt.der"; }
latest() { pv_ledger s.json | jq -r --arg m "$1" "[.[] | select(.mac == \$m)] | last | $2"; }
live_count() { # ID: live device certificates of ID in the CA's record
    "$ESPPROV" cert list -P s.json --json |
        jq --arg id "$1" '[.[] | select(.kind == "device" and .id == $id and .revoked == null)] | length'
}
status_of() { # MAC: the status column of `ledger list` for the MAC's latest attempt
    "$ESPPROV" ledger list -P s.json --mac "$1" | tail -n 1
}

# ---- cert revoke reaches the ledger ----------------------------------------
s1=$(serial_on b1)
check "cert revoke --id --crl" "$ESPPROV" cert revoke -P s.json --id dev-240ac4000f01 --crl \
    --reason keyCompromise
assert "cert revoke says it marked the ledger" grep -q "ledger: 1 attempt now marked revoked" \
    "$T_TMP/out"
assert "ledger list says revoked" [ "$(latest $M1 .state)" = revoked ]
assert "with the CRL reason" grep -q "revoked (keyCompromise, in the CA's record)" \
    <(status_of $M1)
assert "ledger list --status revoked finds it" \
    [ "$(pv_ledger s.json | jq -r '[.[] | select(.state == "revoked")] | .[0].cert_serial')" = "$s1" ]
assert "--status revoked lists exactly that row" \
    [ "$("$ESPPROV" ledger list -P s.json --status revoked --json | jq -r '.[].mac')" = "$M1" ]
check "a plain provision gives the revoked board a new identity" \
    "$ESPPROV" provision -P s.json -p "$T_TMP/b1.port"
assert "a new serial on board 1" [ "$(serial_on b1)" != "$s1" ]
assert "one live certificate for board 1" [ "$(live_count dev-240ac4000f01)" -eq 1 ]

# ---- a revocation through another ledger file reaches this one -------------
jq '.ledger = "other.db"' s.json >other.json
s2=$(serial_on b2)
check "cert revoke through a profile with another ledger" \
    "$ESPPROV" cert revoke -P other.json --serial "$s2"
assert "this ledger learns of it at ledger list" [ "$(latest $M2 .state)" = revoked ]
assert "and cert list agrees" \
    [ "$("$ESPPROV" cert list -P s.json --json | jq -r --arg s "$s2" '.[] | select(.serial == $s) | .revoked != null')" = true ]

# ---- factory reset without --revoke -----------------------------------------
s3=$(serial_on b3)
check "factory-reset board 3 (no --revoke)" "$ESPPROV" factory-reset -P s.json -p "$T_TMP/b3.port"
assert "ledger list says reset, certificate still live" \
    grep -q "reset (certificate still live)" <(status_of $M3)
assert "its JSON state is reset" [ "$(latest $M3 .state)" = reset ]
assert "the certificate is still live in the record" [ "$(live_count dev-240ac4000f03)" -eq 1 ]
n_before=$("$ESPPROV" cert list -P s.json --json | jq length)
check_fails "keep on the erased board is refused" 1 \
    "$ESPPROV" provision -P s.json -p "$T_TMP/b3.port" --reprovision keep
assert "the refusal says the flash holds no identity" \
    grep -q "factory-reset (attempt [0-9]*): its flash holds no identity" "$T_TMP/out" "$T_TMP/err"
check_fails "--only-fs on the erased board is refused" 1 \
    "$ESPPROV" provision -P s.json -p "$T_TMP/b3.port" --only-fs
assert "the hint is a plain provision" grep -q "provision it without --only-fs" \
    "$T_TMP/out" "$T_TMP/err"
assert "no certificate was minted by the refusals" \
    [ "$("$ESPPROV" cert list -P s.json --json | jq length)" -eq "$n_before" ]
check "a plain provision of the erased board renews it" \
    "$ESPPROV" provision -P s.json -p "$T_TMP/b3.port"
assert "the result says renewed" grep -q "renewed" "$T_TMP/out"
n3=$(serial_on b3)
assert "board 3 holds a new certificate" [ -n "$n3" -a "$n3" != "$s3" ]
assert "the old one is revoked, one live" [ "$(live_count dev-240ac4000f03)" -eq 1 ]
assert "the ledger's new row holds the board's serial" \
    [ "$(latest $M3 '.cert_serial + " " + .state')" = "$n3 provisioned" ]
assert "the reset row now says its certificate is revoked" \
    grep -q "reset (certificate revoked)" <("$ESPPROV" ledger list -P s.json --mac $M3)

# ---- factory reset with --revoke, then a plain provision ---------------------
check "factory-reset --revoke board 3" "$ESPPROV" factory-reset -P s.json -p "$T_TMP/b3.port" \
    --revoke
assert "ledger list says reset, certificate revoked" \
    grep -q "reset (certificate revoked)" <(status_of $M3)
assert "no live certificate for board 3" [ "$(live_count dev-240ac4000f03)" -eq 0 ]
check "a plain provision gives it a fresh identity" \
    "$ESPPROV" provision -P s.json -p "$T_TMP/b3.port"
assert "not a renewal: nothing was live" not grep -q renewed "$T_TMP/out"
assert "one live certificate again" [ "$(live_count dev-240ac4000f03)" -eq 1 ]
assert "the live certificates are exactly the ledger's provisioned ones" \
    [ "$(pv_ledger s.json | jq -r 'group_by(.mac) | .[] | last | select(.state == "provisioned") | .cert_serial' | sort)" = \
      "$("$ESPPROV" cert list -P s.json --json | jq -r '.[] | select(.revoked == null and .kind == "device") | .serial' | sort)" ]
finish
