/* lfsgen builder: on-disk bytes, round trips over a geometry matrix, limits, errors. */
#include <stdlib.h>
#include <string.h>

#include "lfs_rawlog.h"
#include "lfsgen/lfsgen.h"
#include "test.h"

#define KIB 1024u

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static size_t count_problems(const struct lg_image *im)
{
    return lg_image_check(im, NULL, NULL);
}

struct lines {
    char text[4096];
    size_t n;
};

static void collect_line(void *user, const char *line)
{
    struct lines *l = user;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof l->text - len, "%s\n", line);
    l->n++;
}

/* The superblock pair's first bytes: the tags real littlefs writes (the same
 * "f0 0f ff f7 littlefs 2f e0 00 10" a littlefs-formatted disk starts with). */
TEST(superblock_bytes_match_littlefs)
{
    struct lg_params p;
    struct lg_error err;
    ASSERT_EQ_INT(lg_preset("esp8266-arduino", 1024 * KIB, &p, &err), LG_OK);
    ASSERT_EQ_UINT(p.block_size, 8192);
    ASSERT_EQ_UINT(p.block_count, 128);
    uint8_t *img = malloc(1024 * KIB);
    ASSERT(img != NULL);
    ASSERT_EQ_INT(lg_build(&p, NULL, 0, 0, img, 1024 * KIB, &err), LG_OK);
    static const uint8_t head[] = {
        0x01, 0x00, 0x00, 0x00, 0xf0, 0x0f, 0xff, 0xf7, 'l', 'i', 't', 't', 'l', 'e', 'f', 's',
        0x2f, 0xe0, 0x00, 0x10,
        /* version 2.0, block 8192, 128 blocks */
        0x00, 0x00, 0x02, 0x00, 0x00, 0x20, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
        /* name_max 32, file_max 2^31-1, attr_max 1022 */
        0x20, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x7f, 0xfe, 0x03, 0x00, 0x00};
    ASSERT_MEMEQ(img, head, sizeof head);
    /* Then the CRC tag: type 0x500, id 0x3ff, padding to 64 bytes, xor the inline tag. */
    uint32_t prev = 0x20100018u;
    uint32_t crctag =
        ((uint32_t)img[44] << 24 | (uint32_t)img[45] << 16 | (uint32_t)img[46] << 8 | img[47]) ^
        prev;
    ASSERT_EQ_UINT(crctag, (0x500u << 20) | (0x3FFu << 10) | (64 - 48));
    ASSERT_EQ_UINT(rl_getle(img + 48), rl_crc(0xFFFFFFFFu, img, 48));
    for (size_t i = 52; i < 1024 * KIB; i++) {
        ASSERT_MSG(img[i] == 0xFF, "byte %zu is 0x%02x, not erased", i, img[i]);
    }
    free(img);
}

/* 2.1: an FCRC of the next program unit's erased bytes precedes the CRC. */
TEST(v21_commit_has_fcrc_of_erased_unit)
{
    struct lg_params p;
    ASSERT_EQ_INT(lg_preset("esp-idf", 64 * KIB, &p, NULL), LG_OK);
    uint8_t *img = malloc(64 * KIB);
    ASSERT(img != NULL);
    ASSERT_EQ_INT(lg_build(&p, NULL, 0, 0, img, 64 * KIB, NULL), LG_OK);
    ASSERT_EQ_UINT(rl_getle(img + 20), 0x00020001u);
    uint32_t prev = 0x20100018u;
    uint32_t t =
        ((uint32_t)img[44] << 24 | (uint32_t)img[45] << 16 | (uint32_t)img[46] << 8 | img[47]) ^
        prev;
    ASSERT_EQ_UINT(t, (0x5FFu << 20) | (0x3FFu << 10) | 8);
    ASSERT_EQ_UINT(rl_getle(img + 48), 128);
    uint8_t erased[128];
    memset(erased, 0xFF, sizeof erased);
    ASSERT_EQ_UINT(rl_getle(img + 52), rl_crc(0xFFFFFFFFu, erased, sizeof erased));
    uint32_t c =
        ((uint32_t)img[56] << 24 | (uint32_t)img[57] << 16 | (uint32_t)img[58] << 8 | img[59]) ^ t;
    ASSERT_EQ_UINT(c, (0x500u << 20) | (0x3FFu << 10) | (128 - 60));
    ASSERT_EQ_UINT(rl_getle(img + 60), rl_crc(0xFFFFFFFFu, img, 60));
    free(img);
}

