/*
 * The reader (SPEC.md §5): lfs_mount's walk of the metadata list, then the
 * directory tree as lfs_dir_read lists it, then file reads as lfs_file_read
 * finds the bytes. Loops are bounded by the image (Brent's cycle check on
 * tails as littlefs does, plus a length cap), so any input terminates.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfsgen/lfsgen_priv.h"

#define MAX_PATH   4096u
#define NO_NODE    UINT32_MAX
#define DIR_UNSEEN UINT32_MAX

static bool pair_null(const uint32_t p[2])
{
    return p[0] == LG_BLOCK_NULL || p[1] == LG_BLOCK_NULL;
}

static bool pair_sync(const uint32_t a[2], const uint32_t b[2])
{
    return (a[0] == b[0] && a[1] == b[1]) || (a[0] == b[1] && a[1] == b[0]);
}

/* The superblock entry of a fetched pair, as lfs_mount's fetchmatch finds
 * it: id 0 named "littlefs" with type 0x0ff. */
static bool has_superblock(const struct lg_image *im, const struct lg_mdir *m)
{
    if (m->count == 0) {
        return false;
    }
    const struct lg_slot *s = &m->slots[0];
    return s->sb_tag != 0 && lg_tag_type3(s->sb_tag) == LG_T_SUPERBLOCK &&
           lg_tag_size(s->sb_tag) == 8 &&
           memcmp(lg_block(im, m->pair[0]) + s->sb_off, "littlefs", 8) == 0;
}

static int read_superblock(struct lg_image *im, const struct lg_mdir *m, struct lg_error *err)
{
    const struct lg_slot *s = &m->slots[0];
    uint8_t raw[LG_SUPERBLOCK_LEN] = {0};
    if (s->struct_tag == 0 || lg_tag_type3(s->struct_tag) != LG_T_INLINE) {
        return lg_fail(err, LG_ERR_CORRUPT,
                       "superblock in pair {%u, %u} has no inline struct with its "
                       "configuration",
                       m->pair[0], m->pair[1]);
    }
    uint32_t len = lg_tag_size(s->struct_tag);
    memcpy(raw, lg_block(im, m->pair[0]) + s->struct_off, len < sizeof raw ? len : sizeof raw);
    struct lg_superblock *sb = &im->sb;
    sb->version = lg_get32(raw);
    sb->block_size = lg_get32(raw + 4);
    sb->block_count = lg_get32(raw + 8);
    sb->name_max = lg_get32(raw + 12);
    sb->file_max = lg_get32(raw + 16);
    sb->attr_max = lg_get32(raw + 20);
    uint32_t major = sb->version >> 16, minor = sb->version & 0xFFFFu;
    uint32_t max_minor = im->have_params ? (im->p.disk_version & 0xFFFFu) : 1u;
    if (major != 2 || minor > max_minor) {
        return lg_fail(err, LG_ERR_CORRUPT,
                       "superblock version v%u.%u: the device reads v2.0%s only (lfs_mount: "
                       "'Invalid version')",
                       major, minor, max_minor ? "-v2.1" : "");
    }
    if (sb->block_size != im->block_size) {
        return lg_fail(err, LG_ERR_CORRUPT,
                       "superblock block size %u, expected %u (lfs_mount: 'Invalid block size')",
                       sb->block_size, im->block_size);
    }
    if (im->have_params) {
        const struct lg_params *p = &im->p;
        if (p->block_count != 0 && sb->block_count != p->block_count) {
            return lg_fail(err, LG_ERR_CORRUPT,
                           "superblock block count %u, the device expects %u (partition size / "
                           "block size); lfs_mount fails with 'Invalid block count'",
                           sb->block_count, p->block_count);
        }
        if (sb->name_max > p->name_max || sb->file_max > p->file_max ||
            sb->attr_max > p->attr_max) {
            return lg_fail(err, LG_ERR_CORRUPT,
                           "superblock name_max %u / file_max %u / attr_max %u exceed the "
                           "device's %u / %u / %u; lfs_mount refuses ('Unsupported ...')",
                           sb->name_max, sb->file_max, sb->attr_max, p->name_max, p->file_max,
                           p->attr_max);
        }
    }
    if (sb->block_count < 2) {
        return lg_fail(err, LG_ERR_CORRUPT, "superblock block count %u is below 2",
                       sb->block_count);
    }
    return LG_OK;
}

