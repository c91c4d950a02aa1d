/* The ESP8266 erase-size workaround and sparse write planning. */
#include <stdlib.h>

#include "flasher/flasher.h"
#include "test.h"

/* The ESP8266 ROM's erase (esp-protocol.md §2.4): for x requested sectors at
 * start sector s it erases min(x, t) + x sectors, t = 16 - s % 16. */
static uint32_t rom_erased_sectors(uint32_t offset, uint32_t erase_size)
{
    uint32_t x = (erase_size + 4095) / 4096;
    uint32_t t = 16 - (offset / 4096) % 16;
    return (x < t ? x : t) + x;
}

TEST(esp8266_erase_size_worked_example)
{
    /* offset 0, 20 sectors: esptool sends 0xA000, the ROM erases 20. */
    ASSERT_EQ_UINT(fl_esp8266_erase_size(0, 0x14000), 0xA000);
    ASSERT_EQ_UINT(rom_erased_sectors(0, 0xA000), 20);
}

TEST(esp8266_erase_size_never_under_erases)
{
    for (uint32_t s = 0; s < 48; s++) {
        for (uint32_t n = 1; n <= 80; n++) {
            uint32_t off = s * 4096;
            uint32_t got = rom_erased_sectors(off, fl_esp8266_erase_size(off, n * 4096));
            uint32_t t = 16 - s % 16;
            /* Exact, except odd counts below 2t, which cannot be exact: one more. */
            uint32_t want = (n % 2 == 1 && n < 2 * t) ? n + 1 : n;
            ASSERT_MSG(got == want, "s=%u n=%u: ROM erases %u, expected %u", s, n, got, want);
        }
    }
}

static uint8_t *make_image(size_t len)
{
    uint8_t *b = malloc(len);
    memset(b, 0xFF, len);
    return b;
}

/* Checks the plan covers every sector exactly once per kind and sends all data. */
static bool plan_consistent(const uint8_t *d, size_t len, uint32_t addr,
                            const struct fl_plan_item *it, size_t n, char *why)
{
    size_t nsec = (len + 4095) / 4096;
    uint8_t *cover = calloc(nsec, 1);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (it[i].addr % 4096 != 0 || it[i].addr < addr) {
            sprintf(why, "item %zu misaligned", i);
            ok = false;
            break;
        }
        if (!it[i].write && it[i].len % 4096 != 0) {
            sprintf(why, "erase item %zu not whole sectors", i);
            ok = false;
        }
        for (uint32_t o = it[i].addr - addr; o < it[i].addr - addr + it[i].len; o += 4096) {
            cover[o / 4096] |= it[i].write ? 2 : 1;
        }
    }
    for (size_t s = 0; s < nsec && ok; s++) {
        size_t n2 = len - s * 4096 < 4096 ? len - s * 4096 : 4096;
        bool blank = true;
        for (size_t k = 0; k < n2; k++) {
            blank = blank && d[s * 4096 + k] == 0xFF;
        }
        if (cover[s] == 0) {
            sprintf(why, "sector %zu neither erased nor written", s);
            ok = false;
        } else if (!blank && !(cover[s] & 2)) {
            sprintf(why, "sector %zu holds data but is not written", s);
            ok = false;
        }
    }
    free(cover);
    return ok;
}

TEST(sparse_filesystem_sends_only_data)
{
    size_t len = 1 << 20;
    uint8_t *d = make_image(len);
    memset(d, 0x42, 20000);           /* files at the start */
    memset(d + 0x80000, 0x17, 100);   /* a page in the middle */
    memset(d + len - 256, 0x00, 256); /* metadata at the end */
    struct fl_plan_item items[1024];
    ASSERT(fl_plan_max_items(len) <= 1024);
    size_t n = fl_plan_region(d, len, 0x200000, 0, items);
    char why[128] = "";
    ASSERT_MSG(plan_consistent(d, len, 0x200000, items, n, why), "%s", why);
    uint64_t sent = 0;
    bool seen_write = false;
    for (size_t i = 0; i < n; i++) {
        if (items[i].write) {
            sent += items[i].len;
            seen_write = true;
        } else {
            ASSERT_MSG(!seen_write, "an erase after a write would wipe data");
        }
    }
    ASSERT_EQ_UINT(sent, 5 * 4096 + 4096 + 4096);
    free(d);
}

