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

/* Checks a plan: every sector with data is written, every sector whose
 * flash is not known right is erased or written, no sector the flash
 * already holds right is erased without being written, and no erase comes
 * after a write. */
static bool plan_consistent(const uint8_t *d, size_t len, uint32_t addr, const uint8_t *state,
                            const struct fl_plan_item *it, size_t n, char *why)
{
    size_t nsec = (len + 4095) / 4096;
    uint8_t *cover = calloc(nsec, 1);
    bool ok = true, seen_write = false;
    for (size_t i = 0; i < n && ok; i++) {
        if (it[i].addr % 4096 != 0 || it[i].addr < addr || it[i].addr + it[i].len > addr + len) {
            sprintf(why, "item %zu (0x%x+0x%x) misplaced", i, it[i].addr, it[i].len);
            ok = false;
            break;
        }
        if (!it[i].write && (it[i].len % 4096 != 0 || seen_write)) {
            sprintf(why, "erase item %zu not whole sectors, or after a write", i);
            ok = false;
        }
        seen_write = seen_write || it[i].write;
        for (uint32_t o = it[i].addr - addr; o < it[i].addr - addr + it[i].len; o += 4096) {
            cover[o / 4096] |= it[i].write ? 2 : 1;
        }
    }
    for (size_t s = 0; s < nsec && ok; s++) {
        size_t n2 = len - s * 4096 < 4096 ? len - s * 4096 : 4096;
        size_t last = 0; /* the write must reach the sector's last data byte */
        for (size_t k = 0; k < n2; k++) {
            last = d[s * 4096 + k] != 0xFF ? k + 1 : last;
        }
        uint8_t st = state ? state[s] : FL_SECTOR_UNKNOWN;
        bool written_to_end = false;
        for (size_t i = 0; i < n; i++) {
            written_to_end = written_to_end || (it[i].write && it[i].addr <= addr + s * 4096 &&
                                                it[i].addr + it[i].len >= addr + s * 4096 + last);
        }
        if (last > 0 && st != FL_SECTOR_SAME && !written_to_end) {
            sprintf(why, "sector %zu holds data but is not written (to its end)", s);
            ok = false;
        } else if (st == FL_SECTOR_UNKNOWN && cover[s] == 0) {
            sprintf(why, "sector %zu neither erased nor written", s);
            ok = false;
        } else if (st == FL_SECTOR_SAME && cover[s] == 1 && last > 0) {
            sprintf(why, "sector %zu is right in flash but erased, not written", s);
            ok = false;
        }
    }
    free(cover);
    return ok;
}

static struct fl_plan_params params(uint32_t baud, bool stub, bool compressed)
{
    struct fl_plan_params p;
    fl_plan_params_init(&p);
    p.baud = baud;
    p.stub = stub;
    p.compressed = compressed;
    return p;
}

static uint64_t sent_bytes(const struct fl_plan_item *it, size_t n, size_t *nerase)
{
    uint64_t sent = 0;
    *nerase = 0;
    for (size_t i = 0; i < n; i++) {
        if (it[i].write) {
            sent += it[i].len;
        } else {
            (*nerase)++;
        }
    }
    return sent;
}

TEST(sparse_filesystem_over_old_data_erases_the_gaps)
{
    size_t len = 1 << 20;
    uint8_t *d = make_image(len);
    memset(d, 0x42, 20000);           /* files at the start */
    memset(d + 0x80000, 0x17, 100);   /* a page in the middle */
    memset(d + len - 256, 0x00, 256); /* metadata at the end */
    struct fl_plan_item items[1024];
    ASSERT(fl_plan_max_items(len) <= 1024);
    /* ROM, raw, 115200: every blank sector sent would cost 0.36 s. */
    struct fl_plan_params p = params(115200, false, false);
    size_t n = fl_plan_region(d, len, 0x200000, NULL, &p, items);
    char why[160] = "";
    ASSERT_MSG(plan_consistent(d, len, 0x200000, NULL, items, n, why), "%s", why);
    size_t nerase;
    uint64_t sent = sent_bytes(items, n, &nerase);
    ASSERT_MSG(sent <= 20480 + 1024 + 4096, "sent %llu", (unsigned long long)sent);
    ASSERT(nerase >= 1);
    free(d);
}

