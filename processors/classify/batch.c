/*
 * batch.c - applying a batch of dossier events to Redis (see batch.h).
 *
 * Round trips per batch, whatever its size: one pipelined GET of every
 * dossier's state, one pipelined EVALSHA per changed dossier, one SADD for
 * the dirty-unit index; then outputs are awaited and offsets committed.
 * A compare-and-set conflict (another consumer wrote the dossier between
 * our GET and our EVALSHA, e.g. during a rebalance) only repeats the round
 * for the dossiers concerned.
 */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chiso/common.h"
#include "chiso/counters.h"
#include "chiso/deadletter.h"
#include "chiso/dossier.h"
#include "chiso/event.h"
#include "chiso/redisx.h"
#include "chiso/vntime.h"

/*
 * The atomic apply. KEYS[1] = the dossier state; KEYS[2..#KEYS-1] = counter
 * hashes; KEYS[#KEYS] = the unit's month index.
 * ARGV[1] = the state as read ("" when absent), ARGV[2] = the new state,
 * ARGV[3] = TTL seconds (0 = none), ARGV[4] = number of counter changes,
 * then per change: key index, field, delta; then the months to index.
 * Returns 1 when applied, 0 when the state changed since it was read.
 */
static const char LUA_APPLY[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur == false then cur = '' end\n"
    "if cur ~= ARGV[1] then return 0 end\n"
    "if ARGV[3] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])\n"
    "else redis.call('SET', KEYS[1], ARGV[2]) end\n"
    "local n = tonumber(ARGV[4])\n"
    "local i = 5\n"
    "for _ = 1, n do\n"
    "  redis.call('HINCRBY', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2])\n"
    "  i = i + 3\n"
    "end\n"
    "if i <= #ARGV then redis.call('SADD', KEYS[#KEYS], unpack(ARGV, i)) end\n"
    "return 1\n";

#define KEY_MAX     160
#define MAX_CHANGES (CHISO_CONTRIB_MAX * 2 * CHISO_PERIOD_KINDS)

typedef struct cl_item {
    char unit[CHISO_CODE_MAX + 1];
    char dossier_id[CHISO_ID_MAX + 1];
    char key[KEY_MAX];
    int keylen;
    int head, tail; /* events of this dossier: indices into ev[], chained by ev_next[] */
    int32_t partition;
    bool pending, sent, applied;
    unsigned char old_enc[CHISO_DOSSIER_MAX_ENCODED];
    int old_len;
    chiso_dossier *old, *cur;
    int64_t max_at;
    int nevents, nreplayed, nchanged; /* events in the batch; fenced; that added a fact */
} cl_item;

struct cl_batch {
    cl_env env;
    int max;
    rd_kafka_message_t **msgs;
    int nmsgs;
    chiso_event *ev;
    int *ev_next, *ev_msg;
    int nev;
    cl_item *items;
    int nitems;
    int *table; /* open addressing: item index + 1, 0 = empty */
    int table_size;
    redisContext *rc;
    char sha[41];
    const char *prefix;
    int64_t ttl_seconds;
    /* outputs awaiting delivery */
    int outstanding;
    int delivery_failed;
    /* units already registered in <prefix>:units by this process */
    uint64_t *units_seen;
    int units_seen_size, units_seen_count;
    /* metrics */
    chiso_counter *m_consumed, *m_applied, *m_duplicates, *m_replayed, *m_conflicts,
        *m_redis_errors, *m_batches, *m_class_changes, *m_committed;
    chiso_counter *m_dead[CHISO_REJECT_REASON_COUNT];
    chiso_histogram *m_latency, *m_batch_seconds;
};

static const double latency_bounds[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
                                        0.2,   0.5,   1,     2,    5,    10,   30};

cl_batch *cl_batch_new(const cl_env *env, int max)
{
    cl_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->env = *env;
    b->max = max;
    b->table_size = 1;
    while (b->table_size < max * 2)
        b->table_size <<= 1;
    b->msgs = calloc((size_t)max, sizeof(*b->msgs));
    b->ev = calloc((size_t)max, sizeof(*b->ev));
    b->ev_next = calloc((size_t)max, sizeof(int));
    b->ev_msg = calloc((size_t)max, sizeof(int));
    b->items = calloc((size_t)max, sizeof(*b->items));
    b->table = calloc((size_t)b->table_size, sizeof(int));
    b->units_seen_size = 4096;
    b->units_seen = calloc((size_t)b->units_seen_size, sizeof(uint64_t));
    if (!b->msgs || !b->ev || !b->ev_next || !b->ev_msg || !b->items || !b->table || !b->units_seen)
        goto err;
    for (int i = 0; i < max; i++) {
        b->items[i].old = chiso_dossier_new();
        b->items[i].cur = chiso_dossier_new();
        if (!b->items[i].old || !b->items[i].cur)
            goto err;
    }
    b->prefix = chiso_config_str(env->cfg, "redis.prefix");
    b->ttl_seconds = chiso_config_int(env->cfg, "state.ttl.s");

    chiso_metrics *m = env->metrics;
    b->m_consumed = chiso_metrics_counter(m, "chiso_classify_consumed_total",
                                          "Records consumed from dossier.events");
    b->m_applied = chiso_metrics_counter(m, "chiso_classify_applied_total",
                                         "Events that changed a dossier's facts");
    b->m_duplicates = chiso_metrics_counter(m, "chiso_classify_duplicates_total",
                                            "Events that added no new fact (duplicates)");
    b->m_replayed = chiso_metrics_counter(m, "chiso_classify_replayed_total",
                                          "Events skipped by the offset fence (replays)");
    b->m_conflicts = chiso_metrics_counter(m, "chiso_classify_conflicts_total",
                                           "Compare-and-set conflicts retried");
    b->m_redis_errors =
        chiso_metrics_counter(m, "chiso_classify_redis_errors_total", "Redis failures (retried)");
    b->m_batches = chiso_metrics_counter(m, "chiso_classify_batches_total", "Batches committed");
    b->m_class_changes =
        chiso_metrics_counter(m, "chiso_classify_class_changes_total", "Class changes published");
    b->m_committed = chiso_metrics_counter(m, "chiso_classify_committed_total",
                                           "Records whose offsets were committed");
    for (int r = 1; r < CHISO_REJECT_REASON_COUNT; r++) {
        char name[128];
        snprintf(name, sizeof(name), "chiso_classify_deadletter_total{reason=\"%s\"}",
                 chiso_reject_code((chiso_reject_reason)r));
        b->m_dead[r] = chiso_metrics_counter(m, name, "Records dead-lettered, by reason");
    }
    b->m_latency = chiso_metrics_histogram(
        m, "chiso_classify_latency_seconds",
        "From the record's Kafka timestamp to its effect acknowledged by Redis", latency_bounds,
        (int)(sizeof(latency_bounds) / sizeof(latency_bounds[0])));
    b->m_batch_seconds = chiso_metrics_histogram(
        m, "chiso_classify_batch_seconds", "Time to process one batch", latency_bounds,
        (int)(sizeof(latency_bounds) / sizeof(latency_bounds[0])));
    return b;
err:
    cl_batch_destroy(b);
    return NULL;
}

static void batch_reset(cl_batch *b)
{
    for (int i = 0; i < b->nmsgs; i++)
        rd_kafka_message_destroy(b->msgs[i]);
    b->nmsgs = 0;
    memset(b->table, 0, (size_t)b->table_size * sizeof(int));
    b->nitems = 0;
    b->nev = 0;
}

void cl_batch_destroy(cl_batch *b)
{
    if (!b)
        return;
    if (b->msgs)
        batch_reset(b);
    if (b->items) {
        for (int i = 0; i < b->max; i++) {
            chiso_dossier_free(b->items[i].old);
            chiso_dossier_free(b->items[i].cur);
        }
    }
    if (b->rc)
        redisFree(b->rc);
    free(b->msgs);
    free(b->ev);
    free(b->ev_next);
    free(b->ev_msg);
    free(b->items);
    free(b->table);
    free(b->units_seen);
    free(b);
}

void cl_batch_add(cl_batch *b, rd_kafka_message_t *msg)
{
    b->msgs[b->nmsgs++] = msg;
}

int cl_batch_count(const cl_batch *b)
{
    return b->nmsgs;
}

bool cl_batch_full(const cl_batch *b)
{
    return b->nmsgs >= b->max;
}

/* ---- outputs ---- */

/* Called from the producer's delivery report with the message opaque. */
void cl_batch_on_delivery(void *opaque, rd_kafka_resp_err_t err);
void cl_batch_on_delivery(void *opaque, rd_kafka_resp_err_t err)
{
    cl_batch *b = opaque;
    if (!b)
        return;
    b->outstanding--;
    if (err) {
        b->delivery_failed++;
        LOG_ERROR("output delivery failed: %s", rd_kafka_err2str(err));
    }
}

/* Produce one record (the payload is malloc'd and handed to librdkafka). */
static int produce(cl_batch *b, const char *topic, const void *key, size_t keylen, char *payload)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            b->env.producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_VALUE(payload, strlen(payload)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
            RD_KAFKA_V_OPAQUE(b), RD_KAFKA_V_END);
        if (!err) {
            b->outstanding++;
            return 0;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            LOG_ERROR("produce to %s: %s", topic, rd_kafka_err2str(err));
            free(payload);
            return CHISO_EIO;
        }
        rd_kafka_poll(b->env.producer, 10);
    }
}

