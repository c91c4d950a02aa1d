#!/usr/bin/env bash
# espprov board show: chip, MAC, flash from the board; the ledger's record;
# the identity read back from its filesystem (live, then revoked); the config
# with its secrets redacted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"
cd "$T_TMP" || exit 1
pv_profile e32.json show esp32 '{ "offset": "0x290000", "size": "0x40000" }'
check "ca init" "$ESPPROV" ca init -P e32.json
sim_start a esp32 --mac 24:0a:c4:00:00:5a
check "provision" "$ESPPROV" provision -P e32.json -p "$T_TMP/a.port"
serial=$("$ESPPROV" ledger list -P e32.json --json | jq -r '.[-1].cert_serial')

check "board show" "$ESPPROV" board show -P e32.json -p "$T_TMP/a.port"
assert "chip and MAC from the board" \
    sh -c "grep -q '^chip: *ESP32' '$T_TMP/out' && grep -q '^mac: *24:0a:c4:00:00:5a' '$T_TMP/out'"
assert "flash size" grep -q '^flash: *4096 KiB' "$T_TMP/out"
assert "the ledger's record: provisioned, with the device id" \
    grep -q '^ledger: *attempt [0-9]*, provisioned, dev-240ac400005a' "$T_TMP/out"
assert "the identity read back: subject" grep -q '^identity: *CN=dev-240ac400005a' "$T_TMP/out"
assert "the identity read back: the serial the ledger recorded" grep -q "^  serial: *$serial\$" "$T_TMP/out"
assert "the identity read back: live" grep -q '^  status: *live' "$T_TMP/out"
assert "the config, with the WiFi password redacted" \
    sh -c "grep -q '\"password\": \"<redacted>\"' '$T_TMP/out' && ! grep -q '$PV_WIFI_PASS' '$T_TMP/out'"
assert "the config names the device" grep -q '"id": "dev-240ac400005a"' "$T_TMP/out"
assert "nothing secret on stderr either" sh -c "! grep -q '$PV_WIFI_PASS\|$PV_CA_PASS' '$T_TMP/err'"

check "cert revoke" "$ESPPROV" cert revoke -P e32.json --id dev-240ac400005a
check "board show after the revocation" "$ESPPROV" board show -P e32.json -p "$T_TMP/a.port"
assert "the identity is REVOKED" grep -q '^  status: *REVOKED on ' "$T_TMP/out"

sim_start b esp32 --mac 24:0a:c4:00:00:5b
check "board show of a blank board" "$ESPPROV" board show -P e32.json -p "$T_TMP/b.port"
assert "blank: no ledger attempt" grep -q '^ledger: *no attempt for 24:0a:c4:00:00:5b' "$T_TMP/out"
assert "blank: no identity" grep -q '^identity: *none read back' "$T_TMP/out"
check_fails "board show without a profile" 2 env ESPPROV_PROFILE= "$ESPPROV" board show -p "$T_TMP/b.port"
finish