/* lfs_mount: walk the tails from {0,1}, find the superblock, sum gstate. */
static int mount(struct lg_image *im, struct lg_error *err)
{
    uint32_t tail[2] = {0, 1};
    uint32_t tortoise[2] = {LG_BLOCK_NULL, LG_BLOCK_NULL};
    uint32_t t_i = 1, t_period = 1;
    bool found = false;
    while (!pair_null(tail)) {
        if (pair_sync(tail, tortoise)) {
            return lg_fail(err, LG_ERR_CORRUPT,
                           "the metadata list loops back to pair {%u, %u} (lfs_mount: 'Cycle "
                           "detected in tail list')",
                           tail[0], tail[1]);
        }
        if (t_i == t_period) {
            tortoise[0] = tail[0];
            tortoise[1] = tail[1];
            t_i = 0;
            t_period *= 2;
        }
        t_i++;
        if (im->list_len >= im->image_blocks) {
            return lg_fail(err, LG_ERR_CORRUPT,
                           "the metadata list has more pairs than the image has blocks; its "
                           "tails must loop");
        }
        long idx = lg_fetch(im, tail, err);
        if (idx < 0) {
            return (int)idx;
        }
        if ((size_t)idx != im->list_len) {
            return lg_fail(err, LG_ERR_CORRUPT,
                           "pair {%u, %u} appears twice on the metadata list (a tail loop)",
                           tail[0], tail[1]);
        }
        struct lg_mdir *m = &im->mdirs[idx];
        m->on_list = true;
        im->list_len++;
        if (has_superblock(im, m)) {
            int rc = read_superblock(im, m, err);
            if (rc != LG_OK) {
                return rc;
            }
            found = true;
            im->root[0] = m->pair[0];
            im->root[1] = m->pair[1];
            im->root_mdir = (uint32_t)idx;
            uint32_t n = im->sb.block_count;
            im->bound = n < im->image_blocks ? n : im->image_blocks;
        }
        if (m->has_gstate) {
            for (int k = 0; k < 12; k++) {
                im->gstate[k] ^= m->gstate[k];
            }
        }
        tail[0] = m->tail[0];
        tail[1] = m->tail[1];
    }
    if (!found) {
        return lg_fail(err, LG_ERR_CORRUPT,
                       "no superblock: no pair on the metadata list from blocks {0, 1} holds the "
                       "'littlefs' entry (not littlefs, or another block size)");
    }
    return LG_OK;
}

/* ===== The tree ======================================================= */

static int add_path(struct lg_image *im, size_t parent_off, size_t plen, const uint8_t *name,
                    uint32_t nlen, size_t *off)
{
    size_t need = plen + 1 + nlen + 1;
    if (im->paths_len + need > im->paths_cap) {
        size_t ncap = im->paths_cap ? im->paths_cap * 2 : 4096;
        while (ncap < im->paths_len + need) {
            ncap *= 2;
        }
        char *np = realloc(im->paths, ncap);
        if (np == NULL) {
            return -1;
        }
        im->paths = np;
        im->paths_cap = ncap;
    }
    char *at = im->paths + im->paths_len;
    if (plen > 0) {
        memmove(at, im->paths + parent_off, plen);
    }
    at[plen] = '/';
    memcpy(at + plen + 1, name, nlen);
    at[plen + 1 + nlen] = '\0';
    *off = im->paths_len;
    im->paths_len += need;
    return 0;
}

static bool name_unsafe(const uint8_t *name, uint32_t len)
{
    if (len == 0 || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.')) {
        return true;
    }
    for (uint32_t i = 0; i < len; i++) {
        if (name[i] == '/' || name[i] == '\0' || name[i] == '\\') {
            return true;
        }
    }
    return false;
}

