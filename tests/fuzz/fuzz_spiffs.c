/*
 * Fuzz target for the SPIFFS image reader: open, list, read every file, stats,
 * check, and (for some inputs) parameter detection. Input: one selector byte
 * choosing the parameters, then the image. Anything may fail; nothing may
 * crash, leak, hang or read outside the input.
 */
#include <stdlib.h>
#include <string.h>

#include "spiffsgen/spiffsgen.h"

#define MAX_IMAGE (256u * 1024u)

static void on_problem(void *user, const char *line)
{
    size_t *n = user;
    *n += strlen(line) > 0;
}

static void exercise(const struct sg_params *p, const uint8_t *img, size_t size)
{
    struct sg_image *im = NULL;
    struct sg_error err;
    if (sg_image_open(p, img, size, &im, &err) != SG_OK) {
        return;
    }
    for (size_t i = 0; i < sg_image_count(im); i++) {
        const struct sg_entry *e = sg_image_entry(im, i);
        if (sg_image_find(im, e->name) < 0) {
            abort(); /* every listed name must be found again */
        }
        uint8_t *data = NULL;
        size_t len = 0;
        if (sg_image_read(im, i, &data, &len, &err) == SG_OK && len != e->size) {
            abort();
        }
        free(data);
    }
    struct sg_stats st;
    sg_image_stats(im, &st);
    if (st.pages_used + st.pages_deleted + st.pages_free != st.pages_total) {
        abort();
    }
    size_t lines = 0;
    sg_image_check(im, on_problem, &lines);
    sg_image_bad_block(im, NULL, NULL);
    sg_image_close(im);
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
    struct sg_params p;
    sg_preset(sg_preset_name(sel % 3u), size, &p, NULL);
    if (sel & 0x04) {
        p.use_magic_len = !p.use_magic_len;
    }
    if (sel & 0x08) {
        p.aligned_obj_ix_tables = !p.aligned_obj_ix_tables;
    }
    if (sel & 0x10) {
        p.meta_len = p.meta_len ? 0 : 4;
    }
    if (sel & 0x20) {
        p.use_magic = false;
    }
    if (sel & 0x40) {
        p.page_size = 512;
    }
    if (sel & 0x80) {
        p.block_size = p.block_size == 4096 ? 8192 : 4096;
    }
    exercise(&p, img, size);
    /* Detection opens the image dozens of times: only for some inputs. */
    if ((sel & 0x23) == 0x03) {
        struct sg_params found;
        char preset[32];
        if (sg_detect(img, size, &found, preset, sizeof preset, NULL) == SG_OK) {
            exercise(&found, img, size);
        }
    }
    return 0;
}
