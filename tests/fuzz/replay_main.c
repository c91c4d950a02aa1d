/*
 * Corpus replay for the libFuzzer targets, linked in every test build so the
 * targets never rot: runs each file of tests/fuzz/corpus/<target>/ through
 * LLVMFuzzerTestOneInput, then a fixed number of deterministic mutations of
 * them (byte flips, truncations, splices). Under `make check` this is the
 * sanitizer run of the parsers; `make fuzz` does the real coverage search.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    uint8_t *data;
    size_t size;
};

static uint64_t next_random(uint64_t *state)
{
    /* xorshift64*: reproducible without touching libc's shared rand() state. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int load_file(const char *path, struct input *in)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            uint8_t *bigger = realloc(buf, cap);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    fclose(f);
    if (buf == NULL) {
        return -1;
    }
    in->data = buf;
    in->size = len;
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    const char *target = strncmp(base, "replay_fuzz_", 12) == 0 ? base + 12 : base;
    char dir[512];
    const char *root = getenv("FUZZ_CORPUS_ROOT");
    snprintf(dir, sizeof dir, "%s/%s", root ? root : "tests/fuzz/corpus", target);

    struct input inputs[512];
    size_t count = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        printf("FAIL replay_%s: no corpus directory %s\n", target, dir);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < sizeof inputs / sizeof inputs[0]) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (load_file(path, &inputs[count]) == 0) {
            count++;
        }
    }
    closedir(d);
    if (count == 0) {
        printf("FAIL replay_%s: corpus %s is empty\n", target, dir);
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].size);
    }
    const char *env_rounds = getenv("FUZZ_REPLAY_MUTATIONS");
    long rounds = env_rounds ? atol(env_rounds) : 3000;
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    for (long r = 0; r < rounds; r++) {
        const struct input *src = &inputs[next_random(&state) % count];
        size_t size = src->size;
        uint8_t *buf = malloc(size + 64);
        if (buf == NULL) {
            return 1;
        }
        memcpy(buf, src->data, size);
        switch (next_random(&state) % 4) {
        case 0: /* flip a few bytes */
            for (int k = 0; k < 4 && size > 0; k++) {
                buf[next_random(&state) % size] ^= (uint8_t)(1u << (next_random(&state) % 8));
            }
            break;
        case 1: /* truncate */
            size = size ? next_random(&state) % size : 0;
            break;
        case 2: /* overwrite with extreme bytes */
            for (int k = 0; k < 8 && size > 0; k++) {
                buf[next_random(&state) % size] = (next_random(&state) & 1) ? 0xFF : 0x00;
            }
            break;
        default: { /* append a splice from another input */
            const struct input *other = &inputs[next_random(&state) % count];
            size_t extra = other->size < 64 ? other->size : 64;
            memcpy(buf + size, other->data, extra);
            size += extra;
        }
        }
        LLVMFuzzerTestOneInput(buf, size);
        free(buf);
    }
    for (size_t i = 0; i < count; i++) {
        free(inputs[i].data);
    }
    printf("PASS replay_%s: %zu corpus inputs and %ld mutations ran clean\n", target, count,
           rounds);
    return 0;
}
