#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define A62   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define MAC_1 "A4:CF:12:00:00:01"
#define MAC_2 "a4-cf-12-00-00-02"

/* Runs the next call only while everything so far succeeded. */
#define THEN(call)                                                                                 \
    do {                                                                                           \
        if (rc == PV_OK) {                                                                         \
            rc = (call);                                                                           \
        }                                                                                          \
    } while (0)

struct fixture {
    char dir[64];
    char path[96];
    struct pv_ledger *lg;
    struct pv_error err;
};

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(dir);
}

static bool setup(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/espprov-ledger-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return false;
    }
    snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
    return pv_ledger_open(f->path, &f->lg, &f->err) == PV_OK;
}

static void teardown(struct fixture *f)
{
    pv_ledger_close(f->lg);
    remove_dir(f->dir);
}

/* Provisions MAC `mac` all the way with certificate serial `serial`. */
static int provision(struct fixture *f, const char *mac, const char *serial, int64_t *id_out)
{
    int64_t id = 0, seq = 0;
    char dev[32];
    int rc = pv_ledger_begin(f->lg, PV_LEDGER_PROVISION, "workshop", "/dev/ttyUSB0", &id, &f->err);
    THEN(pv_ledger_connected(f->lg, id, "esp8266", mac, 4u << 20, &f->err));
    THEN(pv_ledger_take_seq(f->lg, id, &seq, &f->err));
    snprintf(dev, sizeof dev, "sensor-%03lld", (long long)seq);
    struct pv_ledger_identity ident = {dev, serial, SHA_A, 2000000000, PV_REPROVISION_NONE};
    THEN(pv_ledger_minted(f->lg, id, &ident, &f->err));
    THEN(pv_ledger_written(f->lg, id, SHA_A, SHA_B, &f->err));
    THEN(pv_ledger_step(f->lg, id, PV_STEP_VERIFIED, &f->err));
    THEN(pv_ledger_step(f->lg, id, PV_STEP_PROVISIONED, &f->err));
    if (id_out != NULL) {
        *id_out = id;
    }
    return rc;
}

TEST(a_provisioning_attempt_from_start_to_end)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t id = 0, seq = 0;
    struct pv_ledger_row row;
    ASSERT_EQ_INT(
        pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "workshop", "/dev/ttyUSB0", &id, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_RUNNING);
    ASSERT_EQ_INT(row.step, PV_STEP_STARTED);
    ASSERT(row.mac[0] == '\0' && row.started_at[0] != '\0' && row.ended_at[0] == '\0');

    ASSERT_EQ_INT(pv_ledger_connected(f.lg, id, "esp8266", MAC_1, 4u << 20, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(f.lg, id, &seq, &f.err), PV_OK);
    ASSERT_EQ_INT(seq, 1);
    struct pv_ledger_identity ident = {"sensor-001", "00:1f:A2", "AB:" A62, 1893456000,
                                       PV_REPROVISION_NONE};
    ASSERT_MSG(pv_ledger_minted(f.lg, id, &ident, &f.err) == PV_OK, "%s", f.err.msg);
    ASSERT_EQ_INT(pv_ledger_written(f.lg, id, "0x0:" SHA_A ",0x200000:" SHA_B, SHA_B, &f.err),
                  PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_VERIFIED, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_RUNNING);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_PROVISIONED, &f.err), PV_OK);

    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_PROVISIONED);
    ASSERT_EQ_INT(row.kind, PV_LEDGER_PROVISION);
    ASSERT_STREQ(row.profile, "workshop");
    ASSERT_STREQ(row.port, "/dev/ttyUSB0");
    ASSERT_STREQ(row.mac, "a4:cf:12:00:00:01");
    ASSERT_STREQ(row.chip, "esp8266");
    ASSERT_EQ_UINT(row.flash_size, 4u << 20);
    ASSERT_EQ_INT(row.seq, 1);
    ASSERT_STREQ(row.device_id, "sensor-001");
    ASSERT_STREQ(row.cert_serial, "1FA2");
    ASSERT_STREQ(row.cert_sha256, "ab" A62);
    ASSERT_STREQ(row.cert_not_after, "2030-01-01T00:00:00Z");
    ASSERT_STREQ(row.firmware_sha256, "0x0:" SHA_A ",0x200000:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
                                      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    ASSERT_EQ_INT(strncmp(row.fs_sha256, "bbbb", 4), 0);
    ASSERT(row.ended_at[0] != '\0');
    ASSERT_EQ_INT(strlen(row.started_at), 24); /* 2024-05-01T12:00:00.000Z */
    char text[600];
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "provisioned");
    teardown(&f);
}

