/*
 * test_property.c - the pipeline's counting against the reference model
 * (tests/model/refmodel.h), on randomized streams (tests/model/gen.h).
 *
 * For every seed, the same stream (events in arrival order, late,
 * duplicated and reordered) goes three ways, and the counters per unit and
 * period (day, month, quarter, year), and the procedure sets of #7 and #9
 * (dossiers per unit, month, quarter, year, set and procedure) must be
 * identical:
 *   model        refmodel: the rules restated from the documents;
 *   final        every event applied to a chiso_dossier state
 *                (chiso_dossier_apply_catalog with the attributes of the
 *                procedure's catalog record, as classify packs them, then
 *                chiso_dossier_apply), the final states'
 *                chiso_dossier_contrib() and chiso_dossier_proc_contrib()
 *                summed by day as classify does;
 *   incremental  the processor's path: events in batches of random size,
 *                each batch merged into the states as read (decoded from
 *                their binary encoding), the differences of contributions
 *                and memberships (chiso_contrib_diff, chiso_proc_contrib_diff)
 *                summed; a batch is sometimes replayed, as after a crash
 *                before the offset commit, and the offset fence must make
 *                the replay a no-op.
 * Per dossier, the model's contributions, memberships, first overdue day
 * and open state must equal core's; per unit and period end, the model's
 * open and overdue dossiers (counted from the dossiers) must equal the
 * derivation from the counters (counters.h); and per unit, month, quarter
 * and year, at its last day and at days inside its last month, the model's
 * population D (DOMAIN.md, counted from the dossiers) must equal
 * chiso_snapshot_population_of() on the incremental path's counters, field
 * by field. The streams must reach what D depends on (dossiers returned
 * without a resolution, withdrawn or stopped, with complaints and
 * dislikes, one and two supplement requests, open across a month end,
 * carried over into a period) in at least half of the seeds.
 *
 * Usage: test_property [--seed N | --seeds K] [--first S] [--dossiers D]
 * (default: seeds 1..250, 300 dossiers each). A failure prints the seed,
 * the differing counters, and the dossiers that differ with their events;
 * rerun one seed with --seed N (docs/testing.md).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chiso/common.h"
#include "chiso/counters.h"
#include "chiso/dossier.h"
#include "chiso/event.h"
#include "chiso/snapshot.h"
#include "chiso/vntime.h"
#include "gen.h"
#include "refmodel.h"

#include "check.h"

#define PARTITIONS 4
#define MAX_REPORT 3 /* dossiers described per failing seed */

/* One dossier of the stream as the pipeline sees it. */
typedef struct slot {
    const chiso_event *first; /* names the dossier (unit, dossier_id) */
    int32_t partition;
    chiso_dossier *final;                         /* every event applied at once */
    unsigned char enc[CHISO_DOSSIER_MAX_ENCODED]; /* incremental: the stored state */
    int enc_len;                                  /* 0 = nothing stored yet */
} slot;

typedef struct dossier_map {
    slot *slots;
    int nslots, cap; /* open addressing over idx, cap a power of two */
    int *idx;        /* slot index + 1, 0 = empty */
} dossier_map;

static uint64_t dossier_hash(const chiso_event *e)
{
    return chiso_hash64(e->dossier_id, strlen(e->dossier_id)) ^
           (chiso_hash64(e->unit, strlen(e->unit)) * 31);
}

static bool same_dossier(const chiso_event *a, const chiso_event *b)
{
    return strcmp(a->dossier_id, b->dossier_id) == 0 && strcmp(a->unit, b->unit) == 0;
}

/* The slot of an event's dossier, created on first sight. */
static slot *map_get(dossier_map *m, const chiso_event *e)
{
    uint64_t h = dossier_hash(e);
    int mask = m->cap - 1;
    for (int i = (int)(h & (uint64_t)mask);; i = (i + 1) & mask) {
        if (m->idx[i] == 0) {
            slot *s = &m->slots[m->nslots];
            m->idx[i] = ++m->nslots;
            s->first = e;
            s->partition = (int32_t)(h % PARTITIONS);
            s->final = chiso_dossier_new();
            s->enc_len = 0;
            return s;
        }
        slot *s = &m->slots[m->idx[i] - 1];
        if (same_dossier(s->first, e))
            return s;
    }
}

static int map_init(dossier_map *m, int nevents)
{
    m->cap = 16;
    while (m->cap < 2 * nevents)
        m->cap <<= 1;
    m->nslots = 0;
    m->slots = calloc((size_t)nevents + 1, sizeof(*m->slots));
    m->idx = calloc((size_t)m->cap, sizeof(*m->idx));
    return m->slots && m->idx ? 0 : CHISO_ENOMEM;
}

static void map_clear(dossier_map *m)
{
    for (int i = 0; i < m->nslots; i++)
        chiso_dossier_free(m->slots[i].final);
    free(m->slots);
    free(m->idx);
    memset(m, 0, sizeof(*m));
}

/* The procedure of the stream named `code` when the catalog has it. */
static const gen_procedure *catalog_proc(const gen_stream *s, const char *code)
{
    for (int i = 0; i < s->nprocs; i++) {
        if (s->procs[i].in_catalog && strcmp(s->procs[i].code, code) == 0)
            return &s->procs[i];
    }
    return NULL;
}

