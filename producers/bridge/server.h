/*
 * producers/bridge: chiso-bridge, the payloads provinces send the national portal into events:
 * server.h (this: the HTTP server: routes, limits, login and sessions, answers).
 *
 * server.h - chiso-bridge's HTTP side (libmicrohttpd, a thread per
 * connection, as the wall). Routes:
 *   POST <login.path>          the login call: {"username","password"} ->
 *                              {"error_code":0,"session":"..."} (BRIDGE.md §1.2)
 *   POST /                     the gateway envelope; the service is in the body
 *   POST /.../<Service>        either envelope; the service is the last segment
 *   GET  /healthz, /metrics
 * A request is answered once ingest.h has made it durable; with an upstream
 * (the national portal), it is then forwarded unchanged and the portal's
 * answer goes back to the province.
 */
#ifndef CHISO_BRIDGE_SERVER_H
#define CHISO_BRIDGE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "chiso/metrics.h"
#include "ingest.h"
#include "upstream.h"

typedef struct bridge_server bridge_server;

typedef struct bridge_server_opts {
    const char *bind;
    int port;
    int connections;
    int timeout_s;
    size_t body_max;      /* bytes of a request body */
    size_t items_max;     /* items of a request */
    const char *token;    /* auth.token: "Authorization: Bearer <token>", or NULL */
    const char *username; /* auth.username and auth.password: the login call, or NULL */
    const char *password;
    int session_ttl_s;
    const char *login_path;    /* "/login" */
    bool date_header;          /* take the request's Date header as its sending time */
    bridge_upstream *upstream; /* NULL: not in the sync path */
} bridge_server_opts;

/* Start serving. NULL with errstr on failure (address in use, ...). */
bridge_server *bridge_server_start(const bridge_server_opts *opts, bridge_ingest *ingest,
                                   chiso_metrics *metrics, char *errstr, size_t errstr_size);

/* Stop: waits for the requests in progress. NULL is a no-op. */
void bridge_server_stop(bridge_server *s);

#endif
