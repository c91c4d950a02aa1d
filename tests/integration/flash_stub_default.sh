#!/usr/bin/env bash
# The fetched flasher stubs (build/stubs, next to espprov) are used by
# default: every job on the ESP8266 and ESP32 with the legacy family, the
# esp-flasher-stub family on request; --no-stub still means the ROM; no
# stubs at all gives one note and the ROM; a default stub that does not
# start falls back to the ROM only when the ROM can do the job.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"

mksparse "$T_TMP/fs.bin" $((1024 * 1024)) 20000
mkrandom "$T_TMP/app.bin" 150000 app

check "--version names the stub packages" "$ESPPROV" --version
assert "... the legacy package, pinned" grep -q "stubs (legacy, default): tasmota-webserial-esptool 7.3.7" "$T_TMP/out"
assert "... the new package, pinned" grep -q "stubs (new): esptool-js 0.7.0" "$T_TMP/out"

for chip in esp8266 esp32; do
    sim_start "$chip" $chip
    P="$T_TMP/$chip.port"
    check "$chip: info uploads the default stub" "$ESPPROV" flash info -p "$P"
    assert "$chip: ... the stub answers" grep -q "(flasher stub)" "$T_TMP/out"
    assert "$chip: ... espsim ran the real legacy stub" grep -q "the real legacy stub for $chip" "$T_TMP/$chip.log"
    sim_reset "$chip"
    check "$chip: compressed write, verified" "$ESPPROV" flash write -p "$P" -b 921600 \
        0x10000 "$T_TMP/app.bin" 0x100000 "$T_TMP/fs.bin"
    assert "$chip: ... app bytes" flash_has "$chip" 0x10000 "$T_TMP/app.bin"
    assert "$chip: ... filesystem bytes" flash_has "$chip" 0x100000 "$T_TMP/fs.bin"
    assert "$chip: ... both verified by MD5" [ "$(grep -c 'verified (MD5)' "$T_TMP/out")" -eq 2 ]
    assert "$chip: ... sent compressed" [ "$(log_count "$chip" 'FLASH_DEFL_DATA')" -ge 1 ]
    check "$chip: read back" "$ESPPROV" flash read -p "$P" 0x10000 150000 "$T_TMP/back.bin"
    assert "$chip: ... matches" cmp -s "$T_TMP/back.bin" "$T_TMP/app.bin"
    check "$chip: erase a region" "$ESPPROV" flash erase -p "$P" 0x10000 0x2000
    assert "$chip: ... blank" flash_blank "$chip" 0x10000 8192
    check "$chip: chip erase" "$ESPPROV" flash erase -p "$P"
    assert "$chip: ... all blank" flash_blank "$chip" 0 $((4 << 20))
    sim_reset "$chip"
    check "$chip: --no-stub talks to the ROM" "$ESPPROV" flash info -p "$P" --no-stub
    assert "$chip: ... the ROM" grep -q "(ROM loader)" "$T_TMP/out"
    sim_reset "$chip"
    check "$chip: --stub-family new" "$ESPPROV" flash write -p "$P" --stub-family new \
        0x10000 "$T_TMP/app.bin"
    assert "$chip: ... espsim ran the real new stub" grep -q "the real new stub for $chip" "$T_TMP/$chip.log"
    assert "$chip: ... verified" grep -q "verified (MD5)" "$T_TMP/out"
    sim_stop "$chip"
done

# No stubs anywhere: one note with the fix, and the ROM does the work.
mkdir -p "$T_TMP/lonely"
cp "$ESPPROV" "$T_TMP/lonely/espprov"
sim_start r1 esp32
check "no stubs: a write still works" env ESPPROV_STUB_DIR= "$T_TMP/lonely/espprov" flash write \
    -p "$T_TMP/r1.port" 0x10000 "$T_TMP/app.bin"
assert "... from the ROM" [ "$(log_count r1 'jumped to')" -eq 0 ]
assert "... verified (the ESP32 ROM has MD5)" grep -q "verified (MD5)" "$T_TMP/out"
assert "... says so, with the fix" grep -q "note: no legacy flasher stubs found" "$T_TMP/err"
assert "... once" [ "$(grep -c "note:" "$T_TMP/err")" -eq 1 ]
assert "... the fix" grep -q "make stubs" "$T_TMP/err"
sim_stop r1

# A default stub that does not start. Its entry is moved off the image's
# entry point, so the simulated CPU crashes like a real one would.
mkdir -p "$T_TMP/bad/legacy"
for c in esp32 esp8266; do
    jq '.entry = .entry + 16' "$(dirname "$ESPPROV")/stubs/legacy/$c.json" >"$T_TMP/bad/legacy/$c.json"
done
echo "doctored 0.0" >"$T_TMP/bad/legacy/PACKAGE"

# ESP32 over RFC 2217 (it can be reset): the ROM can write and verify.
port=$(free_port)
sim_start rb esp32 --rfc2217 "$port"
check "bad default stub, esp32: falls back to the ROM" env ESPPROV_STUB_DIR="$T_TMP/bad" \
    "$ESPPROV" flash write -p "rfc2217://127.0.0.1:$port" 0x10000 "$T_TMP/app.bin"
assert "... warns" grep -q "warning: the legacy flasher stub did not start.*continuing with the ROM loader" "$T_TMP/err"
assert "... the simulated CPU crashed" grep -q "is not the legacy stub's entry point" "$T_TMP/rb.log"
assert "... the bytes are there" flash_has rb 0x10000 "$T_TMP/app.bin"
assert "... verified by the ROM" grep -q "verified (MD5)" "$T_TMP/out"
sim_stop rb

# ESP8266: its ROM cannot verify, which a write needs: fail, saying so.
sim_start b8 esp8266
check_fails "bad default stub, esp8266 write: fails" 1 env ESPPROV_STUB_DIR="$T_TMP/bad" \
    "$ESPPROV" flash write -p "$T_TMP/b8.port" 0x10000 "$T_TMP/app.bin"
assert "... with the reason" grep -q "the legacy flasher stub did not start (.*), and the ESP8266 ROM loader cannot verify flash by MD5, which this job needs" "$T_TMP/err"
assert "... nothing written" flash_blank b8 0x10000 4096
sim_stop b8

# A named stub that does not start is the user's choice: it fails, no fallback.
sim_start nb esp32
check_fails "a named stub that does not start fails" 1 "$ESPPROV" flash info -p "$T_TMP/nb.port" \
    --stub "$T_TMP/bad/legacy/esp32.json"
assert "... no OHAI" grep -q "did not start on the ESP32 (no OHAI greeting)" "$T_TMP/err"
sim_stop nb
finish
