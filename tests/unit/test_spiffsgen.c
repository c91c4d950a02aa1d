/* spiffsgen builder: golden bytes, round trips over a geometry matrix, errors. */
#include <stdlib.h>
#include <string.h>

#include "spiffsgen/spiffsgen.h"
#include "test.h"

#define KIB 1024u

static const char hello[] = "Hello, SPIFFS!\n";

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

/* Reference §17: one file, 64 KiB, ESP-IDF parameters, as spiffsgen.py writes it. */
TEST(golden_esp_idf_matches_reference)
{
    struct sg_params p;
    struct sg_error err;
    ASSERT_EQ_INT(sg_preset("esp-idf", 65536, &p, &err), SG_OK);
    struct sg_file f = {"/hello.txt", hello, 15};
    uint8_t *img = malloc(65536);
    ASSERT(img != NULL);
    ASSERT_EQ_INT(sg_build(&p, &f, 1, SG_BUILD_ERASE_COUNT_FFFF, img, 65536, &err), SG_OK);
    static const uint8_t lu[] = {0x01, 0x80, 0x01, 0x00, 0xff, 0xff};
    static const uint8_t magic0[] = {0x39, 0x04, 0xff, 0xff};
    static const uint8_t hdr[] = {0x01, 0x80, 0x00, 0x00, 0xf8, 0xff, 0xff, 0xff,
                                  0x0f, 0x00, 0x00, 0x00, 0x01, '/',  'h',  'e'};
    static const uint8_t table[] = {0x02, 0x00, 0xff, 0xff};
    static const uint8_t data[] = {0x01, 0x00, 0x00, 0x00, 0xfc, 'H', 'e', 'l'};
    ASSERT_MEMEQ(img + 0x0000, lu, sizeof lu);
    ASSERT(all_ff(img + 6, 0xFC - 6));
    ASSERT_MEMEQ(img + 0x00FC, magic0, sizeof magic0);
    ASSERT_MEMEQ(img + 0x0100, hdr, sizeof hdr);
    ASSERT_MEMEQ(img + 0x010D, "/hello.txt", 10);
    for (size_t i = 0x0117; i < 0x0131; i++) { /* name padding and 4 meta bytes */
        ASSERT_MSG(img[i] == 0, "byte 0x%zx is 0x%02x", i, img[i]);
    }
    ASSERT_MEMEQ(img + 0x0131, table, sizeof table);
    ASSERT(all_ff(img + 0x0135, 0x200 - 0x135));
    ASSERT_MEMEQ(img + 0x0200, data, sizeof data);
    ASSERT_MEMEQ(img + 0x0205, hello, 15);
    ASSERT(all_ff(img + 0x0214, 0x1000 - 0x214));
    ASSERT_EQ_UINT(le16(img + 0x10FC), 0x0426);
    ASSERT_EQ_UINT(le16(img + 0x10FE), 0xFFFF);
    ASSERT_EQ_UINT(le16(img + 0xF0FC), 0x0428);
    /* Our default differs only in the erase counts: 0 as a formatted FS has. */
    uint8_t *img2 = malloc(65536);
    ASSERT(img2 != NULL);
    ASSERT_EQ_INT(sg_build(&p, &f, 1, 0, img2, 65536, &err), SG_OK);
    for (size_t off = 0; off < 65536; off++) {
        bool erase_count = off % 4096 == 0xFE || off % 4096 == 0xFF;
        ASSERT_MSG(erase_count ? img2[off] == 0 : img2[off] == img[off], "byte 0x%zx", off);
    }
    free(img);
    free(img2);
}

TEST(golden_esp8266_aligned_table)
{
    struct sg_params p;
    ASSERT_EQ_INT(sg_preset("esp8266-arduino", 0, &p, NULL), SG_OK);
    ASSERT_EQ_UINT(p.block_size, 8192);
    struct sg_file f = {"/hello.txt", hello, 15};
    uint8_t *img = malloc(65536);
    ASSERT(img != NULL);
    ASSERT_EQ_INT(sg_build(&p, &f, 1, 0, img, 65536, NULL), SG_OK);
    ASSERT_EQ_UINT(img[0x012D], 0x00);          /* alignment pad */
    ASSERT_EQ_UINT(le16(img + 0x012E), 0x0002); /* table at H = 46 */
    ASSERT_EQ_UINT(le16(img + 0x0130), 0xFFFF);
    for (uint32_t b = 0; b < 8; b++) {
        ASSERT_EQ_UINT(le16(img + b * 8192 + 0xFC), 0x0429);
        ASSERT_EQ_UINT(le16(img + b * 8192 + 0xFE), 0x0000);
    }
    struct sg_params small;
    ASSERT_EQ_INT(sg_preset("esp8266-arduino", 256 * KIB, &small, NULL), SG_OK);
    ASSERT_EQ_UINT(small.block_size, 4096);
    ASSERT_EQ_INT(sg_preset("esp8266-arduino", 512 * KIB, &small, NULL), SG_OK);
    ASSERT_EQ_UINT(small.block_size, 8192);
    free(img);
}

