/*
 * Metadata pairs as lfs_dir_fetchmatch reads them (SPEC.md §5.1): the block
 * with the newer revision first, its commits up to the last one whose CRC
 * holds, the other block if the newer one has none; then the log replayed
 * into ids the way lfs_dir_getslice resolves them (creates and deletes shift
 * ids, the latest tag of a kind wins). Every offset is checked against the
 * block, so any bytes terminate without reading outside the image.
 */
#include <stdlib.h>
#include <string.h>

#include "lfsgen/lfsgen_priv.h"

struct scan {
    uint32_t off, etag, count, tail[2], commits, fcrc_tags;
    bool split, erased, torn;
    uint32_t torn_off, later_good;
};

/* Commits whose CRC holds after a failed one: evidence that the failure is
 * not a torn last commit but lost history. Only follows tag lengths, so it
 * stops at the first tag that cannot be parsed. */
static uint32_t count_later(const uint8_t *d, uint32_t b, uint32_t off, uint32_t ptag)
{
    uint32_t crc = 0xFFFFFFFFu, good = 0;
    for (uint32_t steps = 0; steps < b / 4; steps++) {
        off += lg_tag_dsize(ptag);
        if (off + 4 > b) {
            break;
        }
        crc = lg_crc(crc, d + off, 4);
        uint32_t tag = lg_getbe32(d + off) ^ ptag;
        if (!lg_tag_valid(tag) || off + lg_tag_dsize(tag) > b) {
            break;
        }
        ptag = tag;
        if (lg_tag_type2(tag) == LG_T_CCRC) {
            if (off + 8 <= b && lg_get32(d + off + 4) == crc) {
                good++;
            }
            ptag ^= (lg_tag_chunk(tag) & 1u) << 31;
            crc = 0xFFFFFFFFu;
            continue;
        }
        crc = lg_crc(crc, d + off + 4, lg_tag_dsize(tag) - 4);
    }
    return good;
}

static void scan_block(const uint8_t *d, uint32_t b, uint32_t prog, uint32_t version,
                       struct scan *s)
{
    memset(s, 0, sizeof *s);
    uint32_t off = 0, ptag = 0xFFFFFFFFu, commit_start = 4;
    uint32_t crc = lg_crc(0xFFFFFFFFu, d, 4);
    uint32_t tcount = 0, ttail[2] = {LG_BLOCK_NULL, LG_BLOCK_NULL}, tfcrc = 0;
    bool tsplit = false, maybe_erased = false, has_fcrc = false, clean = false;
    uint32_t fcrc_size = 0, fcrc_crc = 0;
    for (;;) {
        off += lg_tag_dsize(ptag);
        if (off + 4 > b) {
            clean = lg_tag_type2(ptag) == LG_T_CCRC;
            break;
        }
        crc = lg_crc(crc, d + off, 4);
        uint32_t tag = lg_getbe32(d + off) ^ ptag;
        if (!lg_tag_valid(tag)) {
            maybe_erased = lg_tag_type2(ptag) == LG_T_CCRC;
            clean = maybe_erased;
            break;
        }
        if (off + lg_tag_dsize(tag) > b) {
            break;
        }
        ptag = tag;
        if (lg_tag_type2(tag) == LG_T_CCRC) {
            if (off + 8 > b || lg_get32(d + off + 4) != crc) {
                break;
            }
            ptag ^= (lg_tag_chunk(tag) & 1u) << 31;
            s->off = off + lg_tag_dsize(tag);
            s->etag = ptag;
            s->count = tcount;
            s->tail[0] = ttail[0];
            s->tail[1] = ttail[1];
            s->split = tsplit;
            s->commits++;
            s->fcrc_tags = tfcrc;
            commit_start = s->off;
            crc = 0xFFFFFFFFu;
            continue;
        }
        crc = lg_crc(crc, d + off + 4, lg_tag_dsize(tag) - 4);
        uint32_t t1 = lg_tag_type1(tag);
        if (t1 == LG_T1_NAME) {
            if (lg_tag_id(tag) >= tcount) {
                tcount = lg_tag_id(tag) + 1;
            }
        } else if (t1 == LG_T1_SPLICE) {
            tcount = (uint16_t)(tcount + (uint32_t)(int32_t)(int8_t)lg_tag_chunk(tag));
        } else if (t1 == LG_T1_TAIL) {
            tsplit = lg_tag_chunk(tag) & 1u;
            if (off + 12 > b) {
                break;
            }
            ttail[0] = lg_get32(d + off + 4);
            ttail[1] = lg_get32(d + off + 8);
        } else if (lg_tag_type3(tag) == LG_T_FCRC) {
            /* littlefs keeps the last FCRC seen, even one of a torn commit */
            if (off + 12 <= b) {
                fcrc_size = lg_get32(d + off + 4);
                fcrc_crc = lg_get32(d + off + 8);
            }
            has_fcrc = true;
            tfcrc++;
        }
    }
    if (s->off == 0) {
        return;
    }
    if (!clean) {
        s->torn = true;
        s->torn_off = commit_start;
        /* Skip the failing commit (up to its CRC tag), then count the
         * commits after it whose CRC holds. */
        uint32_t o = commit_start, pt = s->etag;
        for (uint32_t steps = 0; steps < b / 4 && o + 4 <= b; steps++) {
            uint32_t tag = lg_getbe32(d + o) ^ pt;
            if (!lg_tag_valid(tag) || o + lg_tag_dsize(tag) > b) {
                break;
            }
            pt = tag;
            if (lg_tag_type2(tag) == LG_T_CCRC) {
                pt ^= (lg_tag_chunk(tag) & 1u) << 31;
                s->later_good = count_later(d, b, o, pt);
                break;
            }
            o += lg_tag_dsize(tag);
        }
    }
    if (maybe_erased && prog != 0 && s->off % prog == 0) {
        if (version < LG_DISK_V2_1) {
            s->erased = true;
        } else if (has_fcrc) {
            uint32_t n = fcrc_size;
            if (s->off + (uint64_t)n > b) {
                n = b - s->off;
            }
            s->erased = lg_crc(0xFFFFFFFFu, d + s->off, n) == fcrc_crc;
        }
    }
}

