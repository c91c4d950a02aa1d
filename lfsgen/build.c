/*
 * The builder (SPEC.md §4): a directory tree from the paths, each directory's
 * entries in littlefs order split over metadata pairs the way littlefs's
 * compaction splits them, pairs on blocks {0,1}, {2,3}, ... in depth-first
 * order chained by tails, then each large file's CTZ list on consecutive
 * blocks. Every pair is one compacted commit (revision 1) in its first block;
 * its second block stays erased, so the device appends its own commits.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "lfsgen/lfsgen_priv.h"

#define RESERVE_BLOCKS 2u
#define NO_NODE        UINT32_MAX
#define SB_ENTRY_BYTES (4u + 8u + 4u + LG_SUPERBLOCK_LEN)
#define TAIL_BYTES     12u
#define CRC_MAX_BYTES  20u /* FCRC tag + data, CRC tag + crc */

struct item {
    const char *path;
    uint32_t len;
    const struct lg_file *file; /* NULL: a directory */
    bool explicit_dir;
};

struct node {
    const char *path; /* full path (root: "") */
    uint32_t len;
    const char *name; /* last component */
    uint32_t name_len;
    const struct lg_file *file; /* NULL for directories */
    uint32_t parent;
    uint32_t child0, nchild; /* into plan.children */
    uint32_t first_pair, npairs;
    uint32_t first_block, nblocks; /* CTZ files */
};

struct pair_plan {
    uint32_t dir;    /* node */
    uint32_t child0; /* index into plan.children of its first entry */
    uint32_t nchild;
};

struct plan {
    const struct lg_params *p;
    uint32_t blocks; /* in the image */
    uint32_t inline_max;
    struct node *nodes;
    uint32_t nnodes;
    uint32_t *children;
    struct pair_plan *pairs;
    uint32_t npairs;
    uint64_t file_blocks;
};

static void plan_free(struct plan *pl)
{
    free(pl->nodes);
    free(pl->children);
    free(pl->pairs);
}

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->path, y->path, n);
    if (c != 0) {
        return c;
    }
    return x->len < y->len ? -1 : x->len > y->len;
}

static int check_path(const struct lg_params *p, const char *path, struct lg_error *err)
{
    size_t len = strlen(path);
    uint32_t limit = lg_name_limit(p);
    if (path[0] != '/') {
        return lg_fail(err, LG_ERR_NAME, "'%s' does not start with '/'", path);
    }
    if (len < 2) {
        return lg_fail(err, LG_ERR_NAME, "'/' is the root, not a file name");
    }
    if (len > 0xFFFFFFu) {
        return lg_fail(err, LG_ERR_NAME, "a path of %zu bytes is too long", len);
    }
    const char *c = path + 1;
    for (;;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0) {
            return lg_fail(err, LG_ERR_NAME,
                           "'%s' has an empty component (a '//' or a trailing '/')", path);
        }
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
            return lg_fail(err, LG_ERR_NAME,
                           "'%s' has a '.' or '..' component, which littlefs resolves as a path "
                           "step, not a name",
                           path);
        }
        if (n > limit) {
            if (limit < p->name_max) {
                return lg_fail(err, LG_ERR_NAME,
                               "'%s': component '%.*s' is %zu bytes; the platform's open() "
                               "refuses components over %u bytes (name_max %u)",
                               path, (int)(n > 40 ? 40 : n), c, n, limit, p->name_max);
            }
            return lg_fail(err, LG_ERR_NAME, "'%s': component '%.*s' is %zu bytes; name_max is %u",
                           path, (int)(n > 40 ? 40 : n), c, n, limit);
        }
        if (end == NULL) {
            return LG_OK;
        }
        c = end + 1;
    }
}

