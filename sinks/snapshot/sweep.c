/*
 * sweep.c - one snapshot sweep (sweep.h).
 *
 * A sweep, in Redis round trips:
 *   1. SPOP <prefix>:dirty 10000, repeated until empty; members go into
 *      `held` (the in-memory set of dirty members not yet published).
 *   2. SMEMBERS <prefix>:units, then (pipelined) every unit's :months set.
 *      A full sweep adds "<unit>|<month>", its quarter and its year to held.
 *   3. Pipelined, one transaction per unit: its journal's mark and the part
 *      of it not read by a sweep before (journal.h; the hashes hold what
 *      was folded, the journal what was applied since, and a value is
 *      their sum), then for every period touched, HGETALL of the
 *      period's counters and of its two procedure sets (po, pp: the
 *      numerators of #7 and #9, and the province's union of them); HMGET of
 *      the counters summed across periods (snapshot.h, chiso_snapshot_cum:
 *      open, open_overdue and the population D) of every month bucket of
 *      the unit, and of the day buckets of today's month up to today when a
 *      touched period is still running (end day E = today).
 *   4. Score every unit that has counters in a touched period (or is held
 *      for it), and the province (the roll-up of every unit, with the
 *      catalog's own counts and the distinct procedures of all units);
 *      rank the units of each parent per period;
 *      build each snapshot, and produce to Kafka and SET (pipelined) in
 *      Redis those whose content changed, then replace the sorted set
 *      <prefix>:rank:<parent>:<period> of every group with a change.
 * Pipelines are sent in chunks of PIPE_CHUNK commands, written out every
 * PIPE_FLUSH_BYTES while they are appended.
 *
 * Ranks stay right because a sweep never scores a unit alone: whichever
 * unit is dirty in a period, every unit of that period is scored and
 * ranked again from the counters just read (the province roll-up reads
 * them all anyway), and a sibling whose rank moved has new content, so it
 * is published in the same sweep. Each key is published at most once per
 * sweep.
 *
 * A held member leaves `held` only once its snapshot was produced and
 * stored, or was found unchanged; `published` remembers the fingerprint
 * (snapshot.h) of every key published by this process.
 */
#include "sweep.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/dossier.h"
#include "chiso/journal.h"
#include "chiso/kafka.h"
#include "chiso/redisx.h"
#include "chiso/snapshot.h"
#include "chiso/strmap.h"
#include "chiso/vntime.h"

#define SPOP_COUNT 10000
#define PIPE_CHUNK 4096
/* A chunk's commands go out whenever this much of them waits unsent:
 * hiredis 0.14 grows its output buffer by 1 MiB at a time past 1 MiB (a
 * copy of the whole buffer each time, into pages touched for the first
 * time), so a chunk of 4,096 snapshots of some KB, appended whole, spent
 * a fifth of a drain's sweep samples in those copies (docs/benchmarks.md,
 * fourteenth session). */
#define PIPE_FLUSH_BYTES (256u << 10)
#define KEY_MAX          256 /* any Redis key or "<unit>|<period>" we build */

/* The score input each procedure set counts: the numerators of #7, #9. */
static const chiso_score_field proc_inputs[CHISO_PS_COUNT] = {
    [CHISO_PS_ONLINE] = CHISO_SF_PROCEDURES_ONLINE_WITH_DOSSIERS,
    [CHISO_PS_PAID] = CHISO_SF_PROCEDURES_PAID_ONLINE,
};

struct snap_sweeper {
    const chiso_config *cfg;
    chiso_catview *catalog;
    const chiso_score_rules *rules;
    const snap_metrics *mx;
    const char *prefix;
    char topic[256];
    chiso_redis *rc; /* NULL while disconnected */
    rd_kafka_t *rk;
    chiso_map *held;      /* "<unit>|<period>" popped, not yet published */
    chiso_map *published; /* "<unit>|<period>" -> fingerprint last published */
    bool published_once;  /* a sweep completed: unchanged snapshots may be skipped */
    /* Redis may come back with less than it acknowledged (AOF fsync every
     * second, a promoted replica): after any reconnection every snapshot is
     * stored and published again (resweep), and a sweep marker tells
     * whether Redis lost this process's writes (counted, logged) */
    bool connected_once, resweep;
    long long marker; /* the last INCR of <prefix>:applied:snapshot acknowledged */
    /* the province code of the last sweep: when it changes (the catalog's
     * province unit arrived after a sweep under the "province" fallback,
     * or the catalog changed it), the old code's snapshots are retracted */
    char province[KEY_MAX];
    chiso_map *journals;   /* unit code -> unit_journal: what sweeps read of its journal */
    int64_t fold_after_us; /* journal.fold.s */
};

/* What the sweeps have read of a unit's journal: while it begins with the
 * same mark it only grew (journal.h), so a sweep reads the bytes after
 * `parsed` and adds them to the sums. A journal without a mark (written by
 * a version before marks) is read whole every sweep. */
typedef struct unit_journal {
    char mark[CHISO_JOURNAL_MARK_LEN + 1]; /* "" when none */
    size_t parsed;                         /* bytes summed (whole lines); 0: none */
    chiso_journal_sums *sums;
    int64_t since_us; /* when this mark was first read (it is folded journal.fold.s later) */
    int64_t used_us;  /* the last sweep that read it */
} unit_journal;

static void journal_reset(unit_journal *j)
{
    j->mark[0] = '\0';
    j->parsed = 0;
    chiso_journal_sums_clear(j->sums);
}

/* Forget every journal read (Redis may come back with less than it
 * acknowledged: a journal with the same mark may then be shorter). */
static void journals_forget(snap_sweeper *sw)
{
    size_t pos = 0;
    for (chiso_map_entry *e = chiso_map_next(sw->journals, &pos, NULL); e;
         e = chiso_map_next(sw->journals, &pos, e)) {
        unit_journal *j = e->ptr;
        if (j)
            journal_reset(j);
    }
}

/* ---- Redis pipelines ---------------------------------------------------- */

enum cmd_kind {
    CMD_UNITS,
    CMD_MONTHS,
    CMD_MONTHS_NOW, /* a unit's months again, in its read's transaction */
    CMD_MULTI,      /* a transaction's commands are handed on with EXEC's reply */
    CMD_EXEC,
    CMD_JMARK, /* a unit's journal mark, first in its read's transaction */
    CMD_JTAIL, /* then its bytes from the last read on (or all) */
    CMD_COUNTS,
    CMD_PROCS,
    CMD_MONTH_BUCKET,
    CMD_DAY_BUCKET,
    CMD_SET,
    CMD_RANK
};

typedef struct rcmd {
    char *buf; /* formatted command, freed after sending */
    int len;
    enum cmd_kind kind;
    size_t a, b; /* indices, meaning by kind */
} rcmd;

typedef struct rbatch {
    rcmd *v;
    size_t n, cap;
} rbatch;

/* Append a formatted command (c.buf taken over; freed on failure). */
static int batch_push(rbatch *bt, rcmd c)
{
    if (c.len < 0)
        return CHISO_ENOMEM;
    if (bt->n == bt->cap) {
        size_t cap = bt->cap ? bt->cap * 2 : 256;
        rcmd *v = realloc(bt->v, cap * sizeof(*v));
        if (!v) {
            free(c.buf);
            return CHISO_ENOMEM;
        }
        bt->v = v;
        bt->cap = cap;
    }
    bt->v[bt->n++] = c;
    return 0;
}

static int batch_add(rbatch *bt, enum cmd_kind kind, size_t a, size_t b, const char *fmt, ...)
{
    va_list ap;
    rcmd c = {.kind = kind, .a = a, .b = b};

    va_start(ap, fmt);
    c.len = redisvFormatCommand(&c.buf, fmt, ap);
    va_end(ap);
    return batch_push(bt, c);
}

/* The same from an argument vector (commands of any length). */
static int batch_add_argv(rbatch *bt, enum cmd_kind kind, size_t a, int argc, const char **argv,
                          const size_t *argvlen)
{
    rcmd c = {.kind = kind, .a = a};
    long long len = redisFormatCommandArgv(&c.buf, argc, argv, argvlen);

    c.len = len < 0 || len > INT32_MAX ? -1 : (int)len;
    if (len > INT32_MAX)
        free(c.buf);
    return batch_push(bt, c);
}

/* SET <prefix>:{<unit>}:s:<period> <text>, as batch item i: formatted from
 * an argument vector, in one allocation and one copy of the text (the
 * printf-like formatter grows the command piece by piece, copying a
 * snapshot of some KB several times). */
