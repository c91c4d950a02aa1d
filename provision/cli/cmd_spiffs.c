/* `espprov spiffs build|list|extract|check`: SPIFFS images on the host. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provision/cli/cli.h"
#include "provision/cli/cli_spiffs.h"
#include "spiffsgen/spiffsgen.h"

#define PARAM_HELP                                                                                 \
    "Parameters (they must match what the firmware compiled SPIFFS with):\n"                       \
    "  --preset NAME         esp8266-arduino, esp32-arduino or esp-idf\n"                          \
    "  --page N --block N    page and block size (preset values otherwise)\n"                      \
    "  --name-len N --meta-len N\n"                                                                \
    "  --magic|--no-magic  --magic-len|--no-magic-len  --aligned|--no-aligned\n"                   \
    "Explicit flags override the preset; flags alone start from esp-idf's values.\n"

static const char usage_main[] = "usage: espprov spiffs build|list|extract|check [OPTIONS] ...\n"
                                 "Build SPIFFS images, or list, extract and check existing ones.\n"
                                 "  build   --size N -o IMAGE DIR|FILE|SRC=/name...\n"
                                 "  list    [--json] IMAGE\n"
                                 "  extract [--force] IMAGE DIR\n"
                                 "  check   IMAGE\n"
                                 "Run 'espprov spiffs SUBCOMMAND --help' for the details.\n";
static const char usage_build[] =
    "usage: espprov spiffs build (--preset NAME | PARAMS) --size N -o IMAGE INPUT...\n"
    "       espprov spiffs build -c DIR -b BLOCK -p PAGE -s SIZE IMAGE   (mkspiffs' order)\n"
    "Builds an image of exactly N bytes (decimal, 0x hex, K/M suffix). INPUT is a folder\n"
    "(its files, recursively, named \"/\" + relative path; symlinks to files are followed,\n"
    "symlinked folders and special files are refused), a FILE (named \"/\" + basename) or\n"
    "SRC=/name. Names with an empty, '.' or '..' part or a control character are\n"
    "refused, as extraction would. Files are stored in bytewise name order: same\n"
    "inputs, same bytes.\n"
    "  --fill      also use the 2 blocks normally kept free so the device can write\n"
    "  -o IMAGE    output (written via a temporary file, mode 0644)\n"
    "  -c DIR      mkspiffs: the folder to pack (the operand is then the IMAGE)\n"
    "  -b N, -p N, -s N   mkspiffs: --block, --page, --size\n" PARAM_HELP;
static const char usage_list[] = "usage: espprov spiffs list [--json] [PARAMS] IMAGE\n"
                                 "Lists \"size name\" per file and a usage line. Without "
                                 "parameters they are detected (-v shows them).\n" PARAM_HELP;
static const char usage_extract[] =
    "usage: espprov spiffs extract [--force] [PARAMS] IMAGE DIR\n"
    "Writes every file below DIR (created if missing); names that would leave DIR are\n"
    "refused; existing files are kept unless --force. Files get 0666 less the umask,\n"
    "like cp; keys and files with a password (client.key.*, config.json, any private\n"
    "key or JSON with a password) are 0600 whatever the umask.\n" PARAM_HELP;
static const char usage_check[] =
    "usage: espprov spiffs check [PARAMS] IMAGE\n"
    "Prints one line per problem and exits 1 if there is any.\n" PARAM_HELP;

enum {
    OPT_PRESET = 256,
    OPT_PAGE,
    OPT_BLOCK,
    OPT_NAME_LEN,
    OPT_META_LEN,
    OPT_MAGIC,
    OPT_NO_MAGIC,
    OPT_MAGIC_LEN,
    OPT_NO_MAGIC_LEN,
    OPT_ALIGNED,
    OPT_NO_ALIGNED,
    OPT_SIZE,
    OPT_FILL,
    OPT_JSON,
    OPT_FORCE,
};

static const struct option long_opts[] = {
    {"preset", required_argument, NULL, OPT_PRESET},
    {"page", required_argument, NULL, OPT_PAGE},
    {"block", required_argument, NULL, OPT_BLOCK},
    {"name-len", required_argument, NULL, OPT_NAME_LEN},
    {"meta-len", required_argument, NULL, OPT_META_LEN},
    {"magic", no_argument, NULL, OPT_MAGIC},
    {"no-magic", no_argument, NULL, OPT_NO_MAGIC},
    {"magic-len", no_argument, NULL, OPT_MAGIC_LEN},
    {"no-magic-len", no_argument, NULL, OPT_NO_MAGIC_LEN},
    {"aligned", no_argument, NULL, OPT_ALIGNED},
    {"no-aligned", no_argument, NULL, OPT_NO_ALIGNED},
    {"size", required_argument, NULL, OPT_SIZE},
    {"fill", no_argument, NULL, OPT_FILL},
    {"json", no_argument, NULL, OPT_JSON},
    {"force", no_argument, NULL, OPT_FORCE},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parses argv; returns -1 when all went well, else the exit status. */
