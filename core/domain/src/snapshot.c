/*
 * snapshot.c - counts -> score snapshot JSON (snapshot.h). Pure: no I/O, no
 * clock; the caller passes as_of.
 *
 * The JSON layout is the contract (CONTRACT.md, "Score snapshot") and is
 * documented field by field in docs/snapshot.md and, for the members a
 * score adds (indicators, groups, total, rank), docs/scoring.md: change
 * them together.
 */
#include "chiso/snapshot.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/jsonw.h"
#include "chiso/score.h"

/* The period counters of counters.h and where each lands in the struct. */
static const struct {
    chiso_counter_id id;
    size_t offset;
} period_fields[] = {
    {CHISO_C_RECEIVED, offsetof(chiso_snapshot_counts, received)},
    {CHISO_C_RECEIVED_ONLINE, offsetof(chiso_snapshot_counts, received_online)},
    {CHISO_C_RECEIVED_DIRECT, offsetof(chiso_snapshot_counts, received_direct)},
    {CHISO_C_RECEIVED_POSTAL, offsetof(chiso_snapshot_counts, received_postal)},
    {CHISO_C_RESOLVED, offsetof(chiso_snapshot_counts, resolved)},
    {CHISO_C_RESOLVED_ON_TIME, offsetof(chiso_snapshot_counts, resolved_on_time)},
    {CHISO_C_RESOLVED_LATE, offsetof(chiso_snapshot_counts, resolved_late)},
    {CHISO_C_FULL_PROCESS, offsetof(chiso_snapshot_counts, full_process)},
    {CHISO_C_PARTIAL, offsetof(chiso_snapshot_counts, partial)},
    {CHISO_C_OFFLINE, offsetof(chiso_snapshot_counts, offline)},
};
#define N_PERIOD_FIELDS (sizeof(period_fields) / sizeof(period_fields[0]))

/* Every count in JSON order, for the "counts" object and the roll-up. */
static const struct {
    const char *name;
    size_t offset;
} count_fields[] = {
    {"received", offsetof(chiso_snapshot_counts, received)},
    {"received_online", offsetof(chiso_snapshot_counts, received_online)},
    {"received_direct", offsetof(chiso_snapshot_counts, received_direct)},
    {"received_postal", offsetof(chiso_snapshot_counts, received_postal)},
    {"resolved", offsetof(chiso_snapshot_counts, resolved)},
    {"resolved_on_time", offsetof(chiso_snapshot_counts, resolved_on_time)},
    {"resolved_late", offsetof(chiso_snapshot_counts, resolved_late)},
    {"full_process", offsetof(chiso_snapshot_counts, full_process)},
    {"partial", offsetof(chiso_snapshot_counts, partial)},
    {"offline", offsetof(chiso_snapshot_counts, offline)},
    {"open", offsetof(chiso_snapshot_counts, open)},
    {"open_overdue", offsetof(chiso_snapshot_counts, open_overdue)},
    {"judged", offsetof(chiso_snapshot_counts, judged)},
    {"judged_on_time", offsetof(chiso_snapshot_counts, judged_on_time)},
};
#define N_COUNT_FIELDS (sizeof(count_fields) / sizeof(count_fields[0]))

static int64_t *count_at(chiso_snapshot_counts *c, size_t offset)
{
    return (int64_t *)(void *)((char *)c + offset);
}

static int64_t count_get(const chiso_snapshot_counts *c, size_t offset)
{
    return *(const int64_t *)(const void *)((const char *)c + offset);
}

void chiso_snapshot_unit_default(chiso_unit *u, const char *code)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->unit, sizeof(u->unit), "%s", code);
    snprintf(u->name, sizeof(u->name), "%s", u->unit);
    u->kind = CHISO_UNIT_UNKNOWN;
    u->target_full_process = CHISO_SNAPSHOT_DEFAULT_TARGET;
}

int chiso_snapshot_counts_set(chiso_snapshot_counts *c, const char *field, int64_t value)
{
    int id = chiso_counter_from_name(field);

    for (size_t i = 0; i < N_PERIOD_FIELDS; i++) {
        if ((int)period_fields[i].id == id) {
            *count_at(c, period_fields[i].offset) = value;
            return 0;
        }
    }
    return CHISO_ENOENT;
}

