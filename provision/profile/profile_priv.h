/*
 * Private to provision/profile/: what the profile loader, the template
 * expander and the config file builder share beyond profile.h. Never
 * included from another folder.
 */
#ifndef ESPPROV_PROFILE_PRIV_H
#define ESPPROV_PROFILE_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "provision/core/core.h"
#include "provision/profile/profile.h"

/* Placeholder bits (a template's set of used placeholders). */
enum {
    TP_MAC = 1 << 0,
    TP_MAC_SUFFIX = 1 << 1,
    TP_SEQ = 1 << 2,
    TP_CHIP = 1 << 3,
    TP_ID = 1 << 4,
    TP_PROFILE = 1 << 5,
    TP_ALL = 0x3f,
};

struct tmpl_info {
    unsigned used;  /* TP_* bits */
    size_t max_len; /* worst-case expansion in bytes */
};

/*
 * Checks a template: known placeholders only, each in `allowed`; computes the
 * worst case length given the id's and the profile name's. Returns 0, or -1
 * with `why` ("unknown placeholder {mca} ...").
 */
int pv_tmpl_scan(const char *tmpl, unsigned allowed, size_t id_max, size_t profile_len,
                 struct tmpl_info *info, char *why, size_t whylen);

/* 1-64 of [A-Za-z0-9._-], not starting with '.'. */
bool pv_id_valid(const char *id);

/* Where a value came from ${NAME}, for redaction and deferred errors. */
struct env_ref {
    char path[48]; /* ".wifi.password" */
    char var[64];  /* "WIFI_PASS" */
    bool set;
};

struct pv_profile_priv {
    struct env_ref *env;
    size_t env_count;
};

/* The variable an unset field came from, or NULL ("" paths never match). */
const char *pv_profile_unset_var(const struct pv_profile *p, const char *path);
/* PV_ERR_INVALID "<path>: environment variable NAME is not set" when the
 * field was deferred, else a plain "<path> is not set in the profile". */
int pv_profile_missing(const struct pv_profile *p, const char *path, struct pv_error *err);

#endif
