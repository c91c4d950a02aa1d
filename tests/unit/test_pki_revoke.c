/* Revocation, the CRL as OpenSSL checks it, and minting from parallel threads. */
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include <openssl/pem.h>

#include "pki_fixture.h"
#include "test.h"
#include "provision/pki/pki.h"

static X509_CRL *read_crl(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    fclose(f);
    return crl;
}

static X509 *ca_x509(struct pv_ca *ca)
{
    const uint8_t *der;
    size_t len;
    pv_ca_cert_der(ca, &der, &len);
    return der_cert(der, len);
}

static long crl_number(X509_CRL *crl)
{
    ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    long v = n ? ASN1_INTEGER_get(n) : -1;
    ASN1_INTEGER_free(n);
    return v;
}

TEST(revoked_certificate_fails_verification_with_the_crl)
{
    struct fixture f;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&f, NULL, ",\"crl_days\":30", &err), PV_OK);
    ASSERT_EQ_INT(pv_ca_create(f.p, FIX_PASS, &err), PV_OK);
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(pv_ca_open(f.p, FIX_PASS, &ca, &err), PV_OK);
    struct pv_device d1, d2;
    struct pv_identity good, bad, bad2;
    ASSERT_EQ_INT(pv_device_init(&d1, f.p, "dev-good", NULL, -1, NULL, &err), PV_OK);
    ASSERT_EQ_INT(pv_device_init(&d2, f.p, "dev-bad", NULL, -1, NULL, &err), PV_OK);
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &d1, NULL, &good, &err), PV_OK);
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &d2, NULL, &bad, &err), PV_OK);
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &d2, NULL, &bad2, &err), PV_OK);
    /* An empty CRL first: every client still verifies (a missing CRL would not). */
    size_t entries = 99;
    ASSERT_EQ_INT(pv_ca_write_crl(ca, NULL, &entries, NULL, &err), PV_OK);
    ASSERT_EQ_INT(entries, 0);
    X509_CRL *crl = read_crl(f.p->ca.crl);
    ASSERT(crl != NULL);
    ASSERT_EQ_INT(crl_number(crl), 1);
    X509 *cacert = ca_x509(ca);
    X509 *xg = der_cert(good.cert_der, good.cert_der_len);
    X509 *xb = der_cert(bad.cert_der, bad.cert_der_len);
    ASSERT_EQ_INT(verify_chain(cacert, xb, X509_PURPOSE_SSL_CLIENT, crl), 0);
    X509_CRL_free(crl);
    /* Revoke by serial (colon form accepted), then the other by id. */
    char colon[64] = "";
    for (size_t i = 0; i < strlen(bad.serial); i += 2) {
        snprintf(colon + strlen(colon), sizeof colon - strlen(colon), "%s%.2s", i ? ":" : "",
                 bad.serial + i);
    }
    size_t n = 0;
    ASSERT_EQ_INT(pv_revoke(f.p, colon, NULL, pv_crl_reason("keyCompromise"), &n, &err), PV_OK);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(pv_revoke(f.p, bad.serial, NULL, 0, &n, &err), PV_ERR_NOT_FOUND);
    ASSERT_EQ_INT(pv_revoke(f.p, NULL, "dev-bad", pv_crl_reason("superseded"), &n, &err), PV_OK);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(pv_revoke(f.p, "zz", NULL, 0, &n, &err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ca_write_crl(ca, NULL, &entries, NULL, &err), PV_OK);
    ASSERT_EQ_INT(entries, 2);
    crl = read_crl(f.p->ca.crl);
    ASSERT(crl != NULL);
    ASSERT_EQ_INT(crl_number(crl), 2);
    ASSERT_EQ_INT(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
    EVP_PKEY *capub = X509_get0_pubkey(cacert);
    ASSERT_EQ_INT(X509_CRL_verify(crl, capub), 1);
    ASSERT_EQ_INT(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(cacert)), 0);
    /* nextUpdate about crl_days ahead. */
    int days = 0, secs = 0;
    ASSERT(ASN1_TIME_diff(&days, &secs, NULL, X509_CRL_get0_nextUpdate(crl)));
    ASSERT(days == 29 || days == 30);
    X509_REVOKED *entry = NULL;
    ASSERT_EQ_INT(X509_CRL_get0_by_cert(crl, &entry, xb), 1);
    ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, NULL, NULL);
    ASSERT(reason != NULL);
    ASSERT_EQ_INT(ASN1_ENUMERATED_get(reason), 1);
    ASN1_ENUMERATED_free(reason);
    ASSERT_EQ_INT(verify_chain(cacert, xb, X509_PURPOSE_SSL_CLIENT, crl), X509_V_ERR_CERT_REVOKED);
    ASSERT_EQ_INT(verify_chain(cacert, xg, X509_PURPOSE_SSL_CLIENT, crl), 0);
    X509_CRL_free(crl);
    X509_free(xg);
    X509_free(xb);
    X509_free(cacert);
    pv_identity_release(&good);
    pv_identity_release(&bad);
    pv_identity_release(&bad2);
    pv_ca_free(ca);
    fixture_close(&f);
}

