/*
 * apply.c - applying a batch of feedback events to Redis (apply.h).
 *
 * Redis layout (docs/feedback.md; {U} is the unit code as the hash tag, so
 * one unit's keys share a slot, ARCHITECTURE.md invariant 4):
 *   <prefix>:{U}:f:<feedback_id>  string  the feedback's state (feedback.h)
 *   <prefix>:{U}:c:<period>       hash    the unit's counters of a day,
 *                                         month, quarter or year; feedback
 *                                         counters are the fb_* fields, next
 *                                         to chiso-classify's dossier ones
 *   <prefix>:{U}:months           set     months that have counters
 *   <prefix>:units                set     units seen
 *   <prefix>:dirty                set     "<unit>|<period>" to snapshot again
 *
 * Round trips per batch, whatever its size: one pipelined MGET per unit,
 * one pipelined EVAL per unit with changes (the atomic compare-and-set of
 * the unit's states plus its summed counter changes and month index), one
 * pipelined SADD per unit for the dirty index plus one for the unit set.
 * A conflict (a state written by someone else between the read and the
 * call, e.g. another instance during a rebalance) repeats the round for
 * the units concerned only.
 *
 * The dirty index is written after the counters (so the snapshot sink never
 * pops a member before the change it announces) and covers the periods of
 * every feedback the batch touched, changed or not: replaying records whose
 * effects were written just before a crash still announces their periods.
 */
#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/consumer.h"
#include "chiso/feedback.h"
#include "chiso/kafka.h"
#include "chiso/redisargs.h"
#include "chiso/redisx.h"
#include "chiso/txn.h"
#include "chiso/strmap.h"
#include "chiso/vntime.h"

/*
 * The atomic apply of one unit. KEYS[1] = the unit's month index; KEYS[2 ..
 * 1+np] = counter hashes; KEYS[2+np .. 1+np+ns] = feedback states. ARGV[1] =
 * ns, ARGV[2] = np, ARGV[3] = number of counter changes; then per state the
 * encoding as read ("" when absent) and the new one; then per change: hash
 * index (1..np), field, delta; then the months to index. Returns 1 when
 * everything was written, 0 (writing nothing) when a state changed since it
 * was read.
 */
static const char LUA_APPLY[] =
    "local ns, np, nch = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "for i = 1, ns do\n"
    "  local cur = redis.call('GET', KEYS[1 + np + i]) or ''\n"
    "  if cur ~= ARGV[2 + 2 * i] then return 0 end\n"
    "end\n"
    "for i = 1, ns do redis.call('SET', KEYS[1 + np + i], ARGV[3 + 2 * i]) end\n"
    "local a = 4 + 2 * ns\n"
    "for _ = 1, nch do\n"
    "  redis.call('HINCRBY', KEYS[1 + tonumber(ARGV[a])], ARGV[a + 1], ARGV[a + 2])\n"
    "  a = a + 3\n"
    "end\n"
    "for i = a, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end\n"
    "return 1\n";

#define KEY_MAX    256 /* prefix (<= FB_PREFIX_MAX), unit and feedback id fit */
#define SADD_CHUNK 1000

_Static_assert(FB_PREFIX_MAX + sizeof(":{}:f:") + CHISO_CODE_MAX + CHISO_ID_MAX < KEY_MAX,
               "every key fits KEY_MAX");

/* The events of one feedback in the batch, and its state. */
typedef struct fb_item {
    char key[KEY_MAX];
    int keylen;
    const char *unit;      /* the unit of its first event */
    int next;              /* next item of the same unit, -1 = last */
    int head, tail;        /* its events: indices into ev[], chained by ev_next[] */
    chiso_feedback *first; /* the state as first read by this batch */
    chiso_feedback *old;   /* ... as read in the latest round */
    chiso_feedback *cur;   /* old with the batch's events merged */
    bool read;             /* first is set */
    unsigned char old_enc[CHISO_FEEDBACK_MAX_ENCODED];
    unsigned char new_enc[CHISO_FEEDBACK_MAX_ENCODED];
    int old_len, new_len;
    bool changed;
    int napplied, nduplicates; /* events that added a fact, or nothing */
    chiso_fb_delta deltas[CHISO_FB_DELTA_MAX];
    int ndeltas;
} fb_item;

