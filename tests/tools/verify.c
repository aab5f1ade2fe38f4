/*
 * chiso-verify - checks a pipeline run against the simulator's ground truth.
 *
 * Three checks, each exact:
 *   counters    every counter hash in Redis (every unit, every day, month,
 *               quarter, year) equals the truth for every counter of
 *               counters.h (absent from the truth = 0), the truth names no
 *               counter this build does not know, and Redis holds no
 *               non-zero counter the truth lacks; and every procedure-set
 *               hash (po, pp: every unit, month, quarter, year) holds
 *               exactly the truth's procedures with their dossier counts,
 *               no field at 0, and none the truth lacks;
 *   deadletter  the deadletter topic holds exactly the malformed records,
 *               by reason;
 *   scores      the scores topic has, for every unit and the province and
 *               every month, quarter and year, a latest snapshot whose counts
 *               equal the truth (open and open_overdue included), and whose
 *               indicators, total and rank equal the score of the truth
 *               (verify_scores.c).
 * Prints every mismatch (up to --max-report) and a summary line; exits 0
 * only when everything matches. A test tool: it is not installed.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/counters.h"
#include "chiso/dossier.h"
#include "chiso/feedback.h"
#include "chiso/journal.h"
#include "chiso/kafka.h"
#include "chiso/redisx.h"
#include "chiso/strmap.h"
#include "chiso/vntime.h"
#include "verify.h"

static const chiso_cfg_def defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    {"truth", CHISO_CFG_STRING, NULL, "ground-truth JSON written by chiso-simulate --truth", NULL},
    {"malformed", CHISO_CFG_STRING, NULL,
     "file of the malformed records, base64 per line (chiso-simulate --malformed-out): the "
     "dead letters' payloads must be exactly these",
     NULL},
    {"deadletter.at-least-once", CHISO_CFG_BOOL, "false",
     "after crashes: each malformed record must be dead-lettered at least once, and nothing else",
     NULL},
    {"check", CHISO_CFG_STRING, "counters,deadletter,scores",
     "checks to run, comma-separated: counters, deadletter, scores, committed, alerts, "
     "classified (one chain of class changes per dossier, read_committed, ending at its state's "
     "class); and "
     "feedback (chiso-feedback ran: counters also compares the truth's fb_* counters, scores "
     "takes #19 and #20 from them); fold only folds every unit's journal into its hashes, "
     "for a script that reads them with redis-cli",
     NULL},
    {"alerts.now", CHISO_CFG_STRING, "watermark",
     "the `alerts` check's now: watermark (chiso-alerts --time.source event) or wall", NULL},
    {"group", CHISO_CFG_STRING, "chiso-classify",
     "consumer group whose committed offsets the `committed` check waits on", NULL},
    {"committed.topic", CHISO_CFG_STRING, "dossier.events",
     "the topic (before the topic prefix) the `committed` check waits on: dossier.events or "
     "feedback.events",
     NULL},
    {"timeout.s", CHISO_CFG_INT, "300", "how long the `committed` check may wait", NULL},
    {"max-report", CHISO_CFG_INT, "20", "mismatches printed per check", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static int mismatches, reported, max_report;

void mismatch(const char *fmt, ...)
{
    va_list ap;
    mismatches++;
    if (reported++ >= max_report)
        return;
    va_start(ap, fmt);
    fputs("mismatch: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;
    cJSON *doc = NULL;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, f) == (size_t)len) {
        buf[len] = '\0';
        doc = cJSON_Parse(buf);
    }
    free(buf);
    fclose(f);
    return doc;
}

static long long json_int(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/* obj[a][b] (obj[a] when b is NULL), or NULL. */
static const cJSON *get_path(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, a);
    return b ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

/* ---- counters ---- */

/* A connection to Redis after every unit's journal is folded into its
 * hashes (journal.h), so the hashes hold every change applied; NULL with
 * the reason printed. */
static chiso_redis *connect_folded(const chiso_config *cfg)
{
    char errstr[256];
    chiso_redis *rc = chiso_redis_open(cfg, errstr, sizeof(errstr));
    if (rc && chiso_journal_fold_all(rc, chiso_config_str(cfg, "redis.prefix"), errstr,
                                     sizeof(errstr)) != 0) {
        chiso_redis_close(rc);
        rc = NULL;
    }
    if (!rc)
        fprintf(stderr, "chiso-verify: %s\n", errstr);
    return rc;
}

/* Call fn for every key "<prefix>:{<unit>}:<kind>:<period>" in Redis (kind
 * a glob segment: "c", "p[op]"). Returns 0, or -1 on a Redis error. */
static int scan_unit_keys(chiso_redis *rc, const char *prefix, const char *kind,
                          void (*fn)(chiso_redis *rc, const char *key, const char *unit,
                                     const char *period, void *ctx),
                          void *ctx)
{
    char match[256];
    chiso_redis_scan it = {0};
    redisReply *r;
    int more;
    snprintf(match, sizeof(match), "%s:{*}:%s:*", prefix, kind);
    while ((more = chiso_redis_scan_next(rc, &it, match, &r)) != 0) {
        if (more < 0)
            return -1;
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *key = r->element[1]->element[i]->str;
            const char *open = strchr(key, '{'), *close = open ? strchr(open, '}') : NULL;
            const char *period = close && close[1] == ':' ? strchr(close + 2, ':') : NULL;
            char u[64];
            if (!period)
                continue;
            snprintf(u, sizeof(u), "%.*s", (int)(close - open - 1), open + 1);
            fn(rc, key, u, period + 1, ctx);
        }
        freeReplyObject(r);
    }
    return 0;
}

