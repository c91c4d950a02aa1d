#!/usr/bin/env bash
# kill -9 at several points of a batch of three boards (time-modelled, so a
# run lasts long enough to be caught mid-way): after each kill the ledger
# never says provisioned for a board that is not, no serial is issued twice,
# every certificate on a board is in the CA record and the ledger; a final
# re-run completes the batch and revokes what the killed attempts minted.
# Kill points are chosen by watching the ledger, never by timing assertions.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"

cd "$T_TMP" || exit 1
pv_profile k.json kill esp32 '{ "offset": "0x300000", "size": "0x20000" }'
check "ca init" "$ESPPROV" ca init -P k.json
BOARDS="k1 k2 k3"
for n in 1 2 3; do sim_start "k$n" esp32 --mac "24:0a:c4:00:0d:0$n" --pace; done
PORTS=(-p "$T_TMP/k1.port" -p "$T_TMP/k2.port" -p "$T_TMP/k3.port")
mac_of() { echo "24:0a:c4:00:0d:0${1#k}"; }

# board_serial NAME: the serial of the certificate in the board's filesystem, or "".
board_serial() {
    if pv_fs "$1" 0x300000 0x20000 "$1.fs" && [ -s "$1.fs/client.crt.der" ]; then
        pv_serial_of "$1.fs/client.crt.der"
    fi
}

# invariants LABEL: what must hold whenever the process died.
invariants() {
    local l=$1 ledger issued ok=true b mac state s
    ledger=$(pv_ledger k.json)
    echo "# $l: $(jq -r '[.[] | .state + "@" + .step] | join(" ")' <<<"$ledger")"
    issued=$("$ESPPROV" cert list -P k.json --json | jq -r '.[].serial')
    assert "$l: no attempt left 'running'" \
        [ "$(jq '[.[] | select(.state == "running")] | length' <<<"$ledger")" -eq 0 ]
    assert "$l: no serial issued twice" [ "$(sort <<<"$issued" | uniq -d | wc -l)" -eq 0 ]
    assert "$l: no serial minted by two attempts (no keep here)" \
        [ "$(jq -r '.[] | .cert_serial // empty' <<<"$ledger" | sort | uniq -d | wc -l)" -eq 0 ]
    for s in $(jq -r '.[] | .cert_serial // empty' <<<"$ledger"); do
        grep -qx "$s" <<<"$issued" || ok=false
    done
    assert "$l: every ledger certificate is in the CA record" $ok
    for b in $BOARDS; do
        mac=$(mac_of "$b")
        s=$(board_serial "$b")
        state=$(jq -r --arg m "$mac" '[.[] | select(.mac == $m)] | last | .state // "none"' <<<"$ledger")
        if [ "$state" = provisioned ]; then
            assert "$l: $b provisioned in the ledger holds that certificate" \
                [ "$s" = "$(jq -r --arg m "$mac" '[.[] | select(.mac == $m)] | last | .cert_serial' <<<"$ledger")" ]
            assert "$l: $b provisioned in the ledger holds the app" \
                flash_has "$b" 0x10000 "$FW_DIR/demo-esp32-app.bin"
        fi
        if [ -n "$s" ]; then
            assert "$l: $b's certificate is in the CA record" grep -qx "$s" <<<"$issued"
            assert "$l: $b's certificate is in the ledger" \
                jq -e --arg s "$s" 'any(.[]; .cert_serial == $s)' <<<"$ledger" >/dev/null
        fi
    done
}

# run_and_kill LABEL JQ_CONDITION: start the batch, kill -9 it once the
# ledger satisfies the condition (or the run ends by itself).
run_and_kill() {
    local pid
    for b in $BOARDS; do sim_reset "$b"; done
    "$ESPPROV" provision -P k.json "${PORTS[@]}" --reprovision renew >"$1.out" 2>"$1.err" &
    pid=$!
    wait_for 60 sh -c "'$ESPPROV' ledger list -P k.json --json 2>/dev/null | jq -e '$2' >/dev/null || ! kill -0 $pid"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    invariants "$1"
}

run_and_kill "killed while connecting" 'any(.[]; .state == "running")'
run_and_kill "killed after a mint" 'any(.[]; .state == "running" and .step == "minted")'
run_and_kill "killed while writing" 'any(.[]; .state == "running" and .step == "write")'
run_and_kill "killed after a write" 'any(.[]; .state == "running" and (.step == "written" or .step == "verified")) or ([.[] | select(.state == "running")] | length) == 0 and length > 6'

# ---- Ctrl-C: once, boards in flight finish; twice, they stop cleanly ------
interrupt() { # LABEL SIGNALS: SIGINT the batch SIGNALS times once a board is being written
    local pid
    # Blank boards, so the firmware is written again (a board that holds it
    # already is done too fast for the second Ctrl-C to land in the write).
    for b in $BOARDS; do
        head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' '\377' | dd of="$b.bin" conv=notrunc 2>/dev/null
        sim_reset "$b"
    done
    "$ESPPROV" provision -P k.json "${PORTS[@]}" --reprovision renew >"$1.out" 2>"$1.err" &
    pid=$!
    wait_for 60 sh -c "'$ESPPROV' ledger list -P k.json --json 2>/dev/null | jq -e 'any(.[]; .state == \"running\" and .step == \"write\")' >/dev/null || ! kill -0 $pid"
    kill -INT "$pid"
    if [ "$2" = 2 ]; then sleep 0.3; kill -INT "$pid"; fi
    wait "$pid"
    echo $? >"$1.rc"
}
interrupt ctrlc-once 1
assert "one Ctrl-C: exit status 0" [ "$(cat ctrlc-once.rc)" -eq 0 ]
assert "one Ctrl-C: says what happens" grep -q 'stopping: no new board starts, boards in flight finish' ctrlc-once.err
assert "one Ctrl-C: the boards in flight finished" [ "$(grep -c '  provisioned' ctrlc-once.out)" -eq 3 ]
assert "one Ctrl-C: summary printed" grep -q '^3 provisioned, 0 failed in' ctrlc-once.out
invariants "after one Ctrl-C"
interrupt ctrlc-twice 2
assert "two Ctrl-C: exit status 1" [ "$(cat ctrlc-twice.rc)" -eq 1 ]
assert "two Ctrl-C: says what happens" grep -q 'cancelling the boards in flight' ctrlc-twice.err
assert "two Ctrl-C: result lines say cancelled" grep -q 'cancelled at write: cancelled' ctrlc-twice.out
assert "two Ctrl-C: summary counts them" grep -Eq '^[0-9] provisioned, 0 failed, [1-3] cancelled in' ctrlc-twice.out
assert "two Ctrl-C: ledger rows say cancelled, nothing more" \
    [ "$(pv_ledger k.json | jq '[.[] | select(.error == "cancelled") | select(.state != "failed" or .step == "verified" or .step == "provisioned")] | length')" -eq 0 ]
invariants "after two Ctrl-C"

for b in $BOARDS; do sim_reset "$b"; done
check "a re-run completes the batch" "$ESPPROV" provision -P k.json "${PORTS[@]}" --reprovision renew
invariants "after the re-run"
for b in $BOARDS; do
    assert "$b: provisioned" [ "$(pv_state k.json "$(mac_of "$b")")" = provisioned ]
done
ledger=$(pv_ledger k.json)
assert "killed attempts that minted now read revoked or were superseded" \
    [ "$(jq '[.[] | select((.state == "interrupted" or .state == "failed") and .cert_serial != null and .revoked_at == null)] | length' <<<"$ledger")" -eq 0 ]
finish
