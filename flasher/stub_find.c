/*
 * Finding the fetched flasher stubs (tools/stubs.lock): one directory per
 * family, one esptool JSON file per chip, a PACKAGE line naming where they
 * came from. The caller passes what it knows of its environment (the
 * ESPPROV_STUB_DIR value, its own path); this file reads no environment.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "flasher/flasher_priv.h"

static const char *const family_names[] = {[FL_STUB_LEGACY] = "legacy", [FL_STUB_NEW] = "new"};

const char *fl_stub_family_name(enum fl_stub_family family)
{
    return (unsigned)family < sizeof family_names / sizeof family_names[0] ? family_names[family]
                                                                           : "?";
}

bool fl_stub_family_parse(const char *text, enum fl_stub_family *out)
{
    if (strcmp(text, "legacy") == 0) {
        *out = FL_STUB_LEGACY;
    } else if (strcmp(text, "new") == 0 || strcmp(text, "esp-flasher-stub") == 0) {
        *out = FL_STUB_NEW;
    } else {
        return false;
    }
    return true;
}

const char *fl_chip_key(enum fl_chip chip)
{
    const struct fl_target *t = fl_target_by_chip(chip);
    return t != NULL ? t->key : NULL;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first line of dir/PACKAGE, without its newline ("" when absent). */
static void read_package(const char *dir, char *out, size_t cap)
{
    char path[1100];
    out[0] = '\0';
    snprintf(path, sizeof path, "%s/PACKAGE", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    if (fgets(out, (int)cap, f) == NULL) {
        out[0] = '\0';
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
}

void fl_stub_set_release(struct fl_stub_set *set)
{
    for (int c = 0; c < FL_CHIP_COUNT; c++) {
        if (set->have[c]) {
            fl_stub_release(&set->stub[c]);
            set->have[c] = false;
        }
    }
}

int fl_stub_set_load(struct fl_stub_set *set, const char *dir, enum fl_stub_family family,
                     struct fl_error *err)
{
    memset(set, 0, sizeof *set);
    set->family = family;
    if (strlen(dir) >= sizeof set->dir) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "stub directory path too long: %s", dir);
    }
    snprintf(set->dir, sizeof set->dir, "%s", dir);
    int found = 0;
    for (int c = FL_CHIP_AUTO + 1; c < FL_CHIP_COUNT; c++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s.json", dir, fl_chip_key((enum fl_chip)c));
        int rc = fl_stub_load(path, &set->stub[c], err);
        if (rc == FL_ERR_NOT_FOUND) {
            continue;
        }
        if (rc != FL_OK) {
            fl_stub_set_release(set);
            if (err != NULL && err->hint[0] == '\0') {
                snprintf(err->hint, sizeof err->hint,
                         "fetch the stubs again (make stubs), or pass --stub FILE / --no-stub");
            }
            return rc;
        }
        set->have[c] = true;
        found++;
    }
    if (found == 0) {
        return fl_error_set(err, FL_ERR_NOT_FOUND, NULL, "no %s flasher stub in %s",
                            fl_stub_family_name(family), dir);
    }
    read_package(dir, set->package, sizeof set->package);
    return FL_OK;
}

int fl_stub_set_find(struct fl_stub_set *set, const struct fl_stub_search *search,
                     struct fl_error *err)
{
    const char *fam = fl_stub_family_name(search->family);
    char tried[3][1100];
    int n = 0;
    if (search->env_dir != NULL && search->env_dir[0] != '\0') {
        snprintf(tried[n++], sizeof tried[0], "%s/%s", search->env_dir, fam);
    }
    if (search->exe_path != NULL && search->exe_path[0] != '\0') {
        const char *slash = strrchr(search->exe_path, '/');
        int dlen = slash == NULL ? 1 : (int)(slash - search->exe_path);
        const char *dir = slash == NULL ? "." : search->exe_path;
        if (dlen == 0) {
            dir = "/"; /* the program sits in / */
            dlen = 1;
        }
        snprintf(tried[n++], sizeof tried[0], "%.*s/stubs/%s", dlen, dir, fam);
        snprintf(tried[n++], sizeof tried[0], "%.*s/../share/espprov/stubs/%s", dlen, dir, fam);
    }
    for (int i = 0; i < n; i++) {
        if (!is_dir(tried[i])) {
            continue;
        }
        int rc = fl_stub_set_load(set, tried[i], search->family, err);
        if (rc != FL_ERR_NOT_FOUND) {
            return rc; /* found, or found broken: never skip a broken set silently */
        }
    }
    memset(set, 0, sizeof *set);
    char where[700] = "";
    for (int i = 0; i < n; i++) {
        size_t used = strlen(where);
        snprintf(where + used, sizeof where - used, "%s%s", i ? ", " : "", tried[i]);
    }
    return fl_error_set(err, FL_ERR_NOT_FOUND,
                        "build them with `make stubs` (or install with `make install`), "
                        "or set ESPPROV_STUB_DIR, or pass --stub FILE",
                        "no %s flasher stubs found (looked in: %s)", fam,
                        n > 0 ? where : "nowhere");
}

const struct fl_stub *fl_stub_set_get(const struct fl_stub_set *set, enum fl_chip chip)
{
    if (set == NULL || chip <= FL_CHIP_AUTO || chip >= FL_CHIP_COUNT || !set->have[chip]) {
        return NULL;
    }
    return &set->stub[chip];
}
