/*
 * `make bench`: device identities minted per second in process, EC P-256 and
 * RSA-2048, each certificate committed to the CA's SQLite record (synchronous
 * FULL) before it is returned. Prints medians over several rounds and leaves
 * them in $BUILD/bench-mint.txt for tests/bench/mint_openssl.sh, which does the
 * same work the tutorials' way (one openssl process per step).
 *
 * Reproduce: make bench   (or build/tests/bench_mint)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provision/core/core.h"
#include "provision/profile/profile.h"
#include "provision/pki/pki.h"

#define PASS "bench-ca-passphrase"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct pv_profile *profile(const char *dir, const char *key_type)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"name\":\"bench\",\"chip\":\"esp8266\","
             "\"filesystem\":{\"offset\":\"0x200000\",\"size\":\"0x1FA000\"},"
             "\"device\":{\"key_type\":\"%s\",\"subject\":{\"O\":\"Bench\",\"CN\":\"{id}\"},"
             "\"san_dns\":[\"{id}.local\"]},"
             "\"wifi\":{\"ssid\":\"Lab\",\"password\":\"\"},"
             "\"mqtt\":{\"host\":\"b\",\"topics\":{\"status\":\"s/{id}\"}}}",
             key_type);
    struct pv_profile *p = NULL;
    struct pv_error err;
    if (pv_profile_parse(json, strlen(json), dir, "bench.json", 0, NULL, &p, &err) != PV_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    return p;
}

static void devices(const struct pv_profile *p, struct pv_device *d, size_t n, unsigned base)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t mac[6] = {0x24,      0x0a, (uint8_t)(base >> 8), (uint8_t)base, (uint8_t)(i >> 8),
                          (uint8_t)i};
        struct pv_error err;
        pv_device_init(&d[i], p, NULL, mac, -1, NULL, &err);
    }
}

/* ms per device for `rounds` rounds of `n` devices, one call per device or
 * one batch call per round. */
static double run(struct pv_ca *ca, const struct pv_profile *p, struct pv_keypool *pool, size_t n,
                  int rounds, bool batch, double *per_round)
{
    struct pv_device *d = calloc(n, sizeof *d);
    struct pv_identity *ids = calloc(n, sizeof *ids);
    struct pv_error err;
    for (int r = 0; r < rounds; r++) {
        devices(p, d, n, (unsigned)r + (batch ? 1000u : 0u));
        double t0 = now_ms();
        if (batch) {
            if (pv_mint_devices(ca, p, d, n, pool, ids, &err) != PV_OK) {
                fprintf(stderr, "bench: %s\n", err.msg);
                exit(1);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                if (pv_mint_device(ca, p, &d[i], pool, &ids[i], &err) != PV_OK) {
                    fprintf(stderr, "bench: %s\n", err.msg);
                    exit(1);
                }
            }
        }
        per_round[r] = (now_ms() - t0) / (double)n;
        for (size_t i = 0; i < n; i++) {
            pv_identity_release(&ids[i]);
        }
    }
    free(d);
    free(ids);
    return median(per_round, (size_t)rounds);
}

static void remove_ca(const char *dir)
{
    const char *names[] = {"ca.crt.pem", "ca.key.pem", "ca.db", "ca.db-wal", "ca.db-shm"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/ca/%s", dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/ca", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    char dir[] = "/tmp/espprov-bench-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("bench: mkdtemp");
        return 1;
    }
    struct pv_profile *ec = profile(dir, "ec-p256"), *rsa = profile(dir, "rsa2048");
    struct pv_error err;
    struct pv_ca *ca = NULL;
    double open_ms[5];
    if (pv_ca_create(ec, PASS, &err) != PV_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < 5; i++) {
        double t0 = now_ms();
        if (pv_ca_open(ec, PASS, &ca, &err) != PV_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            return 1;
        }
        open_ms[i] = now_ms() - t0;
        if (i < 4) {
            pv_ca_free(ca);
        }
    }
    double rounds[16];
    double ec_one = run(ca, ec, NULL, 100, 7, false, rounds);
    double ec_batch = run(ca, ec, NULL, 100, 7, true, rounds);
    double rsa_one = run(ca, rsa, NULL, 6, 3, false, rounds);
    /* A pool of 2 threads on this 2-core machine, started cold: what a batch
     * gets when nothing else competes for the CPU. */
    struct pv_keypool *pool = NULL;
    pv_keypool_new(PV_KEY_RSA2048, 2, 16, &pool, &err);
    double rsa_pool_cold = run(ca, rsa, pool, 8, 3, false, rounds);
    /* Keys made while the boards were flashing: minting itself. */
    pv_keypool_wait(pool, 8);
    double rsa_pool_ready = run(ca, rsa, pool, 8, 1, true, rounds);
    pv_keypool_free(pool);
    pv_ca_free(ca);

    printf("in-process minting (EC P-256 CA; key + certificate + signature + DER/PKCS#8 +\n"
           "SQLite record committed before return), median ms per device:\n");
    printf("  CA open (read, decrypt, check; once per run)   %8.2f ms\n", median(open_ms, 5));
    printf("  EC P-256, one device per call (1 commit each)   %8.3f ms  (%.0f devices/s)\n", ec_one,
           1000.0 / ec_one);
    printf("  EC P-256, batches of 100 (1 commit per batch)   %8.3f ms  (%.0f devices/s)\n",
           ec_batch, 1000.0 / ec_batch);
    printf("  RSA-2048, key generated inline                  %8.1f ms  (%.1f devices/s)\n",
           rsa_one, 1000.0 / rsa_one);
    printf("  RSA-2048, 2-thread key pool started cold        %8.1f ms  (%.1f devices/s)\n",
           rsa_pool_cold, 1000.0 / rsa_pool_cold);
    printf("  RSA-2048, keys already in the pool              %8.3f ms\n", rsa_pool_ready);
    const char *build = getenv("BUILD");
    char path[512];
    snprintf(path, sizeof path, "%s/bench-mint.txt", build ? build : "build");
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "ec_one=%.3f\nec_batch=%.3f\nrsa_one=%.1f\nrsa_pool=%.1f\n", ec_one, ec_batch,
                rsa_one, rsa_pool_cold);
        fclose(f);
    }
    pv_profile_free(ec);
    pv_profile_free(rsa);
    remove_ca(dir);
    return 0;
}
