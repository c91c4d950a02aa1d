#!/usr/bin/env bash
# espprov ledger list|show|export against a ledger with one attempt in each
# state (written through the library by test_ledger_fixture).
. "$(dirname "$0")/../lib.sh"

fixture=${BUILD:-build}/tests/test_ledger_fixture
if [ ! -x "$fixture" ]; then
    fail "fixture" "$fixture is missing (make test builds it)"
    finish
fi
mkdir -p "$T_TMP/site/data"
db=$T_TMP/site/data/provisioned.db
check "fixture ledger written" "$fixture" --write "$db"

# --- usage ---------------------------------------------------------------
check "help" "$ESPPROV" ledger --help
assert "help names the subcommands" grep -q "export --csv|--json" "$T_TMP/out"
check "help after a subcommand" "$ESPPROV" ledger list --help
check_fails "no subcommand" 2 "$ESPPROV" ledger
check_fails "unknown subcommand" 2 "$ESPPROV" ledger frobnicate --ledger "$db"
check_fails "no ledger named" 2 env -u ESPPROV_PROFILE "$ESPPROV" ledger list
check_fails "bad --status" 2 "$ESPPROV" ledger list --ledger "$db" --status sleeping
assert "bad --status lists the states" grep -q "running, interrupted, failed" "$T_TMP/err"
check_fails "bad --mac" 2 "$ESPPROV" ledger list --ledger "$db" --mac zz:zz
check_fails "export needs a format" 2 "$ESPPROV" ledger export --ledger "$db"
check_fails "export takes one format" 2 "$ESPPROV" ledger export --ledger "$db" --csv --json
check_fails "show needs an argument" 2 "$ESPPROV" ledger show --ledger "$db"
check_fails "list takes no argument" 2 "$ESPPROV" ledger list --ledger "$db" extra

# --- list ----------------------------------------------------------------
check "list" "$ESPPROV" ledger list --ledger "$db"
out=$T_TMP/list.txt
cp "$T_TMP/out" "$out"
assert "list has a header and five attempts" [ "$(wc -l <"$out")" -eq 6 ]
assert "list shows the revoked identity" grep -q "^ *1 .*sensor-001 .*revoked (renewed)$" "$out"
assert "list shows the failure with its step and error" \
    grep -q '^ *2 .*failed at write: flash write at 0x200000 failed: "timeout", no reply$' "$out"
assert "list shows the renewal provisioned" grep -q "^ *3 .*a4:cf:12:00:00:01 .*provisioned$" "$out"
assert "list shows the dead process as interrupted" \
    grep -q "^ *4 .*/dev/ttyUSB2 *interrupted at minted$" "$out"
assert "list shows the reset" grep -q "^ *5 .* reset$" "$out"

check "list --status failed" "$ESPPROV" ledger list --ledger "$db" --status failed
assert "one failed attempt" [ "$(grep -c "failed at" "$T_TMP/out")" -eq 1 ]
check "list --mac in another notation" "$ESPPROV" ledger list --ledger "$db" --mac A4-CF-12-00-00-01
assert "two attempts on that board" [ "$(grep -c "a4:cf:12:00:00:01" "$T_TMP/out")" -eq 2 ]
check "list --status running finds none" "$ESPPROV" ledger list --ledger "$db" --status running
assert "empty list says so on stderr" grep -q "no attempts match" "$T_TMP/err"

check "list --json" "$ESPPROV" ledger list --ledger "$db" --json
assert "list --json is a JSON array of 5" [ "$(jq length "$T_TMP/out")" -eq 5 ]
assert "list --json states" \
    [ "$(jq -r 'map(.state) | join(",")' "$T_TMP/out")" = "revoked,failed,provisioned,interrupted,reset" ]

# --- show ----------------------------------------------------------------
check "show by MAC" "$ESPPROV" ledger show --ledger "$db" A4:CF:12:00:00:01
assert "show by MAC has both attempts" \
    [ "$(grep -c "^attempt [13] (provision)" "$T_TMP/out")" -eq 2 ]