static int dead_letter(cl_batch *b, const rd_kafka_message_t *msg, const chiso_reject *rej)
{
    char *json = chiso_deadletter_json(rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset,
                                       rej, msg->payload, msg->len, time(NULL));
    if (!json)
        return CHISO_ENOMEM;
    LOG_DEBUG("dead letter %s [%d] @%lld: %s: %s", rd_kafka_topic_name(msg->rkt), msg->partition,
              (long long)msg->offset, chiso_reject_code(rej->reason), rej->detail);
    chiso_counter_add(b->m_dead[rej->reason], 1);
    return produce(b, b->env.topic_deadletter, msg->key, msg->key_len, json);
}

static int publish_class_change(cl_batch *b, cl_item *it, chiso_class old_class, bool old_prov,
                                chiso_class new_class, bool new_prov)
{
    char at[CHISO_TIME_STRLEN];
    chiso_class_facts facts;
    unsigned failed = 0;
    char reasons[160] = "";
    static const char *names[] = {"not_online", "payment", "no_e_result", "return", "requirement"};

    chiso_dossier_class_facts(it->cur, &facts);
    chiso_classify(&facts, &failed);
    for (int i = 0; i < 5; i++) {
        if (failed & (1u << i)) {
            size_t len = strlen(reasons);
            snprintf(reasons + len, sizeof(reasons) - len, "%s\"%s\"", len ? "," : "", names[i]);
        }
    }
    chiso_time_format(it->max_at, at);
    char *json = malloc(512);
    if (!json)
        return CHISO_ENOMEM;
    snprintf(json, 512,
             "{\"v\":1,\"dossier_id\":\"%s\",\"unit\":\"%s\",\"procedure\":\"%s\","
             "\"class\":\"%s\",\"provisional\":%s,\"previous\":%s%s%s,"
             "\"previous_provisional\":%s,\"failed\":[%s],\"at\":\"%s\"}",
             it->dossier_id, it->unit, chiso_dossier_procedure(it->cur),
             chiso_class_name(new_class), new_prov ? "true" : "false",
             old_class == CHISO_CLASS_NONE ? "" : "\"",
             old_class == CHISO_CLASS_NONE ? "null" : chiso_class_name(old_class),
             old_class == CHISO_CLASS_NONE ? "" : "\"", old_prov ? "true" : "false", reasons, at);
    chiso_counter_add(b->m_class_changes, 1);
    return produce(b, b->env.topic_classified, it->dossier_id, strlen(it->dossier_id), json);
}

