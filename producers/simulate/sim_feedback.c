/*
 * sim_feedback.c - the simulator's feedback (PAKN) events and their truth
 * (sim_feedback.h).
 *
 * Each day's feedback comes from a stream seeded by (seed, day), so a
 * feedback's fate does not depend on the window it is generated in. Per
 * feedback: the receiving unit (by the units' dossier shares), the receipt
 * (07:00..21:00 local), the due time (receipt + 15 days), the outcome
 * (answered within the due time, answered 1..45 days after it, or not
 * answered), and for an answer a rating within a week or none.
 *
 * The counters restate docs/feedback.md's table (Vietnam-local days; R
 * received, D due, A answered, T rated day), over the emitted facts:
 *   fb_received R; fb_answered_on_time A (A <= D); fb_answered_late A
 *   (A > D); fb_closed max(R, A); fb_overdue_began B = max(D + 1, R) when
 *   not answered before B; fb_overdue_closed A when overdue began;
 *   fb_rated T; fb_satisfied T when satisfied.
 */
#include "sim_feedback.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/vntime.h"

#define STREAM_FEEDBACK 0x7061746eULL /* "pakn" */
#define FB_N            8
#define FB_NKINDS       3 /* month, quarter, year */

/* Outcome shares of a received feedback (DOMAIN.md: 45 of 70 on time). */
#define FB_P_ON_TIME   0.642
#define FB_P_LATE      0.30 /* the rest (5.8%) is never answered */
#define FB_P_RATED     0.80
#define FB_P_SATISFIED 0.75

static const char *const fb_names_[FB_N] = {
    "fb_received",      "fb_answered_on_time", "fb_answered_late", "fb_closed",
    "fb_overdue_began", "fb_overdue_closed",   "fb_rated",         "fb_satisfied",
};
enum { F_RECV, F_ONTIME, F_LATE, F_CLOSED, F_OD_BEGAN, F_OD_CLOSED, F_RATED, F_SATISFIED };

struct sim_feedback {
    const sim_province *pv;
    uint64_t seed;
    double per_day; /* expected feedback a day */
    int32_t first_day, ndays, cap;
    uint32_t *day; /* [unit][cap][FB_N] */
    uint32_t serial;
};

sim_feedback *sim_feedback_new(const sim_province *pv, uint64_t seed, double per_thousand,
                               int32_t first_day, int32_t ndays)
{
    sim_feedback *fb = calloc(1, sizeof(*fb));
    if (!fb)
        return NULL;
    fb->pv = pv;
    fb->seed = seed;
    fb->first_day = first_day;
    fb->ndays = ndays;
    fb->cap = ndays + SIM_TRUTH_SLACK_DAYS;
    if (per_thousand > 0 && pv->params.dossiers_per_day > 0) {
        fb->per_day = per_thousand / 1000.0 * pv->params.dossiers_per_day;
        if (fb->per_day < SIM_FB_MIN_PER_DAY)
            fb->per_day = SIM_FB_MIN_PER_DAY;
    }
    fb->day = calloc((size_t)pv->nunits * (size_t)fb->cap * FB_N, sizeof(uint32_t));
    if (!fb->day) {
        free(fb);
        return NULL;
    }
    return fb;
}

void sim_feedback_free(sim_feedback *fb)
{
    if (!fb)
        return;
    free(fb->day);
    free(fb);
}

static int fb_poisson(sim_rng *r, double lambda)
{
    double l = exp(-lambda), p = 1.0;
    int k = 0;
    do {
        k++;
        p *= sim_rng_unit(r);
    } while (p > l && k < 10000);
    return k - 1;
}

static void fb_count(sim_feedback *fb, int unit, int32_t day, int c)
{
    int32_t di = day - fb->first_day;
    if (di < 0 || di >= fb->cap)
        return; /* cannot happen: every day is in [R, R + 16] */
    fb->day[((size_t)unit * (size_t)fb->cap + (size_t)di) * FB_N + (size_t)c]++;
}

