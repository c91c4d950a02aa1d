/* The command line (contract in README.md). */
#include "sim.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: espsim --chip CHIP --flash FILE [options]\n"
    "  --chip CHIP             esp8266 | esp32 | esp32s3 | esp32c3\n"
    "  --flash FILE            flash contents (created 0xFF, or resized)\n"
    "  --flash-size SIZE       256K..64M, power of two (default 4MB)\n"
    "  --flash-id HEX          JEDEC id read by RDID (default: Winbond, matching the size)\n"
    "  --mac XX:XX:XX:XX:XX:XX factory MAC in the eFuses\n"
    "  --pty-link PATH         symlink to the pty\n"
    "  --rfc2217 PORT          serve RFC 2217 on 127.0.0.1:PORT (0 = any free port)\n"
    "  --boot download|flash   strapping at power-on (default download)\n"
    "  --stub-flavour new|legacy  behaviour of an uploaded stub it does not recognise\n"
    "                         (default new); the real stubs behave as their family\n"
    "  --stub-dir DIR         real stubs to recognise: DIR/{legacy,new}/<chip>.json\n"
    "                         (default $ESPPROV_STUB_DIR, else stubs/ next to espsim)\n"
    "  --sdm                   Secure Download Mode (esp32s3, esp32c3)\n"
    "  --pace                  time model: line rate, flash erase/program times\n"
    "  --latency MS            added to every reply (USB adapter; FTDI default 16)\n"
    "  --en-delay MS           EN rise time after reset release (default 10)\n"
    "  --fault SPEC            inject a fault (repeatable; see README.md)\n"
    "  --log FILE              one line per command and event\n"
    "Control: SIGUSR1 = reset into download mode, SIGUSR2 = reset into normal boot,\n"
    "SIGTERM/SIGINT = exit.\n";

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "espsim: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nhint: run 'espsim --help'\n");
    va_end(ap);
    return 2;
}

static int parse_size(const char *v, uint32_t *out)
{
    char *end;
    unsigned long long x = strtoull(v, &end, 0);
    if (end == v) {
        return -1;
    }
    if (*end == 'K' || *end == 'k') {
        x <<= 10;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        x <<= 20;
        end++;
    }
    if (*end == 'B' || *end == 'b') {
        end++;
    }
    if (*end != '\0' || x < (256u << 10) || x > (64u << 20) || (x & (x - 1)) != 0) {
        return -1;
    }
    *out = (uint32_t)x;
    return 0;
}

