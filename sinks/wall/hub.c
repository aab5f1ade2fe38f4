/*
 * hub.c - the wall's state and its live-update clients (hub.h).
 *
 * Ownership: the hub owns every entry (the snapshot text as received plus
 * what chiso_wall_snap_parse kept of it), the alert ring and the clients'
 * queues; a client struct is freed by wall_hub_client_free() only, when
 * its connection ends. `changed` is the set of keys put since the last
 * flush: a key put ten times between two flushes is pushed once, with its
 * latest snapshot (the coalescing). Sequence numbers (`seq`) grow with
 * every snapshot and alert put, so a page that gets a row both from the
 * API and from the stream keeps the newer one.
 */
#include "hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/strmap.h"
#include "chiso/wall_json.h"
#include "wall_sse.h"

#define KEY_MAX 160 /* "<unit>|<period>" */

typedef struct entry {
    char *raw; /* the snapshot as received, NUL-terminated */
    chiso_wall_snap snap;
    uint64_t seq;
} entry;

typedef struct alert {
    cJSON *doc;
    char unit[CHISO_WALL_UNIT_MAX];
    uint64_t seq;
} alert;

struct wall_client {
    char period[CHISO_PERIOD_STRLEN];
    chiso_wall_sseq *q;
    pthread_cond_t cond;
    bool dropped;
    bool woken; /* got bytes in this flush */
    struct wall_client *next;
};

struct wall_hub {
    pthread_mutex_t lock;
    wall_hub_opts o;
    char boot[17]; /* this process's id, so a page sees a restart */
    bool stopping;
    uint64_t seq;
    chiso_map *entries; /* key -> entry */
    chiso_map *periods; /* period -> number of entries (u64) */
    chiso_map *names;   /* unit -> unit_name (malloc'd) */
    chiso_map *changed; /* keys put since the last flush */
    alert *alerts;      /* ring of o.alerts_keep */
    size_t alert_next, nalerts;
    uint64_t alerts_flushed; /* seq of the newest alert pushed */
    struct {
        int32_t day;
        int64_t received, units;
        bool ok, changed;
        int64_t at; /* when it was read, epoch seconds */
    } today;
    bool periods_changed;
    char last_default[CHISO_PERIOD_STRLEN];
    wall_client *clients;
    int nclients;
    chiso_counter *m_snapshots, *m_alerts, *m_bad, *m_pushes, *m_dropped;
    chiso_gauge *m_keys, *m_clients;
};

static void entry_free(entry *e)
{
    if (!e)
        return;
    free(e->raw);
    chiso_wall_snap_clear(&e->snap);
    free(e);
}

wall_hub *wall_hub_new(const wall_hub_opts *opts, chiso_metrics *metrics)
{
    wall_hub *h = calloc(1, sizeof(*h));
    uint64_t boot[2] = {(uint64_t)chiso_now_wall_ms(), (uint64_t)getpid()};

    if (!h)
        return NULL;
    h->o = *opts;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return NULL;
    }
    h->entries = chiso_map_new();
    h->periods = chiso_map_new();
    h->names = chiso_map_new();
    h->changed = chiso_map_new();
    h->alerts = calloc(h->o.alerts_keep ? h->o.alerts_keep : 1, sizeof(*h->alerts));
    if (!h->entries || !h->periods || !h->names || !h->changed || !h->alerts) {
        wall_hub_destroy(h);
        return NULL;
    }
    snprintf(h->boot, sizeof(h->boot), "%016llx",
             (unsigned long long)chiso_hash64(boot, sizeof(boot)));
    h->today.day = -1;
    h->m_snapshots =
        chiso_metrics_counter(metrics, "chiso_wall_snapshots_total", "snapshots read from scores");
    h->m_alerts = chiso_metrics_counter(metrics, "chiso_wall_alerts_total", "alerts read");
    h->m_bad = chiso_metrics_counter(metrics, "chiso_wall_bad_records_total",
                                     "records of scores or alerts ignored as malformed");
    h->m_pushes = chiso_metrics_counter(metrics, "chiso_wall_sse_events_total",
                                        "events queued to live-update clients");
    h->m_dropped = chiso_metrics_counter(metrics, "chiso_wall_sse_dropped_total",
                                         "live-update clients dropped for a full queue");
    h->m_keys = chiso_metrics_gauge(metrics, "chiso_wall_snapshots", "snapshots held (keys)");
    h->m_clients = chiso_metrics_gauge(metrics, "chiso_wall_sse_clients", "live-update clients");
    return h;
}