/* The feedbacks of one unit: written by one atomic call. */
typedef struct fb_group {
    const char *unit;
    int head, tail; /* items, chained by next */
    bool pending;   /* not applied yet */
    bool sent;      /* its call is in this round's pipeline */
} fb_group;

/* A counter change in one period (or, with counter 0 and delta 0, a period
 * to mark dirty): sorted, then summed. */
typedef struct fb_change {
    int32_t first_day;
    uint8_t kind;
    uint8_t counter;
    int delta;
} fb_change;

struct fb_batch {
    fb_env env;
    int max;
    const char *prefix;
    rd_kafka_message_t **msgs;
    int nmsgs;
    chiso_feedback_event *ev;
    int *ev_next;
    int nev;
    fb_item *items;
    int nitems;
    fb_group *groups;
    int ngroups;
    chiso_map *item_of;  /* state key -> item index + 1 */
    chiso_map *group_of; /* unit -> group index + 1 */
    fb_change *changes;
    int nchanges, capchanges;
    chiso_rargs *args;
    chiso_redis *rc;                          /* NULL while disconnected */
    rd_kafka_topic_partition_list_t *offsets; /* the batch's, after its last records */
    int *rejected, nrejected;                 /* records that are not feedback events, and why */
    chiso_reject *rejects;
    chiso_counter *m_consumed, *m_applied, *m_duplicates, *m_conflicts, *m_redis_errors, *m_batches,
        *m_committed;
    chiso_histogram *m_latency;
};

static const double latency_bounds[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
                                        0.2,   0.5,   1,     2,    5,    10,   30};

fb_batch *fb_batch_new(const fb_env *env, int max)
{
    fb_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->env = *env;
    b->max = max;
    b->prefix = chiso_config_str(env->cfg, "redis.prefix");
    b->msgs = calloc((size_t)max, sizeof(*b->msgs));
    b->ev = calloc((size_t)max, sizeof(*b->ev));
    b->ev_next = calloc((size_t)max, sizeof(*b->ev_next));
    b->items = calloc((size_t)max, sizeof(*b->items));
    b->groups = calloc((size_t)max, sizeof(*b->groups));
    b->args = chiso_rargs_new();
    b->rejected = calloc((size_t)max, sizeof(*b->rejected));
    b->rejects = calloc((size_t)max, sizeof(*b->rejects));
    if (!b->msgs || !b->ev || !b->ev_next || !b->items || !b->groups || !b->args || !b->rejected ||
        !b->rejects)
        goto err;
    for (int i = 0; i < max; i++) {
        b->items[i].first = chiso_feedback_new();
        b->items[i].old = chiso_feedback_new();
        b->items[i].cur = chiso_feedback_new();
        if (!b->items[i].first || !b->items[i].old || !b->items[i].cur)
            goto err;
    }

    chiso_metrics *m = env->metrics;
    b->m_consumed = chiso_metrics_counter(m, "chiso_feedback_consumed_total",
                                          "Records consumed from feedback.events");
    b->m_applied = chiso_metrics_counter(m, "chiso_feedback_applied_total",
                                         "Events that changed a feedback's facts");
    b->m_duplicates = chiso_metrics_counter(m, "chiso_feedback_duplicates_total",
                                            "Events that added no new fact (duplicates, replays)");
    b->m_conflicts = chiso_metrics_counter(m, "chiso_feedback_conflicts_total",
                                           "Compare-and-set conflicts retried");
    b->m_redis_errors =
        chiso_metrics_counter(m, "chiso_feedback_redis_errors_total", "Redis failures (retried)");
    b->m_batches = chiso_metrics_counter(m, "chiso_feedback_batches_total", "Batches committed");
    b->m_committed = chiso_metrics_counter(m, "chiso_feedback_committed_total",
                                           "Records whose offsets were committed");
    b->m_latency = chiso_metrics_histogram(
        m, "chiso_feedback_latency_seconds",
        "From the record's Kafka timestamp to its effect acknowledged by Redis", latency_bounds,
        (int)(sizeof(latency_bounds) / sizeof(latency_bounds[0])));
    return b;
err:
    fb_batch_destroy(b);
    return NULL;
}