int64_t *chiso_snapshot_count_field(chiso_snapshot_counts *c, const char *name)
{
    for (size_t i = 0; i < N_COUNT_FIELDS; i++) {
        if (strcmp(count_fields[i].name, name) == 0)
            return count_at(c, count_fields[i].offset);
    }
    return NULL;
}

void chiso_snapshot_counts_add(chiso_snapshot_counts *acc, const chiso_snapshot_counts *x)
{
    for (size_t i = 0; i < N_COUNT_FIELDS; i++)
        *count_at(acc, count_fields[i].offset) += count_get(x, count_fields[i].offset);
}

const chiso_counter_id chiso_snapshot_cum[CHISO_SNAPSHOT_CUM] = {
    CHISO_C_RECEIVED,
    CHISO_C_CLOSED,
    CHISO_C_OVERDUE_BEGAN,
    CHISO_C_OVERDUE_CLOSED,
    CHISO_C_COMPLAINT_RECEIVED,
    CHISO_C_COMPLAINT_CLOSED,
    CHISO_C_E_RESULT_CLOSED,
    CHISO_C_DIGITIZED,
    CHISO_C_DIGITIZED_CLOSED,
    CHISO_C_REUSED_DATA,
    CHISO_C_REUSED_DATA_CLOSED,
    CHISO_C_FROM_DATA_STORE,
    CHISO_C_FROM_DATA_STORE_CLOSED,
    CHISO_C_POPULATION_DATA,
    CHISO_C_POPULATION_DATA_CLOSED,
};

enum { /* positions in chiso_snapshot_cum */
       CUM_RECEIVED,
       CUM_CLOSED,
       CUM_OVERDUE_BEGAN,
       CUM_OVERDUE_CLOSED,
       CUM_COMPLAINT,
       CUM_COMPLAINT_CLOSED,
       CUM_E_RESULT_CLOSED,
       CUM_DIGITIZED,
       CUM_DIGITIZED_CLOSED,
       CUM_REUSED,
       CUM_REUSED_CLOSED,
       CUM_STORE,
       CUM_STORE_CLOSED,
       CUM_POPULATION,
       CUM_POPULATION_CLOSED,
};

/* Sum the buckets' values over every day up to end_day (to[]) and, when
 * before_day is not INT32_MIN, over every day before before_day, which is
 * the first day of a month (before[]): each day counted once, from its
 * month bucket when the whole month is in range, else from its day bucket. */
static int cum_sums(const chiso_snapshot_bucket *buckets, size_t n, int32_t end_day,
                    int32_t before_day, int64_t to[CHISO_SNAPSHOT_CUM],
                    int64_t before[CHISO_SNAPSHOT_CUM])
{
    memset(to, 0, CHISO_SNAPSHOT_CUM * sizeof(int64_t));
    memset(before, 0, CHISO_SNAPSHOT_CUM * sizeof(int64_t));
    for (size_t i = 0; i < n; i++) {
        const chiso_snapshot_bucket *b = &buckets[i];
        chiso_period p;
        bool take = false;

        if (!b->key || chiso_period_parse(b->key, &p) != 0)
            return CHISO_EINVAL;
        if (p.kind == CHISO_PERIOD_MONTH) {
            take = p.last_day <= end_day;
            if (p.last_day < before_day) {
                for (int k = 0; k < CHISO_SNAPSHOT_CUM; k++)
                    before[k] += b->v[k];
            }
        } else if (p.kind == CHISO_PERIOD_DAY) {
            chiso_period month = chiso_period_of(p.first_day, CHISO_PERIOD_MONTH);
            take = p.first_day <= end_day && month.last_day > end_day;
        }
        if (take) {
            for (int k = 0; k < CHISO_SNAPSHOT_CUM; k++)
                to[k] += b->v[k];
        }
    }
    return 0;
}