void wall_hub_destroy(wall_hub *h)
{
    size_t pos = 0;
    chiso_map_entry *me = NULL;

    if (!h)
        return;
    if (h->entries) {
        while ((me = chiso_map_next(h->entries, &pos, me)))
            entry_free(me->ptr);
        chiso_map_destroy(h->entries);
    }
    if (h->names) {
        pos = 0;
        me = NULL;
        while ((me = chiso_map_next(h->names, &pos, me)))
            free(me->ptr);
        chiso_map_destroy(h->names);
    }
    chiso_map_destroy(h->periods);
    chiso_map_destroy(h->changed);
    if (h->alerts) {
        for (size_t i = 0; i < h->o.alerts_keep; i++)
            cJSON_Delete(h->alerts[i].doc);
        free(h->alerts);
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- records ---- */

/* Count one more (delta 1) or one fewer (-1) entry of a period. */
static void period_count(wall_hub *h, const char *period, int delta)
{
    chiso_map_entry *pe;

    if (delta > 0) {
        int created = 0;
        pe = chiso_map_put(h->periods, period, &created);
        if (pe)
            pe->u64++;
        h->periods_changed |= created != 0;
    } else if ((pe = chiso_map_get(h->periods, period)) && --pe->u64 == 0) {
        chiso_map_del(h->periods, period);
        h->periods_changed = true;
    }
}

static void set_name(wall_hub *h, const char *unit, const char *name)
{
    chiso_map_entry *ne = chiso_map_put(h->names, unit, NULL);
    char *copy;

    if (!ne || (ne->ptr && strcmp(ne->ptr, name) == 0) || !(copy = strdup(name)))
        return;
    free(ne->ptr);
    ne->ptr = copy;
}

void wall_hub_put_snapshot(wall_hub *h, const char *key, size_t key_len, const char *payload,
                           size_t len)
{
    char k[KEY_MAX], expect[KEY_MAX], errstr[256];
    chiso_wall_snap snap;
    chiso_map_entry *me;
    entry *e = NULL, *old;

    if (!key || key_len == 0 || key_len >= sizeof(k) || memchr(key, '\0', key_len)) {
        LOG_WARN("scores: a record without a usable key ignored");
        chiso_counter_add(h->m_bad, 1);
        return;
    }
    memcpy(k, key, key_len);
    k[key_len] = '\0';
    if (len == 0) { /* tombstone */
        pthread_mutex_lock(&h->lock);
        if ((old = chiso_map_del(h->entries, k))) {
            period_count(h, old->snap.period, -1);
            chiso_map_put(h->changed, k, NULL);
            entry_free(old);
        }
        chiso_gauge_set(h->m_keys, (double)chiso_map_size(h->entries));
        pthread_mutex_unlock(&h->lock);
        return;
    }
    /* parse outside the lock: the HTTP threads never wait for it */
    if (chiso_wall_snap_parse(payload, len, &snap, errstr, sizeof(errstr)) != 0) {
        LOG_WARN("scores: %s: not a snapshot: %s", k, errstr);
        chiso_counter_add(h->m_bad, 1);
        return;
    }
    snprintf(expect, sizeof(expect), "%s|%s", snap.unit, snap.period);
    if (strcmp(expect, k) != 0) {
        LOG_WARN("scores: key %s holds the snapshot of %s; ignored", k, expect);
        chiso_counter_add(h->m_bad, 1);
        chiso_wall_snap_clear(&snap);
        return;
    }
    if (!(e = calloc(1, sizeof(*e))) || !(e->raw = strndup(payload, len))) {
        LOG_ERROR("scores: %s: out of memory", k);
        chiso_wall_snap_clear(&snap);
        entry_free(e);
        return;
    }
    e->snap = snap;
    pthread_mutex_lock(&h->lock);
    e->seq = ++h->seq;
    cJSON_AddNumberToObject(e->snap.row, "seq", (double)e->seq);
    me = chiso_map_put(h->entries, k, NULL);
    if (!me) {
        pthread_mutex_unlock(&h->lock);
        entry_free(e);
        LOG_ERROR("scores: %s: out of memory", k);
        return;
    }
    old = me->ptr;
    me->ptr = e;
    if (old)
        entry_free(old);
    else
        period_count(h, e->snap.period, 1);
    set_name(h, e->snap.unit, e->snap.name);
    chiso_map_put(h->changed, k, NULL);
    chiso_counter_add(h->m_snapshots, 1);
    chiso_gauge_set(h->m_keys, (double)chiso_map_size(h->entries));
    pthread_mutex_unlock(&h->lock);
}

void wall_hub_put_alert(wall_hub *h, const char *payload, size_t len)
{
    char unit[CHISO_WALL_UNIT_MAX], errstr[256];
    cJSON *doc = chiso_wall_alert_parse(payload, len, unit, errstr, sizeof(errstr));
    alert *slot;

    if (!doc) {
        LOG_WARN("alerts: a record ignored: %s", errstr);
        chiso_counter_add(h->m_bad, 1);
        return;
    }
    pthread_mutex_lock(&h->lock);
    slot = &h->alerts[h->alert_next];
    cJSON_Delete(slot->doc);
    slot->doc = doc;
    memcpy(slot->unit, unit, sizeof(unit));
    slot->seq = ++h->seq;
    h->alert_next = (h->alert_next + 1) % h->o.alerts_keep;
    if (h->nalerts < h->o.alerts_keep)
        h->nalerts++;
    chiso_counter_add(h->m_alerts, 1);
    pthread_mutex_unlock(&h->lock);
}

void wall_hub_set_today(wall_hub *h, int32_t day, int64_t received, int64_t units, bool ok)
{
    pthread_mutex_lock(&h->lock);
    if (!ok && day < 0)
        day = h->today.day; /* Redis failed before telling the day: keep it */
    if (h->today.day != day || h->today.received != received || h->today.units != units ||
        h->today.ok != ok) {
        h->today.changed = true;
        if (day != h->today.day)
            h->periods_changed = true; /* the default period may move */
    }
    h->today.day = day;
    h->today.received = received;
    h->today.units = units;
    h->today.ok = ok;
    h->today.at = chiso_now_wall_ms() / 1000;
    pthread_mutex_unlock(&h->lock);
}

/* ---- JSON ---- */

/* Print and delete o; NULL on no memory. */
static char *print_delete(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static void default_period_locked(wall_hub *h, char out[CHISO_PERIOD_STRLEN])
{
    size_t pos = 0;
    chiso_map_entry *pe = NULL;
    const char *best = NULL;

    out[0] = '\0';
    if (h->today.day >= 0) {
        chiso_period_key(h->today.day, CHISO_PERIOD_MONTH, out);
        if (chiso_map_get(h->periods, out))
            return;
    }
    /* else the latest month; with no month at all, the first in the
     * selector's order */
    while ((pe = chiso_map_next(h->periods, &pos, pe))) {
        if (!best || chiso_wall_period_cmp(&pe->key, &best) < 0)
            best = pe->key;
    }
    snprintf(out, CHISO_PERIOD_STRLEN, "%s", best ? best : "");
}

void wall_hub_default_period(wall_hub *h, char out[CHISO_PERIOD_STRLEN])
{
    pthread_mutex_lock(&h->lock);
    default_period_locked(h, out);
    pthread_mutex_unlock(&h->lock);
}

static entry *find_entry(wall_hub *h, const char *unit, const char *period)
{
    char key[KEY_MAX];
    chiso_map_entry *me;

    if ((size_t)snprintf(key, sizeof(key), "%s|%s", unit, period) >= sizeof(key))
        return NULL; /* no key is that long */
    me = chiso_map_get(h->entries, key);
    return me ? me->ptr : NULL;
}

static entry *find_province(wall_hub *h, const char *period)
{
    size_t pos = 0;
    chiso_map_entry *me = NULL;

    while ((me = chiso_map_next(h->entries, &pos, me))) {
        entry *e = me->ptr;
        if (e->snap.province && strcmp(e->snap.period, period) == 0)
            return e;
    }
    return NULL;
}

static char *raw_copy(const entry *e, uint64_t *seq)
{
    if (!e)
        return NULL;
    if (seq)
        *seq = e->seq;
    return strdup(e->raw);
}

char *wall_hub_province_json(wall_hub *h, const char *period, uint64_t *seq)
{
    char *s;
    pthread_mutex_lock(&h->lock);
    s = raw_copy(find_province(h, period), seq);
    pthread_mutex_unlock(&h->lock);
    return s;
}

char *wall_hub_unit_json(wall_hub *h, const char *unit, const char *period, uint64_t *seq)
{
    char *s;
    pthread_mutex_lock(&h->lock);
    s = raw_copy(find_entry(h, unit, period), seq);
    pthread_mutex_unlock(&h->lock);
    return s;
}

/* The points of one kind of period for a unit, oldest first. */
static bool trend_points(wall_hub *h, cJSON *o, const char *name, const char *unit,
                         const char *period, chiso_period_kind kind, int n)
{
    char keys[CHISO_WALL_TREND_MONTHS > CHISO_WALL_TREND_QUARTERS
                  ? CHISO_WALL_TREND_MONTHS
                  : CHISO_WALL_TREND_QUARTERS][CHISO_PERIOD_STRLEN];
    cJSON *arr = cJSON_AddArrayToObject(o, name);
    if (!arr || chiso_wall_trend_periods(period, kind, n, keys) != n)
        return false;
    for (int i = 0; i < n; i++) {
        const entry *e = find_entry(h, unit, keys[i]);
        cJSON *pt = chiso_wall_trend_point(keys[i], e ? e->snap.row : NULL);
        if (!pt || !cJSON_AddItemToArray(arr, pt)) {
            cJSON_Delete(pt);
            return false;
        }
    }
    return true;
}

char *wall_hub_trend_json(wall_hub *h, const char *unit, const char *period)
{
    cJSON *o = NULL;
    char *s = NULL;
    pthread_mutex_lock(&h->lock);
    const entry *e = unit && unit[0] ? find_entry(h, unit, period) : find_province(h, period);
    if (!e || !(o = cJSON_CreateObject()))
        goto out;
    if (cJSON_AddStringToObject(o, "unit", e->snap.unit) &&
        cJSON_AddStringToObject(o, "unit_name", e->snap.name) &&
        cJSON_AddStringToObject(o, "kind", e->snap.province ? "province" : "unit") &&
        cJSON_AddStringToObject(o, "period", period) &&
        trend_points(h, o, "months", e->snap.unit, period, CHISO_PERIOD_MONTH,
                     CHISO_WALL_TREND_MONTHS) &&
        trend_points(h, o, "quarters", e->snap.unit, period, CHISO_PERIOD_QUARTER,
                     CHISO_WALL_TREND_QUARTERS))
        s = cJSON_PrintUnformatted(o);
out:
    pthread_mutex_unlock(&h->lock);
    cJSON_Delete(o);
    return s;
}

/* Ranking order: rank ascending (unranked last), then unit code. */
static int row_cmp(const void *a, const void *b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    const cJSON *rx = cJSON_GetObjectItemCaseSensitive(x->snap.row, "rank");
    const cJSON *ry = cJSON_GetObjectItemCaseSensitive(y->snap.row, "rank");
    double dx = cJSON_IsNumber(rx) ? rx->valuedouble : 1e18;
    double dy = cJSON_IsNumber(ry) ? ry->valuedouble : 1e18;

    if (dx != dy)
        return dx < dy ? -1 : 1;
    return strcmp(x->snap.unit, y->snap.unit);
}

char *wall_hub_units_json(wall_hub *h, const char *period)
{
    cJSON *o = cJSON_CreateObject(), *rows;
    entry **list = NULL, *prov;
    size_t n = 0, pos = 0;
    chiso_map_entry *me = NULL;
    char *s = NULL;

    pthread_mutex_lock(&h->lock);
    cJSON_AddStringToObject(o, "period", period);
    prov = find_province(h, period);
    if (prov)
        cJSON_AddStringToObject(o, "province", prov->snap.unit);
    else
        cJSON_AddNullToObject(o, "province");
    cJSON_AddNumberToObject(o, "seq", (double)h->seq);
    rows = cJSON_AddArrayToObject(o, "units");
    if (!rows || !(list = malloc(sizeof(*list) * (chiso_map_size(h->entries) + 1))))
        goto out;
    while ((me = chiso_map_next(h->entries, &pos, me))) {
        entry *e = me->ptr;
        if (!e->snap.province && strcmp(e->snap.period, period) == 0)
            list[n++] = e;
    }
    qsort(list, n, sizeof(*list), row_cmp);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(rows, cJSON_Duplicate(list[i]->snap.row, 1));
    s = cJSON_PrintUnformatted(o);
out:
    pthread_mutex_unlock(&h->lock);
    free(list);
    cJSON_Delete(o);
    return s;
}

/* An alert as served: the record plus "unit_name" (null when the wall has
 * no snapshot of the unit) and "seq". */
static cJSON *alert_json(wall_hub *h, const alert *a)
{
    cJSON *o = cJSON_Duplicate(a->doc, 1);
    chiso_map_entry *ne = chiso_map_get(h->names, a->unit);

    if (!o)
        return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(o, "unit_name");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "seq");
    if (ne && ne->ptr)
        cJSON_AddStringToObject(o, "unit_name", ne->ptr);
    else
        cJSON_AddNullToObject(o, "unit_name");
    cJSON_AddNumberToObject(o, "seq", (double)a->seq);
    return o;
}

/* The alerts newer than `after`, newest first, at most n. */
static cJSON *alerts_after(wall_hub *h, uint64_t after, size_t n)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "alerts");
    size_t keep = h->o.alerts_keep;

    for (size_t i = 0; list && i < h->nalerts && i < n; i++) {
        const alert *a = &h->alerts[(h->alert_next + keep - 1 - i) % keep];
        if (a->seq <= after)
            break;
        cJSON_AddItemToArray(list, alert_json(h, a));
    }
    return o;
}

