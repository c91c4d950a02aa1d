#!/usr/bin/env bash
# espprov spiffs build/list/extract/check through the real binary.
. "$(dirname "$0")/../lib.sh"
profiles=$(cd "$(dirname "$0")/../../profiles" && pwd)
mkdir -p "$T_TMP/w" && cd "$T_TMP/w" || exit 1

mkdir -p in/certs in/deep/er
printf 'Hello, SPIFFS!\n' >in/hello.txt
head -c 3000 /dev/urandom >in/certs/client.der
head -c 251 /dev/urandom >in/deep/er/page.bin
: >in/empty

# ----- build, list, extract round trip
check "build from a folder" "$ESPPROV" spiffs build --preset esp-idf --size 64K -o img.bin in
assert "image is exactly 64 KiB" [ "$(stat -c %s img.bin)" -eq 65536 ]
assert "image mode is 0644" [ "$(stat -c %a img.bin)" = 644 ]
check "list the image" "$ESPPROV" spiffs list img.bin
assert "list shows sizes and names in order" \
    [ "$(last_out | head -4 | awk '{print $1, $2}' | tr '\n' ' ')" = \
      "3000 /certs/client.der 251 /deep/er/page.bin 0 /empty 15 /hello.txt " ]
assert "list ends with a usage line" grep -q '^4 files, 3266 bytes; pages: ' "$T_TMP/out"
check "list --json" "$ESPPROV" spiffs list --json img.bin
assert "json names the preset and files" \
    grep -q '"preset":"esp-idf".*{"name":"/certs/client.der","size":3000}' "$T_TMP/out"
check "extract" "$ESPPROV" spiffs extract img.bin out
assert "extracted tree equals the input" diff -r in out
check "check a fresh image" "$ESPPROV" spiffs check img.bin
assert "check says no problems" grep -q '^no problems (4 files)' "$T_TMP/out"

# ----- determinism and size notations
check "same inputs, other size notation" "$ESPPROV" spiffs build --preset esp-idf \
    --size 0x10000 -o img2.bin in/certs in/deep in/hello.txt=/hello.txt in/empty=/empty
cp -r in in-copy
touch -d '2001-01-01' in-copy/hello.txt
check "rebuild from a copy with other mtimes" "$ESPPROV" spiffs build --preset esp-idf \
    --size 65536 -o img3.bin in-copy
assert "byte-identical output" cmp -s img.bin img3.bin

# Recorded output for fixed inputs: any change to the bytes we write shows here.
mkdir -p fixed/d
printf 'Hello, SPIFFS!\n' >fixed/hello.txt
seq 1 20000 >fixed/d/numbers.txt
: >fixed/empty
check "fixed inputs, esp-idf" "$ESPPROV" spiffs build --preset esp-idf --size 128K -o fa.bin fixed
assert "same bytes as recorded (esp-idf)" [ "$(sha256sum <fa.bin | cut -c1-64)" = \
    dda8ba4a5f8f877096157e48e6944b05912ab2add223c6f9fd40855998cd4593 ]
check "fixed inputs, esp8266" "$ESPPROV" spiffs build --preset esp8266-arduino --size 512K \
    -o fb.bin fixed
assert "same bytes as recorded (esp8266)" [ "$(sha256sum <fb.bin | cut -c1-64)" = \
    3a8313444f97decdf6e752675e4bab50c76c3245ddba1160ae1842d438900fb5 ]

# ----- explicit parameters, detection, ESP8266
check "esp8266 preset, 1 MiB" "$ESPPROV" spiffs build --preset esp8266-arduino --size 1M \
    -o e8266.bin in
check "detects esp8266 parameters (-v)" "$ESPPROV" -v spiffs list e8266.bin
assert "says what it detected" grep -q 'detected esp8266-arduino: page 256, block 8192' \
    "$T_TMP/err"
check "explicit flags override a preset" "$ESPPROV" spiffs build --preset esp-idf \
    --meta-len 0 --aligned --no-magic-len --block 8192 --size 1M -o custom.bin in
assert "which equals the esp8266 image" cmp -s e8266.bin custom.bin
check "explicit flags alone" "$ESPPROV" spiffs build --page 512 --block 8192 --no-magic \
    --size 256K -o p512.bin in
check "list it with the same flags" "$ESPPROV" spiffs list --page 512 --block 8192 --no-magic \
    p512.bin
