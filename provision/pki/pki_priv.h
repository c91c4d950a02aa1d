/*
 * Private to provision/: what the CA, certificate, record, CRL and key pool
 * files share (OpenSSL types stay out of pki.h).
 */
#ifndef ESPPROV_PKI_PRIV_H
#define ESPPROV_PKI_PRIV_H

#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "provision/core/core.h"
#include "provision/profile/profile.h"
#include "provision/pki/pki.h"

/* ===== The issuance record (issued.c) ================================= */

struct issued_db; /* one SQLite connection + a mutex; safe across threads */

/*
 * Opens (creating when `create`) the record at `path`. With `ca_sha256`
 * non-NULL, a record that names another CA is refused, and a new record is
 * stamped with it.
 */
int pv_issued_open(const char *path, const char *ca_sha256, bool create, struct issued_db **out,
                   struct pv_error *err);
void pv_issued_close(struct issued_db *db);
/* Commits n rows in one transaction (durable on return, all or none).
 * PV_ERR_EXISTS with *dup = the index of a serial already recorded (the
 * caller picks a new serial and retries). */
int pv_issued_insert_many(struct issued_db *db, const struct pv_issued *const *rows,
                          const char *const *subjects, const uint8_t *const *ders,
                          const size_t *lens, size_t n, size_t *dup, struct pv_error *err);
/* Calls fn for each revoked row. */
int pv_issued_each_revoked(struct issued_db *db, int (*fn)(void *user, const struct pv_issued *r),
                           void *user, struct pv_error *err);
/* Increments and returns the CRL number (starts at 1). */
int pv_issued_next_crl_number(struct issued_db *db, int64_t *out, struct pv_error *err);

/* ===== The CA handle (ca.c) =========================================== */

struct pv_ca {
    X509 *cert;
    EVP_PKEY *key;
    uint8_t *cert_der;
    size_t cert_der_len;
    char sha256[65];
    ASN1_OCTET_STRING *ski; /* the CA's subject key identifier, for AKI */
    int64_t not_after;
    int32_t crl_days;
    char *crl_path;
    struct issued_db *db;
};

/* ===== The CA key file (cakey.c) ===================================== */

/* PEM "ENCRYPTED PRIVATE KEY": PKCS#8, PBES2 with scrypt and AES-256-CBC.
 * *pem is malloc'd; free with pv_secret_free. */
int pv_ca_key_encrypt(EVP_PKEY *key, const char *pass, char **pem, size_t *len,
                      struct pv_error *err);
/* Any PEM private key OpenSSL reads (every PKCS#8 KDF, legacy PEM, clear);
 * `pass` may be NULL for a clear key; `path` is for messages. */
int pv_ca_key_decrypt(const char *path, const uint8_t *data, size_t len, const char *pass,
                      EVP_PKEY **out, struct pv_error *err);

/* ===== Helpers (pki_util.c) =========================================== */

/* Sets err to "<what>: <first OpenSSL reason>" and clears the error queue. */
int pv_ossl_error(struct pv_error *err, int code, const char *hint, const char *what);
/* A fresh key of the given type. */
EVP_PKEY *pv_keygen(enum pv_key_type type, struct pv_error *err);
/* 16 random bytes, positive, first byte non-zero (DER stays 16 octets). */
int pv_random_serial(X509 *x, struct pv_error *err);
/* notBefore = now - 5 min; notAfter = now + days, or 99991231235959Z. */
int pv_set_validity(X509 *x, int32_t days, struct pv_error *err);
/* Subject from name/value pairs (values already expanded). */
int pv_set_subject(X509 *x, const char *const *names, const char *const *values, size_t n,
                   struct pv_error *err);
/* Extensions (typed, no config strings). usage: KU bits as in RFC 5280. */
enum {
    KUBIT_DIGITAL_SIGNATURE = 0,
    KUBIT_KEY_ENCIPHERMENT = 2,
    KUBIT_KEY_CERT_SIGN = 5,
    KUBIT_CRL_SIGN = 6,
};
int pv_ext_basic(X509 *x, bool ca, struct pv_error *err);
int pv_ext_key_usage(X509 *x, const int *bits, size_t n, struct pv_error *err);
int pv_ext_eku(X509 *x, int nid, struct pv_error *err);
int pv_ext_san(X509 *x, const char *const *dns, size_t ndns, const char *const *ips, size_t nips,
               struct pv_error *err);
/* SKI from x's public key; AKI from `issuer_ski` (NULL: x's own SKI). */
int pv_ext_key_ids(X509 *x, const ASN1_OCTET_STRING *issuer_ski, struct pv_error *err);
/* X509_set_pubkey, without the generic encoder round trip for P-256. */
int pv_set_pubkey(X509 *x, EVP_PKEY *key, struct pv_error *err);
/* Unix seconds of an ASN1_TIME; INT64_MAX for 99991231235959Z. */
int64_t pv_asn1_time_unix(const ASN1_TIME *t);
/* Fills out (DER, PKCS#8, serial, fingerprint, not_after) from x and key. */
int pv_identity_fill(X509 *x, EVP_PKEY *key, const char *id, struct pv_identity *out,
                     struct pv_error *err);
/* Uppercase hex of a serial, no leading zero bytes. */
int pv_serial_hex(const ASN1_INTEGER *serial, char *out, size_t len);
/* Signs x with the CA and commits its record, picking a new serial on the
 * (astronomically unlikely) collision. */
int pv_ca_sign_record(struct pv_ca *ca, X509 *x, const char *kind, const char *id,
                      struct pv_error *err);
/* The same for n certificates, all recorded in one transaction (one disk
 * sync) before any is returned. `macs` (may be NULL, as may each entry)
 * names the board each device certificate is for. */
int pv_ca_sign_record_many(struct pv_ca *ca, X509 *const *xs, const char *kind,
                           const char *const *ids, const char *const *macs, size_t n,
                           struct pv_error *err);

/* ===== Key pool (keypool.c) =========================================== */

/* A ready key of `type` from the pool, or NULL when none is ready. */
EVP_PKEY *pv_keypool_take(struct pv_keypool *pool, enum pv_key_type type);

#endif