TEST(steps_only_move_forward)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t id = 0, reset_id = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "COM3", &id, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, id, "esp32", MAC_1, 0, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, id, "esp32", MAC_1, 0, &f.err), PV_ERR_INVALID);
    ASSERT_CONTAINS(f.err.msg, "is at 'connected'; it cannot move to 'connected'");
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_ERASED, &f.err), PV_ERR_INVALID);
    ASSERT_CONTAINS(f.err.msg, "a provision attempt has no step 'erased'");
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_CONNECTED, &f.err), PV_ERR_INVALID);
    ASSERT_CONTAINS(f.err.msg, "carries data");
    /* Skipping is allowed (no verification asked for), going back is not. */
    ASSERT_EQ_INT(pv_ledger_written(f.lg, id, NULL, NULL, &f.err), PV_OK);
    struct pv_ledger_identity ident = {"d", "01", SHA_A, 1, PV_REPROVISION_NONE};
    ASSERT_EQ_INT(pv_ledger_minted(f.lg, id, &ident, &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_PROVISIONED, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_PROVISIONED, &f.err), PV_ERR_INVALID);
    ASSERT_CONTAINS(f.err.msg, "already ended (done)");
    ASSERT_EQ_INT(pv_ledger_fail(f.lg, id, PV_STEP_VERIFIED, "late", &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, 9999, PV_STEP_VERIFIED, &f.err), PV_ERR_NOT_FOUND);

    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_RESET, "p", "COM3", &reset_id, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_minted(f.lg, reset_id, &ident, &f.err), PV_ERR_INVALID);
    ASSERT_CONTAINS(f.err.msg, "a reset attempt has no step 'minted'");
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset_id, PV_STEP_PROVISIONED, &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset_id, PV_STEP_ERASED, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset_id, PV_STEP_RESET, &f.err), PV_OK);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(f.lg, reset_id, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_RESET);
    teardown(&f);
}

/* "days": "never" certificates carry RFC 5280's 99991231235959Z, which the
 * PKI layer reports as INT64_MAX: the ledger records that date, not an error. */
TEST(a_certificate_that_never_expires)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t id = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "COM3", &id, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, id, "esp8266", MAC_1, 0, &f.err), PV_OK);
    struct pv_ledger_identity ident = {"d", "01", SHA_A, INT64_MAX, PV_REPROVISION_NONE};
    ASSERT_MSG(pv_ledger_minted(f.lg, id, &ident, &f.err) == PV_OK, "%s", f.err.msg);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_STREQ(row.cert_not_after, "9999-12-31T23:59:59Z");
    ident.not_after = -5;
    int64_t id2 = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "COM3", &id2, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, id2, "esp8266", MAC_1, 0, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_minted(f.lg, id2, &ident, &f.err), PV_ERR_INVALID);
    teardown(&f);
}

TEST(a_failure_names_the_step_and_the_error)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t id = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "/dev/ttyUSB1", &id, &f.err),
                  PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, id, "esp8266", MAC_2, 1u << 20, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_fail(f.lg, id, PV_STEP_CONNECTED, "x", &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_fail(f.lg, id, PV_STEP_WRITTEN,
                                 "flash write at 0x200000 failed: no reply\n(timeout)", &f.err),
                  PV_OK);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_FAILED);
    ASSERT_EQ_INT(row.failed_step, PV_STEP_WRITTEN);
    ASSERT_EQ_INT(row.step, PV_STEP_CONNECTED);
    char text[600];
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "failed at write: flash write at 0x200000 failed: no reply (timeout)");
    ASSERT(row.ended_at[0] != '\0');

    /* Long errors are cut on a character boundary. */
    char longer[2000];
    memset(longer, 'e', sizeof longer);
    memcpy(longer + 510, "\xc3\xa9", 2);
    longer[sizeof longer - 1] = '\0';
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "x", &id, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_fail(f.lg, id, PV_STEP_CONNECTED, longer, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(strlen(row.error), 510);
    teardown(&f);
}