/* What classify stores for a procedure: its catalog record's attributes,
 * packed (0, nothing applied, when the catalog lacks it). */
static uint64_t attrs_of(const gen_stream *s, const char *code)
{
    const gen_procedure *p = catalog_proc(s, code);
    chiso_procedure rec;
    if (!p)
        return 0;
    gen_procedure_record(p, &rec);
    return chiso_dossier_catalog_attrs(&rec);
}

/* The model's name of a procedure set of core (they must agree: both are
 * the Redis key segment). */
static refmodel_what what_of(chiso_proc_set set)
{
    for (refmodel_what w = REFMODEL_PO; w <= REFMODEL_PP; w++) {
        if (strcmp(refmodel_what_name(w), chiso_proc_set_name(set)) == 0)
            return w;
    }
    return REFMODEL_COUNTER;
}

/* ---- the two pipeline paths ---- */

/* Every event applied to its dossier's state; the final contributions summed. */
static int run_final(const gen_stream *s, const chiso_event *ev, dossier_map *m, refmodel_table *t)
{
    chiso_contrib c[CHISO_CONTRIB_MAX];
    for (int i = 0; i < s->nev; i++) {
        slot *sl = map_get(m, &ev[i]);
        if (!sl->final)
            return CHISO_ENOMEM;
        chiso_dossier_apply_catalog(sl->final, attrs_of(s, ev[i].procedure));
        chiso_dossier_apply(sl->final, &ev[i]);
    }
    for (int i = 0; i < m->nslots; i++) {
        const chiso_dossier *d = m->slots[i].final;
        chiso_proc_contrib pc[CHISO_PROC_CONTRIB_MAX];
        int n = chiso_dossier_contrib(d, c);
        for (int k = 0; k < n; k++) {
            if (refmodel_table_add(t, m->slots[i].first->unit, c[k].day, c[k].counter, 1))
                return CHISO_ENOMEM;
        }
        n = chiso_dossier_proc_contrib(d, pc);
        for (int k = 0; k < n; k++) {
            if (refmodel_table_add_proc(t, m->slots[i].first->unit, pc[k].day, what_of(pc[k].set),
                                        chiso_dossier_procedure(d), 1))
                return CHISO_ENOMEM;
        }
    }
    return refmodel_table_finish(t);
}

/* What the incremental path saw of the membership changes. */
typedef struct proc_changes {
    long long added, removed; /* summed +1s and -1s */
} proc_changes;

/* One batch [a, b) of the stream, as classify merges it: per dossier, the
 * state as read, the batch's events not behind the fence merged in, the
 * difference of contributions and of memberships added, the new state
 * (fence raised) stored. */