struct geometry {
    uint32_t block, prog, name_max, version;
};

static char *name_of(char *buf, size_t len, const char *dir, size_t n, char c)
{
    size_t at = (size_t)snprintf(buf, len, "%s/", dir);
    for (size_t i = 0; i < n && at + 1 < len; i++) {
        buf[at++] = c;
    }
    buf[at] = '\0';
    return buf;
}

static void roundtrip(struct t_ctx *t_, const struct geometry *g)
{
    struct lg_params p;
    lg_preset("esp-idf", 0, &p, NULL);
    p.block_size = g->block;
    p.prog_size = p.read_size = g->prog;
    p.cache_size = g->prog > 64 ? g->prog : 64;
    p.name_max = g->name_max;
    p.disk_version = g->version;
    uint32_t b = g->block, im_max = lg_inline_max(&p);
    /* Sizes around every boundary: inline, one block, CTZ skip levels. */
    size_t sizes[] = {0,         1,         im_max,     im_max + 1, b,         b + 1,
                      2 * b - 4, 2 * b - 3, 3 * b - 12, 3 * b,      17 * b + 5};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    char names[NS + 4][300];
    struct lg_file files[NS + 4];
    size_t total = 0;
    for (size_t i = 0; i < NS; i++) {
        total += sizes[i];
    }
    uint8_t *data = malloc(total + 1);
    fill(data, total, g->block ^ g->prog);
    size_t at = 0, n = 0;
    for (size_t i = 0; i < NS; i++, n++) {
        snprintf(names[n], sizeof names[n], "%s/f%02zu.bin", i % 2 ? "/certs" : "/data/deep/er", i);
        files[n] = (struct lg_file){names[n], data + at, sizes[i], false};
        at += sizes[i];
    }
    files[n] = (struct lg_file){name_of(names[n], sizeof names[n], "/certs", g->name_max, 'n'),
                                data, 3, false};
    n++;
    files[n] = (struct lg_file){"/a/b/c/d/e/f/g/h/deep.txt", data, 7, false};
    n++;
    files[n] = (struct lg_file){"/empty-dir", NULL, 0, true};
    n++;
    size_t image_size = (size_t)b * 64;
    uint8_t *img = malloc(image_size);
    ASSERT(img != NULL && data != NULL);
    struct lg_error err;
    int rc = lg_build(&p, files, n, 0, img, image_size, &err);
    ASSERT_MSG(rc == LG_OK, "block %u prog %u: %s", b, g->prog, err.msg);
    struct lg_image *im;
    rc = lg_image_open(&p, img, image_size, &im, &err);
    ASSERT_MSG(rc == LG_OK, "open: %s", err.msg);
    struct lines lines = {{0}, 0};
    ASSERT_MSG(lg_image_check(im, collect_line, &lines) == 0, "block %u prog %u v%x: %s", b,
               g->prog, g->version, lines.text);
    for (size_t i = 0; i < n - 1; i++) {
        long k = lg_image_find(im, files[i].name);
        ASSERT_MSG(k >= 0, "'%s' not found", files[i].name);
        const struct lg_entry *e = lg_image_entry(im, (size_t)k);
        ASSERT_EQ_INT(e->type, LG_TYPE_FILE);
        ASSERT_EQ_UINT(e->size, files[i].size);
        ASSERT_EQ_INT(e->inlined, files[i].size <= im_max);
        uint8_t *got;
        size_t len;
        ASSERT_EQ_INT(lg_image_read(im, (size_t)k, &got, &len, &err), LG_OK);
        ASSERT_EQ_UINT(len, files[i].size);
        if (len > 0) {
            ASSERT_MEMEQ(got, files[i].data, len);
        }
        free(got);
    }
    long d = lg_image_find(im, "/empty-dir");
    ASSERT(d >= 0 && lg_image_entry(im, (size_t)d)->type == LG_TYPE_DIR);
    ASSERT(lg_image_find(im, "/a/b/c/d") >= 0);
    ASSERT(lg_image_find(im, "/data/deep") >= 0);
    struct lg_stats st;
    lg_image_stats(im, &st);
    ASSERT_EQ_UINT(st.files, n - 1);
    ASSERT_EQ_UINT(st.blocks, 64);
    ASSERT_EQ_UINT(st.appendable, st.pairs); /* the device appends without compacting */
    lg_image_close(im);
    /* Detection finds the geometry from the superblock alone. */
    struct lg_params found;
    ASSERT_EQ_INT(lg_detect(img, image_size, &found, NULL, 0, &err), LG_OK);
    ASSERT_EQ_UINT(found.block_size, b);
    ASSERT_EQ_INT(lg_image_open(NULL, img, image_size, &im, &err), LG_OK);
    ASSERT_EQ_UINT(lg_image_count(im),
                   n + 12); /* + /certs /data /data/deep /data/deep/er, /a .. /a/b/c/d/e/f/g/h */
    lg_image_close(im);
    free(img);
    free(data);
}

