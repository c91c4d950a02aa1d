#!/usr/bin/env bash
# The PKI commands from the outside: bad input gets a clear error and leaves
# no partial file; no secret appears in any output, log or record; a process
# killed with -9 never leaves a handed-out certificate unrecorded.
. "$(dirname "$0")/../lib.sh"
data=$(cd "$(dirname "$0")/../data" && pwd)

cd "$T_TMP" || exit 1
export PKI_CA_PASS="Ca-Pass-$$-$RANDOM-x"
export PKI_WIFI_PASS="Wifi-Pass-$$-$RANDOM"
all_out="$T_TMP/all-output.txt"
: >"$all_out"
keep() { cat "$T_TMP/out" "$T_TMP/err" >>"$all_out"; }
not_in() { ! grep -qF -- "$1" "$2"; }

cat >p.json <<'EOF'
{
  "name": "cli-test",
  "chip": "esp8266",
  "filesystem": { "offset": "0x200000", "size": "0x1FA000" },
  "ca": { "passphrase": "${PKI_CA_PASS}" },
  "device": { "id": "esp-{mac}", "subject": { "O": "Test", "CN": "{id}" } },
  "wifi": { "ssid": "Lab", "password": "${PKI_WIFI_PASS}" },
  "mqtt": { "host": "broker.local", "topics": { "status": "dev/{id}/status" } }
}
EOF

check "profile check" "$ESPPROV" profile check -P p.json
keep
assert "check prints the resolved profile" grep -q '"ca": {' "$T_TMP/out"
assert "check redacts the WiFi password" grep -q 'redacted, from ${PKI_WIFI_PASS}' "$T_TMP/out"
check "profile from ESPPROV_PROFILE" env ESPPROV_PROFILE=p.json "$ESPPROV" profile check --quiet-ok
check_fails "no profile is a usage error" 2 env -u ESPPROV_PROFILE "$ESPPROV" profile check
check_fails "missing env var" 1 env -u PKI_WIFI_PASS "$ESPPROV" profile check -P p.json
assert "the error names the variable" grep -q \
    '.wifi.password: environment variable PKI_WIFI_PASS is not set' "$T_TMP/err"

check_fails "ca init with the passphrase variable unset" 1 env -u PKI_CA_PASS \
    "$ESPPROV" ca init -P p.json
assert "error names the variable" grep -q 'environment variable PKI_CA_PASS is not set' \
    "$T_TMP/err"
grep -v '"ca"' p.json >nopass.json
check_fails "ca init without a passphrase, no terminal" 1 "$ESPPROV" ca init -P nopass.json \
    </dev/null
assert "error names the ways to give it" grep -q 'passphrase_file' "$T_TMP/err"
assert "nothing written" test ! -e ca/ca.key.pem
check "ca init" "$ESPPROV" ca init -P p.json
keep
assert "CA key is 0600" test "$(stat -c %a ca/ca.key.pem)" = 600
assert "CA key is encrypted PKCS#8" grep -q 'BEGIN ENCRYPTED PRIVATE KEY' ca/ca.key.pem
check "openssl reads the CA key only with the passphrase" openssl pkey -in ca/ca.key.pem \
    -passin env:PKI_CA_PASS -noout
check_fails "ca init refuses to overwrite" 1 "$ESPPROV" ca init -P p.json
assert "... and says so" grep -q "refusing to overwrite" "$T_TMP/err"

check_fails "wrong CA passphrase" 1 env PKI_CA_PASS=not-it-at-all "$ESPPROV" cert device \
    -P p.json --id dev-x --out .
assert "wrong passphrase message" grep -qx \
    'espprov: error: could not decrypt the CA key: wrong passphrase' "$T_TMP/err"
assert "no files from the failed run" test ! -e dev-x.crt.der -a ! -e dev-x.key.der

check "cert device (DER)" "$ESPPROV" cert device -P p.json --mac 24:0A:C4:00:00:01 --out .
keep
assert "key file 0600" test "$(stat -c %a esp-240ac4000001.key.der)" = 600
check "DER cert parses" openssl x509 -inform der -in esp-240ac4000001.crt.der -out dev1.pem
check "openssl verify" openssl verify -CAfile ca/ca.crt.pem -purpose sslclient dev1.pem
check "key is PKCS#8 DER" openssl pkcs8 -nocrypt -inform der -in esp-240ac4000001.key.der \
    -out /dev/null
check_fails "cert device never overwrites" 1 "$ESPPROV" cert device -P p.json \
    --mac 24:0A:C4:00:00:01 --out .
check "cert device --json (PEM)" "$ESPPROV" cert device -P p.json --id pem-dev --format pem \
    --out . --json
