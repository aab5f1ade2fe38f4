/*
 * test_score.c - Decision 766 scoring (score.h) against hand-computed
 * numbers: every indicator's formula with the edges of its threshold or
 * cap, zero denominators and data not supplied, the no-feedback rule, the
 * #21 complement, group sums and the total, the province roll-up, ranking
 * with ties, rule-set lookup and checks, the Hưng Yên reference figures of
 * DOMAIN.md, and the chiso-score document parser.
 *
 * Every expected number is worked out in the comment beside it, from the
 * rule table of docs/scoring.md, not from the code under test.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chiso/common.h"
#include "chiso/counters.h"
#include "chiso/feedback.h"
#include "chiso/score.h"
#include "chiso/scoredoc.h"

#define ABSENT CHISO_SCORE_ABSENT
#define NUL    NAN /* an expected null rate */

static bool near(double a, double b)
{
    return fabs(a - b) < 1e-9;
}

static bool same_rate(double got, double want)
{
    return isnan(want) ? isnan(got) : near(got, want);
}

static const chiso_score_rules *rules766(void)
{
    return chiso_score_rules_find(CHISO_SCORE_DEFAULT_RULES);
}

/* The rules before the portal's populations (docs/scoring.md). */
static const chiso_score_rules *rules_resolved(void)
{
    return chiso_score_rules_find("766-2022-resolved");
}

/* Whether the two built-in sets judge indicator id over different
 * populations (#5, #12, #13, #14, #16, #18, #21). */
static bool population_row(int id)
{
    return id == 5 || id == 12 || id == 13 || id == 14 || id == 16 || id == 18 || id == 21;
}

/* An input with every count absent but those in `spec`, "key=value ...". */
static chiso_score_input input_of(const char *spec)
{
    chiso_score_input in;
    char buf[2048], *save = NULL;

    chiso_score_input_init(&in);
    CHECK(strlen(spec) < sizeof(buf), "test spec too long");
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *kv = strtok_r(buf, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        int f;

        if (!eq) {
            CHECK(0, "bad spec '%s'", kv);
            continue;
        }
        *eq = '\0';
        f = chiso_score_field_from_name(kv);
        CHECK(f >= 0, "unknown field '%s' in a test spec", kv);
        if (f >= 0)
            in.n[f] = strtoll(eq + 1, NULL, 10);
    }
    return in;
}

/* Every indicator at rate 1: dens 100, nums 100, failures 0. */
static const char *const perfect =
    "received=100 resolved=100 resolved_on_time=100 resolved_late=0 open_overdue=0 online=100 "
    "synced=100 fee_dossiers=100 paid_online=100 e_result=100 digitized=100 reused_data=100 "
    "from_data_store=100 population_data=100 complaints=0 procedures=100 "
    "procedures_announced_on_time=100 procedures_published_on_time=100 "
    "procedures_published_complete=100 procedures_online=100 "
    "procedures_online_with_dossiers=100 procedures_fee=100 procedures_paid_online=100 "
    "procedures_fee_integrated=100 procedures_citizen=100 procedures_population_connected=100 "
    "e_copy_units=1 e_copy_offered=1 feedback_received=100 feedback_answered_on_time=100 "
    "feedback_rated=100 feedback_satisfied=100";

static void test_rules_table(void)
{
    /* DOMAIN.md's table: max, five-group and six-group of #1..#21. */
    static const int max[] = {6, 4, 2, 6, 20, 2, 4, 6, 2, 2, 6, 6, 4, 2, 2, 4, 2, 2, 6, 6, 6};
    static const int g5[] = {1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5};
    static const int g6[] = {1, 1, 1, 1, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6};
    const chiso_score_rules *r = rules766();
    char err[128];

    CHECK(r != NULL, "the default rule set exists");
    if (!r)
        return;
    CHECK_EQ_STR(r->name, "766-2022-dvcqg");
    CHECK(chiso_score_rules_at(0) == r, "the default is the first built-in set");
    CHECK(chiso_score_rules_at(1) == rules_resolved() && rules_resolved() != NULL,
          "the rules before the portal's populations are the second set");
    CHECK(chiso_score_rules_at(2) == NULL, "two built-in sets");
    CHECK_EQ_INT(chiso_score_rules_check(rules_resolved(), err, sizeof(err)), 0,
                 "766-2022-resolved checks: %s", err);
    CHECK(chiso_score_rules_find("766-2022") == NULL, "a prefix is not a name");
    CHECK(chiso_score_rules_find("") == NULL && chiso_score_rules_find(NULL) == NULL, "no name");
    CHECK_EQ_INT(chiso_score_rules_check(r, err, sizeof(err)), 0, "default set checks: %s", err);

    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) {
        const chiso_score_rule *row = &r->rule[i];
        CHECK_EQ_INT(row->id, i + 1, "row %d id", i);
        CHECK(row->max == max[i], "#%d max %g", i + 1, row->max);
        CHECK_EQ_INT(row->group, g5[i], "#%d group", i + 1);
        CHECK_EQ_INT(row->group6, g6[i], "#%d group6", i + 1);
    }
    /* Thresholds and caps of DOMAIN.md; every other row is plain. */
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) {
        const chiso_score_rule *row = &r->rule[i];
        int id = i + 1;
        if (id == 6 || id == 14)
            CHECK(row->formula == CHISO_FORMULA_THRESHOLD && row->threshold == 0.8, "#%d T", id);
        else if (id == 8)
            CHECK(row->formula == CHISO_FORMULA_THRESHOLD && row->threshold == 0.5, "#8 T");
        else if (id == 21)
            CHECK(row->formula == CHISO_FORMULA_THRESHOLD && row->threshold == 0.9 &&
                      row->rate == CHISO_RATE_COMPLEMENT,
                  "#21 complement, T");
        else if (id == 9 || id == 10)
            CHECK(row->formula == CHISO_FORMULA_CAPPED && row->factor == 2.5 && row->cap == 2,
                  "#%d capped", id);
        else
            CHECK(row->formula == CHISO_FORMULA_PLAIN, "#%d plain", id);
        CHECK(id == 21 || row->rate == CHISO_RATE_RATIO, "#%d ratio", id);
    }
    CHECK_EQ_STR(r->rule[0].name, "Tỷ lệ TTHC công bố đúng hạn");
    CHECK_EQ_STR(r->rule[4].name, "Tỷ lệ hồ sơ xử lý đúng hạn");
    CHECK_EQ_STR(r->rule[20].name, "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC");
    CHECK_EQ_STR(r->group[4].name, "Mức độ hài lòng");
    CHECK_EQ_STR(r->group6[3].name, "Thanh toán trực tuyến");

    for (int f = 0; f < CHISO_SF_COUNT; f++) {
        const char *name = chiso_score_field_name((chiso_score_field)f);
        CHECK(name && chiso_score_field_from_name(name) == f, "field %d round trip", f);
    }
    CHECK(chiso_score_field_name(CHISO_SF_COUNT) == NULL, "no name past the last field");
    CHECK_EQ_INT(chiso_score_field_from_name("recieved"), -1, "unknown key");
}