TEST(seq_numbers_belong_to_boards)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t a = 0, b = 0, c = 0, d = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, again = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "x", &a, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(f.lg, a, &s1, &f.err), PV_ERR_INVALID);
    ASSERT_CONTAINS(f.err.msg, "has no MAC yet");
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, a, "esp8266", MAC_1, 0, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(f.lg, a, &s1, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(f.lg, a, &again, &f.err), PV_OK);
    ASSERT_EQ_INT(again, s1);
    ASSERT_EQ_INT(pv_ledger_fail(f.lg, a, PV_STEP_MINTED, "ca refused", &f.err), PV_OK);

    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "y", &b, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, b, "esp8266", MAC_2, 0, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(f.lg, b, &s2, &f.err), PV_OK);
    /* The first board comes back: same number; another profile counts alone. */
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "x", &c, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, c, "esp8266", "a4cf12000001", 0, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(f.lg, c, &s3, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "other", "x", &d, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, d, "esp8266", MAC_2, 0, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_take_seq(f.lg, d, &s4, &f.err), PV_OK);
    ASSERT_EQ_INT(s1, 1);
    ASSERT_EQ_INT(s2, 2);
    ASSERT_EQ_INT(s3, 1);
    ASSERT_EQ_INT(s4, 1);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_get(f.lg, c, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.seq, 1);
    teardown(&f);
}

TEST(identity_renewal_and_revocation)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    struct pv_ledger_row row;
    int64_t first = 0, second = 0;
    int count = -1;
    ASSERT_EQ_INT(pv_ledger_identity(f.lg, MAC_1, &row, &f.err), PV_ERR_NOT_FOUND);
    ASSERT_EQ_INT(pv_ledger_latest(f.lg, MAC_1, &row, &f.err), PV_ERR_NOT_FOUND);
    ASSERT_EQ_INT(provision(&f, MAC_1, "0A:BC", &first), PV_OK);
    ASSERT_EQ_INT(pv_ledger_identity(f.lg, "a4:cf:12:00:00:01", &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.id, first);
    ASSERT_STREQ(row.cert_serial, "0ABC");
    ASSERT_STREQ(row.device_id, "sensor-001");

    /* Renew: a new attempt with a new certificate, the old one revoked. */
    ASSERT_EQ_INT(provision(&f, MAC_1, "0DEF", &second), PV_OK);
    ASSERT_EQ_INT(pv_ledger_revoke(f.lg, "000abc", "renewed", &count, &f.err), PV_OK);
    ASSERT_EQ_INT(count, 1);
    ASSERT_EQ_INT(pv_ledger_revoke(f.lg, "ABC", "again", &count, &f.err), PV_OK);
    ASSERT_EQ_INT(count, 0);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, first, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_REVOKED);
    ASSERT_STREQ(row.revoke_reason, "renewed");
    char text[600];
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "revoked (renewed)");
    ASSERT_EQ_INT(pv_ledger_identity(f.lg, MAC_1, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.id, second);
    ASSERT_EQ_INT(row.seq, 1); /* the board kept its number */

    /* A factory reset records the identity it wipes. */
    int64_t reset = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_RESET, "workshop", "x", &reset, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, reset, "esp8266", MAC_1, 0, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset, PV_STEP_ERASED, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset, PV_STEP_RESET, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_latest(f.lg, MAC_1, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.id, reset);
    ASSERT_STREQ(row.cert_serial, "0DEF");
    ASSERT_STREQ(row.device_id, "sensor-001");
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "reset (certificate still live)");
    ASSERT_EQ_INT(pv_ledger_revoke(f.lg, "DEF", "factory reset", &count, &f.err), PV_OK);
    ASSERT_EQ_INT(count, 2); /* the provisioning row and the reset row that names it */
    ASSERT_EQ_INT(pv_ledger_identity(f.lg, MAC_1, &row, &f.err), PV_ERR_NOT_FOUND);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, reset, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_RESET);
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "reset (certificate revoked)");
    teardown(&f);
}

