/*
 * lfsgen reader and check on images a device leaves behind: commits appended
 * to built pairs, deletes, renames in flight, relocated pairs, interrupted
 * compactions, torn commits; and on corruptions check must name. The device
 * states are written by tests/unit/lfs_rawlog.h (independent of the builder).
 */
#include <stdlib.h>
#include <string.h>

#include "lfs_rawlog.h"
#include "lfsgen/lfsgen.h"
#include "test.h"

#define BS   4096u
#define NBLK 64u
#define SIZE (BS * NBLK)

struct lines {
    char text[8192];
    size_t n;
};

static void collect_line(void *user, const char *line)
{
    struct lines *l = user;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof l->text - len, "%s\n", line);
    l->n++;
}

static uint8_t big[3 * BS - 12]; /* exactly three CTZ blocks */

/* root {0,1}: id1 "a.txt" (inline), id2 "b.txt" (inline), id3 "big.bin" (CTZ),
 * id4 "certs" -> {2,3}: id0 "ca.der"; then "x" -> {4,5} (empty dir). */
static uint8_t *base_image(struct lg_params *p, uint32_t version)
{
    lg_preset("esp-idf", 0, p, NULL);
    p->disk_version = version;
    if (version == LG_DISK_V2_0) {
        p->name_max = 32; /* as the ESP8266 core */
    }
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 31 + 7);
    }
    struct lg_file f[] = {{"/a.txt", "hello", 5, false},
                          {"/b.txt", "world", 5, false},
                          {"/big.bin", big, sizeof big, false},
                          {"/certs/ca.der", "CA", 2, false},
                          {"/x", NULL, 0, true}};
    uint8_t *img = malloc(SIZE);
    if (img != NULL && lg_build(p, f, 5, 0, img, SIZE, NULL) != LG_OK) {
        free(img);
        img = NULL;
    }
    return img;
}

static int read_text(const struct lg_image *im, const char *path, char *out, size_t cap)
{
    long k = lg_image_find(im, path);
    if (k < 0) {
        return -1;
    }
    uint8_t *d;
    size_t len;
    if (lg_image_read(im, (size_t)k, &d, &len, NULL) != LG_OK || len >= cap) {
        free(d);
        return -2;
    }
    if (len > 0) {
        memcpy(out, d, len);
    }
    out[len] = '\0';
    free(d);
    return 0;
}

TEST(appended_commits_replace_delete_and_create)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_1);
    ASSERT(img != NULL);
    struct rawlog l;
    rl_resume(&l, img, BS, p.prog_size);
    ASSERT(l.off > 4);
    rl_tag(&l, 0x4FF, 1, NULL, 0); /* delete a.txt: b.txt becomes id 1 */
    rl_commit(&l);
    rl_tag(&l, 0x401, 1, NULL, 0); /* create a2.txt at id 1 (sorts before b.txt) */
    rl_tag(&l, 0x001, 1, "a2.txt", 6);
    rl_tag(&l, 0x201, 1, "new", 3);
    rl_tag(&l, 0x201, 2, "changed", 7); /* b.txt's new contents */
    rl_commit(&l);
    struct lg_image *im;
    struct lg_error err;
    ASSERT_MSG(lg_image_open(&p, img, SIZE, &im, &err) == LG_OK, "%s", err.msg);
    char text[64];
    ASSERT_EQ_INT(lg_image_find(im, "/a.txt"), -1);
    ASSERT_EQ_INT(read_text(im, "/a2.txt", text, sizeof text), 0);
    ASSERT_STREQ(text, "new");
    ASSERT_EQ_INT(read_text(im, "/b.txt", text, sizeof text), 0);
    ASSERT_STREQ(text, "changed");
    ASSERT_EQ_INT(read_text(im, "/certs/ca.der", text, sizeof text), 0);
    ASSERT_STREQ(text, "CA");
    struct lines lines = {{0}, 0};
    ASSERT_MSG(lg_image_check(im, collect_line, &lines) == 0, "%s", lines.text);
    struct lg_stats st;
    lg_image_stats(im, &st);
    ASSERT_EQ_UINT(st.commits, 5); /* root 3, certs 1, x 1 */
    lg_image_close(im);
    free(img);
}

