/*
 * Parameter detection. SPIFFS images do not describe themselves (SPEC.md §10),
 * so every plausible parameter set is tried and weighed by evidence:
 *   1. page/block size and magic flavour: block magics, then how consistently
 *      the lookup tables agree with the page headers (and free pages are
 *      really erased);
 *   2. header layout (meta length, table alignment): how many problems a full
 *      check finds when files are read through their index tables.
 * A tie between candidates that read differently is reported, never guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spiffsgen/spiffsgen_priv.h"

static const uint32_t pages[] = {256, 512, 1024};
static const uint32_t blocks[] = {4096, 8192, 16384, 32768, 65536};

enum magic_kind { MAGIC_LEN, MAGIC_NOLEN, MAGIC_NONE };

/* Preset layouts first: ties between equal readings go to the earlier one. */
static const struct {
    uint32_t meta;
    bool aligned;
} layouts[] = {{4, false}, {0, true}, {0, false}, {4, true}};

#define MAX_CANDIDATES (3 * 5 * 3 * 4)

struct candidate {
    struct sg_params p;
    bool bad_block;
    size_t problems;
    size_t good;
    uint64_t reading; /* hash of names, sizes and contents, computed on ties */
};

static void base_params(struct sg_params *p, uint32_t page, uint32_t block, int magic)
{
    memset(p, 0, sizeof *p);
    p->page_size = page;
    p->block_size = block;
    p->obj_name_len = 32;
    p->meta_len = 4;
    p->use_magic = magic != MAGIC_NONE;
    p->use_magic_len = magic == MAGIC_LEN;
}

/* Phase 1: one candidate per (page, block, magic); false if it cannot be it. */
static bool weigh_geometry(const uint8_t *image, size_t size, struct candidate *c)
{
    struct sg_image *im;
    if (sg_image_open(&c->p, image, size, &im, NULL) != SG_OK) {
        return false;
    }
    c->bad_block = im->bad_block >= 0;
    c->problems = sg_check_pages(im, &c->good);
    bool plausible;
    if (c->p.use_magic) {
        /* One matching magic in a one-block image, else at least two. */
        plausible = im->g.blocks - (c->bad_block ? 1u : 0u) >= (im->g.blocks > 1 ? 2u : 1u);
    } else {
        plausible = c->good > 0 && c->problems < c->good;
    }
    sg_image_close(im);
    return plausible;
}

static int better(const struct candidate *a, const struct candidate *b)
{
    if (a->bad_block != b->bad_block) {
        return a->bad_block ? 1 : -1;
    }
    if (a->problems != b->problems) {
        return a->problems > b->problems ? 1 : -1;
    }
    if (a->good != b->good) {
        return a->good < b->good ? 1 : -1;
    }
    return 0;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001B3ull;
    }
    return h;
}

static void weigh_layout(const uint8_t *image, size_t size, struct candidate *c)
{
    struct sg_image *im;
    c->problems = SIZE_MAX;
    c->reading = 0;
    if (sg_image_open(&c->p, image, size, &im, NULL) != SG_OK) {
        return;
    }
    c->problems = sg_image_check(im, NULL, NULL);
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < sg_image_count(im); i++) {
        const struct sg_entry *e = sg_image_entry(im, i);
        uint8_t *data = NULL;
        size_t len = 0;
        h = fnv(h, e->name, strlen(e->name) + 1);
        int rc = sg_image_read(im, i, &data, &len, NULL);
        h = fnv(h, &rc, sizeof rc);
        h = fnv(h, data, len);
        free(data);
    }
    c->reading = h;
    sg_image_close(im);
}

static void list_candidates(char *buf, size_t len, const struct candidate *c, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < len; i++) {
        char d[160];
        sg_params_describe(&c[i].p, d, sizeof d);
        int w = snprintf(buf + used, len - used, "%s(%s)", i ? "; " : "", d);
        used += w > 0 ? (size_t)w : 0;
    }
}

