/*
 * sim_truth.c - ground-truth counters from the simulator's own model.
 *
 * The rules are restated here from their sources, on purpose without
 * calling the pipeline's implementation of them:
 *   - counters and their days: core/domain/include/chiso/counters.h;
 *   - on time, overdue and open: docs/ontime.md (first_overdue_day below);
 *   - class: Decision 1042 as DOMAIN.md states it (truth_class below);
 *   - service level and paper_result_required: the procedure's attributes in
 *     the simulator's own model (what its catalog.procedures record says);
 *   - the indicators' counters (synced ... resolved_complaint): DOMAIN.md's
 *     indicators 4, 8, 11-14, 16, 18 and 21, as docs/counters.md decides them;
 *   - the procedure sets of indicators 7 and 9 (po, pp), as docs/counters.md
 *     defines them.
 *
 * Storage: a dense array of per-unit, per-day counters (uint32) over the
 * window plus SIM_TRUTH_SLACK_DAYS, per-unit open / open_overdue at the
 * end of every month, quarter and year overlapping those days and the
 * national portal's population D of each (DOMAIN.md), accumulated dossier
 * by dossier (not derived from the counters, so the two cross-check),
 * and per procedure a unit offers, per month, quarter and year, its dossiers
 * in each procedure set (a procedure's place in the unit's slice of the
 * province's procedure list is its "slot").
 */
#include "sim_truth.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/counters.h"
#include "chiso/vntime.h"

#define NKINDS 3 /* month, quarter, year (chiso_period_kind - 1) */

/* What the truth keeps of each unit and period, dossier by dossier: the
 * open dossiers at its end, and the national portal's population D
 * (DOMAIN.md, "Populations the national portal uses"). */
enum {
    J_OPEN,
    J_OPEN_OVERDUE,
    J_JUDGED,     /* |D|: received by its end, not finished before its start */
    J_LATE,       /* ... finished at or after B, or unfinished at its end and past B */
    J_COMPLAINTS, /* ... with a complaint or a dislike */
    J_E_RESULT,   /* ... finished in it, resolved with an electronic result */
    J_DIGITIZED,  /* ... with the received event's flags */
    J_REUSED,
    J_FROM_STORE,
    J_POPULATION,
    NJ
};
const char *const sim_truth_open_members[SIM_TRUTH_OPEN_MEMBERS] = {
    "open",
    "open_overdue",
    "judged",
    "judged_late",
    "judged_complaints",
    "judged_e_result",
    "judged_digitized",
    "judged_reused_data",
    "judged_from_data_store",
    "judged_population_data",
};
_Static_assert(NJ == SIM_TRUTH_OPEN_MEMBERS, "one member per figure");

struct sim_truth {
    int nunits;
    int32_t first_day;
    int32_t ndays; /* window */
    int32_t cap;   /* kept days */
    uint32_t *day; /* [unit][cap][CHISO_C_COUNT] */
    int nper[NKINDS];
    chiso_period *per[NKINDS]; /* periods overlapping the kept days, ascending */
    int *day_per[NKINDS];      /* [cap] -> index into per[k] */
    uint64_t *open[NKINDS];    /* [unit][nper][NJ]: open, open_overdue, then D (J_...) */
    uint64_t dossiers;
    uint64_t sup[4]; /* received dossiers by supplement pattern (sim_truth_figures) */
    const sim_province *pv;
    int nslots;               /* procedures offered, summed over the units */
    uint32_t *in_set[NKINDS]; /* [slot][nper][SIM_TRUTH_SETS]: dossiers */
};

static uint32_t *cell(const sim_truth *t, int unit, int32_t di)
{
    return t->day + ((size_t)unit * (size_t)t->cap + (size_t)di) * CHISO_C_COUNT;
}

sim_truth *sim_truth_new(const sim_province *pv, int32_t first_day, int32_t ndays)
{
    int nunits = pv->nunits;
    sim_truth *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->nunits = nunits;
    t->pv = pv;
    for (int u = 0; u < nunits; u++) {
        if (pv->units[u].proc_first + pv->units[u].proc_count > t->nslots)
            t->nslots = pv->units[u].proc_first + pv->units[u].proc_count;
    }
    t->first_day = first_day;
    t->ndays = ndays;
    t->cap = ndays + SIM_TRUTH_SLACK_DAYS;
    t->day = calloc((size_t)nunits * (size_t)t->cap * CHISO_C_COUNT, sizeof(uint32_t));
    if (!t->day)
        goto err;
    for (int k = 0; k < NKINDS; k++) {
        chiso_period_kind kind = (chiso_period_kind)(k + 1);
        t->day_per[k] = malloc((size_t)t->cap * sizeof(int));
        t->per[k] = malloc((size_t)t->cap * sizeof(chiso_period));
        if (!t->day_per[k] || !t->per[k])
            goto err;
        for (int32_t di = 0; di < t->cap; di++) {
            chiso_period p = chiso_period_of(first_day + di, kind);
            if (t->nper[k] == 0 || t->per[k][t->nper[k] - 1].first_day != p.first_day)
                t->per[k][t->nper[k]++] = p;
            t->day_per[k][di] = t->nper[k] - 1;
        }
        t->open[k] = calloc((size_t)nunits * (size_t)t->nper[k] * NJ, sizeof(uint64_t));
        t->in_set[k] =
            calloc((size_t)t->nslots * (size_t)t->nper[k] * SIM_TRUTH_SETS + 1, sizeof(uint32_t));
        if (!t->open[k] || !t->in_set[k])
            goto err;
    }
    return t;
err:
    sim_truth_free(t);
    return NULL;
}

