/*
 * Test-only writer of raw littlefs metadata commits, independent of lfsgen's
 * builder: it models what a device leaves behind (many commits per pair,
 * creates, deletes, moves, torn commits) from littlefs's SPEC.md alone. The
 * CRC comes from zlib (littlefs's CRC is zlib's without the final inversion:
 * lfs_crc(c, x) == ~crc32(~c, x)), a second opinion on lfsgen's own.
 */
#ifndef ESPPROV_TEST_LFS_RAWLOG_H
#define ESPPROV_TEST_LFS_RAWLOG_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

struct rawlog {
    uint8_t *blk;
    uint32_t size, prog, off, ptag, crc;
};

static inline uint32_t rl_crc(uint32_t c, const void *buf, size_t n)
{
    return ~(uint32_t)crc32(~c & 0xFFFFFFFFu, buf, (uInt)n);
}

static inline uint32_t rl_tag_of(uint32_t type, uint32_t id, uint32_t len)
{
    return (type << 20) | (id << 10) | len;
}

static inline void rl_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void rl_le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t rl_getle(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Erases the block and starts its first commit with revision rev. */
static inline void rl_begin(struct rawlog *l, uint8_t *blk, uint32_t size, uint32_t prog,
                            uint32_t rev)
{
    memset(blk, 0xFF, size);
    *l = (struct rawlog){blk, size, prog, 4, 0xFFFFFFFFu, 0};
    rl_le(blk, rev);
    l->crc = rl_crc(0xFFFFFFFFu, blk, 4);
}

/* Continues after the last valid commit of an existing block (how a device
 * appends), following tag lengths and CRC tags. */
static inline void rl_resume(struct rawlog *l, uint8_t *blk, uint32_t size, uint32_t prog)
{
    *l = (struct rawlog){blk, size, prog, 4, 0xFFFFFFFFu, 0};
    uint32_t off = 4, ptag = 0xFFFFFFFFu, crc = rl_crc(0xFFFFFFFFu, blk, 4);
    while (off + 4 <= size) {
        uint32_t raw = ((uint32_t)blk[off] << 24) | ((uint32_t)blk[off + 1] << 16) |
                       ((uint32_t)blk[off + 2] << 8) | blk[off + 3];
        uint32_t tag = raw ^ ptag;
        if (tag & 0x80000000u) {
            break;
        }
        uint32_t len = (tag & 0x3FF) == 0x3FF ? 0 : (tag & 0x3FF);
        crc = rl_crc(crc, blk + off, 4);
        ptag = tag;
        if (((tag >> 20) & 0x780) == 0x500) {
            if (rl_getle(blk + off + 4) != crc) {
                break;
            }
            ptag ^= ((tag >> 20) & 1u) << 31;
            off += 4 + len;
            l->off = off;
            l->ptag = ptag;
            crc = 0xFFFFFFFFu;
            continue;
        }
        crc = rl_crc(crc, blk + off + 4, len);
        off += 4 + len;
    }
    l->crc = 0xFFFFFFFFu;
}

static inline void rl_tag(struct rawlog *l, uint32_t type, uint32_t id, const void *data,
                          uint32_t len)
{
    uint32_t tag = rl_tag_of(type, id, len);
    uint32_t dlen = len == 0x3FF ? 0 : len;
    rl_be(l->blk + l->off, tag ^ l->ptag);
    if (dlen > 0) {
        memcpy(l->blk + l->off + 4, data, dlen);
    }
    l->crc = rl_crc(l->crc, l->blk + l->off, 4 + (size_t)dlen);
    l->off += 4 + dlen;
    l->ptag = tag;
}

static inline void rl_tag_pair(struct rawlog *l, uint32_t type, uint32_t id, uint32_t a, uint32_t b)
{
    uint8_t d[8];
    rl_le(d, a);
    rl_le(d + 4, b);
    rl_tag(l, type, id, d, 8);
}

/* Ends the commit: a CRC tag padding to the program unit (disk 2.0 style,
 * no FCRC). With bad_crc the stored CRC is wrong (a torn write). */
static inline void rl_commit_crc(struct rawlog *l, int bad_crc)
{
    uint32_t end = (l->off + 8 + l->prog - 1) / l->prog * l->prog;
    uint32_t tag = rl_tag_of(0x500, 0x3FF, end - l->off - 4);
    rl_be(l->blk + l->off, tag ^ l->ptag);
    l->crc = rl_crc(l->crc, l->blk + l->off, 4);
    rl_le(l->blk + l->off + 4, bad_crc ? ~l->crc : l->crc);
    l->off = end;
    l->ptag = tag;
    l->crc = 0xFFFFFFFFu;
}

static inline void rl_commit(struct rawlog *l)
{
    rl_commit_crc(l, 0);
}

#endif
