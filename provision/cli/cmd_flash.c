/* espprov flash: talk to a board's ROM bootloader (options, connection, info). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_flash.h"
#include "provision/cli/cli_stubs.h"

const char cli_flash_usage[] =
    "usage: espprov flash info [options]\n"
    "       espprov flash write [options] ADDR FILE [ADDR FILE]...\n"
    "       espprov flash read [options] ADDR SIZE FILE\n"
    "       espprov flash erase [options] [ADDR SIZE]\n"
    "       espprov flash verify [options] ADDR FILE\n"
    "       espprov flash image-info [--chip NAME] FILE\n"
    "\n"
    "Talk to an ESP8266/ESP32 board's ROM serial bootloader (or a flasher stub).\n"
    "  info        chip, MAC, crystal, flash id and size\n"
    "  write       write files at flash offsets: blank sectors are erased, not sent;\n"
    "              compressed where the loader can; verified by MD5 where it can\n"
    "  read        read SIZE bytes at ADDR into FILE\n"
    "  erase       erase a region (4 KiB aligned), or the whole chip (needs a stub)\n"
    "  verify      compare flash at ADDR with FILE (MD5)\n"
    "  image-info  show a firmware image's header, segments, checksum, digest\n"
    "ADDR and SIZE: decimal, 0x hex, or with a K/M suffix.\n"
    "\n"
    "options:\n"
    "  -p, --port DEV         serial port (default $ESPPROV_PORT, else the one USB board\n"
    "                         plugged in; asks which on a terminal when there are several);\n"
    "                         rfc2217://HOST:PORT too\n"
    "  -b, --baud N|auto      rate after connecting; auto (default): the fastest the USB\n"
    "                         bridge and the chip both do (CH340 2M, CP2102N 2M, CP2102\n"
    "                         921600, ...), 460800 for an unknown port; a rate that fails\n"
    "                         falls back to the connect rate, with a warning\n"
    "      --connect-baud N   rate for the first SYNC (default 115200; ROMs autobaud, so an\n"
    "                         ESP8266 ROM, which cannot change rate later, may take more)\n"
    "      --chip NAME        auto (default), esp8266, esp32, esp32s2, esp32s3, esp32c2,\n"
    "                         esp32c3, esp32c6, esp32h2\n"
    "      --before MODE      default-reset, usb-reset, no-reset, no-reset-no-sync\n"
    "      --after MODE       hard-reset (default), soft-reset, no-reset, no-reset-stub\n"
    "      --stub FILE        upload this flasher stub (esptool JSON) and use it\n"
    "      --stub-family F    the fetched stubs to use by default: legacy (default) or new\n"
    "                         (see espprov --version; a default stub that does not start\n"
    "                         falls back to the ROM when the ROM can do the job)\n"
    "      --no-stub          ROM loader only\n"
    "      --no-compress      send data uncompressed\n"
    "      --no-skip          write regions even where the flash MD5 shows them unchanged\n"
    "                         (by default what the flash holds right is left alone)\n"
    "      --full-image       erase and write each file whole, no MD5 probes, no sparse\n"
    "                         plan (as esptool does; for comparisons)\n"
    "      --force            write images built for another chip\n"
    "      --flash-mode M     keep (default), qio, qout, dio, dout  (bootloader header)\n"
    "      --flash-freq F     keep (default), or e.g. 40m, 80m      (bootloader header)\n"
    "      --flash-size S     keep (default), detect, or e.g. 4MB   (header and loader)\n"
    "      --json             print the result as JSON\n"
    "  -h, --help             this text\n";

enum {
    OPT_CHIP = 256,
    OPT_BEFORE,
    OPT_AFTER,
    OPT_STUB,
    OPT_NO_STUB,
    OPT_STUB_FAMILY,
    OPT_NO_COMPRESS,
    OPT_SKIP,
    OPT_NO_SKIP,
    OPT_FULL_IMAGE,
    OPT_FORCE,
    OPT_MODE,
    OPT_FREQ,
    OPT_SIZE,
    OPT_JSON,
    OPT_CONNECT_BAUD,
};

int flash_fail(const struct fl_error *err)
{
    return cli_fail(err->hint[0] ? err->hint : NULL, "%s", err->msg);
}

bool flash_parse_u32(const char *usage, const char *what, const char *text, uint32_t *out)
{
    uint64_t v;
    if (!cli_parse_size_opt(usage, what, text, &v)) {
        return false;
    }
    if (v > 0xFFFFFFFFu) {
        cli_usage_error(usage, "%s: %s is larger than 4 GiB", what, text);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

void flash_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    }
}

int flash_load_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return cli_fail(NULL, "cannot open '%s': %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    while (b != NULL) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap || ferror(f)) {
            break;
        }
        if (cap >= (256u << 20)) {
            fclose(f);
            free(b);
            return cli_fail(NULL, "'%s' is larger than 256 MiB", path);
        }
        uint8_t *nb = realloc(b, cap * 2);
        if (nb == NULL) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    bool bad = b == NULL || ferror(f);
    int saved = errno;
    fclose(f);
    if (bad) {
        free(b);
        return cli_fail(NULL, "cannot read '%s': %s", path, strerror(saved));
    }
    *buf = b;
    *len = n;
    return CLI_OK;
}

void flash_progress_label(struct flash_cli *c, const char *verb, uint32_t addr)
{
    flash_progress_close(c, true);
    snprintf(c->prog_verb, sizeof c->prog_verb, "%s", verb);
    c->prog_addr = addr;
    c->prog_addrs = NULL;
}

void flash_progress_close(struct flash_cli *c, bool ok)
{
    if (c->prog_active) {
        cli_progress_end(&c->prog, ok);
        c->prog_active = false;
    }
}

static void on_progress(void *user, size_t region, uint64_t done, uint64_t total)
{
    struct flash_cli *c = user;
    if (!c->prog_active || region != c->prog_region) {
        flash_progress_close(c, true);
        char label[64];
        uint32_t addr = c->prog_addrs ? c->prog_addrs[region] : c->prog_addr;
        snprintf(label, sizeof label, "%s 0x%08x", c->prog_verb, (unsigned)addr);
        cli_progress_begin(&c->prog, c->ctx, label, total);
        c->prog_active = true;
        c->prog_region = region;
    }
    cli_progress_update(&c->prog, done);
}

static void on_log(void *user, enum fl_log_level level, const char *msg)
{
    struct flash_cli *c = user;
    if (level <= FL_LOG_WARN) {
        cli_warn("%s", msg);
    } else {
        cli_info(c->ctx, level - FL_LOG_WARN, "%s", msg);
    }
}

static void on_frame(void *user, enum fl_frame_kind kind, const uint8_t *data, size_t len)
{
    (void)user;
    static const char *const names[] = {"send", "recv", "junk"};
    char line[3 * 32 + 1];
    fprintf(stderr, "trace %s %zu bytes\n", names[kind], len);
    for (size_t off = 0; off < len; off += 32) {
        size_t n = len - off < 32 ? len - off : 32;
        for (size_t i = 0; i < n; i++) {
            snprintf(line + 3 * i, 4, "%02x ", data[off + i]);
        }
        fprintf(stderr, "  %04zx  %s\n", off, line);
        if (off >= 256) {
            fprintf(stderr, "  ...\n");
            break;
        }
    }
}

int flash_connect(struct flash_cli *c)
{
    const char *port = c->port;
    if (port == NULL) {
        const char *env = getenv("ESPPROV_PORT");
        port = (env != NULL && env[0] != '\0') ? env : NULL;
    }
    if (port == NULL) {
        int rc = cli_pick_port(c->ctx, c->usage, c->picked, sizeof c->picked);
        if (rc != CLI_OK) {
            return rc;
        }
        port = c->picked;
    }
    c->used_port = port;
    struct fl_error err = {0};
    if (c->stub_path != NULL) {
        if (fl_stub_load(c->stub_path, &c->stub, &err) != FL_OK) {
            return flash_fail(&err);
        }
        c->stub_loaded = true;
        c->opt.stub = &c->stub;
    } else if (!c->no_stub) {
        bool found;
        if (cli_stubs_find(&c->stubs, c->family, &found) != CLI_OK) {
            return CLI_FAILED;
        }
        c->stubs_loaded = found;
        c->opt.stubs = found ? &c->stubs : NULL;
    }
    int v = c->ctx->verbosity;
    c->opt.log_level = v < 0    ? FL_LOG_ERROR
                       : v == 0 ? FL_LOG_WARN
                       : v == 1 ? FL_LOG_INFO
                       : v == 2 ? FL_LOG_DEBUG
                                : FL_LOG_TRACE;
    /* An explicit rate the loader cannot do is worth a warning; the
     * default one is just a try. */
    c->opt.baud = c->baud_given ? c->baud : 460800;
    c->opt.baud_auto = !c->baud_given;
    struct fl_hooks hooks = {.user = c, .log = on_log, .frame = on_frame, .progress = on_progress};
    if (fl_session_init(&c->s, &c->opt, &hooks, &err) != FL_OK) {
        return flash_fail(&err);
    }
    c->session_ready = true;
    if (fl_session_open(&c->s, port, &err) != FL_OK || fl_connect(&c->s, &err) != FL_OK) {
        return flash_fail(&err);
    }
    if (fl_detect(&c->s, NULL, &err) != FL_OK) {
        return flash_fail(&err);
    }
    return CLI_OK;
}

