/*
 * Cross-check of lfsgen against a real littlefs (manual, not part of `make test`).
 *
 * Built by tools/lfs-crosscheck.sh against a littlefs checkout the developer
 * names (LFS_SRC=...); this file holds none of littlefs's code, only calls its
 * public API (lfs.h). For every platform preset the compiled littlefs can
 * mount it:
 *   - images lg_build makes (empty, inline, CTZ across block boundaries, deep
 *     directories, names at the limit, a split directory, near-full, the
 *     provisioning set) must mount; lfs_dir_read must list exactly our
 *     entries, lfs_file_read return our bytes, lfs_fs_size equal our count;
 *   - the device then writes (create, append, truncate, delete, rename across
 *     directories, mkdir, fill to LFS_ERR_NOSPC, free again); after each
 *     unmount lg_image_open/lg_image_check must see exactly that, with no
 *     problems;
 *   - images littlefs formats and writes itself read the same with ours;
 *   - power loss: the device's writes are cut at every program operation
 *     (the cut program half done); littlefs and our reader must agree on what
 *     is visible, and the last commit of a pair is torn on purpose;
 *   - on-disk 2.0 (ESP8266): littlefs 2.5 must mount our 2.0 images and
 *     refuse our 2.1 ones; a newer littlefs with LFS_MULTIVERSION and
 *     disk_version 2.0 must keep the image 2.0 while writing.
 * The block device refuses to program bytes that are not erased (as NOR flash
 * would silently AND them): littlefs appending to a log our builder claims is
 * erased must never hit written bytes.
 *
 * Exit status 0 when every check passed; one line per failure.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfs.h"
#include "lfsgen/lfsgen.h"

#define KIB  1024u
#define MAXE 1024 /* entries a view holds */

static unsigned g_checks, g_failures;

static void fail(const char *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", ctx);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    g_failures++;
}

#define CHECK(ctx, cond, ...)                                                                      \
    do {                                                                                           \
        g_checks++;                                                                                \
        if (!(cond)) {                                                                             \
            fail(ctx, __VA_ARGS__);                                                                \
        }                                                                                          \
    } while (0)

/* ===== The flash: RAM, NOR rules, optional power cut ==================== */

struct dev {
    uint8_t *img;
    uint32_t bs, bc;
    unsigned long progs, erases, bad_progs;
    long budget; /* program operations left before the power cut; -1 never */
    jmp_buf *cut;
};

static int dev_read(const struct lfs_config *c, lfs_block_t b, lfs_off_t off, void *buf,
                    lfs_size_t n)
{
    struct dev *d = c->context;
    if (b >= d->bc || off + n > d->bs) {
        return LFS_ERR_IO;
    }
    memcpy(buf, d->img + (size_t)b * d->bs + off, n);
    return 0;
}

static int dev_prog(const struct lfs_config *c, lfs_block_t b, lfs_off_t off, const void *buf,
                    lfs_size_t n)
{
    struct dev *d = c->context;
    if (b >= d->bc || off + n > d->bs) {
        return LFS_ERR_IO;
    }
    uint8_t *p = d->img + (size_t)b * d->bs + off;
    const uint8_t *s = buf;
    lfs_size_t todo = n;
    if (d->budget == 0) {
        todo = n / 2; /* the cut lands in the middle of this program */
    }
    for (lfs_size_t i = 0; i < todo; i++) {
        if (p[i] != 0xFF) {
            d->bad_progs++;
        }
        p[i] &= s[i];
    }
    d->progs++;
    if (d->budget == 0) {
        longjmp(*d->cut, 1);
    }
    if (d->budget > 0) {
        d->budget--;
    }
    return 0;
}

static int dev_erase(const struct lfs_config *c, lfs_block_t b)
{
    struct dev *d = c->context;
    if (b >= d->bc) {
        return LFS_ERR_IO;
    }
    if (d->budget == 0) {
        longjmp(*d->cut, 1); /* the cut hits before the erase */
    }
    memset(d->img + (size_t)b * d->bs, 0xFF, d->bs);
    d->erases++;
    return 0;
}

static int dev_sync(const struct lfs_config *c)
{
    (void)c;
    return 0;
}

/* ===== Platforms ========================================================= */

struct platform {
    const char *label;
    const char *preset;
    uint32_t image_size;
    bool cfg_block_count_zero; /* esp_littlefs mounts with block_count 0 */
    bool disk20;               /* the image (and the device) stay on-disk 2.0 */
};

static struct lfs_config make_cfg(const struct lg_params *p, struct dev *d,
                                  const struct platform *pl)
{
    struct lfs_config c;
    memset(&c, 0, sizeof c);
    c.context = d;
    c.read = dev_read;
    c.prog = dev_prog;
    c.erase = dev_erase;
    c.sync = dev_sync;
    c.read_size = p->read_size;
    c.prog_size = p->prog_size;
    c.block_size = p->block_size;
    c.block_count = pl->cfg_block_count_zero ? 0 : d->bc;
    c.block_cycles = p->block_cycles;
    c.cache_size = p->cache_size;
    c.lookahead_size = p->lookahead_size;
    c.name_max = p->name_max < LFS_NAME_MAX ? p->name_max : 0;
#ifdef LFS_MULTIVERSION
    c.disk_version = pl->disk20 ? 0x00020000 : 0;
#endif
    return c;
}

/* ===== A filesystem model and views ===================================== */

#define PATHLEN 600

struct ent {
    char path[PATHLEN];
    bool dir;
    uint8_t *data;
    uint32_t size;
};

struct view {
    struct ent *e;
    size_t n, cap;
};

static void view_free(struct view *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->e[i].data);
    }
    free(v->e);
    v->e = NULL;
    v->n = v->cap = 0;
}

static struct ent *view_find(struct view *v, const char *path)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->e[i].path, path) == 0) {
            return &v->e[i];
        }
    }
    return NULL;
}

static void view_put(struct view *v, const char *path, bool dir, const uint8_t *data, uint32_t size)
{
    struct ent *e = view_find(v, path);
    if (e == NULL) {
        if (v->n == v->cap) {
            v->cap = v->cap ? 2 * v->cap : 64;
            v->e = realloc(v->e, v->cap * sizeof v->e[0]);
        }
        e = &v->e[v->n++];
        snprintf(e->path, sizeof e->path, "%s", path);
    } else {
        free(e->data);
    }
    e->dir = dir;
    e->size = size;
    e->data = NULL;
    if (size > 0) {
        e->data = malloc(size);
        memcpy(e->data, data, size);
    }
}

static void view_del(struct view *v, const char *path)
{
    struct ent *e = view_find(v, path);
    if (e != NULL) {
        free(e->data);
        *e = v->e[--v->n];
    }
}

static int ent_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ent *)a)->path, ((const struct ent *)b)->path);
}

/* Same entries, types, sizes and bytes. */
static void view_compare(const char *ctx, struct view *want, struct view *got)
{
    if (want->n > 1) {
        qsort(want->e, want->n, sizeof want->e[0], ent_cmp);
    }
    if (got->n > 1) {
        qsort(got->e, got->n, sizeof got->e[0], ent_cmp);
    }
    size_t i = 0, j = 0;
    while (i < want->n || j < got->n) {
        int c = i == want->n ? 1 : j == got->n ? -1 : strcmp(want->e[i].path, got->e[j].path);
        g_checks++;
        if (c < 0) {
            fail(ctx, "missing %s", want->e[i++].path);
        } else if (c > 0) {
            fail(ctx, "unexpected %s", got->e[j++].path);
        } else {
            const struct ent *a = &want->e[i++], *b = &got->e[j++];
            if (a->dir != b->dir || a->size != b->size) {
                fail(ctx, "%s: %s %u vs %s %u", a->path, a->dir ? "dir" : "file", a->size,
                     b->dir ? "dir" : "file", b->size);
            } else if (a->size && memcmp(a->data, b->data, a->size) != 0) {
                fail(ctx, "%s: bytes differ", a->path);
            }
        }
    }
}