/* ---- grouping ---- */

static cl_item *find_or_add(cl_batch *b, const chiso_event *ev, int32_t partition)
{
    uint64_t h = chiso_hash64(ev->dossier_id, strlen(ev->dossier_id)) ^
                 (chiso_hash64(ev->unit, strlen(ev->unit)) * 31);
    int mask = b->table_size - 1;
    for (int slot = (int)(h & (uint64_t)mask);; slot = (slot + 1) & mask) {
        int idx = b->table[slot];
        if (idx == 0) {
            cl_item *it = &b->items[b->nitems];
            b->table[slot] = ++b->nitems;
            memcpy(it->unit, ev->unit, sizeof(it->unit));
            memcpy(it->dossier_id, ev->dossier_id, sizeof(it->dossier_id));
            it->keylen = snprintf(it->key, sizeof(it->key), "%s:{%s}:d:%s", b->prefix, ev->unit,
                                  ev->dossier_id);
            it->head = it->tail = -1;
            it->partition = partition;
            it->pending = true;
            it->sent = it->applied = false;
            it->max_at = 0;
            it->nevents = it->nreplayed = it->nchanged = 0;
            return it;
        }
        cl_item *it = &b->items[idx - 1];
        if (strcmp(it->dossier_id, ev->dossier_id) == 0 && strcmp(it->unit, ev->unit) == 0)
            return it;
    }
}

