/*
 * test_simulate_model.c - the simulator's pure logic: PRNG determinism, the
 * province catalog and its catalog.procedures records, dossier lifecycles
 * (every path of the contract occurs), malformed records, the truth's
 * on-time rule on hand-made dossiers (docs/ontime.md), and the ground truth
 * cross-checked against the pipeline's dossier model (dossier.h): every
 * (unit, day, counter) of the truth must equal the sum of
 * chiso_dossier_contrib() over the same events applied in a shuffled order
 * (with the procedure's catalog attributes applied with each event), every
 * counter must occur in the truth, open / open_overdue at each month end
 * must equal the counter sums, and the truth's procedure sets (#7, #9) must
 * hold, per unit, procedure, month, quarter and year, the dossiers that
 * chiso_dossier_proc_contrib() puts there (their distinct procedures the
 * indicators' numerators, their sums the counters of the same dossiers).
 *
 * The simulator's sources are compiled into this test (they are not part
 * of libchiso).
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/counters.h"
#include "chiso/dossier.h"
#include "chiso/feedback.h"
#include "chiso/vntime.h"
#include "check.h"

#include "../../producers/simulate/sim_malformed.c"
#include "../../producers/simulate/sim_model.c"
#include "../../producers/simulate/sim_truth.c"
#include "../../producers/simulate/sim_feedback.c"

static void test_rng(void)
{
    sim_rng a, b;
    sim_rng_seed(&a, 42);
    sim_rng_seed(&b, 42);
    bool same = true;
    for (int i = 0; i < 1000; i++)
        same &= sim_rng_next(&a) == sim_rng_next(&b);
    CHECK(same, "same seed, same stream");
    sim_rng_seed(&b, 43);
    CHECK(sim_rng_next(&a) != sim_rng_next(&b), "different seeds differ");
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = sim_rng_unit(&a);
        CHECK(u >= 0 && u < 1, "unit in [0,1)");
        sum += u;
    }
    CHECK(sum / 100000 > 0.49 && sum / 100000 < 0.51, "mean %f", sum / 100000);
    for (int i = 0; i < 10000; i++) {
        uint32_t k = sim_rng_below(&a, 7);
        if (k >= 7)
            CHECK(0, "below out of range %u", k);
    }
}

/* The catalog.procedures record of procedure i: valid for the parser,
 * round trip, the model's level and fee, and the units that offer it. */
static void check_procedure_record(const sim_province *pv, int i)
{
    static char buf[16384];
    const sim_procedure *sp = &pv->procs[i];
    chiso_procedure p, back;
    chiso_reject rej;
    CHECK_EQ_INT(sim_procedure_record(pv, i, &p), 0, "record %s", sp->code);
    int n = chiso_procedure_to_json(&p, buf, sizeof(buf));
    CHECK(n > 0, "record %s serializes", sp->code);
    if (n > 0) {
        CHECK_EQ_INT(chiso_procedure_parse(buf, (size_t)n, &back, &rej), 0, "record %s: %s", buf,
                     rej.detail);
        CHECK_EQ_STR(back.procedure, sp->code);
        CHECK_EQ_STR(back.name, sp->name);
        CHECK_EQ_INT(back.level, sim_level_chiso(sp->level), "level of %s", sp->code);
        CHECK(back.level != CHISO_LEVEL_UNKNOWN, "level known");
        CHECK_EQ_INT(back.fee, sp->fee, "fee of %s", sp->code);
        CHECK(!back.payment_integrated || back.fee, "integrated only with a fee");
        CHECK(back.level != CHISO_LEVEL_FULL || back.eligible_full, "full is eligible");
        if (sp->owner >= 0) {
            CHECK(back.nunits == 1 && strcmp(back.units[0], pv->units[sp->owner].rec.unit) == 0,
                  "department procedure %s offered by its department", sp->code);
        } else if (pv->params.communes <= CHISO_PROCEDURE_UNITS_MAX) {
            CHECK_EQ_INT(back.nunits, pv->params.communes, "commune procedure %s", sp->code);
            for (int k = 0; k < back.nunits; k++)
                CHECK(pv->units[1 + pv->params.departments + k].rec.kind == CHISO_UNIT_COMMUNE &&
                          strcmp(back.units[k],
                                 pv->units[1 + pv->params.departments + k].rec.unit) == 0,
                      "commune unit %s", back.units[k]);
        }
        chiso_procedure_clear(&back);
    }
    chiso_procedure_clear(&p);
}