/* One indicator of one input: num, den, rate (NUL = null) and points. */
static const struct golden {
    int id;
    const char *in;
    int64_t num, den;
    double rate, points;
} golden[] = {
    /* #1 plain, max 6: 150/200 = 0.75 -> 6 x 0.75 = 4.5. */
    {1, "procedures=200 procedures_announced_on_time=150", 150, 200, 0.75, 4.5},
    /* den 0: no procedure to announce -> if_empty full, 6. */
    {1, "procedures=0 procedures_announced_on_time=0", 0, 0, NUL, 6},
    /* numerator not supplied -> null, 0 points, whatever the den. */
    {1, "procedures=10", ABSENT, 10, NUL, 0},
    /* #2 plain, max 4: 6/8 = 0.75 -> 3. */
    {2, "procedures=8 procedures_published_on_time=6", 6, 8, 0.75, 3},
    {2, "procedures=0 procedures_published_on_time=0", 0, 0, NUL, 4},
    /* #3 plain, max 2: 1/4 -> 0.5. */
    {3, "procedures=4 procedures_published_complete=1", 1, 4, 0.25, 0.5},
    {3, "procedures=0 procedures_published_complete=0", 0, 0, NUL, 2},
    /* #4 plain, max 6: 30/40 -> 4.5; more synced than received counts as rate 1 -> 6. */
    {4, "received=40 synced=30", 30, 40, 0.75, 4.5},
    {4, "received=10 synced=12", 12, 10, 1, 6},
    {4, "received=0 synced=0", 0, 0, NUL, 6},
    /* #5 plain, max 20: den = on time + late + open overdue = 90 + 6 + 4 = 100;
     * 90/100 -> 18. */
    {5, "resolved_on_time=90 resolved_late=6 open_overdue=4", 90, 100, 0.9, 18},
    /* open overdue dossiers alone: 0/3 -> 0. */
    {5, "resolved_on_time=0 resolved_late=0 open_overdue=3", 0, 3, 0, 0},
    /* nothing judged: none late -> if_empty full, 20. */
    {5, "resolved_on_time=0 resolved_late=0 open_overdue=0", 0, 0, NUL, 20},
    /* a den term not supplied: den null, 0 points. */
    {5, "resolved_on_time=5 resolved_late=0", 5, ABSENT, NUL, 0},
    /* #6 threshold T = 0.8, max 2: min(2, 2 x rate / 0.8).
     * at T 80/100 -> 2; below 79/100 -> 2 x 0.79 / 0.8 = 1.975; above 81/100
     * -> 2.025 capped at 2; half 40/100 -> 1.25. */
    {6, "procedures=100 procedures_online=80", 80, 100, 0.8, 2},
    {6, "procedures=100 procedures_online=79", 79, 100, 0.79, 1.975},
    {6, "procedures=100 procedures_online=81", 81, 100, 0.81, 2},
    {6, "procedures=100 procedures_online=40", 40, 100, 0.4, 1},
    {6, "procedures=0 procedures_online=0", 0, 0, NUL, 2},
    /* #7 plain, max 4: 15/20 -> 3; no online service: if_empty 0 (not
     * offering online services must not earn #7). */
    {7, "procedures_online=20 procedures_online_with_dossiers=15", 15, 20, 0.75, 3},
    {7, "procedures_online=0 procedures_online_with_dossiers=0", 0, 0, NUL, 0},
    /* #8 threshold T = 0.5, max 6: min(6, 6 x rate / 0.5).
     * at T 50/100 -> 6; below 49/100 -> 6 x 0.49 / 0.5 = 5.88; above 51 -> 6;
     * 25/100 -> 3. */
    {8, "received=100 online=50", 50, 100, 0.5, 6},
    {8, "received=100 online=49", 49, 100, 0.49, 5.88},
    {8, "received=100 online=51", 51, 100, 0.51, 6},
    {8, "received=100 online=25", 25, 100, 0.25, 3},
    {8, "received=0 online=0", 0, 0, NUL, 6},
    /* #9 capped: min(2, 2.5 x rate). The cap is reached at rate 0.8:
     * 80/100 -> 2.5 x 0.8 = 2; 79/100 -> 1.975; 81/100 -> 2.025 -> 2;
     * 40/100 -> 1; all -> 2.5 -> 2. No fee-bearing procedure: n/a, full 2. */
    {9, "procedures_fee=100 procedures_paid_online=80", 80, 100, 0.8, 2},
    {9, "procedures_fee=100 procedures_paid_online=79", 79, 100, 0.79, 1.975},
    {9, "procedures_fee=100 procedures_paid_online=81", 81, 100, 0.81, 2},
    {9, "procedures_fee=100 procedures_paid_online=40", 40, 100, 0.4, 1},
    {9, "procedures_fee=100 procedures_paid_online=100", 100, 100, 1, 2},
    {9, "procedures_fee=0 procedures_paid_online=0", 0, 0, NUL, 2},
    /* #10 capped the same way: 60/100 -> 1.5; 80/100 -> 2; 890/890 -> 2.5 -> 2. */
    {10, "procedures_fee=100 procedures_fee_integrated=60", 60, 100, 0.6, 1.5},
    {10, "procedures_fee=100 procedures_fee_integrated=80", 80, 100, 0.8, 2},
    {10, "procedures_fee=890 procedures_fee_integrated=890", 890, 890, 1, 2},
    {10, "procedures_fee=0 procedures_fee_integrated=0", 0, 0, NUL, 2},
    /* #11 plain, max 6: 40/50 -> 4.8; no fee-bearing dossier: full 6. */
    {11, "fee_dossiers=50 paid_online=40", 40, 50, 0.8, 4.8},
    {11, "fee_dossiers=0 paid_online=0", 0, 0, NUL, 6},
    /* #12 plain, max 6: 150/200 -> 4.5. */
    {12, "resolved=200 e_result=150", 150, 200, 0.75, 4.5},
    {12, "resolved=0 e_result=0", 0, 0, NUL, 6},
    /* #13 plain, max 4: 99/100 -> 3.96. */
    {13, "received=100 digitized=99", 99, 100, 0.99, 3.96},
    {13, "received=0 digitized=0", 0, 0, NUL, 4},
    /* #14 threshold T = 0.8, max 2: 80 -> 2; 79 -> 1.975; 81 -> 2; 20 -> 0.5. */
    {14, "received=100 reused_data=80", 80, 100, 0.8, 2},
    {14, "received=100 reused_data=79", 79, 100, 0.79, 1.975},
    {14, "received=100 reused_data=81", 81, 100, 0.81, 2},
    {14, "received=100 reused_data=20", 20, 100, 0.2, 0.5},
    {14, "received=0 reused_data=0", 0, 0, NUL, 2},
    /* #15 plain, max 2: offered 1/1 -> 2; 0/1 -> 0; a unit that does not
     * certify copies (0 units): n/a, full 2. */
    {15, "e_copy_units=1 e_copy_offered=1", 1, 1, 1, 2},
    {15, "e_copy_units=1 e_copy_offered=0", 0, 1, 0, 0},
    {15, "e_copy_units=0 e_copy_offered=0", 0, 0, NUL, 2},
    /* #16 plain, max 4: 60/80 -> 3; nothing digitized: if_empty 0. */
    {16, "digitized=80 from_data_store=60", 60, 80, 0.75, 3},
    {16, "digitized=0 from_data_store=0", 0, 0, NUL, 0},
    /* #17 plain, max 2: 25/50 -> 1. */
    {17, "procedures_citizen=50 procedures_population_connected=25", 25, 50, 0.5, 1},
    {17, "procedures_citizen=0 procedures_population_connected=0", 0, 0, NUL, 2},
    /* #18 plain, max 2: 45/100 -> 0.9. */
    {18, "received=100 population_data=45", 45, 100, 0.45, 0.9},
    {18, "received=0 population_data=0", 0, 0, NUL, 2},
    /* #19 plain, max 6: 45/70 -> 6 x 45 / 70 = 27/7 = 3.857142857...
     * No feedback in the period: full 6 (DOMAIN.md). Not supplied: 0. */
    {19, "feedback_received=70 feedback_answered_on_time=45", 45, 70, 45.0 / 70, 27.0 / 7},
    {19, "feedback_received=0 feedback_answered_on_time=0", 0, 0, NUL, 6},
    {19, "received=100", ABSENT, ABSENT, NUL, 0},
    /* #20 plain, max 6: 3/4 -> 4.5; none rated: full 6. */
    {20, "feedback_rated=4 feedback_satisfied=3", 3, 4, 0.75, 4.5},
    {20, "feedback_rated=0 feedback_satisfied=0", 0, 0, NUL, 6},
    /* #21 complement, T = 0.9, max 6: rate = 1 - (late + open overdue +
     * complaints) / (on time + late + open overdue); num = den - failures.
     * at T: 90 on time, 6 late, 4 overdue, 0 complaints -> 1 - 10/100 = 0.9
     * -> 6 x 0.9 / 0.9 = 6. One complaint more: 1 - 11/100 = 0.89 ->
     * 6 x 0.89 / 0.9 = 5.9333... Above T: 91/5/4/0 -> 0.91 -> 6. */
    {21, "resolved_on_time=90 resolved_late=6 open_overdue=4 complaints=0", 90, 100, 0.9, 6},
    {21, "resolved_on_time=90 resolved_late=6 open_overdue=4 complaints=1", 89, 100, 0.89,
     6 * 0.89 / 0.9},
    {21, "resolved_on_time=91 resolved_late=5 open_overdue=4 complaints=0", 91, 100, 0.91, 6},
    /* half the dossiers late or complained about: 1 - 50/100 = 0.5 ->
     * 6 x 0.5 / 0.9 = 3.333... */
    {21, "resolved_on_time=60 resolved_late=30 open_overdue=10 complaints=10", 50, 100, 0.5,
     6 * 0.5 / 0.9},
    /* more failures than dossiers: rate 0, num 0 (never negative). */
    {21, "resolved_on_time=50 resolved_late=0 open_overdue=0 complaints=60", 0, 50, 0, 0},
    /* nothing judged: no delay, no complaint -> full 6. */
    {21, "resolved_on_time=0 resolved_late=0 open_overdue=0 complaints=0", 0, 0, NUL, 6},
    /* complaints not supplied: null, 0. */
    {21, "resolved_on_time=90 resolved_late=6 open_overdue=4", ABSENT, 100, NUL, 0},
};

