/*
 * The filesystem behind a device image: SPIFFS (spiffsgen) or LittleFS
 * (lfsgen), as the profile's .filesystem.type says. Everything above sees
 * pv_fs_build / pv_fs_open / pv_fs_read only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfsgen/lfsgen.h"
#include "spiffsgen/spiffsgen.h"
#include "provision/image/image.h"

struct pv_fs_reader {
    enum pv_fs_type type;
    struct sg_image *sg;
    struct lg_image *lg;
};

static int no_size(struct pv_error *err)
{
    return pv_error_set(err, PV_ERR_INVALID,
                        "provision the board, or give .filesystem.offset and .size",
                        ".filesystem: the size comes from each board's partition table "
                        "(.partitions \"device\")");
}

static int sg_params_of(const struct pv_profile *p, struct sg_params *params, struct pv_error *err)
{
    struct sg_error e;
    if (sg_preset(p->fs.preset, p->fs.size, params, &e) != SG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, ".filesystem: %s", e.msg);
    }
    if (p->fs.block_size != 0) {
        params->block_size = p->fs.block_size; /* a layout's own (2M512: 8 KB below 512 KB) */
    }
    if (sg_params_check(params, p->fs.size, &e) != SG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, ".filesystem: %s", e.msg);
    }
    return PV_OK;
}

static int lg_params_of(const struct pv_profile *p, struct lg_params *params, struct pv_error *err)
{
    struct lg_error e;
    if (lg_preset(p->fs.preset, p->fs.size, params, &e) != LG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, ".filesystem: %s", e.msg);
    }
    if (p->fs.block_size != 0 && p->fs.block_size != params->block_size) {
        /* a layout's own block: the ESP8266 core takes it from the linker script */
        params->block_size = p->fs.block_size;
        params->block_count = 0;
    }
    if (lg_params_check(params, p->fs.size, &e) != LG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, ".filesystem: %s", e.msg);
    }
    return PV_OK;
}

static int lfs_build(const struct pv_profile *p, const struct pv_fs_file *files, size_t n,
                     const char *what, uint8_t *img, struct pv_error *err)
{
    struct lg_params params;
    if (lg_params_of(p, &params, err) != PV_OK) {
        return err->code;
    }
    struct lg_file *lf = calloc(n ? n : 1, sizeof *lf);
    if (lf == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        lf[i] = (struct lg_file){files[i].name, files[i].data, files[i].size, false};
    }
    struct lg_usage usage;
    struct lg_error e;
    int rc = PV_OK;
    if (lg_usage(&params, lf, n, 0, p->fs.size, &usage, &e) != LG_OK) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "cannot lay out the filesystem: %s", e.msg);
    } else if (usage.bytes_over > 0) {
        rc = pv_error_set(err, PV_ERR_INVALID,
                          "remove extra files or give .filesystem a larger size",
                          "the files for %s do not fit the filesystem (0x%x bytes): %llu bytes "
                          "over",
                          what, p->fs.size, (unsigned long long)usage.bytes_over);
    } else if (lg_build(&params, lf, n, 0, img, p->fs.size, &e) != LG_OK) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "cannot build the filesystem: %s", e.msg);
    }
    free(lf);
    return rc;
}

static int spiffs_build(const struct pv_profile *p, const struct pv_fs_file *files, size_t n,
                        const char *what, uint8_t *img, struct pv_error *err)
{
    struct sg_params params;
    if (sg_params_of(p, &params, err) != PV_OK) {
        return err->code;
    }
    struct sg_file *sf = calloc(n ? n : 1, sizeof *sf);
    if (sf == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        sf[i] = (struct sg_file){files[i].name, files[i].data, files[i].size};
    }
    sg_files_sort(sf, n);
    struct sg_usage usage;
    struct sg_error e;
    int rc = PV_OK;
    if (sg_usage(&params, sf, n, 0, p->fs.size, &usage, &e) != SG_OK) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "cannot lay out the filesystem: %s", e.msg);
    } else if (usage.bytes_over > 0) {
        rc = pv_error_set(err, PV_ERR_INVALID,
                          "remove extra files or give .filesystem a larger size",
                          "the files for %s do not fit the filesystem (0x%x bytes): %llu bytes "
                          "over",
                          what, p->fs.size, (unsigned long long)usage.bytes_over);
    } else if (sg_build(&params, sf, n, 0, img, p->fs.size, &e) != SG_OK) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "cannot build the filesystem: %s", e.msg);
    }
    free(sf);
    return rc;
}

