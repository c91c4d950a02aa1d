#!/usr/bin/env bash
# espprov fs build/list/extract/check: both types through one entry point,
# presets, detection, folders, hostile names, precise checks.
. "$(dirname "$0")/../lib.sh"
patch_lfs_path=$(cd "$(dirname "$0")/../support" && pwd)/lfs_patch.py
patch_lfs() { python3 "$patch_lfs_path" "$@"; }
mkdir -p "$T_TMP/w" && cd "$T_TMP/w" || exit 1

mkdir -p in/certs in/deep/er/est
printf 'Hello, LittleFS!\n' >in/hello.txt
head -c 3000 /dev/urandom >in/certs/client.der
head -c 20000 /dev/urandom >in/deep/er/big.bin
head -c 251 /dev/urandom >in/deep/er/est/page.bin
: >in/empty

# ----- LittleFS: build, list, extract, check
check "littlefs build from a folder" "$ESPPROV" fs build --type littlefs --preset esp-idf \
    --size 256K -o l.bin in
assert "says what it wrote" grep -q '^wrote l.bin: littlefs, 5 files, 23 268 bytes, .* of 64 blocks used (4096 bytes each), disk v2.1$' "$T_TMP/out"
assert "image is exactly 256 KiB" [ "$(stat -c %s l.bin)" -eq 262144 ]
check "list detects it (-v)" "$ESPPROV" -v fs list l.bin
assert "detected type and preset" grep -q 'detected littlefs, esp-idf: block 4096' "$T_TMP/err"
assert "folders and files in littlefs order" [ "$(last_out | head -9 | awk '{print $1 $2}' | tr '\n' ' ')" = \
    "dir/certs/ 3000/certs/client.der dir/deep/ dir/deep/er/ 20000/deep/er/big.bin dir/deep/er/est/ 251/deep/er/est/page.bin 0/empty 17/hello.txt " ]
assert "usage line" grep -q '^5 files, 4 folders, 23268 bytes; blocks: .* of 64 (4096 bytes each); littlefs disk v2.1$' "$T_TMP/out"
check "list --json" "$ESPPROV" fs list --json l.bin
assert "json: type, preset, a folder and a file" jq -e '.type == "littlefs" and .preset == "esp-idf" and
    (.files[] | select(.name == "/deep/er") | .type == "dir") and
    (.files[] | select(.name == "/deep/er/big.bin") | .size == 20000)' "$T_TMP/out"
check "extract" "$ESPPROV" fs extract l.bin out
assert "extracted tree equals the input" diff -r in out
check "check a fresh image" "$ESPPROV" fs check l.bin
assert "check says no problems" grep -q '^no problems (5 files, 4 folders)$' "$T_TMP/out"
check_fails "extract keeps existing files" 1 "$ESPPROV" fs extract l.bin out
assert "names the file and --force" grep -q "use --force" "$T_TMP/err"
check "extract --force" "$ESPPROV" fs extract --force l.bin out
mkdir -p in3 && printf -- '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n' >in3/dev.pem
check "a key into littlefs" "$ESPPROV" fs build --type littlefs --preset esp-idf --size 64K \
    -o k.bin in3 in/hello.txt=/config.json
check "extract the key" sh -c "umask 022 && '$ESPPROV' fs extract k.bin kout"
assert "key extracted 0600" [ "$(stat -c %a kout/dev.pem)" = 600 ]
assert "config.json extracted 0600" [ "$(stat -c %a kout/config.json)" = 600 ]
assert "plain file 0644" [ "$(stat -c %a out/hello.txt)" = 644 ]

# ----- determinism
cp -r in in-copy && touch -d '2001-01-01' in-copy/hello.txt
check "rebuild from a copy with other mtimes" "$ESPPROV" fs build --type littlefs --preset esp-idf \
    --size 256K -o l2.bin in-copy
assert "byte-identical output" cmp -s l.bin l2.bin
check "inputs named in another order" "$ESPPROV" fs build --type littlefs --preset esp-idf \
    --size 0x40000 -o l3.bin in/hello.txt in/empty in/deep/er/est/page.bin=/deep/er/est/page.bin \
    in/deep/er/big.bin=/deep/er/big.bin in/certs/client.der=/certs/client.der
