/*
 * ingest.c - a parsed request made durable (ingest.h).
 */
#include "ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "chiso/common.h"
#include "chiso/deadletter.h"
#include "chiso/kafka.h"
#include "chiso/redisx.h"
#include "chiso/runtime.h"

#define STRIPES  64
#define POOL_MAX 16

/* A request's wait for its deliveries. Reference-counted: the request
 * holds one reference and every message in flight one, so a request that
 * gave up waiting leaves the reports somewhere to go. */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int refs;
    int pending;
    int failed;
    rd_kafka_resp_err_t first_err;
} waiter;

static waiter *waiter_new(void)
{
    waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->refs = 1;
    return w;
}

/* Drop one reference (the mutex held); frees at zero. */
static void waiter_unref_locked(waiter *w)
{
    if (--w->refs > 0) {
        pthread_mutex_unlock(&w->mu);
        return;
    }
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w);
}

struct bridge_ingest {
    const chiso_config *cfg;
    bridge_defaults d;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt_events, *rkt_dead;
    char prefix[128];
    int64_t ack_timeout_ms;
    pthread_mutex_t stripes[STRIPES];
    /* Redis connections not in use */
    pthread_mutex_t pool_mu;
    chiso_redis *pool[POOL_MAX];
    int npool;
    /* metrics */
    chiso_counter *m_items[BRIDGE_SVC_OTHER][2]; /* [service][0 accepted, 1 refused] */
    chiso_counter *m_events[CHISO_EV_TYPE_COUNT];
    chiso_counter *m_errors[CHISO_REJECT_REASON_COUNT];
    chiso_counter *m_guesses[BRIDGE_GUESS_COUNT];
    pthread_t poll_thread, sweep_thread;
    bool polling, sweeping;
    int64_t sweep_s;
    atomic_bool stopping;
    chiso_counter *m_replayed, *m_corrections, *m_redis_errors, *m_kafka_errors;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    waiter *w = m->_private;
    (void)rk;
    (void)opaque;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    if (m->err) {
        if (!w->failed)
            w->first_err = m->err;
        w->failed++;
    }
    w->pending--;
    pthread_cond_broadcast(&w->cond);
    waiter_unref_locked(w);
}

/* ---- metrics --------------------------------------------------------------- */

static void metrics_init(bridge_ingest *g, chiso_metrics *m)
{
    static const char *const svc[BRIDGE_SVC_OTHER] = {NULL, "DongBoHoSoMC", "CapNhatTienDoHoSoMC"};
    char name[160];
    for (int s = 1; s < BRIDGE_SVC_OTHER; s++) {
        for (int r = 0; r < 2; r++) {
            snprintf(name, sizeof(name), "chiso_bridge_items_total{service=\"%s\",result=\"%s\"}",
                     svc[s], r ? "refused" : "accepted");
            g->m_items[s][r] = chiso_metrics_counter(m, name, "items of the requests, by result");
        }
    }
    for (int t = 1; t < CHISO_EV_TYPE_COUNT; t++) {
        snprintf(name, sizeof(name), "chiso_bridge_events_total{type=\"%s\"}",
                 chiso_event_type_name((chiso_event_type)t));
        g->m_events[t] = chiso_metrics_counter(m, name, "events produced, by type");
    }
    for (int r = 1; r < CHISO_REJECT_REASON_COUNT; r++) {
        snprintf(name, sizeof(name), "chiso_bridge_errors_total{reason=\"%s\"}",
                 chiso_reject_code((chiso_reject_reason)r));
        g->m_errors[r] = chiso_metrics_counter(m, name, "items refused, by reason");
    }
    for (int q = 0; q < BRIDGE_GUESS_COUNT; q++) {
        snprintf(name, sizeof(name), "chiso_bridge_guesses_total{what=\"%s\"}",
                 bridge_guess_name((bridge_guess)q));
        g->m_guesses[q] = chiso_metrics_counter(
            m, name, "defaults used where the payload did not say (unit, channel, due, time)");
    }
    g->m_replayed = chiso_metrics_counter(m, "chiso_bridge_outbox_replayed_total",
                                          "events of an unconfirmed outbox produced again");
    g->m_corrections = chiso_metrics_counter(
        m, "chiso_bridge_step_corrections_total",
        "events re-emitted at an earlier progress step's time (a guessed time corrected)");
    g->m_redis_errors = chiso_metrics_counter(m, "chiso_bridge_redis_errors_total",
                                              "requests failed on a Redis error");
    g->m_kafka_errors = chiso_metrics_counter(m, "chiso_bridge_kafka_errors_total",
                                              "requests failed on a Kafka error or timeout");
}