void sim_truth_free(sim_truth *t)
{
    if (!t)
        return;
    free(t->day);
    for (int k = 0; k < NKINDS; k++) {
        free(t->day_per[k]);
        free(t->per[k]);
        free(t->open[k]);
        free(t->in_set[k]);
    }
    free(t);
}

/* The facts of one dossier that the counters read. */
typedef struct facts {
    bool submitted;
    chiso_channel channel;
    bool received;
    int64_t received_at, due_at;
    uint8_t received_flags; /* SIM_F_DIGITIZED ... of the (earliest) received event */
    bool synced;
    bool resolved;
    int64_t resolved_at;
    bool e_result; /* of the (earliest) resolved event */
    bool rated;
    int64_t rated_at;
    bool satisfied; /* of the (earliest) rated event */
    bool complaint;
    bool closed;
    int64_t closed_at; /* when it finished: resolved, else returned, else ended */
    bool ended, returned_seen;
    int64_t ended_at;    /* earliest of withdrawn, stopped, not_accepted */
    int64_t returned_at; /* earliest returned */
    bool requirement;
    bool returned;
    bool returned_counter;                    /* a returned event with delivery counter */
    bool returned_postal_bare;                /* a returned event by post without paper_copy */
    bool fee_applies;                         /* fee_requested with amount > 0 */
    bool paid_platform;                       /* paid through dvcqg_platform */
    bool paid_gateway;                        /* paid through a provincial gateway */
    bool paid_other;                          /* paid by any method but dvcqg_platform */
    int nreq, nans;                           /* supplement requests (distinct times) and answers */
    int64_t req[SIM_EV_MAX], ans[SIM_EV_MAX]; /* ascending */
} facts;

typedef enum truth_class {
    TC_NONE = 0,
    TC_FULL,
    TC_PARTIAL,
    TC_OFFLINE,
} truth_class;

/* Insert `at` into the ascending set v[0..*n). */
static void add_time(int64_t *v, int *n, int64_t at)
{
    int i = *n;
    for (int k = 0; k < *n; k++)
        if (v[k] == at)
            return;
    while (i > 0 && v[i - 1] > at) {
        v[i] = v[i - 1];
        i--;
    }
    v[i] = at;
    (*n)++;
}

/* A single fact keeps its earliest occurrence: true when `at` is the first
 * or an earlier one (then *seen and *first are updated). */
static bool earlier(bool *seen, int64_t *first, int64_t at)
{
    if (*seen && at >= *first)
        return false;
    *seen = true;
    *first = at;
    return true;
}

static void gather(const sim_ev *evs, int n, facts *f)
{
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < n; i++) {
        const sim_ev *e = &evs[i];
        switch ((chiso_event_type)e->type) {
        case CHISO_EV_SUBMITTED:
            if (!f->submitted) {
                f->submitted = true;
                f->channel = (chiso_channel)e->p1;
            }
            break;
        case CHISO_EV_RECEIVED:
            if (earlier(&f->received, &f->received_at, e->at)) {
                f->due_at = e->x;
                f->received_flags = e->flags;
            }
            break;
        case CHISO_EV_SYNCED:
            f->synced = true;
            break;
        case CHISO_EV_RATED:
            if (earlier(&f->rated, &f->rated_at, e->at))
                f->satisfied = e->flags & SIM_F_SATISFIED;
            break;
        case CHISO_EV_COMPLAINT:
            f->complaint = true;
            break;
        case CHISO_EV_RESOLVED:
            if (earlier(&f->resolved, &f->resolved_at, e->at))
                f->e_result = e->flags & SIM_F_E_RESULT;
            break;
        case CHISO_EV_WITHDRAWN:
        case CHISO_EV_STOPPED:
        case CHISO_EV_NOT_ACCEPTED:
            earlier(&f->ended, &f->ended_at, e->at);
            break;
        case CHISO_EV_REQUIREMENT:
            f->requirement = true;
            break;
        case CHISO_EV_SUPPLEMENT_REQUESTED:
            add_time(f->req, &f->nreq, e->at);
            break;
        case CHISO_EV_SUPPLEMENT_RECEIVED:
            add_time(f->ans, &f->nans, e->at);
            break;
        case CHISO_EV_RETURNED:
            earlier(&f->returned_seen, &f->returned_at, e->at);
            f->returned = true;
            if (e->p1 == CHISO_DELIVERY_COUNTER)
                f->returned_counter = true;
            if (e->p1 == CHISO_DELIVERY_POSTAL && !(e->flags & SIM_F_PAPER_COPY))
                f->returned_postal_bare = true;
            break;
        case CHISO_EV_FEE_REQUESTED:
            if (e->x > 0)
                f->fee_applies = true;
            break;
        case CHISO_EV_PAID:
            if (e->p1 == CHISO_PAY_DVCQG_PLATFORM)
                f->paid_platform = true;
            else
                f->paid_other = true;
            if (e->p1 == CHISO_PAY_PROVINCIAL_GATEWAY)
                f->paid_gateway = true;
            break;
        default:
            break;
        }
    }
    /* DOMAIN.md: a dossier finishes at its resolution, else when returned,
     * else when withdrawn, stopped or not accepted */
    f->closed = f->resolved || f->returned_seen || f->ended;
    f->closed_at = f->resolved ? f->resolved_at : f->returned_seen ? f->returned_at : f->ended_at;
}

