/* The job commands' setup (profile, ledger, CA, stub, key pool) and the batch or station run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/cli/cli_jobs.h"
#include "provision/cli/cli_pki.h"
#include "provision/cli/cli_stubs.h"

static int open_ca(const struct cli_ctx *ctx, struct cli_job_env *env)
{
    const struct pv_profile *p = env->profile;
    char pass[CLI_PASSPHRASE_MAX];
    pass[0] = '\0';
    if (pv_ca_key_is_encrypted(p)) {
        int rc = cli_ca_passphrase(ctx, p, false, pass, sizeof pass);
        if (rc != CLI_OK) {
            return rc;
        }
    }
    struct pv_error err;
    int rc = pv_ca_open(p, pass[0] ? pass : NULL, &env->ca, &err) == PV_OK &&
                     pv_ledger_add_secret(env->ledger, pass, &err) == PV_OK
                 ? CLI_OK
                 : cli_fail_err(&err);
    explicit_bzero(pass, sizeof pass);
    return rc;
}

static int list_usb(struct cli_job_env *env)
{
    struct fl_usb_list list;
    struct fl_error fe;
    if (fl_usb_list(0, &list, &fe) != FL_OK) {
        return cli_fail(fe.hint, "%s", fe.msg);
    }
    env->usb_ports = calloc(list.count ? list.count : 1, sizeof *env->usb_ports);
    for (size_t i = 0; env->usb_ports != NULL && i < list.count; i++) {
        if (list.ports[i].tty[0] != '\0' && list.ports[i].tty_accessible) {
            env->usb_ports[env->usb_count++] = strdup(list.ports[i].tty);
        }
    }
    fl_usb_list_free(&list);
    if (env->usb_count == 0) {
        return cli_fail("plug a board in (see 'espprov ports'), or give --port",
                        "--all-ports: no ESP boards with a usable serial port found over USB");
    }
    return CLI_OK;
}

int cli_jobs_open(const struct cli_ctx *ctx, const struct cli_job_args *a, struct cli_job_env *env)
{
    memset(env, 0, sizeof *env);
    int rc = cli_load_profile(a->usage, a->profile, 0, &env->profile);
    if (rc != CLI_OK) {
        return rc;
    }
    struct pv_error err;
    if (pv_ledger_open(env->profile->ledger, &env->ledger, &err) != PV_OK) {
        return cli_fail_err(&err);
    }
    if (a->need_ca && (rc = open_ca(ctx, env)) != CLI_OK) {
        return rc;
    }
    const char *stub = a->no_stub ? NULL : a->stub ? a->stub : env->profile->flash.stub;
    if (stub != NULL) {
        struct fl_error fe;
        if ((env->stub = calloc(1, sizeof *env->stub)) == NULL) {
            return cli_fail(NULL, "out of memory");
        }
        if (fl_stub_load(stub, env->stub, &fe) != FL_OK) {
            free(env->stub);
            env->stub = NULL;
            return cli_fail(fe.hint, "%s", fe.msg);
        }
    } else if (!a->no_stub) {
        bool found;
        if ((env->stubs = calloc(1, sizeof *env->stubs)) == NULL) {
            return cli_fail(NULL, "out of memory");
        }
        if ((rc = cli_stubs_find(env->stubs, a->stub_family, &found)) != CLI_OK || !found) {
            free(env->stubs);
            env->stubs = NULL;
            if (rc != CLI_OK) {
                return rc;
            }
        }
    }
    return a->all_ports ? list_usb(env) : CLI_OK;
}

int cli_jobs_pool(struct cli_job_env *env, size_t boards)
{
    enum pv_key_type type = env->profile->device.key_type;
    if (type == PV_KEY_EC_P256) {
        return CLI_OK; /* P-256 keys take microseconds */
    }
    struct pv_error err;
    size_t cap = boards < 2 ? 2 : boards > 16 ? 16 : boards;
    if (pv_keypool_new(type, 1, cap, &env->pool, &err) != PV_OK) {
        return cli_fail_err(&err);
    }
    return CLI_OK;
}