/* ---- Redis connections ------------------------------------------------------ */

static chiso_redis *conn_get(bridge_ingest *g, char *errstr, size_t errstr_size)
{
    chiso_redis *c = NULL;
    pthread_mutex_lock(&g->pool_mu);
    if (g->npool > 0)
        c = g->pool[--g->npool];
    pthread_mutex_unlock(&g->pool_mu);
    return c ? c : chiso_redis_open(g->cfg, errstr, errstr_size);
}

static void conn_put(bridge_ingest *g, chiso_redis *c)
{
    if (c && !chiso_redis_failed(c)) {
        pthread_mutex_lock(&g->pool_mu);
        if (g->npool < POOL_MAX) {
            g->pool[g->npool++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&g->pool_mu);
    }
    if (c)
        chiso_redis_close(c);
}

static void *poller(void *arg)
{
    bridge_ingest *g = arg;
    while (!atomic_load(&g->stopping))
        rd_kafka_poll(g->rk, 100);
    return NULL;
}

static void sweep(bridge_ingest *g);

/* The outbox sweep: once a second after the start (what a bridge that died
 * left), then every bridge.outbox.sweep.s. */
static void *sweeper(void *arg)
{
    bridge_ingest *g = arg;
    int64_t next = chiso_now_mono_us() + 1000000;
    while (!atomic_load(&g->stopping)) {
        if (chiso_now_mono_us() >= next) {
            sweep(g);
            next = chiso_now_mono_us() + g->sweep_s * 1000000;
        }
        chiso_sleep_ms(100);
    }
    return NULL;
}

/* ---- life ------------------------------------------------------------------ */

bridge_ingest *bridge_ingest_new(const chiso_config *cfg, const bridge_defaults *d,
                                 chiso_metrics *metrics, char *errstr, size_t errstr_size)
{
    bridge_ingest *g = calloc(1, sizeof(*g));
    char topic[256];
    if (!g) {
        chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
        return NULL;
    }
    g->cfg = cfg;
    g->d = *d;
    g->ack_timeout_ms = chiso_config_int(cfg, "bridge.ack.timeout.ms");
    snprintf(g->prefix, sizeof(g->prefix), "%s", chiso_config_str(cfg, "redis.prefix"));
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&g->stripes[i], NULL);
    pthread_mutex_init(&g->pool_mu, NULL);
    metrics_init(g, metrics);

    chiso_redis *c = conn_get(g, errstr, errstr_size);
    if (!c)
        goto fail;
    conn_put(g, c);
    g->rk = chiso_kafka_producer_new(cfg, dr_cb, g, errstr, errstr_size);
    if (!g->rk)
        goto fail;
    g->rkt_events = rd_kafka_topic_new(
        g->rk, chiso_topic_name(cfg, CHISO_TOPIC_DOSSIER_EVENTS, topic, sizeof(topic)), NULL);
    g->rkt_dead = rd_kafka_topic_new(
        g->rk, chiso_topic_name(cfg, CHISO_TOPIC_DEADLETTER, topic, sizeof(topic)), NULL);
    if (!g->rkt_events || !g->rkt_dead) {
        chiso_errf(errstr, errstr_size, CHISO_EIO, "cannot create the topic handles: %s",
                   rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    if (pthread_create(&g->poll_thread, NULL, poller, g) != 0) {
        chiso_errf(errstr, errstr_size, CHISO_EIO, "cannot start the delivery thread");
        goto fail;
    }
    g->polling = true;
    g->sweep_s = chiso_config_int(cfg, "bridge.outbox.sweep.s");
    if (pthread_create(&g->sweep_thread, NULL, sweeper, g) != 0) {
        chiso_errf(errstr, errstr_size, CHISO_EIO, "cannot start the outbox sweep");
        goto fail;
    }
    g->sweeping = true;
    return g;
fail:
    bridge_ingest_free(g, 0);
    return NULL;
}

void bridge_ingest_free(bridge_ingest *g, int timeout_ms)
{
    if (!g)
        return;
    atomic_store(&g->stopping, true);
    if (g->sweeping) /* before the poller: a sweep may wait for deliveries */
        pthread_join(g->sweep_thread, NULL);
    if (g->polling)
        pthread_join(g->poll_thread, NULL);
    if (g->rk) {
        if (rd_kafka_flush(g->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
            LOG_WARN("%d messages not delivered at exit", rd_kafka_outq_len(g->rk));
        if (g->rkt_events)
            rd_kafka_topic_destroy(g->rkt_events);
        if (g->rkt_dead)
            rd_kafka_topic_destroy(g->rkt_dead);
        rd_kafka_destroy(g->rk);
    }
    for (int i = 0; i < g->npool; i++)
        chiso_redis_close(g->pool[i]);
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&g->stripes[i]);
    pthread_mutex_destroy(&g->pool_mu);
    free(g);
}

/* ---- one request ----------------------------------------------------------- */

/* One dossier of the request: its key, its state before and after. */
typedef struct dossier_slot {
    char key[256];
    size_t keylen;
    char unit[CHISO_CODE_MAX + 1];
    char id[CHISO_ID_MAX + 1];
    int stripe;
    bool known; /* a state was read (or made by an earlier item) */
    bridge_snapshot state;
    char *stored; /* the state as read (s), NULL when none */
    char *outbox; /* the outbox as read (o), then with this request's events */
    size_t outbox_len;
    bool changed;
} dossier_slot;

/* One item: parsed, or refused. */
typedef struct item_slot {
    bool ok;
    int dossier; /* index into the dossier slots */
    bridge_snapshot snap;
    bridge_step step;
    chiso_reject rej;
    char dossier_id[CHISO_ID_MAX + 1];
} item_slot;

typedef struct req_ctx {
    bridge_ingest *g;
    const bridge_request *req;
    int64_t now;
    int nitems, ndossiers;
    item_slot *items;
    dossier_slot *dossiers;
    chiso_redis *c;
    waiter *w;
    int produced;
} req_ctx;

static int find_or_add_dossier(req_ctx *x, const char *unit, const char *id)
{
    char key[256];
    int n = snprintf(key, sizeof(key), "%s:{%s}:br:%s", x->g->prefix, unit, id);
    for (int i = 0; i < x->ndossiers; i++) {
        if ((size_t)n == x->dossiers[i].keylen && memcmp(key, x->dossiers[i].key, (size_t)n) == 0)
            return i;
    }
    dossier_slot *d = &x->dossiers[x->ndossiers];
    memset(d, 0, sizeof(*d));
    memcpy(d->key, key, (size_t)n + 1);
    d->keylen = (size_t)n;
    snprintf(d->unit, sizeof(d->unit), "%s", unit);
    snprintf(d->id, sizeof(d->id), "%s", id);
    d->stripe = (int)(chiso_hash64(key, (size_t)n) % STRIPES);
    return x->ndossiers++;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Lock (or unlock) the stripes of the request's dossiers, in ascending
 * order so that two requests never wait on each other in a cycle. */
static void stripes(req_ctx *x, bool lock)
{
    int idx[STRIPES], n = 0;
    bool have[STRIPES] = {false};
    for (int i = 0; i < x->ndossiers; i++) {
        if (!have[x->dossiers[i].stripe]) {
            have[x->dossiers[i].stripe] = true;
            idx[n++] = x->dossiers[i].stripe;
        }
    }
    qsort(idx, (size_t)n, sizeof(idx[0]), cmp_int);
    for (int i = 0; i < n; i++) {
        if (lock)
            pthread_mutex_lock(&x->g->stripes[idx[i]]);
        else
            pthread_mutex_unlock(&x->g->stripes[idx[n - 1 - i]]);
    }
}

/* Parse the items; the refused ones get their dead letter. */
static int parse_items(req_ctx *x, unsigned guesses[BRIDGE_GUESS_COUNT])
{
    const cJSON *item;
    int i = 0;
    cJSON_ArrayForEach(item, x->req->items)
    {
        item_slot *it = &x->items[i++];
        int rc;
        const char *unit;
        const char *id;
        if (x->req->service == BRIDGE_SVC_DOSSIERS) {
            rc = bridge_snapshot_parse(item, x->req->unit, &x->g->d, &it->snap, guesses, &it->rej);
            unit = it->snap.unit;
            id = it->snap.dossier_id;
        } else {
            rc = bridge_step_parse(item, x->req->unit, &x->g->d, &it->step, guesses, &it->rej);
            unit = it->step.unit;
            id = it->step.dossier_id;
        }
        if (rc != 0) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(item, "MaHoSo");
            if (cJSON_IsString(m))
                snprintf(it->dossier_id, sizeof(it->dossier_id), "%s", m->valuestring);
            continue;
        }
        it->ok = true;
        snprintf(it->dossier_id, sizeof(it->dossier_id), "%s", id);
        it->dossier = find_or_add_dossier(x, unit, id);
    }
    return 0;
}

/* HMGET s o of every dossier, pipelined. */
static int read_states(req_ctx *x, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < x->ndossiers; i++)
        chiso_redis_appendf(x->c, "HMGET %b s o", x->dossiers[i].key, x->dossiers[i].keylen);
    for (int i = 0; i < x->ndossiers; i++) {
        dossier_slot *d = &x->dossiers[i];
        redisReply *r = NULL;
        if (chiso_redis_get_reply(x->c, &r) != REDIS_OK || !r)
            return chiso_errf(errstr, errstr_size, CHISO_EIO, "Redis: %s",
                              chiso_redis_errstr(x->c));
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            int rc = chiso_errf(errstr, errstr_size, CHISO_EIO, "Redis HMGET: %s",
                                r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            return rc;
        }
        redisReply *s = r->element[0], *o = r->element[1];
        if (s->type == REDIS_REPLY_STRING) {
            d->stored = strndup(s->str, s->len);
            if (bridge_snapshot_decode(s->str, s->len, &d->state) == 0)
                d->known = true;
            else
                LOG_WARN("state of %s is not a bridge state; taken as a dossier not seen", d->key);
        }
        if (o->type == REDIS_REPLY_STRING && o->len > 0) {
            d->outbox = strndup(o->str, o->len);
            d->outbox_len = o->len;
        }
        bool oom = (s->type == REDIS_REPLY_STRING && !d->stored) ||
                   (o->type == REDIS_REPLY_STRING && o->len > 0 && !d->outbox);
        freeReplyObject(r);
        if (oom)
            return chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
    }
    return 0;
}

/* Produce one message under the request's waiter. */
static int produce(req_ctx *x, rd_kafka_topic_t *rkt, const char *key, size_t keylen,
                   const char *val, size_t len, char *errstr, size_t errstr_size)
{
    pthread_mutex_lock(&x->w->mu);
    x->w->refs++;
    x->w->pending++;
    pthread_mutex_unlock(&x->w->mu);
    for (int tries = 0;; tries++) {
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)val, len, key,
                             keylen, x->w) == 0) {
            x->produced++;
            return 0;
        }
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries == 1000) {
            pthread_mutex_lock(&x->w->mu);
            x->w->pending--;
            x->w->refs--; /* the request's own reference keeps it alive */
            pthread_mutex_unlock(&x->w->mu);
            return chiso_errf(errstr, errstr_size, CHISO_EIO, "Kafka: %s", rd_kafka_err2str(err));
        }
        chiso_sleep_ms(5);
    }
}

