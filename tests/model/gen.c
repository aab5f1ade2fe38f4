/*
 * gen.c - the random stream generator of gen.h.
 *
 * One PRNG (splitmix64, stated below) seeded from the parameters draws, in
 * a fixed order: the catalog, the window, each dossier's lifecycle, then
 * the arrival order. Probabilities are chosen so that every path of the
 * rules occurs in every stream of a few hundred dossiers, not to look like
 * a real province (chiso-simulate does that).
 */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/vntime.h"

#define DAY_S  86400
#define HOUR_S 3600

/* ---- PRNG: splitmix64 (Steele, Lea, Flood 2014) ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next_u64(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (n >= 1); the modulo bias is irrelevant here. */
static int64_t below(rng *r, int64_t n)
{
    return (int64_t)(next_u64(r) % (uint64_t)n);
}

static bool chance(rng *r, double p)
{
    return (double)(next_u64(r) >> 11) * (1.0 / 9007199254740992.0) < p;
}

/* ---- building a dossier ---- */

typedef struct evbuf {
    chiso_event *ev;
    int n, cap;
} evbuf;

static chiso_event *push(evbuf *b)
{
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 4096;
        chiso_event *e = realloc(b->ev, (size_t)cap * sizeof(*e));
        if (!e)
            return NULL;
        b->ev = e;
        b->cap = cap;
    }
    chiso_event *e = &b->ev[b->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

typedef struct dossier_ctx {
    const char *id, *unit, *procedure;
    int seq; /* events so far: event ids are <dossier_id>#<seq> */
    evbuf *out;
    bool oom;
} dossier_ctx;

static chiso_event *emit(dossier_ctx *d, chiso_event_type type, int64_t at)
{
    chiso_event *e = push(d->out);
    if (!e) {
        d->oom = true;
        return NULL;
    }
    e->type = type;
    snprintf(e->event_id, sizeof(e->event_id), "%s#%d", d->id, ++d->seq);
    snprintf(e->dossier_id, sizeof(e->dossier_id), "%s", d->id);
    snprintf(e->unit, sizeof(e->unit), "%s", d->unit);
    snprintf(e->procedure, sizeof(e->procedure), "%s", d->procedure);
    e->at = at;
    return e;
}

/* A time of day: mostly office hours, sometimes right before or after local
 * midnight (day boundaries are where UTC and local time disagree). */
static int64_t time_of_day(rng *r)
{
    switch (below(r, 10)) {
    case 0:
        return 23 * HOUR_S + 59 * 60 + below(r, 60); /* 23:59:xx */
    case 1:
        return below(r, 120); /* 00:00-00:02 */
    case 2:
        return 7 * HOUR_S - 1 + below(r, 2); /* 06:59:59 / 07:00:00 local = 23:59:59 / 00:00 UTC */
    default:
        return 7 * HOUR_S + below(r, 11 * HOUR_S);
    }
}

/* An instant `days` local days after `t`'s day (0..), at a random time. */
static int64_t later(rng *r, int64_t t, int64_t days)
{
    int64_t at = chiso_day_start(chiso_local_day(t) + (int32_t)days) + time_of_day(r);
    return at < t ? t + below(r, 3 * HOUR_S) : at;
}

static chiso_channel pick_channel(rng *r)
{
    int64_t k = below(r, 20);
    return k < 12 ? CHISO_CHANNEL_ONLINE : k < 17 ? CHISO_CHANNEL_DIRECT : CHISO_CHANNEL_POSTAL;
}

static chiso_pay_method pick_method(rng *r)
{
    int64_t k = below(r, 10);
    return k < 5   ? CHISO_PAY_DVCQG_PLATFORM
           : k < 7 ? CHISO_PAY_PROVINCIAL_GATEWAY
           : k < 9 ? CHISO_PAY_CASH
                   : CHISO_PAY_BANK_TRANSFER;
}

static void fill_received(rng *r, chiso_event *e, int64_t at)
{
    if (!e)
        return;
    if (chance(r, 0.08))
        e->due_at = at - below(r, 3 * DAY_S); /* due before it was even received */
    else if (chance(r, 0.1))
        e->due_at = chiso_day_start(chiso_local_day(at)) + 17 * HOUR_S; /* due the same day */
    else
        e->due_at = later(r, at, 1 + below(r, 12));
    e->digitized = chance(r, 0.7);
    e->reused_data = chance(r, 0.3);
    e->from_data_store = chance(r, 0.3);
    e->population_data = chance(r, 0.5);
}

static void fill_resolved(rng *r, chiso_event *e)
{
    if (!e)
        return;
    e->outcome = chance(r, 0.9) ? CHISO_OUTCOME_APPROVED : CHISO_OUTCOME_DENIED;
    e->e_result = chance(r, 0.8);
    e->e_signed = chance(r, 0.6);
}

static void fill_returned(rng *r, chiso_event *e)
{
    if (!e)
        return;
    int64_t k = below(r, 10);
    e->delivery = k < 6   ? CHISO_DELIVERY_ONLINE
                  : k < 8 ? CHISO_DELIVERY_POSTAL
                          : CHISO_DELIVERY_COUNTER;
    e->paper_copy = chance(r, 0.5);
}

/* Another occurrence of a single fact with other content (a correction
 * republished under a new event id), at the same instant or nearby. */
static void correction(rng *r, dossier_ctx *d, const chiso_event *orig)
{
    int64_t at = orig->at;
    int64_t k = below(r, 3);
    if (k == 1)
        at += below(r, 2 * DAY_S);
    else if (k == 2)
        at -= below(r, 2 * DAY_S);
    chiso_event copy = *orig;
    chiso_event *e = emit(d, orig->type, at);
    if (!e)
        return;
    snprintf(copy.event_id, sizeof(copy.event_id), "%s", e->event_id);
    copy.at = at;
    *e = copy;
    switch (e->type) {
    case CHISO_EV_SUBMITTED:
        e->channel = pick_channel(r);
        break;
    case CHISO_EV_RECEIVED:
        fill_received(r, e, at);
        break;
    case CHISO_EV_RESOLVED:
        fill_resolved(r, e);
        break;
    case CHISO_EV_RETURNED:
        fill_returned(r, e);
        break;
    case CHISO_EV_RATED:
        e->satisfied = !e->satisfied;
        break;
    default:
        break;
    }
}

/* Local days from t's day through due's day, at least 1. */
static int64_t span_days(int64_t t, int64_t due)
{
    int64_t n = (int64_t)chiso_local_day(due) - chiso_local_day(t) + 1;
    return n > 0 ? n : 1;
}

/* One dossier's events, in lifecycle order (the arrival order comes later). */
static void make_dossier(rng *r, dossier_ctx *d, const gen_procedure *proc, int64_t t0)
{
    chiso_event *e;
    int first = d->out->n;
    chiso_channel channel = pick_channel(r);

    /* 1. submitted (missing for some dossiers: the channel is then unknown) */
    if (!chance(r, 0.06) && (e = emit(d, CHISO_EV_SUBMITTED, t0)))
        e->channel = channel;

    /* 2. not accepted: usually instead of a reception, sometimes after one */
    bool not_accepted = chance(r, 0.05);
    bool received = !chance(r, 0.06) && !(not_accepted && chance(r, 0.5));
    int64_t t = t0, trecv = 0, due = 0;
    if (received) {
        trecv = channel == CHISO_CHANNEL_ONLINE ? later(r, t0, below(r, 3)) : t0 + below(r, HOUR_S);
        e = emit(d, CHISO_EV_RECEIVED, trecv);
        fill_received(r, e, trecv);
        due = e ? e->due_at : trecv;
        t = trecv;
    }
    if (not_accepted) {
        emit(d, CHISO_EV_NOT_ACCEPTED, later(r, t, below(r, 2)));
        if (chance(r, 0.7))
            goto extras; /* usually the end of the story */
    }
    if (chance(r, 0.8))
        emit(d, CHISO_EV_SYNCED, t + below(r, DAY_S));
    if (chance(r, 0.8))
        emit(d, CHISO_EV_PROCESSING, t + below(r, 4 * HOUR_S));

    /* 3. supplement cycles: 0, 1, 2 or more; requests in time or late;
     * a receipt, or still waiting; now and then a receipt before the request */
    int64_t k = below(r, 20);
    int cycles = k < 9 ? 0 : k < 15 ? 1 : k < 18 ? 2 : 3 + (int)below(r, 2);
    for (int c = 0; c < cycles; c++) {
        int64_t req;
        if (due && chance(r, 0.25))
            req = later(r, due, 1 + below(r, 4)); /* asked after the due day */
        else if (chance(r, 0.05))
            req = t - below(r, 2 * DAY_S); /* dated before the reception */
        else
            req = later(r, t, below(r, 5));
        emit(d, CHISO_EV_SUPPLEMENT_REQUESTED, req);
        if (chance(r, 0.1))
            emit(d, CHISO_EV_SUPPLEMENT_RECEIVED, req - 1 - below(r, 2 * DAY_S));
        if (chance(r, c + 1 < cycles ? 0.9 : 0.6)) {
            int64_t rec = chance(r, 0.1) ? req : later(r, req, below(r, 6));
            emit(d, CHISO_EV_SUPPLEMENT_RECEIVED, rec);
            t = rec;
        } else {
            t = req;
        }
    }

    /* 4. fee and payment */
    if (proc->fee || chance(r, 0.1)) {
        int64_t at = t + below(r, DAY_S);
        if ((e = emit(d, CHISO_EV_FEE_REQUESTED, at)))
            e->amount = chance(r, 0.15) ? 0 : 1000 * (1 + below(r, 500));
        if (chance(r, 0.1) && (e = emit(d, CHISO_EV_FEE_REQUESTED, at + below(r, DAY_S))))
            e->amount = 1000 * below(r, 500);
        int pays = chance(r, 0.12) ? 0 : chance(r, 0.1) ? 2 : 1;
        for (int p = 0; p < pays; p++) {
            if ((e = emit(d, CHISO_EV_PAID, at + below(r, 2 * DAY_S))))
                e->method = pick_method(r);
        }
    }

    /* 5. requirements: each kind, sometimes two */
    int reqs = chance(r, 0.15) ? (chance(r, 0.2) ? 2 : 1) : 0;
    for (int q = 0; q < reqs; q++) {
        if ((e = emit(d, CHISO_EV_REQUIREMENT, t + below(r, 3 * DAY_S))))
            e->kind = (chiso_requirement_kind)(1 + below(r, 3));
    }

    /* 6. the end: resolved (on time, late, or before the reception; then
     * returned, now and then dated before the resolution), withdrawn,
     * stopped (or both), returned without a resolution, or still open */
    k = below(r, 100);
    if (k < 70) {
        int64_t at;
        if (chance(r, 0.04) && received)
            at = trecv - below(r, 2 * DAY_S); /* out of lifecycle order */
        else if (due && chance(r, 0.6))       /* by the due day, mostly */
            at = later(r, t, below(r, span_days(t, due)));
        else
            at = later(r, t, below(r, 25));
        fill_resolved(r, emit(d, CHISO_EV_RESOLVED, at));
        if (chance(r, 0.85)) {
            int64_t ret = chance(r, 0.05) ? at - 1 - below(r, 2 * DAY_S) : at + below(r, 3 * DAY_S);
            fill_returned(r, emit(d, CHISO_EV_RETURNED, ret));
        }
        if (chance(r, 0.03))
            emit(d, CHISO_EV_WITHDRAWN, later(r, t, below(r, 20)));
    } else if (k < 83) { /* withdrawn or stopped, now and then both (either first) */
        chiso_event_type end = k < 77 ? CHISO_EV_WITHDRAWN : CHISO_EV_STOPPED;
        emit(d, end, later(r, t, below(r, 20)));
        if (chance(r, 0.3))
            emit(d, end == CHISO_EV_WITHDRAWN ? CHISO_EV_STOPPED : CHISO_EV_WITHDRAWN,
                 later(r, t, below(r, 20)));
    } else if (k < 87) {
        fill_returned(r, emit(d, CHISO_EV_RETURNED, later(r, t, below(r, 20))));
    }

extras:
    if (chance(r, 0.2) && (e = emit(d, CHISO_EV_RATED, later(r, t, below(r, 30)))))
        e->satisfied = chance(r, 0.9);
    if (chance(r, 0.03))
        emit(d, CHISO_EV_COMPLAINT, later(r, t, below(r, 30)));

    /* 7. corrections of single facts */
    int last = d->out->n;
    for (int i = first; i < last && !d->oom; i++) {
        chiso_event_type ty = d->out->ev[i].type;
        if ((ty == CHISO_EV_SUBMITTED || ty == CHISO_EV_RECEIVED || ty == CHISO_EV_RESOLVED ||
             ty == CHISO_EV_RETURNED || ty == CHISO_EV_RATED) &&
            chance(r, 0.04)) {
            chiso_event orig = d->out->ev[i]; /* emit may move the buffer */
            correction(r, d, &orig);
        }
    }
}

/* ---- arrival order ---- */

typedef struct arrival {
    int64_t key;
    uint64_t tie;
    int idx;
} arrival;

static int arrival_cmp(const void *pa, const void *pb)
{
    const arrival *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->tie > b->tie) - (a->tie < b->tie);
}

