/*
 * test_population.c - the national portal's population D (DOMAIN.md,
 * "Populations the national portal uses") end to end on hand-made
 * dossiers: events -> dossier states -> contributions (counters.h) ->
 * month and day buckets -> chiso_snapshot_population_of() -> the default
 * rule set's #5, #12, #13, #14, #16, #18 and #21 (num, den and points).
 *
 * Every expected figure is worked out by hand in the comments, dossier by
 * dossier, from DOMAIN.md's definitions, not from the code under test.
 *
 * The dossiers of unit U (due = the received event's due day; B = the
 * first overdue day of docs/ontime.md):
 *   A  received 20/6, due 10/7, resolved 5/7 with an e-result: on time
 *      (B 11/7). Digitized, population data.
 *   B  received 25/6, due 2/7, resolved 8/7 with an e-result: late (B 3/7).
 *      Population data.
 *   C  received 10/7, due 20/7, never finished: late from 21/7. Digitized,
 *      reused data.
 *   D  received 25/7, due 15/8, resolved 10/8 with an e-result: on time
 *      (B 16/8). Digitized from the data store.
 *   E  received 3/7, due 15/7, withdrawn 8/7: on time, no result.
 *   F  received 4/7, due 10/7, stopped 20/7: late (B 11/7).
 *   G  received 5/7, due 15/7, one supplement requested 12/7 (in time),
 *      never answered: never overdue.
 *   H  received 1/7, due 20/7, supplements requested 5/7 (answered 7/7) and
 *      10/7, resolved 15/7: late from the second request (B 10/7).
 *   I  received 2/7, due 10/7, resolved 9/7 with an e-result, on time; a
 *      complaint. Digitized, reused, from the data store, population data.
 *   J  received 28/7, due 5/8, resolved 20/8 without an e-result: late
 *      (B 6/8). Digitized, population data.
 *   K  not accepted 3/7: never received, in no D.
 *   L  received 10/6, due 20/6, resolved 15/6: finished before July.
 *   M  received 6/7, due 25/7, returned 20/7 without a resolution: finished
 *      then, on time, no result.
 */
#include <math.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/dossier.h"
#include "chiso/score.h"
#include "chiso/snapshot.h"
#include "chiso/vntime.h"

#include "check.h"
#include "testtime.h"

#define NDAYS 122 /* 1 June to 30 September 2025 */

typedef struct story {
    chiso_event ev[8];
    int n;
} story;

static void add(story *s, chiso_event_type type, const char *day)
{
    char at[40];
    chiso_event *e = &s->ev[s->n];
    memset(e, 0, sizeof(*e));
    e->type = type;
    snprintf(e->event_id, sizeof(e->event_id), "e%d", s->n);
    snprintf(e->unit, sizeof(e->unit), "U");
    snprintf(e->procedure, sizeof(e->procedure), "1.000001");
    snprintf(at, sizeof(at), "%sT10:00:00+07:00", day);
    e->at = T(at);
    s->n++;
}

/* The received event, with its due day and flags "dzrp": digitized, from
 * the data store, reused, population data. */
static void received(story *s, const char *day, const char *due, const char *flags)
{
    char at[40];
    add(s, CHISO_EV_RECEIVED, day);
    chiso_event *e = &s->ev[s->n - 1];
    snprintf(at, sizeof(at), "%sT17:00:00+07:00", due);
    e->due_at = T(at);
    e->digitized = strchr(flags, 'd') != NULL;
    e->from_data_store = strchr(flags, 'z') != NULL;
    e->reused_data = strchr(flags, 'r') != NULL;
    e->population_data = strchr(flags, 'p') != NULL;
}

static void resolved(story *s, const char *day, bool e_result)
{
    add(s, CHISO_EV_RESOLVED, day);
    s->ev[s->n - 1].outcome = CHISO_OUTCOME_APPROVED;
    s->ev[s->n - 1].e_result = e_result;
}

