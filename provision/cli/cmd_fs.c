/*
 * `espprov fs build|list|extract|check`: one entry point for SPIFFS and
 * LittleFS images. SPIFFS goes to `espprov spiffs` unchanged (same options,
 * same output); LittleFS is cli_fs_lfs.c's. Reading commands detect the type
 * when --type is not given.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli.h"
#include "provision/cli/cli_fs.h"
#include "provision/cli/cli_spiffs.h"
#include "spiffsgen/spiffsgen.h"

#define PARAM_HELP                                                                                 \
    "  --type spiffs|littlefs  the filesystem (build: required; otherwise detected)\n"             \
    "  --preset NAME           esp8266-arduino, esp32-arduino or esp-idf: the values the\n"        \
    "                          platform compiles the filesystem with\n"                            \
    "LittleFS parameters (they override the preset; alone they start from esp-idf's):\n"           \
    "  --block N --read N --prog N --cache N --lookahead N\n"                                      \
    "  --name-max N --file-max N --attr-max N --inline-max N\n"                                    \
    "  --disk-version 2.0|2.1  on-disk version (the ESP8266 core reads 2.0 only)\n"                \
    "SPIFFS parameters: see 'espprov spiffs build --help' (--page, --name-len, ...).\n"

static const char usage_main[] =
    "usage: espprov fs build|list|extract|check [--type spiffs|littlefs] [OPTIONS] ...\n"
    "Build SPIFFS or LittleFS images, or list, extract and check existing ones\n"
    "(the type and parameters of an existing image are detected).\n"
    "  build   --type T (--preset NAME | PARAMS) --size N -o IMAGE DIR|FILE|SRC=/name...\n"
    "  list    [--json] IMAGE\n"
    "  extract [--force] IMAGE DIR\n"
    "  check   IMAGE\n"
    "Run 'espprov fs SUBCOMMAND --help' for the details.\n";
static const char usage_build[] =
    "usage: espprov fs build --type T (--preset NAME | PARAMS) --size N -o IMAGE INPUT...\n"
    "       espprov fs build --type T -c DIR -b BLOCK -p PAGE -s SIZE IMAGE  (mk*fs' order)\n"
    "Builds an image of exactly N bytes (decimal, 0x hex, K/M suffix). INPUT is a folder\n"
    "(its files, recursively, named \"/\" + relative path; LittleFS keeps the folders,\n"
    "SPIFFS stores the path as a flat name; symlinks to files are followed, symlinked\n"
    "folders and special files are refused), a FILE (named \"/\" + basename) or\n"
    "SRC=/name. Names with an empty, '.' or '..' part or a control character are\n"
    "refused, as extraction would. Same inputs, same bytes.\n"
    "  --fill      also use the 2 blocks normally kept free so the device can write\n"
    "  -o IMAGE    output (written via a temporary file, mode 0644)\n"
    "  -c DIR      mklittlefs/mkspiffs: the folder to pack (the operand is the IMAGE)\n"
    "  -b N, -p N, -s N   mklittlefs/mkspiffs: --block, page (LittleFS: read and prog\n"
    "              size), --size\n" PARAM_HELP;
static const char usage_list[] =
    "usage: espprov fs list [--type T] [--json] [PARAMS] IMAGE\n"
    "Lists \"size name\" per file (LittleFS: \"dir name/\" per folder) and a usage line.\n"
    "Without parameters the type and parameters are detected (-v shows them).\n" PARAM_HELP;
static const char usage_extract[] =
    "usage: espprov fs extract [--type T] [--force] [PARAMS] IMAGE DIR\n"
    "Writes every file and folder below DIR (created if missing); names that would leave\n"
    "DIR are refused; existing files are kept unless --force. Files get 0666 less the\n"
    "umask, like cp; keys and files with a password (client.key.*, config.json, any\n"
    "private key or JSON with a password) are 0600 whatever the umask.\n" PARAM_HELP;
static const char usage_check[] =
    "usage: espprov fs check [--type T] [PARAMS] IMAGE\n"
    "Prints one line per problem and exits 1 if there is any. Given a preset, also\n"
    "checks that the platform's build of the filesystem would mount the image.\n" PARAM_HELP;

enum {
    OPT_PRESET = 256,
    OPT_SIZE,
    OPT_FILL,
    OPT_JSON,
    OPT_FORCE,
    OPT_DISK_VERSION,
    OPT_NUM,                           /* + enum cli_fs_num */
    OPT_SPIFFS = OPT_NUM + 64,         /* SPIFFS-only options with a value */
    OPT_SPIFFS_FLAG = OPT_SPIFFS + 64, /* and without */
};

