/*
 * The simulator recognises the real flasher stubs (fetched into stubs/ next
 * to espsim) by where and what was loaded, runs them as their family, and
 * hangs, as a real CPU would crash, on a jump that is not the image's entry
 * or that lands in data RAM.
 */
#include "espsim_test.h"
#include "test.h"

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>

struct img {
    uint32_t entry, text_start, data_start;
    uint8_t *text, *data;
    size_t text_len, data_len;
};

static uint8_t *b64(const char *s, size_t *len)
{
    size_t n = strlen(s);
    uint8_t *out = malloc(n / 4 * 3 + 1);
    int got = out != NULL ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : -1;
    while (n > 0 && s[n - 1] == '=') {
        n--;
        got--;
    }
    *len = got > 0 ? (size_t)got : 0;
    return out;
}

/* stubs/<family>/<chip>.json next to the espsim under test. */
static int load_img(const char *family, const char *chip, struct img *im)
{
    const char *sim = getenv("ESPSIM");
    char dir[PATH_MAX], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s", sim != NULL ? sim : "build/espsim");
    snprintf(path, sizeof path, "%s/stubs/%s/%s.json", dirname(dir), family, chip);
    json_t *j = json_load_file(path, 0, NULL);
    if (j == NULL) {
        printf("# %s: missing (run make stubs)\n", path);
        return -1;
    }
    im->entry = (uint32_t)json_integer_value(json_object_get(j, "entry"));
    im->text_start = (uint32_t)json_integer_value(json_object_get(j, "text_start"));
    im->data_start = (uint32_t)json_integer_value(json_object_get(j, "data_start"));
    im->text = b64(json_string_value(json_object_get(j, "text")), &im->text_len);
    im->data = b64(json_string_value(json_object_get(j, "data")), &im->data_len);
    json_decref(j);
    return 0;
}

static void free_img(struct img *im)
{
    free(im->text);
    free(im->data);
}

static int load_segment(struct board *b, uint32_t addr, const uint8_t *p, size_t len)
{
    uint8_t r[64];
    uint32_t blocks = (uint32_t)((len + 0x17FF) / 0x1800);
    uint32_t begin[4] = {(uint32_t)len, blocks, 0x1800, addr};
    if (board_words(b, 0x05, begin, 4, r, sizeof r) < 10 || r[8] != 0) {
        return -1;
    }
    for (uint32_t i = 0; i < blocks; i++) {
        size_t off = (size_t)i * 0x1800, n = len - off < 0x1800 ? len - off : 0x1800;
        if (board_data(b, 0x07, i, p + off, n, r, sizeof r) < 10 || r[8] != 0) {
            return -1;
        }
    }
    return 0;
}

/* Sends MEM_END(jump to entry) raw and collects what comes back for a while. */
static size_t mem_end_raw(struct board *b, uint32_t entry, uint8_t *raw, size_t cap)
{
    uint8_t req[8 + 8] = {0x00, 0x06, 8, 0};
    t_put32(req + 12, entry);
    uint8_t enc[64];
    size_t e = 0, got = 0;
    enc[e++] = 0xC0;
    for (size_t i = 0; i < sizeof req; i++) {
        if (req[i] == 0xC0 || req[i] == 0xDB) {
            enc[e++] = 0xDB;
            enc[e++] = req[i] == 0xC0 ? 0xDC : 0xDD;
        } else {
            enc[e++] = req[i];
        }
    }
    enc[e++] = 0xC0;
    if (write(b->fd, enc, e) != (ssize_t)e) {
        return 0;
    }
    for (int i = 0; i < 40 && got < cap; i++) {
        ssize_t k = read(b->fd, raw + got, cap - got);
        if (k > 0) {
            got += (size_t)k;
        }
        usleep(20000);
    }
    return got;
}

static const uint8_t hello[6] = {0xC0, 'O', 'H', 'A', 'I', 0xC0};

/* Uploads text and data as espprov and esptool do, jumps to `entry`, and
 * says whether the greeting came (looked for in the raw bytes, as espprov
 * does: the reply before it may be garbled). */
