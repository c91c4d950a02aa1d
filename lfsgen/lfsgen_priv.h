/*
 * lfsgen internals shared by its .c files only (never included from another
 * folder). Names follow lfsgen/SPEC.md and littlefs's SPEC.md.
 */
#ifndef ESPPROV_LFSGEN_PRIV_H
#define ESPPROV_LFSGEN_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lfsgen/lfsgen.h"

#define LG_BLOCK_NULL 0xFFFFFFFFu

/* Tag types (type3 unless noted; SPEC.md §2). */
#define LG_T_NAME_REG   0x001u
#define LG_T_NAME_DIR   0x002u
#define LG_T_SUPERBLOCK 0x0FFu
#define LG_T_DIRSTRUCT  0x200u
#define LG_T_INLINE     0x201u
#define LG_T_CTZ        0x202u
#define LG_T_CREATE     0x401u
#define LG_T_DELETE     0x4FFu
#define LG_T_SOFTTAIL   0x600u
#define LG_T_HARDTAIL   0x601u
#define LG_T_MOVESTATE  0x7FFu
#define LG_T_CCRC       0x500u /* type2: 0x500..0x57f */
#define LG_T_FCRC       0x5FFu
/* type1 groups */
#define LG_T1_NAME   0x000u
#define LG_T1_STRUCT 0x200u
#define LG_T1_ATTR   0x300u
#define LG_T1_SPLICE 0x400u
#define LG_T1_CRC    0x500u
#define LG_T1_TAIL   0x600u
#define LG_T1_GSTATE 0x700u

#define LG_ID_NONE        0x3FFu
#define LG_SUPERBLOCK_LEN 24u
#define LG_MAX_IDS        0x3FFu

static inline uint32_t lg_mktag(uint32_t type, uint32_t id, uint32_t size)
{
    return (type << 20) | (id << 10) | size;
}
static inline bool lg_tag_valid(uint32_t t)
{
    return !(t & 0x80000000u);
}
static inline bool lg_tag_isdelete(uint32_t t)
{
    return (t & 0x3FFu) == 0x3FFu;
}
static inline uint32_t lg_tag_type1(uint32_t t)
{
    return (t & 0x70000000u) >> 20;
}
static inline uint32_t lg_tag_type2(uint32_t t)
{
    return (t & 0x78000000u) >> 20;
}
static inline uint32_t lg_tag_type3(uint32_t t)
{
    return (t & 0x7FF00000u) >> 20;
}
static inline uint32_t lg_tag_chunk(uint32_t t)
{
    return (t >> 20) & 0xFFu;
}
static inline uint32_t lg_tag_id(uint32_t t)
{
    return (t >> 10) & 0x3FFu;
}
static inline uint32_t lg_tag_size(uint32_t t)
{
    return t & 0x3FFu;
}
/* Bytes the tag and its data take: a deleted tag (size 0x3ff) has none
 * (lfs_tag_dsize). */
static inline uint32_t lg_tag_dsize(uint32_t t)
{
    return 4u + lg_tag_size(t + (lg_tag_isdelete(t) ? 1u : 0u));
}

static inline uint32_t lg_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint32_t lg_getbe32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void lg_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void lg_putbe32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t lg_ctz32(uint32_t v)
{
    return (uint32_t)__builtin_ctz(v);
}
static inline uint32_t lg_popc32(uint32_t v)
{
    return (uint32_t)__builtin_popcount(v);
}

/* littlefs's CRC-32: reflected polynomial 0x04c11db7 (0xedb88320), the caller
 * seeds it (0xffffffff), no final inversion (lfs_util.c lfs_crc). */
uint32_t lg_crc(uint32_t crc, const void *buf, size_t len);