assert "lists 4 files" grep -q '^4 files' "$T_TMP/out"
check "and detected" "$ESPPROV" spiffs extract p512.bin out512
assert "extracts the same tree" diff -r in out512

# ----- errors: clear, nothing half-written
printf 'old' >keep.bin
mkdir -p long
: >long/a-very-long-name-that-overflows.txt
check_fails "refuses a long name" 1 "$ESPPROV" spiffs build --preset esp-idf --size 64K \
    -o keep.bin long
assert "names it and its length" grep -q \
    "'/a-very-long-name-that-overflows.txt' is 36 bytes; the device allows 31" "$T_TMP/err"
assert "old output untouched" [ "$(cat keep.bin)" = old ]
assert "no temporary files left" [ -z "$(ls -A | grep '\.tmp$')" ]
check_fails "refuses duplicate names" 1 "$ESPPROV" spiffs build --preset esp-idf --size 64K \
    -o x.bin in/hello.txt in/empty=/hello.txt
assert "says which" grep -q "'/hello.txt' is given twice" "$T_TMP/err"
head -c 60000 /dev/urandom >big.bin
head -c 70000 /dev/urandom >huge.bin
check_fails "refuses a file larger than the image" 1 "$ESPPROV" spiffs build --preset esp-idf \
    --size 64K -o x.bin huge.bin
assert "says so" grep -q 'is 70000 bytes, more than the 65536 bytes that can fit' "$T_TMP/err"
check_fails "refuses content that does not fit" 1 "$ESPPROV" spiffs build --preset esp-idf \
    --size 64K -o x.bin big.bin
assert "says by how much" grep -q 'the files need .* bytes more than the 64 KiB image holds' \
    "$T_TMP/err"
assert "suggests --fill" grep -q 'hint: use --fill' "$T_TMP/err"
head -c 55000 /dev/urandom >fits-with-fill.bin
check_fails "the reserve blocks stay free by default" 1 "$ESPPROV" spiffs build \
    --preset esp-idf --size 64K -o x.bin fits-with-fill.bin
check "--fill uses them" "$ESPPROV" spiffs build --preset esp-idf --size 64K --fill -o x.bin \
    fits-with-fill.bin
assert "nothing written on failure" [ ! -e y.bin ]
check_fails "size not a whole number of blocks" 1 "$ESPPROV" spiffs build --preset esp-idf \
    --size 5000 -o y.bin in
assert "says so" grep -q 'not a whole number of 4096-byte blocks' "$T_TMP/err"
check_fails "magic impossible" 1 "$ESPPROV" spiffs build --preset esp-idf --block 32768 \
    --size 1M -o y.bin in
assert "says why" grep -q 'magic is not possible with 256-byte pages and 32768-byte blocks' \
    "$T_TMP/err"
assert "no output from failed builds" [ ! -e y.bin ]
check_fails "missing --size is a usage error" 2 "$ESPPROV" spiffs build --preset esp-idf \
    -o y.bin in
check_fails "no platform is a usage error" 2 "$ESPPROV" spiffs build --size 64K -o y.bin in
check_fails "unknown preset" 1 "$ESPPROV" spiffs build --preset esp99 --size 64K -o y.bin in
check_fails "bad size" 2 "$ESPPROV" spiffs build --preset esp-idf --size 12Q -o y.bin in
mkdir -p special && mkfifo special/fifo
check_fails "refuses a FIFO" 1 "$ESPPROV" spiffs build --preset esp-idf --size 64K -o y.bin \
    special
assert "names it" grep -q "special/fifo' is a FIFO" "$T_TMP/err"
rm special/fifo && mkfifo fifo2 && ln -s ../fifo2 special/fifo-link
check_fails "refuses a symlink to a FIFO" 1 "$ESPPROV" spiffs build --preset esp-idf --size 64K \
    -o y.bin special
assert "names the link" grep -q "special/fifo-link' is a symlink to a FIFO" "$T_TMP/err"
rm special/fifo-link
mkdir -p links && ln -s ../in/hello.txt links/file-link && ln -s ../in links/dir-link
check_fails "refuses a symlinked folder" 1 "$ESPPROV" spiffs build --preset esp-idf \
    --size 64K -o y.bin links
rm links/dir-link
check "follows a symlink to a file" "$ESPPROV" spiffs build --preset esp-idf --size 64K \
    -o links.bin links