/* The truth of one feedback from its emitted facts. */
static void fb_judge(sim_feedback *fb, int unit, int64_t recv, int64_t due, bool answered,
                     int64_t ans, bool rated, int64_t rat, bool satisfied)
{
    int32_t r = chiso_local_day(recv), d = chiso_local_day(due);
    fb_count(fb, unit, r, F_RECV);
    int32_t a = answered ? chiso_local_day(ans) : 0;
    if (answered) {
        fb_count(fb, unit, a, a <= d ? F_ONTIME : F_LATE);
        fb_count(fb, unit, a > r ? a : r, F_CLOSED);
    }
    int32_t b = d + 1 > r ? d + 1 : r;
    if (!answered || a >= b) {
        fb_count(fb, unit, b, F_OD_BEGAN);
        if (answered)
            fb_count(fb, unit, a, F_OD_CLOSED);
    }
    if (rated) {
        int32_t t = chiso_local_day(rat);
        fb_count(fb, unit, t, F_RATED);
        if (satisfied)
            fb_count(fb, unit, t, F_SATISFIED);
    }
}

long sim_feedback_day(sim_feedback *fb, int32_t day, int64_t window_end, sim_fb_ev **out)
{
    *out = NULL;
    if (fb->per_day <= 0 || fb->pv->nunits < 2)
        return 0;
    sim_rng r;
    sim_rng_seed(&r, sim_seed_mix(fb->seed, STREAM_FEEDBACK, (uint64_t)(int64_t)day));
    int n = fb_poisson(&r, fb->per_day);
    if (n <= 0)
        return 0;
    sim_fb_ev *ev = malloc((size_t)n * 3 * sizeof(*ev));
    if (!ev)
        return -1;
    char dkey[CHISO_PERIOD_STRLEN];
    chiso_period_key(day, CHISO_PERIOD_DAY, dkey);
    long k = 0;
    for (int i = 0; i < n; i++) {
        const sim_province *pv = fb->pv;
        int unit = sim_pick_cum(pv->unit_cum + 1, pv->nunits - 1, sim_rng_unit(&r)) + 1;
        int64_t recv = chiso_day_start(day) + 7 * 3600 + sim_rng_range(&r, 0, 14 * 3600 - 1);
        int64_t due = recv + SIM_FB_DUE_DAYS * 86400;
        double o = sim_rng_unit(&r);
        bool answered = o < FB_P_ON_TIME + FB_P_LATE;
        int64_t ans = 0, rat = 0;
        if (o < FB_P_ON_TIME) /* on time: 2 hours up to the due time */
            ans = recv + sim_rng_range(&r, 2 * 3600, due - recv);
        else if (answered) /* late: from the day after the due day, up to 45 days */
            ans = chiso_day_start(chiso_local_day(due) + 1) + sim_rng_range(&r, 0, 45 * 86400);
        bool rated = answered && sim_rng_chance(&r, FB_P_RATED);
        bool satisfied = sim_rng_chance(&r, FB_P_SATISFIED);
        if (rated)
            rat = ans + sim_rng_range(&r, 600, 7 * 86400);
        /* what the window lets out */
        answered = answered && ans < window_end;
        rated = rated && answered && rat < window_end;
        if (recv >= window_end)
            continue;
        sim_fb_ev base = {.due = due, .serial = fb->serial++, .unit = (uint16_t)unit};
        snprintf(base.id, sizeof(base.id), "PAKN-%.4s%.2s%.2s-%04d", dkey, dkey + 5, dkey + 8,
                 i + 1);
        ev[k] = base;
        ev[k].at = recv;
        ev[k++].n = 0;
        if (answered) {
            ev[k] = base;
            ev[k].at = ans;
            ev[k++].n = 1;
        }
        if (rated) {
            ev[k] = base;
            ev[k].at = rat;
            ev[k].n = 2;
            ev[k++].satisfied = satisfied;
        }
        fb_judge(fb, unit, recv, due, answered, ans, rated, rat, satisfied);
    }
    if (k == 0) {
        free(ev);
        return 0;
    }
    *out = ev;
    return k;
}

void sim_fb_ev_to_event(const sim_province *pv, const sim_fb_ev *e, chiso_feedback_event *out)
{
    static const chiso_feedback_type types[3] = {CHISO_FB_RECEIVED, CHISO_FB_ANSWERED,
                                                 CHISO_FB_RATED};
    memset(out, 0, sizeof(*out));
    out->type = types[e->n];
    snprintf(out->event_id, sizeof(out->event_id), "%s#%d", e->id, e->n + 1);
    snprintf(out->feedback_id, sizeof(out->feedback_id), "%s", e->id);
    snprintf(out->unit, sizeof(out->unit), "%s", pv->units[e->unit].rec.unit);
    out->at = e->at;
    if (e->n == 0)
        out->due_at = e->due;
    if (e->n == 2)
        out->satisfied = e->satisfied;
}