/* ---- Redis ---- */

static int redis_ready(cl_batch *b)
{
    char errstr[256];
    if (b->rc)
        return 0;
    b->rc = chiso_redis_connect(b->env.cfg, errstr, sizeof(errstr));
    if (!b->rc) {
        LOG_WARN("%s", errstr);
        return CHISO_EIO;
    }
    redisReply *r = redisCommand(b->rc, "SCRIPT LOAD %s", LUA_APPLY);
    if (chiso_redis_check(b->rc, r, errstr, sizeof(errstr)) != 0 || r->type != REDIS_REPLY_STRING) {
        LOG_WARN("loading the apply script: %s", errstr);
        if (r)
            freeReplyObject(r);
        redisFree(b->rc);
        b->rc = NULL;
        return CHISO_EIO;
    }
    snprintf(b->sha, sizeof(b->sha), "%s", r->str);
    freeReplyObject(r);
    LOG_INFO("connected to Redis %s:%lld", chiso_config_str(b->env.cfg, "redis.host"),
             (long long)chiso_config_int(b->env.cfg, "redis.port"));
    return 0;
}

static void redis_drop(cl_batch *b, const char *why)
{
    LOG_WARN("Redis: %s; reconnecting", why);
    chiso_counter_add(b->m_redis_errors, 1);
    if (b->rc)
        redisFree(b->rc);
    b->rc = NULL;
}

/* One aggregated counter change for the Lua call. */
typedef struct change {
    int key; /* index into keys[] */
    chiso_counter_id counter;
    long long delta;
} change;