static int build(story *d)
{
    int n = 0;
    memset(d, 0, 13 * sizeof(*d));
    received(&d[n], "2025-06-20", "2025-07-10", "dp"); /* A */
    resolved(&d[n++], "2025-07-05", true);
    received(&d[n], "2025-06-25", "2025-07-02", "p"); /* B */
    resolved(&d[n++], "2025-07-08", true);
    received(&d[n++], "2025-07-10", "2025-07-20", "dr"); /* C */
    received(&d[n], "2025-07-25", "2025-08-15", "dz");   /* D */
    resolved(&d[n++], "2025-08-10", true);
    received(&d[n], "2025-07-03", "2025-07-15", ""); /* E */
    add(&d[n++], CHISO_EV_WITHDRAWN, "2025-07-08");
    received(&d[n], "2025-07-04", "2025-07-10", ""); /* F */
    add(&d[n++], CHISO_EV_STOPPED, "2025-07-20");
    received(&d[n], "2025-07-05", "2025-07-15", ""); /* G */
    add(&d[n++], CHISO_EV_SUPPLEMENT_REQUESTED, "2025-07-12");
    received(&d[n], "2025-07-01", "2025-07-20", ""); /* H */
    add(&d[n], CHISO_EV_SUPPLEMENT_REQUESTED, "2025-07-05");
    add(&d[n], CHISO_EV_SUPPLEMENT_RECEIVED, "2025-07-07");
    add(&d[n], CHISO_EV_SUPPLEMENT_REQUESTED, "2025-07-10");
    resolved(&d[n++], "2025-07-15", true);
    received(&d[n], "2025-07-02", "2025-07-10", "dzrp"); /* I */
    resolved(&d[n], "2025-07-09", true);
    add(&d[n++], CHISO_EV_COMPLAINT, "2025-07-12");
    received(&d[n], "2025-07-28", "2025-08-05", "dp"); /* J */
    resolved(&d[n++], "2025-08-20", false);
    add(&d[n++], CHISO_EV_NOT_ACCEPTED, "2025-07-03"); /* K */
    received(&d[n], "2025-06-10", "2025-06-20", "");   /* L */
    resolved(&d[n++], "2025-06-15", true);
    received(&d[n], "2025-07-06", "2025-07-25", ""); /* M */
    add(&d[n++], CHISO_EV_RETURNED, "2025-07-20");
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < d[i].n; k++)
            snprintf(d[i].ev[k].dossier_id, sizeof(d[i].ev[k].dossier_id), "%c", 'A' + i);
    }
    return n;
}

/* The day buckets of every dossier's contributions, in chiso_snapshot_cum's
 * order, from 1 June on. */
static int64_t days[NDAYS][CHISO_SNAPSHOT_CUM];
static char day_keys[NDAYS][CHISO_PERIOD_STRLEN];
static int32_t first_day;

static void count(const story *stories, int n)
{
    chiso_dossier *d = chiso_dossier_new();
    memset(days, 0, sizeof(days));
    first_day = chiso_local_day(T("2025-06-01T12:00:00+07:00"));
    for (int i = 0; i < NDAYS; i++)
        chiso_period_key(first_day + i, CHISO_PERIOD_DAY, day_keys[i]);
    for (int s = 0; s < n; s++) {
        chiso_dossier_reset(d);
        /* backwards: the state does not depend on the order */
        for (int k = stories[s].n - 1; k >= 0; k--)
            chiso_dossier_apply(d, &stories[s].ev[k]);
        chiso_contrib c[CHISO_CONTRIB_MAX];
        int nc = chiso_dossier_contrib(d, c);
        for (int k = 0; k < nc; k++) {
            for (int j = 0; j < CHISO_SNAPSHOT_CUM; j++) {
                if (chiso_snapshot_cum[j] != c[k].counter)
                    continue;
                int32_t di = c[k].day - first_day;
                CHECK(di >= 0 && di < NDAYS, "dossier %c: a contribution within the test's days",
                      'A' + s);
                if (di >= 0 && di < NDAYS)
                    days[di][j]++;
            }
        }
    }
    chiso_dossier_free(d);
}

