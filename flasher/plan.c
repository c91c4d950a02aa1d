/*
 * Sparse writes: a region is erased as a whole but its runs of 0xFF sectors
 * are erased, not sent. A FLASH_BEGIN erases the sectors it covers, so every
 * skipped run is whole sectors and is erased before any write starts.
 */
#include "flasher/flasher_priv.h"

/* Shortest run of blank sectors worth its own erase: uncompressed, a blank
 * sector costs 4 KiB on the wire, far more than two extra round trips;
 * compressed it costs a few bytes, so only long runs pay for the split. */
#define GAP_MIN_RAW        1
#define GAP_MIN_COMPRESSED 16

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

size_t fl_plan_region(const uint8_t *data, size_t len, uint32_t addr, unsigned flags,
                      struct fl_plan_item *items)
{
    size_t nsec = (len + FL_SECTOR - 1) / FL_SECTOR;
    size_t gap_min = (flags & FL_PLAN_COMPRESSED) ? GAP_MIN_COMPRESSED : GAP_MIN_RAW;
    size_t nerase = 0;
    struct fl_plan_item *writes = items + fl_plan_max_items(len) / 2;
    size_t nwrite = 0;
    size_t i = 0;
    bool any_data = false;
    while (i < nsec) {
        size_t j = i;
        bool blank = true;
        while (j < nsec) {
            size_t off = j * FL_SECTOR;
            size_t n = len - off < FL_SECTOR ? len - off : FL_SECTOR;
            bool b = fl_is_blank(data + off, n);
            if (j == i) {
                blank = b;
            } else if (b != blank) {
                break;
            }
            j++;
        }
        /* Sectors [i, j) share blankness. */
        if (blank && j - i >= gap_min) {
            items[nerase++] = (struct fl_plan_item){addr + (uint32_t)(i * FL_SECTOR),
                                                    (uint32_t)((j - i) * FL_SECTOR), false};
        } else {
            size_t end = j * FL_SECTOR < len ? j * FL_SECTOR : len;
            any_data = any_data || !blank;
            if (nwrite > 0 &&
                writes[nwrite - 1].addr + writes[nwrite - 1].len == addr + i * FL_SECTOR) {
                writes[nwrite - 1].len = (uint32_t)(end - (writes[nwrite - 1].addr - addr));
            } else {
                writes[nwrite++] = (struct fl_plan_item){addr + (uint32_t)(i * FL_SECTOR),
                                                         (uint32_t)(end - i * FL_SECTOR), true};
            }
        }
        i = j;
    }
    if (!any_data) {
        /* Nothing but 0xFF: one erase covers it all. */
        items[0] = (struct fl_plan_item){addr, (uint32_t)(nsec * FL_SECTOR), false};
        return 1;
    }
    for (size_t k = 0; k < nwrite; k++) {
        items[nerase + k] = writes[k];
    }
    size_t n = nerase + nwrite;
    if (flags & FL_PLAN_ESP8266_ROM) {
        /* Only an item ending at the region's end can spill onto a
         * neighbour: inside the region, what it over-erases is written or
         * erased again later. Starting one sector earlier makes the count
         * even, which the ROM erases exactly. */
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
    return n;
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