/* Items: every file, every explicit directory and every directory on the way. */
static int collect(const struct lg_params *p, const struct lg_file *files, size_t nfiles,
                   struct item **out, size_t *nout, struct lg_error *err)
{
    size_t cap = 0;
    for (size_t i = 0; i < nfiles; i++) {
        assert(files[i].name != NULL);
        assert(files[i].is_dir || files[i].data != NULL || files[i].size == 0);
        int rc = check_path(p, files[i].name, err);
        if (rc != LG_OK) {
            return rc;
        }
        for (const char *c = files[i].name; *c; c++) {
            cap += *c == '/';
        }
    }
    struct item *items = malloc((cap ? cap : 1) * sizeof *items);
    if (items == NULL) {
        return lg_fail(err, LG_ERR_NOMEM, "out of memory planning %zu files", nfiles);
    }
    size_t n = 0;
    for (size_t i = 0; i < nfiles; i++) {
        const char *path = files[i].name;
        uint32_t len = (uint32_t)strlen(path);
        for (uint32_t k = 1; k < len; k++) {
            if (path[k] == '/') {
                items[n++] = (struct item){path, k, NULL, false};
            }
        }
        items[n++] = (struct item){path, len, files[i].is_dir ? NULL : &files[i], files[i].is_dir};
    }
    qsort(items, n, sizeof *items, cmp_item);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u > 0 && cmp_item(&items[u - 1], &items[i]) == 0) {
            struct item *prev = &items[u - 1];
            if (prev->file != NULL && items[i].file != NULL) {
                int rc = lg_fail(err, LG_ERR_DUPLICATE, "'%s' is given twice; paths must be unique",
                                 items[i].file->name);
                free(items);
                return rc;
            }
            if (prev->file != NULL || items[i].file != NULL) {
                const struct lg_file *f = prev->file ? prev->file : items[i].file;
                int rc = lg_fail(err, LG_ERR_DUPLICATE,
                                 "'%s' is both a file and a directory (another path goes "
                                 "through it)",
                                 f->name);
                free(items);
                return rc;
            }
            prev->explicit_dir |= items[i].explicit_dir;
            continue;
        }
        items[u++] = items[i];
    }
    *out = items;
    *nout = u;
    return LG_OK;
}

static int cmp_child_nodes(const struct node *nodes, uint32_t a, uint32_t b)
{
    return lg_name_cmp(nodes[a].name, nodes[a].name_len, nodes[b].name, nodes[b].name_len);
}

/* Insertion sort per directory (qsort cannot take the node table). Directories
 * are small; a large flat one falls back to a merge through a temporary. */
static void sort_children(const struct node *nodes, uint32_t *c, uint32_t n, uint32_t *tmp)
{
    if (n < 16) {
        for (uint32_t i = 1; i < n; i++) {
            uint32_t v = c[i], j = i;
            while (j > 0 && cmp_child_nodes(nodes, c[j - 1], v) > 0) {
                c[j] = c[j - 1];
                j--;
            }
            c[j] = v;
        }
        return;
    }
    uint32_t h = n / 2;
    sort_children(nodes, c, h, tmp);
    sort_children(nodes, c + h, n - h, tmp);
    uint32_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        tmp[k++] = cmp_child_nodes(nodes, c[i], c[j]) <= 0 ? c[i++] : c[j++];
    }
    while (i < h) {
        tmp[k++] = c[i++];
    }
    while (j < n) {
        tmp[k++] = c[j++];
    }
    memcpy(c, tmp, n * sizeof *c);
}