/* Build an object under the lock and print it; NULL on no memory. */
static char *print_locked(wall_hub *h, cJSON *(*build)(wall_hub *h, size_t n), size_t n)
{
    char *s;
    pthread_mutex_lock(&h->lock);
    s = print_delete(build(h, n));
    pthread_mutex_unlock(&h->lock);
    return s;
}

static cJSON *latest_alerts(wall_hub *h, size_t n)
{
    return alerts_after(h, 0, n);
}

char *wall_hub_alerts_json(wall_hub *h, int n)
{
    return print_locked(h, latest_alerts, n > 0 ? (size_t)n : 0);
}

static cJSON *today_obj(wall_hub *h, size_t unused)
{
    cJSON *o = cJSON_CreateObject();
    char day[CHISO_PERIOD_STRLEN], at[CHISO_TIME_STRLEN];
    bool known = h->today.ok && h->today.day >= 0;
    (void)unused;

    if (h->today.day >= 0) {
        chiso_period_key(h->today.day, CHISO_PERIOD_DAY, day);
        cJSON_AddStringToObject(o, "day", day);
    } else {
        cJSON_AddNullToObject(o, "day");
    }
    if (known) {
        cJSON_AddNumberToObject(o, "received", (double)h->today.received);
        cJSON_AddNumberToObject(o, "units", (double)h->today.units);
    } else {
        cJSON_AddNullToObject(o, "received");
        cJSON_AddNullToObject(o, "units");
    }
    cJSON_AddStringToObject(o, "time_source", h->o.time_src);
    cJSON_AddBoolToObject(o, "ok", h->today.ok);
    if (h->today.at > 0) {
        chiso_time_format(h->today.at, at);
        cJSON_AddStringToObject(o, "read_at", at);
    } else {
        cJSON_AddNullToObject(o, "read_at");
    }
    return o;
}

