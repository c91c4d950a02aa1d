/*
 * `make bench` for lfsgen: median build time over BENCH_RUNS runs and peak
 * memory for the image sizes the provisioning flow meets (the 14 MiB case is
 * the largest ESP8266 LittleFS area, 16M flash with FS 14M).
 *
 * Time: lg_build, CLOCK_MONOTONIC, single-threaded. Memory: each scenario
 * also runs in forked children that generate their inputs and build; the
 * largest child ru_maxrss (from wait4) is the peak resident set of the whole
 * process, inputs and image buffer included. The reader (open + read every
 * file + check) is timed the same way. mklittlefs is not compared: it is in
 * neither Debian nor the npm registry, the only sources this project may
 * install from.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lfsgen/lfsgen.h"

#define BENCH_RUNS 15

struct scenario {
    const char *label;
    const char *preset;
    size_t size;
    size_t small_files; /* 1-4 KiB each */
    size_t big_files;
    size_t big_size;
};

static const struct scenario scenarios[] = {
    {"1 MiB, 50 x 1-4 KiB + 100 KiB", "esp8266-arduino", 1u << 20, 50, 1, 100 * 1024},
    {"1 MiB, 50 x 1-4 KiB + 100 KiB", "esp-idf", 1u << 20, 50, 1, 100 * 1024},
    {"3 MiB, 200 x 1-4 KiB + 100 KiB", "esp8266-arduino", 0x2FA000, 200, 1, 100 * 1024},
    {"3 MiB, 200 x 1-4 KiB + 100 KiB", "esp-idf", 3u << 20, 200, 1, 100 * 1024},
    {"14 MiB (0xDFA000), 40 x 250 KB", "esp8266-arduino", 0xDFA000, 0, 40, 250 * 1000},
    {"14 MiB, 40 x 250 KB", "esp-idf", 14u << 20, 0, 40, 250 * 1000},
};

struct inputs {
    struct lg_file *files;
    char (*names)[32];
    uint8_t *data;
    size_t n, bytes;
};

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int make_inputs(const struct scenario *sc, struct inputs *in)
{
    uint64_t seed = 0x5EED;
    size_t n = sc->small_files + sc->big_files;
    size_t *sizes = malloc(n * sizeof *sizes);
    in->files = malloc(n * sizeof *in->files);
    in->names = malloc(n * sizeof *in->names);
    if (sizes == NULL || in->files == NULL || in->names == NULL) {
        return -1;
    }
    in->bytes = 0;
    for (size_t i = 0; i < n; i++) {
        sizes[i] = i < sc->small_files ? 1024 + next(&seed) % 3073 : sc->big_size;
        in->bytes += sizes[i];
    }
    in->data = malloc(in->bytes);
    if (in->data == NULL) {
        return -1;
    }
    for (size_t i = 0; i < in->bytes; i += 8) {
        uint64_t v = next(&seed);
        memcpy(in->data + i, &v, in->bytes - i < 8 ? in->bytes - i : 8);
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        /* Created in reverse order so sorting has work to do. */
        snprintf(in->names[i], sizeof in->names[i], "/%s/file-%04zu.bin",
                 i < sc->small_files ? "certs" : "data", n - i);
        in->files[i] = (struct lg_file){in->names[i], in->data + off, sizes[i], false};
        off += sizes[i];
    }
    in->n = n;
    free(sizes);
    return 0;
}