static void test_province(void)
{
    static const struct {
        int departments, communes;
    } cases[] = {{20, 104}, {3, 5}, {0, 10}, {10, 0}, {25, 250}};
    regex_t code_re;
    regcomp(&code_re, "^[A-Za-z0-9._-]{1,32}$", REG_EXTENDED | REG_NOSUB);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        sim_params p = {.seed = 1,
                        .departments = cases[c].departments,
                        .communes = cases[c].communes,
                        .dossiers_per_day = 100};
        char err[128];
        sim_province *pv = sim_province_new(&p, err, sizeof(err));
        CHECK(pv != NULL, "province %d/%d: %s", p.departments, p.communes, err);
        if (!pv)
            continue;
        CHECK_EQ_INT(pv->nunits, 1 + p.departments + p.communes, "units");
        CHECK_EQ_STR(pv->units[0].rec.unit, "000.00.00.H31");
        CHECK_EQ_STR(pv->units[0].rec.name, "Tỉnh Hưng Yên");
        int nd = 0, ncm = 0;
        for (int i = 0; i < pv->nunits; i++) {
            const chiso_unit *u = &pv->units[i].rec;
            CHECK(regexec(&code_re, u->unit, 0, NULL, 0) == 0, "unit code %s", u->unit);
            for (int j = 0; j < i; j++) {
                if (strcmp(pv->units[j].rec.unit, u->unit) == 0 ||
                    strcmp(pv->units[j].rec.name, u->name) == 0)
                    CHECK(0, "duplicate unit %s %s", u->unit, u->name);
            }
            if (i > 0)
                CHECK_EQ_STR(u->parent, "000.00.00.H31");
            nd += u->kind == CHISO_UNIT_DEPARTMENT;
            ncm += u->kind == CHISO_UNIT_COMMUNE;
            if (i > 0)
                CHECK(pv->units[i].p_online > 0.5 && pv->units[i].p_online <= 1.0, "p_online %f",
                      pv->units[i].p_online);
        }
        CHECK_EQ_INT(nd, p.departments, "departments");
        CHECK_EQ_INT(ncm, p.communes, "communes");
        for (int i = 0; i < pv->nprocs; i++) {
            CHECK(regexec(&code_re, pv->procs[i].code, 0, NULL, 0) == 0, "code %s",
                  pv->procs[i].code);
            check_procedure_record(pv, i);
            CHECK(pv->procs[i].due_days >= 1 && pv->procs[i].due_days <= 15, "due days");
            CHECK(!pv->procs[i].fee || pv->procs[i].amount > 0, "fee amount");
            for (int j = 0; j < i; j++)
                if (strcmp(pv->procs[i].code, pv->procs[j].code) == 0)
                    CHECK(0, "duplicate procedure code %s", pv->procs[i].code);
        }
        sim_province_free(pv);
    }
    regfree(&code_re);
    sim_params bad = {.seed = 1, .departments = 0, .communes = 0, .dossiers_per_day = 1};
    char err[128];
    CHECK(sim_province_new(&bad, err, sizeof(err)) == NULL, "no units is an error");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lifecycles: time order, numbering, the window cut, the first event, and
 * that every path of the contract occurs: each event type, payment method,
 * requirement kind, outcome with and without an electronic result, delivery
 * with and without a paper copy, and each supplement pattern. */
