/*
 * Fault injection. Grammar of one --fault SPEC (documented in README.md):
 *   SPEC  := KIND [ ':' PARAM { ',' PARAM } ]
 *   PARAM := KEY '=' VALUE
 * Common keys: at=N (first occurrence that fires, 1-based), count=N (times it
 * fires, 0 = no limit), p=F with seed=S (fire at random instead), cmd=NAME|0xNN.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct kind_info {
    const char *name;
    enum sim_fault_kind kind;
    int default_op;
};

static const struct kind_info kinds[] = {
    {"drop-rx", SIM_F_DROP_RX, -1},
    {"drop-tx", SIM_F_DROP_TX, -1},
    {"corrupt-rx", SIM_F_CORRUPT_RX, -1},
    {"corrupt-tx", SIM_F_CORRUPT_TX, -1},
    {"junk", SIM_F_JUNK, -1},
    {"silence", SIM_F_SILENCE, -1},
    {"brownout", SIM_F_BROWNOUT, OP_FLASH_DATA},
    {"no-download", SIM_F_NO_DOWNLOAD, -1},
    {"lose-reply", SIM_F_LOSE_REPLY, -1},
    {"slow-erase", SIM_F_SLOW_ERASE, -1},
    {"repeat-error", SIM_F_REPEAT_ERROR, -1},
    {"sync-lost", SIM_F_SYNC_LOST, -1},
    {"write-fail", SIM_F_WRITE_FAIL, OP_FLASH_DATA},
    {"split", SIM_F_SPLIT, -1},
    {"baud-limit", SIM_F_BAUD_LIMIT, -1},
};

static int parse_u64(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (*v == '\0' || *end != '\0' || *v == '-') {
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_op(const char *v, int *op)
{
    uint64_t x;
    if (parse_u64(v, &x) == 0 && x <= 0xFF) {
        *op = (int)x;
        return 0;
    }
    for (int i = 0; i < 256; i++) {
        const char *name = sim_op_name((uint8_t)i);
        if (name[0] != '?' && strcasecmp(name, v) == 0) {
            *op = i;
            return 0;
        }
    }
    return -1;
}

/* junk text: plain characters plus \xNN, \r, \n. */
static int parse_text(const char *v, struct sim_fault *f)
{
    f->text_len = 0;
    while (*v != '\0' && f->text_len < sizeof f->text) {
        if (v[0] == '\\' && v[1] == 'x' && isxdigit((unsigned char)v[2]) &&
            isxdigit((unsigned char)v[3])) {
            char hex[3] = {v[2], v[3], 0};
            f->text[f->text_len++] = (char)strtoul(hex, NULL, 16);
            v += 4;
        } else if (v[0] == '\\' && (v[1] == 'r' || v[1] == 'n')) {
            f->text[f->text_len++] = v[1] == 'r' ? '\r' : '\n';
            v += 2;
        } else {
            f->text[f->text_len++] = *v++;
        }
    }
    return *v == '\0' ? 0 : -1;
}

static int set_param(struct sim_fault *f, const char *key, const char *val, bool *count_set)
{
    uint64_t x;
    if (strcmp(key, "cmd") == 0) {
        return parse_op(val, &f->opcode);
    }
    if (strcmp(key, "text") == 0) {
        return parse_text(val, f);
    }
    if (strcmp(key, "p") == 0) {
        char *end;
        f->p = strtod(val, &end);
        return (*end != '\0' || f->p <= 0 || f->p > 1) ? -1 : 0;
    }
    if (parse_u64(val, &x) != 0) {
        return -1;
    }
    if (strcmp(key, "at") == 0 && x >= 1) {
        f->at = x;
    } else if (strcmp(key, "after") == 0) {
        f->at = x + 1;
    } else if (strcmp(key, "count") == 0) {
        f->count = x;
        *count_set = true;
    } else if (strcmp(key, "seed") == 0) {
        f->rng = x ? x : 1;
    } else if (strcmp(key, "xor") == 0 && x >= 1 && x <= 0xFF) {
        f->xor_mask = (uint8_t)x;
    } else if (strcmp(key, "rate") == 0 && x >= 300) {
        f->rate = (uint32_t)x;
    } else if (strcmp(key, "ms") == 0) {
        f->ms = (uint32_t)x;
    } else if ((strcmp(key, "times") == 0 || strcmp(key, "n") == 0) && x >= 1 && x <= 1000) {
        f->n = (uint32_t)x;
    } else {
        return -1;
    }
    return 0;
}