static uint32_t find_node(const struct node *nodes, uint32_t nnodes, const char *path, uint32_t len)
{
    /* nodes[1..] are sorted like the items (bytewise, shorter first). */
    uint32_t lo = 1, hi = nnodes;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t n = nodes[mid].len < len ? nodes[mid].len : len;
        int c = memcmp(nodes[mid].path, path, n);
        if (c == 0) {
            c = nodes[mid].len < len ? -1 : nodes[mid].len > len;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < nnodes && nodes[lo].len == len && memcmp(nodes[lo].path, path, len) == 0 ? lo
                                                                                         : NO_NODE;
}

static uint32_t entry_bytes(const struct plan *pl, const struct node *n)
{
    uint32_t s = 4 + n->name_len;
    if (n->file != NULL && n->file->size <= pl->inline_max) {
        return s + 4 + (uint32_t)n->file->size;
    }
    return s + 12;
}

/* Splits a directory's entries over pairs as lfs_dir_splittingcompact would
 * leave them: at most half a block of metadata and 254 ids each. */
static int split_dir(struct plan *pl, uint32_t d, struct lg_error *err)
{
    struct node *dir = &pl->nodes[d];
    uint32_t budget = lg_pair_budget(pl->p->block_size, pl->p->prog_size);
    uint32_t fixed = d == 0 ? SB_ENTRY_BYTES : 0;
    dir->first_pair = pl->npairs;
    struct pair_plan *cur = &pl->pairs[pl->npairs++];
    *cur = (struct pair_plan){d, dir->child0, 0};
    uint32_t used = fixed, ids = d == 0 ? 1 : 0;
    for (uint32_t k = 0; k < dir->nchild; k++) {
        const struct node *c = &pl->nodes[pl->children[dir->child0 + k]];
        uint32_t e = entry_bytes(pl, c);
        if (4 + fixed + e + TAIL_BYTES + CRC_MAX_BYTES > pl->p->block_size) {
            return lg_fail(err, LG_ERR_NAME,
                           "'%s': its name and inline data (%u bytes) do not fit one %u-byte "
                           "metadata block",
                           c->file ? c->file->name : "(directory)", e, pl->p->block_size);
        }
        if (cur->nchild > 0 && (used + e > budget || ids + 1 > LG_PAIR_MAX_IDS)) {
            cur = &pl->pairs[pl->npairs++];
            *cur = (struct pair_plan){d, dir->child0 + k, 0};
            used = 0;
            ids = 0;
            fixed = 0;
        }
        cur->nchild++;
        used += e;
        ids++;
    }
    dir->npairs = pl->npairs - dir->first_pair;
    return LG_OK;
}

static int make_plan(const struct lg_params *p, const struct lg_file *files, size_t nfiles,
                     uint64_t image_size, struct plan *pl, struct lg_error *err)
{
    memset(pl, 0, sizeof *pl);
    pl->p = p;
    int rc = lg_check_params(p, image_size, true, err);
    if (rc != LG_OK) {
        return rc;
    }
    pl->blocks = (uint32_t)(image_size / p->block_size);
    pl->inline_max = lg_inline_max(p);
    for (size_t i = 0; i < nfiles; i++) {
        if (!files[i].is_dir && files[i].size > p->file_max) {
            return lg_fail(err, LG_ERR_NO_SPACE, "'%s' is %zu bytes; file_max is %u", files[i].name,
                           files[i].size, p->file_max);
        }
    }
    struct item *items = NULL;
    size_t nitems = 0;
    rc = collect(p, files, nfiles, &items, &nitems, err);
    if (rc != LG_OK) {
        return rc;
    }
    pl->nnodes = (uint32_t)nitems + 1;
    pl->nodes = calloc(pl->nnodes, sizeof *pl->nodes);
    pl->children = malloc(pl->nnodes * sizeof *pl->children);
    pl->pairs = malloc(pl->nnodes * sizeof *pl->pairs * 2 + 8 * sizeof *pl->pairs);
    uint32_t *count = calloc(pl->nnodes, sizeof *count);
    uint32_t *tmp = malloc(pl->nnodes * sizeof *tmp);
    uint32_t *stack = malloc(pl->nnodes * sizeof *stack);
    if (pl->nodes == NULL || pl->children == NULL || pl->pairs == NULL || count == NULL ||
        tmp == NULL || stack == NULL) {
        rc = lg_fail(err, LG_ERR_NOMEM, "out of memory planning %zu entries", nitems);
        goto out;
    }
    pl->nodes[0] = (struct node){.path = "", .name = "", .parent = NO_NODE};
    for (size_t i = 0; i < nitems; i++) {
        struct node *n = &pl->nodes[i + 1];
        const char *slash = items[i].path + items[i].len;
        while (slash[-1] != '/') {
            slash--;
        }
        n->path = items[i].path;
        n->len = items[i].len;
        n->name = slash;
        n->name_len = (uint32_t)(items[i].path + items[i].len - slash);
        n->file = items[i].file;
    }
    for (uint32_t i = 1; i < pl->nnodes; i++) {
        struct node *n = &pl->nodes[i];
        uint32_t plen = (uint32_t)(n->name - n->path) - 1;
        n->parent = plen == 0 ? 0 : find_node(pl->nodes, pl->nnodes, n->path, plen);
        assert(n->parent != NO_NODE);
        count[n->parent]++;
    }
    uint32_t at = 0;
    for (uint32_t i = 0; i < pl->nnodes; i++) {
        pl->nodes[i].child0 = at;
        at += count[i];
    }
    for (uint32_t i = 1; i < pl->nnodes; i++) {
        struct node *par = &pl->nodes[pl->nodes[i].parent];
        pl->children[par->child0 + par->nchild++] = i;
    }
    for (uint32_t i = 0; i < pl->nnodes; i++) {
        if (pl->nodes[i].file == NULL && pl->nodes[i].nchild > 1) {
            sort_children(pl->nodes, pl->children + pl->nodes[i].child0, pl->nodes[i].nchild, tmp);
        }
    }
    /* Depth-first: a directory's pairs, then each subdirectory in order. */
    uint32_t sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        uint32_t d = stack[--sp];
        rc = split_dir(pl, d, err);
        if (rc != LG_OK) {
            goto out;
        }
        const struct node *dir = &pl->nodes[d];
        for (uint32_t k = dir->nchild; k-- > 0;) {
            uint32_t c = pl->children[dir->child0 + k];
            if (pl->nodes[c].file == NULL) {
                stack[sp++] = c;
            }
        }
    }
    uint64_t next = 2ull * pl->npairs;
    for (uint32_t i = 0; i < pl->nnodes; i++) {
        struct node *n = &pl->nodes[i];
        if (n->file != NULL && n->file->size > pl->inline_max) {
            uint64_t nb = lg_ctz_blocks(p->block_size, n->file->size);
            n->first_block = next < UINT32_MAX ? (uint32_t)next : UINT32_MAX;
            n->nblocks = nb < UINT32_MAX ? (uint32_t)nb : UINT32_MAX;
            next += nb;
            pl->file_blocks += nb;
        }
    }
out:
    free(items);
    free(count);
    free(tmp);
    free(stack);
    return rc;
}