static void test_lifecycles(sim_province *pv, int32_t start, int days)
{
    int64_t end = chiso_day_start(start + days);
    uint32_t serial = 0;
    sim_ev evs[SIM_EV_MAX];
    long types[CHISO_EV_TYPE_COUNT] = {0}, methods[5] = {0}, kinds[4] = {0};
    long outcome_e[3][2] = {{0}}, delivery_copy[4][2] = {{0}};
    long sup_none = 0, sup_same_day = 0, sup_later = 0, sup_waiting = 0, sup_multi = 0;
    long sup_abandoned = 0, received = 0;
    long flags[4] = {0}, store_bare = 0, synced = 0; /* digitized, reused, store, population */
    for (int32_t day = start; day < start + days; day++) {
        sim_arrival *a = NULL;
        long na = sim_arrivals_day(pv, day, &a);
        CHECK(na >= 0, "arrivals");
        for (long i = 0; i < na; i++) {
            if (i)
                CHECK(a[i].at >= a[i - 1].at, "arrivals sorted");
            CHECK(chiso_local_day(a[i].at) == day, "arrival on its day");
            int n = sim_dossier_generate(pv, &a[i], day, (uint32_t)i + 1, serial++, end, evs);
            CHECK(n >= 1 && n <= SIM_EV_MAX, "events %d", n);
            CHECK(evs[0].type == CHISO_EV_SUBMITTED, "first event is submitted");
            for (int k = 0; k < n; k++) {
                CHECK(evs[k].at < end, "cut at the window end");
                CHECK_EQ_INT(evs[k].n, k + 1, "numbered in order");
                if (k)
                    CHECK(evs[k].at >= evs[k - 1].at, "time order");
                if (evs[k].type == CHISO_EV_RECEIVED) {
                    CHECK(evs[k].x > evs[k].at, "due after reception");
                    for (int f = 0; f < 4; f++)
                        flags[f] += (evs[k].flags & (SIM_F_DIGITIZED << f)) != 0;
                    store_bare +=
                        (evs[k].flags & (SIM_F_DIGITIZED | SIM_F_FROM_STORE)) == SIM_F_FROM_STORE;
                }
                synced += evs[k].type == CHISO_EV_SYNCED;
                types[evs[k].type]++;
                if (evs[k].type == CHISO_EV_PAID)
                    methods[evs[k].p1]++;
                if (evs[k].type == CHISO_EV_REQUIREMENT)
                    kinds[evs[k].p1]++;
                if (evs[k].type == CHISO_EV_RESOLVED)
                    outcome_e[evs[k].p1][(evs[k].flags & SIM_F_E_RESULT) != 0]++;
                if (evs[k].type == CHISO_EV_RETURNED)
                    delivery_copy[evs[k].p1][(evs[k].flags & SIM_F_PAPER_COPY) != 0]++;
            }
            /* the supplement pattern of a received dossier */
            int64_t req[SIM_EV_MAX], ans[SIM_EV_MAX];
            int nreq = 0, nans = 0;
            bool rec = false, closed_unresolved = false;
            for (int k = 0; k < n; k++) {
                rec |= evs[k].type == CHISO_EV_RECEIVED;
                closed_unresolved |=
                    evs[k].type == CHISO_EV_STOPPED || evs[k].type == CHISO_EV_WITHDRAWN;
                if (evs[k].type == CHISO_EV_SUPPLEMENT_REQUESTED)
                    req[nreq++] = evs[k].at;
                if (evs[k].type == CHISO_EV_SUPPLEMENT_RECEIVED)
                    ans[nans++] = evs[k].at;
            }
            if (!rec)
                continue;
            received++;
            if (nreq == 0) {
                sup_none++;
            } else if (nreq >= 2) {
                sup_multi++;
                CHECK(nans >= nreq - 1, "each request but the last answered");
            } else if (nans == 0) {
                sup_waiting++;
                sup_abandoned += closed_unresolved;
            } else {
                CHECK(ans[0] > req[0], "answered after the request");
                if (chiso_local_day(ans[0]) == chiso_local_day(req[0]))
                    sup_same_day++;
                else
                    sup_later++;
            }
        }
        free(a);
    }
    for (int ty = CHISO_EV_SUBMITTED; ty < CHISO_EV_TYPE_COUNT; ty++)
        CHECK(types[ty] > 0, "event type %s occurs", chiso_event_type_name(ty));
    for (int m = CHISO_PAY_DVCQG_PLATFORM; m <= CHISO_PAY_BANK_TRANSFER; m++)
        CHECK(methods[m] > 0, "payment %s occurs", chiso_pay_method_name(m));
    for (int k = CHISO_REQ_IN_PERSON; k <= CHISO_REQ_FIELD_VERIFICATION; k++)
        CHECK(kinds[k] > 0, "requirement %s occurs", chiso_requirement_kind_name(k));
    for (int o = CHISO_OUTCOME_APPROVED; o <= CHISO_OUTCOME_DENIED; o++)
        for (int e = 0; e < 2; e++)
            CHECK(outcome_e[o][e] > 0, "resolved %s, e_result %d occurs", chiso_outcome_name(o), e);
    for (int dl = CHISO_DELIVERY_ONLINE; dl <= CHISO_DELIVERY_COUNTER; dl++)
        for (int c = 0; c < 2; c++)
            CHECK(delivery_copy[dl][c] > 0, "returned %s, paper_copy %d occurs",
                  chiso_delivery_name(dl), c);
    CHECK(sup_same_day > 0 && sup_later > 0 && sup_waiting > 0 && sup_abandoned > 0 &&
              sup_multi > 0,
          "supplement patterns: same day %ld, later %ld, waiting %ld (abandoned %ld), two or "
          "more %ld",
          sup_same_day, sup_later, sup_waiting, sup_abandoned, sup_multi);
    /* a small share: a few percent of received dossiers, two or more rare */
    double with = (double)(received - sup_none) / (double)received;
    CHECK(with > 0.01 && with < 0.08, "share with a supplement request %f", with);
    CHECK((double)sup_multi / (double)received < 0.005, "two or more requests are rare");
    /* the received flags at realistic rates (DOMAIN.md: digitization 98.9%) */
    double rate[4];
    for (int f = 0; f < 4; f++)
        rate[f] = (double)flags[f] / (double)received;
    CHECK(rate[0] > 0.97 && rate[0] < 1.0, "digitized %f", rate[0]);
    CHECK(rate[1] > 0.25 && rate[1] < 0.45, "reused data %f", rate[1]);
    CHECK(rate[2] > 0.35 && rate[2] < 0.55, "from the data store %f", rate[2]);
    CHECK(rate[3] > 0.1 && rate[3] < 0.8, "population data %f", rate[3]);
    CHECK_EQ_INT(store_bare, 0, "from the data store only when digitized");
    CHECK((double)synced / (double)received > 0.97, "synced %ld of %ld", synced, received);
}

/* ---- the truth's on-time rule on hand-made dossiers ---------------------------- */

/* A compact event at local day `day` (relative to the case's day 0) and
 * hour `h`. */
typedef struct mini_ev {
    chiso_event_type type;
    int day, hour;
} mini_ev;

#define MINI_MAX 8