static void shuffle(rng *r, chiso_event *ev, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)below(r, i + 1);
        chiso_event tmp = ev[i];
        ev[i] = ev[j];
        ev[j] = tmp;
    }
}

/* Put the distinct events in an arrival order with duplicates: returns the
 * new array (n grows), or NULL on OOM. */
static chiso_event *arrange(rng *r, const chiso_event *ev, int n, int *nout, int *dups)
{
    arrival *a = malloc(((size_t)n + 1) * sizeof(*a));
    int ndup = 0, cap = n + n / 4 + 16;
    chiso_event *out = malloc((size_t)cap * sizeof(*out));
    if (!a || !out) {
        free(a);
        free(out);
        return NULL;
    }
    /* roughly in time order; some events late by hours or days */
    for (int i = 0; i < n; i++) {
        a[i].key = ev[i].at;
        if (chance(r, 0.15))
            a[i].key += below(r, 20 * DAY_S);
        else if (chance(r, 0.2))
            a[i].key += below(r, 6 * HOUR_S);
        a[i].tie = next_u64(r);
        a[i].idx = i;
    }
    qsort(a, (size_t)n, sizeof(*a), arrival_cmp);
    int m = 0;
    for (int i = 0; i < n; i++) {
        out[m++] = ev[a[i].idx];
        if (chance(r, 0.08) && m < cap) { /* a duplicate, placed below */
            out[m++] = ev[a[i].idx];
            ndup++;
        }
    }
    /* move the duplicates, and a few others, to random places */
    for (int i = 0; i < m; i++) {
        bool dup = i > 0 && strcmp(out[i].event_id, out[i - 1].event_id) == 0;
        if (dup || chance(r, 0.05)) {
            int j = (int)below(r, m);
            chiso_event tmp = out[i];
            out[i] = out[j];
            out[j] = tmp;
        }
    }
    if (below(r, 5) == 0)
        shuffle(r, out, m);
    free(a);
    *nout = m;
    *dups = ndup;
    return out;
}

