/*
 * Profile loader: where the filesystem sits. Three ways, one answer:
 * explicit .filesystem.offset/.size, a named ESP8266 Arduino layout
 * (.filesystem.layout), or an ESP-IDF partition table (.partitions, a file
 * or "device"). Two ways given at once must agree; an error names both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/profile/profile_sections.h"

#define SECTOR 0x1000u

static int oom(struct pctx *c)
{
    return pv_error_set(c->err, PV_ERR_NOMEM, NULL, "out of memory");
}

int pv_profile_fs_from_table(const struct pv_profile *p, const struct pv_partition_table *t,
                             uint32_t *offset, uint32_t *size, struct pv_error *err)
{
    const struct pv_partition *part;
    const char *label = p->fs.partition;
    /* LittleFS: a data/littlefs partition first; esp_littlefs also mounts
     * one of subtype spiffs, which the search below falls back to. */
    for (size_t i = 0; label == NULL && p->fs.type == PV_FS_LITTLEFS && i < t->count; i++) {
        if (t->entries[i].type == PV_PART_DATA &&
            t->entries[i].subtype == PV_PART_SUBTYPE_LITTLEFS) {
            label = t->entries[i].label;
        }
    }
    if (pv_partitions_find_fs(t, label, &part, err) != PV_OK) {
        return pv_error_prefix(err, "%s",
                               p->fs.partition ? ".filesystem.partition" : ".partitions");
    }
    uint32_t o = part->offset, s = part->size & ~(SECTOR - 1);
    if (o % SECTOR != 0 || s == 0) {
        return pv_error_set(
            err, PV_ERR_INVALID, NULL,
            ".partitions: partition '%s' (0x%x, 0x%x bytes) cannot hold a filesystem "
            "(not sector aligned or under 4 KB)",
            part->label, part->offset, part->size);
    }
    if (p->fs.explicit_region && (p->fs.offset != o || p->fs.size != s)) {
        return pv_error_set(err, PV_ERR_INVALID, "keep one of the two",
                            ".filesystem.offset/.size (0x%x, 0x%x bytes) and .partitions "
                            "(partition '%s' at 0x%x, 0x%x bytes) disagree",
                            p->fs.offset, p->fs.size, part->label, o, s);
    }
    *offset = o;
    *size = s;
    return PV_OK;
}

/* .filesystem.offset and .size, both or neither. */
static int parse_explicit(struct pctx *c, json_t *fs)
{
    uint64_t off = 0, size = 0;
    bool have_off = false, have_size = false;
    if (json_get_size(c, fs, ".filesystem", "offset", 0, UINT32_MAX, &off, &have_off) != PV_OK ||
        json_get_size(c, fs, ".filesystem", "size", 0, UINT32_MAX, &size, &have_size) != PV_OK) {
        return c->err->code;
    }
    if (have_off != have_size) {
        return perr(c, have_off ? ".filesystem.size" : ".filesystem.offset",
                    "missing: give .filesystem.offset and .filesystem.size together");
    }
    if (!have_off) {
        return PV_OK;
    }
    if (off % SECTOR != 0) {
        return perr(c, ".filesystem.offset", "0x%llx is not a multiple of 0x1000 (a flash sector)",
                    (unsigned long long)off);
    }
    if (size == 0 || size % SECTOR != 0 || off + size > UINT32_MAX) {
        return perr(c, ".filesystem.size",
                    "expected a non-zero multiple of 0x1000 that ends within 4 GiB, got 0x%llx",
                    (unsigned long long)size);
    }
    c->p->fs.offset = (uint32_t)off;
    c->p->fs.size = (uint32_t)size;
    c->p->fs.explicit_region = true;
    return PV_OK;
}

