#!/usr/bin/env bash
# esptool's command names and argument order, and mkspiffs' options, for
# hands that type them by habit.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
FW=$(cd "$(dirname "$0")/../../profiles/firmware" && pwd)
cd "$T_TMP" || exit 1

sim_start b esp32
P="$T_TMP/b.port"
mkrandom "$T_TMP/data.bin" 20000 data

# esptool's global options before the command, its own after it.
check "esptool order: -p PORT -b BAUD write_flash --flash_mode keep ADDR FILE" \
    "$ESPPROV" -p "$P" -b 115200 write_flash --flash_mode keep -z 0x60000 "$T_TMP/data.bin"
assert "write_flash: the bytes are on the flash" flash_has b 0x60000 "$T_TMP/data.bin"
check "write_flash -p PORT ADDR FILE ADDR FILE" "$ESPPROV" write_flash -p "$P" \
    0x10000 "$FW/demo-esp32-app.bin" 0x80000 "$T_TMP/data.bin"
assert "write_flash: the app at 0x10000" flash_has b 0x10000 "$FW/demo-esp32-app.bin"
check "verify_flash ADDR FILE" "$ESPPROV" verify_flash -p "$P" 0x60000 "$T_TMP/data.bin"
assert "verify_flash says it matches" grep -q 'flash matches' "$T_TMP/out"
check "read_flash ADDR SIZE FILE" "$ESPPROV" -p "$P" read_flash 0x60000 20000 "$T_TMP/back.bin"
assert "read_flash: the same bytes" cmp -s "$T_TMP/back.bin" "$T_TMP/data.bin"
check "erase_region ADDR SIZE" "$ESPPROV" erase_region -p "$P" 0x60000 0x5000
assert "erase_region: erased" [ "$(flash_slice b 0x60000 20000 | tr -d '\377' | wc -c)" -eq 0 ]
check_fails "verify_flash after the erase fails" 1 "$ESPPROV" verify_flash -p "$P" 0x60000 "$T_TMP/data.bin"
for c in read_mac chip_id flash_id; do
    check "$c" "$ESPPROV" "$c" -p "$P"
    assert "$c: shows the chip and MAC" sh -c "grep -q '^chip: *ESP32' '$T_TMP/out' && grep -q '^mac: ' '$T_TMP/out'"
done
check "image_info FILE (no board)" "$ESPPROV" image_info "$FW/demo-esp32-app.bin"
assert "image_info: the header" grep -q '^chip: *ESP32' "$T_TMP/out"
check "esptool's --chip as -c" "$ESPPROV" -c esp32 -p "$P" chip_id
check_fails "-c names the wrong chip: refused" 1 "$ESPPROV" -c esp8266 -p "$P" chip_id

# mkspiffs: -c DIR -b BLOCK -p PAGE -s SIZE IMAGE
mkdir -p data/sub
echo "hello" >data/a.txt
head -c 5000 /dev/urandom >data/sub/b.bin
check "mkspiffs order: spiffs build -c DIR -b -p -s IMAGE" \
    "$ESPPROV" spiffs build -c data -b 4096 -p 256 -s 0x20000 mk.bin
assert "the image has SIZE bytes" [ "$(stat -c %s mk.bin)" -eq $((0x20000)) ]
check "the image lists the folder's files" "$ESPPROV" spiffs list mk.bin
assert "... both of them" sh -c "grep -q '/a.txt' '$T_TMP/out' && grep -q '/sub/b.bin' '$T_TMP/out'"
check "extract gives the folder back" "$ESPPROV" spiffs extract mk.bin back
assert "... the same files" diff -r data back
check_fails "-c DIR with inputs too" 2 "$ESPPROV" spiffs build -c data -s 0x20000 -b 4096 -p 256 x.bin more

finish