/* Queue the EVALSHA for an item whose facts changed. */
static void append_apply(cl_batch *b, cl_item *it, const unsigned char *enc, int enclen)
{
    chiso_contrib oldc[CHISO_CONTRIB_MAX], newc[CHISO_CONTRIB_MAX];
    chiso_delta deltas[CHISO_CONTRIB_MAX * 2];
    char keys[MAX_CHANGES][KEY_MAX];
    char months[MAX_CHANGES][CHISO_PERIOD_STRLEN];
    change ch[MAX_CHANGES];
    int nkeys = 0, nch = 0, nmonths = 0;

    int nold = chiso_dossier_contrib(it->old, oldc);
    int nnew = chiso_dossier_contrib(it->cur, newc);
    int nd = chiso_contrib_diff(oldc, nold, newc, nnew, deltas);

    for (int i = 0; i < nd; i++) {
        for (int kind = 0; kind < CHISO_PERIOD_KINDS; kind++) {
            char pk[CHISO_PERIOD_STRLEN], key[KEY_MAX];
            chiso_period_key(deltas[i].day, (chiso_period_kind)kind, pk);
            snprintf(key, sizeof(key), "%s:{%s}:c:%s", b->prefix, it->unit, pk);
            int k = 0;
            while (k < nkeys && strcmp(keys[k], key) != 0)
                k++;
            if (k == nkeys) {
                memcpy(keys[nkeys++], key, sizeof(key));
                if (kind == CHISO_PERIOD_MONTH)
                    memcpy(months[nmonths++], pk, sizeof(pk));
            }
            int c = 0;
            while (c < nch && !(ch[c].key == k && ch[c].counter == deltas[i].counter))
                c++;
            if (c == nch) {
                ch[nch].key = k;
                ch[nch].counter = deltas[i].counter;
                ch[nch].delta = 0;
                nch++;
            }
            ch[c].delta += deltas[i].delta;
        }
    }

    /* EVALSHA sha numkeys state counters... months-index expected new ttl n (i f d)... m... */
    int argc_max = 4 + 1 + nkeys + 1 + 4 + 3 * nch + nmonths;
    const char *argv[4 + 1 + MAX_CHANGES + 1 + 4 + 3 * MAX_CHANGES + MAX_CHANGES];
    size_t argvlen[sizeof(argv) / sizeof(argv[0])];
    char numkeys[16], ttl[24], nchs[16], idx[MAX_CHANGES][12], delta[MAX_CHANGES][24];
    char months_key[KEY_MAX];
    int a = 0;
    (void)argc_max;

#define ARG(s, len)                                                                                \
    do {                                                                                           \
        argv[a] = (const char *)(s);                                                               \
        argvlen[a] = (size_t)(len);                                                                \
        a++;                                                                                       \
    } while (0)
#define ARGS(s) ARG(s, strlen(s))

    snprintf(numkeys, sizeof(numkeys), "%d", nkeys + 2);
    snprintf(months_key, sizeof(months_key), "%s:{%s}:months", b->prefix, it->unit);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)b->ttl_seconds);
    snprintf(nchs, sizeof(nchs), "%d", nch);
    ARGS("EVALSHA");
    ARGS(b->sha);
    ARGS(numkeys);
    ARG(it->key, it->keylen);
    for (int k = 0; k < nkeys; k++)
        ARGS(keys[k]);
    ARGS(months_key);
    ARG(it->old_enc, it->old_len);
    ARG(enc, enclen);
    ARGS(ttl);
    ARGS(nchs);
    for (int c = 0; c < nch; c++) {
        snprintf(idx[c], sizeof(idx[c]), "%d", ch[c].key + 2);
        snprintf(delta[c], sizeof(delta[c]), "%lld", ch[c].delta);
        ARGS(idx[c]);
        ARGS(chiso_counter_name(ch[c].counter));
        ARGS(delta[c]);
    }
    for (int m = 0; m < nmonths; m++)
        ARGS(months[m]);
#undef ARG
#undef ARGS
    redisAppendCommandArgv(b->rc, a, argv, argvlen);
    it->sent = true;
}

/* Mark the periods an item's deltas touched as dirty, for the snapshot sink. */
static void collect_dirty(cl_batch *b, cl_item *it, char ***members, int *n, int *cap)
{
    chiso_contrib oldc[CHISO_CONTRIB_MAX], newc[CHISO_CONTRIB_MAX];
    chiso_delta deltas[CHISO_CONTRIB_MAX * 2];
    int nold = chiso_dossier_contrib(it->old, oldc);
    int nnew = chiso_dossier_contrib(it->cur, newc);
    int nd = chiso_contrib_diff(oldc, nold, newc, nnew, deltas);

    (void)b;
    for (int i = 0; i < nd; i++) {
        for (int kind = CHISO_PERIOD_MONTH; kind <= CHISO_PERIOD_YEAR; kind++) {
            char pk[CHISO_PERIOD_STRLEN], member[CHISO_CODE_MAX + CHISO_PERIOD_STRLEN + 2];
            chiso_period_key(deltas[i].day, (chiso_period_kind)kind, pk);
            snprintf(member, sizeof(member), "%s|%s", it->unit, pk);
            bool seen = false;
            for (int k = *n - 1; k >= 0 && k >= *n - 64 && !seen; k--)
                seen = strcmp((*members)[k], member) == 0;
            if (seen)
                continue;
            if (*n == *cap) {
                int ncap = *cap ? *cap * 2 : 256;
                char **grown = realloc(*members, (size_t)ncap * sizeof(char *));
                if (!grown)
                    return;
                *members = grown;
                *cap = ncap;
            }
            (*members)[(*n)++] = strdup(member);
        }
    }
}

