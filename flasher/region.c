/*
 * Writing regions: pad to sectors, patch the bootloader header, skip what is
 * unchanged, erase blank runs (unless blank already), send the rest, then
 * check every byte by MD5 where the loader can (esp-protocol.md §2.2, §5.4).
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

struct range {
    uint32_t off, len; /* within the padded buffer */
};

static int by_off(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Checks by MD5 everything not known good already: the written chunks and
 * the runs erased here (runs found blank were checked before the writes,
 * which only touch their own sectors). Touching ranges are merged so a
 * fully rewritten region costs one MD5.
 */
static int verify_items(struct fl_session *s, const uint8_t *buf, size_t plen, uint32_t start,
                        const struct fl_plan_item *items, const bool *blank, size_t n,
                        struct fl_error *err)
{
    struct range *r = malloc((n ? n : 1) * sizeof *r);
    if (r == NULL) {
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t off = items[i].addr - start;
        if (!blank[i] && off < plen) {
            r[k].off = off;
            r[k].len = off + items[i].len > plen ? (uint32_t)(plen - off) : items[i].len;
            k++;
        }
    }
    qsort(r, k, sizeof *r, by_off);
    int rc = FL_OK;
    for (size_t i = 0; i < k && rc == FL_OK;) {
        uint32_t off = r[i].off, end = r[i].off + r[i].len;
        for (i++; i < k && r[i].off <= end; i++) {
            end = r[i].off + r[i].len > end ? r[i].off + r[i].len : end;
        }
        uint8_t md5[16];
        if (fl_md5_local(buf + off, end - off, md5) != FL_OK) {
            rc = fl_error_set(err, FL_ERR_NOMEM, NULL, "MD5 computation failed");
        } else {
            rc = fl_compare_md5(s, start + off, buf + off, end - off, md5, err);
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
    uint8_t *buf = malloc(plen);
    struct fl_plan_item *items = malloc(fl_plan_max_items(plen) * sizeof *items);
    bool *blank = calloc(fl_plan_max_items(plen), sizeof *blank);
    if (buf == NULL || items == NULL || blank == NULL) {
        free(buf);
        free(items);
        free(blank);
        return fl_error_set(err, FL_ERR_NOMEM, NULL, "out of memory for %zu bytes", plen);
    }
    memset(buf, 0xFF, plen);
    memcpy(buf + pad, r->data, r->len);
    struct fl_wctx w = {.s = s, .index = index, .total = plen, .res = res};
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
            fl_log(s, FL_LOG_WARN,
                   "cannot tell whether 0x%08x is unchanged without an MD5 "
                   "(ESP8266 ROM): writing it",
                   (unsigned)r->addr);
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
            rc = fl_write_chunk(&w, buf + (it->addr - start), it->len, it->addr, err);
        } else {
            fl_log(s, FL_LOG_DEBUG, "erasing 0x%08x+0x%x (blank, not sent)", (unsigned)it->addr,
                   (unsigned)it->len);
            rc = fl_erase_unless_blank(s, it->addr, it->len, &blank[i], err);
            if (rc == FL_OK) {
                uint64_t in_region =
                    it->addr - start + it->len > plen ? plen - (it->addr - start) : it->len;
                w.done += in_region;
                fl_progress(s, index, w.done < plen ? w.done : plen, plen);
            }
        }
    }
    if (rc == FL_OK) {
        if (can_md5) {
            rc = verify_items(s, buf, plen, start, items, blank, nitems, err);
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
    free(blank);
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
