/* What `espprov spiffs` prints: sizes for humans, file listings. */
#include <stdio.h>

#include "provision/cli/cli.h"
#include "provision/cli/cli_spiffs.h"
#include "spiffsgen/spiffsgen.h"

/* "1 MiB", "64 KiB" or "123 456 bytes". */
const char *cli_spiffs_human(uint64_t v, char *buf, size_t len)
{
    if (v != 0 && v % (1u << 20) == 0) {
        snprintf(buf, len, "%llu MiB", (unsigned long long)(v >> 20));
    } else if (v != 0 && v % 1024 == 0) {
        snprintf(buf, len, "%llu KiB", (unsigned long long)(v >> 10));
    } else {
        char digits[32], out[48];
        int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), j = 0;
        for (int i = 0; i < n; i++) {
            if (i > 0 && (n - i) % 3 == 0) {
                out[j++] = ' ';
            }
            out[j++] = digits[i];
        }
        out[j] = '\0';
        snprintf(buf, len, "%s bytes", out);
    }
    return buf;
}

void cli_spiffs_print_list(const struct sg_image *im, const struct sg_params *p, const char *preset,
                           bool json)
{
    struct sg_stats st;
    sg_image_stats(im, &st);
    uint64_t bytes = 0;
    size_t n = sg_image_count(im);
    if (json) {
        printf("{\"preset\":");
        cli_json_string(stdout, preset);
        printf(",\"page_size\":%u,\"block_size\":%u,\"files\":[", p->page_size, p->block_size);
    }
    for (size_t i = 0; i < n; i++) {
        const struct sg_entry *e = sg_image_entry(im, i);
        bytes += e->size;
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            cli_json_string(stdout, e->name);
            printf(",\"size\":%u}", e->size);
        } else {
            cli_line(stdout, "%10u  %s", e->size, e->name);
        }
    }
    if (json) {
        printf("],\"stats\":{\"files\":%zu,\"bytes\":%llu,\"blocks\":%u,\"pages_total\":%u,"
               "\"pages_used\":%u,\"pages_deleted\":%u,\"pages_free\":%u}}\n",
               n, (unsigned long long)bytes, st.blocks, st.pages_total, st.pages_used,
               st.pages_deleted, st.pages_free);
    } else {
        printf("%zu files, %llu bytes; pages: %u used, %u deleted, %u free of %u (%u bytes "
               "each)\n",
               n, (unsigned long long)bytes, st.pages_used, st.pages_deleted, st.pages_free,
               st.pages_total, p->page_size);
    }
}