static const struct option long_opts[] = {
    {"preset", required_argument, NULL, OPT_PRESET},
    {"size", required_argument, NULL, OPT_SIZE},
    {"fill", no_argument, NULL, OPT_FILL},
    {"json", no_argument, NULL, OPT_JSON},
    {"force", no_argument, NULL, OPT_FORCE},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {"disk-version", required_argument, NULL, OPT_DISK_VERSION},
    {"block", required_argument, NULL, OPT_NUM + CLI_FS_BLOCK},
    {"read", required_argument, NULL, OPT_NUM + CLI_FS_READ},
    {"prog", required_argument, NULL, OPT_NUM + CLI_FS_PROG},
    {"cache", required_argument, NULL, OPT_NUM + CLI_FS_CACHE},
    {"lookahead", required_argument, NULL, OPT_NUM + CLI_FS_LOOKAHEAD},
    {"name-max", required_argument, NULL, OPT_NUM + CLI_FS_NAME_MAX},
    {"file-max", required_argument, NULL, OPT_NUM + CLI_FS_FILE_MAX},
    {"attr-max", required_argument, NULL, OPT_NUM + CLI_FS_ATTR_MAX},
    {"inline-max", required_argument, NULL, OPT_NUM + CLI_FS_INLINE_MAX},
    {"page", required_argument, NULL, OPT_SPIFFS},
    {"name-len", required_argument, NULL, OPT_SPIFFS + 1},
    {"meta-len", required_argument, NULL, OPT_SPIFFS + 2},
    {"magic", no_argument, NULL, OPT_SPIFFS_FLAG},
    {"no-magic", no_argument, NULL, OPT_SPIFFS_FLAG + 1},
    {"magic-len", no_argument, NULL, OPT_SPIFFS_FLAG + 2},
    {"no-magic-len", no_argument, NULL, OPT_SPIFFS_FLAG + 3},
    {"aligned", no_argument, NULL, OPT_SPIFFS_FLAG + 4},
    {"no-aligned", no_argument, NULL, OPT_SPIFFS_FLAG + 5},
    {NULL, 0, NULL, 0},
};

static const char *const num_names[CLI_FS_NUMS] = {
    "--block",    "--read",     "--prog",     "--cache",      "--lookahead",
    "--name-max", "--file-max", "--attr-max", "--inline-max",
};

/* What the options say beyond the LittleFS values. */
struct parsed {
    struct cli_fs_opts o;
    const char *spiffs_only; /* first SPIFFS-only option given, or NULL */
    const char *lfs_only;    /* first LittleFS-only option given, or NULL */
};

/* Parses argv; returns -1 when all went well, else the exit status. */
static int parse(int argc, char **argv, const char *usage, struct parsed *r)
{
    memset(r, 0, sizeof *r);
    struct cli_fs_opts *o = &r->o;
    bool build = usage == usage_build;
    int c, at;
    while ((c = getopt_long(argc, argv, build ? "ho:c:b:p:s:" : "ho:", long_opts, &at)) != -1) {
        if (c == 'b' || c == 's') {
            c = c == 'b' ? OPT_NUM + CLI_FS_BLOCK : OPT_SIZE;
        }
        if (c == 'p') {
            /* mklittlefs' page is littlefs's read and prog size; mkspiffs' its page */
            if (!cli_parse_size_opt(usage, "-p", optarg, &o->num[CLI_FS_READ])) {
                return CLI_USAGE;
            }
            o->num[CLI_FS_PROG] = o->num[CLI_FS_READ];
            o->num_set[CLI_FS_READ] = o->num_set[CLI_FS_PROG] = true;
            continue;
        }
        if (c >= OPT_SPIFFS) {
            r->spiffs_only = r->spiffs_only ? r->spiffs_only : long_opts[at].name;
            continue;
        }
        if (c >= OPT_NUM && c < OPT_NUM + CLI_FS_NUMS) {
            int i = c - OPT_NUM;
            if (!cli_parse_size_opt(usage, num_names[i], optarg, &o->num[i])) {
                return CLI_USAGE;
            }
            o->num_set[i] = true;
            if (i != CLI_FS_BLOCK && r->lfs_only == NULL) {
                r->lfs_only = num_names[i];
            }
            continue;
        }
        switch (c) {
        case OPT_PRESET:
            o->preset = optarg;
            break;
        case OPT_SIZE:
            if (!cli_parse_size_opt(usage, "--size", optarg, &o->size)) {
                return CLI_USAGE;
            }
            break;
        case OPT_DISK_VERSION:
            if (strcmp(optarg, "2.0") != 0 && strcmp(optarg, "2.1") != 0) {
                return cli_usage_error(usage, "--disk-version: '%s' is not 2.0 or 2.1", optarg);
            }
            o->disk_version = strcmp(optarg, "2.0") == 0 ? LG_DISK_V2_0 : LG_DISK_V2_1;
            r->lfs_only = r->lfs_only ? r->lfs_only : "--disk-version";
            break;
        case OPT_FILL:
            o->fill = true;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_FORCE:
            o->force = true;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'c':
            o->dir = optarg;
            break;
        case 'h':
            return cli_help(usage);
        default:
            return cli_usage_error(usage, "unknown option (see --help)");
        }
    }
    return -1;
}

