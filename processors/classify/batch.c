/*
 * batch.c - applying a batch of dossier events to Redis (see batch.h).
 *
 * One round trip per batch when all goes well: the states the batch merges
 * over come from the in-memory state cache (statecache.h; a dossier not in
 * it is taken as new), and one pipelined EVALSHA per unit writes them with
 * a compare-and-set, the dirty-unit index riding in the same pipeline; then
 * outputs are awaited and offsets committed. A compare-and-set conflict (a
 * stale or missing cache entry, another consumer during a rebalance) returns
 * the states Redis holds, and only the unit concerned is merged again and
 * written in a second round.
 */
#include "batch.h"
#include "folder.h"
#include "reaper.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/consumer.h"
#include "chiso/counters.h"
#include "chiso/deadletter.h"
#include "chiso/dossier.h"
#include "chiso/event.h"
#include "chiso/journal.h"
#include "chiso/kafka.h"
#include "chiso/emit.h"
#include "chiso/tail.h"
#include "chiso/txn.h"
#include "chiso/redisargs.h"
#include "chiso/redisx.h"
#include "statecache.h"
#include "chiso/vntime.h"

/*
 * The atomic apply, one call per unit and batch: every changed dossier of
 * the unit, compare-and-set, with the counter and procedure-membership
 * changes (dossier.h) summed over them and appended to the unit's journal
 * (journal.h) in the same call.
 * KEYS[1] = the unit's month index; KEYS[2] = its due index (open dossiers
 * by first overdue day); KEYS[3] = its alerted hash (alerts.h); KEYS[4] =
 * its journal; KEYS[5] = its reap list (reaper.h); then the dossier states:
 * no open ones and nt that are not open (both written, neither expires:
 * the reaper deletes what the retention no longer keeps), nk only checked
 * (unchanged, not written).
 * ARGV[1..5] = no, nt, nk, number of due-index additions, of removals;
 * ARGV[6] = the mark a journal this call creates begins with (journal.h);
 * then per state two: the state merged over ("" when absent) and the new
 * one ("" when only checked); then the due-index additions (score, dossier
 * id), the removals (dossier id), the nt reap list entries ("<day>:<dossier
 * id>", one per state written that is not open), the journal lines (""
 * for none) and the months to index.
 * Returns the journal's length (1 when nothing was appended) when
 * everything was applied; when some state is not the one merged over,
 * changes nothing and returns every state as Redis holds it.
 * Writes are batched into one command each where Redis has one (MSET, ZADD,
 * ZREM, HDEL, RPUSH, APPEND): inside a script every command, and every
 * field it writes, is where Redis spends its time; a key's expiry would
 * take one command per key (docs/benchmarks.md).
 */
static const char LUA_APPLY[] =
    "local no, nt, nk = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local nz, nr = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local ns, first = no + nt + nk, 6\n"
    "local cur = redis.call('MGET', unpack(KEYS, first, first + ns - 1))\n"
    "for i = 1, ns do\n"
    "  if (cur[i] or '') ~= ARGV[5 + 2 * i] then return cur end\n"
    "end\n"
    "if no + nt > 0 then\n"
    "  local mset = {}\n"
    "  for i = 1, no + nt do mset[2 * i - 1] = KEYS[first + i - 1]; mset[2 * i] = ARGV[6 + 2 * i] "
    "end\n"
    "  redis.call('MSET', unpack(mset))\n"
    "end\n"
    "local a = 7 + 2 * ns\n"
    "if nz > 0 then redis.call('ZADD', KEYS[2], unpack(ARGV, a, a + 2 * nz - 1)) end\n"
    "a = a + 2 * nz\n"
    "if nr > 0 then\n"
    "  redis.call('ZREM', KEYS[2], unpack(ARGV, a, a + nr - 1))\n"
    "  redis.call('HDEL', KEYS[3], unpack(ARGV, a, a + nr - 1))\n"
    "end\n"
    "a = a + nr\n"
    "if nt > 0 then redis.call('RPUSH', KEYS[5], unpack(ARGV, a, a + nt - 1)) end\n"
    "a = a + nt\n"
    "local len = 1\n"
    "if ARGV[a] ~= '' then\n"
    "  if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[4], ARGV[6]) end\n"
    "  len = redis.call('APPEND', KEYS[4], ARGV[a])\n"
    "end\n"
    "if a < #ARGV then redis.call('SADD', KEYS[1], unpack(ARGV, a + 1)) end\n"
    "return len\n";

/* Raise the event-time watermark (the latest event time seen). */
static const char LUA_WATERMARK[] =
    "local c = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end\n"
    "return 1\n";

#define KEY_MAX 160
/* Dossiers written by one atomic call at most. They bound the entries of
 * a group in the aggregation table: its distinct changes, at most
 * GROUP_MAX * 2 * CHISO_CONTRIB_MAX * CHISO_PERIOD_KINDS = 43,200 of
 * counters and GROUP_MAX * 2 * CHISO_PROC_CONTRIB_MAX * 3 (month, quarter,
 * year) = 2,400 of procedure sets, plus at most as many entries marking
 * the months they change: 91,200 entries, 17.4% of the table (under 30%,
 * checked below), which open addressing keeps fast. */
#define GROUP_MAX 200
/* A round's queued Lua calls go out to Redis once they fill this much, so
 * Redis applies the first groups while the next ones are merged. */
#define FLUSH_BYTES (16 * 1024)
#define AGG_SIZE    (1 << 19)
#define AGG_ENTRIES_MAX                                                                            \
    (2 * GROUP_MAX * 2 * (CHISO_CONTRIB_MAX * CHISO_PERIOD_KINDS + CHISO_PROC_CONTRIB_MAX * 3))
_Static_assert(AGG_ENTRIES_MAX * 10 < AGG_SIZE * 3, "a group fills under 30% of the table");
/* The distinct procedures of a group's membership changes: two per
 * dossier at most (its procedure before and after), numbered in an open
 * addressing table kept under half full. */
#define PROC_MAX    (2 * GROUP_MAX)
#define PERIOD_MEMO 64 /* days whose periods are remembered */
#define PROC_TABLE  1024
_Static_assert(PROC_MAX * 2 <= PROC_TABLE, "the procedure table stays under half full");

/* What a batch keeps of an event's record, and its place among its
 * dossier's events: one cache line holds two (a merge reads them at random,
 * each of an item's events; in arrays of their own, each field was a wait
 * for memory). */
typedef struct cl_evmeta {
    int64_t offset;
    const char *topic;
    int32_t partition;
    int next;     /* the dossier's next event in the batch, -1 = last */
    int msg;      /* its record: an index into msgs[] */
    bool expired; /* of a dossier that expired: dead-lettered, not applied */
} cl_evmeta;

typedef struct cl_item {
    /* what every pass over the items reads, first: an item is five cache
     * lines, and a batch's items do not fit in the caches */
    bool loaded;   /* old holds the state merged over (cached, assumed new, or read) */
    bool verified; /* ... and it is known to be what Redis holds, or a part of it */
    bool pending;  /* changed: written this round */
    bool check;    /* unchanged but not verified: checked this round */
    bool sent, applied;
    int head, tail; /* events of this dossier: indices into ev[], chained by meta[].next */
    int unit_next;  /* next item of the same unit group, -1 = last */
    int32_t partition;
    int sent_pos; /* position among the group's states in its apply call */
    int run;      /* its run in that call (state_run), -1: not in it */
    int keylen;
    int old_len, new_len;
    int ndeltas, npdeltas;
    int nevents, nreplayed, nchanged; /* events in the batch; fenced; that added a fact */
    int nexpired;                     /* events dead-lettered as expired */
    uint64_t hash;                    /* of key, for the state cache */
    chiso_dossier *old, *cur;
    int64_t max_at;
    /* its records' offsets in the batch, fenced or not: the highest, and
     * the lowest at or above the partition's committed offset (INT64_MAX:
     * none), for the exactly-once rule of class changes (emit.h) */
    int64_t max_offset, min_high;
    int64_t old_due, new_due; /* due-index scores before and after (due_score) */
    chiso_emit emit;          /* the class change to publish, when emit.emit */
    /* in the batch's arena, in the order the passes make them: */
    char *key;                       /* its state key (state_key), keylen bytes */
    const unsigned char *old_enc;    /* the state merged over, old_len bytes */
    const unsigned char *new_enc;    /* the state written, new_len bytes */
    const chiso_delta *deltas;       /* counter changes from old to cur */
    const chiso_proc_delta *pdeltas; /* membership changes */
    char unit[CHISO_CODE_MAX + 1];
    char dossier_id[CHISO_ID_MAX + 1];
} cl_item;

/* The bytes of a batch's items that vary in length (states, changes, keys),
 * kept until the batch ends in blocks that never move and are kept for the
 * next batch. In an item, room for the longest of them made it over 2 KB,
 * and a batch's items were a hundred megabytes waiting for memory at each
 * pass; here they are packed in the order the passes read them. */
typedef struct arena_block {
    struct arena_block *next;
    size_t size, used;
    unsigned char *data;
} arena_block;

typedef struct cl_arena {
    arena_block *head, *cur;
} cl_arena;

/* The dossiers of one unit in the batch: written in one atomic call. */
typedef struct cl_group {
    const char *unit;   /* points into its first item */
    uint64_t unit_hash; /* of unit (never 0): its key in units_seen, months_seen */
    int head, tail;     /* items, chained by unit_next */
    int nitems;
    bool pending, sent;
    /* this round merged an event the dossier's state was already fenced
     * past: a replay after a crash, whose first apply may have reached
     * Redis without the dirty marks and unit registration queued behind it,
     * so they are written again (hints: a spare one costs a recomputation) */
    bool touched;
    int months_at, nmonths; /* months its apply call indexes: in sent_months[] */
} cl_group;

/* A set of 64-bit hashes (0 = an empty slot), kept at most half full: past
 * that, nothing more is remembered and the writes it saves are made again,
 * which is harmless. */
typedef struct seen_set {
    uint64_t *slot;
    int size, count; /* size: a power of two */
} seen_set;

/* One aggregated change of a group: hash, period and field, packed as a
 * key of the aggregation table (agg_key). */
typedef struct agg_slot {
    uint64_t key; /* 0 = empty */
    long long delta;
} agg_slot;

/* The first days of a day's periods, by kind: a batch's events fall on few
 * days, and a period's bounds are calendar arithmetic. */
typedef struct period_memo {
    int32_t day;
    bool valid;
    int32_t first[CHISO_PERIOD_KINDS];
} period_memo;

/* A period's key ("2025-07", "2025-Q3"): a batch's journal lines name the
 * same few periods again and again. */
typedef struct period_name {
    int32_t first;
    int kind; /* -1: empty */
    char key[CHISO_PERIOD_STRLEN];
} period_name;

