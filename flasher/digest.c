/* MD5 (the loaders' verification) and SHA-256 (image digests) via OpenSSL. */
#include <openssl/evp.h>
#include <string.h>

#include "flasher/flasher_priv.h"

static int digest(const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, md, NULL) == 1 ? FL_OK : FL_ERR_NOMEM;
}

int fl_md5_local(const uint8_t *data, size_t len, uint8_t md5[16])
{
    return digest(EVP_md5(), data, len, md5);
}

int fl_sha256_local(const uint8_t *data, size_t len, uint8_t out[32])
{
    return digest(EVP_sha256(), data, len, out);
}

bool fl_is_blank(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] != 0xFF) {
            return false;
        }
    }
    return true;
}
