/*
 * Ledger events that are not steps of a live attempt: a certificate revoked
 * after the fact, and attempts whose process died, closed for good.
 */
#include <stdlib.h>
#include <string.h>

#include "provision/ledger/ledger_priv.h"

int pv_ledger_revoke(struct pv_ledger *lg, const char *serial, const char *reason, int *count,
                     struct pv_error *err)
{
    char canon[66];
    if (!ledger_canon_serial(serial, canon)) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "ledger: the certificate serial must be up to 64 hex digits");
    }
    char *why = ledger_scrub(lg, reason && reason[0] ? reason : "revoked", 128);
    if (why == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = ledger_txn_begin(lg, err);
    if (rc == PV_OK) {
        const struct ledger_param params[] = {TXT(why), TXT(canon)};
        /* Serials compare as numbers: rows written before the spelling
         * kept whole octets have no leading zero. Reset rows name the
         * certificate the board held before its erase, so they follow too:
         * "reset (certificate still live)" must not outlive a revocation.
         * A second revocation keeps the first date. */
        int changed =
            ledger_run(lg,
                       "UPDATE attempts SET revoked_at = " LEDGER_NOW
                       ", revoke_reason = ?1, updated_at = " LEDGER_NOW
                       " WHERE ltrim(cert_serial, '0') = ltrim(?2, '0') AND revoked_at IS NULL",
                       params, 2, err);
        rc = changed < 0 ? changed : PV_OK;
        if (rc == PV_OK && count != NULL) {
            *count = changed;
        }
        rc = ledger_txn_end(lg, rc, err);
    }
    free(why);
    return rc;
}

int pv_ledger_close_interrupted(struct pv_ledger *lg, int *count, struct pv_error *err)
{
    /* Find the dead owners first (reading /proc), then close their rows in
     * one transaction, re-checking that they are still running. */
    enum { MAX_OWNERS = 64 };
    char owners[MAX_OWNERS][80];
    size_t nowners = 0;
    int closed = 0;
    for (;;) {
        pthread_mutex_lock(&lg->lock);
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(lg->db,
                                    "SELECT DISTINCT owner FROM attempts WHERE outcome = "
                                    "'running'",
                                    -1, &st, NULL);
        nowners = 0;
        bool more = false;
        while (rc == SQLITE_OK || rc == SQLITE_ROW) {
            if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
                break;
            }
            const char *owner = (const char *)sqlite3_column_text(st, 0);
            if (owner == NULL || ledger_owner_alive(lg, owner)) {
                continue;
            }
            if (nowners == MAX_OWNERS) {
                more = true;
                break;
            }
            snprintf(owners[nowners++], sizeof owners[0], "%s", owner);
        }
        sqlite3_finalize(st);
        pthread_mutex_unlock(&lg->lock);
        if (rc != SQLITE_DONE && !(more && rc == SQLITE_ROW)) {
            return ledger_db_error(lg, err, "cannot list running attempts");
        }
        if (nowners == 0) {
            break;
        }
        rc = ledger_txn_begin(lg, err);
        for (size_t i = 0; rc == PV_OK && i < nowners; i++) {
            const struct ledger_param params[] = {TXT(owners[i])};
            int n = ledger_run(lg,
                               "UPDATE attempts SET outcome = 'interrupted', error = "
                               "'interrupted: the process ended before the attempt did', "
                               "updated_at = " LEDGER_NOW ", ended_at = " LEDGER_NOW
                               " WHERE owner = ?1 AND outcome = 'running'",
                               params, 1, err);
            rc = n < 0 ? n : PV_OK;
            closed += n > 0 ? n : 0;
        }
        if ((rc = ledger_txn_end(lg, rc, err)) != PV_OK) {
            return rc;
        }
        if (!more) {
            break;
        }
    }
    if (count != NULL) {
        *count = closed;
    }
    return PV_OK;
}