TEST(roundtrip_geometry_matrix)
{
    static const uint32_t blocks[] = {4096, 8192};
    static const uint32_t progs[] = {1, 16, 64, 256};
    static const uint32_t names[] = {32, 64, 255};
    static const uint32_t versions[] = {0x00020000u, 0x00020001u};
    for (size_t bi = 0; bi < 2; bi++) {
        for (size_t pi = 0; pi < 4; pi++) {
            for (size_t ni = 0; ni < 3; ni++) {
                for (size_t vi = 0; vi < 2; vi++) {
                    struct geometry g = {blocks[bi], progs[pi], names[ni], versions[vi]};
                    roundtrip(t_, &g);
                    if (t_->failing) {
                        return;
                    }
                }
            }
        }
    }
}

TEST(small_blocks_roundtrip)
{
    struct geometry g = {512, 16, 32, 0x00020001u};
    roundtrip(t_, &g);
    struct geometry g2 = {1024, 64, 32, 0x00020000u};
    roundtrip(t_, &g2);
}

TEST(presets_carry_platform_values)
{
    struct lg_params p;
    ASSERT_EQ_INT(lg_preset("esp8266-arduino", 0x3B000, &p, NULL), LG_OK);
    ASSERT_EQ_UINT(p.block_size, 4096);
    ASSERT_EQ_UINT(p.block_count, 0x3B000 / 4096);
    ASSERT_EQ_UINT(p.prog_size, 64);
    ASSERT_EQ_UINT(p.cache_size, 64);
    ASSERT_EQ_UINT(p.name_max, 32);
    ASSERT_EQ_UINT(lg_name_limit(&p), 31);
    ASSERT_EQ_UINT(lg_inline_max(&p), 64);
    ASSERT_EQ_UINT(p.disk_version, LG_DISK_V2_0);
    ASSERT_EQ_INT(lg_preset("esp8266-arduino", 0x1FA000, &p, NULL), LG_OK);
    ASSERT_EQ_UINT(p.block_size, 8192);
    ASSERT_EQ_UINT(p.block_count, 253);
    ASSERT_EQ_INT(lg_preset("esp-idf", 0x100000, &p, NULL), LG_OK);
    ASSERT_EQ_UINT(p.block_size, 4096);
    ASSERT_EQ_UINT(p.block_count, 0);
    ASSERT_EQ_UINT(p.prog_size, 128);
    ASSERT_EQ_UINT(p.cache_size, 512);
    ASSERT_EQ_UINT(p.name_max, 255);
    ASSERT_EQ_UINT(lg_inline_max(&p), 512);
    ASSERT_EQ_UINT(p.disk_version, LG_DISK_V2_1);
    ASSERT_STREQ(lg_preset_match(&p, 0x100000), "esp-idf");
    struct lg_error err;
    ASSERT_EQ_INT(lg_preset("fat", 0, &p, &err), LG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "esp8266-arduino");
}

