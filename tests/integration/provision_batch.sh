#!/usr/bin/env bash
# Boards in parallel: four at once with a write fault injected into one
# (three provisioned, one failed with its step and reason, nothing shared
# corrupted), then a re-run that finishes it and revokes the certificate the
# failed attempt minted. Boards the profile does not fit are refused before
# anything is minted. Partition tables: the profile's CSV is written at
# 0x8000, and "device" reads the table from the board.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"

cd "$T_TMP" || exit 1
pv_profile e32.json batch esp32 '{ "offset": "0x300000", "size": "0x20000" }'
check "ca init" "$ESPPROV" ca init -P e32.json

for n in 1 2 3 4; do
    fault=()
    [ $n = 3 ] && fault=(--fault write-fail:cmd=FLASH_DEFL_DATA,count=0)
    sim_start "b$n" esp32 --mac "24:0a:c4:00:0b:0$n" "${fault[@]}"
done
# ROM loader: its flash write error is the one named below.
check_fails "four boards, one faulty: exit status 1" 1 "$ESPPROV" provision -P e32.json --no-stub \
    -p "$T_TMP/b1.port" -p "$T_TMP/b2.port" -p "$T_TMP/b3.port" -p "$T_TMP/b4.port"
cp "$T_TMP/out" batch.out
assert "three provisioned" [ "$(grep -c ' provisioned (' batch.out)" -eq 3 ]
assert "the faulty one failed at write, with the reason" \
    grep -Eq 'b3\.port  dev-240ac4000b03  24:0a:c4:00:0b:03  failed at write: .*flash write error' batch.out
assert "summary counts both" grep -Eq '^3 provisioned, 1 failed in [0-9.]+ s$' batch.out
for n in 1 2 4; do
    assert "b$n: app written" flash_has "b$n" 0x10000 "$FW_DIR/demo-esp32-app.bin"
    assert "b$n: ledger provisioned" [ "$(pv_state e32.json "24:0a:c4:00:0b:0$n")" = provisioned ]
done
assert "b3: ledger says failed at write" \
    [ "$(pv_ledger e32.json | jq -r '.[] | select(.mac == "24:0a:c4:00:0b:03") | .state + " " + .failed_at')" = "failed write" ]
failed_serial=$(pv_ledger e32.json | jq -r '.[] | select(.mac == "24:0a:c4:00:0b:03") | .cert_serial')
assert "b3: the failed attempt's certificate is on record" \
    grep -q "^0*$failed_serial device" <("$ESPPROV" cert list -P e32.json)
assert "serials are all different" \
    [ "$(pv_ledger e32.json | jq -r '.[].cert_serial' | sort -u | wc -l)" -eq 4 ]

sim_stop b3
sim_start b3 esp32 --mac 24:0a:c4:00:0b:03
check "re-run finishes the failed board" "$ESPPROV" provision -P e32.json -p "$T_TMP/b3.port"
assert "b3: provisioned now" [ "$(pv_state e32.json 24:0a:c4:00:0b:03)" = provisioned ]
assert "b3: app written" flash_has b3 0x10000 "$FW_DIR/demo-esp32-app.bin"
assert "b3: no question asked about a board that never finished" grep -q 'provisioned (' "$T_TMP/out"
assert "b3: the failed attempt's certificate revoked" \
    grep -q "^0*$failed_serial .*REVOKED" <("$ESPPROV" cert list -P e32.json)
assert "b3: the ledger says why" \
    grep -q "superseded by attempt" <(pv_ledger e32.json | jq -r '.[] | select(.cert_serial == "'"$failed_serial"'") | .revoke_reason')
assert "CRL lists it" \
    grep -qi "serial number: *0*$failed_serial" <(openssl crl -in ca/ca.crl.pem -noout -text)

# ---- boards the profile does not fit ------------------------------------
sim_start w esp8266 --mac 5c:cf:7f:00:0b:99
check_fails "wrong chip refused" 1 "$ESPPROV" provision -P e32.json -p "$T_TMP/w.port"
assert "wrong chip: says which" grep -q "failed at mint: the board is an ESP8266; profile 'batch' is for ESP32" "$T_TMP/out"
sed 's/"mode": "dio"/"size": "4MB", "mode": "dio"/' e32.json >e32-4m.json
sim_start s esp32 --mac 24:0a:c4:00:0b:98 --flash-size 2MB
check_fails "small flash refused" 1 "$ESPPROV" provision -P e32-4m.json -p "$T_TMP/s.port"
assert "small flash: says so" grep -q "the board has 2048 KB of flash; the profile needs 4096 KB" "$T_TMP/out"
sed "s|demo-esp32-app.bin|demo-esp8266.bin|" e32.json >e32-wrongfw.json
rows_before=$(pv_ledger e32.json | jq length)
check_fails "firmware for another chip refused before any board" 1 \
    "$ESPPROV" provision -P e32-wrongfw.json -p "$T_TMP/b1.port"
assert "wrong firmware: says which" grep -q 'firmware at 0x10000 was built for ESP8266, the profile is for esp32' "$T_TMP/err"
assert "wrong firmware: no ledger row" [ "$(pv_ledger e32.json | jq length)" -eq "$rows_before" ]
assert "nothing minted for refused boards" \
    [ "$("$ESPPROV" cert list -P e32.json | wc -l)" -eq 5 ]

# ---- partition tables ------------------------------------------------------
cat >parts.csv <<'EOF'
# Name,   Type, SubType, Offset,  Size
nvs,      data, nvs,     0x9000,  0x5000
otadata,  data, ota,     0xe000,  0x2000
app0,     app,  ota_0,   0x10000, 0x140000
storage,  data, spiffs,  0x150000,0x30000
EOF
pv_profile csv.json tables esp32 '{ "partition": "storage", "preset": "esp-idf" }' '"partitions": "parts.csv"'
sim_start t esp32 --mac 24:0a:c4:00:0b:71
check "partition CSV: provision" "$ESPPROV" provision -P csv.json -p "$T_TMP/t.port"
assert "partition CSV: the table is at 0x8000" [ "$(flash_slice t $((0x8000)) 2 | od -An -tx1 | tr -d ' ')" = aa50 ]
assert "partition CSV: first entry is nvs" [ "$(flash_slice t $((0x800C)) 3)" = nvs ]
pv_fs t 0x150000 0x30000 t.fs
assert "partition CSV: filesystem in partition 'storage'" test -s t.fs/client.crt.der

pv_profile dev.json tables esp32 '{ "partition": "storage", "preset": "esp-idf" }' '"partitions": "device"'
head -c $((4 << 20)) /dev/zero | tr '\0' '\377' >u.bin
flash_slice t $((0x8000)) 4096 | dd of=u.bin bs=1 seek=$((0x8000)) conv=notrunc status=none
sim_start u esp32 --mac 24:0a:c4:00:0b:72
check "partition from the board: provision" "$ESPPROV" provision -P dev.json -p "$T_TMP/u.port"
pv_fs u 0x150000 0x30000 u.fs
assert "partition from the board: filesystem where its table says" test -s u.fs/client.crt.der
sim_start v esp32 --mac 24:0a:c4:00:0b:73
check_fails "partition from the board: a blank board is refused" 1 \
    "$ESPPROV" provision -P dev.json -p "$T_TMP/v.port"
assert "partition from the board: says why" grep -q 'the board has no partition table at 0x8000' "$T_TMP/out"
finish
