/* Whole-file reads and crash-safe writes (temp file, fsync, rename). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "provision/core/core.h"

void pv_secret_free(void *buf, size_t len)
{
    if (buf != NULL) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
}

void pv_secret_free_str(char *s)
{
    if (s != NULL) {
        pv_secret_free(s, strlen(s));
    }
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL) {
        return;
    }
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

static int fail_io(struct pv_error *err, const char *path, int e)
{
    int code = e == EEXIST ? PV_ERR_EXISTS : PV_ERR_IO;
    if (code == PV_ERR_EXISTS) {
        return pv_error_set(err, code, "move it away first, or choose another path",
                            "refusing to overwrite '%s'", path);
    }
    return pv_error_set(err, code, "check that the folder exists and is writable",
                        "cannot write '%s': %s", path, strerror(e));
}

static int fill(int fd, const void *data, size_t len, unsigned mode)
{
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        return errno ? errno : EIO;
    }
    return 0;
}

/* "<dir>/.<base>.tmp.XXXXXX" for mkstemp. */
static char *temp_name(const char *path)
{
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (tmp != NULL) {
        const char *base = strrchr(path, '/');
        int dirlen = base ? (int)(base - path + 1) : 0;
        snprintf(tmp, tlen, "%.*s.%s.tmp.XXXXXX", dirlen, path, base ? base + 1 : path);
    }
    return tmp;
}

/*
 * Preferred: an unnamed O_TMPFILE in the target folder, given its name only
 * once complete. A process killed at any point leaves either nothing or the
 * whole file. Returns 0, an errno, or -1 when the filesystem has no
 * O_TMPFILE (the caller falls back to a named temporary file).
 */
static int write_unnamed(const char *path, const void *data, size_t len, unsigned mode,
                         unsigned flags)
{
#ifdef O_TMPFILE
    char *dir = strdup(path);
    if (dir == NULL) {
        return ENOMEM;
    }
    char *slash = strrchr(dir, '/');
    const char *folder = slash == NULL ? "." : (slash == dir ? "/" : (*slash = '\0', dir));
    int fd = open(folder, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    int e = fd < 0 ? errno : 0;
    free(dir);
    if (fd < 0) {
        return (e == EOPNOTSUPP || e == EISDIR || e == EINVAL) ? -1 : e;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    e = fill(fd, data, len, mode);
    if (e == 0 && (flags & PV_WRITE_EXCL)) {
        /* linkat() fails if the name exists: no window between a check and
         * the write in which another process could create it. */
        e = linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
    } else if (e == 0) {
        char *tmp = temp_name(path);
        e = tmp == NULL ? ENOMEM : 0;
        for (int tries = 0; e == 0 && tries < 8; tries++) {
            /* A complete file under a temporary name, then renamed over. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            unsigned salt = (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 8) ^ (unsigned)tries;
            snprintf(tmp + strlen(tmp) - 6, 7, "%06x", salt & 0xffffffu);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) {
                e = rename(tmp, path) == 0 ? 0 : errno;
                if (e != 0) {
                    unlink(tmp);
                }
                break;
            }
            e = errno == EEXIST ? 0 : errno;
        }
        free(tmp);
    }
    close(fd);
    return e;
#else
    (void)path;
    (void)data;
    (void)len;
    (void)mode;
    (void)flags;
    return -1;
#endif
}

static int write_named(const char *path, const void *data, size_t len, unsigned mode,
                       unsigned flags)
{
    char *tmp = temp_name(path);
    if (tmp == NULL) {
        return ENOMEM;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return e;
    }
    int e = fill(fd, data, len, mode);
    if (close(fd) != 0 && e == 0) {
        e = errno;
    }
    if (e == 0 && (flags & PV_WRITE_EXCL)) {
        e = link(tmp, path) == 0 ? 0 : errno;
        unlink(tmp);
    } else if (e == 0) {
        e = rename(tmp, path) == 0 ? 0 : errno;
    }
    if (e != 0) {
        unlink(tmp);
    }
    free(tmp);
    return e;
}

int pv_file_write(const char *path, const void *data, size_t len, unsigned mode, unsigned flags,
                  struct pv_error *err)
{
    int e = write_unnamed(path, data, len, mode, flags);
    if (e < 0) {
        e = write_named(path, data, len, mode, flags);
    }
    if (e != 0) {
        return fail_io(err, path, e);
    }
    sync_dir(path);
    return PV_OK;
}

int pv_file_stage(const char *path, const void *data, size_t len, unsigned mode,
                  struct pv_staged *out, struct pv_error *err)
{
    memset(out, 0, sizeof *out);
    char *tmp = temp_name(path);
    char *final = strdup(path);
    if (tmp == NULL || final == NULL) {
        free(tmp);
        free(final);
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int fd = mkstemp(tmp);
    int e = fd < 0 ? errno : fill(fd, data, len, mode);
    if (fd >= 0 && close(fd) != 0 && e == 0) {
        e = errno;
    }
    if (e != 0) {
        if (fd >= 0) {
            unlink(tmp);
        }
        free(tmp);
        free(final);
        return fail_io(err, path, e);
    }
    out->tmp = tmp;
    out->path = final;
    return PV_OK;
}

int pv_file_commit(struct pv_staged *s, unsigned flags, struct pv_error *err)
{
    int e;
    if (flags & PV_WRITE_EXCL) {
        /* link() fails if the name exists: no check-then-write window. */
        e = link(s->tmp, s->path) == 0 ? 0 : errno;
        if (e == 0) {
            unlink(s->tmp);
        }
    } else {
        e = rename(s->tmp, s->path) == 0 ? 0 : errno;
    }
    if (e != 0) {
        return fail_io(err, s->path, e);
    }
    sync_dir(s->path);
    free(s->tmp);
    s->tmp = NULL;
    return PV_OK;
}

void pv_file_discard(struct pv_staged *s)
{
    if (s->tmp != NULL) {
        unlink(s->tmp);
    }
    free(s->tmp);
    free(s->path);
    memset(s, 0, sizeof *s);
}

int pv_file_read(const char *path, size_t max, uint8_t **data, size_t *len, struct pv_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return pv_error_set(err, errno == ENOENT ? PV_ERR_NOT_FOUND : PV_ERR_IO, NULL,
                            "cannot read '%s': %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return pv_error_set(err, PV_ERR_INVALID, NULL, "cannot read '%s': not a regular file",
                            path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "'%s' is too large (%lld bytes, at most %zu)", path,
                            (long long)st.st_size, max);
    }
    size_t cap = (size_t)st.st_size;
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory reading '%s'", path);
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n < 0 ? errno : 0;
            close(fd);
            pv_secret_free(buf, cap + 1);
            return pv_error_set(err, PV_ERR_IO, NULL, "cannot read '%s': %s", path,
                                e ? strerror(e) : "file shrank while reading");
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return PV_OK;
}