static int apply_batch(const gen_stream *s, const chiso_event *ev, const int64_t *offset, int a,
                       int b, dossier_map *m, refmodel_table *t, chiso_dossier *old,
                       chiso_dossier *cur, int *replayed_changes, proc_changes *pch)
{
    chiso_contrib oc[CHISO_CONTRIB_MAX], nc[CHISO_CONTRIB_MAX];
    chiso_delta d[2 * CHISO_CONTRIB_MAX];
    chiso_proc_contrib op[CHISO_PROC_CONTRIB_MAX], np[CHISO_PROC_CONTRIB_MAX];
    chiso_proc_delta pd[2 * CHISO_PROC_CONTRIB_MAX];

    for (int i = a; i < b; i++) {
        slot *sl = map_get(m, &ev[i]);
        bool first_in_batch = true;
        for (int j = a; j < i && first_in_batch; j++)
            first_in_batch = !same_dossier(&ev[j], &ev[i]);
        if (!first_in_batch)
            continue;
        if (sl->enc_len == 0)
            chiso_dossier_reset(old);
        else if (chiso_dossier_decode(old, sl->enc, (size_t)sl->enc_len) != 0)
            return CHISO_ESTATE;
        chiso_dossier_copy(cur, old);
        bool changed = false;
        int64_t max_offset = -1;
        for (int j = i; j < b; j++) {
            if (!same_dossier(&ev[j], &ev[i]))
                continue;
            if (chiso_dossier_fenced(old, sl->partition, offset[j]))
                continue;
            /* the catalog as the processor knows it, before each event */
            changed |= chiso_dossier_apply_catalog(cur, attrs_of(s, ev[j].procedure)) != 0;
            changed |= chiso_dossier_apply(cur, &ev[j]) != 0;
            if (offset[j] > max_offset)
                max_offset = offset[j];
        }
        if (!changed)
            continue;
        if (replayed_changes)
            (*replayed_changes)++;
        chiso_dossier_set_fence(cur, sl->partition, max_offset);
        int no = chiso_dossier_contrib(old, oc);
        int nn = chiso_dossier_contrib(cur, nc);
        int nd = chiso_contrib_diff(oc, no, nc, nn, d);
        for (int k = 0; k < nd; k++) {
            if (refmodel_table_add(t, sl->first->unit, d[k].day, d[k].counter, d[k].delta))
                return CHISO_ENOMEM;
        }
        no = chiso_dossier_proc_contrib(old, op);
        nn = chiso_dossier_proc_contrib(cur, np);
        nd = chiso_proc_contrib_diff(op, no, chiso_dossier_procedure(old), np, nn,
                                     chiso_dossier_procedure(cur), pd);
        for (int k = 0; k < nd; k++) {
            if (refmodel_table_add_proc(t, sl->first->unit, pd[k].day, what_of(pd[k].set),
                                        pd[k].procedure, pd[k].delta))
                return CHISO_ENOMEM;
            if (pch && pd[k].delta > 0)
                pch->added += pd[k].delta;
            else if (pch)
                pch->removed -= pd[k].delta;
        }
        sl->enc_len = chiso_dossier_encode(cur, sl->enc, sizeof(sl->enc));
        if (sl->enc_len <= 0)
            return CHISO_ERANGE;
    }
    return 0;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/* The processor's path: batches of random size, some replayed. */
static int run_incremental(const gen_stream *s, const chiso_event *ev, uint64_t seed,
                           dossier_map *m, refmodel_table *t, int *replay_errors, proc_changes *pch)
{
    static const int sizes[] = {1, 3, 16, 64, 500};
    int64_t *offset = malloc(((size_t)s->nev + 1) * sizeof(*offset));
    int64_t next[PARTITIONS] = {0};
    chiso_dossier *old = chiso_dossier_new(), *cur = chiso_dossier_new();
    uint64_t r = mix(seed ^ 0xabcdefULL);
    int rc = CHISO_ENOMEM;

    if (!offset || !old || !cur)
        goto out;
    /* each dossier's partition receives the events in stream order */
    for (int i = 0; i < s->nev; i++)
        offset[i] = next[map_get(m, &ev[i])->partition]++;
    int max = sizes[seed % (sizeof(sizes) / sizeof(sizes[0]))];
    rc = 0;
    for (int a = 0; a < s->nev && rc == 0;) {
        r = mix(r + 1);
        int b = a + 1 + (int)(r % (uint64_t)max);
        if (b > s->nev)
            b = s->nev;
        rc = apply_batch(s, ev, offset, a, b, m, t, old, cur, NULL, pch);
        if (rc == 0 && (r >> 20) % 10 == 0) {
            int changes = 0; /* replay: the offsets were not committed */
            rc = apply_batch(s, ev, offset, a, b, m, t, old, cur, &changes, pch);
            *replay_errors += changes;
        }
        a = b;
    }
    if (rc == 0)
        rc = refmodel_table_finish(t);
out:
    free(offset);
    chiso_dossier_free(old);
    chiso_dossier_free(cur);
    return rc;
}

/* ---- comparing ---- */

static void print_events(const chiso_event *const *evs, int n)
{
    char buf[2048];
    for (int i = 0; i < n; i++) {
        if (chiso_event_to_json(evs[i], buf, sizeof(buf)) > 0)
            fprintf(stderr, "    %s\n", buf);
    }
}

static int contrib_cmp(const void *pa, const void *pb)
{
    const chiso_contrib *a = pa, *b = pb;
    if (a->counter != b->counter)
        return (int)a->counter - (int)b->counter;
    return (a->day > b->day) - (a->day < b->day);
}

static void print_contribs(const char *who, chiso_contrib *c, int n)
{
    char day[CHISO_PERIOD_STRLEN];
    qsort(c, (size_t)n, sizeof(*c), contrib_cmp);
    fprintf(stderr, "  %-6s", who);
    for (int i = 0; i < n; i++) {
        chiso_period_key(c[i].day, CHISO_PERIOD_DAY, day);
        fprintf(stderr, " %s@%s", chiso_counter_name(c[i].counter), day);
    }
    fputc('\n', stderr);
}

/* Per dossier: the model's judgement against core's state. Returns how many
 * dossiers differ (the first MAX_REPORT are described). */
static int compare_dossiers(uint64_t seed, const refmodel *model, const gen_stream *s,
                            dossier_map *m)
{
    int bad = 0;
    for (int i = 0; i < refmodel_ndossiers(model); i++) {
        const chiso_event *const *evs;
        const refmodel_judged *j;
        int n = refmodel_dossier(model, i, &evs, &j);
        chiso_contrib want[REFMODEL_CONTRIB_MAX], got[CHISO_CONTRIB_MAX];
        const chiso_dossier *d = map_get(m, evs[0])->final;

        int ngot = chiso_dossier_contrib(d, got);
        int nwant = j->ncontrib < REFMODEL_CONTRIB_MAX ? j->ncontrib : REFMODEL_CONTRIB_MAX;
        for (int k = 0; k < nwant; k++) {
            want[k].counter = j->contrib[k].counter;
            want[k].day = j->contrib[k].day;
        }
        qsort(want, (size_t)nwant, sizeof(want[0]), contrib_cmp);
        qsort(got, (size_t)ngot, sizeof(got[0]), contrib_cmp);
        bool same = nwant == ngot && memcmp(want, got, (size_t)ngot * sizeof(got[0])) == 0;
        int32_t bday = chiso_dossier_overdue_day(d);
        int32_t bwant = j->overdue_day == REFMODEL_NEVER ? INT32_MAX : j->overdue_day;
        bool open_want = j->received && !j->closed;
        same = same && bday == bwant && chiso_dossier_open(d) == open_want;
        /* the memberships: each set the model names, on the received day */
        chiso_proc_contrib pgot[CHISO_PROC_CONTRIB_MAX];
        int npgot = chiso_dossier_proc_contrib(d, pgot);
        same = same && npgot == (int)j->po + (int)j->pp;
        for (int k = 0; k < npgot; k++)
            same = same && pgot[k].day == j->received_day &&
                   (what_of(pgot[k].set) == REFMODEL_PO ? j->po : j->pp);
        if (same)
            continue;
        if (bad++ >= MAX_REPORT)
            continue;
        char b1[CHISO_PERIOD_STRLEN] = "never", b2[CHISO_PERIOD_STRLEN] = "never";
        if (bwant != INT32_MAX)
            chiso_period_key(bwant, CHISO_PERIOD_DAY, b1);
        if (bday != INT32_MAX)
            chiso_period_key(bday, CHISO_PERIOD_DAY, b2);
        fprintf(stderr,
                "seed %llu: dossier %s (unit %s, catalog attributes 0x%llx) differs: overdue "
                "day model %s, core %s; open model %d, core %d\n",
                (unsigned long long)seed, evs[0]->dossier_id, evs[0]->unit,
                (unsigned long long)attrs_of(s, evs[0]->procedure), b1, b2, open_want,
                chiso_dossier_open(d));
        print_contribs("model", want, nwant);
        print_contribs("core", got, ngot);
        fprintf(stderr, "  procedure sets: model po %d pp %d; core", j->po, j->pp);
        for (int k = 0; k < npgot; k++)
            fprintf(stderr, " %s", chiso_proc_set_name(pgot[k].set));
        fputc('\n', stderr);
        fprintf(stderr, "  events (%d, arrival order):\n", n);
        print_events(evs, n);
    }
    return bad;
}

/* The order of a table's cells, values aside. */
static int cell_key_cmp(const refmodel_cell *a, const refmodel_cell *b)
{
    int c = strcmp(a->unit, b->unit);
    if (c)
        return c;
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    if (a->first_day != b->first_day)
        return a->first_day < b->first_day ? -1 : 1;
    if (a->what != b->what)
        return (int)a->what - (int)b->what;
    if (a->counter != b->counter)
        return (int)a->counter - (int)b->counter;
    return strcmp(a->procedure, b->procedure);
}

/* Cell by cell; prints the first differences. Returns how many differ. */
static int compare_tables(uint64_t seed, const char *what, const refmodel_table *want,
                          const refmodel_table *got)
{
    size_t nw, ng, i = 0, j = 0;
    const refmodel_cell *w = refmodel_table_cells(want, &nw);
    const refmodel_cell *g = refmodel_table_cells(got, &ng);
    int bad = 0;
    char buf[160];

    while (i < nw || j < ng) {
        int c = i == nw ? 1 : j == ng ? -1 : cell_key_cmp(&w[i], &g[j]);
        if (c == 0 && w[i].value == g[j].value) {
            i++, j++;
            continue;
        }
        if (bad++ < 8) {
            if (c <= 0) {
                refmodel_cell_format(&w[i], buf, sizeof(buf));
                fprintf(stderr, "seed %llu: %s: model %s, %s has %lld\n", (unsigned long long)seed,
                        what, buf, what, c == 0 ? g[j].value : 0LL);
            } else {
                refmodel_cell_format(&g[j], buf, sizeof(buf));
                fprintf(stderr, "seed %llu: %s: %s, the model has none\n", (unsigned long long)seed,
                        what, buf);
            }
        }
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    return bad;
}

/* The model's open figures at every period end against the counters. */
static int compare_open(uint64_t seed, const refmodel *model, const refmodel_table *t)
{
    size_t n;
    const refmodel_cell *c = refmodel_table_cells(refmodel_counters(model), &n);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].kind == CHISO_PERIOD_DAY ||
            (i > 0 && strcmp(c[i - 1].unit, c[i].unit) == 0 && c[i - 1].kind == c[i].kind &&
             c[i - 1].first_day == c[i].first_day))
            continue;
        char key[CHISO_PERIOD_STRLEN];
        long long open, overdue;
        int32_t e = chiso_period_of(c[i].first_day, c[i].kind).last_day;
        chiso_period_key(c[i].first_day, c[i].kind, key);
        refmodel_open(model, c[i].unit, key, &open, &overdue);
        long long copen = refmodel_table_sum_upto(t, c[i].unit, e, CHISO_C_RECEIVED) -
                          refmodel_table_sum_upto(t, c[i].unit, e, CHISO_C_CLOSED);
        long long cover = refmodel_table_sum_upto(t, c[i].unit, e, CHISO_C_OVERDUE_BEGAN) -
                          refmodel_table_sum_upto(t, c[i].unit, e, CHISO_C_OVERDUE_CLOSED);
        if (open != copen || overdue != cover) {
            if (bad++ < 8)
                fprintf(stderr,
                        "seed %llu: %s %s: model open %lld overdue %lld, from the counters "
                        "open %lld overdue %lld\n",
                        (unsigned long long)seed, c[i].unit, key, open, overdue, copen, cover);
        }
    }
    return bad;
}