check "lists it" "$ESPPROV" spiffs list links.bin
assert "with the file's size" grep -q '15  /file-link' "$T_TMP/out"

# ----- names that would leave a folder: refused going in and coming out
for bad in /../x //etc/x /a/./b /a/ "$(printf '/\033[31mred')"; do
    check_fails "build refuses the name '$bad'" 1 "$ESPPROV" spiffs build --preset esp-idf \
        --size 64K -o y.bin "in/hello.txt=$bad"
done
check_fails "build refuses '..' (it was accepted once)" 1 "$ESPPROV" spiffs build \
    --preset esp-idf --size 64K -o y.bin in/hello.txt=/../x
assert "naming the name and the source" grep -q "'in/hello.txt': '/../x' has an empty" \
    "$T_TMP/err"
assert "no image from a refused name" [ ! -e y.bin ]
# An image from elsewhere can still hold such names: make one by patching
# names of the same length in a valid image (SPIFFS has no name checksum).
check "a valid image to patch" "$ESPPROV" spiffs build --preset esp-idf --size 64K \
    -o evil.bin in/hello.txt=/xx/escaped in/empty=/ok/file in/empty=/a/xb \
    in/empty=/AAAAAred
perl -0777 -pi -e 's{/xx/escaped}{/../escaped}; s{/a/xb}{/a//b}; s{/AAAAAred}{/\e[31mred}' \
    evil.bin
check "list an image with a control character in a name" "$ESPPROV" spiffs list evil.bin
assert "the name is shown escaped" grep -qF '/\x1b[31mred' "$T_TMP/out"
assert "no raw escape byte reaches the terminal" [ "$(tr -dc '\033' <"$T_TMP/out" | wc -c)" -eq 0 ]
mkdir -p target
check_fails "extract refuses escaping names" 1 "$ESPPROV" spiffs extract evil.bin target
assert "reports the '..' name" grep -q "'/../escaped' has an empty, '.' or '..' part" \
    "$T_TMP/err"
assert "reports the control character, escaped" grep -qF "'/\x1b[31mred' contains a control" \
    "$T_TMP/err"
assert "no raw escape byte in the errors" [ "$(tr -dc '\033' <"$T_TMP/err" | wc -c)" -eq 0 ]
assert "reports the empty component" grep -q "'/a//b' has an empty" "$T_TMP/err"
assert "nothing escaped" [ ! -e escaped ]
assert "the safe file was extracted" [ -f target/ok/file ]
mkdir -p elsewhere target2 && ln -s ../elsewhere target2/ok
check_fails "extract does not follow a symlinked folder" 1 "$ESPPROV" spiffs extract \
    evil.bin target2
assert "nothing written through it" [ -z "$(ls -A elsewhere)" ]
check_fails "extract keeps existing files" 1 "$ESPPROV" spiffs extract img.bin out
assert "suggests --force" grep -q 'hint: use --force' "$T_TMP/err"
echo changed >out/hello.txt
check "extract --force replaces them" "$ESPPROV" spiffs extract --force img.bin out
assert "with the image's content" cmp -s in/hello.txt out/hello.txt

# ----- extracted files: the umask like cp, secrets 0600 whatever the umask
mkdir -p sec
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sec/device.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -outform der -in sec/device.pem -out sec/k.der
printf '{"v":1,"wifi":{"ssid":"lab","password":"hunter2-hunter2"}}' >sec/settings.json
printf '{"v":1,"wifi":{"ssid":"lab","password":""}}' >sec/open.json
printf 'plain\n' >sec/readme.txt
check "an image with keys and passwords" "$ESPPROV" spiffs build --preset esp-idf --size 64K \
    -o sec.bin sec