static bool unit_seen(cl_batch *b, const char *unit)
{
    uint64_t h = chiso_hash64(unit, strlen(unit)) | 1;
    int mask = b->units_seen_size - 1;
    for (int s = (int)(h & (uint64_t)mask);; s = (s + 1) & mask) {
        if (b->units_seen[s] == h)
            return true;
        if (b->units_seen[s] == 0) {
            if (b->units_seen_count * 2 < b->units_seen_size) {
                b->units_seen[s] = h;
                b->units_seen_count++;
            }
            return false;
        }
    }
}

/* One round: read states, merge, write changed ones. Returns 0 or CHISO_EIO. */
static int apply_round(cl_batch *b)
{
    redisReply *r = NULL;
    int npending = 0;

    for (int i = 0; i < b->nitems; i++) {
        cl_item *it = &b->items[i];
        if (!it->pending)
            continue;
        redisAppendCommand(b->rc, "GET %b", it->key, (size_t)it->keylen);
        npending++;
    }
    for (int i = 0; i < b->nitems; i++) {
        cl_item *it = &b->items[i];
        if (!it->pending)
            continue;
        if (redisGetReply(b->rc, (void **)&r) != REDIS_OK || !r) {
            redis_drop(b, b->rc->errstr);
            return CHISO_EIO;
        }
        if (r->type == REDIS_REPLY_NIL) {
            it->old_len = 0;
            chiso_dossier_reset(it->old);
        } else if (r->type == REDIS_REPLY_STRING && r->len <= CHISO_DOSSIER_MAX_ENCODED &&
                   chiso_dossier_decode(it->old, r->str, r->len) == 0) {
            memcpy(it->old_enc, r->str, r->len);
            it->old_len = (int)r->len;
        } else {
            /* Never guess: a state we cannot read would make counters wrong. */
            LOG_ERROR("state %s in Redis is not a chiso dossier state (type %d); refusing to "
                      "apply over it",
                      it->key, r->type);
            freeReplyObject(r);
            return CHISO_ESTATE;
        }
        freeReplyObject(r);
    }

    int nsent = 0;
    for (int i = 0; i < b->nitems; i++) {
        cl_item *it = &b->items[i];
        unsigned char enc[CHISO_DOSSIER_MAX_ENCODED];
        bool changed = false;
        if (!it->pending)
            continue;
        chiso_dossier_copy(it->cur, it->old);
        it->nevents = it->nreplayed = it->nchanged = 0;
        it->max_at = 0;
        int64_t max_offset = -1;
        for (int e = it->head; e >= 0; e = b->ev_next[e]) {
            const rd_kafka_message_t *msg = b->msgs[b->ev_msg[e]];
            it->nevents++;
            if (chiso_dossier_fenced(it->old, msg->partition, msg->offset)) {
                it->nreplayed++;
                continue;
            }
            if (chiso_dossier_apply(it->cur, &b->ev[e])) {
                changed = true;
                it->nchanged++;
            }
            if (b->ev[e].at > it->max_at)
                it->max_at = b->ev[e].at;
            if (msg->offset > max_offset)
                max_offset = msg->offset;
        }
        it->sent = false;
        if (!changed) {
            it->pending = false; /* nothing new: no write at all */
            it->applied = false;
            continue;
        }
        chiso_dossier_set_fence(it->cur, it->partition, max_offset);
        int enclen = chiso_dossier_encode(it->cur, enc, sizeof(enc));
        if (enclen < 0)
            return CHISO_ERANGE;
        append_apply(b, it, enc, enclen);
        nsent++;
    }

    for (int i = 0; i < b->nitems && nsent > 0; i++) {
        cl_item *it = &b->items[i];
        if (!it->pending || !it->sent)
            continue;
        if (redisGetReply(b->rc, (void **)&r) != REDIS_OK || !r) {
            redis_drop(b, b->rc->errstr);
            return CHISO_EIO;
        }
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
            it->pending = false;
            it->applied = true;
        } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
            chiso_counter_add(b->m_conflicts, 1);
        } else if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            /* Redis restarted without our script: reload it and retry. */
            freeReplyObject(r);
            for (i++; i < b->nitems; i++) {
                if (b->items[i].pending && b->items[i].sent &&
                    redisGetReply(b->rc, (void **)&r) == REDIS_OK && r)
                    freeReplyObject(r);
            }
            redis_drop(b, "apply script missing");
            return CHISO_EIO;
        } else {
            LOG_ERROR("apply %s: %s", it->key,
                      r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            for (i++; i < b->nitems; i++) {
                if (b->items[i].pending && b->items[i].sent &&
                    redisGetReply(b->rc, (void **)&r) == REDIS_OK && r)
                    freeReplyObject(r);
            }
            redis_drop(b, "apply failed");
            return CHISO_EIO;
        }
        freeReplyObject(r);
    }
    return 0;
}