static int set_snapshot(rbatch *bt, size_t i, const char *prefix, const char *unit,
                        const char *period, const char *text)
{
    char key[KEY_MAX];
    int klen = snprintf(key, sizeof(key), "%s:{%s}:s:%s", prefix, unit, period);
    if (klen < 0 || (size_t)klen >= sizeof(key))
        return CHISO_ERANGE;
    const char *argv[] = {"SET", key, text};
    const size_t argvlen[] = {3, (size_t)klen, strlen(text)};
    return batch_add_argv(bt, CMD_SET, i, 3, argv, argvlen);
}

static void batch_free(rbatch *bt)
{
    for (size_t i = 0; i < bt->n; i++)
        free(bt->v[i].buf);
    free(bt->v);
    memset(bt, 0, sizeof(*bt));
}

static void redis_drop(snap_sweeper *sw, const char *what)
{
    LOG_ERROR("redis: %s: %s; reconnecting", what,
              sw->rc ? chiso_redis_errstr(sw->rc) : "connection lost");
    chiso_counter_add(sw->mx->err_redis, 1);
    if (sw->rc)
        chiso_redis_close(sw->rc);
    sw->rc = NULL;
    journals_forget(sw);
}

/* Hand one reply on, or log and count it when it is an error. */
static void batch_reply(snap_sweeper *sw, const rcmd *c, const redisReply *r,
                        void (*on_reply)(void *ctx, const rcmd *c, const redisReply *r), void *ctx)
{
    if (r->type == REDIS_REPLY_ERROR) {
        LOG_WARN("redis: error reply: %s", r->str);
        chiso_counter_add(sw->mx->err_redis, 1);
    } else if (on_reply) {
        on_reply(ctx, c, r);
    }
}

/* Send the batch in chunks, handing each reply to on_reply (NULL: none; error replies
 * are logged, counted and not handed on). The commands between a CMD_MULTI
 * and its CMD_EXEC run as one transaction: their replies come in EXEC's
 * and are handed on then. Returns 0 or CHISO_EIO (the connection is
 * dropped). */
static int batch_run(snap_sweeper *sw, rbatch *bt,
                     void (*on_reply)(void *ctx, const rcmd *c, const redisReply *r), void *ctx)
{
    size_t queued = 0; /* in a transaction: the index of its first command */
    for (size_t start = 0; start < bt->n; start += PIPE_CHUNK) {
        size_t end = start + PIPE_CHUNK < bt->n ? start + PIPE_CHUNK : bt->n;
        for (size_t i = start; i < end; i++) {
            if (chiso_redis_append_formatted(sw->rc, bt->v[i].buf, (size_t)bt->v[i].len) !=
                REDIS_OK) {
                redis_drop(sw, "append");
                return CHISO_EIO;
            }
            if (chiso_redis_unsent(sw->rc) >= PIPE_FLUSH_BYTES &&
                chiso_redis_flush(sw->rc) != REDIS_OK) {
                redis_drop(sw, "write");
                return CHISO_EIO;
            }
        }
        for (size_t i = start; i < end; i++) {
            redisReply *r = NULL;
            if (chiso_redis_get_reply(sw->rc, &r) != REDIS_OK || !r) {
                if (r)
                    freeReplyObject(r);
                redis_drop(sw, "pipeline");
                return CHISO_EIO;
            }
            const rcmd *c = &bt->v[i];
            if (c->kind == CMD_MULTI) {
                queued = i + 1;
            } else if (c->kind == CMD_EXEC && r->type == REDIS_REPLY_ARRAY) {
                for (size_t k = 0; k < r->elements && queued + k < i; k++)
                    batch_reply(sw, &bt->v[queued + k], r->element[k], on_reply, ctx);
                queued = 0;
            } else if (c->kind == CMD_EXEC || !queued || r->type == REDIS_REPLY_ERROR) {
                batch_reply(sw, c, r, on_reply, ctx); /* (EXEC refused: logged) */
                queued = c->kind == CMD_EXEC ? 0 : queued;
            } /* else a command queued in the transaction: QUEUED */
            freeReplyObject(r);
        }
    }
    return 0;
}

static int redis_ensure(snap_sweeper *sw)
{
    char errstr[256];

    if (sw->rc)
        return 0;
    sw->rc = chiso_redis_open(sw->cfg, errstr, sizeof(errstr));
    if (!sw->rc) {
        LOG_WARN("%s", errstr);
        chiso_counter_add(sw->mx->err_redis, 1);
        return CHISO_EIO;
    }
    LOG_INFO("redis: connected to %s:%lld", chiso_config_str(sw->cfg, "redis.host"),
             (long long)chiso_config_int(sw->cfg, "redis.port"));
    if (!sw->connected_once) {
        sw->connected_once = true;
        return 0;
    }
    /* a new connection: the dirty marks of writes Redis kept may be lost,
     * and so may what this process stored; the next sweep is a full one
     * that stores and publishes every snapshot again */
    sw->resweep = true;
    redisReply *r = chiso_redis_command(sw->rc, "GET %s:applied:snapshot", sw->prefix);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        if (r)
            freeReplyObject(r);
        redis_drop(sw, "GET applied:snapshot");
        return CHISO_EIO;
    }
    long long now = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    if (now < sw->marker) {
        LOG_WARN("Redis holds less than it acknowledged (%s:applied:snapshot at %lld, %lld "
                 "acknowledged): storing and publishing every snapshot again",
                 sw->prefix, now, sw->marker);
        chiso_counter_add(sw->mx->rewinds, 1);
        sw->marker = now;
    }
    return 0;
}

/* After a sweep: the marker, behind its writes on the same connection. */
static int mark_sweep(snap_sweeper *sw)
{
    redisReply *r = chiso_redis_command(sw->rc, "INCR %s:applied:snapshot", sw->prefix);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        if (r)
            freeReplyObject(r);
        redis_drop(sw, "INCR applied:snapshot");
        return CHISO_EIO;
    }
    sw->marker = r->integer;
    freeReplyObject(r);
    return 0;
}

/* Integer value of a bulk / integer reply; 0 for nil or garbage. */
static int64_t reply_int(const redisReply *r)
{
    char *end;
    long long v;

    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
        return 0;
    v = strtoll(r->str, &end, 10);
    if (end == r->str || *end != '\0') {
        LOG_WARN("redis: counter value '%s' is not an integer, taken as 0", r->str);
        return 0;
    }
    return v;
}

/* ---- the held set --------------------------------------------------------- */

static void held_add(snap_sweeper *sw, const char *member)
{
    if (!chiso_map_put(sw->held, member, NULL))
        LOG_ERROR("out of memory holding dirty member %s", member);
}

static void held_gauge(snap_sweeper *sw)
{
    chiso_gauge_set(sw->mx->pending, (double)chiso_map_size(sw->held));
}

/* Step 1: move the dirty set into `held`. */
static int pop_dirty(snap_sweeper *sw)
{
    char key[KEY_MAX];

    snprintf(key, sizeof(key), "%s:dirty", sw->prefix);
    for (;;) {
        redisReply *r = chiso_redis_command(sw->rc, "SPOP %s %d", key, SPOP_COUNT);
        char errstr[256];
        size_t n;
        int rc = chiso_redis_check(sw->rc, r, errstr, sizeof(errstr));

        if (rc == CHISO_EIO) {
            redis_drop(sw, "SPOP");
            return CHISO_EIO;
        }
        if (rc != 0) {
            LOG_ERROR("SPOP %s: %s", key, errstr);
            chiso_counter_add(sw->mx->err_redis, 1);
            freeReplyObject(r);
            return CHISO_EIO;
        }
        n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        for (size_t i = 0; i < n; i++) {
            if (r->element[i]->type == REDIS_REPLY_STRING)
                held_add(sw, r->element[i]->str);
        }
        freeReplyObject(r);
        chiso_counter_add(sw->mx->popped, n);
        if (n < SPOP_COUNT)
            return 0;
    }
}

/* ---- one sweep's data ---------------------------------------------------- */

typedef struct sw_unit {
    char code[CHISO_CODE_MAX + 1];
    char (*months)[CHISO_PERIOD_STRLEN];
    size_t nmonths;
    int64_t (*month_sums)[CHISO_SNAPSHOT_CUM]; /* in chiso_snapshot_cum's order */
    int64_t (*day_sums)[CHISO_SNAPSHOT_CUM];
    chiso_snapshot_counts *counts;    /* per touched period */
    chiso_score_input *inputs;        /* per touched period */
    bool *present;                    /* per touched period: the unit has counters there */
    int64_t (*procs)[CHISO_PS_COUNT]; /* per touched period: procedures in each set */
    unit_journal *journal;            /* what sweeps read of its journal */
    bool read;                        /* to be read (again) in the next round of step 3 */
    bool skip;                        /* this round's read is void: its replies are dropped */
    bool marked;                      /* this round's read had its journal's mark */
} sw_unit;

