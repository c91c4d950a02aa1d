/* One device's complete filesystem image, in memory, and reading an identity back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "spiffsgen/spiffsgen.h"
#include "provision/core/core.h"
#include "provision/profile/profile.h"
#include "provision/pki/pki.h"
#include "provision/image/image.h"

#define EXTRA_MAX 256

static int fs_params(const struct pv_profile *p, struct sg_params *params, struct pv_error *err)
{
    struct sg_error e;
    if (p->fs.size == 0) {
        return pv_error_set(err, PV_ERR_INVALID,
                            "provision the board, or give .filesystem.offset and .size",
                            ".filesystem: the size comes from each board's partition table "
                            "(.partitions \"device\")");
    }
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

int pv_image_build(const struct pv_profile *p, const struct pv_device *dev,
                   const struct pv_identity *ident, const uint8_t *ca_der, size_t ca_len,
                   uint8_t **image, size_t *size, struct pv_error *err)
{
    *image = NULL;
    *size = 0;
    struct sg_params params;
    if (fs_params(p, &params, err) != PV_OK) {
        return err->code;
    }
    if (p->fs.file_count > EXTRA_MAX) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "too many extra files");
    }
    uint8_t *ca = NULL, *cert = NULL, *key = NULL;
    size_t ca_n = 0, cert_n = 0, key_n = 0, cfg_n = 0;
    char *cfg = NULL;
    uint8_t *img = NULL;
    struct sg_file files[EXTRA_MAX + 4];
    int rc = PV_OK;
    if (pv_encode_cert(ca_der, ca_len, p->device.format, &ca, &ca_n, err) != PV_OK ||
        pv_encode_cert(ident->cert_der, ident->cert_der_len, p->device.format, &cert, &cert_n,
                       err) != PV_OK ||
        pv_encode_key(ident->key_der, ident->key_der_len, p->device.format, &key, &key_n, err) !=
            PV_OK ||
        pv_devconfig_build(p, dev, &cfg, &cfg_n, err) != PV_OK) {
        rc = err->code;
        goto out;
    }
    files[0] = (struct sg_file){p->paths.ca, ca, ca_n};
    files[1] = (struct sg_file){p->paths.cert, cert, cert_n};
    files[2] = (struct sg_file){p->paths.key, key, key_n};
    files[3] = (struct sg_file){p->paths.config, cfg, cfg_n};
    size_t n = 4;
    for (size_t i = 0; i < p->fs.file_count; i++) {
        files[n++] =
            (struct sg_file){p->fs.files[i].name, p->fs.files[i].data, p->fs.files[i].size};
    }
    sg_files_sort(files, n);
    struct sg_usage usage;
    struct sg_error e;
    if (sg_usage(&params, files, n, 0, p->fs.size, &usage, &e) != SG_OK) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "cannot lay out the filesystem: %s", e.msg);
        goto out;
    }
    if (usage.bytes_over > 0) {
        rc = pv_error_set(err, PV_ERR_INVALID,
                          "remove extra files or give .filesystem a larger size",
                          "the files for device %s do not fit the filesystem (0x%x bytes): "
                          "%llu bytes over",
                          dev->id, p->fs.size, (unsigned long long)usage.bytes_over);
        goto out;
    }
    if ((img = malloc(p->fs.size)) == NULL) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory for a 0x%x byte image",
                          p->fs.size);
        goto out;
    }
    if (sg_build(&params, files, n, 0, img, p->fs.size, &e) != SG_OK) {
        rc = pv_error_set(err, PV_ERR_INVALID, NULL, "cannot build the filesystem: %s", e.msg);
        goto out;
    }
    *image = img;
    *size = p->fs.size;
    img = NULL;
out:
    pv_secret_free(img, img ? p->fs.size : 0);
    free(ca);
    free(cert);
    pv_secret_free(key, key_n);
    pv_secret_free(cfg, cfg_n);
    return rc;
}

static int read_file(const struct sg_image *img, const char *name, uint8_t **data, size_t *len,
                     struct pv_error *err)
{
    long i = sg_image_find(img, name);
    struct sg_error e;
    if (i < 0) {
        return pv_error_set(err, PV_ERR_NOT_FOUND,
                            "check that the image was built for this profile (.paths)",
                            "the image has no file '%s'", name);
    }
    if (sg_image_read(img, (size_t)i, data, len, &e) != SG_OK) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "cannot read '%s' from the image: %s", name,
                            e.msg);
    }
    return PV_OK;
}

int pv_image_read_identity(const struct pv_profile *p, const uint8_t *image, size_t size,
                           struct pv_identity *out, struct pv_error *err)
{
    memset(out, 0, sizeof *out);
    struct sg_params params;
    if (fs_params(p, &params, err) != PV_OK) {
        return err->code;
    }
    struct sg_image *img = NULL;
    struct sg_error e;
    if (sg_image_open(&params, image, size, &img, &e) != SG_OK) {
        return pv_error_set(err, PV_ERR_INVALID,
                            "check that the image belongs to this profile (.filesystem)",
                            "not a filesystem image for preset %s: %s", p->fs.preset, e.msg);
    }
    uint8_t *cert = NULL, *key = NULL;
    size_t cert_n = 0, key_n = 0;
    int rc = read_file(img, p->paths.cert, &cert, &cert_n, err);
    if (rc == PV_OK) {
        rc = read_file(img, p->paths.key, &key, &key_n, err);
    }
    if (rc == PV_OK) {
        rc = pv_identity_load(cert, cert_n, key, key_n, out, err);
        if (rc != PV_OK) {
            pv_error_prefix(err, "the identity in the image");
        }
    }
    free(cert);
    pv_secret_free(key, key_n);
    sg_image_close(img);
    return rc;
}
