/*
 * Parameter detection (SPEC.md §6). littlefs images describe themselves: the
 * superblock holds the block size, the limits and the version. The block
 * size it claims in block 0 is tried first, then the usual sizes; the first
 * that mounts (its superblock agreeing) wins. What the disk does not record
 * (read/prog/cache sizes) comes from the matching preset.
 */
#include <stdio.h>
#include <string.h>

#include "lfsgen/lfsgen_priv.h"

static const uint32_t sizes[] = {4096, 8192, 16384, 32768, 65536, 2048, 1024, 512, 256, 128};

/* The block size the first commit of block 0 claims, or 0. */
static uint32_t claimed_block_size(const uint8_t *img, size_t size)
{
    if (size < 4 + 4 + 8 + 4 + LG_SUPERBLOCK_LEN) {
        return 0;
    }
    uint32_t t1 = lg_getbe32(img + 4) ^ 0xFFFFFFFFu;
    if (t1 != lg_mktag(LG_T_SUPERBLOCK, 0, 8) || memcmp(img + 8, "littlefs", 8) != 0) {
        return 0;
    }
    uint32_t t2 = lg_getbe32(img + 16) ^ t1;
    if (lg_tag_type3(t2) != LG_T_INLINE || lg_tag_id(t2) != 0 || lg_tag_size(t2) < 8) {
        return 0;
    }
    return lg_get32(img + 24);
}

static bool fits_preset(const struct lg_superblock *sb, const struct lg_params *q)
{
    return q->block_size == sb->block_size && q->disk_version == sb->version &&
           sb->name_max <= q->name_max && sb->file_max <= q->file_max &&
           sb->attr_max <= q->attr_max &&
           (q->block_count == 0 || q->block_count == sb->block_count);
}

int lg_detect(const uint8_t *image, size_t size, struct lg_params *out, char *preset_name,
              size_t preset_name_len, struct lg_error *err)
{
    uint32_t first = claimed_block_size(image, size);
    struct lg_error last = {LG_ERR_CORRUPT, "no block size from 128 to 65536 mounts"};
    for (int k = -1; k < (int)(sizeof sizes / sizeof sizes[0]); k++) {
        uint32_t b = k < 0 ? first : sizes[k];
        if (b == 0 || (k >= 0 && b == first) || (b & (b - 1)) != 0 || b < 128 || size / b < 2) {
            continue;
        }
        struct lg_image *im;
        struct lg_error e;
        if (lg_open_block_size(b, image, size, &im, &e) != LG_OK) {
            if (k < 0) {
                last = e; /* the claimed size's failure explains best */
            }
            continue;
        }
        struct lg_superblock sb;
        lg_image_superblock(im, &sb);
        lg_image_close(im);
        const char *name = "custom";
        struct lg_params q;
        bool matched = false;
        for (size_t i = 0; lg_preset_name(i) != NULL && !matched; i++) {
            lg_preset(lg_preset_name(i), (uint64_t)sb.block_count * b, &q, NULL);
            if (fits_preset(&sb, &q)) {
                matched = true;
                name = lg_preset_name(i);
            }
        }
        if (!matched) {
            /* Device units are not on disk: take a preset's, shrunk to the block. */
            lg_preset("esp-idf", 0, &q, NULL);
            q.block_size = b;
            q.cache_size = q.cache_size < b ? q.cache_size : b;
            q.read_size = q.read_size < q.cache_size ? q.read_size : q.cache_size;
            q.prog_size = q.prog_size < q.cache_size ? q.prog_size : q.cache_size;
            q.name_max = sb.name_max ? sb.name_max : 255;
            q.file_max = sb.file_max ? sb.file_max : q.file_max;
            q.attr_max = sb.attr_max ? sb.attr_max : q.attr_max;
            q.disk_version = sb.version;
        }
        *out = q;
        if (preset_name != NULL && preset_name_len > 0) {
            snprintf(preset_name, preset_name_len, "%s", name);
        }
        return LG_OK;
    }
    return lg_fail(err, LG_ERR_CORRUPT, "not a littlefs image: %s", last.msg);
}