typedef struct sw_period {
    char key[CHISO_PERIOD_STRLEN];
    chiso_period p;
    int32_t end_day;
} sw_period;

/* A snapshot to publish: a unit's (unit >= 0) or the province's (-1). */
typedef struct sw_out {
    long unit;
    size_t period;
    char key[KEY_MAX];    /* "<unit>|<period>" */
    chiso_unit meta;      /* from the catalog, or the defaults */
    chiso_score_input in; /* what was scored (printed as "inputs") */
    chiso_score score;
    int rank, rank_of; /* 0: not ranked */
    uint64_t fp;
    bool produced, stored;
} sw_out;

typedef struct sweep {
    snap_sweeper *sw;
    bool full;
    int64_t as_of;
    int32_t today;
    const char *province;
    chiso_map *unit_ix; /* code -> index + 1 in units */
    sw_unit *units;
    size_t nunits, capunits;
    chiso_map *period_ix; /* key -> index + 1 in periods */
    sw_period *periods;
    size_t nperiods, capperiods;
    char (*days)[CHISO_PERIOD_STRLEN]; /* day keys of today's month up to today */
    size_t ndays;
    chiso_snapshot_counts *province_counts; /* per period */
    chiso_map **province_procs;             /* per period and set: the procedures of every unit */
    bool failed;                            /* out of memory while taking replies */
    size_t reread; /* units whose read found months step 2 had not, or its journal folded */
    sw_out *outs;
    size_t nouts, capouts;
} sweep;

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    size_t cap2;
    void *p;

    if (need <= *cap)
        return 0;
    cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    p = realloc(*v, cap2 * size);
    if (!p)
        return CHISO_ENOMEM;
    memset((char *)p + *cap * size, 0, (cap2 - *cap) * size);
    *v = p;
    *cap = cap2;
    return 0;
}

/* The index of a unit, added when new; -1 on a bad code or no memory. */
static long sweep_unit(sweep *s, const char *code)
{
    chiso_map_entry *e;
    int created;
    size_t len = strlen(code);

    if (len == 0 || len > CHISO_CODE_MAX)
        return -1;
    e = chiso_map_put(s->unit_ix, code, &created);
    if (!e)
        return -1;
    if (!created)
        return (long)e->u64 - 1;
    if (grow((void **)&s->units, &s->capunits, s->nunits + 1, sizeof(*s->units)) != 0) {
        chiso_map_del(s->unit_ix, code);
        return -1;
    }
    memcpy(s->units[s->nunits].code, code, len + 1);
    e->u64 = ++s->nunits;
    return (long)s->nunits - 1;
}

/* The index of a period (month, quarter or year), added when new; -1 when
 * the key is not one. */
static long sweep_period(sweep *s, const char *key)
{
    chiso_map_entry *e;
    chiso_period p;
    int created;

    if (strlen(key) >= CHISO_PERIOD_STRLEN || chiso_period_parse(key, &p) != 0 ||
        p.kind == CHISO_PERIOD_DAY)
        return -1;
    e = chiso_map_put(s->period_ix, key, &created);
    if (!e)
        return -1;
    if (!created)
        return (long)e->u64 - 1;
    if (grow((void **)&s->periods, &s->capperiods, s->nperiods + 1, sizeof(*s->periods)) != 0) {
        chiso_map_del(s->period_ix, key);
        return -1;
    }
    snprintf(s->periods[s->nperiods].key, CHISO_PERIOD_STRLEN, "%s", key);
    s->periods[s->nperiods].p = p;
    s->periods[s->nperiods].end_day = chiso_snapshot_end_day(&p, s->today);
    e->u64 = ++s->nperiods;
    return (long)s->nperiods - 1;
}

static void counts_free(sweep *s);
static void sweep_free(sweep *s)
{
    counts_free(s);
    for (size_t i = 0; i < s->nunits; i++)
        free(s->units[i].months);
    free(s->units);
    free(s->periods);
    free(s->outs);
    chiso_map_destroy(s->unit_ix);
    chiso_map_destroy(s->period_ix);
}

/* ---- replies ---------------------------------------------------------------- */

static bool unit_has_month(const sw_unit *u, const char *month)
{
    for (size_t m = 0; m < u->nmonths; m++)
        if (strcmp(u->months[m], month) == 0)
            return true;
    return false;
}

/* This round's read of u is void (its later replies are dropped): it is
 * read again in the next round. */
static void read_again(sweep *s, sw_unit *u)
{
    if (!u->skip)
        s->reread++;
    u->skip = true;
}

/* The journal's first bytes, as the read saw them: the same mark as the
 * sweep before, and the bytes after those it read are what was appended;
 * another (or none) and the journal was folded since: read it whole. */
static void journal_mark(sweep *s, sw_unit *u, const redisReply *r)
{
    unit_journal *j = u->journal;
    const char *text = r->type == REDIS_REPLY_STRING ? r->str : "";
    size_t len = r->type == REDIS_REPLY_STRING ? r->len : 0;

    u->marked = true;
    if (j->parsed == 0) {
        /* its tail is the whole journal, summed from nothing */
        j->since_us = chiso_now_mono_us();
        if (chiso_journal_marked(text, len)) {
            memcpy(j->mark, text, CHISO_JOURNAL_MARK_LEN);
            j->mark[CHISO_JOURNAL_MARK_LEN] = '\0';
        } else {
            j->mark[0] = '\0';
        }
    } else if (len != CHISO_JOURNAL_MARK_LEN || memcmp(text, j->mark, len) != 0) {
        journal_reset(j);
        read_again(s, u);
    }
}

/* The journal's bytes from the end of those read before (one byte before
 * it, the end of a line: a journal shorter than what was read is not the
 * one read), or the whole journal. */
static void journal_tail(sweep *s, sw_unit *u, const redisReply *r)
{
    unit_journal *j = u->journal;
    const char *text = r->type == REDIS_REPLY_STRING ? r->str : "";
    size_t len = r->type == REDIS_REPLY_STRING ? r->len : 0;

    if (u->skip)
        return;
    if (!u->marked) { /* its mark's read failed (logged): the tail cannot be trusted */
        journal_reset(j);
        read_again(s, u);
        return;
    }
    if (j->parsed > 0) {
        if (len == 0 || text[0] != '\n') {
            LOG_WARN("journal of %s is shorter than it was read: read whole again", u->code);
            journal_reset(j);
            read_again(s, u);
            return;
        }
        text++;
        len--;
    }
    long used = chiso_journal_sums_add(j->sums, text, len);
    if (used == CHISO_ENOMEM) {
        journal_reset(j);
        s->failed = true;
    } else if (used < 0) {
        /* as a fold would leave it: the counts are read without it */
        LOG_WARN("journal of %s is malformed: its counts are read without it", u->code);
        chiso_counter_add(s->sw->mx->err_redis, 1);
        journal_reset(j);
    } else if (j->mark[0]) {
        j->parsed += (size_t)used;
    } else {
        j->parsed = 0; /* no mark: not known to be the same text next time */
    }
}

/* The fields of one hash as a unit's read saw it: those of its HGETALL
 * reply, each plus the journal's sum, then the fields only the journal
 * changes (a fold would create them; at 0 too, as a counter keeps a field
 * at 0). */
typedef struct hash_fields {
    chiso_journal_sums *journal;
    const char *hash;
    const redisReply *r;
    size_t i;        /* the next reply pair */
    uint32_t cursor; /* the journal's fields, once the reply's are done */
    const char *field;
    int64_t value;
} hash_fields;

/* The next field into h->field and h->value; false when there is none. */
static bool hash_next(hash_fields *h)
{
    for (; h->r->type == REDIS_REPLY_ARRAY && h->i + 1 < h->r->elements; h->i += 2) {
        const redisReply *f = h->r->element[h->i];
        if (f->type != REDIS_REPLY_STRING)
            continue;
        h->field = f->str;
        h->value = reply_int(h->r->element[h->i + 1]) +
                   chiso_journal_sums_take(h->journal, h->hash, f->str);
        h->i += 2;
        return true;
    }
    long long delta;
    if ((h->field = chiso_journal_sums_next(h->journal, h->hash, &h->cursor, &delta))) {
        h->value = delta;
        return true;
    }
    return false;
}

static bool hash_first(hash_fields *h, chiso_journal_sums *journal, const char *hash,
                       const redisReply *r)
{
    *h = (hash_fields){.journal = journal, .hash = hash, .r = r};
    chiso_journal_sums_round(journal);
    return hash_next(h);
}