keep
assert "json names the files" grep -q '"key":"./pem-dev.key.pem"' "$T_TMP/out"
check_fails "missing output folder" 1 "$ESPPROV" cert device -P p.json --id dev-y --out nowhere
assert "... says what, before minting" grep -q -- "--out 'nowhere': no such folder; nothing was issued" \
    "$T_TMP/err"
assert "... and what to try" grep -q "^hint: create the folder first" "$T_TMP/err"
touch afile
check_fails "output folder is a file" 1 "$ESPPROV" cert device -P p.json --id dev-z --out afile
assert "no temporary files left" test -z "$(find . -name '.*.tmp.*')"
check_fails "bad MAC is a usage error" 2 "$ESPPROV" cert device -P p.json --mac 24:0a
check_fails "days 0 is a usage error" 2 "$ESPPROV" cert server -P p.json --dns x --days 0
check_fails "unknown key type" 2 "$ESPPROV" cert server -P p.json --dns x --key-type dsa

# A profile with a bad value fails at load, naming the JSON path.
sed 's/"name": "cli-test"/"name": "cli-test", "device": 5/' p.json >bad.json
check_fails "bad profile" 1 "$ESPPROV" profile check -P bad.json
assert "error names the file" grep -q "bad.json" "$T_TMP/err"

check "image" "$ESPPROV" image -P p.json --mac 24:0a:c4:00:00:02 -o fs.bin
keep
assert "image is 0600 (it holds the key)" test "$(stat -c %a fs.bin)" = 600
check "image rebuilt around its identity" "$ESPPROV" image -P p.json --from fs.bin -o fs2.bin
keep
assert "same serial kept" grep -q "(kept)" "$T_TMP/out"
check_fails "image of another CA's identity is refused" 1 "$ESPPROV" image -P p.json \
    --cert "$data/pki/foreign.crt.pem" --key "$data/pki/foreign.key.pem" -o fs3.bin
assert "... saying why" grep -q "was not issued by this profile's CA" "$T_TMP/err"
check "cert list" "$ESPPROV" cert list -P p.json --json
keep

# Killed with -9 at random points: every certificate file on disk is recorded.
mkdir crash
for i in $(seq 1 12); do
    "$ESPPROV" cert device -P p.json --mac "24:0a:c4:01:00:$(printf %02x "$i")" \
        --out crash >/dev/null 2>&1 &
    pid=$!
    sleep "0.00$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
"$ESPPROV" cert list -P p.json >listing.txt
missing=0
for f in crash/*.crt.der; do
    [ -e "$f" ] || continue
    serial=$(openssl x509 -inform der -in "$f" -noout -serial | cut -d= -f2)
    grep -q "^$serial " listing.txt || missing=$((missing + 1))
done
assert "every certificate left by killed runs is recorded" test "$missing" -eq 0
assert "killed runs left no temporary files" test -z "$(find crash -name '.*.tmp.*')"

# An RSA-3072 CA signing an RSA-2048 device, PEM files.
mkdir rsa
sed -e 's/"ca": {/"ca": { "key_type": "rsa3072",/' \
    -e 's/"device": {/"device": { "key_type": "rsa2048", "format": "pem",/' p.json >rsa/p.json
check "rsa3072 CA" "$ESPPROV" ca init -P rsa/p.json
check "rsa2048 device" "$ESPPROV" cert device -P rsa/p.json --id rsa-dev --out rsa
check "RSA chain verifies" openssl verify -CAfile rsa/ca/ca.crt.pem -purpose sslclient \
    rsa/rsa-dev.crt.pem
assert "CA key is RSA 3072" sh -c "openssl x509 -in rsa/ca/ca.crt.pem -noout -text | \
    grep -q 'Public-Key: (3072 bit)'"
assert "device key is RSA 2048" sh -c "openssl pkey -in rsa/rsa-dev.key.pem -noout -text | \
    grep -q 'Private-Key: (2048 bit'"

# Secrets: nowhere in outputs, logs or the records.
check "ca crl" "$ESPPROV" ca crl -P p.json
keep
cat "$BUILD"/test-logs/pki_cli.sh.log >>"$all_out" 2>/dev/null
for secret in "$PKI_CA_PASS" "$PKI_WIFI_PASS"; do
    assert "secret absent from all output" not_in "$secret" "$all_out"
    assert "secret absent from the record" not_in "$secret" ca/ca.db
done
key_b64=$(openssl pkcs8 -nocrypt -inform der -in esp-240ac4000001.key.der -outform der |
    base64 -w0 | cut -c 20-60)
assert "device key absent from all output" not_in "$key_b64" "$all_out"
assert "no PEM private key in any output" not_in "PRIVATE KEY" "$all_out"
finish
