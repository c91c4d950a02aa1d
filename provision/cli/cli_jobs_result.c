/* The job commands' result lines (plain or JSON Lines) and the summary. */
#include <stdio.h>
#include <string.h>

#include "provision/cli/cli_jobs.h"
#include "provision/cli/cli_pki.h"

/* What a failure at a step could not do, as the ledger words it. */
static const char *action(enum pv_ledger_step step)
{
    static const char *const names[] = {
        [PV_STEP_STARTED] = "start",   [PV_STEP_CONNECTED] = "connect", [PV_STEP_MINTED] = "mint",
        [PV_STEP_ERASED] = "erase",    [PV_STEP_WRITE] = "write",       [PV_STEP_WRITTEN] = "write",
        [PV_STEP_VERIFIED] = "verify", [PV_STEP_PROVISIONED] = "reset", [PV_STEP_RESET] = "reset",
    };
    return (size_t)step < sizeof names / sizeof names[0] ? names[step] : "?";
}

static const char *outcome(const struct cli_run *run, const struct pv_job_result *r)
{
    if (r->cancelled) {
        return "cancelled";
    }
    if (!r->ok) {
        return "failed";
    }
    return r->dry_run ? "dry-run" : run->done_word;
}

static void json_field(const char *name, const char *value, bool comma)
{
    printf("\"%s\": ", name);
    if (value == NULL || value[0] == '\0') {
        printf("null");
    } else {
        cli_json_string(stdout, value);
    }
    if (comma) {
        printf(", ");
    }
}

static void print_plan_json(const struct pv_job_result *r)
{
    printf(", \"plan\": [");
    for (size_t i = 0; i < r->plan_count; i++) {
        const struct pv_job_region *g = &r->plan[i];
        printf("%s{\"address\": %u, \"size\": %u, \"what\": ", i ? ", " : "", (unsigned)g->addr,
               (unsigned)g->size);
        cli_json_string(stdout, g->what);
        printf(", \"action\": \"%s\", \"why\": ", g->write ? "write" : "skip");
        if (g->why[0]) {
            cli_json_string(stdout, g->why);
        } else {
            printf("null");
        }
        printf(", \"compressed\": ");
        if (g->compressed) {
            printf("%llu}", (unsigned long long)g->compressed);
        } else {
            printf("null}");
        }
    }
    char until[32];
    cli_format_date(r->not_after, until, sizeof until);
    printf("], \"identity\": {\"subject\": ");
    cli_json_string(stdout, r->subject);
    printf(", \"key_type\": ");
    cli_json_string(stdout, r->key_type);
    printf(", \"not_after\": \"%s\", \"issued\": %s}", until, r->dry_run ? "false" : "true");
}

static void print_json(const struct cli_run *run, const struct pv_job_result *r)
{
    printf("{");
    json_field("port", r->port, true);
    json_field("id", r->id, true);
    json_field("mac", r->mac, true);
    json_field("chip", r->chip, true);
    json_field("result", outcome(run, r), true);
    json_field("step", r->ok ? NULL : action(r->failed_step), true);
    json_field("error", r->ok ? NULL : r->error, true);
    json_field("hint", r->ok ? NULL : r->hint, true);
    json_field("note", r->note, true);
    if (r->attempt != 0) {
        printf("\"attempt\": %lld, ", (long long)r->attempt);
    } else {
        printf("\"attempt\": null, ");
    }
    json_field("serial", r->dry_run ? NULL : r->serial, true);
    json_field("sha256", r->dry_run ? NULL : r->sha256, true);
    json_field("reprovision", r->id[0] ? pv_ledger_reprovision_name(r->reprovision) : NULL, true);
    printf("\"verified\": %s, \"revoked\": %u, \"bytes\": %llu, \"seconds\": %.2f, "
           "\"dry_run\": %s",
           r->verified ? "true" : "false", r->revoked, (unsigned long long)r->bytes, r->seconds,
           r->dry_run ? "true" : "false");
    if (r->plan_count > 0 && r->dry_run) {
        print_plan_json(r);
    }
    printf("}\n");
}

