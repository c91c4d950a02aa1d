/*
 * Output checks made before a certificate exists (issue 11): a certificate
 * is recorded the moment it is minted, so a refusal after that would leave a
 * live certificate that no board or broker ever received.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/cli/cli_pki.h"
#include "provision/pki/pki.h"

/* `dir` exists and is not a folder (ENOTDIR: a path running through a file). */
#define NOT_A_FOLDER (-1)

/* 0 when `dir` is a folder this process may create files in, else an errno
 * or NOT_A_FOLDER. */
static int folder_errno(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        return errno;
    }
    if (!S_ISDIR(st.st_mode)) {
        return NOT_A_FOLDER;
    }
    /* Creating a file needs search as well as write permission. */
    return access(dir, W_OK | X_OK) == 0 ? 0 : errno;
}

static int folder_fail(const char *option, const char *arg, const char *dir, int e)
{
    const char *why = e == ENOENT         ? "no such folder"
                      : e == NOT_A_FOLDER ? "not a folder"
                      : e == ENOTDIR      ? "a part of the path is a file, not a folder"
                                          : strerror(e);
    const char *hint = e == ENOENT ? "create the folder first, or give another one"
                                   : "give a folder you can write to";
    if (strcmp(arg, dir) == 0) {
        return cli_fail(hint, "%s '%s': %s; nothing was issued", option, arg, why);
    }
    return cli_fail(hint, "%s '%s': folder '%s': %s; nothing was issued", option, arg, dir, why);
}

int cli_out_folder(const char *option, const char *dir)
{
    int e = folder_errno(dir);
    return e == 0 ? CLI_OK : folder_fail(option, dir, dir, e);
}

int cli_out_file(const char *option, const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir = slash == NULL   ? strdup(".")
                : slash == file ? strdup("/")
                                : strndup(file, (size_t)(slash - file));
    if (dir == NULL) {
        return cli_fail(NULL, "out of memory");
    }
    int e = folder_errno(dir);
    int rc = e == 0 ? CLI_OK : folder_fail(option, file, dir, e);
    struct stat st;
    if (rc == CLI_OK && (slash != NULL && slash[1] == '\0')) {
        rc = cli_fail("name a file in that folder", "%s '%s': a folder, not a file name", option,
                      file);
    } else if (rc == CLI_OK && stat(file, &st) == 0 && !S_ISREG(st.st_mode)) {
        rc = cli_fail("name a file, or move this away", "%s '%s': exists and is not a file", option,
                      file);
    }
    free(dir);
    return rc;
}

int cli_out_absent(const char *path, const char *hint)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return CLI_OK;
    }
    return cli_fail(hint, "refusing to overwrite '%s'", path);
}

int cli_out_undelivered(const struct pv_profile *p, const struct pv_identity *id,
                        const struct pv_error *cause)
{
    size_t n = 0;
    struct pv_error err;
    if (pv_revoke(p, id->serial, NULL, pv_crl_reason("superseded"), &n, &err) == PV_OK) {
        return cli_fail(cause->hint,
                        "%s; certificate %s for '%s' was never delivered: it is revoked "
                        "(superseded) in the CA's record, and the CRL lists it from the next "
                        "'espprov ca crl'",
                        cause->msg, id->serial, id->id);
    }
    return cli_fail("revoke it with 'espprov cert revoke --serial', then run 'espprov ca crl'",
                    "%s; certificate %s for '%s' was never delivered, and revoking it failed: %s",
                    cause->msg, id->serial, id->id, err.msg);
}