/* The rows of the default set ("766-2022-dvcqg") that judge the
 * population D: inputs judged_* (snapshot.h, chiso_snapshot_population). */
static const struct golden golden_d[] = {
    /* #5 plain, max 20: on time in D / |D|; 403,016 / 464,494 is the
     * portal's own figure for a real province quarter (DOMAIN.md):
     * 20 x 0.867641... = 17.352904450864813 (17.35 shown). */
    {5, "judged=464494 judged_on_time=403016", 403016, 464494, 403016.0 / 464494,
     20.0 * 403016 / 464494},
    {5, "judged=218 judged_on_time=192", 192, 218, 192.0 / 218, 20.0 * 192 / 218},
    {5, "judged=0 judged_on_time=0", 0, 0, NUL, 20},
    /* #12 plain, max 6: 334,358 / 464,494 -> 6 x 0.71983... = 4.3190 */
    {12, "judged=464494 judged_e_result=334358", 334358, 464494, 334358.0 / 464494,
     6.0 * 334358 / 464494},
    {12, "judged=0 judged_e_result=0", 0, 0, NUL, 6},
    /* #13 plain, max 4: 83,994 / 464,494 -> 4 x 0.18083 = 0.7233 */
    {13, "judged=464494 judged_digitized=83994", 83994, 464494, 83994.0 / 464494,
     4.0 * 83994 / 464494},
    /* #14 threshold 0.8, max 2: 80/100 -> 2; 40/100 -> 2 x 0.4 / 0.8 = 1 */
    {14, "judged=100 judged_reused_data=80", 80, 100, 0.8, 2},
    {14, "judged=100 judged_reused_data=40", 40, 100, 0.4, 1},
    /* #16 plain, max 4, over D now: 60/100 -> 2.4; nothing judged: full */
    {16, "judged=100 judged_from_data_store=60", 60, 100, 0.6, 2.4},
    {16, "judged=0 judged_from_data_store=0", 0, 0, NUL, 4},
    /* #18 plain, max 2: 45/100 -> 0.9 */
    {18, "judged=100 judged_population_data=45", 45, 100, 0.45, 0.9},
    /* #21 complement, T 0.9, max 6: 1 - (late + complaints) / |D|; the
     * portal's 464,494 - 61,478 late - 130 with a complaint = 402,886:
     * rate 0.86737... < 0.9 -> 6 x 0.86737 / 0.9 = 5.782435653994813 */
    {21, "judged=464494 judged_late=61478 judged_complaints=130", 402886, 464494, 402886.0 / 464494,
     6.0 * 402886 / 464494 / 0.9},
    {21, "judged=100 judged_late=5 judged_complaints=5", 90, 100, 0.9, 6},
    {21, "judged=0 judged_late=0 judged_complaints=0", 0, 0, NUL, 6},
    /* the old inputs feed none of these rows any more */
    {5, "resolved_on_time=90 resolved_late=6 open_overdue=4", ABSENT, ABSENT, NUL, 0},
};

