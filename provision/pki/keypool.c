/*
 * Background key generation. An RSA-2048 key costs ~0.2 s of prime search;
 * threads fill a bounded stack of ready keys while the batch does other work
 * (flashing), and minting takes one without waiting.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "provision/pki/pki_priv.h"

struct pv_keypool {
    enum pv_key_type type;
    pthread_mutex_t lock;
    pthread_cond_t ready; /* a key was added */
    pthread_cond_t space; /* a key was taken, or stop */
    EVP_PKEY **keys;
    size_t capacity, count;
    pthread_t *threads;
    unsigned nthreads;
    bool stop;
};

static void *worker(void *arg)
{
    struct pv_keypool *pool = arg;
    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (!pool->stop && pool->count >= pool->capacity) {
            pthread_cond_wait(&pool->space, &pool->lock);
        }
        bool stop = pool->stop;
        pthread_mutex_unlock(&pool->lock);
        if (stop) {
            break;
        }
        struct pv_error err;
        EVP_PKEY *k = pv_keygen(pool->type, &err);
        if (k == NULL) {
            /* Minting falls back to generating its own key and reports the
             * real error there; a pool thread has nobody to tell. */
            ERR_clear_error();
            break;
        }
        pthread_mutex_lock(&pool->lock);
        if (pool->count < pool->capacity && !pool->stop) {
            pool->keys[pool->count++] = k;
            k = NULL;
            pthread_cond_broadcast(&pool->ready);
        }
        pthread_mutex_unlock(&pool->lock);
        EVP_PKEY_free(k);
    }
    ERR_clear_error();
    return NULL;
}

int pv_keypool_new(enum pv_key_type type, unsigned threads, size_t capacity,
                   struct pv_keypool **out, struct pv_error *err)
{
    *out = NULL;
    if (threads == 0 || threads > 64 || capacity == 0 || capacity > 4096) {
        return pv_error_set(err, PV_ERR_INVALID, NULL,
                            "a key pool needs 1-64 threads and room for 1-4096 keys");
    }
    struct pv_keypool *pool = calloc(1, sizeof *pool);
    if (pool == NULL || (pool->keys = calloc(capacity, sizeof *pool->keys)) == NULL ||
        (pool->threads = calloc(threads, sizeof *pool->threads)) == NULL) {
        if (pool != NULL) {
            free(pool->keys);
        }
        free(pool);
        return pv_error_set(err, PV_ERR_NOMEM, NULL, "out of memory");
    }
    pool->type = type;
    pool->capacity = capacity;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->ready, NULL);
    pthread_cond_init(&pool->space, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker, pool) != 0) {
            pv_keypool_free(pool);
            return pv_error_set(err, PV_ERR_NOMEM, NULL, "cannot start key generation threads");
        }
        pool->nthreads++;
    }
    *out = pool;
    return PV_OK;
}

void pv_keypool_free(struct pv_keypool *pool)
{
    if (pool == NULL) {
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->stop = true;
    pthread_cond_broadcast(&pool->space);
    pthread_cond_broadcast(&pool->ready);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++) {
        pthread_join(pool->threads[i], NULL);
    }
    for (size_t i = 0; i < pool->count; i++) {
        EVP_PKEY_free(pool->keys[i]);
    }
    pthread_cond_destroy(&pool->ready);
    pthread_cond_destroy(&pool->space);
    pthread_mutex_destroy(&pool->lock);
    free(pool->keys);
    free(pool->threads);
    free(pool);
}

EVP_PKEY *pv_keypool_take(struct pv_keypool *pool, enum pv_key_type type)
{
    if (pool == NULL || pool->type != type) {
        return NULL;
    }
    pthread_mutex_lock(&pool->lock);
    EVP_PKEY *k = pool->count > 0 ? pool->keys[--pool->count] : NULL;
    pthread_cond_signal(&pool->space);
    pthread_mutex_unlock(&pool->lock);
    return k;
}

void pv_keypool_wait(struct pv_keypool *pool, size_t n)
{
    pthread_mutex_lock(&pool->lock);
    if (n > pool->capacity) {
        n = pool->capacity;
    }
    while (!pool->stop && pool->count < n) {
        pthread_cond_wait(&pool->ready, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
}