/* Append an event to its dossier's outbox (one JSON line each). */
static int outbox_add(dossier_slot *d, const char *json, size_t len)
{
    char *o = realloc(d->outbox, d->outbox_len + len + 2);
    if (!o)
        return CHISO_ENOMEM;
    if (d->outbox_len)
        o[d->outbox_len++] = '\n';
    memcpy(o + d->outbox_len, json, len);
    d->outbox_len += len;
    o[d->outbox_len] = '\0';
    d->outbox = o;
    return 0;
}

/* Map every item in order against its dossier's state; the events go to
 * the dossier's outbox. */
static int map_items(req_ctx *x, bridge_ingest_result *res, unsigned guesses[BRIDGE_GUESS_COUNT])
{
    chiso_event ev[BRIDGE_EVENTS_MAX];
    char json[4096];
    for (int i = 0; i < x->nitems; i++) {
        item_slot *it = &x->items[i];
        if (!it->ok)
            continue;
        dossier_slot *d = &x->dossiers[it->dossier];
        bridge_snapshot merged;
        int n;
        if (x->req->service == BRIDGE_SVC_DOSSIERS) {
            n = bridge_diff(d->known ? &d->state : NULL, &it->snap, x->now, &x->g->d, &merged, ev,
                            guesses);
        } else {
            n = bridge_step_apply(d->known ? &d->state : NULL, &it->step, &x->g->d, &merged, ev,
                                  guesses);
            chiso_counter_add(x->g->m_corrections, (uint64_t)n);
        }
        d->state = merged;
        d->known = true;
        d->changed = true;
        for (int k = 0; k < n; k++) {
            int len = chiso_event_to_json(&ev[k], json, sizeof(json));
            if (len < 0 || outbox_add(d, json, (size_t)len) != 0)
                return CHISO_ENOMEM;
            chiso_counter_add(x->g->m_events[ev[k].type], 1);
        }
        res->events += n;
    }
    return 0;
}

