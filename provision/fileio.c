/* Whole-file reads and crash-safe writes (temp file, fsync, rename). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "provision/provision.h"

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

int pv_file_write(const char *path, const void *data, size_t len, unsigned mode, unsigned flags,
                  struct pv_error *err)
{
    static const char hint[] = "check that the folder exists and is writable";
    char *copy = strdup(path);
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (copy == NULL || tmp == NULL) {
        free(copy);
        free(tmp);
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory writing '%s'", path);
    }
    /* The temporary name starts with a dot so a crash leaves nothing that
     * looks like the real file (and nothing a glob for *.pem picks up). */
    const char *base = strrchr(path, '/');
    int dirlen = base ? (int)(base - path + 1) : 0;
    snprintf(tmp, tlen, "%.*s.%s.tmp.XXXXXX", dirlen, path, base ? base + 1 : path);
    free(copy);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return pv_error_set(err, PV_ERR_IO, hint, "cannot write '%s': %s", path, strerror(e));
    }
    int rc = PV_OK;
    if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = pv_error_set(err, PV_ERR_IO, hint, "cannot write '%s': %s", path, strerror(errno));
    }
    if (close(fd) != 0 && rc == PV_OK) {
        rc = pv_error_set(err, PV_ERR_IO, hint, "cannot write '%s': %s", path, strerror(errno));
    }
    if (rc == PV_OK && (flags & PV_WRITE_EXCL)) {
        /* link() fails if the name exists: no window between a check and
         * the write in which another process could create it. */
        if (link(tmp, path) != 0) {
            int e = errno;
            if (e == EEXIST) {
                rc = pv_error_set(err, PV_ERR_EXISTS, "move it away first, or choose another path",
                                  "refusing to overwrite '%s'", path);
            } else {
                rc = pv_error_set(err, PV_ERR_IO, hint, "cannot write '%s': %s", path, strerror(e));
            }
        }
        unlink(tmp);
    } else if (rc == PV_OK) {
        if (rename(tmp, path) != 0) {
            rc = pv_error_set(err, PV_ERR_IO, hint, "cannot write '%s': %s", path, strerror(errno));
            unlink(tmp);
        }
    } else {
        unlink(tmp);
    }
    if (rc == PV_OK) {
        sync_dir(path);
    }
    free(tmp);
    return rc;
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