TEST(torn_last_commit_is_dropped_like_a_mount)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_0);
    ASSERT(img != NULL);
    struct rawlog l;
    rl_resume(&l, img, BS, p.prog_size);
    rl_tag(&l, 0x4FF, 2, NULL, 0); /* delete b.txt ... */
    rl_commit_crc(&l, 1);          /* ... but power went before the CRC was right */
    struct lg_image *im;
    ASSERT_EQ_INT(lg_image_open(&p, img, SIZE, &im, NULL), LG_OK);
    char text[16];
    ASSERT_EQ_INT(read_text(im, "/b.txt", text, sizeof text), 0);
    ASSERT_STREQ(text, "world");
    struct lines lines = {{0}, 0};
    ASSERT_MSG(lg_image_check(im, collect_line, &lines) == 0, "%s", lines.text);
    struct lg_stats st;
    lg_image_stats(im, &st);
    ASSERT_EQ_UINT(st.torn_commits, 1);
    lg_image_close(im);
    free(img);
}

TEST(bad_crc_before_valid_commits_is_reported)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_0);
    ASSERT(img != NULL);
    struct rawlog l;
    rl_resume(&l, img, BS, p.prog_size);
    rl_tag(&l, 0x201, 2, "WORLD", 5);
    rl_commit_crc(&l, 1); /* a flipped bit in an old commit */
    rl_tag(&l, 0x401, 3, NULL, 0);
    rl_tag(&l, 0x001, 3, "c.txt", 5);
    rl_tag(&l, 0x201, 3, "lost", 4);
    rl_commit(&l);
    struct lg_image *im;
    ASSERT_EQ_INT(lg_image_open(&p, img, SIZE, &im, NULL), LG_OK);
    ASSERT_EQ_INT(lg_image_find(im, "/c.txt"), -1); /* the device never sees it */
    struct lines lines = {{0}, 0};
    ASSERT_EQ_UINT(lg_image_check(im, collect_line, &lines), 1);
    ASSERT_CONTAINS(lines.text, "fails its CRC, yet 1 later commit pass");
    lg_image_close(im);
    free(img);
}

TEST(interrupted_compaction_falls_back_to_older_block)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_1);
    ASSERT(img != NULL);
    struct rawlog l;
    rl_begin(&l, img + BS, BS, p.prog_size, 2); /* newer revision in block 1 */
    rl_tag(&l, 0x0FF, 0, "littlefs", 8);
    rl_commit_crc(&l, 1);
    struct lg_image *im;
    struct lg_error err;
    ASSERT_MSG(lg_image_open(&p, img, SIZE, &im, &err) == LG_OK, "%s", err.msg);
    ASSERT(lg_image_find(im, "/big.bin") >= 0);
    ASSERT_EQ_UINT(lg_image_check(im, NULL, NULL), 0);
    lg_image_close(im);
    /* A finished compaction into block 1 wins: only the superblock and one file. */
    rl_begin(&l, img + BS, BS, p.prog_size, 2);
    rl_tag(&l, 0x0FF, 0, "littlefs", 8);
    uint8_t sb[24];
    memcpy(sb, img + 20, 24);
    rl_tag(&l, 0x201, 0, sb, 24);
    rl_tag(&l, 0x001, 1, "only.txt", 8);
    rl_tag(&l, 0x201, 1, "1", 1);
    rl_commit(&l);
    ASSERT_EQ_INT(lg_image_open(&p, img, SIZE, &im, &err), LG_OK);
    ASSERT_EQ_UINT(lg_image_count(im), 1);
    ASSERT_STREQ(lg_image_entry(im, 0)->path, "/only.txt");
    lg_image_close(im);
    free(img);
}

TEST(relocated_directory_pair_is_followed)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_1);
    ASSERT(img != NULL);
    /* The device moved /certs from {2,3} to {40,41}: copy, then point the
     * root's struct and the list's tail at it; the old blocks go stale. */
    struct rawlog l;
    rl_begin(&l, img + 40 * BS, BS, p.prog_size, 7);
    rl_tag(&l, 0x001, 0, "ca.der", 6);
    rl_tag(&l, 0x201, 0, "CA", 2);
    rl_tag_pair(&l, 0x600, 0x3FF, 4, 5);
    rl_commit(&l);
    memset(img + 41 * BS, 0xFF, BS);
    rl_resume(&l, img, BS, p.prog_size);
    rl_tag_pair(&l, 0x200, 4, 40, 41);
    rl_tag_pair(&l, 0x600, 0x3FF, 40, 41);
    rl_commit(&l);
    memset(img + 2 * BS, 0xA5, 2 * BS);
    struct lg_image *im;
    struct lg_error err;
    ASSERT_MSG(lg_image_open(&p, img, SIZE, &im, &err) == LG_OK, "%s", err.msg);
    char text[8];
    ASSERT_EQ_INT(read_text(im, "/certs/ca.der", text, sizeof text), 0);
    ASSERT_STREQ(text, "CA");
    struct lines lines = {{0}, 0};
    ASSERT_MSG(lg_image_check(im, collect_line, &lines) == 0, "%s", lines.text);
    lg_image_close(im);
    free(img);
}

