/*
 * The time model. Flash figures are the typical values of a Winbond
 * W25Q32FV (the 4 MB part on most ESP dev boards), AC characteristics table
 * of its datasheet: sector (4 KiB) erase tSE 45 ms, 64 KiB block erase tBE2
 * 150 ms, chip erase tCE 10 s (scaled with size), page program tPP 0.7 ms.
 * Read/MD5 throughput is an estimate (see README.md), not a datasheet figure.
 */
#include "sim.h"

#include <time.h>

int64_t sim_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t sim_byte_ns(uint32_t baud)
{
    if (baud == 0) {
        return 0;
    }
    return 10LL * 1000000000LL / baud;
}

int64_t sim_cost_erase_sector(void)
{
    return 45 * SIM_MS;
}

int64_t sim_cost_erase_block(void)
{
    return 150 * SIM_MS;
}

int64_t sim_cost_erase_chip(uint32_t flash_size)
{
    /* 10 s for 4 MiB, proportional (W25Q64: 20 s, W25Q128: 40 s typical). */
    return (int64_t)flash_size / (4 * 1024 * 1024 / 64) * (10000 * SIM_MS / 64);
}

int64_t sim_cost_program(uint32_t len)
{
    int64_t pages = (len + SIM_PAGE - 1) / SIM_PAGE;
    return pages * 700000LL;
}

int64_t sim_cost_read(uint32_t len, bool stub)
{
    /* ROM code runs from the crystal clock: ~2 MB/s; stubs ~8 MB/s. */
    int64_t bytes_per_s = stub ? 8000000 : 2000000;
    return (int64_t)len * 1000000000LL / bytes_per_s;
}

void sim_spend(struct sim *s, int64_t ns)
{
    if (s->opt.pace && ns > 0) {
        s->t += ns;
    }
}

void sim_spend_always(struct sim *s, int64_t ns)
{
    if (ns > 0) {
        s->t += ns;
    }
}
