#!/usr/bin/env bash
# `espprov provision` end to end on simulated boards (ESP32 ROM, ESP8266 ROM
# with a named layout, ESP32 with a flasher stub): the flash holds the
# firmware at its offsets and a filesystem whose certificate and key complete
# an mTLS publish to a real Mosquitto; the ledger says provisioned. Then a dry
# run (nothing written, issued or recorded), the reprovision policies (refuse,
# keep, renew with the old certificate refused by the broker) and --only-fs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"
. "$(dirname "$0")/../mosquitto.sh"

not() { ! "$@"; }
jqq() { jq -e "$@" >/dev/null; }
cd "$T_TMP" || exit 1
FS32='{ "offset": "0x290000", "size": "0x40000" }'
pv_profile e32.json e32 esp32 "$FS32"
pv_profile e8266.json e8266 esp8266 '{ "layout": "4M1M" }'
mkstub esp32 "$T_TMP/stub32.json"
pv_profile e32s.json e32s esp32 "$FS32"
sed -i 's|"baud": 921600 }|"baud": 921600, "stub": "stub32.json" }|' e32s.json

check "ca init" "$ESPPROV" ca init -P e32.json
check "cert server" "$ESPPROV" cert server -P e32.json --dns localhost --ip 127.0.0.1
cp "$T_TMP/out" listener.conf
conf() { awk -v k="$1" '$1 == k { print $2 }' listener.conf; }
check "a subscriber identity" "$ESPPROV" cert device -P e32.json --id watcher --format pem --out .
have_broker=false
if mosq_available && mosq_start "$(conf cafile)" "$(conf certfile)" "$(conf keyfile)" "$(conf crlfile)"; then
    have_broker=true
fi
assert "broker runs" $have_broker
deliver() { # DIR TOPIC: the identity in DIR publishes, the watcher receives
    mosq_deliver "$2" "$1/client.crt.pem" "$1/client.key.pem" watcher.crt.pem watcher.key.pem
}

# ---- ESP32, ROM loader --------------------------------------------------
sim_start a esp32 --mac 24:0a:c4:00:00:a1
check "esp32 rom: provision" "$ESPPROV" provision -P e32.json -p "$T_TMP/a.port"
assert "esp32 rom: result line" grep -Eq '^.*a\.port  dev-240ac40000a1  24:0a:c4:00:00:a1  provisioned \([0-9.]+ s\)$' "$T_TMP/out"
assert "esp32 rom: summary" grep -Eq '^1 provisioned, 0 failed in [0-9.]+ s$' "$T_TMP/out"
assert "esp32 rom: bootloader at 0x1000" flash_has a 0x1000 "$FW_DIR/demo-esp32-bootloader.bin"
assert "esp32 rom: app at 0x10000" flash_has a 0x10000 "$FW_DIR/demo-esp32-app.bin"
pv_fs a 0x290000 0x40000 a.fs
assert "esp32 rom: filesystem holds CA, certificate, key, config" \
    test -s a.fs/ca.der -a -s a.fs/client.crt.der -a -s a.fs/client.key.der -a -s a.fs/config.json
assert "esp32 rom: config names the device" grep -q '"id":"dev-240ac40000a1"' a.fs/config.json
pv_der2pem a.fs
assert "esp32 rom: certificate verifies against the CA" \
    openssl verify -CAfile ca/ca.crt.pem a.fs/client.crt.pem
assert "esp32 rom: certificate and key complete an mTLS publish" deliver a.fs dev/a
serial_a=$(pv_serial_of a.fs/client.crt.der)
assert "esp32 rom: ledger says provisioned" [ "$(pv_state e32.json 24:0a:c4:00:00:a1)" = provisioned ]
assert "esp32 rom: ledger has the certificate on the board" \
    [ "$(pv_ledger e32.json | jq -r '.[0].cert_serial')" = "$serial_a" ]
assert "esp32 rom: ledger has firmware and filesystem digests" \
    [ "$(pv_ledger e32.json | jq -r '.[0].fs_sha256')" = "$(sha256sum <a.fs.bin | cut -c1-64)" ]
assert "esp32 rom: firmware digests by offset" \
    [ "$(pv_ledger e32.json | jq -r '.[0].firmware_sha256')" = "0x1000:$(sha256sum <"$FW_DIR/demo-esp32-bootloader.bin" | cut -c1-64),0x10000:$(sha256sum <"$FW_DIR/demo-esp32-app.bin" | cut -c1-64)" ]
assert "esp32 rom: no secret in the ledger" \
    not grep -aq -e "$PV_WIFI_PASS" -e "$PV_CA_PASS" e32.db