struct worker {
    struct pv_ca *ca;
    const struct pv_profile *p;
    int index;
    int failures;
    char serials[25][41];
};

static void *mint_many(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 25; i++) {
        uint8_t mac[6] = {0x24, 0x0a, 0xc4, (uint8_t)w->index, 0, (uint8_t)i};
        struct pv_device dev;
        struct pv_identity id;
        struct pv_error err;
        if (pv_device_init(&dev, w->p, NULL, mac, -1, NULL, &err) != PV_OK ||
            pv_mint_device(w->ca, w->p, &dev, NULL, &id, &err) != PV_OK) {
            w->failures++;
            continue;
        }
        memcpy(w->serials[i], id.serial, sizeof id.serial);
        pv_identity_release(&id);
    }
    return NULL;
}

static int count_rows(void *user, const struct pv_issued *r)
{
    (void)r;
    (*(size_t *)user)++;
    return 0;
}

TEST(parallel_threads_share_one_ca)
{
    struct fixture f;
    struct pv_error err;
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(fixture_with_ca(&f, &ca, &err), PV_OK);
    struct worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.ca = ca, .p = f.p, .index = i};
        ASSERT(pthread_create(&th[i], NULL, mint_many, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ_INT(w[i].failures, 0);
    }
    /* Every serial distinct, every certificate recorded. */
    for (int a = 0; a < 100; a++) {
        for (int b = a + 1; b < 100; b++) {
            ASSERT(strcmp(w[a / 25].serials[a % 25], w[b / 25].serials[b % 25]) != 0);
        }
    }
    size_t rows = 0;
    ASSERT_EQ_INT(pv_issued_list(f.p, count_rows, &rows, &err), PV_OK);
    ASSERT_EQ_INT(rows, 100);
    pv_ca_free(ca);
    fixture_close(&f);
}

/* The record answers "has this id a live identity?", whatever ledger asks. */
TEST(live_device_certificate_of_an_id)
{
    struct fixture f;
    struct pv_error err;
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(fixture_with_ca(&f, &ca, &err), PV_OK);
    struct pv_device d;
    struct pv_identity one, two;
    struct pv_issued live;
    int64_t now = (int64_t)time(NULL);
    ASSERT_EQ_INT(pv_device_init(&d, f.p, "dev-live", NULL, -1, NULL, &err), PV_OK);
    ASSERT_EQ_INT(pv_issued_live_device(f.p, "dev-live", NULL, now, &live, &err), PV_ERR_NOT_FOUND);
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &d, NULL, &one, &err), PV_OK);
    ASSERT_EQ_INT(pv_issued_live_device(f.p, "dev-live", NULL, now, &live, &err), PV_OK);
    ASSERT_STREQ(live.serial, one.serial);
    ASSERT_STREQ(live.kind, "device");
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &d, NULL, &two, &err), PV_OK);
    ASSERT_EQ_INT(pv_issued_live_device(f.p, "dev-live", NULL, now, &live, &err), PV_OK);
    ASSERT_STREQ(live.serial, two.serial); /* the newest */
    size_t n = 0;
    ASSERT_EQ_INT(pv_revoke(f.p, two.serial, NULL, pv_crl_reason("superseded"), &n, &err), PV_OK);
    ASSERT_EQ_INT(pv_issued_live_device(f.p, "dev-live", NULL, now, &live, &err), PV_OK);
    ASSERT_STREQ(live.serial, one.serial);
    /* Past its not_after a certificate is not live. */
    ASSERT_EQ_INT(pv_issued_live_device(f.p, "dev-live", NULL, one.not_after, &live, &err),
                  PV_ERR_NOT_FOUND);
    ASSERT_EQ_INT(pv_issued_live_device(f.p, "dev-other", NULL, now, &live, &err),
                  PV_ERR_NOT_FOUND);
    /* The key read back must be the certificate's own. */
    ASSERT_EQ_INT(pv_identity_key_matches(&one, &err), PV_OK);
    uint8_t *key = one.key_der;
    size_t key_len = one.key_der_len;
    one.key_der = two.key_der;
    one.key_der_len = two.key_der_len;
    ASSERT_EQ_INT(pv_identity_key_matches(&one, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "not the certificate's key");
    one.key_der = key;
    one.key_der_len = key_len;
    pv_identity_release(&one);
    pv_identity_release(&two);
    pv_ca_free(ca);
    fixture_close(&f);
}