/* Decision 1042, Article 1, on the emitted facts: offline when submitted at
 * the counter or by post; an online dossier is partial as soon as one
 * condition fails, full-process otherwise (provisional until returned). */
static truth_class truth_class_of(const facts *f)
{
    if (!f->submitted)
        return TC_NONE;
    if (f->channel != CHISO_CHANNEL_ONLINE)
        return TC_OFFLINE;
    if (f->requirement) /* condition 5 */
        return TC_PARTIAL;
    if (f->resolved && !f->e_result) /* condition 3 */
        return TC_PARTIAL;
    if (f->returned_counter || f->returned_postal_bare) /* condition 4 */
        return TC_PARTIAL;
    if (f->fee_applies && f->paid_other) /* condition 2 */
        return TC_PARTIAL;
    if (f->fee_applies && f->returned && !f->paid_platform) /* condition 2 */
        return TC_PARTIAL;
    return TC_FULL;
}

static int32_t max32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

#define NEVER INT32_MAX

/* docs/ontime.md: the first overdue day B of a received dossier (received
 * on day `rday`, due on day `dday`), or NEVER while it waits on one
 * supplement request made in time. */
static int32_t first_overdue_day(const facts *f, int32_t rday, int32_t dday)
{
    if (f->nreq == 0)
        return max32(rday, dday + 1);
    int32_t b = NEVER; /* judged at the first request's date, which was in time */
    int32_t q = chiso_local_day(f->req[0]);
    if (q > dday) { /* already late when asking */
        b = max32(rday, dday + 1);
    } else {
        for (int k = 0; k < f->nans; k++) {
            if (f->ans[k] >= f->req[0]) { /* the days waiting are excluded */
                b = max32(rday, dday + (chiso_local_day(f->ans[k]) - q) + 1);
                break;
            }
        }
    }
    if (f->nreq >= 2) { /* late from the second request on, or earlier */
        int32_t second = max32(rday, chiso_local_day(f->req[1]));
        if (second < b)
            b = second;
    }
    return b;
}

/* For the figures: 0 no supplement request, 1 one request answered, 2 one
 * request still waiting, 3 two or more requests. */
static int supplement_pattern(const facts *f)
{
    if (f->nreq != 1)
        return f->nreq ? 3 : 0;
    for (int k = 0; k < f->nans; k++)
        if (f->ans[k] >= f->req[0])
            return 1;
    return 2;
}

/* The received event's flags (#13, #14, #16, #18) and where each counts: a
 * counter at the received day, another at the closed day (counters.h), a
 * figure of the population D. A dossier linked to the data store must be
 * digitized too. */
static const struct {
    uint8_t flags;
    chiso_counter_id counter, at_closed;
    int judged;
} flag_facts[] = {
    {SIM_F_DIGITIZED, CHISO_C_DIGITIZED, CHISO_C_DIGITIZED_CLOSED, J_DIGITIZED},
    {SIM_F_REUSED, CHISO_C_REUSED_DATA, CHISO_C_REUSED_DATA_CLOSED, J_REUSED},
    {SIM_F_DIGITIZED | SIM_F_FROM_STORE, CHISO_C_FROM_DATA_STORE, CHISO_C_FROM_DATA_STORE_CLOSED,
     J_FROM_STORE},
    {SIM_F_POPULATION, CHISO_C_POPULATION_DATA, CHISO_C_POPULATION_DATA_CLOSED, J_POPULATION},
};
#define N_FLAG_FACTS (sizeof(flag_facts) / sizeof(flag_facts[0]))