char *wall_hub_today_json(wall_hub *h)
{
    return print_locked(h, today_obj, 0);
}

static cJSON *periods_obj(wall_hub *h, size_t unused)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    size_t n = 0, pos = 0;
    chiso_map_entry *pe = NULL;
    const char **keys = malloc(sizeof(*keys) * (chiso_map_size(h->periods) + 1));
    char def[CHISO_PERIOD_STRLEN];

    (void)unused;
    default_period_locked(h, def);
    cJSON_AddStringToObject(o, "default", def);
    arr = cJSON_AddArrayToObject(o, "periods");
    if (!keys || !arr) {
        free(keys);
        cJSON_Delete(o);
        return NULL;
    }
    while ((pe = chiso_map_next(h->periods, &pos, pe)))
        keys[n++] = pe->key;
    qsort(keys, n, sizeof(*keys), chiso_wall_period_cmp);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(keys[i]));
    free(keys);
    return o;
}

char *wall_hub_periods_json(wall_hub *h)
{
    return print_locked(h, periods_obj, 0);
}

/* ---- live updates ---- */

static void drop_client(wall_hub *h, wall_client *c)
{
    c->dropped = true;
    c->woken = true;
    chiso_counter_add(h->m_dropped, 1);
    LOG_WARN("live updates: a client of %s too slow (queue over %zu bytes): dropped", c->period,
             h->o.queue_bytes);
}

