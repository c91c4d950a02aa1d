/*
 * Ledger export: CSV (RFC 4180, formula-looking cells defused) and JSON, to a
 * stream or atomically to a file, with every column of an attempt (none of
 * them is secret).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provision/ledger/ledger_priv.h"

enum col_kind { TEXT, INT, STATE };

struct column {
    const char *name;
    enum col_kind kind;
    size_t offset; /* into struct pv_ledger_row */
};

#define TEXT_COL(field)                                                                            \
    {                                                                                              \
#field, TEXT, offsetof(struct pv_ledger_row, field)                                        \
    }
#define INT_COL(field)                                                                             \
    {                                                                                              \
#field, INT, offsetof(struct pv_ledger_row, field)                                         \
    }

/* STATE columns are computed from enums (see computed()). */
static const struct column columns[] = {
    INT_COL(id),
    {"kind", STATE, 0},
    {"state", STATE, 0},
    {"step", STATE, 0},
    {"failed_at", STATE, 0},
    TEXT_COL(error),
    TEXT_COL(profile),
    TEXT_COL(port),
    TEXT_COL(mac),
    TEXT_COL(chip),
    INT_COL(flash_size),
    INT_COL(seq),
    TEXT_COL(device_id),
    {"reprovision", STATE, 0},
    TEXT_COL(cert_serial),
    TEXT_COL(cert_sha256),
    TEXT_COL(cert_not_after),
    TEXT_COL(firmware_sha256),
    TEXT_COL(fs_sha256),
    TEXT_COL(started_at),
    TEXT_COL(updated_at),
    TEXT_COL(ended_at),
    TEXT_COL(revoked_at),
    TEXT_COL(revoke_reason),
    TEXT_COL(owner),
};

#define NCOLUMNS (sizeof columns / sizeof columns[0])

/* The text of a computed column ("" when it does not apply). */
static const char *computed(const struct pv_ledger_row *row, const char *name)
{
    if (strcmp(name, "kind") == 0) {
        return pv_ledger_kind_name(row->kind);
    }
    if (strcmp(name, "state") == 0) {
        return pv_ledger_state_name(row->state);
    }
    if (strcmp(name, "step") == 0) {
        return pv_ledger_step_name(row->step);
    }
    if (strcmp(name, "failed_at") == 0) {
        return row->state == PV_STATE_FAILED ? ledger_action_name(row->failed_step) : "";
    }
    return pv_ledger_reprovision_name(row->reprovision);
}

static const char *text_of(const struct pv_ledger_row *row, const struct column *c)
{
    if (c->kind == STATE) {
        return computed(row, c->name);
    }
    return (const char *)row + c->offset;
}

static int64_t int_of(const struct pv_ledger_row *row, const struct column *c)
{
    if (strcmp(c->name, "flash_size") == 0) {
        return (int64_t)row->flash_size;
    }
    return *(const int64_t *)(const void *)((const char *)row + c->offset);
}

/* ===== CSV ============================================================= */

/*
 * A spreadsheet runs a cell that starts with '=', '+', '-' or '@' (and some
 * with a tab or CR first) as a formula, and device ids, ports and errors
 * come from outside: such a cell gets a leading apostrophe, which spreadsheets
 * show as text (OWASP's advice on CSV injection).
 */
static void csv_field(FILE *out, const char *s)
{
    const char *prefix = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL ? "'" : "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(prefix, out);
        fputs(s, out);
        return;
    }
    fputc('"', out);
    fputs(prefix, out);
    for (; *s; s++) {
        if (*s == '"') {
            fputc('"', out);
        }
        fputc(*s, out);
    }
    fputc('"', out);
}

static int csv_row(const struct pv_ledger_row *row, void *arg)
{
    FILE *out = arg;
    for (size_t i = 0; i < NCOLUMNS; i++) {
        const struct column *c = &columns[i];
        if (i > 0) {
            fputc(',', out);
        }
        if (c->kind == INT) {
            int64_t v = int_of(row, c);
            if (v != 0 || strcmp(c->name, "id") == 0) {
                fprintf(out, "%" PRId64, v);
            }
        } else {
            csv_field(out, text_of(row, c));
        }
    }
    fputs("\r\n", out);
    return ferror(out) ? PV_ERR_IO : PV_OK;
}

/* ===== JSON ============================================================ */

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p, out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p);
        } else {
            fputc(*p, out);
        }
    }
    fputc('"', out);
}

struct json_state {
    FILE *out;
    size_t rows;
};

static int json_row(const struct pv_ledger_row *row, void *arg)
{
    struct json_state *js = arg;
    FILE *out = js->out;
    fputs(js->rows++ ? ",\n  {" : "\n  {", out);
    for (size_t i = 0; i < NCOLUMNS; i++) {
        const struct column *c = &columns[i];
        fprintf(out, "%s\"%s\": ", i ? ", " : "", c->name);
        if (c->kind == INT) {
            int64_t v = int_of(row, c);
            if (v == 0 && strcmp(c->name, "id") != 0) {
                fputs("null", out);
            } else {
                fprintf(out, "%" PRId64, v);
            }
        } else {
            const char *s = text_of(row, c);
            if (s[0] == '\0') {
                fputs("null", out);
            } else {
                json_string(out, s);
            }
        }
    }
    fputc('}', out);
    return ferror(out) ? PV_ERR_IO : PV_OK;
}

/* ===== Entry points ==================================================== */

int pv_ledger_export(struct pv_ledger *lg, const struct pv_ledger_filter *filter,
                     enum pv_ledger_format format, FILE *out, struct pv_error *err)
{
    int rc;
    if (format == PV_LEDGER_CSV) {
        for (size_t i = 0; i < NCOLUMNS; i++) {
            fprintf(out, "%s%s", i ? "," : "", columns[i].name);
        }
        fputs("\r\n", out);
        rc = pv_ledger_foreach(lg, filter, csv_row, out, err);
    } else {
        struct json_state js = {out, 0};
        fputc('[', out);
        rc = pv_ledger_foreach(lg, filter, json_row, &js, err);
        fputs(js.rows ? "\n]\n" : "]\n", out);
    }
    if (rc == PV_ERR_IO || (rc == PV_OK && (fflush(out) != 0 || ferror(out)))) {
        return pv_error_set(err, PV_ERR_IO, NULL, "cannot write the export: %s",
                            strerror(errno ? errno : EIO));
    }
    return rc;
}

int pv_ledger_export_file(struct pv_ledger *lg, const struct pv_ledger_filter *filter,
                          enum pv_ledger_format format, const char *path, struct pv_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    int rc = pv_ledger_export(lg, filter, format, mem, err);
    if (fclose(mem) != 0 && rc == PV_OK) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory rendering the export");
    }
    /* 0600: the ledger names devices and serials, nobody else's business. */
    if (rc == PV_OK) {
        rc = pv_file_write(path, text, len, 0600, 0, err);
    }
    free(text);
    return rc;
}
