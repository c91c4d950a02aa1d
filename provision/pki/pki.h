/*
 * pki — the user's certificate authority: creating it, opening it, minting
 * device and broker identities (key + certificate, OpenSSL 3), the issuance
 * record (SQLite beside the CA: every certificate that ever left the process),
 * revocation and CRLs, and a key pool for slow key types.
 *
 * Owns: struct pv_ca, struct pv_identity, struct pv_keypool, struct
 * pv_issued. May call: core, profile (what to mint, where the CA lives).
 * Knows nothing of the ledger or of boards: the issuance record is the CA's
 * own, the ledger is the jobs' business.
 * Errors: the core contract; OpenSSL refusals (wrong passphrase, mismatched
 * key) are PV_ERR_CRYPTO. Private keys live only in memory (wiped on
 * release) unless a caller writes them out.
 */
#ifndef ESPPROV_PROVISION_PKI_H
#define ESPPROV_PROVISION_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provision/core/core.h"
#include "provision/profile/profile.h"

/* ===== Certificate authority and identities =========================== */

struct pv_ca; /* opaque: CA certificate + key + issuance record, thread-safe */

/*
 * `ca init`: creates the CA key (profile ca.key_type; PKCS#8 PEM, mode 0600,
 * encrypted with `passphrase` through scrypt and AES-256-CBC), its
 * self-signed certificate and an empty issuance record. All or nothing: the
 * three are written as temporary files and only then given their names; on
 * any failure nothing this call made is left (files or folders). Refuses
 * (PV_ERR_EXISTS) when the key, the certificate or a non-empty record
 * exists, and a passphrase pv_ca_passphrase_check refuses. Creates the CA
 * folder (0755) if missing.
 */
int pv_ca_create(const struct pv_profile *p, const char *passphrase, struct pv_error *err);
/*
 * `ca passwd`: re-encrypts the CA key with `new_pass` and the current KDF.
 * The key must decrypt with `old_pass` and match the CA certificate. The new
 * file is written next to the old one, read back, decrypted with `new_pass`
 * and compared with the key; only then does it replace the old file (one
 * rename). On any failure the old file is left as it was.
 */
int pv_ca_passwd(const struct pv_profile *p, const char *old_pass, const char *new_pass,
                 struct pv_error *err);
/* PV_OK when `pass` may protect a new CA key: at least 12 characters, at
 * least 6 different ones; else PV_ERR_INVALID (the text never quotes it). */
int pv_ca_passphrase_check(const char *pass, struct pv_error *err);
/* Names how the CA key file is protected ("scrypt (N=32768, r=7, p=4)",
 * "PBKDF2-hmacWithSHA256, 2048 iterations", "not encrypted") into out;
 * returns true when that is weaker than what `ca init` writes today. */
bool pv_ca_key_kdf(const struct pv_profile *p, char *out, size_t cap);
/* True when the CA key file is an encrypted PEM (a passphrase is needed). */
bool pv_ca_key_is_encrypted(const struct pv_profile *p);
/*
 * Loads the CA once per run: certificate, key (decrypted with `passphrase`,
 * may be NULL for an unencrypted key), checks they match, the certificate is
 * a CA and is valid now, and opens the issuance record (ca.db). The handle
 * may be shared by threads minting in parallel.
 */
int pv_ca_open(const struct pv_profile *p, const char *passphrase, struct pv_ca **out,
               struct pv_error *err);
void pv_ca_free(struct pv_ca *ca);
/* The CA certificate (DER), owned by the handle. */
void pv_ca_cert_der(const struct pv_ca *ca, const uint8_t **der, size_t *len);
/* The CA certificate alone (no key, no passphrase), as DER in a malloc'd buffer. */
int pv_ca_cert_read(const struct pv_profile *p, uint8_t **der, size_t *len, struct pv_error *err);