static void test_truth_ontime(sim_province *pv)
{
    /* Received on day 0 (Mon 2025-07-07), due day 4 at 17:00. B = first
     * overdue day, relative to day 0 (99 = never); "res" = the resolved
     * day's judgement (1 on time, 0 late, -1 not resolved). */
    static const struct {
        const char *name;
        mini_ev ev[MINI_MAX];
        int bday, on_time;
    } cases[] = {
        {"no request, resolved on the due day", {{CHISO_EV_RESOLVED, 4, 10}}, 5, 1},
        {"no request, resolved the day after", {{CHISO_EV_RESOLVED, 5, 10}}, 5, 0},
        {"no request, open", {{CHISO_EV_NONE, 0, 0}}, 5, -1},
        {"one request answered 3 days later: due day moves by 3",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 2, 9},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 5, 20},
          {CHISO_EV_RESOLVED, 7, 10}},
         8,
         1},
        {"one request answered 3 days later, resolved too late",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 2, 9},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 5, 20},
          {CHISO_EV_RESOLVED, 8, 10}},
         8,
         0},
        {"one request answered the same day",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 2, 9},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 2, 15},
          {CHISO_EV_RESOLVED, 5, 10}},
         5,
         0},
        {"a receipt before the request answers nothing",
         {{CHISO_EV_SUPPLEMENT_RECEIVED, 1, 9}, {CHISO_EV_SUPPLEMENT_REQUESTED, 2, 9}},
         99,
         -1},
        {"one request still waiting: never overdue",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 3, 9}},
         99,
         -1},
        {"one request waiting, then stopped",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 3, 9}, {CHISO_EV_STOPPED, 30, 9}},
         99,
         -1},
        {"one request after the due day: late as without",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 6, 9},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 8, 9},
          {CHISO_EV_RESOLVED, 9, 9}},
         5,
         0},
        {"a request on the due day is in time",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 4, 16},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 6, 9},
          {CHISO_EV_RESOLVED, 6, 15}},
         7,
         1},
        {"two requests: late from the second",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 1, 9},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 2, 9},
          {CHISO_EV_SUPPLEMENT_REQUESTED, 3, 9},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 3, 12},
          {CHISO_EV_RESOLVED, 3, 15}},
         3,
         0},
        {"two requests at the same instant are one",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 1, 9},
          {CHISO_EV_SUPPLEMENT_REQUESTED, 1, 9},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 2, 9},
          {CHISO_EV_RESOLVED, 4, 9}},
         6,
         1},
        {"two requests, still open",
         {{CHISO_EV_SUPPLEMENT_REQUESTED, 1, 9},
          {CHISO_EV_SUPPLEMENT_RECEIVED, 1, 10},
          {CHISO_EV_SUPPLEMENT_REQUESTED, 2, 9}},
         2,
         -1},
        {"withdrawn before the due day: never overdue", {{CHISO_EV_WITHDRAWN, 3, 9}}, 99, -1},
        {"closed on B: overdue began and closed on B", {{CHISO_EV_STOPPED, 5, 9}}, 5, -1},
    };
    chiso_date d0 = {2025, 7, 7};
    int32_t day0 = chiso_date_to_day(d0);
    int unit = pv->nunits - 1, proc = pv->units[unit].proc_first;
    proc = pv->proc_list[proc];
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        sim_truth *t = sim_truth_new(pv, day0, 10);
        sim_ev evs[MINI_MAX + 2];
        int n = 0;
        memset(evs, 0, sizeof(evs));
        evs[n].type = CHISO_EV_SUBMITTED;
        evs[n].p1 = CHISO_CHANNEL_ONLINE;
        evs[n++].at = chiso_day_start(day0) + 8 * 3600;
        evs[n].type = CHISO_EV_RECEIVED;
        evs[n].at = chiso_day_start(day0) + 9 * 3600;
        evs[n++].x = chiso_day_start(day0 + 4) + 17 * 3600;
        bool closed = false;
        int cday = 0;
        for (int k = 0; k < MINI_MAX && cases[c].ev[k].type != CHISO_EV_NONE; k++) {
            evs[n].type = (uint8_t)cases[c].ev[k].type;
            evs[n].at = chiso_day_start(day0 + cases[c].ev[k].day) + cases[c].ev[k].hour * 3600;
            if (evs[n].type == CHISO_EV_RESOLVED || evs[n].type == CHISO_EV_STOPPED ||
                evs[n].type == CHISO_EV_WITHDRAWN) {
                closed = true;
                cday = cases[c].ev[k].day;
            }
            n++;
        }
        for (int k = 0; k < n; k++) {
            evs[k].unit = (uint16_t)unit;
            evs[k].proc = (uint16_t)proc;
        }
        CHECK_EQ_INT(sim_truth_add(t, pv, evs, n), 0, "%s: add", cases[c].name);
        long began = 0, bday = 99, ended = 0, on = 0, late = 0;
        for (int dd = 0; dd < 10 + SIM_TRUTH_SLACK_DAYS; dd++) {
            if (sim_truth_counter(t, unit, day0 + dd, CHISO_C_OVERDUE_BEGAN)) {
                began++;
                bday = dd;
            }
            ended += (long)sim_truth_counter(t, unit, day0 + dd, CHISO_C_OVERDUE_CLOSED);
            on += (long)sim_truth_counter(t, unit, day0 + dd, CHISO_C_RESOLVED_ON_TIME);
            late += (long)sim_truth_counter(t, unit, day0 + dd, CHISO_C_RESOLVED_LATE);
        }
        int want_b = cases[c].bday;
        bool overdue = want_b != 99 && (!closed || cday >= want_b);
        CHECK_EQ_INT(began, overdue, "%s: overdue_began", cases[c].name);
        if (overdue)
            CHECK_EQ_INT(bday, want_b, "%s: B", cases[c].name);
        CHECK_EQ_INT(ended, overdue && closed, "%s: overdue_closed", cases[c].name);
        CHECK_EQ_INT(on, cases[c].on_time == 1, "%s: on time", cases[c].name);
        CHECK_EQ_INT(late, cases[c].on_time == 0, "%s: late", cases[c].name);
        /* open_overdue at the end of July (day 24 from day 0) */
        bool open_end = !closed || cday > 24;
        CHECK_EQ_INT(sim_truth_open(t, unit, CHISO_PERIOD_MONTH, day0, 1), open_end && want_b <= 24,
                     "%s: open_overdue at the month end", cases[c].name);
        sim_truth_free(t);
    }
}

