/* `espprov fs ... --type littlefs`: LittleFS images on the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/cli/cli.h"
#include "provision/cli/cli_fs.h"
#include "provision/cli/cli_spiffs.h"

bool cli_fs_explicit(const struct cli_fs_opts *o)
{
    for (int i = 0; i < CLI_FS_NUMS; i++) {
        if (o->num_set[i]) {
            return true;
        }
    }
    return o->disk_version != 0;
}

int cli_fs_params(const struct cli_fs_opts *o, uint64_t size, struct lg_params *p)
{
    struct lg_error err = {0};
    if (lg_preset(o->preset ? o->preset : "esp-idf", size, p, &err) != LG_OK) {
        return cli_fail("use one of esp8266-arduino, esp32-arduino, esp-idf", "%s", err.msg);
    }
    uint32_t *num[CLI_FS_NUMS] = {&p->block_size, &p->read_size,      &p->prog_size,
                                  &p->cache_size, &p->lookahead_size, &p->name_max,
                                  &p->file_max,   &p->attr_max,       &p->inline_max};
    for (int i = 0; i < CLI_FS_NUMS; i++) {
        if (o->num_set[i]) {
            *num[i] = (uint32_t)o->num[i];
        }
    }
    if (o->num_set[CLI_FS_BLOCK] || o->num_set[CLI_FS_NAME_MAX]) {
        /* the preset's count and open() limit belong to its own block and name sizes */
        p->block_count = 0;
        p->path_name_max = 0;
    }
    if (o->disk_version != 0) {
        p->disk_version = o->disk_version;
    }
    return CLI_OK;
}

int cli_fs_lfs_build(int argc, char **argv, struct cli_fs_opts *o)
{
    char a[48], b[48];
    struct lg_params p;
    struct lg_error lerr = {0};
    if (cli_fs_params(o, o->size, &p) != CLI_OK) {
        return CLI_FAILED;
    }
    if (lg_params_check(&p, o->size, &lerr) != LG_OK) {
        return cli_fail("check --size and the parameters against the partition", "%s", lerr.msg);
    }
    struct cli_spiffs_inputs in = {.limit = o->size};
    struct pv_error perr = {0};
    int rc = CLI_OK;
    for (int i = optind; i < argc && rc == CLI_OK; i++) {
        if (cli_spiffs_collect(argv[i], &in, &perr) != PV_OK) {
            rc = cli_fail_err(&perr);
        }
    }
    struct lg_file *files = calloc(in.n ? in.n : 1, sizeof *files);
    uint8_t *img = rc == CLI_OK ? malloc(o->size) : NULL;
    if (rc == CLI_OK && (files == NULL || img == NULL)) {
        rc = cli_fail(NULL, "out of memory for a %s image", cli_spiffs_human(o->size, a, sizeof a));
    }
    unsigned flags = o->fill ? LG_BUILD_FILL : 0;
    struct lg_usage u = {0};
    if (rc == CLI_OK) {
        for (size_t i = 0; i < in.n; i++) {
            files[i] = (struct lg_file){in.v[i].name, in.v[i].data, in.v[i].size, false};
        }
        if (lg_usage(&p, files, in.n, flags, o->size, &u, &lerr) != LG_OK) {
            rc = cli_fail(lerr.code == LG_ERR_NAME ? "rename it, or store it as SRC=/name" : NULL,
                          "%s", lerr.msg);
        } else if (u.bytes_over > 0) {
            rc = cli_fail(o->fill ? "use a bigger --size or fewer files"
                                  : "use --fill to use the 2 reserve blocks, or a bigger --size",
                          "the files need %s more than the %s image holds",
                          cli_spiffs_human(u.bytes_over, b, sizeof b),
                          cli_spiffs_human(o->size, a, sizeof a));
        }
    }
    if (rc == CLI_OK && lg_build(&p, files, in.n, flags, img, o->size, &lerr) != LG_OK) {
        rc = cli_fail(lerr.code == LG_ERR_DUPLICATE ? "give one of them another name with "
                                                      "SRC=/name"
                      : lerr.code == LG_ERR_NAME    ? "rename it, or store it as SRC=/name"
                                                    : NULL,
                      "%s", lerr.msg);
    }
    if (rc == CLI_OK && pv_file_write(o->output, img, o->size, 0644, 0, &perr) != PV_OK) {
        rc = cli_fail_err(&perr);
    }
    if (rc == CLI_OK) {
        printf("wrote %s: littlefs, %zu files, %s, %llu of %llu blocks used (%u bytes each), "
               "disk v%u.%u\n",
               o->output, in.n, cli_spiffs_human(in.total, a, sizeof a),
               (unsigned long long)u.blocks_needed, (unsigned long long)(o->size / p.block_size),
               p.block_size, p.disk_version >> 16, p.disk_version & 0xffff);
    }
    free(img);
    free(files);
    cli_spiffs_inputs_free(&in);
    return rc;
}

