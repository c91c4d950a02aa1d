/*
 * The builder: the sequential layout of SPEC.md §7. Pages are handed out in
 * order (block 0's object pages, then block 1's, ...): a file's header, its
 * data pages, and a continuation index page exactly where the next data page
 * would go once the current table is full.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "spiffsgen/spiffsgen_priv.h"

#define RESERVE_BLOCKS 2u

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct sg_file *)a)->name, ((const struct sg_file *)b)->name);
}

void sg_files_sort(struct sg_file *files, size_t nfiles)
{
    assert(files != NULL || nfiles == 0);
    if (nfiles > 1) {
        qsort(files, nfiles, sizeof *files, cmp_name);
    }
}

static int cmp_name_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int check_names(const struct sg_geom *g, const struct sg_file *files, size_t nfiles,
                       struct sg_error *err)
{
    if (nfiles > SG_ID_MAX) {
        return sg_fail(err, SG_ERR_NO_SPACE,
                       "%zu files are too many: SPIFFS object ids allow at most %u", nfiles,
                       SG_ID_MAX);
    }
    size_t max = g->name_len - 1;
    for (size_t i = 0; i < nfiles; i++) {
        const char *name = files[i].name;
        assert(name != NULL);
        assert(files[i].data != NULL || files[i].size == 0);
        size_t len = strlen(name);
        if (name[0] != '/') {
            return sg_fail(err, SG_ERR_NAME, "'%s' does not start with '/'", name);
        }
        if (len < 2) {
            return sg_fail(err, SG_ERR_NAME, "'/' is not a file name");
        }
        if (len > max) {
            return sg_fail(err, SG_ERR_NAME, "'%s' is %zu bytes; the device allows %zu", name, len,
                           max);
        }
    }
    if (nfiles < 2) {
        return SG_OK;
    }
    const char **names = malloc(nfiles * sizeof *names);
    if (names == NULL) {
        return sg_fail(err, SG_ERR_NOMEM, "out of memory checking %zu names", nfiles);
    }
    for (size_t i = 0; i < nfiles; i++) {
        names[i] = files[i].name;
    }
    qsort(names, nfiles, sizeof *names, cmp_name_ptr);
    int rc = SG_OK;
    for (size_t i = 1; i < nfiles && rc == SG_OK; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            rc = sg_fail(err, SG_ERR_DUPLICATE, "'%s' is given twice; names must be unique",
                         names[i]);
        }
    }
    free(names);
    return rc;
}

static void usage_of(const struct sg_geom *g, const struct sg_file *files, size_t nfiles,
                     unsigned flags, struct sg_usage *out)
{
    uint64_t needed = 0;
    for (size_t i = 0; i < nfiles; i++) {
        needed += sg_file_pages(g, files[i].size);
    }
    uint32_t reserve = (flags & SG_BUILD_FILL) ? 0 : RESERVE_BLOCKS;
    uint64_t usable_blocks = g->blocks > reserve ? g->blocks - reserve : 0;
    out->pages_needed = needed;
    out->pages_available = usable_blocks * g->e;
    out->bytes_over =
        needed > out->pages_available ? (needed - out->pages_available) * g->data_len : 0;
}

int sg_usage(const struct sg_params *p, const struct sg_file *files, size_t nfiles, unsigned flags,
             uint64_t image_size, struct sg_usage *out, struct sg_error *err)
{
    assert(p != NULL && out != NULL && (files != NULL || nfiles == 0));
    struct sg_geom g;
    int rc = sg_geom_init(&g, p, image_size, true, err);
    if (rc != SG_OK) {
        return rc;
    }
    usage_of(&g, files, nfiles, flags, out);
    return SG_OK;
}

struct layout {
    const struct sg_geom *g;
    uint8_t *img;
    uint32_t next; /* ordinal of the next free object page over the whole image */
};

