/* zlib streams for FLASH_DEFL_* (esp-protocol.md §6): level 9, RFC 1950. */
#include <stdlib.h>
#include <zlib.h>

#include "flasher/flasher_priv.h"

int fl_deflate(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len, struct fl_error *err)
{
    uLongf cap = compressBound((uLong)len);
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory compressing %zu bytes", len);
    }
    int rc = compress2(buf, &cap, in, (uLong)len, Z_BEST_COMPRESSION);
    if (rc != Z_OK) {
        free(buf);
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "zlib compress failed (%d)", rc);
    }
    *out = buf;
    *out_len = cap;
    return FL_OK;
}

int fl_inflated_sizes(const uint8_t *z, size_t zlen, size_t block, uint32_t *sizes, size_t nblocks,
                      struct fl_error *err)
{
    z_stream zs = {0};
    if (inflateInit(&zs) != Z_OK) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "zlib inflateInit failed");
    }
    uint8_t *scratch = malloc(64 * 1024);
    if (scratch == NULL) {
        inflateEnd(&zs);
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = FL_OK;
    bool ended = false;
    for (size_t i = 0; i < nblocks; i++) {
        size_t off = i * block;
        size_t n = off < zlen ? (zlen - off < block ? zlen - off : block) : 0;
        zs.next_in = (Bytef *)(uintptr_t)(z + off);
        zs.avail_in = (uInt)n;
        uLong before = zs.total_out;
        while (!ended) {
            zs.next_out = scratch;
            zs.avail_out = 64 * 1024;
            int zrc = inflate(&zs, Z_NO_FLUSH);
            if (zrc == Z_STREAM_END) {
                ended = true;
            } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
                rc = fl_error_set(err, FL_ERR_INVALID, NULL, "our own zlib stream is corrupt (%d)",
                                  zrc);
                goto out;
            }
            if (zs.avail_out != 0) {
                break; /* input for this block used up */
            }
        }
        sizes[i] = (uint32_t)(zs.total_out - before);
    }
out:
    free(scratch);
    inflateEnd(&zs);
    return rc;
}
