#!/usr/bin/env bash
# Issue 11, case 5: whatever can be checked before a certificate exists is
# checked first. `cert server`, `cert device` and `image` refuse files they
# would overwrite, output folders that are missing or not folders, and (image)
# a filesystem that would not fit, before minting; a failed `image` leaves no
# image behind. `cert list --live` shows the certificates a board can hold.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/flash_common.inc"
. "$(dirname "$0")/provision_common.inc"

not() { ! "$@"; }
cd "$T_TMP" || exit 1
pv_profile p.json outs esp32 '{ "offset": "0x290000", "size": "0x40000" }'
check "ca init" "$ESPPROV" ca init -P p.json

# How many certificates the CA has issued (rows), and how many of them are live.
rows() { "$ESPPROV" cert list -P p.json --json | jq length; }
live_of() { "$ESPPROV" cert list -P p.json --json |
    jq --arg k "$1" '[.[] | select(.kind == $k and .revoked == null)] | length'; }

# ---- cert server twice -----------------------------------------------------
check "cert server" "$ESPPROV" cert server -P p.json --dns localhost
check_fails "cert server again is refused" 1 "$ESPPROV" cert server -P p.json --dns localhost
assert "... because server.key.pem exists" grep -q "refusing to overwrite '.*server\.\(key\|crt\)\.pem'" \
    "$T_TMP/err"
assert "still exactly one live server certificate" [ "$(live_of server)" -eq 1 ]
assert "and one row in all" [ "$(rows)" -eq 1 ]
check_fails "cert server --out a missing folder" 1 \
    "$ESPPROV" cert server -P p.json --dns localhost --out missing
assert "... names the folder" grep -q "missing" "$T_TMP/err"
assert "nothing minted" [ "$(rows)" -eq 1 ]

# ---- cert device --out ------------------------------------------------------
echo text >file.txt
check_fails "cert device --out a missing folder" 1 \
    "$ESPPROV" cert device -P p.json --id d1 --out missing/
assert "... names the folder" grep -q "'missing/*'" "$T_TMP/err"
assert "no new row" [ "$(rows)" -eq 1 ]
check_fails "cert device --out below a file" 1 \
    "$ESPPROV" cert device -P p.json --id d1 --out file.txt/sub/
assert "... names it" grep -q "file.txt/sub" "$T_TMP/err"
check_fails "cert device --out a file" 1 "$ESPPROV" cert device -P p.json --id d1 --out file.txt
assert "... says it is not a folder" grep -q "not a folder" "$T_TMP/err"
assert "still no new row" [ "$(rows)" -eq 1 ]
mkdir -p devs
check "cert device --out an existing folder" "$ESPPROV" cert device -P p.json --id d1 --out devs
assert "one device certificate" [ "$(live_of device)" -eq 1 ]

# ---- image --keep-keys and -o ------------------------------------------------
check_fails "image --keep-keys a missing folder" 1 \
    "$ESPPROV" image -P p.json --id d2 -o fs.bin --keep-keys missing/
assert "... names the folder" grep -q "missing" "$T_TMP/err"
assert "no fs.bin" [ ! -e fs.bin ]
assert "no temporary image either" [ -z "$(find . -maxdepth 1 -name '.fs.bin*')" ]
assert "no new certificate" [ "$(rows)" -eq 2 ]
check_fails "image -o into a missing folder" 1 \
    "$ESPPROV" image -P p.json --id d2 -o nodir/fs.bin
assert "... names the folder" grep -q "nodir" "$T_TMP/err"
assert "nothing minted" [ "$(rows)" -eq 2 ]
check_fails "image -o below a file" 1 "$ESPPROV" image -P p.json --id d2 -o file.txt/fs.bin
assert "nothing minted" [ "$(rows)" -eq 2 ]
mkdir -p keys
touch keys/d2.key.der
check_fails "image --keep-keys where the key file exists" 1 \
    "$ESPPROV" image -P p.json --id d2 -o fs.bin --keep-keys keys
assert "... refusing to overwrite it" grep -q "refusing to overwrite 'keys/d2.key.der'" "$T_TMP/err"
assert "no fs.bin" [ ! -e fs.bin ]
assert "nothing minted" [ "$(rows)" -eq 2 ]
rm keys/d2.key.der

# A filesystem.dir too big: refused by the trial image, before any certificate.
mkdir -p big
head -c $((0x40000)) /dev/urandom >big/blob.bin
jq '.filesystem.dir = "big"' p.json >big.json
check_fails "image whose files do not fit" 1 "$ESPPROV" image -P big.json --id d2 -o fs.bin
assert "... says so" grep -q "do not fit" "$T_TMP/err"
assert "no fs.bin" [ ! -e fs.bin ]
assert "nothing minted" [ "$(rows)" -eq 2 ]

check "image --keep-keys an existing folder" \
    "$ESPPROV" image -P p.json --id d2 -o fs.bin --keep-keys keys
assert "fs.bin written" [ -s fs.bin ]
assert "keys written" test -s keys/d2.key.der -a -s keys/d2.crt.der
assert "two device certificates" [ "$(live_of device)" -eq 2 ]