/* The children of each directory come in the same order (lfs_dir_read's
 * order is the order lookups rely on). Views must not be sorted yet. */
static void order_compare(const char *ctx, const struct view *real, const struct view *ours)
{
    for (size_t i = 0; i < real->n; i++) {
        if (!real->e[i].dir && i > 0) {
            continue;
        }
        /* the directory whose children we compare: "" is the root */
        char dir[PATHLEN];
        snprintf(dir, sizeof dir, "%s", i == 0 && !real->e[0].dir ? "" : real->e[i].path);
        for (int pass = 0; pass < (i == 0 ? 2 : 1); pass++) {
            if (pass == 1) {
                dir[0] = '\0';
            }
            size_t dl = strlen(dir), a = 0, b = 0;
            for (;;) {
                while (a < real->n &&
                       !(strncmp(real->e[a].path, dir, dl) == 0 && real->e[a].path[dl] == '/' &&
                         strchr(real->e[a].path + dl + 1, '/') == NULL)) {
                    a++;
                }
                while (b < ours->n &&
                       !(strncmp(ours->e[b].path, dir, dl) == 0 && ours->e[b].path[dl] == '/' &&
                         strchr(ours->e[b].path + dl + 1, '/') == NULL)) {
                    b++;
                }
                if (a == real->n || b == ours->n) {
                    break;
                }
                g_checks++;
                if (strcmp(real->e[a].path, ours->e[b].path) != 0) {
                    fail(ctx, "in '%s/' littlefs lists %s where ours lists %s", dir,
                         real->e[a].path, ours->e[b].path);
                    break;
                }
                a++;
                b++;
            }
        }
    }
}

/* What littlefs lists and reads (lfs_dir_read, lfs_file_read), recursively. */
static int lfs_view_dir(lfs_t *lfs, const char *dir, struct view *v, const char *ctx)
{
    lfs_dir_t d;
    int err = lfs_dir_open(lfs, &d, dir);
    if (err) {
        fail(ctx, "lfs_dir_open(%s) = %d", dir, err);
        return err;
    }
    struct lfs_info info;
    struct view sub = {.n = 0};
    while ((err = lfs_dir_read(lfs, &d, &info)) > 0) {
        if (strcmp(info.name, ".") == 0 || strcmp(info.name, "..") == 0) {
            continue;
        }
        char path[PATHLEN];
        snprintf(path, sizeof path, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", info.name);
        if (info.type == LFS_TYPE_DIR) {
            view_put(v, path, true, NULL, 0);
            view_put(&sub, path, true, NULL, 0);
            continue;
        }
        lfs_file_t f;
        int e2 = lfs_file_open(lfs, &f, path, LFS_O_RDONLY);
        if (e2) {
            fail(ctx, "lfs_file_open(%s) = %d", path, e2);
            continue;
        }
        uint8_t *buf = malloc(info.size + 1);
        lfs_ssize_t got = lfs_file_read(lfs, &f, buf, info.size + 1);
        if (got != (lfs_ssize_t)info.size) {
            fail(ctx, "lfs_file_read(%s) = %" PRId32 ", size %" PRIu32, path, got, info.size);
        }
        view_put(v, path, false, buf, got > 0 ? (uint32_t)got : 0);
        free(buf);
        lfs_file_close(lfs, &f);
    }
    if (err < 0) {
        fail(ctx, "lfs_dir_read(%s) = %d", dir, err);
    }
    lfs_dir_close(lfs, &d);
    for (size_t i = 0; i < sub.n; i++) {
        lfs_view_dir(lfs, sub.e[i].path, v, ctx);
    }
    view_free(&sub);
    return 0;
}

static void collect_problem(void *user, const char *line)
{
    printf("    check: %s (%s)\n", line, (const char *)user);
}

/* What our reader lists and reads; counts check problems. */
static size_t lg_view(const struct lg_params *p, const uint8_t *img, size_t size, struct view *v,
                      const char *ctx, struct lg_stats *st)
{
    struct lg_image *im;
    struct lg_error err;
    if (lg_image_open(p, img, size, &im, &err) != LG_OK) {
        fail(ctx, "lg_image_open: %s", err.msg);
        return 1;
    }
    for (size_t i = 0; i < lg_image_count(im); i++) {
        const struct lg_entry *e = lg_image_entry(im, i);
        if (e->type == LG_TYPE_DIR) {
            view_put(v, e->path, true, NULL, 0);
            continue;
        }
        uint8_t *data;
        size_t len;
        if (lg_image_read(im, i, &data, &len, &err) != LG_OK) {
            fail(ctx, "lg_image_read(%s): %s", e->path, err.msg);
            continue;
        }
        view_put(v, e->path, false, data, (uint32_t)len);
        free(data);
    }
    if (st != NULL) {
        lg_image_stats(im, st);
    }
    size_t problems = lg_image_check(im, collect_problem, (void *)ctx);
    lg_image_close(im);
    return problems;
}

static int count_block(void *user, lfs_block_t b)
{
    (void)b;
    (*(unsigned *)user)++;
    return 0;
}

/* Mounts with the real littlefs and compares its view, ours and the model;
 * also lfs_fs_size against our block count and our check. */
static void verify(const char *ctx, const struct platform *pl, const struct lg_params *p,
                   struct dev *d, struct view *model)
{
    struct lfs_config c = make_cfg(p, d, pl);
    lfs_t lfs;
    int err = lfs_mount(&lfs, &c);
    CHECK(ctx, err == 0, "lfs_mount = %d", err);
    if (err) {
        return;
    }
    struct view real = {.n = 0}, ours = {.n = 0};
    lfs_view_dir(&lfs, "/", &real, ctx);
    lfs_ssize_t used = lfs_fs_size(&lfs);
    unsigned visited = 0;
    err = lfs_fs_traverse(&lfs, count_block, &visited);
    CHECK(ctx, err == 0, "lfs_fs_traverse = %d", err);
    lfs_unmount(&lfs);

    struct lg_stats st;
    size_t problems = lg_view(p, d->img, (size_t)d->bs * d->bc, &ours, ctx, &st);
    CHECK(ctx, problems == 0, "lg_image_check: %zu problem(s)", problems);
    CHECK(ctx, used == (lfs_ssize_t)st.blocks_used, "lfs_fs_size %" PRId32 " != ours %" PRIu32,
          used, st.blocks_used);
    if (model != NULL) {
        char c1[200];
        snprintf(c1, sizeof c1, "%s [littlefs vs model]", ctx);
        struct view m = {.n = 0};
        for (size_t i = 0; i < model->n; i++) {
            view_put(&m, model->e[i].path, model->e[i].dir, model->e[i].data, model->e[i].size);
        }
        view_compare(c1, &m, &real);
        view_free(&m);
    }
    char c2[200];
    snprintf(c2, sizeof c2, "%s [ours vs littlefs]", ctx);
    order_compare(c2, &real, &ours);
    view_compare(c2, &real, &ours);
    view_free(&real);
    view_free(&ours);
}

/* ===== Contents =========================================================== */

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

struct fileset {
    struct lg_file f[MAXE];
    uint8_t *bufs[MAXE];
    char names[MAXE][PATHLEN];
    size_t n;
};

static void fs_add(struct fileset *s, const char *name, size_t size, uint32_t seed, bool dir)
{
    size_t i = s->n++;
    snprintf(s->names[i], sizeof s->names[i], "%s", name);
    s->bufs[i] = size ? malloc(size) : NULL;
    if (size) {
        fill(s->bufs[i], size, seed);
    }
    s->f[i] = (struct lg_file){s->names[i], s->bufs[i], size, dir};
}

static void fs_free(struct fileset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->bufs[i]);
    }
    s->n = 0;
}

