#!/usr/bin/env bash
# espprov flash: command line, image-info, and port errors with their fixes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
FW=profiles/firmware

check "help" "$ESPPROV" flash --help
assert "help lists the subcommands" grep -q "espprov flash image-info" "$T_TMP/out"
check "write --help" "$ESPPROV" flash write -h
check_fails "no subcommand" 2 "$ESPPROV" flash
check_fails "unknown subcommand" 2 "$ESPPROV" flash frobnicate
check_fails "unknown chip" 2 "$ESPPROV" flash info --chip esp99
check_fails "unknown --before" 2 "$ESPPROV" flash info --before sometimes
check_fails "bad address" 2 "$ESPPROV" flash write -p /dev/null zero "$FW/demo-esp8266.bin"
check_fails "odd write arguments" 2 "$ESPPROV" flash write -p /dev/null 0x1000
check_fails "--stub with --no-stub" 2 "$ESPPROV" flash info --stub x.json --no-stub
check_fails "bad --flash-size" 2 "$ESPPROV" flash write --flash-size 3MB -p x 0 "$FW/demo-esp8266.bin"
check_fails "no port at all" 2 env -u ESPPROV_PORT "$ESPPROV" flash info
assert "... says how to give one" grep -q "ESPPROV_PORT" "$T_TMP/err"

for f in demo-esp32-bootloader demo-esp32-app demo-esp8266; do
    check "image-info $f" "$ESPPROV" flash image-info "$FW/$f.bin"
    assert "$f: checksum valid" grep -q "(valid)" "$T_TMP/out"
done
check "image-info JSON" "$ESPPROV" flash image-info --json "$FW/demo-esp32-app.bin"
assert "JSON names the chip and validity" grep -q '"chip": "ESP32".*"valid": true' "$T_TMP/out"
cp "$FW/demo-esp32-app.bin" "$T_TMP/bad.bin"
printf '\x00' | dd of="$T_TMP/bad.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
check_fails "a corrupted image fails image-info" 1 "$ESPPROV" flash image-info "$T_TMP/bad.bin"
assert "... saying why" grep -q "checksum mismatch" "$T_TMP/err"
check_fails "not an image" 1 "$ESPPROV" flash image-info "$ESPPROV"
assert "... saying why" grep -q "not an ESP firmware image" "$T_TMP/err"

check_fails "missing port" 1 "$ESPPROV" flash info -p /dev/ttyNOPE0
assert "... with the ports hint" grep -q "espprov ports" "$T_TMP/err"
check_fails "not a serial port" 1 "$ESPPROV" flash info -p /etc/hostname
assert "... says so" grep -q "is not a serial port" "$T_TMP/err"

sim_start busy esp32
flock -o "$T_TMP/busy.port" sleep 30 &
holder=$!
sleep 0.3
check_fails "a port held by another program" 1 "$ESPPROV" flash info -p "$T_TMP/busy.port"
assert "... names the holder" grep -q "is in use by flock (pid $holder)" "$T_TMP/err"
kill $holder 2>/dev/null
wait $holder 2>/dev/null
check "\$ESPPROV_PORT is used" env ESPPROV_PORT="$T_TMP/busy.port" "$ESPPROV" flash info --json
assert "... and the board answers" grep -q '"chip": "ESP32"' "$T_TMP/out"
check "quiet, JSON erase of a region" "$ESPPROV" -q flash erase -p "$T_TMP/busy.port" --json 0x1000 0x1000
assert "... prints JSON" grep -q '"size": 4096' "$T_TMP/out"
finish