/* Queue one event to every client (period NULL) or to the clients of one
 * period; a client whose queue overflows is dropped. */
static void push(wall_hub *h, const char *period, const char *event, const char *data)
{
    for (wall_client *c = h->clients; c; c = c->next) {
        if (c->dropped || (period && strcmp(c->period, period) != 0))
            continue;
        int rc = chiso_wall_sseq_event(c->q, event, data);
        if (rc == CHISO_ERANGE) {
            drop_client(h, c);
        } else if (rc == 0) {
            c->woken = true;
            chiso_counter_add(h->m_pushes, 1);
        }
    }
}

/* Push an object (deleted here) to the clients of period (NULL: all). */
static void push_obj(wall_hub *h, const char *period, const char *event, cJSON *o)
{
    char *s = print_delete(o);
    if (!s) {
        LOG_ERROR("live updates: out of memory");
        return;
    }
    push(h, period, event, s);
    free(s);
}

/* The `scores` event of one period: its changed rows, and the province
 * snapshot when it changed. NULL when nothing of the period changed. */
static cJSON *scores_event(wall_hub *h, const char *period)
{
    cJSON *o = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(o, "rows");
    size_t pos = 0;
    chiso_map_entry *ce = NULL;
    const entry *prov = NULL;
    bool any = false;

    if (!rows) {
        cJSON_Delete(o);
        return NULL;
    }
    while ((ce = chiso_map_next(h->changed, &pos, ce))) {
        const char *bar = strrchr(ce->key, '|');
        chiso_map_entry *me;
        if (!bar || strcmp(bar + 1, period) != 0)
            continue;
        any = true;
        me = chiso_map_get(h->entries, ce->key);
        if (me && ((entry *)me->ptr)->snap.province) {
            prov = me->ptr;
        } else if (me) {
            cJSON_AddItemToArray(rows, cJSON_Duplicate(((entry *)me->ptr)->snap.row, 1));
        } else { /* forgotten by a tombstone */
            cJSON *gone = cJSON_CreateObject();
            char unit[KEY_MAX];
            snprintf(unit, sizeof(unit), "%.*s", (int)(bar - ce->key), ce->key);
            cJSON_AddStringToObject(gone, "unit", unit);
            cJSON_AddBoolToObject(gone, "removed", 1);
            cJSON_AddItemToArray(rows, gone);
        }
    }
    if (!any) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "period", period);
    cJSON_AddNumberToObject(o, "seq", (double)h->seq);
    if (prov) {
        cJSON *snap = cJSON_Parse(prov->raw);
        if (snap) {
            cJSON_AddNumberToObject(o, "province_seq", (double)prov->seq);
            cJSON_AddItemToObject(o, "province", snap);
        }
    }
    return o;
}