/* The model of a file set: every file, every directory on the way. */
static void model_of(const struct fileset *s, struct view *m)
{
    for (size_t i = 0; i < s->n; i++) {
        char path[PATHLEN];
        snprintf(path, sizeof path, "%s", s->f[i].name);
        for (char *q = strchr(path + 1, '/'); q != NULL; q = strchr(q + 1, '/')) {
            *q = '\0';
            view_put(m, path, true, NULL, 0);
            *q = '/';
        }
        view_put(m, s->f[i].name, s->f[i].is_dir, s->f[i].data, (uint32_t)s->f[i].size);
    }
}

/* ===== Device writes ====================================================== */

static int write_file(lfs_t *lfs, const char *path, const uint8_t *data, size_t n, int flags)
{
    lfs_file_t f;
    int err = lfs_file_open(lfs, &f, path, LFS_O_WRONLY | LFS_O_CREAT | flags);
    if (err) {
        return err;
    }
    lfs_ssize_t w = lfs_file_write(lfs, &f, data, (lfs_size_t)n);
    int cerr = lfs_file_close(lfs, &f);
    return w < 0 ? (int)w : cerr;
}

/* A sequence of what a running device does, mirrored in the model. Returns
 * the littlefs error of the first step that failed (0 = all done). */
enum session { ROOMY, TIGHT };

/* ROOMY: the whole sequence, then fill to NOSPC. TIGHT (an image built to
 * its 2-block reserve): free one file first, small writes only, then fill. */
static int device_session(lfs_t *lfs, struct view *m, uint32_t bs, const char *ctx, bool fill_up,
                          enum session mode)
{
    static uint8_t buf[3 * 8192 + 100];
    int err;
    if (mode == TIGHT) {
        if ((err = lfs_remove(lfs, "/ca.der"))) {
            return err;
        }
        view_del(m, "/ca.der");
        fill(buf, 20, 5);
        if ((err = write_file(lfs, "/small.txt", buf, 20, LFS_O_TRUNC))) {
            return err;
        }
        view_put(m, "/small.txt", false, buf, 20);
        fill(buf, 9, 6);
        if ((err = write_file(lfs, "/big", buf, 9, LFS_O_APPEND))) {
            return err;
        }
        struct ent *b = view_find(m, "/big");
        b->data = realloc(b->data, b->size + 9);
        memcpy(b->data + b->size, buf, 9);
        b->size += 9;
        goto filling;
    }
    /* create: inline, exactly one block, across blocks */
    fill(buf, 40, 1);
    if ((err = write_file(lfs, "/new_small.txt", buf, 40, LFS_O_TRUNC))) {
        return err;
    }
    view_put(m, "/new_small.txt", false, buf, 40);
    fill(buf, 2 * bs + 77, 2);
    if ((err = write_file(lfs, "/new_big.bin", buf, 2 * bs + 77, LFS_O_TRUNC))) {
        return err;
    }
    view_put(m, "/new_big.bin", false, buf, 2 * bs + 77);
    /* mkdir and a file inside */
    err = lfs_mkdir(lfs, "/logs");
    if (err && err != LFS_ERR_EXIST) {
        return err;
    }
    view_put(m, "/logs", true, NULL, 0);
    fill(buf, 300, 3);
    if ((err = write_file(lfs, "/logs/boot.log", buf, 300, LFS_O_TRUNC))) {
        return err;
    }
    view_put(m, "/logs/boot.log", false, buf, 300);
    /* append to (up to 8 of) the files the image had; inline ones may turn CTZ */
    for (size_t i = 0, done = 0; i < m->n && done < 8; i++) {
        struct ent *e = &m->e[i];
        if (e->dir || strncmp(e->path, "/new_", 5) == 0 || strncmp(e->path, "/logs", 5) == 0) {
            continue;
        }
        uint32_t add = (uint32_t)(done++ % 3 == 0 ? bs / 2 + 13 : 9);
        fill(buf, add, (uint32_t)i + 100);
        if ((err = write_file(lfs, e->path, buf, add, LFS_O_APPEND))) {
            printf("    (append %s: %d)\n", e->path, err);
            return err;
        }
        uint8_t *nd = malloc(e->size + add);
        if (e->size) {
            memcpy(nd, e->data, e->size);
        }
        memcpy(nd + e->size, buf, add);
        free(e->data);
        e->data = nd;
        e->size += add;
    }
    /* truncate one, delete one, rename within and across directories */
    if (view_find(m, "/config.json") != NULL) {
        lfs_file_t f;
        if ((err = lfs_file_open(lfs, &f, "/config.json", LFS_O_RDWR))) {
            return err;
        }
        err = lfs_file_truncate(lfs, &f, 5);
        lfs_file_close(lfs, &f);
        if (err) {
            return err;
        }
        view_find(m, "/config.json")->size = 5;
    }
    if (view_find(m, "/client.key.der") != NULL) {
        if ((err = lfs_remove(lfs, "/client.key.der"))) {
            return err;
        }
        view_del(m, "/client.key.der");
    }
    if ((err = lfs_rename(lfs, "/new_small.txt", "/renamed.txt"))) {
        return err;
    }
    struct ent *e = view_find(m, "/new_small.txt");
    view_put(m, "/renamed.txt", false, e->data, e->size);
    view_del(m, "/new_small.txt");
    if ((err = lfs_rename(lfs, "/new_big.bin", "/logs/big.bin"))) {
        return err;
    }
    e = view_find(m, "/new_big.bin");
    view_put(m, "/logs/big.bin", false, e->data, e->size);
    view_del(m, "/new_big.bin");
    /* directories come and go (the gstate's orphan count), one moves */
    if ((err = lfs_mkdir(lfs, "/tmpdir"))) {
        return err;
    }
    if ((err = write_file(lfs, "/tmpdir/f", buf, 5, LFS_O_TRUNC)) ||
        (err = lfs_remove(lfs, "/tmpdir/f")) || (err = lfs_remove(lfs, "/tmpdir"))) {
        return err;
    }
    if ((err = lfs_mkdir(lfs, "/var"))) {
        return err;
    }
    view_put(m, "/var", true, NULL, 0);
    if ((err = lfs_rename(lfs, "/logs", "/var/logs"))) {
        return err;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (strncmp(m->e[i].path, "/logs", 5) == 0) {
            char moved[PATHLEN + 8];
            snprintf(moved, sizeof moved, "/var%s", m->e[i].path);
            memcpy(m->e[i].path, moved, PATHLEN - 1);
            m->e[i].path[PATHLEN - 1] = '\0';
        }
    }
    /* a directory the device fills past one pair (it splits it itself),
     * then thins out */
    if ((err = lfs_mkdir(lfs, "/spool"))) {
        return err;
    }
    view_put(m, "/spool", true, NULL, 0);
    for (int i = 0; i < 120; i++) {
        char name[40];
        snprintf(name, sizeof name, "/spool/msg%03d", (i * 37) % 120);
        fill(buf, (size_t)(i % 5) * 7, (uint32_t)i + 500);
        if ((err = write_file(lfs, name, buf, (size_t)(i % 5) * 7, LFS_O_TRUNC))) {
            return err;
        }
        view_put(m, name, false, buf, (uint32_t)(i % 5) * 7);
    }
    for (int i = 0; i < 120; i += 3) {
        char name[40];
        snprintf(name, sizeof name, "/spool/msg%03d", i);
        if ((err = lfs_remove(lfs, name))) {
            return err;
        }
        view_del(m, name);
    }
filling:
    if (!fill_up) {
        return 0;
    }
    /* fill to NOSPC in block-sized files, then free two */
    char name[64];
    int k = 0;
    for (;; k++) {
        snprintf(name, sizeof name, "/fill%03d", k);
        fill(buf, bs, (uint32_t)k + 1000);
        err = write_file(lfs, name, buf, bs, LFS_O_TRUNC);
        if (err == LFS_ERR_NOSPC) {
            /* the partial file may exist (created, not written): drop it */
            lfs_remove(lfs, name);
            break;
        }
        if (err) {
            printf("    (fill %s: %d)\n", name, err);
            return err;
        }
        view_put(m, name, false, buf, bs);
        if (k > 4000) {
            fail(ctx, "never ran out of space");
            return LFS_ERR_IO;
        }
    }
    for (int j = 0; j < 2 && j < k; j++) {
        snprintf(name, sizeof name, "/fill%03d", j);
        if ((err = lfs_remove(lfs, name))) {
            return err;
        }
        view_del(m, name);
    }
    return 0;
}