/* ----- round trips ------------------------------------------------------ */

struct fileset {
    struct sg_file files[16];
    char names[16][40];
    uint8_t *bufs[16];
    size_t n;
};

static void add(struct fileset *fs, const char *name, size_t size, unsigned seed)
{
    size_t i = fs->n++;
    snprintf(fs->names[i], sizeof fs->names[i], "%s", name);
    fs->bufs[i] = malloc(size ? size : 1);
    for (size_t k = 0; k < size; k++) {
        fs->bufs[i][k] = (uint8_t)(k * 131u + seed * 7u + (k >> 8));
    }
    fs->files[i].name = fs->names[i];
    fs->files[i].data = fs->bufs[i];
    fs->files[i].size = size;
}

static void release(struct fileset *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->bufs[i]);
    }
    fs->n = 0;
}

/* Header table entries for the parameters (mirrors SPEC.md, computed here
 * independently of the library). */
static size_t header_entries(const struct sg_params *p)
{
    size_t h = 13 + p->obj_name_len + p->meta_len;
    if (p->aligned_obj_ix_tables && (h & 1)) {
        h++;
    }
    return (p->page_size - h) / 2;
}

static void edge_files(struct fileset *fs, const struct sg_params *p)
{
    size_t dl = p->page_size - 5;
    size_t he = header_entries(p), ie = (p->page_size - 8) / 2;
    add(fs, "/empty", 0, 1);
    add(fs, "/one", 1, 2);
    add(fs, "/page", dl, 3);
    add(fs, "/page-1", dl - 1, 4);
    add(fs, "/page+1", dl + 1, 5);
    add(fs, "/2page-1", 2 * dl - 1, 6);
    add(fs, "/2page+1", 2 * dl + 1, 7);
    add(fs, "/header-table-full", he * dl, 8);
    add(fs, "/header-table+1", he * dl + 1, 9);
    add(fs, "/three-index-pages", (he + ie + 3) * dl - 17, 10);
    add(fs, "/a/name-of-exactly-31-bytes.bin", 300, 11);
    if (strlen(fs->files[fs->n - 1].name) != 31) {
        abort();
    }
}

static void verify(struct t_ctx *t_, const struct sg_params *p, const uint8_t *img, size_t size,
                   const struct fileset *fs, const char *what)
{
    struct sg_image *im = NULL;
    struct sg_error err = {0};
    ASSERT_MSG(sg_image_open(p, img, size, &im, &err) == SG_OK, "%s: open: %s", what, err.msg);
    ASSERT_MSG(sg_image_count(im) == fs->n, "%s: %zu files, expected %zu", what, sg_image_count(im),
               fs->n);
    for (size_t i = 0; i < fs->n; i++) {
        long k = sg_image_find(im, fs->files[i].name);
        ASSERT_MSG(k >= 0, "%s: '%s' missing", what, fs->files[i].name);
        const struct sg_entry *e = sg_image_entry(im, (size_t)k);
        ASSERT_EQ_UINT(e->size, fs->files[i].size);
        uint8_t *data = NULL;
        size_t len = 0;
        int rc = sg_image_read(im, (size_t)k, &data, &len, &err);
        ASSERT_MSG(rc == SG_OK, "%s: read '%s': %s", what, e->name, err.msg);
        ASSERT_EQ_UINT(len, fs->files[i].size);
        ASSERT_MEMEQ(data, fs->files[i].data, len);
        free(data);
    }
    size_t problems = sg_image_check(im, NULL, NULL);
    sg_image_close(im);
    ASSERT_MSG(problems == 0, "%s: check found %zu problems", what, problems);
}

