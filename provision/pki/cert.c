/* Device and broker certificates: minting, loading existing ones, encodings. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "provision/pki/pki_priv.h"

#define SUBJECT_MAX 8
#define SAN_MAX     32

/* Everything both kinds of leaf certificates share; takes ownership of nothing. */
static X509 *leaf_body(struct pv_ca *ca, EVP_PKEY *key, int32_t days, const char *const *names,
                       const char *const *values, size_t n, struct pv_error *err)
{
    X509 *x = X509_new();
    if (x == NULL) {
        pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        return NULL;
    }
    if (!X509_set_version(x, X509_VERSION_3) || pv_random_serial(x, err) != PV_OK ||
        pv_set_validity(x, days, err) != PV_OK || pv_set_subject(x, names, values, n, err) ||
        !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
        pv_set_pubkey(x, key, err) != PV_OK || pv_ext_basic(x, false, err) != PV_OK) {
        if (err->code == PV_OK) {
            pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot build the certificate");
        }
        X509_free(x);
        return NULL;
    }
    int usage[2] = {KUBIT_DIGITAL_SIGNATURE, KUBIT_KEY_ENCIPHERMENT};
    size_t nusage = EVP_PKEY_is_a(key, "RSA") ? 2 : 1;
    if (pv_ext_key_usage(x, usage, nusage, err) != PV_OK) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static bool dns_name_ok(const char *s, bool wildcard)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.') {
        return false;
    }
    if (wildcard && s[0] == '*' && s[1] == '.') {
        s += 2;
    }
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_') {
            return false;
        }
    }
    return true;
}

/* A device certificate, complete but unsigned, and its key. */
static int build_device(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *dev,
                        struct pv_keypool *pool, X509 **xout, EVP_PKEY **kout, struct pv_error *err)
{
    *xout = NULL;
    *kout = NULL;
    if (dev->id[0] == '\0') {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "the device has no id");
    }
    const char *names[SUBJECT_MAX], *values[SUBJECT_MAX], *san[SAN_MAX];
    char subj[SUBJECT_MAX][256], dns[SAN_MAX][254];
    size_t n = p->device.subject_count < SUBJECT_MAX ? p->device.subject_count : SUBJECT_MAX;
    size_t nsan = p->device.san_dns_count < SAN_MAX ? p->device.san_dns_count : SAN_MAX;
    for (size_t i = 0; i < n; i++) {
        names[i] = p->device.subject[i].name;
        values[i] = subj[i];
        if (pv_template_expand(p->device.subject[i].value, p, dev, subj[i], sizeof subj[i], err)) {
            return pv_error_prefix(err, ".device.subject.%s", names[i]);
        }
    }
    for (size_t i = 0; i < nsan; i++) {
        san[i] = dns[i];
        if (pv_template_expand(p->device.san_dns[i], p, dev, dns[i], sizeof dns[i], err)) {
            return pv_error_prefix(err, ".device.san_dns[%zu]", i);
        }
        if (!dns_name_ok(dns[i], false)) {
            return pv_error_set(err, PV_ERR_INVALID, NULL,
                                ".device.san_dns[%zu]: \"%s\" is not a DNS name", i, dns[i]);
        }
    }
    EVP_PKEY *key = pool ? pv_keypool_take(pool, p->device.key_type) : NULL;
    if (key == NULL && (key = pv_keygen(p->device.key_type, err)) == NULL) {
        return err->code;
    }
    X509 *x = leaf_body(ca, key, p->device.days, names, values, n, err);
    if (x == NULL || pv_ext_eku(x, NID_client_auth, err) != PV_OK ||
        pv_ext_san(x, san, nsan, NULL, 0, err) != PV_OK ||
        pv_ext_key_ids(x, ca->ski, err) != PV_OK) {
        X509_free(x);
        EVP_PKEY_free(key);
        return err->code;
    }
    *xout = x;
    *kout = key;
    return PV_OK;
}

