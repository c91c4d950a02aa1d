#!/usr/bin/env bash
# Runs test programs and scripts, TEST_JOBS at a time, and ends with one
# summary line CI can read: "N passed, N failed".
#
# Contract for every test program: print one line per check, "PASS <name>" or
# "FAIL <name>: <why>", and exit non-zero if any check failed. A program that
# exits non-zero without a FAIL line (a crash, a sanitizer report) counts as a
# failure; one that prints no PASS line at all asserts nothing and fails too.
set -u
jobs=${TEST_JOBS:-2}
limit=${TEST_TIMEOUT:-900}
logdir=${BUILD:-build}/test-logs
rm -rf "$logdir"
mkdir -p "$logdir"

run_one() {
    t=$1
    name=$(basename "$t")
    log="$logdir/$name.log"
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$t" >"$log" 2>&1
    rc=$?
    echo "$rc $(( $(date +%s) - start ))" >"$log.rc"
}

running=0
for t in "$@"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

passed=0
failed=0
for t in "$@"; do
    name=$(basename "$t")
    log="$logdir/$name.log"
    read -r rc secs <"$log.rc"
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            echo "FAIL $name: timed out after ${limit}s" >>"$log"
        else
            echo "FAIL $name: exited with status $rc" >>"$log"
        fi
    fi
    if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "FAIL $name: ran no checks" >>"$log"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -eq 0 ]; then
        printf 'ok    %-32s %4d checks %5ss\n' "$name" "$p" "$secs"
    else
        printf 'FAIL  %-32s %4d passed, %d failed (log: %s)\n' "$name" "$p" "$f" "$log"
        grep '^FAIL ' "$log" | head -20 | sed 's/^/      /'
        echo "      --- last lines of the log:"
        tail -n 15 "$log" | sed 's/^/      | /'
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
