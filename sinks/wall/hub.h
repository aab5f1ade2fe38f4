/*
 * sinks/wall: chiso-wall, the monitoring wall: hub.h (this), server.c, today.h, wall_http.h and
 * wall_sse.h (the HTTP and SSE rules, library chiso_wall_rules), web/ (the page).
 *
 * hub.h - the state of chiso-wall: the latest snapshot of every key of the
 * `scores` topic, the latest alerts, today's received dossiers, and the
 * live-update (Server-Sent Events) clients.
 *
 * Threads: the tailing thread puts records and flushes every
 * sse.interval.ms; the today thread sets the count; HTTP connection threads
 * read JSON and take their client's bytes. One mutex guards it all, and
 * nothing done under it waits for a socket: a flush renders the changes
 * into each client's bounded queue (wall_sse.h) and wakes the client's
 * thread, which sends them. A client whose queue overflows is dropped.
 *
 * What a flush pushes to a client (docs/wall.md, "Live updates"):
 *   scores   {"period","seq","rows":[row...],"province":snapshot}  the rows
 *            of the client's period that changed; "province" only when
 *            the province snapshot of that period changed
 *   alerts   {"alerts":[alert...]}  new alerts, newest first
 *   today    the /api/today object, when the count changed
 *   periods  the /api/periods object, when the set or the default changed
 * and on connect `hello` {"boot","period","seq","kiosk"}; `ping` {} after
 * ping_ms without anything to send.
 */
#ifndef CHISO_WALL_HUB_H
#define CHISO_WALL_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chiso/metrics.h"
#include "chiso/vntime.h"

typedef struct wall_hub wall_hub;
typedef struct wall_client wall_client;

/* Settings of a hub (plain value struct the caller fills). */
typedef struct wall_hub_opts {
    size_t alerts_keep;   /* alerts kept for /api/alerts and the feed */
    size_t queue_bytes;   /* per-client queue limit */
    int max_clients;      /* live-update clients at once */
    int ping_ms;          /* idle time after which a client gets `ping` */
    const char *time_src; /* "wall" or "event": where today comes from */
    /* the page's kiosk mode by default (docs/wall.md "Kiosk"), sent in
     * `hello`; a page's ?kiosk= overrides it */
    bool kiosk;
    int kiosk_page_s;      /* seconds per page of the ranking */
    int kiosk_drilldowns;  /* units furthest from their target shown */
    int kiosk_drilldown_s; /* seconds per drill-down */
} wall_hub_opts;

/* A hub registering its metrics in `metrics` (not owned). Caller frees
 * with wall_hub_destroy() after every client is freed. NULL on no memory. */
wall_hub *wall_hub_new(const wall_hub_opts *opts, chiso_metrics *metrics);
void wall_hub_destroy(wall_hub *h);

/* A record of `scores`: key "<unit>|<period>", payload the snapshot, or
 * empty (a tombstone: the key is forgotten). A record that is not a
 * snapshot of its key is counted and ignored. */
void wall_hub_put_snapshot(wall_hub *h, const char *key, size_t key_len, const char *payload,
                           size_t len);
/* A record of `alerts`; a malformed one is counted and ignored. */
void wall_hub_put_alert(wall_hub *h, const char *payload, size_t len);
/* Today's received dossiers (`ok` false: could not be read, day unknown
 * when < 0). */
void wall_hub_set_today(wall_hub *h, int32_t day, int64_t received, int64_t units, bool ok);

/* Push what changed since the last flush to every client. */
void wall_hub_flush(wall_hub *h);
/* Wake every client for the last time: their reads end the stream. */
void wall_hub_stop(wall_hub *h);

/* JSON bodies for the API; each returns a string the caller frees with
 * free(), or NULL: no such snapshot (province, unit) or no memory. *seq
 * (may be NULL) receives the snapshot's sequence number. */
char *wall_hub_province_json(wall_hub *h, const char *period, uint64_t *seq);
/* The trend of a unit (NULL: the province) up to `period` (docs/wall.md
 * "Trends"): {unit, unit_name, kind, period, months: [12 points], quarters:
 * [8 points]}, each point a snapshot's total, full-process rate and target
 * and #5's rate, or nulls where the wall holds no snapshot. NULL when the
 * wall has no snapshot of the unit for `period` (or on out of memory). */
char *wall_hub_trend_json(wall_hub *h, const char *unit, const char *period);

char *wall_hub_unit_json(wall_hub *h, const char *unit, const char *period, uint64_t *seq);
char *wall_hub_units_json(wall_hub *h, const char *period);
char *wall_hub_alerts_json(wall_hub *h, int n);
char *wall_hub_today_json(wall_hub *h);
char *wall_hub_periods_json(wall_hub *h);
/* The period shown when a request names none: this month (by the time
 * source) when there is a snapshot of it, else the latest month with
 * one; "" when the hub holds nothing. */
void wall_hub_default_period(wall_hub *h, char out[CHISO_PERIOD_STRLEN]);

/* A live-update client following `period` (NULL: the default period),
 * with `hello` queued. NULL when max_clients are connected, the hub is
 * stopping, or on no memory. Freed with wall_hub_client_free(). */
wall_client *wall_hub_client_new(wall_hub *h, const char *period);
/* Wait (at most ping_ms, then queue a ping) for the client's bytes and
 * move up to max of them into buf. Returns the count (> 0), -1 when the
 * hub stops (end of stream), -2 when the client was dropped. */
ssize_t wall_hub_client_read(wall_hub *h, wall_client *c, char *buf, size_t max);
void wall_hub_client_free(wall_hub *h, wall_client *c);

#endif
