#!/usr/bin/env bash
# A LittleFS profile end to end on simulated boards: the shipped
# profiles/esp32-littlefs.json (ESP-IDF table, a data/littlefs partition)
# passes `profile check`, provisions a board whose flash then holds a
# LittleFS image that `fs list/check/extract` read and whose certificate
# verifies against the CA; --reprovision keep reads the identity back out of
# LittleFS; --only-fs rewrites it; factory-reset erases it. Also ESP8266 (a
# 4M2M layout: block 8192, disk version 2.0) and an ESP32 table whose
# filesystem partition has subtype spiffs (esp_littlefs mounts that too).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"

profiles=$(cd "$(dirname "$0")/../../profiles" && pwd)
cd "$T_TMP" || exit 1
mkdir -p ship/ca && cp -r "$profiles/esp32-littlefs.json" "$profiles/partitions-littlefs.csv" \
    "$profiles/firmware" ship/
printf 'ca-pass-%s\n' "$RANDOM$RANDOM" >ship/ca/passphrase.txt
chmod 600 ship/ca/passphrase.txt
export WIFI_PASS="wifi-pass-$RANDOM$RANDOM"
P=ship/esp32-littlefs.json
FS_OFF=0x210000
FS_LEN=0xF0000

# lfs NAME DIR: board NAME's filesystem region into NAME.fs.bin, extracted into DIR.
lfs() {
    rm -rf "$2"
    flash_slice "$1" $((FS_OFF)) $((FS_LEN)) >"$1.fs.bin" &&
        "$ESPPROV" fs extract "$1.fs.bin" "$2" >/dev/null
}

# ---- profile check, CA ----------------------------------------------------
check "profile check (shipped esp32-littlefs.json)" "$ESPPROV" profile check -P "$P"
assert "profile check shows the filesystem type" \
    [ "$(jq -r '.filesystem.type + " " + .filesystem.preset + " " + .filesystem.offset' "$T_TMP/out")" = \
      "littlefs esp-idf 0x210000" ]
check "ca init" "$ESPPROV" ca init -P "$P"

# ---- provision -------------------------------------------------------------
sim_start a esp32 --mac 24:0a:c4:00:1f:a1
check "provision" "$ESPPROV" provision -P "$P" -p "$T_TMP/a.port"
assert "result line" grep -Eq 'a\.port  sensor-0001-001fa1  24:0a:c4:00:1f:a1  provisioned' "$T_TMP/out"
assert "app at 0x10000" flash_has a 0x10000 "$FW_DIR/demo-esp32-app.bin"
assert "partition table at 0x8000" [ "$(flash_slice a $((0x8000)) 2 | od -An -tx1 | tr -d ' ')" = aa50 ]
flash_slice a $((FS_OFF)) $((FS_LEN)) >a.fs.bin
check "fs list on the region read back" "$ESPPROV" -v fs list a.fs.bin
assert "detected as LittleFS with esp_littlefs's parameters" \
    grep -q 'detected littlefs, esp-idf: block 4096, read/prog 128/128, cache 512' "$T_TMP/err"
assert "lists the four files" [ "$(last_out | awk 'NF == 2 { print $2 }' | tr '\n' ' ')" = \
    "/ca.der /client.crt.der /client.key.der /config.json " ]
assert "whole partition, 4 KiB blocks, disk 2.1" \
    grep -q '^4 files, 0 folders, .* blocks: .* of 240 (4096 bytes each); littlefs disk v2.1$' "$T_TMP/out"
check "fs check --preset esp-idf: the device mounts it" "$ESPPROV" fs check --preset esp-idf a.fs.bin
check "fs extract" "$ESPPROV" fs extract a.fs.bin a.fs
assert "key extracted 0600" [ "$(stat -c %a a.fs/client.key.der)" = 600 ]
pv_der2pem a.fs
assert "certificate verifies against the CA" openssl verify -CAfile ship/ca/ca.crt.pem a.fs/client.crt.pem
assert "key matches the certificate" [ "$(openssl x509 -in a.fs/client.crt.pem -noout -pubkey)" = \
    "$(openssl pkey -in a.fs/client.key.pem -pubout)" ]
assert "config names the device" grep -q '"id":"sensor-0001-001fa1"' a.fs/config.json
serial=$(pv_serial_of a.fs/client.crt.der)
assert "ledger: provisioned, with the LittleFS image's digest" \
    [ "$(pv_ledger "$P" | jq -r '.[0].state + " " + .[0].fs_sha256')" = \
      "provisioned $(sha256sum <a.fs.bin | cut -c1-64)" ]
check "image: the same profile without a board" "$ESPPROV" image -P "$P" --mac 24:0a:c4:00:1f:a2 \
    --seq 7 -o img.bin
assert "image says littlefs" grep -q 'wrote img.bin: 983040 bytes (littlefs, esp-idf), flash at 0x210000' "$T_TMP/out"

# ---- keep: the identity read back out of LittleFS ------------------------
check "keep" "$ESPPROV" provision -P "$P" -p "$T_TMP/a.port" --reprovision keep
assert "keep: says so" grep -q 'provisioned, identity kept' "$T_TMP/out"
lfs a a.keep
assert "keep: same certificate on the board" [ "$(pv_serial_of a.keep/client.crt.der)" = "$serial" ]
assert "keep: same key" cmp -s a.fs/client.key.der a.keep/client.key.der