int flash_done(struct flash_cli *c, int status)
{
    flash_progress_close(c, status == CLI_OK);
    if (c->session_ready) {
        struct fl_error err = {0};
        bool connected = c->s.state != NULL && c->s.info.chip != FL_CHIP_AUTO;
        if (status == CLI_OK && connected && fl_finish(&c->s, &err) != FL_OK) {
            status = flash_fail(&err);
        } else if (status != CLI_OK && connected && true) {
            /* Failed: no reset (esptool does not either), but a board left
             * at a raised rate would be unreachable for the next command. */
            (void)fl_restore_baud(&c->s, &err);
        }
        fl_session_release(&c->s);
    }
    if (c->stub_loaded) {
        fl_stub_release(&c->stub);
    }
    if (c->stubs_loaded) {
        fl_stub_set_release(&c->stubs);
    }
    return cli_finish(status);
}

static bool parse_options(struct flash_cli *c, int argc, char **argv, int *status)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"baud", required_argument, NULL, 'b'},
        {"chip", required_argument, NULL, OPT_CHIP},
        {"before", required_argument, NULL, OPT_BEFORE},
        {"after", required_argument, NULL, OPT_AFTER},
        {"stub", required_argument, NULL, OPT_STUB},
        {"no-stub", no_argument, NULL, OPT_NO_STUB},
        {"stub-family", required_argument, NULL, OPT_STUB_FAMILY},
        {"no-compress", no_argument, NULL, OPT_NO_COMPRESS},
        {"skip-unchanged", no_argument, NULL, OPT_SKIP},
        {"no-skip", no_argument, NULL, OPT_NO_SKIP},
        {"full-image", no_argument, NULL, OPT_FULL_IMAGE},
        {"force", no_argument, NULL, OPT_FORCE},
        {"flash-mode", required_argument, NULL, OPT_MODE},
        {"flash-freq", required_argument, NULL, OPT_FREQ},
        {"flash-size", required_argument, NULL, OPT_SIZE},
        {"json", no_argument, NULL, OPT_JSON},
        {"connect-baud", required_argument, NULL, OPT_CONNECT_BAUD},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *u = cli_flash_usage;
    bool no_stub = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "p:b:h", opts, NULL)) != -1) {
        const char *a = optarg;
        uint32_t v;
        uint32_t size;
        switch (ch) {
        case 'p':
            c->port = a;
            break;
        case 'b':
            if (strcmp(a, "auto") == 0) {
                c->baud_given = false;
                break;
            }
            if (!flash_parse_u32(u, "--baud", a, &v)) {
                *status = CLI_USAGE;
                return false;
            }
            if (v < 300) {
                *status = cli_usage_error(u, "--baud: '%s' is not a baud rate", a);
                return false;
            }
            c->baud = v;
            c->baud_given = true;
            break;
        case OPT_CONNECT_BAUD:
            if (!flash_parse_u32(u, "--connect-baud", a, &v)) {
                *status = CLI_USAGE;
                return false;
            }
            if (v < 300) {
                *status = cli_usage_error(u, "--connect-baud: '%s' is not a baud rate", a);
                return false;
            }
            c->opt.connect_baud = v;
            break;
        case OPT_CHIP:
            if (!fl_chip_parse(a, &c->opt.chip)) {
                *status = cli_usage_error(u, "--chip: unknown chip '%s'", a);
                return false;
            }
            break;
        case OPT_BEFORE:
            if (!fl_before_parse(a, &c->opt.before)) {
                *status = cli_usage_error(u, "--before: unknown mode '%s'", a);
                return false;
            }
            break;
        case OPT_AFTER:
            if (!fl_after_parse(a, &c->opt.after)) {
                *status = cli_usage_error(u, "--after: unknown mode '%s'", a);
                return false;
            }
            break;
        case OPT_STUB:
            c->stub_path = a;
            break;
        case OPT_NO_STUB:
            no_stub = true;
            c->no_stub = true;
            break;
        case OPT_STUB_FAMILY:
            if (!cli_stubs_parse_family(u, a, &c->family)) {
                *status = CLI_USAGE;
                return false;
            }
            break;
        case OPT_NO_COMPRESS:
            c->opt.no_compress = true;
            break;
        case OPT_SKIP:
            c->opt.skip_unchanged = true;
            break;
        case OPT_NO_SKIP:
            c->opt.skip_unchanged = false;
            break;
        case OPT_FULL_IMAGE:
            c->opt.full_image = true;
            break;
        case OPT_FORCE:
            c->opt.force = true;
            break;
        case OPT_MODE:
            if (strcmp(a, "keep") != 0 && !fl_flash_mode_parse(a, &c->opt.flash_mode)) {
                *status = cli_usage_error(u, "--flash-mode: '%s' is not keep/qio/qout/dio/dout", a);
                return false;
            }
            break;
        case OPT_FREQ:
            if (strcmp(a, "keep") != 0 && !fl_flash_freq_parse(a, &c->opt.flash_freq)) {
                *status = cli_usage_error(u, "--flash-freq: '%s' is not a frequency (e.g. 40m)", a);
                return false;
            }
            break;
        case OPT_SIZE:
            if (strcmp(a, "detect") == 0) {
                c->opt.flash_size = FL_PARAM_DETECT;
            } else if (strcmp(a, "keep") == 0) {
                c->opt.flash_size = FL_PARAM_KEEP;
            } else if (fl_flash_size_parse(a, &size)) {
                c->opt.flash_size = size;
            } else {
                *status = cli_usage_error(u,
                                          "--flash-size: '%s' is not keep, detect or a size "
                                          "like 4MB",
                                          a);
                return false;
            }
            break;
        case OPT_JSON:
            c->json = true;
            break;
        case 'h':
            *status = cli_help(u);
            return false;
        default:
            *status = CLI_USAGE;
            return false;
        }
    }
    if (no_stub && c->stub_path != NULL) {
        *status = cli_usage_error(u, "--stub and --no-stub contradict each other");
        return false;
    }
    return true;
}

