/*
 * Sending one chunk: FLASH_BEGIN + 1 KiB (ROM) or 16 KiB (stub) blocks, or
 * the zlib stream in DEFL blocks whose timeouts follow what each block
 * expands to (esp-protocol.md §2.2, §2.5, §6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher_priv.h"

#define WRITE_ATTEMPTS 3

/*
 * Resending one block helps against a block spoiled on the way (the loader
 * says: malformed, bad length, bad checksum). After a silent loss only the
 * ROM gets the block again (as esptool does; MD5 checks the outcome); a stub
 * may already have consumed it, so that case goes to the region retry.
 */
static bool retryable(const struct fl_session *s, int rc, const struct fl_error *e)
{
    if (rc == FL_ERR_TIMEOUT) {
        return !s->state->stub;
    }
    if (rc != FL_ERR_ROM) {
        return false;
    }
    if (e->status[0] == 1) {
        return e->status[1] == 0x05 || e->status[1] == 0x07;
    }
    return e->status[0] == 0xC0 || e->status[0] == 0xC1;
}

static int send_block(struct fl_wctx *w, uint8_t op, const uint8_t *block, size_t len, uint32_t seq,
                      int timeout, uint32_t addr, struct fl_error *err)
{
    struct fl_session *s = w->s;
    struct fl_error e;
    int rc = FL_OK;
    for (int attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
        rc = fl_data_command(s, op, block, len, seq, timeout, &e);
        if (rc == FL_OK || !retryable(s, rc, &e) || attempt == WRITE_ATTEMPTS) {
            break;
        }
        s->stats.retries++;
        fl_log(s, FL_LOG_WARN, "block %u at 0x%08x: %s; sending it again", (unsigned)seq,
               (unsigned)addr, e.msg);
        /* A late reply to the first try must not pass for the second's. */
        if (rc == FL_ERR_TIMEOUT && (rc = fl_flush_input(s, &e)) != FL_OK) {
            break;
        }
    }
    if (rc != FL_OK) {
        if (err != NULL) {
            *err = e;
            char msg[sizeof err->msg];
            /* A stub reports a write error with the reply to the next block. */
            snprintf(msg, sizeof msg, "writing block %u at 0x%08x: %s%s", (unsigned)seq,
                     (unsigned)addr, e.msg,
                     s->state->stub && rc == FL_ERR_ROM
                         ? " (the stub reports errors one block late)"
                         : "");
            memcpy(err->msg, msg, sizeof msg);
        }
    }
    return rc;
}

/* What the stub still owes after ACKing a block that expands to `bytes`:
 * writing them, plus an erase of up to 64 KiB per 32 KiB it inflates. */
static int stub_carry(uint32_t bytes)
{
    uint64_t erase = ((uint64_t)(bytes + 32767) / 32768 + 1) * 65536;
    return fl_timeout_for(FL_T_ERASE_WRITE_PER_MB, bytes + erase);
}

static int begin(struct fl_wctx *w, uint8_t op, uint32_t size, uint32_t nblocks, uint32_t bs,
                 uint32_t addr, int timeout, struct fl_error *err)
{
    struct fl_session *s = w->s;
    const uint32_t words[5] = {size, nblocks, bs, addr, 0};
    size_t n = !s->state->stub && fl_can(s, FL_ROM_BEGIN_5WORDS) ? 5 : 4;
    return fl_command_words(s, op, words, n, timeout, err);
}

static int finish_stub(struct fl_wctx *w, uint8_t op, struct fl_error *err)
{
    /* END(1) only replies once the last block is in flash: a barrier. */
    const uint32_t run = 1;
    return fl_command_words(w->s, op, &run, 1, FL_T_DEFAULT, err);
}