/* Empty the batch: messages destroyed, lookups dropped. */
static void batch_reset(fb_batch *b)
{
    for (int i = 0; i < b->nmsgs; i++)
        rd_kafka_message_destroy(b->msgs[i]);
    b->nmsgs = b->nev = b->nitems = b->ngroups = 0;
    if (b->offsets)
        rd_kafka_topic_partition_list_destroy(b->offsets);
    b->offsets = NULL;
    chiso_map_destroy(b->item_of);
    chiso_map_destroy(b->group_of);
    b->item_of = b->group_of = NULL;
}

void fb_batch_destroy(fb_batch *b)
{
    if (!b)
        return;
    if (b->msgs)
        batch_reset(b);
    for (int i = 0; b->items && i < b->max; i++) {
        chiso_feedback_free(b->items[i].first);
        chiso_feedback_free(b->items[i].old);
        chiso_feedback_free(b->items[i].cur);
    }
    if (b->rc)
        chiso_redis_close(b->rc);
    chiso_rargs_free(b->args);
    free(b->msgs);
    free(b->ev);
    free(b->rejected);
    free(b->rejects);
    free(b->ev_next);
    free(b->items);
    free(b->groups);
    free(b->changes);
    free(b);
}

void fb_batch_add(fb_batch *b, rd_kafka_message_t *msg)
{
    b->msgs[b->nmsgs++] = msg;
}

int fb_batch_count(const fb_batch *b)
{
    return b->nmsgs;
}

bool fb_batch_full(const fb_batch *b)
{
    return b->nmsgs >= b->max;
}

/* ---- grouping ------------------------------------------------------------- */

/* The item of event e's feedback (created, and chained into its unit's
 * group, when new), or NULL on out of memory. */
static fb_item *item_for(fb_batch *b, const chiso_feedback_event *ev)
{
    char key[KEY_MAX];
    int created, keylen;

    keylen = snprintf(key, sizeof(key), "%s:{%s}:f:%s", b->prefix, ev->unit, ev->feedback_id);
    chiso_map_entry *e = chiso_map_put(b->item_of, key, &created);
    if (!e)
        return NULL;
    if (!created)
        return &b->items[e->u64 - 1];
    fb_item *it = &b->items[b->nitems];
    e->u64 = (uint64_t)++b->nitems;
    memcpy(it->key, key, (size_t)keylen + 1);
    it->keylen = keylen;
    it->unit = ev->unit;
    it->head = it->tail = it->next = -1;
    it->read = false;

    chiso_map_entry *g = chiso_map_put(b->group_of, ev->unit, &created);
    if (!g)
        return NULL;
    if (created) {
        fb_group *grp = &b->groups[b->ngroups];
        g->u64 = (uint64_t)++b->ngroups;
        grp->unit = ev->unit;
        grp->head = grp->tail = -1;
        grp->pending = true;
        grp->sent = false;
    }
    fb_group *grp = &b->groups[g->u64 - 1];
    if (grp->tail >= 0)
        b->items[grp->tail].next = (int)(it - b->items);
    else
        grp->head = (int)(it - b->items);
    grp->tail = (int)(it - b->items);
    return it;
}

/* ---- Redis ---------------------------------------------------------------- */

static void redis_drop(fb_batch *b, const char *why)
{
    LOG_WARN("Redis: %s; reconnecting", why);
    chiso_counter_add(b->m_redis_errors, 1);
    if (b->rc)
        chiso_redis_close(b->rc);
    b->rc = NULL;
}

/* Read and free the next n replies after a failure, so the connection can be
 * dropped cleanly. */
static void drain_replies(fb_batch *b, int n)
{
    redisReply *r;
    for (int i = 0; i < n; i++) {
        if (chiso_redis_get_reply(b->rc, &r) != REDIS_OK || !r)
            return;
        freeReplyObject(r);
    }
}

/* The next pipelined reply, or NULL after dropping a broken connection. */
static redisReply *next_reply(fb_batch *b)
{
    redisReply *r = NULL;
    if (chiso_redis_get_reply(b->rc, &r) != REDIS_OK || !r) {
        redis_drop(b, chiso_redis_errstr(b->rc));
        return NULL;
    }
    return r;
}

/* A reply the pipeline did not expect: log it, read the `left` replies still
 * queued, drop the connection. Returns CHISO_EIO (reconnect and retry). */