static void on_reply(void *ctx, const rcmd *c, const redisReply *r)
{
    sweep *s = ctx;

    switch (c->kind) {
    case CMD_UNITS:
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            if (r->element[i]->type == REDIS_REPLY_STRING && sweep_unit(s, r->element[i]->str) < 0)
                LOG_WARN("unit code '%s' in the units set skipped", r->element[i]->str);
        }
        break;
    case CMD_MONTHS: {
        sw_unit *u = &s->units[c->a];
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        u->months = calloc(n ? n : 1, sizeof(*u->months));
        if (!u->months)
            break;
        for (size_t i = 0; i < n; i++) {
            chiso_period p;
            const redisReply *m = r->element[i];
            if (m->type != REDIS_REPLY_STRING || m->len >= CHISO_PERIOD_STRLEN ||
                chiso_period_parse(m->str, &p) != 0 || p.kind != CHISO_PERIOD_MONTH) {
                LOG_WARN("unit %s: month '%s' skipped", u->code,
                         m->type == REDIS_REPLY_STRING ? m->str : "?");
                continue;
            }
            memcpy(u->months[u->nmonths++], m->str, m->len + 1);
        }
        break;
    }
    case CMD_JMARK:
        journal_mark(s, &s->units[c->a], r);
        break;
    case CMD_JTAIL:
        journal_tail(s, &s->units[c->a], r);
        break;
    case CMD_COUNTS: {
        sw_unit *u = &s->units[c->a];
        char hash[CHISO_PERIOD_STRLEN + 8];
        snprintf(hash, sizeof(hash), "c:%s", s->periods[c->b].key);
        hash_fields hf;
        if (u->skip)
            break;
        for (bool more = hash_first(&hf, u->journal->sums, hash, r); more; more = hash_next(&hf)) {
            (void)chiso_snapshot_counts_set(&u->counts[c->b], hf.field, hf.value);
            (void)chiso_score_input_counter(&u->inputs[c->b], hf.field, hf.value);
            u->present[c->b] = true;
        }
        break;
    }
    case CMD_PROCS: {
        /* procedure -> dossiers: the fields above 0 (a fold deletes a
         * field at 0; below 0 would be a definition changed without a
         * rebuild, docs/counters.md) */
        sw_unit *u = &s->units[c->a];
        size_t p = c->b / CHISO_PS_COUNT, set = c->b % CHISO_PS_COUNT;
        chiso_map *all = s->province_procs[c->b];
        char hash[CHISO_PERIOD_STRLEN + 32];
        snprintf(hash, sizeof(hash), "%s:%s", chiso_proc_set_name((chiso_proc_set)set),
                 s->periods[p].key);
        hash_fields hf;
        if (u->skip)
            break;
        for (bool more = hash_first(&hf, u->journal->sums, hash, r); more; more = hash_next(&hf)) {
            if (hf.value <= 0)
                continue;
            u->procs[p][set]++;
            if (!chiso_map_put(all, hf.field, NULL))
                s->failed = true;
        }
        break;
    }
    case CMD_MONTH_BUCKET:
    case CMD_DAY_BUCKET: {
        sw_unit *u = &s->units[c->a];
        int64_t *sums = c->kind == CMD_MONTH_BUCKET ? u->month_sums[c->b] : u->day_sums[c->b];
        char hash[CHISO_PERIOD_STRLEN + 8];
        snprintf(hash, sizeof(hash), "c:%s",
                 c->kind == CMD_MONTH_BUCKET ? u->months[c->b] : s->days[c->b]);
        if (u->skip)
            break;
        for (size_t i = 0;
             r->type == REDIS_REPLY_ARRAY && i < r->elements && i < CHISO_SNAPSHOT_CUM; i++)
            sums[i] = reply_int(r->element[i]) +
                      chiso_journal_sums_get(u->journal->sums, hash,
                                             chiso_counter_name(chiso_snapshot_cum[i]));
        break;
    }
    case CMD_SET:
        s->outs[c->a].stored = true;
        break;
    case CMD_MONTHS_NOW: {
        /* the months as the read saw them: one that step 2 did not see came
         * with changes in the same apply call, which the read then counted
         * in later periods without the month's own bucket */
        sw_unit *u = &s->units[c->a];
        for (size_t i = 0; !u->skip && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            const redisReply *m = r->element[i];
            chiso_period p;
            if (m->type != REDIS_REPLY_STRING || m->len >= CHISO_PERIOD_STRLEN ||
                chiso_period_parse(m->str, &p) != 0 || p.kind != CHISO_PERIOD_MONTH ||
                unit_has_month(u, m->str))
                continue;
            char(*grown)[CHISO_PERIOD_STRLEN] =
                realloc(u->months, (u->nmonths + 1) * sizeof(*u->months));
            if (!grown) {
                s->failed = true;
                break;
            }
            u->months = grown;
            memcpy(u->months[u->nmonths++], m->str, m->len + 1);
            read_again(s, u);
        }
        break;
    }
    case CMD_MULTI:
    case CMD_EXEC:
    case CMD_RANK:
        break;
    }
}

static void on_reply_ignore(void *ctx, const rcmd *c, const redisReply *r)
{
    (void)ctx;
    (void)c;
    (void)r;
}

/* ---- the sweep ---------------------------------------------------------------- */

/* Hold "<unit>|<month, its quarter, its year>" for every month of the unit. */
static void hold_month(snap_sweeper *sw, const char *unit, const char *month)
{
    chiso_period p;
    char member[KEY_MAX], key[CHISO_PERIOD_STRLEN];
    if (chiso_period_parse(month, &p) != 0)
        return;
    snprintf(member, sizeof(member), "%s|%s", unit, month);
    held_add(sw, member);
    chiso_period_key(p.first_day, CHISO_PERIOD_QUARTER, key);
    snprintf(member, sizeof(member), "%s|%s", unit, key);
    held_add(sw, member);
    chiso_period_key(p.first_day, CHISO_PERIOD_YEAR, key);
    snprintf(member, sizeof(member), "%s|%s", unit, key);
    held_add(sw, member);
}

/* open, open_overdue and the population D are cumulative: a change in a
 * unit's period P (a late event) changes them for every later period too. Hold the unit's months
 * after P, with their quarters and years. */