/* What scan_unit_keys() finds of units and periods the truth has no
 * counters for. */
typedef struct extra_ctx {
    const cJSON *units;    /* the truth's "counters" */
    const cJSON *feedback; /* the truth's "feedback" (NULL: none simulated) */
    long long extra;
} extra_ctx;

/* A counter hash: a non-zero counter there is a mismatch unless the truth
 * has that unit and period: in "counters" for a dossier counter, in
 * "feedback" (with the feedback check) for an fb_* one (both were compared
 * field by field). */
static void extra_counters(chiso_redis *rc, const char *key, const char *unit, const char *period,
                           void *ctx)
{
    extra_ctx *x = ctx;
    bool has_dossier = get_path(x->units, unit, period) != NULL;
    /* without the feedback check, fb_* fields are judged as before it */
    bool has_fb = x->feedback ? get_path(x->feedback, unit, period) != NULL : has_dossier;
    if (has_dossier && has_fb)
        return;
    redisReply *h = chiso_redis_command(rc, "HGETALL %s", key);
    for (size_t j = 0; h && j + 1 < h->elements; j += 2) {
        bool fb = chiso_fb_counter_from_name(h->element[j]->str) >= 0;
        if (fb ? has_fb : has_dossier)
            continue;
        if (strcmp(h->element[j + 1]->str, "0") != 0) {
            mismatch("counter %s %s %s: redis %s, truth has none", unit, period, h->element[j]->str,
                     h->element[j + 1]->str);
            x->extra++;
        }
    }
    if (h)
        freeReplyObject(h);
}

/* A procedure-set hash: its existence is a mismatch (a field at 0 is
 * deleted, so an empty set has no key). */
static void extra_procedures(chiso_redis *rc, const char *key, const char *unit, const char *period,
                             void *ctx)
{
    extra_ctx *x = ctx;
    chiso_period p;
    (void)rc;
    if (chiso_period_parse(period, &p) == 0 && p.kind != CHISO_PERIOD_DAY &&
        get_path(x->units, unit, period))
        return; /* compared with the truth */
    mismatch("procedures: %s in Redis, the truth has no counters there", key);
    x->extra++;
}

/* HGETALL of a unit's period counter hash; NULL (reported) on a Redis error. */
static redisReply *counter_hash(chiso_redis *rc, const char *prefix, const char *unit,
                                const char *period)
{
    redisReply *r = chiso_redis_command(rc, "HGETALL %s:{%s}:c:%s", prefix, unit, period);
    if (r && r->type == REDIS_REPLY_ARRAY)
        return r;
    fprintf(stderr, "chiso-verify: redis: %s\n", chiso_redis_errstr(rc));
    if (r)
        freeReplyObject(r);
    return NULL;
}

/* The integer value of `field` in an HGETALL reply, 0 when absent. */
static long long hash_field(const redisReply *r, const char *field)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (strcmp(r->element[i]->str, field) == 0)
            return strtoll(r->element[i + 1]->str, NULL, 10);
    }
    return 0;
}

/* The truth's "feedback" (docs/simulator.md): every fb_* counter of every
 * unit and period it has equals the Redis hash's field. Returns the fields
 * compared, or -1 on a Redis error. */
static long long check_feedback(chiso_redis *rc, const char *prefix, const cJSON *fb)
{
    long long checked = 0;
    const cJSON *unit, *period, *item;
    cJSON_ArrayForEach(unit, fb)
    {
        cJSON_ArrayForEach(period, unit)
        {
            redisReply *r = counter_hash(rc, prefix, unit->string, period->string);
            if (!r)
                return -1;
            for (int c = 0; c < CHISO_FBC_COUNT; c++) {
                const char *name = chiso_fb_counter_name((chiso_fb_counter_id)c);
                long long want = json_int(period, name), got = hash_field(r, name);
                if (got != want)
                    mismatch("feedback counter %s %s %s: redis %lld, truth %lld", unit->string,
                             period->string, name, got, want);
                checked++;
            }
            cJSON_ArrayForEach(item, period)
            {
                if (chiso_fb_counter_from_name(item->string) < 0)
                    mismatch("feedback counter %s %s %s: in the truth, unknown to chiso-verify",
                             unit->string, period->string, item->string);
            }
            freeReplyObject(r);
        }
    }
    return checked;
}

static int check_counters(const chiso_config *cfg, const cJSON *truth, bool feedback)
{
    const char *prefix = chiso_config_str(cfg, "redis.prefix");
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(truth, "counters");
    chiso_redis *rc = connect_folded(cfg);
    long long checked = 0;
    int before = mismatches;

    if (!rc)
        return -1;
    /* every truth hash equals Redis */
    const cJSON *unit;
    cJSON_ArrayForEach(unit, units)
    {
        const cJSON *period;
        cJSON_ArrayForEach(period, unit)
        {
            redisReply *r = counter_hash(rc, prefix, unit->string, period->string);
            if (!r) {
                chiso_redis_close(rc);
                return -1;
            }
            for (int c = 0; c < CHISO_C_COUNT; c++) {
                const char *name = chiso_counter_name((chiso_counter_id)c);
                long long want = json_int(period, name), got = hash_field(r, name);
                if (got != want)
                    mismatch("counter %s %s %s: redis %lld, truth %lld", unit->string,
                             period->string, name, got, want);
                checked++;
            }
            /* a counter of the truth this build cannot compare is an error,
             * never a silent pass */
            const cJSON *item;
            cJSON_ArrayForEach(item, period)
            {
                if (chiso_counter_from_name(item->string) < 0)
                    mismatch("counter %s %s %s: in the truth, unknown to chiso-verify",
                             unit->string, period->string, item->string);
            }
            freeReplyObject(r);
        }
    }
    /* the feedback counters, when the run simulated feedback */
    const cJSON *fb = feedback ? cJSON_GetObjectItemCaseSensitive(truth, "feedback") : NULL;
    if (feedback && !fb)
        mismatch("feedback: the truth has no \"feedback\" member (run with --feedback-rate 0?)");
    long long fb_checked = fb ? check_feedback(rc, prefix, fb) : 0;
    if (fb_checked < 0) {
        chiso_redis_close(rc);
        return -1;
    }
    /* and Redis has no non-zero counter the truth lacks */
    extra_ctx x = {units, fb, 0};
    if (scan_unit_keys(rc, prefix, "c", extra_counters, &x) != 0) {
        chiso_redis_close(rc);
        return -1;
    }
    chiso_redis_close(rc);
    printf("counters: %lld compared (%lld of them feedback), %lld unexpected, %d mismatched\n",
           checked + fb_checked, fb_checked, x.extra, mismatches - before);
    return 0;
}