static int parse_layout(struct pctx *c, json_t *fs)
{
    char *name = NULL;
    if (json_get_string(c, fs, ".filesystem", "layout", G_NO_ENV, 1, 64, &name) != PV_OK ||
        name == NULL) {
        return c->err->code;
    }
    const struct pv_esp8266_layout *l;
    int rc = pv_layout_find(name, &l, c->err);
    free(name);
    if (rc != PV_OK) {
        return pv_error_prefix(c->err, ".filesystem.layout");
    }
    struct pv_profile *p = c->p;
    if (strcmp(p->chip, "esp8266") != 0) {
        return pv_error_set(c->err, PV_ERR_INVALID, "use .partitions (an ESP-IDF partition table)",
                            ".filesystem.layout: \"%s\" is an ESP8266 Arduino layout; this "
                            "profile is for %s",
                            l->name, p->chip);
    }
    if (p->flash.size != 0 && p->flash.size != l->flash_size) {
        return perr(c, ".filesystem.layout",
                    "\"%s\" is for %u MB of flash, but .flash.size says 0x%x bytes", l->name,
                    l->flash_size >> 20, p->flash.size);
    }
    if (p->fs.explicit_region && (p->fs.offset != l->fs_offset || p->fs.size != l->fs_size)) {
        return pv_error_set(c->err, PV_ERR_INVALID, "keep one of the two",
                            ".filesystem.offset/.size (0x%x, 0x%x bytes) and .filesystem.layout "
                            "\"%s\" (0x%x, 0x%x bytes) disagree",
                            p->fs.offset, p->fs.size, l->name, l->fs_offset, l->fs_size);
    }
    if ((p->fs.layout = strdup(l->name)) == NULL) {
        return oom(c);
    }
    p->fs.offset = l->fs_offset;
    p->fs.size = l->fs_size;
    p->fs.block_size = l->block_size;
    return PV_OK;
}

static int parse_partitions(struct pctx *c, json_t *root, json_t *fs)
{
    struct pv_profile *p = c->p;
    if (json_get_string(c, fs, ".filesystem", "partition", G_NO_ENV, 1, PV_PARTITION_LABEL_MAX,
                        &p->fs.partition) != PV_OK) {
        return c->err->code;
    }
    char *value = NULL;
    if (json_get_string(c, root, "", "partitions", 0, 1, 4096, &value) != PV_OK) {
        return c->err->code;
    }
    if (value == NULL) {
        return p->fs.partition == NULL
                   ? PV_OK
                   : perr(c, ".filesystem.partition", "needs .partitions (the table to look in)");
    }
    if (strcmp(p->chip, "esp8266") == 0) {
        free(value);
        return pv_error_set(c->err, PV_ERR_INVALID, "use .filesystem.layout (e.g. \"4M2M\")",
                            ".partitions: the ESP8266 has no partition table");
    }
    if (p->fs.layout != NULL) {
        free(value);
        return perr(c, ".partitions", "and .filesystem.layout both place the filesystem");
    }
    if (strcmp(value, "device") == 0) {
        free(value);
        p->partitions.from_device = true;
        return PV_OK; /* offset and size come from each board */
    }
    p->partitions.file = pctx_abs_path(c, value);
    free(value);
    if (p->partitions.file == NULL) {
        return oom(c);
    }
    if (c->flags & PV_PROFILE_NO_FILES) {
        return PV_OK;
    }
    if ((p->partitions.table = calloc(1, sizeof *p->partitions.table)) == NULL) {
        return oom(c);
    }
    if (pv_partitions_load(p->partitions.file, 0, p->partitions.table, c->err) != PV_OK ||
        pv_partitions_validate(p->partitions.table, p->flash.size, c->err) != PV_OK) {
        return pv_error_prefix(c->err, ".partitions: %s", p->partitions.file);
    }
    return pv_profile_fs_from_table(p, p->partitions.table, &p->fs.offset, &p->fs.size, c->err);
}