int chiso_snapshot_open(const chiso_snapshot_bucket *buckets, size_t n, int32_t end_day,
                        chiso_snapshot_counts *c)
{
    int64_t to[CHISO_SNAPSHOT_CUM], before[CHISO_SNAPSHOT_CUM];

    if (cum_sums(buckets, n, end_day, INT32_MIN, to, before) != 0)
        return CHISO_EINVAL;
    c->open = to[CUM_RECEIVED] - to[CUM_CLOSED];
    c->open_overdue = to[CUM_OVERDUE_BEGAN] - to[CUM_OVERDUE_CLOSED];
    return 0;
}

/* counters.h, "Population D": a dossier is in D of [S, E] when received by
 * E (its received contribution is on a day <= E) and not closed before S
 * (its closed contribution, on its closed day C >= its received day, is
 * not on a day < S); a property X counted at its received day has X_closed
 * at C, so X in D = sum to E of X - sum before S of X_closed. A dossier of
 * D is late when its first overdue day B came before it closed, by E:
 * overdue_began (at B, unless closed before B) to E, less those closed
 * (overdue_closed at C) before S. Finished in the period with an
 * electronic result: e_result_closed from S to E. */
int chiso_snapshot_population_of(const chiso_snapshot_bucket *buckets, size_t n,
                                 const chiso_period *p, int32_t end_day,
                                 chiso_snapshot_population *out)
{
    int64_t to[CHISO_SNAPSHOT_CUM], before[CHISO_SNAPSHOT_CUM];

    if (p->kind == CHISO_PERIOD_DAY || cum_sums(buckets, n, end_day, p->first_day, to, before) != 0)
        return CHISO_EINVAL;
    out->judged = to[CUM_RECEIVED] - before[CUM_CLOSED];
    out->late = to[CUM_OVERDUE_BEGAN] - before[CUM_OVERDUE_CLOSED];
    out->complaints = to[CUM_COMPLAINT] - before[CUM_COMPLAINT_CLOSED];
    out->e_result = to[CUM_E_RESULT_CLOSED] - before[CUM_E_RESULT_CLOSED];
    out->digitized = to[CUM_DIGITIZED] - before[CUM_DIGITIZED_CLOSED];
    out->reused_data = to[CUM_REUSED] - before[CUM_REUSED_CLOSED];
    out->from_data_store = to[CUM_STORE] - before[CUM_STORE_CLOSED];
    out->population_data = to[CUM_POPULATION] - before[CUM_POPULATION_CLOSED];
    return 0;
}

int32_t chiso_snapshot_end_day(const chiso_period *p, int32_t today)
{
    return p->last_day < today ? p->last_day : today;
}

int64_t chiso_snapshot_gap(double target, int64_t resolved, int64_t full_process)
{
    const int64_t scale = 1000000000; /* parts per billion */
    int64_t t, need;

    if (resolved <= 0 || !(target > 0.0)) /* also NaN */
        return 0;
    if (target >= 1.0)
        t = scale;
    else
        t = (int64_t)llround(target * (double)scale);
    /* ceil(t * resolved / scale) without overflow: resolved = q*scale + r. */
    need = t * (resolved / scale) + (t * (resolved % scale) + scale - 1) / scale;
    return need > full_process ? need - full_process : 0;
}

/* A member "rate": num/den, or null when den is 0. */
static void put_rate(chiso_jw *w, int64_t num, int64_t den)
{
    if (den == 0)
        chiso_jw_null(w, "rate");
    else
        chiso_jw_number(w, "rate", (double)num / (double)den);
}

/* A member `name`: an integer, or null when negative (absent). */
static void put_count_or_null(chiso_jw *w, const char *name, int64_t v)
{
    if (v < 0)
        chiso_jw_null(w, name);
    else
        chiso_jw_number(w, name, (double)v);
}

/* An array `name` of n groups {id, name, points, max}. */
static void put_groups(chiso_jw *w, const char *name, const chiso_score_group *g,
                       const chiso_score_sum *sum, int n)
{
    chiso_jw_array(w, name);
    for (int i = 0; i < n; i++) {
        chiso_jw_object(w, NULL);
        chiso_jw_number(w, "id", g[i].id);
        chiso_jw_string(w, "name", g[i].name);
        chiso_jw_number(w, "points", chiso_score_round2(sum[i].points));
        chiso_jw_number(w, "max", sum[i].max);
        chiso_jw_end(w);
    }
    chiso_jw_end(w);
}

