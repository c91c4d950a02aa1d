/* CA creation and loading, device and broker certificates checked field by field. */
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pki_fixture.h"
#include "test.h"
#include "provision/pki/pki.h"

static int ext_critical(X509 *x, int nid)
{
    int idx = X509_get_ext_by_NID(x, nid, -1);
    return idx < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, idx));
}

TEST(ca_init_writes_an_encrypted_key_and_a_proper_root)
{
    struct fixture f;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&f, NULL, NULL, &err), PV_OK);
    int rc = pv_ca_create(f.p, FIX_PASS, &err);
    ASSERT_MSG(rc == PV_OK, "%s", err.msg);
    struct stat st;
    ASSERT(stat(f.p->ca.key, &st) == 0);
    ASSERT_EQ_UINT(st.st_mode & 0777, 0600);
    ASSERT(stat(f.p->ca.db, &st) == 0);
    ASSERT_EQ_UINT(st.st_mode & 0777, 0600);
    ASSERT(file_contains(f.p->ca.key, (const uint8_t *)"BEGIN ENCRYPTED PRIVATE KEY", 27));
    ASSERT(pv_ca_key_is_encrypted(f.p));
    /* The key is PBES2 with AES-256: OpenSSL reads it back only with the passphrase. */
    FILE *kf = fopen(f.p->ca.key, "r");
    ASSERT(kf != NULL);
    char pass[] = FIX_PASS;
    EVP_PKEY *k = PEM_read_PrivateKey(kf, NULL, NULL, pass);
    fclose(kf);
    ASSERT(k != NULL);
    ASSERT(EVP_PKEY_is_a(k, "EC"));
    ASSERT_EQ_INT(EVP_PKEY_get_bits(k), 256);
    EVP_PKEY_free(k);
    uint8_t *der = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(pv_ca_cert_read(f.p, &der, &len, &err), PV_OK);
    X509 *ca = der_cert(der, len);
    free(der);
    ASSERT(ca != NULL);
    ASSERT_EQ_INT(X509_check_ca(ca), 1);
    ASSERT_EQ_INT(ext_critical(ca, NID_basic_constraints), 1);
    ASSERT_EQ_INT(ext_critical(ca, NID_key_usage), 1);
    ASSERT_EQ_UINT(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    ASSERT_EQ_INT(X509_get_pathlen(ca), 0);
    ASSERT(X509_get0_subject_key_id(ca) != NULL);
    ASSERT_EQ_INT(X509_check_issued(ca, ca), X509_V_OK);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn);
    ASSERT_STREQ(cn, "fixture CA");
    ASSERT_EQ_INT(verify_chain(ca, ca, X509_PURPOSE_ANY, NULL), 0);
    X509_free(ca);
    /* A second init refuses and leaves the first CA alone. */
    ASSERT_EQ_INT(pv_ca_create(f.p, FIX_PASS, &err), PV_ERR_EXISTS);
    ASSERT_CONTAINS(err.msg, "refusing to overwrite");
    struct pv_ca *handle = NULL;
    ASSERT_EQ_INT(pv_ca_open(f.p, FIX_PASS, &handle, &err), PV_OK);
    pv_ca_free(handle);
    fixture_close(&f);
}

TEST(wrong_passphrase_and_short_passphrase)
{
    struct fixture f;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&f, NULL, NULL, &err), PV_OK);
    ASSERT_EQ_INT(pv_ca_create(f.p, "short", &err), PV_ERR_INVALID);
    ASSERT(strstr(err.msg, "short") == NULL);
    ASSERT_EQ_INT(pv_ca_create(f.p, FIX_PASS, &err), PV_OK);
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(pv_ca_open(f.p, "not-the-passphrase", &ca, &err), PV_ERR_CRYPTO);
    ASSERT(ca == NULL);
    ASSERT_STREQ(err.msg, "could not decrypt the CA key: wrong passphrase");
    ASSERT_EQ_INT(pv_ca_open(f.p, NULL, &ca, &err), PV_ERR_CRYPTO);
    ASSERT_CONTAINS(err.msg, "is encrypted and no passphrase was given");
    fixture_close(&f);
}