static int reply_failed(fb_batch *b, redisReply *r, const char *what, const char *unit, int left)
{
    LOG_ERROR("%s for unit %s: %s", what, unit,
              r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    drain_replies(b, left);
    redis_drop(b, "unexpected reply");
    return CHISO_EIO;
}

/* ---- changes and periods -------------------------------------------------- */

static int change_push(fb_batch *b, int32_t first_day, int kind, int counter, int delta)
{
    if (b->nchanges == b->capchanges) {
        int cap = b->capchanges ? b->capchanges * 2 : 1024;
        fb_change *grown = realloc(b->changes, (size_t)cap * sizeof(*grown));
        if (!grown)
            return CHISO_ENOMEM;
        b->changes = grown;
        b->capchanges = cap;
    }
    b->changes[b->nchanges++] = (fb_change){first_day, (uint8_t)kind, (uint8_t)counter, delta};
    return 0;
}

/* Push a change for every period of kinds kind_from..YEAR containing day. */
static int change_push_periods(fb_batch *b, int32_t day, int kind_from, int counter, int delta)
{
    for (int kind = kind_from; kind < CHISO_PERIOD_KINDS; kind++) {
        chiso_period p = chiso_period_of(day, (chiso_period_kind)kind);
        if (change_push(b, p.first_day, kind, counter, delta) != 0)
            return CHISO_ENOMEM;
    }
    return 0;
}

static int change_cmp(const void *pa, const void *pb)
{
    const fb_change *a = pa, *c = pb;
    if (a->kind != c->kind)
        return a->kind < c->kind ? -1 : 1;
    if (a->first_day != c->first_day)
        return a->first_day < c->first_day ? -1 : 1;
    return (a->counter > c->counter) - (a->counter < c->counter);
}

/* Sort the changes and sum those of the same period and counter; unless
 * keep_zero (dirty periods carry delta 0), drop the sums that are zero. */
static void changes_sum(fb_batch *b, bool keep_zero)
{
    int n = 0, kept = 0;
    qsort(b->changes, (size_t)b->nchanges, sizeof(*b->changes), change_cmp);
    for (int i = 0; i < b->nchanges; i++) {
        if (n > 0 && change_cmp(&b->changes[n - 1], &b->changes[i]) == 0)
            b->changes[n - 1].delta += b->changes[i].delta;
        else
            b->changes[n++] = b->changes[i];
    }
    for (int i = 0; i < n; i++) {
        if (keep_zero || b->changes[i].delta != 0)
            b->changes[kept++] = b->changes[i];
    }
    b->nchanges = kept;
}

static bool same_period(const fb_change *a, const fb_change *c)
{
    return a->kind == c->kind && a->first_day == c->first_day;
}

/* ---- one round ------------------------------------------------------------ */

/* Merge the batch's events of one feedback into its state as read. */
static int merge_item(fb_batch *b, fb_item *it)
{
    chiso_feedback_copy(it->cur, it->old);
    it->napplied = it->nduplicates = 0;
    for (int e = it->head; e >= 0; e = b->ev_next[e]) {
        if (chiso_feedback_apply(it->cur, &b->ev[e]))
            it->napplied++;
        else
            it->nduplicates++;
    }
    it->changed = !chiso_feedback_equal(it->cur, it->old);
    it->ndeltas = 0;
    if (!it->changed)
        return 0;
    it->new_len = chiso_feedback_encode(it->cur, it->new_enc, sizeof(it->new_enc));
    if (it->new_len < 0)
        return CHISO_ERANGE;
    it->ndeltas = chiso_feedback_diff(it->old, it->cur, it->deltas);
    return 0;
}

/* Queue the atomic call of a group whose feedbacks changed. */
static int append_apply(fb_batch *b, fb_group *g)
{
    chiso_rargs *a = b->args;
    int ns = 0, np = 0, rc = 0;
    char pk[CHISO_PERIOD_STRLEN];

    b->nchanges = 0;
    for (int i = g->head; i >= 0; i = b->items[i].next) {
        const fb_item *it = &b->items[i];
        ns += it->changed;
        for (int d = 0; d < it->ndeltas; d++) {
            if (change_push_periods(b, it->deltas[d].day, CHISO_PERIOD_DAY, it->deltas[d].counter,
                                    it->deltas[d].delta) != 0)
                return CHISO_ENOMEM;
        }
    }
    changes_sum(b, false);
    for (int i = 0; i < b->nchanges; i++)
        np += i == 0 || !same_period(&b->changes[i - 1], &b->changes[i]);

    chiso_rargs_reset(a);
    rc |= chiso_rargs_ref(a, "EVAL", 4);
    rc |= chiso_rargs_ref(a, LUA_APPLY, sizeof(LUA_APPLY) - 1);
    rc |= chiso_rargs_int(a, 1 + np + ns);
    rc |= chiso_rargs_key(a, b->prefix, g->unit, "months");
    for (int i = 0; i < b->nchanges; i++) {
        if (i > 0 && same_period(&b->changes[i - 1], &b->changes[i]))
            continue;
        chiso_period_key(b->changes[i].first_day, (chiso_period_kind)b->changes[i].kind, pk);
        rc |= chiso_rargs_fmt(a, "%s:{%s}:c:%s", b->prefix, g->unit, pk);
    }
    for (int i = g->head; i >= 0; i = b->items[i].next) {
        if (b->items[i].changed)
            rc |= chiso_rargs_ref(a, b->items[i].key, (size_t)b->items[i].keylen);
    }
    rc |= chiso_rargs_int(a, ns);
    rc |= chiso_rargs_int(a, np);
    rc |= chiso_rargs_int(a, b->nchanges);
    for (int i = g->head; i >= 0; i = b->items[i].next) {
        const fb_item *it = &b->items[i];
        if (!it->changed)
            continue;
        rc |= chiso_rargs_ref(a, it->old_enc, (size_t)it->old_len);
        rc |= chiso_rargs_ref(a, it->new_enc, (size_t)it->new_len);
    }
    for (int i = 0, k = 0; i < b->nchanges; i++) {
        const fb_change *c = &b->changes[i];
        k += i == 0 || !same_period(&b->changes[i - 1], c);
        const char *field = chiso_fb_counter_name((chiso_fb_counter_id)c->counter);
        rc |= chiso_rargs_int(a, k);
        rc |= chiso_rargs_ref(a, field, strlen(field));
        rc |= chiso_rargs_int(a, c->delta);
    }
    /* every month with a day change: a month-level change implies one */
    for (int i = 0; i < b->nchanges && b->changes[i].kind == CHISO_PERIOD_DAY; i++) {
        chiso_period m = chiso_period_of(b->changes[i].first_day, CHISO_PERIOD_MONTH);
        if (i > 0 && chiso_period_of(b->changes[i - 1].first_day, CHISO_PERIOD_MONTH).first_day ==
                         m.first_day)
            continue;
        chiso_period_key(m.first_day, CHISO_PERIOD_MONTH, pk);
        rc |= chiso_rargs_fmt(a, "%s", pk);
    }
    if (rc)
        return CHISO_ENOMEM;
    if (chiso_rargs_append(b->rc, a) != REDIS_OK)
        return CHISO_ENOMEM;
    g->sent = true;
    return 0;
}

/* Read the states of the pending groups (one MGET each). */
static int read_states(fb_batch *b)
{
    int nqueued = 0;
    for (int g = 0; g < b->ngroups; g++) {
        fb_group *grp = &b->groups[g];
        if (!grp->pending)
            continue;
        chiso_rargs_reset(b->args);
        int rc = chiso_rargs_ref(b->args, "MGET", 4);
        for (int i = grp->head; i >= 0; i = b->items[i].next)
            rc |= chiso_rargs_ref(b->args, b->items[i].key, (size_t)b->items[i].keylen);
        if (rc || chiso_rargs_append(b->rc, b->args) != REDIS_OK)
            return CHISO_ENOMEM;
        nqueued++;
    }
    for (int g = 0; g < b->ngroups; g++) {
        fb_group *grp = &b->groups[g];
        if (!grp->pending)
            continue;
        nqueued--;
        redisReply *r = next_reply(b);
        if (!r)
            return CHISO_EIO;
        if (r->type != REDIS_REPLY_ARRAY)
            return reply_failed(b, r, "MGET", grp->unit, nqueued);
        size_t k = 0;
        for (int i = grp->head; i >= 0; i = b->items[i].next, k++) {
            fb_item *it = &b->items[i];
            const redisReply *e = k < r->elements ? r->element[k] : NULL;
            if (e && e->type == REDIS_REPLY_NIL) {
                chiso_feedback_reset(it->old);
                it->old_len = 0;
            } else if (e && e->type == REDIS_REPLY_STRING && e->len <= sizeof(it->old_enc) &&
                       chiso_feedback_decode(it->old, e->str, e->len) == 0) {
                memcpy(it->old_enc, e->str, e->len);
                it->old_len = (int)e->len;
            } else {
                /* never guess: applying over a state we cannot read would
                 * make the counters wrong */
                LOG_ERROR("%s in Redis is not a chiso feedback state; refusing to apply over it",
                          it->key);
                freeReplyObject(r);
                drain_replies(b, nqueued);
                return CHISO_ESTATE;
            }
            if (!it->read)
                chiso_feedback_copy(it->first, it->old);
            it->read = true;
        }
        freeReplyObject(r);
    }
    return 0;
}

/* One round: read the pending units' states, merge, send each changed
 * unit's atomic call, read the answers. A unit whose compare-and-set failed
 * stays pending. Returns 0, CHISO_EIO (connection dropped), or a fatal code. */
static int apply_round(fb_batch *b)
{
    int rc, nsent = 0;

    if ((rc = read_states(b)) != 0)
        return rc;
    for (int g = 0; g < b->ngroups; g++) {
        fb_group *grp = &b->groups[g];
        bool any = false;
        grp->sent = false;
        if (!grp->pending)
            continue;
        for (int i = grp->head; i >= 0; i = b->items[i].next) {
            if ((rc = merge_item(b, &b->items[i])) != 0)
                return rc;
            any |= b->items[i].changed;
        }
        if (!any) {
            grp->pending = false; /* nothing new: nothing to write */
            continue;
        }
        if ((rc = append_apply(b, grp)) != 0)
            return rc;
        nsent++;
    }
    for (int g = 0; g < b->ngroups; g++) {
        fb_group *grp = &b->groups[g];
        if (!grp->sent)
            continue;
        nsent--;
        redisReply *r = next_reply(b);
        if (!r)
            return CHISO_EIO;
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
            grp->pending = false;
        } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
            chiso_counter_add(b->m_conflicts, 1); /* read and merge again */
        } else {
            return reply_failed(b, r, "apply", grp->unit, nsent);
        }
        freeReplyObject(r);
    }
    return 0;
}

