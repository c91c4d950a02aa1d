#!/usr/bin/env bash
# The CA at rest: a key openssl opens, encrypted through scrypt; keys made
# the old way still open and `ca passwd` upgrades them without ever losing
# the old file; `ca init` is all or nothing on a full disk; the issuance
# record refuses another program's file and readers never create one.
. "$(dirname "$0")/../lib.sh"
cd "$T_TMP" || exit 1
export CAK_PASS="ca-key-pass-$$-$RANDOM"

profile() { # profile NAME DIR: a profile whose CA lives in DIR
    cat >"$1" <<EOF
{
  "name": "ca-key",
  "chip": "esp8266",
  "filesystem": { "offset": "0x200000", "size": "0x1FA000" },
  "ca": { "cert": "$2/ca.crt.pem", "key": "$2/ca.key.pem", "db": "$2/ca.db",
          "passphrase": "\${CAK_PASS}" },
  "device": { "id": "esp-{mac}" },
  "wifi": { "ssid": "Lab", "password": "wifi-pass-1234" },
  "mqtt": { "host": "broker.local", "topics": { "status": "dev/{id}/status" } }
}
EOF
}
sum() { sha256sum <"$1" | cut -c1-64; }
no_temp_files() { [ -z "$(find "$1" -name '.*tmp*' 2>/dev/null)" ]; }
pub() { openssl pkey -in "$1" -passin "$2" -pubout 2>/dev/null; }

# ----- a new CA key: standard PKCS#8, scrypt, that openssl opens
profile p.json ca
check "ca init" "$ESPPROV" ca init -P p.json
openssl asn1parse -in ca/ca.key.pem >asn1.txt
assert "PBES2" grep -q ':PBES2' asn1.txt
assert "key derivation is scrypt" grep -q 'OBJECT *:scrypt' asn1.txt
assert "N = 32768 (0x8000), r = 7, p = 4" \
    [ "$(grep -A5 ':scrypt' asn1.txt | grep INTEGER | sed 's/.*://' | tr '\n' ' ')" = "8000 07 04 " ]
assert "cipher AES-256-CBC" grep -q ':aes-256-cbc' asn1.txt
check "openssl pkey opens it with the passphrase" openssl pkey -in ca/ca.key.pem \
    -passin env:CAK_PASS -noout
check_fails "and not without" 1 openssl pkey -in ca/ca.key.pem -passin pass:wrong-pass-123 -noout
assert "it is the key of the CA certificate" \
    [ "$(pub ca/ca.key.pem env:CAK_PASS)" = "$(openssl x509 -in ca/ca.crt.pem -pubkey -noout)" ]
check "the CA opens" "$ESPPROV" ca crl -P p.json -o crl.pem
assert "with no warning about the key" [ ! -s "$T_TMP/err" ]

# ----- new passphrases: 12 characters, 6 different ones
profile short.json short
check_fails "ca init refuses an 11-character passphrase" 1 env CAK_PASS=abcdefghijk \
    "$ESPPROV" ca init -P short.json
assert "saying how long it must be" grep -q 'at least 12 characters' "$T_TMP/err"
check_fails "and a repetitive one" 1 env CAK_PASS=abababababababab "$ESPPROV" ca init -P short.json
assert "saying why" grep -q 'at least 6 different' "$T_TMP/err"
assert "never quoting it" [ "$(grep -c abababab "$T_TMP/err")" -eq 0 ]
assert "and nothing was made" [ ! -e short ]

# ----- a CA made the old way (openssl, PBKDF2 at 2,048 iterations) still works
mkdir old
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out old/clear.pem 2>/dev/null
openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 2048 -in old/clear.pem \
    -out old/ca.key.pem -passout env:CAK_PASS
openssl req -x509 -new -key old/clear.pem -subj "/O=Old/CN=Old CA" -days 365 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out old/ca.crt.pem 2>/dev/null
chmod 600 old/ca.key.pem
assert "the old key uses PBKDF2 at 2048 iterations" \
    sh -c "openssl asn1parse -in old/ca.key.pem | grep -A3 ':PBKDF2' | grep -q 'INTEGER *:0800'"
profile old.json old
check "the old CA opens" "$ESPPROV" ca crl -P old.json -o old.crl
assert "and the CRL verifies against it" \
    openssl crl -in old.crl -CAfile old/ca.crt.pem -noout
assert "with a warning that names the weak KDF and the way out" \
    grep -q "PBKDF2-hmacWithSHA256, 2048 iterations.*espprov ca passwd" "$T_TMP/err"

# ----- ca passwd: the old file stays until the new one verifies
printf 'the-new-ca-passphrase-%s\n' "$$" >newpass
before=$(sum old/ca.key.pem)
check_fails "wrong current passphrase" 1 env CAK_PASS=not-the-pass-at-all "$ESPPROV" ca passwd \
    -P old.json --new-passphrase-file newpass
assert "the key file is unchanged" [ "$(sum old/ca.key.pem)" = "$before" ]
printf 'too-short\n' >shortpass
check_fails "a new passphrase that is too short" 1 "$ESPPROV" ca passwd -P old.json \
    --new-passphrase-file shortpass
