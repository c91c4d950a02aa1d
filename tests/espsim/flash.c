/* The flash chip: a file mapped shared, so every change is in the file (and
 * the page cache other processes read) the moment it is made. */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int sim_flash_open(struct sim_flash *f, const char *path, uint32_t size, char *err, size_t n)
{
    f->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        snprintf(err, n, "cannot open flash file '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0 || ftruncate(f->fd, (off_t)size) != 0) {
        snprintf(err, n, "cannot size flash file '%s': %s", path, strerror(errno));
        close(f->fd);
        return -1;
    }
    f->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (f->mem == MAP_FAILED) {
        snprintf(err, n, "cannot map flash file '%s': %s", path, strerror(errno));
        close(f->fd);
        return -1;
    }
    f->size = size;
    /* A new file, or the part a smaller file grew by, is erased flash. */
    if ((uint64_t)st.st_size < size) {
        memset(f->mem + st.st_size, 0xFF, size - (size_t)st.st_size);
    }
    return 0;
}

void sim_flash_close(struct sim_flash *f)
{
    if (f->mem != NULL && f->mem != MAP_FAILED) {
        msync(f->mem, f->size, MS_SYNC);
        munmap(f->mem, f->size);
    }
    if (f->fd >= 0) {
        close(f->fd);
    }
    f->mem = NULL;
    f->fd = -1;
}

uint32_t sim_flash_phys(const struct sim_flash *f, uint32_t addr)
{
    return addr & (f->size - 1);
}

void sim_flash_read(const struct sim_flash *f, uint32_t addr, uint8_t *out, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        out[i] = f->mem[sim_flash_phys(f, addr + i)];
    }
}

bool sim_flash_program(struct sim_flash *f, uint32_t addr, const uint8_t *data, uint32_t len)
{
    bool exact = true;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t *cell = &f->mem[sim_flash_phys(f, addr + i)];
        *cell &= data[i];
        exact = exact && *cell == data[i];
    }
    return exact;
}

void sim_flash_erase_sector(struct sim_flash *f, uint32_t addr)
{
    uint32_t a = sim_flash_phys(f, addr) & ~(SIM_SECTOR - 1);
    memset(f->mem + a, 0xFF, SIM_SECTOR);
}

bool sim_flash_sector_blank(const struct sim_flash *f, uint32_t addr)
{
    const uint8_t *p = f->mem + (sim_flash_phys(f, addr) & ~(SIM_SECTOR - 1));
    for (uint32_t i = 0; i < SIM_SECTOR; i++) {
        if (p[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

void sim_flash_md5(const struct sim_flash *f, uint32_t addr, uint32_t len, uint8_t md5[16])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 16;
    uint8_t buf[4096];
    EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    while (len > 0) {
        uint32_t chunk = len < sizeof buf ? len : (uint32_t)sizeof buf;
        sim_flash_read(f, addr, buf, chunk);
        EVP_DigestUpdate(ctx, buf, chunk);
        addr += chunk;
        len -= chunk;
    }
    EVP_DigestFinal_ex(ctx, md5, &n);
    EVP_MD_CTX_free(ctx);
}

void sim_flash_sync(struct sim_flash *f)
{
    msync(f->mem, f->size, MS_ASYNC);
}