struct frame {
    uint32_t node; /* directory node (NO_NODE: root) */
    uint32_t mdir; /* pair being listed */
    uint32_t id;   /* next id in it */
};

/* Adds one entry of (mdir, id); *child receives a directory's node to descend. */
static int add_entry(struct lg_image *im, uint32_t parent, uint32_t mi, uint32_t id,
                     uint32_t *child, struct lg_error *err)
{
    const struct lg_mdir *m = &im->mdirs[mi];
    const struct lg_slot *s = &m->slots[id];
    *child = NO_NODE;
    if (s->name_tag == 0 || s->struct_tag == 0) {
        return LG_OK; /* lfs_dir_read skips it (no name, or no struct) */
    }
    uint32_t t3 = lg_tag_type3(s->name_tag);
    if (t3 != LG_T_NAME_REG && t3 != LG_T_NAME_DIR) {
        return LG_OK;
    }
    if (im->nnodes == im->capnodes) {
        size_t ncap = im->capnodes ? im->capnodes * 2 : 64;
        struct lg_node *nn = realloc(im->nodes, ncap * sizeof *nn);
        if (nn == NULL) {
            return lg_fail(err, LG_ERR_NOMEM, "out of memory listing the image");
        }
        im->nodes = nn;
        im->capnodes = ncap;
    }
    const uint8_t *blk = lg_block(im, m->pair[0]);
    const uint8_t *name = blk + s->name_off;
    uint32_t nlen = lg_tag_size(s->name_tag);
    size_t poff = 0, plen = 0;
    if (parent != NO_NODE) {
        poff = (size_t)(uintptr_t)im->nodes[parent].e.path;
        plen = strlen(im->paths + poff);
    }
    if (plen + 1 + nlen >= MAX_PATH) {
        im->deep_paths++;
        return LG_OK;
    }
    struct lg_node *n = &im->nodes[im->nnodes];
    memset(n, 0, sizeof *n);
    size_t off;
    if (add_path(im, poff, plen, name, nlen, &off) != 0) {
        return lg_fail(err, LG_ERR_NOMEM, "out of memory listing the image");
    }
    /* Pointers into paths are fixed once the buffer stops moving; keep
     * offsets (cast through uintptr_t) until then. */
    n->e.path = (const char *)(uintptr_t)off;
    n->e.name = (const char *)(uintptr_t)(off + plen + 1);
    n->e.unsafe = name_unsafe(name, nlen) || (parent != NO_NODE && im->nodes[parent].e.unsafe);
    n->mdir = mi;
    n->id = id;
    n->parent = parent;
    n->dir_mdir = DIR_UNSEEN;
    uint8_t st[8] = {0};
    uint32_t slen = lg_tag_size(s->struct_tag);
    memcpy(st, blk + s->struct_off, slen < 8 ? slen : 8);
    uint32_t st3 = lg_tag_type3(s->struct_tag);
    if (t3 == LG_T_NAME_REG) {
        n->e.type = LG_TYPE_FILE;
        if (st3 == LG_T_INLINE) {
            n->e.size = slen;
            n->e.inlined = true;
        } else if (st3 == LG_T_CTZ) {
            n->head = lg_get32(st);
            n->e.size = lg_get32(st + 4);
        }
        im->stats.files++;
        im->stats.bytes += n->e.size;
    } else {
        n->e.type = LG_TYPE_DIR;
        /* lfs_dir_open takes the first 8 struct bytes as the pair, whatever the struct type. */
        n->dir_pair[0] = lg_get32(st);
        n->dir_pair[1] = lg_get32(st + 4);
        im->stats.dirs++;
        *child = (uint32_t)im->nnodes;
    }
    im->nnodes++;
    return LG_OK;
}