assert "show has the certificate serial" grep -q "cert serial *3C4D" "$T_TMP/out"
assert "show has the reprovision mode" grep -q "reprovision *renew" "$T_TMP/out"
check "show by device id" "$ESPPROV" ledger show --ledger "$db" sensor-003
assert "show by device id finds the interrupted attempt" \
    grep -q "^attempt 4 (provision): interrupted at minted" "$T_TMP/out"
check "show by attempt number" "$ESPPROV" ledger show --ledger "$db" '#2'
assert "attempt 2 shows its error" grep -q "error *flash write at 0x200000" "$T_TMP/out"
check "show --json" "$ESPPROV" ledger show --json --ledger "$db" 5
assert "show --json is attempt 5" [ "$(jq -r '.[0].kind' "$T_TMP/out")" = "reset" ]
check_fails "show of an unknown board" 1 "$ESPPROV" ledger show --ledger "$db" sensor-999
assert "unknown board says so" grep -q "no board or attempt matches 'sensor-999'" "$T_TMP/err"

# --- export --------------------------------------------------------------
check "export --csv to a file" "$ESPPROV" ledger export --ledger "$db" --csv -o "$T_TMP/out.csv"
assert "csv has a header and five rows" [ "$(wc -l <"$T_TMP/out.csv")" -eq 6 ]
assert "csv header" grep -q "^id,kind,state,step,failed_at,error,profile,port,mac," "$T_TMP/out.csv"
assert "csv lines end in CRLF" [ "$(grep -c $'\r$' "$T_TMP/out.csv")" -eq 6 ]
assert "csv quotes the error" \
    grep -q ',"flash write at 0x200000 failed: ""timeout"", no reply",' "$T_TMP/out.csv"
assert "csv file is private" [ "$(stat -c %a "$T_TMP/out.csv")" = 600 ]
check "export --json to stdout" "$ESPPROV" ledger export --ledger "$db" --json
assert "json export has every attempt" [ "$(jq length "$T_TMP/out")" -eq 5 ]
assert "json export carries the serials" \
    [ "$(jq -r '[.[].cert_serial // empty] | join(",")' "$T_TMP/out")" = "1A2B,3C4D,5E6F" ]
check "export --status provisioned" "$ESPPROV" ledger export --ledger "$db" --json --status provisioned
assert "filtered export" [ "$(jq -r '.[0].id' "$T_TMP/out")" = 3 ]
check_fails "export into a missing folder" 1 \
    "$ESPPROV" ledger export --ledger "$db" --csv -o "$T_TMP/nope/out.csv"
assert "no temp file left behind" [ -z "$(ls "$T_TMP" | grep '\.tmp\.')" ]

# --- the ledger path from the profile -------------------------------------
printf '{ "name": "workshop", "ledger": "data/provisioned.db" }\n' >"$T_TMP/site/profile.json"
mkdir -p "$T_TMP/elsewhere"
(cd "$T_TMP/elsewhere" && "$ESPPROV" ledger list -P ../site/profile.json >"$T_TMP/out" 2>"$T_TMP/err")
assert "-P resolves the ledger next to the profile" [ "$(wc -l <"$T_TMP/out")" -eq 6 ]
check "ESPPROV_PROFILE works too" env ESPPROV_PROFILE="$T_TMP/site/profile.json" \
    "$ESPPROV" ledger list --status reset
assert "one reset" [ "$(grep -c "reset$" "$T_TMP/out")" -eq 1 ]
printf '{ "name": "workshop" }\n' >"$T_TMP/site/noledger.json"
# Issue 11: no "ledger" key means ledger.db beside the profile, as provision uses.
check_fails "profile without a ledger key, no ledger.db yet" 1 \
    "$ESPPROV" ledger list -P "$T_TMP/site/noledger.json"
assert "the error names the default file" grep -q 'site/ledger.db' "$T_TMP/err"
cp "$T_TMP/site/data/provisioned.db" "$T_TMP/site/ledger.db"
check "profile without a ledger key reads ledger.db beside it" \
    "$ESPPROV" ledger list -P "$T_TMP/site/noledger.json"