/* Malformed records get exactly the reason they were built for. */
static void test_malformed(sim_province *pv, int32_t day)
{
    sim_rng r;
    sim_rng_seed(&r, 99);
    char *buf = malloc(SIM_MALFORMED_MAX);
    sim_arrival *a = NULL;
    long na = sim_arrivals_day(pv, day, &a);
    int64_t end = chiso_day_start(day + 30);
    int by_reason[CHISO_REJECT_REASON_COUNT] = {0};
    sim_ev evs[SIM_EV_MAX];
    for (long i = 0; i < na && i < 2000; i++) {
        int n = sim_dossier_generate(pv, &a[i], day, (uint32_t)i + 1, (uint32_t)i, end, evs);
        for (int k = 0; k < n; k++) {
            chiso_event ev, back;
            chiso_reject rej;
            chiso_reject_reason want;
            sim_ev_to_event(pv, &evs[k], &ev);
            for (int rep = 0; rep < 3; rep++) {
                size_t len = sim_malformed_make(&r, &ev, buf, SIM_MALFORMED_MAX, &want);
                CHECK(memchr(buf, '\n', len) == NULL, "no newline in a record");
                int rc = chiso_event_parse(buf, len, &back, &rej);
                CHECK(rc != 0, "malformed accepted: %.*s", (int)(len > 200 ? 200 : len), buf);
                if (rc != 0 && rej.reason != want)
                    CHECK(0, "reason %s != %s: %.*s", chiso_reject_code(rej.reason),
                          chiso_reject_code(want), (int)(len > 200 ? 200 : len), buf);
                by_reason[want]++;
            }
        }
    }
    for (int k = CHISO_REJECT_JSON_SYNTAX; k <= CHISO_REJECT_TOO_LARGE; k++)
        CHECK(by_reason[k] > 0, "reason %s produced", chiso_reject_code(k));
    free(a);
    free(buf);
}

/* Core's memberships, by unit, procedure, kept day and truth set. */
typedef struct proc_sums {
    const sim_province *pv;
    int32_t cap;
    uint32_t *n;
} proc_sums;

static uint32_t *proc_sum(const proc_sums *ps, int unit, int proc, int32_t di, int set)
{
    return ps->n +
           (((size_t)unit * (size_t)ps->pv->nprocs + (size_t)proc) * (size_t)ps->cap + (size_t)di) *
               SIM_TRUTH_SETS +
           (size_t)set;
}

/* Sum of a unit's counters `a` (and `b`, when >= 0) over kept days [from, to]. */
static uint64_t counter_sum(const sim_truth *t, int unit, int32_t start, int32_t from, int32_t to,
                            int a, int b)
{
    uint64_t n = 0;
    for (int32_t di = from; di <= to; di++)
        n += sim_truth_counter(t, unit, start + di, a) +
             (b >= 0 ? sim_truth_counter(t, unit, start + di, b) : 0);
    return n;
}

/* The truth's procedure sets against core's memberships, at the end of
 * every month, quarter and year (or of the kept days): per procedure the
 * dossiers, per unit the distinct procedures (the numerators of #7 and #9)
 * and the dossiers in all (those of the counters with the same condition:
 * received_svc_*_online for po, paid_online for pp). */
static void compare_procedure_sets(const sim_truth *t, const proc_sums *ps, int32_t start)
{
    const sim_province *pv = ps->pv;
    int mismatches = 0;
    uint64_t members[SIM_TRUTH_SETS] = {0}, shared = 0;
    for (int u = 0; u < pv->nunits; u++) {
        const sim_unit *su = &pv->units[u];
        for (int kind = CHISO_PERIOD_MONTH; kind <= CHISO_PERIOD_YEAR; kind++) {
            for (int32_t di = 0; di < ps->cap; di++) {
                chiso_period p = chiso_period_of(start + di, (chiso_period_kind)kind);
                int32_t from = p.first_day > start ? p.first_day - start : 0;
                if (start + di != p.last_day && di != ps->cap - 1)
                    continue;
                for (int set = 0; set < SIM_TRUTH_SETS; set++) {
                    uint64_t distinct = 0, dossiers = 0;
                    for (int i = su->proc_first; i < su->proc_first + su->proc_count; i++) {
                        int proc = pv->proc_list[i];
                        uint64_t got = 0;
                        for (int32_t x = from; x <= di; x++)
                            got += *proc_sum(ps, u, proc, x, set);
                        uint64_t want = sim_truth_procedure(t, u, proc, kind, start + di, set);
                        if (want != got && mismatches++ < 10)
                            CHECK(0,
                                  "unit %s procedure %s kind %d day %d %s: truth %llu, core %llu",
                                  su->rec.unit, pv->procs[proc].code, kind, (int)di,
                                  sim_truth_set_name(set), (unsigned long long)want,
                                  (unsigned long long)got);
                        distinct += got > 0;
                        dossiers += got;
                        shared += got > 1;
                        members[set] += kind == CHISO_PERIOD_YEAR ? got : 0;
                    }
                    CHECK_EQ_INT(sim_truth_procedures(t, u, kind, start + di, set), distinct,
                                 "unit %s kind %d day %d %s: distinct procedures", su->rec.unit,
                                 kind, (int)di, sim_truth_set_name(set));
                    uint64_t counted =
                        set == 0
                            ? counter_sum(t, u, start, from, di, CHISO_C_RECEIVED_SVC_FULL_ONLINE,
                                          CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE)
                            : counter_sum(t, u, start, from, di, CHISO_C_PAID_ONLINE, -1);
                    CHECK_EQ_INT(dossiers, counted, "unit %s kind %d day %d %s: dossiers",
                                 su->rec.unit, kind, (int)di, sim_truth_set_name(set));
                }
            }
        }
    }
    CHECK_EQ_INT(mismatches, 0, "truth procedure sets == sum of chiso_dossier_proc_contrib");
    for (int set = 0; set < SIM_TRUTH_SETS; set++)
        CHECK(members[set] > 0, "procedure set %s occurs in the truth", sim_truth_set_name(set));
    CHECK(shared > 0, "a procedure with two dossiers in a set");
}