/* ---- the population D from the counters ---- */

/* The counters of chiso_snapshot_cum in a table's month and day cells of
 * one unit, as the snapshot sink reads them from Redis (HMGET of
 * chiso_snapshot_cum_fields): bucket keys in `keys`. */
typedef struct unit_buckets {
    chiso_snapshot_bucket *months, *days; /* ascending */
    int nmonths, ndays;
    char (*keys)[CHISO_PERIOD_STRLEN];
} unit_buckets;

static void buckets_clear(unit_buckets *b)
{
    free(b->months);
    free(b->days);
    free(b->keys);
    memset(b, 0, sizeof(*b));
}

/* A unit's month and day buckets from the table's cells. Returns 0 or
 * CHISO_ENOMEM. */
static int buckets_of(const refmodel_table *t, const char *unit, unit_buckets *b)
{
    size_t n;
    const refmodel_cell *c = refmodel_table_cells(t, &n);
    int pos[CHISO_C_COUNT]; /* a counter's place in chiso_snapshot_cum, or -1 */

    memset(b, 0, sizeof(*b));
    for (int k = 0; k < CHISO_C_COUNT; k++)
        pos[k] = -1;
    for (int k = 0; k < CHISO_SNAPSHOT_CUM; k++)
        pos[chiso_snapshot_cum[k]] = k;
    b->months = calloc(n + 1, sizeof(*b->months));
    b->days = calloc(n + 1, sizeof(*b->days));
    b->keys = calloc(2 * n + 1, sizeof(*b->keys));
    if (!b->months || !b->days || !b->keys) {
        buckets_clear(b);
        return CHISO_ENOMEM;
    }
    int nkeys = 0;
    for (size_t i = 0; i < n; i++) {
        bool day = c[i].kind == CHISO_PERIOD_DAY;
        if (strcmp(c[i].unit, unit) != 0 || c[i].what != REFMODEL_COUNTER ||
            (!day && c[i].kind != CHISO_PERIOD_MONTH) || pos[c[i].counter] < 0)
            continue;
        chiso_snapshot_bucket *list = day ? b->days : b->months;
        int *nb = day ? &b->ndays : &b->nmonths;
        char key[CHISO_PERIOD_STRLEN];
        chiso_period_key(c[i].first_day, c[i].kind, key);
        if (*nb == 0 || strcmp(list[*nb - 1].key, key) != 0) { /* cells are sorted */
            snprintf(b->keys[nkeys], sizeof(b->keys[0]), "%s", key);
            list[(*nb)++].key = b->keys[nkeys++];
        }
        list[*nb - 1].v[pos[c[i].counter]] = c[i].value;
    }
    return 0;
}