static void usage_of(const struct plan *pl, unsigned flags, struct lg_usage *u)
{
    uint32_t reserve = (flags & LG_BUILD_FILL) ? 0 : RESERVE_BLOCKS;
    u->blocks_needed = 2ull * pl->npairs + pl->file_blocks;
    u->blocks_available = pl->blocks > reserve ? pl->blocks - reserve : 0;
    u->bytes_over = u->blocks_needed > u->blocks_available
                        ? (u->blocks_needed - u->blocks_available) * pl->p->block_size
                        : 0;
}

int lg_usage(const struct lg_params *p, const struct lg_file *files, size_t nfiles, unsigned flags,
             uint64_t image_size, struct lg_usage *out, struct lg_error *err)
{
    assert(p != NULL && out != NULL && (files != NULL || nfiles == 0));
    struct plan pl;
    int rc = make_plan(p, files, nfiles, image_size, &pl, err);
    if (rc == LG_OK) {
        usage_of(&pl, flags, out);
    }
    plan_free(&pl);
    return rc;
}

/* ===== Writing ======================================================== */

struct commit {
    uint8_t *blk;
    uint32_t off;
    uint32_t ptag;
    uint32_t crc;
    uint32_t block_size;
    uint32_t prog_size;
    uint32_t version;
};