/* The truth's set numbers are named as core's sets (the Redis key segment). */
static int truth_set_of(chiso_proc_set set)
{
    for (int k = 0; k < SIM_TRUTH_SETS; k++) {
        if (strcmp(sim_truth_set_name(k), chiso_proc_set_name(set)) == 0)
            return k;
    }
    return -1;
}

/* The truth against libchiso's dossier model. */
static void test_truth_vs_dossier(sim_province *pv, int32_t start, int days)
{
    int64_t end = chiso_day_start(start + days);
    sim_truth *t = sim_truth_new(pv, start, days);
    int32_t cap = days + SIM_TRUTH_SLACK_DAYS;
    uint64_t *mine = calloc((size_t)pv->nunits * (size_t)cap * CHISO_C_COUNT, sizeof(uint64_t));
    proc_sums ps = {pv, cap,
                    calloc((size_t)pv->nunits * (size_t)pv->nprocs * (size_t)cap * SIM_TRUTH_SETS,
                           sizeof(uint32_t))};
    int other_procedure = 0;
    uint64_t *attrs = calloc((size_t)pv->nprocs, sizeof(uint64_t));
    chiso_dossier *d = chiso_dossier_new();
    /* what the processor keeps of each procedure's catalog record */
    for (int i = 0; i < pv->nprocs; i++) {
        chiso_procedure rec;
        CHECK_EQ_INT(sim_procedure_record(pv, i, &rec), 0, "record %d", i);
        attrs[i] = chiso_dossier_catalog_attrs(&rec);
        chiso_procedure_clear(&rec);
    }
    sim_rng shuf;
    sim_rng_seed(&shuf, 5);
    uint32_t serial = 0;
    sim_ev evs[SIM_EV_MAX];
    long dossiers = 0;
    int out_of_range = 0;
    for (int32_t day = start; day < start + days; day++) {
        sim_arrival *a = NULL;
        long na = sim_arrivals_day(pv, day, &a);
        for (long i = 0; i < na; i++) {
            int n = sim_dossier_generate(pv, &a[i], day, (uint32_t)i + 1, serial++, end, evs);
            CHECK_EQ_INT(sim_truth_add(t, pv, evs, n), 0, "truth add");
            /* the pipeline's view: the same events, shuffled, one duplicated */
            uint64_t order[SIM_EV_MAX + 1];
            for (int k = 0; k < n; k++)
                order[k] = (sim_rng_next(&shuf) & ~0xffULL) | (uint64_t)k;
            qsort(order, (size_t)n, sizeof(order[0]), cmp_u64);
            order[n] = order[0];
            chiso_dossier_reset(d);
            for (int k = 0; k <= n; k++) {
                chiso_event ev;
                sim_ev_to_event(pv, &evs[order[k] & 0xff], &ev);
                chiso_dossier_apply(d, &ev);
                /* the processor applies the catalog's attributes with every event */
                chiso_dossier_apply_catalog(d, attrs[a[i].proc]);
            }
            chiso_contrib c[CHISO_CONTRIB_MAX];
            int nc = chiso_dossier_contrib(d, c);
            for (int k = 0; k < nc; k++) {
                int32_t di = c[k].day - start;
                if (di < 0 || di >= cap) {
                    out_of_range++;
                    continue;
                }
                mine[((size_t)a[i].unit * (size_t)cap + (size_t)di) * CHISO_C_COUNT +
                     c[k].counter]++;
            }
            chiso_proc_contrib pc[CHISO_PROC_CONTRIB_MAX];
            nc = chiso_dossier_proc_contrib(d, pc);
            other_procedure +=
                nc > 0 && strcmp(chiso_dossier_procedure(d), pv->procs[a[i].proc].code) != 0;
            for (int k = 0; k < nc; k++) {
                int32_t di = pc[k].day - start;
                int set = truth_set_of(pc[k].set);
                if (di < 0 || di >= cap || set < 0) {
                    out_of_range++;
                    continue;
                }
                (*proc_sum(&ps, a[i].unit, a[i].proc, di, set))++;
            }
            dossiers++;
        }
        free(a);
    }
    CHECK_EQ_INT(out_of_range, 0, "contributions within the kept days, sets named alike");
    CHECK_EQ_INT(other_procedure, 0, "memberships are of the dossier's procedure");
    compare_procedure_sets(t, &ps, start);
    int mismatches = 0;
    for (int u = 0; u < pv->nunits; u++) {
        for (int32_t di = 0; di < cap; di++) {
            for (int c = 0; c < CHISO_C_COUNT; c++) {
                uint64_t want = sim_truth_counter(t, u, start + di, c);
                uint64_t got = mine[((size_t)u * (size_t)cap + (size_t)di) * CHISO_C_COUNT + c];
                if (want != got && mismatches++ < 10) {
                    char key[CHISO_PERIOD_STRLEN];
                    chiso_period_key(start + di, CHISO_PERIOD_DAY, key);
                    CHECK(0, "unit %s day %s %s: truth %llu, dossier.h %llu", pv->units[u].rec.unit,
                          key, chiso_counter_name(c), (unsigned long long)want,
                          (unsigned long long)got);
                }
            }
        }
    }
    CHECK_EQ_INT(mismatches, 0, "truth counters == sum of chiso_dossier_contrib");

    /* every counter occurs, so none of the comparisons above is vacuous; and
     * the paper-result rule of #8 bites (some online dossiers do not count) */
    uint64_t total[CHISO_C_COUNT] = {0};
    for (int u = 0; u < pv->nunits; u++)
        for (int32_t di = 0; di < cap; di++)
            for (int c = 0; c < CHISO_C_COUNT; c++)
                total[c] += sim_truth_counter(t, u, start + di, c);
    for (int c = 0; c < CHISO_C_COUNT; c++)
        CHECK(total[c] > 0, "counter %s occurs in the truth", chiso_counter_name(c));
    CHECK(
        total[CHISO_C_RECEIVED_ONLINE_VALID] < total[CHISO_C_RECEIVED_ONLINE],
        "online dossiers without the electronic result a procedure requires: %llu of %llu",
        (unsigned long long)(total[CHISO_C_RECEIVED_ONLINE] - total[CHISO_C_RECEIVED_ONLINE_VALID]),
        (unsigned long long)total[CHISO_C_RECEIVED_ONLINE]);
    CHECK(total[CHISO_C_PAID_ONLINE] < total[CHISO_C_FEE_DOSSIERS] &&
              total[CHISO_C_FROM_DATA_STORE] < total[CHISO_C_DIGITIZED] &&
              total[CHISO_C_DIGITIZED] < total[CHISO_C_RECEIVED],
          "the indicators' numerators are proper parts of their denominators");

    /* open at each month end == sum over days <= E of (received - closed);
     * open_overdue == sum of (overdue_began - overdue_closed). */
    for (int u = 0; u < pv->nunits; u++) {
        for (int32_t di = 0; di < cap; di++) {
            int32_t day = start + di;
            chiso_period p = chiso_period_of(day, CHISO_PERIOD_MONTH);
            if (day != p.last_day)
                continue;
            int64_t open = 0, overdue = 0;
            for (int32_t x = 0; x <= di; x++) {
                open += (int64_t)sim_truth_counter(t, u, start + x, CHISO_C_RECEIVED) -
                        (int64_t)sim_truth_counter(t, u, start + x, CHISO_C_CLOSED);
                overdue += (int64_t)sim_truth_counter(t, u, start + x, CHISO_C_OVERDUE_BEGAN) -
                           (int64_t)sim_truth_counter(t, u, start + x, CHISO_C_OVERDUE_CLOSED);
            }
            CHECK_EQ_INT(sim_truth_open(t, u, CHISO_PERIOD_MONTH, day, 0), open, "open");
            CHECK_EQ_INT(sim_truth_open(t, u, CHISO_PERIOD_MONTH, day, 1), overdue, "overdue");
        }
    }
    CHECK(dossiers > 1000, "enough dossiers (%ld)", dossiers);
    chiso_dossier_free(d);
    free(attrs);
    free(mine);
    free(ps.n);
    sim_truth_free(t);
}

