/* espprov flash write | read | erase | verify. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provision/cli/cli_flash.h"
#include "provision/core/core.h"

static const char *verify_text(const struct fl_region_result *r)
{
    switch (r->verify) {
    case FL_VERIFY_MD5:
        return "md5";
    case FL_VERIFY_UNCHANGED:
        return "unchanged";
    default:
        return "unavailable";
    }
}

static void print_write_json(const struct flash_cli *c, const struct fl_region_result *res,
                             size_t n, char **files)
{
    printf("{\"chip\": ");
    cli_json_string(stdout, c->s.info.name);
    printf(", \"loader\": \"%s\", \"regions\": [", c->s.info.stub_running ? "stub" : "rom");
    for (size_t i = 0; i < n; i++) {
        const struct fl_region_result *r = &res[i];
        char md5[33];
        flash_hex(r->md5, 16, md5);
        printf("%s{\"address\": %u, \"file\": ", i ? ", " : "", (unsigned)r->addr);
        cli_json_string(stdout, files[i]);
        printf(", \"size\": %llu, \"written\": %llu, \"sent\": %llu, \"compressed\": %s, "
               "\"wire_bytes\": %llu, \"patched\": %s, \"verified\": \"%s\", \"md5\": \"%s\", "
               "\"seconds\": %.3f}",
               (unsigned long long)r->len, (unsigned long long)r->written,
               (unsigned long long)r->sent, r->compressed ? "true" : "false",
               (unsigned long long)r->wire_bytes, r->patched ? "true" : "false", verify_text(r),
               md5, r->seconds);
    }
    printf("], \"bytes_on_wire\": %llu, \"retries\": %llu}\n",
           (unsigned long long)c->s.stats.bytes_sent, (unsigned long long)c->s.stats.retries);
}

static void print_write_text(const struct fl_region_result *r)
{
    if (r->verify == FL_VERIFY_UNCHANGED) {
        printf("skipped %llu bytes at 0x%08x: unchanged (MD5 matches)\n",
               (unsigned long long)r->len, (unsigned)r->addr);
        return;
    }
    printf("wrote %llu bytes (%llu sent%s) at 0x%08x in %.1f s, %s%s\n", (unsigned long long)r->len,
           (unsigned long long)r->sent, r->compressed ? ", compressed" : "", (unsigned)r->addr,
           r->seconds,
           r->verify == FL_VERIFY_MD5 ? "verified (MD5)"
                                      : "NOT verified (the ESP8266 ROM has no MD5; use --stub)",
           r->patched ? ", flash settings patched" : "");
}

int flash_cmd_write(struct flash_cli *c, int argc, char **argv)
{
    if (argc < 2 || argc % 2 != 0) {
        return cli_usage_error(c->usage, "flash write needs ADDR FILE pairs");
    }
    size_t n = (size_t)argc / 2;
    struct fl_region *regions = calloc(n, sizeof *regions);
    struct fl_region_result *res = calloc(n, sizeof *res);
    uint32_t *addrs = calloc(n, sizeof *addrs);
    char **files = calloc(n, sizeof *files);
    int status = regions && res && addrs && files ? CLI_OK : cli_fail(NULL, "out of memory");
    for (size_t i = 0; i < n && status == CLI_OK; i++) {
        if (!flash_parse_u32(c->usage, "address", argv[2 * i], &addrs[i])) {
            status = CLI_USAGE;
            break;
        }
        uint8_t *data;
        size_t len;
        files[i] = argv[2 * i + 1];
        if ((status = flash_load_file(files[i], &data, &len)) != CLI_OK) {
            break;
        }
        regions[i] = (struct fl_region){addrs[i], data, len};
        if (len == 0) {
            status = cli_fail(NULL, "'%s' is empty", files[i]);
        }
    }
    if (status == CLI_OK) {
        status = flash_connect(c);
    }
    if (status == CLI_OK) {
        struct fl_error err = {0};
        flash_progress_label(c, "writing", 0);
        c->prog_addrs = addrs;
        int rc = fl_write_regions(&c->s, regions, n, res, &err);
        flash_progress_close(c, rc == FL_OK);
        if (rc != FL_OK) {
            status = flash_fail(&err);
        } else if (c->json) {
            print_write_json(c, res, n, files);
        } else {
            for (size_t i = 0; i < n; i++) {
                print_write_text(&res[i]);
            }
        }
    }
    for (size_t i = 0; regions && i < n; i++) {
        free((void *)(uintptr_t)regions[i].data);
    }
    free(regions);
    free(res);
    free(addrs);
    free(files);
    return flash_done(c, status);
}

/* A flash dump can hold a device's key: it is written 0600, atomically. */
static int write_atomic(const char *path, const uint8_t *buf, size_t len)
{
    struct pv_error err = {0};
    if (pv_file_write(path, buf, len, 0600, 0, &err) != PV_OK) {
        return cli_fail_err(&err);
    }
    return CLI_OK;
}

