#!/usr/bin/env bash
# `make fuzz`: builds each tests/fuzz/fuzz_<name>.c with clang's libFuzzer,
# ASan and UBSan against the library sources, then fuzzes it for FUZZ_SECONDS
# starting from tests/fuzz/corpus/<name>/ (new finds go to build/fuzz/corpus).
set -euo pipefail
build=${BUILD:-build/fuzz}
secs=${FUZZ_SECONDS:-60}
mkdir -p "$build"
pkgs="openssl jansson libusb-1.0 sqlite3 zlib"
cflags="-std=c11 -g -O1 -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED"
cflags="$cflags -DESPPROV_VERSION=\"fuzz\" -I. -Itests $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -pthread"
lib_src=$(ls spiffsgen/*.c lfsgen/*.c flasher/*.c firmware/espprov_client/src/*.c 2>/dev/null || true)
lib_src="$lib_src $(ls provision/*/*.c | grep -v ^provision/cli/)"
status=0
for src in "$@"; do
    name=$(basename "$src" .c)
    target=${name#fuzz_}
    bin="$build/$name"
    echo "== $name: building"
    # shellcheck disable=SC2086
    clang $cflags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -o "$bin" "$src" $lib_src $libs
    corpus="$build/corpus/$target"
    mkdir -p "$corpus"
    echo "== $name: fuzzing for ${secs}s"
    if ! "$bin" -max_total_time="$secs" -print_final_stats=1 "$corpus" "tests/fuzz/corpus/$target" \
        >"$build/$name.log" 2>&1; then
        echo "FAIL $name: crash or leak, see $build/$name.log"
        tail -n 30 "$build/$name.log"
        status=1
    else
        grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$build/$name.log" | sed 's/^/   /'
        echo "PASS $name"
    fi
done
exit $status
