/*
 * The reader against images shaped like what a device leaves behind, written
 * here page by page with the test's own model of the format (reference §3-§9,
 * §12.2), not with the builder: moved headers, deleted pages, data pages in
 * any order, continuation index pages in other blocks, erase counts, files
 * created but never written, magic on and off. Then single corruptions, each
 * of which must get its own precise complaint.
 */
#include <stdlib.h>
#include <string.h>

#include "spiffsgen/spiffsgen.h"
#include "test.h"

/* A flash model: page P, block B, one lookup page per block (true for every
 * geometry used here), header table at H. */
struct dev {
    uint8_t *img;
    size_t size;
    uint32_t P, B, ppb, blocks, H, he, ie;
    struct sg_params params;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t pix_of(const struct dev *d, uint32_t bix, uint32_t k)
{
    return bix * d->ppb + 1 + k;
}

static uint8_t *page(const struct dev *d, uint32_t pix)
{
    return d->img + (size_t)pix * d->P;
}

static void set_lu(struct dev *d, uint32_t pix, uint16_t v)
{
    uint32_t bix = pix / d->ppb, k = pix % d->ppb - 1;
    put16(d->img + (size_t)bix * d->B + 2 * k, v);
}

/* Erase everything, then write erase counts and magics as SPIFFS_format and
 * later GC runs would. */
static void dev_init(struct dev *d, const struct sg_params *p, uint32_t blocks)
{
    memset(d, 0, sizeof *d);
    d->params = *p;
    d->P = p->page_size;
    d->B = p->block_size;
    d->ppb = d->B / d->P;
    d->blocks = blocks;
    d->size = (size_t)blocks * d->B;
    d->H = 13 + p->obj_name_len + p->meta_len;
    if (p->aligned_obj_ix_tables && (d->H & 1)) {
        d->H++;
    }
    d->he = (d->P - d->H) / 2;
    d->ie = (d->P - 8) / 2;
    d->img = malloc(d->size);
    memset(d->img, 0xFF, d->size);
    for (uint32_t b = 0; b < blocks; b++) {
        uint8_t *lu_end = d->img + (size_t)b * d->B + d->P;
        put16(lu_end - 2, (uint16_t)(3 + b * 7 % 5)); /* erase counts after some GC */
        if (p->use_magic) {
            uint32_t m = 0x20140529u ^ d->P;
            if (p->use_magic_len) {
                m ^= blocks - b;
            }
            put16(lu_end - 4, (uint16_t)m);
        }
    }
}

static void hdr(struct dev *d, uint32_t pix, uint16_t id, uint16_t span, uint8_t flags)
{
    uint8_t *pg = page(d, pix);
    put16(pg, id);
    put16(pg + 2, span);
    pg[4] = flags;
}

/* An index header as the library writes it: pad left as garbage, meta 0xFF. */
static void file_header(struct dev *d, uint32_t pix, uint16_t id, uint32_t size, const char *name,
                        uint8_t flags)
{
    set_lu(d, pix, (uint16_t)(id | 0x8000));
    hdr(d, pix, (uint16_t)(id | 0x8000), 0, flags);
    uint8_t *pg = page(d, pix);
    pg[5] = 0x12, pg[6] = 0x34, pg[7] = 0x56;
    pg[8] = (uint8_t)size, pg[9] = (uint8_t)(size >> 8);
    pg[10] = (uint8_t)(size >> 16), pg[11] = (uint8_t)(size >> 24);
    pg[12] = 1;
    memset(pg + 13, 0, d->params.obj_name_len);
    memcpy(pg + 13, name, strlen(name));
    if (d->H > 13 + d->params.obj_name_len) {
        pg[13 + d->params.obj_name_len] = 0xEE; /* meta or alignment pad: ignored */
    }
}

static void ix_page(struct dev *d, uint32_t pix, uint16_t id, uint16_t span)
{
    set_lu(d, pix, (uint16_t)(id | 0x8000));
    hdr(d, pix, (uint16_t)(id | 0x8000), span, 0xF8);
}

/* Table entry `span` of a file whose header is at hdr_pix and continuation
 * pages at ix[]: where the library looks for data span `span`. */
static void point(struct dev *d, uint32_t hdr_pix, const uint32_t *ix, uint32_t span,
                  uint32_t data_pix)
{
    uint8_t *at;
    if (span < d->he) {
        at = page(d, hdr_pix) + d->H + 2 * span;
    } else {
        uint32_t k = (span - d->he) / d->ie;
        at = page(d, ix[k]) + 8 + 2 * ((span - d->he) % d->ie);
    }
    put16(at, (uint16_t)data_pix);
}

static void data_page(struct dev *d, uint32_t pix, uint16_t id, uint16_t span, const uint8_t *bytes,
                      size_t n)
{
    set_lu(d, pix, id);
    hdr(d, pix, id, span, 0xFC);
    memcpy(page(d, pix) + 5, bytes, n);
}

/* What the library does to delete a page: lookup entry first, then flags. */
static void delete_page(struct dev *d, uint32_t pix)
{
    set_lu(d, pix, 0);
    page(d, pix)[4] &= (uint8_t)~0x81u;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *b = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(i * 7 + seed + (i >> 9));
    }
    return b;
}