/* HSET s (and o) of every changed dossier; HDEL o when it came back empty
 * is not needed (an outbox only grows within a request). */
static int write_states(req_ctx *x, char *errstr, size_t errstr_size)
{
    char buf[BRIDGE_STATE_MAX];
    int nw = 0;
    for (int i = 0; i < x->ndossiers; i++) {
        dossier_slot *d = &x->dossiers[i];
        if (!d->changed)
            continue;
        int len = bridge_snapshot_encode(&d->state, buf, sizeof(buf));
        if (len < 0)
            return chiso_errf(errstr, errstr_size, CHISO_ERANGE, "state of %s too large", d->key);
        if (d->stored && strlen(d->stored) == (size_t)len && memcmp(d->stored, buf, len) == 0 &&
            !d->outbox_len) {
            d->changed = false;
            continue;
        }
        if (d->outbox_len) {
            /* the unit's index of outboxes first: on one connection Redis
             * applies them in order, so every outbox is in the index */
            chiso_redis_appendf(x->c, "SADD %s:{%s}:bro %s", x->g->prefix, d->unit, d->id);
            chiso_redis_appendf(x->c, "HSET %b s %b o %b", d->key, d->keylen, buf, (size_t)len,
                                d->outbox, d->outbox_len);
            nw += 2;
        } else {
            chiso_redis_appendf(x->c, "HSET %b s %b", d->key, d->keylen, buf, (size_t)len);
            nw++;
        }
    }
    int rc = 0;
    for (int i = 0; i < nw; i++) {
        redisReply *r = NULL;
        if (chiso_redis_get_reply(x->c, &r) != REDIS_OK || !r)
            return chiso_errf(errstr, errstr_size, CHISO_EIO, "Redis: %s",
                              chiso_redis_errstr(x->c));
        if (r->type == REDIS_REPLY_ERROR && rc == 0)
            rc = chiso_errf(errstr, errstr_size, CHISO_EIO, "Redis HSET: %s", r->str);
        freeReplyObject(r);
    }
    return rc;
}

