/*
 * image — one device's filesystem image: the CA certificate, the device's
 * certificate and key, the config file (profile.h's pv_devconfig_build) and
 * the profile's extra files, built with the profile's filesystem parameters;
 * and reading an identity back out of such an image.
 *
 * Owns: pv_image_build, pv_image_read_identity, pv_image_file_is_secret, and
 * pv_fs_*: the filesystem (SPIFFS or LittleFS, the profile's .filesystem.type)
 * behind them. May call: core, profile, pki (identity encoding), spiffsgen,
 * lfsgen. No I/O: images are built in and read from memory.
 * Errors: the core contract. An image holds the device key: free it with
 * pv_secret_free.
 */
#ifndef ESPPROV_PROVISION_IMAGE_H
#define ESPPROV_PROVISION_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provision/core/core.h"
#include "provision/pki/pki.h"
#include "provision/profile/profile.h"

/* ===== The filesystem: SPIFFS or LittleFS ============================= */

/* One file to store ("/certs/ca.der"; LittleFS creates the folders). */
struct pv_fs_file {
    const char *name;
    const void *data; /* may be NULL when size is 0 */
    size_t size;
};

/* PV_OK when the profile's type, preset and region (its size known) give
 * valid parameters; else PV_ERR_INVALID naming .filesystem. */
int pv_fs_check(const struct pv_profile *p, struct pv_error *err);

/* Builds a p->fs.size byte image of the profile's type and preset into a
 * malloc'd *image (free with pv_secret_free: it may hold a key). Same inputs,
 * same bytes, in any order. `what` names the files in a "do not fit" error
 * ("device esp-a4cf12"). */
int pv_fs_build(const struct pv_profile *p, const struct pv_fs_file *files, size_t n,
                const char *what, uint8_t **image, struct pv_error *err);

/* An image indexed for reading (over the caller's buffer, which must outlive
 * it). pv_fs_open takes the profile's type and parameters; an image of the
 * other type (the profile changed since the board was provisioned) is
 * detected and read as what it is. */
struct pv_fs_reader;
int pv_fs_open(const struct pv_profile *p, const uint8_t *image, size_t size,
               struct pv_fs_reader **out, struct pv_error *err);
enum pv_fs_type pv_fs_reader_type(const struct pv_fs_reader *r);
/* File `name` into a malloc'd buffer (*data may be NULL for an empty file);
 * PV_ERR_NOT_FOUND when there is no such file. */
int pv_fs_read(const struct pv_fs_reader *r, const char *name, uint8_t **data, size_t *len,
               struct pv_error *err);
void pv_fs_close(struct pv_fs_reader *r);

/* ===== One device's image ============================================== */

/*
 * The complete filesystem image for one device in memory: CA certificate
 * (`ca_der`), the identity's certificate and key and the config file in the
 * profile's format and names, plus the profile's extra files, built with its
 * filesystem parameters. *image holds the key: free with pv_secret_free.
 */
int pv_image_build(const struct pv_profile *p, const struct pv_device *dev,
                   const struct pv_identity *ident, const uint8_t *ca_der, size_t ca_len,
                   uint8_t **image, size_t *size, struct pv_error *err);
/* Reads the identity stored in an image built for this profile (to rebuild
 * the rest around it). */
int pv_image_read_identity(const struct pv_profile *p, const uint8_t *image, size_t size,
                           struct pv_identity *out, struct pv_error *err);

/*
 * True when a file from a device filesystem must be written to a host folder
 * mode 0600: it holds a private key (PEM, or DER that decodes as one, plain
 * or encrypted), it is JSON with a non-empty password, passphrase, token or
 * similar credential (the device config file), or it has one of espprov's
 * default key or config names (client.key.*, config.json).
 */
bool pv_image_file_is_secret(const char *name, const uint8_t *data, size_t len);

#endif