static int hold_later_periods(sweep *s)
{
    snap_sweeper *sw = s->sw;
    size_t pos = 0, n = 0, cap = chiso_map_size(sw->held);
    char **members = calloc(cap ? cap : 1, sizeof(char *));
    chiso_map_entry *e;
    int rc = 0;

    if (!members)
        return CHISO_ENOMEM;
    for (e = chiso_map_next(sw->held, &pos, NULL); e && n < cap;
         e = chiso_map_next(sw->held, &pos, e)) {
        if (!(members[n++] = strdup(e->key))) {
            rc = CHISO_ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char *bar = strrchr(members[i], '|');
        chiso_period p;
        if (!bar || chiso_period_parse(bar + 1, &p) != 0)
            continue;
        *bar = '\0';
        chiso_map_entry *ue = chiso_map_get(s->unit_ix, members[i]);
        if (!ue)
            continue;
        const sw_unit *u = &s->units[ue->u64 - 1];
        for (size_t m = 0; m < u->nmonths; m++) {
            chiso_period mp;
            if (chiso_period_parse(u->months[m], &mp) == 0 && mp.first_day > p.last_day)
                hold_month(sw, u->code, u->months[m]);
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        free(members[i]);
    free(members);
    return rc;
}

/* Step 2: the units and their months; a full sweep holds all their periods. */
static int load_units(sweep *s)
{
    snap_sweeper *sw = s->sw;
    rbatch bt = {0};
    int rc;

    if ((rc = batch_add(&bt, CMD_UNITS, 0, 0, "SMEMBERS %s:units", sw->prefix)) != 0 ||
        (rc = batch_run(sw, &bt, on_reply, s)) != 0)
        goto out;
    batch_free(&bt);
    for (size_t i = 0; i < s->nunits; i++) {
        if ((rc = batch_add(&bt, CMD_MONTHS, i, 0, "SMEMBERS %s:{%s}:months", sw->prefix,
                            s->units[i].code)) != 0)
            goto out;
    }
    if ((rc = batch_run(sw, &bt, on_reply, s)) != 0)
        goto out;
    if (!s->full && (rc = hold_later_periods(s)) != 0)
        goto out;
    for (size_t i = 0; s->full && i < s->nunits; i++) {
        sw_unit *u = &s->units[i];
        for (size_t m = 0; m < u->nmonths; m++)
            hold_month(sw, u->code, u->months[m]);
    }
out:
    batch_free(&bt);
    return rc;
}

/* Turn the held members into the touched periods (and their units). */
static int plan(sweep *s)
{
    snap_sweeper *sw = s->sw;
    size_t pos = 0;
    chiso_map_entry *e, *next;

    for (e = chiso_map_next(sw->held, &pos, NULL); e; e = next) {
        char unit[KEY_MAX] = "";
        const char *bar = strrchr(e->key, '|');
        long pi = -1, ui = -1;
        bool is_province;
        chiso_period fp;

        next = chiso_map_next(sw->held, &pos, e); /* before e may be deleted */
        if (bar && chiso_period_parse(bar + 1, &fp) == 0 && fp.first_day > s->today) {
            /* a period not begun yet (an open dossier's future overdue day
             * has a bucket there): published when it begins, by the full
             * sweep of that day */
            chiso_map_del(sw->held, e->key);
            continue;
        }
        if (bar && (size_t)(bar - e->key) < sizeof(unit)) {
            memcpy(unit, e->key, (size_t)(bar - e->key));
            unit[bar - e->key] = '\0';
            pi = sweep_period(s, bar + 1);
        }
        is_province = strcmp(unit, s->province) == 0;
        if (pi >= 0 && !is_province)
            ui = sweep_unit(s, unit);
        if (pi < 0 || (ui < 0 && !is_province)) {
            LOG_WARN("dirty member '%s' is not <unit>|<month, quarter or year>: dropped", e->key);
            chiso_counter_add(sw->mx->err_dirty, 1);
            chiso_map_del(sw->held, e->key);
        }
    }
    return 0;
}

/* Add one output; NULL when out of memory. */
static sw_out *add_out(sweep *s, long unit, size_t period)
{
    sw_out *o;

    if (grow((void **)&s->outs, &s->capouts, s->nouts + 1, sizeof(*s->outs)) != 0)
        return NULL;
    o = &s->outs[s->nouts++];
    o->unit = unit;
    o->period = period;
    snprintf(o->key, sizeof(o->key), "%s|%s", unit >= 0 ? s->units[unit].code : s->province,
             s->periods[period].key);
    return o;
}

/* Whether one of u's months (its :months index: months it has counters
 * or open dossiers' buckets in) lies in period p. */
static bool unit_month_in(const sw_unit *u, const chiso_period *p)
{
    for (size_t m = 0; m < u->nmonths; m++) {
        chiso_period mp;
        if (chiso_period_parse(u->months[m], &mp) == 0 && mp.first_day >= p->first_day &&
            mp.first_day <= p->last_day)
            return true;
    }
    return false;
}

/* The snapshots of the sweep: in every touched period, every unit with
 * counters there, a month of its index there, or held for it (but the
 * province's own code), then the province. A unit with a month there and
 * no counters (only open dossiers' buckets) is one a full sweep publishes
 * (it holds every month of the index): every sweep takes it, so each of
 * the period's rankings has the same members. */
static int plan_outs(sweep *s)
{
    char key[KEY_MAX];

    for (size_t p = 0; p < s->nperiods; p++) {
        for (size_t i = 0; i < s->nunits; i++) {
            const sw_unit *u = &s->units[i];
            if (strcmp(u->code, s->province) == 0)
                continue;
            snprintf(key, sizeof(key), "%s|%s", u->code, s->periods[p].key);
            if (!u->present[p] && !chiso_map_get(s->sw->held, key) &&
                !unit_month_in(u, &s->periods[p].p))
                continue;
            if (!add_out(s, (long)i, p))
                return CHISO_ENOMEM;
        }
        if (!add_out(s, -1, p))
            return CHISO_ENOMEM;
    }
    return 0;
}

/* Each unit's record of its journal, created at its first sweep. 0 or
 * CHISO_ENOMEM. */
static int prepare_journals(sweep *s)
{
    int64_t now = chiso_now_mono_us();

    for (size_t i = 0; i < s->nunits; i++) {
        sw_unit *u = &s->units[i];
        chiso_map_entry *e = chiso_map_put(s->sw->journals, u->code, NULL);
        if (!e || (!e->ptr && !(e->ptr = calloc(1, sizeof(unit_journal)))))
            return CHISO_ENOMEM;
        u->journal = e->ptr;
        if (!u->journal->sums && !(u->journal->sums = chiso_journal_sums_new()))
            return CHISO_ENOMEM;
        u->journal->used_us = now;
    }
    return 0;
}

/* After a sweep: fold the journals its units' reads found the sweeps had
 * read for journal.fold.s, the same text since (the sweeps do not fold
 * what they read: this bounds a journal's size and age when classify's
 * journal.fold.kb is not reached); the next sweep reads them whole. 0,
 * CHISO_ENOMEM, or CHISO_EIO (dropped). */
static int fold_old_journals(sweep *s)
{
    snap_sweeper *sw = s->sw;
    int64_t now = chiso_now_mono_us();
    const char **old = malloc((s->nunits ? s->nunits : 1) * sizeof(*old));
    size_t nold = 0;
    char err[256];
    int rc = 0;

    if (!old)
        return CHISO_ENOMEM;
    for (size_t i = 0; i < s->nunits; i++) {
        unit_journal *j = s->units[i].journal;
        if (j && j->parsed > 0 && now - j->since_us >= sw->fold_after_us) {
            old[nold++] = s->units[i].code;
            journal_reset(j);
        }
    }
    if (nold > 0)
        rc = chiso_journal_fold(sw->rc, sw->prefix, old, nold, err, sizeof(err));
    if (rc == CHISO_EIO) {
        redis_drop(sw, err);
    } else if (rc != 0) {
        /* a malformed journal is left as it is (its counts are read without it) */
        LOG_WARN("%s", err);
        chiso_counter_add(sw->mx->err_redis, 1);
        rc = rc == CHISO_ENOMEM ? rc : 0;
    } else {
        chiso_counter_add(sw->mx->journal_folds, (int64_t)nold);
    }
    free(old);
    return rc;
}

/* Drop the records of journals no sweep read for journal.fold.s. */
static void forget_idle_journals(snap_sweeper *sw)
{
    int64_t now = chiso_now_mono_us();
    size_t pos = 0;
    chiso_map_entry *e, *next;

    for (e = chiso_map_next(sw->journals, &pos, NULL); e; e = next) {
        next = chiso_map_next(sw->journals, &pos, e);
        unit_journal *j = e->ptr;
        if (j && now - j->used_us < sw->fold_after_us)
            continue;
        if (j)
            chiso_journal_sums_free(j->sums);
        free(chiso_map_del(sw->journals, e->key));
    }
}

/* Free what a read of u allocated. */
static void unit_counts_free(sw_unit *u)
{
    free(u->month_sums);
    free(u->day_sums);
    free(u->counts);
    free(u->inputs);
    free(u->present);
    free(u->procs);
    u->month_sums = u->day_sums = NULL;
    u->counts = NULL;
    u->inputs = NULL;
    u->present = NULL;
    u->procs = NULL;
}

/* Free what read_counts() allocated (with the sweep). */
static void counts_free(sweep *s)
{
    for (size_t i = 0; i < s->nunits; i++)
        unit_counts_free(&s->units[i]);
    for (size_t i = 0; s->province_procs && i < s->nperiods * CHISO_PS_COUNT; i++)
        chiso_map_destroy(s->province_procs[i]);
    free(s->province_procs);
    free(s->days);
    free(s->province_counts);
    s->province_procs = NULL;
    s->days = NULL;
    s->province_counts = NULL;
    s->ndays = 0;
}

/* Rounds of reads before a sweep gives up when units keep needing another
 * (it is then retried whole, its members still held) */
#define READ_ATTEMPTS 8

/* Step 3: read the counts of every unit in every touched period. Each
 * unit's read is one transaction (MULTI/EXEC) of its journal's new part,
 * its hashes and its months index again: the hashes hold the apply calls
 * a fold moved (whole calls), the journal the calls since, so what they
 * sum to is one cut of its apply calls, and open / open_overdue, summed
 * over its buckets, never count a change without the rest of its call.
 * A unit whose read found months step 2 had not, or its journal folded
 * since the sweep before, is read again in another round, alone. The
 * sweep does not fold what it reads: folding every unit every second
 * wrote every changed field each time, the most of Redis's time after
 * the apply calls (docs/benchmarks.md). */
static int read_round(sweep *s);
static int sum_counts(sweep *s);
static int load_counts(sweep *s)
{
    int rc = prepare_journals(s);

    for (size_t i = 0; i < s->nunits; i++)
        s->units[i].read = true;
    for (int attempt = 1; rc == 0; attempt++) {
        s->reread = 0;
        if ((rc = read_round(s)) != 0 || s->reread == 0)
            break;
        LOG_DEBUG("sweep: %zu unit(s) read again", s->reread);
        if (attempt == READ_ATTEMPTS) {
            LOG_WARN("sweep: units kept changing during %d reads; the sweep is retried", attempt);
            rc = CHISO_EIO;
        }
    }
    return rc == 0 ? sum_counts(s) : rc;
}

/* The days of today's month up to today, when a touched period is still
 * running, and the province's tables. */
static int prepare_counts(sweep *s)
{
    chiso_period month = chiso_period_of(s->today, CHISO_PERIOD_MONTH);
    bool running = false;

    for (size_t p = 0; p < s->nperiods; p++)
        running |= s->periods[p].end_day == s->today;
    if (running && s->today < month.last_day) {
        s->ndays = (size_t)(s->today - month.first_day + 1);
        s->days = calloc(s->ndays, sizeof(*s->days));
        if (!s->days)
            return CHISO_ENOMEM;
        for (size_t d = 0; d < s->ndays; d++)
            chiso_period_key(month.first_day + (int32_t)d, CHISO_PERIOD_DAY, s->days[d]);
    }
    s->province_counts = calloc(s->nperiods ? s->nperiods : 1, sizeof(*s->province_counts));
    s->province_procs = calloc(s->nperiods * CHISO_PS_COUNT + 1, sizeof(*s->province_procs));
    if (!s->province_counts || !s->province_procs)
        return CHISO_ENOMEM;
    for (size_t i = 0; i < s->nperiods * CHISO_PS_COUNT; i++) {
        if (!(s->province_procs[i] = chiso_map_new()))
            return CHISO_ENOMEM;
    }
    return 0;
}

/* One round of step 3: the units marked `read`. */
static int read_round(sweep *s)
{
    snap_sweeper *sw = s->sw;
    rbatch bt = {0};
    int rc = CHISO_ENOMEM;

    if (!s->province_counts && (rc = prepare_counts(s)) != 0)
        goto out;
    rc = CHISO_ENOMEM;
    for (size_t i = 0; i < s->nunits; i++) {
        sw_unit *u = &s->units[i];
        if (!u->read)
            continue;
        unit_counts_free(u);
        u->skip = u->marked = false;
        if (!u->months)
            u->months = calloc(1, sizeof(*u->months)); /* a unit only named by a dirty member */
        u->counts = calloc(s->nperiods ? s->nperiods : 1, sizeof(*u->counts));
        u->inputs = calloc(s->nperiods ? s->nperiods : 1, sizeof(*u->inputs));
        u->present = calloc(s->nperiods ? s->nperiods : 1, sizeof(*u->present));
        u->procs = calloc(s->nperiods ? s->nperiods : 1, sizeof(*u->procs));
        u->month_sums = calloc(u->nmonths ? u->nmonths : 1, sizeof(*u->month_sums));
        u->day_sums = calloc(s->ndays ? s->ndays : 1, sizeof(*u->day_sums));
        if (!u->months || !u->counts || !u->inputs || !u->present || !u->procs || !u->month_sums ||
            !u->day_sums)
            goto out;
        if (!u->journal->mark[0])
            journal_reset(u->journal); /* not known to be the text read before */
        if (batch_add(&bt, CMD_MULTI, i, 0, "MULTI") != 0 ||
            batch_add(&bt, CMD_JMARK, i, 0, "GETRANGE %s:{%s}:j 0 %d", sw->prefix, u->code,
                      CHISO_JOURNAL_MARK_LEN - 1) != 0 ||
            batch_add(&bt, CMD_JTAIL, i, 0, "GETRANGE %s:{%s}:j %lld -1", sw->prefix, u->code,
                      (long long)(u->journal->parsed ? u->journal->parsed - 1 : 0)) != 0 ||
            batch_add(&bt, CMD_MONTHS_NOW, i, 0, "SMEMBERS %s:{%s}:months", sw->prefix, u->code) !=
                0)
            goto out;
        for (size_t p = 0; p < s->nperiods; p++) {
            chiso_score_input_counters(&u->inputs[p]);
            if (batch_add(&bt, CMD_COUNTS, i, p, "HGETALL %s:{%s}:c:%s", sw->prefix, u->code,
                          s->periods[p].key) != 0)
                goto out;
            for (int set = 0; set < CHISO_PS_COUNT; set++) {
                if (batch_add(&bt, CMD_PROCS, i, p * CHISO_PS_COUNT + (size_t)set,
                              "HGETALL %s:{%s}:%s:%s", sw->prefix, u->code,
                              chiso_proc_set_name((chiso_proc_set)set), s->periods[p].key) != 0)
                    goto out;
            }
        }
        for (size_t m = 0; m < u->nmonths; m++) {
            if (batch_add(&bt, CMD_MONTH_BUCKET, i, m,
                          "HMGET %s:{%s}:c:%s " CHISO_SNAPSHOT_CUM_FIELDS, sw->prefix, u->code,
                          u->months[m]) != 0)
                goto out;
        }
        for (size_t d = 0; d < s->ndays; d++) {
            if (batch_add(&bt, CMD_DAY_BUCKET, i, d,
                          "HMGET %s:{%s}:c:%s " CHISO_SNAPSHOT_CUM_FIELDS, sw->prefix, u->code,
                          s->days[d]) != 0)
                goto out;
        }
        if (batch_add(&bt, CMD_EXEC, i, 0, "EXEC") != 0)
            goto out;
    }
    if ((rc = batch_run(sw, &bt, on_reply, s)) != 0)
        goto out;
    if (s->failed) {
        rc = CHISO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->nunits; i++)
        s->units[i].read = s->units[i].skip;
out:
    batch_free(&bt);
    return rc;
}

/* After the reads: open / open_overdue, then the province sums. */
static int sum_counts(sweep *s)
{
    snap_sweeper *sw = s->sw;
    int rc = 0;

    for (size_t i = 0; i < s->nunits; i++) {
        sw_unit *u = &s->units[i];
        size_t nb = u->nmonths + s->ndays;
        chiso_snapshot_bucket *b = calloc(nb ? nb : 1, sizeof(*b));
        if (!b)
            return CHISO_ENOMEM;
        for (size_t m = 0; m < u->nmonths; m++) {
            b[m].key = u->months[m];
            memcpy(b[m].v, u->month_sums[m], sizeof(b[m].v));
        }
        for (size_t d = 0; d < s->ndays; d++) {
            b[u->nmonths + d].key = s->days[d];
            memcpy(b[u->nmonths + d].v, u->day_sums[d], sizeof(b[0].v));
        }
        for (size_t p = 0; p < s->nperiods && rc == 0; p++) {
            chiso_snapshot_population pop = {0};
            (void)chiso_snapshot_open(b, nb, s->periods[p].end_day, &u->counts[p]);
            (void)chiso_snapshot_population_of(b, nb, &s->periods[p].p, s->periods[p].end_day,
                                               &pop);
            u->counts[p].judged = pop.judged;
            u->counts[p].judged_on_time = pop.judged - pop.late;
            chiso_snapshot_counts_add(&s->province_counts[p], &u->counts[p]);
            u->inputs[p].n[CHISO_SF_OPEN_OVERDUE] =
                u->counts[p].open_overdue > 0 ? u->counts[p].open_overdue : 0;
            chiso_snapshot_population_input(&u->inputs[p], &pop);
            rc = chiso_catview_score_input(sw->catalog, u->code, &u->inputs[p]);
            for (int set = 0; set < CHISO_PS_COUNT; set++)
                u->inputs[p].n[proc_inputs[set]] = u->procs[p][set];
        }
        free(b);
        if (rc != 0)
            break;
    }
    return rc;
}

/* Fill a snapshot's unit metadata from the catalog, or the defaults. */
static void meta_of(const sweep *s, const char *code, bool province, chiso_unit *out)
{
    const chiso_unit *u = chiso_catview_unit(s->sw->catalog, code);

    if (u) {
        *out = *u;
    } else {
        chiso_snapshot_unit_default(out, code);
    }
    if (province)
        out->kind = CHISO_UNIT_PROVINCE;
}

/* The province's inputs of period p: the sum over every unit, with the
 * catalog counts of the province itself (each procedure once, not once per
 * unit offering it), and so the distinct procedures of all units in each
 * procedure set (a procedure with dossiers in two units counts once). */
static int province_input(sweep *s, size_t p, chiso_score_input *in)
{
    int rc;
    chiso_score_input *all = calloc(s->nunits ? s->nunits : 1, sizeof(*all));

    if (!all)
        return CHISO_ENOMEM;
    for (size_t i = 0; i < s->nunits; i++)
        all[i] = s->units[i].inputs[p];
    chiso_score_rollup(all, s->nunits, in);
    free(all);
    if (s->nunits == 0) { /* nothing summed: the counters are all 0 */
        chiso_snapshot_population none = {0};
        chiso_score_input_counters(in);
        in->n[CHISO_SF_OPEN_OVERDUE] = 0;
        chiso_snapshot_population_input(in, &none);
    }
    if ((rc = chiso_catview_score_input(s->sw->catalog, NULL, in)) != 0)
        return rc;
    for (int set = 0; set < CHISO_PS_COUNT; set++)
        in->n[proc_inputs[set]] =
            (int64_t)chiso_map_size(s->province_procs[p * CHISO_PS_COUNT + set]);
    return 0;
}

/* Order of unit outputs for ranking: by period, then parent. */
static int by_period_parent(const void *a, const void *b)
{
    const sw_out *x = *(sw_out *const *)a, *y = *(sw_out *const *)b;

    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    return strcmp(x->meta.parent, y->meta.parent);
}

/* Rank the units of each parent and period by total. A unit without a
 * parent, and the province, are not ranked. */
static int rank_outs(sweep *s)
{
    sw_out **v = calloc(s->nouts ? s->nouts : 1, sizeof(*v));
    double *totals = calloc(s->nouts ? s->nouts : 1, sizeof(*totals));
    int *ranks = calloc(s->nouts ? s->nouts : 1, sizeof(*ranks));
    size_t n = 0;
    int rc = CHISO_ENOMEM;

    if (!v || !totals || !ranks)
        goto out;
    for (size_t i = 0; i < s->nouts; i++) {
        if (s->outs[i].unit >= 0 && s->outs[i].meta.parent[0])
            v[n++] = &s->outs[i];
    }
    qsort(v, n, sizeof(*v), by_period_parent);
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a; b < n && by_period_parent(&v[a], &v[b]) == 0; b++)
            totals[b - a] = v[b]->score.total;
        chiso_score_rank(totals, b - a, ranks);
        for (size_t k = a; k < b; k++) {
            v[k]->rank = ranks[k - a];
            v[k]->rank_of = (int)(b - a);
        }
    }
    rc = 0;
out:
    free(v);
    free(totals);
    free(ranks);
    return rc;
}

/* Step 4a: the metadata and the score of every planned snapshot, then the
 * ranks. */
static int score_outs(sweep *s)
{
    for (size_t i = 0; i < s->nouts; i++) {
        sw_out *o = &s->outs[i];
        chiso_score_input prov;
        const chiso_score_input *in = &prov;
        int rc;

        meta_of(s, o->unit >= 0 ? s->units[o->unit].code : s->province, o->unit < 0, &o->meta);
        if (o->unit >= 0)
            in = &s->units[o->unit].inputs[o->period];
        else if ((rc = province_input(s, o->period, &prov)) != 0)
            return rc;
        o->in = *in;
        if (chiso_score_compute(s->sw->rules, in, &o->score) != 0)
            return CHISO_EINVAL; /* inputs are clamped to range: not reached */
    }
    return rank_outs(s);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    snap_sweeper *sw = opaque;
    char key[KEY_MAX];

    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    chiso_counter_add(sw->mx->err_kafka, 1);
    if (!m->key || m->key_len >= sizeof(key)) {
        LOG_ERROR("scores: delivery failed: %s", rd_kafka_err2str(m->err));
        return;
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    if (!m->payload) { /* a retraction (retract_province) */
        LOG_ERROR("scores: the tombstone of %s failed: %s; the key stays on the topic", key,
                  rd_kafka_err2str(m->err));
        return;
    }
    LOG_ERROR("scores: delivery of %s failed: %s; will publish again", key,
              rd_kafka_err2str(m->err));
    free(chiso_map_del(sw->published, key));
    held_add(sw, key);
    held_gauge(sw);
}

/* Produce one snapshot (a tombstone when text is NULL), waiting while the
 * local queue is full. */
static int produce(snap_sweeper *sw, const char *key, const char *text)
{
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(sw->rk, RD_KAFKA_V_TOPIC(sw->topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)text, text ? strlen(text) : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries >= 100) {
            LOG_ERROR("scores: produce %s: %s", key, rd_kafka_err2str(err));
            chiso_counter_add(sw->mx->err_kafka, 1);
            return CHISO_EIO;
        }
        rd_kafka_poll(sw->rk, 100);
    }
}

/* Queue the replacement of <prefix>:rank:<parent>:<period> (member: unit,
 * score: its total as shown) for every group of siblings with a snapshot
 * produced in this sweep; MULTI/EXEC, so a reader never sees it half
 * written. */
static int queue_rank_sets(sweep *s, rbatch *bt)
{
    char key[KEY_MAX];
    const char **argv = calloc(2 * s->nouts + 2, sizeof(*argv));
    size_t *argvlen = calloc(2 * s->nouts + 2, sizeof(*argvlen));
    char(*scores)[32] = calloc(s->nouts ? s->nouts : 1, sizeof(*scores));
    chiso_map *done = chiso_map_new();
    int rc = CHISO_ENOMEM;

    if (!argv || !argvlen || !scores || !done)
        goto out;
    for (size_t g = 0; g < s->nouts; g++) {
        const sw_out *head = &s->outs[g];
        int argc = 2;

        if (!head->produced || !head->rank)
            continue;
        snprintf(key, sizeof(key), "%s:rank:%s:%s", s->sw->prefix, head->meta.parent,
                 s->periods[head->period].key);
        if (chiso_map_get(done, key))
            continue;
        if (!chiso_map_put(done, key, NULL))
            goto out;
        argv[0] = "ZADD";
        argv[1] = key;
        for (size_t i = 0; i < s->nouts; i++) {
            const sw_out *o = &s->outs[i];
            if (!o->rank || o->period != head->period ||
                strcmp(o->meta.parent, head->meta.parent) != 0)
                continue;
            snprintf(scores[i], sizeof(scores[i]), "%.2f", chiso_score_round2(o->score.total));
            argv[argc++] = scores[i];
            argv[argc++] = o->meta.unit;
        }
        for (int a = 0; a < argc; a++)
            argvlen[a] = strlen(argv[a]);
        if (batch_add(bt, CMD_RANK, 0, 0, "MULTI") != 0 ||
            batch_add(bt, CMD_RANK, 0, 0, "DEL %s", key) != 0 ||
            batch_add_argv(bt, CMD_RANK, 0, argc, argv, argvlen) != 0 ||
            batch_add(bt, CMD_RANK, 0, 0, "EXEC") != 0)
            goto out;
    }
    rc = 0;
out:
    free(argv);
    free(argvlen);
    free(scores);
    chiso_map_destroy(done);
    return rc;
}

/* Step 4b: build, compare, produce and store every planned snapshot. */
static int publish(sweep *s)
{
    snap_sweeper *sw = s->sw;
    rbatch bt = {0};
    int rc = 0;

    for (size_t i = 0; i < s->nouts; i++) {
        sw_out *o = &s->outs[i];
        const sw_period *per = &s->periods[o->period];
        chiso_snapshot snap = {.unit = o->meta,
                               .as_of = s->as_of,
                               .score = &o->score,
                               .inputs = &o->in,
                               .rank = o->rank,
                               .rank_of = o->rank_of};
        chiso_map_entry *e;
        char *text;

        snprintf(snap.period, sizeof(snap.period), "%s", per->key);
        snap.counts =
            o->unit >= 0 ? s->units[o->unit].counts[o->period] : s->province_counts[o->period];
        /* one rendering gives both the text and its fingerprint */
        text = chiso_snapshot_render_fp(&snap, &o->fp);
        if (!text) {
            LOG_ERROR("snapshot %s: cannot build", o->key);
            o->fp = 0;
            continue;
        }
        e = chiso_map_get(sw->published, o->key);
        if (sw->published_once && e && e->u64 == o->fp) {
            chiso_counter_add(sw->mx->unchanged, 1);
            chiso_map_del(sw->held, o->key);
            o->fp = 0; /* nothing to store */
            free(text);
            continue;
        }
        if (produce(sw, o->key, text) != 0) {
            /* stays held (province keys are re-derived from their units) */
            held_add(sw, o->key);
            o->fp = 0;
        } else if (set_snapshot(&bt, i, sw->prefix, o->meta.unit, per->key, text) != 0) {
            o->fp = 0;
            held_add(sw, o->key);
        } else {
            o->produced = true;
        }
        free(text);
        rd_kafka_poll(sw->rk, 0);
    }
    if ((rc = queue_rank_sets(s, &bt)) == 0)
        rc = batch_run(sw, &bt, on_reply, s);
    for (size_t i = 0; i < s->nouts; i++) {
        sw_out *o = &s->outs[i];
        chiso_map_entry *e;
        if (!o->fp)
            continue;
        if (!o->stored) {
            held_add(sw, o->key); /* produced but not stored: publish again */
            continue;
        }
        if ((e = chiso_map_put(sw->published, o->key, NULL)) != NULL)
            e->u64 = o->fp;
        chiso_map_del(sw->held, o->key);
        chiso_counter_add(sw->mx->published, 1);
    }
    batch_free(&bt);
    return rc;
}

/* The province's code changed from `sw->province` to `now`: every snapshot
 * this process published under the old code is retracted (a tombstone on
 * the compacted topic, DEL in Redis), and a full sweep publishes the
 * province under its new code. Returns 0, CHISO_EIO or CHISO_ENOMEM. */
static int retract_province(snap_sweeper *sw, const char *now)
{
    size_t len = strlen(sw->province), pos = 0, n = 0;
    char **keys = calloc(chiso_map_size(sw->published) + 1, sizeof(*keys));
    rbatch bt = {0};
    int rc = keys ? 0 : CHISO_ENOMEM;

    LOG_INFO("province is %s now (was %s): retracting the snapshots published as %s", now,
             sw->province, sw->province);
    for (chiso_map_entry *e = chiso_map_next(sw->published, &pos, NULL); e && rc == 0;
         e = chiso_map_next(sw->published, &pos, e)) {
        if (strncmp(e->key, sw->province, len) == 0 && e->key[len] == '|' &&
            !(keys[n++] = strdup(e->key)))
            rc = CHISO_ENOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = produce(sw, keys[i], NULL)) == 0)
            rc = batch_add(&bt, CMD_SET, 0, 0, "DEL %s:{%s}:s:%s", sw->prefix, sw->province,
                           keys[i] + len + 1);
    }
    if (rc == 0 && n > 0)
        rc = batch_run(sw, &bt, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            free(chiso_map_del(sw->published, keys[i]));
        free(keys[i]);
    }
    free(keys);
    batch_free(&bt);
    if (rc == 0)
        LOG_INFO("retracted %zu snapshot(s) of %s", n, sw->province);
    return rc;
}

