/*
 * verify_scores.c - chiso-verify's check of the scores in the snapshots
 * (verify.h): the indicators, groups' total and rank of each snapshot
 * against chiso_score_compute() over the simulator's ground truth.
 *
 * The expected inputs of a unit and period are the truth's counters (each
 * input through the counter that feeds it, chiso_score_field_counter(); a
 * counter absent from the truth is 0), open_overdue from the truth's
 * figures at the period's end, the numerators of #7 and #9 from the truth's
 * procedure sets (the unit's distinct procedures in po and pp; the
 * province's, distinct across its units), the feedback inputs of #19 and
 * #20 from the truth's fb_* counters ("feedback" and "province_feedback";
 * absent: no feedback, all 0), and the catalog inputs of the
 * records on catalog.units and catalog.procedures. So the check covers
 * what the sink adds on top of the counts: reading the counters and the
 * procedure sets, deriving open_overdue, the catalog, the province roll-up,
 * scoring, ranking and rendering.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/catview.h"
#include "chiso/common.h"
#include "chiso/dossier.h"
#include "chiso/kafka.h"
#include "chiso/score.h"
#include "verify.h"

static void on_unit(const rd_kafka_message_t *m, void *opaque)
{
    chiso_reject rej;
    if (chiso_catview_apply_unit(opaque, m->key, m->key_len, m->payload, m->len, &rej) < 0)
        mismatch("catalog.units @%lld: %s", (long long)m->offset, rej.detail);
}

static void on_procedure(const rd_kafka_message_t *m, void *opaque)
{
    chiso_reject rej;
    if (chiso_catview_apply_procedure(opaque, m->key, m->key_len, m->payload, m->len, &rej) < 0)
        mismatch("catalog.procedures @%lld: %s", (long long)m->offset, rej.detail);
}

/* The score input each procedure set of the truth counts (#7, #9). */
static const struct {
    chiso_proc_set set;
    chiso_score_field input;
} proc_inputs[] = {
    {CHISO_PS_ONLINE, CHISO_SF_PROCEDURES_ONLINE_WITH_DOSSIERS},
    {CHISO_PS_PAID, CHISO_SF_PROCEDURES_PAID_ONLINE},
};

/* The score the truth gives a unit (unit != NULL) or the province in a
 * period: `counts` is the truth's counter object (NULL: none, all 0),
 * `open` its {open, open_overdue} at the period's end with its population
 * D {judged, judged_late, ...} and `procs` its
 * procedure sets {"po": {procedure: dossiers}, "pp": {...}} (NULL: none);
 * `fb` its feedback counters {"fb_received": n, ...} (NULL: none). */
static void truth_score(chiso_catview *cat, const char *unit, const cJSON *counts,
                        const cJSON *open, const cJSON *procs, const cJSON *fb, chiso_score *out)
{
    const cJSON *c, *overdue = cJSON_GetObjectItemCaseSensitive(open, "open_overdue");
    chiso_score_input in;

    chiso_score_input_counters(&in);
    cJSON_ArrayForEach(c, counts)
    {
        if (cJSON_IsNumber(c))
            (void)chiso_score_input_counter(&in, c->string, (int64_t)c->valuedouble);
    }
    cJSON_ArrayForEach(c, fb)
    {
        if (cJSON_IsNumber(c)) /* fb_answered_late etc. feed no input */
            (void)chiso_score_input_counter(&in, c->string, (int64_t)c->valuedouble);
    }
    in.n[CHISO_SF_OPEN_OVERDUE] = cJSON_IsNumber(overdue) ? (int64_t)overdue->valuedouble : 0;
    /* the population D, as the truth counted it dossier by dossier: its
     * members are named as the inputs they feed (judged, judged_late, ...) */
    for (int f = CHISO_SF_JUDGED; f <= CHISO_SF_JUDGED_POPULATION_DATA; f++)
        in.n[f] = 0;
    cJSON_ArrayForEach(c, open)
    {
        int f = chiso_score_field_from_name(c->string);
        if (f >= CHISO_SF_JUDGED && f <= CHISO_SF_JUDGED_POPULATION_DATA && cJSON_IsNumber(c))
            in.n[f] = (int64_t)c->valuedouble;
    }
    in.n[CHISO_SF_JUDGED_ON_TIME] = in.n[CHISO_SF_JUDGED] - in.n[CHISO_SF_JUDGED_LATE];
    (void)chiso_catview_score_input(cat, unit, &in);
    for (size_t k = 0; k < sizeof(proc_inputs) / sizeof(proc_inputs[0]); k++) {
        const cJSON *set =
            cJSON_GetObjectItemCaseSensitive(procs, chiso_proc_set_name(proc_inputs[k].set));
        in.n[proc_inputs[k].input] = 0;
        cJSON_ArrayForEach(c, set) in.n[proc_inputs[k].input] += c->valuedouble > 0;
    }
    (void)chiso_score_compute(chiso_score_rules_find(CHISO_SCORE_DEFAULT_RULES), &in, out);
}

