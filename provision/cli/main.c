/* espprov: git-style dispatch to one provision/cli/cmd_<name>.c per command. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
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
};

/* Sorted by name; `espprov --help` prints them in this order. */
static const struct cli_cmd commands[] = {
    {"ca", cmd_ca, "create the certificate authority, write its CRL"},
    {"cert", cmd_cert, "issue a broker or device certificate, revoke one"},
    {"factory-reset", cmd_factory_reset, "erase a board, revoke its identity"},
    {"flash", cmd_flash, "talk to a board's ROM bootloader: info, write, read, erase, verify"},
    {"image", cmd_image, "build one device's complete SPIFFS image without a board"},
    {"ledger", cmd_ledger, "list, show and export the provisioning ledger"},
    {"ports", cmd_ports, "list the USB serial boards that are plugged in"},
    {"profile", cmd_profile, "validate a device profile and show it resolved"},
    {"provision", cmd_provision, "provision a batch of boards from a profile"},
    {"spiffs", cmd_spiffs, "build, list, extract and check SPIFFS images"},
};

static const char usage[] =
    "usage: espprov [-v | -q] <command> [<args>]\n"
    "       espprov --version | --help | help <command>\n"
    "\n"
    "Provision ESP8266 and ESP32 boards: a key and client certificate per board,\n"
    "a SPIFFS image with the certificates and a WiFi/MQTT config, written over the\n"
    "ROM serial bootloader and recorded in a ledger.\n"
    "\n"
    "options:\n"
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
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
    }
    fputs("\nRun 'espprov <command> --help' for a command's options.\n", out);
    return CLI_OK;
}

static const struct cli_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
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

int main(int argc, char **argv)
{
    guard_memory();
    struct cli_ctx ctx = {
        .stderr_tty = isatty(STDERR_FILENO) == 1,
        .stdin_tty = isatty(STDIN_FILENO) == 1,
    };
    static const struct option opts[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* '+' stops at the first non-option: the rest belongs to the command. */
    int c;
    while ((c = getopt_long(argc, argv, "+vqh", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            ctx.verbosity++;
            break;
        case 'q':
            ctx.verbosity = -1;
            break;
        case 'V':
            printf("espprov %s\n", ESPPROV_VERSION);
            cli_stubs_print_version(stdout);
            return cli_finish(CLI_OK);
        case 'h':
            return cli_finish(print_usage(stdout));
        default:
            return cli_usage_error(usage, "unknown option (see 'espprov --help')");
        }
    }
    if (optind >= argc) {
        print_usage(stderr);
        return CLI_USAGE;
    }
    char **sub_argv = argv + optind;
    int sub_argc = argc - optind;
    if (strcmp(sub_argv[0], "help") == 0) {
        if (sub_argc < 2) {
            return cli_finish(print_usage(stdout));
        }
        const struct cli_cmd *cmd = find_command(sub_argv[1]);
        if (cmd == NULL) {
            return cli_usage_error(usage, "'%s' is not an espprov command", sub_argv[1]);
        }
        char help_flag[] = "--help";
        char *help_argv[] = {sub_argv[1], help_flag, NULL};
        optind = 0;
        return cli_finish(cmd->fn(2, help_argv, &ctx));
    }
    const struct cli_cmd *cmd = find_command(sub_argv[0]);
    if (cmd == NULL) {
        return cli_usage_error(usage, "'%s' is not an espprov command (see 'espprov --help')",
                               sub_argv[0]);
    }
    /* Each command parses its own options with getopt_long from a fresh state;
     * getopt names argv[0] in its own complaints ("espprov provision:
     * unrecognized option '--x'"), so give it the full command. */
    char name[64];
    snprintf(name, sizeof name, "espprov %s", cmd->name);
    sub_argv[0] = name;
    optind = 0;
    return cli_finish(cmd->fn(sub_argc, sub_argv, &ctx));
}