assert "the same bytes" cmp -s l.bin l3.bin

# ----- presets
check "esp8266 preset, 1 MiB" "$ESPPROV" fs build --type littlefs --preset esp8266-arduino \
    --size 1M -o e8.bin in
assert "block 8192, disk 2.0" grep -q 'of 128 blocks used (8192 bytes each), disk v2.0$' "$T_TMP/out"
check "esp8266 preset detected" "$ESPPROV" -v fs list e8.bin
assert "says esp8266-arduino" grep -q 'detected littlefs, esp8266-arduino: block 8192, read/prog 64/64, cache 64, name_max 32 (open() 31)' "$T_TMP/err"
check "esp8266 preset below 512 KiB: block 4096" "$ESPPROV" fs build --type littlefs \
    --preset esp8266-arduino --size 256K -o e8s.bin in
assert "4 KiB blocks" grep -q '(4096 bytes each), disk v2.0$' "$T_TMP/out"
check "esp32-arduino preset" "$ESPPROV" fs build --type littlefs --preset esp32-arduino \
    --size 256K -o a32.bin in
assert "the same bytes as esp-idf's" cmp -s a32.bin l.bin
check_fails "the ESP8266 cannot mount a 2.1 image" 1 "$ESPPROV" fs check --preset esp8266-arduino l.bin
assert "says why" grep -q 'the device reads v2.0 only' "$T_TMP/out"
check "explicit values" "$ESPPROV" fs build --type littlefs --block 8192 --read 64 --prog 64 \
    --cache 64 --lookahead 64 --name-max 32 --disk-version 2.0 --size 1M -o x8.bin in
check "list with explicit values" "$ESPPROV" fs list --block 8192 --read 64 --prog 64 --cache 64 \
    --name-max 32 --disk-version 2.0 x8.bin
check "mklittlefs order" "$ESPPROV" fs build --type littlefs -c in -b 4096 -p 256 -s 256K m.bin
check "mklittlefs image detected" "$ESPPROV" fs check m.bin
check_fails "a name longer than the ESP8266 opens" 1 "$ESPPROV" fs build --type littlefs \
    --preset esp8266-arduino --size 256K -o y.bin in/hello.txt=/a-name-of-thirty-two-bytes-long-x
assert "names the limit" grep -q '31' "$T_TMP/err"
check "the same name on ESP32" "$ESPPROV" fs build --type littlefs --preset esp-idf --size 256K \
    -o y.bin in/hello.txt=/a-name-of-thirty-two-bytes-long-x
used=$("$ESPPROV" fs build --type littlefs --preset esp-idf --size 256K -o y.bin in |
    sed -n 's/.*, \([0-9]*\) of 64 blocks used.*/\1/p')
tight=$(((used + 1) * 4))K
check_fails "files that do not fit beside the reserve" 1 "$ESPPROV" fs build --type littlefs \
    --preset esp-idf --size "$tight" -o y.bin in
assert "says by how much" grep -q "the files need 4 KiB more than the ${tight%K} KiB image holds" "$T_TMP/err"
assert "and what to try" grep -q 'hint: use --fill' "$T_TMP/err"
check "--fill uses the reserve" "$ESPPROV" fs build --type littlefs --preset esp-idf --fill \
    --size "$tight" -o y.bin in