int cmd_flash(int argc, char **argv, struct cli_ctx *ctx)
{
    struct flash_cli c = {.ctx = ctx, .usage = cli_flash_usage};
    fl_options_init(&c.opt);
    int status = CLI_OK;
    if (!parse_options(&c, argc, argv, &status)) {
        return status;
    }
    if (optind >= argc) {
        return cli_usage_error(cli_flash_usage, "name a subcommand: info, write, read, erase, "
                                                "verify or image-info");
    }
    const char *sub = argv[optind];
    int n = argc - optind - 1;
    char **args = argv + optind + 1;
    /* Usage errors show the synopsis of the subcommand that was asked for. */
    static const char *const synopsis[][2] = {
        {"info", "usage: espprov flash info [options]\n"},
        {"write", "usage: espprov flash write [options] ADDR FILE [ADDR FILE]...\n"},
        {"read", "usage: espprov flash read [options] ADDR SIZE FILE\n"},
        {"erase", "usage: espprov flash erase [options] [ADDR SIZE]\n"},
        {"verify", "usage: espprov flash verify [options] ADDR FILE\n"},
        {"image-info", "usage: espprov flash image-info [--chip NAME] FILE\n"},
    };
    for (size_t i = 0; i < sizeof synopsis / sizeof synopsis[0]; i++) {
        if (strcmp(sub, synopsis[i][0]) == 0) {
            c.usage = synopsis[i][1];
        }
    }
    /* What a default stub that fails to start would take away with it. */
    c.opt.needs = strcmp(sub, "write") == 0 || strcmp(sub, "verify") == 0 ? FL_NEED_VERIFY
                  : strcmp(sub, "read") == 0                              ? FL_NEED_READ
                  : strcmp(sub, "erase") == 0 && n == 0                   ? FL_NEED_ERASE_CHIP
                                                                          : 0;
    if (strcmp(sub, "info") == 0) {
        return flash_cmd_info(&c, n, args);
    }
    if (strcmp(sub, "write") == 0) {
        return flash_cmd_write(&c, n, args);
    }
    if (strcmp(sub, "read") == 0) {
        return flash_cmd_read(&c, n, args);
    }
    if (strcmp(sub, "erase") == 0) {
        return flash_cmd_erase(&c, n, args);
    }
    if (strcmp(sub, "verify") == 0) {
        return flash_cmd_verify(&c, n, args);
    }
    if (strcmp(sub, "image-info") == 0) {
        return flash_cmd_image_info(&c, n, args);
    }
    return cli_usage_error(cli_flash_usage, "unknown subcommand '%s'", sub);
}