/* ===== Scenarios ========================================================== */

/* LFS_XCHECK_SAVE=dir keeps each device-written image (dir/LABEL.CASE.img) for
 * the `load` mode of a harness built against another littlefs. */
static void save_image(const struct platform *pl, const char *name, const uint8_t *img)
{
    const char *dir = getenv("LFS_XCHECK_SAVE");
    if (dir == NULL) {
        return;
    }
    char path[400];
    snprintf(path, sizeof path, "%s/%s.%s.img", dir, pl->label, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(img, 1, pl->image_size, f) != pl->image_size) {
        fail("save", "cannot write %s", path);
    }
    if (f != NULL) {
        fclose(f);
    }
}

/* An image another littlefs (or version) wrote: this littlefs and our reader
 * must agree on it, before and after this littlefs writes to it. */
static void scenario_load(const struct platform *pl, const char *file)
{
    char ctx[500];
    snprintf(ctx, sizeof ctx, "%s/load %s", pl->label, file);
    struct lg_params p;
    lg_preset(pl->preset, pl->image_size, &p, NULL);
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size, .budget = -1};
    d.img = malloc(pl->image_size);
    FILE *f = fopen(file, "rb");
    size_t got = f ? fread(d.img, 1, pl->image_size, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    CHECK(ctx, got == pl->image_size, "read %zu bytes", got);
    if (got == pl->image_size) {
        verify(ctx, pl, &p, &d, NULL);
        struct lfs_config c = make_cfg(&p, &d, pl);
        lfs_t lfs;
        if (lfs_mount(&lfs, &c) == 0) {
            struct view m = {.n = 0};
            lfs_view_dir(&lfs, "/", &m, ctx);
            /* what an earlier session made goes first (its names come again) */
            static const char *const again[] = {"/var", "/spool", "/logs", "/renamed.txt",
                                                "/tmpdir"};
            for (size_t k = 0; k < sizeof again / sizeof again[0]; k++) {
                size_t len = strlen(again[k]);
                for (int pass = 0; pass < 8; pass++) { /* deepest first */
                    for (size_t i = 0; i < m.n;) {
                        const char *q = m.e[i].path;
                        bool under =
                            strncmp(q, again[k], len) == 0 && (q[len] == '\0' || q[len] == '/');
                        if (under && lfs_remove(&lfs, q) == 0) {
                            view_del(&m, q);
                        } else {
                            i++;
                        }
                    }
                }
            }
            /* make room: the saved images were filled to LFS_ERR_NOSPC */
            for (size_t i = 0; i < m.n;) {
                if (strncmp(m.e[i].path, "/fill", 5) == 0 || strcmp(m.e[i].path, "/big") == 0) {
                    CHECK(ctx, lfs_remove(&lfs, m.e[i].path) == 0, "remove %s", m.e[i].path);
                    view_del(&m, m.e[i].path);
                } else {
                    i++;
                }
            }
            int e = device_session(&lfs, &m, p.block_size, ctx, false, ROOMY);
            /* a small image may run out of room the second time round: then
             * littlefs and we must still agree, the model is moot */
            CHECK(ctx, e == 0 || e == LFS_ERR_NOSPC, "device session: littlefs error %d", e);
            lfs_unmount(&lfs);
            char c2[600];
            snprintf(c2, sizeof c2, "%s, then written%s", ctx, e ? " (to NOSPC)" : "");
            verify(c2, pl, &p, &d, e ? NULL : &m);
            view_free(&m);
        }
        CHECK(ctx, d.bad_progs == 0, "littlefs programmed %lu byte(s) that were not erased",
              d.bad_progs);
    }
    free(d.img);
}

static bool lg_ok(const char *ctx, int rc, const struct lg_error *err)
{
    CHECK(ctx, rc == LG_OK, "lfsgen: %s", err->msg);
    return rc == LG_OK;
}

/* Builds `set`, mounts it, lets the device write, reads it back both ways. */
static void case_built(const struct platform *pl, const char *name, struct fileset *set,
                       unsigned flags, bool fill_up, enum session mode)
{
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s/%s", pl->label, name);
    struct lg_params p;
    struct lg_error err;
    lg_preset(pl->preset, pl->image_size, &p, &err);
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size, .budget = -1};
    d.img = malloc(pl->image_size);
    if (!lg_ok(ctx, lg_build(&p, set->f, set->n, flags, d.img, pl->image_size, &err), &err)) {
        free(d.img);
        return;
    }
    struct view m = {.n = 0};
    model_of(set, &m);
    verify(ctx, pl, &p, &d, &m);

    struct lfs_config c = make_cfg(&p, &d, pl);
    lfs_t lfs;
    int e = lfs_mount(&lfs, &c);
    if (e == 0) {
        e = device_session(&lfs, &m, p.block_size, ctx, fill_up, mode);
        CHECK(ctx, e == 0, "device session: littlefs error %d", e);
#ifdef LFS_MULTIVERSION
        e = lfs_fs_mkconsistent(&lfs);
        CHECK(ctx, e == 0, "lfs_fs_mkconsistent = %d", e);
#endif
        lfs_unmount(&lfs);
        char c2[200];
        snprintf(c2, sizeof c2, "%s after device writes", ctx);
        verify(c2, pl, &p, &d, &m);
        save_image(pl, name, d.img);
        if (pl->disk20) {
            struct lg_image *im;
            if (lg_image_open(&p, d.img, pl->image_size, &im, &err) == LG_OK) {
                struct lg_superblock sb;
                lg_image_superblock(im, &sb);
                CHECK(c2, sb.version == 0x00020000, "on-disk version now %08" PRIx32, sb.version);
                lg_image_close(im);
            }
        }
    }
    CHECK(ctx, d.bad_progs == 0, "littlefs programmed %lu byte(s) that were not erased",
          d.bad_progs);
    view_free(&m);
    free(d.img);
}

static void set_provisioning(struct fileset *s)
{
    fs_add(s, "/ca.der", 913, 11, false);
    fs_add(s, "/client.crt.der", 1187, 12, false);
    fs_add(s, "/client.key.der", 121, 13, false);
    fs_add(s, "/config.json", 412, 14, false);
    fs_add(s, "/certs/x.der", 2600, 15, false);
}