/* Produce every dossier's outbox, its lines keyed by the dossier. */
static int produce_outboxes(req_ctx *x, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < x->ndossiers; i++) {
        dossier_slot *d = &x->dossiers[i];
        const char *id = d->id;
        char *p = d->outbox, *end = d->outbox ? d->outbox + d->outbox_len : NULL;
        while (p && p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (len > 0 &&
                produce(x, x->g->rkt_events, id, strlen(id), p, len, errstr, errstr_size) != 0)
                return CHISO_EIO;
            p += len + 1;
        }
    }
    return 0;
}

/* The refused items: their dead letters, their answer lines. */
static int refuse_items(req_ctx *x, bridge_ingest_result *res, char *errstr, size_t errstr_size)
{
    const cJSON *item;
    char source[96];
    int i = 0;
    snprintf(source, sizeof(source), "bridge/%s", x->req->service_name);
    cJSON_ArrayForEach(item, x->req->items)
    {
        item_slot *it = &x->items[i++];
        if (it->ok)
            continue;
        bridge_item_error *e = &res->errs[res->refused++];
        snprintf(e->dossier_id, sizeof(e->dossier_id), "%s", it->dossier_id);
        e->reject = it->rej;
        chiso_counter_add(x->g->m_errors[it->rej.reason], 1);
        char *payload = cJSON_PrintUnformatted(item);
        char *dead = payload ? chiso_deadletter_json(source, -1, -1, &it->rej, payload,
                                                     strlen(payload), x->now)
                             : NULL;
        int rc = dead ? produce(x, x->g->rkt_dead, it->dossier_id, strlen(it->dossier_id), dead,
                                strlen(dead), errstr, errstr_size)
                      : chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
        free(payload);
        free(dead);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Wait until every message of the request is acknowledged, at most the
 * ack timeout; drops the request's reference to the waiter. */
static int wait_acks(req_ctx *x, char *errstr, size_t errstr_size)
{
    struct timespec until;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += x->g->ack_timeout_ms / 1000;
    until.tv_nsec += (x->g->ack_timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&x->w->mu);
    while (x->w->pending > 0) {
        if (pthread_cond_timedwait(&x->w->cond, &x->w->mu, &until) == ETIMEDOUT)
            break;
    }
    if (x->w->pending > 0)
        rc = chiso_errf(errstr, errstr_size, CHISO_EIO,
                        "Kafka: %d of %d messages not acknowledged within %lld ms", x->w->pending,
                        x->produced, (long long)x->g->ack_timeout_ms);
    else if (x->w->failed)
        rc = chiso_errf(errstr, errstr_size, CHISO_EIO, "Kafka: %d messages failed: %s",
                        x->w->failed, rd_kafka_err2str(x->w->first_err));
    waiter_unref_locked(x->w);
    x->w = NULL;
    return rc;
}

/* Kafka has the outboxes: delete them (a failure only means they are
 * produced again with the dossier's next request, which is harmless). */
static void clear_outboxes(req_ctx *x)
{
    int n = 0;
    for (int i = 0; i < x->ndossiers; i++) {
        dossier_slot *d = &x->dossiers[i];
        if (d->outbox_len) {
            chiso_redis_appendf(x->c, "HDEL %b o", d->key, d->keylen);
            chiso_redis_appendf(x->c, "SREM %s:{%s}:bro %s", x->g->prefix, d->unit, d->id);
            n += 2;
        }
    }
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (chiso_redis_get_reply(x->c, &r) != REDIS_OK || !r) {
            LOG_WARN("Redis: clearing outboxes: %s (they will be produced again)",
                     chiso_redis_errstr(x->c));
            return;
        }
        freeReplyObject(r);
    }
}

int bridge_ingest_request(bridge_ingest *g, const bridge_request *req, int64_t now,
                          bridge_ingest_result *out, char *errstr, size_t errstr_size)
{
    unsigned guesses[BRIDGE_GUESS_COUNT] = {0};
    req_ctx x = {.g = g, .req = req, .now = now};
    int rc = 0;
    bool locked = false;

    memset(out, 0, sizeof(*out));
    x.nitems = cJSON_GetArraySize(req->items);
    if (x.nitems == 0)
        return 0;
    x.items = calloc((size_t)x.nitems, sizeof(*x.items));
    x.dossiers = calloc((size_t)x.nitems, sizeof(*x.dossiers));
    out->errs = calloc((size_t)x.nitems, sizeof(*out->errs));
    x.w = waiter_new();
    if (!x.items || !x.dossiers || !out->errs || !x.w) {
        rc = chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
        goto done;
    }
    parse_items(&x, guesses);
    stripes(&x, true);
    locked = true;
    if (x.ndossiers > 0) {
        if (!(x.c = conn_get(g, errstr, errstr_size)) ||
            read_states(&x, errstr, errstr_size) != 0) {
            chiso_counter_add(g->m_redis_errors, 1);
            rc = CHISO_EIO;
            goto done;
        }
        /* what an earlier request left unconfirmed goes out again */
        for (int i = 0; i < x.ndossiers; i++) {
            const char *o = x.dossiers[i].outbox;
            for (const char *p = o; p && *p; p++)
                out->replayed += p == o || p[-1] == '\n';
        }
        chiso_counter_add(g->m_replayed, (uint64_t)out->replayed);
        if ((rc = map_items(&x, out, guesses)) != 0) {
            chiso_errf(errstr, errstr_size, rc, "out of memory");
            goto done;
        }
        if ((rc = write_states(&x, errstr, errstr_size)) != 0) {
            chiso_counter_add(g->m_redis_errors, 1);
            goto done;
        }
    }
    if ((rc = produce_outboxes(&x, errstr, errstr_size)) != 0 ||
        (rc = refuse_items(&x, out, errstr, errstr_size)) != 0 ||
        (rc = wait_acks(&x, errstr, errstr_size)) != 0) {
        chiso_counter_add(g->m_kafka_errors, 1);
        goto done;
    }
    if (x.c)
        clear_outboxes(&x);
    for (int i = 0; i < x.nitems; i++) {
        if (x.items[i].ok)
            out->accepted++;
    }
    for (int q = 0; q < BRIDGE_GUESS_COUNT; q++)
        chiso_counter_add(g->m_guesses[q], guesses[q]);
    chiso_counter_add(g->m_items[req->service][0], (uint64_t)out->accepted);
    chiso_counter_add(g->m_items[req->service][1], (uint64_t)out->refused);
done:
    if (x.w) { /* produced messages may still report: the waiter outlives us */
        pthread_mutex_lock(&x.w->mu);
        waiter_unref_locked(x.w);
    }
    if (locked)
        stripes(&x, false);
    conn_put(g, x.c);
    for (int i = 0; x.dossiers && i < x.ndossiers; i++) {
        free(x.dossiers[i].stored);
        free(x.dossiers[i].outbox);
    }
    free(x.items);
    free(x.dossiers);
    if (rc != 0) {
        free(out->errs);
        memset(out, 0, sizeof(*out));
    } else if (out->refused == 0) {
        free(out->errs);
        out->errs = NULL;
    }
    return rc;
}

int bridge_ingest_synced(bridge_ingest *g, const bridge_request *req, int64_t now, int *events,
                         char *errstr, size_t errstr_size)
{
    unsigned guesses[BRIDGE_GUESS_COUNT] = {0};
    req_ctx x = {.g = g, .req = req, .now = now};
    const cJSON *item;
    char json[2048];
    int rc = 0;

    *events = 0;
    if (req->service != BRIDGE_SVC_DOSSIERS)
        return 0;
    if (!(x.w = waiter_new()))
        return chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
    cJSON_ArrayForEach(item, req->items)
    {
        bridge_snapshot s;
        chiso_reject rej;
        chiso_event ev;
        if (bridge_snapshot_parse(item, req->unit, &g->d, &s, guesses, &rej) != 0)
            continue; /* refused, and dead-lettered, when it came in */
        bridge_synced_event(&s, now, &ev);
        int len = chiso_event_to_json(&ev, json, sizeof(json));
        if (len < 0) {
            rc = chiso_errf(errstr, errstr_size, CHISO_ERANGE, "event too large");
            break;
        }
        if ((rc = produce(&x, g->rkt_events, s.dossier_id, strlen(s.dossier_id), json, (size_t)len,
                          errstr, errstr_size)) != 0)
            break;
        (*events)++;
    }
    if (rc == 0) {
        rc = wait_acks(&x, errstr, errstr_size);
        if (rc == 0)
            chiso_counter_add(g->m_events[CHISO_EV_SYNCED], (uint64_t)*events);
    } else {
        pthread_mutex_lock(&x.w->mu);
        waiter_unref_locked(x.w);
    }
    if (rc != 0)
        chiso_counter_add(g->m_kafka_errors, 1);
    return rc;
}

/* ---- the outbox sweep ------------------------------------------------------ */

/* Produce the outbox of one dossier (a request that failed, or a bridge
 * that died, left it), under the dossier's stripe. Returns 0, or
 * CHISO_EIO (Redis or Kafka: the next sweep tries again). */
static int sweep_dossier(bridge_ingest *g, chiso_redis *c, const char *unit, const char *id)
{
    char errstr[256];
    dossier_slot d;
    req_ctx x = {.g = g, .c = c, .ndossiers = 0, .dossiers = &d};
    int rc = 0;

    find_or_add_dossier(&x, unit, id);
    pthread_mutex_lock(&g->stripes[d.stripe]);
    redisReply *r = chiso_redis_command(c, "HGET %b o", d.key, d.keylen);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        rc = CHISO_EIO;
    } else if (r->type == REDIS_REPLY_NIL || r->len == 0) {
        /* cleared meanwhile: the index entry is all that is left */
        freeReplyObject(chiso_redis_command(c, "SREM %s:{%s}:bro %s", g->prefix, unit, id));
    } else if (!(d.outbox = strndup(r->str, r->len)) || !(x.w = waiter_new())) {
        rc = CHISO_ENOMEM;
    } else {
        d.outbox_len = r->len;
        uint64_t lines = 0;
        for (const char *p = d.outbox; *p; p++)
            lines += p == d.outbox || p[-1] == '\n';
        chiso_counter_add(g->m_replayed, lines);
        if (produce_outboxes(&x, errstr, sizeof(errstr)) == 0 &&
            wait_acks(&x, errstr, sizeof(errstr)) == 0) {
            clear_outboxes(&x);
            LOG_INFO("outbox of %s (%s) produced by the sweep", id, unit);
        } else {
            LOG_WARN("outbox of %s (%s) not produced: %s", id, unit, errstr);
            rc = CHISO_EIO;
        }
    }
    if (x.w) {
        pthread_mutex_lock(&x.w->mu);
        waiter_unref_locked(x.w);
    }
    if (r)
        freeReplyObject(r);
    pthread_mutex_unlock(&g->stripes[d.stripe]);
    free(d.outbox);
    return rc;
}