int pv_mint_devices(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *devs,
                    size_t n, struct pv_keypool *pool, struct pv_identity *out,
                    struct pv_error *err)
{
    pv_error_clear(err);
    memset(out, 0, n * sizeof *out);
    X509 **xs = calloc(n ? n : 1, sizeof *xs);
    EVP_PKEY **keys = calloc(n ? n : 1, sizeof *keys);
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    const char **macs = calloc(n ? n : 1, sizeof *macs);
    char(*mac_text)[18] = calloc(n ? n : 1, sizeof *mac_text);
    int rc = xs && keys && ids && macs && mac_text
                 ? PV_OK
                 : pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == PV_OK && i < n; i++) {
        ids[i] = devs[i].id;
        if (devs[i].has_mac) {
            pv_format_mac(devs[i].mac, mac_text[i]);
            macs[i] = mac_text[i];
        }
        rc = build_device(ca, p, &devs[i], pool, &xs[i], &keys[i], err);
        if (rc != PV_OK && n > 1) {
            pv_error_prefix(err, "device %s", devs[i].id);
        }
    }
    if (rc == PV_OK) {
        rc = pv_ca_sign_record_many(ca, xs, "device", ids, macs, n, err);
    }
    for (size_t i = 0; rc == PV_OK && i < n; i++) {
        rc = pv_identity_fill(xs[i], keys[i], devs[i].id, &out[i], err);
    }
    for (size_t i = 0; i < n; i++) {
        if (rc != PV_OK) {
            pv_identity_release(&out[i]);
        }
        if (xs != NULL) {
            X509_free(xs[i]);
        }
        if (keys != NULL) {
            EVP_PKEY_free(keys[i]);
        }
    }
    free(xs);
    free(keys);
    free(ids);
    free(macs);
    free(mac_text);
    return rc;
}

int pv_mint_device(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *dev,
                   struct pv_keypool *pool, struct pv_identity *out, struct pv_error *err)
{
    return pv_mint_devices(ca, p, dev, 1, pool, out, err);
}

int pv_mint_preview(struct pv_ca *ca, const struct pv_profile *p, const struct pv_device *dev,
                    struct pv_identity *out, struct pv_error *err)
{
    pv_error_clear(err);
    memset(out, 0, sizeof *out);
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    int rc = build_device(ca, p, dev, NULL, &x, &key, err);
    /* Signed by its own key: the same shape and size class as the real one,
     * but no CA signature exists that the record would have to account for. */
    if (rc == PV_OK && X509_sign(x, key, EVP_sha256()) <= 0) {
        rc = pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot sign the preview certificate");
    }
    if (rc == PV_OK) {
        rc = pv_identity_fill(x, key, dev->id, out, err);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int pv_mint_server(struct pv_ca *ca, const struct pv_server_req *req, struct pv_identity *out,
                   struct pv_error *err)
{
    memset(out, 0, sizeof *out);
    pv_error_clear(err);
    if (req->dns_count + req->ip_count == 0 || req->dns_count + 2 * req->ip_count > SAN_MAX) {
        return pv_error_set(err, PV_ERR_INVALID, "give --dns NAME and/or --ip ADDR",
                            "a broker certificate needs 1 to %d names and addresses", SAN_MAX / 2);
    }
    if (req->key_type == PV_KEY_RSA3072) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "broker keys are ec-p256 or rsa2048 (rsa3072 is for CAs)");
    }
    const char *dns[SAN_MAX];
    size_t ndns = 0;
    for (size_t i = 0; i < req->dns_count; i++) {
        if (!dns_name_ok(req->dns[i], true)) {
            return pv_error_set(err, PV_ERR_INVALID, NULL, "'%s' is not a DNS name", req->dns[i]);
        }
        dns[ndns++] = req->dns[i];
    }
    /* Stacks that match only dNSName entries (BearSSL, older mbedTLS) need
     * the address as text too (reference §3.3). */
    for (size_t i = 0; i < req->ip_count; i++) {
        dns[ndns++] = req->ips[i];
    }
    const char *cn = req->dns_count ? req->dns[0] : req->ips[0];
    if (strlen(cn) > 64) {
        return pv_error_set(err, PV_ERR_INVALID, "put a shorter name first",
                            "'%s' is longer than a CN may be (64)", cn);
    }
    static const char *const names[] = {"CN"};
    EVP_PKEY *key = pv_keygen(req->key_type, err);
    if (key == NULL) {
        return err->code;
    }
    X509 *x = leaf_body(ca, key, req->days, names, &cn, 1, err);
    int rc = x ? PV_OK : err->code;
    if (rc == PV_OK && (pv_ext_eku(x, NID_server_auth, err) != PV_OK ||
                        pv_ext_san(x, dns, ndns, req->ips, req->ip_count, err) != PV_OK ||
                        pv_ext_key_ids(x, ca->ski, err) != PV_OK ||
                        pv_ca_sign_record(ca, x, "server", cn, err) != PV_OK)) {
        rc = err->code;
    }
    if (rc == PV_OK) {
        rc = pv_identity_fill(x, key, cn, out, err);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* ===== Existing identities and encodings ============================= */

static bool is_pem(const uint8_t *data, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    for (size_t i = 0; i + sizeof tag - 1 <= len && i < 64; i++) {
        if (memcmp(data + i, tag, sizeof tag - 1) == 0) {
            return true;
        }
    }
    return false;
}

static int no_prompt(char *buf, int size, int rwflag, void *user)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)user;
    return -1;
}