TEST(rename_in_flight_hides_the_source)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_1);
    ASSERT(img != NULL);
    /* lfs_rename /certs/ca.der -> /x/ca.der: the destination commit carries
     * the move state; power went before the source's delete. */
    struct rawlog l;
    rl_resume(&l, img + 4 * BS, BS, p.prog_size);
    rl_tag(&l, 0x401, 0, NULL, 0);
    rl_tag(&l, 0x001, 0, "ca.der", 6);
    rl_tag(&l, 0x201, 0, "CA", 2);
    uint8_t g[12];
    rl_le(g, rl_tag_of(0x4FF, 0, 0));
    rl_le(g + 4, 2);
    rl_le(g + 8, 3);
    rl_tag(&l, 0x7FF, 0x3FF, g, 12);
    rl_commit(&l);
    struct lg_image *im;
    ASSERT_EQ_INT(lg_image_open(&p, img, SIZE, &im, NULL), LG_OK);
    ASSERT_EQ_INT(lg_image_find(im, "/certs/ca.der"), -1);
    ASSERT(lg_image_find(im, "/x/ca.der") >= 0);
    ASSERT_EQ_UINT(lg_image_check(im, NULL, NULL), 0);
    lg_image_close(im);
    free(img);
}

static size_t check_lines(struct lg_params *p, uint8_t *img, struct lines *lines)
{
    struct lg_image *im;
    if (lg_image_open(p, img, SIZE, &im, NULL) != LG_OK) {
        return 0;
    }
    size_t n = lg_image_check(im, collect_line, lines);
    lg_image_close(im);
    return n;
}

TEST(corrupt_ctz_pointers_are_named)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_1);
    ASSERT(img != NULL);
    /* pairs {0,1} {2,3} {4,5}; big.bin is blocks 6, 7, 8 (head 8). */
    uint8_t keep[8];
    memcpy(keep, img + 8 * BS, 8);
    rl_le(img + 8 * BS + 4, 5); /* block 2's skip pointer to block 0 */
    struct lines lines = {{0}, 0};
    ASSERT_EQ_UINT(check_lines(&p, img, &lines), 1);
    ASSERT_CONTAINS(lines.text, "skip pointer 1 is 5, expected 6");
    memcpy(img + 8 * BS, keep, 8);
    rl_le(img + 8 * BS, 999999);
    memset(&lines, 0, sizeof lines);
    ASSERT_EQ_UINT(check_lines(&p, img, &lines), 1);
    ASSERT_CONTAINS(lines.text, "past the last block");
    struct lg_image *im;
    ASSERT_EQ_INT(lg_image_open(&p, img, SIZE, &im, NULL), LG_OK);
    struct lg_error err;
    uint8_t *d;
    size_t len;
    ASSERT_EQ_INT(lg_image_read(im, (size_t)lg_image_find(im, "/big.bin"), &d, &len, &err),
                  LG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "/big.bin");
    lg_image_close(im);
    free(img);
}