/* Takes --type out of args (so `espprov spiffs` sees its own options only);
 * *type is its value or NULL. Returns false when it has no value. */
static bool take_type(int *argc, char **argv, const char **type)
{
    int out = 2;
    bool ok = true;
    *type = NULL;
    for (int i = 2; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc) {
                argv[out++] = argv[i++];
            }
            break;
        }
        if (strcmp(argv[i], "--type") == 0) {
            ok = i + 1 < *argc;
            *type = ok ? argv[++i] : NULL;
        } else if (strncmp(argv[i], "--type=", 7) == 0) {
            *type = argv[i] + 7;
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    *argc = out;
    return ok;
}

/* The superblock entry's name where a freshly written pair keeps it (after
 * the revision count and the tag), in block 0 or 1 of some block size: an
 * image that says it is LittleFS, however broken. */
static bool says_littlefs(const uint8_t *buf, size_t len)
{
    for (size_t b = 0; b <= 65536; b = b ? b * 2 : 128) {
        if (b + 16 <= len && memcmp(buf + b + 8, "littlefs", 8) == 0) {
            return true;
        }
    }
    return false;
}

/* The type of an existing image: LittleFS when a superblock mounts (or the
 * image names itself so), SPIFFS when spiffsgen recognises it. Prints the
 * error itself. */
static int detect_type(const char *path, bool as_problem, bool *littlefs)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct pv_error perr = {0};
    if (cli_spiffs_read_file(path, 256u << 20, &buf, &len, &perr) != PV_OK) {
        return cli_fail_err(&perr);
    }
    struct lg_params lp;
    struct sg_params sp;
    struct lg_error le = {0};
    struct sg_error se = {0};
    *littlefs = lg_detect(buf, len, &lp, NULL, 0, &le) == LG_OK || says_littlefs(buf, len);
    bool spiffs = !*littlefs && sg_detect(buf, len, &sp, NULL, 0, &se) == SG_OK;
    free(buf);
    if (*littlefs || spiffs) {
        return CLI_OK;
    }
    if (as_problem) {
        printf("neither littlefs (%s) nor spiffs (%s)\n", le.msg, se.msg);
    }
    return cli_fail("give --type and the parameters (--preset NAME)",
                    "'%s' is neither a LittleFS image (%s) nor a SPIFFS one (%s)", path, le.msg,
                    se.msg);
}