static void check_golden(const chiso_score_rules *rules, const struct golden *g)
{
    chiso_score_input in = input_of(g->in);
    chiso_score sc;
    const chiso_score_item *it = &sc.ind[g->id - 1];

    CHECK_EQ_INT(chiso_score_compute(rules, &in, &sc), 0, "%s: compute %s", rules->name, g->in);
    CHECK_EQ_INT(it->num, g->num, "%s #%d num: %s", rules->name, g->id, g->in);
    CHECK_EQ_INT(it->den, g->den, "%s #%d den: %s", rules->name, g->id, g->in);
    CHECK(same_rate(it->rate, g->rate), "%s #%d rate %.17g, want %.17g: %s", rules->name, g->id,
          it->rate, g->rate, g->in);
    CHECK(near(it->points, g->points), "%s #%d points %.17g, want %.17g: %s", rules->name, g->id,
          it->points, g->points, g->in);
    CHECK(near(it->max, rules->rule[g->id - 1].max), "#%d max", g->id);
}

static void test_golden(void)
{
    bool covered[CHISO_SCORE_INDICATORS] = {false}, covered_d[CHISO_SCORE_INDICATORS] = {false};

    /* the table above: the rules before the portal's populations, and the
     * rows both sets share in the default set too */
    for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
        check_golden(rules_resolved(), &golden[i]);
        if (!population_row(golden[i].id)) {
            check_golden(rules766(), &golden[i]);
            covered_d[golden[i].id - 1] = true;
        }
        covered[golden[i].id - 1] = true;
    }
    for (size_t i = 0; i < sizeof(golden_d) / sizeof(golden_d[0]); i++) {
        CHECK(population_row(golden_d[i].id), "golden_d holds population rows only");
        check_golden(rules766(), &golden_d[i]);
        covered_d[golden_d[i].id - 1] = true;
    }
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++)
        CHECK(covered[i] && covered_d[i], "indicator %d has golden cases in both sets", i + 1);
}

static void check_sums(const chiso_score *sc, const double *g5, const double *g6, double total,
                       const char *what)
{
    static const double max5[] = {18, 20, 22, 22, 18}, max6[] = {18, 20, 12, 10, 22, 18};

    for (int i = 0; i < CHISO_SCORE_GROUPS; i++) {
        CHECK(near(sc->group[i].points, g5[i]), "%s: group %d %.17g, want %g", what, i + 1,
              sc->group[i].points, g5[i]);
        CHECK(near(sc->group[i].max, max5[i]), "%s: group %d max", what, i + 1);
    }
    for (int i = 0; i < CHISO_SCORE_GROUPS6; i++) {
        CHECK(near(sc->group6[i].points, g6[i]), "%s: group6 %d %.17g, want %g", what, i + 1,
              sc->group6[i].points, g6[i]);
        CHECK(near(sc->group6[i].max, max6[i]), "%s: group6 %d max", what, i + 1);
    }
    CHECK(near(sc->total, total), "%s: total %.17g, want %g", what, sc->total, total);
    CHECK(near(sc->max, 100), "%s: max 100", what);
}

static void test_groups_total(void)
{
    chiso_score sc;
    chiso_score_input in;

    /* Every rate 1: every maximum. */
    in = input_of(perfect);
    CHECK_EQ_INT(chiso_score_compute(rules_resolved(), &in, &sc), 0, "perfect");
    check_sums(&sc, (const double[]){18, 20, 22, 22, 18}, (const double[]){18, 20, 12, 10, 22, 18},
               100, "perfect");

    /* Four losses: #5 90/100 on time (-2: 18 of 20; #21 stays at T, 1 - 10/100
     * = 0.9 -> 6), #9 40/100 (-1: 2.5 x 0.4 = 1), #16 50/100 (-2: 2 of 4),
     * #19 50/100 (-3: 3 of 6). Groups: I 18, II 18, III 22 - 1 = 21,
     * IV 22 - 2 = 20, V 18 - 3 = 15; six: payment 10 - 1 = 9, online 12.
     * Total 100 - 8 = 92. */
    in.n[CHISO_SF_RESOLVED_ON_TIME] = 90;
    in.n[CHISO_SF_RESOLVED_LATE] = 10;
    in.n[CHISO_SF_PROCEDURES_PAID_ONLINE] = 40;
    in.n[CHISO_SF_FROM_DATA_STORE] = 50;
    in.n[CHISO_SF_FEEDBACK_ANSWERED_ON_TIME] = 50;
    CHECK_EQ_INT(chiso_score_compute(rules_resolved(), &in, &sc), 0, "four losses");
    check_sums(&sc, (const double[]){18, 18, 21, 20, 15}, (const double[]){18, 18, 12, 9, 20, 15},
               92, "four losses");
    CHECK(near(sc.ind[20].points, 6), "#21 at its threshold keeps 6");

    /* Nothing supplied: every rate null, no points at all. */
    chiso_score_input_init(&in);
    CHECK_EQ_INT(chiso_score_compute(rules_resolved(), &in, &sc), 0, "absent");
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++)
        CHECK(isnan(sc.ind[i].rate) && sc.ind[i].points == 0 && sc.ind[i].num == ABSENT &&
                  sc.ind[i].den == ABSENT,
              "absent #%d", i + 1);
    check_sums(&sc, (const double[]){0, 0, 0, 0, 0}, (const double[]){0, 0, 0, 0, 0, 0}, 0,
               "absent");

    /* Every count 0 (an idle unit): every den 0 -> if_empty; all full but
     * #7 and #16 (if_empty 0): total 100 - 4 - 4 = 92; group III 22 - 4 = 18
     * (six: online 12 - 4 = 8), IV 22 - 4 = 18. */
    for (int f = 0; f < CHISO_SF_COUNT; f++)
        in.n[f] = 0;
    CHECK_EQ_INT(chiso_score_compute(rules_resolved(), &in, &sc), 0, "zeros");
    check_sums(&sc, (const double[]){18, 20, 18, 18, 18}, (const double[]){18, 20, 8, 10, 18, 18},
               92, "zeros");
    /* The default set judges #16 over D: an idle unit has nothing judged, so
     * #16 is full there and only #7 (if_empty 0) loses: 100 - 4 = 96. */
    CHECK_EQ_INT(chiso_score_compute(rules766(), &in, &sc), 0, "zeros, default set");
    check_sums(&sc, (const double[]){18, 20, 18, 22, 18}, (const double[]){18, 20, 8, 10, 22, 18},
               96, "zeros, default set");

    /* Every rate 1 in the default set too. */
    in = input_of(perfect);
    in.n[CHISO_SF_JUDGED] = in.n[CHISO_SF_JUDGED_ON_TIME] = in.n[CHISO_SF_JUDGED_E_RESULT] = 100;
    in.n[CHISO_SF_JUDGED_DIGITIZED] = in.n[CHISO_SF_JUDGED_REUSED_DATA] = 100;
    in.n[CHISO_SF_JUDGED_FROM_DATA_STORE] = in.n[CHISO_SF_JUDGED_POPULATION_DATA] = 100;
    in.n[CHISO_SF_JUDGED_LATE] = in.n[CHISO_SF_JUDGED_COMPLAINTS] = 0;
    CHECK_EQ_INT(chiso_score_compute(rules766(), &in, &sc), 0, "perfect, default set");
    check_sums(&sc, (const double[]){18, 20, 22, 22, 18}, (const double[]){18, 20, 12, 10, 22, 18},
               100, "perfect, default set");
}