int snap_sweeper_run(snap_sweeper *sw, bool full)
{
    int64_t t0 = chiso_now_mono_us();
    const char *prov = chiso_config_str(sw->cfg, "province");
    sweep s = {.sw = sw, .full = full};
    int rc;

    s.as_of = chiso_now_wall_ms() / 1000;
    s.today = chiso_local_day(s.as_of);
    if (!prov || !*prov)
        prov = chiso_catview_province(sw->catalog);
    s.province = prov ? prov : "province";
    s.unit_ix = chiso_map_new();
    s.period_ix = chiso_map_new();
    if (!s.unit_ix || !s.period_ix) {
        rc = CHISO_ENOMEM;
        goto out;
    }
    if ((rc = redis_ensure(sw)) != 0 || (rc = pop_dirty(sw)) != 0)
        goto out;
    if (sw->province[0] && strcmp(sw->province, s.province) != 0) {
        if ((rc = retract_province(sw, s.province)) != 0)
            goto out;
        s.full = true;
    }
    snprintf(sw->province, sizeof(sw->province), "%s", s.province);
    if (sw->resweep) {
        s.full = true;
        chiso_map_destroy(sw->published);
        if (!(sw->published = chiso_map_new())) {
            rc = CHISO_ENOMEM;
            goto out;
        }
    }
    if (!s.full && chiso_map_size(sw->held) == 0)
        goto out; /* nothing changed */
    if ((rc = load_units(&s)) != 0 || (rc = plan(&s)) != 0 || (rc = load_counts(&s)) != 0 ||
        (rc = plan_outs(&s)) != 0 || (rc = score_outs(&s)) != 0 || (rc = publish(&s)) != 0 ||
        (rc = mark_sweep(sw)) != 0 || (rc = fold_old_journals(&s)) != 0)
        goto out;
    sw->published_once = true;
    sw->resweep = false;
    forget_idle_journals(sw);
    chiso_counter_add(sw->mx->sweeps, 1);
    chiso_histogram_observe(sw->mx->sweep_secs, (double)(chiso_now_mono_us() - t0) / 1e6);
    LOG_DEBUG("sweep: %zu unit(s), %zu period(s), %zu snapshot(s) considered, %zu held", s.nunits,
              s.nperiods, s.nouts, chiso_map_size(sw->held));
out:
    if (rc == CHISO_ENOMEM)
        LOG_ERROR("sweep: out of memory");
    held_gauge(sw);
    sweep_free(&s);
    return rc == 0 ? 0 : CHISO_EIO;
}