int cmd_fs(int argc, char **argv, struct cli_ctx *ctx)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        return argc < 2 ? cli_usage_error(usage_main, "which subcommand?") : cli_help(usage_main);
    }
    static const char *const names[] = {"build", "list", "extract", "check"};
    static const char *const usages[] = {usage_build, usage_list, usage_extract, usage_check};
    static const int operands[] = {-1, 1, 2, 1};
    int which = -1;
    for (int i = 0; i < 4; i++) {
        if (strcmp(argv[1], names[i]) == 0) {
            which = i;
        }
    }
    if (which < 0) {
        return cli_usage_error(usage_main, "'%s' is not an fs subcommand", argv[1]);
    }
    /* Two copies: getopt permutes the one it parses; `spiffs` gets the other. */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    char **pass = calloc((size_t)argc + 2, sizeof *pass);
    if (args == NULL || pass == NULL) {
        free(args);
        free(pass);
        return cli_fail(NULL, "out of memory");
    }
    memcpy(args, argv, (size_t)argc * sizeof *args);
    const char *type = NULL;
    int n = argc, rc = -1;
    if (!take_type(&n, args, &type)) {
        rc = cli_usage_error(usages[which], "--type needs a value: spiffs or littlefs");
    } else if (type != NULL && strcmp(type, "spiffs") != 0 && strcmp(type, "littlefs") != 0) {
        rc = cli_usage_error(usages[which], "--type: '%s' is not spiffs or littlefs", type);
    }
    memcpy(pass, args, (size_t)n * sizeof *pass);
    struct parsed r;
    if (rc == -1) {
        rc = parse(n - 1, args + 1, usages[which], &r);
    }
    int argc1 = n - 1;
    char **argv1 = args + 1;
    bool littlefs = type != NULL && strcmp(type, "littlefs") == 0;
    if (rc == -1 && which == 0 && type == NULL) {
        rc = cli_usage_error(usage_build, "say which filesystem: --type spiffs|littlefs");
    } else if (rc == -1 && which > 0 && argc1 - optind != operands[which]) {
        rc = cli_usage_error(usages[which], "expected %s", which == 2 ? "IMAGE DIR" : "IMAGE");
    } else if (rc == -1 && which > 0 && type == NULL) {
        if (r.spiffs_only != NULL || r.lfs_only != NULL) {
            littlefs = r.lfs_only != NULL;
        } else if (detect_type(argv1[optind], which == 3, &littlefs) != CLI_OK) {
            rc = CLI_FAILED;
        }
    }
    if (rc == -1 && littlefs && r.spiffs_only != NULL) {
        rc = cli_usage_error(usages[which], "--%s is a SPIFFS parameter, and this is LittleFS",
                             r.spiffs_only);
    } else if (rc == -1 && !littlefs && r.lfs_only != NULL) {
        rc = cli_usage_error(usages[which], "%s is a LittleFS parameter, and this is SPIFFS",
                             r.lfs_only);
    }
    if (rc == -1 && !littlefs) {
        char name[] = "espprov spiffs";
        pass[0] = name;
        cli_info(ctx, 1, "spiffs image: as 'espprov spiffs %s'", names[which]);
        optind = 0;
        rc = cmd_spiffs(n, pass, ctx);
    } else if (rc == -1 && which == 0) {
        if (r.o.dir != NULL) {
            /* mklittlefs: -c DIR ... IMAGE */
            if (r.o.output == NULL && argc1 - optind == 1) {
                r.o.output = argv1[optind];
            } else if (argc1 - optind != 0) {
                rc = cli_usage_error(usage_build, "with -c DIR, name only the IMAGE (or -o IMAGE)");
            }
            argv1[0] = (char *)(uintptr_t)r.o.dir;
            argc1 = 1;
            optind = 0;
        }
        if (rc == -1 && (r.o.size == 0 || r.o.output == NULL || optind >= argc1)) {
            rc = cli_usage_error(usage_build, "%s",
                                 r.o.size == 0        ? "--size is required"
                                 : r.o.output == NULL ? "-o IMAGE is required"
                                                      : "no input files given");
        } else if (rc == -1 && r.o.preset == NULL && !cli_fs_explicit(&r.o)) {
            rc = cli_usage_error(usage_build, "say which platform the image is for: --preset "
                                              "esp8266-arduino|esp32-arduino|esp-idf (or PARAMS)");
        }
        if (rc == -1) {
            rc = cli_fs_lfs_build(argc1, argv1, &r.o);
        }
    } else if (rc == -1) {
        const char *img = argv1[optind];
        rc = which == 1   ? cli_fs_lfs_list(img, &r.o, ctx)
             : which == 2 ? cli_fs_lfs_extract(img, argv1[optind + 1], &r.o, ctx)
                          : cli_fs_lfs_check(img, &r.o, ctx);
    }
    free(args);
    free(pass);
    return rc;
}