TEST(round_trip_geometry_matrix)
{
    static const uint32_t pages[] = {256, 512};
    static const uint32_t blocks[] = {4 * KIB, 8 * KIB, 64 * KIB};
    int combos = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t bi = 0; bi < 3; bi++) {
            for (unsigned v = 0; v < 2 * 3 * 2; v++) {
                struct sg_params p = {pages[pi],        blocks[bi],       32,    (v & 1) ? 4 : 0,
                                      (v / 2) % 3 != 0, (v / 2) % 3 == 2, v >= 6};
                char what[160];
                sg_params_describe(&p, what, sizeof what);
                struct fileset fs = {0};
                edge_files(&fs, &p);
                /* Big enough for the files plus the reserve and one spare block. */
                struct sg_usage u;
                size_t size = 16 * (size_t)p.block_size;
                ASSERT_EQ_INT(sg_usage(&p, fs.files, fs.n, 0, size, &u, NULL), SG_OK);
                size_t per_block = (size_t)u.pages_available / 14;
                size_t nblocks = (size_t)(u.pages_needed + per_block - 1) / per_block + 3;
                size = (nblocks > 16 ? nblocks : 16) * (size_t)p.block_size;
                uint8_t *img = malloc(size);
                struct sg_error err = {0};
                int rc = sg_build(&p, fs.files, fs.n, 0, img, size, &err);
                if (rc == SG_OK) {
                    verify(t_, &p, img, size, &fs, what);
                    struct sg_params found;
                    char preset[32];
                    rc = sg_detect(img, size, &found, preset, sizeof preset, &err);
                    EXPECT(rc == SG_OK && sg_params_equal(&found, &p));
                    if (rc != SG_OK || !sg_params_equal(&found, &p)) {
                        char got[160];
                        sg_params_describe(&found, got, sizeof got);
                        T_FAILF("detect %s: got %s (%s)", what, rc == SG_OK ? got : "-", err.msg);
                    }
                    combos++;
                } else {
                    T_FAILF("build %s: %s", what, err.msg);
                }
                free(img);
                release(&fs);
                if (t_->failing) {
                    return;
                }
            }
        }
    }
    ASSERT_EQ_INT(combos, 72);
}

/* Fill an image to its last object page, then one byte more must fail. */
TEST(fills_to_the_last_page)
{
    struct sg_params p;
    ASSERT_EQ_INT(sg_preset("esp-idf", 0, &p, NULL), SG_OK);
    size_t size = 8 * 4096, dl = 251, he = header_entries(&p), ie = 124, total = 8 * 15;
    /* "/big" takes all pages but one (header + data + index pages); the empty
     * "/tiny" takes the last one. */
    size_t d = total;
    while (1 + d + (d > he ? (d - he + ie - 1) / ie : 0) != total - 1) {
        ASSERT(d-- > 0);
    }
    uint8_t *img = malloc(size);
    struct fileset fs = {0};
    add(&fs, "/big", d * dl, 3);
    add(&fs, "/tiny", 0, 4);
    struct sg_usage u;
    ASSERT_EQ_INT(sg_usage(&p, fs.files, fs.n, SG_BUILD_FILL, size, &u, NULL), SG_OK);
    ASSERT_EQ_UINT(u.pages_available, total);
    ASSERT_EQ_UINT(u.pages_needed, total);
    ASSERT_EQ_UINT(u.bytes_over, 0);
    struct sg_error err = {0};
    ASSERT_EQ_INT(sg_build(&p, fs.files, fs.n, SG_BUILD_FILL, img, size, &err), SG_OK);
    verify(t_, &p, img, size, &fs, "full image");
    struct sg_image *im;
    ASSERT_EQ_INT(sg_image_open(&p, img, size, &im, NULL), SG_OK);
    struct sg_stats st;
    sg_image_stats(im, &st);
    sg_image_close(im);
    ASSERT_EQ_UINT(st.pages_free, 0);
    ASSERT_EQ_UINT(st.pages_used, total);
    /* The default keeps two blocks free, so the same files fail without FILL. */
    ASSERT_EQ_INT(sg_usage(&p, fs.files, fs.n, 0, size, &u, NULL), SG_OK);
    ASSERT_EQ_UINT(u.bytes_over, 30 * dl);
    ASSERT_EQ_INT(sg_build(&p, fs.files, fs.n, 0, img, size, &err), SG_ERR_NO_SPACE);
    ASSERT_CONTAINS(err.msg, "the files need 30 more pages (about 7530 bytes)");
    ASSERT_CONTAINS(err.msg, "keeping 2 blocks free");
    fs.files[1].size = 1;
    ASSERT_EQ_INT(sg_build(&p, fs.files, fs.n, SG_BUILD_FILL, img, size, &err), SG_ERR_NO_SPACE);
    ASSERT_CONTAINS(err.msg, "1 more pages");
    free(img);
    release(&fs);
}

