/* Stub READ_FLASH (0xD2, §7.4): data frames, one in flight, cumulative
 * 4-byte ACKs from the host, then the MD5 of everything sent. */
#include "sim.h"

#include <openssl/evp.h>
#include <string.h>

void sim_readop_clear(struct sim_readop *ro)
{
    if (ro->md5 != NULL) {
        EVP_MD_CTX_free(ro->md5);
    }
    memset(ro, 0, sizeof *ro);
}

static void finish(struct sim *s)
{
    struct sim_readop *ro = &s->ld.ro;
    uint8_t d[16];
    unsigned int n = sizeof d;
    EVP_DigestFinal_ex(ro->md5, d, &n);
    sim_raw_frame(s, d, sizeof d);
    sim_log(s, "READ_FLASH: %u bytes sent and acknowledged, MD5 sent", ro->len);
    sim_readop_clear(ro);
}

static void next_packet(struct sim *s)
{
    struct sim_readop *ro = &s->ld.ro;
    uint8_t buf[4096];
    uint32_t n = ro->len - ro->sent < ro->packet ? ro->len - ro->sent : ro->packet;
    sim_flash_read(&s->flash, ro->addr + ro->sent, buf, n);
    EVP_DigestUpdate(ro->md5, buf, n);
    sim_spend(s, sim_cost_read(n, true));
    sim_raw_frame(s, buf, n);
    ro->sent += n;
}

void sim_stub_read_start(struct sim *s, uint32_t addr, uint32_t len, uint32_t packet)
{
    struct sim_readop *ro = &s->ld.ro;
    sim_readop_clear(ro);
    ro->md5 = EVP_MD_CTX_new();
    if (ro->md5 == NULL || !EVP_DigestInit_ex(ro->md5, EVP_md5(), NULL)) {
        sim_readop_clear(ro);
        return;
    }
    ro->active = true;
    ro->addr = addr;
    ro->len = len;
    ro->packet = packet;
    if (len == 0) {
        finish(s);
        return;
    }
    next_packet(s);
}

void sim_stub_read_frame(struct sim *s, const uint8_t *buf, size_t len)
{
    struct sim_readop *ro = &s->ld.ro;
    if (len != 4) {
        /* Anything but an ACK ends the transfer, as in the stubs. */
        sim_log(s, "READ_FLASH: %zu-byte frame instead of an ACK: transfer aborted", len);
        sim_readop_clear(ro);
        return;
    }
    ro->acked = sim_le32(buf);
    if (ro->acked < ro->sent) {
        return;
    }
    if (ro->sent < ro->len) {
        next_packet(s);
    } else {
        finish(s);
    }
}
