/*
 * No private key, passphrase or password may reach the ledger file, whatever
 * the caller passes: registered secrets planted in every text field and a
 * real PEM private key inside an error message must be absent from the
 * database, its WAL and the exports, byte for byte.
 */
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

#define SHA       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define CA_PASS   "correct horse battery staple"
#define WIFI_PASS "Wifi-Pa55word!"
#define MQTT_PASS "mq-s3cret"

static size_t slurp(const char *path, unsigned char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return 0;
    }
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)r;
    }
    close(fd);
    return n;
}

static bool contains(const unsigned char *hay, size_t n, const void *needle, size_t len)
{
    return len > 0 && memmem(hay, n, needle, len) != NULL;
}

struct key {
    char pem[1024];
    unsigned char der[256];
    size_t der_len;
    unsigned char scalar[32];
};

static bool make_key(struct key *k)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    BIGNUM *priv = NULL;
    bool ok = pkey && bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    if (ok) {
        int n = BIO_read(bio, k->pem, sizeof k->pem - 1);
        ok = n > 0;
        k->pem[ok ? n : 0] = '\0';
    }
    unsigned char *p = k->der;
    int der = ok ? i2d_PrivateKey(pkey, NULL) : -1;
    ok = ok && der > 0 && (size_t)der <= sizeof k->der && i2d_PrivateKey(pkey, &p) == der;
    k->der_len = ok ? (size_t)der : 0;
    ok = ok && EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1 &&
         BN_bn2binpad(priv, k->scalar, sizeof k->scalar) == sizeof k->scalar;
    BN_clear_free(priv);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return ok;
}

/* Scans one file for every planted secret; returns what leaked or NULL. */
static const char *leak_in(const char *path, const struct key *k)
{
    static unsigned char buf[4 << 20];
    size_t n = slurp(path, buf, sizeof buf);
    const char *texts[] = {CA_PASS, WIFI_PASS, MQTT_PASS, "PRIVATE KEY"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (contains(buf, n, texts[i], strlen(texts[i]))) {
            return texts[i];
        }
    }
    /* The first base64 line of the PEM body, the DER and the raw scalar. */
    const char *body = strchr(k->pem, '\n') + 1;
    if (contains(buf, n, body, strcspn(body, "\n"))) {
        return "the PEM body";
    }
    if (contains(buf, n, k->der, k->der_len)) {
        return "the DER key";
    }
    if (contains(buf, n, k->scalar + 8, 16)) {
        return "the private scalar";
    }
    return NULL;
}

TEST(planted_secrets_never_reach_the_file)
{
    struct key k;
    ASSERT(make_key(&k));
    char dir[] = "/tmp/espprov-ledger-secrets-XXXXXX", path[128], wal[140], csv[140], json[140];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(csv, sizeof csv, "%s/export.csv", dir);
    snprintf(json, sizeof json, "%s/export.json", dir);
    struct pv_ledger *lg = NULL;
    struct pv_error err = {0};
    ASSERT_EQ_INT(pv_ledger_open(path, &lg, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_add_secret(lg, "Pa55", &err), PV_OK); /* a part of another */
    ASSERT_EQ_INT(pv_ledger_add_secret(lg, CA_PASS, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_add_secret(lg, WIFI_PASS, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_add_secret(lg, MQTT_PASS, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_add_secret(lg, "", &err), PV_OK);

    /* Secrets in every free-text field a careless caller could fill. */
    int64_t id = 0, seq = 0;
    ASSERT_EQ_INT(pv_ledger_begin(lg, PV_LEDGER_PROVISION, "lab " WIFI_PASS,
                                  "rfc2217://" MQTT_PASS "@host:4000", &id, &err),
                  PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(lg, id, "esp" MQTT_PASS, "a4:cf:12:00:00:01", 0, &err),
                  PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(lg, id, &seq, &err), PV_OK);
    struct pv_ledger_identity ident = {"dev-" CA_PASS, "01", SHA, 2000000000, 0};
    ASSERT_EQ_INT(pv_ledger_minted(lg, id, &ident, &err), PV_OK);
    char error[2048];
    snprintf(error, sizeof error,
             "cannot decrypt the CA key with passphrase '%s' (wifi '%s'): key follows\n%s"
             "and an unterminated one: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE",
             CA_PASS, WIFI_PASS, k.pem);
    ASSERT_EQ_INT(pv_ledger_fail(lg, id, PV_STEP_WRITTEN, error, &err), PV_OK);
    int count = 0;
    ASSERT_EQ_INT(pv_ledger_revoke(lg, "01", "leaked " CA_PASS, &count, &err), PV_OK);
    ASSERT_EQ_INT(count, 1);

    /* What the caller reads back is redacted too, and still says something. */
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(lg, id, &row, &err), PV_OK);
    ASSERT_STREQ(row.profile, "lab [redacted]");
    ASSERT_STREQ(row.device_id, "dev-[redacted]");
    ASSERT_CONTAINS(row.error, "cannot decrypt the CA key with passphrase '[redacted]' (wifi "
                               "'[redacted]'): key follows [redacted]");
    ASSERT_CONTAINS(row.error, "and an unterminated one: [redacted]");
    ASSERT(strstr(row.error, "MHcC") == NULL);

    /* A refusal does not echo the secret either. */
    char huge[400];
    snprintf(huge, sizeof huge, "%0300d" CA_PASS, 0);
    ASSERT_EQ_INT(pv_ledger_begin(lg, PV_LEDGER_PROVISION, huge, "x", &id, &err), PV_ERR_INVALID);
    ASSERT(strstr(err.msg, CA_PASS) == NULL);

    ASSERT_EQ_INT(pv_ledger_export_file(lg, NULL, PV_LEDGER_CSV, csv, &err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_export_file(lg, NULL, PV_LEDGER_JSON, json, &err), PV_OK);

    /* The WAL holds the recent pages while the handle is open. */
    struct stat st;
    ASSERT_EQ_INT(stat(wal, &st), 0);
    ASSERT_EQ_UINT(st.st_mode & 0777, 0600);
    const char *leak = leak_in(wal, &k);
    ASSERT_MSG(leak == NULL, "%s is in the WAL", leak);
    pv_ledger_close(lg);
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_UINT(st.st_mode & 0777, 0600);
    const char *files[] = {path, csv, json};
    for (size_t i = 0; i < 3; i++) {
        leak = leak_in(files[i], &k);
        ASSERT_MSG(leak == NULL, "%s is in %s", leak, files[i]);
    }
    /* The scan itself works: the same bytes are found where they are. */
    FILE *f = fopen(csv, "a");
    ASSERT(f != NULL);
    fputs(k.pem, f);
    fclose(f);
    ASSERT(leak_in(csv, &k) != NULL);
    unlink(csv);
    unlink(json);
    unlink(path);
    unlink(wal);
    char shm[140];
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(shm);
    rmdir(dir);
}

TEST_MAIN(RUN(planted_secrets_never_reach_the_file);)
