/* espprov: git-style dispatch to one provision/cli/cmd_<name>.c per command. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "provision/cli/cli.h"
#include "provision/cli/cli_stubs.h"

struct cli_cmd {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
    const char *subs; /* space-separated subcommands, or NULL */
};

/* Sorted by name; `espprov --help` prints them in this order. */
static const struct cli_cmd commands[] = {
    {"board", cmd_board, "what is on a board: chip, flash, ledger record, identity read back",
     "show"},
    {"ca", cmd_ca, "create the certificate authority, re-encrypt its key, write its CRL",
     "init passwd crl"},
    {"cert", cmd_cert, "issue, revoke, list and export certificates",
     "server device revoke list export"},
    {"factory-reset", cmd_factory_reset, "erase a board, revoke its identity", NULL},
    {"flash", cmd_flash, "talk to a board's ROM bootloader: info, write, read, erase, verify",
     "info write read erase verify image-info"},
    {"fs", cmd_fs, "build, list, extract and check LittleFS and SPIFFS images",
     "build list extract check"},
    {"image", cmd_image, "build one device's complete filesystem image without a board", NULL},
    {"ledger", cmd_ledger, "list, show and export the provisioning ledger", "list show export"},
    {"monitor", cmd_monitor, "a board's serial console after a reset (Ctrl-] leaves)", NULL},
    {"ports", cmd_ports, "list the USB serial boards that are plugged in", NULL},
    {"profile", cmd_profile, "validate a device profile and show it resolved", "check"},
    {"provision", cmd_provision, "provision a batch of boards from a profile", NULL},
    {"spiffs", cmd_spiffs, "build, list, extract and check SPIFFS images",
     "build list extract check"},
};

/* esptool's command names, for hands that type them by habit. The arguments
 * keep esptool's order, which is also ours (ADDR FILE..., ADDR SIZE FILE). */
