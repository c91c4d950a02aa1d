/*
 * The reader: indexes an image the way the SPIFFS library's mount, readdir and
 * read find things (SPEC.md §9), independently of how the builder lays pages
 * out. Every loop is bounded by the geometry and every page index is checked
 * before use, so any byte string terminates without reading outside it.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spiffsgen/spiffsgen_priv.h"

const uint8_t *sg_page(const struct sg_image *im, uint32_t pix)
{
    assert(pix < im->g.pages);
    if (im->bad_block >= 0 && pix / im->g.ppb == (uint32_t)im->bad_block) {
        return im->blank;
    }
    return im->img + (size_t)pix * im->g.page;
}

uint16_t sg_lu_entry(const struct sg_image *im, uint32_t pix)
{
    const struct sg_geom *g = &im->g;
    uint32_t bix = pix / g->ppb;
    uint32_t k = pix % g->ppb - g->lup;
    if (im->bad_block >= 0 && bix == (uint32_t)im->bad_block) {
        return SG_ID_FREE;
    }
    return sg_get16(im->img + (size_t)bix * g->block + 2u * k);
}

static int check_magics(struct sg_image *im, struct sg_error *err)
{
    const struct sg_geom *g = &im->g;
    uint32_t wrong = 0, first = 0;
    uint16_t first_seen = 0;
    for (uint32_t bix = 0; bix < g->blocks; bix++) {
        uint16_t seen = sg_get16(im->img + (size_t)bix * g->block + g->magic_off);
        if (seen != sg_geom_magic(g, bix)) {
            if (wrong++ == 0) {
                first = bix;
                first_seen = seen;
            }
        }
    }
    if (wrong >= 2) {
        return sg_fail(err, SG_ERR_CORRUPT,
                       "not a SPIFFS image for these parameters: %u of %u blocks have a wrong "
                       "magic (block %u has 0x%04x, expected 0x%04x); the device refuses to "
                       "mount it (SPIFFS_ERR_NOT_A_FS)",
                       wrong, g->blocks, first, first_seen, sg_geom_magic(g, first));
    }
    if (wrong == 1) {
        /* The library takes it for an interrupted erase and erases it. */
        im->bad_block = (long)first;
        im->bad_magic = first_seen;
    }
    return SG_OK;
}

static int cmp_rec(const void *a, const void *b)
{
    const struct sg_rec *x = a, *y = b;
    int c = strcmp(x->e.name, y->e.name);
    if (c != 0) {
        return c;
    }
    return x->hdr_pix < y->hdr_pix ? -1 : x->hdr_pix > y->hdr_pix;
}

static int cmp_ix(const void *a, const void *b)
{
    const struct sg_ixpage *x = a, *y = b;
    uint64_t kx = ((uint64_t)x->id << 48) | ((uint64_t)x->span << 32) | x->pix;
    uint64_t ky = ((uint64_t)y->id << 48) | ((uint64_t)y->span << 32) | y->pix;
    return kx < ky ? -1 : kx > ky;
}

static void add_file(struct sg_image *im, uint16_t lu, uint32_t pix)
{
    const struct sg_geom *g = &im->g;
    const uint8_t *page = sg_page(im, pix);
    struct sg_rec *r = &im->recs[im->count];
    char *name = im->names + im->count * (g->name_len + 1);
    const uint8_t *raw = page + 13;
    size_t len = 0;
    while (len < g->name_len && raw[len] != 0) {
        len++;
    }
    memcpy(name, raw, len);
    name[len] = '\0';
    uint32_t size = sg_get32(page + 8);
    r->e.name = name;
    r->e.size = size == 0xFFFFFFFFu ? 0 : size;
    r->e.obj_id = (uint16_t)(lu & ~SG_ID_INDEX);
    r->e.meta = g->meta_len ? page + 13 + g->name_len : NULL;
    r->hdr_pix = pix;
    im->count++;
}

/* One pass over every lookup entry: statistics, live headers, live
 * continuation index pages. */