static bool run_image(struct board *b, const struct img *im, uint32_t entry)
{
    uint8_t raw[256];
    if (board_sync(b) != 8 || load_segment(b, im->text_start, im->text, im->text_len) != 0 ||
        (im->data_len > 0 && load_segment(b, im->data_start, im->data, im->data_len) != 0)) {
        return false;
    }
    size_t got = mem_end_raw(b, entry, raw, sizeof raw);
    return got >= 6 && memcmp(raw + got - 6, hello, 6) == 0;
}

static bool log_has(const struct board *b, const char *needle)
{
    static char text[1 << 16];
    file_text(b->log, text, sizeof text);
    return strstr(text, needle) != NULL;
}

TEST(real_stubs_are_recognised_per_family)
{
    static const char *const chips[] = {"esp8266", "esp32"};
    static const char *const families[] = {"legacy", "new"};
    for (size_t c = 0; c < 2; c++) {
        for (size_t f = 0; f < 2; f++) {
            struct img im;
            ASSERT(load_img(families[f], chips[c], &im) == 0);
            struct board b;
            ASSERT_MSG(board_start(&b, chips[c], NULL) == 0, "%s", b.err);
            ASSERT_MSG(run_image(&b, &im, im.entry), "%s %s: no OHAI", families[f], chips[c]);
            char want[64];
            snprintf(want, sizeof want, "the real %s stub for %s", families[f], chips[c]);
            ASSERT_MSG(log_has(&b, want), "log lacks '%s'", want);
            snprintf(want, sizeof want, "stub: started (%s)", families[f]);
            ASSERT_MSG(log_has(&b, want), "log lacks '%s'", want);
            board_stop(&b);
            free_img(&im);
        }
    }
}

TEST(a_jump_off_the_entry_point_hangs)
{
    struct img im;
    ASSERT(load_img("legacy", "esp32", &im) == 0);
    struct board b;
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    /* Inside the text, but not where the image starts: garbage execution. */
    ASSERT(!run_image(&b, &im, im.text_start + 0x10));
    ASSERT(log_has(&b, "is not the legacy stub's entry point"));
    ASSERT_EQ_INT(board_sync(&b), 0); /* nothing answers any more */
    board_stop(&b);
    free_img(&im);
}

TEST(an_entry_in_data_ram_hangs)
{
    /* An unknown image whose entry lies in the segment loaded to DRAM. */
    uint8_t code[256];
    for (size_t i = 0; i < sizeof code; i++) {
        code[i] = (uint8_t)(i * 7);
    }
    struct img im = {.entry = 0x3FFDE010,
                     .text_start = 0x400BE000,
                     .data_start = 0x3FFDE000,
                     .text = code,
                     .text_len = sizeof code,
                     .data = code,
                     .data_len = 64};
    struct board b;
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT(!run_image(&b, &im, im.entry));
    ASSERT(log_has(&b, "data RAM, not in the image's text"));
    board_stop(&b);
    /* The same image jumping into its text runs as the synthetic stub. */
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT(run_image(&b, &im, im.text_start + 4));
    ASSERT(log_has(&b, "an unknown image, run as a new stub"));
    board_stop(&b);
}

TEST(new_stub_on_esp32_garbles_the_mem_end_reply)
{
    /* esp-flasher-stub switches the ESP32's clock before the ROM's MEM_END
     * reply has left the UART: its tail arrives garbled, its closing END
     * lost, and only then the greeting comes, at the right rate. */
    struct img im;
    ASSERT(load_img("new", "esp32", &im) == 0);
    struct board b;
    uint8_t raw[256];
    ASSERT_MSG(board_start(&b, "esp32", NULL) == 0, "%s", b.err);
    ASSERT(board_sync(&b) == 8);
    ASSERT(load_segment(&b, im.text_start, im.text, im.text_len) == 0);
    ASSERT(load_segment(&b, im.data_start, im.data, im.data_len) == 0);
    size_t got = mem_end_raw(&b, im.entry, raw, sizeof raw);
    ASSERT(got >= 20);
    ASSERT_MEMEQ(raw + got - 6, hello, 6);
    ASSERT(raw[got - 7] != 0xC0); /* the reply before it was never closed */
    board_stop(&b);
    free_img(&im);
}

TEST_MAIN(RUN(real_stubs_are_recognised_per_family); RUN(a_jump_off_the_entry_point_hangs);
          RUN(an_entry_in_data_ram_hangs); RUN(new_stub_on_esp32_garbles_the_mem_end_reply);)