/* Fills err (which may be NULL) and returns code. */
int lg_fail(struct lg_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Validates p; with image_size != 0 also the image (whole blocks when
 * whole_blocks, at least two blocks). */
int lg_check_params(const struct lg_params *p, uint64_t image_size, bool whole_blocks,
                    struct lg_error *err);

/* Bytes file data takes in a CTZ list of n blocks (SPEC.md §3). */
uint64_t lg_ctz_capacity(uint32_t block_size, uint64_t n);
/* Blocks a CTZ list of `size` bytes needs (0 for 0 bytes). */
uint64_t lg_ctz_blocks(uint32_t block_size, uint64_t size);
/* Offset of the data in block i of a CTZ list (its pointers come first). */
static inline uint32_t lg_ctz_data_off(uint32_t i)
{
    return i == 0 ? 0u : 4u * (lg_ctz32(i) + 1u);
}

/* littlefs's order of names in a directory (lfs_dir_find_match): bytewise on
 * the common prefix, then the LONGER name first. */
int lg_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* The metadata budget of one pair before littlefs splits it at compaction
 * (lfs_dir_splittingcompact): min(B - 40, alignup(B / 2, prog)). */
uint32_t lg_pair_budget(uint32_t block_size, uint32_t prog_size);
#define LG_PAIR_MAX_IDS 0xFEu /* ids per pair before a split (end - split < 0xff) */

/* ===== The reader ===================================================== */

/* One id of a metadata pair after replaying its log (lfs_dir_getslice). */
struct lg_slot {
    uint32_t name_tag; /* 0 = none; tags are the decoded (xor-ed) values */
    uint32_t name_off; /* data offset in the block */
    uint32_t sb_tag;   /* a superblock name (type 0x0ff) */
    uint32_t sb_off;
    uint32_t struct_tag;
    uint32_t struct_off;
};

/* A fetched metadata pair (lfs_dir_fetchmatch). */
struct lg_mdir {
    uint32_t pair[2]; /* the active block first */
    uint32_t rev;
    uint32_t off;  /* end of the last valid commit */
    uint32_t etag; /* tag state after it */
    uint32_t count;
    uint32_t tail[2];
    bool split; /* tail is a hard tail */
    bool erased;
    bool has_gstate;
    uint8_t gstate[12];
    uint32_t commits;
    /* what the scan saw past the last valid commit */
    bool torn;           /* a commit after `off` fails (CRC or tag out of range) */
    uint32_t torn_off;   /* where that commit starts */
    uint32_t later_good; /* commits after the torn one whose CRC holds */
    bool other_failed;   /* the newer block (by revision) had no valid commit */
    uint32_t fcrc_tags;  /* FCRC tags in valid commits */
    uint32_t unknown_tags;
    uint32_t first_unknown;
    struct lg_slot *slots; /* count entries */
    bool on_list;          /* reached by the mount's tail walk */
    bool in_tree;          /* listed as (part of) a directory */
};

struct lg_node {
    struct lg_entry e;
    uint32_t mdir;   /* index of the pair holding the entry */
    uint32_t id;     /* id inside that pair */
    uint32_t parent; /* node index, UINT32_MAX for root entries */
    uint32_t head;   /* CTZ head / first block of a directory's pair */
    uint32_t dir_pair[2];
    uint32_t dir_mdir; /* directories: index of their first pair, UINT32_MAX unknown */
};

struct lg_image {
    const uint8_t *img;
    size_t size;
    uint32_t block_size;
    uint32_t image_blocks;
    uint32_t bound; /* blocks a read may touch */
    struct lg_params p;
    bool have_params;
    struct lg_superblock sb;
    uint32_t root[2];
    uint32_t root_mdir;
    uint8_t gstate[12];
    struct lg_mdir *mdirs;
    size_t nmdirs, capmdirs;
    uint32_t list_len; /* mdirs[0 .. list_len) are the mount's list, in order */
    struct lg_node *nodes;
    size_t nnodes, capnodes;
    char *paths; /* all entry paths, NUL-separated */
    size_t paths_len, paths_cap;
    uint32_t *by_path; /* node indices sorted by path */
    struct lg_stats stats;
    uint32_t dir_loops; /* directory structs that point back into the tree */
    uint32_t dir_unreadable;
    uint32_t deep_paths;
};

/* Ids of a pair the reader looks at: littlefs's count, which splices can
 * push past the 10-bit id space on a damaged log. */
static inline uint32_t lg_mdir_ids(const struct lg_mdir *m)
{
    return m->count < LG_MAX_IDS ? m->count : LG_MAX_IDS;
}

/* Fetches a pair into a new mdirs[] slot (or finds it already fetched);
 * returns its index or -1 with err (LG_ERR_CORRUPT / LG_ERR_NOMEM). */
long lg_fetch(struct lg_image *im, const uint32_t pair[2], struct lg_error *err);
/* Block bytes (blk < im->image_blocks). */
static inline const uint8_t *lg_block(const struct lg_image *im, uint32_t blk)
{
    return im->img + (size_t)blk * im->block_size;
}
/* The gstate's pending move, if it points at this pair: the id, else -1. */
long lg_move_id(const struct lg_image *im, const struct lg_mdir *m);

/* Opens with this block size and no device parameters (detection). */
int lg_open_block_size(uint32_t block_size, const uint8_t *image, size_t size,
                       struct lg_image **out, struct lg_error *err);

/* Walks a CTZ list from its head: fills blocks[0..n) (index order) and
 * returns LG_OK, or LG_ERR_CORRUPT with the reason in why. */
int lg_ctz_walk(const struct lg_image *im, uint32_t head, uint32_t size, uint32_t *blocks,
                char *why, size_t why_len);

#endif