/* A board is found by its MAC too, whatever id a {seq} template gave it;
 * a record written before the MAC column is upgraded and keeps its rows. */
TEST(live_device_certificate_of_a_mac_and_an_older_record)
{
    struct fixture f;
    struct pv_error err;
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(fixture_with_ca(&f, &ca, &err), PV_OK);
    static const uint8_t mac[6] = {0x24, 0x0a, 0xc4, 0x00, 0x0f, 0x01};
    struct pv_device d;
    struct pv_identity old, fresh;
    struct pv_issued live;
    int64_t now = (int64_t)time(NULL);
    ASSERT_EQ_INT(pv_device_init(&d, f.p, "node-1", mac, -1, NULL, &err), PV_OK);
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &d, NULL, &old, &err), PV_OK);
    pv_ca_free(ca);
    /* Version 1 had no MAC column. */
    sqlite3 *db = NULL;
    ASSERT(sqlite3_open(f.p->ca.db, &db) == SQLITE_OK);
    ASSERT(sqlite3_exec(db,
                        "DROP INDEX issued_by_mac; ALTER TABLE issued DROP COLUMN mac; "
                        "PRAGMA user_version=1;",
                        NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ_INT(pv_issued_live_device(f.p, NULL, "24:0a:c4:00:0f:01", now, &live, &err),
                  PV_ERR_NOT_FOUND); /* issued before the MAC was recorded */
    ASSERT_EQ_INT(pv_issued_live_device(f.p, "node-1", NULL, now, &live, &err), PV_OK);
    ASSERT_STREQ(live.serial, old.serial);
    ASSERT_STREQ(live.mac, "");
    ASSERT(sqlite3_open(f.p->ca.db, &db) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ASSERT(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    ASSERT(sqlite3_step(st) == SQLITE_ROW);
    ASSERT_EQ_INT(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* The same board under another {seq} id: found by its MAC. */
    ASSERT_EQ_INT(pv_ca_open(f.p, FIX_PASS, &ca, &err), PV_OK);
    ASSERT_EQ_INT(pv_device_init(&d, f.p, "node-7", mac, -1, NULL, &err), PV_OK);
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &d, NULL, &fresh, &err), PV_OK);
    ASSERT_EQ_INT(pv_issued_live_device(f.p, "node-9", "24:0A:C4:00:0F:01", now, &live, &err),
                  PV_OK);
    ASSERT_STREQ(live.serial, fresh.serial);
    ASSERT_STREQ(live.id, "node-7");
    ASSERT_STREQ(live.mac, "24:0a:c4:00:0f:01");
    ASSERT_EQ_INT(pv_issued_live_device(f.p, NULL, "24:0a:c4:00:0f:02", now, &live, &err),
                  PV_ERR_NOT_FOUND);
    pv_identity_release(&old);
    pv_identity_release(&fresh);
    pv_ca_free(ca);
    fixture_close(&f);
}

/* One serial, however it is spelled (the ledger's, openssl's, with colons). */
TEST(serial_spellings_compare_as_numbers)
{
    char out[41];
    pv_serial_canon("00:0a:BC", out, sizeof out);
    ASSERT_STREQ(out, "ABC");
    ASSERT(pv_serial_same("0ABC", "ab:c"));
    ASSERT(pv_serial_same("080766248A", "80766248a"));
    ASSERT(!pv_serial_same("ABC", "ABD"));
    ASSERT(!pv_serial_same("ABC", "ABC0"));
}

TEST_MAIN(RUN(revoked_certificate_fails_verification_with_the_crl);
          RUN(parallel_threads_share_one_ca); RUN(live_device_certificate_of_an_id);
          RUN(live_device_certificate_of_a_mac_and_an_older_record);
          RUN(serial_spellings_compare_as_numbers);)