static int parse_mac(const char *v, uint8_t mac[6])
{
    unsigned b[6];
    char tail;
    if (sscanf(v, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        if (b[i] > 0xFF) {
            return -1;
        }
        mac[i] = (uint8_t)b[i];
    }
    return 0;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || x < lo || x > hi) {
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* Winbond W25Q parts: EF 40 <capacity>, capacity 0x12 = 256 KiB ... 0x19 =
 * 32 MiB, 0x20 = 64 MiB (W25Q512). W0 holds the bytes in arrival order. */
static uint32_t default_flash_id(uint32_t size)
{
    unsigned log2 = 0;
    while ((1u << log2) < size) {
        log2++;
    }
    uint32_t cap = log2 <= 25 ? 0x12 + (log2 - 18) : 0x20;
    return 0xEF | 0x40u << 8 | cap << 16;
}

int sim_opts_parse(struct sim_opts *o, int argc, char **argv)
{
    enum {
        O_CHIP = 256,
        O_FLASH,
        O_SIZE,
        O_ID,
        O_MAC,
        O_LINK,
        O_RFC,
        O_BOOT,
        O_STUB,
        O_STUB_DIR,
        O_SDM,
        O_PACE,
        O_LAT,
        O_EN,
        O_FAULT,
        O_LOG
    };
    static const struct option longopts[] = {
        {"chip", required_argument, NULL, O_CHIP},
        {"flash", required_argument, NULL, O_FLASH},
        {"flash-size", required_argument, NULL, O_SIZE},
        {"flash-id", required_argument, NULL, O_ID},
        {"mac", required_argument, NULL, O_MAC},
        {"pty-link", required_argument, NULL, O_LINK},
        {"rfc2217", required_argument, NULL, O_RFC},
        {"boot", required_argument, NULL, O_BOOT},
        {"stub-flavour", required_argument, NULL, O_STUB},
        {"stub-flavor", required_argument, NULL, O_STUB},
        {"stub-dir", required_argument, NULL, O_STUB_DIR},
        {"sdm", no_argument, NULL, O_SDM},
        {"pace", no_argument, NULL, O_PACE},
        {"latency", required_argument, NULL, O_LAT},
        {"en-delay", required_argument, NULL, O_EN},
        {"fault", required_argument, NULL, O_FAULT},
        {"log", required_argument, NULL, O_LOG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool mac_set = false, id_set = false;
    memset(o, 0, sizeof *o);
    o->flash_size = 4u << 20;
    o->rfc2217_port = -1;
    o->boot_download = true;
    o->en_delay_ms = 10;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_CHIP:
            o->chip = sim_chip_find(optarg);
            if (o->chip == NULL) {
                return fail("unknown chip '%s' (esp8266, esp32, esp32s3, esp32c3)", optarg);
            }
            break;
        case O_FLASH:
            o->flash_path = optarg;
            break;
        case O_SIZE:
            if (parse_size(optarg, &o->flash_size) != 0) {
                return fail("bad --flash-size '%s' (a power of two, 256K..64M)", optarg);
            }
            break;
        case O_ID: {
            char *end;
            unsigned long id = strtoul(optarg, &end, 16);
            if (*end != '\0' || id > 0xFFFFFF) {
                return fail("bad --flash-id '%s' (hex, 24 bits)", optarg);
            }
            o->flash_id = (uint32_t)id;
            id_set = true;
            break;
        }
        case O_MAC:
            if (parse_mac(optarg, o->mac) != 0) {
                return fail("bad --mac '%s' (XX:XX:XX:XX:XX:XX)", optarg);
            }
            mac_set = true;
            break;
        case O_LINK:
            o->pty_link = optarg;
            break;
        case O_RFC:
            if (parse_int(optarg, 0, 65535, &o->rfc2217_port) != 0) {
                return fail("bad --rfc2217 port '%s'", optarg);
            }
            break;
        case O_BOOT:
            if (strcmp(optarg, "download") != 0 && strcmp(optarg, "flash") != 0) {
                return fail("bad --boot '%s' (download or flash)", optarg);
            }
            o->boot_download = strcmp(optarg, "download") == 0;
            break;
        case O_STUB:
            if (strcmp(optarg, "new") != 0 && strcmp(optarg, "legacy") != 0) {
                return fail("bad --stub-flavour '%s' (new or legacy)", optarg);
            }
            o->stub_flavour = strcmp(optarg, "legacy") == 0 ? SIM_STUB_LEGACY : SIM_STUB_NEW;
            break;
        case O_STUB_DIR:
            o->stub_dir = optarg;
            break;
        case O_SDM:
            o->sdm = true;
            break;
        case O_PACE:
            o->pace = true;
            break;
        case O_LAT:
            if (parse_int(optarg, 0, 1000, &o->latency_ms) != 0) {
                return fail("bad --latency '%s' (0..1000 ms)", optarg);
            }
            break;
        case O_EN:
            if (parse_int(optarg, 0, 1000, &o->en_delay_ms) != 0) {
                return fail("bad --en-delay '%s' (0..1000 ms)", optarg);
            }
            break;
        case O_FAULT:
            if (o->nfaults >= SIM_MAX_FAULTS) {
                return fail("too many --fault options (at most %d)", SIM_MAX_FAULTS);
            }
            o->faults[o->nfaults++] = optarg;
            break;
        case O_LOG:
            o->log_path = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        default:
            return fail("bad option");
        }
    }
    if (optind < argc) {
        return fail("unexpected argument '%s'", argv[optind]);
    }
    if (o->chip == NULL || o->flash_path == NULL) {
        return fail("%s", "--chip and --flash are required");
    }
    if (o->sdm && !o->chip->s2plus) {
        return fail("--sdm needs an ESP32-S2 or later chip, not %s", o->chip->name);
    }
    if (!mac_set) {
        memcpy(o->mac, o->chip->default_mac, 6);
    }
    if (!id_set) {
        o->flash_id = default_flash_id(o->flash_size);
    }
    return 0;
}
