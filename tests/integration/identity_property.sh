#!/usr/bin/env bash
# Identity invariants under random sequences of commands over four simulated
# ESP32 boards: provision, --reprovision renew/keep, --only-fs, factory-reset
# with and without --revoke, cert revoke, and provision runs killed with
# kill -9 at a random moment and then re-run. After every step:
#   (a) a board's MAC (its device id) has at most one live certificate;
#   (b) a certificate found in a board's flash was issued by the CA for that
#       board's id, is recorded for that MAC, and is live unless the ledger
#       says that board's certificate was revoked (`cert revoke` cannot reach
#       into a board's flash);
#   (c) the ledger's settled state for each MAC matches the flash: a board
#       holding certificate S is "provisioned" or "revoked" with S, a board
#       whose latest record is a reset holds no identity;
#   (d) no attempt is left "running" once its process is gone.
# PROP_SEED picks the sequence (printed, so a failure can be replayed with
# PROP_SEED=... make integration T=tests/integration/identity_property.sh).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"

SEED=${PROP_SEED:-20261203}
STEPS=${PROP_STEPS:-36}
RANDOM=$SEED
echo "# seed $SEED, $STEPS steps"

cd "$T_TMP" || exit 1
FS_OFF=0x300000 FS_SIZE=0x20000
pv_profile p.json prop esp32 "{ \"offset\": \"$FS_OFF\", \"size\": \"$FS_SIZE\" }"
check "ca init" "$ESPPROV" ca init -P p.json
BOARDS="b1 b2 b3 b4"
mac_of() { echo "24:0a:c4:00:0f:0${1#b}"; }
id_of() { echo "dev-240ac4000f0${1#b}"; }
for b in $BOARDS; do sim_start "$b" esp32 --mac "$(mac_of "$b")"; done

# Serials compared as numbers: upper case, no leading zeros.
canon() { tr 'a-f' 'A-F' | sed 's/^0*//'; }

board_serial() { # NAME: serial of the certificate in the board's flash, or ""
    if pv_fs "$1" "$FS_OFF" "$FS_SIZE" "$1.fs" && [ -s "$1.fs/client.crt.der" ]; then
        pv_serial_of "$1.fs/client.crt.der" | canon
    fi
}

board_cert_id() { # NAME: the CN of the certificate in the board's flash
    openssl x509 -inform der -in "$1.fs/client.crt.der" -noout -subject -nameopt multiline |
        awk -F' = ' '/commonName/ { print $2 }'
}

VIOLATIONS=0
violation() {
    VIOLATIONS=$((VIOLATIONS + 1))
    fail "$STEP_LABEL: $1" "$2"
}