struct problems {
    size_t n;
    char all[4096];
};

static void collect(void *user, const char *line)
{
    struct problems *p = user;
    size_t used = strlen(p->all);
    snprintf(p->all + used, sizeof p->all - used, "%s\n", line);
    p->n++;
}

static size_t check_all(const struct dev *d, struct problems *out)
{
    memset(out, 0, sizeof *out);
    struct sg_image *im;
    if (sg_image_open(&d->params, d->img, d->size, &im, NULL) != SG_OK) {
        return SIZE_MAX;
    }
    size_t n = sg_image_check(im, collect, out);
    sg_image_close(im);
    return n;
}

static int read_file(const struct dev *d, const char *name, uint8_t **data, size_t *len,
                     struct sg_error *err)
{
    struct sg_image *im;
    int rc = sg_image_open(&d->params, d->img, d->size, &im, err);
    if (rc != SG_OK) {
        return rc;
    }
    long i = sg_image_find(im, name);
    rc = i < 0 ? SG_ERR_NOT_FOUND : sg_image_read(im, (size_t)i, data, len, err);
    sg_image_close(im);
    return rc;
}

/* ----- a device-written ESP-IDF image ----------------------------------- */

#define LOG_SPANS 260u /* > 103 + 124: header table + two continuation pages */

struct written {
    struct dev d;
    uint8_t *log;
    size_t log_len;
    uint8_t *cfg;
    size_t cfg_len;
    uint32_t log_hdr, cfg_hdr, ix[2];
};

