#!/usr/bin/env bash
# Every example profile shipped in profiles/ runs end to end as a user would
# run it, from a copy of the folder: profile check, ca init, provision of a
# blank simulated board of the profile's chip, the identity read back out of
# the flash (certificate verifies against the CA, key matches, the ledger and
# the CA's record agree), --only-fs, --reprovision keep, factory-reset
# --revoke, and a fresh provision of the erased board. A shipped example that
# fails a board fails here, whatever the format of its filesystem.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"

EXAMPLES=$(cd "$(dirname "$0")/../../profiles" && pwd)
export CA_PASS="ca-pass-$$-$RANDOM-ex" WIFI_PASS="wifi-pass-$$-$RANDOM"
cd "$T_TMP" || exit 1

# fs_extract NAME PROFILE DIR: the board's filesystem region into DIR (the
# type read from the image, so SPIFFS and LittleFS profiles alike).
fs_extract() {
    local off size
    off=$(jq -r .filesystem.offset "$2.resolved")
    size=$(jq -r .filesystem.size "$2.resolved")
    rm -rf "$3"
    flash_slice "$1" $((off)) $((size)) >"$1.fs.bin"
    if "$ESPPROV" fs --help >/dev/null 2>&1; then
        "$ESPPROV" fs extract "$1.fs.bin" "$3" >/dev/null 2>&1
    else
        "$ESPPROV" spiffs extract "$1.fs.bin" "$3" >/dev/null 2>&1
    fi
}

# file_of PROFILE KEY: the name the profile gives a file in the image.
file_of() { jq -r --arg k "$2" '.paths[$k] | ltrimstr("/")' "$1.resolved"; }

# live_serials PROFILE: serials of the CA's unrevoked device certificates.
live_serials() {
    "$ESPPROV" cert list -P "$1" --json 2>/dev/null |
        jq -r '.[] | select(.kind != "server" and (.revoked | not)) | .serial' | sort
}

# serial_of CERT [FORMAT]: the serial as openssl prints it.
serial_of() { openssl x509 -inform "${2:-der}" -in "$1" -noout -serial | sed 's/^serial=//'; }
same() { [ "$1" = "$2" ]; }

n=0
for src in "$EXAMPLES"/*.json; do
    ex=$(basename "$src" .json)
    n=$((n + 1))
    rm -rf "ex$n" && cp -r "$EXAMPLES" "ex$n" && cd "ex$n" || exit 1
    mkdir -p ca && echo "$CA_PASS" >ca/passphrase.txt && chmod 600 ca/passphrase.txt
    p=$ex.json
    # every ${NAME} the example reads gets a value (CA passphrases: the test's)
    for v in $(grep -o '\${[A-Z_]*}' "$p" | tr -d '${}' | sort -u); do
        case $v in *CA_PASS*) export "$v=$CA_PASS" ;; *) export "$v=value-of-$v" ;; esac
    done
    check "$ex: profile check" "$ESPPROV" profile check -P "$p"
    cp "$T_TMP/out" "$p.resolved"
    chip=$(jq -r .chip "$p.resolved")
    mac=$(printf '24:0a:c4:00:%02x:%02x' "$n" $((n + 16)))
    check "$ex: ca init" "$ESPPROV" ca init -P "$p"
    board=b$n
    sim_start "$board" "$chip" --mac "$mac" --flash-size 4MB || {
        fail "$ex: simulator" "did not start"
        cd "$T_TMP" && continue
    }
    port=$T_TMP/$board.port
    check "$ex: provision a blank board" "$ESPPROV" provision -P "$p" -p "$port"
    check "$ex: filesystem reads back" fs_extract "$board" "$p" fs1
    fmt=$(jq -r .device.format "$p.resolved")
    ca_pem=$(jq -r .ca.cert "$p.resolved")
    crt=fs1/$(file_of "$p" cert)
    key=fs1/$(file_of "$p" key)
    cacrt=fs1/$(file_of "$p" ca)
    assert "$ex: certificate, key, CA and config on the board" \
        test -s "$crt" -a -s "$key" -a -s "$cacrt" -a -s "fs1/$(file_of "$p" config)"
    openssl x509 -inform "$fmt" -in "$crt" -out crt.pem 2>/dev/null
    openssl x509 -inform "$fmt" -in "$cacrt" -out ca-on-board.pem 2>/dev/null
    assert "$ex: certificate verifies against the CA" openssl verify -CAfile "$ca_pem" crt.pem
    assert "$ex: the board's CA is the profile's CA" cmp -s ca-on-board.pem "$ca_pem"
    assert "$ex: key matches the certificate" [ \
        "$(openssl pkey -inform "$fmt" -in "$key" -pubout 2>/dev/null | sha256sum)" = \
        "$(openssl x509 -in crt.pem -noout -pubkey | sha256sum)" ]
    s1=$(serial_of "$crt" "$fmt")
    assert "$ex: exactly the board's certificate is live" \
        same "$(live_serials "$p" | tr '\n' ' ' | sed 's/ $//')" "$s1"
    ledger_state() {
        "$ESPPROV" ledger list -P "$p" --json 2>/dev/null |
            jq -r --arg m "$mac" '[.[] | select(.mac == $m)] | last | .state'
    }
    assert "$ex: ledger says provisioned" [ "$(ledger_state)" = provisioned ]

    check "$ex: --only-fs" "$ESPPROV" provision -P "$p" -p "$port" --only-fs
    fs_extract "$board" "$p" fs2
    assert "$ex: --only-fs keeps the identity" cmp -s "$crt" "fs2/${crt#fs1/}"
    check "$ex: --reprovision keep" "$ESPPROV" provision -P "$p" -p "$port" --reprovision keep
    fs_extract "$board" "$p" fs3
    assert "$ex: keep keeps the identity" cmp -s "$crt" "fs3/${crt#fs1/}"

    check "$ex: factory-reset --revoke" "$ESPPROV" factory-reset -P "$p" -p "$port" --revoke
    assert "$ex: filesystem region erased" \
        [ "$(flash_slice "$board" $(($(jq -r .filesystem.offset "$p.resolved"))) 4096 | tr -d '\377' | wc -c)" -eq 0 ]
    assert "$ex: nothing live after the reset" [ -z "$(live_serials "$p")" ]
    check "$ex: a fresh provision of the erased board" "$ESPPROV" provision -P "$p" -p "$port"
    fs_extract "$board" "$p" fs4
    s4=$(serial_of "fs4/${crt#fs1/}" "$fmt" 2>/dev/null)
    assert "$ex: a new certificate, the only live one" \
        sh -c "[ -n '$s4' ] && [ '$s4' != '$s1' ]"
    assert "$ex: the new certificate is live" same "$(live_serials "$p")" "$s4"
    assert "$ex: ledger says provisioned again" [ "$(ledger_state)" = provisioned ]
    sim_stop "$board"
    cd "$T_TMP" || exit 1
done
assert "every example profile ran" [ "$n" -ge 3 ]
finish
