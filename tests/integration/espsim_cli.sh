#!/usr/bin/env bash
# The simulator's command line, flash file, pty, log and signals, driven from
# the shell; and its pty behind ser2net, as other tests use it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../espsim.sh"

check "espsim --help" "$ESPSIM" --help
assert "help names every chip" grep -q "esp8266 | esp32 | esp32s3 | esp32c3" "$T_TMP/out"
check_fails "unknown chip is a usage error" 2 "$ESPSIM" --chip esp64 --flash "$T_TMP/x.bin"
assert "usage error says what is wrong" grep -q "unknown chip 'esp64'" "$T_TMP/err"
check_fails "bad flash size is a usage error" 2 "$ESPSIM" --chip esp32 --flash "$T_TMP/x.bin" --flash-size 3MB
check_fails "bad fault spec is a usage error" 2 "$ESPSIM" --chip esp32 --flash "$T_TMP/x.bin" --fault drop-rx:at=zero

# An existing file is resized to the flash size; what it held stays.
printf 'KEEP' >"$T_TMP/dev.bin"
start_espsim dev --chip esp32 --flash "$T_TMP/dev.bin" --flash-size 2MB
assert "started" [ -n "$dev_PID" ]
assert "pty link points at the pty" [ "$(readlink "$dev_PTY")" = "$dev_DEV" ]
assert "flash file is 2 MB" [ "$(stat -c %s "$T_TMP/dev.bin")" -eq 2097152 ]
assert "old content kept" [ "$(head -c 4 "$T_TMP/dev.bin")" = KEEP ]
assert "the rest is erased flash" [ "$(tail -c +5 "$T_TMP/dev.bin" | tr -d '\377' | wc -c)" -eq 0 ]

sync_frame='\xc0\x00\x08\x24\x00\x00\x00\x00\x00\x07\x07\x12\x20'
sync_frame="$sync_frame$(printf '\\x55%.0s' $(seq 32))\\xc0"
one_reply="c0 01 08 04 00 07 07 12 20 00 00 00 00 c0"

# talk FD_TARGET: send a SYNC, print the hex of the 112 bytes that come back.
sync_over() {
    exec 3<>"$1"
    [ -c "$1" ] && stty -F "$1" raw -echo 115200
    timeout 1 cat <&3 >/dev/null # drop the boot banner
    printf "$sync_frame" >&3
    timeout 3 dd bs=1 count=112 <&3 2>/dev/null | od -An -tx1 -v | tr -s ' \n' ' ' | sed 's/^ //;s/ $//'
    exec 3>&-
}
replies=$(sync_over "$dev_PTY")
want=$(for i in $(seq 8); do printf '%s ' "$one_reply"; done | sed 's/ $//')
assert "SYNC over the pty: 8 ROM replies" [ "$replies" = "$want" ]
assert "log has the SYNC" grep -q "SYNC(0x08) autobaud=115200 -> ok x8" "$dev_LOG"

reset_espsim dev flash
assert "SIGUSR2 boots from flash" wait_for 5 grep -q "boot: flash" "$dev_LOG"
reset_espsim dev download
downloads() { [ "$(grep -c "boot: download mode" "$dev_LOG")" -ge 2 ]; }
assert "SIGUSR1 boots into download mode" wait_for 5 downloads

# ser2net (Debian's, not ours) in front of the pty: a faithful serial device.
port=$(free_port)
cat >"$T_TMP/ser2net.yaml" <<YAML
connection: &sim
  accepter: tcp,127.0.0.1,$port
  connector: serialdev,$dev_DEV,115200n81,local
YAML
ser2net -n -u -c "$T_TMP/ser2net.yaml" -P "$T_TMP/ser2net.pid" >"$T_TMP/ser2net.out" 2>&1 &
ser2net_pid=$!
stop_ser2net() { kill "$ser2net_pid" 2>/dev/null; wait "$ser2net_pid" 2>/dev/null; }
at_exit stop_ser2net
wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
replies=$(sync_over "/dev/tcp/127.0.0.1/$port")
assert "SYNC through ser2net: 8 ROM replies" [ "$replies" = "$want" ]

stop_espsim dev
assert "SIGTERM ends it and removes the link" [ ! -e "$dev_PTY" ]
finish