/* Register new units and mark dirty periods: one pipelined round trip. */
static int publish_index(cl_batch *b, char **members, int nmembers)
{
    const char *argv[2 + 4096];
    size_t argvlen[2 + 4096];
    char key[KEY_MAX], units_key[KEY_MAX];
    int ncmd = 0, a;
    redisReply *r;

    snprintf(key, sizeof(key), "%s:dirty", b->prefix);
    snprintf(units_key, sizeof(units_key), "%s:units", b->prefix);
    for (int start = 0; start < nmembers; start += 4096) {
        a = 0;
        argv[a] = "SADD";
        argvlen[a++] = 4;
        argv[a] = key;
        argvlen[a++] = strlen(key);
        for (int i = start; i < nmembers && i < start + 4096; i++) {
            argv[a] = members[i];
            argvlen[a++] = strlen(members[i]);
        }
        redisAppendCommandArgv(b->rc, a, argv, argvlen);
        ncmd++;
    }
    for (int i = 0; i < b->nitems; i++) {
        cl_item *it = &b->items[i];
        if (it->applied && !unit_seen(b, it->unit)) {
            redisAppendCommand(b->rc, "SADD %s %s", units_key, it->unit);
            ncmd++;
        }
    }
    for (int i = 0; i < ncmd; i++) {
        if (redisGetReply(b->rc, (void **)&r) != REDIS_OK || !r) {
            redis_drop(b, b->rc->errstr);
            return CHISO_EIO;
        }
        freeReplyObject(r);
    }
    return 0;
}

static void backoff(cl_batch *b, int *delay_ms)
{
    for (int waited = 0; waited < *delay_ms && !*b->env.stop; waited += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        rd_kafka_poll(b->env.producer, 0);
    }
    *delay_ms = *delay_ms < 2000 ? *delay_ms * 2 : 2000;
}

static int commit(cl_batch *b, bool sync)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < b->nmsgs; i++) {
        rd_kafka_message_t *m = b->msgs[i];
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(list, rd_kafka_topic_name(m->rkt), m->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(list, rd_kafka_topic_name(m->rkt), m->partition);
        if (tp->offset < m->offset + 1)
            tp->offset = m->offset + 1;
    }
    rd_kafka_resp_err_t err = rd_kafka_commit(b->env.consumer, list, sync ? 0 : 1);
    rd_kafka_topic_partition_list_destroy(list);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        /* Not fatal: the records will be consumed again and fenced. */
        LOG_WARN("offset commit: %s", rd_kafka_err2str(err));
    }
    return 0;
}