/* ---- life cycle ------------------------------------------------------------------ */

snap_sweeper *snap_sweeper_new(const chiso_config *cfg, chiso_catview *catalog,
                               const chiso_score_rules *rules, const snap_metrics *mx, char *errstr,
                               size_t errstr_size)
{
    snap_sweeper *sw = calloc(1, sizeof(*sw));

    if (!sw) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    sw->cfg = cfg;
    sw->catalog = catalog;
    sw->rules = rules;
    sw->mx = mx;
    sw->prefix = chiso_config_str(cfg, "redis.prefix");
    chiso_topic_name(cfg, CHISO_TOPIC_SCORES, sw->topic, sizeof(sw->topic));
    sw->held = chiso_map_new();
    sw->published = chiso_map_new();
    sw->journals = chiso_map_new();
    sw->fold_after_us = chiso_config_int(cfg, "journal.fold.s") * 1000000;
    if (!sw->held || !sw->published || !sw->journals) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    sw->rk = chiso_kafka_producer_new(cfg, dr_cb, sw, errstr, errstr_size);
    if (!sw->rk)
        goto err;
    return sw;
err:
    snap_sweeper_destroy(sw);
    return NULL;
}

void snap_sweeper_destroy(snap_sweeper *sw)
{
    if (!sw)
        return;
    if (sw->rk)
        rd_kafka_destroy(sw->rk);
    if (sw->rc)
        chiso_redis_close(sw->rc);
    chiso_map_destroy(sw->held);
    chiso_map_destroy(sw->published);
    if (sw->journals) {
        sw->fold_after_us = 0; /* every record is idle now */
        forget_idle_journals(sw);
        chiso_map_destroy(sw->journals);
    }
    free(sw);
}

