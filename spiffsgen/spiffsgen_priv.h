/*
 * spiffsgen internals shared by its .c files only (never included from
 * another folder). Numbers and names follow spiffsgen/SPEC.md.
 */
#ifndef ESPPROV_SPIFFSGEN_PRIV_H
#define ESPPROV_SPIFFSGEN_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spiffsgen/spiffsgen.h"

/* Page header flag bits; a state is entered by clearing its bit (SPEC.md §4). */
#define SG_FLAG_USED   0x01u
#define SG_FLAG_FINAL  0x02u
#define SG_FLAG_INDEX  0x04u
#define SG_FLAG_IXDELE 0x40u
#define SG_FLAG_DELET  0x80u

/* What a builder writes: every unused bit stays 1. */
#define SG_FLAGS_DATA  0xFCu
#define SG_FLAGS_INDEX 0xF8u

#define SG_ID_FREE    0xFFFFu
#define SG_ID_DELETED 0x0000u
#define SG_ID_INDEX   0x8000u
#define SG_ID_MAX     0x7FFEu

#define SG_PAGE_HDR_LEN 5u /* id u16, span u16, flags u8 */
#define SG_IX_HDR_LEN   8u /* page header + 3 pad bytes (continuation index page) */
#define SG_TYPE_FILE    1u

/* Everything derived from the parameters and the image size. */
struct sg_geom {
    uint32_t page;      /* P */
    uint32_t block;     /* B */
    uint32_t ppb;       /* pages per block */
    uint32_t lup;       /* lookup pages per block */
    uint32_t e;         /* object pages per block (lookup entries in use) */
    uint32_t blocks;    /* N */
    uint32_t pages;     /* N * ppb, lookup pages included */
    uint32_t data_len;  /* payload bytes per data page, P - 5 */
    uint32_t name_len;  /* NL */
    uint32_t meta_len;  /* ML */
    uint32_t hdr_len;   /* H: where the header's page-index table starts */
    uint32_t he;        /* page-index entries in the header page */
    uint32_t ie;        /* page-index entries in a continuation index page */
    uint32_t magic_off; /* block-relative offset of the magic */
    uint32_t erase_off; /* block-relative offset of the erase count */
    bool magic;
    bool magic_len;
};

static inline uint16_t sg_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t sg_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void sg_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void sg_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Fills err (which may be NULL) and returns code. */
int sg_fail(struct sg_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Derives the geometry for an image of image_size bytes. With whole_blocks
 * a size that is not a multiple of the block size is an error (building);
 * without, the tail is ignored as the library does (reading).
 */
int sg_geom_init(struct sg_geom *g, const struct sg_params *p, uint64_t image_size,
                 bool whole_blocks, struct sg_error *err);

/* The magic block bix must carry (SPEC.md §9). */
uint16_t sg_geom_magic(const struct sg_geom *g, uint32_t bix);

/* Absolute page index of object page `k` (0 <= k < e) of block bix. */
static inline uint32_t sg_obj_pix(const struct sg_geom *g, uint32_t bix, uint32_t k)
{
    return bix * g->ppb + g->lup + k;
}

static inline bool sg_is_lu_page(const struct sg_geom *g, uint32_t pix)
{
    return pix % g->ppb < g->lup;
}

/* Data pages and index pages (header included) a file of `size` bytes takes. */
uint64_t sg_file_pages(const struct sg_geom *g, uint64_t size);

/* ===== The reader's index ============================================= */

/* A live file: the public entry plus where its header lives. */
struct sg_rec {
    struct sg_entry e;
    uint32_t hdr_pix;
};

/* A live continuation index page (span >= 1) as the library finds them:
 * lookup entry id|0x8000, header id equal, USED/FINAL clear, DELET set. */
struct sg_ixpage {
    uint16_t id; /* without the index bit */
    uint16_t span;
    uint32_t pix;
};

struct sg_image {
    struct sg_geom g;
    const uint8_t *img;
    size_t size;
    long bad_block; /* the one block with a wrong magic (erased at mount), or -1 */
    uint16_t bad_magic;
    uint8_t *blank;      /* one erased page: what the bad block reads as after mount */
    struct sg_rec *recs; /* sorted by (name, hdr_pix) */
    char *names;         /* name_len + 1 bytes per record */
    size_t count;
    struct sg_ixpage *ix; /* sorted by (id, span, pix) */
    size_t nix;
    struct sg_stats stats;
};

/* The page's bytes as the device sees them after mount. pix < g.pages. */
const uint8_t *sg_page(const struct sg_image *im, uint32_t pix);
/* The lookup entry for object page pix (0xFFFF inside the bad block). */
uint16_t sg_lu_entry(const struct sg_image *im, uint32_t pix);

/* Live continuation index pages of (id, span): the count, the first in lookup
 * order in *first. */
size_t sg_find_ixpage(const struct sg_image *im, uint16_t id, uint16_t span, uint32_t *first);

/*
 * Walks a file's data spans in order. sg_walk_next() returns 1 with the data
 * page index of the next span, 0 at the end, or -1 with the reason in `why`
 * (the span is skipped; the walk can go on, as check does).
 */
struct sg_walk {
    const struct sg_image *im;
    const struct sg_rec *rec;
    uint32_t span;   /* next data span */
    uint32_t nspans; /* data spans the size needs */
    int32_t ix_span; /* index span `table` belongs to, -1 none */
    const uint8_t *table;
    bool ix_bad; /* the current index page is missing or invalid */
};
void sg_walk_init(struct sg_walk *w, const struct sg_image *im, const struct sg_rec *rec);
int sg_walk_next(struct sg_walk *w, uint32_t *pix, char *why, size_t why_len);

/* Validates the file's own header page as an open does. */
bool sg_header_valid(const struct sg_image *im, const struct sg_rec *rec, char *why,
                     size_t why_len);

/* The lookup-table part of sg_image_check, silent: problems found, and the
 * used pages that passed in *good (what detection weighs candidates by). */
size_t sg_check_pages(const struct sg_image *img, size_t *good);

#endif