int flash_cmd_read(struct flash_cli *c, int argc, char **argv)
{
    uint32_t addr, size;
    if (argc != 3) {
        return cli_usage_error(c->usage, "flash read needs ADDR SIZE FILE");
    }
    if (!flash_parse_u32(c->usage, "address", argv[0], &addr) ||
        !flash_parse_u32(c->usage, "size", argv[1], &size)) {
        return CLI_USAGE;
    }
    if (size == 0) {
        return cli_usage_error(c->usage, "flash read: SIZE must not be 0");
    }
    uint8_t *buf = malloc(size);
    if (buf == NULL) {
        return cli_fail(NULL, "out of memory for %u bytes", (unsigned)size);
    }
    int status = flash_connect(c);
    if (status == CLI_OK) {
        struct fl_error err = {0};
        int64_t t0 = cli_now_ms();
        flash_progress_label(c, "reading", addr);
        int rc = fl_read(&c->s, addr, buf, size, &err);
        flash_progress_close(c, rc == FL_OK);
        if (rc != FL_OK) {
            status = flash_fail(&err);
        } else if ((status = write_atomic(argv[2], buf, size)) == CLI_OK) {
            double secs = (double)(cli_now_ms() - t0) / 1000.0;
            if (c->json) {
                printf("{\"address\": %u, \"size\": %u, \"file\": ", (unsigned)addr,
                       (unsigned)size);
                cli_json_string(stdout, argv[2]);
                printf(", \"seconds\": %.3f}\n", secs);
            } else {
                printf("read %u bytes at 0x%08x into %s in %.1f s\n", (unsigned)size,
                       (unsigned)addr, argv[2], secs);
            }
        }
    }
    free(buf);
    return flash_done(c, status);
}

int flash_cmd_erase(struct flash_cli *c, int argc, char **argv)
{
    uint32_t addr = 0, size = 0;
    if (argc != 0 && argc != 2) {
        return cli_usage_error(c->usage, "flash erase takes nothing, or ADDR SIZE");
    }
    if (argc == 2 && (!flash_parse_u32(c->usage, "address", argv[0], &addr) ||
                      !flash_parse_u32(c->usage, "size", argv[1], &size))) {
        return CLI_USAGE;
    }
    int status = flash_connect(c);
    if (status == CLI_OK) {
        struct fl_error err = {0};
        int64_t t0 = cli_now_ms();
        flash_progress_label(c, "erasing", addr);
        int rc = argc == 2 ? fl_erase_region(&c->s, addr, size, &err) : fl_erase_chip(&c->s, &err);
        flash_progress_close(c, rc == FL_OK);
        double secs = (double)(cli_now_ms() - t0) / 1000.0;
        if (rc != FL_OK) {
            status = flash_fail(&err);
        } else if (c->json) {
            printf("{\"address\": %u, \"size\": %u, \"chip\": %s, \"seconds\": %.3f}\n",
                   (unsigned)addr, (unsigned)(argc == 2 ? size : c->s.info.flash_size),
                   argc == 2 ? "false" : "true", secs);
        } else if (argc == 2) {
            printf("erased %u bytes at 0x%08x in %.1f s\n", (unsigned)size, (unsigned)addr, secs);
        } else {
            printf("erased the whole flash (%u KiB) in %.1f s\n",
                   (unsigned)(c->s.info.flash_size / 1024), secs);
        }
    }
    return flash_done(c, status);
}

int flash_cmd_verify(struct flash_cli *c, int argc, char **argv)
{
    uint32_t addr;
    if (argc != 2) {
        return cli_usage_error(c->usage, "flash verify needs ADDR FILE");
    }
    if (!flash_parse_u32(c->usage, "address", argv[0], &addr)) {
        return CLI_USAGE;
    }
    uint8_t *data;
    size_t len;
    int status = flash_load_file(argv[1], &data, &len);
    if (status != CLI_OK) {
        return status;
    }
    status = flash_connect(c);
    if (status == CLI_OK) {
        struct fl_error err = {0};
        flash_progress_label(c, "verifying", addr);
        int rc = fl_verify(&c->s, addr, data, len, &err);
        flash_progress_close(c, rc == FL_OK);
        if (rc != FL_OK) {
            status = flash_fail(&err);
        } else if (c->json) {
            printf("{\"address\": %u, \"size\": %zu, \"matches\": true}\n", (unsigned)addr, len);
        } else {
            printf("verified %zu bytes at 0x%08x: flash matches %s (MD5)\n", len, (unsigned)addr,
                   argv[1]);
        }
    }
    free(data);
    return flash_done(c, status);
}