int pv_fs_check(const struct pv_profile *p, struct pv_error *err)
{
    if (p->fs.size == 0) {
        return no_size(err);
    }
    if (p->fs.type == PV_FS_LITTLEFS) {
        struct lg_params params;
        return lg_params_of(p, &params, err);
    }
    struct sg_params params;
    return sg_params_of(p, &params, err);
}

int pv_fs_build(const struct pv_profile *p, const struct pv_fs_file *files, size_t n,
                const char *what, uint8_t **image, struct pv_error *err)
{
    *image = NULL;
    if (pv_fs_check(p, err) != PV_OK) {
        return err->code;
    }
    uint8_t *img = malloc(p->fs.size);
    if (img == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory for a 0x%x byte image",
                            p->fs.size);
    }
    int rc = p->fs.type == PV_FS_LITTLEFS ? lfs_build(p, files, n, what, img, err)
                                          : spiffs_build(p, files, n, what, img, err);
    if (rc != PV_OK) {
        pv_secret_free(img, p->fs.size);
        return rc;
    }
    *image = img;
    return PV_OK;
}

/* The profile's type with its parameters; else whatever the image turns out
 * to be (a board provisioned before the profile changed its filesystem). */
int pv_fs_open(const struct pv_profile *p, const uint8_t *image, size_t size,
               struct pv_fs_reader **out, struct pv_error *err)
{
    *out = NULL;
    struct pv_fs_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    struct sg_params sp;
    struct lg_params lp;
    struct sg_error se = {0};
    struct lg_error le = {0};
    bool lfs = p->fs.type == PV_FS_LITTLEFS;
    bool ok = lfs ? lg_params_of(p, &lp, err) == PV_OK &&
                        lg_image_open(&lp, image, size, &r->lg, &le) == LG_OK
                  : sg_params_of(p, &sp, err) == PV_OK &&
                        sg_image_open(&sp, image, size, &r->sg, &se) == SG_OK;
    r->type = p->fs.type;
    if (!ok) {
        char other[32];
        if (lfs && sg_detect(image, size, &sp, other, sizeof other, NULL) == SG_OK &&
            sg_image_open(&sp, image, size, &r->sg, NULL) == SG_OK) {
            r->type = PV_FS_SPIFFS;
            ok = true;
        } else if (!lfs && lg_detect(image, size, &lp, other, sizeof other, NULL) == LG_OK &&
                   lg_image_open(NULL, image, size, &r->lg, NULL) == LG_OK) {
            r->type = PV_FS_LITTLEFS;
            ok = true;
        }
    }
    if (!ok) {
        free(r);
        return pv_error_set(err, PV_ERR_INVALID,
                            "check that the image belongs to this profile (.filesystem)",
                            "not a %s image for preset %s: %s", pv_fs_type_name(p->fs.type),
                            p->fs.preset, lfs ? le.msg : se.msg);
    }
    *out = r;
    return PV_OK;
}

enum pv_fs_type pv_fs_reader_type(const struct pv_fs_reader *r)
{
    return r->type;
}

int pv_fs_read(const struct pv_fs_reader *r, const char *name, uint8_t **data, size_t *len,
               struct pv_error *err)
{
    *data = NULL;
    *len = 0;
    long i = r->type == PV_FS_LITTLEFS ? lg_image_find(r->lg, name) : sg_image_find(r->sg, name);
    if (i < 0 ||
        (r->type == PV_FS_LITTLEFS && lg_image_entry(r->lg, (size_t)i)->type != LG_TYPE_FILE)) {
        return pv_error_set(err, PV_ERR_NOT_FOUND,
                            "check that the image was built for this profile (.paths)",
                            "the image has no file '%s'", name);
    }
    char msg[256];
    bool ok;
    if (r->type == PV_FS_LITTLEFS) {
        struct lg_error e = {0};
        ok = lg_image_read(r->lg, (size_t)i, data, len, &e) == LG_OK;
        snprintf(msg, sizeof msg, "%s", e.msg);
    } else {
        struct sg_error e = {0};
        ok = sg_image_read(r->sg, (size_t)i, data, len, &e) == SG_OK;
        snprintf(msg, sizeof msg, "%s", e.msg);
    }
    if (!ok) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "cannot read '%s' from the image: %s", name,
                            msg);
    }
    return PV_OK;
}

void pv_fs_close(struct pv_fs_reader *r)
{
    if (r != NULL) {
        sg_image_close(r->sg);
        lg_image_close(r->lg);
        free(r);
    }
}
