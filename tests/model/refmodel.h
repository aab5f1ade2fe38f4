/*
 * refmodel.h - a reference model of chiso's counting rules, written the
 * obvious way and deliberately separate from the pipeline's implementation.
 *
 * It reads the rules from the documents, not from core: the counter
 * definitions of docs/counters.md (and counters.h), the full-process rule of
 * docs/classification.md, the on-time rule of docs/ontime.md and the merge
 * rules of docs/architecture.md. It never calls core's dossier.c,
 * classify.c or ontime code; it uses core only to parse and print events
 * (event.h), to compute local days and period keys (vntime.h), and for the
 * names of counters (counters.h).
 *
 * The model keeps every event it is given. refmodel_run() groups them by
 * dossier (unit, dossier_id), takes for each single-valued fact its
 * earliest occurrence, judges each dossier once, and sums the dossiers'
 * contributions into a table of counters per unit and period (day, month,
 * quarter, year), and its procedure into the procedure sets of #7 and #9
 * (docs/counters.md: per unit, month, quarter and year, the dossiers of
 * each procedure in "po" and in "pp"). Open and overdue dossiers at the end
 * of each month, quarter and year, and the national portal's population D
 * of each (DOMAIN.md, "Populations the national portal uses"), are computed
 * from the dossiers directly, never from counter sums, so they check the
 * pipeline's derivation of them.
 *
 * Ties between two occurrences of a single-valued fact at the same instant
 * (the merge keeps "the smallest (at, content)") are broken by content,
 * compared field by field:
 *   submitted   channel (online < direct < postal)
 *   received    due_at, then the flags as the bits digitized 1, reused 2,
 *               from_data_store 4, population_data 8
 *   resolved    outcome (approved < denied), then e_signed, then e_result
 *   returned    delivery (online < postal < counter), then paper_copy
 *   rated       satisfied
 * (the order of the enums in event.h, false before true).
 */
#ifndef CHISO_REFMODEL_H
#define CHISO_REFMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chiso/catalog.h"
#include "chiso/counters.h"
#include "chiso/event.h"
#include "chiso/vntime.h"

/* ---- a table of counters per unit and period ---- */

/* A sum of contributions: counters per (unit, day), and dossiers per (unit,
 * day, procedure set, procedure), rolled up into months, quarters and
 * years by refmodel_table_finish(). Shared by the model and the property
 * test's pipeline paths, so the three are compared cell by cell. */
typedef struct refmodel_table refmodel_table;

/* What a cell counts: a counter's contributions, or the dossiers of one
 * procedure in a procedure set: "po", received online with a procedure
 * offered online (#7); "pp", counted in paid_online (#9). */
typedef enum refmodel_what {
    REFMODEL_COUNTER = 0,
    REFMODEL_PO,
    REFMODEL_PP,
} refmodel_what;

/* A procedure set's name ("po", "pp": its Redis key segment), or NULL. */
const char *refmodel_what_name(refmodel_what what);

/* One non-zero cell of a unit in one period: a counter, or a procedure in
 * a set (those have no day cells: month, quarter and year only). */
typedef struct refmodel_cell {
    char unit[CHISO_CODE_MAX + 1];
    chiso_period_kind kind;
    int32_t first_day; /* the period's first local day */
    refmodel_what what;
    chiso_counter_id counter;           /* REFMODEL_COUNTER */
    char procedure[CHISO_CODE_MAX + 1]; /* a procedure set: "" for a counter */
    long long value;
} refmodel_cell;

/* A new, empty table. Caller frees with refmodel_table_free(). NULL on OOM. */
refmodel_table *refmodel_table_new(void);
void refmodel_table_free(refmodel_table *t);
/* Add `delta` to a unit's counter on a local day. Returns 0 or CHISO_ENOMEM. */
int refmodel_table_add(refmodel_table *t, const char *unit, int32_t day, chiso_counter_id counter,
                       long long delta);
