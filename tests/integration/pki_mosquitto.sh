#!/usr/bin/env bash
# A real Mosquitto broker with the certificate from `cert server` accepts the
# identity read back out of an `espprov image` SPIFFS image (DER for ESP8266,
# and PEM/RSA for ESP32), and refuses a client without a certificate, one
# from another CA, and one revoked through `ca crl`.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mosquitto.sh"

not() { ! "$@"; }

if ! mosq_available; then
    fail "mosquitto is installed" "install mosquitto and mosquitto-clients (.ci/deps test)"
    finish
    exit
fi

cd "$T_TMP" || exit 1
export PKI_CA_PASS="ca-pass-$$-$RANDOM-mq"
export PKI_WIFI_PASS="wifi-pass-$$-$RANDOM"

write_profile() { # FILE KEY_TYPE FORMAT
    cat >"$1" <<EOF
{
  "name": "mqtt-test",
  "chip": "esp8266",
  "filesystem": { "offset": "0x200000", "size": "0x100000" },
  "ca": { "passphrase": "\${PKI_CA_PASS}" },
  "device": { "id": "esp-{mac}", "key_type": "$2", "format": "$3" },
  "wifi": { "ssid": "Lab", "password": "\${PKI_WIFI_PASS}" },
  "mqtt": { "host": "127.0.0.1", "topics": { "status": "dev/{id}/status" } }
}
EOF
}
write_profile ec.json ec-p256 der
write_profile rsa.json rsa2048 pem

check "ca init" "$ESPPROV" ca init -P ec.json
check "cert server" "$ESPPROV" cert server -P ec.json --dns localhost --ip 127.0.0.1
cp "$T_TMP/out" snippet.conf
conf() { awk -v k="$1" '$1 == k { print $2 }' snippet.conf; }
assert "snippet has an mTLS listener" grep -qx "require_certificate true" snippet.conf
assert "snippet uses the CN as user name" grep -qx "use_identity_as_username true" snippet.conf
assert "snippet names a CRL that exists" test -s "$(conf crlfile)"
assert "server key is 0600" test "$(stat -c %a "$(conf keyfile)")" = 600

if ! mosq_start "$(conf cafile)" "$(conf certfile)" "$(conf keyfile)" "$(conf crlfile)"; then
    fail "broker starts with the cert server files" "see $MOSQ_LOG"
    finish
    exit
fi
pass "broker starts with the cert server files"

# The subscriber: a device identity minted without a board.
check "cert device for the subscriber" "$ESPPROV" cert device -P ec.json --id watcher \
    --format pem --out .

# An ESP8266-style image: DER files, read back out of the SPIFFS image.
check "image with a new identity" "$ESPPROV" image -P ec.json --mac 24:0a:c4:aa:bb:01 -o dev1.bin
check "spiffs extract" "$ESPPROV" spiffs extract dev1.bin dev1
check "DER cert from the image" openssl x509 -inform der -in dev1/client.crt.der -out dev1.crt.pem
check "PKCS#8 DER key from the image" openssl pkey -inform der -in dev1/client.key.der \
    -out dev1.key.pem
check "openssl verify (sslclient)" openssl verify -CAfile "$(conf cafile)" -purpose sslclient \
    dev1.crt.pem
assert "image identity completes a publish/subscribe round trip" \
    mosq_deliver t/image dev1.crt.pem dev1.key.pem watcher.crt.pem watcher.key.pem

# An ESP32-style image: PEM files, RSA-2048 key.
check "RSA image" "$ESPPROV" image -P rsa.json --mac 24:0a:c4:aa:bb:02 -o dev2.bin
check "spiffs extract RSA" "$ESPPROV" spiffs extract dev2.bin dev2
assert "RSA/PEM identity completes a round trip" \
    mosq_deliver t/rsa dev2/client.crt.pem dev2/client.key.pem watcher.crt.pem watcher.key.pem

assert "client without a certificate is refused" \
    not mosq_deliver t/nocert "" "" watcher.crt.pem watcher.key.pem

mkdir other
write_profile other/ec.json ec-p256 der
check "a second CA" "$ESPPROV" ca init -P other/ec.json
check "device of the second CA" "$ESPPROV" cert device -P other/ec.json --id rogue --format pem \
    --out other
assert "client signed by another CA is refused" \
    not mosq_deliver t/rogue other/rogue.crt.pem other/rogue.key.pem watcher.crt.pem watcher.key.pem

check "revoke the image's device" "$ESPPROV" cert revoke -P ec.json --id esp-240ac4aabb01 \
    --reason keyCompromise
check "ca crl" "$ESPPROV" ca crl -P ec.json
assert "broker reloads the CRL on SIGHUP" mosq_reload
assert "revoked client is refused" \
    not mosq_deliver t/revoked dev1.crt.pem dev1.key.pem watcher.crt.pem watcher.key.pem
assert "broker log says why" grep -q "certificate revoked\|certificate verify failed" "$MOSQ_LOG"
assert "other clients still get through after the reload" \
    mosq_deliver t/after dev2/client.crt.pem dev2/client.key.pem watcher.crt.pem watcher.key.pem
assert "broker saw the device CN as user name" grep -q "u'esp-240ac4aabb02'" "$MOSQ_LOG"
finish
