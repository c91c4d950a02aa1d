/* The certificate authority: creation (`ca init`) and loading once per run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "provision/pki/pki_priv.h"

#define PEM_MAX        (256 * 1024)
#define PASSPHRASE_MIN 8

static const char init_hint[] = "create the CA with 'espprov ca init -P PROFILE'";

/* mkdir -p for the CA folder. It stays readable (0755) so a broker that drops
 * privileges can read the CA certificate and CRL; the key itself is 0600. */
static int make_dirs(const char *file, struct pv_error *err)
{
    char *path = strdup(file);
    if (path == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    char *slash = strrchr(path, '/');
    if (slash != NULL && slash != path) {
        *slash = '\0';
        for (char *s = path + 1;; s++) {
            if (*s == '/' || *s == '\0') {
                char saved = *s;
                *s = '\0';
                if (mkdir(path, 0755) != 0 && errno != EEXIST) {
                    int e = errno;
                    pv_error_set(err, PV_ERR_IO, "check that the folder can be created",
                                 "cannot create folder '%s': %s", path, strerror(e));
                    free(path);
                    return PV_ERR_IO;
                }
                *s = saved;
                if (saved == '\0') {
                    break;
                }
            }
        }
    }
    free(path);
    return PV_OK;
}

static int pem_of(X509 *cert, EVP_PKEY *key, const char *pass, char **out, size_t *len,
                  struct pv_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b != NULL;
    if (ok && cert != NULL) {
        ok = PEM_write_bio_X509(b, cert);
    }
    if (ok && key != NULL) {
        ok = PEM_write_bio_PKCS8PrivateKey(b, key, EVP_aes_256_cbc(), pass, (int)strlen(pass), NULL,
                                           NULL);
    }
    char *data = NULL;
    long n = ok ? BIO_get_mem_data(b, &data) : 0;
    if (!ok || n <= 0 || (*out = malloc((size_t)n)) == NULL) {
        BIO_free(b);
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot encode the CA");
    }
    memcpy(*out, data, (size_t)n);
    *len = (size_t)n;
    BIO_free(b);
    return PV_OK;
}

static X509 *build_ca_cert(const struct pv_profile *p, EVP_PKEY *key, struct pv_error *err)
{
    X509 *x = X509_new();
    const char *names[16], *values[16];
    char expanded[16][256];
    size_t n = p->ca.subject_count < 16 ? p->ca.subject_count : 16;
    struct pv_device none = {0};
    int rc = x ? PV_OK : pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == PV_OK && i < n; i++) {
        names[i] = p->ca.subject[i].name;
        rc = pv_template_expand(p->ca.subject[i].value, p, &none, expanded[i], sizeof expanded[i],
                                err);
        values[i] = expanded[i];
    }
    static const int usage[] = {KUBIT_KEY_CERT_SIGN, KUBIT_CRL_SIGN};
    if (rc != PV_OK || !X509_set_version(x, X509_VERSION_3) || pv_random_serial(x, err) ||
        pv_set_validity(x, p->ca.days, err) || pv_set_subject(x, names, values, n, err) ||
        !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_set_pubkey(x, key) ||
        pv_ext_basic(x, true, err) || pv_ext_key_usage(x, usage, 2, err) ||
        pv_ext_key_ids(x, NULL, err) || X509_sign(x, key, EVP_sha256()) <= 0) {
        if (err->code == PV_OK) {
            pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot build the CA certificate");
        }
        X509_free(x);
        return NULL;
    }
    return x;
}