/* Add `delta` dossiers of `procedure` to a unit's procedure set `set` (PO
 * or PP) on a local day. Returns 0 or CHISO_ENOMEM. */
int refmodel_table_add_proc(refmodel_table *t, const char *unit, int32_t day, refmodel_what set,
                            const char *procedure, long long delta);
/* Sum the added deltas per day and roll them up into every period kind;
 * cells whose sum is zero are dropped. Call once, after the last add.
 * Returns 0 or CHISO_ENOMEM. */
int refmodel_table_finish(refmodel_table *t);
/* The cells, sorted by (unit, kind, first_day, what, counter, procedure);
 * valid until freed. */
const refmodel_cell *refmodel_table_cells(const refmodel_table *t, size_t *n);
/* One cell's value (0 when absent). `period` is a period key of vntime.h. */
long long refmodel_table_get(const refmodel_table *t, const char *unit, const char *period,
                             chiso_counter_id counter);
/* The sum of a unit's day cells of `counter` over the days <= last_day. */
long long refmodel_table_sum_upto(const refmodel_table *t, const char *unit, int32_t last_day,
                                  chiso_counter_id counter);
/* Write a cell as "unit period counter=value", or "unit period set
 * procedure=value" (for reports). */
void refmodel_cell_format(const refmodel_cell *c, char *buf, size_t size);

/* ---- one dossier ---- */

/* At most 27: 13 at the received day (received, its channel, the service
 * level and level+online, synced, received_online_valid, the fee and its
 * online payment, the four flags, a complaint), 5 at the resolved day
 * (resolved, on time or late, the class, e_result, a complaint) and 9 at
 * B or C (closed, overdue_began, overdue_closed, complaint_closed,
 * e_result_closed, the four flags' *_closed). */
#define REFMODEL_CONTRIB_MAX 32
#define REFMODEL_NEVER       INT32_MAX /* an overdue day that never comes */

/* The model's judgement of one dossier. */
typedef struct refmodel_judged {
    int ncontrib;
    struct {
        chiso_counter_id counter;
        int32_t day;
    } contrib[REFMODEL_CONTRIB_MAX]; /* each +1, in no particular order */
    bool received;
    int32_t received_day;
    bool po, pp;         /* the procedure is in "po", in "pp", on the received day */
    bool closed;         /* resolved, returned, withdrawn, stopped or not accepted
                          * (received only) */
    int32_t closed_day;  /* max(received day, the day it was resolved, else
                          * returned, else the first of withdrawn, stopped and
                          * not accepted) */
    int32_t overdue_day; /* B of docs/ontime.md, or REFMODEL_NEVER */
    /* what the population D counts of a received dossier (all false when
     * not received) */
    bool complaint; /* a `complaint` event, or rated not satisfied */
    bool e_result;  /* resolved with an electronic result */
    bool digitized; /* the received event's flags */
    bool reused_data;
    bool from_data_store; /* digitized and from_data_store */
    bool population_data;
} refmodel_judged;

/* What the catalog says of a procedure (catalog.procedures). A procedure
 * without a record has level CHISO_LEVEL_UNKNOWN and requires no paper
 * result. */
typedef struct refmodel_catalog {
    chiso_service_level level;
    bool paper_result_required;
} refmodel_catalog;

/* Judge one dossier from its events (any order, duplicates allowed; all of
 * one dossier) and its procedure's catalog record. Returns 0, or
 * CHISO_ERANGE when the dossier has more distinct supplement times than the
 * model keeps (REFMODEL_SUPP_MAX). */
#define REFMODEL_SUPP_MAX 64
int refmodel_judge(const chiso_event *const *evs, int n, const refmodel_catalog *cat,
                   refmodel_judged *out);

/* True when the judged dossier is open at the end of local day `e`
 * (received by e, not closed by e); *overdue (may be NULL) is then e >= B. */
bool refmodel_open_at(const refmodel_judged *j, int32_t e, bool *overdue);

/* ---- the whole stream ---- */

typedef struct refmodel refmodel;