# ---- cert list --live ---------------------------------------------------------
check "cert device d3" "$ESPPROV" cert device -P p.json --id d3 --out devs --json
d3=$(jq -r .serial "$T_TMP/out")
check "cert revoke d3" "$ESPPROV" cert revoke -P p.json --serial "$d3"
check "cert list --live --json" "$ESPPROV" cert list -P p.json --live --json
cp "$T_TMP/out" live.json
assert "--live: the server and d1, d2" \
    [ "$(jq -r '[.[].id] | sort | join(",")' live.json)" = "d1,d2,localhost" ]
assert "--live: none revoked" [ "$(jq '[.[] | select(.revoked != null)] | length' live.json)" -eq 0 ]
assert "--live: the same fields as cert list" \
    [ "$(jq -c '.[0] | keys' live.json)" = "$("$ESPPROV" cert list -P p.json --json | jq -c '.[0] | keys')" ]
assert "plain list still has the revoked one" grep -Eq "^$d3 .*REVOKED" <("$ESPPROV" cert list -P p.json)
check "cert list --live (text)" "$ESPPROV" cert list -P p.json --live
assert "text --live leaves it out" not grep -q "^$d3 " "$T_TMP/out"
assert "text --live lists three" [ "$(wc -l <"$T_TMP/out")" -eq 3 ]

# An expired certificate is not live either.
sqlite3 ca/ca.db "UPDATE issued SET not_after = 1000 WHERE id = 'd1'" 2>/dev/null ||
    python3 -c "import sqlite3; c = sqlite3.connect('ca/ca.db'); \
c.execute(\"UPDATE issued SET not_after = 1000 WHERE id = 'd1'\"); c.commit()"
check "cert list --live after d1 expired" "$ESPPROV" cert list -P p.json --live --json
assert "--live leaves out the expired one" \
    [ "$(jq -r '[.[].id] | sort | join(",")' "$T_TMP/out")" = "d2,localhost" ]

# ---- a write that fails after minting ------------------------------------------
# A full disk, simulated: link/linkat/rename into a "diskfull" folder fail with
# ENOSPC, after every check has passed and the certificate exists.
cat >shim.c <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
static int full(const char *path) { return strstr(path, "diskfull/") != NULL; }
int linkat(int a, const char *from, int b, const char *to, int flags)
{
    int (*real)(int, const char *, int, const char *, int) = dlsym(RTLD_NEXT, "linkat");
    return full(to) ? (errno = ENOSPC, -1) : real(a, from, b, to, flags);
}
int link(const char *from, const char *to)
{
    int (*real)(const char *, const char *) = dlsym(RTLD_NEXT, "link");
    return full(to) ? (errno = ENOSPC, -1) : real(from, to);
}
int rename(const char *from, const char *to)
{
    int (*real)(const char *, const char *) = dlsym(RTLD_NEXT, "rename");
    return full(to) ? (errno = ENOSPC, -1) : real(from, to);
}
EOF
if ${CC:-cc} -shared -fPIC -o shim.so shim.c -ldl 2>/dev/null; then
    diskfull() {
        env LD_PRELOAD="$T_TMP/shim.so" \
            ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
    }
    reason_of() { "$ESPPROV" cert list -P p.json --json | jq -r --arg id "$1" \
        '[.[] | select(.id == $id)] | last | .reason'; }
    mkdir -p diskfull
    check_fails "cert device: the write fails after minting" 1 \
        diskfull "$ESPPROV" cert device -P p.json --id d9 --out diskfull
    assert "... says it was never delivered and is revoked" \
        grep -q "No space left.*certificate [0-9A-F]* for 'd9' was never delivered: it is revoked (superseded)" \
        "$T_TMP/err"
    assert "... and when the CRL lists it" grep -q "next 'espprov ca crl'" "$T_TMP/err"
    assert "d9's certificate is revoked, superseded" [ "$(reason_of d9)" = 4 ]
    assert "no files left" [ -z "$(ls -A diskfull)" ]
    check_fails "image: the image write fails after minting" 1 \
        diskfull "$ESPPROV" image -P p.json --id d8 -o diskfull/fs.bin --keep-keys keys
    assert "d8's certificate is revoked, superseded" [ "$(reason_of d8)" = 4 ]
    assert "no image left" [ -z "$(ls -A diskfull)" ]
    assert "no kept keys left" test ! -e keys/d8.key.der -a ! -e keys/d8.crt.der
    check_fails "cert server: the write fails after minting" 1 \
        diskfull "$ESPPROV" cert server -P p.json --dns full.lan --out diskfull
    assert "the server certificate is revoked, superseded" [ "$(reason_of full.lan)" = 4 ]
    assert "still one live server certificate" [ "$(live_of server)" -eq 1 ]
else
    echo "note: no C compiler (\$CC), the full-disk checks are skipped"
fi

# ---- cert server --force: the replaced certificate is revoked ----------------
first_server=$("$ESPPROV" cert list -P p.json --json | jq -r '[.[] | select(.kind == "server" and .revoked == null)] | .[0].serial')
check "cert server --force replaces it" "$ESPPROV" cert server -P p.json --dns localhost --force
assert "... and says the replaced one is revoked" grep -q "replaces $first_server, now revoked" \
    "$T_TMP/out"
assert "still exactly one live server certificate, the new one" [ "$(live_of server)" -eq 1 ]
assert "the replaced one is revoked, superseded" \
    [ "$("$ESPPROV" cert list -P p.json --json | jq --arg s "$first_server" '.[] | select(.serial == $s) | .reason')" = 4 ]
finish
