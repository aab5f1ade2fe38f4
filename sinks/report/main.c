/*
 * main.c - chiso-report: the quarterly statistics table of a province (or
 * one unit) for one quarter, printed as Markdown or CSV on stdout
 * (docs/report.md).
 *
 * It reads the catalog (catalog.units, catalog.procedures) from Kafka to
 * the end, then the per-unit counters from Redis in three pipelined round
 * trips (the unit set; every unit's month index; every unit's quarter and
 * month hashes, the cumulative counters of its buckets and its months'
 * procedure sets of docs/counters.md), sums them into a
 * chiso_report_input and prints chiso_report_write()'s table. The score of
 * each month is computed as chiso-snapshot computes it (score.h with the
 * catalog inputs of catview.h, open_overdue and the population D derived
 * from the buckets as snapshot.h derives them), so it equals the published
 * total; the quarter's population D gives part IV.4 (#5).
 *
 * Exit status: 0 printed; 2 bad arguments or an unknown unit; 1 Kafka,
 * Redis or output failure. stdout carries the report only.
 */
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "chiso/catview.h"
#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/dossier.h"
#include "chiso/journal.h"
#include "chiso/kafka.h"
#include "chiso/redisx.h"
#include "report.h"
#include "chiso/score.h"
#include "chiso/snapshot.h"
#include "chiso/strmap.h"
#include "chiso/vntime.h"

#define EXIT_USAGE 2

static int validate_quarter(const char *value, char *errstr, size_t errstr_size)
{
    chiso_period p;

    if (value[0] && (strlen(value) >= CHISO_PERIOD_STRLEN || chiso_period_parse(value, &p) != 0 ||
                     p.kind != CHISO_PERIOD_QUARTER)) {
        snprintf(errstr, errstr_size, "must be a quarter like 2025-Q3");
        return CHISO_EINVAL;
    }
    return 0;
}

static int validate_format(const char *value, char *errstr, size_t errstr_size)
{
    if (strcmp(value, "markdown") == 0 || strcmp(value, "csv") == 0)
        return 0;
    snprintf(errstr, errstr_size, "must be markdown or csv");
    return CHISO_EINVAL;
}

static const chiso_cfg_def defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    {"quarter", CHISO_CFG_STRING, "", "the quarter, e.g. 2025-Q3 (default: the current one)",
     validate_quarter},
    {"unit", CHISO_CFG_STRING, NULL, "report one unit (code) instead of the province",
     chiso_catview_code_ok},
    {"province", CHISO_CFG_STRING, NULL,
     "province unit code; unset = the unit of kind province in catalog.units",
     chiso_catview_code_ok},
    {"format", CHISO_CFG_STRING, "markdown", "markdown or csv", validate_format},
    CHISO_SCORING_CFG_DEFS,
    {"catalog.timeout.ms", CHISO_CFG_INT, "30000", "how long to wait for the catalog topics",
     chiso_cfg_positive},
    {"log.level", CHISO_CFG_STRING, "error", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: chiso-report [--quarter 2025-Q3] [--unit CODE] [--format markdown|csv] "
                 "[options]\n\n"
                 "Print the quarterly statistics table (received, resolved, open, on-time rates,\n"
                 "online shares, online services, feedback, Decision 766 score per month) of the\n"
                 "province or one unit, from the counters in Redis and the catalog on Kafka\n"
                 "(docs/report.md). Exit status: 0 printed, 2 bad arguments, 1 failure.\n\n");
    chiso_config_print_help(defs, out);
}

/* ---- what is read for each unit -------------------------------------------- */

enum { DAYS_MAX = 31 };

/* The score input each procedure set counts (#7, #9), as chiso-snapshot. */
static const chiso_score_field proc_inputs[CHISO_PS_COUNT] = {
    [CHISO_PS_ONLINE] = CHISO_SF_PROCEDURES_ONLINE_WITH_DOSSIERS,
    [CHISO_PS_PAID] = CHISO_SF_PROCEDURES_PAID_ONLINE,
};