/* The population of period `key` at end day `end` ("2025-08-15"), from the
 * month buckets and the day buckets of end's month, as the snapshot sink
 * reads them. */
static chiso_snapshot_population population(const char *key, const char *end)
{
    static const char *const months[] = {"2025-06", "2025-07", "2025-08", "2025-09"};
    chiso_snapshot_bucket b[4 + NDAYS];
    chiso_snapshot_population pop = {0};
    chiso_period p;
    size_t n = 0;

    memset(b, 0, sizeof(b));
    for (int m = 0; m < 4; m++) {
        b[n].key = months[m];
        for (int i = 0; i < NDAYS; i++) {
            if (strncmp(day_keys[i], months[m], 7) == 0) {
                for (int j = 0; j < CHISO_SNAPSHOT_CUM; j++)
                    b[n].v[j] += days[i][j];
            }
        }
        n++;
    }
    int32_t e = chiso_local_day(T("2025-06-01T12:00:00+07:00"));
    for (int i = 0; i < NDAYS; i++) {
        if (strcmp(day_keys[i], end) == 0)
            e = first_day + i;
    }
    for (int i = 0; i < NDAYS; i++) {
        if (strncmp(day_keys[i], end, 7) == 0 && first_day + i <= e) {
            b[n].key = day_keys[i];
            memcpy(b[n].v, days[i], sizeof(b[n].v));
            n++;
        }
    }
    CHECK_EQ_INT(chiso_period_parse(key, &p), 0, "%s", key);
    CHECK_EQ_INT(chiso_snapshot_population_of(b, n, &p, e, &pop), 0, "%s at %s", key, end);
    return pop;
}

typedef struct want {
    const char *period, *end;
    int64_t judged, late, complaints, e_result, digitized, reused, store, population;
} want;

static bool near(double a, double b)
{
    return fabs(a - b) < 1e-9;
}

/* #5, #12, #13, #14, #16, #18, #21 of the default set from the population:
 * each num / den, and points by the rule table of docs/scoring.md. */
static void check_score(const want *w)
{
    chiso_snapshot_population pop = {w->judged,    w->late,   w->complaints, w->e_result,
                                     w->digitized, w->reused, w->store,      w->population};
    chiso_score_input in;
    chiso_score sc;
    double d = (double)w->judged;

    chiso_score_input_init(&in);
    chiso_snapshot_population_input(&in, &pop);
    CHECK_EQ_INT(chiso_score_compute(chiso_score_rules_find(CHISO_SCORE_DEFAULT_RULES), &in, &sc),
                 0, "score %s", w->period);
    const struct {
        int id;
        int64_t num;
        double points;
    } rows[] = {
        {5, w->judged - w->late, 20 * (w->judged - w->late) / d},
        {12, w->e_result, 6 * w->e_result / d},
        {13, w->digitized, 4 * w->digitized / d},
        {14, w->reused, fmin(2, 2 * (w->reused / d) / 0.8)},
        {16, w->store, 4 * w->store / d},
        {18, w->population, 2 * w->population / d},
        {21, w->judged - w->late - w->complaints,
         fmin(6, 6 * ((w->judged - w->late - w->complaints) / d) / 0.9)},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const chiso_score_item *it = &sc.ind[rows[i].id - 1];
        CHECK_EQ_INT(it->den, w->judged, "%s #%d den", w->period, rows[i].id);
        CHECK_EQ_INT(it->num, rows[i].num, "%s #%d num", w->period, rows[i].id);
        CHECK(near(it->points, rows[i].points), "%s #%d points %.6f, want %.6f", w->period,
              rows[i].id, it->points, rows[i].points);
    }
}