static bool has_flags(uint8_t received_flags, size_t i)
{
    return (received_flags & flag_facts[i].flags) == flag_facts[i].flags;
}

static int bump(sim_truth *t, int unit, int32_t day, chiso_counter_id c)
{
    int32_t di = day - t->first_day;
    if (di < 0 || di >= t->cap)
        return CHISO_ERANGE;
    cell(t, unit, di)[c]++;
    return 0;
}

/* The slot of a unit's procedure, or -1 when the unit does not offer it. */
static int proc_slot(const sim_truth *t, int unit, int proc)
{
    const sim_unit *u = &t->pv->units[unit];
    for (int i = u->proc_first; i < u->proc_first + u->proc_count; i++) {
        if (t->pv->proc_list[i] == proc)
            return i;
    }
    return -1;
}

static uint32_t *in_set_cell(const sim_truth *t, int slot, int k, int p, int set)
{
    return t->in_set[k] + ((size_t)slot * (size_t)t->nper[k] + (size_t)p) * SIM_TRUTH_SETS +
           (size_t)set;
}

/* Count a dossier of the unit's procedure in a set, on `day`. */
static int hold(sim_truth *t, int unit, int proc, int32_t day, int set)
{
    int slot = proc_slot(t, unit, proc);
    int32_t di = day - t->first_day;
    if (slot < 0 || di < 0 || di >= t->cap)
        return CHISO_ERANGE;
    for (int k = 0; k < NKINDS; k++)
        (*in_set_cell(t, slot, k, t->day_per[k][di], set))++;
    return 0;
}

