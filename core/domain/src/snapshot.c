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

/* Add {"rate": num/den or null} style members to obj. */
static bool add_rate(cJSON *obj, int64_t num, int64_t den)
{
    if (den == 0)
        return cJSON_AddNullToObject(obj, "rate") != NULL;
    return cJSON_AddNumberToObject(obj, "rate", (double)num / (double)den) != NULL;
}

/* Add `name`: an integer, or null when negative (absent). */
static bool add_count_or_null(cJSON *obj, const char *name, int64_t v)
{
    if (v < 0)
        return cJSON_AddNullToObject(obj, name) != NULL;
    return cJSON_AddNumberToObject(obj, name, (double)v) != NULL;
}

/* Append a new empty object to arr; NULL when out of memory. */
static cJSON *append_object(cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();

    if (o && !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Add an array `name` of n groups {id, name, points, max}. */
static bool add_groups(cJSON *root, const char *name, const chiso_score_group *g,
                       const chiso_score_sum *sum, int n)
{
    cJSON *arr = cJSON_AddArrayToObject(root, name), *o;

    for (int i = 0; arr && i < n; i++) {
        if (!(o = append_object(arr)))
            return false;
        if (!cJSON_AddNumberToObject(o, "id", g[i].id) ||
            !cJSON_AddStringToObject(o, "name", g[i].name) ||
            !cJSON_AddNumberToObject(o, "points", chiso_score_round2(sum[i].points)) ||
            !cJSON_AddNumberToObject(o, "max", sum[i].max))
            return false;
    }
    return arr != NULL;
}

/* Add the members a score brings: indicators, groups, groups6, total, rank
 * and rank_of. Points are rounded to 2 decimals; `lost` is max minus the
 * rounded points, so the two shown add up to max. */
static bool add_score(cJSON *root, const chiso_snapshot *s)
{
    const chiso_score *sc = s->score;
    cJSON *arr = cJSON_AddArrayToObject(root, "indicators"), *o;

    for (int i = 0; arr && i < CHISO_SCORE_INDICATORS; i++) {
        const chiso_score_item *it = &sc->ind[i];
        double points = chiso_score_round2(it->points);

        if (!(o = append_object(arr)))
            return false;
        if (!cJSON_AddNumberToObject(o, "id", sc->rules->rule[i].id) ||
            !cJSON_AddStringToObject(o, "name", sc->rules->rule[i].name) ||
            !add_count_or_null(o, "num", it->num) || !add_count_or_null(o, "den", it->den) ||
            !(isnan(it->rate) ? cJSON_AddNullToObject(o, "rate")
                              : cJSON_AddNumberToObject(o, "rate", it->rate)) ||
            !cJSON_AddNumberToObject(o, "points", points) ||
            !cJSON_AddNumberToObject(o, "max", it->max) ||
            !cJSON_AddNumberToObject(o, "lost", chiso_score_round2(it->max - points)) ||
            !add_count_or_null(o, "need", it->need) ||
            !(it->need < 0 ? cJSON_AddNullToObject(o, "gain")
                           : cJSON_AddNumberToObject(o, "gain", chiso_score_round2(it->gain))))
            return false;
    }
    return arr && add_groups(root, "groups", sc->rules->group, sc->group, CHISO_SCORE_GROUPS) &&
           add_groups(root, "groups6", sc->rules->group6, sc->group6, CHISO_SCORE_GROUPS6) &&
           cJSON_AddNumberToObject(root, "total", chiso_score_round2(sc->total)) &&
           add_count_or_null(root, "rank", s->rank > 0 ? s->rank : -1) &&
           add_count_or_null(root, "rank_of", s->rank_of > 0 ? s->rank_of : -1);
}

/* "inputs": every score input by its chiso-score document name, null when
 * not supplied. */
static bool add_inputs(cJSON *root, const chiso_score_input *in)
{
    cJSON *o = cJSON_AddObjectToObject(root, "inputs");
    for (int f = 0; o && f < CHISO_SF_COUNT; f++) {
        if (!add_count_or_null(o, chiso_score_field_name((chiso_score_field)f), in->n[f]))
            return false;
    }
    return o != NULL;
}

static cJSON *build(const chiso_snapshot *s, bool with_as_of)
{
    const chiso_snapshot_counts *c = &s->counts;
    cJSON *root = NULL, *obj;
    chiso_period p;
    char as_of[CHISO_TIME_STRLEN];

    if (chiso_period_parse(s->period, &p) != 0 || (s->score && !s->score->rules))
        return NULL;
    root = cJSON_CreateObject();
    if (!root)
        goto err;
    if (!cJSON_AddNumberToObject(root, "v", CHISO_SNAPSHOT_VERSION) ||
        !cJSON_AddStringToObject(root, "unit", s->unit.unit) ||
        !cJSON_AddStringToObject(root, "unit_name", s->unit.name) ||
        !cJSON_AddStringToObject(
            root, "kind",
            s->unit.kind == CHISO_UNIT_UNKNOWN ? "unknown" : chiso_unit_kind_name(s->unit.kind)))
        goto err;
    if (s->unit.parent[0] ? !cJSON_AddStringToObject(root, "parent", s->unit.parent)
                          : !cJSON_AddNullToObject(root, "parent"))
        goto err;
    if (!cJSON_AddStringToObject(root, "period", s->period) ||
        !cJSON_AddStringToObject(root, "period_kind", chiso_period_kind_name(p.kind)))
        goto err;
    if (with_as_of) {
        chiso_time_format(s->as_of, as_of);
        if (!cJSON_AddStringToObject(root, "as_of", as_of))
            goto err;
    }
    if (!cJSON_AddStringToObject(root, "rules",
                                 s->score ? s->score->rules->name : CHISO_SNAPSHOT_RULES))
        goto err;

    if (!(obj = cJSON_AddObjectToObject(root, "counts")))
        goto err;
    for (size_t i = 0; i < N_COUNT_FIELDS; i++) {
        if (!cJSON_AddNumberToObject(obj, count_fields[i].name,
                                     (double)count_get(c, count_fields[i].offset)))
            goto err;
    }

    if (!(obj = cJSON_AddObjectToObject(root, "full_process")) ||
        !add_rate(obj, c->full_process, c->resolved) ||
        !cJSON_AddNumberToObject(obj, "target", s->unit.target_full_process) ||
        !cJSON_AddNumberToObject(
            obj, "gap",
            (double)chiso_snapshot_gap(s->unit.target_full_process, c->resolved, c->full_process)))
        goto err;
    if (!(obj = cJSON_AddObjectToObject(root, "on_time")) ||
        !add_rate(obj, c->resolved_on_time, c->resolved))
        goto err;
    if (!(obj = cJSON_AddObjectToObject(root, "online")) ||
        !add_rate(obj, c->received_online, c->received))
        goto err;
    if (s->score && !add_score(root, s))
        goto err;
    if (s->inputs && !add_inputs(root, s->inputs))
        goto err;
    return root;
err:
    cJSON_Delete(root);
    return NULL;
}

cJSON *chiso_snapshot_to_json(const chiso_snapshot *s)
{
    return build(s, true);
}

char *chiso_snapshot_render(const chiso_snapshot *s)
{
    cJSON *root = build(s, true);
    char *out;

    if (!root)
        return NULL;
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

char *chiso_snapshot_render_fp(const chiso_snapshot *s, uint64_t *fp)
{
    char as_of[CHISO_TIME_STRLEN], member[32 + CHISO_TIME_STRLEN];
    char *text = chiso_snapshot_render(s), *rest = NULL;
    const char *hit;

    *fp = 0;
    if (!text)
        return NULL;
    /* the fingerprint's text is this one without its as_of member (JSON
     * escapes every quote inside a string, so no string holds it) */
    chiso_time_format(s->as_of, as_of);
    size_t mlen = (size_t)snprintf(member, sizeof(member), ",\"as_of\":\"%s\"", as_of);
    size_t len = strlen(text);
    if (!(hit = strstr(text, member)) || !(rest = malloc(len - mlen + 1))) {
        free(text);
        return NULL;
    }
    size_t at = (size_t)(hit - text);
    memcpy(rest, text, at);
    memcpy(rest + at, hit + mlen, len - at - mlen);
    *fp = chiso_hash64(rest, len - mlen);
    free(rest);
    return text;
}

uint64_t chiso_snapshot_fingerprint(const chiso_snapshot *s)
{
    cJSON *root = build(s, false);
    char *text;
    uint64_t fp;

    if (!root)
        return 0;
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return 0;
    fp = chiso_hash64(text, strlen(text));
    free(text);
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