static void test_periods(void)
{
    story stories[13];
    int n = build(stories);
    count(stories, n);

    static const want cases[] = {
        /* June: A and B open at its end within their deadlines (B 11/7 and
         * 3/7), L finished on time: 3 judged, none late; L's e-result. */
        {"2025-06", "2025-06-30", 3, 0, 0, 1, 1, 0, 0, 2},
        /* July: A, B carried over and finished in it, C-J and M received
         * in it (K never received, L finished in June): 11. Late: B (8/7 >=
         * 3/7), C (open, 31/7 >= 21/7), F (stopped 20/7 >= 11/7), H (15/7
         * >= 10/7); D, G, J open and within their deadline, A, E, I, M on
         * time: 4 late, 7 on time -> #5 7/11, 12.73 points. A complaint: I
         * -> #21 1 - 5/11 -> 6 x (6/11) / 0.9 = 3.64. E-results of dossiers
         * finished in July: A, B, H, I (E withdrawn, F stopped, M returned:
         * none) -> 4/11. Digitized A, C, D, I, J; reused C, I; data store
         * D, I; population A, B, I, J. */
        {"2025-07", "2025-07-31", 11, 4, 1, 4, 5, 2, 2, 4},
        /* August: C and G still open, D and J finished in it: 4. Late: C
         * (open, past 21/7), J (20/8 >= 6/8); D 10/8 < 16/8 on time, G never
         * overdue -> #5 2/4. E-result: D (J has none) -> 1/4. Digitized C,
         * D, J; reused C; data store D; population J. */
        {"2025-08", "2025-08-31", 4, 2, 0, 1, 3, 1, 1, 1},
        /* September: C and G open: 2, C late. */
        {"2025-09", "2025-09-30", 2, 1, 0, 0, 1, 1, 0, 0},
        /* Q3: July's 11. Late: B, C, F, H, J -> 5. E-results finished in the
         * quarter: A, B, H, I, D -> 5. */
        {"2025-Q3", "2025-09-30", 11, 5, 1, 5, 5, 2, 2, 4},
        /* Q3 while it runs, on 15 August: J is open and past its B (6/8):
         * late already; D finished 10/8 on time; C late; B, F, H late -> 5.
         * E-results by then: A, B, H, I, D -> 5. */
        {"2025-Q3", "2025-08-15", 11, 5, 1, 5, 5, 2, 2, 4},
        /* August on 5 August: D and J open within their deadlines, C late,
         * G never: 4 judged, 1 late, no e-result yet. */
        {"2025-08", "2025-08-05", 4, 1, 0, 0, 3, 1, 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const want *w = &cases[i];
        chiso_snapshot_population p = population(w->period, w->end);
        CHECK_EQ_INT(p.judged, w->judged, "%s at %s: judged", w->period, w->end);
        CHECK_EQ_INT(p.late, w->late, "%s at %s: late", w->period, w->end);
        CHECK_EQ_INT(p.complaints, w->complaints, "%s at %s: complaints", w->period, w->end);
        CHECK_EQ_INT(p.e_result, w->e_result, "%s at %s: e_result", w->period, w->end);
        CHECK_EQ_INT(p.digitized, w->digitized, "%s at %s: digitized", w->period, w->end);
        CHECK_EQ_INT(p.reused_data, w->reused, "%s at %s: reused", w->period, w->end);
        CHECK_EQ_INT(p.from_data_store, w->store, "%s at %s: data store", w->period, w->end);
        CHECK_EQ_INT(p.population_data, w->population, "%s at %s: population", w->period, w->end);
        check_score(w);
    }

    /* A day is no period of D; a bad key is refused. */
    chiso_snapshot_population pop;
    chiso_period day;
    chiso_period_parse("2025-07-01", &day);
    CHECK_EQ_INT(chiso_snapshot_population_of(NULL, 0, &day, day.last_day, &pop), CHISO_EINVAL,
                 "a day period");
    chiso_snapshot_bucket bad = {"2025-13", {0}};
    chiso_period month;
    chiso_period_parse("2025-07", &month);
    CHECK_EQ_INT(chiso_snapshot_population_of(&bad, 1, &month, month.last_day, &pop), CHISO_EINVAL,
                 "a bad bucket key");
}

int main(void)
{
    test_periods();
    return CHECK_DONE();
}
