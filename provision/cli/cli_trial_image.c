/* The trial filesystem image: `profile check`, and `image` before it mints. */
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_pki.h"
#include "provision/image/image.h"

/* DER sizes at least those of a real identity of each key type (a P-256
 * PKCS#8 key is 138 bytes, an RSA-2048 one up to 1218, RSA-3072 up to 1794;
 * a certificate carries the public key, the signature and the names). */
static void trial_sizes(enum pv_key_type t, size_t names, size_t *cert, size_t *key)
{
    *cert = (t == PV_KEY_EC_P256 ? 700 : t == PV_KEY_RSA2048 ? 1100 : 1400) + names;
    *key = t == PV_KEY_EC_P256 ? 138 : t == PV_KEY_RSA2048 ? 1218 : 1794;
}

int cli_trial_image(const struct pv_profile *p, const struct pv_device *dev, const char *what)
{
    struct pv_error err;
    struct pv_device sample;
    static const uint8_t mac[6] = {0xa4, 0xcf, 0x12, 0x34, 0x56, 0x78};
    if (dev == NULL) {
        if (pv_device_init(&sample, p, NULL, mac, 999999, NULL, &err) != PV_OK) {
            return cli_fail_err(&err);
        }
        dev = &sample;
    }
    size_t names = 0;
    for (size_t i = 0; i < p->device.subject_count; i++) {
        names += strlen(p->device.subject[i].value) + 16;
    }
    for (size_t i = 0; i < p->device.san_dns_count; i++) {
        names += strlen(p->device.san_dns[i]) + 8;
    }
    struct pv_identity id = {0};
    uint8_t *ca = NULL;
    size_t ca_len = 0;
    if (pv_ca_cert_read(p, &ca, &ca_len, &err) != PV_OK) {
        ca_len = 1400; /* no CA yet: a large one */
        ca = calloc(1, ca_len);
    }
    trial_sizes(p->device.key_type, names, &id.cert_der_len, &id.key_der_len);
    id.cert_der = calloc(1, id.cert_der_len);
    id.key_der = calloc(1, id.key_der_len);
    int rc = CLI_OK;
    uint8_t *img = NULL;
    size_t len = 0;
    if (ca == NULL || id.cert_der == NULL || id.key_der == NULL) {
        rc = cli_fail(NULL, "out of memory");
    } else if (pv_image_build(p, dev, &id, ca, ca_len, &img, &len, &err) != PV_OK) {
        pv_error_prefix(&err, "%s", what);
        rc = cli_fail_err(&err);
    }
    pv_secret_free(img, len);
    free(ca);
    pv_identity_release(&id);
    return rc;
}