TEST(bad_input_is_refused)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t id = 0;
    char big[300];
    memset(big, 'p', sizeof big);
    big[sizeof big - 1] = '\0';
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "", "x", &id, &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, big, "x", &id, &f.err),
                  PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", big, &id, &f.err),
                  PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "x", &id, &f.err), PV_OK);
    const char *macs[] = {"a4:cf:12:00:00", "a4:cf:12:00:00:0g",  "a4:cf-12:00:00:01",
                          "a4cf1200000",    "a4:cf:12:00:00:01:", NULL};
    for (size_t i = 0; i < sizeof macs / sizeof macs[0]; i++) {
        ASSERT_MSG(pv_ledger_connected(f.lg, id, "esp8266", macs[i], 0, &f.err) == PV_ERR_INVALID,
                   "accepted MAC %s", macs[i] ? macs[i] : "NULL");
    }
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, id, "esp8266", MAC_1, 0, &f.err), PV_OK);
    struct pv_ledger_identity bad[] = {
        {"", "01", SHA_A, 1, 0},      {"d", "", SHA_A, 1, 0},   {"d", "xyz", SHA_A, 1, 0},
        {"d", "01", "abc", 1, 0},     {"d", "01", SHA_A, 0, 0}, {NULL, "01", SHA_A, 1, 0},
        {"d", "01", SHA_A "0", 1, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_MSG(pv_ledger_minted(f.lg, id, &bad[i], &f.err) == PV_ERR_INVALID,
                   "accepted identity %zu", i);
    }
    const char *digests[] = {"abc",
                             SHA_A ",",
                             "0x:" SHA_A,
                             "0x10:" SHA_A ",",
                             "0x10" SHA_A,
                             "0x123456789:" SHA_A,
                             "0x10:" SHA_A ",0x20:abc"};
    for (size_t i = 0; i < sizeof digests / sizeof digests[0]; i++) {
        ASSERT_MSG(pv_ledger_written(f.lg, id, digests[i], NULL, &f.err) == PV_ERR_INVALID,
                   "accepted firmware digest %zu", i);
    }
    ASSERT_EQ_INT(pv_ledger_written(f.lg, id, NULL, "1234", &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_revoke(f.lg, "zz", NULL, NULL, &f.err), PV_ERR_INVALID);
    teardown(&f);
}

TEST(mac_notations)
{
    char out[PV_LEDGER_MAC_LEN];
    ASSERT_EQ_INT(pv_ledger_mac_normalize("A4:CF:12:AB:CD:EF", out), PV_OK);
    ASSERT_STREQ(out, "a4:cf:12:ab:cd:ef");
    ASSERT_EQ_INT(pv_ledger_mac_normalize("a4-cf-12-ab-cd-ef", out), PV_OK);
    ASSERT_STREQ(out, "a4:cf:12:ab:cd:ef");
    ASSERT_EQ_INT(pv_ledger_mac_normalize("A4CF12ABCDEF", out), PV_OK);
    ASSERT_STREQ(out, "a4:cf:12:ab:cd:ef");
    ASSERT_EQ_INT(pv_ledger_mac_normalize("60:55:f9:ff:fe:01:02:03", out), PV_OK);
    ASSERT_STREQ(out, "60:55:f9:ff:fe:01:02:03");
    ASSERT_EQ_INT(pv_ledger_mac_normalize("6055f9fffe010203", out), PV_OK);
    ASSERT_EQ_INT(pv_ledger_mac_normalize("a4:cf:12:ab:cd", out), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_mac_normalize("a4:cf:12:ab:cd:ef:01", out), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_mac_normalize("a4cf12abcdef00", out), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_mac_normalize("", out), PV_ERR_INVALID);
}

struct walk {
    struct pv_ledger *lg;
    int rows;
    int64_t last;
    bool nested_ok;
};

static int walk_row(const struct pv_ledger_row *row, void *arg)
{
    struct walk *w = arg;
    struct pv_ledger_row again;
    struct pv_error err;
    w->rows++;
    w->nested_ok = w->last < row->id && pv_ledger_get(w->lg, row->id, &again, &err) == PV_OK &&
                   again.id == row->id;
    w->last = row->id;
    return w->nested_ok ? PV_OK : PV_ERR_INVALID;
}

TEST(walks_with_filters)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    /* More rows than one batch, so the walk pages. */
    for (int i = 0; i < 40; i++) {
        char mac[24];
        snprintf(mac, sizeof mac, "a4:cf:12:00:01:%02x", i % 20);
        ASSERT_EQ_INT(provision(&f, mac, "01", NULL), PV_OK);
    }
    int64_t id = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "other", "x", &id, &f.err), PV_OK);
    struct walk w = {f.lg, 0, 0, false};
    ASSERT_EQ_INT(pv_ledger_foreach(f.lg, NULL, walk_row, &w, &f.err), PV_OK);
    ASSERT_EQ_INT(w.rows, 41);
    struct pv_ledger_filter by_mac = {.mac = "A4-CF-12-00-01-05"};
    w = (struct walk){f.lg, 0, 0, false};
    ASSERT_EQ_INT(pv_ledger_foreach(f.lg, &by_mac, walk_row, &w, &f.err), PV_OK);
    ASSERT_EQ_INT(w.rows, 2);
    struct pv_ledger_filter by_state = {.by_state = true, .state = PV_STATE_RUNNING};
    w = (struct walk){f.lg, 0, 0, false};
    ASSERT_EQ_INT(pv_ledger_foreach(f.lg, &by_state, walk_row, &w, &f.err), PV_OK);
    ASSERT_EQ_INT(w.rows, 1);
    ASSERT_EQ_INT(w.last, id);
    struct pv_ledger_filter by_profile = {.profile = "workshop", .device_id = "sensor-003"};
    w = (struct walk){f.lg, 0, 0, false};
    ASSERT_EQ_INT(pv_ledger_foreach(f.lg, &by_profile, walk_row, &w, &f.err), PV_OK);
    ASSERT_EQ_INT(w.rows, 2);
    struct pv_ledger_filter one = {.id = 7};
    w = (struct walk){f.lg, 0, 0, false};
    ASSERT_EQ_INT(pv_ledger_foreach(f.lg, &one, walk_row, &w, &f.err), PV_OK);
    ASSERT_EQ_INT(w.rows, 1);
    struct pv_ledger_filter bad = {.mac = "nope"};
    ASSERT_EQ_INT(pv_ledger_foreach(f.lg, &bad, walk_row, &w, &f.err), PV_ERR_INVALID);
    teardown(&f);
}