/* The model's population D of a unit in period p at end day e against
 * chiso_snapshot_population_of() on the unit's counters: every month
 * bucket and the day buckets of e's month (what the snapshot sink reads).
 * Returns how many fields differ (the first ones are printed). */
static long long population_checks; /* compare_population_at() calls, for the summary */

static int compare_population_at(uint64_t seed, const refmodel *model, const char *unit,
                                 const unit_buckets *b, const chiso_period *p, int32_t e,
                                 int *reported)
{
    population_checks++;
    chiso_snapshot_bucket *list = malloc(((size_t)b->nmonths + 31) * sizeof(*list));
    size_t n = 0;
    char key[CHISO_PERIOD_STRLEN], end[CHISO_PERIOD_STRLEN];
    chiso_period month = chiso_period_of(e, CHISO_PERIOD_MONTH);

    if (!list)
        return 1;
    for (int i = 0; i < b->nmonths; i++)
        list[n++] = b->months[i];
    for (int i = 0; i < b->ndays; i++) {
        chiso_period d;
        if (chiso_period_parse(b->days[i].key, &d) == 0 && d.first_day >= month.first_day &&
            d.first_day <= month.last_day)
            list[n++] = b->days[i];
    }
    chiso_period_key(p->first_day, p->kind, key);
    chiso_period_key(e, CHISO_PERIOD_DAY, end);
    chiso_snapshot_population got;
    refmodel_population want;
    int rc = chiso_snapshot_population_of(list, n, p, e, &got);
    free(list);
    refmodel_population_at(model, unit, key, e, &want);
    if (rc != 0) {
        if ((*reported)++ < 8)
            fprintf(stderr, "seed %llu: unit %s period %s end %s: population_of: %s\n",
                    (unsigned long long)seed, unit, key, end, chiso_strerror(rc));
        return 1;
    }
    const struct {
        const char *name;
        long long model, counters;
    } f[] = {
        {"judged", want.judged, got.judged},
        {"late", want.late, got.late},
        {"complaints", want.complaints, got.complaints},
        {"e_result", want.e_result, got.e_result},
        {"digitized", want.digitized, got.digitized},
        {"reused_data", want.reused_data, got.reused_data},
        {"from_data_store", want.from_data_store, got.from_data_store},
        {"population_data", want.population_data, got.population_data},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (f[i].model == f[i].counters)
            continue;
        bad++;
        if ((*reported)++ < 8)
            fprintf(stderr,
                    "seed %llu: unit %s period %s end %s: population D %s: model %lld, from "
                    "the counters %lld\n",
                    (unsigned long long)seed, unit, key, end, f[i].name, f[i].model, f[i].counters);
    }
    return bad;
}

/* For every unit and every month, quarter and year from the first day with
 * counters to a month past the last (where only dossiers carried over are
 * left), the model's population D against its derivation from the
 * pipeline's counters (table t), at the period's last day E and at days
 * inside E's month (the current period of a snapshot: day buckets).
 * *carried counts the periods whose D holds dossiers received before
 * them. Returns how many fields differ. */
