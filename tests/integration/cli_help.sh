#!/usr/bin/env bash
# Help texts tell the truth: every command's --help, every option it lists is
# one the command takes; global options before and after the command; esptool
# names and "did you mean".
. "$(dirname "$0")/../lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$T_TMP/w" && cd "$T_TMP/w" || exit 1
export HOME="$T_TMP/w" ESPPROV_PROFILE="" ESPPROV_PORT=""

check "help --list" "$ESPPROV" help --list
last_out >commands.txt
assert "help --list names provision and flash write" \
    sh -c 'grep -qx provision commands.txt && grep -qx "flash write" commands.txt'

# The words getopt and our parsers use when they do not know an option.
rejected='unrecognized option|invalid option|requires an argument|does not apply|unknown option|doesn.t allow an argument'

# Options a help text lists: "-p, --port DEV", "--json", "--page N --block N",
# "--magic|--no-magic". A single space and a word after an option name its
# value; a short option followed by ", --long" shares the long one's value.
list_options() {
    sed -n 's/^[[:space:]]\{1,\}\(-.*\)$/\1/p' | while IFS= read -r line; do
        # Options end where the description starts (two spaces).
        spec=$(printf '%s\n' "$line" | sed 's/   *.*$//')
        printf '%s\n' "$spec" | tr '|' '\n' | sed 's/, /\n/g' | while read -r opt val _; do
            case "$opt" in
            -[A-Za-z] | --[a-z]*) ;;
            *) continue ;;
            esac
            case "$val" in -* | "" | /) val="" ;; esac
            printf '%s %s\n' "$opt" "$val"
        done
    done
}

helps=0
tried=0
while IFS= read -r entry; do
    case "$entry" in alias*) continue ;; esac
    # shellcheck disable=SC2086
    set -- $entry
    if ! "$ESPPROV" "$@" --help >help.txt 2>help.err; then
        fail "$entry --help" "exit $? -- $(head -c 300 help.err)"
        continue
    fi
    if ! head -1 help.txt | grep -q "^usage: espprov $1"; then
        fail "$entry --help" "does not start with 'usage: espprov $1': $(head -1 help.txt)"
        continue
    fi
    helps=$((helps + 1))
    # Short options of a "-p, --port DEV" line take the long option's value.
    list_options <help.txt | awk '
        { opt[NR] = $1; val[NR] = $2 }
        END { for (i = 1; i <= NR; i++) {
            v = val[i]
            if (v == "" && opt[i] ~ /^-[A-Za-z]$/ && opt[i+1] ~ /^--/) v = val[i+1]
            print opt[i], v } }' | sort -u >opts.txt
    while read -r opt val; do
        [ "$opt" = "-h" ] || [ "$opt" = "--help" ] && continue
        tried=$((tried + 1))
        if [ -n "$val" ]; then
            timeout 20 "$ESPPROV" "$@" "$opt" x </dev/null >try.out 2>try.err
        else
            timeout 20 "$ESPPROV" "$@" "$opt" </dev/null >try.out 2>try.err
        fi
        if grep -Eq "$rejected" try.err; then
            fail "'espprov $entry' takes $opt (its --help lists it)" "$(head -c 300 try.err)"
        fi
    done <opts.txt
done <commands.txt
assert "every command's --help printed its usage ($helps)" [ "$helps" -ge 20 ]
assert "every listed option was tried ($tried)" [ "$tried" -ge 100 ]

# ----- the README's command table lists every command and subcommand
readme="$root/README.md"
unlisted=""
while read -r cmd sub _; do
    [ "$cmd" = alias ] && continue
    row=$(grep -E "^\| \`$cmd( |\`)" "$readme" | head -1)
    if [ -z "$row" ] || { [ -n "$sub" ] && ! printf '%s' "$row" | grep -Eq "\`($cmd )?$sub( |/|\`)"; }; then
        unlisted="$unlisted $cmd${sub:+ $sub}"
    fi
done <commands.txt
assert "README's command table lists every command ($unlisted)" [ -z "$unlisted" ]

# ----- global options before and after the command
check_fails "provision -q is the global -q" 2 "$ESPPROV" provision -q
assert "provision -q: no 'invalid option'" sh -c "! grep -Eq '$rejected' '$T_TMP/err'"
check_fails "espprov -q provision: same" 2 "$ESPPROV" -q provision
echo hello >hello.txt
check "spiffs build" "$ESPPROV" spiffs build --preset esp-idf --size 64K -o img.bin hello.txt
check "spiffs list IMAGE -v" "$ESPPROV" spiffs list img.bin -v
assert "-v after the command shows the detected parameters" grep -qi 'preset\|page' "$T_TMP/err"
check "spiffs list IMAGE (no -v)" "$ESPPROV" spiffs list img.bin
assert "without -v it is quiet" [ ! -s "$T_TMP/err" ]
check "--verbose after the command" "$ESPPROV" spiffs list --verbose img.bin
check "-q after the command" "$ESPPROV" spiffs list img.bin -q

# ----- usage errors name the right synopsis
check_fails "flash write without files" 2 "$ESPPROV" flash write 0x1000
assert "flash write's usage error shows flash write" \
    grep -q '^usage: espprov flash write ' "$T_TMP/err"
check_fails "flash read without args" 2 "$ESPPROV" flash read
assert "flash read's usage error shows flash read" grep -q '^usage: espprov flash read ' "$T_TMP/err"

# ----- the hint the loader gives is an option provision has
check_fails "provision --before no-reset is an option" 2 "$ESPPROV" provision --before no-reset
assert "provision --before: not rejected" sh -c "! grep -Eq '$rejected' '$T_TMP/err'"
check_fails "provision --before nonsense" 2 "$ESPPROV" provision --before sideways -p x
assert "provision --before names the modes" grep -q 'no-reset' "$T_TMP/err"

# ----- did you mean
check_fails "a typo in a command" 2 "$ESPPROV" provison
assert "suggests provision" grep -q "did you mean 'provision'" "$T_TMP/err"
check_fails "esptool's name with a dash" 2 "$ESPPROV" write-flash
assert "suggests write_flash" grep -q "did you mean 'write_flash'" "$T_TMP/err"
check_fails "a typo in a subcommand" 2 "$ESPPROV" flash wirte 0x0 x
assert "suggests write" grep -q "did you mean 'write'" "$T_TMP/err"
check_fails "nothing like any command" 2 "$ESPPROV" zzzzzzzzzz
assert "no suggestion for nonsense" sh -c "! grep -q 'did you mean' '$T_TMP/err'"
check "help CMD SUB" "$ESPPROV" help flash write
assert "help flash write prints the flash usage" grep -q '^usage: espprov flash' "$T_TMP/out"
check "help ALIAS" "$ESPPROV" help write_flash
assert "help write_flash prints the flash usage" grep -q '^usage: espprov flash' "$T_TMP/out"

finish