static void commit_attr(struct commit *c, uint32_t tag, const void *data, uint32_t len)
{
    uint8_t *at = c->blk + c->off;
    lg_putbe32(at, (tag & 0x7FFFFFFFu) ^ c->ptag);
    if (len > 0) {
        memcpy(at + 4, data, len);
    }
    c->crc = lg_crc(c->crc, at, 4 + (size_t)len);
    c->off += 4 + len;
    c->ptag = tag & 0x7FFFFFFFu;
}

/*
 * Ends the commit as lfs_dir_commitcrc does: a CRC tag whose length pads the
 * commit to the program unit, preceded (disk 2.1) by an FCRC of the next
 * program unit's erased bytes. Disk 2.0 uses littlefs 2.5's shorter rule
 * (align off + 8) and never writes an FCRC, which 2.5 would take for a CRC.
 * The next bytes are erased (0xFF), so the CRC tag's valid-state bit is 0.
 */
static void commit_crc(struct commit *c)
{
    uint32_t b = c->block_size, prog = c->prog_size;
    bool v21 = c->version >= LG_DISK_V2_1;
    uint32_t want = c->off + (v21 ? 20u : 8u);
    uint32_t end = ((want < b ? want : b) + prog - 1) / prog * prog;
    while (c->off < end) {
        uint32_t start = c->off + 4;
        uint32_t noff = (end - start < 0x3FEu ? end - start : 0x3FEu) + start;
        if (noff < end) {
            uint32_t lim = end - (v21 ? 20u : 8u);
            noff = noff < lim ? noff : lim;
        }
        if (v21 && noff >= end && noff <= b - prog) {
            uint8_t fcrc[8];
            uint32_t erased = 0xFFFFFFFFu;
            for (uint32_t i = 0; i < prog; i++) {
                erased = lg_crc(erased, &(uint8_t){0xFF}, 1);
            }
            lg_put32(fcrc, prog);
            lg_put32(fcrc + 4, erased);
            commit_attr(c, lg_mktag(LG_T_FCRC, LG_ID_NONE, 8), fcrc, 8);
        }
        uint32_t ntag = lg_mktag(LG_T_CCRC, LG_ID_NONE, noff - (c->off + 4));
        uint8_t *at = c->blk + c->off;
        lg_putbe32(at, ntag ^ c->ptag);
        c->crc = lg_crc(c->crc, at, 4);
        lg_put32(at + 4, c->crc);
        c->off = noff;
        c->ptag = ntag;
        c->crc = 0xFFFFFFFFu;
    }
}

static void put_pair(uint8_t *p, uint32_t a, uint32_t b)
{
    lg_put32(p, a);
    lg_put32(p + 4, b);
}