static void write_device_image(struct written *w, const struct sg_params *p, uint32_t blocks)
{
    struct dev *d = &w->d;
    dev_init(d, p, blocks);
    uint32_t e = d->ppb - 1, dl = d->P - 5;
    w->log_len = (LOG_SPANS - 1) * dl + 77;
    w->log = pattern(w->log_len, 1);
    w->cfg_len = dl + 10;
    w->cfg = pattern(w->cfg_len, 2);

    /* An old copy of the log's header, moved away on a later append. */
    file_header(d, pix_of(d, 0, 0), 4, 1000, "/log.txt", 0xF8);
    delete_page(d, pix_of(d, 0, 0));
    /* The current header sits mid-block; continuation pages in other blocks,
     * span 2 before span 1 in lookup order. */
    w->log_hdr = pix_of(d, 9, 5);
    w->ix[0] = pix_of(d, blocks - 2, 3);
    w->ix[1] = pix_of(d, 1, 0);
    file_header(d, w->log_hdr, 4, (uint32_t)w->log_len, "/log.txt", 0xF8);
    ix_page(d, w->ix[0], 4, 1);
    ix_page(d, w->ix[1], 4, 2);
    /* Data pages from the end of the image backwards, skipping pages already
     * taken, with a deleted stale copy every 17 spans. */
    uint32_t next = (blocks - 1) * e + e - 1; /* object page ordinal, counting down */
    for (uint32_t span = 0; span < LOG_SPANS; span++) {
        uint32_t pix;
        do {
            pix = pix_of(d, next / e, next % e);
            next--;
        } while (pix == w->log_hdr || pix == w->ix[0] || pix == w->ix[1] ||
                 page(d, pix)[4] != 0xFF);
        size_t n = span == LOG_SPANS - 1 ? 77 : dl;
        if (span % 17 == 3) {
            data_page(d, pix, 4, (uint16_t)span, w->log + span * dl, n);
            delete_page(d, pix);
            do {
                pix = pix_of(d, next / e, next % e);
                next--;
            } while (page(d, pix)[4] != 0xFF);
        }
        data_page(d, pix, 4, (uint16_t)span, w->log + span * dl, n);
        point(d, w->log_hdr, w->ix, span, pix);
    }
    /* "/cfg.json": header on the last page of block 2, data in block 3. */
    w->cfg_hdr = pix_of(d, 2, e - 1);
    file_header(d, w->cfg_hdr, 1, (uint32_t)w->cfg_len, "/cfg.json", 0xF8);
    data_page(d, pix_of(d, 3, 1), 1, 1, w->cfg + dl, 10);
    data_page(d, pix_of(d, 3, 0), 1, 0, w->cfg, dl);
    point(d, w->cfg_hdr, NULL, 0, pix_of(d, 3, 0));
    point(d, w->cfg_hdr, NULL, 1, pix_of(d, 3, 1));
    /* Created, never written: size 0xFFFFFFFF, no table entries. */
    file_header(d, pix_of(d, 2, 0), 2, 0xFFFFFFFFu, "/new.bin", 0xF8);
}

static void free_written(struct written *w)
{
    free(w->d.img);
    free(w->log);
    free(w->cfg);
}

static void expect_device_image_reads(struct t_ctx *t_, struct written *w)
{
    struct dev *d = &w->d;
    struct sg_image *im;
    struct sg_error err = {0};
    ASSERT_MSG(sg_image_open(&d->params, d->img, d->size, &im, &err) == SG_OK, "%s", err.msg);
    ASSERT_EQ_UINT(sg_image_count(im), 3);
    ASSERT_STREQ(sg_image_entry(im, 0)->name, "/cfg.json");
    ASSERT_STREQ(sg_image_entry(im, 1)->name, "/log.txt");
    ASSERT_STREQ(sg_image_entry(im, 2)->name, "/new.bin");
    ASSERT_EQ_UINT(sg_image_entry(im, 2)->size, 0);
    ASSERT_EQ_UINT(sg_image_entry(im, 1)->obj_id, 4);
    uint8_t *data;
    size_t len;
    ASSERT_MSG(sg_image_read(im, 1, &data, &len, &err) == SG_OK, "%s", err.msg);
    ASSERT_EQ_UINT(len, w->log_len);
    ASSERT_MEMEQ(data, w->log, len);
    free(data);
    ASSERT_MSG(sg_image_read(im, 0, &data, &len, &err) == SG_OK, "%s", err.msg);
    ASSERT_EQ_UINT(len, w->cfg_len);
    ASSERT_MEMEQ(data, w->cfg, len);
    free(data);
    ASSERT_EQ_INT(sg_image_read(im, 2, &data, &len, &err), SG_OK);
    ASSERT_EQ_UINT(len, 0);
    free(data);
    struct sg_stats st;
    sg_image_stats(im, &st);
    uint32_t deleted = 1 + (LOG_SPANS + 13) / 17;
    ASSERT_EQ_UINT(st.pages_deleted, deleted);
    ASSERT_EQ_UINT(st.pages_used, 1 + 2 + LOG_SPANS + 2 + 1 + 1);
    ASSERT_EQ_UINT(st.pages_free + st.pages_used + st.pages_deleted, st.pages_total);
    struct problems pr = {0};
    size_t n = sg_image_check(im, collect, &pr);
    sg_image_close(im);
    ASSERT_MSG(n == 0, "check: %s", pr.all);
}

