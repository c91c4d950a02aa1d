/*
 * Command-layer helpers for the profile, CA, certificate and image commands
 * (cmd_profile.c, cmd_ca.c, cmd_cert.c, cmd_image.c): loading the profile,
 * the CA passphrase prompt, opening the CA. Each prints its own error once.
 */
#ifndef ESPPROV_CLI_PKI_H
#define ESPPROV_CLI_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include "provision/cli/cli.h"
#include "provision/pki/pki.h"
#include "provision/profile/profile.h"

#define CLI_PASSPHRASE_MAX 1024

/*
 * Loads the profile named by -P (`option`, may be NULL) or $ESPPROV_PROFILE.
 * Returns CLI_OK, CLI_USAGE (none named) or CLI_FAILED (error printed).
 */
int cli_load_profile(const char *usage, const char *option, unsigned flags,
                     struct pv_profile **out);

/*
 * The CA passphrase: the profile's ca.passphrase or ca.passphrase_file, else
 * one prompt on the terminal (no echo; `confirm` asks twice, for `ca init`).
 * Without a terminal, fails naming the ways to supply it. Wipe buf after use.
 */
int cli_ca_passphrase(const struct cli_ctx *ctx, const struct pv_profile *p, bool confirm,
                      char *buf, size_t len);

/* A new CA passphrase (`ca passwd`): the first line of `file`, or asked twice
 * on the terminal when file is NULL. Wipe buf after use. */
int cli_new_passphrase(const struct cli_ctx *ctx, const char *file, char *buf, size_t len);

/* Asks for the passphrase if needed and opens the CA; warns when the key's
 * protection is weaker than `ca init` writes today (pv_ca_key_kdf). */
int cli_open_ca(const struct cli_ctx *ctx, const struct pv_profile *p, struct pv_ca **out);

/* "2026-11-23" style UTC date, or "never". */
void cli_format_date(int64_t unix_seconds, char *buf, size_t len);

/* Parses --days: a positive integer or "never". */
bool cli_parse_days(const char *usage, const char *text, int32_t *out);

/*
 * cli_trial_image.c: builds the image a board would get, for `dev` (NULL: a
 * sample device), with a placeholder certificate and key at least as large as
 * real ones, so files that do not fit show before any certificate exists.
 * CLI_OK, or CLI_FAILED with the error printed after "`what`: ".
 */
int cli_trial_image(const struct pv_profile *p, const struct pv_device *dev, const char *what);

/*
 * cli_outputs.c: checks made before minting, so a refusal costs no recorded
 * certificate. Each returns CLI_OK or CLI_FAILED (printed, naming `option`).
 */
/* `dir` is an existing folder this process may create files in. */
int cli_out_folder(const char *option, const char *dir);
/* `file`'s folder is such a folder, and `file` is not a folder itself. */
int cli_out_file(const char *option, const char *file);
/* `path` does not exist: the same refusal the write itself would give. */
int cli_out_absent(const char *path, const char *hint);
/* A certificate was minted but the command failed before handing it out
 * (`cause`): revokes it (superseded) in the CA's record and prints the
 * failure saying so. Returns CLI_FAILED. */
int cli_out_undelivered(const struct pv_profile *p, const struct pv_identity *id,
                        const struct pv_error *cause);

/* `cert revoke` and `cert list` (cli_cert.c), dispatched by cmd_cert. */
int cli_cert_revoke(int argc, char **argv, struct cli_ctx *ctx);
int cli_cert_list(int argc, char **argv, struct cli_ctx *ctx);
/* cli_cert_owner.c: `cert server --owner USER`. */
struct cli_owner {
    char user[64];
    char group[64]; /* the user's primary group */
    unsigned gid;
};
/* CLI_OK when the user exists (nothing printed otherwise). */
int cli_owner_lookup(const char *user, struct cli_owner *out);
/* The listener snippet's comment lines on stdout: gives `key` the owner's
 * group and mode 0640 (with an owner) or prints the exact chgrp/chmod lines
 * for Debian's `mosquitto` user; then a chmod line for every folder on the
 * way to the key and the NULL-terminated `public_files` that others cannot
 * enter, and every public file others cannot read. */
void cli_owner_note(const struct cli_owner *o, const char *key, const char *const *public_files);

/* `cert export` (cli_cert_export.c). */
int cli_cert_export(int argc, char **argv, struct cli_ctx *ctx);

#endif