static int choose(size_t size, struct candidate *best, size_t n, struct sg_params *out,
                  char *preset_name, size_t preset_name_len, struct sg_error *err)
{
    size_t tied = 1;
    while (tied < n && best[tied].problems == best[0].problems) {
        tied++;
    }
    size_t pick = 0;
    if (tied > 1) {
        bool same = true;
        for (size_t i = 1; i < tied; i++) {
            same = same && best[i].reading == best[0].reading;
        }
        if (!same) {
            char list[200];
            list_candidates(list, sizeof list, best, tied);
            return sg_fail(err, SG_ERR_CORRUPT,
                           "cannot tell the SPIFFS parameters: %zu sets read the image "
                           "differently: %s",
                           tied, list);
        }
        /* They read alike: prefer a preset's exact parameters. */
        for (size_t i = 0; i < tied; i++) {
            if (sg_preset_match(&best[i].p, size) != NULL) {
                pick = i;
                break;
            }
        }
    }
    *out = best[pick].p;
    if (preset_name != NULL && preset_name_len > 0) {
        const char *name = sg_preset_match(out, size);
        snprintf(preset_name, preset_name_len, "%s", name ? name : "custom");
    }
    return SG_OK;
}

int sg_detect(const uint8_t *image, size_t size, struct sg_params *out, char *preset_name,
              size_t preset_name_len, struct sg_error *err)
{
    struct candidate geo[3 * 5 * 3];
    size_t ngeo = 0;
    bool have_magic = false;
    for (size_t pi = 0; pi < 3; pi++) {
        for (size_t bi = 0; bi < 5; bi++) {
            for (int m = MAGIC_LEN; m <= MAGIC_NONE; m++) {
                struct candidate *c = &geo[ngeo];
                memset(c, 0, sizeof *c);
                base_params(&c->p, pages[pi], blocks[bi], m);
                if ((m != MAGIC_NONE || !have_magic) && weigh_geometry(image, size, c)) {
                    have_magic = have_magic || m != MAGIC_NONE;
                    ngeo++;
                }
            }
        }
    }
    /* Matching magics outweigh any reading that ignores them. */
    size_t kept = 0;
    for (size_t i = 0; i < ngeo; i++) {
        if (!have_magic || geo[i].p.use_magic) {
            geo[kept++] = geo[i];
        }
    }
    if (kept == 0) {
        size_t i = 0;
        while (i < size && image[i] == 0xFF) {
            i++;
        }
        if (i == size) {
            return sg_fail(err, SG_ERR_CORRUPT,
                           "the image is blank (all 0xFF): erased flash, no file system yet");
        }
        return sg_fail(err, SG_ERR_CORRUPT,
                       "not a SPIFFS image: no block magic matches and no page size (256, 512, "
                       "1024) and block size (4 KiB to 64 KiB) reads consistent pages");
    }
    size_t best = 0;
    for (size_t i = 1; i < kept; i++) {
        if (better(&geo[i], &geo[best]) < 0) {
            best = i;
        }
    }
    struct candidate full[MAX_CANDIDATES];
    size_t nfull = 0;
    for (size_t i = 0; i < kept; i++) {
        if (better(&geo[i], &geo[best]) != 0) {
            continue;
        }
        for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
            struct candidate *c = &full[nfull];
            *c = geo[i];
            c->p.meta_len = layouts[l].meta;
            c->p.aligned_obj_ix_tables = layouts[l].aligned;
            weigh_layout(image, size, c);
            if (c->problems != SIZE_MAX) {
                nfull++;
            }
        }
    }
    /* Stable selection sort by problems: earlier (preset) layouts win ties. */
    for (size_t i = 0; i < nfull; i++) {
        size_t m = i;
        for (size_t j = i + 1; j < nfull; j++) {
            if (full[j].problems < full[m].problems) {
                m = j;
            }
        }
        struct candidate t = full[m];
        memmove(&full[i + 1], &full[i], (m - i) * sizeof t);
        full[i] = t;
    }
    if (nfull == 0) {
        return sg_fail(err, SG_ERR_CORRUPT, "not a SPIFFS image for any known parameters");
    }
    return choose(size, full, nfull, out, preset_name, preset_name_len, err);
}
