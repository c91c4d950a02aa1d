#!/usr/bin/env bash
# `make bench`: flashing throughput against the time-modelled simulator
# (espsim --pace --latency 1: bytes paced at the line rate, W25Q32 erase and
# program times, 1 ms adapter latency per reply). For each loader and rate:
# a 1 MiB incompressible file, a 1 MiB firmware-like file (~60 % compressible)
# and a 1.5 MiB SPIFFS-like image holding 20 KB, on blank flash and on flash
# full of old data. Prints seconds, effective throughput (file bytes / s) and
# the ratio of the line-rate limit for the bytes actually sent to the time
# taken. One run per case (paced runs are long and their timing is modelled).
# Reproduce: make bench   (or BENCH_QUICK=1 make bench: 921600 only)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../integration/flash_common.inc"

mkrandom "$T_TMP/incompressible.bin" $((1024 * 1024)) inc
# Firmware-like: code-ish text, random tables, zero-filled data (~60 % compressible).
mkrandom "$T_TMP/fw1" $((400 * 1024)) fw1
mkrandom "$T_TMP/fw2" $((256 * 1024)) fw2
{
    base64 -w 76 "$T_TMP/fw1" | head -c $((512 * 1024))
    cat "$T_TMP/fw2"
    head -c $((256 * 1024)) /dev/zero
} >"$T_TMP/firmware.bin"
mksparse "$T_TMP/spiffs.bin" $((1536 * 1024)) 20000
mkstub esp32 "$T_TMP/stub.json"
mkrandom "$T_TMP/old.bin" $((4 * 1024 * 1024)) old

# run_case LOADER BAUD IMAGE [dirty]: prints one result line.
run_case() {
    local loader=$1 baud=$2 image=$3 dirty=${4:-} chip=esp32 opts=() name
    name="$loader-$baud-$image${dirty:+-dirty}"
    case $loader in
    esp32-rom) opts=(--no-stub) ;;
    esp8266-rom) chip=esp8266 opts=(--no-stub) ;;
    stub) opts=(--stub "$T_TMP/stub.json") ;;
    esac
    if [ "$loader" = esp8266-rom ]; then
        opts+=(--connect-baud "$baud") # no CHANGE_BAUDRATE in that ROM: autobaud at the rate
    else
        opts+=(-b "$baud")
    fi
    [ -n "$dirty" ] && cp "$T_TMP/old.bin" "$T_TMP/$name.bin"
    sim_start "$name" "$chip" --pace --latency 1
    "$ESPPROV" -q flash write -p "$T_TMP/$name.port" "${opts[@]}" --json \
        0x100000 "$T_TMP/$image.bin" >"$T_TMP/$name.json" 2>"$T_TMP/$name.stderr"
    local rc=$?
    sim_stop "$name"
    if [ $rc -ne 0 ]; then
        printf '%-12s %7s %-15s FAILED: %s\n' "$loader" "$baud" "$image${dirty:+ (dirty)}" \
            "$(tail -n 2 "$T_TMP/$name.stderr" | tr '\n' ' ')"
        return
    fi
    local j size sent wire secs
    j=$(cat "$T_TMP/$name.json")
    size=$(stat -c %s "$T_TMP/$image.bin")
    sent=$(sed -n 's/.*"sent": \([0-9]*\).*/\1/p' <<<"$j")
    wire=$(sed -n 's/.*"wire_bytes": \([0-9]*\).*/\1/p' <<<"$j")
    secs=$(sed -n 's/.*"seconds": \([0-9.]*\).*/\1/p' <<<"$j")
    awk -v l="$loader" -v b="$baud" -v i="$image${dirty:+ (dirty)}" -v size="$size" \
        -v sent="$sent" -v wire="$wire" -v t="$secs" 'BEGIN {
        limit = wire * 10 / b
        printf "%-12s %7d %-17s %8d %8d %8d %8.2f %9.1f %8.1f%%\n", l, b, i, size, sent, wire, t,
            size / t / 1024, 100 * limit / t
    }' | tee -a "$T_TMP/results.txt"
}

bauds="115200 921600"
[ -n "${BENCH_QUICK:-}" ] && bauds=921600
echo "loader          baud image                 bytes     sent     wire  seconds  eff KiB/s  of line rate"
for loader in esp32-rom esp8266-rom stub; do
    (
        for baud in $bauds; do
            for image in incompressible firmware spiffs; do
                run_case "$loader" "$baud" "$image"
            done
            run_case "$loader" "$baud" spiffs dirty
        done
    ) >"$T_TMP/$loader.out" &
done
wait
cat "$T_TMP"/esp32-rom.out "$T_TMP"/esp8266-rom.out "$T_TMP"/stub.out
echo
echo "sparse image vs. its full size (1.5 x the 1 MiB incompressible time):"
awk '{ key = $1 " " $2 }
     $3 == "incompressible" { inc[key] = $7 }
     $3 == "spiffs" && $4 != "(dirty)" { sp[key] = $7 }
     END { for (k in sp) if (inc[k] > 0) printf "  %-20s %6.2f s vs %7.2f s = %5.1f%%\n", k, sp[k], 1.5 * inc[k], 100 * sp[k] / (1.5 * inc[k]) }' \
    "$T_TMP/results.txt" | sort