/* A JSON count or null (-1) as an int64; -2 when neither. */
static int64_t json_count(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return CHISO_SCORE_ABSENT;
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -2;
}

static bool same_points(const cJSON *v, double want)
{
    return cJSON_IsNumber(v) && fabs(v->valuedouble - chiso_score_round2(want)) < 1e-9;
}

/* Compare one snapshot's indicators and total with a score. */
static void compare(const char *key, const cJSON *snap, const chiso_score *want)
{
    const cJSON *inds = cJSON_GetObjectItemCaseSensitive(snap, "indicators");

    if (cJSON_GetArraySize(inds) != CHISO_SCORE_INDICATORS) {
        mismatch("scores %s: %d indicators, want %d", key, cJSON_GetArraySize(inds),
                 CHISO_SCORE_INDICATORS);
        return;
    }
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) {
        const cJSON *it = cJSON_GetArrayItem(inds, i);
        const chiso_score_item *w = &want->ind[i];
        int64_t num = json_count(cJSON_GetObjectItemCaseSensitive(it, "num"));
        int64_t den = json_count(cJSON_GetObjectItemCaseSensitive(it, "den"));
        const cJSON *points = cJSON_GetObjectItemCaseSensitive(it, "points");

        if (num != w->num || den != w->den || !same_points(points, w->points))
            mismatch("scores %s indicator %d: %lld/%lld %.2f points, truth %lld/%lld %.2f", key,
                     i + 1, (long long)num, (long long)den,
                     cJSON_IsNumber(points) ? points->valuedouble : -1.0, (long long)w->num,
                     (long long)w->den, chiso_score_round2(w->points));
    }
    if (!same_points(cJSON_GetObjectItemCaseSensitive(snap, "total"), want->total))
        mismatch("scores %s total: %.2f, truth %.2f", key,
                 cJSON_GetObjectItemCaseSensitive(snap, "total")
                     ? cJSON_GetObjectItemCaseSensitive(snap, "total")->valuedouble
                     : -1.0,
                 chiso_score_round2(want->total));
}

static const cJSON *get2(const cJSON *obj, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, a), b);
}

/* The ranks: the snapshots of one parent and period, ranked by their truth
 * totals. Snapshots are grouped through a JSON object "<period>|<parent>"
 * -> array of keys. */