static int compare_population(uint64_t seed, const refmodel *model, const gen_stream *s,
                              const refmodel_table *t, long long *carried)
{
    size_t n;
    const refmodel_cell *c = refmodel_table_cells(refmodel_counters(model), &n);
    int32_t dmin = INT32_MAX, dmax = INT32_MIN;
    int bad = 0, reported = 0;

    for (size_t i = 0; i < n; i++) {
        if (c[i].kind == CHISO_PERIOD_DAY) {
            dmin = c[i].first_day < dmin ? c[i].first_day : dmin;
            dmax = c[i].first_day > dmax ? c[i].first_day : dmax;
        }
    }
    if (dmin > dmax)
        return 0;
    dmax += 31;
    for (int u = 0; u < s->nunits; u++) {
        unit_buckets b;
        if (buckets_of(t, s->units[u], &b) != 0)
            return bad + 1;
        for (int k = CHISO_PERIOD_MONTH; k <= CHISO_PERIOD_YEAR; k++) {
            for (int32_t d = dmin; d <= dmax;) {
                chiso_period p = chiso_period_of(d, (chiso_period_kind)k);
                chiso_period last = chiso_period_of(p.last_day, CHISO_PERIOD_MONTH);
                /* E: the last day, then days of the last month (its first,
                 * its 15th, the day before the last) */
                int32_t ends[] = {p.last_day, last.first_day, last.first_day + 14, p.last_day - 1};
                for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++)
                    bad +=
                        compare_population_at(seed, model, s->units[u], &b, &p, ends[e], &reported);
                char key[CHISO_PERIOD_STRLEN];
                refmodel_population pop;
                chiso_period_key(p.first_day, p.kind, key);
                refmodel_population_of(model, s->units[u], key, &pop);
                *carried += pop.judged > refmodel_table_get(refmodel_counters(model), s->units[u],
                                                            key, CHISO_C_RECEIVED);
                d = p.last_day + 1;
            }
        }
        buckets_clear(&b);
    }
    return bad;
}

/* ---- one seed ---- */

/* What the population D needs the streams to hold (each must occur in
 * at least half of the seeds, as every counter must). */
enum {
    CASE_RETURNED_ONLY, /* received, returned, never resolved */
    CASE_ENDED,         /* received, withdrawn or stopped, neither resolved nor returned */
    CASE_COMPLAINT,     /* received, with a complaint event */
    CASE_DISLIKE,       /* received, rated not satisfied */
    CASE_ONE_REQUEST,   /* received, one supplement request */
    CASE_TWO_REQUESTS,  /* received, two */
    CASE_OPEN_ACROSS,   /* open at the end of its received day's month */
    CASE_CARRIED,       /* a period whose D holds dossiers received before it */
    NCASES
};
static const char *const case_names[NCASES] = {
    "a received dossier returned without a resolution",
    "a received dossier withdrawn or stopped only",
    "a received dossier with a complaint",
    "a received dossier rated not satisfied",
    "a received dossier with one supplement request",
    "a received dossier with two supplement requests",
    "a dossier open across a month end",
    "a period whose population D holds dossiers carried over into it",
};

/* The cases of one dossier (bits of 1 << CASE_...). */
static unsigned cases_of(const chiso_event *const *evs, int n, const refmodel_judged *j)
{
    bool has[CHISO_EV_TYPE_COUNT] = {false}, dislike = false;
    int64_t req[8];
    int nreq = 0;
    unsigned c = 0;
    if (!j->received)
        return 0;
    for (int i = 0; i < n; i++) {
        if ((unsigned)evs[i]->type < CHISO_EV_TYPE_COUNT)
            has[evs[i]->type] = true;
        dislike |= evs[i]->type == CHISO_EV_RATED && !evs[i]->satisfied;
        if (evs[i]->type == CHISO_EV_SUPPLEMENT_REQUESTED) {
            bool seen = false;
            for (int k = 0; k < nreq; k++)
                seen |= req[k] == evs[i]->at;
            if (!seen && nreq < 8)
                req[nreq++] = evs[i]->at;
        }
    }
    if (has[CHISO_EV_RETURNED] && !has[CHISO_EV_RESOLVED])
        c |= 1u << CASE_RETURNED_ONLY;
    if ((has[CHISO_EV_WITHDRAWN] || has[CHISO_EV_STOPPED]) && !has[CHISO_EV_RETURNED] &&
        !has[CHISO_EV_RESOLVED])
        c |= 1u << CASE_ENDED;
    if (has[CHISO_EV_COMPLAINT])
        c |= 1u << CASE_COMPLAINT;
    if (dislike)
        c |= 1u << CASE_DISLIKE;
    if (nreq == 1)
        c |= 1u << CASE_ONE_REQUEST;
    if (nreq == 2)
        c |= 1u << CASE_TWO_REQUESTS;
    if (refmodel_open_at(j, chiso_period_of(j->received_day, CHISO_PERIOD_MONTH).last_day, NULL))
        c |= 1u << CASE_OPEN_ACROSS;
    return c;
}

typedef struct totals {
    long long events, dossiers, cells, replayed;
    int cases[NCASES];          /* seeds where a case occurred */
    int covered[CHISO_C_COUNT]; /* seeds where a counter was non-zero */
    int covered_sets[2];        /* ... where a procedure set (po, pp) was not empty */
    int shared;                 /* ... where a set held a procedure with two dossiers */
    proc_changes changes;       /* membership changes of the incremental path */
} totals;