/* A bucket's counters that derive open, open_overdue and the population D
 * (snapshot.h's chiso_snapshot_cum, in its order), as chiso-snapshot reads
 * them: each field is its own argument of the HMGET. */
#define CUM_FIELDS "HMGET %s:{%s}:c:%s " CHISO_SNAPSHOT_CUM_FIELDS

typedef struct unit_data {
    char code[CHISO_CODE_MAX + 1];
    chiso_unit_kind kind;
    redisReply *months; /* SMEMBERS reply: the unit's month keys */
    redisReply **replies;
    size_t nreplies;
    /* its month buckets, then the day buckets of E's month (unit_buckets()) */
    chiso_snapshot_bucket *buckets;
    size_t nbuckets;
} unit_data;

typedef struct report_ctx {
    chiso_redis *rc;
    const char *prefix;
    chiso_period q;
    char qkey[CHISO_PERIOD_STRLEN];
    int32_t today, end_day; /* E = min(quarter's last day, today) */
    chiso_period months[CHISO_REPORT_MONTHS];
    char month_keys[CHISO_REPORT_MONTHS][CHISO_PERIOD_STRLEN];
    char days[DAYS_MAX][CHISO_PERIOD_STRLEN]; /* today's month up to today, when in the quarter */
    int ndays;
    unit_data *units;
    size_t nunits;
} report_ctx;

/* Send n commands queued with redisAppendCommand and collect the replies.
 * Returns 0 or CHISO_EIO (the caller frees what was collected). */
static int collect(chiso_redis *rc, redisReply **out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (chiso_redis_get_reply(rc, &r) != REDIS_OK) {
            fprintf(stderr, "chiso-report: redis: %s\n", chiso_redis_errstr(rc));
            return CHISO_EIO;
        }
        out[i] = r;
        if (out[i]->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "chiso-report: redis: %s\n", out[i]->str);
            return CHISO_EIO;
        }
    }
    return 0;
}

/* The value of a bulk reply as a count (0 for nil or garbage). */
static int64_t reply_count(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

/* A bucket's values from its HMGET reply; false when the reply is not one
 * value per counter. */
static bool bucket_of(const redisReply *r, const char *key, chiso_snapshot_bucket *b)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != CHISO_SNAPSHOT_CUM)
        return false;
    b->key = key;
    for (int k = 0; k < CHISO_SNAPSHOT_CUM; k++)
        b->v[k] = reply_count(r->element[k]);
    return true;
}

/* Gather a unit's buckets from its replies: its month buckets (keys that are
 * months; another member of the month index is skipped, as chiso-snapshot
 * skips it), then the day buckets. Returns 0 or CHISO_ENOMEM. */
static int unit_buckets(const report_ctx *x, unit_data *u)
{
    size_t nm = u->months->elements;
    chiso_period p;

    if (!(u->buckets = calloc(nm + (size_t)x->ndays + 1, sizeof(*u->buckets))))
        return CHISO_ENOMEM;
    for (size_t m = 0; m < nm; m++) {
        const redisReply *key = u->months->element[m];
        if (key->type != REDIS_REPLY_STRING || key->len >= CHISO_PERIOD_STRLEN ||
            chiso_period_parse(key->str, &p) != 0 || p.kind != CHISO_PERIOD_MONTH)
            continue;
        if (bucket_of(u->replies[1 + CHISO_REPORT_MONTHS + m], key->str, &u->buckets[u->nbuckets]))
            u->nbuckets++;
    }
    for (int d = 0; d < x->ndays; d++) {
        if (bucket_of(u->replies[1 + CHISO_REPORT_MONTHS + nm + (size_t)d], x->days[d],
                      &u->buckets[u->nbuckets]))
            u->nbuckets++;
    }
    return 0;
}

/* Round trip 2 and 3: every unit's months, then its hashes. Replies per
 * unit: the quarter hash, the three month hashes (HGETALL), one HMGET of
 * the cumulative counters per month bucket and per day bucket, then the
 * procedure sets of the three months (HGETALL, proc_reply()). */