TEST(exports_are_valid_csv_and_json)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    ASSERT_EQ_INT(provision(&f, MAC_1, "01", NULL), PV_OK);
    int64_t id = 0;
    ASSERT_EQ_INT(
        pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "workshop", "/dev/ttyUSB0", &id, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_fail(f.lg, id, PV_STEP_CONNECTED, "no \"sync\", twice\nreply", &f.err),
                  PV_OK);

    char csv_path[128], json_path[128];
    snprintf(csv_path, sizeof csv_path, "%s/out.csv", f.dir);
    snprintf(json_path, sizeof json_path, "%s/out.json", f.dir);
    ASSERT_EQ_INT(pv_ledger_export_file(f.lg, NULL, PV_LEDGER_CSV, csv_path, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_export_file(f.lg, NULL, PV_LEDGER_JSON, json_path, &f.err), PV_OK);
    struct stat st;
    ASSERT_EQ_INT(stat(csv_path, &st), 0);
    ASSERT_EQ_UINT(st.st_mode & 0777, 0600);

    char buf[8192];
    FILE *in = fopen(csv_path, "rb");
    ASSERT(in != NULL);
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    ASSERT_EQ_INT(strncmp(buf, "id,kind,state,step,failed_at,error,profile,port,mac,", 52), 0);
    ASSERT_CONTAINS(buf, "\r\n1,provision,provisioned,provisioned,,,workshop,/dev/ttyUSB0,"
                         "a4:cf:12:00:00:01,esp8266,4194304,1,sensor-001,,01,");
    /* The error's newline became a space when stored; quotes are doubled. */
    ASSERT_CONTAINS(buf, "\r\n2,provision,failed,started,connect,\"no \"\"sync\"\", twice "
                         "reply\",workshop,");

    json_error_t jerr;
    json_t *doc = json_load_file(json_path, 0, &jerr);
    ASSERT_MSG(doc != NULL, "%s", jerr.text);
    ASSERT(json_is_array(doc) && json_array_size(doc) == 2);
    json_t *first = json_array_get(doc, 0), *second = json_array_get(doc, 1);
    EXPECT(json_integer_value(json_object_get(first, "flash_size")) == 4194304);
    EXPECT(strcmp(json_string_value(json_object_get(first, "state")), "provisioned") == 0);
    EXPECT(json_is_null(json_object_get(first, "error")));
    EXPECT(strcmp(json_string_value(json_object_get(second, "error")),
                  "no \"sync\", twice reply") == 0);
    EXPECT(strcmp(json_string_value(json_object_get(second, "failed_at")), "connect") == 0);
    EXPECT(json_is_null(json_object_get(second, "seq")));
    json_decref(doc);

    /* A failed export leaves nothing behind, and an old file stands. */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/out.csv", f.dir);
    ASSERT_EQ_INT(pv_ledger_export_file(f.lg, NULL, PV_LEDGER_CSV, bad, &f.err), PV_ERR_IO);
    DIR *d = opendir(f.dir);
    struct dirent *e;
    int leftovers = 0;
    while ((e = readdir(d)) != NULL) {
        leftovers += strstr(e->d_name, ".tmp.") != NULL;
    }
    closedir(d);
    ASSERT_EQ_INT(leftovers, 0);
    ASSERT_EQ_INT(stat(csv_path, &st), 0);
    teardown(&f);
}