/* ---- procedure sets ---- */

/* Compare the Redis hash <prefix>:{unit}:<set>:<period> with the truth's
 * object procedure -> dossiers (NULL: empty). Returns the fields compared,
 * or -1 on a Redis error. */
static long long compare_set(chiso_redis *rc, const char *prefix, const char *unit,
                             const char *period, const char *set, const cJSON *want)
{
    redisReply *r = chiso_redis_command(rc, "HGETALL %s:{%s}:%s:%s", prefix, unit, set, period);
    long long n = 0;
    const cJSON *item;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "chiso-verify: redis: %s\n", chiso_redis_errstr(rc));
        if (r)
            freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2, n++) {
        const char *field = r->element[i]->str, *got = r->element[i + 1]->str;
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(want, field);
        if (!w)
            mismatch("procedures %s %s %s %s: redis %s, truth has none", unit, period, set, field,
                     got);
        else if (strtoll(got, NULL, 10) != (long long)w->valuedouble)
            mismatch("procedures %s %s %s %s: redis %s, truth %lld", unit, period, set, field, got,
                     (long long)w->valuedouble);
    }
    cJSON_ArrayForEach(item, want)
    {
        bool found = false;
        for (size_t i = 0; i + 1 < r->elements && !found; i += 2)
            found = strcmp(r->element[i]->str, item->string) == 0;
        if (!found) {
            mismatch("procedures %s %s %s %s: redis none, truth %lld", unit, period, set,
                     item->string, (long long)item->valuedouble);
            n++;
        }
    }
    freeReplyObject(r);
    return n;
}

/* Every procedure-set hash of every unit and period with counters in the
 * truth equals the truth's (`procedures`), and Redis holds no other. */
static int check_procedures(const chiso_config *cfg, const cJSON *truth)
{
    const char *prefix = chiso_config_str(cfg, "redis.prefix");
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(truth, "counters");
    const cJSON *procs = cJSON_GetObjectItemCaseSensitive(truth, "procedures");
    chiso_redis *rc = connect_folded(cfg);
    long long hashes = 0, fields = 0;
    int before = mismatches;
    const cJSON *unit, *period, *set;

    if (!rc)
        return -1;
    /* the truth names only the sets this build keeps, of periods with counters */
    cJSON_ArrayForEach(unit, procs)
    {
        cJSON_ArrayForEach(period, unit)
        {
            if (!get_path(units, unit->string, period->string))
                mismatch("procedures %s %s: in the truth, without counters", unit->string,
                         period->string);
            cJSON_ArrayForEach(set, period)
            {
                bool known = false;
                for (int k = 0; k < CHISO_PS_COUNT; k++)
                    known |= strcmp(set->string, chiso_proc_set_name((chiso_proc_set)k)) == 0;
                if (!known)
                    mismatch("procedures %s %s %s: in the truth, unknown to chiso-verify",
                             unit->string, period->string, set->string);
            }
        }
    }
    cJSON_ArrayForEach(unit, units)
    {
        cJSON_ArrayForEach(period, unit)
        {
            chiso_period p;
            if (chiso_period_parse(period->string, &p) != 0 || p.kind == CHISO_PERIOD_DAY)
                continue;
            for (int k = 0; k < CHISO_PS_COUNT; k++) {
                const char *name = chiso_proc_set_name((chiso_proc_set)k);
                long long n = compare_set(
                    rc, prefix, unit->string, period->string, name,
                    get_path(get_path(procs, unit->string, period->string), name, NULL));
                if (n < 0) {
                    chiso_redis_close(rc);
                    return -1;
                }
                fields += n;
                hashes++;
            }
        }
    }
    /* and no hash of a unit and period the truth has no counters for */
    extra_ctx x = {units, NULL, 0};
    if (scan_unit_keys(rc, prefix, "p[op]", extra_procedures, &x) != 0) {
        chiso_redis_close(rc);
        return -1;
    }
    chiso_redis_close(rc);
    printf("procedures: %lld hashes compared (%lld fields), %lld unexpected, %d mismatched\n",
           hashes, fields, x.extra, mismatches - before);
    return 0;
}

/* ---- reading a topic to its end ---- */

