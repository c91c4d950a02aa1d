/* Per-device filesystem images: contents, rebuild around an existing identity, limits. */
#include "pki_fixture.h"
#include "spiffsgen/spiffsgen.h"
#include "test.h"
#include "provision/pki/pki.h"
#include "provision/image/image.h"

static int read_entry(struct sg_image *img, const char *name, uint8_t **data, size_t *len)
{
    long i = sg_image_find(img, name);
    struct sg_error e;
    return i < 0 ? -1 : sg_image_read(img, (size_t)i, data, len, &e);
}

TEST(image_holds_ca_identity_config_and_extra_files)
{
    struct fixture f;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&f, "{\"format\":\"pem\"}", NULL, &err), PV_OK);
    /* An extra file, as the profile's filesystem.files would load it. */
    f.p->fs.files = calloc(1, sizeof *f.p->fs.files);
    f.p->fs.files[0].name = strdup("/index.html");
    f.p->fs.files[0].data = (uint8_t *)strdup("<h1>hi</h1>");
    f.p->fs.files[0].size = 11;
    f.p->fs.file_count = 1;
    ASSERT_EQ_INT(pv_ca_create(f.p, FIX_PASS, &err), PV_OK);
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(pv_ca_open(f.p, FIX_PASS, &ca, &err), PV_OK);
    uint8_t mac[6] = {0x5c, 0xcf, 0x7f, 1, 2, 3};
    struct pv_device dev;
    ASSERT_EQ_INT(pv_device_init(&dev, f.p, NULL, mac, -1, NULL, &err), PV_OK);
    struct pv_identity id;
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &dev, NULL, &id, &err), PV_OK);
    const uint8_t *ca_der;
    size_t ca_len;
    pv_ca_cert_der(ca, &ca_der, &ca_len);
    uint8_t *image = NULL;
    size_t size = 0;
    ASSERT_EQ_INT(pv_image_build(f.p, &dev, &id, ca_der, ca_len, &image, &size, &err), PV_OK);
    ASSERT_EQ_UINT(size, 0x1FA000);
    struct sg_params params;
    struct sg_error e;
    ASSERT_EQ_INT(sg_preset("esp8266-arduino", size, &params, &e), SG_OK);
    struct sg_image *img = NULL;
    ASSERT_EQ_INT(sg_image_open(&params, image, size, &img, &e), SG_OK);
    ASSERT_EQ_INT(sg_image_count(img), 5);
    ASSERT_EQ_INT(sg_image_check(img, NULL, NULL), 0);
    uint8_t *data = NULL;
    size_t len = 0;
    ASSERT_EQ_INT(read_entry(img, "/config.json", &data, &len), 0);
    char *cfg = NULL;
    size_t cfg_len = 0;
    ASSERT_EQ_INT(pv_devconfig_build(f.p, &dev, &cfg, &cfg_len, &err), PV_OK);
    ASSERT_EQ_INT(len, cfg_len);
    ASSERT_MEMEQ(data, cfg, len);
    pv_secret_free(cfg, cfg_len);
    free(data);
    ASSERT_EQ_INT(read_entry(img, "/client.key.pem", &data, &len), 0);
    ASSERT(memcmp(data, "-----BEGIN PRIVATE KEY-----", 27) == 0);
    pv_secret_free(data, len);
    ASSERT_EQ_INT(read_entry(img, "/ca.pem", &data, &len), 0);
    ASSERT(memcmp(data, "-----BEGIN CERTIFICATE-----", 27) == 0);
    free(data);
    ASSERT_EQ_INT(read_entry(img, "/index.html", &data, &len), 0);
    ASSERT_EQ_INT(len, 11);
    free(data);
    sg_image_close(img);
    /* Read the identity back and rebuild: same certificate and key. */
    struct pv_identity back;
    ASSERT_EQ_INT(pv_image_read_identity(f.p, image, size, &back, &err), PV_OK);
    ASSERT_STREQ(back.serial, id.serial);
    ASSERT_STREQ(back.id, dev.id);
    ASSERT_EQ_INT(back.key_der_len, id.key_der_len);
    ASSERT_MEMEQ(back.key_der, id.key_der, id.key_der_len);
    ASSERT_EQ_INT(pv_identity_issued_by(&back, ca_der, ca_len, &err), PV_OK);
    uint8_t *again = NULL;
    size_t again_size = 0;
    ASSERT_EQ_INT(pv_image_build(f.p, &dev, &back, ca_der, ca_len, &again, &again_size, &err),
                  PV_OK);
    /* Same inputs, same bytes. */
    ASSERT_EQ_INT(again_size, size);
    ASSERT(memcmp(again, image, size) == 0);
    pv_secret_free(again, again_size);
    pv_identity_release(&back);
    /* Not an image of this profile's filesystem. */
    memset(image, 0xff, 4096 * 4);
    memset(image, 0, 64);
    ASSERT(pv_image_read_identity(f.p, image, 8192, &back, &err) != PV_OK);
    pv_secret_free(image, size);
    pv_identity_release(&id);
    pv_ca_free(ca);
    fixture_close(&f);
}

TEST(files_that_do_not_fit_are_a_clear_error)
{
    struct fixture f;
    struct pv_error err;
    ASSERT_EQ_INT(fixture_open(&f, NULL, NULL, &err), PV_OK);
    f.p->fs.size = 0x10000; /* 8 blocks of 8 KiB ... */
    f.p->fs.files = calloc(1, sizeof *f.p->fs.files);
    f.p->fs.files[0].name = strdup("/big.bin");
    f.p->fs.files[0].size = 0x10000; /* ... and a file as large as all of it */
    f.p->fs.files[0].data = calloc(1, f.p->fs.files[0].size);
    f.p->fs.file_count = 1;
    ASSERT_EQ_INT(pv_ca_create(f.p, FIX_PASS, &err), PV_OK);
    struct pv_ca *ca = NULL;
    ASSERT_EQ_INT(pv_ca_open(f.p, FIX_PASS, &ca, &err), PV_OK);
    struct pv_device dev;
    ASSERT_EQ_INT(pv_device_init(&dev, f.p, "too-big", NULL, -1, NULL, &err), PV_OK);
    struct pv_identity id;
    ASSERT_EQ_INT(pv_mint_device(ca, f.p, &dev, NULL, &id, &err), PV_OK);
    const uint8_t *ca_der;
    size_t ca_len;
    pv_ca_cert_der(ca, &ca_der, &ca_len);
    uint8_t *image = NULL;
    size_t size = 0;
    ASSERT_EQ_INT(pv_image_build(f.p, &dev, &id, ca_der, ca_len, &image, &size, &err),
                  PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "do not fit the filesystem");
    ASSERT_CONTAINS(err.msg, "bytes over");
    ASSERT(image == NULL);
    pv_identity_release(&id);
    pv_ca_free(ca);
    fixture_close(&f);
}

TEST_MAIN(RUN(image_holds_ca_identity_config_and_extra_files);
          RUN(files_that_do_not_fit_are_a_clear_error);)