static void scenarios_built(const struct platform *pl)
{
    struct lg_params p;
    lg_preset(pl->preset, pl->image_size, &p, NULL);
    uint32_t bs = p.block_size, in = lg_inline_max(&p), lim = lg_name_limit(&p);
    struct fileset s = {.n = 0};

    case_built(pl, "empty", &s, 0, false, ROOMY);

    fs_add(&s, "/a", 0, 1, false);
    fs_add(&s, "/b.txt", 1, 2, false);
    fs_add(&s, "/c.txt", in - 1, 3, false);
    fs_add(&s, "/d.txt", in, 4, false);
    case_built(pl, "inline", &s, 0, false, ROOMY);
    fs_free(&s);

    /* CTZ sizes around the block boundaries the skip-list pointers move */
    /* and one long enough for skip pointers 2^0..2^5 (the list's 33rd block) */
    uint32_t nblk = pl->image_size / bs;
    uint32_t sizes[] = {in + 1,
                        bs - 1,
                        bs,
                        bs + 1,
                        2 * bs - 8,
                        2 * bs - 4,
                        2 * bs,
                        3 * bs + 17,
                        4 * bs - 16,
                        5 * bs + 3,
                        (nblk > 80 ? 40 : nblk / 3) * bs};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[40];
        snprintf(name, sizeof name, "/ctz%02zu_%u", i, sizes[i]);
        fs_add(&s, name, sizes[i], 20 + (uint32_t)i, false);
    }
    case_built(pl, "ctz", &s, 0, false, ROOMY);
    fs_free(&s);

    fs_add(&s, "/a/b/c/d/e/f/g/deep.txt", 100, 30, false);
    fs_add(&s, "/a/b/c/other.bin", 3 * bs, 31, false);
    fs_add(&s, "/a/x", 0, 0, true);
    fs_add(&s, "/z/empty", 0, 0, true);
    case_built(pl, "deep", &s, 0, false, ROOMY);
    fs_free(&s);

    char longname[300], longdir[600];
    longname[0] = '/';
    memset(longname + 1, 'L', lim);
    longname[lim + 1] = '\0';
    fs_add(&s, longname, 10, 40, false);
    longdir[0] = '/';
    memset(longdir + 1, 'D', lim);
    longdir[lim + 1] = '/';
    memset(longdir + lim + 2, 'f', lim);
    longdir[2 * lim + 2] = '\0';
    fs_add(&s, longdir, 2 * bs, 41, false);
    case_built(pl, "names-at-limit", &s, 0, false, ROOMY);
    fs_free(&s);

    for (int i = 0; i < 300; i++) {
        char name[40];
        snprintf(name, sizeof name, "/many/file_%03d.txt", i);
        fs_add(&s, name, (size_t)(i % 7) * 9, 50 + (uint32_t)i, false);
    }
    case_built(pl, "split-dir", &s, 0, false, ROOMY);
    fs_free(&s);

    set_provisioning(&s);
    case_built(pl, "provisioning", &s, 0, true, ROOMY);
    fs_free(&s);

    /* near-full: one big file leaving the 2-block reserve, then the device fills */
    struct lg_usage u;
    fs_add(&s, "/ca.der", 913, 11, false);
    fs_add(&s, "/big", pl->image_size, 60, false);
    s.f[1].size = 0;
    lg_usage(&p, s.f, s.n, 0, pl->image_size, &u, NULL);
    uint64_t spare = (u.blocks_available - u.blocks_needed) * bs;
    size_t big = 0;
    for (size_t step = spare; step > 0; step /= 2) {
        while (1) {
            s.f[1].size = big + step;
            if (lg_usage(&p, s.f, s.n, 0, pl->image_size, &u, NULL) != LG_OK || u.bytes_over != 0) {
                break;
            }
            big += step;
        }
    }
    s.f[1].size = big;
    case_built(pl, "near-full", &s, 0, true, TIGHT);
    fs_free(&s);

    /* LG_BUILD_FILL: no reserve at all; the device can still delete, then write */
    fs_add(&s, "/ca.der", 913, 11, false);
    fs_add(&s, "/big", pl->image_size, 60, false);
    big = 0;
    for (size_t step = pl->image_size; step > 0; step /= 2) {
        while (1) {
            s.f[1].size = big + step;
            if (lg_usage(&p, s.f, s.n, LG_BUILD_FILL, pl->image_size, &u, NULL) != LG_OK ||
                u.bytes_over != 0) {
                break;
            }
            big += step;
        }
    }
    s.f[1].size = big;
    case_built(pl, "full-with-fill-flag", &s, LG_BUILD_FILL, true, TIGHT);
    fs_free(&s);
}

#if LFS_VERSION >= 0x00020008 /* lfs_fs_gc compacts on request */
#define NOBLK 0xFFFFFFFFu