/* The members a score brings: indicators, groups, groups6, total, rank
 * and rank_of. Points are rounded to 2 decimals; `lost` is max minus the
 * rounded points, so the two shown add up to max. */
static void put_score(chiso_jw *w, const chiso_snapshot *s)
{
    const chiso_score *sc = s->score;

    chiso_jw_array(w, "indicators");
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) {
        const chiso_score_item *it = &sc->ind[i];
        double points = chiso_score_round2(it->points);

        chiso_jw_object(w, NULL);
        chiso_jw_number(w, "id", sc->rules->rule[i].id);
        chiso_jw_string(w, "name", sc->rules->rule[i].name);
        put_count_or_null(w, "num", it->num);
        put_count_or_null(w, "den", it->den);
        if (isnan(it->rate))
            chiso_jw_null(w, "rate");
        else
            chiso_jw_number(w, "rate", it->rate);
        chiso_jw_number(w, "points", points);
        chiso_jw_number(w, "max", it->max);
        chiso_jw_number(w, "lost", chiso_score_round2(it->max - points));
        put_count_or_null(w, "need", it->need);
        if (it->need < 0)
            chiso_jw_null(w, "gain");
        else
            chiso_jw_number(w, "gain", chiso_score_round2(it->gain));
        chiso_jw_end(w);
    }
    chiso_jw_end(w);
    put_groups(w, "groups", sc->rules->group, sc->group, CHISO_SCORE_GROUPS);
    put_groups(w, "groups6", sc->rules->group6, sc->group6, CHISO_SCORE_GROUPS6);
    chiso_jw_number(w, "total", chiso_score_round2(sc->total));
    put_count_or_null(w, "rank", s->rank > 0 ? s->rank : -1);
    put_count_or_null(w, "rank_of", s->rank_of > 0 ? s->rank_of : -1);
}

/* "inputs": every score input by its chiso-score document name, null when
 * not supplied. */
static void put_inputs(chiso_jw *w, const chiso_score_input *in)
{
    chiso_jw_object(w, "inputs");
    for (int f = 0; f < CHISO_SF_COUNT; f++)
        put_count_or_null(w, chiso_score_field_name((chiso_score_field)f), in->n[f]);
    chiso_jw_end(w);
}

/* Write the snapshot; [*as_of_at, *as_of_end) gets the bytes of its
 * `,"as_of":"..."` member. Returns the text (free()), NULL on a bad period
 * key, a score without rules, or out of memory. */
static char *render(const chiso_snapshot *s, size_t *len, size_t *as_of_at, size_t *as_of_end)
{
    const chiso_snapshot_counts *c = &s->counts;
    chiso_period p;
    char as_of[CHISO_TIME_STRLEN];
    chiso_jw w;

    if (chiso_period_parse(s->period, &p) != 0 || (s->score && !s->score->rules))
        return NULL;
    chiso_jw_init(&w);
    chiso_jw_object(&w, NULL);
    chiso_jw_number(&w, "v", CHISO_SNAPSHOT_VERSION);
    chiso_jw_string(&w, "unit", s->unit.unit);
    chiso_jw_string(&w, "unit_name", s->unit.name);
    chiso_jw_string(&w, "kind",
                    s->unit.kind == CHISO_UNIT_UNKNOWN ? "unknown"
                                                       : chiso_unit_kind_name(s->unit.kind));
    if (s->unit.parent[0])
        chiso_jw_string(&w, "parent", s->unit.parent);
    else
        chiso_jw_null(&w, "parent");
    chiso_jw_string(&w, "period", s->period);
    chiso_jw_string(&w, "period_kind", chiso_period_kind_name(p.kind));
    chiso_time_format(s->as_of, as_of);
    *as_of_at = w.len;
    chiso_jw_string(&w, "as_of", as_of);
    *as_of_end = w.len;
    chiso_jw_string(&w, "rules", s->score ? s->score->rules->name : CHISO_SNAPSHOT_RULES);

    chiso_jw_object(&w, "counts");
    for (size_t i = 0; i < N_COUNT_FIELDS; i++)
        chiso_jw_number(&w, count_fields[i].name, (double)count_get(c, count_fields[i].offset));
    chiso_jw_end(&w);
    chiso_jw_object(&w, "full_process");
    put_rate(&w, c->full_process, c->resolved);
    chiso_jw_number(&w, "target", s->unit.target_full_process);
    chiso_jw_number(
        &w, "gap",
        (double)chiso_snapshot_gap(s->unit.target_full_process, c->resolved, c->full_process));
    chiso_jw_end(&w);
    chiso_jw_object(&w, "on_time");
    put_rate(&w, c->resolved_on_time, c->resolved);
    chiso_jw_end(&w);
    chiso_jw_object(&w, "online");
    put_rate(&w, c->received_online, c->received);
    chiso_jw_end(&w);
    if (s->score)
        put_score(&w, s);
    if (s->inputs)
        put_inputs(&w, s->inputs);
    chiso_jw_end(&w);
    return chiso_jw_take(&w, len);
}

