#!/usr/bin/env bash
# `make demo`: three simulated ESP32 boards provisioned in parallel from
# profiles/demo.json, then the ledger and one board's filesystem read back.
# Everything lands in build/demo (the demo CA and ledger persist between
# runs; the boards are new ones, with new MACs, each time).
set -eu
: "${ESPPROV:?run through make demo}" "${ESPSIM:?run through make demo}"
root=$(cd "$(dirname "$0")/.." && pwd)
demo=${DEMO_DIR:-$root/build/demo}

# The demo's secrets guard nothing real; a real profile takes them from the
# environment (or a passphrase file) the same way.
export ESPPROV_DEMO_CA_PASS=demo-ca-passphrase-not-secret
export ESPPROV_DEMO_WIFI_PASS=demo-wifi-password

say() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*" | sed "s|$demo/||g; s|$root/||g"; "$@"; }

mkdir -p "$demo/boards"
# The profile works on a copy next to the firmware, so that the CA and the
# ledger it creates stay out of the source tree.
cp "$root/profiles/demo.json" "$demo/demo.json"
ln -sfn "$root/profiles/firmware" "$demo/firmware"
cd "$demo"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

say "Starting three simulated ESP32 boards (espsim, reset lines over RFC 2217)"
ports=()
for n in 1 2 3; do
    mac=$(printf '24:0a:c4:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $n)
    rm -f "boards/board$n.bin"
    "$ESPSIM" --chip esp32 --flash "boards/board$n.bin" --mac "$mac" --rfc2217 0 \
        --boot flash >"boards/board$n.out" 2>"boards/board$n.err" &
    pids+=($!)
    for _ in $(seq 100); do grep -q '^ready' "boards/board$n.out" && break; sleep 0.05; done
    port=$(sed -n 's/^rfc2217 /rfc2217:\/\//p' "boards/board$n.out")
    ports+=(-p "$port")
    echo "board $n: $port (MAC $mac, flash in build/demo/boards/board$n.bin)"
done

if [ ! -f demo-ca/ca.crt.pem ]; then
    say "Creating the demo CA (first run only)"
    show "$ESPPROV" ca init -P demo.json
fi

say "Provisioning the three boards in parallel"
show "$ESPPROV" provision -P demo.json "${ports[@]}"

say "The ledger (every attempt, from every demo run)"
show "$ESPPROV" ledger list -P demo.json

say "Board 1's filesystem, read back from its flash"
first=${ports[1]}
show "$ESPPROV" flash read -p "$first" 0x290000 0x160000 boards/board1-fs.bin
show "$ESPPROV" spiffs list boards/board1-fs.bin
rm -rf boards/board1-files
"$ESPPROV" spiffs extract boards/board1-fs.bin boards/board1-files >/dev/null
# The key and the config (WiFi password) come out 0600, the certificates as cp would.
show stat -c '%a %n' boards/board1-files/client.key.pem boards/board1-files/config.json \
    boards/board1-files/client.crt.pem
show cat boards/board1-files/config.json
echo
show openssl x509 -noout -subject -issuer -dates -in boards/board1-files/client.crt.pem
show openssl verify -CAfile demo-ca/ca.crt.pem boards/board1-files/client.crt.pem

say "Done. Files are in build/demo; try: build/espprov ledger show -P build/demo/demo.json 1"
