#!/usr/bin/env bash
# Cross-checks lfsgen against a real littlefs that you provide (it is another
# project's code: this repository neither ships nor fetches it).
#
#   LFS_SRC=/path/to/littlefs tools/lfs-crosscheck.sh [quick]
#
# LFS_SRC is a littlefs checkout (or a copy of its lfs.c, lfs.h, lfs_util.c,
# lfs_util.h). LFS_CFLAGS adds defines, as the platforms compile it:
#   ESP8266 Arduino core 3.1 (littlefs 2.5.x): LFS_CFLAGS="-DLFS_NAME_MAX=32"
#   littlefs >= 2.7 writing on-disk 2.0 too:    LFS_CFLAGS="-DLFS_MULTIVERSION"
# The harness (tests/manual/lfs_crosscheck.c) picks the presets that littlefs
# can mount, builds images with lfsgen, mounts/reads/writes them with littlefs,
# reads littlefs's images back with lfsgen, and cuts power at every program.
# "quick" skips the power-cut sweep. Across versions: LFS_XCHECK_SAVE=DIR keeps
# each device-written image, then with another LFS_SRC
#   tools/lfs-crosscheck.sh load esp8266-arduino 1048576 DIR/esp8266-1M-*.img
# mounts, checks and writes them there. Not part of `make test`.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
: "${LFS_SRC:?set LFS_SRC to a littlefs source directory (lfs.c, lfs.h, lfs_util.c, lfs_util.h)}"
for f in lfs.c lfs.h lfs_util.c lfs_util.h; do
    [ -f "$LFS_SRC/$f" ] || { echo "lfs-crosscheck: $LFS_SRC/$f missing" >&2; exit 2; }
done

out="$here/build/lfs-crosscheck"
mkdir -p "$out"
make -C "$here" -s build/liblfsgen.a
cc=${CC:-cc}
# littlefs itself is built without our -Werror: its warnings are not ours to fix.
# shellcheck disable=SC2086
"$cc" -std=c99 -O1 -g ${LFS_CFLAGS:-} -DLFS_NO_DEBUG -DLFS_NO_WARN -DLFS_NO_ERROR \
    -c "$LFS_SRC/lfs.c" -o "$out/lfs.o"
# shellcheck disable=SC2086
"$cc" -std=c99 -O1 -g ${LFS_CFLAGS:-} -c "$LFS_SRC/lfs_util.c" -o "$out/lfs_util.o"
# shellcheck disable=SC2086
"$cc" -std=c11 -O1 -g -Wall -Wextra -Werror ${LFS_CFLAGS:-} -I"$LFS_SRC" -I"$here" \
    "$here/tests/manual/lfs_crosscheck.c" "$out/lfs.o" "$out/lfs_util.o" \
    "$here/build/liblfsgen.a" -o "$out/lfs_crosscheck"
exec "$out/lfs_crosscheck" "$@"