static void write_pair(const struct plan *pl, uint32_t k, uint8_t *image)
{
    const struct lg_params *p = pl->p;
    const struct pair_plan *pp = &pl->pairs[k];
    struct commit c = {image + (size_t)(2 * k) * p->block_size,
                       4,
                       0xFFFFFFFFu,
                       0,
                       p->block_size,
                       p->prog_size,
                       p->disk_version};
    lg_put32(c.blk, 1); /* revision: clear of every block_cycles relocation point */
    c.crc = lg_crc(0xFFFFFFFFu, c.blk, 4);
    uint32_t id = 0;
    if (pp->dir == 0 && k == 0) {
        uint8_t sb[LG_SUPERBLOCK_LEN];
        lg_put32(sb, p->disk_version);
        lg_put32(sb + 4, p->block_size);
        lg_put32(sb + 8, pl->blocks);
        lg_put32(sb + 12, p->name_max);
        lg_put32(sb + 16, p->file_max);
        lg_put32(sb + 20, p->attr_max);
        commit_attr(&c, lg_mktag(LG_T_SUPERBLOCK, 0, 8), "littlefs", 8);
        commit_attr(&c, lg_mktag(LG_T_INLINE, 0, LG_SUPERBLOCK_LEN), sb, LG_SUPERBLOCK_LEN);
        id = 1;
    }
    for (uint32_t j = 0; j < pp->nchild; j++, id++) {
        const struct node *n = &pl->nodes[pl->children[pp->child0 + j]];
        uint8_t st[8];
        if (n->file == NULL) {
            commit_attr(&c, lg_mktag(LG_T_NAME_DIR, id, n->name_len), n->name, n->name_len);
            put_pair(st, 2 * n->first_pair, 2 * n->first_pair + 1);
            commit_attr(&c, lg_mktag(LG_T_DIRSTRUCT, id, 8), st, 8);
        } else if (n->file->size <= pl->inline_max) {
            commit_attr(&c, lg_mktag(LG_T_NAME_REG, id, n->name_len), n->name, n->name_len);
            commit_attr(&c, lg_mktag(LG_T_INLINE, id, (uint32_t)n->file->size), n->file->data,
                        (uint32_t)n->file->size);
        } else {
            commit_attr(&c, lg_mktag(LG_T_NAME_REG, id, n->name_len), n->name, n->name_len);
            put_pair(st, n->first_block + n->nblocks - 1, (uint32_t)n->file->size);
            commit_attr(&c, lg_mktag(LG_T_CTZ, id, 8), st, 8);
        }
    }
    if (k + 1 < pl->npairs) {
        uint8_t t[8];
        bool hard = pl->pairs[k + 1].dir == pp->dir;
        put_pair(t, 2 * (k + 1), 2 * (k + 1) + 1);
        commit_attr(&c, lg_mktag(hard ? LG_T_HARDTAIL : LG_T_SOFTTAIL, LG_ID_NONE, 8), t, 8);
    }
    commit_crc(&c);
}

static void write_file(const struct plan *pl, const struct node *n, uint8_t *image)
{
    uint32_t b = pl->p->block_size;
    const uint8_t *src = n->file->data;
    size_t left = n->file->size;
    for (uint32_t i = 0; i < n->nblocks; i++) {
        uint8_t *blk = image + (size_t)(n->first_block + i) * b;
        uint32_t off = lg_ctz_data_off(i);
        for (uint32_t k = 0; i > 0 && k <= lg_ctz32(i); k++) {
            lg_put32(blk + 4 * k, n->first_block + i - (1u << k));
        }
        size_t chunk = left < b - off ? left : b - off;
        memcpy(blk + off, src, chunk);
        src += chunk;
        left -= chunk;
    }
}

int lg_build(const struct lg_params *p, const struct lg_file *files, size_t nfiles, unsigned flags,
             uint8_t *image, size_t image_size, struct lg_error *err)
{
    assert(p != NULL && image != NULL && (files != NULL || nfiles == 0));
    struct plan pl;
    int rc = make_plan(p, files, nfiles, image_size, &pl, err);
    if (rc != LG_OK) {
        plan_free(&pl);
        return rc;
    }
    struct lg_usage u;
    usage_of(&pl, flags, &u);
    if (u.bytes_over > 0) {
        rc = lg_fail(err, LG_ERR_NO_SPACE,
                     "the files need %llu blocks (%u metadata pairs, %llu data blocks) but the "
                     "%zu-byte image offers %llu%s: about %llu bytes too much",
                     (unsigned long long)u.blocks_needed, pl.npairs,
                     (unsigned long long)pl.file_blocks, image_size,
                     (unsigned long long)u.blocks_available,
                     (flags & LG_BUILD_FILL) ? "" : " (2 blocks kept free for the device)",
                     (unsigned long long)u.bytes_over);
        plan_free(&pl);
        return rc;
    }
    memset(image, 0xFF, image_size);
    for (uint32_t i = 0; i < pl.nnodes; i++) {
        if (pl.nodes[i].nblocks > 0) {
            write_file(&pl, &pl.nodes[i], image);
        }
    }
    for (uint32_t k = 0; k < pl.npairs; k++) {
        write_pair(&pl, k, image);
    }
    plan_free(&pl);
    return LG_OK;
}