/* DOMAIN.md's reference figures, Hưng Yên Q3 2025 (seeds/004_*), scored
 * with the rules before the portal's populations (the report gives no D). */
static void test_hung_yen(void)
{
    /* digitized: 98.9% of 267,922 received = 264,975 (rounded). */
    chiso_score_input in =
        input_of("received=267922 online=240427 resolved=246821 resolved_on_time=244695 "
                 "resolved_late=2126 open_overdue=583 complaints=0 digitized=264975 "
                 "feedback_received=70 feedback_answered_on_time=45 procedures_fee=890 "
                 "procedures_fee_integrated=890");
    chiso_score sc;

    CHECK_EQ_INT(chiso_score_compute(rules_resolved(), &in, &sc), 0, "Hưng Yên");
    /* #5: the 583 dossiers open and overdue at the period end count as late:
     * den = 244,695 + 2,126 + 583 = 247,404; 244,695 / 247,404 =
     * 0.98905029829752...; 20 x that = 19.7810059659504 (19.78 shown). Were
     * open dossiers left out, 244,695 / 246,821 would give 19.83. */
    CHECK_EQ_INT(sc.ind[4].num, 244695, "#5 num");
    CHECK_EQ_INT(sc.ind[4].den, 247404, "#5 den");
    CHECK(near(sc.ind[4].rate, 244695.0 / 247404.0), "#5 rate");
    CHECK(near(sc.ind[4].points, 20.0 * 244695.0 / 247404.0), "#5 points");
    CHECK(near(chiso_score_round2(sc.ind[4].points), 19.78), "#5 shows 19.78");
    /* #8: 240,427 / 267,922 = 0.8974, above T = 0.5: full 6. */
    CHECK(near(sc.ind[7].rate, 240427.0 / 267922.0) && near(sc.ind[7].points, 6), "#8 full");
    /* #10: 890 / 890 integrated: 2.5 x 1 capped at 2. */
    CHECK(near(sc.ind[9].points, 2), "#10 capped");
    /* #13: 264,975 / 267,922 = 0.98900; 4 x that = 3.95600 (3.96 shown). */
    CHECK(near(sc.ind[12].points, 4.0 * 264975.0 / 267922.0), "#13 points");
    CHECK(near(chiso_score_round2(sc.ind[12].points), 3.96), "#13 shows 3.96");
    /* #19: 45 / 70 = 64.29% (the report's 64.2%); 6 x 45 / 70 = 3.857 (3.86). */
    CHECK(near(sc.ind[18].points, 27.0 / 7.0), "#19 points");
    CHECK(near(chiso_score_round2(sc.ind[18].points), 3.86), "#19 shows 3.86");
    /* #21: failures 2,126 + 583 + 0 = 2,709 of 247,404: rate 0.98905 >= 0.9: 6. */
    CHECK_EQ_INT(sc.ind[20].num, 247404 - 2709, "#21 num");
    CHECK(near(sc.ind[20].points, 6), "#21 full");
    /* Total of what is supplied: 19.78100597 + 6 + 2 + 3.95600212 +
     * 3.85714286 + 6 = 41.59415095; everything else is not supplied: 0. */
    CHECK(near(sc.total,
               20.0 * 244695.0 / 247404.0 + 6 + 2 + 4.0 * 264975.0 / 267922.0 + 27.0 / 7.0 + 6),
          "total %.17g", sc.total);
    CHECK(near(chiso_score_round2(sc.total), 41.59), "total shows 41.59");
}