TEST(device_written_esp_idf_image_reads)
{
    struct sg_params p;
    ASSERT_EQ_INT(sg_preset("esp-idf", 0, &p, NULL), SG_OK);
    struct written w;
    write_device_image(&w, &p, 32);
    expect_device_image_reads(t_, &w);
    struct sg_params found;
    char preset[32];
    struct sg_error err = {0};
    EXPECT(sg_detect(w.d.img, w.d.size, &found, preset, sizeof preset, &err) == SG_OK);
    EXPECT(sg_params_equal(&found, &p));
    EXPECT(strcmp(preset, "esp-idf") == 0);
    free_written(&w);
}

TEST(device_written_esp8266_image_reads)
{
    struct sg_params p;
    ASSERT_EQ_INT(sg_preset("esp8266-arduino", 0, &p, NULL), SG_OK);
    struct written w;
    write_device_image(&w, &p, 64); /* 512 KiB: the size where the core uses 8 KiB blocks */
    expect_device_image_reads(t_, &w);
    struct sg_params found;
    char preset[32];
    EXPECT(sg_detect(w.d.img, w.d.size, &found, preset, sizeof preset, NULL) == SG_OK);
    EXPECT(sg_params_equal(&found, &p));
    EXPECT(strcmp(preset, "esp8266-arduino") == 0);
    free_written(&w);
}

TEST(device_written_image_without_magic_reads)
{
    struct sg_params p;
    ASSERT_EQ_INT(sg_preset("esp-idf", 0, &p, NULL), SG_OK);
    p.use_magic = false;
    p.block_size = 8192;
    struct written w;
    write_device_image(&w, &p, 16);
    expect_device_image_reads(t_, &w);
    struct sg_params found;
    struct sg_error err = {0};
    EXPECT(sg_detect(w.d.img, w.d.size, &found, NULL, 0, &err) == SG_OK);
    EXPECT(sg_params_equal(&found, &p));
    free_written(&w);
}

/* ----- single corruptions, each with its own complaint ------------------- */

static void fresh(struct written *w)
{
    struct sg_params p;
    sg_preset("esp-idf", 0, &p, NULL);
    write_device_image(w, &p, 32);
}

static void expect_problem(struct t_ctx *t_, struct written *w, const char *needle)
{
    struct problems pr;
    size_t n = check_all(&w->d, &pr);
    ASSERT_MSG(n != SIZE_MAX, "open failed");
    ASSERT_MSG(n >= 1 && strstr(pr.all, needle) != NULL, "wanted '%s' in: %s", needle, pr.all);
}

static void expect_read_error(struct t_ctx *t_, struct written *w, const char *name,
                              const char *needle)
{
    static uint8_t sentinel;
    uint8_t *data = &sentinel;
    size_t len = 0;
    struct sg_error err = {0};
    ASSERT_EQ_INT(read_file(&w->d, name, &data, &len, &err), SG_ERR_CORRUPT);
    ASSERT(data == NULL);
    ASSERT_CONTAINS(err.msg, needle);
}

TEST(corrupt_lookup_disagrees_with_header)
{
    struct written w;
    fresh(&w);
    set_lu(&w.d, pix_of(&w.d, 3, 0), 3);
    expect_problem(t_, &w, "lookup entry 0x0003 but the page header says 0x0001");
    free_written(&w);
}

TEST(corrupt_deleted_page_still_in_table)
{
    struct written w;
    fresh(&w);
    page(&w.d, pix_of(&w.d, 3, 1))[4] = 0x7C;
    expect_problem(t_, &w, "deleted (flags 0x7c) but still used in the lookup table");
    expect_read_error(t_, &w, "/cfg.json", "data span 1: page");
    expect_read_error(t_, &w, "/cfg.json", "is deleted");
    free_written(&w);
}

TEST(corrupt_free_and_lu_table_entries)
{
    struct written w;
    fresh(&w);
    put16(page(&w.d, w.cfg_hdr) + w.d.H + 2, 0xFFFF);
    expect_problem(t_, &w, "'/cfg.json': data span 1 (bytes 251..) has no page");
    expect_problem(t_, &w, "data span 1 of '/cfg.json' is not referenced by the file");
    expect_read_error(t_, &w, "/cfg.json", "has no page (free index entry)");
    put16(page(&w.d, w.cfg_hdr) + w.d.H + 2, (uint16_t)(5 * w.d.ppb));
    expect_problem(t_, &w, "data span 1 points at page 80, a lookup page");
    put16(page(&w.d, w.cfg_hdr) + w.d.H + 2, 0x7000);
    expect_problem(t_, &w, "data span 1 points at page 28672, past the last page 511");
    free_written(&w);
}