int sim_truth_add(sim_truth *t, const sim_province *pv, const sim_ev *evs, int n)
{
    facts f;
    int rc = 0;
    if (n <= 0)
        return 0;
    int unit = evs[0].unit;
    sim_level level = pv->procs[evs[0].proc].level;
    bool paper_required = pv->procs[evs[0].proc].paper_result_required;
    gather(evs, n, &f);
    t->dossiers++;

    int32_t rday = f.received ? chiso_local_day(f.received_at) : 0;
    int32_t dday = f.received ? chiso_local_day(f.due_at) : 0;
    int32_t bday = f.received ? first_overdue_day(&f, rday, dday) : NEVER;
    int32_t cday = 0;
    if (f.received) {
        bool online = f.submitted && f.channel == CHISO_CHANNEL_ONLINE;
        rc |= bump(t, unit, rday, CHISO_C_RECEIVED);
        if (online)
            rc |= bump(t, unit, rday, CHISO_C_RECEIVED_ONLINE);
        else if (f.submitted && f.channel == CHISO_CHANNEL_DIRECT)
            rc |= bump(t, unit, rday, CHISO_C_RECEIVED_DIRECT);
        else if (f.submitted && f.channel == CHISO_CHANNEL_POSTAL)
            rc |= bump(t, unit, rday, CHISO_C_RECEIVED_POSTAL);
        /* the service level of the procedure, from the model's catalog */
        if (level == SIM_LEVEL_FULL) {
            rc |= bump(t, unit, rday, CHISO_C_RECEIVED_SVC_FULL);
            if (online)
                rc |= bump(t, unit, rday, CHISO_C_RECEIVED_SVC_FULL_ONLINE);
        } else if (level == SIM_LEVEL_PARTIAL) {
            rc |= bump(t, unit, rday, CHISO_C_RECEIVED_SVC_PARTIAL);
            if (online)
                rc |= bump(t, unit, rday, CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE);
        }
        /* Decision 766: #4 synced to the portal; #8 online, and with an
         * electronic result where the procedure requires a paper one; #11
         * fee-bearing, and paid online (platform or provincial gateway);
         * #13, #14, #16 (digitized ones only), #18 the received flags */
        uint8_t rf = f.received_flags;
        if (f.synced)
            rc |= bump(t, unit, rday, CHISO_C_SYNCED);
        if (online && (!paper_required || (f.resolved && f.e_result)))
            rc |= bump(t, unit, rday, CHISO_C_RECEIVED_ONLINE_VALID);
        if (f.fee_applies)
            rc |= bump(t, unit, rday, CHISO_C_FEE_DOSSIERS);
        if (f.fee_applies && (f.paid_platform || f.paid_gateway))
            rc |= bump(t, unit, rday, CHISO_C_PAID_ONLINE);
        for (size_t i = 0; i < N_FLAG_FACTS; i++) {
            if (has_flags(rf, i))
                rc |= bump(t, unit, rday, flag_facts[i].counter);
        }
        /* #7 and #9 count distinct procedures: the dossier's procedure is
         * in "po" when it was received online and the procedure is an
         * online service (partial or full), in "pp" when the dossier counts
         * in paid_online; both on the received day */
        if (online && level != SIM_LEVEL_NONE)
            rc |= hold(t, unit, evs[0].proc, rday, 0);
        if (f.fee_applies && (f.paid_platform || f.paid_gateway))
            rc |= hold(t, unit, evs[0].proc, rday, 1);
        t->sup[supplement_pattern(&f)]++;
    }
    if (f.resolved) {
        int32_t sday = chiso_local_day(f.resolved_at);
        rc |= bump(t, unit, sday, CHISO_C_RESOLVED);
        if (f.received)
            rc |=
                bump(t, unit, sday, sday < bday ? CHISO_C_RESOLVED_ON_TIME : CHISO_C_RESOLVED_LATE);
        switch (truth_class_of(&f)) {
        case TC_FULL:
            rc |= bump(t, unit, sday, CHISO_C_FULL_PROCESS);
            break;
        case TC_PARTIAL:
            rc |= bump(t, unit, sday, CHISO_C_PARTIAL);
            break;
        case TC_OFFLINE:
            rc |= bump(t, unit, sday, CHISO_C_OFFLINE);
            break;
        case TC_NONE:
            break;
        }
        /* #12 an electronic result; #21 a complaint or a dislike, of the
         * dossiers judged on time or late */
        if (f.e_result)
            rc |= bump(t, unit, sday, CHISO_C_RESOLVED_E_RESULT);
        if (f.received && (f.complaint || (f.rated && !f.satisfied)))
            rc |= bump(t, unit, sday, CHISO_C_RESOLVED_COMPLAINT);
    }
    if (f.received) {
        if (f.closed) {
            cday = max32(rday, chiso_local_day(f.closed_at));
            rc |= bump(t, unit, cday, CHISO_C_CLOSED);
        }
        if (bday != NEVER && (!f.closed || cday >= bday))
            rc |= bump(t, unit, bday, CHISO_C_OVERDUE_BEGAN);
        if (bday != NEVER && f.closed && cday >= bday)
            rc |= bump(t, unit, cday, CHISO_C_OVERDUE_CLOSED);
        /* the population D's counters (counters.h): what the dossier
         * counted at its received day, again at its closed day */
        uint8_t rf = f.received_flags;
        bool complaint = f.complaint || (f.rated && !f.satisfied);
        if (complaint)
            rc |= bump(t, unit, rday, CHISO_C_COMPLAINT_RECEIVED);
        if (f.closed) {
            if (complaint)
                rc |= bump(t, unit, cday, CHISO_C_COMPLAINT_CLOSED);
            if (f.resolved && f.e_result)
                rc |= bump(t, unit, cday, CHISO_C_E_RESULT_CLOSED);
            for (size_t i = 0; i < N_FLAG_FACTS; i++) {
                if (has_flags(rf, i))
                    rc |= bump(t, unit, cday, flag_facts[i].at_closed);
            }
        }

        /* Each month, quarter and year [S, E]: open at E (received by E, not
         * closed by E; overdue from the first overdue day on), and the
         * population D, straight from DOMAIN.md: received by E and not
         * finished before S; judged at its finish when finished by E (late
         * when it finished on or after B), else at E (late when E >= B). */
        for (int k = 0; k < NKINDS; k++) {
            for (int p = 0; p < t->nper[k]; p++) {
                int32_t s0 = t->per[k][p].first_day, e = t->per[k][p].last_day;
                if (e < rday)
                    continue;
                if (f.closed && cday < s0)
                    continue;
                uint64_t *o = t->open[k] + ((size_t)unit * (size_t)t->nper[k] + (size_t)p) * NJ;
                bool finished = f.closed && cday <= e;
                if (!finished) {
                    o[J_OPEN]++;
                    if (e >= bday)
                        o[J_OPEN_OVERDUE]++;
                }
                o[J_JUDGED]++;
                if (finished ? cday >= bday : e >= bday)
                    o[J_LATE]++;
                if (complaint)
                    o[J_COMPLAINTS]++;
                if (finished && f.resolved && f.e_result)
                    o[J_E_RESULT]++;
                for (size_t i = 0; i < N_FLAG_FACTS; i++) {
                    if (has_flags(rf, i))
                        o[flag_facts[i].judged]++;
                }
            }
        }
    }
    return rc ? CHISO_ERANGE : 0;
}

/* ---- writing ---------------------------------------------------------------------- */

/* Sum of a unit's counters over [a, b] (day indices, clamped). */
static void sum_days(const sim_truth *t, int unit, int32_t a, int32_t b, uint64_t *out)
{
    memset(out, 0, CHISO_C_COUNT * sizeof(uint64_t));
    if (a < 0)
        a = 0;
    if (b >= t->cap)
        b = t->cap - 1;
    for (int32_t di = a; di <= b; di++) {
        const uint32_t *c = cell(t, unit, di);
        for (int i = 0; i < CHISO_C_COUNT; i++)
            out[i] += c[i];
    }
}