TEST(mismatched_cert_and_key_are_refused)
{
    struct fixture a, b;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&a, NULL, NULL, &err), PV_OK);
    ASSERT_EQ_INT(fixture_open(&b, NULL, NULL, &err), PV_OK);
    ASSERT_EQ_INT(pv_ca_create(a.p, FIX_PASS, &err), PV_OK);
    ASSERT_EQ_INT(pv_ca_create(b.p, FIX_PASS, &err), PV_OK);
    free(a.p->ca.key);
    a.p->ca.key = strdup(b.p->ca.key);
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(pv_ca_open(a.p, FIX_PASS, &ca, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "do not match");
    /* The record of one CA is not taken for another's. */
    free(b.p->ca.db);
    b.p->ca.db = strdup(a.p->ca.db);
    ASSERT_EQ_INT(pv_ca_open(b.p, FIX_PASS, &ca, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "belongs to another CA");
    fixture_close(&a);
    fixture_close(&b);
}

TEST(expired_ca_is_refused)
{
    struct fixture f;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&f, NULL, NULL, &err), PV_OK);
    /* An expired CA made with OpenSSL directly (no espprov path creates one). */
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3 * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), -86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"old CA", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(x, k, EVP_sha256());
    char dir[128];
    snprintf(dir, sizeof dir, "%s/ca", f.dir);
    mkdir(dir, 0700);
    FILE *cf = fopen(f.p->ca.cert, "w");
    FILE *kf = fopen(f.p->ca.key, "w");
    ASSERT(cf != NULL && kf != NULL);
    PEM_write_X509(cf, x);
    PEM_write_PKCS8PrivateKey(kf, k, EVP_aes_256_cbc(), FIX_PASS, (int)strlen(FIX_PASS), NULL,
                              NULL);
    fclose(cf);
    fclose(kf);
    X509_free(x);
    EVP_PKEY_free(k);
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(pv_ca_open(f.p, FIX_PASS, &ca, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "expired on");
    fixture_close(&f);
}

static void check_device_cert(struct t_ctx *t_, X509 *ca, const struct pv_identity *id, bool rsa)
{
    X509 *x = der_cert(id->cert_der, id->cert_der_len);
    ASSERT(x != NULL);
    ASSERT_EQ_INT(X509_get_version(x), X509_VERSION_3);
    ASSERT_EQ_INT(verify_chain(ca, x, X509_PURPOSE_SSL_CLIENT, NULL), 0);
    /* Refused for the server purpose: clientAuth only. */
    ASSERT(verify_chain(ca, x, X509_PURPOSE_SSL_SERVER, NULL) != 0);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    ASSERT_EQ_INT(ASN1_STRING_length(serial), 16);
    ASSERT_EQ_INT(ASN1_STRING_type(serial), V_ASN1_INTEGER); /* positive */
    ASSERT(ASN1_STRING_get0_data(serial)[0] != 0);
    ASSERT_EQ_INT(strlen(id->serial), 32);
    ASSERT_EQ_INT(ext_critical(x, NID_basic_constraints), 1);
    ASSERT_EQ_INT(X509_check_ca(x), 0);
    ASSERT_EQ_INT(ext_critical(x, NID_key_usage), 1);
    ASSERT_EQ_UINT(X509_get_key_usage(x),
                   rsa ? (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT) : KU_DIGITAL_SIGNATURE);
    ASSERT_EQ_UINT(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
    ASSERT(X509_get0_subject_key_id(x) != NULL);
    ASSERT_EQ_INT(
        ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(ca)), 0);
    ASSERT_EQ_INT(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)), 0);
    char cn[80];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    ASSERT_STREQ(cn, id->id);
    unsigned char md[32];
    unsigned int mdlen = 0;
    X509_digest(x, EVP_sha256(), md, &mdlen);
    char hex[65];
    for (unsigned i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    ASSERT_STREQ(hex, id->sha256);
    /* The key is unencrypted PKCS#8 DER, of the profile's type, matching the cert. */
    const unsigned char *kp = id->key_der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &kp, (long)id->key_der_len);
    ASSERT(p8 != NULL);
    EVP_PKEY *k = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8);
    ASSERT(k != NULL);
    ASSERT(EVP_PKEY_is_a(k, rsa ? "RSA" : "EC"));
    ASSERT_EQ_INT(EVP_PKEY_get_bits(k), rsa ? 2048 : 256);
    ASSERT_EQ_INT(X509_check_private_key(x, k), 1);
    EVP_PKEY_free(k);
    X509_free(x);
}