/* Depth-first listing from the root, every directory following its hard tails. */
static int build_tree(struct lg_image *im, struct lg_error *err)
{
    size_t cap = 16;
    struct frame *st = malloc(cap * sizeof *st);
    if (st == NULL) {
        return lg_fail(err, LG_ERR_NOMEM, "out of memory listing the image");
    }
    uint32_t sp = 0;
    st[sp++] = (struct frame){NO_NODE, im->root_mdir, 0};
    im->mdirs[im->root_mdir].in_tree = true;
    int rc = LG_OK;
    while (sp > 0 && rc == LG_OK) {
        struct frame *f = &st[sp - 1];
        const struct lg_mdir *m = &im->mdirs[f->mdir];
        if (f->id >= lg_mdir_ids(m)) {
            if (!m->split) {
                sp--;
                continue;
            }
            struct lg_error sub;
            long next = lg_fetch(im, m->tail, &sub);
            if (next < 0) {
                if (next == LG_ERR_NOMEM) {
                    rc = lg_fail(err, LG_ERR_NOMEM, "%s", sub.msg);
                }
                im->dir_unreadable++;
                sp--; /* the device fails reading this directory; check reports it */
                continue;
            }
            if (im->mdirs[next].in_tree) {
                im->dir_loops++;
                sp--;
                continue;
            }
            im->mdirs[next].in_tree = true;
            f->mdir = (uint32_t)next;
            f->id = 0;
            continue;
        }
        uint32_t id = f->id++;
        if (lg_move_id(im, m) == (long)id) {
            continue; /* a pending move's source: littlefs hides it */
        }
        uint32_t child;
        rc = add_entry(im, f->node, f->mdir, id, &child, err);
        if (rc != LG_OK || child == NO_NODE) {
            continue;
        }
        struct lg_error sub;
        long dm = lg_fetch(im, im->nodes[child].dir_pair, &sub);
        if (dm < 0) {
            if (dm == LG_ERR_NOMEM) {
                rc = lg_fail(err, LG_ERR_NOMEM, "%s", sub.msg);
            }
            continue; /* check names the directory */
        }
        im->nodes[child].dir_mdir = (uint32_t)dm;
        if (im->mdirs[dm].in_tree) {
            im->dir_loops++;
            continue;
        }
        im->mdirs[dm].in_tree = true;
        if (sp == cap) {
            cap *= 2;
            struct frame *ns = realloc(st, cap * sizeof *ns);
            if (ns == NULL) {
                rc = lg_fail(err, LG_ERR_NOMEM, "out of memory listing the image");
                break;
            }
            st = ns;
        }
        st[sp++] = (struct frame){child, (uint32_t)dm, 0};
    }
    free(st);
    return rc;
}

static void sort_by_path(struct lg_image *im)
{
    /* A small merge sort: qsort has no context argument and no global may
     * carry the table. */
    size_t n = im->nnodes;
    uint32_t *a = im->by_path, *tmp = malloc((n ? n : 1) * sizeof *tmp);
    for (size_t i = 0; i < n; i++) {
        a[i] = (uint32_t)i;
    }
    if (tmp == NULL) {
        return; /* lookups fall back to a linear search */
    }
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                tmp[k++] =
                    strcmp(im->nodes[a[i]].e.path, im->nodes[a[j]].e.path) <= 0 ? a[i++] : a[j++];
            }
            while (i < mid) {
                tmp[k++] = a[i++];
            }
            while (j < hi) {
                tmp[k++] = a[j++];
            }
        }
        memcpy(a, tmp, n * sizeof *a);
    }
    free(tmp);
}