/* The feedback truth against libchiso: every feedback's events, serialized
 * and parsed back, applied to chiso_feedback in reverse order and one of
 * them twice; the sums of chiso_feedback_contrib() must equal the truth's
 * counters for every (unit, day, counter). Plus the calibration's shares. */
static void test_feedback_vs_core(const sim_province *pv, int32_t start, int32_t ndays)
{
    sim_feedback *fb = sim_feedback_new(pv, 7, 20.0, start, ndays);
    CHECK(fb != NULL, "feedback truth allocated");
    if (!fb)
        return;
    int32_t cap = ndays + SIM_TRUTH_SLACK_DAYS;
    uint64_t *mine = calloc((size_t)pv->nunits * (size_t)cap * CHISO_FBC_COUNT, sizeof(uint64_t));
    chiso_feedback *st = chiso_feedback_new();
    int64_t window_end = chiso_day_start(start + ndays);
    long feedbacks = 0, events = 0, bad = 0, outside = 0, late_seen = 0;
    char json[1024];
    for (int32_t day = start; day < start + ndays && mine && st; day++) {
        sim_fb_ev *ev = NULL;
        long n = sim_feedback_day(fb, day, window_end, &ev);
        CHECK(n >= 0, "day generated");
        for (long i = 0; i < n;) {
            long j = i + 1; /* the events of one feedback: i..j-1 */
            while (j < n && strcmp(ev[j].id, ev[i].id) == 0)
                j++;
            CHECK(ev[i].n == 0, "a feedback starts with its receipt");
            chiso_feedback_reset(st);
            for (long k = j - 1; k >= i; k--) {
                chiso_feedback_event fe, back;
                chiso_reject rej;
                if (ev[k].at >= window_end || chiso_local_day(ev[k].at) < day)
                    outside++;
                sim_fb_ev_to_event(pv, &ev[k], &fe);
                int len = chiso_feedback_event_to_json(&fe, json, sizeof(json));
                if (len < 0 || chiso_feedback_event_parse(json, (size_t)len, &back, &rej) != 0) {
                    bad++;
                    continue;
                }
                chiso_feedback_apply(st, &back);
                if (k == i)
                    chiso_feedback_apply(st, &back); /* a duplicate */
                late_seen += ev[k].n == 1 && chiso_local_day(ev[k].at) > chiso_local_day(ev[i].due);
                events++;
            }
            int32_t cd[CHISO_FBC_COUNT];
            chiso_feedback_contrib(st, cd);
            for (int c = 0; c < CHISO_FBC_COUNT; c++) {
                if (cd[c] == CHISO_FB_NO_DAY)
                    continue;
                int32_t di = cd[c] - start;
                if (di < 0 || di >= cap) {
                    outside++;
                    continue;
                }
                mine[((size_t)ev[i].unit * (size_t)cap + (size_t)di) * CHISO_FBC_COUNT +
                     (size_t)c]++;
            }
            feedbacks++;
            i = j;
        }
        free(ev);
    }
    CHECK(bad == 0, "%ld feedback events do not serialize and parse back", bad);
    CHECK(outside == 0, "%ld feedback events or contributions outside the kept days", outside);
    CHECK(feedbacks > 500 && events > feedbacks, "%ld feedback, %ld events", feedbacks, events);
    CHECK(late_seen > 0, "late answers occur");
    uint64_t diff = 0, tot[CHISO_FBC_COUNT] = {0};
    for (int u = 0; u < pv->nunits && mine; u++)
        for (int32_t di = 0; di < cap; di++)
            for (int c = 0; c < CHISO_FBC_COUNT; c++) {
                uint64_t want =
                    mine[((size_t)u * (size_t)cap + (size_t)di) * CHISO_FBC_COUNT + (size_t)c];
                uint64_t got = sim_feedback_counter(fb, u, start + di, c);
                tot[c] += got;
                if (want != got && diff++ < 5)
                    CHECK(0, "feedback unit %d day %d %s: truth %llu, libchiso %llu", u, (int)di,
                          chiso_fb_counter_name((chiso_fb_counter_id)c), (unsigned long long)got,
                          (unsigned long long)want);
            }
    CHECK(diff == 0, "%llu feedback counters differ from libchiso", (unsigned long long)diff);
    for (int c = 0; c < CHISO_FBC_COUNT; c++)
        CHECK(tot[c] > 0, "%s occurs", chiso_fb_counter_name((chiso_fb_counter_id)c));
    double on = (double)tot[CHISO_FBC_ANSWERED_ON_TIME] / (double)tot[CHISO_FBC_RECEIVED];
    double rated = (double)tot[CHISO_FBC_RATED] /
                   (double)(tot[CHISO_FBC_ANSWERED_ON_TIME] + tot[CHISO_FBC_ANSWERED_LATE]);
    double sat = (double)tot[CHISO_FBC_SATISFIED] / (double)tot[CHISO_FBC_RATED];
    CHECK(on > 0.55 && on < 0.70, "on time %.3f of received (DOMAIN.md: 64.2%%)", on);
    CHECK(rated > 0.70 && rated < 0.85, "rated %.3f of answered", rated);
    CHECK(sat > 0.68 && sat < 0.82, "satisfied %.3f of rated", sat);
    /* --feedback-rate 0 gives nothing */
    sim_feedback *none = sim_feedback_new(pv, 7, 0, start, ndays);
    sim_fb_ev *ev = NULL;
    CHECK(none && sim_feedback_day(none, start, window_end, &ev) == 0 && !ev, "rate 0: none");
    sim_feedback_free(none);
    chiso_feedback_free(st);
    free(mine);
    sim_feedback_free(fb);
}

