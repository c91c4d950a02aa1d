#!/usr/bin/env bash
# `make bench`: `espprov provision` on eight time-modelled simulated ESP32
# boards at once vs one (espsim --pace: bytes at the line rate, real SPI
# flash erase/program times; 921600 baud, ROM loader, the demo profile:
# bootloader + app + a 1.4 MB filesystem). Target: eight take within 1.1x the
# wall time of one. Prints medians of 3 runs, per-board seconds and peak
# memory (max RSS of the espprov process).
. "$(dirname "$0")/../lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T_TMP" || exit 1
cp "$root/profiles/demo.json" demo.json
ln -s "$root/profiles/firmware" firmware
export ESPPROV_DEMO_CA_PASS="bench-ca-$$" ESPPROV_DEMO_WIFI_PASS="bench-wifi-password"
"$ESPPROV" ca init -P demo.json >/dev/null 2>&1 || { echo "FAIL ca init"; exit 1; }

SIMS=""
stop_sims() { for p in $SIMS; do kill "$p" 2>/dev/null; done; }
at_exit stop_sims
ports=()
for n in 1 2 3 4 5 6 7 8; do
    "$ESPSIM" --chip esp32 --flash "b$n.bin" --pty-link "b$n.pty" --pace \
        --mac "24:0a:c4:00:77:0$n" >"b$n.out" 2>&1 &
    SIMS="$SIMS $!"
    wait_for 10 grep -q '^ready' "b$n.out" || { echo "FAIL espsim b$n did not start"; exit 1; }
    ports+=(-p "$T_TMP/b$n.pty")
done

# run N: provisions boards 1..N once (renewing after the first time);
# prints "wall_s max_rss_kb per_board_seconds..."
run() {
    local n=$1 t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o rss.txt "$ESPPROV" provision -P demo.json "${ports[@]:0:$((2 * n))}" \
        --reprovision renew --json >run.json 2>run.err || { echo "FAIL provision of $n: $(tail -n 3 run.err)" >&2; return 1; }
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000000 )) $(tail -n 1 rss.txt) $(jq -r 'select(.port) | .seconds' run.json | sort -n | tr '\n' ' ')"
}
median3() { sort -n | sed -n 2p; }

"$ESPPROV" provision -P demo.json "${ports[@]}" >/dev/null 2>&1 # first provisioning: not timed
one=() eight=()
for _ in 1 2 3; do
    one+=("$(run 1)") || exit 1
    eight+=("$(run 8)") || exit 1
done
wall1=$(printf '%s\n' "${one[@]}" | awk '{print $1}' | median3)
wall8=$(printf '%s\n' "${eight[@]}" | awk '{print $1}' | median3)
rss1=$(printf '%s\n' "${one[@]}" | awk '{print $2}' | sort -n | tail -n 1)
rss8=$(printf '%s\n' "${eight[@]}" | awk '{print $2}' | sort -n | tail -n 1)
per8=$(printf '%s\n' "${eight[@]}" | awk '{for (i = 3; i <= NF; i++) print $i}' | sort -n |
    awk '{a[NR] = $1} END {printf "min %.1f, median %.1f, max %.1f", a[1], a[int((NR + 1) / 2)], a[NR]}')
ratio=$(awk -v a="$wall8" -v b="$wall1" 'BEGIN {printf "%.2f", a / b}')
echo "espprov provision, time-modelled ESP32 ROM at 921600 baud (demo profile: 0x1000 bootloader,"
echo "0x10000 app, 1.4 MB filesystem), median of 3 runs:"
printf '  1 board:  %6.1f s wall, peak RSS %s KB\n' "$(awk -v v="$wall1" 'BEGIN {print v / 1000}')" "$rss1"
printf '  8 boards: %6.1f s wall, peak RSS %s KB; per-board seconds %s\n' \
    "$(awk -v v="$wall8" 'BEGIN {print v / 1000}')" "$rss8" "$per8"
echo "  8 vs 1: ${ratio}x the wall time (target <= 1.1x)"
echo "command: make bench (tests/bench/provision_parallel.sh)"
awk -v r="$ratio" 'BEGIN {exit !(r <= 1.1)}' || echo "note: above the 1.1x target on this machine"
