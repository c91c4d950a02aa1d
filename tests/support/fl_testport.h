/*
 * An in-memory fl_port for unit tests: scripted input on a virtual clock,
 * everything written is recorded, and an optional responder reacts to each
 * write (e.g. a tiny ROM that answers requests). No threads, no real time:
 * a read that would wait advances the clock instead.
 */
#ifndef ESPPROV_TESTS_FL_TESTPORT_H
#define ESPPROV_TESTS_FL_TESTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flasher/flasher.h"

struct fl_testport;
typedef void (*fl_testport_responder)(struct fl_testport *tp, const uint8_t *data, size_t len,
                                      void *user);

struct fl_testport_chunk {
    uint8_t *data;
    size_t len, pos;
    int64_t at; /* virtual ms when it becomes readable */
};

struct fl_testport {
    struct fl_port base;
    int64_t now;
    struct fl_testport_chunk *chunks;
    size_t nchunks, cap;
    size_t max_read; /* bytes per read call (0: unlimited): splits frames */
    uint8_t *tx;     /* everything written */
    size_t tx_len, tx_cap;
    size_t writes;
    bool lines; /* set_lines works */
    int line_changes;
    bool dtr, rts;
    uint32_t bauds[16];
    size_t nbauds;
    fl_testport_responder responder;
    /* A board that never stops talking: with no scripted input due, every
     * read (even one that may not wait) returns these bytes and advances the
     * clock by babble_every_ms, until the clock passes babble_until (a safety
     * stop, so code that ignores its deadline fails an elapsed-time check
     * instead of spinning forever). */
    const uint8_t *babble;
    size_t babble_len;
    int babble_every_ms;
    int64_t babble_until;
    /* Called after every DTR/RTS change (a board model can reset). */
    void (*on_lines)(struct fl_testport *tp, bool dtr, bool rts, void *user);
    void *user;
};

/* A new port at 115200 with modem lines. Free with fl_port_close. */
struct fl_testport *fl_testport_new(void);
/* Bytes that become readable `delay_ms` after the current virtual time. */
void fl_testport_push(struct fl_testport *tp, const uint8_t *data, size_t len, int delay_ms);
/* The same, SLIP-framed. */
void fl_testport_push_frame(struct fl_testport *tp, const uint8_t *body, size_t len, int delay_ms);
/* A response frame: op, value, payload, then `status_len` status bytes
 * (status0, status1, zeros). */
void fl_testport_push_reply(struct fl_testport *tp, uint8_t op, uint32_t value,
                            const uint8_t *payload, size_t len, int status_len, uint8_t status0,
                            uint8_t status1, int delay_ms);
/* Unread scripted bytes left. */
size_t fl_testport_pending(const struct fl_testport *tp);

#endif