uint64_t sim_feedback_counter(const sim_feedback *fb, int unit, int32_t day, int c)
{
    if (!fb)
        return 0;
    int32_t di = day - fb->first_day;
    if (unit < 0 || unit >= fb->pv->nunits || di < 0 || di >= fb->cap || c < 0 || c >= FB_N)
        return 0;
    return fb->day[((size_t)unit * (size_t)fb->cap + (size_t)di) * FB_N + (size_t)c];
}

void sim_feedback_totals(const sim_feedback *fb, uint64_t out[8])
{
    memset(out, 0, FB_N * sizeof(uint64_t));
    for (int u = 0; u < fb->pv->nunits; u++)
        for (int32_t di = 0; di < fb->cap; di++)
            for (int c = 0; c < FB_N; c++)
                out[c] += fb->day[((size_t)u * (size_t)fb->cap + (size_t)di) * FB_N + (size_t)c];
}

/* Counters of one unit (every unit when unit < 0) over days [a, b]. */
static bool fb_sum(const sim_feedback *fb, int unit, int32_t a, int32_t b, uint64_t out[FB_N])
{
    bool any = false;
    memset(out, 0, FB_N * sizeof(uint64_t));
    for (int u = unit < 0 ? 0 : unit; u < (unit < 0 ? fb->pv->nunits : unit + 1); u++)
        for (int32_t day = a; day <= b; day++)
            for (int c = 0; c < FB_N; c++) {
                out[c] += sim_feedback_counter(fb, u, day, c);
                any = any || out[c];
            }
    return any;
}

static void fb_put(FILE *f, bool *first, const char *key, const uint64_t c[FB_N])
{
    fprintf(f, "%s\"%s\":{", *first ? "" : ",", key);
    *first = false;
    bool fc = true;
    for (int i = 0; i < FB_N; i++) {
        if (!c[i])
            continue;
        fprintf(f, "%s\"%s\":%llu", fc ? "" : ",", fb_names_[i], (unsigned long long)c[i]);
        fc = false;
    }
    fputc('}', f);
}

/* The periods of one unit (every unit when unit < 0) with counters. */
static void fb_write_unit(const sim_feedback *fb, int unit, FILE *f)
{
    uint64_t c[FB_N];
    char key[CHISO_PERIOD_STRLEN];
    bool first = true;
    int32_t lo = fb->first_day, hi = fb->first_day + fb->cap - 1;
    for (int32_t day = lo; day <= hi; day++) {
        if (!fb_sum(fb, unit, day, day, c))
            continue;
        chiso_period_key(day, CHISO_PERIOD_DAY, key);
        fb_put(f, &first, key, c);
    }
    for (int k = 1; k <= FB_NKINDS; k++) {
        for (int32_t day = lo; day <= hi;) {
            chiso_period p = chiso_period_of(day, (chiso_period_kind)k);
            if (fb_sum(fb, unit, p.first_day, p.last_day, c)) {
                chiso_period_key(p.first_day, (chiso_period_kind)k, key);
                fb_put(f, &first, key, c);
            }
            day = p.last_day + 1;
        }
    }
}

int sim_feedback_write(const sim_feedback *fb, FILE *f)
{
    uint64_t c[FB_N];
    bool first = true;
    fputs(",\n\"feedback\":{", f);
    for (int u = 0; u < fb->pv->nunits; u++) {
        if (!fb_sum(fb, u, fb->first_day, fb->first_day + fb->cap - 1, c))
            continue;
        fprintf(f, "%s\n\"%s\":{", first ? "" : ",", fb->pv->units[u].rec.unit);
        fb_write_unit(fb, u, f);
        fputc('}', f);
        first = false;
    }
    fputs("},\n\"province_feedback\":{", f);
    fb_write_unit(fb, -1, f);
    fputc('}', f);
    return ferror(f) ? CHISO_EIO : 0;
}
