/* Certificate building blocks shared by the CA, device and server certificates. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "provision/pki/pki_priv.h"

int pv_ossl_error(struct pv_error *err, int code, const char *hint, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char reason[200] = "";
    if (e != 0) {
        const char *r = ERR_reason_error_string(e);
        snprintf(reason, sizeof reason, ": %s", r ? r : "unknown OpenSSL error");
    }
    ERR_clear_error();
    return pv_error_set(err, code, hint, "%s%s", what, reason);
}

EVP_PKEY *pv_keygen(enum pv_key_type type, struct pv_error *err)
{
    EVP_PKEY *k = NULL;
    switch (type) {
    case PV_KEY_RSA2048:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case PV_KEY_RSA3072:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
        break;
    case PV_KEY_EC_P256:
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    default:
        pv_error_set(err, PV_ERR_INVALID, NULL, "unknown key type %d", (int)type);
        return NULL;
    }
    if (k == NULL) {
        pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "key generation failed");
    }
    return k;
}

int pv_random_serial(X509 *x, struct pv_error *err)
{
    unsigned char b[16];
    do {
        if (RAND_bytes(b, sizeof b) != 1) {
            return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "no random bytes for a serial");
        }
        b[0] &= 0x7f;    /* positive */
    } while (b[0] == 0); /* a leading zero byte would shorten the DER to 15 octets */
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? PV_OK : pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot set the serial");
}

int pv_set_validity(X509 *x, int32_t days, struct pv_error *err)
{
    if (days != PV_DAYS_NEVER && days <= 0) {
        return pv_error_set(err, PV_ERR_INVALID, "give a positive number of days or \"never\"",
                            "validity of %d days is not possible", (int)days);
    }
    time_t now = time(NULL);
    /* Five minutes of slack for clocks a little behind ours. */
    if (X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, &now) == NULL) {
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot set notBefore");
    }
    int ok = days == PV_DAYS_NEVER
                 ? ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z")
                 : X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) != NULL;
    return ok ? PV_OK : pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot set notAfter");
}

int pv_set_subject(X509 *x, const char *const *names, const char *const *values, size_t n,
                   struct pv_error *err)
{
    X509_NAME *name = X509_get_subject_name(x);
    for (size_t i = 0; i < n; i++) {
        if (!X509_NAME_add_entry_by_txt(name, names[i], MBSTRING_UTF8,
                                        (const unsigned char *)values[i], -1, -1, 0)) {
            char what[160];
            snprintf(what, sizeof what, "subject %s=\"%.60s\" is not usable", names[i], values[i]);
            return pv_ossl_error(err, PV_ERR_INVALID, NULL, what);
        }
    }
    return PV_OK;
}

static int add_ext(X509 *x, int nid, void *value, int crit, struct pv_error *err)
{
    if (X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) != 1) {
        char what[96];
        snprintf(what, sizeof what, "cannot add the %s extension", OBJ_nid2sn(nid));
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, what);
    }
    return PV_OK;
}

int pv_ext_basic(X509 *x, bool ca, struct pv_error *err)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    if (bc == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = PV_OK;
    if (ca) {
        /* pathlen:0: this CA signs end-entity certificates only. */
        bc->ca = 0xff;
        bc->pathlen = ASN1_INTEGER_new();
        if (bc->pathlen == NULL || !ASN1_INTEGER_set(bc->pathlen, 0)) {
            rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        }
    }
    if (rc == PV_OK) {
        rc = add_ext(x, NID_basic_constraints, bc, 1, err);
    }
    BASIC_CONSTRAINTS_free(bc);
    return rc;
}

int pv_ext_key_usage(X509 *x, const int *bits, size_t n, struct pv_error *err)
{
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    int rc = ku ? PV_OK : pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == PV_OK && i < n; i++) {
        if (!ASN1_BIT_STRING_set_bit(ku, bits[i], 1)) {
            rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        }
    }
    if (rc == PV_OK) {
        rc = add_ext(x, NID_key_usage, ku, 1, err);
    }
    ASN1_BIT_STRING_free(ku);
    return rc;
}