static int open_image(const struct lg_params *p, uint32_t block_size, const uint8_t *image,
                      size_t size, struct lg_image **out, struct lg_error *err)
{
    *out = NULL;
    struct lg_image *im = calloc(1, sizeof *im);
    if (im == NULL) {
        return lg_fail(err, LG_ERR_NOMEM, "out of memory opening the image");
    }
    im->img = image;
    im->size = size;
    im->block_size = block_size;
    im->root_mdir = 0;
    if (p != NULL) {
        im->p = *p;
        im->have_params = true;
    }
    uint64_t blocks = size / block_size;
    if (blocks < 2) {
        free(im);
        return lg_fail(err, LG_ERR_GEOMETRY,
                       "an image of %zu bytes is smaller than two %u-byte blocks", size,
                       block_size);
    }
    im->image_blocks = blocks > 0xFFFFFFF0u ? 0xFFFFFFF0u : (uint32_t)blocks;
    im->bound = im->image_blocks;
    int rc = mount(im, err);
    if (rc == LG_OK) {
        rc = build_tree(im, err);
    }
    if (rc == LG_OK) {
        for (size_t i = 0; i < im->nnodes; i++) {
            struct lg_node *n = &im->nodes[i];
            n->e.path = im->paths + (uintptr_t)n->e.path;
            n->e.name = im->paths + (uintptr_t)n->e.name;
            if (strlen(n->e.path) != (size_t)(n->e.name - n->e.path) + strlen(n->e.name)) {
                n->e.unsafe = true; /* a NUL inside the name cut the path */
            }
        }
        im->by_path = malloc((im->nnodes ? im->nnodes : 1) * sizeof *im->by_path);
        if (im->by_path == NULL) {
            rc = lg_fail(err, LG_ERR_NOMEM, "out of memory indexing the image");
        } else {
            sort_by_path(im);
        }
    }
    if (rc != LG_OK) {
        lg_image_close(im);
        return rc;
    }
    im->stats.blocks = im->sb.block_count;
    im->stats.pairs = im->list_len;
    for (uint32_t i = 0; i < im->list_len; i++) {
        const struct lg_mdir *m = &im->mdirs[i];
        im->stats.commits += m->commits;
        im->stats.torn_commits += m->torn;
        im->stats.appendable += m->erased;
        im->stats.blocks_used += 2;
        for (uint32_t id = 0; id < lg_mdir_ids(m); id++) {
            const struct lg_slot *s = &m->slots[id];
            if (s->struct_tag != 0 && lg_tag_type3(s->struct_tag) == LG_T_CTZ &&
                lg_tag_size(s->struct_tag) >= 8) {
                uint32_t fsize = lg_get32(lg_block(im, m->pair[0]) + s->struct_off + 4);
                uint64_t nb = lg_ctz_blocks(im->block_size, fsize);
                im->stats.blocks_used += nb > im->bound ? im->bound : (uint32_t)nb;
            }
        }
    }
    *out = im;
    return LG_OK;
}

int lg_image_open(const struct lg_params *p, const uint8_t *image, size_t size,
                  struct lg_image **out, struct lg_error *err)
{
    assert(out != NULL && (image != NULL || size == 0));
    *out = NULL;
    if (p != NULL) {
        int rc = lg_check_params(p, 0, false, err);
        if (rc != LG_OK) {
            return rc;
        }
        return open_image(p, p->block_size, image, size, out, err);
    }
    struct lg_params found;
    int rc = lg_detect(image, size, &found, NULL, 0, err);
    if (rc != LG_OK) {
        return rc;
    }
    return open_image(NULL, found.block_size, image, size, out, err);
}

int lg_open_block_size(uint32_t block_size, const uint8_t *image, size_t size,
                       struct lg_image **out, struct lg_error *err)
{
    return open_image(NULL, block_size, image, size, out, err);
}

void lg_image_close(struct lg_image *img)
{
    if (img == NULL) {
        return;
    }
    for (size_t i = 0; i < img->nmdirs; i++) {
        free(img->mdirs[i].slots);
    }
    free(img->mdirs);
    free(img->nodes);
    free(img->paths);
    free(img->by_path);
    free(img);
}

size_t lg_image_count(const struct lg_image *img)
{
    return img->nnodes;
}

const struct lg_entry *lg_image_entry(const struct lg_image *img, size_t i)
{
    assert(i < img->nnodes);
    return &img->nodes[i].e;
}