int read_topic(const chiso_config *cfg, const char *base, record_fn fn, void *opaque)
{
    char errstr[512], topic[256], group[64];
    chiso_topic_name(cfg, base, topic, sizeof(topic));
    snprintf(group, sizeof(group), "chiso-verify-%d", (int)getpid());
    rd_kafka_t *rk = chiso_kafka_consumer_new(cfg, group, NULL, NULL, errstr, sizeof(errstr));
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt;
    int rc = -1;

    if (!rk) {
        fprintf(stderr, "chiso-verify: %s\n", errstr);
        return -1;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "chiso-verify: no metadata for %s\n", topic);
        goto out;
    }
    int nparts = md->topics[0].partition_cnt;
    int64_t *high = calloc((size_t)nparts, sizeof(int64_t));
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(nparts);
    int remaining = 0;
    for (int p = 0; p < nparts; p++) {
        int64_t lo;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &high[p], 10000)) {
            fprintf(stderr, "chiso-verify: watermarks of %s [%d] unknown\n", topic, p);
            free(high);
            rd_kafka_topic_partition_list_destroy(list);
            goto out;
        }
        if (high[p] > lo) {
            rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
            remaining++;
        }
    }
    rd_kafka_assign(rk, list);
    /* read_committed (librdkafka's default): what a downstream consumer
     * sees; the end is reached when the position passes the high
     * watermark of the start (transaction markers included), which waits
     * for a transaction left open to be committed or aborted */
    int64_t deadline = chiso_now_mono_us() + 120 * 1000000LL;
    while (remaining > 0 && chiso_now_mono_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (m && !m->err)
            fn(m, opaque);
        if (m)
            rd_kafka_message_destroy(m);
        rd_kafka_position(rk, list);
        remaining = 0;
        for (int i = 0; i < list->cnt; i++)
            remaining += list->elems[i].offset < high[list->elems[i].partition];
    }
    rd_kafka_topic_partition_list_destroy(list);
    free(high);
    if (remaining > 0)
        fprintf(stderr, "chiso-verify: timed out reading %s\n", topic);
    else
        rc = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- dead letters ---- */

typedef struct dl_count {
    long long total;
    cJSON *by_reason;
    cJSON *payloads; /* payload_b64 -> how many dead letters carry it */
    long long invalid;
} dl_count;

/* Count one occurrence of `key` in a JSON object used as a multiset. */
static void multiset_add(cJSON *set, const char *key, int n)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(set, key);
    if (c)
        cJSON_SetNumberValue(c, c->valuedouble + n);
    else
        cJSON_AddNumberToObject(set, key, n);
}

static void on_deadletter(const rd_kafka_message_t *m, void *opaque)
{
    dl_count *c = opaque;
    cJSON *doc = cJSON_ParseWithLength(m->payload, m->len);
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(doc, "reason");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(doc, "payload_b64");
    c->total++;
    if (!cJSON_IsString(reason) || !cJSON_IsString(payload)) {
        c->invalid++;
    } else {
        multiset_add(c->by_reason, reason->valuestring, 1);
        multiset_add(c->payloads, payload->valuestring, 1);
    }
    cJSON_Delete(doc);
}

/* The dead letters' payloads against the malformed records the simulator
 * wrote: equal as multisets, or, after crashes (at_least_once), every
 * malformed record dead-lettered at least as often as it was sent and no
 * other payload. Returns -1 when the file cannot be read. */
static int check_payloads(const char *path, const cJSON *dead, bool at_least_once)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long long lines = 0;
    cJSON *sent = cJSON_CreateObject();
    const cJSON *e;

    if (!f) {
        fprintf(stderr, "chiso-verify: cannot read %s\n", path);
        cJSON_Delete(sent);
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (n == 0)
            continue;
        multiset_add(sent, line, 1);
        lines++;
    }
    free(line);
    fclose(f);
    cJSON_ArrayForEach(e, sent)
    {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(dead, e->string);
        int want = (int)e->valuedouble, got = d ? (int)d->valuedouble : 0;
        if (got < want || (!at_least_once && got != want))
            mismatch("deadletter: a malformed record sent %d time(s) was dead-lettered %d "
                     "time(s): %.60s",
                     want, got, e->string);
    }
    cJSON_ArrayForEach(e, dead)
    {
        if (!cJSON_GetObjectItemCaseSensitive(sent, e->string))
            mismatch("deadletter: a payload that was never sent malformed: %.60s", e->string);
    }
    printf("deadletter: payloads compared with %lld malformed records%s\n", lines,
           at_least_once ? " (at least once)" : "");
    cJSON_Delete(sent);
    return 0;
}

static int check_deadletter(const chiso_config *cfg, const cJSON *truth)
{
    dl_count c = {0, cJSON_CreateObject(), cJSON_CreateObject(), 0};
    int before = mismatches;
    const char *malformed = chiso_config_str(cfg, "malformed");
    bool at_least_once = chiso_config_bool(cfg, "deadletter.at-least-once");
    if (read_topic(cfg, CHISO_TOPIC_DEADLETTER, on_deadletter, &c) != 0 ||
        (malformed && check_payloads(malformed, c.payloads, at_least_once) != 0)) {
        cJSON_Delete(c.by_reason);
        cJSON_Delete(c.payloads);
        return -1;
    }
    long long want = json_int(truth, "malformed");
    if (at_least_once ? c.total < want : c.total != want)
        mismatch("deadletter: %lld records, truth %lld malformed", c.total, want);
    if (c.invalid)
        mismatch("deadletter: %lld records lack reason or payload_b64", c.invalid);
    const cJSON *wr = cJSON_GetObjectItemCaseSensitive(truth, "malformed_by_reason");
    const cJSON *r;
    cJSON_ArrayForEach(r, wr)
    {
        long long got = json_int(c.by_reason, r->string);
        if (at_least_once ? got < (long long)r->valuedouble : got != (long long)r->valuedouble)
            mismatch("deadletter reason %s: %lld, truth %lld", r->string, got,
                     (long long)r->valuedouble);
    }
    cJSON_ArrayForEach(r, c.by_reason)
    {
        if (!cJSON_GetObjectItemCaseSensitive(wr, r->string))
            mismatch("deadletter reason %s: %lld, truth has none", r->string,
                     (long long)r->valuedouble);
    }
    printf("deadletter: %lld records, %d mismatched\n", c.total, mismatches - before);
    cJSON_Delete(c.by_reason);
    cJSON_Delete(c.payloads);
    return 0;
}