static void scan(struct sg_image *im)
{
    const struct sg_geom *g = &im->g;
    for (uint32_t bix = 0; bix < g->blocks; bix++) {
        for (uint32_t k = 0; k < g->e; k++) {
            uint32_t pix = sg_obj_pix(g, bix, k);
            uint16_t lu = sg_lu_entry(im, pix);
            if (lu == SG_ID_FREE) {
                im->stats.pages_free++;
                continue;
            }
            if (lu == SG_ID_DELETED) {
                im->stats.pages_deleted++;
                continue;
            }
            im->stats.pages_used++;
            if (!(lu & SG_ID_INDEX)) {
                continue;
            }
            const uint8_t *page = sg_page(im, pix);
            uint16_t span = sg_get16(page + 2);
            uint8_t flags = page[4];
            if (span == 0) {
                /* readdir's rule: not deleted, finalized, not being removed. */
                if ((flags & (SG_FLAG_DELET | SG_FLAG_FINAL | SG_FLAG_IXDELE)) ==
                    (SG_FLAG_DELET | SG_FLAG_IXDELE)) {
                    add_file(im, lu, pix);
                }
            } else if (sg_get16(page) == lu &&
                       (flags & (SG_FLAG_DELET | SG_FLAG_FINAL | SG_FLAG_USED)) == SG_FLAG_DELET) {
                struct sg_ixpage *x = &im->ix[im->nix++];
                x->id = (uint16_t)(lu & ~SG_ID_INDEX);
                x->span = span;
                x->pix = pix;
            }
        }
    }
}

int sg_image_open(const struct sg_params *p, const uint8_t *image, size_t size,
                  struct sg_image **out, struct sg_error *err)
{
    assert(p != NULL && out != NULL && (image != NULL || size == 0));
    *out = NULL;
    struct sg_image *im = calloc(1, sizeof *im);
    if (im == NULL) {
        return sg_fail(err, SG_ERR_NOMEM, "out of memory opening the image");
    }
    im->img = image;
    im->size = size;
    im->bad_block = -1;
    int rc = sg_geom_init(&im->g, p, size, false, err);
    if (rc == SG_OK && im->g.magic) {
        rc = check_magics(im, err);
    }
    if (rc != SG_OK) {
        sg_image_close(im);
        return rc;
    }
    const struct sg_geom *g = &im->g;
    size_t slots = (size_t)g->blocks * g->e;
    im->stats.blocks = g->blocks;
    im->stats.pages_total = (uint32_t)slots;
    im->blank = malloc(g->page);
    if (im->blank == NULL) {
        sg_image_close(im);
        return sg_fail(err, SG_ERR_NOMEM, "out of memory opening the image");
    }
    memset(im->blank, 0xFF, g->page);
    /* Size the index by the index pages present, not by the image. */
    size_t index_pages = 0;
    for (uint32_t bix = 0; bix < g->blocks; bix++) {
        for (uint32_t k = 0; k < g->e; k++) {
            uint16_t lu = sg_lu_entry(im, sg_obj_pix(g, bix, k));
            index_pages += (lu & SG_ID_INDEX) && lu != SG_ID_FREE;
        }
    }
    size_t cap = index_pages ? index_pages : 1;
    im->recs = malloc(cap * sizeof *im->recs);
    im->names = malloc(cap * (g->name_len + 1));
    im->ix = malloc(cap * sizeof *im->ix);
    if (im->recs == NULL || im->names == NULL || im->ix == NULL) {
        sg_image_close(im);
        return sg_fail(err, SG_ERR_NOMEM, "out of memory indexing %zu index pages", index_pages);
    }
    scan(im);
    qsort(im->recs, im->count, sizeof *im->recs, cmp_rec);
    qsort(im->ix, im->nix, sizeof *im->ix, cmp_ix);
    *out = im;
    return SG_OK;
}

void sg_image_close(struct sg_image *img)
{
    if (img != NULL) {
        free(img->blank);
        free(img->recs);
        free(img->names);
        free(img->ix);
        free(img);
    }
}

size_t sg_image_count(const struct sg_image *img)
{
    return img->count;
}

const struct sg_entry *sg_image_entry(const struct sg_image *img, size_t i)
{
    assert(i < img->count);
    return &img->recs[i].e;
}

long sg_image_find(const struct sg_image *img, const char *name)
{
    size_t lo = 0, hi = img->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(img->recs[mid].e.name, name) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < img->count && strcmp(img->recs[lo].e.name, name) == 0 ? (long)lo : -1;
}

void sg_image_stats(const struct sg_image *img, struct sg_stats *out)
{
    *out = img->stats;
}