void snap_sweeper_poll(snap_sweeper *sw, int timeout_ms)
{
    rd_kafka_poll(sw->rk, timeout_ms);
}

int snap_sweeper_flush(snap_sweeper *sw, int timeout_ms)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(sw->rk, timeout_ms);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : CHISO_ETIMEOUT;
}

void snap_sweeper_touch_unit(snap_sweeper *sw, const char *code)
{
    size_t pos = 0, len = code ? strlen(code) : 0;

    for (chiso_map_entry *e = chiso_map_next(sw->published, &pos, NULL); e;
         e = chiso_map_next(sw->published, &pos, e)) {
        if (!code || (strncmp(e->key, code, len) == 0 && e->key[len] == '|'))
            held_add(sw, e->key);
    }
    held_gauge(sw);
}

size_t snap_sweeper_held(const snap_sweeper *sw)
{
    return chiso_map_size(sw->held);
}

int snap_sweeper_return_held(snap_sweeper *sw)
{
    size_t pos = 0;
    rbatch bt = {0};
    int rc = CHISO_ENOMEM;

    if (chiso_map_size(sw->held) == 0)
        return 0;
    for (chiso_map_entry *e = chiso_map_next(sw->held, &pos, NULL); e;
         e = chiso_map_next(sw->held, &pos, e)) {
        if (batch_add(&bt, CMD_SET, 0, 0, "SADD %s:dirty %s", sw->prefix, e->key) != 0)
            goto out;
    }
    rc = redis_ensure(sw);
    if (rc == 0)
        rc = batch_run(sw, &bt, on_reply_ignore, NULL);
out:
    batch_free(&bt);
    if (rc != 0) {
        LOG_ERROR("%zu dirty member(s) could not be returned to %s:dirty:",
                  chiso_map_size(sw->held), sw->prefix);
        pos = 0;
        for (chiso_map_entry *e = chiso_map_next(sw->held, &pos, NULL); e;
             e = chiso_map_next(sw->held, &pos, e))
            LOG_ERROR("  not returned: %s", e->key);
        return CHISO_EIO;
    }
    LOG_INFO("%zu dirty member(s) returned to %s:dirty", chiso_map_size(sw->held), sw->prefix);
    return 0;
}