/* ---- scores ---- */

static void on_score(const rd_kafka_message_t *m, void *opaque)
{
    cJSON *latest = opaque;
    char key[256];
    if (!m->key)
        return;
    snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
    cJSON_DeleteItemFromObjectCaseSensitive(latest, key);
    if (m->len == 0)
        return; /* tombstone */
    cJSON *doc = cJSON_ParseWithLength(m->payload, m->len);
    cJSON_AddItemToObject(latest, key, doc ? doc : cJSON_CreateNull());
}

static const char *const snapshot_counts[] = {
    "received",         "received_online", "received_direct", "received_postal", "resolved",
    "resolved_on_time", "resolved_late",   "full_process",    "partial",         "offline"};

/* Compare one snapshot with the truth of its unit and period. */
static void check_snapshot(const cJSON *latest, const char *unit, const char *period,
                           const cJSON *want_counts, const cJSON *want_open, long long *checked)
{
    char key[256];
    snprintf(key, sizeof(key), "%s|%s", unit, period);
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(latest, key);
    if (!snap) {
        mismatch("scores: no snapshot for %s", key);
        return;
    }
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(snap, "counts");
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(snap, "full_process");
    if (!cJSON_IsObject(counts) || !cJSON_IsObject(fp) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(snap, "unit")) ||
        json_int(snap, "v") != 1) {
        mismatch("scores: %s lacks v, unit, counts or full_process", key);
        return;
    }
    for (size_t i = 0; i < sizeof(snapshot_counts) / sizeof(snapshot_counts[0]); i++) {
        long long got = json_int(counts, snapshot_counts[i]);
        long long want = json_int(want_counts, snapshot_counts[i]);
        if (got != want)
            mismatch("scores %s counts.%s: %lld, truth %lld", key, snapshot_counts[i], got, want);
    }
    for (int i = 0; i < 3; i++) {
        const char *name = i == 0 ? "open" : i == 1 ? "open_overdue" : "judged";
        long long got = json_int(counts, name), want = json_int(want_open, name);
        if (got != want)
            mismatch("scores %s counts.%s: %lld, truth %lld", key, name, got, want);
    }
    long long on_time = json_int(want_open, "judged") - json_int(want_open, "judged_late");
    if (json_int(counts, "judged_on_time") != on_time)
        mismatch("scores %s counts.judged_on_time: %lld, truth %lld", key,
                 json_int(counts, "judged_on_time"), on_time);
    (*checked)++;
}

static int is_day(const char *period)
{
    return strlen(period) == 10; /* "2025-07-01" */
}

/* Every snapshot chiso-snapshot keeps in Redis (<prefix>:{U}:s:<period>,
 * what the wall reads) must be the topic's latest of its key, and every
 * key of the topic must be there. */
static int check_redis_latest(const chiso_config *cfg, const cJSON *latest)
{
    char errstr[256];
    const char *prefix = chiso_config_str(cfg, "redis.prefix");
    chiso_redis *rc = chiso_redis_open(cfg, errstr, sizeof(errstr));
    if (!rc) {
        fprintf(stderr, "chiso-verify: %s\n", errstr);
        return -1;
    }
    int before = mismatches;
    long long compared = 0;
    const cJSON *snap;
    cJSON_ArrayForEach(snap, latest)
    {
        const char *bar = strchr(snap->string, '|');
        if (!bar || cJSON_IsNull(snap))
            continue;
        redisReply *r = chiso_redis_command(rc, "GET %s:{%b}:s:%s", prefix, snap->string,
                                            (size_t)(bar - snap->string), bar + 1);
        if (!r) {
            fprintf(stderr, "chiso-verify: Redis: %s\n", chiso_redis_errstr(rc));
            chiso_redis_close(rc);
            return -1;
        }
        cJSON *doc = r->type == REDIS_REPLY_STRING ? cJSON_ParseWithLength(r->str, r->len) : NULL;
        if (!doc)
            mismatch("scores: %s: no snapshot in Redis", snap->string);
        else if (!cJSON_Compare(doc, snap, true))
            mismatch("scores: %s: Redis holds another snapshot than the topic's latest",
                     snap->string);
        compared++;
        cJSON_Delete(doc);
        freeReplyObject(r);
    }
    chiso_redis_close(rc);
    printf("scores: %lld snapshots in Redis compared with the topic's latest, %d mismatched\n",
           compared, mismatches - before);
    return 0;
}