void wall_hub_flush(wall_hub *h)
{
    char def[CHISO_PERIOD_STRLEN];

    pthread_mutex_lock(&h->lock);
    if (h->stopping)
        goto out;
    if (chiso_map_size(h->changed) > 0) {
        /* one event per distinct period followed by a client */
        for (wall_client *c = h->clients; c; c = c->next) {
            wall_client *d = h->clients;
            while (d != c && strcmp(d->period, c->period) != 0)
                d = d->next;
            if (d != c)
                continue; /* an earlier client has this period: done */
            cJSON *ev = scores_event(h, c->period);
            if (ev)
                push_obj(h, c->period, "scores", ev);
        }
        /* start a new set; without memory keep the old one, whose keys
         * are then pushed again at the next flush (harmless) */
        chiso_map *fresh = chiso_map_new();
        if (fresh) {
            chiso_map_destroy(h->changed);
            h->changed = fresh;
        }
    }
    if (h->nalerts > 0) {
        const alert *newest = &h->alerts[(h->alert_next + h->o.alerts_keep - 1) % h->o.alerts_keep];
        if (newest->seq > h->alerts_flushed) {
            push_obj(h, NULL, "alerts", alerts_after(h, h->alerts_flushed, h->o.alerts_keep));
            h->alerts_flushed = newest->seq;
        }
    }
    if (h->today.changed) {
        push_obj(h, NULL, "today", today_obj(h, 0));
        h->today.changed = false;
    }
    default_period_locked(h, def);
    if (h->periods_changed || strcmp(def, h->last_default) != 0) {
        push_obj(h, NULL, "periods", periods_obj(h, 0));
        memcpy(h->last_default, def, sizeof(def));
        h->periods_changed = false;
    }
    for (wall_client *c = h->clients; c; c = c->next) {
        if (c->woken)
            pthread_cond_signal(&c->cond);
        c->woken = false;
    }
out:
    pthread_mutex_unlock(&h->lock);
}