/* Apply every group, round after round until none is pending. */
static int apply_all(fb_batch *b)
{
    for (;;) {
        bool pending = false;
        for (int g = 0; g < b->ngroups && !pending; g++)
            pending = b->groups[g].pending;
        if (!pending)
            return 0;
        int rc = apply_round(b);
        if (rc != 0)
            return rc;
    }
}

/* Queue SADD <prefix>:dirty of every period (month, quarter, year) of the
 * contributions of a group's feedbacks: as first read, as read last (our
 * own write when its reply was lost), and as written. Returns how many
 * commands were queued, or CHISO_ENOMEM. */
static int append_dirty(fb_batch *b, const fb_group *g, const char *dirty_key)
{
    int32_t days[CHISO_FBC_COUNT];
    char pk[CHISO_PERIOD_STRLEN];
    int ncmd = 0, rc = 0;

    b->nchanges = 0;
    for (int i = g->head; i >= 0; i = b->items[i].next) {
        const chiso_feedback *states[3] = {b->items[i].first, b->items[i].old, b->items[i].cur};
        for (int side = 0; side < 3; side++) {
            chiso_feedback_contrib(states[side], days);
            for (int c = 0; c < CHISO_FBC_COUNT; c++) {
                if (days[c] != CHISO_FB_NO_DAY &&
                    change_push_periods(b, days[c], CHISO_PERIOD_MONTH, 0, 0) != 0)
                    return CHISO_ENOMEM;
            }
        }
    }
    changes_sum(b, true);
    for (int i = 0; i < b->nchanges; i++) {
        if (chiso_rargs_count(b->args) == 0) {
            rc |= chiso_rargs_ref(b->args, "SADD", 4);
            rc |= chiso_rargs_ref(b->args, dirty_key, strlen(dirty_key));
        }
        chiso_period_key(b->changes[i].first_day, (chiso_period_kind)b->changes[i].kind, pk);
        rc |= chiso_rargs_fmt(b->args, "%s|%s", g->unit, pk);
        if (chiso_rargs_count(b->args) == 2 + SADD_CHUNK || i + 1 == b->nchanges) {
            if (rc || chiso_rargs_append(b->rc, b->args) != REDIS_OK)
                return CHISO_ENOMEM;
            ncmd++;
        }
    }
    return rc ? CHISO_ENOMEM : ncmd;
}

