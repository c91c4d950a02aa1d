/*
 * Writing regions: pad to sectors, patch the bootloader header, ask the
 * loader what the flash holds (MD5s), leave alone what is right, erase what
 * the image leaves blank, send the rest as plan.c's cost model says, then
 * check it by MD5 where the loader can (esp-protocol.md §2.2, §5.4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flasher/flasher_priv.h"

static int64_t now_ms(struct fl_session *s)
{
    return s->state->port->ops->now_ms(s->state->port);
}

/* Header patching and the chip check for firmware images (§5.4). */
static int prepare_image(struct fl_wctx *w, uint8_t *image, size_t len, uint32_t addr,
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
    if (!s->opt.force) {
        TRY(fl_image_check_chip(image, len, t->chip, addr, err));
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

/* MD5 of `len` bytes of 0xFF: what an erased range hashes to. */
static int blank_md5(size_t len, uint8_t md5[16])
{
    uint8_t *ff = malloc(len ? len : 1);
    if (ff == NULL) {
        return FL_ERR_NOMEM;
    }
    memset(ff, 0xFF, len);
    int rc = fl_md5_local(ff, len, md5);
    free(ff);
    return rc;
}

/* Sector states [off, off + n) of the region. */
static void mark(uint8_t *state, size_t off, size_t n, uint8_t st)
{
    for (size_t k = off / FL_SECTOR; k < (off + n + FL_SECTOR - 1) / FL_SECTOR; k++) {
        state[k] = st;
    }
}

/*
 * What the flash holds, asked with loader-side MD5s (no data crosses the
 * line): one over the region first, which settles the common cases (the
 * same firmware again: skip; a new board: blank); otherwise one per 64 KiB
 * block, so a filesystem that changed in one file is rewritten in one block.
 * Reading costs ~8 ms per 64 KiB with a stub, erasing 150 ms and writing
 * more: the probe pays for itself once one block can be left alone.
 */
static int probe_flash(struct fl_session *s, const uint8_t *buf, size_t plen, uint32_t start,
                       const uint8_t md5[16], uint8_t *state, bool *same, struct fl_error *err)
{
    uint8_t flash[16], want[16];
    *same = false;
    TRY(fl_flash_md5(s, start, (uint32_t)plen, flash, err));
    if (memcmp(flash, md5, 16) == 0) {
        *same = true;
        mark(state, 0, plen, FL_SECTOR_SAME);
        return FL_OK;
    }
    if (blank_md5(plen, want) != FL_OK) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    if (memcmp(flash, want, 16) == 0) {
        fl_log(s, FL_LOG_DEBUG, "0x%08x+0x%zx is blank: nothing to erase", (unsigned)start, plen);
        mark(state, 0, plen, FL_SECTOR_BLANK);
        return FL_OK;
    }
    const uint32_t block = 0x10000;
    if (plen <= block) {
        return FL_OK;
    }
    size_t nsame = 0, nblank = 0;
    for (size_t off = 0; off < plen;) {
        uint32_t a = start + (uint32_t)off;
        size_t n = (a / block + 1) * block - a;
        n = n < plen - off ? n : plen - off;
        TRY(fl_check_cancel(s, err));
        TRY(fl_flash_md5(s, a, (uint32_t)n, flash, err));
        if (fl_md5_local(buf + off, n, want) != FL_OK) {
            return fl_error_set(err, FL_ERR_NOMEM, NULL, "MD5 computation failed");
        }
        if (memcmp(flash, want, 16) == 0) {
            mark(state, off, n, FL_SECTOR_SAME);
            nsame++;
        } else if (blank_md5(n, want) == FL_OK && memcmp(flash, want, 16) == 0) {
            mark(state, off, n, FL_SECTOR_BLANK);
            nblank++;
        }
        off += n;
    }
    fl_log(s, FL_LOG_DEBUG, "0x%08x+0x%zx: %zu blocks already right, %zu blank", (unsigned)start,
           plen, nsame, nblank);
    return FL_OK;
}

struct range {
    uint32_t off, len; /* within the padded buffer */
};

static int by_off(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Checks by MD5 what was erased or written: one MD5 over the region, or one
 * per touched stretch when that reads much less (each MD5 is a round trip;
 * the loader reads ~8 MB/s with a stub, ~2 MB/s as a ROM). Sectors left
 * alone were proven right by the probe before.
 */
static int verify_items(struct fl_session *s, const uint8_t *buf, size_t plen, uint32_t start,
                        const struct fl_plan_item *items, size_t n, struct fl_error *err)
{
    struct range *r = malloc((n ? n : 1) * sizeof *r);
    if (r == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t off = items[i].addr - start;
        if (off < plen) {
            r[k].off = off;
            r[k].len = off + items[i].len > plen ? (uint32_t)(plen - off) : items[i].len;
            k++;
        }
    }
    qsort(r, k, sizeof *r, by_off);
    size_t m = 0;
    uint64_t touched = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && r[i].off <= r[m - 1].off + r[m - 1].len) {
            uint32_t end = r[i].off + r[i].len;
            if (end > r[m - 1].off + r[m - 1].len) {
                r[m - 1].len = end - r[m - 1].off;
            }
        } else {
            r[m++] = r[i];
        }
    }
    for (size_t i = 0; i < m; i++) {
        touched += r[i].len;
    }
    double bytes_per_us = s->state->stub ? 8.0 : 2.0;
    double rt = 2000;
    if (m > 1 &&
        rt + (double)plen / bytes_per_us < (double)m * rt + (double)touched / bytes_per_us) {
        r[0] = (struct range){0, (uint32_t)plen};
        m = 1;
    }
    int rc = FL_OK;
    for (size_t i = 0; i < m && rc == FL_OK; i++) {
        uint8_t md5[16];
        if (fl_md5_local(buf + r[i].off, r[i].len, md5) != FL_OK) {
            rc = fl_error_set(err, FL_ERR_NOMEM, NULL, "MD5 computation failed");
        } else {
            rc = fl_compare_md5(s, start + r[i].off, buf + r[i].off, r[i].len, md5, err);
        }
    }
    free(r);
    return rc;
}

static int write_region(struct fl_session *s, const struct fl_region *r, size_t index,
                        struct fl_region_result *res, struct fl_error *err)
{
    int64_t t0 = now_ms(s);
    uint64_t wire0 = s->stats.bytes_sent;
    memset(res, 0, sizeof *res);
    res->addr = r->addr;
    res->len = r->len;
    uint32_t start = r->addr & ~(FL_SECTOR - 1);
    size_t pad = r->addr - start;
    /* Padded in front to the sector (the ROM writes whole sectors) and at
     * the end to 4 bytes, with what erased flash holds anyway. */
    size_t plen = (pad + r->len + 3) & ~(size_t)3;
    size_t nsec = (plen + FL_SECTOR - 1) / FL_SECTOR;
    uint8_t *buf = malloc(plen);
    struct fl_plan_item *items = malloc(fl_plan_max_items(plen) * sizeof *items);
    uint8_t *state = calloc(nsec, 1);
    if (buf == NULL || items == NULL || state == NULL) {
        free(buf);
        free(items);
        free(state);
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory for %zu bytes", plen);
    }
    memset(buf, 0xFF, plen);
    memcpy(buf + pad, r->data, r->len);
    struct fl_wctx w = {.s = s, .index = index, .total = plen, .res = res};
    res->erase_start = start;
    int rc = prepare_image(&w, buf + pad, r->len, r->addr, err);
    if (rc == FL_OK && fl_md5_local(buf, plen, res->md5) != FL_OK) {
        rc = fl_error_set(err, FL_ERR_NOMEM, NULL, "MD5 computation failed");
    }
    bool can_md5 = fl_can(s, FL_ROM_MD5);
    bool probe = can_md5 && !s->opt.full_image;
    if (rc == FL_OK && s->opt.skip_unchanged && !can_md5 && !s->opt.full_image) {
        fl_log(s, FL_LOG_DEBUG,
               "cannot tell what 0x%08x holds without an MD5 (ESP8266 ROM): writing it all",
               (unsigned)r->addr);
    }
    if (rc == FL_OK && probe) {
        bool same = false;
        rc = probe_flash(s, buf, plen, start, res->md5, state, &same, err);
        if (rc == FL_OK && same && s->opt.skip_unchanged) {
            res->verify = FL_VERIFY_UNCHANGED;
            fl_progress(s, index, plen, plen);
            fl_log(s, FL_LOG_INFO, "0x%08x is unchanged, not written", (unsigned)r->addr);
            goto out;
        }
        if (!s->opt.skip_unchanged) {
            memset(state, FL_SECTOR_UNKNOWN, nsec);
        }
    }
    struct fl_plan_params pp;
    fl_plan_params_init(&pp);
    pp.baud = s->state->port->baud;
    pp.stub = s->state->stub;
    pp.compressed = !s->opt.no_compress && fl_can(s, FL_ROM_DEFL);
    pp.esp8266_rom = fl_can(s, FL_ROM_ERASE_QUIRK);
    size_t nitems = 0;
    if (rc == FL_OK && s->opt.full_image) {
        items[nitems++] = (struct fl_plan_item){start, (uint32_t)plen, true};
    } else if (rc == FL_OK) {
        nitems = fl_plan_region(buf, plen, start, probe ? state : NULL, &pp, items);
    }
    fl_progress(s, index, 0, plen);
    uint64_t handled = 0;
    for (size_t i = 0; i < nitems && rc == FL_OK; i++) {
        const struct fl_plan_item *it = &items[i];
        if ((rc = fl_check_cancel(s, err)) != FL_OK) {
            break;
        }
        uint32_t secs = (it->len + FL_SECTOR - 1) / FL_SECTOR;
        res->erase_len += (uint64_t)secs * FL_SECTOR;
        if (it->write) {
            size_t first = (it->addr - start) / FL_SECTOR;
            w.blank = probe && s->opt.skip_unchanged;
            for (size_t k = first; k < first + secs && k < nsec && w.blank; k++) {
                w.blank = state[k] == FL_SECTOR_BLANK;
            }
            rc = fl_write_chunk(&w, buf + (it->addr - start), it->len, it->addr, err);
        } else {
            fl_log(s, FL_LOG_DEBUG, "erasing 0x%08x+0x%x (blank in the image, not sent)",
                   (unsigned)it->addr, (unsigned)it->len);
            rc = fl_erase_range(s, it->addr, it->len, err);
        }
        handled += (uint64_t)secs * FL_SECTOR;
        w.done = handled < plen ? handled : plen;
        fl_progress(s, index, w.done, plen);
    }
    if (rc == FL_OK) {
        fl_progress(s, index, plen, plen);
        if (can_md5) {
            rc = verify_items(s, buf, plen, start, items, nitems, err);
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
    res->wire_bytes = s->stats.bytes_sent - wire0;
    free(buf);
    free(items);
    free(state);
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
                rc = fl_error_set(err, FL_ERR_INVALID, NULL, "regions at 0x%08x and 0x%08x overlap",
                                  (unsigned)r->addr, (unsigned)next);
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
        if (rc == FL_ERR_TIMEOUT || rc == FL_ERR_ROM || rc == FL_ERR_PROTO || rc == FL_ERR_VERIFY) {
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
