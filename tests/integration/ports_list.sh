#!/usr/bin/env bash
# `espprov ports` on fake USB buses built by umockdev-run from
# tests/data/umockdev/*.umockdev (sysfs + udev data, as `umockdev-record`
# writes it): libusb enumerates them, sysfs gives strings and ttys.
. "$(dirname "$0")/../lib.sh"
data="$(cd "$(dirname "$0")/../data/umockdev" && pwd)"
# umockdev's preload library comes before a sanitizer runtime under `make check`.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# run_with DEVICES... -- ARGS...: espprov under a testbed holding those devices.
run_with() {
    args=()
    while [ "$1" != "--" ]; do args+=(-d "$data/$1.umockdev"); shift; done
    shift
    umockdev-run "${args[@]}" -- "$ESPPROV" "$@"
}
everything="hub cp2102 ch340 esp32c3-usb-jtag ftdi2232 pl2303 cp2102-no-driver keyboard"

# shellcheck disable=SC2086
check "ports --json lists the known boards" run_with $everything -- ports --json
json=$(last_out)
line() { printf '%s\n' "$json" | grep -F "\"tty\": \"$1\""; }
assert "CP2102 on ttyUSB0 with serial and USB path" \
    grep -q '"vid": "10c4", "pid": "ea60", "kind": "cp210x".*"serial": "0001".*"usb_path": "1-2"' <(line /dev/ttyUSB0)
assert "CH340 behind a hub on ttyUSB1, no serial" \
    grep -q '"kind": "ch340".*"serial": null.*"usb_path": "1-1.3"' <(line /dev/ttyUSB1)
assert "ESP32-C3 USB-Serial/JTAG on ttyACM0, native" \
    grep -q '"pid": "1001", "kind": "esp-usb-jtag".*"native_usb": true.*"serial": "84:F7:03:12:34:56"' <(line /dev/ttyACM0)
assert "dual FTDI gives two ports" \
    [ "$(printf '%s\n' "$json" | grep -c '"pid": "6010"')" -eq 2 ]
assert "second FTDI port is interface 1" grep -q '"interface": 1' <(line /dev/ttyUSB3)
assert "CP2102 without driver listed with tty null" \
    grep -q '"tty": null, "vid": "10c4".*"serial": "0002"' <(printf '%s\n' "$json")
assert "unknown PL2303 not listed by default" bash -c "! grep -q '067b' <<<'$json'"
assert "six entries" [ "$(printf '%s\n' "$json" | grep -c '"tty":')" -eq 6 ]
assert "missing driver warned on stderr" grep -q 'no serial port: is the cp210x driver loaded' "$T_TMP/err"

# shellcheck disable=SC2086
check "ports --all --json adds unknown serial devices" run_with $everything -- ports --all --json
assert "PL2303 listed with --all" grep -q '"tty": "/dev/ttyUSB4", "vid": "067b", "pid": "2303", "kind": null' "$T_TMP/out"
assert "keyboard never listed" bash -c "! grep -q '046d' '$T_TMP/out'"

check "ports prints a table" run_with hub cp2102 ch340 -- ports
assert "table header" grep -q '^TTY *VID:PID *KIND *SERIAL *USB PATH *DESCRIPTION' "$T_TMP/out"
assert "table row for the CP2102" \
    grep -Eq '^/dev/ttyUSB0 +10c4:ea60 +cp210x +0001 +1-2 +Silicon Labs CP210x' "$T_TMP/out"
assert "table row for the CH340" grep -Eq '^/dev/ttyUSB1 +1a86:7523 +ch340 +- +1-1.3 ' "$T_TMP/out"

check "no boards: JSON is an empty array" run_with keyboard pl2303 -- ports --json
assert "empty array" [ "$(last_out)" = "[]" ]
check "no boards: plain output says so" run_with keyboard -- ports
assert "message on stderr" grep -q 'no ESP boards found over USB' "$T_TMP/err"
assert "hint mentions --all" grep -q 'hint: .*ports --all' "$T_TMP/err"
assert "nothing on stdout" [ ! -s "$T_TMP/out" ]

check "ports --help" "$ESPPROV" ports --help
assert "help shows usage" grep -q '^usage: espprov ports' "$T_TMP/out"
check_fails "unknown option is a usage error" 2 "$ESPPROV" ports --bogus
assert "usage error names the option" grep -q "unknown option '--bogus'" "$T_TMP/err"
check_fails "stray argument is a usage error" 2 "$ESPPROV" ports extra

finish