/* The points still to win (score.h: need, gain), worked out by hand. */
static void test_still_to_win(void)
{
    static const struct {
        int id;
        const char *in;
        int64_t need;
        double gain;
    } cases[] = {
        /* #5 plain: every dossier of D on time: 218 - 192 = 26 more;
         * 20 - 20 x 192 / 218 = 20 x 26 / 218 = 2.385321... */
        {5, "judged=218 judged_on_time=192", 26, 20.0 * 26 / 218},
        {5, "judged=218 judged_on_time=218", 0, 0},
        /* #21 threshold 0.9: full from 0.9 x 464,494 = 418,044.6, so
         * 418,045 successes: 418,045 - 402,886 = 15,159 fewer failures;
         * 6 - 5.782435653994813 */
        {21, "judged=464494 judged_late=61478 judged_complaints=130", 15159,
         6 - 6.0 * 402886 / 464494 / 0.9},
        /* #8 threshold 0.5: 49/100 -> 50 needed, 1 more; 6 - 5.88 */
        {8, "received=100 online=49", 1, 6 - 5.88},
        /* #9 capped min(2, 2.5 x rate): full from rate 0.8: 80 - 40 = 40; 2 - 1 */
        {9, "procedures_fee=100 procedures_paid_online=40", 40, 1},
        /* #7 with nothing offered online: 0 of 4, and no numerator to grow */
        {7, "procedures_online=0 procedures_online_with_dossiers=0", -1, 0},
        /* den 0 with full points: nothing to win */
        {19, "feedback_received=0 feedback_answered_on_time=0", 0, 0},
        /* not supplied */
        {19, "received=1", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_score_input in = input_of(cases[i].in);
        chiso_score sc;
        CHECK_EQ_INT(chiso_score_compute(rules766(), &in, &sc), 0, "%s", cases[i].in);
        const chiso_score_item *it = &sc.ind[cases[i].id - 1];
        CHECK_EQ_INT(it->need, cases[i].need, "#%d need: %s", cases[i].id, cases[i].in);
        CHECK(near(it->gain, cases[i].gain), "#%d gain %.17g, want %.17g: %s", cases[i].id,
              it->gain, cases[i].gain, cases[i].in);
        if (it->need > 0) { /* need is the least: one less does not reach full */
            chiso_score_input more = in, less = in;
            const chiso_score_rule *r = &rules766()->rule[cases[i].id - 1];
            bool complement = r->rate == CHISO_RATE_COMPLEMENT;
            chiso_score_field f = r->num.f[0]; /* a complement's first failure count */
            more.n[f] += complement ? -it->need : it->need;
            less.n[f] += complement ? -(it->need - 1) : it->need - 1;
            chiso_score a, b;
            chiso_score_compute(rules766(), &more, &a);
            chiso_score_compute(rules766(), &less, &b);
            CHECK(near(a.ind[cases[i].id - 1].points, it->points + it->gain),
                  "#%d: need reaches full", cases[i].id);
            CHECK(b.ind[cases[i].id - 1].points < it->points + it->gain - 1e-9,
                  "#%d: need - 1 does not", cases[i].id);
        }
    }

    /* a capped row whose factor cannot reach its cap: not reachable */
    chiso_score_rules r = *rules766();
    r.rule[8].factor = 1;
    r.rule[8].cap = 2;
    chiso_score_input in = input_of("procedures_fee=100 procedures_paid_online=40");
    chiso_score sc;
    CHECK_EQ_INT(chiso_score_compute(&r, &in, &sc), 0, "custom #9");
    CHECK_EQ_INT(sc.ind[8].need, -1, "min(2, 1 x rate) never reaches 2");
}

static void test_rollup(void)
{
    chiso_score_input units[3], prov;
    chiso_score sc;

    /* Two units: received 10 + 30 = 40, online 8 + 12 = 20 -> #8 20/40 =
     * 0.5 = T -> 6. Feedback: only B supplied it, so the province has none
     * (an incomplete sum is no sum). */
    units[0] = input_of("received=10 online=8 synced=10");
    units[1] = input_of("received=30 online=12 synced=25 feedback_received=5");
    chiso_score_rollup(units, 2, &prov);
    CHECK_EQ_INT(prov.n[CHISO_SF_RECEIVED], 40, "received summed");
    CHECK_EQ_INT(prov.n[CHISO_SF_ONLINE], 20, "online summed");
    CHECK_EQ_INT(prov.n[CHISO_SF_SYNCED], 35, "synced summed");
    CHECK_EQ_INT(prov.n[CHISO_SF_FEEDBACK_RECEIVED], ABSENT, "one unit absent: absent");
    CHECK_EQ_INT(prov.n[CHISO_SF_PROCEDURES], ABSENT, "all absent: absent");
    CHECK_EQ_INT(chiso_score_compute(rules766(), &prov, &sc), 0, "province scores");
    CHECK(near(sc.ind[7].rate, 0.5) && near(sc.ind[7].points, 6), "#8 of the province");
    /* #4: 35 / 40 = 0.875 -> 6 x 0.875 = 5.25 (not the mean of 6 and 5). */
    CHECK(near(sc.ind[3].points, 5.25), "#4 of the province %.17g", sc.ind[3].points);
    CHECK(isnan(sc.ind[18].rate) && sc.ind[18].points == 0, "#19 not supplied");

    /* Sums saturate at CHISO_SCORE_COUNT_MAX, which still scores. */
    units[0] = input_of("received=1");
    units[1] = input_of("received=1");
    units[2] = input_of("received=1");
    units[1].n[CHISO_SF_RECEIVED] = CHISO_SCORE_COUNT_MAX;
    chiso_score_rollup(units, 3, &prov);
    CHECK_EQ_INT(prov.n[CHISO_SF_RECEIVED], CHISO_SCORE_COUNT_MAX, "saturated");
    CHECK_EQ_INT(chiso_score_compute(rules766(), &prov, &sc), 0, "saturated sum scores");

    chiso_score_rollup(units, 0, &prov);
    for (int f = 0; f < CHISO_SF_COUNT; f++)
        CHECK_EQ_INT(prov.n[f], ABSENT, "no unit: field %d absent", f);
}

static void test_rank(void)
{
    /* Rounded to 2 decimals: 92.5, 80, 92.5, 70, 80.00, 80.00, 80.01.
     * Greater totals: 92.5 none (1); 80.01 two (3); 80 three (4); 70 six (7).
     * Competition ranking: 1, 4, 1, 7, 4, 4, 3. */
    static const double totals[] = {92.5, 80, 92.5, 70, 80.001, 79.996, 80.006};
    static const int want[] = {1, 4, 1, 7, 4, 4, 3};
    int ranks[7];

    chiso_score_rank(totals, 7, ranks);
    for (int i = 0; i < 7; i++)
        CHECK_EQ_INT(ranks[i], want[i], "rank of %g", totals[i]);
    chiso_score_rank(totals, 1, ranks);
    CHECK_EQ_INT(ranks[0], 1, "alone: first");
    chiso_score_rank(NULL, 0, NULL); /* nothing to rank: no access */

    /* Rounding as printed: half away from zero on the binary value. */
    CHECK(chiso_score_round2(74.875) == 74.88, "74.875 -> 74.88");
    CHECK(chiso_score_round2(0.125) == 0.13, "0.125 -> 0.13");
    CHECK(chiso_score_round2(19.781005965950428) == 19.78, "19.781 -> 19.78");
    CHECK(chiso_score_round2(100) == 100 && chiso_score_round2(0) == 0, "integers");
}

static void test_custom_rules(void)
{
    chiso_score_rules r = *rules766();
    chiso_score_input in = input_of("procedures=100 procedures_online=60");
    chiso_score sc;
    char err[160];

    /* Another threshold: #6 at T = 0.5: 2 x 0.6 / 0.5 = 2.4 -> 2, where the
     * default T = 0.8 gives 2 x 0.6 / 0.8 = 1.5. */
    CHECK_EQ_INT(chiso_score_compute(rules766(), &in, &sc), 0, "default");
    CHECK(near(sc.ind[5].points, 1.5), "#6 at T 0.8");
    r.name = "test-t05";
    r.rule[5].threshold = 0.5;
    CHECK_EQ_INT(chiso_score_compute(&r, &in, &sc), 0, "custom");
    CHECK(near(sc.ind[5].points, 2), "#6 at T 0.5");
    CHECK(sc.rules == &r, "the score names its rules");
    CHECK(chiso_score_rules_find("test-t05") == NULL, "a caller's set is not built in");

    /* Every kind of broken rule set is refused, with a reason. */
#define BROKEN(what, stmt)                                                                         \
    do {                                                                                           \
        chiso_score_rules x = *rules766();                                                         \
        stmt;                                                                                      \
        err[0] = '\0';                                                                             \
        CHECK_EQ_INT(chiso_score_rules_check(&x, err, sizeof(err)), CHISO_EINVAL, what);           \
        CHECK(err[0] != '\0', "%s: a reason", what);                                               \
        CHECK_EQ_INT(chiso_score_compute(&x, &in, &sc), CHISO_EINVAL, "%s: not scored", what);     \
    } while (0)
    BROKEN("no name", x.name = "");
    BROKEN("id out of order", x.rule[3].id = 5);
    BROKEN("zero max", x.rule[0].max = 0);
    BROKEN("group 6 of five", x.rule[0].group = 6);
    BROKEN("group6 0", x.rule[0].group6 = 0);
    BROKEN("threshold 0", x.rule[5].threshold = 0);
    BROKEN("threshold above 1", x.rule[5].threshold = 1.5);
    BROKEN("cap above max", x.rule[8].cap = 3);
    BROKEN("no factor", x.rule[8].factor = 0);
    BROKEN("no terms", x.rule[0].num.n = 0);
    BROKEN("too many terms", x.rule[0].den.n = CHISO_SCORE_TERMS_MAX + 1);
    BROKEN("no such field", x.rule[0].num.f[0] = CHISO_SF_COUNT);
    BROKEN("if_empty above 1", x.rule[0].if_empty = 1.5);
    BROKEN("unknown formula", x.rule[0].formula = (chiso_score_formula)7);
    BROKEN("unnamed group", x.group[2].name = NULL);
    BROKEN("empty group", for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) x.rule[i].group6 =
                              x.rule[i].group6 == 4 ? 3 : x.rule[i].group6);
#undef BROKEN
    CHECK_EQ_INT(chiso_score_rules_check(NULL, err, sizeof(err)), CHISO_EINVAL, "NULL set");

    /* Counts outside 0..COUNT_MAX (other than ABSENT) are refused. */
    in.n[CHISO_SF_RECEIVED] = -2;
    CHECK_EQ_INT(chiso_score_compute(rules766(), &in, &sc), CHISO_EINVAL, "count -2");
    in.n[CHISO_SF_RECEIVED] = CHISO_SCORE_COUNT_MAX + 1;
    CHECK_EQ_INT(chiso_score_compute(rules766(), &in, &sc), CHISO_EINVAL, "count over max");
    in.n[CHISO_SF_RECEIVED] = CHISO_SCORE_COUNT_MAX;
    CHECK_EQ_INT(chiso_score_compute(rules766(), &in, &sc), 0, "count at max");
}