assert "the same rows" [ "$(wc -l <"$T_TMP/out")" -eq 6 ]
rm -f "$T_TMP/site/ledger.db"
printf '{ "name": "workshop", \n "ledger": }\n' >"$T_TMP/site/broken.json"
check_fails "broken profile JSON" 1 "$ESPPROV" ledger list -P "$T_TMP/site/broken.json"
assert "the error has the line" grep -q "line 2" "$T_TMP/err"
check_fails "a ledger that does not exist" 1 "$ESPPROV" ledger list --ledger "$T_TMP/none.db"
assert "reading did not create it" [ ! -e "$T_TMP/none.db" ]
printf 'not a database, just text that is long enough to not be a header' >"$T_TMP/junk.db"
check_fails "a file that is not a ledger" 1 "$ESPPROV" ledger list --ledger "$T_TMP/junk.db"

# --- text in the file reaches a terminal or a spreadsheet defused ---------
# A ledger written by something else (or edited) may hold anything.
cp "$db" "$T_TMP/edited.db"
sqlite3 "$T_TMP/edited.db" "UPDATE attempts SET device_id = 'dev' || char(27) || '[2J', \
    port = '/dev/tty' || char(13) || 'X', error = 'boom' || char(27) || ']0;title' || char(7) \
    || char(8238) WHERE id = 2; UPDATE attempts SET device_id = '=cmd|calc' WHERE id = 3;"
check "list an edited ledger" "$ESPPROV" ledger list --ledger "$T_TMP/edited.db"
assert "no raw control byte in list" \
    [ "$(tr -dc '\000-\011\013-\037\177' <"$T_TMP/out" | wc -c)" -eq 0 ]
check "show it" "$ESPPROV" ledger show --ledger "$T_TMP/edited.db" "#2"
assert "no raw control byte in show" \
    [ "$(tr -dc '\000-\011\013-\037\177' <"$T_TMP/out" | wc -c)" -eq 0 ]
check "csv export of it" "$ESPPROV" ledger export --ledger "$T_TMP/edited.db" --csv
assert "a formula-looking cell gets an apostrophe" grep -qF ",'=cmd|calc," "$T_TMP/out"
assert "no cell starts a formula" [ "$(grep -c ',[=+@-]' "$T_TMP/out")" -eq 0 ]

# --- another program's SQLite file is refused and left as it was ----------
sqlite3 "$T_TMP/other.db" "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');"
sum=$(sha256sum <"$T_TMP/other.db")
check_fails "ledger list refuses another program's database" 1 \
    "$ESPPROV" ledger list --ledger "$T_TMP/other.db"
assert "saying it is not a ledger and was not touched" \
    grep -q "other.db' is an SQLite file with tables espprov does not make (notes), not an \
espprov ledger; it was left untouched" "$T_TMP/err"
check_fails "ledger export refuses it too" 1 "$ESPPROV" ledger export --csv --ledger "$T_TMP/other.db"
assert "it is byte for byte as it was" [ "$(sha256sum <"$T_TMP/other.db")" = "$sum" ]
assert "no tables were added" [ "$(sqlite3 "$T_TMP/other.db" .tables)" = notes ]
assert "no WAL or journal beside it" \
    [ ! -e "$T_TMP/other.db-wal" ] && [ ! -e "$T_TMP/other.db-shm" ]
sqlite3 "$T_TMP/app.db" "PRAGMA application_id=1; CREATE TABLE t (x); PRAGMA user_version=1;"
sum=$(sha256sum <"$T_TMP/app.db")
check_fails "a file with another application id" 1 "$ESPPROV" ledger list --ledger "$T_TMP/app.db"
assert "names the id" grep -q "application id 0x00000001" "$T_TMP/err"
assert "and leaves it alone" [ "$(sha256sum <"$T_TMP/app.db")" = "$sum" ]
: >"$T_TMP/empty.db"
check_fails "an empty file is no ledger yet" 1 "$ESPPROV" ledger list --ledger "$T_TMP/empty.db"
assert "says so" grep -q "no ledger at '.*empty.db' yet (the file is empty)" "$T_TMP/err"
assert "and it stays empty" [ ! -s "$T_TMP/empty.db" ]

finish