static bool any(const uint64_t *c)
{
    for (int i = 0; i < CHISO_C_COUNT; i++)
        if (c[i])
            return true;
    return false;
}

/* Write `"key":{"counter":n,...}` for the non-zero counters. */
static void put_counters(FILE *f, bool *first, const char *key, const uint64_t *c)
{
    fprintf(f, "%s\"%s\":{", *first ? "" : ",", key);
    *first = false;
    bool fc = true;
    for (int i = 0; i < CHISO_C_COUNT; i++) {
        if (!c[i])
            continue;
        fprintf(f, "%s\"%s\":%llu", fc ? "" : ",", chiso_counter_name((chiso_counter_id)i),
                (unsigned long long)c[i]);
        fc = false;
    }
    fputc('}', f);
}

/* Counters of one unit (or of all units when `unit` < 0) summed over the
 * day indices [a, b]. */
static void period_sum(const sim_truth *t, int unit, int32_t a, int32_t b, uint64_t *out)
{
    if (unit >= 0) {
        sum_days(t, unit, a, b, out);
        return;
    }
    uint64_t tmp[CHISO_C_COUNT];
    memset(out, 0, CHISO_C_COUNT * sizeof(uint64_t));
    for (int u = 0; u < t->nunits; u++) {
        sum_days(t, u, a, b, tmp);
        for (int i = 0; i < CHISO_C_COUNT; i++)
            out[i] += tmp[i];
    }
}

static void open_of(const sim_truth *t, int unit, int k, int p, uint64_t out[NJ])
{
    memset(out, 0, NJ * sizeof(uint64_t));
    for (int u = unit < 0 ? 0 : unit; u < (unit < 0 ? t->nunits : unit + 1); u++) {
        const uint64_t *o = t->open[k] + ((size_t)u * (size_t)t->nper[k] + (size_t)p) * NJ;
        for (int j = 0; j < NJ; j++)
            out[j] += o[j];
    }
}

/* One unit's (or the province's, unit < 0) "counters" object body. */
static void write_counters(const sim_truth *t, int unit, FILE *f)
{
    uint64_t c[CHISO_C_COUNT];
    char key[CHISO_PERIOD_STRLEN];
    bool first = true;
    for (int32_t di = 0; di < t->cap; di++) {
        period_sum(t, unit, di, di, c);
        if (!any(c))
            continue;
        chiso_period_key(t->first_day + di, CHISO_PERIOD_DAY, key);
        put_counters(f, &first, key, c);
    }
    for (int k = 0; k < NKINDS; k++) {
        for (int p = 0; p < t->nper[k]; p++) {
            const chiso_period *pp = &t->per[k][p];
            period_sum(t, unit, pp->first_day - t->first_day, pp->last_day - t->first_day, c);
            if (!any(c))
                continue;
            chiso_period_key(pp->first_day, (chiso_period_kind)(k + 1), key);
            put_counters(f, &first, key, c);
        }
    }
}

static void write_open(const sim_truth *t, int unit, FILE *f)
{
    uint64_t c[CHISO_C_COUNT], o[NJ];
    char key[CHISO_PERIOD_STRLEN];
    bool first = true;
    for (int k = 0; k < NKINDS; k++) {
        for (int p = 0; p < t->nper[k]; p++) {
            const chiso_period *pp = &t->per[k][p];
            /* a period without counters may still end with dossiers open
             * from before it: they are judged in it (overdue at its end) */
            period_sum(t, unit, pp->first_day - t->first_day, pp->last_day - t->first_day, c);
            open_of(t, unit, k, p, o);
            if (!any(c) && !o[J_OPEN] && !o[J_JUDGED])
                continue;
            chiso_period_key(pp->first_day, (chiso_period_kind)(k + 1), key);
            fprintf(f, "%s\"%s\":{", first ? "" : ",", key);
            for (int j = 0; j < NJ; j++)
                fprintf(f, "%s\"%s\":%llu", j ? "," : "", sim_truth_open_members[j],
                        (unsigned long long)o[j]);
            fputc('}', f);
            first = false;
        }
    }
}

static bool unit_has_counters(const sim_truth *t, int unit)
{
    uint64_t c[CHISO_C_COUNT];
    sum_days(t, unit, 0, t->cap - 1, c);
    return any(c);
}

/* "<unit>":{...} for every unit with counters, `write` filling the braces. */
static void write_per_unit(const sim_truth *t, const sim_province *pv,
                           void (*write)(const sim_truth *, int, FILE *), FILE *f)
{
    bool first = true;
    for (int u = 0; u < t->nunits; u++) {
        if (!unit_has_counters(t, u))
            continue;
        fprintf(f, "%s\n\"%s\":{", first ? "" : ",", pv->units[u].rec.unit);
        write(t, u, f);
        fputc('}', f);
        first = false;
    }
}

