/*
 * refmodel.c - the reference model (refmodel.h): the rules restated from
 * the documents, one dossier at a time, with plain arrays and sorting.
 *
 * Speed does not matter here, obviousness does: a reader should be able to
 * check refmodel_judge() against counters.h, docs/ontime.md and
 * docs/classification.md line by line.
 */
#include "refmodel.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "sim_truth.h"

/* ---- table ---- */

typedef struct raw_add {
    char unit[CHISO_CODE_MAX + 1];
    int32_t day;
    refmodel_what what;
    chiso_counter_id counter;
    char procedure[CHISO_CODE_MAX + 1];
    long long delta;
} raw_add;

struct refmodel_table {
    raw_add *raw;
    size_t nraw, capraw;
    refmodel_cell *cells;
    size_t ncells;
};

refmodel_table *refmodel_table_new(void)
{
    return calloc(1, sizeof(refmodel_table));
}

void refmodel_table_free(refmodel_table *t)
{
    if (!t)
        return;
    free(t->raw);
    free(t->cells);
    free(t);
}

const char *refmodel_what_name(refmodel_what what)
{
    return what == REFMODEL_PO ? "po" : what == REFMODEL_PP ? "pp" : NULL;
}

/* Append one raw addition; NULL when out of memory. */
static raw_add *raw_new(refmodel_table *t, const char *unit, int32_t day, long long delta)
{
    if (t->nraw == t->capraw) {
        size_t cap = t->capraw ? t->capraw * 2 : 256;
        raw_add *r = realloc(t->raw, cap * sizeof(*r));
        if (!r)
            return NULL;
        t->raw = r;
        t->capraw = cap;
    }
    raw_add *a = &t->raw[t->nraw++];
    memset(a, 0, sizeof(*a));
    snprintf(a->unit, sizeof(a->unit), "%s", unit);
    a->day = day;
    a->delta = delta;
    return a;
}

int refmodel_table_add(refmodel_table *t, const char *unit, int32_t day, chiso_counter_id counter,
                       long long delta)
{
    raw_add *a = raw_new(t, unit, day, delta);
    if (!a)
        return CHISO_ENOMEM;
    a->what = REFMODEL_COUNTER;
    a->counter = counter;
    return 0;
}

int refmodel_table_add_proc(refmodel_table *t, const char *unit, int32_t day, refmodel_what set,
                            const char *procedure, long long delta)
{
    raw_add *a = raw_new(t, unit, day, delta);
    if (!a)
        return CHISO_ENOMEM;
    a->what = set;
    snprintf(a->procedure, sizeof(a->procedure), "%s", procedure);
    return 0;
}