/* Serialize and parse back every event: the paths see what a consumer of
 * dossier.events would (and the generator must write valid records). */
static int roundtrip(chiso_event *ev, int n)
{
    char buf[2048];
    chiso_reject rej;
    for (int i = 0; i < n; i++) {
        int len = chiso_event_to_json(&ev[i], buf, sizeof(buf));
        if (len < 0 || chiso_event_parse(buf, (size_t)len, &ev[i], &rej) != 0) {
            fprintf(stderr, "event %s does not round-trip: %s\n", ev[i].event_id,
                    len < 0 ? "to_json" : rej.detail);
            return CHISO_EINVAL;
        }
    }
    return 0;
}

static bool run_seed(uint64_t seed, int dossiers, bool parse, totals *tot)
{
    gen_params p = {.seed = seed, .dossiers = dossiers, .units = 4};
    gen_stream s;
    dossier_map m = {0};
    refmodel *model = refmodel_new();
    refmodel_table *final = refmodel_table_new(), *incr = refmodel_table_new();
    int bad = 0, replay_changes = 0, rc;

    if (!model || !final || !incr || gen_stream_make(&p, &s) != 0) {
        CHECK(0, "seed %llu: out of memory", (unsigned long long)seed);
        refmodel_free(model);
        refmodel_table_free(final);
        refmodel_table_free(incr);
        return false;
    }
    if (parse && roundtrip(s.ev, s.nev) != 0)
        bad++;
    for (int i = 0; i < s.nprocs; i++) {
        refmodel_catalog cat = {.level = s.procs[i].level,
                                .paper_result_required = s.procs[i].paper_result_required};
        if (s.procs[i].in_catalog)
            refmodel_set_procedure(model, s.procs[i].code, &cat);
    }
    for (int i = 0; i < s.nev; i++)
        refmodel_add(model, &s.ev[i]);
    rc = refmodel_run(model);
    CHECK(rc == 0, "seed %llu: model: %s", (unsigned long long)seed, chiso_strerror(rc));

    rc = map_init(&m, s.nev);
    if (rc == 0)
        rc = run_final(&s, s.ev, &m, final);
    CHECK(rc == 0, "seed %llu: final path: %s", (unsigned long long)seed, chiso_strerror(rc));
    if (rc == 0)
        rc = run_incremental(&s, s.ev, seed, &m, incr, &replay_changes, &tot->changes);
    CHECK(rc == 0, "seed %llu: incremental path: %s", (unsigned long long)seed, chiso_strerror(rc));
    CHECK(replay_changes == 0, "seed %llu: %d dossiers changed when a batch was replayed",
          (unsigned long long)seed, replay_changes);

    bad += compare_dossiers(seed, model, &s, &m);
    bad += compare_tables(seed, "final", refmodel_counters(model), final);
    bad += compare_tables(seed, "incremental", refmodel_counters(model), incr);
    bad += compare_open(seed, model, incr);
    long long carried = 0;
    bad += compare_population(seed, model, &s, incr, &carried);
    CHECK(bad == 0, "seed %llu: %d differences (rerun: test_property --seed %llu)",
          (unsigned long long)seed, bad, (unsigned long long)seed);

    size_t ncells;
    const refmodel_cell *cells = refmodel_table_cells(refmodel_counters(model), &ncells);
    bool seen[CHISO_C_COUNT] = {false}, seen_set[2] = {false}, shared = false;
    for (size_t i = 0; i < ncells; i++) {
        if (cells[i].what == REFMODEL_COUNTER)
            seen[cells[i].counter] = true;
        else
            seen_set[cells[i].what - REFMODEL_PO] = true;
        shared |= cells[i].what != REFMODEL_COUNTER && cells[i].value > 1;
    }
    for (int c = 0; c < CHISO_C_COUNT; c++)
        tot->covered[c] += seen[c];
    unsigned cases = carried > 0 ? 1u << CASE_CARRIED : 0;
    for (int i = 0; i < refmodel_ndossiers(model); i++) {
        const chiso_event *const *evs;
        const refmodel_judged *j;
        int n = refmodel_dossier(model, i, &evs, &j);
        cases |= cases_of(evs, n, j);
    }
    for (int k = 0; k < NCASES; k++)
        tot->cases[k] += (cases >> k) & 1;
    for (int k = 0; k < 2; k++)
        tot->covered_sets[k] += seen_set[k];
    tot->shared += shared;
    tot->events += s.nev;
    tot->dossiers += refmodel_ndossiers(model);
    tot->cells += (long long)ncells;

    map_clear(&m);
    refmodel_free(model);
    refmodel_table_free(final);
    refmodel_table_free(incr);
    gen_stream_clear(&s);
    return bad == 0;
}

/* ---- the model itself, on hand-written cases (docs/ontime.md) ---- */

static chiso_event mk(chiso_event_type type, int64_t at)
{
    chiso_event e;
    memset(&e, 0, sizeof(e));
    e.type = type;
    snprintf(e.event_id, sizeof(e.event_id), "x%lld", (long long)at);
    snprintf(e.dossier_id, sizeof(e.dossier_id), "D1");
    snprintf(e.unit, sizeof(e.unit), "U1");
    snprintf(e.procedure, sizeof(e.procedure), "P1");
    e.at = at;
    return e;
}