/* Same inputs in any order give the same bytes. */
TEST(build_is_deterministic)
{
    struct lg_params p;
    lg_preset("esp-idf", 0, &p, NULL);
    uint8_t data[9000];
    fill(data, sizeof data, 7);
    struct lg_file a[] = {{"/z.txt", data, 10, false},
                          {"/certs/ca.der", data, 900, false},
                          {"/certs/client.crt", data + 5, 8000, false},
                          {"/b", data, 0, false}};
    struct lg_file b[] = {a[2], a[0], a[3], a[1]};
    uint8_t *x = malloc(256 * KIB), *y = malloc(256 * KIB);
    ASSERT(x != NULL && y != NULL);
    memset(y, 0, 256 * KIB);
    ASSERT_EQ_INT(lg_build(&p, a, 4, 0, x, 256 * KIB, NULL), LG_OK);
    ASSERT_EQ_INT(lg_build(&p, b, 4, 0, y, 256 * KIB, NULL), LG_OK);
    ASSERT(memcmp(x, y, 256 * KIB) == 0);
    free(x);
    free(y);
}

/* littlefs sorts by the common prefix, then the LONGER name first. */
TEST(listing_follows_littlefs_order)
{
    struct lg_params p;
    lg_preset("esp-idf", 0, &p, NULL);
    struct lg_file f[] = {{"/b", "1", 1, false},
                          {"/a", "1", 1, false},
                          {"/ab", "1", 1, false},
                          {"/abc", "1", 1, false}};
    uint8_t *img = malloc(64 * KIB);
    ASSERT(img != NULL);
    ASSERT_EQ_INT(lg_build(&p, f, 4, 0, img, 64 * KIB, NULL), LG_OK);
    struct lg_image *im;
    ASSERT_EQ_INT(lg_image_open(&p, img, 64 * KIB, &im, NULL), LG_OK);
    ASSERT_EQ_UINT(lg_image_count(im), 4);
    ASSERT_STREQ(lg_image_entry(im, 0)->path, "/abc");
    ASSERT_STREQ(lg_image_entry(im, 1)->path, "/ab");
    ASSERT_STREQ(lg_image_entry(im, 2)->path, "/a");
    ASSERT_STREQ(lg_image_entry(im, 3)->path, "/b");
    lg_image_close(im);
    free(img);
}

/* A directory too big for one pair is split the way compaction splits it. */
TEST(large_directory_splits_over_pairs)
{
    struct lg_params p;
    lg_preset("esp8266-arduino", 0, &p, NULL);
    p.block_size = 4096;
    enum { N = 600 };
    static char names[N][32];
    static struct lg_file files[N];
    uint8_t data[64];
    fill(data, sizeof data, 3);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "/logs/entry-%05d.json", (i * 7919) % N);
        files[i] = (struct lg_file){names[i], data, (size_t)(i % 65), false};
    }
    size_t size = 256 * 4096;
    uint8_t *img = malloc(size);
    ASSERT(img != NULL);
    struct lg_error err;
    ASSERT_MSG(lg_build(&p, files, N, 0, img, size, &err) == LG_OK, "%s", err.msg);
    struct lg_image *im;
    ASSERT_EQ_INT(lg_image_open(&p, img, size, &im, &err), LG_OK);
    struct lg_stats st;
    lg_image_stats(im, &st);
    ASSERT_MSG(st.pairs > 10, "only %u pairs", st.pairs);
    ASSERT_EQ_UINT(st.files, N);
    ASSERT_EQ_UINT(count_problems(im), 0);
    for (int i = 0; i < N; i++) {
        long k = lg_image_find(im, names[i]);
        ASSERT(k >= 0);
        uint8_t *got;
        size_t len;
        ASSERT_EQ_INT(lg_image_read(im, (size_t)k, &got, &len, NULL), LG_OK);
        ASSERT_EQ_UINT(len, (size_t)(i % 65));
        free(got);
    }
    lg_image_close(im);
    free(img);
}

