/* Input gathering, atomic writes and confined extraction for `espprov spiffs`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/cli/cli_spiffs.h"
#include "provision/image/image.h"

int cli_spiffs_read_file(const char *path, uint64_t max, uint8_t **data, size_t *len,
                         struct pv_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot open '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pv_error_set(err, PV_ERR_INVALID, NULL, "'%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "'%s' is %lld bytes, more than the %llu bytes that can fit", path,
                            (long long)st.st_size, (unsigned long long)max);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL) {
        close(fd);
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory reading '%s'", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n < 0 ? errno : 0;
            free(buf);
            close(fd);
            return pv_error_set(err, PV_ERR_IO, NULL, "cannot read '%s': %s", path,
                                e ? strerror(e) : "it shrank while being read");
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *len = size;
    return PV_OK;
}

static int add_input(struct cli_spiffs_inputs *in, const char *source, const char *name,
                     struct pv_error *err)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 32;
        struct cli_spiffs_input *v = realloc(in->v, cap * sizeof *v);
        if (v == NULL) {
            return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
        }
        in->v = v;
        in->cap = cap;
    }
    if (pv_devname_check(name, err) != PV_OK) {
        return pv_error_prefix(err, "'%s'", source);
    }
    struct cli_spiffs_input *x = &in->v[in->n];
    memset(x, 0, sizeof *x);
    uint64_t room = in->limit > in->total ? in->limit - in->total : 0;
    int rc = cli_spiffs_read_file(source, room, &x->data, &x->size, err);
    if (rc != PV_OK) {
        if (rc == PV_ERR_INVALID && room < in->limit) {
            pv_error_set(err, PV_ERR_INVALID, "use a bigger --size or fewer files",
                         "the files are larger than the %llu-byte image (at '%s')",
                         (unsigned long long)in->limit, source);
        }
        return rc;
    }
    x->name = strdup(name);
    x->source = strdup(source);
    if (x->name == NULL || x->source == NULL) {
        free(x->name);
        free(x->source);
        free(x->data);
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    in->total += x->size;
    in->n++;
    return PV_OK;
}

static int add_walked(void *user, const char *path, const char *name, struct pv_error *err)
{
    return add_input(user, path, name, err);
}

/* "SRC=/name" when SRC is an existing file, else NULL. */
static const char *explicit_name(const char *arg, char *src, size_t src_len)
{
    for (const char *eq = strstr(arg, "=/"); eq != NULL; eq = strstr(eq + 1, "=/")) {
        size_t n = (size_t)(eq - arg);
        struct stat st;
        if (n > 0 && n < src_len) {
            memcpy(src, arg, n);
            src[n] = '\0';
            if (stat(src, &st) == 0 && !S_ISDIR(st.st_mode)) {
                return eq + 1;
            }
        }
    }
    return NULL;
}

int cli_spiffs_collect(const char *arg, struct cli_spiffs_inputs *in, struct pv_error *err)
{
    char src[4096];
    const char *name = explicit_name(arg, src, sizeof src);
    if (name != NULL) {
        return add_input(in, src, name, err);
    }
    struct stat st;
    if (stat(arg, &st) != 0) {
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot read '%s': %s", arg, strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        return pv_dir_walk(arg, 0, 64, add_walked, in, err);
    }
    const char *base = strrchr(arg, '/');
    char dev[4096];
    snprintf(dev, sizeof dev, "/%s", base ? base + 1 : arg);
    return add_input(in, arg, dev, err);
}

void cli_spiffs_inputs_free(struct cli_spiffs_inputs *in)
{
    for (size_t i = 0; i < in->n; i++) {
        free(in->v[i].name);
        free(in->v[i].source);
        free(in->v[i].data);
    }
    free(in->v);
    memset(in, 0, sizeof *in);
}

/*
 * Writes into a new temporary file next to `leaf` in dirfd and renames it.
 * Like cp, a plain file gets 0666 less the umask; a secret is 0600 whatever
 * the umask (fchmod, since the umask could also take the owner's bits).
 */
static int write_at(int dirfd, const char *leaf, const char *shown, const uint8_t *data, size_t len,
                    bool secret, struct pv_error *err)
{
    char tmp[512];
    int fd = -1;
    for (unsigned i = 0; i < 100 && fd < 0; i++) {
        snprintf(tmp, sizeof tmp, ".%.200s.%ld.%u.tmp", leaf, (long)getpid(), i);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    secret ? 0600 : 0666);
        if (fd < 0 && errno != EEXIST) {
            break;
        }
    }
    if (fd < 0) {
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot create a file next to '%s': %s", shown,
                            strerror(errno));
    }
    size_t done = 0;
    int e = 0;
    while (done < len && e == 0) {
        ssize_t n = write(fd, data + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno != EINTR) {
            e = errno;
        }
    }
    if (e == 0 && ((secret && fchmod(fd, 0600) != 0) || fsync(fd) != 0)) {
        e = errno;
    }
    if (close(fd) != 0 && e == 0) {
        e = errno;
    }
    if (e == 0 && renameat(dirfd, tmp, dirfd, leaf) != 0) {
        e = errno;
    }
    if (e != 0) {
        unlinkat(dirfd, tmp, 0);
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot write '%s': %s", shown, strerror(e));
    }
    return PV_OK;
}

int cli_spiffs_open_dir(const char *dir, struct pv_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        pv_error_set(err, PV_ERR_IO, NULL, "cannot create folder '%s': %s", dir, strerror(errno));
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        pv_error_set(err, PV_ERR_IO, NULL, "cannot open folder '%s': %s", dir, strerror(errno));
    }
    return fd;
}

int cli_spiffs_extract(int dirfd, const char *name, const uint8_t *data, size_t len, bool force,
                       struct pv_error *err)
{
    static const char hint[] = "extract the other files, or rename this one on the device";
    if (pv_devname_check(name, err) != PV_OK) {
        snprintf(err->hint, sizeof err->hint, "%s", hint);
        return pv_error_prefix(err, "not extracted");
    }
    const char *p = name + 1;
    int cur = dup(dirfd);
    if (cur < 0) {
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot open the target folder: %s",
                            strerror(errno));
    }
    int rc = PV_OK;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char part[256];
        if (n >= sizeof part) {
            rc = pv_error_set(err, PV_ERR_INVALID, hint,
                              "a part of '%s' is too long; not extracted", name);
            break;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        struct stat st;
        bool exists = fstatat(cur, part, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (slash == NULL) {
            if (exists && (!force || !S_ISREG(st.st_mode))) {
                rc = pv_error_set(err, PV_ERR_EXISTS,
                                  S_ISREG(st.st_mode) ? "use --force to replace it" : NULL,
                                  "'%s' already exists in the target folder%s", name + 1,
                                  S_ISREG(st.st_mode) ? "" : " and is not a regular file");
            } else {
                rc = write_at(cur, part, name + 1, data, len,
                              pv_image_file_is_secret(name, data, len), err);
            }
            break;
        }
        if (!exists && mkdirat(cur, part, 0777) != 0) {
            rc = pv_error_set(err, PV_ERR_IO, NULL, "cannot create folder for '%s': %s", name,
                              strerror(errno));
            break;
        }
        int next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            rc = pv_error_set(err, PV_ERR_INVALID, hint,
                              "'%s': '%s' in the target folder is not a folder (or is a "
                              "symlink); not extracted",
                              name, part);
            break;
        }
        close(cur);
        cur = next;
        p = slash + 1;
    }
    close(cur);
    return rc;
}
