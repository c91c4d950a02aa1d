/* Identities: P-256 fast encodings, filling a pv_identity, signing + recording. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>

#include "provision/pki/pki_priv.h"

/* ===== EC P-256 fast paths ============================================
 * X509_set_pubkey() and EVP_PKEY2PKCS8() go through OpenSSL's generic
 * encoder/decoder machinery: 0.28 ms and 0.10 ms per key here, most of the
 * cost of minting. For P-256 both encodings are fixed layouts, so they are
 * written directly (a unit test compares them with OpenSSL's own bytes). */

static bool is_p256(EVP_PKEY *key)
{
    char group[32];
    return EVP_PKEY_is_a(key, "EC") &&
           EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                          NULL) &&
           (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
}

int pv_set_pubkey(X509 *x, EVP_PKEY *key, struct pv_error *err)
{
    unsigned char pub[65];
    size_t len = 0;
    if (!is_p256(key) ||
        !EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof pub,
                                         &len) ||
        len != sizeof pub || pub[0] != 0x04) {
        ERR_clear_error();
        return X509_set_pubkey(x, key)
                   ? PV_OK
                   : pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot set the public key");
    }
    unsigned char *copy = OPENSSL_memdup(pub, len);
    if (copy == NULL ||
        !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                                V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), copy, (int)len)) {
        OPENSSL_free(copy);
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot set the public key");
    }
    return PV_OK;
}

/* PKCS#8 PrivateKeyInfo of a P-256 key (138 bytes): the ECPrivateKey inside
 * carries the public key and leaves the curve to the AlgorithmIdentifier, as
 * OpenSSL writes it. */
static const unsigned char p256_pkcs8_head[] = {
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
    0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
};
static const unsigned char p256_pkcs8_mid[] = {0xa1, 0x44, 0x03, 0x42, 0x00};
#define P256_PKCS8_LEN (sizeof p256_pkcs8_head + 32 + sizeof p256_pkcs8_mid + 65)

static int p256_pkcs8(EVP_PKEY *key, unsigned char *out)
{
    BIGNUM *priv = NULL;
    size_t publen = 0;
    unsigned char *p = out + sizeof p256_pkcs8_head;
    int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) &&
             BN_bn2binpad(priv, p, 32) == 32 &&
             EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                             p + 32 + sizeof p256_pkcs8_mid, 65, &publen) &&
             publen == 65;
    BN_clear_free(priv);
    memcpy(out, p256_pkcs8_head, sizeof p256_pkcs8_head);
    memcpy(p + 32, p256_pkcs8_mid, sizeof p256_pkcs8_mid);
    return ok ? 0 : -1;
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int pv_identity_fill(X509 *x, EVP_PKEY *key, const char *id, struct pv_identity *out,
                     struct pv_error *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", id);
    out->key_type = EVP_PKEY_is_a(key, "RSA")
                        ? (EVP_PKEY_get_bits(key) > 2048 ? PV_KEY_RSA3072 : PV_KEY_RSA2048)
                        : PV_KEY_EC_P256;
    bool fast = is_p256(key);
    int clen = i2d_X509(x, NULL);
    PKCS8_PRIV_KEY_INFO *p8 = fast ? NULL : EVP_PKEY2PKCS8(key);
    int klen = fast ? (int)P256_PKCS8_LEN : p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = PV_OK;
    if (clen <= 0 || klen <= 0) {
        rc = pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot encode the certificate or key");
    } else if ((out->cert_der = malloc((size_t)clen)) == NULL ||
               (out->key_der = malloc((size_t)klen)) == NULL) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    } else {
        unsigned char *cp = out->cert_der, *kp = out->key_der;
        out->cert_der_len = (size_t)i2d_X509(x, &cp);
        out->key_der_len = (size_t)klen;
        if (fast ? p256_pkcs8(key, kp) != 0 : i2d_PKCS8_PRIV_KEY_INFO(p8, &kp) != klen) {
            rc = pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot encode the private key");
        } else if (!X509_digest(x, EVP_sha256(), md, &mdlen) ||
                   pv_serial_hex(X509_get0_serialNumber(x), out->serial, sizeof out->serial) !=
                       PV_OK) {
            rc = pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot fingerprint the certificate");
        } else {
            to_hex(md, mdlen, out->sha256);
            out->not_after = pv_asn1_time_unix(X509_get0_notAfter(x));
        }
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (rc != PV_OK) {
        pv_identity_release(out);
    }
    return rc;
}