assert "the key file is still unchanged" [ "$(sum old/ca.key.pem)" = "$before" ]
check_fails "the disk fills while writing the new file" 1 bash -c \
    "trap '' XFSZ; ulimit -f 0; exec '$ESPPROV' ca passwd -P old.json --new-passphrase-file newpass"
assert "the old key file is untouched" [ "$(sum old/ca.key.pem)" = "$before" ]
assert "no temporary file is left" no_temp_files old
old_pub=$(pub old/ca.key.pem env:CAK_PASS)
check "ca passwd" "$ESPPROV" ca passwd -P old.json --new-passphrase-file newpass
assert "reports the old and the new protection" \
    sh -c "grep -q 'was: *PBKDF2-hmacWithSHA256, 2048 iterations' '$T_TMP/out' &&
           grep -q 'now: *scrypt (N=32768, r=7, p=4)' '$T_TMP/out'"
assert "the key is now scrypt" sh -c "openssl asn1parse -in old/ca.key.pem | grep -q scrypt"
assert "still mode 0600" [ "$(stat -c %a old/ca.key.pem)" = 600 ]
assert "the same key under the new passphrase" [ "$(pub old/ca.key.pem file:newpass)" = "$old_pub" ]
check_fails "the old passphrase no longer opens it" 1 openssl pkey -in old/ca.key.pem \
    -passin env:CAK_PASS -noout
assert "no temporary file is left" no_temp_files old
check "the CA opens with the new passphrase" env CAK_PASS="$(head -1 newpass)" \
    "$ESPPROV" ca crl -P old.json -o old2.crl
assert "without the weak-key warning" [ ! -s "$T_TMP/err" ]
check "the CRL still verifies" openssl crl -in old2.crl -CAfile old/ca.crt.pem -noout

# ----- ca init on a full disk: all or nothing, and the retry works
profile full.json full/ca
check_fails "ca init with room for the key but not the record" 1 bash -c \
    "trap '' XFSZ; ulimit -f 2; exec '$ESPPROV' ca init -P full.json"
assert "it says what failed" grep -q "cannot create the issuance record '.*full/ca/ca.db': " "$T_TMP/err"
assert "no ca.db (not even an empty one)" [ ! -e full/ca/ca.db ]
assert "no key and no certificate" [ ! -e full/ca/ca.key.pem ] && [ ! -e full/ca/ca.crt.pem ]
assert "no folder it made" [ ! -e full ]
check "the retry with room succeeds" "$ESPPROV" ca init -P full.json
assert "with all three files" [ -s full/ca/ca.db ] && [ -s full/ca/ca.key.pem ] && \
    [ -s full/ca/ca.crt.pem ]
assert "and no temporary file" no_temp_files full
mkdir -p keep/ca && echo mine >keep/ca/notes.txt
profile keep.json keep/ca
check_fails "a full disk in an existing folder" 1 bash -c \
    "trap '' XFSZ; ulimit -f 1; exec '$ESPPROV' ca init -P keep.json"
assert "leaves the folder and what was in it" [ "$(ls -A keep/ca)" = notes.txt ]
: >keep/ca/ca.db
check "an empty ca.db an older espprov left behind does not block ca init" \
    "$ESPPROV" ca init -P keep.json
assert "it became the record" [ "$(sqlite3 keep/ca/ca.db 'PRAGMA application_id')" = 1162888001 ]

# ----- the issuance record: another program's file is refused untouched
sqlite3 other.db "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');"
osum=$(sum other.db)
sed 's|"db": "ca/ca.db"|"db": "other.db"|' p.json >other.json
check_fails "cert list refuses another program's database" 1 "$ESPPROV" cert list -P other.json
assert "saying it is not an issuance record" grep -q 'not an espprov issuance record' \
    "$T_TMP/err"
check_fails "opening the CA refuses it too" 1 "$ESPPROV" ca crl -P other.json -o x.crl
assert "it is byte for byte as it was" [ "$(sum other.db)" = "$osum" ]
assert "with no tables added" [ "$(sqlite3 other.db .tables)" = notes ]
# A record made before the application id (espprov up to this change).
sqlite3 ca/ca.db "PRAGMA application_id=0"
check "cert list reads an unstamped record" "$ESPPROV" cert list -P p.json
assert "without writing to it" [ "$(sqlite3 ca/ca.db 'PRAGMA application_id')" = 0 ]
check "opening the CA stamps it" "$ESPPROV" ca crl -P p.json -o crl2.pem
assert "with the issuance record's id" [ "$(sqlite3 ca/ca.db 'PRAGMA application_id')" = 1162888001 ]
mv ca/ca.db ca/moved.db
check_fails "cert list with no record" 1 "$ESPPROV" cert list -P p.json
assert "says there is none yet" grep -q "no issuance record at '.*ca.db' yet" "$T_TMP/err"
assert "and did not create one" [ ! -e ca/ca.db ]
finish