void cli_jobs_close(struct cli_job_env *env)
{
    pv_keypool_free(env->pool);
    if (env->stub != NULL) {
        fl_stub_release(env->stub);
        free(env->stub);
    }
    if (env->stubs != NULL) {
        fl_stub_set_release(env->stubs);
        free(env->stubs);
    }
    pv_ca_free(env->ca);
    pv_ledger_close(env->ledger);
    pv_profile_free(env->profile);
    for (size_t i = 0; i < env->usb_count; i++) {
        free(env->usb_ports[i]);
    }
    free(env->usb_ports);
    memset(env, 0, sizeof *env);
}

/* ===== Running ========================================================= */

static void on_station(void *user, enum pv_station_event ev, const char *tty, const char *why)
{
    struct cli_run *run = user;
    switch (ev) {
    case PV_STATION_ARRIVED:
        pthread_mutex_lock(&run->lock);
        run->station_seen++;
        pthread_mutex_unlock(&run->lock);
        cli_run_note(run, "%s: board plugged in, starting", tty);
        break;
    case PV_STATION_SKIPPED:
        cli_run_note(run, "%s: board plugged in, not started: %s", tty, why);
        break;
    case PV_STATION_LEFT:
        if (run->ctx->verbosity > 0) {
            cli_run_note(run, "%s: unplugged", tty);
        }
        break;
    }
}

static void set_batch(struct cli_run *run, struct pv_batch *b)
{
    pthread_mutex_lock(&run->lock);
    run->batch = b;
    pthread_mutex_unlock(&run->lock);
}

static int run_ports(struct cli_run *run, const struct cli_job_args *a, struct cli_job_env *env,
                     struct pv_batch *b)
{
    const char *const *ports = a->all_ports ? (const char *const *)env->usb_ports : a->ports;
    size_t n = a->all_ports ? env->usb_count : a->port_count;
    int status = CLI_OK;
    for (size_t i = 0; i < n && !atomic_load(&run->stop_new); i++) {
        struct pv_error err;
        if (pv_batch_start(b, ports[i], &err) != PV_OK) {
            cli_run_note(run, "%s", err.msg);
            status = CLI_FAILED;
        }
    }
    pv_batch_wait(b);
    return status;
}

static int run_station(struct cli_run *run, struct pv_batch *b)
{
    run->station = true;
    cli_run_note(run, "station: provisioning every board plugged in; Ctrl-C to stop");
    struct fl_usb_watch_opts opts = {.flags = 0, .report_present = true, .tty_wait_ms = 0};
    struct pv_error err;
    int rc = pv_station_run(b, &opts, &run->stop_new, on_station, run, &err);
    pv_batch_stop(b);
    pv_batch_wait(b);
    return rc == PV_OK ? CLI_OK : cli_fail_err(&err);
}

int cli_jobs_execute(struct cli_run *run, const struct cli_job_args *a, struct cli_job_env *env,
                     struct pv_jobs *jobs)
{
    struct pv_batch *b = NULL;
    struct pv_error err;
    if (pv_batch_new(jobs, cli_run_result, run, &b, &err) != PV_OK) {
        return cli_fail_err(&err);
    }
    set_batch(run, b);
    int status = a->watch ? run_station(run, b) : run_ports(run, a, env, b);
    set_batch(run, NULL);
    pv_batch_free(b);
    if (run->revoked > 0 && env->ca != NULL) {
        size_t revoked = 0;
        if (pv_ca_write_crl(env->ca, NULL, &revoked, NULL, &err) != PV_OK) {
            cli_fail_err(&err);
            status = CLI_FAILED;
        } else {
            cli_run_note(run,
                         "CRL rewritten: %zu revoked certificate%s in %s (reload the broker: "
                         "SIGHUP)",
                         revoked, revoked == 1 ? "" : "s", env->profile->ca.crl);
        }
    }
    int summary = cli_run_summary(run);
    return status != CLI_OK ? status : summary;
}

void cli_job_args_init(struct cli_job_args *a, const char *usage)
{
    memset(a, 0, sizeof *a);
    a->usage = usage;
    a->ports = a->port_list;
}

