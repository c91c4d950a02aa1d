/*
 * A tiny model of an ESP ROM loader (and stub) behind fl_testport, for unit
 * tests of the flasher's logic on a virtual clock. It is deliberately small
 * and written from esp-protocol.md; the real simulator is tests/espsim.
 */
#ifndef ESPPROV_TESTS_FL_MINIROM_H
#define ESPPROV_TESTS_FL_MINIROM_H

#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "fl_testport.h"

#define MINIROM_FLASH (1u << 20)

struct minirom {
    struct fl_testport *tp;
    enum fl_chip chip;
    int status_len; /* ROM status length (2 or 4) */
    uint32_t magic;
    int sec_chip_id; /* -1: GET_SECURITY_INFO unsupported */
    uint32_t jedec;
    uint8_t flash[MINIROM_FLASH];
    bool stub;
    bool dead;              /* left the loader: answers nothing */
    int drop_syncs;         /* ignore this many SYNCs */
    const char *boot_text;  /* emitted on every reset (EN released) */
    int corrupt_data_once;  /* answer the Nth data block with a checksum error */
    int stub_fail_block;    /* stub: report a write error after this block (deferred) */
    bool stub_fail_persist; /* ... and on every block after it */
    int delay_per_kib_ms;   /* reply delay for data blocks per KiB written */
    int reply_delay_ms;
    /* write state */
    uint32_t w_addr, w_bs, w_written;
    bool w_defl, w_active;
    z_stream zs;
    /* stub READ_FLASH state */
    uint32_t r_addr, r_len, r_sent;
    bool r_active;
    /* what was received */
    uint8_t ops[8192];
    size_t nops;
    uint32_t data_blocks;
    uint32_t regs_addr[64], regs_val[64];
    size_t nregs;
    uint32_t w0;
    bool prev_en_low;
};

/* Attaches a model of `chip`'s ROM to tp (flash all 0xFF). */
void minirom_init(struct minirom *m, struct fl_testport *tp, enum fl_chip chip);
void minirom_release(struct minirom *m);
/* How many requests with this opcode arrived. */
size_t minirom_count(const struct minirom *m, uint8_t op);

#endif