# ----- SPIFFS through the same entry point, byte for byte `spiffs`
check "spiffs build via fs" "$ESPPROV" fs build --type spiffs --preset esp-idf --size 64K -o s1.bin in
check "spiffs build directly" "$ESPPROV" spiffs build --preset esp-idf --size 64K -o s2.bin in
assert "same image" cmp -s s1.bin s2.bin
check "spiffs mkspiffs order via fs" "$ESPPROV" fs build --type=spiffs -c in -b 4096 -p 256 -s 64K s3.bin
check "fs list detects spiffs" "$ESPPROV" fs list s1.bin
"$ESPPROV" spiffs list s1.bin >spiffs.out
assert "same output as spiffs list" cmp -s "$T_TMP/out" spiffs.out
check "fs extract spiffs" "$ESPPROV" fs extract s1.bin sout
assert "spiffs tree equals the input" diff -r in sout
check "fs check spiffs" "$ESPPROV" fs check --type spiffs s1.bin
check_fails "a LittleFS option on SPIFFS" 2 "$ESPPROV" fs list --type spiffs --read 64 s1.bin
check_fails "a SPIFFS option on LittleFS" 2 "$ESPPROV" fs list --type littlefs --page 256 l.bin
check_fails "build needs --type" 2 "$ESPPROV" fs build --preset esp-idf --size 64K -o y.bin in
check_fails "unknown type" 2 "$ESPPROV" fs build --type fat --preset esp-idf --size 64K -o y.bin in
check_fails "neither type" 1 "$ESPPROV" fs list in/hello.txt
assert "says neither" grep -q 'is neither a LittleFS image .* nor a SPIFFS one' "$T_TMP/err"

# ----- hostile names: never outside the target, never a raw escape
check "an image to tamper with" "$ESPPROV" fs build --type littlefs --preset esp8266-arduino \
    --size 64K -o evil.bin in/hello.txt=/xx in/hello.txt=/ok/file in/empty=/AAAAAred \
    in/hello.txt=/dd/yy
patch_lfs evil.bin 4096 xx .. && patch_lfs evil.bin 4096 AAAAAred '\x1b[31mred' &&
    patch_lfs evil.bin 4096 yy ..
check "list shows the names" "$ESPPROV" fs list evil.bin
assert "escaped" grep -qF '/\x1b[31mred' "$T_TMP/out"
assert "no raw escape byte reaches the terminal" [ "$(tr -dc '\033' <"$T_TMP/out" | wc -c)" -eq 0 ]
mkdir -p jail/target
check_fails "extract refuses what would escape" 1 "$ESPPROV" fs extract evil.bin jail/target
assert "reports '/..'" grep -q "'/\.\.' not extracted: its name would leave the folder" "$T_TMP/err"
assert "reports '/dd/..'" grep -q "'/dd/\.\.' not extracted" "$T_TMP/err"
assert "reports the control character, escaped" grep -qF "'/\x1b[31mred' contains a control" "$T_TMP/err"
assert "no raw escape byte in the errors" [ "$(tr -dc '\033' <"$T_TMP/err" | wc -c)" -eq 0 ]
assert "the sound file is extracted" cmp -s jail/target/ok/file in/hello.txt
assert "nothing written outside the target" [ "$(find jail -type f | wc -l)" -eq 1 ]
ln -s ../.. jail/target/dd2 2>/dev/null
check "an image with a folder named like a symlink" "$ESPPROV" fs build --type littlefs \
    --preset esp-idf --size 64K -o sym.bin in/hello.txt=/dd2/pwned
check_fails "extract does not follow a symlink in the target" 1 "$ESPPROV" fs extract sym.bin jail/target
assert "nothing through the symlink" [ ! -e pwned ] && [ ! -e jail/pwned ]
check_fails "check lists each problem" 1 "$ESPPROV" fs check evil.bin
assert "the '..' entry" grep -q "^'/\.\.': the name would escape" "$T_TMP/out"
assert "the order problem" grep -q "sorts before it in littlefs order" "$T_TMP/out"
assert "a count" grep -q "3 problems in 'evil.bin'" "$T_TMP/err"

# ----- corrupted images: check says where
check "an image to corrupt" "$ESPPROV" fs build --type littlefs --preset esp8266-arduino \
    --size 64K -o bad.bin in/hello.txt=/xx in/hello.txt=/dd/yy
patch_lfs bad.bin 4096 yy zz --no-crc
check_fails "check: a folder's pair fails its CRC" 1 "$ESPPROV" fs check bad.bin
assert "names the pair and why" grep -q '^not a littlefs image: corrupted dir pair {2, 3}: neither block has a commit whose CRC holds' "$T_TMP/out"
check_fails "list refuses it too" 1 "$ESPPROV" fs list bad.bin
finish
