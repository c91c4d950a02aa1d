#!/usr/bin/env bash
# `make bench`: the same device minting done the tutorials' way (shared/seeds):
# one openssl process per step - genpkey, req -new, x509 -req (CA key
# encrypted), certificate to DER, key to PKCS#8 DER - and the median per
# device next to espprov's in-process figures (from bench_mint, run first).
#
# Reproduce: make bench   (or BUILD=build tests/bench/mint_openssl.sh)
set -euo pipefail
figures="$(cd "${BUILD:-build}" 2>/dev/null && pwd)/bench-mint.txt"
dir=$(mktemp -d "${TMPDIR:-/tmp}/espprov-bench-openssl.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export BENCH_PASS=bench-ca-passphrase

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc \
    -pass env:BENCH_PASS -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -passin env:BENCH_PASS -subj "/CN=bench CA" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem 2>/dev/null
cat >ext.cnf <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF

now_ns() { date +%s%N; }

# mint_one ID KEYALG...: the five steps; prints elapsed nanoseconds.
mint_one() {
    local id=$1
    shift
    local t0
    t0=$(now_ns)
    openssl genpkey "$@" -out "$id.key" 2>/dev/null
    openssl req -new -key "$id.key" -subj "/O=Bench/CN=$id" -out "$id.csr" 2>/dev/null
    openssl x509 -req -in "$id.csr" -CA ca.pem -CAkey ca.key -passin env:BENCH_PASS \
        -CAcreateserial -days 3650 -sha256 \
        -extfile ext.cnf -out "$id.pem" 2>/dev/null
    openssl x509 -in "$id.pem" -outform DER -out "$id.der"
    openssl pkcs8 -topk8 -nocrypt -in "$id.key" -outform DER -out "$id.key.der"
    echo $(($(now_ns) - t0))
}

median_ms() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1e6 }'; }

ec=$(for i in $(seq 1 30); do mint_one "ec$i" -algorithm EC -pkeyopt ec_paramgen_curve:P-256; done |
    median_ms)
rsa=$(for i in $(seq 1 5); do mint_one "rsa$i" -algorithm RSA -pkeyopt rsa_keygen_bits:2048; done |
    median_ms)
openssl verify -CAfile ca.pem ec1.pem >/dev/null

echo "the tutorials' way (5 openssl processes per device, 30 EC / 5 RSA devices), median:"
printf '  EC P-256   %8s ms per device\n' "$ec"
printf '  RSA-2048   %8s ms per device\n' "$rsa"
if [ -f "$figures" ]; then
    # shellcheck disable=SC1090
    . "$figures"
    echo "espprov in process (bench_mint, this run):"
    awk -v cli="$ec" -v one="$ec_one" -v batch="$ec_batch" 'BEGIN {
        printf "  EC P-256   %8.3f ms per device one at a time (%.0fx faster), %.3f ms in batches (%.0fx)\n",
            one, cli / one, batch, cli / batch }'
    awk -v cli="$rsa" -v one="$rsa_one" -v pool="$rsa_pool" 'BEGIN {
        printf "  RSA-2048   %8.1f ms per device inline (%.1fx), %.1f ms with a 2-thread key pool (%.1fx)\n",
            one, cli / one, pool, cli / pool }'
fi