int pv_ext_eku(X509 *x, int nid, struct pv_error *err)
{
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    ASN1_OBJECT *obj = OBJ_nid2obj(nid);
    int rc = PV_OK;
    if (eku == NULL || obj == NULL || !sk_ASN1_OBJECT_push(eku, obj)) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    } else {
        rc = add_ext(x, NID_ext_key_usage, eku, 0, err);
    }
    sk_ASN1_OBJECT_free(eku); /* OBJ_nid2obj objects are static */
    return rc;
}

static int push_name(GENERAL_NAMES *gens, int type, ASN1_STRING *value)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    if (g == NULL || value == NULL) {
        GENERAL_NAME_free(g);
        ASN1_STRING_free(value);
        return -1;
    }
    GENERAL_NAME_set0_value(g, type, value);
    if (!sk_GENERAL_NAME_push(gens, g)) {
        GENERAL_NAME_free(g);
        return -1;
    }
    return 0;
}

int pv_ext_san(X509 *x, const char *const *dns, size_t ndns, const char *const *ips, size_t nips,
               struct pv_error *err)
{
    if (ndns + nips == 0) {
        return PV_OK;
    }
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int rc = gens ? PV_OK : pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == PV_OK && i < ndns; i++) {
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        if (s != NULL && !ASN1_STRING_set(s, dns[i], -1)) {
            ASN1_IA5STRING_free(s);
            s = NULL;
        }
        if (push_name(gens, GEN_DNS, s) != 0) {
            rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        }
    }
    for (size_t i = 0; rc == PV_OK && i < nips; i++) {
        ASN1_OCTET_STRING *ip = a2i_IPADDRESS(ips[i]);
        if (ip == NULL) {
            ERR_clear_error();
            rc = pv_error_set(err, PV_ERR_INVALID, "give an IPv4 or IPv6 address",
                              "'%s' is not an IP address", ips[i]);
        } else if (push_name(gens, GEN_IPADD, ip) != 0) {
            rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        }
    }
    if (rc == PV_OK) {
        rc = add_ext(x, NID_subject_alt_name, gens, 0, err);
    }
    GENERAL_NAMES_free(gens);
    return rc;
}

int pv_ext_key_ids(X509 *x, const ASN1_OCTET_STRING *issuer_ski, struct pv_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    /* RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
    if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen)) {
        return pv_ossl_error(err, PV_ERR_CRYPTO, NULL, "cannot hash the public key");
    }
    ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    int rc = PV_OK;
    if (ski == NULL || akid == NULL || !ASN1_OCTET_STRING_set(ski, md, (int)mdlen) ||
        (akid->keyid = ASN1_OCTET_STRING_dup(issuer_ski ? issuer_ski : ski)) == NULL) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    if (rc == PV_OK) {
        rc = add_ext(x, NID_subject_key_identifier, ski, 0, err);
    }
    if (rc == PV_OK) {
        rc = add_ext(x, NID_authority_key_identifier, akid, 0, err);
    }
    ASN1_OCTET_STRING_free(ski);
    AUTHORITY_KEYID_free(akid);
    return rc;
}

int64_t pv_asn1_time_unix(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    if (tm.tm_year + 1900 == 9999 && tm.tm_mon == 11 && tm.tm_mday == 31) {
        return INT64_MAX;
    }
    return (int64_t)timegm(&tm);
}

int pv_serial_hex(const ASN1_INTEGER *serial, char *out, size_t len)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int rc = hex != NULL && strlen(hex) < len ? PV_OK : PV_ERR_INVALID;
    if (rc == PV_OK) {
        snprintf(out, len, "%s", hex);
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

void pv_serial_canon(const char *serial, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = serial; *s != '\0' && n + 1 < cap; s++) {
        if (*s == ':' || (n == 0 && *s == '0')) {
            continue;
        }
        out[n++] = (char)toupper((unsigned char)*s);
    }
    out[n] = '\0';
}

bool pv_serial_same(const char *a, const char *b)
{
    char x[80], y[80];
    pv_serial_canon(a, x, sizeof x);
    pv_serial_canon(b, y, sizeof y);
    return strcmp(x, y) == 0;
}