static void test_model_ontime(void)
{
    /* days from 2025-07-01 (a local day number d0), at 10:00 local */
    chiso_period p;
    chiso_period_parse("2025-07-01", &p);
    int32_t d0 = p.first_day;
#define AT(d) (chiso_day_start(d0 + (d)) + 10 * 3600)
    static const struct {
        int due;          /* due day */
        int req[3], nreq; /* supplement request days */
        int rec[3], nrec; /* receipt days */
        int want_b;       /* -1 = never */
    } cases[] = {
        {5, {0}, 0, {0}, 0, 6},       /* no request: due + 1 */
        {5, {2}, 1, {4}, 1, 8},       /* one request, answered 2 days later */
        {5, {2}, 1, {0}, 0, -1},      /* waiting on a request made in time */
        {5, {7}, 1, {9}, 1, 6},       /* asked after the due day: due + 1 */
        {5, {2, 3}, 2, {2, 4}, 2, 3}, /* two requests: the second one's day */
        {5, {2}, 1, {1, 3}, 2, 7},    /* a receipt before the request is ignored */
        {-3, {0}, 0, {0}, 0, 0},      /* due before reception: the reception day */
        {5, {2}, 1, {2}, 1, 6},       /* answered the same day: nothing excluded */
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        chiso_event ev[8];
        const chiso_event *pev[8];
        int n = 0;
        ev[n] = mk(CHISO_EV_RECEIVED, AT(0));
        ev[n++].due_at = AT(cases[c].due);
        for (int i = 0; i < cases[c].nreq; i++)
            ev[n++] = mk(CHISO_EV_SUPPLEMENT_REQUESTED, AT(cases[c].req[i]));
        for (int i = 0; i < cases[c].nrec; i++)
            ev[n++] = mk(CHISO_EV_SUPPLEMENT_RECEIVED, AT(cases[c].rec[i]) + 60);
        for (int i = 0; i < n; i++)
            pev[i] = &ev[i];
        refmodel_judged j;
        refmodel_catalog none = {.level = CHISO_LEVEL_UNKNOWN};
        CHECK_EQ_INT(refmodel_judge(pev, n, &none, &j), 0, "case %zu", c);
        int32_t want = cases[c].want_b < 0 ? REFMODEL_NEVER : d0 + cases[c].want_b;
        CHECK_EQ_INT(j.overdue_day, want, "case %zu: overdue day", c);
    }
#undef AT
}

int main(int argc, char **argv)
{
    uint64_t first = 1;
    int seeds = 250, dossiers = 300;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 == argc) {
            fprintf(stderr, "test_property: %s needs a value\n", argv[i]);
            return 2;
        } else if (strcmp(argv[i], "--seed") == 0) {
            first = strtoull(argv[i + 1], NULL, 10);
            seeds = 1;
        } else if (strcmp(argv[i], "--seeds") == 0) {
            seeds = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--first") == 0) {
            first = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--dossiers") == 0) {
            dossiers = atoi(argv[i + 1]);
        } else {
            fprintf(stderr, "usage: test_property [--seed N | --seeds K] [--first S] "
                            "[--dossiers D]\n");
            return 2;
        }
    }

    test_model_ontime();

    totals tot;
    memset(&tot, 0, sizeof(tot));
    int failed = 0;
    clock_t t0 = clock();
    for (int k = 0; k < seeds; k++) {
        /* the JSON round trip costs more than the rest: every 10th seed */
        if (!run_seed(first + (uint64_t)k, dossiers, k % 10 == 0, &tot))
            failed++;
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    /* every counter must occur, or the generator misses a path */
    for (int c = 0; c < CHISO_C_COUNT && seeds >= 20; c++)
        CHECK(tot.covered[c] * 2 >= seeds, "counter %s occurs in only %d of %d seeds",
              chiso_counter_name((chiso_counter_id)c), tot.covered[c], seeds);
    /* and every procedure set, with procedures of several dossiers, and
     * memberships that a later fact takes back (a field leaving its hash) */
    for (int k = 0; k < 2 && seeds >= 20; k++)
        CHECK(tot.covered_sets[k] * 2 >= seeds, "procedure set %s occurs in only %d of %d seeds",
              refmodel_what_name((refmodel_what)(REFMODEL_PO + k)), tot.covered_sets[k], seeds);
    /* and what the population D needs */
    for (int k = 0; k < NCASES && seeds >= 20; k++)
        CHECK(tot.cases[k] * 2 >= seeds, "%s in only %d of %d seeds", case_names[k], tot.cases[k],
              seeds);
    CHECK(seeds < 20 || tot.shared * 2 >= seeds,
          "a procedure with two dossiers in a set in only %d of %d seeds", tot.shared, seeds);
    CHECK(seeds < 20 || tot.changes.removed > 0, "no membership was ever taken back (%lld added)",
          tot.changes.added);
    printf("property: %d seeds from %llu, %lld dossiers, %lld events, %lld cells, membership "
           "changes +%lld -%lld, %lld populations D, %d failing seeds, %.1f s\n",
           seeds, (unsigned long long)first, tot.dossiers, tot.events, tot.cells, tot.changes.added,
           tot.changes.removed, population_checks, failed, secs);
    printf("property: seeds with");
    for (int k = 0; k < NCASES; k++)
        printf("%s %s: %d", k ? ";" : "", case_names[k], tot.cases[k]);
    printf("\n");
    return CHECK_DONE();
}