/* A certificate and its private key, in memory. */
struct pv_identity {
    char id[PV_ID_MAX + 1]; /* device id, or the server's CN */
    enum pv_key_type key_type;
    uint8_t *cert_der; /* malloc'd */
    size_t cert_der_len;
    uint8_t *key_der; /* secret: PKCS#8 DER, malloc'd, wiped by pv_identity_release */
    size_t key_der_len;
    char serial[41];   /* uppercase hex without separators */
    char sha256[65];   /* lowercase hex SHA-256 of cert_der */
    int64_t not_after; /* Unix seconds; INT64_MAX for "never" */
};
/* Wipes the key and frees both buffers; leaves *id zeroed. NULL is fine. */
void pv_identity_release(struct pv_identity *id);

struct pv_keypool; /* background key generation, see below */

/*
 * Mints a device identity: a key (from `pool` when given and of the profile's
 * type, else generated here), a certificate per the profile (subject and SAN
 * templates expanded for `dev`), signed by the CA. The certificate is
 * committed to the issuance record before this returns; nothing touches the
 * disk otherwise. Safe to call from several threads on one `ca`.
 */
int pv_mint_device(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *dev,
                   struct pv_keypool *pool, struct pv_identity *out, struct pv_error *err);

/*
 * The same for n devices (devs[i] -> out[i]), recorded in one transaction:
 * one disk sync for the batch, and none of them is returned unless all are
 * recorded. On failure every out[i] is released.
 */
int pv_mint_devices(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *devs,
                    size_t n, struct pv_keypool *pool, struct pv_identity *out,
                    struct pv_error *err);

/*
 * For --dry-run: the identity pv_mint_device would make for `dev` (subject,
 * SANs, extensions, key type, validity), but signed by its own key instead of
 * the CA and recorded nowhere. It does not verify against the CA, so it can
 * never pass for an issued certificate; it exists only to build a
 * representative image. Release with pv_identity_release.
 */
int pv_mint_preview(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *dev,
                    struct pv_identity *out, struct pv_error *err);

/* A broker certificate request. */
struct pv_server_req {
    const char *const *dns; /* DNS names (at least one name or address) */
    size_t dns_count;
    const char *const *ips; /* IPv4/IPv6 text; each also goes in as a DNS name */
    size_t ip_count;
    enum pv_key_type key_type; /* PV_KEY_EC_P256 or PV_KEY_RSA2048 */
    int32_t days;              /* > 0 or PV_DAYS_NEVER */
};
/* Mints and records a broker certificate (serverAuth, CN = first name). */
int pv_mint_server(struct pv_ca *ca, const struct pv_server_req *req, struct pv_identity *out,
                   struct pv_error *err);

/*
 * An existing identity (e.g. read back from a board) from its certificate
 * and key, DER or PEM, key PKCS#8, SEC1 or PKCS#1; checks that they match.
 * id is the certificate's CN.
 */
int pv_identity_load(const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len,
                     struct pv_identity *out, struct pv_error *err);
/* DER -> DER copy or PEM text ("CERTIFICATE" / "PRIVATE KEY"), malloc'd. The
 * key form is a secret: free it with pv_secret_free. */
int pv_encode_cert(const uint8_t *der, size_t len, enum pv_format f, uint8_t **out, size_t *out_len,
                   struct pv_error *err);
int pv_encode_key(const uint8_t *der, size_t len, enum pv_format f, uint8_t **out, size_t *out_len,
                  struct pv_error *err);

/* What a certificate says, for display and checks. */
struct pv_cert_info {
    char subject[256]; /* RFC 2253 form, "CN=esp-...,O=Acme" */
    char issuer[256];
    char serial[41];
    char sha256[65];
    int64_t not_before, not_after; /* Unix seconds; not_after INT64_MAX for "never" */
};
/* Parses a certificate, DER or PEM. */
int pv_cert_info(const uint8_t *der, size_t len, struct pv_cert_info *out, struct pv_error *err);
/* PV_OK when `ident`'s certificate was signed by the CA certificate `ca_der`,
 * else PV_ERR_INVALID saying so. */
int pv_identity_issued_by(const struct pv_identity *ident, const uint8_t *ca_der, size_t ca_len,
                          struct pv_error *err);
/* PV_OK when `ident`'s key is the private half of its certificate's public
 * key (a board's filesystem could pair one board's certificate with another's
 * key), else PV_ERR_INVALID saying so. */