static int parse(int argc, char **argv, const char *usage, struct cli_spiffs_opts *o)
{
    memset(o, 0, sizeof *o);
    o->flag[0] = o->flag[1] = o->flag[2] = -1;
    int c;
    bool build = usage == usage_build;
    while ((c = getopt_long(argc, argv, build ? "ho:c:b:p:s:" : "ho:", long_opts, NULL)) != -1) {
        /* mkspiffs' short options, for build */
        c = c == 'b' ? OPT_BLOCK : c == 'p' ? OPT_PAGE : c == 's' ? OPT_SIZE : c;
        static const char *const num_names[] = {"--page", "--block", "--name-len", "--meta-len"};
        switch (c) {
        case OPT_PRESET:
            o->preset = optarg;
            break;
        case OPT_PAGE:
        case OPT_BLOCK:
        case OPT_NAME_LEN:
        case OPT_META_LEN:
        case OPT_SIZE: {
            uint64_t *dst = c == OPT_SIZE ? &o->size : &o->num[c - OPT_PAGE];
            if (!cli_parse_size_opt(usage, c == OPT_SIZE ? "--size" : num_names[c - OPT_PAGE],
                                    optarg, dst)) {
                return CLI_USAGE;
            }
            if (c != OPT_SIZE) {
                o->num_set[c - OPT_PAGE] = true;
            }
            break;
        }
        case OPT_MAGIC:
        case OPT_NO_MAGIC:
        case OPT_MAGIC_LEN:
        case OPT_NO_MAGIC_LEN:
        case OPT_ALIGNED:
        case OPT_NO_ALIGNED:
            o->flag[(c - OPT_MAGIC) / 2] = (c - OPT_MAGIC) % 2 == 0;
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

static int build(int argc, char **argv, struct cli_spiffs_opts *o)
{
    char a[48], b[48];
    char *mk_inputs[2] = {NULL, NULL};
    if (o->dir != NULL) {
        /* mkspiffs: -c DIR ... IMAGE */
        if (o->output == NULL && argc - optind == 1) {
            o->output = argv[optind];
        } else if (argc - optind != 0) {
            return cli_usage_error(usage_build, "with -c DIR, name only the IMAGE (or -o IMAGE)");
        }
        mk_inputs[0] = (char *)(uintptr_t)o->dir;
        argv = mk_inputs;
        argc = 1;
        optind = 0;
    }
    if (o->size == 0 || o->output == NULL || optind >= argc) {
        return cli_usage_error(usage_build, "%s",
                               o->size == 0        ? "--size is required"
                               : o->output == NULL ? "-o IMAGE is required"
                                                   : "no input files given");
    }
    if (o->preset == NULL && !cli_spiffs_explicit(o)) {
        return cli_usage_error(usage_build, "say which platform the image is for: --preset "
                                            "esp8266-arduino|esp32-arduino|esp-idf (or PARAMS)");
    }
    struct sg_params p;
    struct sg_error serr = {0};
    if (cli_spiffs_params(o, o->size, &p) != CLI_OK) {
        return CLI_FAILED;
    }
    if (sg_params_check(&p, o->size, &serr) != SG_OK) {
        return cli_fail("check --size and the parameters against the partition", "%s", serr.msg);
    }
    struct cli_spiffs_inputs in = {.limit = o->size};
    struct pv_error perr = {0};
    int rc = CLI_OK;
    for (int i = optind; i < argc && rc == CLI_OK; i++) {
        if (cli_spiffs_collect(argv[i], &in, &perr) != PV_OK) {
            rc = cli_fail_err(&perr);
        }
    }
    struct sg_file *files = calloc(in.n ? in.n : 1, sizeof *files);
    uint8_t *img = rc == CLI_OK ? malloc(o->size) : NULL;
    if (rc == CLI_OK && (files == NULL || img == NULL)) {
        rc = cli_fail(NULL, "out of memory for a %s image", cli_spiffs_human(o->size, a, sizeof a));
    }
    unsigned flags = o->fill ? SG_BUILD_FILL : 0;
    struct sg_usage u = {0};
    if (rc == CLI_OK) {
        for (size_t i = 0; i < in.n; i++) {
            files[i] = (struct sg_file){in.v[i].name, in.v[i].data, in.v[i].size};
        }
        sg_files_sort(files, in.n);
        sg_usage(&p, files, in.n, flags, o->size, &u, NULL);
        if (u.bytes_over > 0) {
            rc = cli_fail(o->fill ? "use a bigger --size or fewer files"
                                  : "use --fill to use the 2 reserve blocks, or a bigger --size",
                          "the files need %s more than the %s image holds",
                          cli_spiffs_human(u.bytes_over, b, sizeof b),
                          cli_spiffs_human(o->size, a, sizeof a));
        }
    }
    if (rc == CLI_OK && sg_build(&p, files, in.n, flags, img, o->size, &serr) != SG_OK) {
        rc = cli_fail(serr.code == SG_ERR_DUPLICATE ? "give one of them another name with "
                                                      "SRC=/name"
                      : serr.code == SG_ERR_NAME    ? "rename it, or store it as SRC=/name"
                                                    : NULL,
                      "%s", serr.msg);
    }
    if (rc == CLI_OK && pv_file_write(o->output, img, o->size, 0644, 0, &perr) != PV_OK) {
        rc = cli_fail_err(&perr);
    }
    if (rc == CLI_OK) {
        struct sg_usage all = {0};
        sg_usage(&p, NULL, 0, SG_BUILD_FILL, o->size, &all, NULL);
        printf("wrote %s: %zu files, %s, %llu of %llu object pages used\n", o->output, in.n,
               cli_spiffs_human(in.total, a, sizeof a), (unsigned long long)u.pages_needed,
               (unsigned long long)all.pages_available);
    }
    free(img);
    free(files);
    cli_spiffs_inputs_free(&in);
    return rc;
}

static int list(const char *path, const struct cli_spiffs_opts *o, const struct cli_ctx *ctx)
{
    struct cli_spiffs_opened x;
    if (cli_spiffs_open_image(path, o, ctx, &x, false) != CLI_OK) {
        free(x.buf);
        return CLI_FAILED;
    }
    cli_spiffs_print_list(x.im, &x.p, x.preset, o->json);
    cli_spiffs_close_image(&x);
    return CLI_OK;
}

static int extract(const char *path, const char *dir, const struct cli_spiffs_opts *o,
                   const struct cli_ctx *ctx)
{
    struct cli_spiffs_opened x;
    struct sg_error serr = {0};
    if (cli_spiffs_open_image(path, o, ctx, &x, false) != CLI_OK) {
        free(x.buf);
        return CLI_FAILED;
    }
    struct pv_error perr = {0};
    int dirfd = cli_spiffs_open_dir(dir, &perr);
    size_t done = 0, n = sg_image_count(x.im);
    int rc = dirfd < 0 ? cli_fail_err(&perr) : CLI_OK;
    for (size_t i = 0; i < n && dirfd >= 0; i++) {
        const struct sg_entry *e = sg_image_entry(x.im, i);
        if (i > 0 && strcmp(e->name, sg_image_entry(x.im, i - 1)->name) == 0) {
            cli_warn("'%s' is in the image twice; extracted the copy the device opens", e->name);
            continue;
        }
        uint8_t *data = NULL;
        size_t len = 0;
        if (sg_image_read(x.im, i, &data, &len, &serr) != SG_OK) {
            rc = cli_fail("run 'espprov spiffs check' on the image", "%s", serr.msg);
        } else if (cli_spiffs_extract(dirfd, e->name, data, len, o->force, &perr) != PV_OK) {
            rc = cli_fail_err(&perr);
        } else {
            done++;
            cli_info(ctx, 1, "%s (%zu bytes)", e->name, len);
        }
        free(data);
    }
    if (dirfd >= 0) {
        close(dirfd);
        printf("extracted %zu of %zu files into %s\n", done, n, dir);
    }
    cli_spiffs_close_image(&x);
    return rc;
}

static void print_problem(void *user, const char *line)
{
    (void)user;
    printf("%s\n", line);
}

static int check(const char *path, const struct cli_spiffs_opts *o, const struct cli_ctx *ctx)
{
    struct cli_spiffs_opened x;
    if (cli_spiffs_open_image(path, o, ctx, &x, true) != CLI_OK) {
        free(x.buf);
        return CLI_FAILED;
    }
    size_t problems = sg_image_check(x.im, print_problem, NULL);
    size_t files = sg_image_count(x.im);
    cli_spiffs_close_image(&x);
    if (problems > 0) {
        return cli_fail("the device's SPIFFS check would delete what is inconsistent; rebuild "
                        "the image",
                        "%zu problem%s in '%s'", problems, problems == 1 ? "" : "s", path);
    }
    printf("no problems (%zu files)\n", files);
    return CLI_OK;
}

int cmd_spiffs(int argc, char **argv, struct cli_ctx *ctx)
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
        return cli_usage_error(usage_main, "'%s' is not a spiffs subcommand", argv[1]);
    }
    struct cli_spiffs_opts o;
    int rc = parse(argc - 1, argv + 1, usages[which], &o);
    if (rc != -1) {
        return rc;
    }
    argc--;
    argv++;
    if (which == 0) {
        return build(argc, argv, &o);
    }
    if (argc - optind != operands[which]) {
        return cli_usage_error(usages[which], "expected %s", which == 2 ? "IMAGE DIR" : "IMAGE");
    }
    if (which == 1) {
        return list(argv[optind], &o, ctx);
    }
    if (which == 2) {
        return extract(argv[optind], argv[optind + 1], &o, ctx);
    }
    return check(argv[optind], &o, ctx);
}