/* Announce the batch's periods to the snapshot sink and register its units.
 * Idempotent: retried whole after a failure. */
static int mark_dirty(fb_batch *b)
{
    char dirty_key[KEY_MAX], units_key[KEY_MAX];
    int ncmd = 0, rc = 0;

    snprintf(dirty_key, sizeof(dirty_key), "%s:dirty", b->prefix);
    snprintf(units_key, sizeof(units_key), "%s:units", b->prefix);
    chiso_rargs_reset(b->args);
    for (int g = 0; g < b->ngroups; g++) {
        int n = append_dirty(b, &b->groups[g], dirty_key);
        if (n < 0)
            return n;
        ncmd += n;
    }
    if (b->ngroups > 0) {
        rc |= chiso_rargs_ref(b->args, "SADD", 4);
        rc |= chiso_rargs_ref(b->args, units_key, strlen(units_key));
        for (int g = 0; g < b->ngroups; g++)
            rc |= chiso_rargs_ref(b->args, b->groups[g].unit, strlen(b->groups[g].unit));
        if (rc || chiso_rargs_append(b->rc, b->args) != REDIS_OK)
            return CHISO_ENOMEM;
        ncmd++;
    }
    for (int i = 0; i < ncmd; i++) {
        redisReply *r = next_reply(b);
        if (!r)
            return CHISO_EIO;
        if (r->type == REDIS_REPLY_ERROR)
            return reply_failed(b, r, "SADD", "index", ncmd - i - 1);
        freeReplyObject(r);
    }
    return 0;
}

