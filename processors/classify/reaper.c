/*
 * reaper.c - the reaper's thread (reaper.h).
 */
#include "reaper.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chiso/common.h"
#include "chiso/dossier.h"
#include "chiso/kafka.h"
#include "chiso/redisx.h"
#include "chiso/runtime.h"
#include "chiso/vntime.h"

/* Entries judged per call: the call reads and deletes as many states. */
#define CHUNK   256
#define KEY_MAX 200
/* Calls per unit and pass at most, so one unit's backlog does not hold
 * the others back (the next pass goes on). */
#define CALLS_PER_UNIT 64

/*
 * Pop the m entries judged from the front of the list (KEYS[1]), provided
 * they are still there (another reaper may have taken them: then nothing
 * changes and -1 is returned), and delete every state of KEYS[2..] still
 * equal to the value judged (ARGV[2 + m ..]; a state listed twice in the
 * chunk is judged twice). Returns how many states it deleted.
 * ARGV[1] = m; ARGV[2 .. 1 + m] = the entries.
 */
static const char LUA_REAP[] =
    "local m = tonumber(ARGV[1])\n"
    "local front = redis.call('LRANGE', KEYS[1], 0, m - 1)\n"
    "if #front ~= m then return -1 end\n"
    "for i = 1, m do\n"
    "  if front[i] ~= ARGV[1 + i] then return -1 end\n"
    "end\n"
    "local del = {}\n"
    "if #KEYS > 1 then\n"
    "  local cur = redis.call('MGET', unpack(KEYS, 2))\n"
    "  for i = 1, #KEYS - 1 do\n"
    "    if cur[i] == ARGV[1 + m + i] then del[#del + 1] = KEYS[1 + i] end\n"
    "  end\n"
    "end\n"
    "redis.call('LTRIM', KEYS[1], m, -1)\n"
    "if #del == 0 then return 0 end\n"
    "return redis.call('DEL', unpack(del))\n";

/*
 * The reaper's lease (KEYS[1]): taken when free or already ours (ARGV[1]),
 * and held for ARGV[2] ms. One instance reaps at a time: every instance
 * reaping every unit read the same cold states twice.
 */
static const char LUA_LEASE[] = "local v = redis.call('GET', KEYS[1])\n"
                                "if v and v ~= ARGV[1] then return 0 end\n"
                                "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
                                "return 1\n";

struct cl_reaper {
    const chiso_config *cfg;
    int64_t retention_s;
    int interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    chiso_counter *reaped;
    chiso_dossier *state;
    char id[64]; /* this instance, in the lease */
    rd_kafka_t *consumer;
    char *topic;
    int64_t *committed; /* the group's committed offsets, by partition */
    int npartitions;
};

/* The group's committed offsets of the events topic, by partition (-1 for
 * none), into r->committed. Returns 0, or -1 with errstr filled. */
static int read_committed(cl_reaper *r, char *errstr, size_t errstr_size)
{
    int n = chiso_kafka_partition_count(r->consumer, r->topic, 5000, errstr, errstr_size);
    if (n < 0)
        return -1;
    int64_t *offsets = realloc(r->committed, (size_t)n * sizeof(*offsets));
    if (offsets)
        r->committed = offsets;
    rd_kafka_topic_partition_list_t *list = offsets ? rd_kafka_topic_partition_list_new(n) : NULL;
    if (!list) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (int p = 0; p < n; p++)
        rd_kafka_topic_partition_list_add(list, r->topic, p);
    rd_kafka_resp_err_t err = rd_kafka_committed(r->consumer, list, 5000);
    if (err) {
        snprintf(errstr, errstr_size, "%s: committed offsets: %s", r->topic, rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(list);
        return -1;
    }
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        if (tp->partition >= 0 && tp->partition < n)
            r->committed[tp->partition] = tp->err || tp->offset < 0 ? -1 : tp->offset;
    }
    r->npartitions = n;
    rd_kafka_topic_partition_list_destroy(list);
    return 0;
}