# ---- only the filesystem ---------------------------------------------------
sed 's/"host": "mqtt.example.net"/"host": "broker.example.test"/' "$P" >ship/b.json
head -c 4096 /dev/zero | dd of=a.bin bs=1 seek=$((0x10000)) conv=notrunc status=none
check "only-fs" "$ESPPROV" provision -P ship/b.json -p "$T_TMP/a.port" --only-fs
lfs a a.onlyfs
assert "only-fs: new MQTT host in the config" grep -q '"host":"broker.example.test"' a.onlyfs/config.json
assert "only-fs: identity kept" [ "$(pv_serial_of a.onlyfs/client.crt.der)" = "$serial" ]
assert "only-fs: firmware not written" [ "$(flash_slice a 0x10000 4096 | tr -d '\0' | wc -c)" -eq 0 ]

# ---- factory reset ---------------------------------------------------------
check "factory-reset --revoke" "$ESPPROV" factory-reset -P "$P" -p "$T_TMP/a.port" --revoke
assert "filesystem erased" flash_blank a $((FS_OFF)) $((FS_LEN))
assert "certificate revoked" grep -q "^0*$serial .*REVOKED" <("$ESPPROV" cert list -P "$P")

# ---- ESP8266, 4M2M layout: block 8192, disk version 2.0 -------------------
cp -r ship/ca .
pv_profile e8.json e8 esp8266 '{ "type": "littlefs", "layout": "4M2M" }'
check "esp8266: profile check" "$ESPPROV" profile check -P e8.json
assert "esp8266: preset by chip" [ "$(jq -r '.filesystem.type + " " + .filesystem.preset' "$T_TMP/out")" = \
    "littlefs esp8266-arduino" ]
sed -i 's|"passphrase": "${PV_CA_PASS}"|"passphrase_file": "ca/passphrase.txt"|' e8.json
sim_start b esp8266 --mac 5c:cf:7f:00:1f:b1
check "esp8266: provision" "$ESPPROV" provision -P e8.json -p "$T_TMP/b.port" --no-stub
flash_slice b $((0x200000)) $((0x1FA000)) >b.fs.bin
check "esp8266: fs list" "$ESPPROV" -v fs list b.fs.bin
assert "esp8266: the core's parameters, disk 2.0" \
    grep -q 'detected littlefs, esp8266-arduino: block 8192, read/prog 64/64' "$T_TMP/err"
assert "esp8266: 253 blocks of 8 KiB, disk v2.0" grep -q 'of 253 (8192 bytes each); littlefs disk v2.0$' "$T_TMP/out"
check "esp8266: fs check --preset esp8266-arduino" "$ESPPROV" fs check --preset esp8266-arduino b.fs.bin
check "esp8266: fs extract" "$ESPPROV" fs extract b.fs.bin b.fs
pv_der2pem b.fs
assert "esp8266: certificate verifies against the CA" openssl verify -CAfile ca/ca.crt.pem b.fs/client.crt.pem

# ---- ESP32: LittleFS in a data/spiffs partition, chosen by label -----------
cat >parts.csv <<'PARTS'
nvs,      data, nvs,      0x9000,  0x6000
phy_init, data, phy,      0xf000,  0x1000
factory,  app,  factory,  0x10000, 0x100000
storage,  data, spiffs,   0x110000,0x40000
PARTS
pv_profile c.json c esp32 '{ "type": "littlefs", "preset": "esp32-arduino" }' '"partitions": "parts.csv"'
sed -i 's|"passphrase": "${PV_CA_PASS}"|"passphrase_file": "ca/passphrase.txt"|' c.json
sim_start c esp32 --mac 24:0a:c4:00:1f:c1
check "spiffs subtype: provision" "$ESPPROV" provision -P c.json -p "$T_TMP/c.port"
flash_slice c $((0x110000)) $((0x40000)) >c.fs.bin
check "spiffs subtype: fs list finds LittleFS" "$ESPPROV" fs list c.fs.bin
assert "spiffs subtype: 64 blocks" grep -q 'of 64 (4096 bytes each); littlefs disk v2.1$' "$T_TMP/out"
check "spiffs subtype: keep" "$ESPPROV" provision -P c.json -p "$T_TMP/c.port" --reprovision keep

# ---- a board provisioned with SPIFFS, kept under a LittleFS profile ---------
pv_profile s.json c esp32 '{ "preset": "esp32-arduino" }' '"partitions": "parts.csv"'
sed -i 's|"passphrase": "${PV_CA_PASS}"|"passphrase_file": "ca/passphrase.txt"|' s.json
sim_start d esp32 --mac 24:0a:c4:00:1f:d1
check "spiffs board: provision" "$ESPPROV" provision -P s.json -p "$T_TMP/d.port"
flash_slice d $((0x110000)) $((0x40000)) >d.spiffs.bin
"$ESPPROV" fs extract d.spiffs.bin d.old >/dev/null 2>&1
check "switch to LittleFS keeping the identity" "$ESPPROV" provision -P c.json -p "$T_TMP/d.port" \
    --reprovision keep
flash_slice d $((0x110000)) $((0x40000)) >d.fs.bin
rm -rf d.new && "$ESPPROV" fs extract d.fs.bin d.new >/dev/null 2>&1
assert "the SPIFFS identity now in LittleFS" cmp -s d.old/client.crt.der d.new/client.crt.der
assert "the board's image is LittleFS now" grep -q littlefs <("$ESPPROV" fs list d.fs.bin)
finish