struct cl_batch {
    cl_env env;
    int max;
    rd_kafka_message_t **msgs;
    int nmsgs;
    chiso_event *ev;
    cl_evmeta *meta;                  /* one per event */
    uint64_t *ev_hash, *ev_unit_hash; /* of its (unit, dossier) and its unit (event_hashes) */
    int nev;
    cl_item *items;
    cl_arena arena; /* their keys, states and changes */
    int nitems;
    int items_ready; /* items[0 .. items_ready - 1] have their two dossiers */
    int *table;      /* open addressing: item index + 1, 0 = empty */
    int table_size;
    cl_group *groups;
    int ngroups;
    int *gtable; /* open addressing: group index + 1 */
    agg_slot *agg;
    int agg_size;
    int *agg_used;
    int nagg;
    char *journal; /* a group's journal lines (journal.h) */
    size_t journal_size;
    /* folds the journals that grow past fold_bytes, beside the batch loop */
    cl_folder *folder;
    cl_reaper *reaper; /* NULL without a retention */
    long long fold_bytes;
    /* a group's distinct procedures, by number (proc_number) */
    const char *proc_code[PROC_MAX];
    int proc_slot[PROC_MAX]; /* ... and their slots in proc_table */
    int proc_table[PROC_TABLE];
    int nproc;
    chiso_rargs *args; /* the command being built */
    char **dirty;      /* "<unit>|<period>" changed by this batch */
    int ndirty, capdirty;
    chiso_redis *rc;
    char sha[41];
    chiso_statecache *cache;
    const char *prefix;
    size_t prefix_len;
    period_memo periods[PERIOD_MEMO];
    period_name period_names[PERIOD_MEMO];
    int64_t retention_s; /* states not open are kept this long (retention.days) */
    /* the batch's offsets (each partition's last + 1): its applied marker,
     * then its flight's commit; marked once Redis acknowledged the marker */
    rd_kafka_topic_partition_list_t *offsets;
    bool marked;
    int64_t watermark; /* latest event time seen (epoch seconds) */
    /* the batches applied since the last commit: their outputs are in the
     * open Kafka transaction (env.txn), their offsets (each partition's
     * next) go with it every commit.interval.ms */
    /* after Redis lost writes: "<unit>|<dossier>" -> the class (pub form)
     * dossier.classified's last committed record gives, read from the
     * topic; it beats what a state says of a change whose transaction began
     * below told_before (emit.h) */
    chiso_map *told;
    int64_t *told_before; /* by partition */
    int ntold_before;
    rd_kafka_topic_partition_list_t *pending;
    int pending_msgs, *rejected, nrejected;
    chiso_reject *rejects;
    int64_t commit_interval_us, committed_at;
    /* units registered in <prefix>:units, and (unit, month) pairs in the
     * unit's month index, acknowledged by Redis to this process: their
     * writes are not made again */
    seen_set units_seen, months_seen;
    int32_t *sent_months; /* first days of the months a round's calls index */
    int nsent_months, cap_sent_months;
    /* metrics */
    chiso_counter *m_consumed, *m_applied, *m_duplicates, *m_replayed, *m_conflicts,
        *m_redis_errors, *m_batches, *m_class_changes, *m_committed;
    chiso_histogram *m_latency, *m_wait, *m_batch_seconds, *m_redis_wait;
    double *obs_latency, *obs_wait; /* a batch's observations of the two, max each */
    int64_t *obs_ts;                /* ... and the records' timestamps they are from */
};

/* fine between 10 and 100 ms, where the latency targets lie, so that a
 * quantile interpolated inside a bucket is within a few ms */
static const double latency_bounds[] = {0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025,
                                        0.03,  0.04,  0.05,  0.06, 0.075, 0.1,  0.15,
                                        0.2,   0.5,   1,     2,    5,     10,   30};

static int seen_init(seen_set *set, int size)
{
    set->size = size;
    set->count = 0;
    set->slot = calloc((size_t)size, sizeof(uint64_t));
    return set->slot ? 0 : CHISO_ENOMEM;
}

static void seen_clear(seen_set *set)
{
    memset(set->slot, 0, (size_t)set->size * sizeof(uint64_t));
    set->count = 0;
}

static bool seen_has(const seen_set *set, uint64_t h)
{
    int mask = set->size - 1;
    for (int s = (int)(h & (uint64_t)mask);; s = (s + 1) & mask) {
        if (set->slot[s] == h)
            return true;
        if (set->slot[s] == 0)
            return false;
    }
}

static void seen_add(seen_set *set, uint64_t h)
{
    int mask = set->size - 1;
    if (set->count * 2 >= set->size)
        return;
    for (int s = (int)(h & (uint64_t)mask);; s = (s + 1) & mask) {
        if (set->slot[s] == h)
            return;
        if (set->slot[s] == 0) {
            set->slot[s] = h;
            set->count++;
            return;
        }
    }
}

#define ARENA_BLOCK (4u << 20) /* bytes; a block is in huge pages (chiso_calloc_huge) */
#define ARENA_ALIGN 8u

/* Room for n bytes (n <= ARENA_BLOCK) at the arena's end, not taken yet:
 * arena_take() takes what of it was used. NULL when out of memory. */
static void *arena_room(cl_arena *a, size_t n)
{
    while (!a->cur || a->cur->size - a->cur->used < n) {
        if (a->cur && a->cur->next) {
            a->cur = a->cur->next; /* emptied by arena_reset */
            continue;
        }
        arena_block *k = calloc(1, sizeof(*k));
        if (!k || !(k->data = chiso_calloc_huge(1, ARENA_BLOCK))) {
            free(k);
            return NULL;
        }
        k->size = ARENA_BLOCK;
        if (a->cur)
            a->cur->next = k;
        else
            a->head = k;
        a->cur = k;
    }
    return a->cur->data + a->cur->used;
}