static int grow_slots(struct lg_slot **slots, uint32_t *cap, uint32_t need)
{
    if (need <= *cap) {
        return 0;
    }
    uint32_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        ncap *= 2;
    }
    struct lg_slot *s = realloc(*slots, ncap * sizeof *s);
    if (s == NULL) {
        return -1;
    }
    memset(s + *cap, 0, (ncap - *cap) * sizeof *s);
    *slots = s;
    *cap = ncap;
    return 0;
}

/* Replays the valid part of the log [4, m->off) into m->slots. */
static int replay(struct lg_image *im, struct lg_mdir *m)
{
    const uint8_t *d = lg_block(im, m->pair[0]);
    uint32_t off = 0, ptag = 0xFFFFFFFFu, n = 0, cap = 0;
    struct lg_slot *slots = NULL;
    for (;;) {
        off += lg_tag_dsize(ptag);
        if (off >= m->off) {
            break;
        }
        uint32_t tag = lg_getbe32(d + off) ^ ptag;
        ptag = tag;
        uint32_t t1 = lg_tag_type1(tag), t3 = lg_tag_type3(tag), id = lg_tag_id(tag);
        uint32_t doff = off + 4;
        bool del = lg_tag_isdelete(tag);
        if (lg_tag_type2(tag) == LG_T_CCRC) {
            ptag ^= (lg_tag_chunk(tag) & 1u) << 31;
            continue;
        }
        if (t3 == LG_T_FCRC || t1 == LG_T1_TAIL) {
            continue;
        }
        if (t3 == LG_T_MOVESTATE) {
            uint32_t len = del ? 0 : lg_tag_size(tag);
            memset(m->gstate, 0, sizeof m->gstate);
            memcpy(m->gstate, d + doff, len < 12 ? len : 12);
            m->has_gstate = !del;
            continue;
        }
        if (t1 == LG_T1_SPLICE && (t3 == LG_T_CREATE || t3 == LG_T_DELETE) && id < LG_MAX_IDS) {
            if (t3 == LG_T_CREATE) {
                uint32_t at = id < n ? id : n;
                if (grow_slots(&slots, &cap, n + 1) != 0) {
                    free(slots);
                    return -1;
                }
                memmove(&slots[at + 1], &slots[at], (n - at) * sizeof *slots);
                memset(&slots[at], 0, sizeof *slots);
                n++;
            } else if (id < n) {
                memmove(&slots[id], &slots[id + 1], (n - id - 1) * sizeof *slots);
                n--;
            }
            continue;
        }
        bool known = t1 == LG_T1_NAME || t1 == LG_T1_STRUCT || t1 == LG_T1_ATTR;
        if (!known || id >= LG_MAX_IDS) {
            if (m->unknown_tags++ == 0) {
                m->first_unknown = tag;
            }
            continue;
        }
        if (t1 == LG_T1_ATTR) {
            continue;
        }
        if (id >= n) {
            if (grow_slots(&slots, &cap, id + 1) != 0) {
                free(slots);
                return -1;
            }
            n = id + 1;
        }
        struct lg_slot *s = &slots[id];
        if (t1 == LG_T1_NAME && (t3 & 0x780u) == 0) {
            s->name_tag = del ? 0 : tag;
            s->name_off = doff;
        } else if (t1 == LG_T1_NAME) {
            s->sb_tag = del ? 0 : tag;
            s->sb_off = doff;
        } else {
            s->struct_tag = del ? 0 : tag;
            s->struct_off = doff;
        }
    }
    /* lfs_dir_read walks ids up to the fetched count; ids the replay never
     * saw read as missing. */
    if (grow_slots(&slots, &cap, (m->count < LG_MAX_IDS ? m->count : LG_MAX_IDS) + 1) != 0) {
        free(slots);
        return -1;
    }
    m->slots = slots;
    return 0;
}

