/*
 * test_simulate_model.c - the simulator's pure logic: PRNG determinism, the
 * province catalog, dossier lifecycles, malformed records, and the ground
 * truth cross-checked against the pipeline's dossier model (dossier.h):
 * every (unit, day, counter) of the truth must equal the sum of
 * chiso_dossier_contrib() over the same events applied in a shuffled order,
 * and open / open_overdue at each month end must equal the counter sums.
 *
 * The simulator's sources are compiled into this test (they are not part
 * of libchiso).
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/counters.h"
#include "chiso/dossier.h"
#include "chiso/vntime.h"
#include "check.h"

#include "../../producers/simulate/sim_malformed.c"
#include "../../producers/simulate/sim_model.c"
#include "../../producers/simulate/sim_truth.c"

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

/* Lifecycles: time order, numbering, the window cut, no supplement events,
 * event types a first event can be. */
static void test_lifecycles(sim_province *pv, int32_t start, int days)
{
    int64_t end = chiso_day_start(start + days);
    uint32_t serial = 0;
    sim_ev evs[SIM_EV_MAX];
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
                CHECK(evs[k].type != CHISO_EV_SUPPLEMENT_REQUESTED &&
                          evs[k].type != CHISO_EV_SUPPLEMENT_RECEIVED,
                      "no supplements in this version");
                if (evs[k].type == CHISO_EV_RECEIVED)
                    CHECK(evs[k].x > evs[k].at, "due after reception");
            }
        }
        free(a);
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

/* The truth against libchiso's dossier model. */
static void test_truth_vs_dossier(sim_province *pv, int32_t start, int days)
{
    int64_t end = chiso_day_start(start + days);
    sim_truth *t = sim_truth_new(pv->nunits, start, days);
    int32_t cap = days + SIM_TRUTH_SLACK_DAYS;
    uint64_t *mine = calloc((size_t)pv->nunits * (size_t)cap * CHISO_C_COUNT, sizeof(uint64_t));
    chiso_dossier *d = chiso_dossier_new();
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
            CHECK_EQ_INT(sim_truth_add(t, evs, n), 0, "truth add");
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
            dossiers++;
        }
        free(a);
    }
    CHECK_EQ_INT(out_of_range, 0, "contributions within the kept days");
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
    free(mine);
    sim_truth_free(t);
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
        test_lifecycles(pv, start, 21);
        test_malformed(pv, start);
        test_truth_vs_dossier(pv, start, 21);
        sim_province_free(pv);
    }
    return CHECK_DONE();
}