TEST(csv_cells_cannot_start_a_formula)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t id = 0;
    ASSERT_EQ_INT(
        pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "workshop", "=HYPERLINK(\"x\")", &id, &f.err),
        PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, id, "esp8266", MAC_1, 0, &f.err), PV_OK);
    struct pv_ledger_identity ident = {"-2+3", "01", SHA_A, 2000000000, PV_REPROVISION_NONE};
    ASSERT_EQ_INT(pv_ledger_minted(f.lg, id, &ident, &f.err), PV_OK);
    ASSERT_MSG(pv_ledger_fail(f.lg, id, PV_STEP_WRITTEN, "@SUM(A1)", &f.err) == PV_OK, "%s",
               f.err.msg);
    char *csv = NULL, *json = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&csv, &len);
    ASSERT(out != NULL);
    ASSERT_EQ_INT(pv_ledger_export(f.lg, NULL, PV_LEDGER_CSV, out, &f.err), PV_OK);
    fclose(out);
    out = open_memstream(&json, &len);
    ASSERT(out != NULL);
    ASSERT_EQ_INT(pv_ledger_export(f.lg, NULL, PV_LEDGER_JSON, out, &f.err), PV_OK);
    fclose(out);
    /* Each cell keeps its text behind an apostrophe, quoted where RFC 4180 says. */
    EXPECT(strstr(csv, ",\"'=HYPERLINK(\"\"x\"\")\",") != NULL);
    EXPECT(strstr(csv, ",'@SUM(A1),") != NULL);
    EXPECT(strstr(csv, ",'-2+3,") != NULL);
    EXPECT(strstr(csv, ",=") == NULL && strstr(csv, ",@") == NULL && strstr(csv, ",-") == NULL);
    /* JSON is data, not a sheet: unchanged there. */
    EXPECT(strstr(json, "\"port\": \"=HYPERLINK(\\\"x\\\")\"") != NULL);
    EXPECT(strstr(json, "\"device_id\": \"-2+3\"") != NULL);
    free(csv);
    free(json);
    teardown(&f);
}

TEST(serials_keep_whole_octets_and_old_rows_still_match)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    struct pv_ledger_row row;
    int64_t id = 0;
    int count = -1;
    /* The CA's spelling, as `openssl x509 -serial` prints it. */
    ASSERT_EQ_INT(provision(&f, MAC_1, "8:07:66", &id), PV_OK);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_STREQ(row.cert_serial, "080766");
    /* A row written before whole octets were kept ("80766") is still found. */
    pv_ledger_close(f.lg);
    f.lg = NULL;
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(f.path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "UPDATE attempts SET cert_serial = '80766';", NULL, NULL, NULL),
                  SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ_INT(pv_ledger_open(f.path, &f.lg, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_revoke(f.lg, "080766", "superseded", &count, &f.err), PV_OK);
    ASSERT_EQ_INT(count, 1);
    teardown(&f);
}

