/* The CA's certificate revocation list, in the PEM form Mosquitto's crlfile takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "provision/pki/pki_priv.h"

static int add_entry(void *user, const struct pv_issued *r)
{
    X509_CRL *crl = user;
    X509_REVOKED *rev = X509_REVOKED_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *when = ASN1_TIME_new();
    ASN1_ENUMERATED *reason = NULL;
    int ok = rev != NULL && when != NULL && BN_hex2bn(&bn, r->serial) &&
             (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
             X509_REVOKED_set_serialNumber(rev, serial) &&
             ASN1_TIME_set(when, (time_t)r->revoked_at) != NULL &&
             X509_REVOKED_set_revocationDate(rev, when);
    /* RFC 5280 §5.3.1: leave reasonCode out rather than say "unspecified". */
    if (ok && r->reason > 0) {
        ok = (reason = ASN1_ENUMERATED_new()) != NULL && ASN1_ENUMERATED_set(reason, r->reason) &&
             X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) == 1;
    }
    if (ok) {
        ok = X509_CRL_add0_revoked(crl, rev);
    }
    if (!ok) {
        X509_REVOKED_free(rev);
    }
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    ASN1_ENUMERATED_free(reason);
    return ok ? PV_OK : PV_ERR_CRYPTO;
}

int pv_ca_write_crl(struct pv_ca *ca, const char *path, size_t *revoked, int64_t *next_update,
                    struct pv_error *err)
{
    pv_error_clear(err);
    path = path ? path : ca->crl_path;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_new(), *next = ASN1_TIME_new();
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    int64_t crl_number = 0;
    size_t entries = 0;
    time_t now = time(NULL);
    /* A CRL past nextUpdate makes the broker refuse every client of this CA,
     * so it reaches as far as allowed, but never past the CA's own expiry. */
    int64_t until = (int64_t)now + (int64_t)ca->crl_days * 86400;
    if (ca->not_after != INT64_MAX && until > ca->not_after) {
        until = ca->not_after;
    }
    int rc = PV_OK;
    if (crl == NULL || last == NULL || next == NULL || number == NULL || akid == NULL) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    if (rc == PV_OK) {
        rc = pv_issued_next_crl_number(ca->db, &crl_number, err);
    }
    if (rc == PV_OK && pv_issued_each_revoked(ca->db, add_entry, crl, err) != PV_OK) {
        rc = err->code
                 ? err->code
                 : pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot list a revoked certificate");
    }
    if (rc == PV_OK) {
        int num = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
        entries = num > 0 ? (size_t)num : 0;
        akid->keyid = ASN1_OCTET_STRING_dup(ca->ski);
        if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
            !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
            ASN1_TIME_set(last, now) == NULL || ASN1_TIME_set(next, (time_t)until) == NULL ||
            !X509_CRL_set1_lastUpdate(crl, last) || !X509_CRL_set1_nextUpdate(crl, next) ||
            !ASN1_INTEGER_set_int64(number, crl_number) ||
            X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) != 1 || akid->keyid == NULL ||
            X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) != 1 ||
            !X509_CRL_sort(crl) || X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0) {
            rc = pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot build the CRL");
        }
    }
    if (rc == PV_OK) {
        BIO *b = BIO_new(BIO_s_mem());
        char *data = NULL;
        long n = 0;
        if (b == NULL || !PEM_write_bio_X509_CRL(b, crl) || (n = BIO_get_mem_data(b, &data)) <= 0) {
            rc = pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot encode the CRL");
        } else {
            rc = pv_file_write(path, data, (size_t)n, 0644, 0, err);
        }
        BIO_free(b);
    }
    if (rc == PV_OK && revoked != NULL) {
        *revoked = entries;
    }
    if (rc == PV_OK && next_update != NULL) {
        *next_update = until;
    }
    X509_CRL_free(crl);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    ASN1_INTEGER_free(number);
    AUTHORITY_KEYID_free(akid);
    return rc;
}