int sim_fault_parse(struct sim_faults *fs, const char *spec, char *err, size_t n)
{
    if (fs->n >= SIM_MAX_FAULTS) {
        snprintf(err, n, "too many --fault options (at most %d)", SIM_MAX_FAULTS);
        return -1;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *params = strchr(buf, ':');
    if (params != NULL) {
        *params++ = '\0';
    }
    const struct kind_info *ki = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].name, buf) == 0) {
            ki = &kinds[i];
        }
    }
    if (ki == NULL) {
        snprintf(err, n, "unknown fault '%s' (see tests/espsim/README.md)", buf);
        return -1;
    }
    struct sim_fault f = {.kind = ki->kind,
                          .opcode = ki->default_op,
                          .at = 1,
                          .rng = 1,
                          .xor_mask = 0x01,
                          .ms = 25000,
                          .n = 0};
    if (ki->kind == SIM_F_SPLIT) {
        f.n = 1;
        f.ms = 1;
    } else if (ki->kind == SIM_F_REPEAT_ERROR) {
        f.n = 3;
    } else if (ki->kind == SIM_F_SYNC_LOST) {
        f.n = 1;
    } else if (ki->kind == SIM_F_BAUD_LIMIT) {
        f.rate = 921600;
    }
    memcpy(f.text, "\0\xff\xfejunk\r\n", 9);
    f.text_len = 9;
    bool count_set = false;
    for (char *save = NULL, *kv = params ? strtok_r(params, ",", &save) : NULL; kv != NULL;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL) {
            snprintf(err, n, "fault '%s': expected KEY=VALUE, got '%s'", spec, kv);
            return -1;
        }
        *eq = '\0';
        if (set_param(&f, kv, eq + 1, &count_set) != 0) {
            snprintf(err, n, "fault '%s': bad parameter '%s=%s'", spec, kv, eq + 1);
            return -1;
        }
    }
    if (!count_set) {
        f.count = f.p > 0 ? 0 : 1;
    }
    fs->v[fs->n++] = f;
    return 0;
}

static double next_random(struct sim_fault *f)
{
    /* xorshift64*: deterministic per seed, good enough for fault timing. */
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return (double)((f->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

struct sim_fault *sim_fault_hit(struct sim_faults *fs, enum sim_fault_kind kind, int opcode)
{
    struct sim_fault *hit = NULL;
    for (int i = 0; i < fs->n; i++) {
        struct sim_fault *f = &fs->v[i];
        if (f->kind != kind || (f->opcode >= 0 && opcode >= 0 && f->opcode != opcode)) {
            continue;
        }
        f->seen++;
        if (f->count != 0 && f->fired >= f->count) {
            continue;
        }
        bool fire = f->p > 0 ? next_random(f) < f->p : f->seen >= f->at;
        if (fire && hit == NULL) {
            f->fired++;
            hit = f;
        }
    }
    return hit;
}

bool sim_fault_present(const struct sim_faults *fs, enum sim_fault_kind kind)
{
    for (int i = 0; i < fs->n; i++) {
        if (fs->v[i].kind == kind) {
            return true;
        }
    }
    return false;
}

uint32_t sim_fault_baud_limit(const struct sim_faults *fs)
{
    for (int i = 0; i < fs->n; i++) {
        if (fs->v[i].kind == SIM_F_BAUD_LIMIT) {
            return fs->v[i].rate;
        }
    }
    return 0;
}