static uint8_t *take_page(struct layout *l, uint16_t lu_value, uint32_t *pix)
{
    const struct sg_geom *g = l->g;
    uint32_t bix = l->next / g->e;
    uint32_t k = l->next % g->e;
    l->next++;
    /* Lookup pages are contiguous from the block start: slot k is at byte 2k. */
    sg_put16(l->img + (size_t)bix * g->block + 2u * k, lu_value);
    *pix = sg_obj_pix(g, bix, k);
    return l->img + (size_t)*pix * g->page;
}

static void put_page_header(uint8_t *page, uint16_t id, uint16_t span, uint8_t flags)
{
    sg_put16(page, id);
    sg_put16(page + 2, span);
    page[4] = flags;
}

static void lay_out_file(struct layout *l, const struct sg_file *f, uint16_t id)
{
    const struct sg_geom *g = l->g;
    uint16_t ix_id = (uint16_t)(id | SG_ID_INDEX);
    uint32_t pix;
    uint8_t *hdr = take_page(l, ix_id, &pix);
    put_page_header(hdr, ix_id, 0, SG_FLAGS_INDEX);
    sg_put32(hdr + 8, (uint32_t)f->size);
    hdr[12] = SG_TYPE_FILE;
    /* Name, meta and the alignment pad are zero-filled (SPEC.md §5). */
    memset(hdr + 13, 0, g->hdr_len - 13);
    memcpy(hdr + 13, f->name, strlen(f->name));

    uint8_t *table = hdr + g->hdr_len;
    uint32_t table_len = g->he, used = 0;
    uint16_t ix_span = 0;
    const uint8_t *src = f->data;
    size_t left = f->size;
    for (uint32_t span = 0; left > 0; span++) {
        if (used == table_len) {
            uint8_t *ix = take_page(l, ix_id, &pix);
            put_page_header(ix, ix_id, ++ix_span, SG_FLAGS_INDEX);
            table = ix + SG_IX_HDR_LEN;
            table_len = g->ie;
            used = 0;
        }
        uint8_t *data = take_page(l, id, &pix);
        sg_put16(table + 2u * used++, (uint16_t)pix);
        put_page_header(data, id, (uint16_t)span, SG_FLAGS_DATA);
        size_t n = left < g->data_len ? left : g->data_len;
        memcpy(data + SG_PAGE_HDR_LEN, src, n);
        src += n;
        left -= n;
    }
}

int sg_build(const struct sg_params *p, const struct sg_file *files, size_t nfiles, unsigned flags,
             uint8_t *image, size_t image_size, struct sg_error *err)
{
    assert(p != NULL && image != NULL && (files != NULL || nfiles == 0));
    struct sg_geom g;
    int rc = sg_geom_init(&g, p, image_size, true, err);
    if (rc != SG_OK) {
        return rc;
    }
    rc = check_names(&g, files, nfiles, err);
    if (rc != SG_OK) {
        return rc;
    }
    struct sg_usage u;
    usage_of(&g, files, nfiles, flags, &u);
    if (u.bytes_over > 0) {
        return sg_fail(err, SG_ERR_NO_SPACE,
                       "the files need %llu more pages (about %llu bytes) than the %zu-byte "
                       "image offers (%llu pages%s)",
                       (unsigned long long)(u.pages_needed - u.pages_available),
                       (unsigned long long)u.bytes_over, image_size,
                       (unsigned long long)u.pages_available,
                       (flags & SG_BUILD_FILL) ? "" : ", keeping 2 blocks free for the device");
    }

    memset(image, 0xFF, image_size);
    for (uint32_t bix = 0; bix < g.blocks; bix++) {
        uint8_t *blk = image + (size_t)bix * g.block;
        if (!(flags & SG_BUILD_ERASE_COUNT_FFFF)) {
            sg_put16(blk + g.erase_off, 0);
        }
        if (g.magic) {
            sg_put16(blk + g.magic_off, sg_geom_magic(&g, bix));
        }
    }
    struct layout l = {&g, image, 0};
    for (size_t i = 0; i < nfiles; i++) {
        lay_out_file(&l, &files[i], (uint16_t)(i + 1));
    }
    return SG_OK;
}
