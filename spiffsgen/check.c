/*
 * Consistency check: everything the SPIFFS library's own check would repair
 * (by deleting), reported instead, one precise line per problem.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spiffsgen/spiffsgen_priv.h"

#define MAX_REPORTED 1000u /* lines; the count goes on */
#define MAX_PER_FILE 16u
#define NO_OWNER     UINT32_MAX
#define OBJ_IDS      0x8000u

enum page_kind { KIND_NONE, KIND_DATA, KIND_INDEX };

struct checker {
    const struct sg_image *im;
    void (*report)(void *user, const char *problem);
    void *user;
    size_t count;
    uint8_t *kind;     /* per page: a live page found in the lookup pass */
    uint32_t *owner;   /* per page: the record that references it */
    uint32_t *file_of; /* per object id: first record with that id */
    uint16_t *headers; /* per object id: live headers seen */
    size_t good;       /* used pages that passed */
};

__attribute__((format(printf, 2, 3))) static void problem(struct checker *c, const char *fmt, ...)
{
    if (c->count++ < MAX_REPORTED && c->report != NULL) {
        char line[320];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        c->report(c->user, line);
    }
}

static const char *page_role(uint16_t lu)
{
    return (lu & SG_ID_INDEX) ? "an index page" : "a data page";
}

static void check_bad_block(struct checker *c)
{
    const struct sg_image *im = c->im;
    const struct sg_geom *g = &im->g;
    if (im->bad_block < 0) {
        return;
    }
    uint32_t bix = (uint32_t)im->bad_block, lost = 0;
    for (uint32_t k = 0; k < g->e; k++) {
        uint16_t lu = sg_get16(im->img + (size_t)bix * g->block + 2u * k);
        lost += lu != SG_ID_FREE && lu != SG_ID_DELETED;
    }
    problem(c,
            "block %u: magic 0x%04x, expected 0x%04x; the device takes it for an interrupted "
            "erase and erases it at mount (%u used pages lost)",
            bix, im->bad_magic, sg_geom_magic(g, bix), lost);
}

static void check_page(struct checker *c, uint32_t pix)
{
    const struct sg_image *im = c->im;
    uint16_t lu = sg_lu_entry(im, pix);
    const uint8_t *page = sg_page(im, pix);
    if (lu == SG_ID_DELETED) {
        return;
    }
    if (lu == SG_ID_FREE) {
        if (memcmp(page, im->blank, im->g.page) != 0) {
            problem(c,
                    "page %u: free in the lookup table but not erased; the device would "
                    "write over it",
                    pix);
        }
        return;
    }
    uint16_t hid = sg_get16(page), span = sg_get16(page + 2);
    uint8_t flags = page[4];
    bool is_index = (lu & SG_ID_INDEX) != 0;
    unsigned id = lu & 0x7FFFu;
    if (flags & SG_FLAG_USED) {
        problem(c, "page %u: the lookup table says %s of object %u but the page is unwritten", pix,
                page_role(lu), id);
    } else if (hid != lu) {
        problem(c, "page %u: lookup entry 0x%04x but the page header says 0x%04x", pix, lu, hid);
    } else if (is_index != !(flags & SG_FLAG_INDEX)) {
        problem(c, "page %u: the lookup table says %s but its flags 0x%02x say otherwise", pix,
                page_role(lu), flags);
    } else if (!(flags & SG_FLAG_DELET)) {
        problem(c, "page %u: deleted (flags 0x%02x) but still used in the lookup table", pix,
                flags);
    } else if (flags & SG_FLAG_FINAL) {
        problem(c, "page %u: object %u span %u was never finalized (interrupted write)", pix, id,
                span);
    } else if (is_index && span == 0 && !(flags & SG_FLAG_IXDELE)) {
        problem(c, "page %u: object %u is half-deleted (interrupted remove)", pix, id);
    } else {
        c->good++;
        if (c->kind != NULL && (!is_index || span != 0)) {
            c->kind[pix] = is_index ? KIND_INDEX : KIND_DATA;
        }
    }
}

static void check_name(struct checker *c, size_t i)
{
    const struct sg_image *im = c->im;
    const struct sg_rec *r = &im->recs[i];
    size_t len = strlen(r->e.name);
    if (len == 0) {
        problem(c, "page %u: object %u has an empty name", r->hdr_pix, r->e.obj_id);
    } else if (r->e.name[0] != '/') {
        problem(c, "'%s': the name does not start with '/'", r->e.name);
    }
    if (len == im->g.name_len) {
        problem(c,
                "'%s': the name fills all %u bytes with no terminating NUL; the device "
                "cannot open it",
                r->e.name, im->g.name_len);
    }
    if (i > 0 && strcmp(im->recs[i - 1].e.name, r->e.name) == 0) {
        problem(c, "'%s' exists twice (pages %u and %u); the device opens the first one", r->e.name,
                im->recs[i - 1].hdr_pix, r->hdr_pix);
    }
    if (++c->headers[r->e.obj_id] == 2) {
        problem(c, "object %u has more than one live header ('%s' at page %u and more)",
                r->e.obj_id, r->e.name, r->hdr_pix);
    }
}

static void claim(struct checker *c, size_t i, uint32_t pix, const char *what, uint32_t span)
{
    const struct sg_image *im = c->im;
    if (c->owner[pix] == NO_OWNER) {
        c->owner[pix] = (uint32_t)i;
        return;
    }
    problem(c, "'%s': %s %u uses page %u, which '%s' uses too", im->recs[i].e.name, what, span, pix,
            im->recs[c->owner[pix]].e.name);
}