/* Filling: the last block can be used with LG_BUILD_FILL, not without. */
TEST(image_filled_to_the_limit)
{
    struct lg_params p;
    lg_preset("esp-idf", 0, &p, NULL);
    size_t size = 32 * 4096;
    /* root pair (2) + 30 data blocks: one file of exactly 30 blocks' capacity */
    uint32_t cap30 = 30 * 4096 - 4 * (2 * 29 - 4); /* popcount(29) = 4 */
    uint8_t *data = malloc(cap30 + 1), *img = malloc(size);
    ASSERT(data != NULL && img != NULL);
    fill(data, cap30 + 1, 9);
    struct lg_file f = {"/fill.bin", data, cap30, false};
    struct lg_usage u;
    ASSERT_EQ_INT(lg_usage(&p, &f, 1, LG_BUILD_FILL, size, &u, NULL), LG_OK);
    ASSERT_EQ_UINT(u.blocks_needed, 32);
    ASSERT_EQ_UINT(u.bytes_over, 0);
    struct lg_error err;
    ASSERT_EQ_INT(lg_build(&p, &f, 1, 0, img, size, &err), LG_ERR_NO_SPACE);
    ASSERT_CONTAINS(err.msg, "2 blocks kept free");
    ASSERT_EQ_INT(lg_build(&p, &f, 1, LG_BUILD_FILL, img, size, &err), LG_OK);
    struct lg_image *im;
    ASSERT_EQ_INT(lg_image_open(&p, img, size, &im, NULL), LG_OK);
    ASSERT_EQ_UINT(count_problems(im), 0);
    struct lg_stats st;
    lg_image_stats(im, &st);
    ASSERT_EQ_UINT(st.blocks_used, 32);
    uint8_t *got;
    size_t len;
    ASSERT_EQ_INT(lg_image_read(im, 0, &got, &len, NULL), LG_OK);
    ASSERT_EQ_UINT(len, cap30);
    ASSERT_MEMEQ(got, data, cap30);
    free(got);
    lg_image_close(im);
    f.size = cap30 + 1; /* one byte more needs a 31st data block */
    ASSERT_EQ_INT(lg_build(&p, &f, 1, LG_BUILD_FILL, img, size, &err), LG_ERR_NO_SPACE);
    free(data);
    free(img);
}

/* The CTZ block index agrees with littlefs's closed form (lfs_ctz_index). */
static uint32_t lfs_index(uint32_t b, uint32_t *off)
{
    uint32_t size = *off, w = b - 8, i = size / w;
    if (i == 0) {
        return 0;
    }
    i = (size - 4 * ((uint32_t)__builtin_popcount(i - 1) + 2)) / w;
    *off = size - w * i - 4 * (uint32_t)__builtin_popcount(i);
    return i;
}

