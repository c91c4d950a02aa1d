/*
 * Write planning: which sectors of a region are written, which only erased,
 * which left alone, chosen by a cost model of the wire and the flash chip.
 *
 * Every FLASH(_DEFL)_BEGIN erases the sectors it covers (the ROM up front,
 * both upstream stubs lazily ahead of the data, blank or not), so a write
 * costs its erase even on a new board; and a sector erase (45 ms typical)
 * costs a third of a 64 KiB block erase (150 ms), which a write covering an
 * aligned block gets. Whether splitting a region into several writes pays
 * therefore depends on round trips, erase granularity, program time and the
 * bytes on the wire: a dynamic programme over sector boundaries finds the
 * cheapest cover under the model. Flash figures are W25Q32 datasheet
 * typicals (tSE, tBE2, tPP), the usual part on ESP boards.
 */
#include <stdlib.h>
#include <zlib.h>

#include "flasher/flasher_priv.h"

#define US_SECTOR_ERASE 45000.0
#define US_BLOCK_ERASE  150000.0
#define US_PAGE_PROGRAM 700.0
#define SLIP_GROWTH     1.008 /* 2 of 256 byte values are escaped */
#define COMMAND_BYTES   40.0  /* a short request and its reply, framed */

size_t fl_plan_max_items(size_t len)
{
    return 2 * (len / FL_SECTOR + 2);
}

/* Would the ESP8266 ROM, given esptool's erase size for n sectors at
 * `sector`, erase one sector past the end? (n odd and n < 2t.) */
static bool esp8266_spills(uint32_t sector, uint32_t n)
{
    uint32_t t = 16 - sector % 16;
    return n % 2 == 1 && n < 2 * t;
}

uint32_t fl_esp8266_erase_size(uint32_t offset, uint32_t size)
{
    uint32_t n = (size + FL_SECTOR - 1) / FL_SECTOR;
    uint32_t head = 16 - (offset / FL_SECTOR) % 16;
    if (n < head) {
        head = n;
    }
    if (n < 2 * head) {
        return (n + 1) / 2 * FL_SECTOR;
    }
    return (n - head) * FL_SECTOR;
}

void fl_plan_params_init(struct fl_plan_params *p)
{
    *p = (struct fl_plan_params){.baud = 115200, .round_trip_us = 2000};
}

/* Sectors [i, j) of absolute sector numbers: what erasing them costs when
 * 64 KiB blocks are used where aligned and whole (ROM and stubs alike). */
static double erase_us(size_t i, size_t j)
{
    if (j <= i) {
        return 0;
    }
    size_t head_end = (i + 15) / 16 * 16;
    if (head_end >= j) {
        return (double)(j - i) * US_SECTOR_ERASE;
    }
    size_t blocks = (j - head_end) / 16, tail = (j - head_end) % 16;
    return (double)(head_end - i + tail) * US_SECTOR_ERASE + (double)blocks * US_BLOCK_ERASE;
}

struct model {
    const struct fl_plan_params *p;
    const uint8_t *data;
    size_t len, nsec, first; /* first: absolute sector number of sector 0 */
    double us_per_byte;
    uint32_t *end; /* per sector: offset just past its last non-0xFF byte (0: blank) */
    double *zsum;  /* prefix sums of per-sector deflate estimates */
};

/* One write of sectors [i, j): sent up to the last data byte of j - 1. */
static double chunk_us(const struct model *m, size_t i, size_t j, uint32_t *out_len)
{
    const struct fl_plan_params *p = m->p;
    size_t start = i * FL_SECTOR;
    size_t stop = m->end[j - 1];
    if (!p->stub) {
        stop = (stop + FL_ROM_BLOCK - 1) / FL_ROM_BLOCK * FL_ROM_BLOCK; /* whole ROM blocks */
    }
    if (stop > m->len) {
        stop = m->len;
    }
    double bytes = (double)(stop - start);
    double wire = bytes * SLIP_GROWTH;
    if (p->compressed) {
        double z = m->zsum[j] - m->zsum[i];
        wire = z < wire ? z : wire;
    }
    double block = p->stub ? FL_STUB_BLOCK : FL_ROM_BLOCK;
    double blocks = wire / block + 1;
    double rt = p->round_trip_us + COMMAND_BYTES * m->us_per_byte;
    double erase = erase_us(m->first + i, m->first + (stop + FL_SECTOR - 1) / FL_SECTOR);
    double program = (bytes + 255) / 256 * US_PAGE_PROGRAM;
    double wire_us = wire * m->us_per_byte;
    *out_len = (uint32_t)(stop - start);
    if (p->stub) {
        /* ACKed blocks are erased and written while the next arrives. */
        double flash = erase + program;
        return 3 * rt + blocks * rt + (wire_us > flash ? wire_us : flash);
    }
    /* The ROM erases up front and programs each block before it answers. */
    return rt + erase + blocks * rt + program + wire_us;
}

static double erase_run_us(const struct model *m, size_t i, size_t j)
{
    return m->p->round_trip_us + COMMAND_BYTES * m->us_per_byte +
           erase_us(m->first + i, m->first + j);
}

enum step { STEP_SKIP, STEP_ERASE, STEP_WRITE };