struct cli_alias {
    const char *name;
    const char *cmd;
    const char *sub;
};
static const struct cli_alias aliases[] = {
    {"chip_id", "flash", "info"},          {"erase_flash", "flash", "erase"},
    {"erase_region", "flash", "erase"},    {"flash_id", "flash", "info"},
    {"image_info", "flash", "image-info"}, {"read_flash", "flash", "read"},
    {"read_mac", "flash", "info"},         {"verify_flash", "flash", "verify"},
    {"write_flash", "flash", "write"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* argv is char **; the strings put into it here are never written. */
static char *unconst(const char *s)
{
    return (char *)(uintptr_t)s;
}

static const char usage[] =
    "usage: espprov [-v | -q] <command> [<args>]\n"
    "       espprov --version | --help | help <command> [<subcommand>]\n"
    "\n"
    "Provision ESP8266 and ESP32 boards: a key and client certificate per board,\n"
    "a SPIFFS or LittleFS image with the certificates and a WiFi/MQTT config,\n"
    "written over the ROM serial bootloader and recorded in a ledger.\n"
    "\n"
    "options (before or after the command):\n"
    "  -v, --verbose   more diagnostics on stderr (repeat for protocol traces)\n"
    "  -q, --quiet     no progress output\n"
    "  --version       print the version\n"
    "  -h, --help      this text\n"
    "\n"
    "exit status: 0 success, 1 the operation failed, 2 the command line was wrong\n"
    "\n"
    "commands:\n";

static int print_usage(FILE *out)
{
    fputs(usage, out);
    for (size_t i = 0; i < COUNT(commands); i++) {
        fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
    }
    fputs("\nesptool's names work too, with its argument order:", out);
    for (size_t i = 0; i < COUNT(aliases); i++) {
        fprintf(out, "%s%s", i % 5 == 0 ? "\n  " : " ", aliases[i].name);
    }
    fputs("\n\nRun 'espprov <command> --help' for a command's options.\n", out);
    return CLI_OK;
}

/* One "command [subcommand]" per line, then "alias NAME = command sub": what
 * the man page, the shell completion and the help test walk. */
static int print_list(void)
{
    for (size_t i = 0; i < COUNT(commands); i++) {
        const char *s = commands[i].subs;
        if (s == NULL) {
            printf("%s\n", commands[i].name);
            continue;
        }
        while (*s != '\0') {
            size_t n = strcspn(s, " ");
            printf("%s %.*s\n", commands[i].name, (int)n, s);
            s += n + (s[n] == ' ');
        }
    }
    for (size_t i = 0; i < COUNT(aliases); i++) {
        printf("alias %s = %s %s\n", aliases[i].name, aliases[i].cmd, aliases[i].sub);
    }
    return cli_finish(CLI_OK);
}

static const struct cli_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < COUNT(commands); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

/*
 * espprov holds secrets in memory: the CA passphrase and key, WiFi and MQTT
 * passwords, device keys. Before anything is read: no core file (a core of
 * a crashed provision would carry them), and not dumpable, which also keeps
 * other processes of the same user from ptrace and /proc/PID/mem. Done for
 * every command, so none can forget it; debugging needs root from now on.
 */
static void *json_malloc(size_t n)
{
    return malloc(n);
}

/* jansson frees without wiping, and a profile's JSON may hold a literal
 * password, a device config file always does. */
static void json_wipe_free(void *p)
{
    if (p != NULL) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}

static void guard_memory(void)
{
    /* Set once, before any JSON is parsed: the library keeps the pair. */
    json_set_alloc_funcs(json_malloc, json_wipe_free);
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        cli_warn("could not keep secrets out of core dumps: %s", strerror(errno));
    }
}

static const struct cli_alias *find_alias(const char *name)
{
    for (size_t i = 0; i < COUNT(aliases); i++) {
        if (strcmp(aliases[i].name, name) == 0) {
            return &aliases[i];
        }
    }
    return NULL;
}

static bool has_sub(const struct cli_cmd *cmd, const char *sub)
{
    size_t len = strlen(sub);
    for (const char *s = cmd->subs; s != NULL && *s != '\0';) {
        size_t n = strcspn(s, " ");
        if (n == len && strncmp(s, sub, n) == 0) {
            return true;
        }
        s += n + (s[n] == ' ');
    }
    return false;
}

/* A name close to what was typed: commands, esptool names, or (with `cmd`)
 * that command's subcommands. */
static const char *suggest(const struct cli_cmd *cmd, const char *typed, char best[32])
{
    size_t best_d = (size_t)-1;
    best[0] = '\0';
    if (cmd != NULL) {
        for (const char *s = cmd->subs; s != NULL && *s != '\0';) {
            size_t n = strcspn(s, " ");
            char word[32];
            snprintf(word, sizeof word, "%.*s", (int)n, s);
            size_t d = cli_edit_distance(typed, word);
            if (d < best_d) {
                best_d = d;
                snprintf(best, 32, "%s", word);
            }
            s += n + (s[n] == ' ');
        }
    } else {
        for (size_t i = 0; i < COUNT(commands) + COUNT(aliases); i++) {
            const char *w =
                i < COUNT(commands) ? commands[i].name : aliases[i - COUNT(commands)].name;
            size_t d = cli_edit_distance(typed, w);
            if (d < best_d) {
                best_d = d;
                snprintf(best, 32, "%s", w);
            }
        }
    }
    size_t len = strlen(typed);
    size_t limit = len < 6 ? 2 : len / 3 + 1;
    return best_d <= limit ? best : NULL;
}

static bool is_global(const char *a, struct cli_ctx *ctx)
{
    if (strcmp(a, "--verbose") == 0) {
        ctx->verbosity = ctx->verbosity < 0 ? 1 : ctx->verbosity + 1;
        return true;
    }
    if (strcmp(a, "--quiet") == 0) {
        ctx->verbosity = -1;
        return true;
    }
    /* -v, -vv, -q, and clusters of them. */
    if (a[0] != '-' || a[1] == '\0' || strspn(a + 1, "vq") != strlen(a + 1)) {
        return false;
    }
    for (const char *p = a + 1; *p; p++) {
        if (*p == 'q') {
            ctx->verbosity = -1;
        } else {
            ctx->verbosity = ctx->verbosity < 0 ? 1 : ctx->verbosity + 1;
        }
    }
    return true;
}

/* esptool's spellings of the options we share: --flash_mode for
 * --flash-mode, -c for --chip; -z (compress) is what we do anyway. */
static const char *esptool_option(char *a)
{
    if (strcmp(a, "-c") == 0) {
        return "--chip";
    }
    if (strcmp(a, "-z") == 0 || strcmp(a, "--compress") == 0) {
        return "";
    }
    if (strcmp(a, "-u") == 0) {
        return "--no-compress";
    }
    if (strncmp(a, "--", 2) == 0) {
        for (char *p = a + 2; *p != '\0' && *p != '='; p++) {
            if (*p == '_') {
                *p = '-';
            }
        }
    }
    return a;
}

static bool takes_value(const char *a)
{
    static const char *const with_value[] = {"-p",     "--port",   "-b",       "--baud",
                                             "--chip", "--before", "--after",  "--stub",
                                             "-c",     "-P",       "--profile"};
    for (size_t i = 0; i < COUNT(with_value); i++) {
        if (strcmp(a, with_value[i]) == 0) {
            return true;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    guard_memory();
    struct cli_ctx ctx = {
        .stderr_tty = isatty(STDERR_FILENO) == 1,
        .stdin_tty = isatty(STDIN_FILENO) == 1,
        .stdout_tty = isatty(STDOUT_FILENO) == 1,
    };
    /* Global options may come before and after the command: they are taken
     * out here, and the command parses the rest. Options before the command
     * that are not global (esptool's `-p PORT -b BAUD write_flash ...`) are
     * handed to the command. */
    char **args = calloc((size_t)argc + 4, sizeof *args);
    char **pre = calloc((size_t)argc + 1, sizeof *pre);
    if (args == NULL || pre == NULL) {
        free(args);
        free(pre);
        return cli_fail(NULL, "out of memory");
    }
    int nargs = 0, npre = 0, cmd_at = -1;
    bool end_of_options = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (end_of_options) {
            args[nargs++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            end_of_options = cmd_at >= 0;
            args[nargs++] = a;
            continue;
        }
        if (is_global(a, &ctx)) {
            continue;
        }
        if (cmd_at < 0) {
            if (strcmp(a, "--version") == 0) {
                printf("espprov %s\n", ESPPROV_VERSION);
                cli_stubs_print_version(stdout);
                free(args);
                free(pre);
                return cli_finish(CLI_OK);
            }
            if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                free(args);
                free(pre);
                return cli_finish(print_usage(stdout));
            }
            if (a[0] == '-') {
                pre[npre++] = a;
                if (takes_value(a) && i + 1 < argc) {
                    pre[npre++] = argv[++i];
                }
                continue;
            }
            cmd_at = nargs;
        }
        args[nargs++] = a;
    }
    int status;
    char word[32];
    if (cmd_at < 0) {
        if (npre > 0) {
            status = cli_usage_error(usage, "unknown option '%s' (see 'espprov --help')", pre[0]);
        } else {
            print_usage(stderr);
            status = CLI_USAGE;
        }
        free(args);
        free(pre);
        return status;
    }
    const char *name = args[cmd_at];
    const struct cli_alias *alias = find_alias(name);
    const struct cli_cmd *cmd = alias ? find_command(alias->cmd) : find_command(name);
    if (strcmp(name, "help") == 0) {
        if (cmd_at + 1 < nargs && strcmp(args[cmd_at + 1], "--list") == 0) {
            status = print_list();
        } else if (cmd_at + 1 >= nargs) {
            status = cli_finish(print_usage(stdout));
        } else if ((alias = find_alias(args[cmd_at + 1])) != NULL ||
                   (cmd = find_command(args[cmd_at + 1])) != NULL) {
            /* help CMD [SUB] is CMD [SUB] --help */
            char help_flag[] = "--help";
            int n = 0;
            char *hargv[4];
            hargv[n++] = unconst(alias ? alias->cmd : cmd->name);
            if (alias != NULL) {
                cmd = find_command(alias->cmd);
                hargv[n++] = unconst(alias->sub);
            } else if (cmd_at + 2 < nargs) {
                hargv[n++] = args[cmd_at + 2];
            }
            hargv[n++] = help_flag;
            hargv[n] = NULL;
            optind = 0;
            status = cli_finish(cmd->fn(n, hargv, &ctx));
        } else {
            const char *hint = suggest(NULL, args[cmd_at + 1], word);
            status = cli_usage_error(usage, "'%s' is not an espprov command%s%s%s",
                                     args[cmd_at + 1], hint ? " (did you mean '" : "",
                                     hint ? hint : "", hint ? "'?)" : "");
        }
        free(args);
        free(pre);
        return status;
    }
    if (cmd == NULL) {
        const char *hint = suggest(NULL, name, word);
        status = cli_usage_error(usage, "'%s' is not an espprov command (%s%s%s)", name,
                                 hint ? "did you mean '" : "see 'espprov --help'", hint ? hint : "",
                                 hint ? "'?" : "");
        free(args);
        free(pre);
        return status;
    }
    /* The command's argv: its name, [the alias's subcommand], the options
     * given before it, then the rest. getopt_long permutes, so options and
     * operands may mix. */
    char **sub = calloc((size_t)nargs + (size_t)npre + 3, sizeof *sub);
    if (sub == NULL) {
        free(args);
        free(pre);
        return cli_fail(NULL, "out of memory");
    }
    /* getopt names argv[0] in its own complaints ("espprov provision:
     * unrecognized option '--x'"), so give it the full command. */
    char full[64];
    snprintf(full, sizeof full, "espprov %s", cmd->name);
    int n = 0;
    sub[n++] = full;
    if (alias != NULL) {
        sub[n++] = unconst(alias->sub);
    }
    for (int i = 0; i < npre; i++) {
        const char *o = alias || strcmp(cmd->name, "flash") == 0 ? esptool_option(pre[i]) : pre[i];
        if (o[0] != '\0') {
            sub[n++] = unconst(o);
        }
    }
    bool dashdash = false;
    for (int i = cmd_at + 1; i < nargs; i++) {
        dashdash |= strcmp(args[i], "--") == 0;
        const char *o = alias != NULL && !dashdash ? esptool_option(args[i]) : args[i];
        if (o[0] != '\0') {
            sub[n++] = unconst(o);
        }
    }
    sub[n] = NULL;
    /* An unknown subcommand, said before the command's own parser sees it. */
    if (alias == NULL && cmd->subs != NULL && n > 1 && sub[1][0] != '-' && !has_sub(cmd, sub[1])) {
        const char *hint = suggest(cmd, sub[1], word);
        status = cli_usage_error(
            usage, "'%s' is not an 'espprov %s' subcommand (%s%s%s)", sub[1], cmd->name,
            hint ? "did you mean '" : "one of: ", hint ? hint : cmd->subs, hint ? "'?" : "");
    } else {
        optind = 0;
        status = cli_finish(cmd->fn(n, sub, &ctx));
    }
    free(sub);
    free(args);
    free(pre);
    return status;
}
