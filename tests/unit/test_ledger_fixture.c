/*
 * A ledger with one attempt in each state, written through the library, for
 * the command-line tests (tests/integration/ledger_cli.sh runs
 * `test_ledger_fixture --write FILE`). Run without arguments it checks the
 * fixture it builds, so the file the shell test reads is itself tested.
 *
 *   1  a4:cf:12:00:00:01  provisioned, later revoked ("renewed")
 *   2  a4:cf:12:00:00:02  failed at write, error with a comma and quotes
 *   3  a4:cf:12:00:00:01  provisioned again (renewal), sensor-001 kept
 *   4  a4:cf:12:00:00:03  interrupted at minted (its process died)
 *   5  a4:cf:12:00:00:02  factory reset, finished
 */
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "provision/core/core.h"
#include "provision/ledger/ledger.h"

#define SHA "5d41402abc4b2a76b9719d911017c592ae3bd4fdbc7c6ffb1ee8f5c3cfa0a1b2"

#define CHECK(call)                                                                                \
    do {                                                                                           \
        if ((call) != PV_OK) {                                                                     \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static int provision(struct pv_ledger *lg, const char *mac, const char *serial,
                     enum pv_ledger_reprovision mode, struct pv_error *err)
{
    int64_t id = 0, seq = 0;
    char dev[32];
    CHECK(pv_ledger_begin(lg, PV_LEDGER_PROVISION, "workshop", "/dev/ttyUSB0", &id, err));
    CHECK(pv_ledger_connected(lg, id, "esp8266", mac, 4u << 20, err));
    CHECK(pv_ledger_take_seq(lg, id, &seq, err));
    snprintf(dev, sizeof dev, "sensor-%03lld", (long long)seq);
    struct pv_ledger_identity ident = {dev, serial, SHA, 2000000000, mode};
    CHECK(pv_ledger_minted(lg, id, &ident, err));
    CHECK(pv_ledger_written(lg, id, "0x0:" SHA, SHA, err));
    CHECK(pv_ledger_step(lg, id, PV_STEP_VERIFIED, err));
    CHECK(pv_ledger_step(lg, id, PV_STEP_PROVISIONED, err));
    return 0;
}

static int write_fixture(const char *path, struct pv_error *err)
{
    struct pv_ledger *lg = NULL;
    int64_t id = 0, seq = 0;
    int count = 0;
    CHECK(pv_ledger_open(path, &lg, err));
    CHECK(provision(lg, "a4:cf:12:00:00:01", "1A2B", PV_REPROVISION_NONE, err));
    CHECK(pv_ledger_begin(lg, PV_LEDGER_PROVISION, "workshop", "/dev/ttyUSB1", &id, err));
    CHECK(pv_ledger_connected(lg, id, "esp8266", "a4:cf:12:00:00:02", 1u << 20, err));
    CHECK(pv_ledger_fail(lg, id, PV_STEP_WRITTEN,
                         "flash write at 0x200000 failed: \"timeout\", no reply", err));
    CHECK(provision(lg, "a4:cf:12:00:00:01", "3C4D", PV_REPROVISION_RENEW, err));
    CHECK(pv_ledger_revoke(lg, "1A2B", "renewed", &count, err));
    pid_t pid = fork();
    if (pid == 0) {
        struct pv_ledger *mine = NULL;
        struct pv_ledger_identity ident = {"sensor-003", "5E6F", SHA, 2000000000, 0};
        bool ok =
            pv_ledger_open(path, &mine, err) == PV_OK &&
            pv_ledger_begin(mine, PV_LEDGER_PROVISION, "workshop", "/dev/ttyUSB2", &id, err) ==
                PV_OK &&
            pv_ledger_connected(mine, id, "esp8266", "a4:cf:12:00:00:03", 4u << 20, err) == PV_OK &&
            pv_ledger_take_seq(mine, id, &seq, err) == PV_OK &&
            pv_ledger_minted(mine, id, &ident, err) == PV_OK;
        _exit(ok ? 0 : 1); /* dies mid-attempt */
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        return -1;
    }
    CHECK(pv_ledger_begin(lg, PV_LEDGER_RESET, "workshop", "/dev/ttyUSB1", &id, err));
    CHECK(pv_ledger_connected(lg, id, "esp8266", "a4:cf:12:00:00:02", 1u << 20, err));
    CHECK(pv_ledger_step(lg, id, PV_STEP_ERASED, err));
    CHECK(pv_ledger_step(lg, id, PV_STEP_RESET, err));
    pv_ledger_close(lg);
    return 0;
}

TEST(fixture_has_one_attempt_per_state)
{
    char dir[] = "/tmp/espprov-fixture-XXXXXX", path[96];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    struct pv_error err = {0};
    ASSERT_MSG(write_fixture(path, &err) == 0, "%s", err.msg);
    struct pv_ledger *lg = NULL;
    ASSERT_EQ_INT(pv_ledger_open(path, &lg, &err), PV_OK);
    static const enum pv_ledger_state want[] = {PV_STATE_REVOKED, PV_STATE_FAILED,
                                                PV_STATE_PROVISIONED, PV_STATE_INTERRUPTED,
                                                PV_STATE_RESET};
    for (int i = 0; i < 5; i++) {
        struct pv_ledger_row row;
        ASSERT_EQ_INT(pv_ledger_get(lg, i + 1, &row, &err), PV_OK);
        ASSERT_MSG(row.state == want[i], "attempt %d is %s", i + 1,
                   pv_ledger_state_name(row.state));
    }
    pv_ledger_close(lg);
    char side[120];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rmdir(dir);
}

static int fixture_main(const char *path)
{
    struct pv_error err = {0};
    if (write_fixture(path, &err) != 0) {
        fprintf(stderr, "test_ledger_fixture: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int test_main(void);
#define main test_main
TEST_MAIN(RUN(fixture_has_one_attempt_per_state);)
#undef main

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        return fixture_main(argv[2]);
    }
    return test_main();
}
