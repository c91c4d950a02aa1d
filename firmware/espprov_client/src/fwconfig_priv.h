/*
 * Private to firmware/espprov_client/src: the schema pass of fwc_parse().
 * fwconfig.c walks the contract's tables; fwfield.c reads single values.
 * Errors go through fwp_fail*(), which record the reason for the message
 * "<path>: <reason>" (the path is kept in struct pctx as keys are entered).
 */
#ifndef ESPPROV_FWCONFIG_PRIV_H
#define ESPPROV_FWCONFIG_PRIV_H

#include "fwjson_priv.h"

enum kind {
    K_VERSION,
    K_STR,
    K_U16,
    K_WIFI_PASS,
    K_PATH,
    K_FORMAT,
    K_OBJECT,
    K_TOPICS,
    K_NTP,
};

/* One member of a JSON object in the contract. Tables, not code per key, so
 * the limits read like profiles/README.md's table. On the ESP8266 .rodata
 * lives in RAM: these tables cost about 0.5 KB there. */
struct field {
    const char *name;
    unsigned char kind;
    unsigned char required;
    uint16_t min, max; /* string bytes, integer range or list entries */
    uint16_t off;      /* offset of the destination in struct fwc_config */
    const struct field *sub;
    unsigned char nsub;
};

/* Keys longer than this are shown cut short in messages (and are never valid). */
#define KEY_SHOWN 24

struct pctx {
    struct fwj j;
    struct fwc_config *cfg;
    char path[64]; /* "mqtt.topics.status", "ntp[1]" */
    struct fwj_out path_out;
    char detail[56];
};

enum fwc_err fwp_fail(struct pctx *c, enum fwc_err code, size_t at, const char *why);
/* why = a + n + b, e.g. "too long (max " 32 " bytes)". */
enum fwc_err fwp_fail_n(struct pctx *c, enum fwc_err code, size_t at, const char *a,
                        unsigned long n, const char *b);
/* Path segments: push returns what pop_path needs to undo it. */
size_t fwp_push_key(struct pctx *c, const char *key, size_t len);
size_t fwp_push_index(struct pctx *c, unsigned i);
void fwp_pop_path(struct pctx *c, size_t saved);
/* TYPE error unless the next value starts with open. */
enum fwc_err fwp_need(struct pctx *c, int open, const char *why);
/* A string of min..max bytes into dst (max + 1 bytes of room). */
enum fwc_err fwp_read_str(struct pctx *c, char *dst, size_t min, size_t max);
enum fwc_err fwp_read_wifi_password(struct pctx *c, char *dst);
enum fwc_err fwp_read_version(struct pctx *c);
enum fwc_err fwp_read_u16(struct pctx *c, const struct field *f, uint16_t *dst);
enum fwc_err fwp_read_format(struct pctx *c, enum fwc_tls_format *dst);
/* After a member or element: ',' (more follow) or the closer. */
enum fwc_err fwp_next_or_close(struct pctx *c, char close, int *more);
/* Object member name (up to KEY_SHOWN bytes kept) and its ':'. */
enum fwc_err fwp_read_key(struct pctx *c, char *key, size_t *len, int *nul, size_t *at);

#endif