static int cell_cmp(const void *pa, const void *pb)
{
    const refmodel_cell *a = pa, *b = pb;
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

int refmodel_table_finish(refmodel_table *t)
{
    size_t n = 0;
    refmodel_cell *all = malloc((t->nraw * CHISO_PERIOD_KINDS + 1) * sizeof(*all));
    if (!all)
        return CHISO_ENOMEM;
    for (size_t i = 0; i < t->nraw; i++) {
        for (int k = 0; k < CHISO_PERIOD_KINDS; k++) {
            if (t->raw[i].what != REFMODEL_COUNTER && k == CHISO_PERIOD_DAY)
                continue; /* procedure sets: months, quarters, years */
            refmodel_cell *c = &all[n++];
            memcpy(c->unit, t->raw[i].unit, sizeof(c->unit));
            c->kind = (chiso_period_kind)k;
            c->first_day = chiso_period_of(t->raw[i].day, (chiso_period_kind)k).first_day;
            c->what = t->raw[i].what;
            c->counter = t->raw[i].counter;
            memcpy(c->procedure, t->raw[i].procedure, sizeof(c->procedure));
            c->value = t->raw[i].delta;
        }
    }
    qsort(all, n, sizeof(*all), cell_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        long long sum = all[i].value;
        while (j < n && cell_cmp(&all[i], &all[j]) == 0)
            sum += all[j++].value;
        if (sum != 0) {
            all[out] = all[i];
            all[out++].value = sum;
        }
        i = j;
    }
    free(t->cells);
    t->cells = all;
    t->ncells = out;
    return 0;
}

const refmodel_cell *refmodel_table_cells(const refmodel_table *t, size_t *n)
{
    *n = t->ncells;
    return t->cells;
}

/* Index of the first cell not ordered before `key` (binary search). */
static size_t lower_bound(const refmodel_table *t, const refmodel_cell *key)
{
    size_t lo = 0, hi = t->ncells;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cell_cmp(&t->cells[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

long long refmodel_table_get(const refmodel_table *t, const char *unit, const char *period,
                             chiso_counter_id counter)
{
    chiso_period p;
    refmodel_cell key;
    if (chiso_period_parse(period, &p) != 0)
        return 0;
    memset(&key, 0, sizeof(key));
    snprintf(key.unit, sizeof(key.unit), "%s", unit);
    key.kind = p.kind;
    key.first_day = p.first_day;
    key.counter = counter;
    size_t i = lower_bound(t, &key);
    return i < t->ncells && cell_cmp(&t->cells[i], &key) == 0 ? t->cells[i].value : 0;
}

long long refmodel_table_sum_upto(const refmodel_table *t, const char *unit, int32_t last_day,
                                  chiso_counter_id counter)
{
    refmodel_cell key;
    long long sum = 0;
    memset(&key, 0, sizeof(key));
    snprintf(key.unit, sizeof(key.unit), "%s", unit);
    key.kind = CHISO_PERIOD_DAY;
    key.first_day = INT32_MIN;
    for (size_t i = lower_bound(t, &key); i < t->ncells; i++) {
        const refmodel_cell *c = &t->cells[i];
        if (strcmp(c->unit, unit) != 0 || c->kind != CHISO_PERIOD_DAY || c->first_day > last_day)
            break;
        if (c->what == REFMODEL_COUNTER && c->counter == counter)
            sum += c->value;
    }
    return sum;
}

void refmodel_cell_format(const refmodel_cell *c, char *buf, size_t size)
{
    char key[CHISO_PERIOD_STRLEN];
    chiso_period_key(c->first_day, c->kind, key);
    if (c->what == REFMODEL_COUNTER)
        snprintf(buf, size, "%s %s %s=%lld", c->unit, key, chiso_counter_name(c->counter),
                 c->value);
    else
        snprintf(buf, size, "%s %s %s %s=%lld", c->unit, key, refmodel_what_name(c->what),
                 c->procedure, c->value);
}

/* ---- one dossier ---- */

static int cmp_bool(bool a, bool b)
{
    return (int)a - (int)b;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* The content order of two occurrences of the same single-valued fact
 * (refmodel.h lists it). */
static int content_cmp(const chiso_event *a, const chiso_event *b)
{
    int c = 0;
    switch (a->type) {
    case CHISO_EV_SUBMITTED:
        return (int)a->channel - (int)b->channel;
    case CHISO_EV_RECEIVED: {
        if ((c = cmp_i64(a->due_at, b->due_at)) != 0)
            return c;
        int fa =
            a->digitized | a->reused_data << 1 | a->from_data_store << 2 | a->population_data << 3;
        int fb =
            b->digitized | b->reused_data << 1 | b->from_data_store << 2 | b->population_data << 3;
        return fa - fb;
    }
    case CHISO_EV_RESOLVED:
        if ((c = (int)a->outcome - (int)b->outcome) != 0)
            return c;
        if ((c = cmp_bool(a->e_signed, b->e_signed)) != 0)
            return c;
        return cmp_bool(a->e_result, b->e_result);
    case CHISO_EV_RETURNED:
        if ((c = (int)a->delivery - (int)b->delivery) != 0)
            return c;
        return cmp_bool(a->paper_copy, b->paper_copy);
    case CHISO_EV_RATED:
        return cmp_bool(a->satisfied, b->satisfied);
    default:
        return 0;
    }
}

/* The earliest occurrence of a single-valued fact (ties: smaller content),
 * or NULL when the dossier has no event of that type. */
static const chiso_event *earliest(const chiso_event *const *evs, int n, chiso_event_type type)
{
    const chiso_event *best = NULL;
    for (int i = 0; i < n; i++) {
        const chiso_event *e = evs[i];
        if (e->type != type)
            continue;
        if (!best || e->at < best->at || (e->at == best->at && content_cmp(e, best) < 0))
            best = e;
    }
    return best;
}

static int i64_cmp(const void *a, const void *b)
{
    return cmp_i64(*(const int64_t *)a, *(const int64_t *)b);
}

/* The sorted distinct times of the events of `type`; returns how many, or
 * -1 when more than REFMODEL_SUPP_MAX. */
static int distinct_times(const chiso_event *const *evs, int n, chiso_event_type type, int64_t *out)
{
    int64_t all[REFMODEL_SUPP_MAX * 4];
    int k = 0, m = 0;
    for (int i = 0; i < n; i++) {
        if (evs[i]->type != type)
            continue;
        if (k == (int)(sizeof(all) / sizeof(all[0])))
            return -1;
        all[k++] = evs[i]->at;
    }
    qsort(all, (size_t)k, sizeof(all[0]), i64_cmp);
    for (int i = 0; i < k; i++) {
        if (m > 0 && out[m - 1] == all[i])
            continue;
        if (m == REFMODEL_SUPP_MAX)
            return -1;
        out[m++] = all[i];
    }
    return m;
}

static int32_t day_of(int64_t t)
{
    return chiso_local_day(t);
}

static int32_t max_day(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

/* The classes of docs/classification.md (the model's own names). */
typedef enum model_class { NO_CLASS, FULL_PROCESS, PARTIAL, OFFLINE } model_class;

/* docs/classification.md: the class of a dossier on the facts it has. */
static model_class class_of(const chiso_event *const *evs, int n)
{
    const chiso_event *submitted = earliest(evs, n, CHISO_EV_SUBMITTED);
    const chiso_event *resolved = earliest(evs, n, CHISO_EV_RESOLVED);
    const chiso_event *returned = earliest(evs, n, CHISO_EV_RETURNED);
    bool fee = false, paid_platform = false, paid_other = false, requirement = false;

    for (int i = 0; i < n; i++) {
        const chiso_event *e = evs[i];
        if (e->type == CHISO_EV_FEE_REQUESTED && e->amount > 0)
            fee = true;
        if (e->type == CHISO_EV_PAID && e->method == CHISO_PAY_DVCQG_PLATFORM)
            paid_platform = true;
        if (e->type == CHISO_EV_PAID && e->method != CHISO_PAY_DVCQG_PLATFORM)
            paid_other = true;
        if (e->type == CHISO_EV_REQUIREMENT)
            requirement = true;
    }
    if (!submitted)
        return NO_CLASS; /* channel unknown: no class yet */
    if (submitted->channel != CHISO_CHANNEL_ONLINE)
        return OFFLINE; /* 1. not submitted online */
    if (fee && (paid_other || (returned && !paid_platform)))
        return PARTIAL; /* 2. fee not paid through the national platform */
    if (resolved && !resolved->e_result)
        return PARTIAL; /* 3. no electronic result */
    if (returned && !(returned->delivery == CHISO_DELIVERY_ONLINE ||
                      (returned->delivery == CHISO_DELIVERY_POSTAL && returned->paper_copy)))
        return PARTIAL; /* 4. not returned online */
    if (requirement)
        return PARTIAL; /* 5. in person, paper or on-site verification */
    return FULL_PROCESS;
}

/* docs/ontime.md: the first overdue day B of a received dossier. */
static int overdue_day_of(const chiso_event *const *evs, int n, const chiso_event *received,
                          int *err)
{
    int64_t req[REFMODEL_SUPP_MAX], rec[REFMODEL_SUPP_MAX];
    int32_t rday = day_of(received->at), due = day_of(received->due_at);
    int nreq = distinct_times(evs, n, CHISO_EV_SUPPLEMENT_REQUESTED, req);
    int nrec = distinct_times(evs, n, CHISO_EV_SUPPLEMENT_RECEIVED, rec);

    if (nreq < 0 || nrec < 0) {
        *err = CHISO_ERANGE;
        return REFMODEL_NEVER;
    }
    if (nreq == 0)
        return max_day(rday, due + 1);
    /* as if the first request r were the only one */
    int32_t b = REFMODEL_NEVER; /* waiting on a request made in time */
    int32_t rd = day_of(req[0]);
    if (rd > due) { /* already late when asking */
        b = max_day(rday, due + 1);
    } else {
        for (int i = 0; i < nrec; i++) {
            if (rec[i] >= req[0]) { /* the first receipt at or after r: the wait is excluded */
                b = max_day(rday, due + (day_of(rec[i]) - rd) + 1);
                break;
            }
        }
    }
    /* two or more requests: late from the second one on, or earlier */
    if (nreq >= 2 && max_day(rday, day_of(req[1])) < b)
        b = max_day(rday, day_of(req[1]));
    return b;
}

static void add(refmodel_judged *j, chiso_counter_id c, int32_t day)
{
    if (j->ncontrib < REFMODEL_CONTRIB_MAX) {
        j->contrib[j->ncontrib].counter = c;
        j->contrib[j->ncontrib].day = day;
    }
    j->ncontrib++;
}

/* True when the dossier has an event of `type`. */
static bool any_of(const chiso_event *const *evs, int n, chiso_event_type type)
{
    for (int i = 0; i < n; i++) {
        if (evs[i]->type == type)
            return true;
    }
    return false;
}

int refmodel_judge(const chiso_event *const *evs, int n, const refmodel_catalog *cat,
                   refmodel_judged *out)
{
    int err = 0;
    const chiso_event *submitted = earliest(evs, n, CHISO_EV_SUBMITTED);
    const chiso_event *received = earliest(evs, n, CHISO_EV_RECEIVED);
    const chiso_event *resolved = earliest(evs, n, CHISO_EV_RESOLVED);
    const chiso_event *rated = earliest(evs, n, CHISO_EV_RATED);
    chiso_channel channel = submitted ? submitted->channel : CHISO_CHANNEL_UNKNOWN;
    chiso_service_level level = cat->level;
    bool e_result = resolved && resolved->e_result;
    bool fee = false, paid_online = false;

    for (int i = 0; i < n; i++) {
        const chiso_event *e = evs[i];
        if (e->type == CHISO_EV_FEE_REQUESTED && e->amount > 0)
            fee = true;
        if (e->type == CHISO_EV_PAID &&
            (e->method == CHISO_PAY_DVCQG_PLATFORM || e->method == CHISO_PAY_PROVINCIAL_GATEWAY))
            paid_online = true;
    }

    memset(out, 0, sizeof(*out));
    out->overdue_day = REFMODEL_NEVER;

    /* received, by channel, and by the procedure's service level */
    if (received) {
        int32_t rday = day_of(received->at);
        out->received = true;
        out->received_day = rday;
        out->overdue_day = overdue_day_of(evs, n, received, &err);
        add(out, CHISO_C_RECEIVED, rday);
        if (channel == CHISO_CHANNEL_ONLINE)
            add(out, CHISO_C_RECEIVED_ONLINE, rday);
        if (channel == CHISO_CHANNEL_DIRECT)
            add(out, CHISO_C_RECEIVED_DIRECT, rday);
        if (channel == CHISO_CHANNEL_POSTAL)
            add(out, CHISO_C_RECEIVED_POSTAL, rday);
        if (level == CHISO_LEVEL_FULL) {
            add(out, CHISO_C_RECEIVED_SVC_FULL, rday);
            if (channel == CHISO_CHANNEL_ONLINE)
                add(out, CHISO_C_RECEIVED_SVC_FULL_ONLINE, rday);
        }
        if (level == CHISO_LEVEL_PARTIAL) {
            add(out, CHISO_C_RECEIVED_SVC_PARTIAL, rday);
            if (channel == CHISO_CHANNEL_ONLINE)
                add(out, CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE, rday);
        }
        /* the dossier indicators of Decision 766 counted at reception */
        if (any_of(evs, n, CHISO_EV_SYNCED))
            add(out, CHISO_C_SYNCED, rday); /* #4 */
        if (channel == CHISO_CHANNEL_ONLINE && (e_result || !cat->paper_result_required))
            add(out, CHISO_C_RECEIVED_ONLINE_VALID, rday); /* #8 */
        if (fee)
            add(out, CHISO_C_FEE_DOSSIERS, rday); /* #11 denominator */
        if (fee && paid_online)
            add(out, CHISO_C_PAID_ONLINE, rday); /* #11 */
        if (received->digitized)
            add(out, CHISO_C_DIGITIZED, rday); /* #13 */
        if (received->reused_data)
            add(out, CHISO_C_REUSED_DATA, rday); /* #14 */
        if (received->digitized && received->from_data_store)
            add(out, CHISO_C_FROM_DATA_STORE, rday); /* #16: of the digitized */
        if (received->population_data)
            add(out, CHISO_C_POPULATION_DATA, rday); /* #18 */
        /* what the population D counts (#12-#18, #21) */
        out->complaint = any_of(evs, n, CHISO_EV_COMPLAINT) || (rated && !rated->satisfied);
        out->e_result = e_result;
        out->digitized = received->digitized;
        out->reused_data = received->reused_data;
        out->from_data_store = received->digitized && received->from_data_store;
        out->population_data = received->population_data;
        if (out->complaint)
            add(out, CHISO_C_COMPLAINT_RECEIVED, rday); /* #21 of D */
        /* the procedure sets of #7 and #9, counting procedures: received
         * online with a procedure offered online; counted in paid_online */
        out->po = channel == CHISO_CHANNEL_ONLINE &&
                  (level == CHISO_LEVEL_FULL || level == CHISO_LEVEL_PARTIAL);
        out->pp = fee && paid_online;
    }

    /* resolved: on time or late (needs the received event), and the class */
    if (resolved) {
        int32_t sday = day_of(resolved->at);
        add(out, CHISO_C_RESOLVED, sday);
        if (received)
            add(out, sday < out->overdue_day ? CHISO_C_RESOLVED_ON_TIME : CHISO_C_RESOLVED_LATE,
                sday);
        switch (class_of(evs, n)) {
        case FULL_PROCESS:
            add(out, CHISO_C_FULL_PROCESS, sday);
            break;
        case PARTIAL:
            add(out, CHISO_C_PARTIAL, sday);
            break;
        case OFFLINE:
            add(out, CHISO_C_OFFLINE, sday);
            break;
        default:
            break;
        }
        if (e_result)
            add(out, CHISO_C_RESOLVED_E_RESULT, sday); /* #12 */
        if (received && (any_of(evs, n, CHISO_EV_COMPLAINT) || (rated && !rated->satisfied)))
            add(out, CHISO_C_RESOLVED_COMPLAINT, sday); /* #21 */
    }

    /* closed, overdue_began, overdue_closed, and at the closed day what the
     * dossier counted at its received day for D: received dossiers only */
    if (received) {
        /* it finished when resolved, else when returned, else at the first
         * of withdrawn, stopped and not accepted (counters.h, DOMAIN.md) */
        static const chiso_event_type enders[] = {CHISO_EV_WITHDRAWN, CHISO_EV_STOPPED,
                                                  CHISO_EV_NOT_ACCEPTED};
        const chiso_event *first = resolved ? resolved : earliest(evs, n, CHISO_EV_RETURNED);
        if (!first) {
            for (size_t i = 0; i < sizeof(enders) / sizeof(enders[0]); i++) {
                const chiso_event *e = earliest(evs, n, enders[i]);
                if (e && (!first || e->at < first->at))
                    first = e;
            }
        }
        int32_t b = out->overdue_day;
        if (first) {
            out->closed = true;
            out->closed_day = max_day(out->received_day, day_of(first->at));
            add(out, CHISO_C_CLOSED, out->closed_day);
        }
        if (b != REFMODEL_NEVER && (!out->closed || out->closed_day >= b))
            add(out, CHISO_C_OVERDUE_BEGAN, b);
        if (b != REFMODEL_NEVER && out->closed && out->closed_day >= b)
            add(out, CHISO_C_OVERDUE_CLOSED, out->closed_day);
        if (out->closed) {
            int32_t c = out->closed_day;
            if (out->complaint)
                add(out, CHISO_C_COMPLAINT_CLOSED, c);
            if (out->e_result)
                add(out, CHISO_C_E_RESULT_CLOSED, c);
            if (out->digitized)
                add(out, CHISO_C_DIGITIZED_CLOSED, c);
            if (out->reused_data)
                add(out, CHISO_C_REUSED_DATA_CLOSED, c);
            if (out->from_data_store)
                add(out, CHISO_C_FROM_DATA_STORE_CLOSED, c);
            if (out->population_data)
                add(out, CHISO_C_POPULATION_DATA_CLOSED, c);
        }
    }
    if (out->ncontrib > REFMODEL_CONTRIB_MAX)
        err = CHISO_ERANGE;
    return err;
}

bool refmodel_open_at(const refmodel_judged *j, int32_t e, bool *overdue)
{
    bool open = j->received && j->received_day <= e && !(j->closed && j->closed_day <= e);
    if (overdue)
        *overdue = open && e >= j->overdue_day;
    return open;
}

/* ---- the whole stream ---- */

typedef struct catalog_entry {
    char procedure[CHISO_CODE_MAX + 1];
    refmodel_catalog cat;
} catalog_entry;

typedef struct dossier_entry {
    int first, n; /* range in the sorted event index */
    refmodel_judged judged;
} dossier_entry;

struct refmodel {
    catalog_entry *catalog;
    int ncatalog, capcatalog;
    chiso_event *events;
    int nevents, capevents;
    const chiso_event **sorted; /* events grouped by (unit, dossier_id) */
    dossier_entry *dossiers;
    int ndossiers;
    refmodel_table *counters;
};

refmodel *refmodel_new(void)
{
    refmodel *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->counters = refmodel_table_new();
    if (!m->counters) {
        free(m);
        return NULL;
    }
    return m;
}

void refmodel_free(refmodel *m)
{
    if (!m)
        return;
    free(m->catalog);
    free(m->events);
    free(m->sorted);
    free(m->dossiers);
    refmodel_table_free(m->counters);
    free(m);
}

int refmodel_set_procedure(refmodel *m, const char *procedure, const refmodel_catalog *cat)
{
    for (int i = 0; i < m->ncatalog; i++) {
        if (strcmp(m->catalog[i].procedure, procedure) == 0) {
            m->catalog[i].cat = *cat;
            return 0;
        }
    }
    if (m->ncatalog == m->capcatalog) {
        int cap = m->capcatalog ? m->capcatalog * 2 : 32;
        catalog_entry *c = realloc(m->catalog, (size_t)cap * sizeof(*c));
        if (!c)
            return CHISO_ENOMEM;
        m->catalog = c;
        m->capcatalog = cap;
    }
    snprintf(m->catalog[m->ncatalog].procedure, sizeof(m->catalog[0].procedure), "%s", procedure);
    m->catalog[m->ncatalog++].cat = *cat;
    return 0;
}

refmodel_catalog refmodel_procedure(const refmodel *m, const char *procedure)
{
    for (int i = 0; i < m->ncatalog; i++) {
        if (strcmp(m->catalog[i].procedure, procedure) == 0)
            return m->catalog[i].cat;
    }
    return (refmodel_catalog){.level = CHISO_LEVEL_UNKNOWN, .paper_result_required = false};
}

int refmodel_add(refmodel *m, const chiso_event *ev)
{
    if (m->nevents == m->capevents) {
        int cap = m->capevents ? m->capevents * 2 : 1024;
        chiso_event *e = realloc(m->events, (size_t)cap * sizeof(*e));
        if (!e)
            return CHISO_ENOMEM;
        m->events = e;
        m->capevents = cap;
    }
    m->events[m->nevents++] = *ev;
    return 0;
}

static int dossier_cmp(const chiso_event *a, const chiso_event *b)
{
    int c = strcmp(a->unit, b->unit);
    return c ? c : strcmp(a->dossier_id, b->dossier_id);
}

static int sorted_cmp(const void *pa, const void *pb)
{
    const chiso_event *a = *(const chiso_event *const *)pa, *b = *(const chiso_event *const *)pb;
    int c = dossier_cmp(a, b);
    if (c)
        return c;
    return a < b ? -1 : a > b; /* stable: the order added */
}

/* The dossier's procedure: the smallest code its events name
 * (docs/architecture.md's merge rule for the procedure). */
static const char *procedure_of(const chiso_event *const *evs, int n)
{
    const char *p = "";
    for (int i = 0; i < n; i++) {
        if (evs[i]->procedure[0] && (!p[0] || strcmp(evs[i]->procedure, p) < 0))
            p = evs[i]->procedure;
    }
    return p;
}

/* Open and overdue dossiers of a unit (every unit when unit is NULL) at the
 * end of local day e, counted from the dossiers' judgements. */
static void open_sum(const refmodel *m, const char *unit, int32_t e, long long *open,
                     long long *overdue)
{
    *open = *overdue = 0;
    for (int d = 0; d < m->ndossiers; d++) {
        const dossier_entry *de = &m->dossiers[d];
        bool late;
        if (unit && strcmp(m->sorted[de->first]->unit, unit) != 0)
            continue;
        if (refmodel_open_at(&de->judged, e, &late)) {
            (*open)++;
            *overdue += late;
        }
    }
}

int refmodel_run(refmodel *m)
{
    int rc = 0;
    m->sorted = malloc(((size_t)m->nevents + 1) * sizeof(*m->sorted));
    m->dossiers = malloc(((size_t)m->nevents + 1) * sizeof(*m->dossiers));
    if (!m->sorted || !m->dossiers)
        return CHISO_ENOMEM;
    for (int i = 0; i < m->nevents; i++)
        m->sorted[i] = &m->events[i];
    qsort(m->sorted, (size_t)m->nevents, sizeof(*m->sorted), sorted_cmp);
    for (int i = 0; i < m->nevents;) {
        int j = i + 1;
        while (j < m->nevents && dossier_cmp(m->sorted[i], m->sorted[j]) == 0)
            j++;
        dossier_entry *de = &m->dossiers[m->ndossiers++];
        de->first = i;
        de->n = j - i;
        const char *procedure = procedure_of(&m->sorted[i], j - i);
        refmodel_catalog cat = refmodel_procedure(m, procedure);
        const refmodel_judged *jd = &de->judged;
        if ((rc = refmodel_judge(&m->sorted[i], j - i, &cat, &de->judged)) != 0)
            return rc;
        for (int k = 0; k < jd->ncontrib; k++) {
            rc = refmodel_table_add(m->counters, m->sorted[i]->unit, jd->contrib[k].day,
                                    jd->contrib[k].counter, 1);
            if (rc)
                return rc;
        }
        if (procedure[0] && jd->po &&
            (rc = refmodel_table_add_proc(m->counters, m->sorted[i]->unit, jd->received_day,
                                          REFMODEL_PO, procedure, 1)) != 0)
            return rc;
        if (procedure[0] && jd->pp &&
            (rc = refmodel_table_add_proc(m->counters, m->sorted[i]->unit, jd->received_day,
                                          REFMODEL_PP, procedure, 1)) != 0)
            return rc;
        i = j;
    }
    return refmodel_table_finish(m->counters);
}

const refmodel_table *refmodel_counters(const refmodel *m)
{
    return m->counters;
}

void refmodel_open(const refmodel *m, const char *unit, const char *period, long long *open,
                   long long *overdue)
{
    chiso_period p;
    *open = *overdue = 0;
    if (chiso_period_parse(period, &p) == 0)
        open_sum(m, unit, p.last_day, open, overdue);
}

/* DOMAIN.md, "Populations the national portal uses": D of [s, e] and its
 * judgement, dossier by dossier, for a unit (every unit when NULL). */
static void population_sum(const refmodel *m, const char *unit, int32_t s, int32_t e,
                           refmodel_population *out)
{
    memset(out, 0, sizeof(*out));
    for (int d = 0; d < m->ndossiers; d++) {
        const refmodel_judged *j = &m->dossiers[d].judged;
        if (unit && strcmp(m->sorted[m->dossiers[d].first]->unit, unit) != 0)
            continue;
        /* received by E, not finished before S */
        if (!j->received || j->received_day > e || (j->closed && j->closed_day < s))
            continue;
        bool finished = j->closed && j->closed_day <= e; /* judged at C, else at E */
        out->judged++;
        if (finished ? j->closed_day >= j->overdue_day : e >= j->overdue_day)
            out->late++;
        out->complaints += j->complaint;
        out->e_result += finished && j->e_result;
        out->digitized += j->digitized;
        out->reused_data += j->reused_data;
        out->from_data_store += j->from_data_store;
        out->population_data += j->population_data;
    }
}

void refmodel_population_at(const refmodel *m, const char *unit, const char *period,
                            int32_t end_day, refmodel_population *out)
{
    chiso_period p;
    memset(out, 0, sizeof(*out));
    if (chiso_period_parse(period, &p) == 0 && p.kind != CHISO_PERIOD_DAY)
        population_sum(m, unit, p.first_day, end_day, out);
}

void refmodel_population_of(const refmodel *m, const char *unit, const char *period,
                            refmodel_population *out)
{
    chiso_period p;
    memset(out, 0, sizeof(*out));
    if (chiso_period_parse(period, &p) == 0 && p.kind != CHISO_PERIOD_DAY)
        population_sum(m, unit, p.first_day, p.last_day, out);
}

int refmodel_ndossiers(const refmodel *m)
{
    return m->ndossiers;
}

int refmodel_dossier(const refmodel *m, int i, const chiso_event *const **evs,
                     const refmodel_judged **judged)
{
    if (i < 0 || i >= m->ndossiers)
        return 0;
    *evs = &m->sorted[m->dossiers[i].first];
    *judged = &m->dossiers[i].judged;
    return m->dossiers[i].n;
}

/* ---- the truth document ---- */

static bool same_period(const refmodel_cell *a, const refmodel_cell *b)
{
    return a->kind == b->kind && a->first_day == b->first_day;
}

/* Writes the value `{...}` of one period of one unit (unit NULL: the
 * province) from its cells [0, n). */
typedef void (*period_writer)(FILE *f, const refmodel_cell *cells, size_t n, const refmodel *m,
                              const char *unit);

/* The counters. */
static void write_counter_period(FILE *f, const refmodel_cell *cells, size_t n, const refmodel *m,
                                 const char *unit)
{
    (void)m;
    (void)unit;
    fputc('{', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\"%s\":%lld", i ? "," : "", chiso_counter_name(cells[i].counter),
                cells[i].value);
    fputc('}', f);
}

/* The open figures at the end of period p and its population D, in
 * sim_truth_open_members' order, for a unit (every unit when NULL). */
static void open_figures(const refmodel *m, const char *unit, const chiso_period *p,
                         long long v[SIM_TRUTH_OPEN_MEMBERS])
{
    refmodel_population d;
    open_sum(m, unit, p->last_day, &v[0], &v[1]);
    population_sum(m, unit, p->first_day, p->last_day, &d);
    v[2] = d.judged;
    v[3] = d.late;
    v[4] = d.complaints;
    v[5] = d.e_result;
    v[6] = d.digitized;
    v[7] = d.reused_data;
    v[8] = d.from_data_store;
    v[9] = d.population_data;
}

/* True when cells [0, n) (sorted) have one of period p. */
static bool has_period(const refmodel_cell *cells, size_t n, const chiso_period *p)
{
    for (size_t i = 0; i < n; i++) {
        if (cells[i].kind == p->kind && cells[i].first_day == p->first_day)
            return true;
    }
    return false;
}

/* The open figures of one unit (unit NULL: the province), whose counter
 * cells are [0, n): `"<period>":{"open":n,...}` for every month, quarter
 * and year overlapping the days [dmin, dmax] in which it has counters,
 * open dossiers or a population D (a period without counters may still
 * have dossiers open from before it: they are judged in it). */
static void write_open_unit(FILE *f, const refmodel *m, const char *unit,
                            const refmodel_cell *cells, size_t n, int32_t dmin, int32_t dmax)
{
    bool first = true;
    for (int k = CHISO_PERIOD_MONTH; k <= CHISO_PERIOD_YEAR; k++) {
        for (int32_t d = dmin; d <= dmax;) {
            chiso_period p = chiso_period_of(d, (chiso_period_kind)k);
            long long v[SIM_TRUTH_OPEN_MEMBERS];
            char key[CHISO_PERIOD_STRLEN];
            d = p.last_day + 1;
            open_figures(m, unit, &p, v);
            if (!has_period(cells, n, &p) && v[0] == 0 && v[2] == 0)
                continue;
            chiso_period_key(p.first_day, p.kind, key);
            fprintf(f, "%s\"%s\":{", first ? "" : ",", key);
            for (int i = 0; i < SIM_TRUTH_OPEN_MEMBERS; i++)
                fprintf(f, "%s\"%s\":%lld", i ? "," : "", sim_truth_open_members[i], v[i]);
            fputc('}', f);
            first = false;
        }
    }
}

/* The first and last day with a counter cell in cells [0, n) (empty:
 * dmin > dmax). */
static void day_range(const refmodel_cell *cells, size_t n, int32_t *dmin, int32_t *dmax)
{
    *dmin = INT32_MAX;
    *dmax = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        if (cells[i].kind != CHISO_PERIOD_DAY)
            continue;
        *dmin = cells[i].first_day < *dmin ? cells[i].first_day : *dmin;
        *dmax = cells[i].first_day > *dmax ? cells[i].first_day : *dmax;
    }
}

/* "open": `"<unit>":{...}` for every unit with counters (cells: the
 * units' counter cells, sorted), then the days their counters span. */
static void write_open(FILE *f, const refmodel *m, const refmodel_cell *cells, size_t n)
{
    int32_t dmin, dmax;
    day_range(cells, n, &dmin, &dmax);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(cells[j].unit, cells[i].unit) == 0)
            j++;
        fprintf(f, "%s\n\"%s\":{", i ? "," : "", cells[i].unit);
        write_open_unit(f, m, cells[i].unit, &cells[i], j - i, dmin, dmax);
        fputc('}', f);
        i = j;
    }
}

/* "province_open": the periods of every unit together (cells: the
 * province's counter cells). */
static void write_province_open(FILE *f, const refmodel *m, const refmodel_cell *cells, size_t n)
{
    int32_t dmin, dmax;
    day_range(cells, n, &dmin, &dmax);
    write_open_unit(f, m, NULL, cells, n, dmin, dmax);
}

/* The procedure sets: {"po":{"<procedure>":n,...},"pp":{...}}. */
static void write_procedure_period(FILE *f, const refmodel_cell *cells, size_t n, const refmodel *m,
                                   const char *unit)
{
    (void)m;
    (void)unit;
    for (refmodel_what w = REFMODEL_PO; w <= REFMODEL_PP; w++) {
        bool none = true;
        fprintf(f, "%s\"%s\":{", w == REFMODEL_PO ? "{" : ",", refmodel_what_name(w));
        for (size_t c = 0; c < n; c++) {
            if (cells[c].what != w)
                continue;
            fprintf(f, "%s\"%s\":%lld", none ? "" : ",", cells[c].procedure, cells[c].value);
            none = false;
        }
        fputc('}', f);
    }
    fputc('}', f);
}

/* One member of the truth from the cells of a table, sorted by unit and
 * period: `"<unit>":{"<period>":<value>,...}` per unit, or the periods
 * alone for the province's table (one pseudo-unit); day periods only when
 * `days`. */
static void write_units(FILE *f, const refmodel_cell *cells, size_t n, const refmodel *m,
                        bool with_unit, bool days, period_writer write)
{
    bool first_unit = true;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(cells[j].unit, cells[i].unit) == 0)
            j++;
        if (with_unit) {
            fprintf(f, "%s\n\"%s\":{", first_unit ? "" : ",", cells[i].unit);
            first_unit = false;
        }
        bool first = true;
        for (size_t k = i; k < j;) {
            size_t l = k;
            char key[CHISO_PERIOD_STRLEN];
            while (l < j && same_period(&cells[l], &cells[k]))
                l++;
            if (days || cells[k].kind != CHISO_PERIOD_DAY) {
                chiso_period_key(cells[k].first_day, cells[k].kind, key);
                fprintf(f, "%s\"%s\":", first ? "" : ",", key);
                write(f, &cells[k], l - k, m, with_unit ? cells[k].unit : NULL);
                first = false;
            }
            k = l;
        }
        if (with_unit)
            fputc('}', f);
        i = j;
    }
}

/* The cells of counters (procs false) or of procedure sets, in order, in a
 * new array of *nout; NULL when out of memory. */
static refmodel_cell *cells_of(const refmodel_cell *cells, size_t n, bool procs, size_t *nout)
{
    refmodel_cell *out = malloc((n + 1) * sizeof(*out));
    *nout = 0;
    for (size_t i = 0; out && i < n; i++) {
        if ((cells[i].what != REFMODEL_COUNTER) == procs)
            out[(*nout)++] = cells[i];
    }
    return out;
}

int refmodel_write_truth(const refmodel *m, const refmodel_truth_meta *meta, FILE *f)
{
    size_t all, n, np, pn, ppn;
    const refmodel_cell *every = refmodel_table_cells(m->counters, &all);
    refmodel_cell *cells = cells_of(every, all, false, &n);
    refmodel_cell *procs = cells_of(every, all, true, &np);
    refmodel_cell *pcells = NULL, *pprocs = NULL;
    int rc = CHISO_ENOMEM;

    /* the province: every unit's cells under one pseudo-unit; a procedure
     * counts once, with the dossiers of every unit (its months add up to
     * its quarters and years) */
    refmodel_table *prov = refmodel_table_new();
    if (!prov || !cells || !procs)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (cells[i].kind == CHISO_PERIOD_DAY &&
            refmodel_table_add(prov, "", cells[i].first_day, cells[i].counter, cells[i].value))
            goto out;
    }
    for (size_t i = 0; i < np; i++) {
        if (procs[i].kind == CHISO_PERIOD_MONTH &&
            refmodel_table_add_proc(prov, "", procs[i].first_day, procs[i].what, procs[i].procedure,
                                    procs[i].value))
            goto out;
    }
    if (refmodel_table_finish(prov))
        goto out;
    const refmodel_cell *pevery = refmodel_table_cells(prov, &all);
    if (!(pcells = cells_of(pevery, all, false, &pn)) ||
        !(pprocs = cells_of(pevery, all, true, &ppn)))
        goto out;

    chiso_period start;
    char end[CHISO_PERIOD_STRLEN] = "";
    if (chiso_period_parse(meta->start, &start) == 0)
        chiso_period_key(start.first_day + meta->days, CHISO_PERIOD_DAY, end);
    fprintf(f,
            "{\"seed\":%llu,\"start\":\"%s\",\"days\":%d,\"end\":\"%s\",\"province\":\"%s\",\n"
            "\"dossiers\":%d,\"records\":%llu,\"events\":%llu,\"duplicates\":%llu,"
            "\"malformed\":0,\n\"malformed_by_reason\":{",
            (unsigned long long)meta->seed, meta->start, meta->days, end, meta->province,
            m->ndossiers, (unsigned long long)meta->records, (unsigned long long)meta->events,
            (unsigned long long)meta->duplicates);
    for (int r = CHISO_REJECT_JSON_SYNTAX; r <= CHISO_REJECT_TOO_LARGE; r++)
        fprintf(f, "%s\"%s\":0", r == CHISO_REJECT_JSON_SYNTAX ? "" : ",",
                chiso_reject_code((chiso_reject_reason)r));
    fputs("},\n\"counters\":{", f);
    write_units(f, cells, n, m, true, true, write_counter_period);
    fputs("},\n\"open\":{", f);
    write_open(f, m, cells, n);
    fputs("},\n\"province_counters\":{", f);
    write_units(f, pcells, pn, m, false, true, write_counter_period);
    fputs("},\n\"province_open\":{", f);
    write_province_open(f, m, pcells, pn);
    fputs("},\n\"procedures\":{", f);
    write_units(f, procs, np, m, true, false, write_procedure_period);
    fputs("},\n\"province_procedures\":{", f);
    write_units(f, pprocs, ppn, m, false, false, write_procedure_period);
    fputs("}}\n", f);
    rc = ferror(f) ? CHISO_EIO : 0;
out:
    refmodel_table_free(prov);
    free(cells);
    free(procs);
    free(pcells);
    free(pprocs);
    return rc;
}
