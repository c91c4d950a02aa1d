#!/usr/bin/env bash
# `espprov factory-reset`: the data regions are erased (0xFF in the flash
# file) and the rest kept; --revoke puts the certificate in the CRL and
# Mosquitto then refuses it; --full erases everything (chip erase with a
# stub, region by region without), --restore writes the firmware back; the
# ledger records the reset.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"
. "$(dirname "$0")/../mosquitto.sh"

not() { ! "$@"; }
cd "$T_TMP" || exit 1
cat >parts.csv <<'EOF'
nvs,      data, nvs,      0x9000,  0x5000
otadata,  data, ota,      0xe000,  0x2000
phy_init, data, phy,      0x10000, 0x1000
app0,     app,  ota_0,    0x20000, 0x140000
storage,  data, spiffs,   0x160000,0x20000
coredump, data, coredump, 0x180000,0x10000
EOF
pv_profile r.json reset esp32 '{ "preset": "esp-idf" }' '"partitions": "parts.csv"'
sed -i 's/"offset": "0x10000", "file"/"offset": "0x20000", "file"/' r.json
pv_profile r8.json reset8 esp8266 '{ "layout": "4M2M" }'
check "ca init" "$ESPPROV" ca init -P r.json
check "cert server" "$ESPPROV" cert server -P r.json --dns localhost --ip 127.0.0.1
cp "$T_TMP/out" listener.conf
conf() { awk -v k="$1" '$1 == k { print $2 }' listener.conf; }
check "subscriber identity" "$ESPPROV" cert device -P r.json --id watcher --format pem --out .
have_broker=false
if mosq_available && mosq_start "$(conf cafile)" "$(conf certfile)" "$(conf keyfile)" "$(conf crlfile)"; then
    have_broker=true
fi
assert "broker runs" $have_broker

# nonblank NAME OFFSET LEN: some byte there is not 0xFF.
nonblank() { ! flash_blank "$@"; }
scribble() { # NAME OFFSET: 4 KB of data where the firmware would keep its own
    head -c 4096 /dev/urandom | dd of="$1.bin" bs=1 seek=$(($2)) conv=notrunc status=none
}

# ---- data regions, revoke ------------------------------------------------
sim_start a esp32 --mac 24:0a:c4:00:0c:01
check "provision" "$ESPPROV" provision -P r.json -p "$T_TMP/a.port"
pv_fs a 0x160000 0x20000 a.fs
pv_der2pem a.fs
serial=$(pv_serial_of a.fs/client.crt.der)
assert "before: the broker accepts the board" \
    mosq_deliver t/a a.fs/client.crt.pem a.fs/client.key.pem watcher.crt.pem watcher.key.pem
for at in 0x9000 0xe000 0x10000 0x180000; do scribble a $at; done
check "factory-reset --revoke" "$ESPPROV" factory-reset -P r.json -p "$T_TMP/a.port" --revoke
assert "result line" grep -Eq 'a\.port  dev-240ac4000c01  24:0a:c4:00:0c:01  reset \(' "$T_TMP/out"
assert "CRL rewritten" grep -q 'CRL rewritten: 1 revoked certificate' "$T_TMP/err"
assert "filesystem erased" flash_blank a $((0x160000)) $((0x20000))
assert "nvs erased" flash_blank a $((0x9000)) $((0x5000))
assert "otadata erased" flash_blank a $((0xe000)) $((0x2000))
assert "coredump erased" flash_blank a $((0x180000)) $((0x10000))
assert "phy_init kept" nonblank a $((0x10000)) 4096
assert "app kept" flash_has a 0x20000 "$FW_DIR/demo-esp32-app.bin"
assert "bootloader kept" flash_has a 0x1000 "$FW_DIR/demo-esp32-bootloader.bin"
assert "partition table kept" [ "$(flash_slice a $((0x8000)) 2 | od -An -tx1 | tr -d ' ')" = aa50 ]
assert "certificate revoked in the record" grep -q "^0*$serial .*REVOKED" <("$ESPPROV" cert list -P r.json)
assert "certificate in the CRL" grep -qi "serial number: *0*$serial" <(openssl crl -in ca/ca.crl.pem -noout -text)
assert "ledger: a reset row with the device id" \
    [ "$(pv_ledger r.json | jq -r 'last | .kind + " " + .state + " " + .device_id')" = "reset reset dev-240ac4000c01" ]