/* A certificate in PEM or DER; NULL when it is neither (len <= INT32_MAX). */
static X509 *read_x509(const uint8_t *data, size_t len)
{
    if (is_pem(data, len)) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        X509 *x = b ? PEM_read_bio_X509(b, NULL, no_prompt, NULL) : NULL;
        BIO_free(b);
        return x;
    }
    const unsigned char *p = data;
    return d2i_X509(NULL, &p, (long)len);
}

int pv_identity_load(const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len,
                     struct pv_identity *out, struct pv_error *err)
{
    memset(out, 0, sizeof *out);
    if (cert_len > INT32_MAX || key_len > INT32_MAX) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "certificate or key too large");
    }
    X509 *x = read_x509(cert, cert_len);
    EVP_PKEY *k = NULL;
    if (is_pem(key, key_len)) {
        BIO *b = BIO_new_mem_buf(key, (int)key_len);
        k = b ? PEM_read_bio_PrivateKey(b, NULL, no_prompt, NULL) : NULL;
        BIO_free(b);
    } else {
        const unsigned char *c = key;
        k = d2i_AutoPrivateKey(NULL, &c, (long)key_len);
    }
    ERR_clear_error();
    int rc = PV_OK;
    char cn[PV_ID_MAX + 1] = "";
    if (x == NULL) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "the certificate is neither DER nor PEM");
    } else if (k == NULL) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL,
                          "the private key is not an unencrypted PKCS#8, SEC1 or PKCS#1 key");
    } else if (X509_check_private_key(x, k) != 1) {
        ERR_clear_error();
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "the certificate and the key do not match");
    } else if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) <=
               0) {
        ERR_clear_error();
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "the certificate has no usable CN");
    } else {
        rc = pv_identity_fill(x, k, cn, out, err);
    }
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

static int pem_wrap(const char *label, const uint8_t *der, size_t len, bool secret, uint8_t **out,
                    size_t *out_len, struct pv_error *err)
{
    /* Key text goes through the secure-heap BIO, which wipes on free. */
    BIO *b = BIO_new(secret ? BIO_s_secmem() : BIO_s_mem());
    char *data = NULL;
    long n = 0;
    if (b == NULL || PEM_write_bio(b, label, "", der, (long)len) <= 0 ||
        (n = BIO_get_mem_data(b, &data)) <= 0 || (*out = malloc((size_t)n + 1)) == NULL) {
        BIO_free(b);
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot PEM-encode");
    }
    memcpy(*out, data, (size_t)n);
    (*out)[n] = '\0';
    *out_len = (size_t)n;
    BIO_free(b);
    return PV_OK;
}

