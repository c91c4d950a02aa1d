#!/usr/bin/env bash
# espprov flash against every ROM personality of the simulated board (no
# stub: --no-stub throughout, as the fetched stubs are the default):
# identify, write (sparse, compressed where the ROM can), read back, verify,
# erase, baud change; bytes checked in the simulated flash file.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
FW=profiles/firmware

mksparse "$T_TMP/fs.bin" $((1024 * 1024)) 20000
mkrandom "$T_TMP/app.bin" 70000 app

for chip in esp32 esp32s3 esp32c3; do
    sim_start $chip $chip --mac 24:0a:c4:aa:bb:cc
    P="$T_TMP/$chip.port"
    check "$chip: info as JSON" "$ESPPROV" flash --no-stub info -p "$P" --json
    assert "$chip: info names the chip and MAC" grep -q "\"mac\": \"24:0a:c4:aa:bb:cc\"" "$T_TMP/out"
    check "$chip: write app + sparse filesystem" "$ESPPROV" flash --no-stub write -p "$P" \
        0x10000 "$T_TMP/app.bin" 0x200000 "$T_TMP/fs.bin"
    assert "$chip: app bytes in flash" flash_has $chip 0x10000 "$T_TMP/app.bin"
    assert "$chip: filesystem bytes in flash" flash_has $chip 0x200000 "$T_TMP/fs.bin"
    assert "$chip: reported verified and compressed" grep -q "at 0x00200000 in .* s, verified (MD5)" "$T_TMP/out"
    sent=$(sed -n 's/.*(\([0-9]*\) sent, compressed) at 0x00200000.*/\1/p' "$T_TMP/out")
    assert "$chip: sparse 1 MiB cost ~20 KB on the wire ($sent)" [ "${sent:-0}" -lt 25000 ]
    assert "$chip: incompressible app went raw, the filesystem compressed" [ "$(log_count $chip "FLASH_DATA(")" -eq 69 ]
    check "$chip: read back" "$ESPPROV" flash --no-stub read -p "$P" 0x10000 70000 "$T_TMP/back.bin"
    assert "$chip: read matches" cmp -s "$T_TMP/back.bin" "$T_TMP/app.bin"
    assert "$chip: read file is private (0600)" [ "$(stat -c %a "$T_TMP/back.bin")" = 600 ]
    check "$chip: verify" "$ESPPROV" flash --no-stub verify -p "$P" 0x200000 "$T_TMP/fs.bin"
    check "$chip: erase a region" "$ESPPROV" flash --no-stub erase -p "$P" 0x10000 0x1000
    assert "$chip: region erased" flash_blank $chip 0x10000 4096
    assert "$chip: next sector kept" [ "$(flash_slice $chip 0x11000 16 | od -An -tx1)" = \
        "$(tail -c +4097 "$T_TMP/app.bin" | head -c 16 | od -An -tx1)" ]
    check_fails "$chip: verify now fails" 1 "$ESPPROV" flash --no-stub verify -p "$P" 0x10000 "$T_TMP/app.bin"
    assert "$chip: ... saying the MD5s" grep -q "does not match: MD5" "$T_TMP/err"
    check_fails "$chip: chip erase needs a stub" 1 "$ESPPROV" flash --no-stub erase -p "$P"
    assert "$chip: ... with a hint" grep -q "hint: use --stub FILE" "$T_TMP/err"
    check "$chip: write at 921600 baud" "$ESPPROV" flash --no-stub write -p "$P" -b 921600 0x10000 "$T_TMP/app.bin"
    assert "$chip: baud changed and restored" [ "$(log_count $chip 'CHANGE_BAUDRATE.*baud=921600')" -ge 1 ]
    assert "$chip: written at 921600" flash_has $chip 0x10000 "$T_TMP/app.bin"
    check "$chip: skip unchanged" "$ESPPROV" flash --no-stub write -p "$P" --skip-unchanged 0x10000 "$T_TMP/app.bin"
    assert "$chip: ... says so" grep -q "unchanged (MD5 matches)" "$T_TMP/out"
    check "$chip: uncompressed write" "$ESPPROV" flash --no-stub write -p "$P" --no-compress 0x300000 "$T_TMP/app.bin"
    assert "$chip: ... bytes in flash" flash_has $chip 0x300000 "$T_TMP/app.bin"
    assert "$chip: ... used FLASH_DATA" [ "$(log_count $chip 'FLASH_DATA(')" -ge 69 ]
    check_fails "$chip: beyond the flash end" 1 "$ESPPROV" flash --no-stub write -p "$P" 0x3FF000 "$T_TMP/app.bin"
    assert "$chip: ... is refused" grep -q "beyond the end of the 4096 KiB flash" "$T_TMP/err"
    sim_stop $chip
done

# ESP32 images: chip check, bootloader header patch with digest.
sim_start e32 esp32
P="$T_TMP/e32.port"
check "esp32: bootloader + app, flash mode patched" "$ESPPROV" flash --no-stub write -p "$P" \
    --flash-mode qio --flash-size detect 0x1000 $FW/demo-esp32-bootloader.bin 0x10000 $FW/demo-esp32-app.bin
assert "esp32: says patched" grep -q "flash settings patched" "$T_TMP/out"
assert "esp32: app untouched" flash_has e32 0x10000 $FW/demo-esp32-app.bin
flash_slice e32 0x1000 "$(stat -c %s $FW/demo-esp32-bootloader.bin)" >"$T_TMP/bl.bin"
assert "esp32: header bytes qio/4MB/40m" [ "$(od -An -tx1 -j2 -N2 "$T_TMP/bl.bin" | tr -d ' ')" = 0020 ]
check "esp32: patched bootloader still validates" "$ESPPROV" flash --no-stub image-info "$T_TMP/bl.bin"
assert "esp32: digest valid" grep -q "sha256:    appended, valid" "$T_TMP/out"
sim_stop e32
sim_start s3 esp32s3
check_fails "esp32s3: an ESP32 image is refused" 1 "$ESPPROV" flash --no-stub write -p "$T_TMP/s3.port" 0x10000 $FW/demo-esp32-app.bin
assert "esp32s3: ... naming both chips" grep -q "built for ESP32 (extended header chip id 0); this board is an ESP32-S3" "$T_TMP/err"
check "esp32s3: --force writes it" "$ESPPROV" flash --no-stub write -p "$T_TMP/s3.port" --force 0x10000 $FW/demo-esp32-app.bin
sim_stop s3
# Across families: the ESP8266's images have no extended header at all.
sim_start x32 esp32
check_fails "esp32: an ESP8266 image is refused" 1 "$ESPPROV" flash --no-stub write -p "$T_TMP/x32.port" 0x10000 $FW/demo-esp8266.bin
assert "esp32: ... saying it is an ESP8266 image without extended header" \
    grep -q "is an ESP8266 image (magic 0xE9, no extended header.*this board is an ESP32$" "$T_TMP/err"
assert "esp32: ... and offering --force" grep -q "hint: use --force" "$T_TMP/err"
assert "esp32: nothing was written" [ "$(flash_slice x32 0x10000 16 | tr -d '\377' | wc -c)" -eq 0 ]
check "esp32: --force writes the ESP8266 image" "$ESPPROV" flash --no-stub write -p "$T_TMP/x32.port" --force 0x10000 $FW/demo-esp8266.bin
assert "esp32: --force: it is there" flash_has x32 0x10000 $FW/demo-esp8266.bin
sim_stop x32
sim_start x8266 esp8266
check_fails "esp8266: an ESP32 app image is refused" 1 "$ESPPROV" flash --no-stub write -p "$T_TMP/x8266.port" 0x0 $FW/demo-esp32-app.bin
assert "esp8266: ... naming both chips" \
    grep -q "built for ESP32 (extended header chip id 0); this board is an ESP8266" "$T_TMP/err"
check "esp8266: its own image is fine" "$ESPPROV" flash --no-stub write -p "$T_TMP/x8266.port" 0x0 $FW/demo-esp8266.bin
printf 'not an image' >"$T_TMP/data.txt"
check "esp8266: data that is no image is fine" "$ESPPROV" flash --no-stub write -p "$T_TMP/x8266.port" 0x10000 "$T_TMP/data.txt"
sim_stop x8266

# ESP8266 ROM: no compression, no MD5, no read; the erase-size bug.
sim_start e8266 esp8266
P="$T_TMP/e8266.port"
check "esp8266: info" "$ESPPROV" flash --no-stub info -p "$P"
assert "esp8266: identified" grep -q "chip:     ESP8266 (ROM loader)" "$T_TMP/out"
head -c 4096 /dev/zero | tr '\0' 'Z' >"$T_TMP/z.bin"
check "esp8266: a neighbour at 0x4000" "$ESPPROV" flash --no-stub write -p "$P" 0x4000 "$T_TMP/z.bin"
mkrandom "$T_TMP/three.bin" $((3 * 4096 - 100)) three
check "esp8266: 3 sectors at 0x1000" "$ESPPROV" flash --no-stub write -p "$P" 0x1000 "$T_TMP/three.bin"
assert "esp8266: data in flash" flash_has e8266 0x1000 "$T_TMP/three.bin"
assert "esp8266: says NOT verified" grep -q "NOT verified" "$T_TMP/out"
check "esp8266: firmware at 0" "$ESPPROV" flash --no-stub write -p "$P" 0x0 $FW/demo-esp8266.bin
assert "esp8266: firmware in flash" flash_has e8266 0 $FW/demo-esp8266.bin
check "esp8266: sparse filesystem" "$ESPPROV" flash --no-stub write -p "$P" 0x300000 "$T_TMP/fs.bin"
assert "esp8266: filesystem in flash" flash_has e8266 0x300000 "$T_TMP/fs.bin"
sent=$(sed -n 's/.*(\([0-9]*\) sent) at 0x00300000.*/\1/p' "$T_TMP/out")
assert "esp8266: sparse 1 MiB sent ~20 KB uncompressed ($sent)" [ "${sent:-0}" -lt 30000 ]
check_fails "esp8266: read needs a stub" 1 "$ESPPROV" flash --no-stub read -p "$P" 0 16 "$T_TMP/x.bin"
assert "esp8266: ... hint" grep -q "hint: use --stub FILE to read flash" "$T_TMP/err"
assert "esp8266: no file left behind" [ ! -e "$T_TMP/x.bin" ]
check "esp8266: -b is warned about, write still works" "$ESPPROV" flash --no-stub write -p "$P" -b 921600 0x8000 "$T_TMP/z.bin"
assert "esp8266: ... the warning" grep -q "cannot change the baud rate" "$T_TMP/err"
check_fails "esp8266: --chip esp32 refused" 1 "$ESPPROV" flash --no-stub info -p "$P" --chip esp32
assert "esp8266: ... precisely" grep -q "this board is an ESP8266, not the ESP32" "$T_TMP/err"
sim_stop e8266
finish