static int parse(const char *doc, chiso_snapshot *snap, chiso_score_input *in, char *err,
                 size_t errsz)
{
    return chiso_score_doc_parse(doc, strlen(doc), 1751331600, snap, in, err, errsz);
}

static void test_doc_parse(void)
{
    chiso_snapshot snap;
    chiso_score_input in;
    char err[256];

    /* The smallest document: defaults everywhere. */
    CHECK_EQ_INT(parse("{\"unit\":\"U1\",\"period\":\"2025-07\"}", &snap, &in, err, sizeof(err)), 0,
                 "minimal: %s", err);
    CHECK_EQ_STR(snap.unit.unit, "U1");
    CHECK_EQ_STR(snap.unit.name, "U1");
    CHECK(snap.unit.kind == CHISO_UNIT_UNKNOWN && snap.unit.parent[0] == '\0', "no kind, parent");
    CHECK(snap.unit.target_full_process == 0.70, "default target");
    CHECK_EQ_INT(snap.as_of, 1751331600, "as_of defaults to now");
    CHECK(snap.score == NULL && snap.rank == 0 && snap.counts.received == 0, "nothing else");
    for (int f = 0; f < CHISO_SF_COUNT; f++)
        CHECK_EQ_INT(in.n[f], ABSENT, "field %d absent", f);

    /* Everything: metadata, a count-only field, shared fields, null. */
    CHECK_EQ_INT(parse("{\"unit\":\"HY-STP\",\"name\":\"Sở Tư pháp\",\"kind\":\"department\","
                       "\"parent\":\"HY\",\"period\":\"2025-Q3\",\"target\":0.8,"
                       "\"as_of\":\"2025-10-01T08:00:00+07:00\",\"received\":12,"
                       "\"received_online\":10,\"open\":4,\"open_overdue\":2,\"online\":9,"
                       "\"feedback_received\":null,\"procedures\":0}",
                       &snap, &in, err, sizeof(err)),
                 0, "full: %s", err);
    CHECK_EQ_STR(snap.unit.name, "Sở Tư pháp");
    CHECK(snap.unit.kind == CHISO_UNIT_DEPARTMENT, "kind");
    CHECK_EQ_STR(snap.unit.parent, "HY");
    CHECK_EQ_STR(snap.period, "2025-Q3");
    CHECK(snap.unit.target_full_process == 0.8, "target");
    CHECK_EQ_INT(snap.as_of, 1759280400, "as_of 2025-10-01T01:00:00Z");
    CHECK_EQ_INT(snap.counts.received, 12, "received: a count");
    CHECK_EQ_INT(in.n[CHISO_SF_RECEIVED], 12, "received: an input too");
    CHECK_EQ_INT(snap.counts.received_online, 10, "received_online: a count");
    CHECK_EQ_INT(snap.counts.open, 4, "open: a count");
    CHECK_EQ_INT(snap.counts.open_overdue, 2, "open_overdue: a count");
    CHECK_EQ_INT(in.n[CHISO_SF_OPEN_OVERDUE], 2, "open_overdue: an input too");
    CHECK_EQ_INT(in.n[CHISO_SF_ONLINE], 9, "online: an input only");
    CHECK_EQ_INT(in.n[CHISO_SF_FEEDBACK_RECEIVED], ABSENT, "null: not supplied");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES], 0, "0 is supplied");

    /* Errors name the field and the problem. */
    static const struct {
        const char *doc, *msg;
    } bad[] = {
        {"", "the document is empty"},
        {"null", "the document is empty"},
        {"{\"unit\":\"U1\"", "not valid JSON"},
        {"[]", "not a JSON object"},
        {"{\"period\":\"2025\"}", "field 'unit': missing"},
        {"{\"unit\":\"U1\"}", "field 'period': missing"},
        {"{\"unit\":\"U1\",\"period\":\"2025-Q5\"}", "field 'period': must be"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"unit\":\"U2\"}", "field 'unit': appears twice"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"received\":1,\"received\":2}",
         "field 'received': appears twice"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"received\":2.5}",
         "field 'received': must be an integer"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"received\":true}",
         "field 'received': must be an integer"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"open\":-1}", "field 'open': must be an integer"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"complaints\":1000000000000001}",
         "field 'complaints': must be an integer"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"x\\u0001\":1}", "field '?': unknown"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"target\":\"0.7\"}", "field 'target'"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"name\":\"a\\u0007b\"}", "field 'name'"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"parent\":7}", "field 'parent'"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"kind\":\"unknown\"}", "field 'kind'"},
        {"{\"unit\":\"U1\",\"period\":\"2025\",\"as_of\":\"2025-13-01T00:00:00Z\"}",
         "field 'as_of'"},
        {"{\"unit\":\"\",\"period\":\"2025\"}", "field 'unit': must be a unit code"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK_EQ_INT(parse(bad[i].doc, &snap, &in, err, sizeof(err)), CHISO_EINVAL, "bad %zu: %s",
                     i, bad[i].doc);
        CHECK(strstr(err, bad[i].msg) != NULL, "bad %zu: '%s' lacks '%s'", i, err, bad[i].msg);
    }

    /* A document that is not NUL-terminated parses within its length. */
    const char text[] = "{\"unit\":\"U1\",\"period\":\"2025\"}garbage";
    CHECK_EQ_INT(chiso_score_doc_parse(text, sizeof(text) - 1 - 7, 0, &snap, &in, err, sizeof(err)),
                 0, "length-bounded: %s", err);
}

