# bash completion for espprov. Commands, subcommands and options come from
# the binary itself (espprov help --list, espprov CMD SUB --help), so they
# never drift from what it takes.
_espprov() {
    local bin=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
    local cmd="" sub="" i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        -*) ;;
        *)
            if [ -z "$cmd" ]; then
                cmd=$w
            elif [ -z "$sub" ]; then
                sub=$w
            fi
            ;;
        esac
    done
    local list
    list=$("$bin" help --list 2>/dev/null) || return
    if [ -z "$cmd" ]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "-v -q --verbose --quiet --help --version" -- "$cur")
        else
            local words
            words=$(printf '%s\n' "$list" | awk '$1 == "alias" { print $2; next } { print $1 }' | sort -u)
            mapfile -t COMPREPLY < <(compgen -W "$words help" -- "$cur")
        fi
        return
    fi
    local subs
    subs=$(printf '%s\n' "$list" | awk -v c="$cmd" '$1 == c && NF == 2 { print $2 }')
    if [ -z "$sub" ] && [ -n "$subs" ] && [[ $cur != -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
        return
    fi
    if [[ $cur == -* ]]; then
        local opts
        # shellcheck disable=SC2086
        opts=$("$bin" $cmd $sub --help 2>/dev/null | grep -oE -- '(^|[ ,|])--?[a-zA-Z][a-z0-9-]*' |
            tr -d ' ,|' | sort -u)
        mapfile -t COMPREPLY < <(compgen -W "$opts -v -q" -- "$cur")
        return
    fi
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -F _espprov espprov