TEST(ctz_layout_matches_littlefs_index)
{
    struct lg_params p;
    lg_preset("esp-idf", 0, &p, NULL);
    p.block_size = 512;
    p.cache_size = 512;
    size_t size = 512 * 512;
    uint8_t *img = malloc(size), *data = malloc(200000);
    ASSERT(img != NULL && data != NULL);
    fill(data, 200000, 1);
    struct lg_file f = {"/x", data, 200000, false};
    ASSERT_EQ_INT(lg_build(&p, &f, 1, 0, img, size, NULL), LG_OK);
    /* the pair takes blocks 0-1; the file's block i is block 2 + i */
    for (uint32_t pos = 0; pos < 200000; pos += 97) {
        uint32_t off = pos;
        uint32_t i = lfs_index(512, &off);
        ASSERT_MSG(img[(2 + i) * 512 + off] == data[pos], "byte %u: block %u offset %u", pos, i,
                   off);
    }
    free(img);
    free(data);
}

TEST(errors_name_the_problem)
{
    struct lg_params p;
    struct lg_error err;
    lg_preset("esp8266-arduino", 64 * KIB, &p, NULL);
    uint8_t img[64 * 1024];
    struct lg_file f = {"/certs/a-very-long-certificate-name.der", "x", 1, false};
    ASSERT_EQ_INT(lg_build(&p, &f, 1, 0, img, sizeof img, &err), LG_ERR_NAME);
    ASSERT_CONTAINS(err.msg, "open() refuses components over 31 bytes");
    f.name = "/a/../b";
    ASSERT_EQ_INT(lg_build(&p, &f, 1, 0, img, sizeof img, &err), LG_ERR_NAME);
    ASSERT_CONTAINS(err.msg, "'..'");
    f.name = "/a//b";
    ASSERT_EQ_INT(lg_build(&p, &f, 1, 0, img, sizeof img, &err), LG_ERR_NAME);
    ASSERT_CONTAINS(err.msg, "empty component");
    f.name = "relative";
    ASSERT_EQ_INT(lg_build(&p, &f, 1, 0, img, sizeof img, &err), LG_ERR_NAME);
    struct lg_file dup[] = {{"/x", "a", 1, false}, {"/x", "b", 1, false}};
    ASSERT_EQ_INT(lg_build(&p, dup, 2, 0, img, sizeof img, &err), LG_ERR_DUPLICATE);
    struct lg_file clash[] = {{"/x", "a", 1, false}, {"/x/y", "b", 1, false}};
    ASSERT_EQ_INT(lg_build(&p, clash, 2, 0, img, sizeof img, &err), LG_ERR_DUPLICATE);
    ASSERT_CONTAINS(err.msg, "both a file and a directory");
    ASSERT_EQ_INT(lg_build(&p, NULL, 0, 0, img, 62 * 1024, &err), LG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "whole number");
    static uint8_t big[80 * 1024];
    struct lg_file large = {"/big", big, sizeof big, false};
    ASSERT_EQ_INT(lg_build(&p, &large, 1, 0, img, sizeof img, &err), LG_ERR_NO_SPACE);
    ASSERT_CONTAINS(err.msg, "bytes too much");
    lg_preset("esp8266-arduino", 128 * KIB, &p, NULL); /* expects 32 blocks */
    ASSERT_EQ_INT(lg_build(&p, NULL, 0, 0, img, sizeof img, &err), LG_ERR_GEOMETRY);
    ASSERT_CONTAINS(err.msg, "Invalid block count");
    ASSERT(lg_path_problem("/a/./b") != NULL);
    ASSERT(lg_path_problem("/a/b") == NULL);
    ASSERT(lg_path_problem("/a\\b") != NULL);
}

TEST_MAIN(RUN(superblock_bytes_match_littlefs); RUN(v21_commit_has_fcrc_of_erased_unit);
          RUN(roundtrip_geometry_matrix); RUN(small_blocks_roundtrip);
          RUN(presets_carry_platform_values); RUN(build_is_deterministic);
          RUN(listing_follows_littlefs_order); RUN(large_directory_splits_over_pairs);
          RUN(image_filled_to_the_limit); RUN(ctz_layout_matches_littlefs_index);
          RUN(errors_name_the_problem);)
