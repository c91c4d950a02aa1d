#!/usr/bin/env bash
# make install PREFIX=... gives a copy that works where it lands: the binary,
# the simulator as espprov-sim (the README's "Try it without a board" runs as
# written), the man page made from the help texts, bash completion, and the
# example profiles with their firmware and partition table (profile check
# passes there).
. "$(dirname "$0")/../lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
inst="$T_TMP/inst"
unset MAKEFLAGS MAKELEVEL MFLAGS
check "make install PREFIX=..." make -C "$root" --no-print-directory BUILD="${BUILD:-build}" \
    install PREFIX="$inst"
PATH="$inst/bin:$PATH"
check "bin/espprov runs" "$inst/bin/espprov" --version
assert "bin/espprov-sim runs" sh -c "'$inst/bin/espprov-sim' --help 2>&1 | grep -q 'usage: espsim'"

# ----- the man page: every command and subcommand, and no drift from --help
man1="$inst/share/man/man1/espprov.1"
assert "the man page is there" grep -q '^\.TH ESPPROV 1' "$man1"
missing=""
while read -r cmd sub _; do
    [ "$cmd" = alias ] && continue
    grep -q "^\.SS \"espprov $cmd${sub:+ $sub}\"" "$man1" || missing="$missing $cmd${sub:+-$sub}"
done < <(espprov help --list)
assert "the man page has a section per command ($missing)" [ -z "$missing" ]
assert "the man page carries provision's options as --help says them" \
    sh -c "espprov provision --help | grep -- '--monitor' | head -1 | sed 's/^ *//' >want &&
           grep -qF -- \"\$(cat want)\" '$man1'"
if command -v groff >/dev/null 2>&1; then
    assert "groff reads it without warnings" sh -c "[ -z \"\$(groff -man -Tutf8 -ww -z '$man1' 2>&1)\" ]"
fi
check "regenerated from the installed binary: the same page" \
    sh -c "'$root/tools/mkman.sh' '$inst/bin/espprov' \$(espprov --version | head -1 | cut -d' ' -f2) | cmp - '$man1'"

# ----- bash completion, driven as bash would
comp="$inst/share/bash-completion/completions/espprov"
complete_words() { # WORD...: what completing the last word offers
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _espprov;
             printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@"
}
assert "completion: a command" [ "$(complete_words espprov prov)" = provision ]
assert "completion: esptool's names" [ "$(complete_words espprov write_f)" = write_flash ]
assert "completion: subcommands" [ "$(complete_words espprov flash wr)" = write ]
assert "completion: options from --help" [ "$(complete_words espprov provision --dry)" = --dry-run ]
assert "completion: a subcommand's options" \
    sh -c "complete_words() { bash -c 'source \"\$1\"; shift; COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\$# - 1)); _espprov; printf \"%s\n\" \"\${COMPREPLY[@]}\"' _ '$comp' \"\$@\"; }; complete_words espprov cert export --ch | grep -qx -- --chain"

# ----- the example profiles check clean where installed
profiles="$inst/share/espprov/profiles"
export CA_PASS="ca-pass-$$" WIFI_PASS="wifi-pass-$$"
export ESPPROV_DEMO_CA_PASS="demo-ca-pass-$$" ESPPROV_DEMO_WIFI_PASS="demo-wifi-$$"
for f in "$profiles"/*.json; do
    check "installed $(basename "$f"): profile check" espprov profile check -P "$f" --quiet-ok
done
assert "the firmware files came along" [ -s "$profiles/firmware/demo-esp32-app.bin" ]

# ----- README "Try it without a board", from the installed copy
mkdir -p "$T_TMP/try" && cd "$T_TMP/try" || exit 1
cp "$profiles"/firmware/*.bin .
port=$(free_port)
awk '/^## Try it without a board/ { on = 1; next } /^## / { on = 0 }
     on && /^```sh/ { code = 1; next } on && /^```/ { code = 0; next } on && code' \
    "$root/README.md" | sed "s/4000/$port/g" >try.sh
assert "the README's steps are there" [ "$(grep -c '^espprov' try.sh)" -ge 4 ]
# The simulator it starts in the background is stopped even when a step fails.
check "README 'Try it without a board' runs as written" \
    bash -c 'trap "kill \$(jobs -p) 2>/dev/null" EXIT; set -e; . ./try.sh'

assert "... flash info named the simulated chip" grep -q '^chip: *ESP32' "$T_TMP/out"
assert "... the monitor showed its boot log" grep -q 'app running on esp32' "$T_TMP/out"

check "make uninstall" make -C "$root" --no-print-directory BUILD="${BUILD:-build}" \
    uninstall PREFIX="$inst"
assert "uninstall removed it all" [ -z "$(find "$inst" -type f)" ]
finish
