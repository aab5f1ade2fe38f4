/*
 * today.c - the thread reading today's received dossiers from Redis
 * (today.h).
 */
#include "today.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/journal.h"
#include "chiso/redisx.h"
#include "chiso/vntime.h"

struct wall_today {
    const chiso_config *cfg;
    wall_hub *hub;
    const char *prefix;
    bool event_time;
    int64_t interval_ms;
    chiso_redis *rc;
    bool failing; /* an outage already logged */
    atomic_bool stop;
    pthread_t thread;
    chiso_counter *m_errors;
};

/* The day to count: local day of the wall clock or of the watermark; -1
 * when the watermark is not there yet. Returns 0 or CHISO_EIO. */
static int today_day(wall_today *t, int32_t *day, char *errstr, size_t errstr_size)
{
    redisReply *r;
    int rc;

    if (!t->event_time) {
        *day = chiso_local_day((int64_t)time(NULL));
        return 0;
    }
    r = chiso_redis_command(t->rc, "GET %s:watermark", t->prefix);
    if ((rc = chiso_redis_check(t->rc, r, errstr, errstr_size)) == 0)
        *day = r->type == REDIS_REPLY_STRING ? chiso_local_day(strtoll(r->str, NULL, 10)) : -1;
    if (r)
        freeReplyObject(r);
    return rc;
}

/* Sum HGET <prefix>:{U}:c:<day> received over the units. */
static int count(wall_today *t, int32_t day, int64_t *received, int64_t *units, char *errstr,
                 size_t errstr_size)
{
    char daykey[CHISO_PERIOD_STRLEN];
    redisReply *members, *r = NULL;
    const char **codes = NULL;
    int rc;

    *received = 0;
    *units = 0;
    members = chiso_redis_command(t->rc, "SMEMBERS %s:units", t->prefix);
    if ((rc = chiso_redis_check(t->rc, members, errstr, errstr_size)) != 0)
        goto out;
    if (members->type != REDIS_REPLY_ARRAY) {
        snprintf(errstr, errstr_size, "%s:units is not a set", t->prefix);
        rc = CHISO_EINVAL;
        goto out;
    }
    *units = (int64_t)members->elements;
    if (day < 0)
        goto out;
    chiso_period_key(day, CHISO_PERIOD_DAY, daykey);
    /* the units' journaled changes first (journal.h) */
    codes = malloc((members->elements ? members->elements : 1) * sizeof(*codes));
    if (!codes) {
        rc = CHISO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < members->elements; i++)
        codes[i] = members->element[i]->str ? members->element[i]->str : "";
    rc = chiso_journal_fold(t->rc, t->prefix, codes, members->elements, errstr, errstr_size);
    if (rc == CHISO_EINVAL)
        LOG_WARN("today: %s", errstr); /* a malformed journal: counted without it */
    else if (rc != 0)
        goto out;
    rc = 0;
    for (size_t i = 0; i < members->elements; i++)
        chiso_redis_appendf(t->rc, "HGET %s:{%s}:c:%s received", t->prefix,
                            members->element[i]->str, daykey);
    for (size_t i = 0; i < members->elements; i++) {
        if (chiso_redis_get_reply(t->rc, &r) != REDIS_OK) {
            snprintf(errstr, errstr_size, "redis: %s", chiso_redis_errstr(t->rc));
            rc = CHISO_EIO;
            goto out;
        }
        if (r->type == REDIS_REPLY_STRING)
            *received += strtoll(r->str, NULL, 10);
        freeReplyObject(r);
    }
out:
    free(codes);
    if (members)
        freeReplyObject(members);
    return rc;
}

static void turn(wall_today *t)
{
    char errstr[512];
    int32_t day = -1;
    int64_t received = 0, units = 0;

    if (!t->rc && !(t->rc = chiso_redis_open(t->cfg, errstr, sizeof(errstr))))
        goto fail;
    if (today_day(t, &day, errstr, sizeof(errstr)) != 0 ||
        count(t, day, &received, &units, errstr, sizeof(errstr)) != 0)
        goto fail;
    if (t->failing)
        LOG_INFO("today: Redis answers again");
    t->failing = false;
    wall_hub_set_today(t->hub, day, received, units, true);
    return;
fail:
    if (!t->failing)
        LOG_WARN("today: %s (retrying every %lld ms)", errstr, (long long)t->interval_ms);
    t->failing = true;
    chiso_counter_add(t->m_errors, 1);
    if (t->rc) {
        chiso_redis_close(t->rc);
        t->rc = NULL;
    }
    wall_hub_set_today(t->hub, day, 0, 0, false);
}

static void *run(void *arg)
{
    wall_today *t = arg;

    while (!atomic_load(&t->stop)) {
        int64_t next = chiso_now_mono_us() + t->interval_ms * 1000;
        turn(t);
        /* sleep in short steps so that a stop is seen quickly */
        while (!atomic_load(&t->stop) && chiso_now_mono_us() < next) {
            chiso_sleep_ms(50);
        }
    }
    return NULL;
}

wall_today *wall_today_start(const chiso_config *cfg, wall_hub *hub, chiso_metrics *metrics,
                             char *errstr, size_t errstr_size)
{
    wall_today *t = calloc(1, sizeof(*t));

    if (!t) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    t->cfg = cfg;
    t->hub = hub;
    t->prefix = chiso_config_str(cfg, "redis.prefix");
    t->event_time = strcmp(chiso_config_str(cfg, "time.source"), "event") == 0;
    t->interval_ms = chiso_config_int(cfg, "today.interval.ms");
    t->m_errors = chiso_metrics_counter(metrics, "chiso_wall_redis_errors_total",
                                        "failed reads of today's count from Redis");
    atomic_init(&t->stop, false);
    if (pthread_create(&t->thread, NULL, run, t) != 0) {
        snprintf(errstr, errstr_size, "cannot start the today thread");
        free(t);
        return NULL;
    }
    return t;
}

void wall_today_stop(wall_today *t)
{
    if (!t)
        return;
    atomic_store(&t->stop, true);
    pthread_join(t->thread, NULL);
    if (t->rc)
        chiso_redis_close(t->rc);
    free(t);
}
