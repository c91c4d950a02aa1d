#!/usr/bin/env bash
# The fault matrix: every injected fault must end in a transparent recovery
# (exit 0, the bytes in the simulated flash, verified) or a precise error
# (exit 1 naming what failed) -- never a region reported written that is not.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"

mkrandom "$T_TMP/app.bin" 60000 app
mksparse "$T_TMP/fs.bin" $((256 * 1024)) 10000
mkstub esp32 "$T_TMP/esp32.json"
mkstub esp8266 "$T_TMP/esp8266.json"
n=0

# Every "wrote ... at ADDR" line must be true of the flash file.
claims_hold() {
    local name=$1 addr file
    while read -r addr file; do
        flash_has "$name" "$addr" "$file" || return 1
    done < <(sed -n 's/^wrote [0-9]* bytes .* at \(0x[0-9a-f]*\) .*/\1/p' "$T_TMP/out" |
        while read -r a; do
            case $a in 0x00010000) echo "$a $T_TMP/app.bin" ;; *) echo "$a $T_TMP/fs.bin" ;; esac
        done)
}

# expect_recovery LABEL CHIP "ESPPROV OPTIONS" FAULT...
expect_recovery() {
    local label=$1 chip=$2 opts=$3 f args
    shift 3
    n=$((n + 1))
    args=()
    for f in "$@"; do args+=(--fault "$f"); done
    sim_start "f$n" "$chip" "${args[@]}"
    # shellcheck disable=SC2086
    check "$label: recovers" "$ESPPROV" flash write -p "$T_TMP/f$n.port" $opts \
        0x10000 "$T_TMP/app.bin" 0x100000 "$T_TMP/fs.bin"
    assert "$label: app bytes in flash" flash_has "f$n" 0x10000 "$T_TMP/app.bin"
    assert "$label: filesystem bytes in flash" flash_has "f$n" 0x100000 "$T_TMP/fs.bin"
    # (the ESP8266 ROM has no MD5: only a stub verifies there)
    if [ "$chip" != esp8266 ] || [[ "$opts" != *--no-stub* ]]; then
        assert "$label: both verified" [ "$(grep -c 'verified (MD5)' "$T_TMP/out")" -eq 2 ]
    fi
    sim_stop "f$n"
}

# expect_error LABEL CHIP "ESPPROV OPTIONS" PATTERN FAULT...
expect_error() {
    local label=$1 chip=$2 opts=$3 pattern=$4 f args rc
    shift 4
    n=$((n + 1))
    args=()
    for f in "$@"; do args+=(--fault "$f"); done
    sim_start "f$n" "$chip" "${args[@]}"
    # shellcheck disable=SC2086
    "$ESPPROV" flash write -p "$T_TMP/f$n.port" $opts 0x10000 "$T_TMP/app.bin" \
        0x100000 "$T_TMP/fs.bin" >"$T_TMP/out" 2>"$T_TMP/err"
    rc=$?
    if [ $rc -eq 0 ]; then
        assert "$label: if it claims success, the bytes are there" claims_hold "f$n"
    else
        assert "$label: fails with exit 1" [ $rc -eq 1 ]
        assert "$label: precise error ($pattern)" grep -q -- "$pattern" "$T_TMP/err"
        assert "$label: no false claim" claims_hold "f$n"
    fi
    sim_stop "f$n"
}

R="--no-stub"
S="--stub $T_TMP/esp32.json"
expect_recovery "rom: bit flip host->chip" esp32 "$R" corrupt-rx:at=3000
expect_recovery "rom: byte lost host->chip" esp32 "$R --no-compress" drop-rx:at=3000
expect_recovery "rom: bit flip chip->host" esp32 "$R" corrupt-tx:at=400
expect_recovery "rom: byte lost chip->host" esp32 "$R" drop-tx:at=400
expect_recovery "rom: junk before every reply" esp32 "$R" junk:cmd=FLASH_DEFL_DATA,count=0
expect_recovery "rom: a lost reply" esp32 "$R --no-compress" lose-reply:cmd=FLASH_DATA,at=3
expect_recovery "rom: repeated error frames" esp32 "$R" repeat-error:cmd=GET_SECURITY_INFO
expect_recovery "rom: lost SYNCs" esp32 "$R" sync-lost:n=6
expect_recovery "rom: replies split with delays" esp32 "$R" split:p=0.3,seed=7,ms=5
expect_recovery "rom: one failed flash write" esp32 "$R --no-compress" write-fail:at=5
expect_recovery "rom: brown-out mid-write" esp32 "$R --no-compress" brownout:at=10
expect_recovery "stub: bit flip host->chip" esp32 "$S" corrupt-rx:at=30000
expect_recovery "stub: a lost ACK" esp32 "$S --no-compress" lose-reply:cmd=FLASH_DATA,at=2
expect_recovery "stub: one failed flash write" esp32 "$S --no-compress" write-fail:at=2
expect_recovery "stub: brown-out mid-write (stub lost)" esp32 "$S --no-compress" brownout:at=3
expect_recovery "stub: a bad block in the upload" esp32 "$S" corrupt-rx:at=2000
expect_recovery "esp8266 rom: a lost reply" esp8266 "--no-stub" lose-reply:cmd=FLASH_DATA,at=4
expect_recovery "esp8266 rom: bit flip host->chip" esp8266 "--no-stub" corrupt-rx:at=3000
expect_error "rom: flash keeps failing" esp32 "$R --no-compress" "flash write error" write-fail:count=0
expect_error "rom: board goes silent" esp32 "$R" "no reply to FLASH_DEFL_DATA" silence:cmd=FLASH_DEFL_DATA
# (On blank flash a raw ROM write erases nothing up front: the slow erase is
# the compressed write's.)
expect_error "rom: erase far too slow" esp32 "$R" "no reply to FLASH_\(DEFL_\)\?BEGIN" slow-erase:ms=6000
expect_error "stub: board goes silent" esp32 "$S" "no reply to" silence:cmd=FLASH_DEFL_DATA,at=2

# Boot mode: the board is reset into its firmware while espprov tries to
# connect (a pty has no modem lines, so the "reset" comes from the simulator).
boot_case() {
    local label=$1 chip=$2 pattern=$3
    sim_start "b$chip" "$chip" --boot flash
    "$ESPPROV" flash info -p "$T_TMP/b$chip.port" >"$T_TMP/out" 2>"$T_TMP/err" &
    local pid=$!
    sleep 0.5
    sim_reset "b$chip" flash
    wait $pid
    assert "$label: fails with exit 1" [ $? -eq 1 ]
    assert "$label: says why ($pattern)" grep -q -- "$pattern" "$T_TMP/err"
    sim_stop "b$chip"
}
boot_case "esp32 in its firmware" esp32 "wrong boot mode detected (0x13)"
boot_case "esp8266 in its firmware" esp8266 "wrong boot mode\|not in download mode"
finish