TEST(corrupt_metadata_is_named)
{
    struct lg_params p;
    struct lines lines = {{0}, 0};
    uint8_t *img = base_image(&p, LG_DISK_V2_0);
    ASSERT(img != NULL);
    struct rawlog l;
    rl_resume(&l, img, BS, p.prog_size);
    rl_tag(&l, 0x401, 1, NULL, 0); /* "zz" at id 1 breaks the order */
    rl_tag(&l, 0x001, 1, "zz", 2);
    rl_tag(&l, 0x201, 1, "", 0);
    rl_tag(&l, 0x401, 2, NULL, 0);
    rl_tag(&l, 0x001, 2, "a-name-longer-than-the-32-bytes-esp8266-allows", 46);
    rl_tag(&l, 0x201, 2, "", 0);
    uint8_t fc[8] = {0};
    rl_tag(&l, 0x5FF, 0x3FF, fc, 8); /* an FCRC in a v2.0 image */
    rl_commit(&l);
    ASSERT_MSG(check_lines(&p, img, &lines) == 3, "%s", lines.text);
    ASSERT_CONTAINS(lines.text, "sorts before it in littlefs order");
    ASSERT_CONTAINS(lines.text, "name is 46 bytes, superblock name_max is 32");
    ASSERT_CONTAINS(lines.text, "FCRC tag in a v2.0 filesystem");
    free(img);

    /* A tail back to the superblock pair: the mount's cycle check. */
    img = base_image(&p, LG_DISK_V2_1);
    ASSERT(img != NULL);
    rl_resume(&l, img + 4 * BS, BS, p.prog_size);
    rl_tag_pair(&l, 0x600, 0x3FF, 1, 0);
    rl_commit(&l);
    struct lg_image *im;
    struct lg_error err;
    ASSERT_EQ_INT(lg_image_open(&p, img, SIZE, &im, &err), LG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "loop");
    free(img);
}

TEST(mount_refusals_match_lfs_mount)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_1);
    ASSERT(img != NULL);
    struct lg_image *im;
    struct lg_error err;
    struct lg_params q = p;
    q.disk_version = LG_DISK_V2_0; /* an ESP8266-era littlefs */
    ASSERT_EQ_INT(lg_image_open(&q, img, SIZE, &im, &err), LG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "Invalid version");
    q = p;
    q.block_count = NBLK * 2;
    ASSERT_EQ_INT(lg_image_open(&q, img, SIZE, &im, &err), LG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "Invalid block count");
    q = p;
    q.name_max = 32;
    ASSERT_EQ_INT(lg_image_open(&q, img, SIZE, &im, &err), LG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "Unsupported");
    q = p;
    q.block_size = 8192;
    q.cache_size = 512;
    ASSERT_EQ_INT(lg_image_open(&q, img, SIZE, &im, &err), LG_ERR_CORRUPT);
    memset(img, 0xFF, 2 * BS);
    ASSERT_EQ_INT(lg_image_open(&p, img, SIZE, &im, &err), LG_ERR_CORRUPT);
    ASSERT_CONTAINS(err.msg, "corrupted dir pair {0, 1}");
    ASSERT_EQ_INT(lg_image_open(NULL, img, SIZE, &im, &err), LG_ERR_CORRUPT);
    ASSERT_EQ_INT(lg_image_open(&p, img, BS, &im, &err), LG_ERR_GEOMETRY);
    free(img);
}

/* Random bytes and truncations never crash or read out of bounds. */
TEST(garbage_images_fail_cleanly)
{
    struct lg_params p;
    uint8_t *img = base_image(&p, LG_DISK_V2_1);
    ASSERT(img != NULL);
    uint32_t seed = 1;
    for (int round = 0; round < 200; round++) {
        uint8_t *copy = malloc(SIZE);
        ASSERT(copy != NULL);
        memcpy(copy, img, SIZE);
        for (int k = 0; k < 8; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % (6 * BS)] ^= (uint8_t)(1u << (seed % 8));
        }
        size_t size = round % 5 == 0 ? (seed >> 4) % SIZE : SIZE;
        struct lg_image *im;
        if (lg_image_open(round % 2 ? &p : NULL, copy, size, &im, NULL) == LG_OK) {
            for (size_t i = 0; i < lg_image_count(im); i++) {
                uint8_t *d;
                size_t len;
                if (lg_image_read(im, i, &d, &len, NULL) == LG_OK) {
                    free(d);
                }
            }
            lg_image_check(im, NULL, NULL);
            lg_image_close(im);
        }
        free(copy);
    }
    free(img);
}

TEST_MAIN(RUN(appended_commits_replace_delete_and_create);
          RUN(torn_last_commit_is_dropped_like_a_mount);
          RUN(bad_crc_before_valid_commits_is_reported);
          RUN(interrupted_compaction_falls_back_to_older_block);
          RUN(relocated_directory_pair_is_followed); RUN(rename_in_flight_hides_the_source);
          RUN(corrupt_ctz_pointers_are_named); RUN(corrupt_metadata_is_named);
          RUN(mount_refusals_match_lfs_mount); RUN(garbage_images_fail_cleanly);)
