#!/usr/bin/env bash
# espprov flash with a (synthetic) flasher stub on every chip and both stub
# flavours: upload, 16 KiB compressed blocks, READ_FLASH, erase, baud change,
# leaving the stub running for the next command.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"

mksparse "$T_TMP/fs.bin" $((1536 * 1024)) 20000
mkrandom "$T_TMP/app.bin" 200000 app

for flavour in new legacy; do
    for chip in esp8266 esp32 esp32s3 esp32c3; do
        n=$chip-$flavour
        sim_start "$n" $chip --stub-flavour $flavour
        P="$T_TMP/$n.port"
        mkstub $chip "$T_TMP/$chip.json"
        S=(--stub "$T_TMP/$chip.json")
        check "$n: info with the stub" "$ESPPROV" flash info -p "$P" "${S[@]}"
        assert "$n: the stub runs" grep -q "(flasher stub)" "$T_TMP/out"
        sim_reset "$n"
        check "$n: write app + filesystem at 921600" "$ESPPROV" flash write -p "$P" "${S[@]}" \
            -b 921600 0x10000 "$T_TMP/app.bin" 0x100000 "$T_TMP/fs.bin"
        assert "$n: app bytes" flash_has "$n" 0x10000 "$T_TMP/app.bin"
        assert "$n: filesystem bytes" flash_has "$n" 0x100000 "$T_TMP/fs.bin"
        assert "$n: verified by MD5" [ "$(grep -c 'verified (MD5)' "$T_TMP/out")" -eq 2 ]
        assert "$n: 16 KiB blocks" [ "$(log_count "$n" 'FLASH_DATA(.*len=16384')" -ge 12 ]
        assert "$n: the stub was told the old rate" [ "$(log_count "$n" 'CHANGE_BAUDRATE.*old=115200')" -ge 1 ]
        check "$n: read back with READ_FLASH" "$ESPPROV" flash read -p "$P" "${S[@]}" -b 921600 \
            0x10000 200000 "$T_TMP/back.bin"
        assert "$n: read matches" cmp -s "$T_TMP/back.bin" "$T_TMP/app.bin"
        assert "$n: READ_FLASH used" [ "$(log_count "$n" 'READ_FLASH(0x[dD]2)')" -ge 1 ]
        check "$n: erase a region" "$ESPPROV" flash erase -p "$P" "${S[@]}" 0x10000 0x2000
        assert "$n: ... erased" flash_blank "$n" 0x10000 8192
        assert "$n: ... with ERASE_REGION" [ "$(log_count "$n" 'ERASE_REGION')" -ge 1 ]
        check "$n: leave the stub running" "$ESPPROV" flash verify -p "$P" "${S[@]}" \
            --after no-reset-stub 0x100000 "$T_TMP/fs.bin"
        uploads=$(log_count "$n" 'MEM_END')
        check "$n: next command finds it running (no upload)" "$ESPPROV" flash verify -p "$P" \
            "${S[@]}" --after no-reset 0x100000 "$T_TMP/fs.bin"
        assert "$n: ... no second upload" [ "$(log_count "$n" 'MEM_END')" -eq "$uploads" ]
        check "$n: after no-reset the ROM answers again" "$ESPPROV" flash info -p "$P" --no-stub
        assert "$n: ... the ROM" grep -q "(ROM loader)" "$T_TMP/out"
        check "$n: chip erase" "$ESPPROV" flash erase -p "$P" "${S[@]}"
        assert "$n: ... all blank" flash_blank "$n" 0 $((4 * 1024 * 1024))
        sim_stop "$n"
    done
done

# A stub already running when the session starts without SYNC.
sim_start nosync esp32
mkstub esp32 "$T_TMP/esp32.json"
check "no-reset-stub leaves it" "$ESPPROV" flash info -p "$T_TMP/nosync.port" --stub "$T_TMP/esp32.json" --after no-reset-stub
check "--before no-reset-no-sync finds the stub" "$ESPPROV" flash info -p "$T_TMP/nosync.port" --before no-reset-no-sync
assert "... and says so" grep -q "(flasher stub)" "$T_TMP/out"
assert "... without a SYNC" [ "$(log_count nosync 'SYNC(')" -eq 1 ]

check_fails "a missing stub file is reported" 1 "$ESPPROV" flash info -p "$T_TMP/nosync.port" --stub /nonexistent.json
assert "... naming the file" grep -q "/nonexistent.json" "$T_TMP/err"
sim_reset nosync
mkstub esp8266 "$T_TMP/esp8266.json"
check_fails "a stub for another chip is refused by the ROM" 1 "$ESPPROV" flash info -p "$T_TMP/nosync.port" --stub "$T_TMP/esp8266.json"
assert "... precisely" grep -q "MEM_BEGIN failed: invalid RAM binary address" "$T_TMP/err"
check "the board still answers afterwards" "$ESPPROV" flash info -p "$T_TMP/nosync.port"
finish