static int add_port(struct cli_job_args *a, const char *port)
{
    for (size_t i = 0; i < a->port_count; i++) {
        if (strcmp(a->port_list[i], port) == 0) {
            return -1; /* the same board twice would fight itself */
        }
    }
    size_t cap = sizeof a->port_list / sizeof a->port_list[0];
    if (a->port_count >= cap) {
        return cli_usage_error(a->usage, "at most %zu ports", cap);
    }
    a->port_list[a->port_count++] = port;
    return -1;
}

bool cli_job_option(struct cli_job_args *a, int c, const char *arg, int *status)
{
    *status = -1;
    switch (c) {
    case 'P':
        a->profile = arg;
        return true;
    case 'p':
        *status = add_port(a, arg);
        return true;
    case CLI_JOB_OPT_BAUD:
        if (!cli_parse_size_opt(a->usage, "--baud", arg, &a->baud)) {
            *status = CLI_USAGE;
        }
        return true;
    case CLI_JOB_OPT_STUB:
        a->stub = arg;
        return true;
    case CLI_JOB_OPT_NO_STUB:
        a->no_stub = true;
        return true;
    case CLI_JOB_OPT_STUB_FAMILY:
        if (!cli_stubs_parse_family(a->usage, arg, &a->stub_family)) {
            *status = CLI_USAGE;
        }
        return true;
    case CLI_JOB_OPT_JSON:
        a->json = true;
        return true;
    case CLI_JOB_OPT_BEFORE: {
        enum fl_before before;
        if (!fl_before_parse(arg, &before)) {
            *status = cli_usage_error(a->usage,
                                      "--before: expected default-reset, usb-reset, no-reset or "
                                      "no-reset-no-sync, got '%s'",
                                      arg);
        }
        a->before = (int)before;
        return true;
    }
    case 'h':
        *status = cli_help(a->usage);
        return true;
    default:
        return false;
    }
}

int cli_job_args_check(const struct cli_job_args *a)
{
    if (a->stub != NULL && a->no_stub) {
        return cli_usage_error(a->usage, "--stub and --no-stub contradict each other");
    }
    if (a->baud != 0 && (a->baud < 9600 || a->baud > 4000000)) {
        return cli_usage_error(a->usage, "--baud: expected 9600-4000000");
    }
    return -1;
}

int cli_jobs_main(const struct cli_ctx *ctx, const struct cli_job_args *a,
                  const struct pv_jobs *spec, const char *done_word, bool key_pool)
{
    char last[8];
    return cli_jobs_main_last(ctx, a, spec, done_word, key_pool, last, sizeof last);
}

int cli_jobs_main_last(const struct cli_ctx *ctx, const struct cli_job_args *a,
                       const struct pv_jobs *spec, const char *done_word, bool key_pool,
                       char *last_ok, size_t cap)
{
    last_ok[0] = '\0';
    struct cli_job_env env;
    struct cli_run run;
    bool run_started = false;
    struct pv_jobs jobs = {0};
    int status = cli_jobs_open(ctx, a, &env);
    if (status == CLI_OK) {
        status = cli_run_start(&run, ctx, a->json, a->dry_run, done_word);
        run_started = status == CLI_OK;
    }
    if (status == CLI_OK && key_pool && !a->dry_run) {
        /* A station never knows how many boards come; 4 keys ahead is plenty. */
        size_t boards = a->watch ? 4 : a->all_ports ? env.usb_count : a->port_count;
        status = cli_jobs_pool(&env, boards);
    }
    if (status == CLI_OK) {
        jobs = *spec;
        jobs.profile = env.profile;
        jobs.ca = env.ca;
        jobs.ledger = env.ledger;
        jobs.pool = env.pool;
        jobs.stub = env.stub;
        jobs.stubs = env.stubs;
        jobs.baud = (uint32_t)a->baud;
        jobs.before = a->before;
        jobs.dry_run = a->dry_run;
        cli_run_hook(&run, &jobs);
        struct pv_error err;
        status = pv_jobs_prepare(&jobs, &err) == PV_OK ? CLI_OK : cli_fail_err(&err);
    }
    if (status == CLI_OK) {
        status = cli_jobs_execute(&run, a, &env, &jobs);
    }
    if (run_started) {
        cli_run_stop(&run);
        snprintf(last_ok, cap, "%s", run.last_ok);
    }
    pv_jobs_release(&jobs);
    cli_jobs_close(&env);
    return cli_finish(status);
}