static X509 *open_ca_cert(struct pv_ca *ca)
{
    const uint8_t *der;
    size_t len;
    pv_ca_cert_der(ca, &der, &len);
    return der_cert(der, len);
}

struct collect {
    struct pv_issued rows[200];
    size_t n;
};

static int collect_row(void *user, const struct pv_issued *r)
{
    struct collect *c = user;
    if (c->n < 200) {
        c->rows[c->n++] = *r;
    }
    return 0;
}

TEST(device_certificate_ec_field_by_field)
{
    struct fixture f;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&f,
                               "{\"days\":\"never\",\"subject\":{\"O\":\"Acme\",\"CN\":\"{id}\"},"
                               "\"san_dns\":[\"{id}\",\"{id}.local\"]}",
                               NULL, &err),
                  PV_OK);
    ASSERT_EQ_INT(pv_ca_create(f.p, FIX_PASS, &err), PV_OK);
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(pv_ca_open(f.p, FIX_PASS, &ca, &err), PV_OK);
    uint8_t mac[6] = {0xa4, 0xcf, 0x12, 0x34, 0x56, 0x78};
    struct pv_device dev;
    ASSERT_EQ_INT(pv_device_init(&dev, f.p, NULL, mac, -1, NULL, &err), PV_OK);
    struct pv_identity id;
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &dev, NULL, &id, &err), PV_OK);
    ASSERT_STREQ(id.id, "esp-a4cf12345678");
    X509 *cacert = open_ca_cert(ca);
    check_device_cert(t_, cacert, &id, false);
    X509 *x = der_cert(id.cert_der, id.cert_der_len);
    /* "never": GeneralizedTime 99991231235959Z (RFC 5280 §4.1.2.5). */
    const ASN1_TIME *na = X509_get0_notAfter(x);
    ASSERT_EQ_INT(ASN1_STRING_type(na), V_ASN1_GENERALIZEDTIME);
    ASSERT_STREQ((const char *)ASN1_STRING_get0_data(na), "99991231235959Z");
    ASSERT(id.not_after == INT64_MAX);
    GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    ASSERT(san != NULL);
    ASSERT_EQ_INT(sk_GENERAL_NAME_num(san), 2);
    int type;
    ASN1_IA5STRING *dns = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(san, 1), &type);
    ASSERT_EQ_INT(type, GEN_DNS);
    ASSERT_STREQ((const char *)ASN1_STRING_get0_data(dns), "esp-a4cf12345678.local");
    GENERAL_NAMES_free(san);
    char org[32];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, org, sizeof org);
    ASSERT_STREQ(org, "Acme");
    X509_free(x);
    /* Recorded (never the key): serial, id, fingerprint. */
    struct collect *c = calloc(1, sizeof *c);
    ASSERT_EQ_INT(pv_issued_list(f.p, collect_row, c, &err), PV_OK);
    ASSERT_EQ_INT(c->n, 1);
    ASSERT_STREQ(c->rows[0].serial, id.serial);
    ASSERT_STREQ(c->rows[0].id, "esp-a4cf12345678");
    ASSERT_STREQ(c->rows[0].kind, "device");
    ASSERT_STREQ(c->rows[0].sha256, id.sha256);
    free(c);
    pv_ca_free(ca); /* closes the database: its files are complete */
    /* The private scalar appears nowhere in the record. */
    const unsigned char *kp = id.key_der;
    EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &kp, (long)id.key_der_len);
    BIGNUM *priv = NULL;
    ASSERT(k != NULL && EVP_PKEY_get_bn_param(k, "priv", &priv));
    unsigned char scalar[32];
    ASSERT_EQ_INT(BN_bn2binpad(priv, scalar, 32), 32);
    BN_clear_free(priv);
    EVP_PKEY_free(k);
    ASSERT(file_contains(f.p->ca.db, id.cert_der, id.cert_der_len));
    ASSERT(!file_contains(f.p->ca.db, scalar, 32));
    X509_free(cacert);
    pv_identity_release(&id);
    fixture_close(&f);
}