static void fingerprint(const X509 *x, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(x, EVP_sha256(), md, &n);
    for (unsigned i = 0; i < n && i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

int pv_ca_create(const struct pv_profile *p, const char *passphrase, struct pv_error *err)
{
    pv_error_clear(err);
    struct stat st;
    const char *existing = stat(p->ca.key, &st) == 0    ? p->ca.key
                           : stat(p->ca.cert, &st) == 0 ? p->ca.cert
                           : stat(p->ca.db, &st) == 0   ? p->ca.db
                                                        : NULL;
    if (existing != NULL) {
        return pv_error_set(err, PV_ERR_EXISTS,
                            "a CA exists already; move its files away to start a new one",
                            "refusing to overwrite '%s'", existing);
    }
    if (passphrase == NULL || strlen(passphrase) < PASSPHRASE_MIN) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "the CA passphrase must have at least %d characters", PASSPHRASE_MIN);
    }
    if (make_dirs(p->ca.key, err) != PV_OK || make_dirs(p->ca.cert, err) != PV_OK ||
        make_dirs(p->ca.db, err) != PV_OK) {
        return err->code;
    }
    EVP_PKEY *key = pv_keygen(p->ca.key_type, err);
    X509 *cert = key ? build_ca_cert(p, key, err) : NULL;
    char *key_pem = NULL, *cert_pem = NULL;
    size_t key_len = 0, cert_len = 0;
    int rc = cert ? PV_OK : err->code;
    if (rc == PV_OK) {
        rc = pem_of(NULL, key, passphrase, &key_pem, &key_len, err);
    }
    if (rc == PV_OK) {
        rc = pem_of(cert, NULL, NULL, &cert_pem, &cert_len, err);
    }
    bool wrote_key = false, wrote_cert = false;
    if (rc == PV_OK) {
        rc = pv_file_write(p->ca.key, key_pem, key_len, 0600, PV_WRITE_EXCL, err);
        wrote_key = rc == PV_OK;
    }
    if (rc == PV_OK) {
        rc = pv_file_write(p->ca.cert, cert_pem, cert_len, 0644, PV_WRITE_EXCL, err);
        wrote_cert = rc == PV_OK;
    }
    if (rc == PV_OK) {
        char sha[65];
        fingerprint(cert, sha);
        struct issued_db *db;
        rc = pv_issued_open(p->ca.db, sha, true, &db, err);
        pv_issued_close(rc == PV_OK ? db : NULL);
    }
    if (rc != PV_OK) {
        /* All or nothing: a key without its certificate is no CA. */
        if (wrote_cert) {
            unlink(p->ca.cert);
        }
        if (wrote_key) {
            unlink(p->ca.key);
        }
    }
    free(cert_pem);
    free(key_pem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

bool pv_ca_key_is_encrypted(const struct pv_profile *p)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct pv_error e;
    if (pv_file_read(p->ca.key, PEM_MAX, &data, &len, &e) != PV_OK) {
        return true; /* opening will report the real problem */
    }
    bool enc = strstr((const char *)data, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
               strstr((const char *)data, "Proc-Type: 4,ENCRYPTED") != NULL;
    pv_secret_free(data, len);
    return enc;
}

static int read_cert(const char *path, X509 **out, struct pv_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (pv_file_read(path, PEM_MAX, &data, &len, err) != PV_OK) {
        if (err->code == PV_ERR_NOT_FOUND) {
            snprintf(err->hint, sizeof err->hint, "%s", init_hint);
        }
        return pv_error_prefix(err, "CA certificate");
    }
    BIO *b = BIO_new_mem_buf(data, (int)len);
    *out = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    free(data);
    if (*out == NULL) {
        ERR_clear_error();
        return pv_error_set(err, PV_ERR_INVALID, "check .ca.cert in the profile",
                            "'%s' is not a PEM certificate", path);
    }
    return PV_OK;
}

int pv_ca_cert_read(const struct pv_profile *p, uint8_t **der, size_t *len, struct pv_error *err)
{
    *der = NULL;
    *len = 0;
    X509 *x = NULL;
    if (read_cert(p->ca.cert, &x, err) != PV_OK) {
        return err->code;
    }
    int n = i2d_X509(x, NULL);
    unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL;
    unsigned char *w = buf;
    if (buf == NULL || i2d_X509(x, &w) != n) {
        free(buf);
        X509_free(x);
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot encode the CA certificate");
    }
    X509_free(x);
    *der = buf;
    *len = (size_t)n;
    return PV_OK;
}

static int pass_cb(char *buf, int size, int rwflag, void *user)
{
    (void)rwflag;
    const char *pass = user;
    /* Returning -1 also keeps OpenSSL from prompting on the terminal itself. */
    if (pass == NULL || (int)strlen(pass) >= size) {
        return -1;
    }
    size_t n = strlen(pass);
    memcpy(buf, pass, n);
    return (int)n;
}

static int read_key(const struct pv_profile *p, const char *passphrase, EVP_PKEY **out,
                    struct pv_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (pv_file_read(p->ca.key, PEM_MAX, &data, &len, err) != PV_OK) {
        return pv_error_prefix(err, "CA key");
    }
    bool encrypted = strstr((const char *)data, "ENCRYPTED") != NULL;
    BIO *b = BIO_new_mem_buf(data, (int)len);
    *out = b ? PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)(uintptr_t)passphrase) : NULL;
    BIO_free(b);
    pv_secret_free(data, len);
    if (*out != NULL) {
        return PV_OK;
    }
    ERR_clear_error();
    if (encrypted && passphrase == NULL) {
        return pv_error_set(err, PV_ERR_CRYPTO, "give the CA passphrase",
                            "the CA key '%s' is encrypted and no passphrase was given", p->ca.key);
    }
    if (encrypted) {
        return pv_error_set(err, PV_ERR_CRYPTO,
                            "check the passphrase (if it is right, the key file is damaged)",
                            "could not decrypt the CA key: wrong passphrase");
    }
    return pv_error_set(err, PV_ERR_INVALID, "check .ca.key in the profile",
                        "'%s' is not a PEM private key", p->ca.key);
}

