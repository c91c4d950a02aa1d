/*
 * A FLASH_BEGIN/DATA/END (or DEFL_*) session. The ROM erases up front and
 * writes each block synchronously with a read-back check; the stubs erase
 * lazily just ahead of the data (4 KiB sectors, 64 KiB blocks when aligned
 * and 16+ sectors remain), every sector the write covers, blank or not: both
 * upstream stubs erase unconditionally (esp-flasher-stub s_write_flash_data ->
 * stub_lib_flash_start_next_erase; the legacy stub's start_next_erase), and
 * for compressed data inflate into a 32 KiB buffer that is written when full
 * or at the end of the stream (reference §2.2, §6).
 * Functions return 0 or the loader's own error code (ROM 0x01.., stub 0xC?).
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define STUB_CHUNK     0x8000u
#define ROM_WRITE_SIZE 0x400u

static bool is_stub(const struct sim *s)
{
    return s->ld.mode == SIM_MODE_STUB;
}

void sim_flashop_clear(struct sim_flashop *fo)
{
    if (fo->z != NULL) {
        inflateEnd(fo->z);
        free(fo->z);
    }
    free(fo->chunk);
    memset(fo, 0, sizeof *fo);
}

static void erase_cost(struct sim *s, int64_t ns)
{
    if (s->ld.slow_erase_pending) {
        struct sim_fault *f = sim_fault_hit(&s->faults, SIM_F_SLOW_ERASE, -1);
        s->ld.slow_erase_pending = false;
        if (f != NULL) {
            sim_log(s, "fault: slow erase, %u ms", f->ms);
            sim_spend_always(s, (int64_t)f->ms * SIM_MS);
        }
    }
    sim_spend(s, ns);
}

void sim_erase_range(struct sim *s, uint32_t addr, uint32_t len)
{
    uint32_t a = addr & ~(SIM_SECTOR - 1);
    uint32_t sectors = (len + SIM_SECTOR - 1) / SIM_SECTOR;
    while (sectors > 0) {
        if (a % SIM_BLOCK64 == 0 && sectors >= 16) {
            for (uint32_t i = 0; i < 16; i++) {
                sim_flash_erase_sector(&s->flash, a + i * SIM_SECTOR);
            }
            erase_cost(s, sim_cost_erase_block());
            a += SIM_BLOCK64;
            sectors -= 16;
        } else {
            sim_flash_erase_sector(&s->flash, a);
            erase_cost(s, sim_cost_erase_sector());
            a += SIM_SECTOR;
            sectors--;
        }
    }
}

/* Stub: erase what lies below `upto` and has not been erased yet. */
static void erase_ahead(struct sim *s, uint32_t upto)
{
    struct sim_flashop *fo = &s->ld.fo;
    uint32_t end = fo->offset + fo->size;
    while (fo->erased_to < upto) {
        uint32_t left = (end > fo->erased_to ? end - fo->erased_to : 0) + SIM_SECTOR - 1;
        uint32_t len = (fo->erased_to % SIM_BLOCK64 == 0 && left / SIM_SECTOR >= 16) ? SIM_BLOCK64
                                                                                     : SIM_SECTOR;
        sim_erase_range(s, fo->erased_to, len);
        fo->erased_to += len;
    }
}

static uint32_t wrap(const struct sim *s, uint32_t addr)
{
    /* ROMs (and stubs without 4-byte addressing) send 24-bit addresses. */
    if (!is_stub(s) || s->chip->max_flash <= (16u << 20)) {
        return addr & 0xFFFFFF;
    }
    return addr;
}