/* The batch's applied marker (applied.h), behind its writes: where Redis
 * keeps it, it keeps them. */
static int mark_applied(fb_batch *b)
{
    int n = chiso_applied_append(b->env.applied, b->rc, b->offsets);
    if (n <= 0)
        return n;
    for (int i = 0; i < n; i++) { /* one marker per master */
        redisReply *r = next_reply(b);
        if (!r)
            return CHISO_EIO;
        if (r->type == REDIS_REPLY_ERROR)
            return reply_failed(b, r, "HSET", "applied marker", n - i - 1);
        freeReplyObject(r);
    }
    chiso_applied_acked(b->env.applied, b->offsets);
    return 0;
}

/* Run `step` until it succeeds, reconnecting to Redis with backoff while it
 * fails with CHISO_EIO; after a (re)connection, first check that Redis
 * holds what it acknowledged (applied.h: CHISO_EREWIND when it did not and
 * the consumer was sought back). Gives up (CHISO_EIO) when stopping after a
 * failure; other errors are fatal and returned at once. */
static int with_redis(fb_batch *b, int (*step)(fb_batch *))
{
    char errstr[256];
    int delay_ms = 50;
    bool failed = false;

    for (;;) {
        if (*b->env.stop && failed)
            return CHISO_EIO;
        if (!b->rc) {
            b->rc = chiso_redis_open(b->env.cfg, errstr, sizeof(errstr));
            if (b->rc) {
                LOG_INFO("connected to Redis %s:%lld", chiso_config_str(b->env.cfg, "redis.host"),
                         (long long)chiso_config_int(b->env.cfg, "redis.port"));
                chiso_applied_unverify(b->env.applied);
            } else {
                LOG_WARN("%s", errstr);
            }
        }
        if (b->rc) {
            int rc = chiso_applied_verify(b->env.applied, b->rc, b->env.consumer);
            if (rc == 0)
                rc = step(b);
            else if (rc == CHISO_EIO && chiso_redis_failed(b->rc))
                redis_drop(b, chiso_redis_errstr(b->rc));
            if (rc != CHISO_EIO)
                return rc;
        }
        failed = true;
        chiso_backoff(NULL, b->env.stop, &delay_ms);
    }
}