static void free_inputs(struct inputs *in)
{
    free(in->files);
    free(in->names);
    free(in->data);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static int build_once(const struct scenario *sc, struct inputs *in, uint8_t *img, double *ms)
{
    struct lg_params p;
    struct lg_error err;
    lg_preset(sc->preset, sc->size, &p, NULL);
    double t0 = now_ms();
    int rc = lg_build(&p, in->files, in->n, 0, img, sc->size, &err);
    *ms = now_ms() - t0;
    if (rc != LG_OK) {
        fprintf(stderr, "bench: %s %s: %s\n", sc->label, sc->preset, err.msg);
    }
    return rc;
}

static double read_once(const struct scenario *sc, const uint8_t *img)
{
    struct lg_params p;
    lg_preset(sc->preset, sc->size, &p, NULL);
    double t0 = now_ms();
    struct lg_image *im;
    if (lg_image_open(&p, img, sc->size, &im, NULL) != LG_OK) {
        return -1;
    }
    for (size_t i = 0; i < lg_image_count(im); i++) {
        uint8_t *data;
        size_t len;
        if (lg_image_entry(im, i)->type == LG_TYPE_FILE &&
            lg_image_read(im, i, &data, &len, NULL) == LG_OK) {
            free(data);
        }
    }
    size_t problems = lg_image_check(im, NULL, NULL);
    lg_image_close(im);
    return problems == 0 ? now_ms() - t0 : -1;
}

/*
 * Cold runs: each in a fresh forked child (the image buffer is page-faulted
 * in during the build, as in a real image build). Reports the
 * median cold build time and the largest peak RSS. Run before the parent
 * allocates anything for the scenario, so the child inherits none of it.
 */
static int cold_runs(const struct scenario *sc, double *cold_ms, long *peak_kib)
{
    double ms[BENCH_RUNS];
    *peak_kib = 0;
    for (int r = 0; r < BENCH_RUNS; r++) {
        int fds[2];
        if (pipe(fds) != 0) {
            return -1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            struct inputs in;
            uint8_t *img = malloc(sc->size);
            double t = -1;
            if (img == NULL || make_inputs(sc, &in) != 0 || build_once(sc, &in, img, &t) != 0) {
                t = -1;
            }
            _exit(write(fds[1], &t, sizeof t) == (ssize_t)sizeof t && t >= 0 ? 0 : 1);
        }
        close(fds[1]);
        int status = 0;
        struct rusage ru;
        bool ok = pid > 0 && read(fds[0], &ms[r], sizeof ms[r]) == (ssize_t)sizeof ms[r];
        close(fds[0]);
        if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !ok || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            return -1;
        }
        *peak_kib = ru.ru_maxrss > *peak_kib ? ru.ru_maxrss : *peak_kib;
    }
    *cold_ms = median(ms, BENCH_RUNS);
    return 0;
}

int main(void)
{
    int status = 0;
    printf("lfsgen: medians of %d runs, one core. build = lg_build into a warm buffer;\n"
           "cold = the same in a fresh forked child (page faults included); read+check =\n"
           "open + read every file + check; peak = max RSS of those children (inputs and\n"
           "image buffer included)\n",
           BENCH_RUNS);
    printf("%-36s %-16s %8s %9s %9s %10s %9s\n", "image", "preset", "data", "build ms", "cold ms",
           "read+check", "peak MiB");
    for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) {
        const struct scenario *sc = &scenarios[s];
        double cold = 0;
        long kib = 0;
        if (cold_runs(sc, &cold, &kib) != 0) {
            printf("FAIL %s %s: cold run\n", sc->label, sc->preset);
            return 1;
        }
        struct inputs in;
        uint8_t *img = malloc(sc->size);
        if (img == NULL || make_inputs(sc, &in) != 0) {
            fprintf(stderr, "bench: out of memory\n");
            return 1;
        }
        double build[BENCH_RUNS], read[BENCH_RUNS];
        for (int r = 0; r < BENCH_RUNS && status == 0; r++) {
            status = build_once(sc, &in, img, &build[r]) != LG_OK;
            read[r] = status ? -1 : read_once(sc, img);
            status = status || read[r] < 0;
        }
        if (status != 0) {
            printf("FAIL %s %s\n", sc->label, sc->preset);
            return 1;
        }
        printf("%-36s %-16s %6.2fMB %9.2f %9.2f %10.2f %9.1f\n", sc->label, sc->preset,
               in.bytes / 1e6, median(build, BENCH_RUNS), cold, median(read, BENCH_RUNS),
               kib / 1024.0);
        free_inputs(&in);
        free(img);
    }
    printf("target: 14 MiB image built in < 50 ms on one core\n"
           "mklittlefs: not compared (not packaged in Debian or npm)\n"
           "command: make bench (or build/tests/bench_lfsgen)\n");
    return 0;
}
