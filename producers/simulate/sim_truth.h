/*
 * sim_truth.h - the ground truth of a simulation run: the per-unit counters
 * of counters.h, the open / open_overdue figures at each period end, and
 * the national portal's population D of each period, and the per-unit
 * procedure sets of Decision 766 #7 and #9 (docs/counters.md), computed
 * from the simulator's own dossier model.
 *
 * It deliberately shares no code with chiso's classification, dossier or
 * counters modules: it is the independent reference those are checked
 * against. Each dossier is judged on the events that were EMITTED (at before
 * the window end), so a dossier cut by the window is provisional exactly as
 * the pipeline sees it.
 */
#ifndef CHISO_SIM_TRUTH_H
#define CHISO_SIM_TRUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chiso/counters.h"
#include "chiso/event.h"
#include "sim_feedback.h"
#include "sim_model.h"

typedef struct sim_truth sim_truth;

/* The members of each period under "open" and "province_open" in a truth
 * document (docs/simulator.md), in order: open, open_overdue, then the
 * population D (judged, judged_late, ...: the score inputs of score.h).
 * The reference model (tests/model) writes the same document. */
#define SIM_TRUTH_OPEN_MEMBERS 10
extern const char *const sim_truth_open_members[SIM_TRUTH_OPEN_MEMBERS];

/* A truth for the units and procedures of `pv` (which must outlive it)
 * over the window of `ndays` local days from `first_day`. Counter
 * contributions may fall after the window (a dossier still open becomes
 * overdue after its due day), so days up to ndays + SIM_TRUTH_SLACK_DAYS
 * (sim_model.h) are kept. NULL on OOM. */
sim_truth *sim_truth_new(const sim_province *pv, int32_t first_day, int32_t ndays);
void sim_truth_free(sim_truth *t);

/* Add one dossier, given its emitted events (any order); its procedure's
 * service level comes from the model `pv`. Returns 0, or CHISO_ERANGE if a
 * contribution falls outside the kept days (a bug). */
int sim_truth_add(sim_truth *t, const sim_province *pv, const sim_ev *evs, int n);

/* Counts of the stream, for the document's header. */
typedef struct sim_truth_meta {
    uint64_t seed;
    int32_t days;
    uint64_t records;    /* everything written to dossier.events */
    uint64_t events;     /* distinct good events */
    uint64_t duplicates; /* extra copies of good events */
    uint64_t malformed;  /* invalid records */
    uint64_t malformed_by_reason[CHISO_REJECT_REASON_COUNT];
    uint64_t fb_records;    /* everything written to feedback.events */
    uint64_t fb_events;     /* distinct feedback events */
    uint64_t fb_duplicates; /* extra copies of feedback events */
} sim_truth_meta;

/* Write the truth document (docs/simulator.md describes it); with `fb`
 * (NULL: no feedback simulated) also the feedback counts and the members
 * "feedback" and "province_feedback". Returns 0 or CHISO_EIO. */
int sim_truth_write(const sim_truth *t, const sim_province *pv, const sim_truth_meta *m,
                    const sim_feedback *fb, FILE *f);

/* One unit's counter on one local day (0 outside the kept days). */
uint64_t sim_truth_counter(const sim_truth *t, int unit, int32_t day, int counter);

/* One unit's open (which = 0) or open_overdue (which = 1) at the end of the
 * period of `kind` (month, quarter or year) containing `day`; 0 when that
 * period is not kept. */
uint64_t sim_truth_open(const sim_truth *t, int unit, int kind, int32_t day, int which);

/* The procedure sets (docs/counters.md): 0 "po", a dossier received online
 * whose procedure is offered online (#7); 1 "pp", a dossier counted in
 * paid_online (#9); both on the received day. */
#define SIM_TRUTH_SETS 2

/* The name of set `set` ("po", "pp"), its segment in the Redis key. */
const char *sim_truth_set_name(int set);

/* How many of one unit's dossiers of procedure `proc` (an index into the
 * province's procedures) are in set `set` in the period of `kind` (month,
 * quarter or year) containing `day`; 0 outside the kept days. */
uint64_t sim_truth_procedure(const sim_truth *t, int unit, int proc, int kind, int32_t day,
                             int set);

/* How many distinct procedures of one unit are in set `set` in that
 * period: the numerator of #7 (po) or #9 (pp). */
uint64_t sim_truth_procedures(const sim_truth *t, int unit, int kind, int32_t day, int set);

/* Calibration figures, over the whole window. */
typedef struct sim_truth_figures {
    uint64_t dossiers;
    uint64_t total[CHISO_C_COUNT]; /* every counter, over all units and days */
    /* received dossiers: [0] no supplement request, [1] one request answered,
     * [2] one request still waiting (at the window end), [3] two or more */
    uint64_t supplements[4];
    /* open and open_overdue at the end of the month holding the window's
     * last day (set only when the window ends on a month end) */
    bool ends_month;
    uint64_t open_end, open_overdue_end;
    /* by unit kind: [0] departments, [1] communes */
    uint64_t k_received[2], k_online[2], k_resolved[2], k_on_time[2], k_full[2];
} sim_truth_figures;

void sim_truth_figures_get(const sim_truth *t, const sim_province *pv, sim_truth_figures *out);

#endif