/* Sleep `ms` unless stopped first; true when stopping. */
static bool pause_ms(cl_reaper *r, int ms)
{
    struct timespec until = chiso_deadline(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&r->lock);
    while (!r->stop && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
        ;
    bool stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

static bool stopping(cl_reaper *r)
{
    pthread_mutex_lock(&r->lock);
    bool stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

/* An entry's day and dossier id ("<day>:<id>"); false when malformed. */
static bool parse_entry(const redisReply *e, int32_t *day, const char **id, size_t *idlen)
{
    if (e->type != REDIS_REPLY_STRING)
        return false;
    const char *colon = memchr(e->str, ':', e->len);
    if (!colon || colon == e->str || colon - e->str > 11)
        return false;
    char num[12];
    memcpy(num, e->str, (size_t)(colon - e->str));
    num[colon - e->str] = '\0';
    char *end;
    long v = strtol(num, &end, 10);
    if (*end || v < INT32_MIN || v > INT32_MAX)
        return false;
    *day = (int32_t)v;
    *id = colon + 1;
    *idlen = e->len - (size_t)(colon + 1 - e->str);
    return *idlen > 0;
}

/* Judge one chunk of the front of `unit`'s list. Returns the entries popped
 * (0: nothing before the horizon, or another reaper took them), or -1 on a
 * Redis failure. */
static int reap_chunk(cl_reaper *r, chiso_redis *rc, const char *prefix, const char *unit,
                      int32_t horizon, char *errstr, size_t errstr_size)
{
    char list[KEY_MAX];
    snprintf(list, sizeof(list), "%s:{%s}:reap", prefix, unit);
    redisReply *lr = chiso_redis_command(rc, "LRANGE %s 0 %d", list, CHUNK - 1);
    if (chiso_redis_check(rc, lr, errstr, errstr_size) != 0) {
        freeReplyObject(lr);
        return -1;
    }
    /* the entries before the horizon, up to the first that is not */
    size_t m = 0;
    char keys[CHUNK][KEY_MAX];
    for (; m < lr->elements; m++) {
        int32_t day;
        const char *id;
        size_t idlen;
        if (!parse_entry(lr->element[m], &day, &id, &idlen)) {
            /* not an entry of ours: judged (popped) with nothing to delete */
            keys[m][0] = '\0';
            continue;
        }
        if (day >= horizon)
            break;
        snprintf(keys[m], sizeof(keys[m]), "%s:{%s}:d:%.*s", prefix, unit, (int)idlen, id);
    }
    if (m == 0) {
        freeReplyObject(lr);
        return 0;
    }

    /* the states, judged here: decoding is C's */
    /* EVAL, the script, numkeys, the list, m; the keys, entries, values */
    const char *argv[5 + 3 * CHUNK];
    size_t argvlen[5 + 3 * CHUNK];
    int a = 0, nk = 0;
    const char *mget[1 + CHUNK];
    size_t mgetlen[1 + CHUNK];
    int nm = 0;
    mget[nm] = "MGET";
    mgetlen[nm++] = 4;
    for (size_t i = 0; i < m; i++) {
        if (keys[i][0]) {
            mget[nm] = keys[i];
            mgetlen[nm++] = strlen(keys[i]);
        }
    }
    redisReply *sr = NULL;
    if (nm > 1) {
        if (chiso_redis_append_argv(rc, nm, mget, mgetlen) != REDIS_OK ||
            chiso_redis_get_reply(rc, &sr) != REDIS_OK) {
            snprintf(errstr, errstr_size, "%s", chiso_redis_errstr(rc));
            freeReplyObject(lr);
            return -1;
        }
        if (sr->type != REDIS_REPLY_ARRAY || sr->elements != (size_t)(nm - 1)) {
            snprintf(errstr, errstr_size, "MGET of states: unexpected reply");
            freeReplyObject(sr);
            freeReplyObject(lr);
            return -1;
        }
    }
    char nbuf[24];
    argv[a] = "EVAL";
    argvlen[a++] = 4;
    argv[a] = LUA_REAP;
    argvlen[a++] = sizeof(LUA_REAP) - 1;
    int numkeys_at = a++;
    argv[a] = list;
    argvlen[a++] = strlen(list);
    int deletes[CHUNK];
    for (size_t i = 0, s = 0; i < m; i++) {
        if (!keys[i][0])
            continue;
        const redisReply *e = sr->element[s++];
        if (e->type != REDIS_REPLY_STRING || e->len > CHISO_DOSSIER_MAX_ENCODED ||
            chiso_dossier_decode(r->state, e->str, e->len) != 0)
            continue; /* gone, or not ours: the entry only leaves the list */
        chiso_reap_verdict v =
            chiso_dossier_reap_verdict(r->state, horizon, r->committed, r->npartitions);
        if (v == CHISO_REAP_WAIT) {
            m = i; /* this entry and those after it are judged again later */
            break;
        }
        if (v == CHISO_REAP_DELETE) {
            deletes[nk++] = (int)(s - 1);
            argv[a] = keys[i];
            argvlen[a++] = strlen(keys[i]);
        }
    }
    if (m == 0) {
        freeReplyObject(sr);
        freeReplyObject(lr);
        return 0;
    }
    char numkeys[16];
    snprintf(numkeys, sizeof(numkeys), "%d", 1 + nk);
    argv[numkeys_at] = numkeys;
    argvlen[numkeys_at] = strlen(numkeys);
    snprintf(nbuf, sizeof(nbuf), "%zu", m);
    argv[a] = nbuf;
    argvlen[a++] = strlen(nbuf);
    for (size_t i = 0; i < m; i++) {
        argv[a] = lr->element[i]->type == REDIS_REPLY_STRING ? lr->element[i]->str : "";
        argvlen[a++] = lr->element[i]->type == REDIS_REPLY_STRING ? lr->element[i]->len : 0;
    }
    for (int k = 0; k < nk; k++) {
        argv[a] = sr->element[deletes[k]]->str;
        argvlen[a++] = sr->element[deletes[k]]->len;
    }
    redisReply *er = NULL;
    int rcode = -1;
    if (chiso_redis_append_argv(rc, a, argv, argvlen) != REDIS_OK ||
        chiso_redis_get_reply(rc, &er) != REDIS_OK) {
        snprintf(errstr, errstr_size, "%s", chiso_redis_errstr(rc));
    } else if (er->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errstr_size, "reap call: %s", er->str);
    } else if (er->type == REDIS_REPLY_INTEGER) {
        if (er->integer >= 0) {
            chiso_counter_add(r->reaped, (uint64_t)er->integer);
            rcode = (int)m;
        } else {
            rcode = 0; /* another reaper took them */
        }
    } else {
        snprintf(errstr, errstr_size, "reap call: unexpected reply");
    }
    freeReplyObject(er);
    freeReplyObject(sr);
    freeReplyObject(lr);
    return rcode;
}

/* One pass over every unit. Returns 0, or -1 on a Redis failure. */
static int pass(cl_reaper *r, chiso_redis *rc, const char *prefix, char *errstr, size_t errstr_size)
{
    redisReply *w = chiso_redis_command(rc, "GET %s:watermark", prefix);
    if (chiso_redis_check(rc, w, errstr, errstr_size) != 0) {
        freeReplyObject(w);
        return -1;
    }
    long long watermark = w->type == REDIS_REPLY_STRING ? strtoll(w->str, NULL, 10) : 0;
    freeReplyObject(w);
    if (watermark <= 0)
        return 0; /* nothing applied yet */
    /* held for three passes: another instance takes over when this one stops */
    redisReply *l = chiso_redis_command(rc, "EVAL %s 1 %s:reaper %s %lld", LUA_LEASE, prefix, r->id,
                                        (long long)r->interval_ms * 3 + 1000);
    if (chiso_redis_check(rc, l, errstr, errstr_size) != 0) {
        freeReplyObject(l);
        return -1;
    }
    bool ours = l->type == REDIS_REPLY_INTEGER && l->integer == 1;
    freeReplyObject(l);
    if (!ours)
        return 0;
    /* committed offsets only grow: a state last written below them is
     * never written again by a replay */
    if (read_committed(r, errstr, errstr_size) != 0) {
        LOG_WARN("reaper: %s", errstr);
        return 0; /* Kafka's trouble, not Redis's: the next pass tries again */
    }
    int32_t horizon = chiso_local_day((int64_t)watermark - r->retention_s);

    redisReply *units = chiso_redis_command(rc, "SMEMBERS %s:units", prefix);
    if (chiso_redis_check(rc, units, errstr, errstr_size) != 0) {
        freeReplyObject(units);
        return -1;
    }
    int rcode = 0;
    for (size_t u = 0; u < units->elements && rcode == 0 && !stopping(r); u++) {
        const redisReply *unit = units->element[u];
        if (unit->type != REDIS_REPLY_STRING)
            continue;
        for (int calls = 0; calls < CALLS_PER_UNIT; calls++) {
            int n = reap_chunk(r, rc, prefix, unit->str, horizon, errstr, errstr_size);
            if (n < 0)
                rcode = -1;
            if (n < CHUNK)
                break;
        }
    }
    freeReplyObject(units);
    return rcode;
}

static void *run(void *arg)
{
    cl_reaper *r = arg;
    chiso_redis *rc = NULL;
    const char *prefix = chiso_config_str(r->cfg, "redis.prefix");
    char errstr[256];

    while (!pause_ms(r, r->interval_ms)) {
        if (!rc && !(rc = chiso_redis_open(r->cfg, errstr, sizeof(errstr)))) {
            LOG_WARN("reaper: %s", errstr);
            continue;
        }
        if (pass(r, rc, prefix, errstr, sizeof(errstr)) != 0) {
            LOG_WARN("reaper: %s", errstr);
            chiso_redis_close(rc);
            rc = NULL;
        }
    }
    if (rc)
        chiso_redis_close(rc);
    return NULL;
}

cl_reaper *cl_reaper_new(const chiso_config *cfg, rd_kafka_t *consumer, const char *topic_events,
                         int64_t retention_s, int interval_ms, chiso_counter *reaped)
{
    cl_reaper *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->consumer = consumer;
    if (!(r->topic = strdup(topic_events))) {
        free(r);
        return NULL;
    }
    r->retention_s = retention_s;
    r->interval_ms = interval_ms;
    r->reaped = reaped;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(r->id, sizeof(r->id), "%ld.%ld.%09ld", (long)getpid(), (long)ts.tv_sec, ts.tv_nsec);
    if (!(r->state = chiso_dossier_new())) {
        free(r->topic);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        chiso_dossier_free(r->state);
        free(r->topic);
        free(r);
        return NULL;
    }
    return r;
}

void cl_reaper_destroy(cl_reaper *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    chiso_dossier_free(r->state);
    free(r->committed);
    free(r->topic);
    free(r);
}