/* The block of a pair with the later revision (lfs_dir_fetchmatch's first try). */
static uint8_t *active_block(struct dev *d, const uint32_t pair[2])
{
    uint8_t *x = d->img + (size_t)pair[0] * d->bs, *y = d->img + (size_t)pair[1] * d->bs;
    uint32_t rx =
        (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
    uint32_t ry =
        (uint32_t)y[0] | (uint32_t)y[1] << 8 | (uint32_t)y[2] << 16 | (uint32_t)y[3] << 24;
    if (ry == 0xFFFFFFFFu) {
        return x;
    }
    return rx == 0xFFFFFFFFu || (int32_t)(ry - rx) > 0 ? y : x;
}

/* The last tail a block's log names (NOBLK when none). */
static void log_tail(const uint8_t *blk, uint32_t bs, uint32_t tail[2])
{
    uint32_t off = 4, ptag = 0xFFFFFFFF;
    tail[0] = tail[1] = NOBLK;
    while (off + 4 <= bs) {
        uint32_t raw = (uint32_t)blk[off] << 24 | (uint32_t)blk[off + 1] << 16 |
                       (uint32_t)blk[off + 2] << 8 | blk[off + 3];
        uint32_t tag = raw ^ ptag, type = (tag >> 20) & 0x7FF, len = tag & 0x3FF;
        if ((tag & 0x80000000u) || off + 4 + (len == 0x3FF ? 0 : len) > bs) {
            break;
        }
        if ((type & 0x700) == 0x600) {
            memcpy(tail, blk + off + 4, 8);
        }
        ptag = (type & 0x780) == 0x500 ? tag ^ ((type & 1u) << 31) : tag;
        off += 4 + (len == 0x3FF ? 0 : len);
    }
}

/* What a block's log says, without the bytes that depend on allocation
 * (revision, CRCs, pair and CTZ head numbers): one token per tag, name and
 * inline bytes in hex, a CTZ struct's size. Returns where the log ends. */
static uint32_t log_shape(const uint8_t *blk, uint32_t bs, char *out, size_t cap)
{
    uint32_t off = 4, ptag = 0xFFFFFFFF;
    size_t n = 0;
    out[0] = '\0';
    while (off + 4 <= bs && n + 64 < cap) {
        uint32_t raw = (uint32_t)blk[off] << 24 | (uint32_t)blk[off + 1] << 16 |
                       (uint32_t)blk[off + 2] << 8 | blk[off + 3];
        uint32_t tag = raw ^ ptag;
        if (tag & 0x80000000u) {
            break;
        }
        uint32_t type = (tag >> 20) & 0x7FF, id = (tag >> 10) & 0x3FF, len = tag & 0x3FF;
        uint32_t dsize = 4 + (len == 0x3FF ? 0 : len);
        if (off + dsize > bs) {
            break;
        }
        n += (size_t)snprintf(out + n, cap - n, " %03x.%u.%u", type, id, len);
        const uint8_t *d = blk + off + 4;
        if ((type & 0x700) == 0 || type == 0x201) {
            for (uint32_t i = 0; i < len && n + 8 < cap; i++) {
                n += (size_t)snprintf(out + n, cap - n, "%s%02x", i ? "" : "=", d[i]);
            }
        } else if (type == 0x202 || type == 0x5FF) {
            n += (size_t)snprintf(out + n, cap - n, "=%u",
                                  (uint32_t)d[type == 0x202 ? 4 : 0] |
                                      (uint32_t)d[type == 0x202 ? 5 : 1] << 8);
        }
        ptag = (type & 0x780) == 0x500 ? tag ^ ((type & 1u) << 31) : tag;
        off += dsize;
    }
    return off;
}

/* littlefs compacts every pair (lfs_fs_gc once their erased state is gone):
 * its compacted logs must have the tags, order and padding ours have. */
static void compare_compaction(const char *ctx, const struct platform *pl,
                               const struct lg_params *p, struct dev *d, const uint8_t *ours)
{
    struct lfs_config c = make_cfg(p, d, pl);
    lfs_t lfs;
    if (lfs_mount(&lfs, &c) != 0) {
        return;
    }
    static char a[1 << 16], b[1 << 16];
    uint32_t tail[2] = {0, 1}, pairs = 0;
    /* spoil the erased state after each pair's log: the next commit compacts */
    while (tail[0] != NOBLK && pairs < 64) {
        uint8_t *act = active_block(d, tail);
        uint32_t end = log_shape(act, d->bs, a, sizeof a);
        if (end < d->bs) {
            act[end] = 0x00;
        }
        log_tail(act, d->bs, tail);
        pairs++;
    }
    int e = lfs_fs_gc(&lfs);
    CHECK(ctx, e == 0, "lfs_fs_gc = %d", e);
    lfs_unmount(&lfs);
    /* pair by pair in list order: littlefs's compaction against ours */
    uint32_t tl[2] = {0, 1}, to[2] = {0, 1};
    for (uint32_t i = 0; i < pairs && tl[0] != NOBLK && to[0] != NOBLK; i++) {
        const uint8_t *act = active_block(d, tl);
        const uint8_t *o = ours + (size_t)to[0] * d->bs; /* ours: the first block */
        log_shape(act, d->bs, a, sizeof a);
        log_shape(o, d->bs, b, sizeof b);
        CHECK(ctx, strcmp(a, b) == 0, "pair %u: littlefs compacts to\n   %s\n  ours is\n   %s", i,
              a, b);
        log_tail(act, d->bs, tl);
        log_tail(o, d->bs, to);
        printf("  info %s: pair %u compacted by littlefs has our tags, order and padding%s\n", ctx,
               i, strcmp(a, b) == 0 ? "" : " (NOT)");
    }
}
#endif

/* littlefs formats and writes; our reader must see the same. */
static void scenario_device_made(const struct platform *pl)
{
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s/device-formatted", pl->label);
    struct lg_params p;
    lg_preset(pl->preset, pl->image_size, &p, NULL);
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size, .budget = -1};
    d.img = malloc(pl->image_size);
    memset(d.img, 0xFF, pl->image_size);
    struct platform fmt = *pl;
    fmt.cfg_block_count_zero = false; /* lfs_format needs the count */
    struct lfs_config c = make_cfg(&p, &d, &fmt);
    lfs_t lfs;
    int e = lfs_format(&lfs, &c);
    CHECK(ctx, e == 0, "lfs_format = %d", e);
    struct view m = {.n = 0};
    verify(ctx, pl, &p, &d, &m);
    struct fileset s = {.n = 0};
    set_provisioning(&s);
    e = lfs_mount(&lfs, &c);
    if (e == 0) {
        /* in littlefs's name order, so the log's history is in id order:
         * compaction keeps surviving tags in the order they were written */
        write_file(&lfs, s.f[0].name, s.f[0].data, s.f[0].size, LFS_O_TRUNC);
        lfs_mkdir(&lfs, "/certs");
        for (size_t i = 1; i < s.n; i++) {
            write_file(&lfs, s.f[i].name, s.f[i].data, s.f[i].size, LFS_O_TRUNC);
        }
        lfs_unmount(&lfs);
    }
    model_of(&s, &m);
    verify(ctx, pl, &p, &d, &m);

    /* compare with what lg_build makes from the same files */
    struct lg_error err;
    uint8_t *ours = malloc(pl->image_size);
    if (lg_build(&p, s.f, s.n, 0, ours, pl->image_size, &err) == LG_OK) {
        uint32_t same = 0;
        for (uint32_t b = 0; b < d.bc; b++) {
            same += memcmp(ours + (size_t)b * d.bs, d.img + (size_t)b * d.bs, d.bs) == 0;
        }
        printf("  info %s: %u of %u blocks byte-identical to lg_build's image\n", ctx, same, d.bc);
    }
#if LFS_VERSION >= 0x00020008
    if (!pl->disk20) {
        compare_compaction(ctx, pl, &p, &d, ours);
    }
#endif
    /* and the empty one: lfs_format against lg_build with no files */
    memset(d.img, 0xFF, pl->image_size);
    lfs_format(&lfs, &c);
    lg_build(&p, NULL, 0, 0, ours, pl->image_size, &err);
    for (uint32_t b = 0; b < 2; b++) {
        const uint8_t *x = d.img + (size_t)b * d.bs, *y = ours + (size_t)b * d.bs;
        uint32_t first = d.bs, last = 0;
        for (uint32_t i = 0; i < d.bs; i++) {
            if (x[i] != y[i]) {
                first = i < first ? i : first;
                last = i;
            }
        }
        if (first == d.bs) {
            printf("  info %s: empty image block %u identical to lfs_format's\n", ctx, b);
        } else {
            printf("  info %s: empty image block %u differs in bytes %u..%u "
                   "(lfs_format rev %02x%02x%02x%02x, ours %02x%02x%02x%02x)\n",
                   ctx, b, first, last, x[3], x[2], x[1], x[0], y[3], y[2], y[1], y[0]);
        }
    }
    free(ours);
    fs_free(&s);
    view_free(&m);
    CHECK(ctx, d.bad_progs == 0, "littlefs programmed %lu byte(s) that were not erased",
          d.bad_progs);
    free(d.img);
}

/* Finds the offset of the last commit of block `b` that passes its CRC, or 0. */
static uint32_t last_commit(const uint8_t *blk, uint32_t bs, uint32_t *crc_off)
{
    uint32_t off = 4, ptag = 0xFFFFFFFF, start = 4, last = 0;
    while (off + 4 <= bs) {
        uint32_t raw = (uint32_t)blk[off] << 24 | (uint32_t)blk[off + 1] << 16 |
                       (uint32_t)blk[off + 2] << 8 | blk[off + 3];
        uint32_t tag = raw ^ ptag;
        if (tag & 0x80000000u) {
            break;
        }
        uint32_t len = tag & 0x3FF;
        uint32_t dsize = 4 + (len == 0x3FF ? 0 : len);
        if (off + dsize > bs) {
            break;
        }
        if (((tag >> 20) & 0x7F8) == 0x500) { /* commit CRC */
            last = start;
            *crc_off = off + 4;
            ptag = tag ^ ((((tag >> 20) & 1u)) << 31);
            off += dsize;
            start = off;
            continue;
        }
        ptag = tag;
        off += dsize;
    }
    return last;
}