TEST(blank_flash_is_not_erased_and_scattered_pages_stay_small)
{
    /* A SPIFFS-like image: files in the first sectors, then a 4-byte magic
     * at the end of the first page of every 8 KiB block. */
    size_t len = 64 * 4096;
    uint8_t *d = make_image(len);
    memset(d, 0x42, 3 * 4096);
    for (size_t b = 0; b < len; b += 8192) {
        memset(d + b + 252, 0x29, 4);
    }
    uint8_t state[64];
    memset(state, FL_SECTOR_BLANK, sizeof state);
    struct fl_plan_item items[256];
    struct fl_plan_params p = params(921600, true, true);
    size_t n = fl_plan_region(d, len, 0x200000, state, &p, items);
    char why[160] = "";
    ASSERT_MSG(plan_consistent(d, len, 0x200000, state, items, n, why), "%s", why);
    size_t nerase;
    (void)sent_bytes(items, n, &nerase);
    ASSERT_EQ_INT(nerase, 0); /* blank already: nothing to erase */
    for (size_t i = 0; i < n; i++) {
        ASSERT(items[i].write);
        /* A write ends with its data: no trailing 0xFF pages programmed. */
        const uint8_t *end = d + (items[i].addr - 0x200000) + items[i].len;
        ASSERT(end[-1] != 0xFF);
    }
    free(d);
}

TEST(blocks_already_right_are_left_alone)
{
    size_t len = 32 * 4096;
    uint8_t *d = make_image(len);
    memset(d, 0x11, len); /* all data */
    uint8_t state[32];
    memset(state, FL_SECTOR_SAME, 16);
    memset(state + 16, FL_SECTOR_UNKNOWN, 16);
    struct fl_plan_item items[128];
    struct fl_plan_params p = params(921600, true, true);
    size_t n = fl_plan_region(d, len, 0x10000, state, &p, items);
    char why[160] = "";
    ASSERT_MSG(plan_consistent(d, len, 0x10000, state, items, n, why), "%s", why);
    ASSERT_EQ_INT(n, 1);
    ASSERT(items[0].write);
    ASSERT_EQ_UINT(items[0].addr, 0x20000);
    ASSERT_EQ_UINT(items[0].len, 0x10000);
    free(d);
}

TEST(far_apart_data_is_two_writes)
{
    size_t len = 64 * 4096;
    uint8_t *d = make_image(len);
    memset(d, 1, 4096);
    memset(d + 40 * 4096, 1, 10);
    uint8_t state[64];
    memset(state, FL_SECTOR_BLANK, sizeof state);
    struct fl_plan_item items[256];
    struct fl_plan_params p = params(921600, true, true);
    size_t n = fl_plan_region(d, len, 0, state, &p, items);
    char why[160] = "";
    ASSERT_MSG(plan_consistent(d, len, 0, state, items, n, why), "%s", why);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_UINT(items[0].addr, 0);
    ASSERT_EQ_UINT(items[0].len, 4096);
    ASSERT_EQ_UINT(items[1].addr, 40 * 4096);
    ASSERT_EQ_UINT(items[1].len, 12); /* to the last data byte, rounded to 4 */
    free(d);
}

TEST(blank_image_over_unknown_flash_is_one_erase)
{
    size_t len = 10000;
    uint8_t *d = make_image(len);
    struct fl_plan_item items[16];
    struct fl_plan_params p = params(115200, false, false);
    ASSERT_EQ_INT(fl_plan_region(d, len, 0x3000, NULL, &p, items), 1);
    ASSERT(!items[0].write);
    ASSERT_EQ_UINT(items[0].addr, 0x3000);
    ASSERT_EQ_UINT(items[0].len, 3 * 4096);
    free(d);
}

TEST(esp8266_plan_never_spills_past_the_region)
{
    /* Sweep data layouts; with the ROM model, no FLASH_BEGIN may erase
     * beyond the region's last sector unless the region is a single item. */
    struct fl_plan_params p = params(115200, false, false);
    p.esp8266_rom = true;
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
                size_t n = fl_plan_region(d, len, addr, NULL, &p, items);
                char why[160] = "";
                ASSERT_MSG(plan_consistent(d, len, addr, NULL, items, n, why), "%s", why);
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
          RUN(sparse_filesystem_over_old_data_erases_the_gaps);
          RUN(blank_flash_is_not_erased_and_scattered_pages_stay_small);
          RUN(blocks_already_right_are_left_alone); RUN(far_apart_data_is_two_writes);
          RUN(blank_image_over_unknown_flash_is_one_erase);
          RUN(esp8266_plan_never_spills_past_the_region); RUN(timeouts_scale);)
