#!/usr/bin/env bash
# .ci/deps waits for the dpkg lock another apt-get holds instead of failing:
# its apt-get calls carry DPkg::Lock::Timeout. Run against stand-ins for
# apt-get and dpkg-query (nothing is installed), as root would run it.
. "$(dirname "$0")/../lib.sh"
deps="$(cd "$(dirname "$0")/../.." && pwd)/.ci/deps"
mkdir -p "$T_TMP/bin"
cat >"$T_TMP/bin/apt-get" <<SH
#!/bin/sh
echo "apt-get \$*" >>"$T_TMP/apt.log"
SH
cat >"$T_TMP/bin/dpkg-query" <<'SH'
#!/bin/sh
echo "unknown ok not-installed"
SH
cat >"$T_TMP/bin/id" <<'SH'
#!/bin/sh
echo 0
SH
chmod +x "$T_TMP/bin/"*
check "deps with a package missing" env PATH="$T_TMP/bin:$PATH" sh "$deps" firmware
assert "apt-get update waits for the lock" grep -q '^apt-get -o DPkg::Lock::Timeout=600 update' "$T_TMP/apt.log"
assert "apt-get install waits for the lock" \
    grep -q '^apt-get -o DPkg::Lock::Timeout=600 install -y .*gcc-xtensa-lx106' "$T_TMP/apt.log"
rm -f "$T_TMP/apt.log"
check "DEPS_LOCK_TIMEOUT changes the wait" env PATH="$T_TMP/bin:$PATH" DEPS_LOCK_TIMEOUT=5 sh "$deps" firmware
assert "... to 5 s" grep -q '^apt-get -o DPkg::Lock::Timeout=5 install' "$T_TMP/apt.log"
# apt-get update's lists lock: held twice, then free.
cat >"$T_TMP/bin/apt-get" <<SH
#!/bin/sh
echo "apt-get \$*" >>"$T_TMP/apt.log"
case "\$*" in *update*)
    n=\$(grep -c update "$T_TMP/apt.log")
    if [ "\$n" -le 2 ]; then
        echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
        exit 100
    fi ;;
esac
SH
rm -f "$T_TMP/apt.log"
check "the package lists' lock held twice" env PATH="$T_TMP/bin:$PATH" DEPS_LOCK_POLL=0 sh "$deps" firmware
assert "... update retried until free, then install" sh -c \
    "[ \$(grep -c ' update' '$T_TMP/apt.log') -eq 3 ] && grep -q ' install ' '$T_TMP/apt.log'"
assert "... saying it waits" grep -q 'another apt-get holds the package lists; waiting' "$T_TMP/err"
cat >"$T_TMP/bin/apt-get" <<'SH'
#!/bin/sh
echo "E: The repository is broken" >&2
exit 100
SH
check_fails "any other update failure is not waited on" 1 env PATH="$T_TMP/bin:$PATH" \
    DEPS_LOCK_POLL=0 sh "$deps" firmware
assert ".ci/run's own update waits too" grep -q 'apt-get -o DPkg::Lock::Timeout=600 update' "$(dirname "$deps")/run"
finish