/* ---- a batch -------------------------------------------------------------- */

/* Dead-letter, in the open transaction, the rejected records whose outputs
 * are not committed yet (a replay below the committed offset, after Redis
 * lost writes, produces nothing). */
static int deadletters(fb_batch *b, int64_t now)
{
    int rc = 0;
    for (int r = 0; r < b->nrejected && rc == 0; r++) {
        const rd_kafka_message_t *m = b->msgs[b->rejected[r]];
        if (m->offset >=
            chiso_applied_boundary(b->env.applied, rd_kafka_topic_name(m->rkt), m->partition))
            rc = chiso_txn_deadletter(b->env.txn, b->env.topic_deadletter, m, &b->rejects[r], now);
    }
    return rc;
}

int fb_batch_process(fb_batch *b, bool sync_commit)
{
    int rc = 0;
    int64_t now = (int64_t)time(NULL);
    (void)sync_commit; /* every batch commits its transaction before returning */

    if (b->nmsgs == 0)
        return 0;
    b->item_of = chiso_map_new();
    b->group_of = chiso_map_new();
    if (!b->item_of || !b->group_of) {
        rc = CHISO_ENOMEM;
        goto out;
    }

    /* 1. parse; group the good events by feedback and unit; the rest are rejected */
    b->nrejected = 0;
    for (int i = 0; i < b->nmsgs; i++) {
        const rd_kafka_message_t *m = b->msgs[i];
        chiso_feedback_event *ev = &b->ev[b->nev];
        if (chiso_feedback_event_parse(m->payload, m->len, ev, &b->rejects[b->nrejected]) != 0) {
            b->rejected[b->nrejected++] = i;
            continue;
        }
        fb_item *it = item_for(b, ev);
        if (!it) {
            rc = CHISO_ENOMEM;
            goto out;
        }
        b->ev_next[b->nev] = -1;
        if (it->tail >= 0)
            b->ev_next[it->tail] = b->nev;
        else
            it->head = b->nev;
        it->tail = b->nev++;
    }
    chiso_counter_add(b->m_consumed, (uint64_t)b->nmsgs);

    /* 2. the atomic calls, then the dirty index, then the applied marker */
    if (!(b->offsets = chiso_consumer_offsets(b->msgs, b->nmsgs))) {
        rc = CHISO_ENOMEM;
        goto out;
    }
    if ((rc = with_redis(b, apply_all)) != 0 || (rc = with_redis(b, mark_dirty)) != 0 ||
        (rc = with_redis(b, mark_applied)) != 0)
        goto out;

    int64_t now_ms = chiso_now_wall_ms();
    uint64_t applied = 0, duplicates = 0;
    for (int i = 0; i < b->nmsgs; i++) {
        rd_kafka_timestamp_type_t tstype;
        int64_t ts = rd_kafka_message_timestamp(b->msgs[i], &tstype);
        if (ts > 0 && tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
            chiso_histogram_observe(b->m_latency, (double)(now_ms - ts) / 1000.0);
    }
    for (int i = 0; i < b->nitems; i++) {
        applied += (uint64_t)b->items[i].napplied;
        duplicates += (uint64_t)b->items[i].nduplicates;
    }
    chiso_counter_add(b->m_applied, applied);
    chiso_counter_add(b->m_duplicates, duplicates);

    /* 3. the dead letters and the offsets, in one Kafka transaction (a
     * replay below the commit commits nothing lower) */
    if ((rc = deadletters(b, now)) == 0) {
        chiso_applied_clamp(b->env.applied, b->offsets);
        rc = chiso_txn_commit(b->env.txn, b->offsets);
    }
    if (rc != 0)
        goto out;
    chiso_applied_committed(b->env.applied, b->offsets);
    chiso_counter_add(b->m_committed, (uint64_t)b->nmsgs);
    chiso_counter_add(b->m_batches, 1);
out:
    if (rc != 0) {
        /* nothing of the batch is committed: consume it again (after a
         * Redis rewind the consumer was sought already) */
        chiso_txn_abort(b->env.txn);
        if (rc == CHISO_EABORTED)
            rc = chiso_applied_rewind(b->env.applied, b->env.consumer) == 0 ? CHISO_EREWIND
                                                                            : CHISO_EIO;
    }
    batch_reset(b);
    return rc;
}