TEST(compressed_plan_merges_short_gaps)
{
    size_t len = 64 * 4096;
    uint8_t *d = make_image(len);
    memset(d, 1, 4096);
    memset(d + 4 * 4096, 1, 4096); /* 3-sector gap: merged */
    memset(d + 40 * 4096, 1, 10);  /* 35-sector gap: skipped */
    struct fl_plan_item items[256];
    size_t n = fl_plan_region(d, len, 0, FL_PLAN_COMPRESSED, items);
    char why[128] = "";
    ASSERT_MSG(plan_consistent(d, len, 0, items, n, why), "%s", why);
    ASSERT_EQ_INT(n, 4); /* erase the two long gaps; two writes */
    ASSERT(!items[0].write && !items[1].write);
    ASSERT_EQ_UINT(items[0].addr, 5 * 4096);
    ASSERT_EQ_UINT(items[1].addr, 41 * 4096);
    ASSERT_EQ_UINT(items[2].len, 5 * 4096);
    ASSERT_EQ_UINT(items[3].addr, 40 * 4096);
    free(d);
}

TEST(blank_region_is_one_erase)
{
    size_t len = 10000;
    uint8_t *d = make_image(len);
    struct fl_plan_item items[16];
    ASSERT_EQ_INT(fl_plan_region(d, len, 0x3000, 0, items), 1);
    ASSERT(!items[0].write);
    ASSERT_EQ_UINT(items[0].addr, 0x3000);
    ASSERT_EQ_UINT(items[0].len, 3 * 4096);
    free(d);
}

TEST(esp8266_plan_never_spills_past_the_region)
{
    /* Sweep data layouts; with the ROM model, no FLASH_BEGIN may erase
     * beyond the region's last sector unless the region is a single item. */
    for (uint32_t start = 0; start < 20; start++) {
        for (uint32_t nsec = 2; nsec < 24; nsec++) {
            for (uint32_t hole = 0; hole < nsec; hole++) {
                size_t len = nsec * 4096;
                uint8_t *d = make_image(len);
                for (uint32_t s = 0; s < nsec; s++) {
                    if (s != hole && s != (hole + 3) % nsec) {
                        d[s * 4096 + 7] = 0;
                    }
                }
                struct fl_plan_item items[64];
                uint32_t addr = start * 4096;
                size_t n = fl_plan_region(d, len, addr, FL_PLAN_ESP8266_ROM, items);
                char why[128] = "";
                ASSERT_MSG(plan_consistent(d, len, addr, items, n, why), "%s", why);
                for (size_t i = 0; i < n && n > 1; i++) {
                    uint32_t erased = rom_erased_sectors(
                        items[i].addr, fl_esp8266_erase_size(items[i].addr, items[i].len));
                    uint32_t end = items[i].addr + erased * 4096;
                    ASSERT_MSG(end <= addr + len || items[i].addr == addr,
                               "start %u nsec %u hole %u: item %zu at 0x%x erases to 0x%x", start,
                               nsec, hole, i, items[i].addr, end);
                }
                free(d);
            }
        }
    }
}

TEST(timeouts_scale)
{
    ASSERT_EQ_INT(fl_timeout_for(40000, 1000), 3000);
    ASSERT_EQ_INT(fl_timeout_for(40000, 1000000), 40000);
    ASSERT_EQ_INT(fl_timeout_for(8000, 4000000), 32000);
}

TEST_MAIN(RUN(esp8266_erase_size_worked_example); RUN(esp8266_erase_size_never_under_erases);
          RUN(sparse_filesystem_sends_only_data); RUN(compressed_plan_merges_short_gaps);
          RUN(blank_region_is_one_erase); RUN(esp8266_plan_never_spills_past_the_region);
          RUN(timeouts_scale);)