/* One pass over every unit's index of outboxes. */
static void sweep(bridge_ingest *g)
{
    char errstr[256], pattern[192];
    chiso_redis *c = conn_get(g, errstr, sizeof(errstr));
    chiso_redis_scan scan = {0};
    redisReply *r;
    int more;
    if (!c)
        return;
    snprintf(pattern, sizeof(pattern), "%s:{*}:bro", g->prefix);
    while (!atomic_load(&g->stopping) &&
           (more = chiso_redis_scan_next(c, &scan, pattern, &r)) != 0) {
        if (more < 0) {
            chiso_redis_close(c);
            return;
        }
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements && !atomic_load(&g->stopping); i++) {
            const char *key = keys->element[i]->str;
            const char *open = strchr(key, '{'), *close = open ? strchr(open, '}') : NULL;
            char unit[CHISO_CODE_MAX + 1];
            if (!close || (size_t)(close - open - 1) > CHISO_CODE_MAX)
                continue;
            snprintf(unit, sizeof(unit), "%.*s", (int)(close - open - 1), open + 1);
            redisReply *ids = chiso_redis_command(c, "SMEMBERS %s", key);
            for (size_t k = 0; ids && ids->type == REDIS_REPLY_ARRAY && k < ids->elements; k++)
                sweep_dossier(g, c, unit, ids->element[k]->str);
            if (ids)
                freeReplyObject(ids);
        }
        freeReplyObject(r);
    }
    conn_put(g, c);
}