/* An image read into memory and indexed. */
struct opened {
    uint8_t *buf;
    size_t len;
    struct lg_params p;
    char preset[32];
    struct lg_image *im;
};

/* Reads IMAGE, takes the parameters from the options or detects them, and
 * indexes it. With `as_problem` a refusal to mount is also printed on stdout
 * (check's output). On failure x->buf may need free(). */
static int open_image(const char *path, const struct cli_fs_opts *o, const struct cli_ctx *ctx,
                      struct opened *x, bool as_problem)
{
    struct lg_error lerr = {0};
    struct pv_error perr = {0};
    memset(x, 0, sizeof *x);
    if (cli_spiffs_read_file(path, 256u << 20, &x->buf, &x->len, &perr) != PV_OK) {
        return cli_fail_err(&perr);
    }
    bool given = o->preset != NULL || cli_fs_explicit(o);
    if (given) {
        if (cli_fs_params(o, x->len, &x->p) != CLI_OK) {
            return CLI_FAILED;
        }
        snprintf(x->preset, sizeof x->preset, "%s", o->preset ? o->preset : "custom");
    } else if (lg_detect(x->buf, x->len, &x->p, x->preset, sizeof x->preset, &lerr) != LG_OK) {
        if (as_problem) {
            printf("%s\n", lerr.msg);
        }
        return cli_fail(
            "if the image is sound, give its parameters: --preset NAME or the explicit values",
            "'%s': %s", path, lerr.msg);
    } else {
        char desc[200];
        lg_params_describe(&x->p, desc, sizeof desc);
        cli_info(ctx, 1, "detected littlefs, %s: %s", x->preset, desc);
    }
    if (lg_image_open(given ? &x->p : NULL, x->buf, x->len, &x->im, &lerr) != LG_OK) {
        if (as_problem) {
            printf("%s\n", lerr.msg);
        }
        return cli_fail(given ? "check the parameters (--preset, or none to detect them)" : NULL,
                        "'%s': %s", path, lerr.msg);
    }
    return CLI_OK;
}

static void close_image(struct opened *x)
{
    lg_image_close(x->im);
    free(x->buf);
}

static void print_list(const struct opened *x, bool json)
{
    struct lg_stats st;
    struct lg_superblock sb;
    lg_image_stats(x->im, &st);
    lg_image_superblock(x->im, &sb);
    size_t n = lg_image_count(x->im);
    if (json) {
        printf("{\"type\":\"littlefs\",\"preset\":");
        cli_json_string(stdout, x->preset);
        printf(",\"block_size\":%u,\"block_count\":%u,\"disk_version\":\"%u.%u\",\"name_max\":%u,"
               "\"files\":[",
               sb.block_size, sb.block_count, sb.version >> 16, sb.version & 0xffff, sb.name_max);
    }
    for (size_t i = 0; i < n; i++) {
        const struct lg_entry *e = lg_image_entry(x->im, i);
        bool dir = e->type == LG_TYPE_DIR;
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            cli_json_string(stdout, e->path);
            printf(",\"type\":\"%s\",\"size\":%u}", dir ? "dir" : "file", e->size);
        } else if (dir) {
            cli_line(stdout, "%10s  %s/", "dir", e->path);
        } else {
            cli_line(stdout, "%10u  %s", e->size, e->path);
        }
    }
    if (json) {
        printf("],\"stats\":{\"files\":%u,\"dirs\":%u,\"bytes\":%llu,\"blocks\":%u,"
               "\"blocks_used\":%u,\"pairs\":%u,\"commits\":%u,\"torn_commits\":%u}}\n",
               st.files, st.dirs, (unsigned long long)st.bytes, st.blocks, st.blocks_used, st.pairs,
               st.commits, st.torn_commits);
    } else {
        printf("%u files, %u folders, %llu bytes; blocks: %u used of %u (%u bytes each); "
               "littlefs disk v%u.%u\n",
               st.files, st.dirs, (unsigned long long)st.bytes, st.blocks_used, st.blocks,
               sb.block_size, sb.version >> 16, sb.version & 0xffff);
    }
}

int cli_fs_lfs_list(const char *path, const struct cli_fs_opts *o, const struct cli_ctx *ctx)
{
    struct opened x;
    if (open_image(path, o, ctx, &x, false) != CLI_OK) {
        free(x.buf);
        return CLI_FAILED;
    }
    print_list(&x, o->json);
    close_image(&x);
    return CLI_OK;
}