void pv_identity_release(struct pv_identity *id)
{
    if (id == NULL) {
        return;
    }
    pv_secret_free(id->key_der, id->key_der_len);
    free(id->cert_der);
    memset(id, 0, sizeof *id);
}

/* One signed certificate waiting for its record row. */
struct pending {
    struct pv_issued row;
    char subject[256];
    unsigned char *der;
    int der_len;
};

static int sign_one(struct pv_ca *ca, X509 *x, const char *kind, const char *id, const char *mac,
                    struct pending *pd, struct pv_error *err)
{
    OPENSSL_free(pd->der);
    memset(pd, 0, sizeof *pd);
    if (X509_sign(x, ca->key, EVP_sha256()) <= 0) {
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "signing the certificate failed");
    }
    snprintf(pd->row.kind, sizeof pd->row.kind, "%s", kind);
    snprintf(pd->row.id, sizeof pd->row.id, "%s", id);
    snprintf(pd->row.mac, sizeof pd->row.mac, "%s", mac ? mac : "");
    X509_NAME_oneline(X509_get_subject_name(x), pd->subject, sizeof pd->subject);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    pd->der_len = i2d_X509(x, &pd->der);
    if (pd->der_len <= 0 || !X509_digest(x, EVP_sha256(), md, &mdlen) ||
        pv_serial_hex(X509_get0_serialNumber(x), pd->row.serial, sizeof pd->row.serial) != PV_OK) {
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot encode the certificate");
    }
    to_hex(md, mdlen, pd->row.sha256);
    pd->row.issued_at = (int64_t)time(NULL);
    pd->row.not_after = pv_asn1_time_unix(X509_get0_notAfter(x));
    return PV_OK;
}

int pv_ca_sign_record_many(struct pv_ca *ca, X509 *const *xs, const char *kind,
                           const char *const *ids, const char *const *macs, size_t n,
                           struct pv_error *err)
{
    struct pending *pd = calloc(n ? n : 1, sizeof *pd);
    const struct pv_issued **rows = calloc(n ? n : 1, sizeof *rows);
    const char **subjects = calloc(n ? n : 1, sizeof *subjects);
    const uint8_t **ders = calloc(n ? n : 1, sizeof *ders);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    int rc = pd && rows && subjects && ders && lens
                 ? PV_OK
                 : pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == PV_OK && i < n; i++) {
        rc = sign_one(ca, xs[i], kind, ids[i], macs ? macs[i] : NULL, &pd[i], err);
    }
    /* A serial already in the record (never seen in practice: 127 random
     * bits) gets a new serial and signature, and the batch is retried. */
    for (int attempt = 0; rc == PV_OK; attempt++) {
        for (size_t i = 0; i < n; i++) {
            rows[i] = &pd[i].row;
            subjects[i] = pd[i].subject;
            ders[i] = pd[i].der;
            lens[i] = (size_t)pd[i].der_len;
        }
        size_t dup = 0;
        rc = pv_issued_insert_many(ca->db, rows, subjects, ders, lens, n, &dup, err);
        if (rc != PV_ERR_EXISTS) {
            break;
        }
        rc = attempt < 3 ? pv_random_serial(xs[dup], err) : PV_ERR_DB;
        if (rc == PV_OK) {
            rc = sign_one(ca, xs[dup], kind, ids[dup], macs ? macs[dup] : NULL, &pd[dup], err);
        } else if (rc == PV_ERR_DB) {
            pv_error_set(err, PV_ERR_DB, "check the random number generator",
                         "four random serials in a row were already recorded");
        }
    }
    for (size_t i = 0; pd && i < n; i++) {
        OPENSSL_free(pd[i].der);
    }
    free(pd);
    free(rows);
    free(subjects);
    free(ders);
    free(lens);
    return rc;
}

int pv_ca_sign_record(struct pv_ca *ca, X509 *x, const char *kind, const char *id,
                      struct pv_error *err)
{
    return pv_ca_sign_record_many(ca, &x, kind, &id, NULL, 1, err);
}