static int check_ca_cert(const struct pv_profile *p, X509 *x, struct pv_error *err)
{
    if (X509_check_ca(x) < 1 || !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN)) {
        return pv_error_set(err, PV_ERR_INVALID, "check .ca.cert in the profile",
                            "'%s' is not a CA certificate (no CA:TRUE with keyCertSign)",
                            p->ca.cert);
    }
    char when[64] = "";
    BIO *b = BIO_new(BIO_s_mem());
    if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
        if (b && ASN1_TIME_print(b, X509_get0_notAfter(x))) {
            BIO_read(b, when, sizeof when - 1);
        }
        BIO_free(b);
        return pv_error_set(err, PV_ERR_INVALID,
                            "create a new CA (new .ca.cert/.ca.key) and reissue the devices",
                            "the CA certificate '%s' expired on %s", p->ca.cert, when);
    }
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
        BIO_free(b);
        return pv_error_set(err, PV_ERR_INVALID, "check this computer's clock",
                            "the CA certificate '%s' is not valid yet", p->ca.cert);
    }
    BIO_free(b);
    return PV_OK;
}

int pv_ca_open(const struct pv_profile *p, const char *passphrase, struct pv_ca **out,
               struct pv_error *err)
{
    *out = NULL;
    pv_error_clear(err);
    struct pv_ca *ca = calloc(1, sizeof *ca);
    if (ca == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = read_cert(p->ca.cert, &ca->cert, err);
    if (rc == PV_OK) {
        rc = check_ca_cert(p, ca->cert, err);
    }
    if (rc == PV_OK) {
        rc = read_key(p, passphrase, &ca->key, err);
    }
    if (rc == PV_OK && X509_check_private_key(ca->cert, ca->key) != 1) {
        ERR_clear_error();
        rc = pv_error_set(err, PV_ERR_INVALID, "check that .ca.cert and .ca.key name one CA",
                          "the CA certificate '%s' and the key '%s' do not match", p->ca.cert,
                          p->ca.key);
    }
    if (rc == PV_OK) {
        /* Fill OpenSSL's extension cache now, single-threaded: later, worker
         * threads only read the CA certificate. */
        X509_check_purpose(ca->cert, -1, 0);
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca->cert);
        unsigned char *w = NULL;
        int n = i2d_X509(ca->cert, &w);
        if (n > 0) {
            ca->cert_der = malloc((size_t)n);
            if (ca->cert_der != NULL) {
                memcpy(ca->cert_der, w, (size_t)n);
                ca->cert_der_len = (size_t)n;
            }
        }
        OPENSSL_free(w);
        ca->ski = ski ? ASN1_OCTET_STRING_dup(ski) : NULL;
        ca->crl_path = strdup(p->ca.crl);
        if (ca->cert_der == NULL || ca->crl_path == NULL || (ski && ca->ski == NULL)) {
            rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        }
        fingerprint(ca->cert, ca->sha256);
        ca->not_after = pv_asn1_time_unix(X509_get0_notAfter(ca->cert));
        ca->crl_days = p->ca.crl_days;
    }
    if (rc == PV_OK && ca->ski == NULL) {
        rc = pv_error_set(err, PV_ERR_INVALID, "recreate the CA with 'espprov ca init'",
                          "the CA certificate '%s' has no subject key identifier", p->ca.cert);
    }
    if (rc == PV_OK) {
        rc = pv_issued_open(p->ca.db, ca->sha256, true, &ca->db, err);
    }
    if (rc != PV_OK) {
        pv_ca_free(ca);
        return rc;
    }
    *out = ca;
    return PV_OK;
}

void pv_ca_free(struct pv_ca *ca)
{
    if (ca == NULL) {
        return;
    }
    pv_issued_close(ca->db);
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca->cert_der);
    ASN1_OCTET_STRING_free(ca->ski);
    free(ca->crl_path);
    free(ca);
}

void pv_ca_cert_der(const struct pv_ca *ca, const uint8_t **der, size_t *len)
{
    *der = ca->cert_der;
    *len = ca->cert_der_len;
}