TEST(device_certificate_rsa_from_the_key_pool)
{
    struct fixture f;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&f, "{\"key_type\":\"rsa2048\",\"days\":365}", NULL, &err), PV_OK);
    ASSERT_EQ_INT(pv_ca_create(f.p, FIX_PASS, &err), PV_OK);
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(pv_ca_open(f.p, FIX_PASS, &ca, &err), PV_OK);
    struct pv_keypool *pool = NULL;
    ASSERT_EQ_INT(pv_keypool_new(PV_KEY_RSA2048, 1, 2, &pool, &err), PV_OK);
    pv_keypool_wait(pool, 1);
    struct pv_device dev;
    ASSERT_EQ_INT(pv_device_init(&dev, f.p, "rsa-dev", NULL, -1, NULL, &err), PV_OK);
    struct pv_identity id;
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &dev, pool, &id, &err), PV_OK);
    X509 *cacert = open_ca_cert(ca);
    check_device_cert(t_, cacert, &id, true);
    X509 *x = der_cert(id.cert_der, id.cert_der_len);
    int64_t life = id.not_after - (int64_t)time(NULL);
    ASSERT(life > 364 * 86400 && life <= 365 * 86400);
    X509_free(x);
    X509_free(cacert);
    pv_identity_release(&id);
    pv_keypool_free(pool);
    pv_ca_free(ca);
    fixture_close(&f);
}

TEST(broker_certificate_names_and_purpose)
{
    struct fixture f;
    struct pv_error err;
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(fixture_with_ca(&f, &ca, &err), PV_OK);
    const char *dns[] = {"localhost", "broker.lan"};
    const char *ips[] = {"127.0.0.1", "::1"};
    struct pv_server_req req = {dns, 2, ips, 2, PV_KEY_EC_P256, 3650};
    struct pv_identity id;
    ASSERT_EQ_INT(pv_mint_server(ca, &req, &id, &err), PV_OK);
    X509 *cacert = open_ca_cert(ca);
    X509 *x = der_cert(id.cert_der, id.cert_der_len);
    ASSERT_EQ_INT(verify_chain(cacert, x, X509_PURPOSE_SSL_SERVER, NULL), 0);
    ASSERT_EQ_UINT(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
    ASSERT_EQ_INT(X509_check_host(x, "broker.lan", 0, 0, NULL), 1);
    ASSERT_EQ_INT(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    ASSERT_EQ_INT(X509_check_ip_asc(x, "::1", 0), 1);
    /* The address also as a DNS name, for stacks that only match dNSName. */
    ASSERT_EQ_INT(X509_check_host(x, "127.0.0.1", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL), 1);
    ASSERT_STREQ(id.id, "localhost");
    req.days = 0;
    pv_identity_release(&id);
    ASSERT_EQ_INT(pv_mint_server(ca, &req, &id, &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "validity of 0 days");
    const char *bad[] = {"300.1.1.1"};
    struct pv_server_req req2 = {NULL, 0, bad, 1, PV_KEY_EC_P256, 10};
    ASSERT_EQ_INT(pv_mint_server(ca, &req2, &id, &err), PV_ERR_INVALID);
    X509_free(x);
    X509_free(cacert);
    pv_ca_free(ca);
    fixture_close(&f);
}

TEST(identity_round_trips_through_der_and_pem)
{
    struct fixture f;
    struct pv_error err;
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(fixture_with_ca(&f, &ca, &err), PV_OK);
    struct pv_device dev;
    ASSERT_EQ_INT(pv_device_init(&dev, f.p, "round-trip", NULL, -1, NULL, &err), PV_OK);
    struct pv_identity a, b, c;
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &dev, NULL, &a, &err), PV_OK);
    uint8_t *cp = NULL, *kp = NULL;
    size_t cl = 0, kl = 0;
    ASSERT_EQ_INT(pv_encode_cert(a.cert_der, a.cert_der_len, PV_FORMAT_PEM, &cp, &cl, &err), PV_OK);
    ASSERT_EQ_INT(pv_encode_key(a.key_der, a.key_der_len, PV_FORMAT_PEM, &kp, &kl, &err), PV_OK);
    ASSERT_CONTAINS((const char *)cp, "-----BEGIN CERTIFICATE-----");
    ASSERT_CONTAINS((const char *)kp, "-----BEGIN PRIVATE KEY-----");
    ASSERT_EQ_INT(pv_identity_load(cp, cl, kp, kl, &b, &err), PV_OK);
    ASSERT_STREQ(b.id, "round-trip");
    ASSERT_STREQ(b.serial, a.serial);
    ASSERT_EQ_INT(b.key_der_len, a.key_der_len);
    ASSERT_MEMEQ(b.key_der, a.key_der, a.key_der_len);
    ASSERT_EQ_INT(pv_identity_load(a.cert_der, a.cert_der_len, a.key_der, a.key_der_len, &c, &err),
                  PV_OK);
    ASSERT_STREQ(c.sha256, a.sha256);
    pv_identity_release(&c);
    struct pv_identity other;
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &dev, NULL, &other, &err), PV_OK);
    ASSERT_EQ_INT(
        pv_identity_load(a.cert_der, a.cert_der_len, other.key_der, other.key_der_len, &c, &err),
        PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "do not match");
    free(cp);
    pv_secret_free(kp, kl);
    pv_identity_release(&a);
    pv_identity_release(&b);
    pv_identity_release(&other);
    pv_ca_free(ca);
    fixture_close(&f);
}

