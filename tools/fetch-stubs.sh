#!/bin/sh
# Fetches the flasher stubs pinned in tools/stubs.lock into OUTDIR:
#   OUTDIR/<family>/<chip>.json   (esptool JSON: entry, text, data, ...)
#   OUTDIR/<family>/PACKAGE       ("name version sha256 license", one line)
#   OUTDIR/<family>/LICENSE*      (the package's license text)
#
# Usage: tools/fetch-stubs.sh [--optional] OUTDIR
#   STUB_CACHE=DIR  keeps verified tarballs there (default OUTDIR.cache); a
#                   tarball placed there by hand is used offline when its
#                   SHA-256 matches.
#
# Tarballs come through `npm pack` (the npm client honours the user's npm
# configuration: registry mirror, proxy, cache) and are checked against the
# SHA-256 recorded in the lock file before anything is extracted. Only the
# per-chip JSON files are extracted.
#
# Exit status: 0 done; 2 a tarball did not match its checksum or lacks the
# stubs (never ignored); 3 the registry could not be reached or npm is
# missing. With --optional, 3 becomes a warning and status 0 (the espprov
# binary works without stubs, from the ROM loader).
set -eu

optional=0
if [ "${1:-}" = "--optional" ]; then
    optional=1
    shift
fi
[ $# -eq 1 ] || { echo "usage: $0 [--optional] OUTDIR" >&2; exit 64; }
out=$1
here=$(cd "$(dirname "$0")" && pwd)
lock="$here/stubs.lock"
cache=${STUB_CACHE:-$out.cache}

unavailable() {
    echo "fetch-stubs: $1" >&2
    if [ "$optional" -eq 1 ]; then
        echo "fetch-stubs: warning: no flasher stubs were fetched; espprov will use the ROM" \
            "loader (slower; no MD5 verify or read-back on the ESP8266)." >&2
        echo "hint: when the npm registry is reachable, run: make stubs" >&2
        exit 0
    fi
    echo "hint: check the network (npm must reach its registry), then run: make stubs;" \
        "offline, put the tarballs named in tools/stubs.lock into $cache" >&2
    exit 3
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

mkdir -p "$cache"
tmp="$out.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"

grep -v '^[[:space:]]*\(#\|$\)' "$lock" >"$tmp/lock"
while read -r family pkg ver sum license dir; do
    tgz="$cache/$pkg-$ver.tgz"
    if [ -f "$tgz" ] && [ "$(sha256_of "$tgz")" != "$sum" ]; then
        echo "fetch-stubs: $tgz does not match tools/stubs.lock; fetching it again" >&2
        rm -f "$tgz"
    fi
    if [ ! -f "$tgz" ]; then
        command -v npm >/dev/null 2>&1 ||
            unavailable "npm is not installed (Debian: apt-get install npm)"
        dl="$tmp/dl"
        mkdir -p "$dl"
        echo "  STUBS   $pkg@$ver ($family)" >&2
        if ! npm pack --silent --prefer-offline --pack-destination "$dl" "$pkg@$ver" \
            </dev/null >"$tmp/npm.out" 2>"$tmp/npm.err"; then
            sed 's/^/fetch-stubs: npm: /' "$tmp/npm.err" | tail -n 5 >&2
            unavailable "cannot fetch $pkg@$ver from the npm registry"
        fi
        got="$dl/$pkg-$ver.tgz"
        [ -f "$got" ] || unavailable "npm pack did not produce $pkg-$ver.tgz"
        actual=$(sha256_of "$got")
        if [ "$actual" != "$sum" ]; then
            echo "fetch-stubs: error: $pkg@$ver has SHA-256 $actual," >&2
            echo "fetch-stubs: but tools/stubs.lock records $sum." >&2
            echo "hint: the published package changed or the download was tampered with;" \
                "do not use it. Pin a new version in tools/stubs.lock only after checking it." >&2
            exit 2
        fi
        mv "$got" "$tgz"
    fi
    dest="$tmp/out/$family"
    mkdir -p "$dest" "$tmp/x"
    if ! tar -xzf "$tgz" -C "$tmp/x" --wildcards "$dir/*.json" "package/LICENSE*" \
        "package/license*" 2>/dev/null && ! tar -xzf "$tgz" -C "$tmp/x" --wildcards "$dir/*.json"; then
        echo "fetch-stubs: error: $tgz holds no $dir/*.json" >&2
        exit 2
    fi
    n=0
    for f in "$tmp/x/$dir"/*.json; do
        [ -f "$f" ] || continue
        mv "$f" "$dest/"
        n=$((n + 1))
    done
    if [ "$n" -eq 0 ]; then
        echo "fetch-stubs: error: $pkg@$ver has no stub JSON under $dir" >&2
        exit 2
    fi
    for f in "$tmp/x/package"/LICENSE* "$tmp/x/package"/license*; do
        [ -f "$f" ] && cp "$f" "$dest/LICENSE"
    done
    printf '%s %s sha256:%s %s\n' "$pkg" "$ver" "$sum" "$license" >"$dest/PACKAGE"
    rm -rf "$tmp/x"
done <"$tmp/lock"

# Replace the previous set only once every family is in place.
rm -rf "$out"
mv "$tmp/out" "$out"
touch "$out/.stamp"
