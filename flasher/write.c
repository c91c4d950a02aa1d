/*
 * Writing regions: pad to sectors, patch the bootloader header, skip what is
 * unchanged, erase blank runs, send the rest (compressed where the loader
 * inflates), then check the MD5 (esp-protocol.md §2.2, §2.5, §6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher_priv.h"

#define WRITE_ATTEMPTS 3

struct wctx {
    struct fl_session *s;
    size_t index;
    uint64_t done, total;
    struct fl_region_result *res;
};

static int64_t now_ms(struct fl_session *s)
{
    return s->state->port->ops->now_ms(s->state->port);
}

/*
 * Resending one block helps against a block spoiled on the way (the loader
 * says: malformed, bad length, bad checksum). After a silent loss only the
 * ROM can take the block again (it places blocks by sequence number); a stub
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

static int send_block(struct wctx *w, uint8_t op, const uint8_t *block, size_t len, uint32_t seq,
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
    }
    if (rc != FL_OK) {
        if (err != NULL) {
            *err = e;
            char msg[sizeof err->msg];
            /* A stub reports a write error with the reply to the next block. */
            snprintf(msg, sizeof msg, "writing block %u at 0x%08x: %s%s", (unsigned)seq,
                     (unsigned)addr, e.msg,
                     s->state->stub && rc == FL_ERR_ROM ? " (the stub reports errors one block late)"
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

static int begin(struct wctx *w, uint8_t op, uint32_t size, uint32_t nblocks, uint32_t bs,
                 uint32_t addr, int timeout, struct fl_error *err)
{
    struct fl_session *s = w->s;
    const uint32_t words[5] = {size, nblocks, bs, addr, 0};
    size_t n = !s->state->stub && fl_can(s, FL_ROM_BEGIN_5WORDS) ? 5 : 4;
    return fl_command_words(s, op, words, n, timeout, err);
}

static int finish_stub(struct wctx *w, uint8_t op, struct fl_error *err)
{
    /* END(1) only replies once the last block is in flash: a barrier. */
    const uint32_t run = 1;
    return fl_command_words(w->s, op, &run, 1, FL_T_DEFAULT, err);
}

static int write_raw(struct wctx *w, const uint8_t *data, uint32_t len, uint32_t addr,
                     struct fl_error *err)
{
    struct fl_session *s = w->s;
    bool stub = s->state->stub;
    uint32_t bs = stub ? FL_STUB_BLOCK : FL_ROM_BLOCK;
    uint32_t nblocks = (len + bs - 1) / bs;
    uint32_t erase = fl_can(s, FL_ROM_ERASE_QUIRK) ? fl_esp8266_erase_size(addr, len) : len;
    int timeout = stub ? FL_T_DEFAULT : fl_timeout_for(FL_T_ERASE_WRITE_PER_MB, len);
    TRY(begin(w, FL_OP_FLASH_BEGIN, erase, nblocks, bs, addr, timeout, err));
    uint8_t *pad = malloc(bs);
    if (pad == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = FL_OK;
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

static int write_deflated(struct wctx *w, const uint8_t *z, size_t zlen, uint32_t len,
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
        rc = send_block(w, FL_OP_FLASH_DEFL_DATA, z + off, n, seq,
                        t, addr + (uint32_t)inflated, err);
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

static int write_chunk(struct wctx *w, const uint8_t *data, uint32_t len, uint32_t addr,
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

/* Header patching and the chip check for firmware images (§5.4). */
static int prepare_image(struct wctx *w, uint8_t *image, size_t len, uint32_t addr,
                         struct fl_error *err)
{
    struct fl_session *s = w->s;
    const struct fl_target *t = s->state->target;
    if (len < 8 || (image[0] != 0xE9 && image[0] != 0xEA)) {
        return FL_OK;
    }
    struct fl_image_info info;
    struct fl_error e;
    bool valid = fl_image_parse(image, len, t->chip, &info, &e) == FL_OK && info.valid;
    if (valid && info.has_ext && !s->opt.force && t->image_chip_id >= 0 &&
        info.chip_id != (uint16_t)t->image_chip_id) {
        const struct fl_target *other = fl_target_by_image_id(info.chip_id);
        return fl_error_set(err, FL_ERR_INVALID, "use --force to write it anyway",
                            "the image at 0x%08x is built for %s (chip id %u), this board is an %s",
                            (unsigned)addr, other ? other->name : "another chip",
                            (unsigned)info.chip_id, t->name);
    }
    bool want = s->opt.flash_mode != FL_PARAM_KEEP || s->opt.flash_freq != FL_PARAM_KEEP ||
                s->opt.flash_size != FL_PARAM_KEEP;
    if (!want || addr != t->bootloader_offset) {
        return FL_OK;
    }
    if (!valid || s->info.secure_download) {
        fl_log(s, FL_LOG_WARN,
               "the data at 0x%08x is not a valid %s bootloader image: flash settings not "
               "changed",
               (unsigned)addr, t->name);
        return FL_OK;
    }
    uint32_t size = 0;
    if (s->opt.flash_size == FL_PARAM_DETECT) {
        size = s->info.flash_size;
    } else if (s->opt.flash_size > 0) {
        size = (uint32_t)s->opt.flash_size;
    }
    bool changed = false;
    TRY(fl_image_patch(image, len, t->chip, s->opt.flash_mode, s->opt.flash_freq, size, &changed,
                       err));
    w->res->patched = changed;
    if (changed) {
        fl_log(s, FL_LOG_INFO, "flash settings in the bootloader header set to 0x%02x%02x",
               image[2], image[3]);
    }
    return FL_OK;
}

static int write_region(struct fl_session *s, const struct fl_region *r, size_t index,
                        struct fl_region_result *res, struct fl_error *err)
{
    int64_t t0 = now_ms(s);
    memset(res, 0, sizeof *res);
    res->addr = r->addr;
    res->len = r->len;
    uint32_t start = r->addr & ~(FL_SECTOR - 1);
    size_t pad = r->addr - start;
    /* Padded in front to the sector (the ROM writes whole sectors) and at
     * the end to 4 bytes, with what erased flash holds anyway. */
    size_t plen = (pad + r->len + 3) & ~(size_t)3;
    uint8_t *buf = malloc(plen);
    struct fl_plan_item *items = malloc(fl_plan_max_items(plen) * sizeof *items);
    if (buf == NULL || items == NULL) {
        free(buf);
        free(items);
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory for %zu bytes", plen);
    }
    memset(buf, 0xFF, plen);
    memcpy(buf + pad, r->data, r->len);
    struct wctx w = {.s = s, .index = index, .total = plen, .res = res};
    res->erase_start = start;
    res->erase_len = (plen + FL_SECTOR - 1) / FL_SECTOR * FL_SECTOR;
    int rc = prepare_image(&w, buf + pad, r->len, r->addr, err);
    if (rc == FL_OK && fl_md5_local(buf, plen, res->md5) != FL_OK) {
        rc = fl_error_set(err, FL_ERR_NOMEM, NULL, "MD5 computation failed");
    }
    bool can_md5 = fl_can(s, FL_ROM_MD5);
    if (rc == FL_OK && s->opt.skip_unchanged) {
        uint8_t flash[16];
        if (!can_md5) {
            fl_log(s, FL_LOG_WARN, "cannot tell whether 0x%08x is unchanged without an MD5 "
                   "(ESP8266 ROM): writing it", (unsigned)r->addr);
        } else if ((rc = fl_flash_md5(s, start, (uint32_t)plen, flash, err)) == FL_OK &&
                   memcmp(flash, res->md5, 16) == 0) {
            res->verify = FL_VERIFY_UNCHANGED;
            fl_progress(s, index, plen, plen);
            fl_log(s, FL_LOG_INFO, "0x%08x is unchanged, not written", (unsigned)r->addr);
            goto out;
        }
    }
    unsigned flags = 0;
    if (!s->opt.no_compress && fl_can(s, FL_ROM_DEFL)) {
        flags |= FL_PLAN_COMPRESSED;
    }
    if (fl_can(s, FL_ROM_ERASE_QUIRK)) {
        flags |= FL_PLAN_ESP8266_ROM;
    }
    size_t nitems = rc == FL_OK ? fl_plan_region(buf, plen, start, flags, items) : 0;
    fl_progress(s, index, 0, plen);
    for (size_t i = 0; i < nitems && rc == FL_OK; i++) {
        const struct fl_plan_item *it = &items[i];
        if ((rc = fl_check_cancel(s, err)) != FL_OK) {
            break;
        }
        if (it->write) {
            rc = write_chunk(&w, buf + (it->addr - start), it->len, it->addr, err);
        } else {
            fl_log(s, FL_LOG_DEBUG, "erasing 0x%08x+0x%x (blank, not sent)", (unsigned)it->addr,
                   (unsigned)it->len);
            rc = fl_erase_range(s, it->addr, it->len, err);
            if (rc == FL_OK) {
                uint64_t in_region = it->addr - start + it->len > plen ? plen - (it->addr - start)
                                                                       : it->len;
                w.done += in_region;
                fl_progress(s, index, w.done < plen ? w.done : plen, plen);
            }
        }
    }
    if (rc == FL_OK) {
        if (can_md5) {
            rc = fl_compare_md5(s, start, buf, plen, res->md5, err);
            res->verify = FL_VERIFY_MD5;
        } else {
            res->verify = FL_VERIFY_UNAVAILABLE;
            fl_log(s, FL_LOG_WARN,
                   "0x%08x was written but not verified: the ESP8266 ROM has no MD5 (use a "
                   "stub to verify)",
                   (unsigned)r->addr);
        }
    }
out:
    res->seconds = (double)(now_ms(s) - t0) / 1000.0;
    free(buf);
    free(items);
    return rc;
}

static int by_addr(const void *a, const void *b)
{
    const struct fl_region *const *x = a, *const *y = b;
    return (*x)->addr < (*y)->addr ? -1 : (*x)->addr > (*y)->addr;
}

int fl_write_regions(struct fl_session *s, const struct fl_region *regions, size_t n,
                     struct fl_region_result *results, struct fl_error *err)
{
    TRY(fl_ensure_detected(s, err));
    const struct fl_region **order = malloc((n ? n : 1) * sizeof *order);
    if (order == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = &regions[i];
    }
    qsort(order, n, sizeof *order, by_addr);
    int rc = FL_OK;
    for (size_t i = 0; i < n && rc == FL_OK; i++) {
        const struct fl_region *r = order[i];
        if (r->len == 0 || r->data == NULL) {
            rc = fl_error_set(err, FL_ERR_INVALID, NULL, "nothing to write at 0x%08x",
                              (unsigned)r->addr);
        } else if ((rc = fl_check_range(s, r->addr & ~(FL_SECTOR - 1),
                                        (r->addr & (FL_SECTOR - 1)) + r->len, err)) == FL_OK &&
                   i + 1 < n) {
            uint64_t end = (uint64_t)r->addr + r->len;
            uint64_t end_sector = (end + FL_SECTOR - 1) / FL_SECTOR * FL_SECTOR;
            uint32_t next = order[i + 1]->addr;
            if (end > next) {
                rc = fl_error_set(err, FL_ERR_INVALID, NULL,
                                  "regions at 0x%08x and 0x%08x overlap", (unsigned)r->addr,
                                  (unsigned)next);
            } else if (end_sector > (next & ~(FL_SECTOR - 1))) {
                rc = fl_error_set(err, FL_ERR_INVALID,
                                  "a write erases whole 4 KiB sectors: merge the two files into "
                                  "one, or align them to 0x1000",
                                  "regions at 0x%08x and 0x%08x share the sector at 0x%08x",
                                  (unsigned)r->addr, (unsigned)next,
                                  (unsigned)(next & ~(FL_SECTOR - 1)));
            }
        }
    }
    for (size_t i = 0; i < n && rc == FL_OK; i++) {
        size_t index = (size_t)(order[i] - regions);
        rc = write_region(s, order[i], index, &results[index], err);
        if (rc == FL_ERR_TIMEOUT || rc == FL_ERR_ROM || rc == FL_ERR_PROTO ||
            rc == FL_ERR_VERIFY) {
            /* Rewriting a whole region is always safe: the region is erased
             * again and checked again. Once. */
            fl_log(s, FL_LOG_WARN, "writing 0x%08x failed (%s); reconnecting to write it again",
                   (unsigned)order[i]->addr, err ? err->msg : fl_strerror(rc));
            s->stats.retries++;
            struct fl_error e2;
            if (fl_recover(s, &e2) == FL_OK) {
                rc = write_region(s, order[i], index, &results[index], err);
            } else if (err != NULL) {
                char msg[sizeof err->msg];
                snprintf(msg, sizeof msg, "%s; then the board stopped answering (%s)", err->msg,
                         e2.msg);
                memcpy(err->msg, msg, sizeof msg);
            }
        }
    }
    free(order);
    return rc;
}