# ---- ESP8266, ROM loader, Arduino layout --------------------------------
sim_start b esp8266 --mac 5c:cf:7f:00:00:b1
check "esp8266 rom: provision" "$ESPPROV" provision -P e8266.json -p "$T_TMP/b.port" --no-stub
assert "esp8266 rom: says it could not verify" grep -q 'provisioned; written but not verified' "$T_TMP/out"
assert "esp8266 rom: firmware at 0x0" flash_has b 0x0 "$FW_DIR/demo-esp8266.bin"
pv_fs b 0x300000 0xFA000 b.fs
pv_der2pem b.fs
assert "esp8266 rom: filesystem at the 4M1M offset with an identity" test -s b.fs/client.key.pem
assert "esp8266 rom: its identity publishes over mTLS" deliver b.fs dev/b
assert "esp8266 rom: ledger skips 'verified'" \
    [ "$(pv_ledger e8266.json | jq -r '.[0].state + "/" + .[0].step')" = "provisioned/provisioned" ]

# ---- ESP32 with a flasher stub -----------------------------------------
sim_start c esp32 --mac 24:0a:c4:00:00:c1
check "esp32 stub: provision" "$ESPPROV" provision -P e32s.json -p "$T_TMP/c.port"
assert "esp32 stub: the stub wrote it" [ "$(log_count c 'stub  FLASH_DEFL_DATA')" -ge 1 ]
assert "esp32 stub: app at 0x10000" flash_has c 0x10000 "$FW_DIR/demo-esp32-app.bin"
pv_fs c 0x290000 0x40000 c.fs
pv_der2pem c.fs
assert "esp32 stub: identity publishes over mTLS" deliver c.fs dev/c

mkstub esp8266 "$T_TMP/stub8266.json"
sed 's|"baud": 921600 }|"baud": 921600, "stub": "stub8266.json" }|' e8266.json >e8266s.json
sim_start b2 esp8266 --mac 5c:cf:7f:00:00:b2
check "esp8266 stub: provision" "$ESPPROV" provision -P e8266s.json -p "$T_TMP/b2.port" --json
assert "esp8266 stub: verified by MD5" jqq -s 'map(select(.port)) | .[0].verified' "$T_TMP/out"
assert "esp8266 stub: firmware at 0x0" flash_has b2 0x0 "$FW_DIR/demo-esp8266.bin"

# ---- dry run --------------------------------------------------------------
sim_start d esp32 --mac 24:0a:c4:00:00:d1
before=$(md5sum <d.bin)
issued=$("$ESPPROV" cert list -P e32.json | wc -l)
check "dry run: runs" "$ESPPROV" provision -P e32.json -p "$T_TMP/d.port" --dry-run
assert "dry run: result says so" grep -q 'dry run ok, nothing written (dry run: 3 regions' "$T_TMP/out"
assert "dry run: summary says so" grep -q '^dry run: 1 ok, 0 failed in .* (nothing was written)$' "$T_TMP/out"
assert "dry run: progress lines say so" grep -q 'd.port: dry run: building the filesystem' "$T_TMP/err"
assert "dry run: flash untouched" [ "$(md5sum <d.bin)" = "$before" ]
assert "dry run: no certificate issued" [ "$("$ESPPROV" cert list -P e32.json | wc -l)" -eq "$issued" ]
assert "dry run: no ledger row" [ "$(pv_ledger e32.json | jq '[.[] | select(.mac == "24:0a:c4:00:00:d1")] | length')" -eq 0 ]
# The plan: every region with address, size, action and zlib size, then the identity.
assert "dry run: plan header" grep -Eq '^  address +size +action +on the wire +what$' "$T_TMP/out"
assert "dry run: the filesystem at 0x290000, 256 KiB, written compressed" \
    grep -Eq '^  0x00290000  256\.0 KiB +write +[0-9.]+ KiB zlib +the filesystem$' "$T_TMP/out"
assert "dry run: the firmware regions are listed" \
    [ "$(grep -Ec '^  0x[0-9a-f]{8} .* write .*firmware at ' "$T_TMP/out")" -ge 1 ]
assert "dry run: the identity it would get" \
    grep -Eq '^  identity: CN=.*, ec-p256 key, valid until .*preview' "$T_TMP/out"
check "dry run --json: the plan as data" "$ESPPROV" provision -P e32.json -p "$T_TMP/d.port" --dry-run --json
assert "dry run --json: regions with address, size, action, compressed size" \
    jqq -s 'map(select(.port)) | .[0].plan | map(select(.what == "the filesystem" and .address == 2686976 and .size == 262144 and .action == "write" and .compressed > 0 and .compressed < 262144)) | length == 1' "$T_TMP/out"
assert "dry run --json: the identity, not issued" \
    jqq -s 'map(select(.port)) | .[0].identity | (.issued == false) and (.subject | test("CN="))' "$T_TMP/out"
