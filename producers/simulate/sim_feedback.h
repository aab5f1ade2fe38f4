/*
 * sim_feedback.h - the simulator's citizens' feedback (PAKN): the
 * feedback.events a province's units receive, answer and get rated on
 * (docs/feedback.md, CONTRACT.md "Feedback event"), generated from the seed
 * on a stream of its own (the dossier streams are untouched), and their
 * ground-truth fb_* counters.
 *
 * The counters are computed here from docs/feedback.md's table, on purpose
 * without calling core's feedback module: this is the independent reference
 * chiso-feedback is checked against. Like the dossier truth, each feedback
 * is judged on the events that were EMITTED (at before the window end).
 *
 * Calibration (DOMAIN.md, Hưng Yên Q3 2025): 70 feedback received in the
 * quarter, 45 (64.2%) answered on time; about 80% of the answered ones are
 * rated, about 75% of the ratings satisfied. The due time is the receipt
 * plus 15 days (DOMAIN.md: resolve within 15 days).
 */
#ifndef CHISO_SIM_FEEDBACK_H
#define CHISO_SIM_FEEDBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chiso/feedback.h"
#include "sim_model.h"

/* Feedback per 1,000 dossiers that reproduces Hưng Yên's quarter: 70
 * feedback over 92 days of 2,900 dossiers. */
#define SIM_FB_DEFAULT_RATE "0.2624"
/* The least feedback a day (when any is simulated): 3 a week, so small
 * test runs still see some. */
#define SIM_FB_MIN_PER_DAY (3.0 / 7.0)
#define SIM_FB_DUE_DAYS    15

/* One feedback event, pending until its time. n: 0 received, 1 answered,
 * 2 rated. */
typedef struct sim_fb_ev {
    int64_t at;
    int64_t due; /* received */
    uint32_t serial;
    uint16_t unit;
    uint8_t n;
    bool satisfied; /* rated */
    char id[24];    /* feedback id */
} sim_fb_ev;

typedef struct sim_feedback sim_feedback;

/* Feedback for the units of `pv` (which must outlive it) at `per_thousand`
 * feedback per 1,000 dossiers (0: none), over the window of `ndays` days
 * from `first_day`. NULL on OOM. */
sim_feedback *sim_feedback_new(const sim_province *pv, uint64_t seed, double per_thousand,
                               int32_t first_day, int32_t ndays);
void sim_feedback_free(sim_feedback *fb);

/* Generate the feedback received on local day `day`: its events before
 * `window_end` go to *out (malloc'd, the caller frees; NULL when none) and
 * into the truth. Returns the number of events, or -1 on OOM. */
long sim_feedback_day(sim_feedback *fb, int32_t day, int64_t window_end, sim_fb_ev **out);

/* The feedback.events record of an event. */
void sim_fb_ev_to_event(const sim_province *pv, const sim_fb_ev *e, chiso_feedback_event *out);

/* Totals over the window, for the log: received, answered on time,
 * answered late, rated, satisfied (their days in the window or after). */
void sim_feedback_totals(const sim_feedback *fb, uint64_t out[8]);

/* One unit's counter `c` (0..7 in docs/feedback.md's table order) on one
 * local day (0 outside the kept days). */
uint64_t sim_feedback_counter(const sim_feedback *fb, int unit, int32_t day, int c);

/* Write `,"feedback":{"<unit>":{"<period>":{"fb_received":n,...}}},
 * "province_feedback":{"<period>":{...}}` (days, months, quarters, years;
 * non-zero counters only). Returns 0 or CHISO_EIO. */
int sim_feedback_write(const sim_feedback *fb, FILE *f);

#endif