static int write_raw(struct fl_wctx *w, const uint8_t *data, uint32_t len, uint32_t addr,
                     struct fl_error *err)
{
    struct fl_session *s = w->s;
    bool stub = s->state->stub;
    uint32_t bs = stub ? FL_STUB_BLOCK : FL_ROM_BLOCK;
    uint32_t nblocks = (len + bs - 1) / bs;
    uint32_t erase = fl_can(s, FL_ROM_ERASE_QUIRK) ? fl_esp8266_erase_size(addr, len) : len;
    int timeout = stub ? FL_T_DEFAULT : fl_timeout_for(FL_T_ERASE_WRITE_PER_MB, len);
    int rc = FL_ERR_ROM;
    if (!stub && w->blank) {
        /* FLASH_BEGIN's first word is the size to erase (serial protocol
         * docs), apart from the blocks that follow: flash known blank needs
         * none, which saves ~150 ms per 64 KiB up front. A ROM that refuses
         * gets the ordinary request. */
        struct fl_error e;
        rc = begin(w, FL_OP_FLASH_BEGIN, 0, nblocks, bs, addr, timeout, &e);
        if (rc != FL_OK && rc != FL_ERR_ROM) {
            if (err != NULL) {
                *err = e;
            }
            return rc;
        }
    }
    if (rc != FL_OK) {
        TRY(begin(w, FL_OP_FLASH_BEGIN, erase, nblocks, bs, addr, timeout, err));
    }
    uint8_t *pad = malloc(bs);
    if (pad == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    rc = FL_OK;
    for (uint32_t seq = 0; seq < nblocks && rc == FL_OK; seq++) {
        uint32_t off = seq * bs;
        uint32_t n = len - off < bs ? len - off : bs;
        const uint8_t *block = data + off;
        if (n < bs) {
            /* The last block goes out full size, padded with erased-flash bytes. */
            memcpy(pad, block, n);
            memset(pad + n, 0xFF, bs - n);
            block = pad;
        }
        if ((rc = fl_check_cancel(s, err)) != FL_OK) {
            break;
        }
        int t = stub ? FL_T_DEFAULT : fl_timeout_for(FL_T_ERASE_WRITE_PER_MB, bs);
        rc = send_block(w, FL_OP_FLASH_DATA, block, bs, seq, t, addr + off, err);
        if (rc == FL_OK) {
            if (stub) {
                s->state->carry_timeout_ms = stub_carry(bs);
            }
            w->res->sent += bs;
            w->done += n;
            fl_progress(s, w->index, w->done, w->total);
        }
    }
    free(pad);
    TRY(rc);
    w->res->written += len;
    return stub ? finish_stub(w, FL_OP_FLASH_END, err) : FL_OK;
}

static int write_deflated(struct fl_wctx *w, const uint8_t *z, size_t zlen, uint32_t len,
                          uint32_t addr, struct fl_error *err)
{
    struct fl_session *s = w->s;
    bool stub = s->state->stub;
    uint32_t bs = stub ? FL_STUB_BLOCK : FL_ROM_BLOCK;
    uint32_t nblocks = (uint32_t)((zlen + bs - 1) / bs);
    uint32_t *sizes = malloc(nblocks * sizeof *sizes);
    if (sizes == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = fl_inflated_sizes(z, zlen, bs, sizes, nblocks, err);
    /* The ROM erases the declared size up front, rounded to its block size;
     * the stub takes the exact byte count. */
    uint32_t size = stub ? len : (len + FL_ROM_BLOCK - 1) / FL_ROM_BLOCK * FL_ROM_BLOCK;
    int timeout = stub ? FL_T_DEFAULT : fl_timeout_for(FL_T_ERASE_WRITE_PER_MB, size);
    if (rc == FL_OK) {
        rc = begin(w, FL_OP_FLASH_DEFL_BEGIN, size, nblocks, bs, addr, timeout, err);
    }
    uint64_t inflated = 0;
    for (uint32_t seq = 0; seq < nblocks && rc == FL_OK; seq++) {
        size_t off = (size_t)seq * bs;
        size_t n = zlen - off < bs ? zlen - off : bs;
        if ((rc = fl_check_cancel(s, err)) != FL_OK) {
            break;
        }
        /* Time follows what the block expands to, not its wire size. */
        int t = stub ? FL_T_DEFAULT : fl_timeout_for(FL_T_ERASE_WRITE_PER_MB, sizes[seq]);
        rc = send_block(w, FL_OP_FLASH_DEFL_DATA, z + off, n, seq, t, addr + (uint32_t)inflated,
                        err);
        if (rc == FL_OK) {
            if (stub) {
                s->state->carry_timeout_ms = stub_carry(sizes[seq]);
            }
            inflated += sizes[seq];
            w->res->sent += n;
            w->done += sizes[seq] < len ? sizes[seq] : len;
            fl_progress(s, w->index, w->done < w->total ? w->done : w->total, w->total);
        }
    }
    free(sizes);
    TRY(rc);
    w->res->written += len;
    w->res->compressed = true;
    return stub ? finish_stub(w, FL_OP_FLASH_DEFL_END, err) : FL_OK;
}

int fl_write_chunk(struct fl_wctx *w, const uint8_t *data, uint32_t len, uint32_t addr,
                   struct fl_error *err)
{
    struct fl_session *s = w->s;
    if (!s->opt.no_compress && fl_can(s, FL_ROM_DEFL)) {
        uint8_t *z = NULL;
        size_t zlen = 0;
        TRY(fl_deflate(data, len, &z, &zlen, err));
        if (zlen < len) {
            int rc = write_deflated(w, z, zlen, len, addr, err);
            free(z);
            return rc;
        }
        free(z); /* incompressible: the raw bytes are shorter */
    }
    return write_raw(w, data, len, addr, err);
}