/* Dossier and event ids as the printf they replaced wrote them, at every
 * width (a dossier number past six digits, an event number past one),
 * and cut like snprintf in a short buffer. */
static void test_ids(const sim_province *pv)
{
    static const uint32_t dseqs[] = {1, 9, 10, 999999, 1000000, 4294967295u};
    static const uint8_t ns[] = {1, 9, 10, 255};
    int32_t days[] = {chiso_date_to_day((chiso_date){2025, 7, 1}),
                      chiso_date_to_day((chiso_date){2009, 12, 31}),
                      chiso_date_to_day((chiso_date){2100, 1, 9})};
    for (size_t d = 0; d < sizeof(days) / sizeof(days[0]); d++) {
        for (size_t q = 0; q < sizeof(dseqs) / sizeof(dseqs[0]); q++) {
            for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
                sim_ev ev = {.day0 = days[d], .dseq = dseqs[q], .n = ns[k], .type = CHISO_EV_RATED};
                chiso_date dt = chiso_day_to_date(days[d]);
                char want[64], got[64], event_id[80];
                int wn = snprintf(want, sizeof(want), "H31-%02d%02d%02d-%06u", dt.year % 100,
                                  dt.month, dt.day, dseqs[q]);
                CHECK_EQ_INT(wn, sim_dossier_id(&ev, got, sizeof(got)), "dossier id length");
                CHECK_EQ_STR(got, want, "dossier id");
                CHECK_EQ_INT(wn, sim_dossier_id(&ev, got, 8), "length of a cut id");
                CHECK(strncmp(got, want, 7) == 0 && got[7] == '\0', "cut as snprintf cuts: %s",
                      got);
                chiso_event out;
                sim_ev_to_event(pv, &ev, &out);
                snprintf(event_id, sizeof(event_id), "%s#%u", want, (unsigned)ns[k]);
                CHECK_EQ_STR(out.event_id, event_id, "event id");
            }
        }
    }
}

int main(void)
{
    test_rng();
    test_province();
    sim_params p = {.seed = 7, .departments = 6, .communes = 12, .dossiers_per_day = 600};
    char err[128];
    sim_province *pv = sim_province_new(&p, err, sizeof(err));
    CHECK(pv != NULL, "province: %s", err);
    if (pv) {
        chiso_date d = {2025, 6, 20};
        int32_t start = chiso_date_to_day(d); /* crosses a month and a quarter */
        test_ids(pv);
        test_lifecycles(pv, start, 21);
        test_truth_ontime(pv);
        test_malformed(pv, start);
        test_truth_vs_dossier(pv, start, 21);
        test_feedback_vs_core(pv, start, 120);
        sim_province_free(pv);
    }
    return CHECK_DONE();
}