static int encode(const char *label, const uint8_t *der, size_t len, enum pv_format f, bool secret,
                  uint8_t **out, size_t *out_len, struct pv_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (f == PV_FORMAT_PEM) {
        return pem_wrap(label, der, len, secret, out, out_len, err);
    }
    if ((*out = malloc(len ? len : 1)) == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    memcpy(*out, der, len);
    *out_len = len;
    return PV_OK;
}

int pv_encode_cert(const uint8_t *der, size_t len, enum pv_format f, uint8_t **out, size_t *out_len,
                   struct pv_error *err)
{
    return encode("CERTIFICATE", der, len, f, false, out, out_len, err);
}

int pv_encode_key(const uint8_t *der, size_t len, enum pv_format f, uint8_t **out, size_t *out_len,
                  struct pv_error *err)
{
    return encode("PRIVATE KEY", der, len, f, true, out, out_len, err);
}

/* ===== Inspection ===================================================== */

static void name_text(const X509_NAME *name, char *out, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    out[0] = '\0';
    if (b != NULL && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(b, out, (int)len - 1);
        out[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
}

int pv_cert_info(const uint8_t *der, size_t len, struct pv_cert_info *out, struct pv_error *err)
{
    memset(out, 0, sizeof *out);
    X509 *x = len <= INT32_MAX ? read_x509(der, len) : NULL;
    if (x == NULL) {
        ERR_clear_error();
        return pv_error_set(err, PV_ERR_INVALID, NULL, "not a DER or PEM certificate");
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    name_text(X509_get_subject_name(x), out->subject, sizeof out->subject);
    name_text(X509_get_issuer_name(x), out->issuer, sizeof out->issuer);
    pv_serial_hex(X509_get0_serialNumber(x), out->serial, sizeof out->serial);
    if (X509_digest(x, EVP_sha256(), md, &mdlen)) {
        for (unsigned i = 0; i < mdlen && i < 32; i++) {
            snprintf(out->sha256 + 2 * i, 3, "%02x", md[i]);
        }
    }
    out->not_before = pv_asn1_time_unix(X509_get0_notBefore(x));
    out->not_after = pv_asn1_time_unix(X509_get0_notAfter(x));
    X509_free(x);
    return PV_OK;
}

int pv_identity_issued_by(const struct pv_identity *ident, const uint8_t *ca_der, size_t ca_len,
                          struct pv_error *err)
{
    const unsigned char *p = ca_der, *q = ident->cert_der;
    X509 *ca = d2i_X509(NULL, &p, (long)ca_len);
    X509 *x = d2i_X509(NULL, &q, (long)ident->cert_der_len);
    int ok = ca != NULL && x != NULL && X509_check_issued(ca, x) == X509_V_OK &&
             X509_verify(x, X509_get0_pubkey(ca)) == 1;
    ERR_clear_error();
    X509_free(ca);
    X509_free(x);
    if (!ok) {
        return pv_error_set(
            err, PV_ERR_INVALID, "mint a new identity, or use the profile of the CA that issued it",
            "the certificate of '%s' was not issued by this profile's CA", ident->id);
    }
    return PV_OK;
}

int pv_identity_key_matches(const struct pv_identity *ident, struct pv_error *err)
{
    const unsigned char *c = ident->cert_der, *k = ident->key_der;
    X509 *x = d2i_X509(NULL, &c, (long)ident->cert_der_len);
    EVP_PKEY *key = k ? d2i_AutoPrivateKey(NULL, &k, (long)ident->key_der_len) : NULL;
    int ok = x != NULL && key != NULL && X509_check_private_key(x, key) == 1;
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(x);
    if (!ok) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "the key beside the certificate of '%s' is not the certificate's key",
                            ident->id);
    }
    return PV_OK;
}
