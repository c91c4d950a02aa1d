#!/usr/bin/env bash
# The example profiles pass `profile check` as shipped, and each builds a
# device image that holds what the profile says.
. "$(dirname "$0")/../lib.sh"
profiles=$(cd "$(dirname "$0")/../../profiles" && pwd)

export CA_PASS="examples-ca-pass-$$" WIFI_PASS="examples-wifi-$$"
export ESPPROV_DEMO_CA_PASS="demo-ca-pass-$$" ESPPROV_DEMO_WIFI_PASS="demo-wifi-$$"
for f in "$profiles"/*.json; do
    check "profile check $(basename "$f")" "$ESPPROV" profile check -P "$f"
done

# Work on a copy: `ca init` writes next to the profile.
cp -r "$profiles" "$T_TMP/profiles"
cd "$T_TMP/profiles" || exit 1
rm -rf demo-ca ca
mkdir ca && echo "idf-ca-passphrase-$$" >ca/passphrase.txt

check "demo: ca init" "$ESPPROV" ca init -P demo.json
check "demo: image" "$ESPPROV" image -P demo.json --mac 24:0a:c4:00:00:01 -o demo.bin
check "demo: list image" "$ESPPROV" spiffs list demo.bin
assert "demo image has PEM files" grep -q '/client.key.pem' "$T_TMP/out"
check "demo: extract (umask 022)" sh -c "umask 022 && '$ESPPROV' spiffs extract demo.bin demo-files"
assert "demo key is PEM PKCS#8" grep -q 'BEGIN PRIVATE KEY' demo-files/client.key.pem
assert "demo key extracted 0600" [ "$(stat -c %a demo-files/client.key.pem)" = 600 ]
assert "demo config (WiFi password) extracted 0600" [ "$(stat -c %a demo-files/config.json)" = 600 ]
assert "demo certificate extracted 0644" [ "$(stat -c %a demo-files/client.crt.pem)" = 644 ]
assert "demo image is 0x160000 bytes" test "$(stat -c %s demo.bin)" -eq $((0x160000))

check "esp8266: ca init" "$ESPPROV" ca init -P esp8266-arduino.json
check "esp8266: image" "$ESPPROV" image -P esp8266-arduino.json --mac 5c:cf:7f:01:02:03 \
    -o e8266.bin
check "esp8266: list image" "$ESPPROV" spiffs list e8266.bin
for name in /rootCA_certificate.der /esp8266-cli.crt.der /esp8266-cli.key.der /config.json; do
    assert "esp8266 image holds $name" grep -q " $name\$" "$T_TMP/out"
done
check "esp8266: extract under umask 077" \
    sh -c "umask 077 && '$ESPPROV' spiffs extract e8266.bin e8266-files"
assert "esp8266 key (custom name, DER) 0600" [ "$(stat -c %a e8266-files/esp8266-cli.key.der)" = 600 ]
assert "esp8266 certificate 0600 under umask 077" \
    [ "$(stat -c %a e8266-files/esp8266-cli.crt.der)" = 600 ]
check "esp8266: certificate verifies" openssl verify -CAfile ca/ca.crt.pem -purpose sslclient \
    <(openssl x509 -inform der -in e8266-files/esp8266-cli.crt.der)
check "esp8266: never expires" sh -c "openssl x509 -inform der -in \
    e8266-files/esp8266-cli.crt.der -noout -enddate | grep -q 'Dec 31 23:59:59 9999 GMT'"
assert "esp8266 config has the device id" grep -q '"id":"esp8266-5ccf7f010203"' \
    e8266-files/config.json

# The ESP-IDF example shares ca/ with the ESP8266 one in this copy: move it.
mv ca ca-8266 && mkdir ca && echo "idf-ca-passphrase-$$" >ca/passphrase.txt
check "esp-idf: ca init (passphrase file)" "$ESPPROV" ca init -P esp32-idf.json
check "esp-idf: image with a sequence number" "$ESPPROV" image -P esp32-idf.json \
    --mac 24:0a:c4:0a:0b:0c --seq 42 -o idf.bin
check "esp-idf: extract" "$ESPPROV" spiffs extract idf.bin idf-files
assert "esp-idf id from the template" grep -q '"id":"sensor-0042-0a0b0c"' idf-files/config.json
assert "esp-idf user name per device" grep -q '"username":"sensor-0042-0a0b0c"' \
    idf-files/config.json
finish