static int check_scores(const chiso_config *cfg, const cJSON *truth, bool feedback)
{
    cJSON *latest = cJSON_CreateObject();
    int before = mismatches;
    long long checked = 0;
    if (read_topic(cfg, CHISO_TOPIC_SCORES, on_score, latest) != 0) {
        cJSON_Delete(latest);
        return -1;
    }
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(truth, "counters");
    const cJSON *opens = cJSON_GetObjectItemCaseSensitive(truth, "open");
    const cJSON *unit;
    cJSON_ArrayForEach(unit, units)
    {
        const cJSON *uopen = cJSON_GetObjectItemCaseSensitive(opens, unit->string);
        const cJSON *period;
        cJSON_ArrayForEach(period, unit)
        {
            if (is_day(period->string))
                continue;
            check_snapshot(latest, unit->string, period->string, period,
                           cJSON_GetObjectItemCaseSensitive(uopen, period->string), &checked);
        }
    }
    const cJSON *province = cJSON_GetObjectItemCaseSensitive(truth, "province");
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(truth, "province_counters");
    const cJSON *po = cJSON_GetObjectItemCaseSensitive(truth, "province_open");
    const cJSON *period;
    cJSON_ArrayForEach(period, pc)
    {
        if (is_day(period->string) || !cJSON_IsString(province))
            continue;
        check_snapshot(latest, province->valuestring, period->string, period,
                       cJSON_GetObjectItemCaseSensitive(po, period->string), &checked);
    }
    /* a snapshot of a unit and period without counters in the truth (its
     * dossiers open from before, or feedback alone) counts nothing */
    const cJSON *snap;
    cJSON_ArrayForEach(snap, latest)
    {
        const char *bar = strchr(snap->string, '|');
        char u[128];
        if (!bar || cJSON_IsNull(snap) || is_day(bar + 1) ||
            (size_t)(bar - snap->string) >= sizeof(u))
            continue;
        snprintf(u, sizeof(u), "%.*s", (int)(bar - snap->string), snap->string);
        bool prov = cJSON_IsString(province) && strcmp(u, province->valuestring) == 0;
        if (cJSON_GetObjectItemCaseSensitive(prov ? pc : cJSON_GetObjectItemCaseSensitive(units, u),
                                             bar + 1))
            continue; /* compared above */
        check_snapshot(latest, u, bar + 1, NULL,
                       prov ? cJSON_GetObjectItemCaseSensitive(po, bar + 1)
                            : get_path(opens, u, bar + 1),
                       &checked);
    }
    printf("scores: %d keys read, %lld snapshots compared, %d mismatched\n",
           cJSON_GetArraySize(latest), checked, mismatches - before);
    before = mismatches;
    if (verify_score_values(cfg, truth, latest, feedback) != 0) {
        cJSON_Delete(latest);
        return -1;
    }
    printf("scores: indicators, totals and ranks: %d mismatched\n", mismatches - before);
    int rc = check_redis_latest(cfg, latest);
    cJSON_Delete(latest);
    return rc;
}

/* ---- class changes ---- */

/* What dossier.classified told read_committed consumers, per dossier: the
 * last class (chiso_pub_class) | SEEN. */
#define SEEN 0x100

typedef struct classified_ctx {
    chiso_map *last; /* "<unit>|<dossier_id>" -> last class | SEEN */
    long long records, invalid;
} classified_ctx;

/* A class name and provisional flag as chiso_pub_class(); -1 when not one. */
static int pub_of(const cJSON *cls, const cJSON *prov)
{
    if (cJSON_IsNull(cls))
        return CHISO_CLASS_NONE;
    for (int c = CHISO_CLASS_FULL_PROCESS; c <= CHISO_CLASS_OFFLINE; c++) {
        if (cJSON_IsString(cls) && strcmp(cls->valuestring, chiso_class_name((chiso_class)c)) == 0)
            return chiso_pub_class((chiso_class)c, cJSON_IsTrue(prov));
    }
    return -1;
}

static const char *pub_name(unsigned pub, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s", chiso_class_name((chiso_class)(pub & ~CHISO_PUB_PROVISIONAL)),
             pub & CHISO_PUB_PROVISIONAL ? " (provisional)" : "");
    return buf;
}

/* One record of dossier.classified: it must follow the dossier's last one
 * (its "previous" is that class; the first's is null) and change it. */
static void on_classified(const rd_kafka_message_t *m, void *opaque)
{
    classified_ctx *c = opaque;
    char key[256], a[64], b[64];
    cJSON *doc = cJSON_ParseWithLength(m->payload, m->len);
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(doc, "unit");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "dossier_id");
    int cls = pub_of(cJSON_GetObjectItemCaseSensitive(doc, "class"),
                     cJSON_GetObjectItemCaseSensitive(doc, "provisional"));
    int prev = pub_of(cJSON_GetObjectItemCaseSensitive(doc, "previous"),
                      cJSON_GetObjectItemCaseSensitive(doc, "previous_provisional"));
    c->records++;
    if (!cJSON_IsString(unit) || !cJSON_IsString(id) || cls <= 0 || prev < 0) {
        c->invalid++;
        mismatch("classified: an invalid record at %s [%d] @%lld", rd_kafka_topic_name(m->rkt),
                 m->partition, (long long)m->offset);
        cJSON_Delete(doc);
        return;
    }
    snprintf(key, sizeof(key), "%s|%s", unit->valuestring, id->valuestring);
    chiso_map_entry *e = chiso_map_put(c->last, key, NULL);
    if (!e) {
        cJSON_Delete(doc);
        return;
    }
    unsigned last = e->u64 ? (unsigned)(e->u64 & 0xff) : CHISO_CLASS_NONE;
    if ((unsigned)prev != last)
        mismatch("classified: %s: a change from %s after %s (a gap, or a change told twice)", key,
                 prev ? pub_name((unsigned)prev, a, sizeof(a)) : "null",
                 e->u64 ? pub_name(last, b, sizeof(b)) : "nothing");
    if (cls == prev)
        mismatch("classified: %s: a change from %s to itself", key,
                 pub_name((unsigned)cls, a, sizeof(a)));
    e->u64 = SEEN | (unsigned)cls;
    cJSON_Delete(doc);
}

