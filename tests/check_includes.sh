#!/usr/bin/env bash
# Keeps the module picture true: dependencies point down only.
#
# - provision/<module>/ files include their own folder's headers and the
#   public headers of the modules the table in provision/README.md allows
#   (provision/<m>/<m>.h, flasher/flasher.h, spiffsgen/spiffsgen.h, ...).
#   Every folder of provision/ must have a row; the rows must not form a cycle.
# - A library at the top (flasher/, spiffsgen/, ...) includes only its own
#   headers; a private header of flasher/ only from the files the table in
#   flasher/README.md names.
# - Outside a library's folder only its public header is included (tests are
#   white-box and may include private headers of what they test).
# Prints one PASS/FAIL line per rule (tests/run.sh's contract).
set -u
cd "$(dirname "$0")/.." || exit 2
failures=0
problems=()

fail() { problems+=("$1"); }

# Rows "| name | a b c |" between the include-rules markers of a README.
read_rules() {
    awk '/<!-- include-rules -->/ { on = 1; next }
         /<!-- \/include-rules -->/ { on = 0 }
         on && /^\|/ && !/^\| *(module|header|---)/ {
             gsub(/`/, ""); n = split($0, c, "|")
             name = c[2]; deps = c[3]
             gsub(/^ +| +$/, "", name); gsub(/,/, " ", deps); gsub(/^ +| +$/, "", deps)
             print name "\t" deps
         }' "$1"
}

# Every quoted include of the tree, read once: "file<TAB>header" lines.
all_includes=$(find provision flasher spiffsgen lfsgen tests firmware -name '*.[ch]' 2>/dev/null | sort | xargs grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' |
    sed 's/^\([^:]*\):.*"\([^"]*\)".*/\1\t\2/')
includes_of() { awk -F'\t' -v f="$1" '$1 == f { print $2 }' <<<"$all_includes"; }

report() {
    local rule=$1
    if [ ${#problems[@]} -eq 0 ]; then
        echo "PASS $rule"
    else
        for p in "${problems[@]}"; do echo "FAIL $rule: $p"; done
        failures=$((failures + 1))
    fi
    problems=()
}

# Public header of a library or module name used in the tables.
public_header() {
    case "$1" in
    flasher | spiffsgen | lfsgen) echo "$1/$1.h" ;;
    *) echo "provision/$1/$1.h" ;;
    esac
}

# --- provision/ modules ----------------------------------------------------
declare -A allowed
edges=""
while IFS=$'\t' read -r module deps; do
    allowed[$module]=$deps
    edges+="$module $module"$'\n'
    for d in $deps; do edges+="$module $d"$'\n'; done
done < <(read_rules provision/README.md)

[ ${#allowed[@]} -gt 0 ] || fail "no include-rules table found in provision/README.md"
for dir in provision/*/; do
    m=$(basename "$dir")
    [ -n "${allowed[$m]+x}" ] || fail "provision/$m/ has no row in provision/README.md's include-rules table"
done
for m in "${!allowed[@]}"; do
    [ -d "provision/$m" ] || fail "the include-rules table names provision/$m/, which does not exist"
done
if ! printf '%s' "$edges" | tsort >/dev/null 2>&1; then
    fail "the include-rules table has a cycle: $(printf '%s' "$edges" | tsort 2>&1 >/dev/null | tr '\n' ' ')"
fi
report "provision modules are listed once, without cycles"

for m in "${!allowed[@]}"; do
    [ -d "provision/$m" ] || continue
    ok=" "
    for d in ${allowed[$m]}; do ok+="$(public_header "$d") "; done
    for f in provision/"$m"/*.[ch]; do
        [ -e "$f" ] || continue
        while read -r inc; do
            case "$inc" in
            provision/"$m"/*) continue ;;
            esac
            case "$ok" in
            *" $inc "*) continue ;;
            esac
            fail "$f includes $inc (provision/$m/ may include ${allowed[$m]:-no other module})"
        done < <(includes_of "$f")
    done
done
report "provision modules include only what provision/README.md allows"

# --- libraries at the top ----------------------------------------------------
for lib in flasher spiffsgen lfsgen; do
    [ -d "$lib" ] || continue
    for f in "$lib"/*.[ch]; do
        while read -r inc; do
            case "$inc" in
            "$lib"/*) ;;
            *) fail "$f includes $inc (a library includes only its own headers)" ;;
            esac
        done < <(includes_of "$f")
    done
done
report "flasher/ and spiffsgen/ include only their own headers"

# Private headers of a library stay inside it (tests excepted).
for lib in flasher spiffsgen lfsgen; do
    while IFS=$'\t' read -r f inc; do
        case "$f" in "$lib"/* | tests/*) continue ;; esac
        case "$inc" in "$lib/$lib.h" | "$lib"/*/*) continue ;; "$lib"/*) ;; *) continue ;; esac
        fail "$f includes $inc, a private header of $lib/"
    done <<<"$all_includes"
done
report "private headers of flasher/ and spiffsgen/ are not used outside them"

# flasher/'s own layers: each private header from the files its table allows.
declare -A users
while IFS=$'\t' read -r header globs; do users[$header]=$globs; done \
    < <(read_rules flasher/README.md)
for h in flasher/*.h; do
    name=$(basename "$h")
    [ "$name" = flasher.h ] && continue
    if [ -z "${users[$name]+x}" ]; then
        fail "flasher/$name has no row in flasher/README.md's include-rules table"
        continue
    fi
    for f in flasher/*.[ch]; do
        [ "$f" = "$h" ] && continue
        includes_of "$f" | grep -qx "flasher/$name" || continue
        base=$(basename "$f")
        # Patterns in order; "!pattern" takes a match back ("* !port*").
        matched=0
        set -f
        for g in ${users[$name]}; do
            case "$g" in
            !*) [[ $base == ${g#!} ]] && matched=0 ;;
            *) [[ $base == $g ]] && matched=1 ;;
            esac
        done
        set +f
        [ $matched -eq 1 ] || fail "$f includes flasher/$name (allowed from: ${users[$name]})"
    done
done
report "flasher/ private headers are used only by their layer"

[ $failures -eq 0 ]