/* Program len bytes at the session's current output position. */
static int write_out(struct sim *s, const uint8_t *data, uint32_t len)
{
    struct sim_flashop *fo = &s->ld.fo;
    uint32_t addr = wrap(s, fo->offset + fo->written);
    bool stub = is_stub(s);
    if (!stub && (uint64_t)addr + len > s->ld.flash_limit) {
        return ROM_ERR_RESULT;
    }
    if (stub) {
        erase_ahead(s, fo->offset + fo->written + len);
    }
    if (sim_fault_hit(&s->faults, SIM_F_WRITE_FAIL,
                      fo->deflate ? OP_FLASH_DEFL_DATA : OP_FLASH_DATA) != NULL) {
        sim_log(s, "fault: flash program failed at 0x%x", addr);
        return stub ? STUB_ERR_SPI : ROM_ERR_FLASH_WRITE;
    }
    bool exact = sim_flash_program(&s->flash, addr, data, len);
    sim_spend(s, sim_cost_program(len));
    fo->written += len;
    s->ld.last_write_addr = addr;
    s->ld.last_write_len = len;
    /* The ROM reads the block back; the stubs trust the chip. */
    return (!stub && !exact) ? ROM_ERR_FLASH_WRITE : 0;
}

int sim_flashop_begin(struct sim *s, bool deflate, uint32_t size, uint32_t blocks,
                      uint32_t block_size, uint32_t offset)
{
    struct sim_loader *ld = &s->ld;
    struct sim_flashop *fo = &ld->fo;
    bool stub = is_stub(s);
    sim_flashop_clear(fo);
    ld->slow_erase_pending = sim_fault_present(&s->faults, SIM_F_SLOW_ERASE);
    fo->deflate = deflate;
    fo->size = size;
    fo->blocks = blocks;
    fo->block_size = block_size;
    fo->offset = wrap(s, offset);
    if (stub) {
        if (ld->stub_legacy && block_size > SIM_STUB_MAX_BLOCK) {
            return STUB_ERR_BLOCKSIZE;
        }
        fo->erased_to = fo->offset & ~(SIM_SECTOR - 1);
    } else {
        if (blocks > 0 && (block_size == 0 || block_size > SIM_STUB_MAX_BLOCK)) {
            return ROM_ERR_INVALID_PARAM;
        }
        if (deflate && size % ROM_WRITE_SIZE != 0) {
            return ROM_ERR_DEFLATE_PARAM; /* ROM wants the size rounded to 1 KiB */
        }
        if ((uint64_t)fo->offset + size > ld->flash_limit) {
            return ROM_ERR_RESULT;
        }
        uint32_t first = fo->offset / SIM_SECTOR;
        uint32_t n = (size + SIM_SECTOR - 1) / SIM_SECTOR;
        if (s->chip->id == SIM_ESP8266) {
            /* The ROM's erase bug (§2.4): min(x, t) head sectors, then x more. */
            uint32_t t = 16 - first % 16;
            n = (n < t ? n : t) + n;
        }
        sim_erase_range(s, first * SIM_SECTOR, n * SIM_SECTOR);
    }
    if (deflate) {
        fo->z = calloc(1, sizeof(z_stream));
        if (fo->z == NULL || inflateInit2(fo->z, -15) != Z_OK) {
            return stub ? STUB_ERR_INFLATE : ROM_ERR_DEFLATE;
        }
        fo->adler = adler32(0, NULL, 0);
        if (stub) {
            fo->chunk = malloc(STUB_CHUNK);
            if (fo->chunk == NULL) {
                return STUB_ERR_INFLATE;
            }
        }
    }
    fo->active = true;
    return 0;
}

static int flush_chunk(struct sim *s)
{
    struct sim_flashop *fo = &s->ld.fo;
    int rc = 0;
    if (fo->chunk_len > 0) {
        rc = write_out(s, fo->chunk, fo->chunk_len);
        fo->chunk_len = 0;
    }
    return rc;
}