/* Creates the folder `name` ("/a/b") below dirfd, part by part, never
 * through a symlink, so nothing lands outside the target folder. */
static int make_dirs(int dirfd, const char *name, struct pv_error *err)
{
    static const char hint[] = "extract the other files, or rename this folder on the device";
    if (pv_devname_check(name, err) != PV_OK) {
        snprintf(err->hint, sizeof err->hint, "%s", hint);
        return pv_error_prefix(err, "not extracted");
    }
    int cur = dup(dirfd);
    if (cur < 0) {
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot open the target folder: %s",
                            strerror(errno));
    }
    int rc = PV_OK;
    for (const char *p = name + 1; rc == PV_OK && *p != '\0';) {
        size_t n = strcspn(p, "/");
        char part[256];
        if (n >= sizeof part) {
            rc = pv_error_set(err, PV_ERR_INVALID, hint,
                              "a part of '%s' is too long; not extracted", name);
            break;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        if (mkdirat(cur, part, 0777) != 0 && errno != EEXIST) {
            rc = pv_error_set(err, PV_ERR_IO, NULL, "cannot create folder '%s': %s", name,
                              strerror(errno));
            break;
        }
        int next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            rc = pv_error_set(err, PV_ERR_INVALID, hint,
                              "'%s': '%s' in the target folder is not a folder (or is a "
                              "symlink); not extracted",
                              name, part);
            break;
        }
        close(cur);
        cur = next;
        p += n + (p[n] == '/');
    }
    close(cur);
    return rc;
}

int cli_fs_lfs_extract(const char *path, const char *dir, const struct cli_fs_opts *o,
                       const struct cli_ctx *ctx)
{
    struct opened x;
    if (open_image(path, o, ctx, &x, false) != CLI_OK) {
        free(x.buf);
        return CLI_FAILED;
    }
    struct pv_error perr = {0};
    struct lg_error lerr = {0};
    int dirfd = cli_spiffs_open_dir(dir, &perr);
    size_t done = 0, files = 0, n = lg_image_count(x.im);
    int rc = dirfd < 0 ? cli_fail_err(&perr) : CLI_OK;
    for (size_t i = 0; i < n && dirfd >= 0; i++) {
        const struct lg_entry *e = lg_image_entry(x.im, i);
        const char *why = e->unsafe ? "its name would leave the folder" : lg_path_problem(e->path);
        files += e->type == LG_TYPE_FILE;
        if (why != NULL) {
            rc = cli_fail("extract the other files, or rename this one on the device",
                          "'%s' not extracted: %s", e->path, why);
            continue;
        }
        if (e->type == LG_TYPE_DIR) {
            if (make_dirs(dirfd, e->path, &perr) != PV_OK) {
                rc = cli_fail_err(&perr);
            }
            continue;
        }
        uint8_t *data = NULL;
        size_t len = 0;
        if (lg_image_read(x.im, i, &data, &len, &lerr) != LG_OK) {
            rc = cli_fail("run 'espprov fs check' on the image", "%s", lerr.msg);
        } else if (cli_spiffs_extract(dirfd, e->path, data, len, o->force, &perr) != PV_OK) {
            rc = cli_fail_err(&perr);
        } else {
            done++;
            cli_info(ctx, 1, "%s (%zu bytes)", e->path, len);
        }
        pv_secret_free(data, len);
    }
    if (dirfd >= 0) {
        close(dirfd);
        cli_line(stdout, "extracted %zu of %zu files into %s", done, files, dir);
    }
    close_image(&x);
    return rc;
}

static void print_problem(void *user, const char *line)
{
    (void)user;
    cli_line(stdout, "%s", line);
}

int cli_fs_lfs_check(const char *path, const struct cli_fs_opts *o, const struct cli_ctx *ctx)
{
    struct opened x;
    if (open_image(path, o, ctx, &x, true) != CLI_OK) {
        free(x.buf);
        return CLI_FAILED;
    }
    size_t problems = lg_image_check(x.im, print_problem, NULL);
    struct lg_stats st;
    lg_image_stats(x.im, &st);
    close_image(&x);
    if (problems > 0) {
        return cli_fail("the device may refuse to mount it and format the partition; rebuild "
                        "the image",
                        "%zu problem%s in '%s'", problems, problems == 1 ? "" : "s", path);
    }
    if (st.torn_commits > 0) {
        cli_warn("'%s': %u metadata pair%s end%s in a torn commit (a power loss); the device "
                 "drops it at mount",
                 path, st.torn_commits, st.torn_commits == 1 ? "" : "s",
                 st.torn_commits == 1 ? "s" : "");
    }
    printf("no problems (%u files, %u folders)\n", st.files, st.dirs);
    return CLI_OK;
}
