/* Input gathering, atomic writes and confined extraction for `espprov spiffs`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/cli/cli_spiffs.h"

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

static int walk(const char *dir, const char *prefix, struct cli_spiffs_inputs *in, int depth,
                struct pv_error *err)
{
    if (depth > 64) {
        return pv_error_set(err, PV_ERR_INVALID, NULL, "'%s' is nested too deeply", dir);
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot open folder '%s': %s", dir,
                            strerror(errno));
    }
    int rc = PV_OK;
    struct dirent *e;
    while (rc == PV_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char path[4096], name[4096];
        struct stat lst, st;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
            (size_t)snprintf(name, sizeof name, "%s/%s", prefix, e->d_name) >= sizeof name) {
            rc = pv_error_set(err, PV_ERR_INVALID, NULL, "path too long under '%s'", dir);
        } else if (lstat(path, &lst) != 0 || stat(path, &st) != 0) {
            rc = pv_error_set(err, PV_ERR_IO, NULL, "cannot read '%s': %s", path, strerror(errno));
        } else if (S_ISDIR(lst.st_mode)) {
            rc = walk(path, name, in, depth + 1, err);
        } else if (S_ISREG(st.st_mode)) {
            rc = add_input(in, path, name, err);
        } else if (S_ISLNK(lst.st_mode) && S_ISDIR(st.st_mode)) {
            rc = pv_error_set(err, PV_ERR_INVALID,
                              "give the folder it points to as its own argument",
                              "'%s' is a symlink to a folder; espprov does not follow those", path);
        } else {
            rc = pv_error_set(err, PV_ERR_INVALID, "remove it or list the wanted files",
                              "'%s' is not a regular file (device, FIFO or socket)", path);
        }
    }
    closedir(d);
    return rc;
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
        size_t len = strlen(arg);
        char root[4096];
        snprintf(root, sizeof root, "%.*s", (int)len, arg);
        while (len > 1 && root[len - 1] == '/') {
            root[--len] = '\0';
        }
        return walk(root, "", in, 0, err);
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

/* Writes into a new temporary file next to `leaf` in dirfd and renames it. */
static int write_at(int dirfd, const char *leaf, const char *shown, const uint8_t *data, size_t len,
                    unsigned mode, struct pv_error *err)
{
    char tmp[512];
    int fd = -1;
    for (unsigned i = 0; i < 100 && fd < 0; i++) {
        snprintf(tmp, sizeof tmp, ".%.200s.%ld.%u.tmp", leaf, (long)getpid(), i);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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
    if (e == 0 && (fchmod(fd, mode) != 0 || fsync(fd) != 0)) {
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
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        pv_error_set(err, PV_ERR_IO, NULL, "cannot create folder '%s': %s", dir, strerror(errno));
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        pv_error_set(err, PV_ERR_IO, NULL, "cannot open folder '%s': %s", dir, strerror(errno));
    }
    return fd;
}

static bool safe_component(const char *c, size_t n)
{
    return n > 0 && !(n == 1 && c[0] == '.') && !(n == 2 && c[0] == '.' && c[1] == '.');
}

int cli_spiffs_extract(int dirfd, const char *name, const uint8_t *data, size_t len, bool force,
                       struct pv_error *err)
{
    static const char hint[] = "extract the other files, or rename this one on the device";
    if (name[0] != '/' || name[1] == '\0') {
        return pv_error_set(err, PV_ERR_INVALID, hint,
                            "'%s' does not start with '/' followed by a name; not extracted", name);
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
        if (!safe_component(p, n) || n >= sizeof part) {
            rc = pv_error_set(err, PV_ERR_INVALID, hint,
                              "'%s' has an empty, '.' or '..' component; it would not stay "
                              "in the target folder, so it is not extracted",
                              name);
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
                rc = write_at(cur, part, name + 1, data, len, 0644, err);
            }
            break;
        }
        if (!exists && mkdirat(cur, part, 0755) != 0) {
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