/* zlib stream: our own header check, raw inflate, then the Adler-32 tail. */
static int inflate_block(struct sim *s, const uint8_t *in, uint32_t len)
{
    struct sim_flashop *fo = &s->ld.fo;
    bool stub = is_stub(s);
    int bad = stub ? STUB_ERR_INFLATE : ROM_ERR_DEFLATE;
    int too_much = stub ? STUB_ERR_TOO_MUCH : ROM_ERR_DEFLATE;
    z_stream *z = fo->z;
    uint8_t rom_out[4096];
    while (len > 0 && !fo->z_header_done) {
        fo->zhdr[fo->zhdr_len++] = *in++;
        len--;
        if (fo->zhdr_len == 2) {
            unsigned v = (unsigned)fo->zhdr[0] << 8 | fo->zhdr[1];
            if ((fo->zhdr[0] & 0x0F) != 8 || v % 31 != 0 || (fo->zhdr[1] & 0x20)) {
                return bad;
            }
            fo->z_header_done = true;
        }
    }
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = len;
    while (!fo->z_end && z->avail_in > 0) {
        uint8_t *out = stub ? fo->chunk + fo->chunk_len : rom_out;
        uInt room = stub ? STUB_CHUNK - fo->chunk_len : (uInt)sizeof rom_out;
        z->next_out = out;
        z->avail_out = room;
        int zr = inflate(z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            return bad;
        }
        uint32_t produced = room - z->avail_out;
        fo->adler = (uint32_t)adler32(fo->adler, out, produced);
        if (fo->written + (stub ? fo->chunk_len : 0) + produced > fo->size) {
            return too_much;
        }
        int rc = 0;
        if (stub) {
            fo->chunk_len += produced;
            if (fo->chunk_len == STUB_CHUNK || zr == Z_STREAM_END) {
                rc = flush_chunk(s);
            }
        } else if (produced > 0) {
            rc = write_out(s, out, produced);
        }
        if (rc != 0) {
            return rc;
        }
        if (zr == Z_STREAM_END) {
            fo->z_end = true;
        } else if (zr == Z_BUF_ERROR && produced == 0) {
            break;
        }
    }
    /* After the deflate data: the 4 Adler bytes, then nothing. */
    while (fo->z_end && z->avail_in > 0) {
        if (fo->tail_len < 4) {
            fo->tail[fo->tail_len++] = *z->next_in;
        } else {
            fo->extra++;
        }
        z->next_in++;
        z->avail_in--;
    }
    if (fo->extra > 0) {
        return too_much;
    }
    uint32_t want = (uint32_t)fo->tail[0] << 24 | (uint32_t)fo->tail[1] << 16 |
                    (uint32_t)fo->tail[2] << 8 | fo->tail[3];
    if (!stub && fo->tail_len == 4 && want != fo->adler) {
        return ROM_ERR_ADLER; /* the stubs do not check it (§6) */
    }
    return 0;
}

int sim_flashop_data(struct sim *s, const uint8_t *data, uint32_t len, uint32_t seq)
{
    struct sim_flashop *fo = &s->ld.fo;
    bool stub = is_stub(s);
    if (!fo->active) {
        return stub ? STUB_ERR_NOT_FLASHING : ROM_ERR_MSG;
    }
    if (!stub) {
        if (seq != fo->next_seq && seq + 1 != fo->next_seq) {
            return ROM_ERR_MSG;
        }
        if (fo->blocks != 0 && seq >= fo->blocks) {
            return ROM_ERR_INVALID_PARAM;
        }
        if (fo->deflate ? len > fo->block_size : len != fo->block_size) {
            return ROM_ERR_INVALID_PARAM;
        }
        if (seq + 1 == fo->next_seq && fo->deflate) {
            return 0; /* a retry: the inflater already consumed this block */
        }
        if (!fo->deflate) {
            fo->written = seq * fo->block_size; /* a retry lands on the same cells */
        }
        fo->next_seq = seq + 1;
    }
    if (fo->deflate) {
        return inflate_block(s, data, len);
    }
    uint32_t n = len;
    if (stub) {
        /* Stubs write exactly word0 bytes: the 0xFF padding is trimmed. */
        n = fo->size - fo->written < len ? fo->size - fo->written : len;
    }
    return n ? write_out(s, data, n) : 0;
}

int sim_flashop_end(struct sim *s)
{
    struct sim_flashop *fo = &s->ld.fo;
    bool stub = is_stub(s);
    int rc = 0;
    if (!fo->active) {
        return stub ? STUB_ERR_NOT_FLASHING : 0;
    }
    if (stub && fo->deflate) {
        rc = flush_chunk(s);
        if (rc == 0 && (!fo->z_end || fo->written < fo->size)) {
            rc = STUB_ERR_NOT_ENOUGH;
        }
    } else if (stub && fo->written < fo->size) {
        rc = STUB_ERR_NOT_ENOUGH;
    }
    sim_flashop_clear(fo);
    return rc;
}