TEST(p256_encodings_match_openssl_byte_for_byte)
{
    struct fixture f;
    struct pv_error err;
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(fixture_with_ca(&f, &ca, &err), PV_OK);
    struct pv_device devs[20];
    struct pv_identity ids[20];
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "enc-%d", i);
        ASSERT_EQ_INT(pv_device_init(&devs[i], f.p, name, NULL, -1, NULL, &err), PV_OK);
    }
    /* One batch: one transaction for all twenty. */
    ASSERT_EQ_INT(pv_mint_devices(ca, f.p, devs, 20, NULL, ids, &err), PV_OK);
    for (int i = 0; i < 20; i++) {
        const unsigned char *kp = ids[i].key_der;
        EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &kp, (long)ids[i].key_der_len);
        ASSERT(k != NULL);
        PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
        unsigned char *ref = NULL;
        int n = i2d_PKCS8_PRIV_KEY_INFO(p8, &ref);
        ASSERT_EQ_INT(n, ids[i].key_der_len);
        ASSERT_MEMEQ(ref, ids[i].key_der, (size_t)n);
        OPENSSL_clear_free(ref, (size_t)n);
        PKCS8_PRIV_KEY_INFO_free(p8);
        /* The certificate's SubjectPublicKeyInfo as X509_set_pubkey writes it. */
        X509 *x = der_cert(ids[i].cert_der, ids[i].cert_der_len);
        X509 *y = X509_new();
        ASSERT(x != NULL && y != NULL && X509_set_pubkey(y, k));
        unsigned char *a = NULL, *b = NULL;
        int la = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a);
        int lb = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(y), &b);
        ASSERT_EQ_INT(la, lb);
        ASSERT_MEMEQ(a, b, (size_t)la);
        OPENSSL_free(a);
        OPENSSL_free(b);
        X509_free(x);
        X509_free(y);
        EVP_PKEY_free(k);
        pv_identity_release(&ids[i]);
    }
    pv_ca_free(ca);
    fixture_close(&f);
}

TEST_MAIN(RUN(p256_encodings_match_openssl_byte_for_byte);
          RUN(ca_init_writes_an_encrypted_key_and_a_proper_root);
          RUN(wrong_passphrase_and_short_passphrase); RUN(mismatched_cert_and_key_are_refused);
          RUN(expired_ca_is_refused); RUN(device_certificate_ec_field_by_field);
          RUN(device_certificate_rsa_from_the_key_pool); RUN(broker_certificate_names_and_purpose);
          RUN(identity_round_trips_through_der_and_pem);)
