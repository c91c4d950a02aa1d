/*
 * The one walk over a host folder whose files go onto a device (`spiffs
 * build DIR`, a profile's filesystem.dir), so both take and refuse the same
 * things.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "provision/core/core.h"

struct walk {
    unsigned flags;
    int max_depth;
    pv_walk_fn fn;
    void *user;
    struct pv_error *err;
};

static const char *kind_of(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
                         : "a special file";
}

/* Entries in name order, so what a callback sees does not depend on the
 * order the folder happens to list them in. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int walk_dir(struct walk *w, const char *host, const char *name, int depth)
{
    if (depth > w->max_depth) {
        return pv_error_set(w->err, PV_ERR_INVALID, "flatten the folder tree",
                            "'%s' is nested more than %d folders deep", host, w->max_depth);
    }
    struct dirent **list = NULL;
    int n = scandir(host, &list, NULL, by_name);
    if (n < 0) {
        return pv_error_set(w->err, PV_ERR_IO, NULL, "cannot open folder '%s': %s", host,
                            strerror(errno));
    }
    int rc = PV_OK;
    for (int i = 0; i < n; i++) {
        const char *leaf = list[i]->d_name;
        bool skip = strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0 ||
                    (leaf[0] == '.' && (w->flags & PV_WALK_SKIP_HIDDEN));
        if (rc != PV_OK || skip) {
            continue;
        }
        char *path = NULL, *rel = NULL;
        if (asprintf(&path, "%s/%s", host, leaf) < 0) {
            path = NULL;
        }
        if (asprintf(&rel, "%s/%s", name, leaf) < 0) {
            rel = NULL;
        }
        struct stat lst, st;
        if (path == NULL || rel == NULL) {
            rc = pv_error_set(w->err, PV_ERR_NOMEM, NULL, "out of memory");
        } else if (lstat(path, &lst) != 0) {
            rc = pv_error_set(w->err, PV_ERR_IO, NULL, "cannot read '%s': %s", path,
                              strerror(errno));
        } else if (S_ISLNK(lst.st_mode) && stat(path, &st) != 0) {
            rc = pv_error_set(w->err, PV_ERR_INVALID, "remove the link or fix its target",
                              "'%s' is a symlink that leads nowhere: %s", path, strerror(errno));
        } else if (!S_ISLNK(lst.st_mode) && S_ISDIR(lst.st_mode)) {
            rc = walk_dir(w, path, rel, depth + 1);
        } else if (S_ISLNK(lst.st_mode) && S_ISDIR(st.st_mode)) {
            rc = pv_error_set(w->err, PV_ERR_INVALID,
                              "copy the folder in, or give it as its own input",
                              "'%s' is a symlink to a folder; espprov does not follow those "
                              "(they can loop)",
                              path);
        } else if (S_ISREG(S_ISLNK(lst.st_mode) ? st.st_mode : lst.st_mode)) {
            rc = w->fn(w->user, path, rel, w->err);
        } else {
            mode_t m = S_ISLNK(lst.st_mode) ? st.st_mode : lst.st_mode;
            rc = pv_error_set(w->err, PV_ERR_INVALID, "remove it from the folder",
                              "'%s' is %s%s, not a file that can go on the device", path,
                              S_ISLNK(lst.st_mode) ? "a symlink to " : "", kind_of(m));
        }
        free(path);
        free(rel);
    }
    for (int i = 0; i < n; i++) {
        free(list[i]);
    }
    free(list);
    return rc;
}

int pv_dir_walk(const char *root, unsigned flags, int max_depth, pv_walk_fn fn, void *user,
                struct pv_error *err)
{
    struct walk w = {flags, max_depth, fn, user, err};
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/') {
        len--;
    }
    char *trimmed = strndup(root, len);
    if (trimmed == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = walk_dir(&w, trimmed, "", 0);
    free(trimmed);
    return rc;
}
