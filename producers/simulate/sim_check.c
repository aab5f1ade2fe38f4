/*
 * sim_check.c - batched self-check of good records (see sim_check.h).
 *
 * Batches cycle between the main thread (filling `cur`), a work queue and a
 * free list; their number is bounded (2 per thread + 2), so a slow checker
 * holds the main thread back instead of growing memory. All shared state is
 * under one mutex; a batch belongs to exactly one side at a time.
 */
#include "sim_check.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/event.h"

#define BATCH_RECORDS 4096
#define MAX_THREADS   16

typedef struct batch {
    char *buf;
    size_t len, cap;
    size_t *off; /* start of each record; off[n] is the end of the last */
    size_t n;
    struct batch *next;
} batch;

struct sim_check {
    int nthreads;
    pthread_t th[MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_free;
    batch *work_head, *work_tail, *free_list;
    int nbatches, max_batches;
    bool quit;
    bool failed;
    batch *cur;
};

static batch *batch_new(void)
{
    batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->cap = (size_t)BATCH_RECORDS * 512;
    b->buf = malloc(b->cap);
    b->off = malloc((BATCH_RECORDS + 1) * sizeof(size_t));
    if (!b->buf || !b->off) {
        free(b->buf);
        free(b->off);
        free(b);
        return NULL;
    }
    return b;
}

static void batch_free(batch *b)
{
    if (!b)
        return;
    free(b->buf);
    free(b->off);
    free(b);
}

/* Check every record of a batch; logs the first failure. */
static bool check_batch(const batch *b)
{
    char again[4096];
    for (size_t i = 0; i < b->n; i++) {
        const char *p = b->buf + b->off[i];
        size_t len = b->off[i + 1] - b->off[i];
        chiso_event ev;
        chiso_reject rej;
        if (chiso_event_parse(p, len, &ev, &rej) != 0) {
            LOG_ERROR("self-check: a good record was rejected (%s: %s): %.*s",
                      chiso_reject_code(rej.reason), rej.detail, (int)len, p);
            return false;
        }
        int n = chiso_event_to_json(&ev, again, sizeof(again));
        if (n < 0 || (size_t)n != len || memcmp(again, p, len) != 0) {
            LOG_ERROR("self-check: a good record does not round-trip: %.*s", (int)len, p);
            return false;
        }
    }
    return true;
}

static void *worker(void *arg)
{
    sim_check *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->work_head && !c->quit)
            pthread_cond_wait(&c->cv_work, &c->mu);
        if (!c->work_head)
            break; /* quit and nothing left */
        batch *b = c->work_head;
        c->work_head = b->next;
        if (!c->work_head)
            c->work_tail = NULL;
        pthread_mutex_unlock(&c->mu);
        bool ok = check_batch(b);
        b->n = 0;
        b->len = 0;
        pthread_mutex_lock(&c->mu);
        if (!ok)
            c->failed = true;
        b->next = c->free_list;
        c->free_list = b;
        pthread_cond_signal(&c->cv_free);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

sim_check *sim_check_new(int threads)
{
    sim_check *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    c->max_batches = 2 * threads + 2;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv_work, NULL);
    pthread_cond_init(&c->cv_free, NULL);
    c->cur = batch_new();
    if (!c->cur)
        goto err;
    c->nbatches = 1;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&c->th[i], NULL, worker, c) != 0)
            goto err;
        c->nthreads++;
    }
    return c;
err:
    sim_check_finish(c);
    return NULL;
}

/* Hand `cur` to the workers (or check it inline) and get an empty batch. */
static int submit(sim_check *c)
{
    if (c->nthreads == 0) {
        if (!check_batch(c->cur))
            c->failed = true;
        c->cur->n = 0;
        c->cur->len = 0;
        return c->failed ? -1 : 0;
    }
    pthread_mutex_lock(&c->mu);
    c->cur->next = NULL;
    if (c->work_tail)
        c->work_tail->next = c->cur;
    else
        c->work_head = c->cur;
    c->work_tail = c->cur;
    c->cur = NULL;
    pthread_cond_signal(&c->cv_work);
    if (!c->free_list && c->nbatches < c->max_batches) {
        pthread_mutex_unlock(&c->mu);
        batch *b = batch_new();
        pthread_mutex_lock(&c->mu);
        if (b) {
            c->nbatches++;
            b->next = c->free_list;
            c->free_list = b;
        }
    }
    while (!c->free_list)
        pthread_cond_wait(&c->cv_free, &c->mu);
    c->cur = c->free_list;
    c->free_list = c->cur->next;
    bool failed = c->failed;
    pthread_mutex_unlock(&c->mu);
    return failed ? -1 : 0;
}

int sim_check_add(sim_check *c, const char *json, size_t len)
{
    batch *b = c->cur;
    if (b->len + len > b->cap) {
        size_t cap = b->cap * 2 > b->len + len ? b->cap * 2 : b->len + len;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            LOG_ERROR("self-check: out of memory");
            return -1;
        }
        b->buf = nb;
        b->cap = cap;
    }
    b->off[b->n++] = b->len;
    memcpy(b->buf + b->len, json, len);
    b->len += len;
    b->off[b->n] = b->len;
    if (b->n == BATCH_RECORDS)
        return submit(c);
    return 0;
}

int sim_check_finish(sim_check *c)
{
    if (!c)
        return 0;
    if (c->cur && c->cur->n)
        (void)submit(c); /* a failure is in c->failed */
    pthread_mutex_lock(&c->mu);
    c->quit = true;
    pthread_cond_broadcast(&c->cv_work);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->nthreads; i++)
        pthread_join(c->th[i], NULL);
    bool failed = c->failed;
    batch_free(c->cur);
    while (c->free_list) {
        batch *b = c->free_list;
        c->free_list = b->next;
        batch_free(b);
    }
    while (c->work_head) { /* only when no thread ever started */
        batch *b = c->work_head;
        c->work_head = b->next;
        batch_free(b);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv_work);
    pthread_cond_destroy(&c->cv_free);
    free(c);
    return failed ? -1 : 0;
}