/* FNV-1a of the text without [at, end): the fingerprint (as_of aside). */
static uint64_t fingerprint_of(const char *text, size_t len, size_t at, size_t end)
{
    uint64_t h = chiso_hash64_add(CHISO_HASH64_INIT, text, at);
    h = chiso_hash64_add(h, text + end, len - end);
    return h ? h : 1;
}

cJSON *chiso_snapshot_to_json(const chiso_snapshot *s)
{
    char *text = chiso_snapshot_render(s);
    cJSON *root = text ? cJSON_Parse(text) : NULL;

    free(text);
    return root;
}

char *chiso_snapshot_render(const chiso_snapshot *s)
{
    size_t len, at, end;
    return render(s, &len, &at, &end);
}

char *chiso_snapshot_render_fp(const chiso_snapshot *s, uint64_t *fp)
{
    size_t len, at, end;
    char *text = render(s, &len, &at, &end);

    *fp = text ? fingerprint_of(text, len, at, end) : 0;
    return text;
}

uint64_t chiso_snapshot_fingerprint(const chiso_snapshot *s)
{
    uint64_t fp;
    free(chiso_snapshot_render_fp(s, &fp));
    return fp;
}

void chiso_snapshot_population_input(chiso_score_input *in, const chiso_snapshot_population *pop)
{
    static const struct {
        chiso_score_field field;
        size_t offset;
    } feeds[] = {
        {CHISO_SF_JUDGED, offsetof(chiso_snapshot_population, judged)},
        {CHISO_SF_JUDGED_LATE, offsetof(chiso_snapshot_population, late)},
        {CHISO_SF_JUDGED_COMPLAINTS, offsetof(chiso_snapshot_population, complaints)},
        {CHISO_SF_JUDGED_E_RESULT, offsetof(chiso_snapshot_population, e_result)},
        {CHISO_SF_JUDGED_DIGITIZED, offsetof(chiso_snapshot_population, digitized)},
        {CHISO_SF_JUDGED_REUSED_DATA, offsetof(chiso_snapshot_population, reused_data)},
        {CHISO_SF_JUDGED_FROM_DATA_STORE, offsetof(chiso_snapshot_population, from_data_store)},
        {CHISO_SF_JUDGED_POPULATION_DATA, offsetof(chiso_snapshot_population, population_data)},
    };
    for (size_t i = 0; i < sizeof(feeds) / sizeof(feeds[0]); i++) {
        int64_t v = *(const int64_t *)(const void *)((const char *)pop + feeds[i].offset);
        in->n[feeds[i].field] = v < 0 ? 0 : v > CHISO_SCORE_COUNT_MAX ? CHISO_SCORE_COUNT_MAX : v;
    }
    in->n[CHISO_SF_JUDGED_ON_TIME] = in->n[CHISO_SF_JUDGED] > in->n[CHISO_SF_JUDGED_LATE]
                                         ? in->n[CHISO_SF_JUDGED] - in->n[CHISO_SF_JUDGED_LATE]
                                         : 0;
}