static int model_init(struct model *m, const uint8_t *data, size_t len, uint32_t addr,
                      const struct fl_plan_params *p)
{
    m->p = p;
    m->data = data;
    m->len = len;
    m->nsec = (len + FL_SECTOR - 1) / FL_SECTOR;
    m->first = addr / FL_SECTOR;
    m->us_per_byte = 10e6 / (p->baud ? p->baud : 115200);
    m->end = malloc(m->nsec * sizeof *m->end);
    m->zsum = malloc((m->nsec + 1) * sizeof *m->zsum);
    if (m->end == NULL || m->zsum == NULL) {
        return FL_ERR_NOMEM;
    }
    uint8_t zbuf[FL_SECTOR + 64];
    m->zsum[0] = 0;
    for (size_t s = 0; s < m->nsec; s++) {
        size_t off = s * FL_SECTOR, n = len - off < FL_SECTOR ? len - off : FL_SECTOR;
        size_t last = n;
        while (last > 0 && data[off + last - 1] == 0xFF) {
            last--;
        }
        m->end[s] = last ? (uint32_t)(off + ((last + 3) & ~(size_t)3)) : 0;
        double z = 8; /* a blank sector costs a few bytes of a zlib stream */
        if (p->compressed && last > 0) {
            uLongf zl = sizeof zbuf;
            z = compress2(zbuf, &zl, data + off, (uLong)n, 1) == Z_OK ? (double)zl : (double)n;
            z *= SLIP_GROWTH;
        }
        m->zsum[s + 1] = m->zsum[s] + z;
    }
    return FL_OK;
}

size_t fl_plan_region(const uint8_t *data, size_t len, uint32_t addr, const uint8_t *state,
                      const struct fl_plan_params *p, struct fl_plan_item *items)
{
    struct model m = {0};
    size_t nsec = (len + FL_SECTOR - 1) / FL_SECTOR;
    double *best = malloc((nsec + 1) * sizeof *best);
    size_t *from = malloc((nsec + 1) * sizeof *from);
    uint8_t *how = malloc(nsec + 1);
    uint32_t *wlen = malloc((nsec + 1) * sizeof *wlen);
    size_t n = 0;
    if (best == NULL || from == NULL || how == NULL || wlen == NULL ||
        model_init(&m, data, len, addr, p) != FL_OK) {
        /* Out of memory: the plan without a model, one write of it all. */
        items[n++] = (struct fl_plan_item){addr, (uint32_t)len, true};
        goto out;
    }
    best[0] = 0;
    for (size_t j = 1; j <= nsec; j++) {
        size_t s = j - 1;
        bool has_data = m.end[s] != 0;
        uint8_t st = state ? state[s] : FL_SECTOR_UNKNOWN;
        best[j] = 1e300;
        /* Left alone: flash already holds what the image wants there. */
        if (st == FL_SECTOR_SAME || (!has_data && st == FL_SECTOR_BLANK)) {
            best[j] = best[s];
            from[j] = s;
            how[j] = STEP_SKIP;
        }
        /* Erased (with its neighbours) but not sent: no data, nothing to keep. */
        for (size_t i = j; i-- > 0;) {
            uint8_t si = state ? state[i] : FL_SECTOR_UNKNOWN;
            if (m.end[i] != 0 || si == FL_SECTOR_SAME) {
                break;
            }
            double c = best[i] + erase_run_us(&m, i, j);
            if (c < best[j]) {
                best[j] = c;
                from[j] = i;
                how[j] = STEP_ERASE;
            }
        }
        /* Written: a write ends where its data ends. */
        if (has_data) {
            for (size_t i = j; i-- > 0;) {
                uint32_t l;
                double c = best[i] + chunk_us(&m, i, j, &l);
                if (c < best[j]) {
                    best[j] = c;
                    from[j] = i;
                    how[j] = STEP_WRITE;
                    wlen[j] = l;
                }
            }
        }
    }
    /* Walk back; erases go first (a write erases only its own sectors),
     * then writes, each kind in ascending order. */
    size_t nerase = 0, nwrite = 0;
    for (size_t j = nsec; j > 0; j = from[j]) {
        if (how[j] == STEP_ERASE) {
            nerase++;
        } else if (how[j] == STEP_WRITE) {
            nwrite++;
        }
    }
    size_t ke = nerase, kw = nerase + nwrite;
    for (size_t j = nsec; j > 0; j = from[j]) {
        uint32_t a = addr + (uint32_t)(from[j] * FL_SECTOR);
        if (how[j] == STEP_ERASE) {
            items[--ke] = (struct fl_plan_item){a, (uint32_t)((j - from[j]) * FL_SECTOR), false};
        } else if (how[j] == STEP_WRITE) {
            items[--kw] = (struct fl_plan_item){a, wlen[j], true};
        }
    }
    n = nerase + nwrite;
    if (p->esp8266_rom) {
        /* Only an item ending at the region's end can spill onto a
         * neighbour: inside the region, what it over-erases is written or
         * erased again later. Starting one sector earlier makes the count
         * even, which the ROM erases exactly (that sector is sent again, or
         * erased again: it belongs to the region too). */
        uint32_t region_end = addr + (uint32_t)(nsec * FL_SECTOR);
        for (size_t k = 0; k < n; k++) {
            uint32_t secs = (items[k].len + FL_SECTOR - 1) / FL_SECTOR;
            if (items[k].addr + secs * FL_SECTOR == region_end && items[k].addr > addr &&
                esp8266_spills(items[k].addr / FL_SECTOR, secs)) {
                items[k].addr -= FL_SECTOR;
                items[k].len += FL_SECTOR;
            }
        }
    }
out:
    free(m.end);
    free(m.zsum);
    free(best);
    free(from);
    free(how);
    free(wlen);
    return n;
}