static int read_units(report_ctx *x)
{
    redisReply **months = calloc(x->nunits ? x->nunits : 1, sizeof(*months));
    const char **codes = malloc((x->nunits ? x->nunits : 1) * sizeof(*codes));
    char err[256];
    int rc = CHISO_ENOMEM;

    if (!months || !codes) {
        free(months);
        free(codes);
        return rc;
    }
    /* the units' journaled changes go into their hashes first (journal.h) */
    for (size_t i = 0; i < x->nunits; i++)
        codes[i] = x->units[i].code;
    rc = chiso_journal_fold(x->rc, x->prefix, codes, x->nunits, err, sizeof(err));
    free(codes);
    if (rc != 0) {
        fprintf(stderr, "chiso-report: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < x->nunits; i++)
        chiso_redis_appendf(x->rc, "SMEMBERS %s:{%s}:months", x->prefix, x->units[i].code);
    if ((rc = collect(x->rc, months, x->nunits)) != 0)
        goto out;
    for (size_t i = 0; i < x->nunits; i++) {
        unit_data *u = &x->units[i];
        u->months = months[i];
        months[i] = NULL;
        u->nreplies = 1 + CHISO_REPORT_MONTHS + u->months->elements + (size_t)x->ndays +
                      CHISO_REPORT_MONTHS * CHISO_PS_COUNT;
        if (!(u->replies = calloc(u->nreplies, sizeof(*u->replies)))) {
            rc = CHISO_ENOMEM;
            goto out;
        }
        chiso_redis_appendf(x->rc, "HGETALL %s:{%s}:c:%s", x->prefix, u->code, x->qkey);
        for (int m = 0; m < CHISO_REPORT_MONTHS; m++)
            chiso_redis_appendf(x->rc, "HGETALL %s:{%s}:c:%s", x->prefix, u->code,
                                x->month_keys[m]);
        for (size_t m = 0; m < u->months->elements; m++)
            chiso_redis_appendf(x->rc, CUM_FIELDS, x->prefix, u->code, u->months->element[m]->str);
        for (int d = 0; d < x->ndays; d++)
            chiso_redis_appendf(x->rc, CUM_FIELDS, x->prefix, u->code, x->days[d]);
        for (int m = 0; m < CHISO_REPORT_MONTHS; m++)
            for (int set = 0; set < CHISO_PS_COUNT; set++)
                chiso_redis_appendf(x->rc, "HGETALL %s:{%s}:%s:%s", x->prefix, u->code,
                                    chiso_proc_set_name((chiso_proc_set)set), x->month_keys[m]);
    }
    rc = 0;
    for (size_t i = 0; i < x->nunits && rc == 0; i++)
        rc = collect(x->rc, x->units[i].replies, x->units[i].nreplies);
    for (size_t i = 0; i < x->nunits && rc == 0; i++)
        rc = unit_buckets(x, &x->units[i]);
out:
    for (size_t i = 0; i < x->nunits; i++)
        if (months[i])
            freeReplyObject(months[i]);
    free(months);
    return rc;
}

/* open / open_overdue of a unit at end day E, from its buckets. */
static chiso_snapshot_counts open_at(const unit_data *u, int32_t end_day)
{
    chiso_snapshot_counts c = {0};

    if (chiso_snapshot_open(u->buckets, u->nbuckets, end_day, &c) != 0)
        memset(&c, 0, sizeof(c));
    return c;
}

/* The population D of a unit in period p at its end day E, from its
 * buckets (snapshot.h); all 0 when E is before p's first day (nothing is
 * judged in a period not begun). */
static chiso_snapshot_population population_at(const unit_data *u, const chiso_period *p,
                                               int32_t end_day)
{
    chiso_snapshot_population pop = {0};

    if (end_day < p->first_day ||
        chiso_snapshot_population_of(u->buckets, u->nbuckets, p, end_day, &pop) != 0)
        memset(&pop, 0, sizeof(pop));
    return pop;
}

/* A unit's procedure set of month m: procedure -> dossiers. */
static const redisReply *proc_reply(const report_ctx *x, const unit_data *u, int m, int set)
{
    return u->replies[1 + CHISO_REPORT_MONTHS + u->months->elements + (size_t)x->ndays +
                      (size_t)(m * CHISO_PS_COUNT + set)];
}

/* The numerators of #7 and #9 in month m: the distinct procedures of the
 * units' procedure sets, as chiso-snapshot counts them. Returns 0 or
 * CHISO_ENOMEM. */
static int month_procedures(const report_ctx *x, int m, chiso_score_input *total)
{
    chiso_map *procs[CHISO_PS_COUNT] = {NULL};
    int rc = CHISO_ENOMEM;

    for (int set = 0; set < CHISO_PS_COUNT; set++) {
        if (!(procs[set] = chiso_map_new()))
            goto out;
        for (size_t i = 0; i < x->nunits; i++) {
            const redisReply *ph = proc_reply(x, &x->units[i], m, set);
            for (size_t k = 0; k + 1 < ph->elements; k += 2) {
                if (reply_count(ph->element[k + 1]) > 0 &&
                    !chiso_map_put(procs[set], ph->element[k]->str, NULL))
                    goto out;
            }
        }
        total->n[proc_inputs[set]] = (int64_t)chiso_map_size(procs[set]);
    }
    rc = 0;
out:
    for (int set = 0; set < CHISO_PS_COUNT; set++)
        chiso_map_destroy(procs[set]);
    return rc;
}

/* Whether the unit has counters in month m of the quarter. */
static bool has_month(const report_ctx *x, const unit_data *u, int m)
{
    for (size_t i = 0; i < u->months->elements; i++) {
        if (strcmp(u->months->element[i]->str, x->month_keys[m]) == 0)
            return true;
    }
    return false;
}

/* The report's figures from the units' replies (and the catalog). */
static int fill(report_ctx *x, chiso_catview *cat, const char *unit, const char *rules_name,
                chiso_report_input *in)
{
    const chiso_score_rules *rules = chiso_score_rules_find(rules_name);
    chiso_score_input *inputs = calloc(x->nunits ? x->nunits : 1, sizeof(*inputs));
    chiso_catalog_counts cc;
    int rc = CHISO_ENOMEM;

    if (!inputs)
        return rc;
    if (x->end_day >= x->q.first_day) /* the quarter has begun: D is known */
        in->judged = in->judged_late = 0;
    for (size_t i = 0; i < x->nunits; i++) {
        const unit_data *u = &x->units[i];
        const redisReply *qh = u->replies[0];
        chiso_snapshot_counts before = open_at(u, x->q.first_day - 1);
        chiso_snapshot_counts end = open_at(u, x->end_day);

        for (size_t k = 0; k + 1 < qh->elements; k += 2)
            (void)chiso_report_add_counter(in, u->kind, qh->element[k]->str,
                                           reply_count(qh->element[k + 1]));
        in->carried_over += before.open;
        in->open += end.open;
        in->open_overdue += end.open_overdue;
        if (in->judged >= 0) {
            chiso_snapshot_population pop = population_at(u, &x->q, x->end_day);
            in->judged += pop.judged;
            in->judged_late += pop.late;
        }
    }
    for (int m = 0; m < CHISO_REPORT_MONTHS; m++) {
        bool present = false;
        chiso_score_input total;
        chiso_score sc;

        if (x->months[m].first_day > x->today)
            continue; /* not begun */
        for (size_t i = 0; i < x->nunits; i++) {
            const unit_data *u = &x->units[i];
            const redisReply *mh = u->replies[1 + m];
            int32_t e = chiso_snapshot_end_day(&x->months[m], x->today);
            chiso_snapshot_population pop = population_at(u, &x->months[m], e);

            present |= has_month(x, u, m);
            chiso_score_input_counters(&inputs[i]);
            for (size_t k = 0; k + 1 < mh->elements; k += 2)
                (void)chiso_score_input_counter(&inputs[i], mh->element[k]->str,
                                                reply_count(mh->element[k + 1]));
            inputs[i].n[CHISO_SF_OPEN_OVERDUE] = open_at(u, e).open_overdue;
            if (inputs[i].n[CHISO_SF_OPEN_OVERDUE] < 0)
                inputs[i].n[CHISO_SF_OPEN_OVERDUE] = 0;
            chiso_snapshot_population_input(&inputs[i], &pop);
        }
        if (!present)
            continue; /* no counter that month: no snapshot either */
        chiso_score_rollup(inputs, x->nunits, &total);
        if (chiso_catview_score_input(cat, unit, &total) != 0 ||
            month_procedures(x, m, &total) != 0 || chiso_score_compute(rules, &total, &sc) != 0)
            goto out;
        in->score[m] = sc.total;
    }
    if (chiso_catview_counts(cat, unit, &cc) == 0) {
        in->proc_eligible = cc.eligible_full;
        in->proc_offered_full = cc.offered_full;
        in->proc_fee = cc.fee;
        in->proc_fee_integrated = cc.fee_integrated;
    }
    rc = 0;
out:
    free(inputs);
    return rc;
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    chiso_config *cfg = chiso_config_new(defs);
    chiso_catview *cat = NULL;
    report_ctx x = {0};
    redisReply *units = NULL;
    chiso_report_input in;
    char errstr[512], quarter[CHISO_PERIOD_STRLEN];
    const char *unit, *province, *name;
    unsigned kinds = CHISO_CATVIEW_E_COPY_DEFAULT;
    int first = 0, rc, status = 1;
    int64_t now = time(NULL);
    static volatile sig_atomic_t never; /* the catalog wait is not interrupted */

    chiso_log_set_component("report");
    if (!cfg) {
        fprintf(stderr, "chiso-report: out of memory\n");
        return 1;
    }
    rc = chiso_config_parse_args(cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (rc == 1) {
        usage(stdout);
        status = 0;
        goto out;
    }
    if (rc != 0 || first < argc) {
        fprintf(stderr, "chiso-report: %s (see --help)\n",
                rc != 0 ? errstr : "unexpected argument");
        status = EXIT_USAGE;
        goto out;
    }
    (void)chiso_log_set_level_name(chiso_config_str(cfg, "log.level"));
    x.today = chiso_local_day(now);
    if (chiso_config_str(cfg, "quarter")[0])
        snprintf(quarter, sizeof(quarter), "%s", chiso_config_str(cfg, "quarter"));
    else
        chiso_period_key(x.today, CHISO_PERIOD_QUARTER, quarter);
    (void)chiso_period_parse(quarter, &x.q); /* validated */
    snprintf(x.qkey, sizeof(x.qkey), "%s", quarter);
    x.end_day = chiso_snapshot_end_day(&x.q, x.today);
    for (int m = 0; m < CHISO_REPORT_MONTHS; m++) {
        int32_t day = x.q.first_day;
        for (int k = 0; k < m; k++)
            day = chiso_period_of(day, CHISO_PERIOD_MONTH).last_day + 1;
        x.months[m] = chiso_period_of(day, CHISO_PERIOD_MONTH);
        chiso_period_key(day, CHISO_PERIOD_MONTH, x.month_keys[m]);
    }
    if (x.today >= x.q.first_day && x.today <= x.q.last_day) {
        chiso_period cur = chiso_period_of(x.today, CHISO_PERIOD_MONTH);
        if (x.today < cur.last_day)
            for (int32_t d = cur.first_day; d <= x.today; d++)
                chiso_period_key(d, CHISO_PERIOD_DAY, x.days[x.ndays++]);
    }

    /* the catalog */
    if (!(cat = chiso_catview_new())) {
        fprintf(stderr, "chiso-report: out of memory\n");
        goto out;
    }
    (void)chiso_catview_parse_kinds(chiso_config_str(cfg, "e_copy.kinds"), &kinds, errstr,
                                    sizeof(errstr));
    chiso_catview_set_e_copy_kinds(cat, kinds);
    if (chiso_catview_follow(cat, cfg, "chiso-report-catalog", NULL, NULL, errstr,
                             sizeof(errstr)) != 0) {
        fprintf(stderr, "chiso-report: catalog: %s\n", errstr);
        goto out;
    }
    if (chiso_catview_catch_up(cat, (int)chiso_config_int(cfg, "catalog.timeout.ms"), &never) !=
        0) {
        fprintf(stderr,
                "chiso-report: the catalog topics (catalog.units, catalog.procedures) were not "
                "read to their end within %lld ms: is Kafka up at %s?\n",
                (long long)chiso_config_int(cfg, "catalog.timeout.ms"),
                chiso_config_str(cfg, "brokers"));
        goto out;
    }
    unit = chiso_config_str(cfg, "unit");
    province = chiso_config_str(cfg, "province");
    if (!province)
        province = chiso_catview_province(cat);

    /* the counters */
    x.prefix = chiso_config_str(cfg, "redis.prefix");
    if (!(x.rc = chiso_redis_open(cfg, errstr, sizeof(errstr)))) {
        fprintf(stderr, "chiso-report: %s\n", errstr);
        goto out;
    }
    units = chiso_redis_command(x.rc, "SMEMBERS %s:units", x.prefix);
    if (chiso_redis_check(x.rc, units, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "chiso-report: redis: %s\n", errstr);
        goto out;
    }
    x.units = calloc(units->elements + 1, sizeof(*x.units));
    if (!x.units) {
        fprintf(stderr, "chiso-report: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < units->elements; i++) {
        const char *code = units->element[i]->str;
        if (units->element[i]->type != REDIS_REPLY_STRING || strlen(code) > CHISO_CODE_MAX ||
            (unit && strcmp(code, unit) != 0))
            continue;
        snprintf(x.units[x.nunits].code, sizeof(x.units[0].code), "%s", code);
        x.units[x.nunits].kind = chiso_catview_unit(cat, code) ? chiso_catview_unit(cat, code)->kind
                                                               : CHISO_UNIT_UNKNOWN;
        x.nunits++;
    }
    if (unit && x.nunits == 0 && !chiso_catview_unit(cat, unit)) {
        fprintf(stderr,
                "chiso-report: unit %s: no counters in Redis (prefix %s) and no record in "
                "catalog.units\n",
                unit, x.prefix);
        status = EXIT_USAGE;
        goto out;
    }
    if (read_units(&x) != 0)
        goto out;

    name = unit ? unit : province ? province : "province";
    if (chiso_catview_unit(cat, name))
        name = chiso_catview_unit(cat, name)->name;
    chiso_report_input_init(&in, name, quarter);
    in.as_of = now;
    if (fill(&x, cat, unit, chiso_config_str(cfg, "rules"), &in) != 0) {
        fprintf(stderr, "chiso-report: cannot compute the scores\n");
        goto out;
    }
    if (chiso_report_write(&in,
                           strcmp(chiso_config_str(cfg, "format"), "csv") == 0
                               ? CHISO_REPORT_CSV
                               : CHISO_REPORT_MARKDOWN,
                           stdout) != 0) {
        fprintf(stderr, "chiso-report: cannot write the report\n");
        goto out;
    }
    status = 0;
out:
    for (size_t i = 0; i < x.nunits; i++) {
        for (size_t k = 0; x.units[i].replies && k < x.units[i].nreplies; k++)
            if (x.units[i].replies[k])
                freeReplyObject(x.units[i].replies[k]);
        free(x.units[i].replies);
        free(x.units[i].buckets);
        if (x.units[i].months)
            freeReplyObject(x.units[i].months);
    }
    free(x.units);
    if (units)
        freeReplyObject(units);
    if (x.rc)
        chiso_redis_close(x.rc);
    chiso_catview_destroy(cat);
    chiso_config_destroy(cfg);
    return status;
}