/* ---- the stream ---- */

int gen_stream_make(const gen_params *p, gen_stream *s)
{
    rng r = {p->seed * 0x2545f4914f6cdd1dULL + 0x1234567ULL};
    evbuf buf = {0};
    int rc = CHISO_ENOMEM;

    memset(s, 0, sizeof(*s));
    if (p->dossiers < 1 || p->units < 1 || p->units > 99)
        return CHISO_EINVAL;

    /* units and the province */
    snprintf(s->province, sizeof(s->province), "000.00.00.M99");
    s->nunits = p->units;
    s->units = calloc((size_t)s->nunits, sizeof(*s->units));
    /* procedures: every level, in the catalog or not, with or without fee,
     * requiring a paper result or not (each fee / paper pairing) */
    s->nprocs = 12;
    s->procs = calloc((size_t)s->nprocs, sizeof(*s->procs));
    if (!s->units || !s->procs)
        goto err;
    for (int u = 0; u < s->nunits; u++)
        snprintf(s->units[u], sizeof(s->units[u]), "000.%02d.%02d.M99", u % 2 ? 31 : 0, u + 1);
    for (int i = 0; i < s->nprocs; i++) {
        gen_procedure *pr = &s->procs[i];
        snprintf(pr->code, sizeof(pr->code), "9.%06d", 100 + i);
        pr->in_catalog = i % 6 != 5; /* two procedures the catalog lacks */
        pr->level = pr->in_catalog ? (chiso_service_level)(1 + i % 3) : CHISO_LEVEL_UNKNOWN;
        pr->fee = i % 4 < 2;
        pr->paper_result_required = pr->in_catalog && (i % 4 == 1 || i % 4 == 2);
    }

    /* the window: 5 to 25 days before the start of a month, quarter or year,
     * about a month long */
    int year = 2024 + (int)below(&r, 4);
    int64_t kind = below(&r, 3);
    chiso_date boundary = {year, 1, 1};
    if (kind == 0)
        boundary.month = 1 + (int)below(&r, 12);
    else if (kind == 1)
        boundary.month = 1 + 3 * (int)below(&r, 4);
    s->first_day = chiso_date_to_day(boundary) - 5 - (int32_t)below(&r, 21);
    s->days = 30;

    for (int i = 0; i < p->dossiers; i++) {
        char id[CHISO_ID_MAX + 1];
        const gen_procedure *proc = &s->procs[below(&r, s->nprocs)];
        snprintf(id, sizeof(id), "M%llu-%06d", (unsigned long long)p->seed, i + 1);
        dossier_ctx d = {
            .id = id, .unit = s->units[below(&r, s->nunits)], .procedure = proc->code, .out = &buf};
        int64_t t0 = chiso_day_start(s->first_day + (int32_t)below(&r, s->days)) + time_of_day(&r);
        make_dossier(&r, &d, proc, t0);
        if (d.oom)
            goto err;
    }
    s->distinct = buf.n;
    s->ev = arrange(&r, buf.ev, buf.n, &s->nev, &s->duplicates);
    if (!s->ev)
        goto err;
    free(buf.ev);
    return 0;
err:
    free(buf.ev);
    gen_stream_clear(s);
    return rc;
}

void gen_stream_clear(gen_stream *s)
{
    free(s->ev);
    free(s->procs);
    free(s->units);
    memset(s, 0, sizeof(*s));
}

void gen_procedure_record(const gen_procedure *proc, chiso_procedure *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->procedure, sizeof(out->procedure), "%s", proc->code);
    snprintf(out->name, sizeof(out->name), "Thủ tục thử %s", proc->code);
    out->level = proc->level;
    out->eligible_full = proc->level == CHISO_LEVEL_FULL;
    out->fee = proc->fee;
    out->payment_integrated = proc->fee;
    out->paper_result_required = proc->paper_result_required;
    out->citizen_subject = true;
    out->population_data_connected = true;
    out->announced_on_time = true;
    out->published_on_time = true;
    out->published_complete = true;
}
