#!/usr/bin/env bash
# profile check refuses a filesystem on the chip's reserved flash, and a
# filesystem.dir too big for the image, before any certificate exists.
. "$(dirname "$0")/../lib.sh"
profiles=$(cd "$(dirname "$0")/../../profiles" && pwd)
cp -r "$profiles" "$T_TMP/p"
cd "$T_TMP/p" || exit 1
export CA_PASS="ca-pass-$$" WIFI_PASS="wifi-pass-$$"

# esp8266 profile with an explicit region instead of a layout.
e8266() { # OFFSET SIZE [FLASH]
    jq --arg o "$1" --arg s "$2" --arg f "${3:-4MB}" \
        '.filesystem = {preset: "esp8266-arduino", offset: $o, size: $s} | .flash.size = $f' \
        esp8266-arduino.json >e.json
}

e8266 0x200000 0x200000
check_fails "esp8266: a 2 MB filesystem at 0x200000 on 4 MB" 1 "$ESPPROV" profile check -P e.json
assert "... runs over the EEPROM/RF calibration sectors, said with addresses" \
    grep -q 'the filesystem (0x200000-0x400000) overlaps the EEPROM sector.*(0x3fb000-0x3fc000)' "$T_TMP/err"
assert "... with the limit in the hint" grep -q 'hint: end it by 0x3fb000' "$T_TMP/err"
e8266 0x3FC000 0x2000
check_fails "esp8266: one sector into the RF calibration" 1 "$ESPPROV" profile check -P e.json
assert "... names RF calibration" grep -q 'overlaps the RF calibration sector' "$T_TMP/err"
e8266 0x3FE000 0x2000
check_fails "esp8266: on the SDK's WiFi settings" 1 "$ESPPROV" profile check -P e.json
assert "... names the SDK sectors" grep -q "the SDK's WiFi and system parameter sectors" "$T_TMP/err"
e8266 0x200000 0x1FA000
check "esp8266: up to 0x3FA000 is fine" "$ESPPROV" profile check -P e.json --quiet-ok
e8266 0x100000 0xFC000 2MB
check_fails "esp8266 2 MB flash: the end moves with the flash" 1 "$ESPPROV" profile check -P e.json
assert "... at 0x1fb000" grep -q '(0x1fb000-0x1fc000)' "$T_TMP/err"
check "esp8266: the shipped 4M2M layout is fine" "$ESPPROV" profile check -P esp8266-arduino.json --quiet-ok

# ESP32: bootloader and partition table.
jq '.filesystem = {preset: "esp32-arduino", offset: "0x4000", size: "0x10000"} | del(.partitions)' \
    demo.json >b.json
check_fails "esp32: a filesystem over the bootloader" 1 "$ESPPROV" profile check -P b.json
assert "... names the bootloader" grep -q 'overlaps the second-stage bootloader (0x1000-0x8000)' "$T_TMP/err"
jq '.filesystem = {preset: "esp32-arduino", offset: "0x8000", size: "0x10000"} | del(.partitions)' \
    demo.json >b.json
check_fails "esp32: a filesystem on the partition table" 1 "$ESPPROV" profile check -P b.json
assert "... names the partition table" grep -q 'overlaps the partition table (0x8000-0x9000)' "$T_TMP/err"

# A filesystem.dir too big for the image: refused by check, nothing minted.
mkdir -p big
head -c $((0x1FA000)) /dev/urandom >big/blob.bin
jq '.filesystem.dir = "big"' esp8266-arduino.json >big.json
check_fails "a filesystem.dir too big for the image" 1 "$ESPPROV" profile check -P big.json
assert "... says it does not fit, before any certificate" \
    grep -q 'trial filesystem image.*do not fit the filesystem' "$T_TMP/err"
head -c 100000 /dev/urandom >big/blob.bin
check "a filesystem.dir that fits" "$ESPPROV" profile check -P big.json --quiet-ok
assert "no CA record was made by check" [ ! -e ca/ca.db ]

finish
