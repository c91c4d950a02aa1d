#!/usr/bin/env bash
# `make bench`: runs every bench program and script in turn; each prints its
# own figures (medians, ratios) with the command that reproduces them.
set -uo pipefail
status=0
for b in "$@"; do
    echo "=== $(basename "$b")"
    if ! "$b"; then
        echo "bench $(basename "$b") failed"
        status=1
    fi
    echo
done
exit $status