TEST(corrupt_missing_continuation_page)
{
    struct written w;
    fresh(&w);
    delete_page(&w.d, w.ix[0]);
    expect_problem(t_, &w, "'/log.txt': index page 1 (data spans 103..226) is missing");
    expect_read_error(t_, &w, "/log.txt", "index page 1 (data spans 103..226) is missing");
    free_written(&w);
}

TEST(corrupt_duplicate_continuation_page)
{
    struct written w;
    fresh(&w);
    uint32_t spare = pix_of(&w.d, 4, 14);
    ASSERT(page(&w.d, spare)[4] == 0xFF);
    memcpy(page(&w.d, spare), page(&w.d, w.ix[1]), w.d.P);
    set_lu(&w.d, spare, 0x8004);
    expect_problem(t_, &w, "'/log.txt': index page 2 exists 2 times");
    free_written(&w);
}

TEST(corrupt_free_page_not_erased)
{
    struct written w;
    fresh(&w);
    uint32_t spare = pix_of(&w.d, 4, 14);
    page(&w.d, spare)[100] = 0x00;
    expect_problem(t_, &w, "free in the lookup table but not erased");
    free_written(&w);
}

TEST(corrupt_one_bad_magic_erases_a_block)
{
    struct written w;
    fresh(&w);
    put16(w.d.img + 3 * w.d.B + w.d.P - 4, 0x1234);
    expect_problem(t_, &w,
                   "block 3: magic 0x1234, expected 0x0434; the device takes it for an "
                   "interrupted erase and erases it at mount (2 used pages lost)");
    expect_read_error(t_, &w, "/cfg.json", "data span 0: page 49 is unwritten");
    struct sg_image *im;
    ASSERT_EQ_INT(sg_image_open(&w.d.params, w.d.img, w.d.size, &im, NULL), SG_OK);
    uint16_t found = 0, expected = 0;
    ASSERT_EQ_INT(sg_image_bad_block(im, &found, &expected), 3);
    ASSERT_EQ_UINT(found, 0x1234);
    ASSERT_EQ_UINT(expected, 0x0434);
    sg_image_close(im);
    /* A second one and the device refuses the image. */
    put16(w.d.img + 7 * w.d.B + w.d.P - 4, 0xFFFF);
    struct sg_error err = {0};
    ASSERT_EQ_INT(sg_image_open(&w.d.params, w.d.img, w.d.size, &im, &err), SG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "2 of 32 blocks have a wrong magic (block 3 has 0x1234");
    free_written(&w);
}

TEST(corrupt_duplicate_name_and_orphans)
{
    struct written w;
    fresh(&w);
    uint32_t spare = pix_of(&w.d, 4, 13);
    file_header(&w.d, spare, 9, 3, "/cfg.json", 0xF8);
    expect_problem(t_, &w, "'/cfg.json' exists twice (pages 47 and 78)");
    /* sg_image_find returns the first in lookup order, as the device opens it. */
    uint8_t *data;
    size_t len;
    ASSERT_EQ_INT(read_file(&w.d, "/cfg.json", &data, &len, NULL), SG_OK);
    ASSERT_EQ_UINT(len, w.cfg_len);
    free(data);
    uint8_t b[3] = {1, 2, 3};
    data_page(&w.d, pix_of(&w.d, 4, 12), 11, 0, b, 3);
    expect_problem(t_, &w, "page 77: data span 0 of object 11 belongs to no file");
    free_written(&w);
}

TEST(corrupt_cross_linked_and_wrong_span)
{
    struct written w;
    fresh(&w);
    /* cfg's span 1 points at the log's first data page. */
    uint16_t log0 =
        (uint16_t)(page(&w.d, w.log_hdr)[w.d.H] | page(&w.d, w.log_hdr)[w.d.H + 1] << 8);
    put16(page(&w.d, w.cfg_hdr) + w.d.H + 2, log0);
    expect_problem(t_, &w, "belongs to object 4 span 0");
    expect_read_error(t_, &w, "/cfg.json", "data span 1: page");
    free_written(&w);
}

