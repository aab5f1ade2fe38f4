/*
 * folder.c - the journal folder's thread (folder.h).
 */
#include "folder.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/journal.h"
#include "chiso/redisx.h"

/* Units waiting at most: past that a request is dropped (its unit asks
 * again at its next append). */
#define QUEUE_MAX 256
/* Units folded per call of chiso_journal_fold (one pipeline). */
#define FOLD_AT_ONCE 16
/* Wait after Redis failed before trying again. */
#define RETRY_MS 1000

struct cl_folder {
    const chiso_config *cfg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    char *queue[QUEUE_MAX]; /* units asked for, oldest first */
    int n;
    bool stop;
    chiso_counter *folded, *dropped;
};

/* Wait until there is work or a stop (ms < 0), or for `ms` unless stopped
 * first (the pause after a Redis failure). Called and returns with the
 * lock held. */
static void wait_locked(cl_folder *f, int ms)
{
    if (ms < 0) {
        while (f->n == 0 && !f->stop)
            pthread_cond_wait(&f->wake, &f->lock);
        return;
    }
    struct timespec until = chiso_deadline(CLOCK_REALTIME, ms);
    while (!f->stop && pthread_cond_timedwait(&f->wake, &f->lock, &until) == 0)
        ;
}

static void *run(void *arg)
{
    cl_folder *f = arg;
    chiso_redis *rc = NULL;
    const char *prefix = chiso_config_str(f->cfg, "redis.prefix");
    char errstr[256];

    pthread_mutex_lock(&f->lock);
    for (;;) {
        wait_locked(f, -1);
        if (f->stop)
            break;
        char *units[FOLD_AT_ONCE];
        int n = f->n < FOLD_AT_ONCE ? f->n : FOLD_AT_ONCE;
        memcpy(units, f->queue, (size_t)n * sizeof(*units));
        memmove(f->queue, f->queue + n, (size_t)(f->n - n) * sizeof(*f->queue));
        f->n -= n;
        pthread_mutex_unlock(&f->lock);

        int r = CHISO_EIO;
        if (!rc && !(rc = chiso_redis_open(f->cfg, errstr, sizeof(errstr))))
            LOG_WARN("journal folder: %s", errstr);
        else if ((r = chiso_journal_fold(rc, prefix, (const char *const *)units, (size_t)n, errstr,
                                         sizeof(errstr))) != 0)
            LOG_WARN("folding journals: %s", errstr);
        if (r == CHISO_EIO && rc) {
            chiso_redis_close(rc);
            rc = NULL;
        }
        for (int i = 0; i < n; i++)
            free(units[i]);

        chiso_counter_add(r == 0 ? f->folded : f->dropped, (uint64_t)n);
        pthread_mutex_lock(&f->lock);
        if (r == CHISO_EIO && !rc)
            wait_locked(f, RETRY_MS); /* Redis away: do not spin */
    }
    pthread_mutex_unlock(&f->lock);
    if (rc)
        chiso_redis_close(rc);
    return NULL;
}

cl_folder *cl_folder_new(const chiso_config *cfg, chiso_counter *folded, chiso_counter *dropped)
{
    cl_folder *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->cfg = cfg;
    f->folded = folded;
    f->dropped = dropped;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    if (pthread_create(&f->thread, NULL, run, f) != 0) {
        pthread_cond_destroy(&f->wake);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return NULL;
    }
    return f;
}

void cl_folder_ask(cl_folder *f, const char *unit)
{
    pthread_mutex_lock(&f->lock);
    bool queued = false;
    for (int i = 0; i < f->n && !queued; i++)
        queued = strcmp(f->queue[i], unit) == 0;
    if (!queued) {
        char *copy = f->n < QUEUE_MAX ? strdup(unit) : NULL;
        if (copy) {
            f->queue[f->n++] = copy;
            pthread_cond_signal(&f->wake);
        } else {
            chiso_counter_add(f->dropped, 1);
        }
    }
    pthread_mutex_unlock(&f->lock);
}

void cl_folder_destroy(cl_folder *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    for (int i = 0; i < f->n; i++)
        free(f->queue[i]);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