/* Take n bytes of the room arena_room() gave (the next room starts aligned). */
static void arena_take(cl_arena *a, size_t n)
{
    a->cur->used += (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

/* Everything taken is free again; the blocks stay. */
static void arena_reset(cl_arena *a)
{
    for (arena_block *k = a->head; k; k = k->next)
        k->used = 0;
    a->cur = a->head;
}

static void arena_free(cl_arena *a)
{
    for (arena_block *k = a->head, *next; k; k = next) {
        next = k->next;
        chiso_free_huge(k->data);
        free(k);
    }
    a->head = a->cur = NULL;
}

/* A (unit, month) pair, from the group's unit_hash and the month's first
 * day. */
static uint64_t month_hash(uint64_t unit, int32_t first_day)
{
    return (unit ^ ((uint64_t)(uint32_t)first_day * 0x9e3779b97f4a7c15ull)) | 1;
}

cl_batch *cl_batch_new(const cl_env *env, int max)
{
    cl_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->env = *env;
    b->max = max;
    for (int i = 0; i < PERIOD_MEMO; i++)
        b->period_names[i].kind = -1;
    b->table_size = 1;
    while (b->table_size < max * 2)
        b->table_size <<= 1;
    b->msgs = calloc((size_t)max, sizeof(*b->msgs));
    b->ev = chiso_calloc_huge((size_t)max, sizeof(*b->ev));
    b->meta = calloc((size_t)max, sizeof(*b->meta));
    b->ev_hash = calloc((size_t)max, sizeof(uint64_t));
    b->ev_unit_hash = calloc((size_t)max, sizeof(uint64_t));
    b->items = chiso_calloc_huge((size_t)max, sizeof(*b->items));
    b->table = chiso_calloc_huge((size_t)b->table_size, sizeof(int));
    b->groups = chiso_calloc_huge((size_t)max, sizeof(*b->groups));
    b->gtable = chiso_calloc_huge((size_t)b->table_size, sizeof(int));
    b->agg_size = AGG_SIZE;
    b->agg = chiso_calloc_huge((size_t)b->agg_size, sizeof(*b->agg));
    b->agg_used = calloc((size_t)b->agg_size, sizeof(int));
    b->journal_size = 64 * 1024;
    b->journal = malloc(b->journal_size);
    if (!b->msgs || !b->ev || !b->meta || !b->ev_hash || !b->ev_unit_hash || !b->items ||
        !b->table || !b->groups || !b->gtable || !b->agg || !b->agg_used || !b->journal ||
        seen_init(&b->units_seen, 4096) != 0 || seen_init(&b->months_seen, 1 << 16) != 0)
        goto err;
    /* an item's two dossiers are allocated when a batch first reaches it
     * (find_or_add): at a steady rate batches stay small, and touching
     * every item of a large batch.max at start cost 0.4 s of CPU */
    b->args = chiso_rargs_new();
    if (!b->args)
        goto err;
    b->cache = chiso_statecache_new((size_t)chiso_config_int(env->cfg, "state.cache.mb") << 20);
    if (!b->cache)
        goto err;
    b->prefix = chiso_config_str(env->cfg, "redis.prefix");
    b->prefix_len = strlen(b->prefix);
    b->retention_s = chiso_config_int(env->cfg, "retention.days") * 86400;
    b->commit_interval_us = chiso_config_int(env->cfg, "commit.interval.ms") * 1000;
    b->fold_bytes = chiso_config_int(env->cfg, "journal.fold.kb") * 1024;

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
    b->m_batches =
        chiso_metrics_counter(m, "chiso_classify_batches_total", "Batches applied to Redis");
    b->m_class_changes =
        chiso_metrics_counter(m, "chiso_classify_class_changes_total", "Class changes published");
    b->m_committed = chiso_metrics_counter(m, "chiso_classify_committed_total",
                                           "Records whose offsets were committed");
    b->folder = cl_folder_new(
        env->cfg,
        chiso_metrics_counter(m, "chiso_classify_journal_folds_total",
                              "Journals grown past journal.fold.kb folded by classify"),
        chiso_metrics_counter(m, "chiso_classify_journal_folds_dropped_total",
                              "Requests to fold a journal dropped (queue full, Redis away)"));
    if (!b->folder)
        goto err;
    if (b->retention_s > 0 &&
        !(b->reaper = cl_reaper_new(
              env->cfg, env->consumer, env->topic_events, b->retention_s,
              (int)chiso_config_int(env->cfg, "reap.interval.ms"),
              chiso_metrics_counter(m, "chiso_classify_reaped_total",
                                    "States deleted by the reaper (past the retention)"))))
        goto err;
    b->ntold_before = 1024; /* partitions of dossier.events, by id */
    b->told_before = calloc((size_t)b->ntold_before, sizeof(*b->told_before));
    if (!b->told_before)
        goto err;
    b->obs_latency = calloc((size_t)max, sizeof(double));
    b->obs_wait = calloc((size_t)max, sizeof(double));
    b->obs_ts = calloc((size_t)max, sizeof(int64_t));
    if (!b->obs_latency || !b->obs_wait || !b->obs_ts)
        goto err;
    b->rejected = calloc((size_t)max, sizeof(int));
    b->rejects = calloc((size_t)max, sizeof(chiso_reject));
    if (!b->rejected || !b->rejects)
        goto err;
    b->m_latency = chiso_metrics_histogram(
        m, "chiso_classify_latency_seconds",
        "From the record's Kafka timestamp to its effect acknowledged by Redis", latency_bounds,
        (int)(sizeof(latency_bounds) / sizeof(latency_bounds[0])));
    b->m_wait = chiso_metrics_histogram(
        m, "chiso_classify_wait_seconds",
        "From the record's Kafka timestamp to the start of its batch's processing (the part of "
        "the latency spent in Kafka and waiting for the batch)",
        latency_bounds, (int)(sizeof(latency_bounds) / sizeof(latency_bounds[0])));
    b->m_batch_seconds = chiso_metrics_histogram(
        m, "chiso_classify_batch_seconds",
        "From the start of a batch to its outputs produced in the open transaction", latency_bounds,
        (int)(sizeof(latency_bounds) / sizeof(latency_bounds[0])));
    b->m_redis_wait = chiso_metrics_histogram(
        m, "chiso_classify_redis_wait_seconds",
        "A round of a batch from its last call queued to its last reply handled: mostly the "
        "wait for Redis (part of the batch's time)",
        latency_bounds, (int)(sizeof(latency_bounds) / sizeof(latency_bounds[0])));
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
    if (b->offsets)
        rd_kafka_topic_partition_list_destroy(b->offsets);
    b->offsets = NULL;
    memset(b->table, 0, (size_t)b->table_size * sizeof(int));
    memset(b->gtable, 0, (size_t)b->table_size * sizeof(int));
    b->nitems = 0;
    b->ngroups = 0;
    b->nev = 0;
    arena_reset(&b->arena);
    for (int i = 0; i < b->ndirty; i++)
        free(b->dirty[i]);
    b->ndirty = 0;
}

void cl_batch_destroy(cl_batch *b)
{
    if (!b)
        return;
    /* the threads first: a fold or reap call in progress completes */
    cl_reaper_destroy(b->reaper);
    cl_folder_destroy(b->folder);
    if (b->msgs)
        batch_reset(b);
    if (b->items) {
        for (int i = 0; i < b->items_ready; i++) {
            chiso_dossier_free(b->items[i].old);
            chiso_dossier_free(b->items[i].cur);
        }
    }
    if (b->rc)
        chiso_redis_close(b->rc);
    chiso_statecache_free(b->cache);
    free(b->msgs);
    chiso_free_huge(b->ev);
    free(b->meta);
    free(b->ev_hash);
    free(b->ev_unit_hash);
    chiso_free_huge(b->items);
    arena_free(&b->arena);
    chiso_free_huge(b->table);
    chiso_free_huge(b->groups);
    chiso_free_huge(b->gtable);
    chiso_free_huge(b->agg);
    free(b->agg_used);
    free(b->journal);
    chiso_rargs_free(b->args);
    free(b->dirty);
    if (b->pending)
        rd_kafka_topic_partition_list_destroy(b->pending);
    free(b->rejected);
    free(b->rejects);
    free(b->obs_latency);
    free(b->obs_wait);
    free(b->obs_ts);
    free(b->told_before);
    chiso_map_destroy(b->told);
    free(b->units_seen.slot);
    free(b->months_seen.slot);
    free(b->sent_months);
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

/* A bounded text being appended to; p reaches end when it overflowed. */
typedef struct text {
    char *p, *end;
} text;

static void put(text *t, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(t->end - t->p) > n) {
        memcpy(t->p, s, n);
        t->p += n;
    } else {
        t->p = t->end;
    }
}

/* Produce, in the open transaction, the class change the exactly-once rule
 * decided for the item (it->emit). The record is built by appending (a
 * printf of it was 5% of classify's instructions). */
static int publish_class_change(cl_batch *b, cl_item *it)
{
    char at[CHISO_TIME_STRLEN], json[512];
    unsigned failed = 0;
    static const char *names[] = {"not_online", "payment", "no_e_result", "return", "requirement"};
    chiso_class_facts facts;
    chiso_class nc = (chiso_class)(it->emit.cls & ~CHISO_PUB_PROVISIONAL);
    chiso_class oc = (chiso_class)(it->emit.prev & ~CHISO_PUB_PROVISIONAL);
    bool np = it->emit.cls & CHISO_PUB_PROVISIONAL, op = it->emit.prev & CHISO_PUB_PROVISIONAL;
    text t = {json, json + sizeof(json)};

    chiso_dossier_class_facts(it->cur, &facts);
    chiso_classify(&facts, &failed);
    chiso_time_format(it->max_at, at);
    /* the ids and codes are the contract's charsets: nothing to escape */
    put(&t, "{\"v\":1,\"dossier_id\":\"");
    put(&t, it->dossier_id);
    put(&t, "\",\"unit\":\"");
    put(&t, it->unit);
    put(&t, "\",\"procedure\":\"");
    put(&t, chiso_dossier_procedure(it->cur));
    put(&t, "\",\"class\":\"");
    put(&t, chiso_class_name(nc));
    put(&t,
        np ? "\",\"provisional\":true,\"previous\":" : "\",\"provisional\":false,\"previous\":");
    if (oc == CHISO_CLASS_NONE) {
        put(&t, "null");
    } else {
        put(&t, "\"");
        put(&t, chiso_class_name(oc));
        put(&t, "\"");
    }
    put(&t, op ? ",\"previous_provisional\":true,\"failed\":["
               : ",\"previous_provisional\":false,\"failed\":[");
    for (int i = 0, first = 1; i < 5; i++) {
        if (failed & (1u << i)) {
            put(&t, first ? "\"" : ",\"");
            put(&t, names[i]);
            put(&t, "\"");
            first = 0;
        }
    }
    put(&t, "],\"at\":\"");
    put(&t, at);
    put(&t, "\"}");
    if (t.p == t.end)
        return CHISO_ERANGE;
    chiso_counter_add(b->m_class_changes, 1);
    return chiso_txn_produce(b->env.txn, b->env.topic_classified, it->dossier_id,
                             strlen(it->dossier_id), json, (size_t)(t.p - json));
}

/* ---- grouping ---- */

/* A hash for this process's own tables (the batch's items, groups and
 * procedures, the state cache, the units and months seen): eight bytes a
 * turn, where chiso_hash64 (FNV-1a, whose values other stages keep) takes
 * one; nothing outside the process sees it. */
static uint64_t batch_hash(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 32);
}

/* Chain item `idx` into the group of its unit (of batch_hash h), creating
 * the group. */
static void add_to_group(cl_batch *b, int idx, uint64_t h)
{
    cl_item *it = &b->items[idx];
    int mask = b->table_size - 1;
    for (int slot = (int)(h & (uint64_t)mask);; slot = (slot + 1) & mask) {
        int g = b->gtable[slot];
        cl_group *grp = g ? &b->groups[g - 1] : NULL;
        if (grp && strcmp(grp->unit, it->unit) != 0)
            continue;
        if (!grp || grp->nitems == GROUP_MAX) {
            /* a new unit, or a full group: a busy unit gets several groups */
            grp = &b->groups[b->ngroups];
            b->gtable[slot] = ++b->ngroups;
            grp->unit = it->unit;
            grp->unit_hash = h | 1;
            grp->head = grp->tail = idx;
            grp->nitems = 1;
            grp->pending = true;
            grp->sent = false;
            return;
        }
        b->items[grp->tail].unit_next = idx;
        grp->tail = idx;
        grp->nitems++;
        return;
    }
}

/* "<prefix>:{<unit>}:d:<dossier>", the dossier's state key, in the arena;
 * its length, or -1 when out of memory. */
static int state_key(cl_batch *b, char **key, const char *unit, const char *dossier)
{
    size_t nu = strlen(unit), nd = strlen(dossier), n = b->prefix_len;
    size_t size = n + nu + nd + 7; /* ":{", "}:d:" and the NUL */
    char *out = arena_room(&b->arena, size);
    if (!(*key = out))
        return -1;
    arena_take(&b->arena, size);
    memcpy(out, b->prefix, n);
    memcpy(out + n, ":{", 2), n += 2;
    memcpy(out + n, unit, nu), n += nu;
    memcpy(out + n, "}:d:", 4), n += 4;
    memcpy(out + n, dossier, nd + 1);
    return (int)(n + nd);
}

/* The hashes of event e's unit and of its (unit, dossier): its slot in the
 * batch's table of items and its group's. */
static void event_hashes(cl_batch *b, int e)
{
    const chiso_event *ev = &b->ev[e];
    uint64_t unit_h = batch_hash(ev->unit, strlen(ev->unit));
    b->ev_unit_hash[e] = unit_h;
    b->ev_hash[e] = batch_hash(ev->dossier_id, strlen(ev->dossier_id)) ^ (unit_h * 31);
}

/* How many events ahead the grouping pass asks for their table slot (and,
 * half as far ahead, for the item the slot holds). */
#define PREFETCH_EVENTS 8

/* Ask for the table slot of event e (when there is one), and for the first
 * lines of the item in the slot of event e - PREFETCH_EVENTS / 2, whose
 * slot was asked for that much earlier. */
static void prefetch_item_of(const cl_batch *b, int e)
{
    int mask = b->table_size - 1;
    if (e < b->nev)
        __builtin_prefetch(&b->table[b->ev_hash[e] & (uint64_t)mask]);
    int near = e - PREFETCH_EVENTS / 2;
    if (near < 0 || near >= b->nev)
        return;
    int idx = b->table[b->ev_hash[near] & (uint64_t)mask];
    if (idx > 0) {
        __builtin_prefetch(&b->items[idx - 1]);
        __builtin_prefetch(b->items[idx - 1].dossier_id);
    }
}

/* The item of event e's dossier, added when it has none yet; NULL when out of
 * memory. */
static cl_item *find_or_add(cl_batch *b, int e, int32_t partition)
{
    const chiso_event *ev = &b->ev[e];
    uint64_t unit_h = b->ev_unit_hash[e], h = b->ev_hash[e];
    int mask = b->table_size - 1;
    for (int slot = (int)(h & (uint64_t)mask);; slot = (slot + 1) & mask) {
        int idx = b->table[slot];
        if (idx == 0) {
            cl_item *it = &b->items[b->nitems];
            if (b->nitems == b->items_ready) {
                it->old = chiso_dossier_new();
                it->cur = chiso_dossier_new();
                if (!it->old || !it->cur) {
                    chiso_dossier_free(it->old);
                    chiso_dossier_free(it->cur);
                    it->old = it->cur = NULL;
                    return NULL;
                }
                b->items_ready++;
            }
            if ((it->keylen = state_key(b, &it->key, ev->unit, ev->dossier_id)) < 0)
                return NULL;
            b->table[slot] = ++b->nitems;
            memcpy(it->unit, ev->unit, sizeof(it->unit));
            memcpy(it->dossier_id, ev->dossier_id, sizeof(it->dossier_id));
            it->old_enc = it->new_enc = (const unsigned char *)"";
            it->old_len = it->new_len = 0;
            it->deltas = NULL;
            it->pdeltas = NULL;
            it->ndeltas = it->npdeltas = 0;
            it->head = it->tail = -1;
            it->unit_next = -1;
            add_to_group(b, (int)(it - b->items), unit_h);
            it->partition = partition;
            it->hash = batch_hash(it->key, (size_t)it->keylen);
            it->loaded = it->verified = it->check = false;
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
    b->rc = chiso_redis_open(b->env.cfg, errstr, sizeof(errstr));
    if (!b->rc) {
        LOG_WARN("%s", errstr);
        return CHISO_EIO;
    }
    if (chiso_redis_script_load(b->rc, LUA_APPLY, b->sha, errstr, sizeof(errstr)) != 0) {
        LOG_WARN("loading the apply script: %s", errstr);
        chiso_redis_close(b->rc);
        b->rc = NULL;
        return CHISO_EIO;
    }
    /* resume the event-time watermark of earlier runs */
    redisReply *r = chiso_redis_command(b->rc, "GET %s:watermark", b->prefix);
    if (r && r->type == REDIS_REPLY_STRING) {
        long long w = strtoll(r->str, NULL, 10);
        if (w > b->watermark)
            b->watermark = w;
    }
    if (r)
        freeReplyObject(r);
    LOG_INFO("connected to Redis %s:%lld", chiso_config_str(b->env.cfg, "redis.host"),
             (long long)chiso_config_int(b->env.cfg, "redis.port"));
    return 0;
}

static void redis_drop(cl_batch *b, const char *why)
{
    LOG_WARN("Redis: %s; reconnecting", why);
    chiso_counter_add(b->m_redis_errors, 1);
    /* Redis may come back without its last writes (AOF fsync every second):
     * from now on, trust only what it says */
    chiso_statecache_clear(b->cache);
    seen_clear(&b->units_seen);
    seen_clear(&b->months_seen);
    chiso_applied_unverify(b->env.applied);
    if (b->rc)
        chiso_redis_close(b->rc);
    b->rc = NULL;
}

/* ---- summing a group's changes ---- */

/* An aggregation key: the hash changed (HASH_COUNTERS, or HASH_PROCS + a
 * chiso_proc_set), its period (kind, first day) and the field (a counter
 * id, a procedure number, or FIELD_KEY: a mark on the hash itself). */
enum { HASH_COUNTERS = 0, HASH_PROCS = 1 };
#define FIELD_KEY 0xffffu

static uint64_t agg_key(int hash, chiso_period_kind kind, int32_t first_day, unsigned field)
{
    return (1ULL << 63) | ((uint64_t)hash << 56) | ((uint64_t)kind << 48) |
           ((uint64_t)(uint32_t)first_day << 16) | field;
}

static int key_hash(uint64_t key)
{
    return (int)((key >> 56) & 0x7f);
}

static chiso_period_kind key_kind(uint64_t key)
{
    return (chiso_period_kind)((key >> 48) & 0xff);
}

static int32_t key_first(uint64_t key)
{
    return (int32_t)(uint32_t)(key >> 16);
}

static unsigned key_field(uint64_t key)
{
    return (unsigned)(key & 0xffff);
}

/* The slot of `key`, inserted with delta 0 when absent. */
static agg_slot *agg_slot_for(cl_batch *b, uint64_t key)
{
    int mask = b->agg_size - 1;
    for (int s = (int)((key * 0x9E3779B97F4A7C15ULL) >> 48) & mask;; s = (s + 1) & mask) {
        if (b->agg[s].key == key)
            return &b->agg[s];
        if (b->agg[s].key == 0) {
            b->agg[s].key = key;
            b->agg[s].delta = 0;
            b->agg_used[b->nagg++] = s;
            return &b->agg[s];
        }
    }
}

static void agg_add(cl_batch *b, uint64_t key, long long delta)
{
    agg_slot_for(b, key)->delta += delta;
}

/* The first day of each period kind holding `day` (memoized). */
static const int32_t *period_firsts(cl_batch *b, int32_t day)
{
    period_memo *m = &b->periods[(uint32_t)day % PERIOD_MEMO];
    if (!m->valid || m->day != day) {
        for (int kind = 0; kind < CHISO_PERIOD_KINDS; kind++)
            m->first[kind] = chiso_period_of(day, (chiso_period_kind)kind).first_day;
        m->day = day;
        m->valid = true;
    }
    return m->first;
}

/* The key of the period of `kind` that begins on day `first`. */
static const char *period_name_of(cl_batch *b, int32_t first, chiso_period_kind kind)
{
    period_name *p =
        &b->period_names[((uint32_t)first * CHISO_PERIOD_KINDS + (uint32_t)kind) % PERIOD_MEMO];
    if (p->kind != (int)kind || p->first != first) {
        chiso_period_key(first, kind, p->key);
        p->first = first;
        p->kind = (int)kind;
    }
    return p->key;
}

/* Add `delta` to `field` of `hash` in the period of kind `kind` holding
 * `day`; agg_carry() then adds it to the longer periods. */
static void agg_period(cl_batch *b, int hash, chiso_period_kind kind, int32_t day, unsigned field,
                       long long delta)
{
    agg_add(b, agg_key(hash, kind, period_firsts(b, day)[kind], field), delta);
}

/* Carry every sum into the same field of the longer periods holding its
 * period, up to the year. A group's changes are summed first in their own
 * period (counters by day, procedure sets by month) and carried up once
 * per (period, field), rather than added to every period once per change:
 * many of a unit's dossiers change the same counters on the same day. */
static void agg_carry(cl_batch *b)
{
    int n = b->nagg; /* the sums carried into are not carried again */
    for (int i = 0; i < n; i++) {
        uint64_t key = b->agg[b->agg_used[i]].key;
        long long delta = b->agg[b->agg_used[i]].delta;
        chiso_period_kind kind = key_kind(key);
        const int32_t *first = period_firsts(b, key_first(key));
        for (int k = (int)kind + 1; k <= CHISO_PERIOD_YEAR; k++)
            agg_add(b, agg_key(key_hash(key), (chiso_period_kind)k, first[k], key_field(key)),
                    delta);
    }
}

static void agg_clear(cl_batch *b)
{
    for (int i = 0; i < b->nagg; i++)
        b->agg[b->agg_used[i]].key = 0;
    b->nagg = 0;
}

/* The number of a procedure code among the group's (added when new). */
static int proc_number(cl_batch *b, const char *code)
{
    int mask = PROC_TABLE - 1;
    for (int s = (int)(batch_hash(code, strlen(code)) & (uint64_t)mask);; s = (s + 1) & mask) {
        int i = b->proc_table[s];
        if (i == 0) {
            b->proc_code[b->nproc] = code;
            b->proc_slot[b->nproc] = s;
            b->proc_table[s] = ++b->nproc;
            return b->nproc - 1;
        }
        if (strcmp(b->proc_code[i - 1], code) == 0)
            return i - 1;
    }
}

static void proc_clear(cl_batch *b)
{
    for (int i = 0; i < b->nproc; i++)
        b->proc_table[b->proc_slot[i]] = 0;
    b->nproc = 0;
}

static int add_dirty(cl_batch *b, const char *unit, const char *period)
{
    if (b->ndirty == b->capdirty) {
        int cap = b->capdirty ? b->capdirty * 2 : 256;
        char **grown = realloc(b->dirty, (size_t)cap * sizeof(char *));
        if (!grown)
            return CHISO_ENOMEM;
        b->dirty = grown;
        b->capdirty = cap;
    }
    size_t n = strlen(unit) + strlen(period) + 2;
    if (!(b->dirty[b->ndirty] = malloc(n)))
        return CHISO_ENOMEM;
    snprintf(b->dirty[b->ndirty++], n, "%s|%s", unit, period);
    return 0;
}

/* How long the state cache keeps a state: open dossiers for good; closed
 * ones, and fragments never received, for the retention (the reaper may
 * delete them from Redis before: a cached state Redis no longer holds
 * costs a compare-and-set conflict, never a count). */
static int64_t state_ttl(const cl_batch *b, const chiso_dossier *d)
{
    return chiso_dossier_open(d) ? 0 : b->retention_s;
}

/* A dossier's score in the due index: the start of its first overdue day,
 * or -1 when it does not belong there (not open, or never overdue). */
static int64_t due_score(const chiso_dossier *d)
{
    int32_t day = chiso_dossier_overdue_day(d);
    if (!chiso_dossier_open(d) || day == INT32_MAX)
        return -1;
    return chiso_day_start(day);
}

/* Which run of the apply call a group's item belongs to: 0 written and
 * open (or kept for good: no retention), 1 written and not open (reapable
 * in time), 2 only checked, -1 not in the call. Every state of run 1 goes
 * on its unit's reap list (reaper.h) each time it is written, so every such
 * state in Redis is on the list under the day the reaper judges it by,
 * whatever wrote it before (a state an earlier version wrote with an expiry
 * loses it when written again). */
static int state_run(const cl_batch *b, const cl_item *it)
{
    if (it->check)
        return 2;
    if (!it->pending)
        return -1;
    return state_ttl(b, it->cur) ? 1 : 0;
}

/* The group's summed changes as journal lines in b->journal (growing it
 * as needed). Returns their length, or CHISO_ENOMEM. */
static long journal_lines(cl_batch *b)
{
    long len = 0;
    for (int i = 0; i < b->nagg; i++) {
        const agg_slot *sl = &b->agg[b->agg_used[i]];
        int hash = key_hash(sl->key);
        char suffix[8 + CHISO_PERIOD_STRLEN];
        if (sl->delta == 0 || key_field(sl->key) == FIELD_KEY)
            continue;
        /* "<hash name>:<period>" */
        const char *name =
            hash == HASH_COUNTERS ? "c" : chiso_proc_set_name((chiso_proc_set)(hash - HASH_PROCS));
        const char *period = period_name_of(b, key_first(sl->key), key_kind(sl->key));
        size_t nl = strlen(name);
        memcpy(suffix, name, nl);
        suffix[nl] = ':';
        memcpy(suffix + nl + 1, period, strlen(period) + 1);
        const char *field = hash == HASH_COUNTERS
                                ? chiso_counter_name((chiso_counter_id)key_field(sl->key))
                                : b->proc_code[key_field(sl->key)];
        long n;
        while ((n = chiso_journal_line(b->journal, (size_t)len, b->journal_size, suffix, field,
                                       sl->delta)) < 0) {
            char *j =
                b->journal_size < (1u << 30) ? realloc(b->journal, b->journal_size * 2) : NULL;
            if (!j)
                return CHISO_ENOMEM;
            b->journal = j;
            b->journal_size *= 2;
        }
        len = n;
    }
    return len;
}

/* Queue the EVALSHA of a group: every changed dossier's compare-and-set and
 * the group's summed counter and membership changes. Returns 0 (nothing to
 * send when no dossier changed) or CHISO_ENOMEM. */
static int append_group(cl_batch *b, cl_group *g)
{
    chiso_rargs *a = b->args;
    int ns = 0, rc = 0;
    char mark[CHISO_JOURNAL_MARK_LEN + 1];

    agg_clear(b);
    proc_clear(b);
    for (int i = g->head; i >= 0; i = b->items[i].unit_next) {
        const cl_item *it = &b->items[i];
        ns += it->pending || it->check;
        if (!it->pending)
            continue;
        for (int d = 0; d < it->ndeltas; d++)
            agg_period(b, HASH_COUNTERS, CHISO_PERIOD_DAY, it->deltas[d].day,
                       (unsigned)it->deltas[d].counter, it->deltas[d].delta);
        for (int d = 0; d < it->npdeltas; d++) {
            const chiso_proc_delta *pd = &it->pdeltas[d];
            agg_period(b, HASH_PROCS + (int)pd->set, CHISO_PERIOD_MONTH, pd->day,
                       (unsigned)proc_number(b, pd->procedure), pd->delta);
        }
    }
    if (ns == 0)
        return 0;
    agg_carry(b);
    long jlen = journal_lines(b);
    if (jlen < 0)
        return CHISO_ENOMEM;

    chiso_journal_mark(mark);
    chiso_rargs_reset(a);
    rc |= chiso_rargs_ref(a, "EVALSHA", 7);
    rc |= chiso_rargs_ref(a, b->sha, strlen(b->sha));
    rc |= chiso_rargs_int(a, 5 + ns);
    rc |= chiso_rargs_key(a, b->prefix, g->unit, "months");
    rc |= chiso_rargs_key(a, b->prefix, g->unit, "due");
    rc |= chiso_rargs_key(a, b->prefix, g->unit, "alerted");
    rc |= chiso_rargs_key(a, b->prefix, g->unit, "j");
    rc |= chiso_rargs_key(a, b->prefix, g->unit, "reap");
    /* the states in three runs: open, not open (both written), checked
     * only; each item remembers its place for a conflict reply */
    int nrun[3] = {0, 0, 0}, nz = 0, nr = 0;
    for (int i = g->head; i >= 0; i = b->items[i].unit_next) {
        cl_item *it = &b->items[i];
        if ((it->run = state_run(b, it)) < 0)
            continue;
        nrun[it->run]++;
        if (it->run < 2) {
            it->old_due = due_score(it->old);
            it->new_due = due_score(it->cur);
            nz += it->old_due != it->new_due && it->new_due >= 0;
            nr += it->old_due != it->new_due && it->new_due < 0;
        }
    }
    for (int run = 0, pos = 0; run < 3; run++) {
        for (int i = g->head; i >= 0; i = b->items[i].unit_next) {
            cl_item *it = &b->items[i];
            if (it->run != run)
                continue;
            it->sent_pos = pos++;
            rc |= chiso_rargs_ref(a, it->key, (size_t)it->keylen);
        }
    }
    rc |= chiso_rargs_int(a, nrun[0]);
    rc |= chiso_rargs_int(a, nrun[1]);
    rc |= chiso_rargs_int(a, nrun[2]);
    rc |= chiso_rargs_int(a, nz);
    rc |= chiso_rargs_int(a, nr);
    rc |= chiso_rargs_ref(a, mark, CHISO_JOURNAL_MARK_LEN);
    for (int run = 0; run < 3; run++) {
        for (int i = g->head; i >= 0; i = b->items[i].unit_next) {
            cl_item *it = &b->items[i];
            if (it->run != run)
                continue;
            rc |= chiso_rargs_ref(a, it->old_enc, (size_t)it->old_len);
            rc |= chiso_rargs_ref(a, run < 2 ? (const void *)it->new_enc : "",
                                  run < 2 ? (size_t)it->new_len : 0);
        }
    }
    for (int pass = 0; pass < 2; pass++) { /* additions, then removals */
        for (int i = g->head; i >= 0; i = b->items[i].unit_next) {
            cl_item *it = &b->items[i];
            if (!it->pending || it->old_due == it->new_due || (pass == 0) != (it->new_due >= 0))
                continue;
            if (pass == 0)
                rc |= chiso_rargs_int(a, it->new_due);
            rc |= chiso_rargs_ref(a, it->dossier_id, strlen(it->dossier_id));
        }
    }
    for (int i = g->head; i >= 0 && nrun[1] > 0; i = b->items[i].unit_next) {
        cl_item *it = &b->items[i];
        if (it->run == 1)
            rc |= chiso_rargs_int_str(a, chiso_dossier_reap_day(it->cur), it->dossier_id);
    }
    rc |= chiso_rargs_ref(a, b->journal, (size_t)jlen);
    /* the months the counters changed in that the unit's month index may
     * lack, once each: a month's first change marks the pseudo-field
     * FIELD_KEY of its hash; a month Redis acknowledged indexing before is
     * left out (months_seen) */
    g->months_at = b->nsent_months;
    g->nmonths = 0;
    for (int i = 0, nchanges = b->nagg; i < nchanges; i++) {
        uint64_t key = b->agg[b->agg_used[i]].key;
        if (key_hash(key) != HASH_COUNTERS || key_kind(key) != CHISO_PERIOD_MONTH)
            continue;
        agg_slot *seen =
            agg_slot_for(b, agg_key(HASH_COUNTERS, CHISO_PERIOD_MONTH, key_first(key), FIELD_KEY));
        if (seen->delta)
            continue;
        seen->delta = 1;
        if (seen_has(&b->months_seen, month_hash(g->unit_hash, key_first(key))))
            continue;
        if (b->nsent_months == b->cap_sent_months) {
            int cap = b->cap_sent_months ? b->cap_sent_months * 2 : 256;
            int32_t *m = realloc(b->sent_months, (size_t)cap * sizeof(*m));
            if (!m)
                return CHISO_ENOMEM;
            b->sent_months = m;
            b->cap_sent_months = cap;
        }
        b->sent_months[b->nsent_months++] = key_first(key);
        g->nmonths++;
        rc |= chiso_rargs_str(a, period_name_of(b, key_first(key), CHISO_PERIOD_MONTH));
    }
    if (rc)
        return CHISO_ENOMEM;
    chiso_rargs_append(b->rc, a);
    g->sent = true;
    return 0;
}

/* The periods (month, quarter, year) the changes a group is writing touch:
 * its counters' and its procedure sets'; and, for a dossier replayed past
 * its fence, every period its state counts in (cl_group.touched). */
static int group_dirty(cl_batch *b, cl_group *g)
{
    int rc = 0;
    agg_clear(b);
    for (int i = g->head; i >= 0; i = b->items[i].unit_next) {
        const cl_item *it = &b->items[i];
        if (it->pending) {
            for (int d = 0; d < it->ndeltas; d++)
                agg_period(b, HASH_COUNTERS, CHISO_PERIOD_MONTH, it->deltas[d].day, 0, 1);
            for (int d = 0; d < it->npdeltas; d++)
                agg_period(b, HASH_COUNTERS, CHISO_PERIOD_MONTH, it->pdeltas[d].day, 0, 1);
        }
        if (it->nreplayed > 0) {
            chiso_contrib c[CHISO_CONTRIB_MAX];
            chiso_proc_contrib pc[CHISO_PROC_CONTRIB_MAX];
            int n = chiso_dossier_contrib(it->cur, c);
            for (int d = 0; d < n; d++)
                agg_period(b, HASH_COUNTERS, CHISO_PERIOD_MONTH, c[d].day, 0, 1);
            n = chiso_dossier_proc_contrib(it->cur, pc);
            for (int d = 0; d < n; d++)
                agg_period(b, HASH_COUNTERS, CHISO_PERIOD_MONTH, pc[d].day, 0, 1);
        }
    }
    agg_carry(b);
    for (int i = 0; i < b->nagg && rc == 0; i++) {
        uint64_t key = b->agg[b->agg_used[i]].key;
        char pk[CHISO_PERIOD_STRLEN];
        chiso_period_key(key_first(key), key_kind(key), pk);
        rc = add_dirty(b, g->unit, pk);
    }
    agg_clear(b);
    return rc;
}

/* Drain `n` queued replies after a failure, so the connection can be dropped
 * cleanly. */
static void drain_replies(cl_batch *b, int n)
{
    redisReply *r;
    for (int i = 0; i < n; i++) {
        if (chiso_redis_get_reply(b->rc, &r) != REDIS_OK || !r)
            return;
        freeReplyObject(r);
    }
}

/* Merge the batch's events of one dossier into its state as read. Returns
 * true when a fact changed (the item then has its new encoding). */
/* "Now" for the retention: the latest event time seen (the watermark), so a
 * replay of last year's history judges expiry as the live run did. */
static int64_t batch_now(const cl_batch *b)
{
    return b->watermark;
}

/* A record of dossier.classified, read after Redis lost writes: the class
 * it gives its dossier (the last one read wins: a dossier's records are in
 * one partition, in order). */
static void on_told(const rd_kafka_message_t *m, void *opaque)
{
    cl_batch *b = opaque;
    char key[CHISO_CODE_MAX + CHISO_ID_MAX + 2];
    cJSON *doc = m->len ? cJSON_ParseWithLength(m->payload, m->len) : NULL;
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(doc, "unit");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "dossier_id");
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(doc, "class");
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(doc, "provisional");
    if (cJSON_IsString(unit) && cJSON_IsString(id) && cJSON_IsString(cls)) {
        for (int c = CHISO_CLASS_FULL_PROCESS; c <= CHISO_CLASS_OFFLINE; c++) {
            if (strcmp(cls->valuestring, chiso_class_name((chiso_class)c)) != 0)
                continue;
            snprintf(key, sizeof(key), "%s|%s", unit->valuestring, id->valuestring);
            chiso_map_entry *e = chiso_map_put(b->told, key, NULL);
            if (e)
                e->u64 = chiso_pub_class((chiso_class)c, cJSON_IsTrue(prov));
        }
    }
    cJSON_Delete(doc);
}

/* After Redis lost writes: read what dossier.classified told its
 * read_committed consumers since the oldest marker Redis kept (less a
 * minute, for other instances' clocks), which beats what the states Redis
 * kept say of changes whose transaction began before now (emit.h). */
static int read_told(cl_batch *b, const char *events_topic)
{
    char errstr[512], group[300];
    int64_t since = chiso_applied_lost_since(b->env.applied);
    since = since > 60000 ? since - 60000 : 0;
    chiso_map_destroy(b->told);
    if (!(b->told = chiso_map_new()))
        return CHISO_ENOMEM;
    snprintf(group, sizeof(group), "%s-told", chiso_config_str(b->env.cfg, "group.id"));
    chiso_tail *t = chiso_tail_new_since(b->env.cfg, CHISO_TOPIC_DOSSIER_CLASSIFIED, group, since,
                                         on_told, NULL, b, errstr, sizeof(errstr));
    if (!t) {
        LOG_ERROR("reading dossier.classified: %s", errstr);
        return CHISO_EIO;
    }
    int rc = chiso_tail_catch_up(t, 120000, b->env.stop);
    chiso_tail_destroy(t);
    if (rc != 0) {
        LOG_ERROR("dossier.classified not read to its end: what was told is not known");
        return CHISO_EIO;
    }
    for (int p = 0; p < b->ntold_before; p++)
        b->told_before[p] = chiso_applied_boundary(b->env.applied, events_topic, p);
    LOG_WARN("read what dossier.classified told of %zu dossier(s) since %lld ms before the "
             "rewind",
             chiso_map_size(b->told), (long long)(chiso_now_wall_ms() - since));
    return 0;
}

/* What dossier.classified's read_committed consumers were told of the
 * item's dossier, when the stage read the topic after Redis lost writes
 * (emit.h: told). */
static void told_lookup(cl_batch *b, const cl_item *it, chiso_emit_input *in)
{
    in->told_known = false;
    if (!b->told || chiso_map_size(b->told) == 0)
        return;
    char key[CHISO_CODE_MAX + CHISO_ID_MAX + 2];
    snprintf(key, sizeof(key), "%s|%s", it->unit, it->dossier_id);
    const chiso_map_entry *e = chiso_map_get(b->told, key);
    if (e) {
        in->told_known = true;
        in->told = (uint8_t)e->u64;
        in->told_before = it->partition < b->ntold_before ? b->told_before[it->partition] : -1;
    }
}

/* Start bringing event e (its record's metadata and the event) into the
 * CPU's cache. */
static inline void prefetch_event(const cl_batch *b, int e)
{
    __builtin_prefetch(&b->meta[e]);
    const char *ev = (const char *)&b->ev[e];
    for (size_t off = 0; off < sizeof(b->ev[0]); off += 64)
        __builtin_prefetch(ev + off);
}

static int merge_item(cl_batch *b, cl_item *it)
{
    bool changed = false;
    int64_t max_offset = -1;
    int64_t boundary =
        chiso_applied_boundary(b->env.applied, b->meta[it->head].topic, it->partition);

    chiso_dossier_copy(it->cur, it->old);
    it->nevents = it->nreplayed = it->nchanged = it->nexpired = 0;
    it->max_at = 0;
    it->max_offset = -1;
    it->min_high = INT64_MAX;
    int64_t horizon = batch_now(b) - b->retention_s;
    const char *lv_of = NULL; /* the procedure lv is the catalog's entry of */
    const chiso_map_entry *lv = NULL;
    for (int e = it->head; e >= 0; e = b->meta[e].next) {
        /* the dossier's next event, while this one merges (prefetch_next
         * asked for the first) */
        if (b->meta[e].next >= 0)
            prefetch_event(b, b->meta[e].next);
        int64_t offset = b->meta[e].offset;
        it->nevents++;
        b->meta[e].expired = false;
        if (offset > it->max_offset)
            it->max_offset = offset;
        if (offset >= boundary && offset < it->min_high)
            it->min_high = offset;
        if (b->ev[e].at > it->max_at)
            it->max_at = b->ev[e].at;
        if (chiso_dossier_fenced(it->old, b->meta[e].partition, offset)) {
            it->nreplayed++;
            continue;
        }
        /* No state, and the event is older than the retention: the dossier's
         * state expired (or its first facts are lost for good). Applying it
         * would count a fragment: dead-letter it instead. */
        b->meta[e].expired = it->old_len == 0 && b->retention_s > 0 && b->ev[e].at < horizon;
        if (b->meta[e].expired) {
            it->nexpired++;
            continue;
        }
        /* a dossier's events name one procedure, most often: one lookup */
        if (b->env.catalog && (!lv_of || strcmp(lv_of, b->ev[e].procedure) != 0)) {
            lv = chiso_map_get(b->env.catalog, b->ev[e].procedure);
            lv_of = b->ev[e].procedure;
        }
        bool catalog_changed = lv && chiso_dossier_apply_catalog(it->cur, lv->u64);
        if (chiso_dossier_apply(it->cur, &b->ev[e]) || catalog_changed) {
            changed = true;
            it->nchanged++;
        }
        if (offset > max_offset)
            max_offset = offset;
    }
    /* the class change to publish, exactly once (emit.h) */
    chiso_emit_input in = {.old_class = chiso_dossier_pub_class(it->old),
                           .boundary = boundary,
                           .any_high = it->min_high != INT64_MAX,
                           .min_high = it->min_high,
                           .max_offset = it->max_offset};
    chiso_dossier_get_pub(it->old, &in.old);
    in.new_class = changed ? chiso_dossier_pub_class(it->cur) : in.old_class;
    told_lookup(b, it, &in);
    chiso_emit_decide(&in, &it->emit);
    bool pub_changed = chiso_dossier_set_pub(it->cur, &it->emit.pub);
    if (!changed && !pub_changed)
        return 0;
    if (max_offset >= 0)
        chiso_dossier_set_fence(it->cur, it->partition, max_offset);
    unsigned char *enc = arena_room(&b->arena, CHISO_DOSSIER_MAX_ENCODED);
    if (!enc)
        return CHISO_ENOMEM;
    if ((it->new_len = chiso_dossier_encode(it->cur, enc, CHISO_DOSSIER_MAX_ENCODED)) < 0)
        return CHISO_ERANGE;
    arena_take(&b->arena, (size_t)it->new_len);
    it->new_enc = enc;
    /* the counter and membership changes, once: the write and the dirty
     * index both use them (the procedures point into old and cur) */
    chiso_contrib oldc[CHISO_CONTRIB_MAX], newc[CHISO_CONTRIB_MAX];
    int nold = chiso_dossier_contrib(it->old, oldc);
    int nnew = chiso_dossier_contrib(it->cur, newc);
    chiso_delta *deltas = arena_room(&b->arena, sizeof(chiso_delta) * CHISO_CONTRIB_MAX * 2);
    if (!deltas)
        return CHISO_ENOMEM;
    it->ndeltas = chiso_contrib_diff(oldc, nold, newc, nnew, deltas);
    arena_take(&b->arena, sizeof(chiso_delta) * (size_t)it->ndeltas);
    it->deltas = deltas;
    chiso_proc_contrib oldp[CHISO_PROC_CONTRIB_MAX], newp[CHISO_PROC_CONTRIB_MAX];
    nold = chiso_dossier_proc_contrib(it->old, oldp);
    nnew = chiso_dossier_proc_contrib(it->cur, newp);
    chiso_proc_delta *pdeltas =
        arena_room(&b->arena, sizeof(chiso_proc_delta) * CHISO_PROC_CONTRIB_MAX * 2);
    if (!pdeltas)
        return CHISO_ENOMEM;
    it->npdeltas = chiso_proc_contrib_diff(oldp, nold, chiso_dossier_procedure(it->old), newp, nnew,
                                           chiso_dossier_procedure(it->cur), pdeltas);
    arena_take(&b->arena, sizeof(chiso_proc_delta) * (size_t)it->npdeltas);
    it->pdeltas = pdeltas;
    return 1;
}

/* The state an item merges over, before its first round: the cached one,
 * else none (a new dossier, or one the compare-and-set will tell us about). */
static int load_cached(cl_batch *b, cl_item *it, int64_t now)
{
    unsigned char *buf = arena_room(&b->arena, CHISO_STATECACHE_STATE_MAX);
    if (!buf)
        return CHISO_ENOMEM;
    int len = chiso_statecache_get(b->cache, it->hash, buf, now);
    it->loaded = true;
    it->verified = len > 0 && chiso_dossier_decode(it->old, buf, (size_t)len) == 0;
    if (it->verified) {
        arena_take(&b->arena, (size_t)len);
        it->old_enc = buf;
        it->old_len = len;
    } else {
        chiso_dossier_reset(it->old);
        it->old_len = 0;
    }
    return 0;
}

/* Take the state Redis holds (a conflict reply's element) as the one to
 * merge over. Returns 0, or CHISO_ESTATE when it is not a dossier state. */
static int load_reply(cl_batch *b, cl_item *it, const redisReply *e, int64_t now)
{
    if (e && e->type == REDIS_REPLY_NIL) {
        it->old_len = 0;
        chiso_dossier_reset(it->old);
        chiso_statecache_put(b->cache, it->hash, NULL, -1, 0);
    } else if (e && e->type == REDIS_REPLY_STRING && e->len <= CHISO_DOSSIER_MAX_ENCODED &&
               chiso_dossier_decode(it->old, e->str, e->len) == 0) {
        unsigned char *old = arena_room(&b->arena, e->len);
        if (!old)
            return CHISO_ENOMEM;
        memcpy(old, e->str, e->len);
        arena_take(&b->arena, e->len);
        it->old_enc = old;
        it->old_len = (int)e->len;
        int64_t ttl = state_ttl(b, it->old);
        chiso_statecache_put(b->cache, it->hash, it->old_enc, it->old_len, ttl ? now + ttl : 0);
    } else {
        /* Never guess: a state we cannot read would make counters wrong. */
        LOG_ERROR("state %s in Redis is not a chiso dossier state; refusing to apply over it",
                  it->key);
        return CHISO_ESTATE;
    }
    it->verified = true;
    return 0;
}

/* One round: merge the pending groups' events over the states they hold,
 * write each group that changed (or has a state to check) in one atomic
 * call. A group whose compare-and-set failed takes the states Redis
 * returned and stays pending for the next round. Returns 0, CHISO_EIO
 * (reconnect and retry), or CHISO_ESTATE / CHISO_ERANGE / CHISO_ENOMEM
 * (fatal). */
static int append_index(cl_batch *b);
static int mark_reply(cl_batch *b, int n);

/* Write the queued commands to Redis now. 0, or CHISO_EIO (dropped). */
static int flush_out(cl_batch *b)
{
    if (chiso_redis_flush(b->rc) != REDIS_OK) {
        redis_drop(b, chiso_redis_errstr(b->rc));
        return CHISO_EIO;
    }
    return 0;
}

/* Start loading what merging item n (the next of its group, -1: none)
 * reads: its state cache slots, its first event and its dossiers; and the
 * first line of the item after it, whose own loads start when n merges.
 * A batch's items (50,000 of 312 bytes) and events do not stay in the caches:
 * a pass over them that does not ask ahead waits for memory at each item. */
static void prefetch_next(const cl_batch *b, int n)
{
    if (n < 0)
        return;
    const cl_item *next = &b->items[n];
    if (!next->loaded)
        chiso_statecache_prefetch(b->cache, next->hash);
    prefetch_event(b, next->head);
    chiso_dossier_prefetch(next->old);
    chiso_dossier_prefetch(next->cur);
    if (next->unit_next >= 0)
        __builtin_prefetch(&b->items[next->unit_next]);
}

/* As prefetch_next, for what taking item n as applied reads: its state
 * cache slots, its new state and dossier; and the item after it. */
static void prefetch_applied(const cl_batch *b, int n)
{
    if (n < 0)
        return;
    const cl_item *next = &b->items[n];
    if (next->pending) {
        chiso_statecache_prefetch(b->cache, next->hash);
        __builtin_prefetch(next->new_enc);
        chiso_dossier_prefetch(next->cur);
    }
    if (next->unit_next >= 0)
        __builtin_prefetch(&b->items[next->unit_next]);
}

static int apply_round(cl_batch *b)
{
    redisReply *r = NULL;
    int rc;
    int64_t now = (int64_t)time(NULL);

    int nsent = 0;
    b->nsent_months = 0;
    /* the dirty periods of the groups this round writes (group_dirty) */
    for (int i = 0; i < b->ndirty; i++)
        free(b->dirty[i]);
    b->ndirty = 0;
    for (int g = 0; g < b->ngroups; g++) {
        cl_group *grp = &b->groups[g];
        grp->touched = false;
        if (!grp->pending)
            continue;
        grp->sent = false;
        bool any = false;
        for (int i = grp->head; i >= 0; i = b->items[i].unit_next) {
            cl_item *it = &b->items[i];
            prefetch_next(b, it->unit_next);
            if (!it->loaded && (rc = load_cached(b, it, now)) != 0)
                return rc;
            if ((rc = merge_item(b, it)) < 0)
                return rc;
            it->pending = rc == 1; /* unchanged dossiers are not written at all */
            it->check = rc == 0 && !it->verified;
            it->applied = false;
            any |= it->pending || it->check;
            grp->touched |= it->nreplayed > 0;
        }
        if (!any)
            grp->pending = false;
        else if ((rc = append_group(b, grp)) != 0)
            return rc;
        /* its dirty periods (those of a replay too: cl_group.touched),
         * while its items are still in the caches (a pass over every
         * group's items after the last one waited for memory at each) */
        if ((grp->sent || grp->touched) && (rc = group_dirty(b, grp)) != 0)
            return rc;
        if (!any)
            continue;
        nsent++;
        /* let Redis start on the calls queued so far while the next
         * groups are merged: its work and ours overlap */
        if (chiso_redis_unsent(b->rc) >= FLUSH_BYTES && (rc = flush_out(b)) != 0)
            return rc;
    }

    /* the index writes ride in the same pipeline, behind the Lua calls */
    int nindex = nsent > 0 || b->ndirty > 0 ? append_index(b) : 0;
    /* the batch's applied marker last: Redis keeps a prefix of what it
     * executed, so wherever the marker survives, so did every write above
     * (a marker ahead of a group that must go round again is harmless: this
     * process applies the batch to its end before it commits, or drops it
     * when it rewinds) */
    int nmark =
        nsent > 0 && !b->marked ? chiso_applied_append(b->env.applied, b->rc, b->offsets) : 0;
    if (nmark < 0)
        return nmark;
    nsent += nindex + nmark;

    int64_t wait_from = chiso_now_mono_us();
    for (int g = 0; g < b->ngroups; g++) {
        cl_group *grp = &b->groups[g];
        if (!grp->pending || !grp->sent)
            continue;
        nsent--;
        if (chiso_redis_get_reply(b->rc, &r) != REDIS_OK || !r) {
            redis_drop(b, chiso_redis_errstr(b->rc));
            return CHISO_EIO;
        }
        if (r->type == REDIS_REPLY_INTEGER && r->integer >= 1) {
            grp->pending = false;
            for (int k = 0; k < grp->nmonths; k++)
                seen_add(&b->months_seen,
                         month_hash(grp->unit_hash, b->sent_months[grp->months_at + k]));
            if (r->integer > b->fold_bytes)
                cl_folder_ask(b->folder, grp->unit);
            for (int i = grp->head; i >= 0; i = b->items[i].unit_next) {
                cl_item *it = &b->items[i];
                prefetch_applied(b, it->unit_next);
                it->applied = it->pending;
                if (it->pending) {
                    int64_t ttl = state_ttl(b, it->cur);
                    chiso_statecache_put(b->cache, it->hash, it->new_enc, it->new_len,
                                         ttl ? now + ttl : 0);
                }
                if (it->check)
                    it->verified = true; /* absent, as assumed */
                it->pending = it->check = false;
            }
        } else if (r->type == REDIS_REPLY_ARRAY) {
            /* compare-and-set conflict: merge again over what Redis holds */
            chiso_counter_add(b->m_conflicts, 1);
            size_t k = 0;
            rc = 0;
            for (int i = grp->head; i >= 0 && rc == 0; i = b->items[i].unit_next) {
                cl_item *it = &b->items[i];
                if (!it->pending && !it->check)
                    continue;
                size_t pos = (size_t)it->sent_pos;
                rc = load_reply(b, it, pos < r->elements ? r->element[pos] : NULL, now);
                k++;
            }
            if (rc != 0 || k != r->elements) {
                freeReplyObject(r);
                drain_replies(b, nsent);
                return rc == CHISO_ENOMEM ? rc : CHISO_ESTATE;
            }
        } else {
            bool noscript = r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
            if (!noscript)
                LOG_ERROR("apply for unit %s: %s", grp->unit,
                          r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            freeReplyObject(r);
            drain_replies(b, nsent);
            /* NOSCRIPT: Redis restarted without our script; reconnecting reloads it */
            redis_drop(b, noscript ? "apply script missing" : "apply failed");
            return CHISO_EIO;
        }
        freeReplyObject(r);
    }
    for (int i = 0; i < nindex; i++) {
        redisReply *r2;
        if (chiso_redis_get_reply(b->rc, &r2) != REDIS_OK || !r2) {
            redis_drop(b, chiso_redis_errstr(b->rc));
            return CHISO_EIO;
        }
        bool bad = r2->type == REDIS_REPLY_ERROR;
        freeReplyObject(r2);
        if (bad) {
            drain_replies(b, nindex - i - 1 + nmark);
            redis_drop(b, "index write failed");
            return CHISO_EIO;
        }
    }
    if (nmark && (rc = mark_reply(b, nmark)) != 0)
        return rc;
    chiso_histogram_observe(b->m_redis_wait, (double)(chiso_now_mono_us() - wait_from) / 1e6);
    for (int g = 0; g < b->ngroups && nindex > 0; g++) {
        if (b->groups[g].sent || b->groups[g].touched)
            seen_add(&b->units_seen, b->groups[g].unit_hash);
    }
    return 0;
}

/* Read the n replies to the batch's applied markers (chiso_applied_append:
 * one per master). */
static int mark_reply(cl_batch *b, int n)
{
    bool bad = false;
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (chiso_redis_get_reply(b->rc, &r) != REDIS_OK || !r) {
            redis_drop(b, chiso_redis_errstr(b->rc));
            return CHISO_EIO;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            LOG_ERROR("writing the applied marker: %s", r->str);
            bad = true;
        }
        freeReplyObject(r);
    }
    if (bad) {
        redis_drop(b, "applied marker write failed");
        return CHISO_EIO;
    }
    chiso_applied_acked(b->env.applied, b->offsets);
    b->marked = true;
    return 0;
}

/* The marker of a batch that wrote nothing else (duplicates, replays, dead
 * letters): its offsets are committed too, so Redis must say it applied
 * them. */
static int mark_batch(cl_batch *b)
{
    int n = chiso_applied_append(b->env.applied, b->rc, b->offsets);
    if (n <= 0) {
        b->marked = n == 0;
        return n;
    }
    return mark_reply(b, n);
}

/* Queue, behind the round's Lua calls, the index writes the snapshot sink
 * and the alerts read: the dirty members, the units not yet registered, the
 * watermark. They are hints: written for a group whose compare-and-set then
 * fails, they only cause a recomputation. Returns how many commands. */
static int append_index(cl_batch *b)
{
    const char *argv[2 + 4096];
    size_t argvlen[2 + 4096];
    char key[KEY_MAX], units_key[KEY_MAX];
    int ncmd = 0, a;

    snprintf(key, sizeof(key), "%s:dirty", b->prefix);
    snprintf(units_key, sizeof(units_key), "%s:units", b->prefix);
    for (int start = 0; start < b->ndirty; start += 4096) {
        a = 0;
        argv[a] = "SADD";
        argvlen[a++] = 4;
        argv[a] = key;
        argvlen[a++] = strlen(key);
        for (int i = start; i < b->ndirty && i < start + 4096; i++) {
            argv[a] = b->dirty[i];
            argvlen[a++] = strlen(b->dirty[i]);
        }
        chiso_redis_append_argv(b->rc, a, argv, argvlen);
        ncmd++;
    }
    for (int g = 0; g < b->ngroups; g++) {
        if ((b->groups[g].sent || b->groups[g].touched) &&
            !seen_has(&b->units_seen, b->groups[g].unit_hash)) {
            chiso_redis_appendf(b->rc, "SADD %s %s", units_key, b->groups[g].unit);
            ncmd++;
        }
    }
    if (b->watermark > 0) {
        chiso_redis_appendf(b->rc, "EVAL %s 1 %s:watermark %lld", LUA_WATERMARK, b->prefix,
                            (long long)b->watermark);
        ncmd++;
    }
    return ncmd;
}

/* The open transaction is void (aborted, or built on writes Redis lost):
 * forget the batches since the last commit and consume again from it
 * (chiso_applied_rewind, unless `sought` already did). Returns
 * CHISO_EREWIND, or CHISO_EIO when the consumer could not be sought back
 * (the stage stops; a restart consumes from the commit anyway). */
static int abort_and_rewind(cl_batch *b, bool sought)
{
    chiso_txn_abort(b->env.txn);
    if (b->pending)
        rd_kafka_topic_partition_list_destroy(b->pending);
    b->pending = NULL;
    b->pending_msgs = 0;
    batch_reset(b);
    if (!sought && chiso_applied_rewind(b->env.applied, b->env.consumer) != 0)
        return CHISO_EIO;
    return CHISO_EREWIND;
}

/* Commit the open transaction: the outputs of the batches applied since the
 * last commit, with the offsets after their records, waiting for it: the
 * exactly-once rule decides each change from the committed offset, so the
 * next batch must know this commit's outcome (a change decided while it ran
 * would follow a class the consumer may never see, or miss one it did:
 * emit.h; committing on a thread of its own repeated first changes). */
static int commit_pending(cl_batch *b)
{
    b->committed_at = chiso_now_mono_us();
    if (!b->pending && !chiso_txn_open(b->env.txn))
        return 0;
    if (b->pending) /* a replay below the commit moves nothing back */
        chiso_applied_clamp(b->env.applied, b->pending);
    int rc = chiso_txn_commit(b->env.txn, b->pending);
    if (rc == CHISO_EABORTED)
        return abort_and_rewind(b, false);
    if (rc != 0)
        return rc;
    if (b->pending) {
        chiso_applied_committed(b->env.applied, b->pending);
        rd_kafka_topic_partition_list_destroy(b->pending);
        b->pending = NULL;
    }
    chiso_counter_add(b->m_committed, (uint64_t)b->pending_msgs);
    b->pending_msgs = 0;
    return 0;
}

int cl_batch_commit(cl_batch *b, bool now)
{
    if (now || chiso_now_mono_us() - b->committed_at >= b->commit_interval_us)
        return commit_pending(b);
    return 0;
}

/* Add the batch's offsets to those the next commit carries. */
static int add_pending(cl_batch *b)
{
    if (!b->pending) {
        b->pending = b->offsets;
        b->offsets = NULL;
    } else {
        for (int i = 0; i < b->offsets->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &b->offsets->elems[i];
            rd_kafka_topic_partition_t *q =
                rd_kafka_topic_partition_list_find(b->pending, p->topic, p->partition);
            if (!q)
                q = rd_kafka_topic_partition_list_add(b->pending, p->topic, p->partition);
            if (p->offset > q->offset)
                q->offset = p->offset;
        }
    }
    b->pending_msgs += b->nmsgs;
    return 0;
}

/* Whether the record's outputs are not committed yet (at or above its
 * partition's committed offset): a replay below it produces nothing. */
static bool uncommitted(cl_batch *b, const rd_kafka_message_t *m)
{
    return m->offset >=
           chiso_applied_boundary(b->env.applied, rd_kafka_topic_name(m->rkt), m->partition);
}

/* Step 3: the batch's outputs, in the open transaction: each class change
 * the exactly-once rule decided, each record rejected or expired whose
 * outputs are not committed yet. */
static int produce_outputs(cl_batch *b)
{
    int rc = 0, nexpired = 0;
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < b->nitems && rc == 0; i++) {
        nexpired += b->items[i].nexpired;
        if (b->items[i].emit.emit)
            rc = publish_class_change(b, &b->items[i]);
    }
    for (int r = 0; r < b->nrejected && rc == 0; r++) {
        const rd_kafka_message_t *m = b->msgs[b->rejected[r]];
        if (uncommitted(b, m))
            rc = chiso_txn_deadletter(b->env.txn, b->env.topic_deadletter, m, &b->rejects[r], now);
    }
    for (int e = 0; nexpired > 0 && e < b->nev && rc == 0; e++) {
        const rd_kafka_message_t *m = b->msgs[b->meta[e].msg];
        if (!b->meta[e].expired || !uncommitted(b, m))
            continue;
        chiso_reject rej = {.reason = CHISO_REJECT_EXPIRED};
        snprintf(rej.detail, sizeof(rej.detail),
                 "dossier has no state and the event is older than the %lld-day retention",
                 (long long)(b->retention_s / 86400));
        rc = chiso_txn_deadletter(b->env.txn, b->env.topic_deadletter, m, &rej, now);
    }
    return rc;
}

int cl_batch_process(cl_batch *b, bool sync_commit)
{
    int64_t t0 = chiso_now_mono_us();
    int64_t started_ms = chiso_now_wall_ms();
    int rc = 0, delay = 50;

    if (b->nmsgs == 0)
        return sync_commit ? cl_batch_commit(b, true) : 0;
    b->marked = false;

    /* 1. parse; group the good events by dossier; the rest are rejected.
     * Everything else a batch needs of a record (its offset, its
     * timestamp) is read here too: the records do not stay in the caches
     * until a second pass */
    bool unknown_procedure = false;
    chiso_offsets offsets;
    int64_t ts_min = INT64_MAX, ts_max = 0;
    size_t nobs = 0;
    b->nrejected = 0;
    if (chiso_offsets_begin(&offsets) != 0) {
        rc = CHISO_ENOMEM;
        goto out;
    }
    b->offsets = offsets.list; /* the list stays where it is as it grows */
    for (int i = 0; i < b->nmsgs; i++) {
        rd_kafka_message_t *m = b->msgs[i];
        chiso_event *ev = &b->ev[b->nev];
        rd_kafka_timestamp_type_t tstype;
        int64_t ts = rd_kafka_message_timestamp(m, &tstype);
        if (ts > 0 && tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
            b->obs_ts[nobs++] = ts;
            ts_min = ts < ts_min ? ts : ts_min;
            ts_max = ts > ts_max ? ts : ts_max;
        }
        chiso_offsets_note(&offsets, m);
        int prc =
            chiso_event_parse(m->payload ? m->payload : "", m->len, ev, &b->rejects[b->nrejected]);
        if (prc == CHISO_ENOMEM) {
            rc = prc; /* not the record's fault: leave the batch uncommitted */
            goto out;
        }
        if (prc != 0) {
            b->rejected[b->nrejected++] = i;
            continue;
        }
        if (b->env.catalog && !unknown_procedure)
            unknown_procedure = !chiso_map_get(b->env.catalog, ev->procedure);
        /* the watermark ignores times more than a day in the future */
        if (ev->at > b->watermark && ev->at <= (int64_t)time(NULL) + 86400)
            b->watermark = ev->at;
        b->meta[b->nev].expired = false;
        b->meta[b->nev].msg = i;
        b->meta[b->nev].offset = m->offset;
        b->meta[b->nev].partition = m->partition;
        b->meta[b->nev].topic = rd_kafka_topic_name(m->rkt);
        b->meta[b->nev].next = -1;
        event_hashes(b, b->nev);
        b->nev++;
    }
    /* each event to its dossier's item, in order: a second pass, which asks
     * ahead for the table slots and items of the events after (the table
     * and the items are far larger than the caches) */
    for (int e = 0; e < b->nev; e++) {
        prefetch_item_of(b, e + PREFETCH_EVENTS);
        cl_item *it = find_or_add(b, e, b->meta[e].partition);
        if (!it) {
            rc = CHISO_ENOMEM;
            goto out;
        }
        if (it->tail >= 0)
            b->meta[it->tail].next = e;
        else
            it->head = e;
        it->tail = e;
    }
    chiso_counter_add(b->m_consumed, (uint64_t)b->nmsgs);
    /* a procedure not known yet: its record may be on the topic, unread */
    if (unknown_procedure && b->env.catalog_sync && b->env.catalog_sync(b->env.catalog_opaque)) {
        rc = CHISO_EIO; /* stopping: leave the batch uncommitted */
        goto out;
    }

    int64_t t_parsed = chiso_now_mono_us();
    /* 2. apply to Redis, retrying failures; conflicts repeat the round */
    for (;;) {
        bool pending = false;
        for (int g = 0; g < b->ngroups && !pending; g++)
            pending = b->groups[g].pending;
        if (!pending && b->marked)
            break;
        if (*b->env.stop && delay > 50) {
            rc = CHISO_EIO; /* stopping while Redis is away: leave uncommitted */
            goto out;
        }
        if (redis_ready(b) != 0) {
            chiso_backoff(b->env.producer, b->env.stop, &delay);
            continue;
        }
        if (!chiso_applied_all_verified(b->env.applied)) {
            /* after a (re)connection or an assignment: does Redis still
             * hold what it acknowledged? */
            rc = chiso_applied_verify(b->env.applied, b->rc, b->env.consumer);
            if (rc == CHISO_EREWIND) { /* sought back: the transaction is void */
                char events_topic[256];
                snprintf(events_topic, sizeof(events_topic), "%s",
                         rd_kafka_topic_name(b->msgs[0]->rkt));
                rc = abort_and_rewind(b, true);
                return rc == CHISO_EREWIND && read_told(b, events_topic) != 0 ? CHISO_EIO : rc;
            }
            if (rc == CHISO_ENOMEM)
                goto out;
            if (rc != 0) {
                if (chiso_redis_failed(b->rc))
                    redis_drop(b, chiso_redis_errstr(b->rc));
                chiso_backoff(b->env.producer, b->env.stop, &delay);
                continue;
            }
        }
        rc = pending ? apply_round(b) : mark_batch(b);
        if (rc == CHISO_ESTATE || rc == CHISO_ERANGE || rc == CHISO_ENOMEM)
            goto out;
        if (rc != 0)
            chiso_backoff(b->env.producer, b->env.stop, &delay);
        rc = 0;
    }

    int64_t t_applied = chiso_now_mono_us();
    /* every effect of the batch is acknowledged by Redis: the latency of
     * each record is from its Kafka timestamp to now */
    int64_t now_ms = chiso_now_wall_ms();
    for (size_t i = 0; i < nobs; i++) {
        b->obs_latency[i] = (double)(now_ms - b->obs_ts[i]) / 1000.0;
        b->obs_wait[i] = (double)(started_ms - b->obs_ts[i]) / 1000.0;
    }
    chiso_histogram_observe_many(b->m_latency, b->obs_latency, nobs);
    chiso_histogram_observe_many(b->m_wait, b->obs_wait, nobs);

    /* 3. outputs in the open transaction; metrics */
    uint64_t applied = 0, duplicates = 0, replayed = 0;
    for (int i = 0; i < b->nitems; i++) {
        cl_item *it = &b->items[i];
        replayed += (uint64_t)it->nreplayed;
        if (!it->applied) {
            duplicates += (uint64_t)(it->nevents - it->nreplayed - it->nexpired);
            continue;
        }
        applied += (uint64_t)it->nchanged;
        duplicates += (uint64_t)(it->nevents - it->nreplayed - it->nchanged - it->nexpired);
    }
    if ((rc = produce_outputs(b)) != 0) {
        /* some of the batch's outputs may be in the transaction: void it */
        int arc = abort_and_rewind(b, false);
        return rc == CHISO_EABORTED ? arc : rc;
    }
    chiso_counter_add(b->m_applied, applied);
    chiso_counter_add(b->m_duplicates, duplicates);
    chiso_counter_add(b->m_replayed, replayed);
    chiso_counter_add(b->m_batches, 1);

    int64_t t_outputs = chiso_now_mono_us();
    chiso_histogram_observe(b->m_batch_seconds, (double)(t_outputs - t0) / 1e6);
    /* a trace of every batch, to see where a latency goes (log.level debug) */
    LOG_DEBUG("batch: %d records, %d units, produced %lld..%lld ms before it began; parse %.2f, "
              "Redis %.2f, outputs %.2f ms",
              b->nmsgs, b->ngroups, ts_max ? (long long)(started_ms - ts_min) : -1,
              ts_max ? (long long)(started_ms - ts_max) : -1, (double)(t_parsed - t0) / 1000,
              (double)(t_applied - t_parsed) / 1000, (double)(t_outputs - t_applied) / 1000);
    if (t_outputs - t0 > 250000)
        LOG_WARN("slow batch: %d records in %lld ms (parse %lld, Redis %lld, outputs %lld)",
                 b->nmsgs, (long long)(t_outputs - t0) / 1000, (long long)(t_parsed - t0) / 1000,
                 (long long)(t_applied - t_parsed) / 1000,
                 (long long)(t_outputs - t_applied) / 1000);

    /* 4. its offsets go with the next commit of the transaction */
    add_pending(b);
    batch_reset(b);
    return cl_batch_commit(b, sync_commit);
out:
    /* not applied in full: none of its outputs were produced; the batches
     * before it are whole and may be committed */
    batch_reset(b);
    if (rc != CHISO_ENOMEM && commit_pending(b) == CHISO_EIO)
        LOG_ERROR("the last batches could not be committed; they are consumed again");
    return rc;
}