assert "ledger: the provisioning row reads revoked" \
    [ "$(pv_ledger r.json | jq -r 'first | .state')" = revoked ]
if $have_broker; then
    mosq_reload
    assert "after: Mosquitto refuses the revoked certificate" \
        not mosq_deliver t/a2 a.fs/client.crt.pem a.fs/client.key.pem watcher.crt.pem watcher.key.pem
fi
check_fails "--revoke with nothing left to revoke" 1 \
    "$ESPPROV" factory-reset -P r.json -p "$T_TMP/a.port" --revoke
assert "says nothing was erased" grep -q 'no unrevoked certificate for 24:0a:c4:00:0c:01; nothing was erased' "$T_TMP/out"
check "provisioned again afterwards without a question" "$ESPPROV" provision -P r.json -p "$T_TMP/a.port"

# ---- the whole chip, ROM and stub -----------------------------------------
sim_reset a # the pty cannot reset it: the last run's stub still runs
check "--full --restore on the ROM" "$ESPPROV" factory-reset -P r.json -p "$T_TMP/a.port" --full --restore --no-stub
assert "says it erased region by region" grep -q 'erased region by region' "$T_TMP/out"
assert "--full: filesystem blank" flash_blank a $((0x160000)) $((0x20000))
assert "--full: phy_init blank too" flash_blank a $((0x10000)) 4096
assert "--full: everything past the app blank" flash_blank a $((0x160000)) $((0x2A0000))
assert "--restore: app back" flash_has a 0x20000 "$FW_DIR/demo-esp32-app.bin"
assert "--restore: bootloader back" flash_has a 0x1000 "$FW_DIR/demo-esp32-bootloader.bin"
assert "--restore: table back" [ "$(flash_slice a $((0x8000)) 2 | od -An -tx1 | tr -d ' ')" = aa50 ]
assert "ledger: reset verified" \
    [ "$(pv_ledger r.json | jq -r 'last | .state + " " + .firmware_sha256[0:7]')" = "reset 0x1000:" ]

mkstub esp32 "$T_TMP/stub.json"
sim_start b esp32 --mac 24:0a:c4:00:0c:02
check "--full with a stub" "$ESPPROV" factory-reset -P r.json -p "$T_TMP/b.port" --full --stub stub.json
assert "--full with a stub: a chip erase" [ "$(log_count b 'ERASE_FLASH')" -ge 1 ]
assert "--full with a stub: all blank" flash_blank b 0 $((4 << 20))

# ---- ESP8266: filesystem and the settings after it ------------------------
sim_start e esp8266 --mac 5c:cf:7f:00:0c:03
check "esp8266: provision" "$ESPPROV" provision -P r8.json -p "$T_TMP/e.port"
scribble e 0x3FB000
scribble e 0x3FE000
check "esp8266: factory-reset" "$ESPPROV" factory-reset -P r8.json -p "$T_TMP/e.port"
assert "esp8266: filesystem erased" flash_blank e $((0x200000)) $((0x1FA000))
assert "esp8266: EEPROM and SDK settings erased" flash_blank e $((0x3FA000)) $((0x6000))
assert "esp8266: firmware kept" flash_has e 0 "$FW_DIR/demo-esp8266.bin"

check "factory-reset --help" "$ESPPROV" factory-reset --help
check_fails "needs a port" 2 "$ESPPROV" factory-reset -P r.json
finish
