/*
 * Fuzz target for the LittleFS image reader: open (mount walk, log replay,
 * tree), list, find, read every file, stats, check, detection. Input: one
 * selector byte choosing the parameters (or none: detection), then the
 * image. Anything may fail; nothing may crash, leak, hang or read outside
 * the input.
 */
#include <stdlib.h>
#include <string.h>

#include "lfsgen/lfsgen.h"

#define MAX_IMAGE (256u * 1024u)

static void on_problem(void *user, const char *line)
{
    size_t *n = user;
    *n += strlen(line) > 0;
}

static void exercise(const struct lg_params *p, const uint8_t *img, size_t size)
{
    struct lg_image *im = NULL;
    struct lg_error err;
    if (lg_image_open(p, img, size, &im, &err) != LG_OK) {
        if (im != NULL) {
            abort(); /* *out must be NULL on error */
        }
        return;
    }
    for (size_t i = 0; i < lg_image_count(im); i++) {
        const struct lg_entry *e = lg_image_entry(im, i);
        if (lg_image_find(im, e->path) < 0) {
            abort(); /* every listed path must be found again */
        }
        uint8_t *data = NULL;
        size_t len = 0;
        if (lg_image_read(im, i, &data, &len, &err) == LG_OK && len != e->size) {
            abort();
        }
        free(data);
        (void)lg_path_problem(e->path);
    }
    struct lg_stats st;
    lg_image_stats(im, &st);
    if (st.appendable > st.pairs) {
        abort();
    }
    size_t lines = 0;
    lg_image_check(im, on_problem, &lines);
    struct lg_superblock sb;
    lg_image_superblock(im, &sb);
    lg_image_close(im);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > MAX_IMAGE + 1) {
        return 0;
    }
    uint8_t sel = data[0];
    const uint8_t *img = data + 1;
    size--;
    struct lg_params p;
    switch (sel & 3u) {
    case 0:
        exercise(NULL, img, size);
        return 0;
    case 1:
        lg_preset("esp-idf", size, &p, NULL);
        break;
    case 2:
        lg_preset("esp8266-arduino", size, &p, NULL);
        break;
    default:
        lg_preset("esp-idf", size, &p, NULL);
        p.block_size = 512;
        break;
    }
    if (sel & 0x04) {
        p.disk_version = p.disk_version == LG_DISK_V2_0 ? LG_DISK_V2_1 : LG_DISK_V2_0;
    }
    if (sel & 0x08) {
        p.block_count = 0;
    }
    if (sel & 0x10) {
        p.prog_size = p.read_size = 16;
    }
    exercise(&p, img, size);
    if ((sel & 0x60) == 0x60) {
        struct lg_params found;
        char preset[32];
        if (lg_detect(img, size, &found, preset, sizeof preset, NULL) == LG_OK) {
            exercise(&found, img, size);
        }
    }
    return 0;
}
