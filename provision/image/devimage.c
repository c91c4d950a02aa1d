/* One device's complete filesystem image, in memory, and reading an identity back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "provision/core/core.h"
#include "provision/profile/profile.h"
#include "provision/pki/pki.h"
#include "provision/image/image.h"

#define EXTRA_MAX 256

int pv_image_build(const struct pv_profile *p, const struct pv_device *dev,
                   const struct pv_identity *ident, const uint8_t *ca_der, size_t ca_len,
                   uint8_t **image, size_t *size, struct pv_error *err)
{
    *image = NULL;
    *size = 0;
    if (pv_fs_check(p, err) != PV_OK) {
        return err->code;
    }
    if (p->fs.file_count > EXTRA_MAX) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "too many extra files");
    }
    uint8_t *ca = NULL, *cert = NULL, *key = NULL;
    size_t ca_n = 0, cert_n = 0, key_n = 0, cfg_n = 0;
    char *cfg = NULL;
    uint8_t *img = NULL;
    struct pv_fs_file files[EXTRA_MAX + 4];
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
    files[0] = (struct pv_fs_file){p->paths.ca, ca, ca_n};
    files[1] = (struct pv_fs_file){p->paths.cert, cert, cert_n};
    files[2] = (struct pv_fs_file){p->paths.key, key, key_n};
    files[3] = (struct pv_fs_file){p->paths.config, cfg, cfg_n};
    size_t n = 4;
    for (size_t i = 0; i < p->fs.file_count; i++) {
        files[n++] =
            (struct pv_fs_file){p->fs.files[i].name, p->fs.files[i].data, p->fs.files[i].size};
    }
    char what[PV_ID_MAX + 16];
    snprintf(what, sizeof what, "device %s", dev->id);
    if (pv_fs_build(p, files, n, what, &img, err) != PV_OK) {
        rc = err->code;
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

int pv_image_read_identity(const struct pv_profile *p, const uint8_t *image, size_t size,
                           struct pv_identity *out, struct pv_error *err)
{
    memset(out, 0, sizeof *out);
    struct pv_fs_reader *img = NULL;
    if (pv_fs_check(p, err) != PV_OK || pv_fs_open(p, image, size, &img, err) != PV_OK) {
        return err->code;
    }
    uint8_t *cert = NULL, *key = NULL;
    size_t cert_n = 0, key_n = 0;
    int rc = pv_fs_read(img, p->paths.cert, &cert, &cert_n, err);
    if (rc == PV_OK) {
        rc = pv_fs_read(img, p->paths.key, &key, &key_n, err);
    }
    if (rc == PV_OK) {
        rc = pv_identity_load(cert, cert_n, key, key_n, out, err);
        if (rc != PV_OK) {
            pv_error_prefix(err, "the identity in the image");
        }
    }
    free(cert);
    pv_secret_free(key, key_n);
    pv_fs_close(img);
    return rc;
}