invariants() {
    local ledger certs now b mac id s live_n row kind state rserial live inflight
    ledger=$("$ESPPROV" ledger list -P p.json --json 2>/dev/null) || ledger='[]'
    certs=$("$ESPPROV" cert list -P p.json --json 2>/dev/null) || certs='[]'
    now=$(date -u '+%Y-%m-%d %H:%M:%S')
    [ "$(jq '[.[] | select(.state == "running")] | length' <<<"$ledger")" -eq 0 ] ||
        violation "(d) no attempt left running" "$(jq -c '[.[] | select(.state == "running") | .id]' <<<"$ledger")"
    for b in $BOARDS; do
        mac=$(mac_of "$b")
        id=$(id_of "$b")
        live_n=$(jq --arg id "$id" --arg now "$now" \
            '[.[] | select(.kind == "device" and .id == $id and .revoked == null and .not_after > $now)] | length' <<<"$certs")
        # A run killed between mint and verify leaves its new certificate
        # beside the old one until a re-run settles which is on the board.
        inflight=$(jq -r --arg m "$mac" '[.[] | select(.mac == $m)] | last |
            if . != null and .state == "interrupted" then (.cert_serial // "") else "" end' <<<"$ledger" | canon)
        [ "$live_n" -le 1 ] || { [ -n "$inflight" ] && [ "$live_n" -le 2 ]; } || violation "(a) $b has at most one live certificate" "$live_n live for $id"
        row=$(jq -c --arg m "$mac" '[.[] | select(.mac == $m and
                ((.kind == "reset") or (.state == "provisioned" or .state == "revoked")))] | last // {}' <<<"$ledger")
        kind=$(jq -r '.kind // "none"' <<<"$row")
        state=$(jq -r '.state // "none"' <<<"$row")
        rserial=$(jq -r '.cert_serial // ""' <<<"$row" | canon)
        s=$(board_serial "$b")
        if [ -n "$s" ]; then
            live=$(jq -r --arg now "$now" --arg s "$s" \
                '[.[] | select((.serial | ascii_upcase | ltrimstr("0")) == ($s | ltrimstr("0")))] | first |
                 if . == null then "unknown" elif .revoked != null then "revoked"
                 elif .not_after <= $now then "expired" else "live" end' <<<"$certs")
            [ "$live" != unknown ] || violation "(b) $b's certificate is in the CA record" "serial $s"
            [ "$(board_cert_id "$b")" = "$id" ] ||
                violation "(b) $b's certificate is its own" "CN $(board_cert_id "$b"), expected $id"
            jq -e --arg m "$mac" --arg s "$s" \
                'any(.[]; .mac == $m and ((.cert_serial // "") | ascii_upcase | ltrimstr("0")) == $s)' \
                <<<"$ledger" >/dev/null || violation "(b) $b's certificate is recorded for its MAC" "serial $s"
            if [ "$live" = revoked ] && [ "$state" != revoked ]; then
                violation "(b) $b's certificate is live unless the ledger says revoked" "ledger: $state"
            elif [ "$live" = expired ]; then
                violation "(b) $b's certificate is live" "expired"
            fi
            if { [ "$kind" != provision ] || [ "$rserial" != "$s" ]; } && [ "$inflight" != "$s" ]; then
                violation "(c) $b's ledger state matches its flash" \
                    "flash holds $s, ledger's settled row: $kind/$state/$rserial"
            fi
        elif [ "$kind" = provision ] && [ -z "$inflight" ]; then
            violation "(c) $b's ledger state matches its flash" \
                "flash holds no identity, ledger says $state with $rserial"
        fi
    done
}

# plain_must_finish BOARD: true when a plain provision has nothing to ask:
# the board's flash was last erased by a factory reset or left half-written
# by an attempt that never finished, or no identity of it is in use.
plain_must_finish() {
    "$ESPPROV" ledger list -P p.json --json 2>/dev/null | jq -e --arg m "$(mac_of "$1")" '
        [.[] | select(.mac == $m)] as $rows |
        ([$rows[] | select((.kind == "reset" and (.step | IN("erased", "write", "written", "verified", "reset")))
            or (.kind == "provision" and (.step | IN("write", "written", "verified", "provisioned"))))] | last) as $t |
        ($t != null and ($t.kind == "reset" or ($t.state | IN("interrupted", "failed"))))
        or ([$rows[] | select(.state == "provisioned")] | length) == 0' >/dev/null &&
        echo true || echo false
}

# run_cmd LABEL ARGS...: one command on a board in download mode; its exit
# status is returned, its output kept for the failure messages.
run_cmd() {
    "$ESPPROV" "$@" >"$T_TMP/step.out" 2>"$T_TMP/step.err"
}

# killed BOARD ARGS...: the command on a paced board, kill -9 at a random
# moment, then the same command again on an unpaced board: it must finish.
killed() {
    local b=$1 pid delay fresh=false
    shift
    "$ESPPROV" ledger list -P p.json --json 2>/dev/null |
        jq -e --arg m "$(mac_of "$b")" 'all(.[]; .mac != $m)' >/dev/null && fresh=true
    sim_stop "$b"
    sim_start "$b" esp32 --mac "$(mac_of "$b")" --pace
    "$ESPPROV" "$@" >"$T_TMP/kill.out" 2>"$T_TMP/kill.err" &
    pid=$!
    delay=$((RANDOM % 30))
    sleep "$((delay / 10)).$((delay % 10))"
    if kill -9 "$pid" 2>/dev/null; then
        echo "# killed after ${delay}00 ms"
    else
        echo "# the run ended before the kill (${delay}00 ms)"
    fi
    wait "$pid" 2>/dev/null
    sim_stop "$b"
    sim_start "$b" esp32 --mac "$(mac_of "$b")"
    STEP_LABEL="$STEP_LABEL (after the kill)"
    invariants
    STEP_LABEL="${STEP_LABEL% (after the kill)} (re-run)"
    # A plain provision of a board with an identity in use is refused
    # whether killed or not; renew, a first provision, and a plain run on a
    # board the killed one left half-written or that was erased must finish.
    if ! run_cmd "$@" && { $fresh || [[ " $* " == *" renew "* ]] || $(plain_must_finish "$b"); }; then
        violation "a re-run finishes the killed job" "$(tail -n 3 "$T_TMP/step.err")"
    fi
}

for step in $(seq 1 "$STEPS"); do
    b=b$((RANDOM % 4 + 1))
    op=$((RANDOM % 9))
    sim_reset "$b"
    P=(-P p.json -p "$T_TMP/$b.port")
    case $op in
    0) STEP_LABEL="step $step: provision $b"
       must=$(plain_must_finish "$b")
       run_cmd provision "${P[@]}" || ! $must ||
           violation "a plain provision gives a board with no identity in use a new one" \
               "$(tail -n 3 "$T_TMP/step.err")" ;;
    1) STEP_LABEL="step $step: renew $b"
       run_cmd provision "${P[@]}" --reprovision renew ||
           violation "renew succeeds" "$(tail -n 3 "$T_TMP/step.err")" ;;
    2) STEP_LABEL="step $step: keep $b"; run_cmd provision "${P[@]}" --reprovision keep ;;
    3) STEP_LABEL="step $step: only-fs $b"; run_cmd provision "${P[@]}" --only-fs ;;
    4) STEP_LABEL="step $step: factory-reset $b"
       run_cmd factory-reset "${P[@]}" ||
           violation "factory-reset succeeds" "$(tail -n 3 "$T_TMP/step.err")" ;;
    5) STEP_LABEL="step $step: factory-reset --revoke $b"; run_cmd factory-reset "${P[@]}" --revoke ;;
    6) STEP_LABEL="step $step: cert revoke --id $(id_of "$b")"
       run_cmd cert revoke -P p.json --id "$(id_of "$b")" --reason keyCompromise ;;
    7) STEP_LABEL="step $step: renew $b, killed"; killed "$b" provision "${P[@]}" --reprovision renew ;;
    8) STEP_LABEL="step $step: provision $b, killed"; killed "$b" provision "${P[@]}" ;;
    esac
    echo "# $STEP_LABEL: exit $? $(grep -E 'provisioned|failed|reset|error' "$T_TMP/step.out" "$T_TMP/step.err" 2>/dev/null | head -n 1 | cut -c1-160)"
    invariants
done

assert "seed $SEED: $STEPS random steps keep every invariant" [ "$VIOLATIONS" -eq 0 ]
finish
