#!/usr/bin/env bash
# espprov flash over RFC 2217 to the simulated board, whose DTR/RTS drive EN
# and IO0 there: the reset sequences themselves are tested (the pty has no
# modem lines). The board straps to normal boot, so only a correct reset
# pulse train gets it into download mode.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"

port=$(free_port)
sim_start r esp32 --rfc2217 "$port" --boot flash
P="rfc2217://127.0.0.1:$port"
"$ESPPROV" flash info -p "$P" >"$T_TMP/out" 2>"$T_TMP/err"
if grep -q "not supported yet" "$T_TMP/err"; then
    # This tree still has the placeholder RFC 2217 client (it lives on the ports work).
    pass "rfc2217: skipped, no RFC 2217 client in this tree"
    finish
    exit
fi
mkrandom "$T_TMP/app.bin" 100000 app
mkstub esp32 "$T_TMP/esp32.json"

check "reset into download mode, write, hard reset" "$ESPPROV" flash write -p "$P" 0x10000 "$T_TMP/app.bin"
assert "bytes in flash" flash_has r 0x10000 "$T_TMP/app.bin"
assert "the reset reached download mode" grep -q "boot: download mode" "$T_TMP/r.log"
# The board samples IO0 a few ms after EN rises, so its log line can trail
# espprov's exit: wait for it rather than race it.
booted_flash() { [ "$(tail -n 3 "$T_TMP/r.log" | grep -c 'boot: flash')" -ge 1 ]; }
assert "the hard reset booted the firmware" wait_for 5 booted_flash
check_fails "--before no-reset on a running firmware" 1 "$ESPPROV" flash info -p "$P" --before no-reset
assert "... says it is not in download mode" grep -q "not in download mode\|no serial data\|no SYNC reply" "$T_TMP/err"
check "stay in the loader (--after no-reset)" "$ESPPROV" flash info -p "$P" --after no-reset
check "then --before no-reset works" "$ESPPROV" flash info -p "$P" --before no-reset --after no-reset
check "stub at 921600 over RFC 2217" "$ESPPROV" flash write -p "$P" --stub "$T_TMP/esp32.json" \
    -b 921600 0x200000 "$T_TMP/app.bin"
assert "... bytes in flash" flash_has r 0x200000 "$T_TMP/app.bin"
check "read back over RFC 2217" "$ESPPROV" flash read -p "$P" --stub "$T_TMP/esp32.json" 0x200000 100000 "$T_TMP/back.bin"
assert "... matches" cmp -s "$T_TMP/back.bin" "$T_TMP/app.bin"
sim_stop r

port=$(free_port)
sim_start nd esp32 --rfc2217 "$port" --boot flash --fault no-download
check_fails "a board whose reset never reaches download mode" 1 "$ESPPROV" flash info -p "rfc2217://127.0.0.1:$port"
assert "... is diagnosed from its boot log" grep -q "wrong boot mode detected (0x" "$T_TMP/err"
sim_stop nd
finish