long lg_image_find(const struct lg_image *img, const char *path)
{
    size_t lo = 0, hi = img->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(img->nodes[img->by_path[mid]].e.path, path) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < img->nnodes && strcmp(img->nodes[img->by_path[lo]].e.path, path) == 0) {
        return (long)img->by_path[lo];
    }
    return -1;
}

void lg_image_superblock(const struct lg_image *img, struct lg_superblock *out)
{
    *out = img->sb;
}

void lg_image_stats(const struct lg_image *img, struct lg_stats *out)
{
    *out = img->stats;
}

int lg_ctz_walk(const struct lg_image *im, uint32_t head, uint32_t size, uint32_t *blocks,
                char *why, size_t why_len)
{
    uint64_t n = lg_ctz_blocks(im->block_size, size);
    uint32_t cur = head;
    for (uint64_t i = n; i-- > 0;) {
        if (cur >= im->bound) {
            snprintf(why, why_len, "block %llu of its CTZ list is %u, past the last block %u",
                     (unsigned long long)i, cur, im->bound - 1);
            return LG_ERR_CORRUPT;
        }
        blocks[i] = cur;
        if (i > 0) {
            cur = lg_get32(lg_block(im, cur));
        }
    }
    return LG_OK;
}

int lg_image_read(const struct lg_image *img, size_t i, uint8_t **data, size_t *len,
                  struct lg_error *err)
{
    assert(i < img->nnodes && data != NULL && len != NULL);
    *data = NULL;
    *len = 0;
    const struct lg_node *n = &img->nodes[i];
    if (n->e.type != LG_TYPE_FILE) {
        return lg_fail(err, LG_ERR_NOT_FOUND, "'%s' is a directory", n->e.path);
    }
    if (n->e.size == 0) {
        return LG_OK;
    }
    const struct lg_mdir *m = &img->mdirs[n->mdir];
    const struct lg_slot *s = &m->slots[n->id];
    if (n->e.inlined) {
        uint8_t *buf = malloc(n->e.size);
        if (buf == NULL) {
            return lg_fail(err, LG_ERR_NOMEM, "out of memory reading '%s'", n->e.path);
        }
        memcpy(buf, lg_block(img, m->pair[0]) + s->struct_off, n->e.size);
        *data = buf;
        *len = n->e.size;
        return LG_OK;
    }
    if (lg_tag_type3(s->struct_tag) != LG_T_CTZ) {
        return lg_fail(err, LG_ERR_CORRUPT, "'%s': its struct (type 0x%03x) is not a file's",
                       n->e.path, lg_tag_type3(s->struct_tag));
    }
    uint64_t nb = lg_ctz_blocks(img->block_size, n->e.size);
    if (nb > img->bound) {
        return lg_fail(err, LG_ERR_CORRUPT,
                       "'%s' is %u bytes, which needs %llu blocks; the image has %u", n->e.path,
                       n->e.size, (unsigned long long)nb, img->bound);
    }
    uint32_t *blocks = malloc((size_t)nb * sizeof *blocks);
    uint8_t *buf = malloc(n->e.size);
    if (blocks == NULL || buf == NULL) {
        free(blocks);
        free(buf);
        return lg_fail(err, LG_ERR_NOMEM, "out of memory reading '%s'", n->e.path);
    }
    char why[160];
    if (lg_ctz_walk(img, n->head, n->e.size, blocks, why, sizeof why) != LG_OK) {
        free(blocks);
        free(buf);
        return lg_fail(err, LG_ERR_CORRUPT, "'%s': %s", n->e.path, why);
    }
    size_t done = 0;
    for (uint64_t b = 0; b < nb; b++) {
        uint32_t off = lg_ctz_data_off((uint32_t)b);
        size_t chunk = img->block_size - off;
        if (chunk > n->e.size - done) {
            chunk = n->e.size - done;
        }
        memcpy(buf + done, lg_block(img, blocks[b]) + off, chunk);
        done += chunk;
    }
    free(blocks);
    *data = buf;
    *len = n->e.size;
    return LG_OK;
}
