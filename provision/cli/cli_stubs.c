/* Default flasher stubs for the CLI: looked up once per run, where the build
 * or `make install` put them (flasher/stub_find.c does the looking). */
#include "provision/cli/cli_stubs.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provision/cli/cli.h"

static const char *self_path(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0) {
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int find(struct fl_stub_set *set, enum fl_stub_family family, struct fl_error *err)
{
    char exe[PATH_MAX];
    struct fl_stub_search q = {
        .env_dir = getenv("ESPPROV_STUB_DIR"),
        .exe_path = self_path(exe, sizeof exe),
        .family = family,
    };
    return fl_stub_set_find(set, &q, err);
}

int cli_stubs_find(struct fl_stub_set *set, enum fl_stub_family family, bool *found)
{
    struct fl_error err = {0};
    *found = false;
    int rc = find(set, family, &err);
    if (rc == FL_OK) {
        *found = true;
        return CLI_OK;
    }
    if (rc == FL_ERR_NOT_FOUND) {
        fprintf(stderr,
                "espprov: note: %s; using the ROM loader (slower, and on the ESP8266 "
                "no MD5 verify, read-back or compressed writes)\nhint: %s\n",
                err.msg, err.hint);
        return CLI_OK;
    }
    return cli_fail(err.hint[0] ? err.hint : NULL, "%s", err.msg);
}

bool cli_stubs_parse_family(const char *usage, const char *text, enum fl_stub_family *out)
{
    if (fl_stub_family_parse(text, out)) {
        return true;
    }
    cli_usage_error(usage, "--stub-family: '%s' is not legacy or new", text);
    return false;
}

void cli_stubs_print_version(FILE *out)
{
    for (int f = FL_STUB_LEGACY; f <= FL_STUB_NEW; f++) {
        struct fl_stub_set set;
        struct fl_error err = {0};
        const char *name = fl_stub_family_name((enum fl_stub_family)f);
        const char *def = f == FL_STUB_FAMILY_DEFAULT ? ", default" : "";
        if (find(&set, (enum fl_stub_family)f, &err) == FL_OK) {
            fprintf(out, "stubs (%s%s): %s\n  in %s\n", name, def,
                    set.package[0] ? set.package : "unknown package", set.dir);
            fl_stub_set_release(&set);
        } else {
            fprintf(out, "stubs (%s%s): none (%s)\n", name, def, err.msg);
        }
    }
}
