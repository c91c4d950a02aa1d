/*
 * Revocations made outside a job (`cert revoke`, another station's run, an
 * older espprov) reach the ledger here, so `ledger list` never says
 * "provisioned" for a certificate the broker already refuses.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/jobs/jobs.h"

/* A revoked serial (pv_serial_canon spelling) and its CRL reason. */
struct revoked_serial {
    char serial[41];
    int reason;
};

struct revoked_set {
    struct revoked_serial *items;
    size_t count, cap;
    bool out_of_memory;
};

static int by_serial(const void *a, const void *b)
{
    return strcmp(((const struct revoked_serial *)a)->serial,
                  ((const struct revoked_serial *)b)->serial);
}

static int collect_revoked(void *user, const struct pv_issued *row)
{
    struct revoked_set *set = user;
    if (row->revoked_at == 0) {
        return 0;
    }
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        struct revoked_serial *grown = realloc(set->items, cap * sizeof *grown);
        if (grown == NULL) {
            set->out_of_memory = true;
            return 1;
        }
        set->items = grown;
        set->cap = cap;
    }
    struct revoked_serial *r = &set->items[set->count++];
    pv_serial_canon(row->serial, r->serial, sizeof r->serial);
    r->reason = row->reason;
    return 0;
}

struct ledger_walk {
    const struct revoked_set *set;
    struct pv_ledger *lg;
    int marked;
    struct pv_error *err;
};

static int mark_row(const struct pv_ledger_row *row, void *arg)
{
    struct ledger_walk *w = arg;
    if (row->cert_serial[0] == '\0' || row->revoked_at[0] != '\0') {
        return 0;
    }
    struct revoked_serial key;
    pv_serial_canon(row->cert_serial, key.serial, sizeof key.serial);
    const struct revoked_serial *hit =
        bsearch(&key, w->set->items, w->set->count, sizeof key, by_serial);
    if (hit == NULL) {
        return 0;
    }
    const char *name = pv_crl_reason_name(hit->reason);
    char why[96];
    snprintf(why, sizeof why, "%s%sin the CA's record", hit->reason > 0 && name ? name : "",
             hit->reason > 0 && name ? ", " : "");
    int n = 0;
    if (pv_ledger_revoke(w->lg, row->cert_serial, why, &n, w->err) != PV_OK) {
        return -1;
    }
    w->marked += n;
    return 0;
}

int pv_jobs_sync_revocations(const struct pv_profile *p, struct pv_ledger *lg, int *marked,
                             struct pv_error *err)
{
    if (marked != NULL) {
        *marked = 0;
    }
    struct revoked_set set = {0};
    int rc = pv_issued_list(p, collect_revoked, &set, err);
    if (set.out_of_memory) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    } else if (rc == PV_ERR_NOT_FOUND) {
        rc = PV_OK; /* no CA record yet: nothing was ever revoked */
    }
    if (rc != PV_OK || set.count == 0) {
        free(set.items);
        return rc;
    }
    qsort(set.items, set.count, sizeof set.items[0], by_serial);
    struct ledger_walk w = {.set = &set, .lg = lg, .err = err};
    rc = pv_ledger_foreach(lg, NULL, mark_row, &w, err);
    free(set.items);
    if (rc != PV_OK) {
        return err->code;
    }
    if (marked != NULL) {
        *marked = w.marked;
    }
    return PV_OK;
}