const char *sim_truth_set_name(int set)
{
    static const char *const names[SIM_TRUTH_SETS] = {"po", "pp"};
    return set >= 0 && set < SIM_TRUTH_SETS ? names[set] : NULL;
}

/* Whether any procedure of the unit (every unit when unit < 0) has a
 * dossier in a set in period p of kind index k. */
static bool period_has_procs(const sim_truth *t, int unit, int k, int p)
{
    for (int u = unit < 0 ? 0 : unit; u < (unit < 0 ? t->nunits : unit + 1); u++) {
        const sim_unit *su = &t->pv->units[u];
        for (int slot = su->proc_first; slot < su->proc_first + su->proc_count; slot++)
            for (int set = 0; set < SIM_TRUTH_SETS; set++)
                if (*in_set_cell(t, slot, k, p, set))
                    return true;
    }
    return false;
}

/* `"<period>":{"po":{"<procedure>":n,...},"pp":{...}}` for every period
 * with a procedure in a set: the unit's, or every unit's summed by
 * procedure (unit < 0). `sum` has room for every procedure. */
static void write_sets(const sim_truth *t, int unit, uint64_t *sum, FILE *f)
{
    const sim_province *pv = t->pv;
    char key[CHISO_PERIOD_STRLEN];
    bool first = true;
    for (int k = 0; k < NKINDS; k++) {
        for (int p = 0; p < t->nper[k]; p++) {
            if (!period_has_procs(t, unit, k, p))
                continue;
            chiso_period_key(t->per[k][p].first_day, (chiso_period_kind)(k + 1), key);
            fprintf(f, "%s\"%s\":{", first ? "" : ",", key);
            first = false;
            for (int set = 0; set < SIM_TRUTH_SETS; set++) {
                memset(sum, 0, (size_t)pv->nprocs * sizeof(*sum));
                for (int u = unit < 0 ? 0 : unit; u < (unit < 0 ? t->nunits : unit + 1); u++) {
                    const sim_unit *su = &pv->units[u];
                    for (int slot = su->proc_first; slot < su->proc_first + su->proc_count; slot++)
                        sum[pv->proc_list[slot]] += *in_set_cell(t, slot, k, p, set);
                }
                fprintf(f, "%s\"%s\":{", set ? "," : "", sim_truth_set_name(set));
                bool fp = true;
                for (int i = 0; i < pv->nprocs; i++) {
                    if (!sum[i])
                        continue;
                    fprintf(f, "%s\"%s\":%llu", fp ? "" : ",", pv->procs[i].code,
                            (unsigned long long)sum[i]);
                    fp = false;
                }
                fputc('}', f);
            }
            fputc('}', f);
        }
    }
}

/* "procedures" and "province_procedures". Returns 0 or CHISO_ENOMEM. */
static int write_procedures(const sim_truth *t, FILE *f)
{
    uint64_t *sum = calloc((size_t)t->pv->nprocs + 1, sizeof(*sum));
    bool first = true;
    if (!sum)
        return CHISO_ENOMEM;
    fputs(",\n\"procedures\":{", f);
    for (int u = 0; u < t->nunits; u++) {
        bool any = false;
        for (int k = 0; k < NKINDS && !any; k++)
            for (int p = 0; p < t->nper[k] && !any; p++)
                any = period_has_procs(t, u, k, p);
        if (!any)
            continue;
        fprintf(f, "%s\n\"%s\":{", first ? "" : ",", t->pv->units[u].rec.unit);
        write_sets(t, u, sum, f);
        fputc('}', f);
        first = false;
    }
    fputs("},\n\"province_procedures\":{", f);
    write_sets(t, -1, sum, f);
    fputc('}', f);
    free(sum);
    return 0;
}