assert "dry run --json: flash still untouched" [ "$(md5sum <d.bin)" = "$before" ]

# ---- a board seen before -------------------------------------------------
check_fails "seen before: refused without --reprovision" 1 \
    "$ESPPROV" provision -P e32.json -p "$T_TMP/a.port" </dev/null
assert "seen before: the error names the flag" grep -q 'not changing it without --reprovision' "$T_TMP/out"
assert "seen before: the hint names both choices" grep -q 'hint: run again with --reprovision renew .* --reprovision keep' "$T_TMP/err"
assert "seen before: still the old identity" [ "$(pv_state e32.json 24:0a:c4:00:00:a1)" = failed ]

check "keep: provision" "$ESPPROV" provision -P e32.json -p "$T_TMP/a.port" --reprovision keep
assert "keep: says so" grep -q 'provisioned, identity kept' "$T_TMP/out"
pv_fs a 0x290000 0x40000 a.keep
assert "keep: same certificate on the board" [ "$(pv_serial_of a.keep/client.crt.der)" = "$serial_a" ]
assert "keep: ledger records keep" [ "$(pv_ledger e32.json | jq -r 'last | .reprovision')" = keep ]

check "renew: provision" "$ESPPROV" provision -P e32.json -p "$T_TMP/a.port" --reprovision renew
assert "renew: says so" grep -q 'provisioned, renewed' "$T_TMP/out"
assert "renew: CRL rewritten" grep -q 'CRL rewritten: 1 revoked certificate' "$T_TMP/err"
pv_fs a 0x290000 0x40000 a.new
pv_der2pem a.new
assert "renew: a new certificate" [ "$(pv_serial_of a.new/client.crt.der)" != "$serial_a" ]
assert "renew: old certificate revoked in the record" \
    grep -q "^0*$serial_a .*REVOKED" <("$ESPPROV" cert list -P e32.json)
assert "renew: old ledger rows read revoked" \
    [ "$(pv_ledger e32.json | jq -r --arg s "$serial_a" '[.[] | select(.cert_serial == $s) | .state] | unique | join(",")')" = revoked ]
if $have_broker; then
    mosq_reload
    assert "renew: the broker refuses the old identity" not deliver a.fs dev/a-old
    assert "renew: the broker accepts the new one" deliver a.new dev/a-new
fi

# ---- only the filesystem, after a change in the profile ---------------
sed 's/"host": "127.0.0.1"/"host": "broker.example.test"/' e32.json >e32b.json
serial_new=$(pv_serial_of a.new/client.crt.der)
head -c 4096 /dev/zero | dd of=a.bin bs=1 seek=$((0x10000)) conv=notrunc status=none
check "only-fs dry run: the plan keeps the firmware" "$ESPPROV" provision -P e32b.json \
    -p "$T_TMP/a.port" --only-fs --dry-run
assert "only-fs dry run: firmware skipped, saying why" \
    grep -Eq '^  0x00010000 .* skip +- +firmware at 0x10000 \(--only-fs keeps it\)$' "$T_TMP/out"
assert "only-fs dry run: the filesystem written" grep -Eq '^  0x00290000 .* write .*the filesystem$' "$T_TMP/out"
check "only-fs: provision" "$ESPPROV" provision -P e32b.json -p "$T_TMP/a.port" --only-fs
pv_fs a 0x290000 0x40000 a.onlyfs
assert "only-fs: new MQTT host in the config" grep -q '"host":"broker.example.test"' a.onlyfs/config.json
assert "only-fs: identity kept" [ "$(pv_serial_of a.onlyfs/client.crt.der)" = "$serial_new" ]
assert "only-fs: firmware not written" [ "$(flash_slice a 0x10000 4096 | tr -d '\0' | wc -c)" -eq 0 ]
check_fails "only-fs: cannot renew" 2 "$ESPPROV" provision -P e32.json -p x --only-fs --reprovision renew

# ---- JSON Lines ----------------------------------------------------------
sim_start j esp32 --mac 24:0a:c4:00:00:e1
check "json: provision" "$ESPPROV" provision -P e32.json -p "$T_TMP/j.port" --json
assert "json: every line parses" jqq . "$T_TMP/out"
assert "json: the board's record" \
    jqq -s 'map(select(.port != null)) | .[0] | .result == "provisioned" and .mac == "24:0a:c4:00:00:e1" and .verified and (.attempt > 0) and (.serial | length > 0)' "$T_TMP/out"
assert "json: the summary" jqq -s 'map(select(.summary)) | .[0] | .provisioned == 1 and .failed == 0' "$T_TMP/out"

check "provision --help" "$ESPPROV" provision --help
check_fails "no boards named" 2 "$ESPPROV" provision -P e32.json
check_fails "--port with --watch" 2 "$ESPPROV" provision -P e32.json -p x --watch
finish