/* Power loss: the device's session is cut after every n-th program. */
static void scenario_power_loss(const struct platform *pl)
{
    char ctx[160];
    struct lg_params p;
    lg_preset(pl->preset, pl->image_size, &p, NULL);
    struct fileset s = {.n = 0};
    set_provisioning(&s);
    struct lg_error err;
    uint8_t *base = malloc(pl->image_size);
    lg_build(&p, s.f, s.n, 0, base, pl->image_size, &err);
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size};
    d.img = malloc(pl->image_size);
    jmp_buf jb;
    d.cut = &jb;

    /* the uncut session's program count bounds the cuts */
    memcpy(d.img, base, pl->image_size);
    d.budget = -1;
    struct lfs_config c = make_cfg(&p, &d, pl);
    lfs_t lfs;
    struct view m = {.n = 0};
    model_of(&s, &m);
    lfs_mount(&lfs, &c);
    device_session(&lfs, &m, p.block_size, "uncut", false, ROOMY);
    lfs_unmount(&lfs);
    view_free(&m);
    unsigned long total = d.progs;
    unsigned long step = 1;
    unsigned cuts = 0;
    for (unsigned long n = 0; n < total; n += step) {
        memcpy(d.img, base, pl->image_size);
        d.budget = (long)n;
        d.progs = 0;
        model_of(&s, &m);
        static lfs_t plfs; /* abandoned at the cut, as the device's RAM is */
        if (setjmp(jb) == 0) {
            c = make_cfg(&p, &d, pl);
            if (lfs_mount(&plfs, &c) == 0) {
                device_session(&plfs, &m, p.block_size, "cut", false, ROOMY);
                lfs_unmount(&plfs);
            }
        }
        view_free(&m);
        d.budget = -1;
        snprintf(ctx, sizeof ctx, "%s/power-cut-after-%lu-progs", pl->label, n);
        if (getenv("LFS_XCHECK_DUMPCUT") && strtoul(getenv("LFS_XCHECK_DUMPCUT"), NULL, 0) == n) {
            save_image(pl, "cut", d.img);
        }
        verify(ctx, pl, &p, &d, NULL);
        /* after the device's recovery (its next write) they agree too */
        c = make_cfg(&p, &d, pl);
        if (lfs_mount(&lfs, &c) == 0) {
            int e = write_file(&lfs, "/after.txt", (const uint8_t *)"ok", 2, LFS_O_TRUNC);
            CHECK(ctx, e == 0, "write after the cut = %d", e);
            lfs_unmount(&lfs);
            char c2[200];
            snprintf(c2, sizeof c2, "%s, then a write", ctx);
            verify(c2, pl, &p, &d, NULL);
        }
        cuts++;
    }
    printf("  info %s: %u power cuts over %lu programs\n", pl->label, cuts, total);

    /* a torn last commit on purpose: flip a CRC byte of the root's last commit */
    memcpy(d.img, base, pl->image_size);
    c = make_cfg(&p, &d, pl);
    model_of(&s, &m);
    if (lfs_mount(&lfs, &c) == 0) {
        device_session(&lfs, &m, p.block_size, "torn", false, ROOMY);
        lfs_unmount(&lfs);
    }
    view_free(&m);
    for (uint32_t b = 0; b < 2; b++) {
        uint32_t crc_off = 0;
        uint8_t *blk = d.img + (size_t)b * d.bs;
        uint32_t rev = (uint32_t)blk[0] | (uint32_t)blk[1] << 8 | (uint32_t)blk[2] << 16 |
                       (uint32_t)blk[3] << 24;
        uint32_t start = last_commit(blk, d.bs, &crc_off);
        if (start > 4 && crc_off) {
            snprintf(ctx, sizeof ctx, "%s/torn-last-commit-block%u-rev%u-at-%u", pl->label, b, rev,
                     start);
            blk[crc_off] ^= 0x01;
            verify(ctx, pl, &p, &d, NULL);
            blk[crc_off] ^= 0x01;
        }
    }
    fs_free(&s);
    free(base);
    free(d.img);
}

/* Wear: many rewrites of a few small files. Pairs compact over and over,
 * block_cycles relocates them, littlefs >= 2.6 may expand the superblock;
 * our reader must follow all of it (and the power cuts within it). */
static void scenario_wear(const struct platform *pl)
{
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s/wear", pl->label);
    struct lg_params p;
    lg_preset(pl->preset, pl->image_size, &p, NULL);
    struct fileset s = {.n = 0};
    set_provisioning(&s);
    struct lg_error err;
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size, .budget = -1};
    d.img = malloc(pl->image_size);
    uint8_t *copy = malloc(pl->image_size);
    lg_build(&p, s.f, s.n, 0, d.img, pl->image_size, &err);
    struct view m = {.n = 0};
    model_of(&s, &m);
    struct lfs_config c = make_cfg(&p, &d, pl);
    lfs_t lfs;
    jmp_buf jb;
    d.cut = &jb;
    uint8_t buf[200];
    unsigned rounds = 0, cuts = 0;
    /* enough rounds for several relocations when block_cycles is small */
    unsigned total = p.block_cycles > 0 && p.block_cycles < 100 ? 3000 : 600;
    for (unsigned r = 0; r < total; r++) {
        /* every 100th round: cut power in the middle of the round's write */
        bool cut = r % 100 == 50;
        memcpy(copy, d.img, pl->image_size);
        if (lfs_mount(&lfs, &c) != 0) {
            fail(ctx, "round %u: lfs_mount failed", r);
            break;
        }
        const char *volatile path = r % 3 == 0   ? "/config.json"
                                    : r % 3 == 1 ? "/certs/x.der"
                                                 : "/state";
        fill(buf, sizeof buf, r);
        size_t n = 20 + r % 150;
        if (cut) {
            d.budget = 3;
            if (setjmp(jb) == 0) {
                write_file(&lfs, path, buf, n, LFS_O_TRUNC);
                lfs_unmount(&lfs);
            }
            d.budget = -1;
            char c2[200];
            snprintf(c2, sizeof c2, "%s round %u cut", ctx, r);
            verify(c2, pl, &p, &d, NULL);
            cuts++;
            /* the cut write may or may not have landed: take what littlefs says */
            if (lfs_mount(&lfs, &c) != 0) {
                fail(ctx, "round %u: lfs_mount after the cut failed", r);
                break;
            }
            lfs_file_t f;
            if (lfs_file_open(&lfs, &f, path, LFS_O_RDONLY) == 0) {
                uint8_t got[200];
                lfs_ssize_t k = lfs_file_read(&lfs, &f, got, sizeof got);
                lfs_file_close(&lfs, &f);
                view_put(&m, path, false, got, k > 0 ? (uint32_t)k : 0);
            } else {
                view_del(&m, path);
            }
            lfs_unmount(&lfs);
            continue;
        }
        int e = write_file(&lfs, path, buf, n, LFS_O_TRUNC);
        lfs_unmount(&lfs);
        if (e) {
            fail(ctx, "round %u: write %s = %d", r, path, e);
            break;
        }
        view_put(&m, path, false, buf, (uint32_t)n);
        rounds++;
        if (r % 500 == 499) {
            char c2[200];
            snprintf(c2, sizeof c2, "%s round %u", ctx, r);
            verify(c2, pl, &p, &d, &m);
        }
    }
    verify(ctx, pl, &p, &d, &m);
    save_image(pl, "wear", d.img);
    struct lg_image *im;
    if (lg_image_open(&p, d.img, pl->image_size, &im, &err) == LG_OK) {
        struct lg_stats st;
        lg_image_stats(im, &st);
        printf("  info %s: %u rewrites, %u cuts, %lu erases; now %u pairs, %u commits\n", ctx,
               rounds, cuts, d.erases, st.pairs, st.commits);
        lg_image_close(im);
    }
    CHECK(ctx, d.bad_progs == 0, "littlefs programmed %lu byte(s) that were not erased",
          d.bad_progs);
    view_free(&m);
    fs_free(&s);
    free(copy);
    free(d.img);
}

/* littlefs appends its first commits to our logs in place: the pair's
 * second block stays erased, the first one's log grows (SPEC.md §4.7). */
static void scenario_append_in_place(const struct platform *pl)
{
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s/append-in-place", pl->label);
    struct lg_params p;
    lg_preset(pl->preset, pl->image_size, &p, NULL);
    struct fileset s = {.n = 0};
    set_provisioning(&s);
    struct lg_error err;
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size, .budget = -1};
    d.img = malloc(pl->image_size);
    lg_build(&p, s.f, s.n, 0, d.img, pl->image_size, &err);
    struct lg_image *im;
    struct lg_stats before, after;
    lg_image_open(&p, d.img, pl->image_size, &im, &err);
    lg_image_stats(im, &before);
    lg_image_close(im);
    struct lfs_config c = make_cfg(&p, &d, pl);
    lfs_t lfs;
    if (lfs_mount(&lfs, &c) == 0) {
        write_file(&lfs, "/n.txt", (const uint8_t *)"root", 4, LFS_O_TRUNC);
        write_file(&lfs, "/certs/n.txt", (const uint8_t *)"certs", 5, LFS_O_TRUNC);
        lfs_unmount(&lfs);
    }
    CHECK(ctx, d.erases == 0, "littlefs erased %lu block(s): it compacted instead of appending",
          d.erases);
    lg_image_open(&p, d.img, pl->image_size, &im, &err);
    lg_image_stats(im, &after);
    lg_image_close(im);
    CHECK(ctx, after.commits >= before.commits + 4 && after.appendable == after.pairs,
          "commits %u -> %u, appendable pairs %u of %u", before.commits, after.commits,
          after.appendable, after.pairs);
    fs_free(&s);
    free(d.img);
}