static bool same_pair(const uint32_t a[2], const uint32_t b[2])
{
    return (a[0] == b[0] && a[1] == b[1]) || (a[0] == b[1] && a[1] == b[0]);
}

long lg_fetch(struct lg_image *im, const uint32_t pair[2], struct lg_error *err)
{
    for (size_t i = 0; i < im->nmdirs; i++) {
        if (same_pair(im->mdirs[i].pair, pair)) {
            return (long)i;
        }
    }
    if (pair[0] >= im->bound || pair[1] >= im->bound) {
        return lg_fail(err, LG_ERR_CORRUPT,
                       "metadata pair {%u, %u} points past the last block %u; littlefs reports "
                       "it as a corrupted dir pair",
                       pair[0], pair[1], im->bound - 1);
    }
    if (im->nmdirs == im->capmdirs) {
        size_t ncap = im->capmdirs ? im->capmdirs * 2 : 16;
        struct lg_mdir *m = realloc(im->mdirs, ncap * sizeof *m);
        if (m == NULL) {
            return lg_fail(err, LG_ERR_NOMEM, "out of memory reading metadata pairs");
        }
        im->mdirs = m;
        im->capmdirs = ncap;
    }
    uint32_t revs[2] = {lg_get32(lg_block(im, pair[0])), lg_get32(lg_block(im, pair[1]))};
    /* lfs_scmp: the later revision in sequence order goes first */
    int r = (int32_t)(revs[1] - revs[0]) > 0 ? 1 : 0;
    uint32_t prog = im->have_params ? im->p.prog_size : 1;
    /* erased-state rules are the device's driver's: its disk version, else the image's */
    uint32_t version = im->have_params  ? im->p.disk_version
                       : im->sb.version ? im->sb.version
                                        : LG_DISK_V2_1;
    struct lg_mdir *m = &im->mdirs[im->nmdirs];
    memset(m, 0, sizeof *m);
    for (int k = 0; k < 2; k++) {
        uint32_t blk = pair[(r + k) % 2];
        struct scan s;
        scan_block(lg_block(im, blk), im->block_size, prog, version, &s);
        if (s.off == 0) {
            m->other_failed = true;
            continue;
        }
        m->pair[0] = blk;
        m->pair[1] = pair[(r + k + 1) % 2];
        m->rev = revs[(r + k) % 2];
        m->other_failed = k == 1;
        m->off = s.off;
        m->etag = s.etag;
        m->count = s.count;
        m->tail[0] = s.tail[0];
        m->tail[1] = s.tail[1];
        m->split = s.split;
        m->erased = s.erased;
        m->commits = s.commits;
        m->torn = s.torn;
        m->torn_off = s.torn_off;
        m->later_good = s.later_good;
        m->fcrc_tags = s.fcrc_tags;
        if (replay(im, m) != 0) {
            return lg_fail(err, LG_ERR_NOMEM, "out of memory reading metadata pairs");
        }
        return (long)im->nmdirs++;
    }
    return lg_fail(err, LG_ERR_CORRUPT,
                   "corrupted dir pair {%u, %u}: neither block has a commit whose CRC holds "
                   "(revisions %u and %u); littlefs cannot fetch it",
                   pair[0], pair[1], revs[0], revs[1]);
}

long lg_move_id(const struct lg_image *im, const struct lg_mdir *m)
{
    uint32_t tag = lg_get32(im->gstate);
    uint32_t pair[2] = {lg_get32(im->gstate + 4), lg_get32(im->gstate + 8)};
    if (lg_tag_type1(tag) == 0) {
        return -1;
    }
    bool here = pair[0] == m->pair[0] || pair[0] == m->pair[1] || pair[1] == m->pair[0] ||
                pair[1] == m->pair[1];
    return here ? (long)lg_tag_id(tag) : -1;
}
