/* `cert server --owner`: the broker's key readable by the user the broker runs as, and no more. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/cli/cli_pki.h"

int cli_owner_lookup(const char *user, struct cli_owner *out)
{
    memset(out, 0, sizeof *out);
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        return CLI_FAILED;
    }
    snprintf(out->user, sizeof out->user, "%s", user);
    out->gid = (unsigned)pw->pw_gid;
    struct group *gr = getgrgid(pw->pw_gid);
    snprintf(out->group, sizeof out->group, "%s", gr ? gr->gr_name : user);
    return CLI_OK;
}

/* Folders on the way to `file` that others (the broker's user) cannot enter. */
static void note_folders(const char *file, const struct cli_owner *o)
{
    char path[PATH_MAX];
    if (realpath(file, path) == NULL) {
        return;
    }
    for (char *slash = strrchr(path, '/'); slash != NULL && slash != path;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        struct stat st;
        if (stat(path, &st) != 0) {
            return;
        }
        bool group_ok = o != NULL && st.st_gid == o->gid && (st.st_mode & S_IXGRP);
        if (!(st.st_mode & S_IXOTH) && !group_ok) {
            printf("#   chmod o+x %s   # so the broker can reach %s\n", path, file);
        }
    }
}

void cli_owner_note(const struct cli_owner *o, const char *key, const char *const *public_files)
{
    const char *user = o ? o->user : "mosquitto";
    printf("# mosquitto.conf listener (Mosquitto 2.x), e.g. /etc/mosquitto/conf.d/espprov.conf.\n"
           "# Started as root (as Debian's service is), mosquitto switches to user '%s'\n"
           "# before it reads these files.\n",
           user);
    bool done = false;
    if (o != NULL) {
        done = chown(key, (uid_t)-1, (gid_t)o->gid) == 0 && chmod(key, 0640) == 0;
        if (done) {
            printf("# The key is group %s, mode 0640: readable by %s, not by others.\n", o->group,
                   user);
        } else {
            printf("# Could not give the key to group %s (%s); as root run:\n", o->group,
                   strerror(errno));
        }
    } else {
        printf("# Let that user read the key, as root (or use --owner %s):\n", user);
    }
    if (!done) {
        const char *group = o ? o->group : "mosquitto";
        printf("#   chgrp %s %s && chmod 0640 %s\n", group, key, key);
    }
    note_folders(key, o);
    for (size_t i = 0; public_files[i] != NULL; i++) {
        struct stat st;
        if (stat(public_files[i], &st) == 0 && !(st.st_mode & S_IROTH)) {
            printf("#   chmod o+r %s\n", public_files[i]);
        }
        note_folders(public_files[i], o);
    }
}