/* Detection finds the preset of images littlefs formatted. */
static void scenario_detect(const struct platform *pl)
{
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s/detect", pl->label);
    struct lg_params p, q;
    lg_preset(pl->preset, pl->image_size, &p, NULL);
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size, .budget = -1};
    d.img = malloc(pl->image_size);
    memset(d.img, 0xFF, pl->image_size);
    struct platform fmt = *pl;
    fmt.cfg_block_count_zero = false;
    struct lfs_config c = make_cfg(&p, &d, &fmt);
    lfs_t lfs;
    lfs_format(&lfs, &c);
    char name[40];
    struct lg_error err;
    int rc = lg_detect(d.img, pl->image_size, &q, name, sizeof name, &err);
    CHECK(ctx, rc == LG_OK, "lg_detect: %s", err.msg);
    if (rc == LG_OK) {
        bool same = strcmp(name, pl->preset) == 0 ||
                    (strncmp(pl->preset, "esp", 3) == 0 && strcmp(name, "esp8266-arduino") != 0 &&
                     strcmp(pl->preset, "esp8266-arduino") != 0);
        CHECK(ctx, same && q.block_size == p.block_size && q.disk_version == p.disk_version,
              "detected %s (block %u, disk %08x)", name, q.block_size, q.disk_version);
    }
    free(d.img);
}

#if LFS_VERSION >= 0x00020007 && LFS_DISK_VERSION >= 0x00020001
/* Arduino-ESP32 mounts with block_count 0 and grows the superblock to the
 * partition: our image for a smaller partition, grown, then written. */
static void scenario_grow(const struct platform *pl)
{
    if (!pl->cfg_block_count_zero && strcmp(pl->preset, "esp32-arduino") != 0) {
        return;
    }
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s/grown", pl->label);
    struct lg_params p;
    lg_preset(pl->preset, pl->image_size / 2, &p, NULL);
    struct fileset s = {.n = 0};
    set_provisioning(&s);
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size, .budget = -1};
    d.img = malloc(pl->image_size);
    memset(d.img, 0xFF, pl->image_size);
    struct lg_error err;
    if (!lg_ok(ctx, lg_build(&p, s.f, s.n, 0, d.img, pl->image_size / 2, &err), &err)) {
        free(d.img);
        return;
    }
    struct platform zero = *pl;
    zero.cfg_block_count_zero = true;
    struct lfs_config c = make_cfg(&p, &d, &zero);
    lfs_t lfs;
    struct view m = {.n = 0};
    model_of(&s, &m);
    int e = lfs_mount(&lfs, &c);
    CHECK(ctx, e == 0, "lfs_mount = %d", e);
    if (e == 0) {
        e = lfs_fs_grow(&lfs, d.bc);
        CHECK(ctx, e == 0, "lfs_fs_grow = %d", e);
        e = device_session(&lfs, &m, p.block_size, ctx, true, ROOMY);
        CHECK(ctx, e == 0, "device session: %d", e);
        lfs_unmount(&lfs);
        p.block_count = 0;
        verify(ctx, &zero, &p, &d, &m);
        struct lg_image *im;
        if (lg_image_open(&p, d.img, pl->image_size, &im, &err) == LG_OK) {
            struct lg_superblock sb;
            lg_image_superblock(im, &sb);
            CHECK(ctx, sb.block_count == d.bc, "superblock count %u", sb.block_count);
            lg_image_close(im);
        }
    }
    view_free(&m);
    fs_free(&s);
    free(d.img);
}
#endif

/* On-disk 2.0: what littlefs 2.5 (no FCRC) makes of our 2.0 and 2.1 images. */
static void scenario_versions(const struct platform *pl)
{
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s/disk-2.1-image", pl->label);
    struct lg_params p;
    lg_preset(pl->preset, pl->image_size, &p, NULL);
    p.disk_version = LG_DISK_V2_1;
    struct fileset s = {.n = 0};
    set_provisioning(&s);
    struct lg_error err;
    struct dev d = {.bs = p.block_size, .bc = pl->image_size / p.block_size, .budget = -1};
    d.img = malloc(pl->image_size);
    if (lg_build(&p, s.f, s.n, 0, d.img, pl->image_size, &err) == LG_OK) {
        struct lfs_config c = make_cfg(&p, &d, pl);
        lfs_t lfs;
        int e = lfs_mount(&lfs, &c);
#if LFS_DISK_VERSION == 0x00020000
        /* littlefs < 2.6 takes the FCRC tag for a commit CRC that fails */
        CHECK(ctx, e == LFS_ERR_CORRUPT, "littlefs 2.5 on a 2.1 image: %d, not LFS_ERR_CORRUPT", e);
#else
        if (pl->disk20) { /* a device told to write 2.0 refuses a newer minor */
            CHECK(ctx, e == LFS_ERR_INVAL, "2.0 device mounted a 2.1 image (%d)", e);
        } else {
            CHECK(ctx, e == 0, "lfs_mount = %d", e);
        }
        if (e == 0) {
            lfs_unmount(&lfs);
        }
#endif
    }
    fs_free(&s);
    free(d.img);
}

int main(int argc, char **argv)
{
    static const struct platform plats[] = {
#if LFS_DISK_VERSION == 0x00020000
        /* littlefs 2.5 as the ESP8266 core links it (LFS_NAME_MAX 32) */
        {"esp8266-1M-v2.5", "esp8266-arduino", 1024 * KIB, false, true},
        {"esp8266-256K-v2.5", "esp8266-arduino", 256 * KIB, false, true},
#else
#ifdef LFS_MULTIVERSION
        {"esp8266-1M-mv2.0", "esp8266-arduino", 1024 * KIB, false, true},
        {"esp8266-256K-mv2.0", "esp8266-arduino", 256 * KIB, false, true},
#endif
        {"esp32-arduino-1.5M", "esp32-arduino", 1536 * KIB, false, false},
        {"esp-idf-1M-count0", "esp-idf", 1024 * KIB, true, false},
#endif
    };
    size_t nplats = sizeof plats / sizeof plats[0];
    if (argc > 1 && strcmp(argv[1], "load") == 0) {
        /* load <preset> <image-size> <file>...: images from another littlefs */
        for (size_t i = 0; argc > 3 && i < nplats; i++) {
            if (strcmp(plats[i].preset, argv[2]) == 0 &&
                plats[i].image_size == strtoul(argv[3], NULL, 0)) {
                for (int k = 4; k < argc; k++) {
                    scenario_load(&plats[i], argv[k]);
                }
                printf("%u passed, %u failed\n", g_checks - g_failures, g_failures);
                return g_failures ? 1 : 0;
            }
        }
        fprintf(stderr, "usage: lfs_crosscheck load PRESET IMAGE_SIZE FILE...\n");
        return 2;
    }
    printf("littlefs %" PRIx32 " (disk %" PRIx32 "), LFS_NAME_MAX %d\n", (uint32_t)LFS_VERSION,
           (uint32_t)LFS_DISK_VERSION, LFS_NAME_MAX);
    for (size_t i = 0; i < nplats; i++) {
        printf("== %s\n", plats[i].label);
        scenarios_built(&plats[i]);
        scenario_device_made(&plats[i]);
        if (argc < 2) { /* any argument: skip the slow power-cut sweep */
            scenario_power_loss(&plats[i]);
        }
        scenario_versions(&plats[i]);
        scenario_wear(&plats[i]);
        scenario_append_in_place(&plats[i]);
        scenario_detect(&plats[i]);
#if LFS_VERSION >= 0x00020007 && LFS_DISK_VERSION >= 0x00020001
        scenario_grow(&plats[i]);
#endif
    }
    printf("%u passed, %u failed\n", g_checks - g_failures, g_failures);
    return g_failures ? 1 : 0;
}
