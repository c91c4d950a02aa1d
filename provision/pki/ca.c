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

#define PEM_MAX (256 * 1024)

static const char init_hint[] = "create the CA with 'espprov ca init -P PROFILE'";

/* Folders `ca init` made, so a failed run can take them away again. */
struct made_dirs {
    char *path[16];
    size_t n;
};

static void remove_made(struct made_dirs *m)
{
    while (m->n > 0) {
        char *d = m->path[--m->n];
        rmdir(d); /* only if still empty: never something another run put there */
        free(d);
    }
}

/* mkdir -p for the CA folder. It stays readable (0755) so a broker that drops
 * privileges can read the CA certificate and CRL; the key itself is 0600. */
static int make_dirs(const char *file, struct made_dirs *made, struct pv_error *err)
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
                if (mkdir(path, 0755) == 0) {
                    if (made->n < sizeof made->path / sizeof made->path[0]) {
                        made->path[made->n++] = strdup(path);
                    }
                } else if (errno != EEXIST) {
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

static int cert_pem(X509 *cert, char **out, size_t *len, struct pv_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = b && PEM_write_bio_X509(b, cert) ? BIO_get_mem_data(b, &data) : 0;
    if (n <= 0 || (*out = malloc((size_t)n)) == NULL) {
        BIO_free(b);
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot encode the CA certificate");
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

/* True when `path` exists and is not an empty file (what `ca init` left
 * behind on a full disk before it was all or nothing). */
static bool exists_with_content(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !(S_ISREG(st.st_mode) && st.st_size == 0);
}

/* SQLite's files beside a temporary record (a journal a failed first
 * transaction may leave; WAL files are gone after a clean close). */
static void discard_record(const struct pv_staged *s)
{
    static const char *const sidecars[] = {"-journal", "-wal", "-shm"};
    for (size_t i = 0; s->tmp != NULL && i < 3; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s%s", s->tmp, sidecars[i]) >= 0) {
            unlink(path);
            free(path);
        }
    }
}

/* The issuance record built under a temporary name, stamped with the CA. */
static int stage_record(const struct pv_profile *p, X509 *cert, struct pv_staged *out,
                        struct pv_error *err)
{
    if (pv_file_stage(p->ca.db, NULL, 0, 0600, out, err) != PV_OK) {
        return err->code;
    }
    char sha[65];
    fingerprint(cert, sha);
    struct issued_db *db = NULL;
    int rc = pv_issued_open(out->tmp, sha, true, &db, err);
    pv_issued_close(db); /* checkpoints: the file is complete and synced */
    if (rc != PV_OK) {
        /* The temporary name means nothing to the user; the reason does. */
        char why[sizeof err->msg];
        const char *colon = strrchr(err->msg, ':');
        snprintf(why, sizeof why, "%s", colon ? colon + 2 : err->msg);
        pv_error_set(err, rc,
                     "check the space and permissions of that folder, then run 'ca init' again",
                     "cannot create the issuance record '%s': %s", p->ca.db, why);
    }
    return rc;
}

int pv_ca_create(const struct pv_profile *p, const char *passphrase, struct pv_error *err)
{
    pv_error_clear(err);
    struct stat st;
    const char *existing = stat(p->ca.key, &st) == 0       ? p->ca.key
                           : stat(p->ca.cert, &st) == 0    ? p->ca.cert
                           : exists_with_content(p->ca.db) ? p->ca.db
                                                           : NULL;
    if (existing != NULL) {
        return pv_error_set(err, PV_ERR_EXISTS,
                            "a CA exists already; move its files away to start a new one",
                            "refusing to overwrite '%s'", existing);
    }
    if (pv_ca_passphrase_check(passphrase, err) != PV_OK) {
        return err->code;
    }
    struct made_dirs made = {0};
    if (make_dirs(p->ca.key, &made, err) != PV_OK || make_dirs(p->ca.cert, &made, err) != PV_OK ||
        make_dirs(p->ca.db, &made, err) != PV_OK) {
        remove_made(&made);
        return err->code;
    }
    EVP_PKEY *key = pv_keygen(p->ca.key_type, err);
    X509 *cert = key ? build_ca_cert(p, key, err) : NULL;
    char *key_pem = NULL, *crt_pem = NULL;
    size_t key_len = 0, crt_len = 0;
    struct pv_staged staged[3] = {{0}};
    int rc = cert ? PV_OK : err->code;
    if (rc == PV_OK) {
        rc = pv_ca_key_encrypt(key, passphrase, &key_pem, &key_len, err);
    }
    if (rc == PV_OK) {
        rc = cert_pem(cert, &crt_pem, &crt_len, err);
    }
    /* Everything complete under temporary names first ... */
    if (rc == PV_OK) {
        rc = pv_file_stage(p->ca.key, key_pem, key_len, 0600, &staged[0], err);
    }
    if (rc == PV_OK) {
        rc = pv_file_stage(p->ca.cert, crt_pem, crt_len, 0644, &staged[1], err);
    }
    if (rc == PV_OK) {
        rc = stage_record(p, cert, &staged[2], err);
    }
    /* ... then named; an empty ca.db left by an older espprov makes way. */
    if (rc == PV_OK && !exists_with_content(p->ca.db)) {
        unlink(p->ca.db);
    }
    size_t named = 0;
    while (rc == PV_OK && named < 3) {
        rc = pv_file_commit(&staged[named], PV_WRITE_EXCL, err);
        named += rc == PV_OK;
    }
    /* All or nothing: a key without its certificate is no CA. */
    while (rc != PV_OK && named > 0) {
        unlink(staged[--named].path);
    }
    discard_record(&staged[2]);
    for (size_t i = 0; i < 3; i++) {
        pv_file_discard(&staged[i]);
    }
    if (rc != PV_OK) {
        remove_made(&made);
    }
    for (size_t i = 0; i < made.n; i++) {
        free(made.path[i]);
    }
    free(crt_pem);
    pv_secret_free(key_pem, key_len);
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

static int read_key(const struct pv_profile *p, const char *passphrase, EVP_PKEY **out,
                    struct pv_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (pv_file_read(p->ca.key, PEM_MAX, &data, &len, err) != PV_OK) {
        return pv_error_prefix(err, "CA key");
    }
    int rc = pv_ca_key_decrypt(p->ca.key, data, len, passphrase, out, err);
    pv_secret_free(data, len);
    return rc;
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

/* Same key: both private halves encode to the same PKCS#8 DER. */
static bool same_key(EVP_PKEY *a, EVP_PKEY *b)
{
    unsigned char *da = NULL, *db = NULL;
    int na = i2d_PrivateKey(a, &da), nb = i2d_PrivateKey(b, &db);
    bool same = na > 0 && na == nb && CRYPTO_memcmp(da, db, (size_t)na) == 0;
    if (na > 0) {
        OPENSSL_clear_free(da, (size_t)na);
    }
    if (nb > 0) {
        OPENSSL_clear_free(db, (size_t)nb);
    }
    return same;
}

/* Reads the staged file back from the disk and decrypts it. */
static int verify_staged(const struct pv_staged *s, const char *pass, EVP_PKEY *want,
                         struct pv_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    EVP_PKEY *back = NULL;
    int rc = pv_file_read(s->tmp, PEM_MAX, &data, &len, err);
    if (rc == PV_OK) {
        rc = pv_ca_key_decrypt(s->tmp, data, len, pass, &back, err);
    }
    if (rc == PV_OK && !same_key(want, back)) {
        rc = pv_error_set(err, PV_ERR_CRYPTO, NULL, "the re-encrypted key read back differs");
    }
    pv_secret_free(data, len);
    EVP_PKEY_free(back);
    return rc == PV_OK ? PV_OK
                       : pv_error_prefix(err, "the new key file did not verify; '%s' is unchanged",
                                         s->path);
}

int pv_ca_passwd(const struct pv_profile *p, const char *old_pass, const char *new_pass,
                 struct pv_error *err)
{
    pv_error_clear(err);
    if (pv_ca_passphrase_check(new_pass, err) != PV_OK) {
        return err->code;
    }
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    char *pem = NULL;
    size_t len = 0;
    struct pv_staged staged = {0};
    int rc = read_cert(p->ca.cert, &cert, err);
    if (rc == PV_OK) {
        rc = read_key(p, old_pass, &key, err);
    }
    if (rc == PV_OK && X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        rc = pv_error_set(err, PV_ERR_INVALID, "check that .ca.cert and .ca.key name one CA",
                          "the CA certificate '%s' and the key '%s' do not match", p->ca.cert,
                          p->ca.key);
    }
    if (rc == PV_OK) {
        rc = pv_ca_key_encrypt(key, new_pass, &pem, &len, err);
    }
    if (rc == PV_OK) {
        rc = pv_file_stage(p->ca.key, pem, len, 0600, &staged, err);
    }
    if (rc == PV_OK) {
        rc = verify_staged(&staged, new_pass, key, err);
    }
    if (rc == PV_OK) {
        rc = pv_file_commit(&staged, 0, err);
    }
    pv_file_discard(&staged);
    pv_secret_free(pem, len);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}
