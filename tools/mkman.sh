#!/bin/sh
# Writes espprov(1) to stdout from the help texts of the binary given as $1,
# so the man page says exactly what --help says (make builds it; nothing
# here is written by hand but the frame).
# Usage: tools/mkman.sh build/espprov VERSION >build/espprov.1
set -eu
bin=$1
version=$2

# Help text as a no-fill block: backslashes escaped, lines that roff would
# read as requests defused.
block() {
    echo ".nf"
    sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    echo ".fi"
}

cat <<HEAD
.TH ESPPROV 1 "" "espprov $version" "User Commands"
.SH NAME
espprov \\- provision ESP8266 and ESP32 boards: keys, certificates, SPIFFS/LittleFS, flash
.SH SYNOPSIS
.B espprov
[\\fB\\-v\\fR | \\fB\\-q\\fR]
.I command
[\\fIargs\\fR]
.SH DESCRIPTION
HEAD
"$bin" --help | block
echo ".SH COMMANDS"
seen=""
"$bin" help --list | while read -r cmd sub rest; do
    if [ "$cmd" = alias ]; then
        continue
    fi
    # shellcheck disable=SC2086
    text=$("$bin" $cmd $sub --help)
    sum=$(printf '%s' "$text" | cksum)
    case " $seen " in
    *" $sum "*)
        echo ".SS \"espprov $cmd${sub:+ $sub}\""
        echo "See \\fBespprov $cmd\\fR above."
        continue
        ;;
    esac
    seen="$seen $sum"
    echo ".SS \"espprov $cmd${sub:+ $sub}\""
    printf '%s\n' "$text" | block
done
echo ".SH ESPTOOL NAMES"
echo "These run the flash commands with esptool's argument order:"
"$bin" help --list | awk '$1 == "alias" { printf ".br\n\\fB%s\\fR = espprov %s %s\n", $2, $4, $5 }'
cat <<'TAIL'
.SH ENVIRONMENT
.TP
.B ESPPROV_PROFILE
the profile when no \fB\-P\fR is given
.TP
.B ESPPROV_PORT
the serial port when no \fB\-p\fR is given (else the one USB board plugged in)
.TP
.B ESPPROV_PROGRESS_SECONDS
how often progress lines go to a log that is not a terminal (default 5)
.SH EXIT STATUS
0 success, 1 the operation failed, 2 the command line was wrong.
.SH FILES
.TP
.I PREFIX/share/espprov/profiles
example profiles with their firmware and partition table
.SH SEE ALSO
.BR espprov-sim (1)
is the simulated board that \fBmake demo\fR and the tests use (\fBespprov-sim \-\-help\fR).
TAIL
