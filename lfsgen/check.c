/*
 * Consistency check (SPEC.md §7): what lfs_mount tolerates but a device would
 * trip over later, or what loses data, reported one precise line each.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfsgen/lfsgen_priv.h"

#define MAX_REPORTED 1000u
#define NO_OWNER     UINT32_MAX
#define OWNER_PAIR   0x80000000u /* | mdir index; else node index */

struct checker {
    const struct lg_image *im;
    void (*report)(void *user, const char *problem);
    void *user;
    size_t count;
    uint32_t *owner; /* per block */
};

__attribute__((format(printf, 2, 3))) static void problem(struct checker *c, const char *fmt, ...)
{
    if (c->count++ < MAX_REPORTED && c->report != NULL) {
        char line[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        c->report(c->user, line);
    }
}

static void describe_owner(const struct lg_image *im, uint32_t o, char *buf, size_t len)
{
    if (o & OWNER_PAIR) {
        const struct lg_mdir *m = &im->mdirs[o & ~OWNER_PAIR];
        snprintf(buf, len, "metadata pair {%u, %u}", m->pair[0], m->pair[1]);
    } else {
        snprintf(buf, len, "'%s'", im->nodes[o].e.path);
    }
}

static void claim(struct checker *c, uint32_t blk, uint32_t who)
{
    if (blk >= c->im->bound) {
        return;
    }
    if (c->owner[blk] != NO_OWNER && c->owner[blk] != who) {
        char a[160], b[160];
        describe_owner(c->im, c->owner[blk], a, sizeof a);
        describe_owner(c->im, who, b, sizeof b);
        problem(c, "block %u is used by %s and by %s", blk, a, b);
        return;
    }
    c->owner[blk] = who;
}

static void check_superblock(struct checker *c)
{
    const struct lg_image *im = c->im;
    const struct lg_superblock *sb = &im->sb;
    if (sb->block_count != im->image_blocks) {
        problem(c,
                "superblock block count %u, but the image has %u blocks of %u bytes; the device "
                "uses partition size / block size%s",
                sb->block_count, im->image_blocks, im->block_size,
                sb->block_count > im->image_blocks ? " (blocks past the image are missing)" : "");
    }
    if (sb->name_max == 0 || sb->name_max > 1022) {
        problem(c, "superblock name_max %u is outside littlefs's 1..1022", sb->name_max);
    }
    if (im->have_params && sb->version != im->p.disk_version) {
        problem(c,
                "superblock version v2.%u, the parameters say v2.%u; a littlefs >= 2.6 device "
                "rewrites it at its first write",
                sb->version & 0xFFFFu, im->p.disk_version & 0xFFFFu);
    }
}

static void check_pair(struct checker *c, uint32_t mi)
{
    const struct lg_image *im = c->im;
    const struct lg_mdir *m = &im->mdirs[mi];
    if (m->pair[0] == m->pair[1]) {
        problem(c, "metadata pair {%u, %u} uses one block twice", m->pair[0], m->pair[1]);
    }
    if (m->torn && m->later_good > 0) {
        problem(c,
                "pair {%u, %u}: the commit at offset %u of block %u fails its CRC, yet %u later "
                "commit%s pass; the device stops at the failure and loses them",
                m->pair[0], m->pair[1], m->torn_off, m->pair[0], m->later_good,
                m->later_good == 1 ? "" : "s");
    }
    if (m->fcrc_tags > 0 && (im->sb.version & 0xFFFFu) == 0) {
        problem(c,
                "pair {%u, %u}: %u FCRC tag%s in a v2.0 filesystem; littlefs before 2.6 (the "
                "ESP8266 core) takes them for CRC tags and rejects the commit ('Corrupted dir "
                "pair')",
                m->pair[0], m->pair[1], m->fcrc_tags, m->fcrc_tags == 1 ? "" : "s");
    }
    if (m->unknown_tags > 0) {
        problem(c, "pair {%u, %u}: %u tag%s of unknown type (first 0x%08x)", m->pair[0], m->pair[1],
                m->unknown_tags, m->unknown_tags == 1 ? "" : "s", m->first_unknown);
    }
    if (!m->on_list) {
        problem(c,
                "pair {%u, %u} belongs to a directory but is not on the metadata list (tails "
                "from {0, 1}); the device's allocator may reuse its blocks",
                m->pair[0], m->pair[1]);
    } else if (!m->in_tree) {
        uint32_t tag = lg_get32(im->gstate);
        if ((tag & 0x1FFu) == 0) {
            problem(c,
                    "pair {%u, %u} on the metadata list belongs to no directory (an orphan) and "
                    "the global state flags no orphans",
                    m->pair[0], m->pair[1]);
        }
    }
    claim(c, m->pair[0], OWNER_PAIR | mi);
    claim(c, m->pair[1], OWNER_PAIR | mi);
    const uint8_t *blk = lg_block(im, m->pair[0]);
    long move = lg_move_id(im, m);
    for (uint32_t id = 0; id < lg_mdir_ids(m); id++) {
        const struct lg_slot *s = &m->slots[id];
        if ((long)id == move) {
            continue;
        }
        if (s->name_tag == 0 && s->struct_tag != 0 && s->sb_tag == 0) {
            problem(c, "pair {%u, %u} id %u has a struct but no name; readdir skips it", m->pair[0],
                    m->pair[1], id);
        }
        if (s->name_tag == 0) {
            continue;
        }
        uint32_t nlen = lg_tag_size(s->name_tag);
        uint32_t t3 = lg_tag_type3(s->name_tag);
        if (s->struct_tag == 0) {
            problem(c, "pair {%u, %u} id %u: name '%.*s' has no struct; readdir skips it",
                    m->pair[0], m->pair[1], id, (int)(nlen > 64 ? 64 : nlen),
                    (const char *)blk + s->name_off);
        }
        if (t3 != LG_T_NAME_REG && t3 != LG_T_NAME_DIR) {
            problem(c,
                    "pair {%u, %u} id %u: '%.*s' has entry type 0x%03x (neither file nor "
                    "directory)",
                    m->pair[0], m->pair[1], id, (int)(nlen > 64 ? 64 : nlen),
                    (const char *)blk + s->name_off, t3);
        }
    }
}

static void check_entry(struct checker *c, uint32_t i, uint32_t *last_child)
{
    const struct lg_image *im = c->im;
    const struct lg_node *n = &im->nodes[i];
    const struct lg_mdir *m = &im->mdirs[n->mdir];
    const struct lg_slot *s = &m->slots[n->id];
    const uint8_t *blk = lg_block(im, m->pair[0]);
    uint32_t nlen = lg_tag_size(s->name_tag);
    if (n->e.unsafe) {
        problem(c,
                "'%s': the name would escape or alias when extracted ('.', '..', '/', NUL or "
                "an empty name)",
                n->e.path);
    }
    if (nlen > im->sb.name_max) {
        problem(c, "'%s': name is %u bytes, superblock name_max is %u", n->e.path, nlen,
                im->sb.name_max);
    } else if (im->have_params && nlen > lg_name_limit(&im->p)) {
        problem(c, "'%s': name is %u bytes; the platform's open() refuses names over %u", n->e.path,
                nlen, lg_name_limit(&im->p));
    }
    /* entries of one directory must ascend in littlefs order, or lookups fail */
    uint32_t pidx = n->parent == UINT32_MAX ? im->nnodes : n->parent;
    if (last_child[pidx] != UINT32_MAX) {
        const struct lg_node *prev = &im->nodes[last_child[pidx]];
        const struct lg_mdir *pm = &im->mdirs[prev->mdir];
        const struct lg_slot *ps = &pm->slots[prev->id];
        int cmp = lg_name_cmp((const char *)lg_block(im, pm->pair[0]) + ps->name_off,
                              lg_tag_size(ps->name_tag), (const char *)blk + s->name_off, nlen);
        if (cmp == 0) {
            problem(c, "'%s' is listed twice in its directory", n->e.path);
        } else if (cmp > 0) {
            problem(c,
                    "'%s' comes after '%s' but sorts before it in littlefs order; the device's "
                    "lookup stops early and cannot open one of them",
                    n->e.path, prev->e.path);
        }
    }
    last_child[pidx] = i;
    uint32_t st3 = lg_tag_type3(s->struct_tag);
    if (n->e.type == LG_TYPE_DIR) {
        if (st3 != LG_T_DIRSTRUCT) {
            problem(c, "directory '%s' has a struct of type 0x%03x instead of a pair", n->e.path,
                    st3);
        }
        if (n->dir_mdir == UINT32_MAX) {
            problem(c,
                    "directory '%s': its pair {%u, %u} cannot be fetched (a block out of range "
                    "or no valid commit)",
                    n->e.path, n->dir_pair[0], n->dir_pair[1]);
        }
        return;
    }
    if (st3 != LG_T_INLINE && st3 != LG_T_CTZ) {
        problem(c, "file '%s' has a struct of type 0x%03x (a directory's?)", n->e.path, st3);
        return;
    }
    if (n->e.size > im->sb.file_max) {
        problem(c, "'%s' is %u bytes, above the superblock's file_max %u", n->e.path, n->e.size,
                im->sb.file_max);
    }
    if (st3 == LG_T_INLINE || n->e.size == 0) {
        return;
    }
    if (lg_tag_size(s->struct_tag) < 8) {
        problem(c, "'%s': its CTZ struct has %u bytes, not 8", n->e.path,
                lg_tag_size(s->struct_tag));
    }
    uint64_t nb = lg_ctz_blocks(im->block_size, n->e.size);
    if (nb > im->bound) {
        problem(c, "'%s' is %u bytes, which needs %llu blocks; the image has %u", n->e.path,
                n->e.size, (unsigned long long)nb, im->bound);
        return;
    }
    uint32_t *blocks = malloc((size_t)nb * sizeof *blocks);
    if (blocks == NULL) {
        problem(c, "'%s': out of memory checking its %llu blocks", n->e.path,
                (unsigned long long)nb);
        return;
    }
    char why[160];
    if (lg_ctz_walk(im, n->head, n->e.size, blocks, why, sizeof why) != LG_OK) {
        problem(c, "'%s': %s (a dangling CTZ pointer)", n->e.path, why);
        free(blocks);
        return;
    }
    uint32_t reported = 0;
    for (uint64_t b = 0; b < nb; b++) {
        claim(c, blocks[b], i);
        for (uint32_t k = 1; b > 0 && k <= lg_ctz32((uint32_t)b) && reported < 4; k++) {
            uint32_t ptr = lg_get32(lg_block(im, blocks[b]) + 4 * k);
            uint32_t want = blocks[b - (1u << k)];
            if (ptr != want) {
                problem(c,
                        "'%s': block %llu (block %u) skip pointer %u is %u, expected %u; seeks "
                        "read the wrong data",
                        n->e.path, (unsigned long long)b, blocks[b], k, ptr, want);
                reported++;
            }
        }
    }
    free(blocks);
}

size_t lg_image_check(const struct lg_image *img, void (*report)(void *user, const char *problem),
                      void *user)
{
    struct checker c = {img, report, user, 0, NULL};
    c.owner = malloc((size_t)img->bound * sizeof *c.owner);
    uint32_t *last_child = malloc((img->nnodes + 1) * sizeof *last_child);
    if (c.owner == NULL || last_child == NULL) {
        problem(&c, "out of memory checking the image");
        free(c.owner);
        free(last_child);
        return c.count;
    }
    memset(c.owner, 0xFF, (size_t)img->bound * sizeof *c.owner);
    memset(last_child, 0xFF, (img->nnodes + 1) * sizeof *last_child);
    check_superblock(&c);
    for (uint32_t i = 0; i < img->nmdirs; i++) {
        check_pair(&c, i);
    }
    for (uint32_t i = 0; i < img->nnodes; i++) {
        check_entry(&c, i, last_child);
    }
    if (img->dir_loops > 0) {
        problem(&c, "%u directory link%s point%s back into the tree (a loop)", img->dir_loops,
                img->dir_loops == 1 ? "" : "s", img->dir_loops == 1 ? "s" : "");
    }
    if (img->dir_unreadable > 0) {
        problem(&c, "%u directory pair%s cannot be fetched; their entries are missing",
                img->dir_unreadable, img->dir_unreadable == 1 ? "" : "s");
    }
    if (img->deep_paths > 0) {
        problem(&c, "%u entr%s with paths over 4096 bytes were not listed", img->deep_paths,
                img->deep_paths == 1 ? "y" : "ies");
    }
    if (c.count > MAX_REPORTED && report != NULL) {
        char line[64];
        snprintf(line, sizeof line, "... and %zu more", c.count - MAX_REPORTED);
        report(user, line);
    }
    free(c.owner);
    free(last_child);
    return c.count;
}