/* A new, empty model. Caller frees with refmodel_free(). NULL on OOM. */
refmodel *refmodel_new(void);
void refmodel_free(refmodel *m);

/* The catalog: a procedure's record. A procedure never set has none (its
 * dossiers count in no received_svc_* counter, and need no electronic
 * result to count in received_online_valid). Returns 0 or CHISO_ENOMEM. */
int refmodel_set_procedure(refmodel *m, const char *procedure, const refmodel_catalog *cat);
refmodel_catalog refmodel_procedure(const refmodel *m, const char *procedure);

/* Add one event (copied), in any order, duplicates included. Returns 0 or
 * CHISO_ENOMEM. */
int refmodel_add(refmodel *m, const chiso_event *ev);

/* Group the events by dossier, judge every dossier and fill the counters
 * and the open figures. Call once, after the last add. Returns 0,
 * CHISO_ENOMEM or CHISO_ERANGE (see refmodel_judge). */
int refmodel_run(refmodel *m);

/* The counters (after refmodel_run). */
const refmodel_table *refmodel_counters(const refmodel *m);

/* A unit's open and overdue dossiers at the end of a month, quarter or year
 * (`period` is its key), computed from the dossiers. */
void refmodel_open(const refmodel *m, const char *unit, const char *period, long long *open,
                   long long *overdue);

/* The national portal's population D of a month, quarter or year [S, E]
 * (DOMAIN.md, "Populations the national portal uses"): the received
 * dossiers with received day <= E that were not closed before S (closed
 * day C >= S, or never closed). Each is judged at C when C <= E (late when
 * C >= B), else at E, unfinished (late when E >= B). */
typedef struct refmodel_population {
    long long judged;     /* |D| */
    long long late;       /* judged late */
    long long complaints; /* with a complaint or a dislike */
    long long e_result;   /* closed in [S, E], resolved with an electronic result */
    long long digitized;  /* with the received event's flags */
    long long reused_data;
    long long from_data_store; /* digitized and from_data_store */
    long long population_data;
} refmodel_population;

/* The population D of a unit (every unit when NULL) in a month, quarter or
 * year (`period` is its key), counted from the dossiers, with E the
 * period's last day. All zero when `period` is not such a key. */
void refmodel_population_of(const refmodel *m, const char *unit, const char *period,
                            refmodel_population *out);
/* The same with E = end_day (the current period at `today`: S <= end_day
 * <= its last day). */
void refmodel_population_at(const refmodel *m, const char *unit, const char *period,
                            int32_t end_day, refmodel_population *out);

/* The dossiers (after refmodel_run), in (unit, dossier_id) order. */
int refmodel_ndossiers(const refmodel *m);
/* Dossier i's events (as added, duplicates included) and its judgement. */
int refmodel_dossier(const refmodel *m, int i, const chiso_event *const **evs,
                     const refmodel_judged **judged);

/* What the truth document says about the stream (docs/simulator.md). */
typedef struct refmodel_truth_meta {
    uint64_t seed;
    const char *start; /* "2025-07-01": first local day of the window */
    int days;
    const char *province; /* unit code of the province snapshot */
    uint64_t records;     /* everything on dossier.events */
    uint64_t events;      /* distinct events */
    uint64_t duplicates;  /* extra copies */
} refmodel_truth_meta;

/* Write the ground truth in the simulator's format (docs/simulator.md:
 * counters, open figures and procedure sets), so chiso-verify can compare
 * Redis with it. The "open" of a unit (and "province_open") has, for every
 * month, quarter and year overlapping the days with counters in which it
 * has counters, open dossiers or a population D, the members "open",
 * "open_overdue", "judged", "judged_late", "judged_complaints",
 * "judged_e_result", "judged_digitized", "judged_reused_data",
 * "judged_from_data_store" and "judged_population_data". Returns 0 or
 * CHISO_EIO. */
int refmodel_write_truth(const refmodel *m, const refmodel_truth_meta *meta, FILE *f);

#endif