TEST(corrupt_interrupted_operations)
{
    struct written w;
    fresh(&w);
    /* An append that never finalized its data page. */
    data_page(&w.d, pix_of(&w.d, 4, 10), 1, 2, (const uint8_t *)"abc", 3);
    page(&w.d, pix_of(&w.d, 4, 10))[4] = 0xFE;
    expect_problem(t_, &w, "page 75: object 1 span 2 was never finalized (interrupted write)");
    free_written(&w);
    /* A remove that stopped after marking the header: not listed any more. */
    fresh(&w);
    page(&w.d, w.cfg_hdr)[4] = 0xB8;
    expect_problem(t_, &w, "page 47: object 1 is half-deleted (interrupted remove)");
    expect_problem(t_, &w, "data span 0 of object 1 belongs to no file");
    uint8_t *data;
    size_t len;
    ASSERT_EQ_INT(read_file(&w.d, "/cfg.json", &data, &len, NULL), SG_ERR_NOT_FOUND);
    free_written(&w);
}

TEST(corrupt_sizes_and_names)
{
    struct written w;
    fresh(&w);
    uint8_t *sz = page(&w.d, w.cfg_hdr) + 8;
    sz[0] = 0xF0, sz[1] = sz[2] = sz[3] = 0xFF;
    expect_problem(t_, &w, "'/cfg.json': its size 4294967280 bytes needs");
    expect_read_error(t_, &w, "/cfg.json", "more than the image has");
    free_written(&w);
    fresh(&w);
    memset(page(&w.d, w.cfg_hdr) + 13, 'n', 32);
    expect_problem(t_, &w, "fills all 32 bytes with no terminating NUL");
    free_written(&w);
}

TEST(truncated_and_garbage_images_fail_cleanly)
{
    struct written w;
    fresh(&w);
    struct sg_image *im;
    struct sg_error err = {0};
    /* Half an image: with magic length every block's magic is now wrong. */
    ASSERT_EQ_INT(sg_image_open(&w.d.params, w.d.img, w.d.size / 2, &im, &err), SG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "wrong magic");
    ASSERT_EQ_INT(sg_image_open(&w.d.params, w.d.img, 100, &im, &err), SG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "smaller than one 4096-byte block");
    /* Without magic a cut image opens; what was cut off reads as errors. */
    struct sg_params p = w.d.params;
    p.use_magic = false;
    ASSERT_EQ_INT(sg_image_open(&p, w.d.img, 20 * 4096 + 17, &im, &err), SG_OK);
    long i = sg_image_find(im, "/log.txt");
    ASSERT(i >= 0);
    uint8_t *data;
    size_t len;
    ASSERT_EQ_INT(sg_image_read(im, (size_t)i, &data, &len, &err), SG_ERR_CORRUPT);
    ASSERT(sg_image_check(im, NULL, NULL) > 0);
    sg_image_close(im);
    memset(w.d.img, 0xA5, w.d.size);
    ASSERT_EQ_INT(sg_detect(w.d.img, w.d.size, &p, NULL, 0, &err), SG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "not a SPIFFS image");
    free_written(&w);
}

TEST_MAIN(RUN(device_written_esp_idf_image_reads); RUN(device_written_esp8266_image_reads);
          RUN(device_written_image_without_magic_reads); RUN(corrupt_lookup_disagrees_with_header);
          RUN(corrupt_deleted_page_still_in_table); RUN(corrupt_free_and_lu_table_entries);
          RUN(corrupt_missing_continuation_page); RUN(corrupt_duplicate_continuation_page);
          RUN(corrupt_free_page_not_erased); RUN(corrupt_one_bad_magic_erases_a_block);
          RUN(corrupt_duplicate_name_and_orphans); RUN(corrupt_cross_linked_and_wrong_span);
          RUN(corrupt_interrupted_operations); RUN(corrupt_sizes_and_names);
          RUN(truncated_and_garbage_images_fail_cleanly);)
