/* A batch: one worker thread per port, results collected as jobs end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision/core/core.h"
#include "provision/jobs/jobs.h"

struct worker {
    struct pv_batch *batch;
    pthread_t thread;
    char port[256];
    bool running;
    struct worker *next;
};

struct pv_batch {
    const struct pv_jobs *jobs;
    void (*done)(void *user, const struct pv_job_result *r);
    void *user;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct worker *workers;
    struct pv_job_result *results;
    size_t count, cap;
    bool stopped;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct pv_batch *b = w->batch;
    struct pv_job_result *r = malloc(sizeof *r);
    if (r != NULL) {
        pv_job_run(b->jobs, w->port, r);
        if (b->done != NULL) {
            b->done(b->user, r);
        }
    }
    pthread_mutex_lock(&b->lock);
    if (r != NULL && b->count == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct pv_job_result *grown = realloc(b->results, cap * sizeof *grown);
        if (grown != NULL) {
            b->results = grown;
            b->cap = cap;
        }
    }
    if (r != NULL && b->count < b->cap) {
        b->results[b->count++] = *r;
    }
    w->running = false;
    pthread_cond_broadcast(&b->changed);
    pthread_mutex_unlock(&b->lock);
    free(r);
    return NULL;
}

int pv_batch_new(const struct pv_jobs *jobs,
                 void (*done)(void *user, const struct pv_job_result *r), void *user,
                 struct pv_batch **out, struct pv_error *err)
{
    *out = NULL;
    struct pv_batch *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    b->jobs = jobs;
    b->done = done;
    b->user = user;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->changed, NULL);
    *out = b;
    return PV_OK;
}

/* Joins workers that ended (their threads are gone or about to be). */
static void reap(struct pv_batch *b)
{
    for (struct worker **pw = &b->workers; *pw != NULL;) {
        struct worker *w = *pw;
        if (!w->running) {
            pthread_join(w->thread, NULL);
            *pw = w->next;
            free(w);
        } else {
            pw = &w->next;
        }
    }
}

int pv_batch_start(struct pv_batch *b, const char *port, struct pv_error *err)
{
    pthread_mutex_lock(&b->lock);
    int rc = PV_OK;
    if (b->stopped) {
        rc = pv_error_set(err, PV_ERR_CANCELLED, NULL, "%s: not started (stopping)", port);
    }
    reap(b);
    for (struct worker *w = b->workers; rc == PV_OK && w != NULL; w = w->next) {
        if (strcmp(w->port, port) == 0) {
            rc = pv_error_set(err, PV_ERR_EXISTS, NULL, "%s: a job is already running there", port);
        }
    }
    struct worker *w = rc == PV_OK ? calloc(1, sizeof *w) : NULL;
    if (rc == PV_OK && w == NULL) {
        rc = pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    if (rc == PV_OK) {
        w->batch = b;
        w->running = true;
        snprintf(w->port, sizeof w->port, "%s", port);
        if (pthread_create(&w->thread, NULL, work, w) != 0) {
            free(w);
            rc = pv_error_set(err, PV_ERR_NOMEM, "fewer ports at once", "%s: cannot start a thread",
                              port);
        } else {
            w->next = b->workers;
            b->workers = w;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return rc;
}

void pv_batch_stop(struct pv_batch *b)
{
    pthread_mutex_lock(&b->lock);
    b->stopped = true;
    pthread_mutex_unlock(&b->lock);
}

size_t pv_batch_running(struct pv_batch *b)
{
    size_t n = 0;
    pthread_mutex_lock(&b->lock);
    for (struct worker *w = b->workers; w != NULL; w = w->next) {
        n += w->running;
    }
    pthread_mutex_unlock(&b->lock);
    return n;
}

void pv_batch_wait(struct pv_batch *b)
{
    pthread_mutex_lock(&b->lock);
    for (;;) {
        bool busy = false;
        for (struct worker *w = b->workers; w != NULL; w = w->next) {
            busy |= w->running;
        }
        if (!busy) {
            break;
        }
        pthread_cond_wait(&b->changed, &b->lock);
    }
    reap(b);
    pthread_mutex_unlock(&b->lock);
}

const struct pv_job_result *pv_batch_results(struct pv_batch *b, size_t *count)
{
    pthread_mutex_lock(&b->lock);
    const struct pv_job_result *r = b->results;
    *count = b->count;
    pthread_mutex_unlock(&b->lock);
    return r;
}

bool pv_batch_done_ok(struct pv_batch *b, const char *mac)
{
    bool found = false;
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->count && !found; i++) {
        found = b->results[i].ok && strcmp(b->results[i].mac, mac) == 0;
    }
    pthread_mutex_unlock(&b->lock);
    return found;
}

void pv_batch_free(struct pv_batch *b)
{
    if (b == NULL) {
        return;
    }
    pv_batch_wait(b);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->changed);
    free(b->results);
    free(b);
}