int sim_truth_write(const sim_truth *t, const sim_province *pv, const sim_truth_meta *m,
                    const sim_feedback *fb, FILE *f)
{
    char start[CHISO_PERIOD_STRLEN], end[CHISO_PERIOD_STRLEN];
    chiso_period_key(t->first_day, CHISO_PERIOD_DAY, start);
    chiso_period_key(t->first_day + t->ndays, CHISO_PERIOD_DAY, end);
    fprintf(f,
            "{\"seed\":%llu,\"start\":\"%s\",\"days\":%d,\"end\":\"%s\",\"province\":\"%s\",\n"
            "\"dossiers\":%llu,\"records\":%llu,\"events\":%llu,\"duplicates\":%llu,"
            "\"malformed\":%llu,\n\"malformed_by_reason\":{",
            (unsigned long long)m->seed, start, m->days, end, pv->units[0].rec.unit,
            (unsigned long long)t->dossiers, (unsigned long long)m->records,
            (unsigned long long)m->events, (unsigned long long)m->duplicates,
            (unsigned long long)m->malformed);
    bool first = true;
    for (int r = CHISO_REJECT_JSON_SYNTAX; r <= CHISO_REJECT_TOO_LARGE; r++) {
        fprintf(f, "%s\"%s\":%llu", first ? "" : ",", chiso_reject_code((chiso_reject_reason)r),
                (unsigned long long)m->malformed_by_reason[r]);
        first = false;
    }
    fputs("},\n\"counters\":{", f);
    write_per_unit(t, pv, write_counters, f);
    fputs("},\n\"open\":{", f);
    write_per_unit(t, pv, write_open, f);
    fputs("},\n\"province_counters\":{", f);
    write_counters(t, -1, f);
    fputs("},\n\"province_open\":{", f);
    write_open(t, -1, f);
    fputc('}', f);
    if (write_procedures(t, f) != 0)
        return CHISO_ENOMEM;
    if (fb) {
        fprintf(
            f, ",\n\"feedback_records\":%llu,\"feedback_events\":%llu,\"feedback_duplicates\":%llu",
            (unsigned long long)m->fb_records, (unsigned long long)m->fb_events,
            (unsigned long long)m->fb_duplicates);
        if (sim_feedback_write(fb, f) != 0)
            return CHISO_EIO;
    }
    fputs("}\n", f);
    return ferror(f) ? CHISO_EIO : 0;
}

void sim_truth_figures_get(const sim_truth *t, const sim_province *pv, sim_truth_figures *out)
{
    uint64_t c[CHISO_C_COUNT];
    /* the month holding the window's last day */
    int month_end = t->day_per[0][t->ndays - 1];
    memset(out, 0, sizeof(*out));
    out->ends_month = t->per[0][month_end].last_day == t->first_day + t->ndays - 1;
    out->dossiers = t->dossiers;
    for (int i = 0; i < 4; i++)
        out->supplements[i] = t->sup[i];
    for (int u = 0; u < t->nunits; u++) {
        sum_days(t, u, 0, t->cap - 1, c);
        for (int i = 0; i < CHISO_C_COUNT; i++)
            out->total[i] += c[i];
        if (out->ends_month)
            out->open_end += t->open[0][((size_t)u * (size_t)t->nper[0] + (size_t)month_end) * NJ];
        if (out->ends_month)
            out->open_overdue_end +=
                t->open[0][((size_t)u * (size_t)t->nper[0] + (size_t)month_end) * NJ + 1];
        int k = pv->units[u].rec.kind == CHISO_UNIT_DEPARTMENT ? 0
                : pv->units[u].rec.kind == CHISO_UNIT_COMMUNE  ? 1
                                                               : -1;
        if (k < 0)
            continue;
        out->k_received[k] += c[CHISO_C_RECEIVED];
        out->k_online[k] += c[CHISO_C_RECEIVED_ONLINE];
        out->k_resolved[k] += c[CHISO_C_RESOLVED];
        out->k_on_time[k] += c[CHISO_C_RESOLVED_ON_TIME];
        out->k_full[k] += c[CHISO_C_FULL_PROCESS];
    }
}

uint64_t sim_truth_counter(const sim_truth *t, int unit, int32_t day, int counter)
{
    int32_t di = day - t->first_day;
    if (unit < 0 || unit >= t->nunits || di < 0 || di >= t->cap || counter < 0 ||
        counter >= CHISO_C_COUNT)
        return 0;
    return cell(t, unit, di)[counter];
}

uint64_t sim_truth_open(const sim_truth *t, int unit, int kind, int32_t day, int which)
{
    int k = kind - 1;
    int32_t di = day - t->first_day;
    if (unit < 0 || unit >= t->nunits || k < 0 || k >= NKINDS || di < 0 || di >= t->cap ||
        which < 0 || which > 1)
        return 0;
    int p = t->day_per[k][di];
    return t->open[k][((size_t)unit * (size_t)t->nper[k] + (size_t)p) * NJ + (size_t)which];
}

uint64_t sim_truth_procedure(const sim_truth *t, int unit, int proc, int kind, int32_t day, int set)
{
    int k = kind - 1;
    int32_t di = day - t->first_day;
    if (unit < 0 || unit >= t->nunits || k < 0 || k >= NKINDS || di < 0 || di >= t->cap ||
        set < 0 || set >= SIM_TRUTH_SETS)
        return 0;
    int slot = proc_slot(t, unit, proc);
    return slot < 0 ? 0 : *in_set_cell(t, slot, k, t->day_per[k][di], set);
}

uint64_t sim_truth_procedures(const sim_truth *t, int unit, int kind, int32_t day, int set)
{
    uint64_t n = 0;
    if (unit < 0 || unit >= t->nunits)
        return 0;
    const sim_unit *u = &t->pv->units[unit];
    for (int i = u->proc_first; i < u->proc_first + u->proc_count; i++)
        n += sim_truth_procedure(t, unit, t->pv->proc_list[i], kind, day, set) > 0;
    return n;
}