static void print_plain(const struct cli_run *run, const struct pv_job_result *r)
{
    char what[900];
    if (!r->ok) {
        snprintf(what, sizeof what, "%s at %s: %s", r->cancelled ? "cancelled" : "failed",
                 action(r->failed_step), r->error);
    } else if (r->dry_run) {
        snprintf(what, sizeof what, "dry run ok, nothing written (%s)", r->note);
    } else {
        const char *how = r->reprovision == PV_REPROVISION_KEEP    ? ", identity kept"
                          : r->reprovision == PV_REPROVISION_RENEW ? ", renewed"
                                                                   : "";
        snprintf(what, sizeof what, "%s%s%s%s", run->done_word, how, r->note[0] ? "; " : "",
                 r->note);
    }
    cli_line(stdout, "%s  %s  %s  %s (%.1f s)", r->port, r->id[0] ? r->id : "-",
             r->mac[0] ? r->mac : "-", what, r->seconds);
}

static void kib(uint64_t n, char *out, size_t cap)
{
    snprintf(out, cap, "%.1f KiB", (double)n / 1024.0);
}

/* A dry run's plan: one line per region, then the identity. */
static void print_plan(const struct pv_job_result *r)
{
    printf("  %-10s  %-10s  %-6s %-14s  %s\n", "address", "size", "action", "on the wire", "what");
    for (size_t i = 0; i < r->plan_count; i++) {
        const struct pv_job_region *g = &r->plan[i];
        char size[32], wire[48];
        kib(g->size, size, sizeof size);
        if (!g->write) {
            snprintf(wire, sizeof wire, "-");
        } else if (g->compressed) {
            kib(g->compressed, wire, sizeof wire);
            snprintf(wire + strlen(wire), sizeof wire - strlen(wire), " zlib");
        } else {
            snprintf(wire, sizeof wire, "%s raw", size);
        }
        printf("  0x%08x  %-10s  %-6s %-14s  %s%s%s%s\n", (unsigned)g->addr, size,
               g->write ? "write" : "skip", wire, g->what, g->why[0] ? " (" : "", g->why,
               g->why[0] ? ")" : "");
    }
    char until[32];
    cli_format_date(r->not_after, until, sizeof until);
    printf("  identity: %s, %s key, valid until %s (a preview: issued only when provisioned)\n",
           r->subject[0] ? r->subject : "?", r->key_type[0] ? r->key_type : "?", until);
}

void cli_run_result(void *user, const struct pv_job_result *r)
{
    struct cli_run *run = user;
    pthread_mutex_lock(&run->lock);
    cli_draw_clear(run);
    if (run->json) {
        print_json(run, r);
    } else {
        print_plain(run, r);
        if (r->dry_run && r->plan_count > 0) {
            print_plan(r);
        }
    }
    fflush(stdout);
    if (!r->ok && r->hint[0] != '\0' && !run->json && run->ctx->verbosity >= 0) {
        cli_line(stderr, "%s: hint: %s", r->port, r->hint);
    }
    run->ok += r->ok;
    if (r->ok) {
        snprintf(run->last_ok, sizeof run->last_ok, "%s", r->port);
    }
    run->failed += !r->ok && !r->cancelled;
    run->cancelled += r->cancelled;
    run->revoked += r->revoked;
    if (run->station && run->ctx->verbosity >= 0) {
        unsigned ended = run->ok + run->failed + run->cancelled;
        fprintf(stderr, "tally: %u %s, %u failed, %u in progress\n", run->ok, run->done_word,
                run->failed + run->cancelled,
                run->station_seen > ended ? run->station_seen - ended : 0);
    }
    cli_draw_slots(run);
    pthread_mutex_unlock(&run->lock);
}

int cli_run_summary(struct cli_run *run)
{
    double secs = (double)(cli_now_ms() - run->start_ms) / 1000.0;
    const char *word = run->dry_run ? "ok" : run->done_word;
    pthread_mutex_lock(&run->lock);
    cli_draw_clear(run);
    if (run->json) {
        printf("{\"summary\": true, \"%s\": %u, \"failed\": %u, \"cancelled\": %u, "
               "\"seconds\": %.2f, \"dry_run\": %s}\n",
               run->dry_run ? "dry_run_ok" : run->done_word, run->ok, run->failed, run->cancelled,
               secs, run->dry_run ? "true" : "false");
    } else {
        printf("%s%u %s, %u failed", run->dry_run ? "dry run: " : "", run->ok, word, run->failed);
        if (run->cancelled) {
            printf(", %u cancelled", run->cancelled);
        }
        printf(" in %.1f s%s\n", secs, run->dry_run ? " (nothing was written)" : "");
    }
    fflush(stdout);
    pthread_mutex_unlock(&run->lock);
    return run->failed || run->cancelled ? CLI_FAILED : CLI_OK;
}