int cl_batch_process(cl_batch *b, bool sync_commit)
{
    int64_t t0 = chiso_now_mono_us();
    int rc = 0, delay = 50;
    char **dirty = NULL;
    int ndirty = 0, capdirty = 0;

    if (b->nmsgs == 0)
        return 0;
    b->delivery_failed = 0;

    /* 1. parse; group the good events by dossier; dead-letter the rest */
    for (int i = 0; i < b->nmsgs; i++) {
        rd_kafka_message_t *m = b->msgs[i];
        chiso_reject rej;
        chiso_event *ev = &b->ev[b->nev];
        if (chiso_event_parse(m->payload ? m->payload : "", m->len, ev, &rej) != 0) {
            if ((rc = dead_letter(b, m, &rej)) != 0)
                goto out;
            continue;
        }
        cl_item *it = find_or_add(b, ev, m->partition);
        b->ev_msg[b->nev] = i;
        b->ev_next[b->nev] = -1;
        if (it->tail >= 0)
            b->ev_next[it->tail] = b->nev;
        else
            it->head = b->nev;
        it->tail = b->nev;
        b->nev++;
    }
    chiso_counter_add(b->m_consumed, (uint64_t)b->nmsgs);

    /* 2. apply to Redis, retrying failures; conflicts repeat the round */
    for (;;) {
        bool pending = false;
        for (int i = 0; i < b->nitems && !pending; i++)
            pending = b->items[i].pending;
        if (!pending)
            break;
        if (*b->env.stop && delay > 50) {
            rc = CHISO_EIO; /* stopping while Redis is away: leave uncommitted */
            goto out;
        }
        if (redis_ready(b) != 0) {
            backoff(b, &delay);
            continue;
        }
        rc = apply_round(b);
        if (rc == CHISO_ESTATE || rc == CHISO_ERANGE)
            goto out;
        if (rc != 0)
            backoff(b, &delay);
        rc = 0;
    }

    /* 3. outputs: class changes, dirty index, metrics */
    uint64_t applied = 0, duplicates = 0, replayed = 0;
    for (int i = 0; i < b->nitems; i++) {
        cl_item *it = &b->items[i];
        replayed += (uint64_t)it->nreplayed;
        if (!it->applied) {
            duplicates += (uint64_t)(it->nevents - it->nreplayed);
            continue;
        }
        applied += (uint64_t)it->nchanged;
        duplicates += (uint64_t)(it->nevents - it->nreplayed - it->nchanged);
        bool op, np;
        chiso_class oc = chiso_dossier_class(it->old, &op);
        chiso_class nc = chiso_dossier_class(it->cur, &np);
        if (chiso_dossier_empty(it->old))
            oc = CHISO_CLASS_NONE;
        if (nc != CHISO_CLASS_NONE && (oc != nc || op != np) &&
            (rc = publish_class_change(b, it, oc, op, nc, np)) != 0)
            goto out;
        collect_dirty(b, it, &dirty, &ndirty, &capdirty);
    }
    chiso_counter_add(b->m_applied, applied);
    chiso_counter_add(b->m_duplicates, duplicates);
    chiso_counter_add(b->m_replayed, replayed);
    delay = 50;
    while (ndirty > 0 || applied > 0) {
        if (redis_ready(b) == 0 && publish_index(b, dirty, ndirty) == 0)
            break;
        if (*b->env.stop) {
            rc = CHISO_EIO;
            goto out;
        }
        backoff(b, &delay);
    }

    /* 4. wait until every output is delivered, then commit */
    while (b->outstanding > 0)
        rd_kafka_poll(b->env.producer, 10);
    if (b->delivery_failed) {
        LOG_ERROR("%d output records were not delivered; offsets not committed",
                  b->delivery_failed);
        rc = CHISO_EIO;
        goto out;
    }
    commit(b, sync_commit);
    chiso_counter_add(b->m_committed, (uint64_t)b->nmsgs);
    chiso_counter_add(b->m_batches, 1);
    int64_t now_ms = chiso_now_wall_ms();
    for (int i = 0; i < b->nmsgs; i++) {
        rd_kafka_timestamp_type_t tstype;
        int64_t ts = rd_kafka_message_timestamp(b->msgs[i], &tstype);
        if (ts > 0 && tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
            chiso_histogram_observe(b->m_latency, (double)(now_ms - ts) / 1000.0);
    }
    chiso_histogram_observe(b->m_batch_seconds, (double)(chiso_now_mono_us() - t0) / 1e6);
out:
    for (int i = 0; i < ndirty; i++)
        free(dirty[i]);
    free(dirty);
    while (b->outstanding > 0)
        rd_kafka_poll(b->env.producer, 10);
    batch_reset(b);
    return rc;
}