mode_of() { stat -c %a "$1"; }
check "extract under umask 022" sh -c "umask 022 && '$ESPPROV' spiffs extract sec.bin x022"
assert "PEM key 0600" [ "$(mode_of x022/device.pem)" = 600 ]
assert "DER key 0600 (by content)" [ "$(mode_of x022/k.der)" = 600 ]
assert "JSON with a password 0600" [ "$(mode_of x022/settings.json)" = 600 ]
assert "JSON without one 0644" [ "$(mode_of x022/open.json)" = 644 ]
assert "plain file 0644" [ "$(mode_of x022/readme.txt)" = 644 ]
check "extract under umask 077" sh -c "umask 077 && '$ESPPROV' spiffs extract sec.bin x077"
assert "plain file 0600 under umask 077" [ "$(mode_of x077/readme.txt)" = 600 ]
assert "key 0600 under umask 077" [ "$(mode_of x077/device.pem)" = 600 ]
check "extract under umask 0277" sh -c "umask 0277 && '$ESPPROV' spiffs extract sec.bin x277"
assert "a key stays readable by its owner (0600)" [ "$(mode_of x277/device.pem)" = 600 ]
assert "plain file follows the umask (0400)" [ "$(mode_of x277/readme.txt)" = 400 ]
check "extract under umask 002" sh -c "umask 002 && '$ESPPROV' spiffs extract sec.bin x002"
assert "plain file 0664 under umask 002" [ "$(mode_of x002/readme.txt)" = 664 ]
assert "password file still 0600" [ "$(mode_of x002/settings.json)" = 600 ]

# ----- a profile's filesystem.dir takes and refuses what spiffs build does
mkdir -p prof && cp "$profiles/demo.json" prof/ && ln -s "$profiles/firmware" prof/firmware
mkdir -p prof/data/sub && printf 'x' >prof/data/sub/a.txt
sed -i 's|"size": "0x160000" }|"size": "0x160000", "dir": "data" }|' prof/demo.json
export ESPPROV_DEMO_CA_PASS=unused-here ESPPROV_DEMO_WIFI_PASS=unused-here
check "filesystem.dir with plain files" "$ESPPROV" profile check -P prof/demo.json
mkfifo prof/data/sub/pipe
check_fails "filesystem.dir refuses a FIFO" 1 "$ESPPROV" profile check -P prof/demo.json
assert "naming it" grep -q "data/sub/pipe' is a FIFO" "$T_TMP/err"
assert "and the profile key" grep -q '\.filesystem\.dir' "$T_TMP/err"
check_fails "spiffs build refuses the same folder" 1 "$ESPPROV" spiffs build --preset esp-idf \
    --size 64K -o y.bin prof/data
assert "with the same words" grep -q "data/sub/pipe' is a FIFO" "$T_TMP/err"
rm prof/data/sub/pipe && mkfifo prof/pipe2 && ln -s ../../pipe2 prof/data/sub/link
check_fails "filesystem.dir refuses a symlink to a FIFO" 1 "$ESPPROV" profile check \
    -P prof/demo.json
assert "naming the link" grep -q "data/sub/link' is a symlink to a FIFO" "$T_TMP/err"
rm prof/data/sub/link && ln -s /dev/null prof/data/devnull
check_fails "filesystem.dir refuses a symlink to a device" 1 "$ESPPROV" profile check \
    -P prof/demo.json
assert "naming it too" grep -q "data/devnull' is a symlink to a character device" "$T_TMP/err"

# ----- damaged images
cp img.bin bad.bin
# Block 0's lookup entry for page 2 claims object 5 (the page says object 1).
printf '\x05\x00' | dd of=bad.bin bs=1 seek=2 conv=notrunc status=none
check_fails "check finds the damage" 1 "$ESPPROV" spiffs check bad.bin
assert "one precise line" grep -q 'page 2: lookup entry 0x0005 but the page header says' \
    "$T_TMP/out"
head -c 30000 img.bin >cut.bin
check_fails "a truncated image fails cleanly" 1 "$ESPPROV" spiffs list --preset esp-idf cut.bin
assert "saying it does not mount" grep -q 'wrong magic' "$T_TMP/err"
head -c 65536 /dev/urandom >noise.bin
check_fails "noise is not detected as SPIFFS" 1 "$ESPPROV" spiffs list noise.bin
head -c 65536 /dev/zero | tr '\0' '\377' >blank.bin
check_fails "a blank image is not detected either" 1 "$ESPPROV" spiffs list blank.bin
assert "saying it is blank" grep -q 'blank (all 0xFF)' "$T_TMP/err"
check_fails "check of noise" 1 "$ESPPROV" spiffs check --preset esp-idf noise.bin
assert "prints the reason on stdout" grep -q 'wrong magic' "$T_TMP/out"

for sub in build list extract check; do
    check "spiffs $sub --help" "$ESPPROV" spiffs "$sub" --help
done
check_fails "unknown subcommand" 2 "$ESPPROV" spiffs frobnicate
finish