/* A dossier state in Redis: its class must be the last one told. */
static void state_class(chiso_redis *rc, const char *key, const char *unit, const char *id,
                        void *ctx)
{
    classified_ctx *c = ctx;
    char k[256], a[64], b[64];
    chiso_dossier *d = chiso_dossier_new();
    redisReply *r = d ? chiso_redis_command(rc, "GET %s", key) : NULL;
    if (r && r->type == REDIS_REPLY_STRING && chiso_dossier_decode(d, r->str, r->len) == 0) {
        unsigned cls = chiso_dossier_pub_class(d);
        snprintf(k, sizeof(k), "%s|%s", unit, id);
        chiso_map_entry *e = chiso_map_get(c->last, k);
        unsigned told = e ? (unsigned)(e->u64 & 0xff) : CHISO_CLASS_NONE;
        if (cls != told)
            mismatch("classified: %s is %s in Redis, the last change told %s", k,
                     cls ? pub_name(cls, a, sizeof(a)) : "unclassified",
                     e ? pub_name(told, b, sizeof(b)) : "nothing");
        if (e)
            e->u64 |= SEEN << 1; /* a state has it */
    }
    if (r)
        freeReplyObject(r);
    chiso_dossier_free(d);
}

/* dossier.classified, read as read_committed consumers read it: one chain
 * of changes per dossier (nothing told twice, nothing skipped), ending at
 * the class of its state in Redis. */
static int check_classified(const chiso_config *cfg)
{
    classified_ctx c = {.last = chiso_map_new()};
    int before = mismatches;
    chiso_redis *rc = NULL;
    int rc_ = -1;
    if (!c.last || read_topic(cfg, CHISO_TOPIC_DOSSIER_CLASSIFIED, on_classified, &c) != 0)
        goto out;
    char errstr[256];
    if (!(rc = chiso_redis_open(cfg, errstr, sizeof(errstr)))) {
        fprintf(stderr, "chiso-verify: %s\n", errstr);
        goto out;
    }
    if (scan_unit_keys(rc, chiso_config_str(cfg, "redis.prefix"), "d", state_class, &c) != 0) {
        fprintf(stderr, "chiso-verify: scanning the dossier states failed\n");
        goto out;
    }
    size_t pos = 0;
    long long dossiers = 0;
    for (chiso_map_entry *e = chiso_map_next(c.last, &pos, NULL); e;
         e = chiso_map_next(c.last, &pos, e)) {
        dossiers++;
        if (!(e->u64 & (SEEN << 1)))
            mismatch("classified: %s was told a class but has no state in Redis", e->key);
    }
    printf("classified: %lld records, %lld dossiers, %d mismatched\n", c.records, dossiers,
           mismatches - before);
    rc_ = 0;
out:
    if (rc)
        chiso_redis_close(rc);
    chiso_map_destroy(c.last);
    return rc_;
}

/* ---- alerts ---- */

typedef struct alert_count {
    cJSON *seen; /* "<kind>|<unit>|<dossier>" -> count */
    long long overdue, due_soon, invalid;
} alert_count;

static void on_alert(const rd_kafka_message_t *m, void *opaque)
{
    alert_count *c = opaque;
    char key[256];
    cJSON *doc = cJSON_ParseWithLength(m->payload, m->len);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(doc, "unit");
    const cJSON *dossier = cJSON_GetObjectItemCaseSensitive(doc, "dossier_id");
    if (!cJSON_IsString(kind) || !cJSON_IsString(unit) || !cJSON_IsString(dossier)) {
        c->invalid++;
    } else {
        snprintf(key, sizeof(key), "%s|%s|%s", kind->valuestring, unit->valuestring,
                 dossier->valuestring);
        multiset_add(c->seen, key, 1);
        if (strcmp(kind->valuestring, "overdue") == 0)
            c->overdue++;
        else if (strcmp(kind->valuestring, "due_soon") == 0)
            c->due_soon++;
        else
            c->invalid++;
    }
    cJSON_Delete(doc);
}

/* With "now" (the event-time watermark, or the wall clock) on local day W,
 * the alerts are exactly: one
 * "overdue" per dossier open on W with first overdue day <= W (the sum over
 * days <= W of overdue_began - overdue_closed), one "due_soon" per dossier
 * whose first overdue day is W + 1 (overdue_began on W + 1: no event comes
 * after the watermark, so none of them closed). */
static int check_alerts(const chiso_config *cfg, const cJSON *truth)
{
    char errstr[256];
    int before = mismatches;
    chiso_redis *rc = chiso_redis_open(cfg, errstr, sizeof(errstr));
    if (!rc) {
        fprintf(stderr, "chiso-verify: %s\n", errstr);
        return -1;
    }
    redisReply *r =
        chiso_redis_command(rc, "GET %s:watermark", chiso_config_str(cfg, "redis.prefix"));
    int64_t w = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    if (r)
        freeReplyObject(r);
    chiso_redis_close(rc);
    if (strcmp(chiso_config_str(cfg, "alerts.now"), "wall") == 0)
        w = (int64_t)time(NULL);
    if (w <= 0) {
        mismatch("alerts: no event-time watermark in Redis");
        return 0;
    }
    int32_t wday = chiso_local_day(w);
    long long want_overdue = 0, want_soon = 0;
    const cJSON *unit, *period;
    cJSON_ArrayForEach(unit, cJSON_GetObjectItemCaseSensitive(truth, "counters"))
    {
        cJSON_ArrayForEach(period, unit)
        {
            chiso_period p;
            if (chiso_period_parse(period->string, &p) != 0 || p.kind != CHISO_PERIOD_DAY)
                continue;
            if (p.first_day <= wday)
                want_overdue +=
                    json_int(period, "overdue_began") - json_int(period, "overdue_closed");
            if (p.first_day == wday + 1)
                want_soon += json_int(period, "overdue_began");
        }
    }
    alert_count c = {cJSON_CreateObject(), 0, 0, 0};
    if (read_topic(cfg, CHISO_TOPIC_ALERTS, on_alert, &c) != 0) {
        cJSON_Delete(c.seen);
        return -1;
    }
    if (c.overdue != want_overdue)
        mismatch("alerts: %lld overdue, truth %lld open and overdue at the watermark", c.overdue,
                 want_overdue);
    if (c.due_soon != want_soon)
        mismatch("alerts: %lld due soon, truth %lld due the day after the watermark", c.due_soon,
                 want_soon);
    if (c.invalid)
        mismatch("alerts: %lld records without kind, unit or dossier_id", c.invalid);
    const cJSON *e;
    cJSON_ArrayForEach(e, c.seen)
    {
        if (e->valuedouble > 1)
            mismatch("alerts: %s published %d times", e->string, (int)e->valuedouble);
    }
    printf("alerts: %lld overdue, %lld due soon, %d mismatched\n", c.overdue, c.due_soon,
           mismatches - before);
    cJSON_Delete(c.seen);
    return 0;
}