static long long check_ranks(chiso_catview *cat, const cJSON *truth, const cJSON *latest,
                             const char *province, const cJSON *fb)
{
    cJSON *groups = cJSON_CreateObject();
    const cJSON *snap, *group;
    long long ranked = 0;

    cJSON_ArrayForEach(snap, latest)
    {
        const cJSON *unit = cJSON_GetObjectItemCaseSensitive(snap, "unit");
        const cJSON *parent = cJSON_GetObjectItemCaseSensitive(snap, "parent");
        const cJSON *period = cJSON_GetObjectItemCaseSensitive(snap, "period");
        char gkey[128];
        cJSON *arr;

        if (!cJSON_IsString(unit) || !cJSON_IsString(period))
            continue;
        if (!cJSON_IsString(parent) || strcmp(unit->valuestring, province) == 0) {
            if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(snap, "rank")) ||
                !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(snap, "rank_of")))
                mismatch("scores %s: ranked, but it has no siblings to rank among", snap->string);
            continue;
        }
        snprintf(gkey, sizeof(gkey), "%s|%s", period->valuestring, parent->valuestring);
        if (!(arr = cJSON_GetObjectItemCaseSensitive(groups, gkey)))
            arr = cJSON_AddArrayToObject(groups, gkey);
        cJSON_AddItemToArray(arr, cJSON_CreateString(snap->string));
    }
    cJSON_ArrayForEach(group, groups)
    {
        int n = cJSON_GetArraySize(group);
        double *totals = calloc((size_t)n, sizeof(*totals));
        int *ranks = calloc((size_t)n, sizeof(*ranks));
        chiso_score sc;

        for (int i = 0; totals && ranks && i < n; i++) {
            const cJSON *s =
                cJSON_GetObjectItemCaseSensitive(latest, cJSON_GetArrayItem(group, i)->valuestring);
            const char *unit = cJSON_GetObjectItemCaseSensitive(s, "unit")->valuestring;
            const char *period = cJSON_GetObjectItemCaseSensitive(s, "period")->valuestring;
            const cJSON *counts =
                get2(cJSON_GetObjectItemCaseSensitive(truth, "counters"), unit, period);
            truth_score(cat, unit, counts,
                        get2(cJSON_GetObjectItemCaseSensitive(truth, "open"), unit, period),
                        get2(cJSON_GetObjectItemCaseSensitive(truth, "procedures"), unit, period),
                        get2(fb, unit, period), &sc);
            totals[i] = sc.total;
        }
        if (totals && ranks)
            chiso_score_rank(totals, (size_t)n, ranks);
        for (int i = 0; totals && ranks && i < n; i++) {
            const char *key = cJSON_GetArrayItem(group, i)->valuestring;
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(latest, key);
            int64_t rank = json_count(cJSON_GetObjectItemCaseSensitive(s, "rank"));
            int64_t rank_of = json_count(cJSON_GetObjectItemCaseSensitive(s, "rank_of"));
            if (rank != ranks[i] || rank_of != n)
                mismatch("scores %s rank: %lld of %lld, truth %d of %d", key, (long long)rank,
                         (long long)rank_of, ranks[i], n);
            ranked++;
        }
        free(totals);
        free(ranks);
    }
    cJSON_Delete(groups);
    return ranked;
}

int verify_score_values(const chiso_config *cfg, const cJSON *truth, const cJSON *latest,
                        bool feedback)
{
    /* without chiso-feedback in the run, Redis has no feedback: score as such */
    const cJSON *fb = feedback ? cJSON_GetObjectItemCaseSensitive(truth, "feedback") : NULL;
    const cJSON *pfb =
        feedback ? cJSON_GetObjectItemCaseSensitive(truth, "province_feedback") : NULL;
    chiso_catview *cat = chiso_catview_new();
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(truth, "counters");
    const cJSON *province = cJSON_GetObjectItemCaseSensitive(truth, "province");
    const char *prov = cJSON_IsString(province) ? province->valuestring : "";
    const cJSON *snap;
    long long scored = 0, ranked;
    chiso_score sc;
    char key[256];

    if (!cat || read_topic(cfg, CHISO_TOPIC_CATALOG_UNITS, on_unit, cat) != 0 ||
        read_topic(cfg, CHISO_TOPIC_CATALOG_PROCEDURES, on_procedure, cat) != 0) {
        chiso_catview_destroy(cat);
        return -1;
    }
    /* every snapshot on the topic, whether or not its unit had counters in
     * its period (dossiers open from before it, feedback alone) */
    cJSON_ArrayForEach(snap, latest)
    {
        const char *bar = strchr(snap->string, '|'), *per;
        if (!bar || cJSON_IsNull(snap) || (size_t)(bar - snap->string) >= sizeof(key))
            continue;
        snprintf(key, sizeof(key), "%.*s", (int)(bar - snap->string), snap->string);
        per = bar + 1;
        if (strcmp(key, prov) == 0)
            truth_score(cat, NULL, get2(truth, "province_counters", per),
                        get2(truth, "province_open", per), get2(truth, "province_procedures", per),
                        cJSON_GetObjectItemCaseSensitive(pfb, per), &sc);
        else
            truth_score(cat, key, get2(units, key, per),
                        get2(cJSON_GetObjectItemCaseSensitive(truth, "open"), key, per),
                        get2(cJSON_GetObjectItemCaseSensitive(truth, "procedures"), key, per),
                        get2(fb, key, per), &sc);
        compare(snap->string, snap, &sc);
        scored++;
    }
    ranked = check_ranks(cat, truth, latest, prov, fb);
    printf("scores: %lld snapshots scored against the truth (%zu units, %zu procedures in the "
           "catalog), %lld ranks compared\n",
           scored, chiso_catview_nunits(cat), chiso_catview_nprocedures(cat), ranked);
    chiso_catview_destroy(cat);
    return 0;
}