void wall_hub_stop(wall_hub *h)
{
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    for (wall_client *c = h->clients; c; c = c->next)
        pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&h->lock);
}

wall_client *wall_hub_client_new(wall_hub *h, const char *period)
{
    wall_client *c = NULL;
    pthread_condattr_t attr;
    cJSON *hello;

    pthread_mutex_lock(&h->lock);
    if (h->stopping || h->nclients >= h->o.max_clients)
        goto out;
    if (!(c = calloc(1, sizeof(*c))) || !(c->q = chiso_wall_sseq_new(h->o.queue_bytes)))
        goto err;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_cond_init(&c->cond, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        goto err;
    }
    pthread_condattr_destroy(&attr);
    if (period)
        snprintf(c->period, sizeof(c->period), "%s", period);
    else
        default_period_locked(h, c->period);
    hello = cJSON_CreateObject();
    cJSON_AddStringToObject(hello, "boot", h->boot);
    cJSON_AddStringToObject(hello, "period", c->period);
    cJSON_AddNumberToObject(hello, "seq", (double)h->seq);
    cJSON *kiosk = cJSON_AddObjectToObject(hello, "kiosk");
    if (kiosk) {
        cJSON_AddBoolToObject(kiosk, "on", h->o.kiosk);
        cJSON_AddNumberToObject(kiosk, "page_s", h->o.kiosk_page_s);
        cJSON_AddNumberToObject(kiosk, "drilldowns", h->o.kiosk_drilldowns);
        cJSON_AddNumberToObject(kiosk, "drilldown_s", h->o.kiosk_drilldown_s);
    }
    char *text = kiosk ? print_delete(hello) : (cJSON_Delete(hello), NULL);
    /* the browser's reconnection delay, then the greeting */
    if (!text || chiso_wall_sseq_raw(c->q, "retry: 2000\n") != 0 ||
        chiso_wall_sseq_event(c->q, "hello", text) != 0) {
        free(text);
        pthread_cond_destroy(&c->cond);
        goto err;
    }
    free(text);
    c->next = h->clients;
    h->clients = c;
    h->nclients++;
    chiso_gauge_set(h->m_clients, h->nclients);
    goto out;
err:
    if (c)
        chiso_wall_sseq_destroy(c->q);
    free(c);
    c = NULL;
out:
    pthread_mutex_unlock(&h->lock);
    return c;
}

ssize_t wall_hub_client_read(wall_hub *h, wall_client *c, char *buf, size_t max)
{
    struct timespec deadline = chiso_deadline(CLOCK_MONOTONIC, h->o.ping_ms);
    ssize_t rc;

    pthread_mutex_lock(&h->lock);
    for (;;) {
        if (c->dropped) {
            rc = -2;
            break;
        }
        if (chiso_wall_sseq_pending(c->q) > 0) {
            rc = (ssize_t)chiso_wall_sseq_take(c->q, buf, max);
            break;
        }
        if (h->stopping) {
            rc = -1;
            break;
        }
        if (pthread_cond_timedwait(&c->cond, &h->lock, &deadline) == ETIMEDOUT &&
            chiso_wall_sseq_event(c->q, "ping", "{}") == CHISO_ERANGE)
            drop_client(h, c);
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void wall_hub_client_free(wall_hub *h, wall_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&h->lock);
    for (wall_client **p = &h->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            h->nclients--;
            break;
        }
    }
    chiso_gauge_set(h->m_clients, h->nclients);
    pthread_mutex_unlock(&h->lock);
    pthread_cond_destroy(&c->cond);
    chiso_wall_sseq_destroy(c->q);
    free(c);
}
