#!/usr/bin/env bash
# What the flash holds decides what crosses the wire: stale data where the
# image is blank is erased, blank flash is not erased again, regions (and
# 64 KiB blocks) the flash already holds are left alone, 0xFF is not sent;
# and a raised baud rate that does not work falls back to the connect rate.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"

mkrandom "$T_TMP/app.bin" 150000 app
mksparse "$T_TMP/fs.bin" $((1024 * 1024)) 20000
mkrandom "$T_TMP/old.bin" $((4 * 1024 * 1024)) old
mkstub esp32 "$T_TMP/esp32.json"
S=(--stub "$T_TMP/esp32.json")

# sent_total: the "sent" bytes of every region in $T_TMP/out (JSON).
sent_total() { jq '[.regions[].sent] | add' "$T_TMP/out"; }

# 1. Old data everywhere: the image's blank stretches must end up 0xFF.
cp "$T_TMP/old.bin" "$T_TMP/dirty.bin"
sim_start dirty esp32
check "stale flash: app + sparse filesystem" "$ESPPROV" flash write -p "$T_TMP/dirty.port" "${S[@]}" \
    --json 0x10000 "$T_TMP/app.bin" 0x200000 "$T_TMP/fs.bin"
assert "... app bytes" flash_has dirty 0x10000 "$T_TMP/app.bin"
assert "... filesystem bytes, old data erased where it is blank" flash_has dirty 0x200000 "$T_TMP/fs.bin"
assert "... the old data after the regions is untouched" \
    cmp -s <(flash_slice dirty 0x300000 4096) <(head -c $((0x301000)) "$T_TMP/old.bin" | tail -c 4096)
begins=$(log_count dirty 'DEFL_BEGIN\|FLASH_BEGIN')
check "the same files again" "$ESPPROV" flash write -p "$T_TMP/dirty.port" "${S[@]}" --json \
    0x10000 "$T_TMP/app.bin" 0x200000 "$T_TMP/fs.bin"
assert "... both regions left alone" [ "$(jq '[.regions[] | select(.verified == "unchanged")] | length' "$T_TMP/out")" -eq 2 ]
assert "... no write command at all" [ "$(log_count dirty 'DEFL_BEGIN\|FLASH_BEGIN')" -eq "$begins" ]
# One changed byte in the middle of the filesystem: one 64 KiB block again.
cp "$T_TMP/fs.bin" "$T_TMP/fs2.bin"
printf '\x42' | dd of="$T_TMP/fs2.bin" bs=1 seek=$((0x80010)) conv=notrunc 2>/dev/null
begins=$(log_count dirty 'DEFL_BEGIN\|FLASH_BEGIN')
check "one byte changed in the filesystem" "$ESPPROV" flash write -p "$T_TMP/dirty.port" "${S[@]}" \
    --json 0x200000 "$T_TMP/fs2.bin"
assert "... flash holds the new image" flash_has dirty 0x200000 "$T_TMP/fs2.bin"
assert "... one write" [ "$(($(log_count dirty 'DEFL_BEGIN\|FLASH_BEGIN') - begins))" -eq 1 ]
assert "... of at most one sector" [ "$(sent_total)" -le 4096 ]
assert "... per-block MD5s found the one block" [ "$(log_count dirty 'SPI_FLASH_MD5.*size=0x10000')" -ge 16 ]
check "--no-skip rewrites what is unchanged" "$ESPPROV" flash write -p "$T_TMP/dirty.port" "${S[@]}" \
    --no-skip --json 0x10000 "$T_TMP/app.bin"
assert "... written" [ "$(jq -r '.regions[0].verified' "$T_TMP/out")" = md5 ]
sim_stop dirty

# 2. A new (blank) board: nothing is erased apart, no 0xFF is sent.
sim_start blank esp32
check "blank flash: sparse filesystem, ROM, uncompressed" "$ESPPROV" flash write -p "$T_TMP/blank.port" --no-stub \
    --no-compress --json 0x200000 "$T_TMP/fs.bin"
assert "... bytes" flash_has blank 0x200000 "$T_TMP/fs.bin"
assert "... only the data was sent (20000 + 256 bytes, in whole ROM blocks)" [ "$(sent_total)" -le $((20480 + 4096)) ]
assert "... no erase-only command (the flash was blank)" \
    [ "$(log_count blank 'FLASH_BEGIN.*blocks=0 ')" -eq 0 ]
assert "... no 0xFF block sent" [ "$(log_count blank 'FLASH_DATA')" -le $(((20480 + 4096) / 1024)) ]
check "--full-image sends it all" "$ESPPROV" flash write -p "$T_TMP/blank.port" --no-stub --no-compress \
    --full-image --json 0x200000 "$T_TMP/fs.bin"
assert "... every byte" [ "$(sent_total)" -eq $((1024 * 1024)) ]
assert "... bytes" flash_has blank 0x200000 "$T_TMP/fs.bin"
sim_stop blank

# 3. The adapter cannot do 921600: the switch fails, espprov says so once and
#    goes on at 115200 (over RFC 2217, whose DTR/RTS reset the board).
port=$(free_port)
sim_start slow esp32 --rfc2217 "$port" --boot flash --fault baud-limit:rate=460800
P="rfc2217://127.0.0.1:$port"
check "write at 921600 through a 460800 adapter" "$ESPPROV" flash write -p "$P" "${S[@]}" -b 921600 \
    0x10000 "$T_TMP/app.bin"
assert "... bytes in flash" flash_has slow 0x10000 "$T_TMP/app.bin"
assert "... said once that it goes on at 115200" [ "$(grep -c 'going on at 115200 baud' "$T_TMP/err")" -eq 1 ]
assert "... and verified" grep -q "verified (MD5)" "$T_TMP/out"
check "auto rate on a port of unknown USB identity" "$ESPPROV" flash write -p "$P" "${S[@]}" \
    0x10000 "$T_TMP/app.bin"
assert "... no warning (460800 gets through)" [ "$(grep -c 'going on at' "$T_TMP/err")" -eq 0 ]
sim_stop slow

finish