TEST(same_input_same_bytes)
{
    struct sg_params p;
    ASSERT_EQ_INT(sg_preset("esp8266-arduino", 0, &p, NULL), SG_OK);
    struct fileset fs = {0};
    edge_files(&fs, &p);
    sg_files_sort(fs.files, fs.n);
    for (size_t i = 1; i < fs.n; i++) {
        ASSERT(strcmp(fs.files[i - 1].name, fs.files[i].name) < 0);
    }
    size_t size = 32 * 8192;
    uint8_t *a = malloc(size), *b = malloc(size);
    memset(a, 0x00, size);
    memset(b, 0x5A, size);
    ASSERT_EQ_INT(sg_build(&p, fs.files, fs.n, 0, a, size, NULL), SG_OK);
    ASSERT_EQ_INT(sg_build(&p, fs.files, fs.n, 0, b, size, NULL), SG_OK);
    ASSERT_MEMEQ(a, b, size);
    free(a);
    free(b);
    release(&fs);
}

TEST(bad_input_is_refused_precisely)
{
    struct sg_params p;
    struct sg_error err = {0};
    ASSERT_EQ_INT(sg_preset("esp-idf", 0, &p, NULL), SG_OK);
    size_t size = 16 * 4096;
    uint8_t *img = malloc(size);
    struct sg_file f[2] = {{"/a-very-long-name-that-overflows.txt", "x", 1}, {"/b", "y", 1}};
    ASSERT_EQ_INT(sg_build(&p, f, 1, 0, img, size, &err), SG_ERR_NAME);
    ASSERT_CONTAINS(err.msg, "'/a-very-long-name-that-overflows.txt' is 36 bytes; the device "
                             "allows 31");
    f[0].name = "no-slash";
    ASSERT_EQ_INT(sg_build(&p, f, 1, 0, img, size, &err), SG_ERR_NAME);
    ASSERT_CONTAINS(err.msg, "'no-slash' does not start with '/'");
    f[0].name = "/b";
    ASSERT_EQ_INT(sg_build(&p, f, 2, 0, img, size, &err), SG_ERR_DUPLICATE);
    ASSERT_CONTAINS(err.msg, "'/b' is given twice");
    f[0].name = "/a";
    ASSERT_EQ_INT(sg_build(&p, f, 2, 0, img, size - 100, &err), SG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "not a whole number of 4096-byte blocks");
    ASSERT_EQ_INT(sg_build(&p, f, 2, 0, img, 0, &err), SG_ERR_GEOMETRY);
    struct sg_params q = p;
    q.block_size = 32768;
    ASSERT_EQ_INT(sg_params_check(&q, 32768 * 4, &err), SG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "magic is not possible with 256-byte pages and 32768-byte blocks");
    q.use_magic = false;
    ASSERT_EQ_INT(sg_params_check(&q, 32768 * 4, &err), SG_OK);
    q = p;
    q.page_size = 300;
    ASSERT_EQ_INT(sg_params_check(&q, size, &err), SG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "page size 300");
    q = p;
    ASSERT_EQ_INT(sg_params_check(&q, 16u << 20, &err), SG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "16-bit");
    ASSERT_EQ_INT(sg_params_check(&q, (16u << 20) - 4096, &err), SG_OK);
    ASSERT_EQ_INT(sg_preset("esp-foo", 0, &q, &err), SG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "unknown preset 'esp-foo'");
    free(img);
}

TEST(presets_and_names)
{
    struct sg_params a, b;
    ASSERT_EQ_INT(sg_preset("esp-idf", 0, &a, NULL), SG_OK);
    ASSERT_EQ_INT(sg_preset("esp32-arduino", 0, &b, NULL), SG_OK);
    ASSERT(sg_params_equal(&a, &b));
    ASSERT_EQ_UINT(a.meta_len, 4);
    ASSERT(a.use_magic && a.use_magic_len && !a.aligned_obj_ix_tables);
    ASSERT_EQ_INT(sg_preset("esp8266-arduino", 0, &b, NULL), SG_OK);
    ASSERT(b.use_magic && !b.use_magic_len && b.aligned_obj_ix_tables && b.meta_len == 0);
    ASSERT_EQ_UINT(sg_max_name_len(&a), 31);
    ASSERT_STREQ(sg_preset_name(0), "esp-idf");
    ASSERT(sg_preset_name(3) == NULL);
    ASSERT_STREQ(sg_preset_match(&b, 1u << 20), "esp8266-arduino");
    ASSERT(sg_preset_match(&b, 64 * KIB) == NULL); /* small ESP8266 FS uses 4 KiB blocks */
}

TEST_MAIN(RUN(golden_esp_idf_matches_reference); RUN(golden_esp8266_aligned_table);
          RUN(round_trip_geometry_matrix); RUN(fills_to_the_last_page); RUN(same_input_same_bytes);
          RUN(bad_input_is_refused_precisely); RUN(presets_and_names);)