int pv_identity_key_matches(const struct pv_identity *ident, struct pv_error *err);

/*
 * Pre-generates keys of one type on `threads` background threads, keeping
 * up to `capacity` ready, so RSA minting never waits for a prime search.
 * pv_mint_device takes a ready key or, when none is, generates its own.
 */
int pv_keypool_new(enum pv_key_type type, unsigned threads, size_t capacity,
                   struct pv_keypool **out, struct pv_error *err);
/* Stops the threads and frees every unused key. NULL is fine. */
void pv_keypool_free(struct pv_keypool *pool);
/* Blocks until at least `n` keys are ready (n <= capacity): for benchmarks. */
void pv_keypool_wait(struct pv_keypool *pool, size_t n);

/* ===== Issuance record and revocation ================================= */

/* One issued certificate as recorded (never a key). */
struct pv_issued {
    char serial[41];
    char kind[8]; /* "device" or "server" */
    char id[PV_ID_MAX + 1];
    char sha256[65];
    int64_t issued_at;  /* Unix seconds */
    int64_t not_after;  /* INT64_MAX for never */
    int64_t revoked_at; /* 0 when not revoked */
    int reason;         /* CRL reason code when revoked */
    char mac[18];       /* device: the board's "aa:bb:cc:dd:ee:ff", "" when not known */
};

/* A serial as the digits of its number: upper case, no colons, no leading
 * zeros (cut to cap - 1). Two spellings of one serial give the same text. */
void pv_serial_canon(const char *serial, char *out, size_t cap);
/* Whether two spellings ("0ABC", "ab:c", "ABC") name the same serial. */
bool pv_serial_same(const char *a, const char *b);

/* CRL reason from its name ("unspecified", "keyCompromise", "superseded",
 * "cessationOfOperation", "affiliationChanged"); -1 when unknown. */
int pv_crl_reason(const char *name);
/* The name of a reason code pv_crl_reason() knows; NULL for the others. */
const char *pv_crl_reason_name(int code);

/*
 * Revokes by serial (hex, colons allowed) or, when serial is NULL, every
 * unrevoked certificate of device `id`. Needs only the record, not the CA
 * key. *count gets how many were revoked; PV_ERR_NOT_FOUND when none matched.
 */
int pv_revoke(const struct pv_profile *p, const char *serial, const char *id, int reason,
              size_t *count, struct pv_error *err);
/* Calls fn for each recorded certificate in issue order; a non-zero return
 * from fn stops the walk and is returned. */
int pv_issued_list(const struct pv_profile *p, int (*fn)(void *user, const struct pv_issued *row),
                   void *user, struct pv_error *err);
/*
 * The newest live device certificate (unrevoked, not_after after `now`, Unix
 * seconds) of device `id` or of the board with `mac` ("aa:bb:cc:dd:ee:ff";
 * either may be NULL): the record, not any ledger, says whether a device id
 * or a board already has an identity. PV_ERR_NOT_FOUND when it has none.
 */
int pv_issued_live_device(const struct pv_profile *p, const char *id, const char *mac, int64_t now,
                          struct pv_issued *row, struct pv_error *err);
/* The certificate recorded for `id_or_serial`: a device or server id (its
 * newest certificate) or a serial (hex, colons allowed), as DER in a malloc'd
 * buffer, with its record row. PV_ERR_NOT_FOUND when the CA issued none. */
int pv_issued_cert(const struct pv_profile *p, const char *id_or_serial, uint8_t **der, size_t *len,
                   struct pv_issued *row, struct pv_error *err);
/*
 * Writes a PEM CRL of every revoked certificate to `path` (NULL: the
 * profile's ca.crl), signed by the CA, nextUpdate ca.crl_days ahead (never
 * past the CA's own expiry), with an increasing CRL number. *revoked gets the
 * entry count and *next_update the
 * nextUpdate time in Unix seconds (either may be NULL).
 */
int pv_ca_write_crl(struct pv_ca *ca, const char *path, size_t *revoked, int64_t *next_update,
                    struct pv_error *err);

#endif
