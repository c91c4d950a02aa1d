/* espprov flash image-info FILE: offline, no board needed. */
#include <stdio.h>
#include <stdlib.h>

#include "provision/cli/cli_flash.h"

static void print_json(const char *path, size_t len, const struct fl_image_info *i)
{
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    printf(", \"size\": %zu, \"chip\": ", len);
    cli_json_string(stdout, i->chip == FL_CHIP_AUTO ? "unknown" : fl_chip_name(i->chip));
    const char *mode = fl_flash_mode_name(i->flash_mode);
    printf(", \"magic\": %u, \"entry\": %u, \"flash_mode\": \"%s\", \"flash_size\": \"%s\", "
           "\"flash_freq\": \"%s\", \"segments\": [",
           i->magic, (unsigned)i->entry, mode ? mode : "?",
           fl_image_size_text(i->chip, i->size_freq), fl_image_freq_text(i->chip, i->size_freq));
    for (size_t k = 0; k < i->nseg; k++) {
        printf("%s{\"load_addr\": %u, \"size\": %u, \"file_offset\": %u}", k ? ", " : "",
               (unsigned)i->seg[k].load_addr, (unsigned)i->seg[k].len,
               (unsigned)i->seg[k].file_offset);
    }
    printf("], \"checksum_ok\": %s, \"hash_appended\": %s, \"sha256_ok\": %s, \"valid\": %s",
           i->checksum == i->checksum_calc ? "true" : "false", i->hash_appended ? "true" : "false",
           i->sha_ok ? "true" : "false", i->valid ? "true" : "false");
    if (i->has_ext) {
        printf(", \"chip_id\": %u", i->chip_id);
    }
    printf("}\n");
}

static void print_text(const char *path, size_t len, const struct fl_image_info *i)
{
    const char *mode = fl_flash_mode_name(i->flash_mode);
    printf("image:     %s (%zu bytes)\n", path, len);
    if (i->magic == 0xEA) {
        printf("format:    ESP8266 v2 (irom segment of %u bytes, then a regular image)\n",
               (unsigned)i->v2_irom_len);
    }
    if (i->has_ext) {
        printf("chip:      %s (chip id %u)\n",
               i->chip == FL_CHIP_AUTO ? "unknown" : fl_chip_name(i->chip), i->chip_id);
    } else {
        printf("chip:      %s\n", i->chip == FL_CHIP_AUTO ? "unknown" : fl_chip_name(i->chip));
    }
    printf("entry:     0x%08x\n", (unsigned)i->entry);
    printf("flash:     mode %s, size %s, freq %s (header bytes 0x%02x 0x%02x)\n", mode ? mode : "?",
           fl_image_size_text(i->chip, i->size_freq), fl_image_freq_text(i->chip, i->size_freq),
           i->flash_mode, i->size_freq);
    printf("segments:  %zu\n", i->nseg);
    for (size_t k = 0; k < i->nseg; k++) {
        printf("  %2zu  load 0x%08x  %7u bytes  at file offset 0x%x\n", k,
               (unsigned)i->seg[k].load_addr, (unsigned)i->seg[k].len,
               (unsigned)i->seg[k].file_offset);
    }
    if (i->checksum == i->checksum_calc) {
        printf("checksum:  0x%02x (valid)\n", i->checksum);
    } else {
        printf("checksum:  0x%02x (INVALID, computed 0x%02x)\n", i->checksum, i->checksum_calc);
    }
    if (i->hash_appended) {
        printf("sha256:    appended, %s\n", i->sha_ok ? "valid" : "INVALID");
    }
    if (i->image_len < len) {
        printf("trailing:  %zu bytes after the image\n", len - i->image_len);
    }
}

int flash_cmd_image_info(struct flash_cli *c, int argc, char **argv)
{
    if (argc != 1) {
        return cli_usage_error(c->usage, "flash image-info needs one FILE");
    }
    uint8_t *data;
    size_t len;
    int status = flash_load_file(argv[0], &data, &len);
    if (status != CLI_OK) {
        return status;
    }
    struct fl_image_info info;
    struct fl_error err = {0};
    if (fl_image_parse(data, len, c->opt.chip, &info, &err) != FL_OK) {
        free(data);
        return cli_fail(NULL, "%s: %s", argv[0], err.msg);
    }
    if (c->json) {
        print_json(argv[0], len, &info);
    } else {
        print_text(argv[0], len, &info);
    }
    free(data);
    if (!info.valid) {
        return cli_finish(cli_fail(NULL, "%s: the image does not validate (%s)", argv[0],
                                   info.checksum != info.checksum_calc ? "checksum mismatch"
                                                                       : "SHA-256 mismatch"));
    }
    return cli_finish(CLI_OK);
}