TEST(only_ledger_files_open_as_ledgers)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    char other[128];
    snprintf(other, sizeof other, "%s/other.db", f.dir);
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(other, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "CREATE TABLE certs (serial TEXT); PRAGMA user_version=1;", NULL,
                               NULL, NULL),
                  SQLITE_OK);
    sqlite3_close(db);
    struct pv_ledger *lg = NULL;
    ASSERT_EQ_INT(pv_ledger_open(other, &lg, &f.err), PV_ERR_INVALID);
    ASSERT_CONTAINS(f.err.msg, "not an espprov ledger");
    ASSERT(lg == NULL);
    /* One of ours from a newer espprov. */
    pv_ledger_close(f.lg);
    f.lg = NULL;
    ASSERT_EQ_INT(sqlite3_open(f.path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "PRAGMA user_version=7;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ_INT(pv_ledger_open(f.path, &lg, &f.err), PV_ERR_DB);
    ASSERT_CONTAINS(f.err.msg, "newer than this espprov");
    ASSERT_EQ_INT(sqlite3_open(f.path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "PRAGMA user_version=1;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ_INT(pv_ledger_open(f.path, &f.lg, &f.err), PV_OK);
    snprintf(other, sizeof other, "%s/missing/ledger.db", f.dir);
    ASSERT_EQ_INT(pv_ledger_open(other, &lg, &f.err), PV_ERR_IO);
    /* Reopening an existing ledger keeps its rows. */
    ASSERT_EQ_INT(provision(&f, MAC_1, "01", NULL), PV_OK);
    pv_ledger_close(f.lg);
    f.lg = NULL;
    ASSERT_EQ_INT(pv_ledger_open(f.path, &f.lg, &f.err), PV_OK);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_identity(f.lg, MAC_1, &row, &f.err), PV_OK);
    teardown(&f);
}

TEST(a_dead_process_reads_as_interrupted)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t mine = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_PROVISION, "p", "x", &mine, &f.err), PV_OK);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        struct pv_ledger *lg = NULL;
        struct pv_error err;
        int64_t id = 0;
        int rc = pv_ledger_open(f.path, &lg, &err);
        THEN(pv_ledger_begin(lg, PV_LEDGER_PROVISION, "p", "/dev/ttyUSB9", &id, &err));
        THEN(pv_ledger_connected(lg, id, "esp32", MAC_2, 0, &err));
        _exit(rc == PV_OK ? 0 : 1); /* no close, no end: as if killed */
    }
    int status = 0;
    ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_latest(f.lg, MAC_2, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_INTERRUPTED);
    char text[600];
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "interrupted at connected");
    ASSERT_EQ_INT(pv_ledger_get(f.lg, mine, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_RUNNING);
    int closed = -1;
    ASSERT_EQ_INT(pv_ledger_close_interrupted(f.lg, &closed, &f.err), PV_OK);
    ASSERT_EQ_INT(closed, 1);
    ASSERT_EQ_INT(pv_ledger_close_interrupted(f.lg, &closed, &f.err), PV_OK);
    ASSERT_EQ_INT(closed, 0);
    ASSERT_EQ_INT(pv_ledger_latest(f.lg, MAC_2, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_INTERRUPTED);
    ASSERT(row.ended_at[0] != '\0');
    ASSERT_CONTAINS(row.error, "interrupted");
    ASSERT_EQ_INT(pv_ledger_step(f.lg, row.id, PV_STEP_VERIFIED, &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, mine, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_RUNNING);
    teardown(&f);
}

/* Begins an attempt on `mac` and moves it to step write (the board's flash
 * about to change). */
static int start_write(struct pv_ledger *lg, const char *mac, int64_t *id, struct pv_error *err)
{
    struct pv_ledger_identity ident = {"sensor-009", "09", SHA_A, 2000000000, PV_REPROVISION_RENEW};
    int rc = pv_ledger_begin(lg, PV_LEDGER_PROVISION, "p", "/dev/ttyUSB3", id, err);
    THEN(pv_ledger_connected(lg, *id, "esp32", mac, 0, err));
    THEN(pv_ledger_minted(lg, *id, &ident, err));
    THEN(pv_ledger_step(lg, *id, PV_STEP_WRITE, err));
    return rc;
}

TEST(the_write_step_comes_before_the_first_byte_written)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    int64_t id = 0;
    struct pv_ledger_row row;
    char text[600];
    ASSERT_MSG(start_write(f.lg, MAC_1, &id, &f.err) == PV_OK, "%s", f.err.msg);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.step, PV_STEP_WRITE);
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "running (write)");
    struct pv_ledger_identity ident = {"d", "01", SHA_A, 2000000000, PV_REPROVISION_NONE};
    ASSERT_EQ_INT(pv_ledger_minted(f.lg, id, &ident, &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_WRITE, &f.err), PV_ERR_INVALID);
    ASSERT_CONTAINS(f.err.msg, "is at 'write'; it cannot move to 'write'");
    /* A write that fails reads "failed at write", its last step "write". */
    ASSERT_EQ_INT(pv_ledger_fail(f.lg, id, PV_STEP_WRITTEN, "no reply", &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_get(f.lg, id, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.step, PV_STEP_WRITE);
    ASSERT_EQ_INT(row.failed_step, PV_STEP_WRITTEN);
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "failed at write: no reply");

    /* write -> written -> verified -> provisioned. */
    ASSERT_EQ_INT(start_write(f.lg, MAC_1, &id, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_written(f.lg, id, SHA_A, NULL, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_WRITE, &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_VERIFIED, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, id, PV_STEP_PROVISIONED, &f.err), PV_OK);

    /* A factory reset writes after it erased. */
    int64_t reset = 0;
    ASSERT_EQ_INT(pv_ledger_begin(f.lg, PV_LEDGER_RESET, "p", "COM3", &reset, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_connected(f.lg, reset, "esp32", MAC_1, 0, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset, PV_STEP_ERASED, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset, PV_STEP_WRITE, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset, PV_STEP_ERASED, &f.err), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_ledger_written(f.lg, reset, SHA_A, NULL, &f.err), PV_OK);
    ASSERT_EQ_INT(pv_ledger_step(f.lg, reset, PV_STEP_RESET, &f.err), PV_OK);

    /* The exports name the step and the failed action apart. */
    char path[128];
    snprintf(path, sizeof path, "%s/out.json", f.dir);
    ASSERT_EQ_INT(pv_ledger_export_file(f.lg, NULL, PV_LEDGER_JSON, path, &f.err), PV_OK);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    ASSERT_MSG(doc != NULL, "%s", jerr.text);
    json_t *first = json_array_get(doc, 0);
    EXPECT(strcmp(json_string_value(json_object_get(first, "step")), "write") == 0);
    EXPECT(strcmp(json_string_value(json_object_get(first, "failed_at")), "write") == 0);
    EXPECT(strcmp(json_string_value(json_object_get(first, "state")), "failed") == 0);
    json_decref(doc);
    struct pv_ledger_filter failed = {.by_state = true, .state = PV_STATE_FAILED};
    snprintf(path, sizeof path, "%s/out.csv", f.dir);
    ASSERT_EQ_INT(pv_ledger_export_file(f.lg, &failed, PV_LEDGER_CSV, path, &f.err), PV_OK);
    char buf[4096];
    FILE *in = fopen(path, "rb");
    ASSERT(in != NULL);
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    ASSERT_CONTAINS(buf, "\r\n1,provision,failed,write,write,no reply,p,");
    teardown(&f);
}

TEST(a_process_killed_while_writing_reads_interrupted_at_write)
{
    struct fixture f;
    ASSERT_MSG(setup(&f), "%s", f.err.msg);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        struct pv_ledger *lg = NULL;
        struct pv_error err;
        int64_t id = 0;
        int rc = pv_ledger_open(f.path, &lg, &err);
        THEN(start_write(lg, MAC_2, &id, &err));
        _exit(rc == PV_OK ? 0 : 1); /* as if killed mid-write */
    }
    int status = 0;
    ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct pv_ledger_row row;
    ASSERT_EQ_INT(pv_ledger_latest(f.lg, MAC_2, &row, &f.err), PV_OK);
    ASSERT_EQ_INT(row.state, PV_STATE_INTERRUPTED);
    ASSERT_EQ_INT(row.step, PV_STEP_WRITE);
    char text[600];
    pv_ledger_describe(&row, text, sizeof text);
    ASSERT_STREQ(text, "interrupted at write");
    teardown(&f);
}

TEST_MAIN(RUN(a_provisioning_attempt_from_start_to_end); RUN(steps_only_move_forward);
          RUN(a_certificate_that_never_expires); RUN(a_failure_names_the_step_and_the_error);
          RUN(seq_numbers_belong_to_boards); RUN(identity_renewal_and_revocation);
          RUN(bad_input_is_refused); RUN(mac_notations); RUN(walks_with_filters);
          RUN(exports_are_valid_csv_and_json); RUN(csv_cells_cannot_start_a_formula);
          RUN(only_ledger_files_open_as_ledgers); RUN(a_dead_process_reads_as_interrupted);
          RUN(serials_keep_whole_octets_and_old_rows_still_match);
          RUN(the_write_step_comes_before_the_first_byte_written);
          RUN(a_process_killed_while_writing_reads_interrupted_at_write);)