static int parse_block_size(struct pctx *c, json_t *fs)
{
    uint64_t block = 0;
    bool have = false;
    if (json_get_size(c, fs, ".filesystem", "block_size", 0, 65536, &block, &have) != PV_OK ||
        !have) {
        return c->err->code;
    }
    if (block < 4096 || (block & (block - 1)) != 0) {
        return perr(c, ".filesystem.block_size", "expected a power of two 4096-65536, got %llu",
                    (unsigned long long)block);
    }
    if (c->p->fs.block_size != 0 && c->p->fs.block_size != block) {
        return perr(c, ".filesystem.block_size", "%llu disagrees with .filesystem.layout (%u)",
                    (unsigned long long)block, c->p->fs.block_size);
    }
    c->p->fs.block_size = (uint32_t)block;
    return PV_OK;
}

int pv_profile_parse_filesystem(struct pctx *c, json_t *root)
{
    json_t *fs;
    if (json_get_object(c, root, "", "filesystem", G_REQUIRED, &fs) != PV_OK) {
        return c->err->code;
    }
    static const char *const keys[] = {"type",      "preset", "offset",     "size", "layout",
                                       "partition", "files",  "block_size", "dir",  NULL};
    if (json_only_keys(c, fs, ".filesystem", keys) != PV_OK) {
        return c->err->code;
    }
    struct pv_profile *p = c->p;
    char *type = NULL;
    if (json_get_string(c, fs, ".filesystem", "type", G_NO_ENV, 1, 16, &type) != PV_OK) {
        return c->err->code;
    }
    if (type != NULL && strcmp(type, "littlefs") != 0 && strcmp(type, "spiffs") != 0) {
        int rc = perr(c, ".filesystem.type", "\"%.16s\" is not spiffs or littlefs", type);
        free(type);
        return rc;
    }
    p->fs.type = type != NULL && strcmp(type, "littlefs") == 0 ? PV_FS_LITTLEFS : PV_FS_SPIFFS;
    free(type);
    if (json_get_string(c, fs, ".filesystem", "preset", G_NO_ENV, 1, 32, &p->fs.preset) != PV_OK) {
        return c->err->code;
    }
    if (p->fs.preset == NULL) {
        p->fs.preset =
            strdup(strcmp(p->chip, "esp8266") == 0 ? "esp8266-arduino" : "esp32-arduino");
        if (p->fs.preset == NULL) {
            return oom(c);
        }
    } else if (pv_fs_preset_check(p->fs.preset) != PV_OK) {
        return perr(c, ".filesystem.preset", "unknown preset \"%s\" (known: %s)", p->fs.preset,
                    pv_fs_preset_list());
    }
    if (parse_explicit(c, fs) != PV_OK || parse_layout(c, fs) != PV_OK ||
        parse_partitions(c, root, fs) != PV_OK || parse_block_size(c, fs) != PV_OK) {
        return c->err->code;
    }
    bool placed = p->fs.explicit_region || p->fs.layout != NULL || p->partitions.file != NULL ||
                  p->partitions.from_device;
    if (!placed) {
        return perr(c, ".filesystem",
                    "where does it go? give .offset and .size, .layout (ESP8266, e.g. \"4M2M\") "
                    "or a partition table in .partitions (ESP32)");
    }
    if (p->fs.size != 0 && pv_fs_geometry_check(p, c->err) != PV_OK) {
        return pv_error_prefix(c->err, ".filesystem");
    }
    uint32_t flash = p->flash.size;
    const struct pv_esp8266_layout *l = NULL;
    if (flash == 0 && p->fs.layout != NULL && pv_layout_find(p->fs.layout, &l, c->err) == PV_OK) {
        flash = l->flash_size;
    }
    uint32_t table = p->partitions.table ? p->partitions.table->table_offset : 0;
    if (p->fs.size != 0 && pv_flash_check_reserved(p->chip, flash, table, "the filesystem",
                                                   p->fs.offset, p->fs.size, c->err) != PV_OK) {
        return pv_error_prefix(c->err, ".filesystem");
    }
    return PV_OK;
}
