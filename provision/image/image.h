/*
 * image — one device's filesystem image: the CA certificate, the device's
 * certificate and key, the config file (profile.h's pv_devconfig_build) and
 * the profile's extra files, built with the profile's filesystem parameters;
 * and reading an identity back out of such an image.
 *
 * Owns: pv_image_build, pv_image_read_identity, pv_image_file_is_secret. May call: core, profile,
 * pki (identity encoding), spiffsgen. No I/O: images are built in and read
 * from memory.
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

/* ===== Filesystem image ================================================ */

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