/* The inputs read from Redis counters: which counter feeds which input, by
 * name; which are supplied; clamping. */
static void test_counter_inputs(void)
{
    static const struct {
        chiso_score_field field;
        const char *counter; /* NULL: no counter feeds it */
    } feeds[] = {
        {CHISO_SF_RECEIVED, "received"},
        {CHISO_SF_RESOLVED, "resolved"},
        {CHISO_SF_RESOLVED_ON_TIME, "resolved_on_time"},
        {CHISO_SF_RESOLVED_LATE, "resolved_late"},
        {CHISO_SF_OPEN_OVERDUE, NULL}, /* derived from buckets */
        {CHISO_SF_ONLINE, "received_online_valid"},
        {CHISO_SF_SYNCED, "synced"},
        {CHISO_SF_FEE_DOSSIERS, "fee_dossiers"},
        {CHISO_SF_PAID_ONLINE, "paid_online"},
        {CHISO_SF_E_RESULT, "resolved_e_result"},
        {CHISO_SF_DIGITIZED, "digitized"},
        {CHISO_SF_REUSED_DATA, "reused_data"},
        {CHISO_SF_FROM_DATA_STORE, "from_data_store"},
        {CHISO_SF_POPULATION_DATA, "population_data"},
        {CHISO_SF_COMPLAINTS, "resolved_complaint"},
        {CHISO_SF_PROCEDURES, NULL}, /* the catalog */
        {CHISO_SF_PROCEDURES_ONLINE_WITH_DOSSIERS, NULL},
        {CHISO_SF_PROCEDURES_PAID_ONLINE, NULL},
        {CHISO_SF_E_COPY_UNITS, NULL},
        {CHISO_SF_FEEDBACK_RECEIVED, "fb_received"},
        {CHISO_SF_FEEDBACK_ANSWERED_ON_TIME, "fb_answered_on_time"},
        {CHISO_SF_FEEDBACK_RATED, "fb_rated"},
        {CHISO_SF_FEEDBACK_SATISFIED, "fb_satisfied"},
    };
    chiso_score_input in;
    int supplied = 0;

    for (size_t i = 0; i < sizeof(feeds) / sizeof(feeds[0]); i++) {
        const char *got = chiso_score_field_counter(feeds[i].field);
        CHECK(feeds[i].counter ? got && strcmp(got, feeds[i].counter) == 0 : got == NULL,
              "field %s: counter %s, want %s", chiso_score_field_name(feeds[i].field),
              got ? got : "(none)", feeds[i].counter ? feeds[i].counter : "(none)");
    }
    /* every counter a field reads is one counters.h or feedback.h keeps */
    chiso_score_input_counters(&in);
    for (int f = 0; f < CHISO_SF_COUNT; f++) {
        const char *c = chiso_score_field_counter((chiso_score_field)f);
        if (!c) {
            CHECK_EQ_INT(in.n[f], CHISO_SCORE_ABSENT, "%s: no counter, not supplied",
                         chiso_score_field_name((chiso_score_field)f));
            continue;
        }
        CHECK(chiso_counter_from_name(c) >= 0 || chiso_fb_counter_from_name(c) >= 0,
              "%s reads '%s', a counter this build does not keep", chiso_score_field_name(f), c);
        CHECK_EQ_INT(in.n[f], 0, "%s: kept, so supplied (0 until read)",
                     chiso_score_field_name((chiso_score_field)f));
        supplied++;
    }
    CHECK_EQ_INT(supplied, 18, "fields fed by counters");

    CHECK_EQ_INT(chiso_score_input_counter(&in, "received_online_valid", 42), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_ONLINE], 42, "#8 reads received_online_valid");
    CHECK_EQ_INT(chiso_score_input_counter(&in, "resolved_complaint", -3), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_COMPLAINTS], 0, "a negative counter is taken as 0");
    CHECK_EQ_INT(chiso_score_input_counter(&in, "fb_received", CHISO_SCORE_COUNT_MAX + 1), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_FEEDBACK_RECEIVED], CHISO_SCORE_COUNT_MAX, "clamped");
    CHECK_EQ_INT(chiso_score_input_counter(&in, "received_online", 5), CHISO_ENOENT,
                 "a snapshot count only");
    CHECK_EQ_INT(chiso_score_input_counter(&in, "closed", 5), CHISO_ENOENT, "");
    CHECK_EQ_INT(in.n[CHISO_SF_RECEIVED], 0, "untouched");
}

static void test_rules_ok(void)
{
    char err[128];
    CHECK_EQ_INT(chiso_score_rules_ok("766-2022-dvcqg", err, sizeof(err)), 0, "");
    CHECK_EQ_INT(chiso_score_rules_ok("766-2018", err, sizeof(err)), CHISO_EINVAL, "");
    CHECK(strstr(err, "766-2022-dvcqg") != NULL, "lists the known sets: %s", err);
}

int main(void)
{
    test_rules_table();
    test_golden();
    test_still_to_win();
    test_groups_total();
    test_hung_yen();
    test_rollup();
    test_rank();
    test_custom_rules();
    test_doc_parse();
    test_counter_inputs();
    test_rules_ok();
    return CHECK_DONE();
}