static void check_index_pages(struct checker *c, size_t i, uint32_t nspans)
{
    const struct sg_image *im = c->im;
    const struct sg_geom *g = &im->g;
    const struct sg_rec *r = &im->recs[i];
    uint32_t needed = nspans > g->he ? (nspans - g->he + g->ie - 1) / g->ie : 0;
    uint32_t first = 0;
    for (uint32_t k = 1; k <= needed && k <= 0xFFFFu; k++) {
        size_t n = sg_find_ixpage(im, r->e.obj_id, (uint16_t)k, &first);
        if (n > 1) {
            problem(c, "'%s': index page %u exists %zu times (first at page %u)", r->e.name, k, n,
                    first);
        }
    }
    size_t lo = 0, hi = im->nix;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (im->ix[mid].id < r->e.obj_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t x = lo; x < im->nix && im->ix[x].id == r->e.obj_id; x++) {
        const struct sg_ixpage *p = &im->ix[x];
        if (p->span > needed) {
            problem(c, "'%s': index page %u (page %u) lies beyond the file's size", r->e.name,
                    p->span, p->pix);
            c->owner[p->pix] = (uint32_t)i;
        } else {
            claim(c, i, p->pix, "index page", p->span);
        }
    }
}

static void check_file(struct checker *c, size_t i)
{
    const struct sg_image *im = c->im;
    const struct sg_rec *r = &im->recs[i];
    char why[200];
    check_name(c, i);
    if (c->headers[r->e.obj_id] > 1) {
        return; /* reported as a duplicate header; its pages would all look cross-linked */
    }
    claim(c, i, r->hdr_pix, "header", 0);
    if (c->file_of[r->e.obj_id] == NO_OWNER) {
        c->file_of[r->e.obj_id] = (uint32_t)i;
    }
    if (!sg_header_valid(im, r, why, sizeof why)) {
        problem(c, "'%s': %s", r->e.name, why);
        return;
    }
    struct sg_walk w;
    sg_walk_init(&w, im, r);
    uint32_t pix, bad = 0;
    int rc;
    while ((rc = sg_walk_next(&w, &pix, why, sizeof why)) != 0) {
        if (rc > 0) {
            claim(c, i, pix, "data span", w.span - 1);
        } else if (bad++ < MAX_PER_FILE) {
            problem(c, "'%s': %s", r->e.name, why);
        } else {
            c->count++;
        }
    }
    if (bad > MAX_PER_FILE) {
        problem(c, "'%s': %u more problems like the above", r->e.name, bad - MAX_PER_FILE);
        c->count--;
    }
    if (w.nspans <= (uint64_t)im->g.blocks * im->g.e) {
        check_index_pages(c, i, w.nspans);
    }
}

static void check_leftovers(struct checker *c)
{
    const struct sg_image *im = c->im;
    for (uint32_t pix = 0; pix < im->g.pages; pix++) {
        if (c->kind[pix] == KIND_NONE || c->owner[pix] != NO_OWNER) {
            continue;
        }
        const uint8_t *page = sg_page(im, pix);
        unsigned id = sg_get16(page) & 0x7FFFu, span = sg_get16(page + 2);
        const char *what = c->kind[pix] == KIND_DATA ? "data span" : "index page";
        if (c->file_of[id] != NO_OWNER) {
            problem(c,
                    "page %u: %s %u of '%s' is not referenced by the file (left over from an "
                    "interrupted write)",
                    pix, what, span, im->recs[c->file_of[id]].e.name);
        } else {
            problem(c, "page %u: %s %u of object %u belongs to no file", pix, what, span, id);
        }
    }
}

size_t sg_image_check(const struct sg_image *img, void (*report)(void *user, const char *problem),
                      void *user)
{
    const struct sg_geom *g = &img->g;
    struct checker c = {img, report, user, 0, NULL, NULL, NULL, NULL, 0};
    c.kind = calloc(g->pages, 1);
    c.owner = malloc(g->pages * sizeof *c.owner);
    c.file_of = malloc(OBJ_IDS * sizeof *c.file_of);
    c.headers = calloc(OBJ_IDS, sizeof *c.headers);
    if (c.kind == NULL || c.owner == NULL || c.file_of == NULL || c.headers == NULL) {
        problem(&c, "out of memory checking the image");
    } else {
        memset(c.owner, 0xFF, g->pages * sizeof *c.owner);
        memset(c.file_of, 0xFF, OBJ_IDS * sizeof *c.file_of);
        check_bad_block(&c);
        for (uint32_t bix = 0; bix < g->blocks; bix++) {
            for (uint32_t k = 0; k < g->e; k++) {
                check_page(&c, sg_obj_pix(g, bix, k));
            }
        }
        for (size_t i = 0; i < img->count; i++) {
            check_file(&c, i);
        }
        check_leftovers(&c);
    }
    if (c.count > MAX_REPORTED && report != NULL) {
        char line[96];
        snprintf(line, sizeof line, "... and %zu more problems", c.count - MAX_REPORTED);
        report(user, line);
    }
    free(c.kind);
    free(c.owner);
    free(c.file_of);
    free(c.headers);
    return c.count;
}

size_t sg_check_pages(const struct sg_image *img, size_t *good)
{
    struct checker c = {img, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0};
    check_bad_block(&c);
    for (uint32_t bix = 0; bix < img->g.blocks; bix++) {
        for (uint32_t k = 0; k < img->g.e; k++) {
            check_page(&c, sg_obj_pix(&img->g, bix, k));
        }
    }
    *good = c.good;
    return c.count;
}