/* ---- committed offsets ---- */

/* Wait until `group` has committed, on every partition of committed.topic
 * (dossier.events by default), the partition's end: every record was
 * applied. */
static int check_committed(const chiso_config *cfg)
{
    char errstr[512], topic[256];
    const char *group = chiso_config_str(cfg, "group");
    int64_t deadline = chiso_now_mono_us() + chiso_config_int(cfg, "timeout.s") * 1000000;
    const rd_kafka_metadata_t *md = NULL;
    int rc = -1;

    chiso_topic_name(cfg, chiso_config_str(cfg, "committed.topic"), topic, sizeof(topic));
    rd_kafka_t *rk = chiso_kafka_consumer_new(cfg, group, NULL, NULL, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "chiso-verify: %s\n", errstr);
        return -1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "chiso-verify: no metadata for %s\n", topic);
        goto out;
    }
    int nparts = md->topics[0].partition_cnt;
    for (;;) {
        rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(nparts);
        int64_t behind = 0;
        for (int p = 0; p < nparts; p++)
            rd_kafka_topic_partition_list_add(list, topic, p);
        rd_kafka_resp_err_t err = rd_kafka_committed(rk, list, 10000);
        for (int p = 0; p < nparts && !err; p++) {
            int64_t lo, hi;
            if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000)) {
                behind = -1;
                break;
            }
            int64_t at = list->elems[p].offset < 0 ? lo : list->elems[p].offset;
            behind += hi - at;
        }
        rd_kafka_topic_partition_list_destroy(list);
        if (!err && behind == 0) {
            printf("committed: group %s is at the end of every partition of %s\n", group, topic);
            rc = 0;
            break;
        }
        if (chiso_now_mono_us() > deadline) {
            mismatch("committed: group %s still %lld record(s) behind on %s", group,
                     (long long)behind, topic);
            rc = 0;
            break;
        }
        sleep(1);
    }
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk); /* never joined the group: nothing to close */
    return rc;
}

int main(int argc, char **argv)
{
    char errstr[512];
    int first = 0, rc = 2;
    chiso_config *cfg = chiso_config_new(defs);
    cJSON *truth = NULL;

    chiso_log_set_component("verify");
    chiso_log_threshold = CHISO_LOG_WARN;
    int pr = chiso_config_parse_args(cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (pr == 1) {
        printf("Usage: chiso-verify --truth FILE [OPTIONS]\n\nCompares Redis counters, the "
               "deadletter topic and the scores topic with a simulator ground truth.\n\n");
        chiso_config_print_help(defs, stdout);
        rc = 0;
        goto out;
    }
    const char *checks = chiso_config_str(cfg, "check");
    bool needs_truth =
        strstr(checks, "counters") || strstr(checks, "deadletter") || strstr(checks, "scores");
    if (pr != 0 || (needs_truth && !chiso_config_str(cfg, "truth"))) {
        fprintf(stderr, "chiso-verify: %s\n", pr ? errstr : "--truth is required");
        goto out;
    }
    max_report = (int)chiso_config_int(cfg, "max-report");
    if (needs_truth && !(truth = read_json(chiso_config_str(cfg, "truth")))) {
        fprintf(stderr, "chiso-verify: cannot read %s\n", chiso_config_str(cfg, "truth"));
        goto out;
    }
    bool feedback = strstr(checks, "feedback") != NULL;
    rc = 1;
    if (strstr(checks, "fold")) {
        chiso_redis *rc2 = connect_folded(cfg);
        if (!rc2)
            goto out;
        chiso_redis_close(rc2);
    }
    if (strstr(checks, "committed") && check_committed(cfg) != 0)
        goto out;
    reported = 0;
    if (strstr(checks, "counters") &&
        (check_counters(cfg, truth, feedback) != 0 || check_procedures(cfg, truth) != 0))
        goto out;
    reported = 0;
    if (strstr(checks, "deadletter") && check_deadletter(cfg, truth) != 0)
        goto out;
    reported = 0;
    if (strstr(checks, "scores") && check_scores(cfg, truth, feedback) != 0)
        goto out;
    reported = 0;
    if (strstr(checks, "alerts") && check_alerts(cfg, truth) != 0)
        goto out;
    reported = 0;
    if (strstr(checks, "classified") && check_classified(cfg) != 0)
        goto out;
    printf("verify: %s (%d mismatches)\n", mismatches ? "FAILED" : "OK", mismatches);
    rc = mismatches ? 1 : 0;
out:
    cJSON_Delete(truth);
    chiso_config_destroy(cfg);
    return rc;
}
