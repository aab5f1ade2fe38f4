/*
 * server.h - the wall's HTTP server (libmicrohttpd): the embedded page,
 * the JSON API, the live updates (/events) and /metrics, /healthz.
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION): a live-update
 * connection's thread waits for its client's bytes (hub.h) without
 * holding up any other request. Read-only (GET and HEAD), bounded
 * (connections, request size, idle timeout), optional bearer token.
 */
#ifndef CHISO_WALL_SERVER_H
#define CHISO_WALL_SERVER_H

#include <stddef.h>

#include "chiso/metrics.h"
#include "hub.h"

typedef struct wall_server wall_server;

/* Settings (plain value struct the caller fills; strings not copied). */
typedef struct wall_server_opts {
    const char *bind;   /* address to listen on */
    int port;           /* 1..65535 */
    const char *token;  /* bearer token, NULL or "" = none */
    int connections;    /* connections at once */
    size_t request_max; /* request line + headers, bytes */
    int timeout_s;      /* idle connection timeout */
    int alerts_default; /* /api/alerts without n */
    int alerts_max;     /* largest n of /api/alerts */
} wall_server_opts;

/* Listen and serve in background threads. Caller stops it with
 * wall_server_stop() (after wall_hub_stop(), so live-update connections
 * end). NULL with errstr. */
wall_server *wall_server_start(const wall_server_opts *opts, wall_hub *hub, chiso_metrics *metrics,
                               char *errstr, size_t errstr_size);
void wall_server_stop(wall_server *s);

#endif