long sg_image_bad_block(const struct sg_image *img, uint16_t *found, uint16_t *expected)
{
    if (img->bad_block >= 0) {
        if (found != NULL) {
            *found = img->bad_magic;
        }
        if (expected != NULL) {
            *expected = sg_geom_magic(&img->g, (uint32_t)img->bad_block);
        }
    }
    return img->bad_block;
}

size_t sg_find_ixpage(const struct sg_image *im, uint16_t id, uint16_t span, uint32_t *first)
{
    size_t lo = 0, hi = im->nix;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sg_ixpage *x = &im->ix[mid];
        if (x->id < id || (x->id == id && x->span < span)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    size_t n = 0;
    for (size_t i = lo; i < im->nix && im->ix[i].id == id && im->ix[i].span == span; i++) {
        if (n++ == 0) {
            *first = im->ix[i].pix;
        }
    }
    return n;
}

/* SPIFFS_VALIDATE_OBJIX: what opening a file or loading an index page checks. */
static bool index_page_valid(const uint8_t *page, uint16_t id, uint16_t span, char *why,
                             size_t why_len)
{
    uint8_t flags = page[4];
    uint16_t hid = sg_get16(page);
    if (flags & SG_FLAG_USED) {
        snprintf(why, why_len, "is unwritten (flags 0x%02x)", flags);
    } else if (!(flags & SG_FLAG_DELET)) {
        snprintf(why, why_len, "is deleted (flags 0x%02x)", flags);
    } else if (flags & SG_FLAG_FINAL) {
        snprintf(why, why_len, "was never finalized (flags 0x%02x)", flags);
    } else if (flags & SG_FLAG_INDEX) {
        snprintf(why, why_len, "is flagged as a data page (flags 0x%02x)", flags);
    } else if (sg_get16(page + 2) != span) {
        snprintf(why, why_len, "has span %u, expected %u", sg_get16(page + 2), span);
    } else if (hid != (id | SG_ID_INDEX)) {
        snprintf(why, why_len, "has id 0x%04x, expected 0x%04x", hid, id | SG_ID_INDEX);
    } else {
        return true;
    }
    return false;
}

bool sg_header_valid(const struct sg_image *im, const struct sg_rec *rec, char *why, size_t why_len)
{
    char sub[128];
    if (index_page_valid(sg_page(im, rec->hdr_pix), rec->e.obj_id, 0, sub, sizeof sub)) {
        return true;
    }
    snprintf(why, why_len, "its header (page %u) %s", rec->hdr_pix, sub);
    return false;
}

void sg_walk_init(struct sg_walk *w, const struct sg_image *im, const struct sg_rec *rec)
{
    memset(w, 0, sizeof *w);
    w->im = im;
    w->rec = rec;
    w->nspans = (uint32_t)(((uint64_t)rec->e.size + im->g.data_len - 1) / im->g.data_len);
    w->ix_span = -1;
}

static bool load_index(struct sg_walk *w, uint32_t ix_span, char *why, size_t why_len)
{
    const struct sg_image *im = w->im;
    const struct sg_geom *g = &im->g;
    w->ix_span = (int32_t)ix_span;
    w->ix_bad = true;
    if (ix_span == 0) {
        w->table = sg_page(im, w->rec->hdr_pix) + g->hdr_len;
        w->ix_bad = false;
        return true;
    }
    uint32_t first_span = g->he + (ix_span - 1) * g->ie;
    uint32_t last_span = first_span + g->ie - 1;
    if (last_span >= w->nspans) {
        last_span = w->nspans - 1;
    }
    uint32_t pix = 0;
    char sub[128];
    if (sg_find_ixpage(im, w->rec->e.obj_id, (uint16_t)ix_span, &pix) == 0) {
        snprintf(why, why_len, "index page %u (data spans %u..%u) is missing", ix_span, first_span,
                 last_span);
        return false;
    }
    const uint8_t *page = sg_page(im, pix);
    if (!index_page_valid(page, w->rec->e.obj_id, (uint16_t)ix_span, sub, sizeof sub)) {
        snprintf(why, why_len, "index page %u (page %u) %s", ix_span, pix, sub);
        return false;
    }
    w->table = page + SG_IX_HDR_LEN;
    w->ix_bad = false;
    return true;
}

static bool data_page_valid(const struct sg_walk *w, uint32_t span, uint16_t pix, char *why,
                            size_t why_len)
{
    const struct sg_geom *g = &w->im->g;
    uint16_t id = w->rec->e.obj_id;
    uint32_t from = span * g->data_len;
    if (pix == 0xFFFFu) {
        snprintf(why, why_len, "data span %u (bytes %u..) has no page (free index entry)", span,
                 from);
        return false;
    }
    if (pix >= g->pages) {
        snprintf(why, why_len, "data span %u points at page %u, past the last page %u", span, pix,
                 g->pages - 1);
        return false;
    }
    if (sg_is_lu_page(g, pix)) {
        snprintf(why, why_len, "data span %u points at page %u, a lookup page", span, pix);
        return false;
    }
    const uint8_t *page = sg_page(w->im, pix);
    uint8_t flags = page[4];
    const char *what = NULL;
    if (flags & SG_FLAG_USED) {
        what = "is unwritten";
    } else if (!(flags & SG_FLAG_DELET)) {
        what = "is deleted";
    } else if (flags & SG_FLAG_FINAL) {
        what = "was never finalized";
    } else if (!(flags & SG_FLAG_INDEX)) {
        what = "is an index page";
    }
    if (what != NULL) {
        snprintf(why, why_len, "data span %u: page %u %s (flags 0x%02x)", span, pix, what, flags);
        return false;
    }
    if (sg_get16(page) != id || sg_get16(page + 2) != span) {
        snprintf(why, why_len, "data span %u: page %u belongs to object %u span %u", span, pix,
                 sg_get16(page) & 0x7FFFu, sg_get16(page + 2));
        return false;
    }
    return true;
}

int sg_walk_next(struct sg_walk *w, uint32_t *pix, char *why, size_t why_len)
{
    const struct sg_geom *g = &w->im->g;
    if (w->span >= w->nspans) {
        return 0;
    }
    if (w->nspans > (uint64_t)g->blocks * g->e) {
        snprintf(why, why_len, "its size %u bytes needs %u data pages, more than the image has",
                 w->rec->e.size, w->nspans);
        w->span = w->nspans;
        return -1;
    }
    uint32_t d = w->span;
    uint32_t ix_span = d < g->he ? 0 : 1 + (d - g->he) / g->ie;
    if ((int32_t)ix_span != w->ix_span && !load_index(w, ix_span, why, why_len)) {
        /* Skip every span that index page covers: one complaint is enough. */
        w->span = g->he + ix_span * g->ie;
        return -1;
    }
    uint32_t entry = d < g->he ? d : (d - g->he) % g->ie;
    uint16_t target = sg_get16(w->table + 2u * entry);
    w->span++;
    if (!data_page_valid(w, d, target, why, why_len)) {
        return -1;
    }
    *pix = target;
    return 1;
}

int sg_image_read(const struct sg_image *img, size_t i, uint8_t **data, size_t *len,
                  struct sg_error *err)
{
    assert(i < img->count && data != NULL && len != NULL);
    const struct sg_rec *rec = &img->recs[i];
    const struct sg_geom *g = &img->g;
    char why[200];
    *data = NULL;
    *len = 0;
    if (!sg_header_valid(img, rec, why, sizeof why)) {
        return sg_fail(err, SG_ERR_CORRUPT, "'%s': %s", rec->e.name, why);
    }
    struct sg_walk w;
    sg_walk_init(&w, img, rec);
    if (w.nspans > (uint64_t)g->blocks * g->e) {
        return sg_fail(err, SG_ERR_CORRUPT,
                       "'%s': its size %u bytes needs %u data pages, more than the image has",
                       rec->e.name, rec->e.size, w.nspans);
    }
    uint8_t *buf = malloc(rec->e.size ? rec->e.size : 1);
    if (buf == NULL) {
        return sg_fail(err, SG_ERR_NOMEM, "'%s': out of memory for %u bytes", rec->e.name,
                       rec->e.size);
    }
    size_t off = 0;
    uint32_t pix;
    int rc;
    while ((rc = sg_walk_next(&w, &pix, why, sizeof why)) == 1) {
        size_t n = rec->e.size - off < g->data_len ? rec->e.size - off : g->data_len;
        memcpy(buf + off, sg_page(img, pix) + SG_PAGE_HDR_LEN, n);
        off += n;
    }
    if (rc < 0) {
        free(buf);
        return sg_fail(err, SG_ERR_CORRUPT, "'%s': %s", rec->e.name, why);
    }
    *data = buf;
    *len = rec->e.size;
    return SG_OK;
}
