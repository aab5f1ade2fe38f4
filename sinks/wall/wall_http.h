/*
 * wall_http.h - the request rules of the monitoring wall (chiso-wall),
 * without any I/O: which route a request path names, which methods are
 * served, the bearer-token check, and the query arguments accepted.
 *
 * The HTTP server (sinks/wall) calls these with what libmicrohttpd hands
 * it: the path already percent-decoded, one header value, one argument
 * value. Nothing here touches a file: an asset route only names a single
 * path segment that the server then looks up in its table of embedded
 * files, so no request can reach the file system ("/../x", "/a/b" and
 * "/.x" are all not found).
 */
#ifndef CHISO_WALL_HTTP_H
#define CHISO_WALL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "chiso/vntime.h"

typedef enum chiso_wall_route_id {
    CHISO_WALL_NOT_FOUND = 0,
    CHISO_WALL_ASSET,        /* an embedded file; arg = its name ("/" is index.html) */
    CHISO_WALL_HEALTHZ,      /* /healthz */
    CHISO_WALL_METRICS,      /* /metrics */
    CHISO_WALL_EVENTS,       /* /events (Server-Sent Events) */
    CHISO_WALL_API_PROVINCE, /* /api/province */
    CHISO_WALL_API_UNITS,    /* /api/units */
    CHISO_WALL_API_UNIT,     /* /api/units/{unit}; arg = the unit code */
    CHISO_WALL_API_ALERTS,   /* /api/alerts */
    CHISO_WALL_API_TODAY,    /* /api/today */
    CHISO_WALL_API_PERIODS,  /* /api/periods */
    CHISO_WALL_API_TREND,    /* /api/trend (the province; arg "") and /api/trend/{unit} */
} chiso_wall_route_id;

#define CHISO_WALL_ARG_MAX 64 /* an asset name or a unit code, NUL included */

/* A routed path (plain value struct filled by chiso_wall_route()). */
typedef struct chiso_wall_route {
    chiso_wall_route_id id;
    char arg[CHISO_WALL_ARG_MAX];
} chiso_wall_route;

/* Route a decoded request path (no query string). Assets are "/" and
 * "/<name>" where name is 1..63 characters of [A-Za-z0-9._-] not starting
 * with '.'; a unit is 1..32 characters of [A-Za-z0-9._-] (CONTRACT.md).
 * Anything else, a trailing slash included, is CHISO_WALL_NOT_FOUND.
 * Returns out->id. */
chiso_wall_route_id chiso_wall_route_path(const char *path, chiso_wall_route *out);

/* The wall is read-only: true for GET and HEAD only. */
bool chiso_wall_method_allowed(const char *method);

/* Whether a request may pass: true when `token` is NULL or empty, else when
 * `authorization` (the header value, may be NULL) is "Bearer <token>"
 * (scheme case-insensitive). The comparison takes the same time whatever
 * prefix of the token matches. */
bool chiso_wall_auth_ok(const char *authorization, const char *token);

/* The `period` argument: a month, quarter or year key ("2025-07",
 * "2025-Q3", "2025") in canonical form, copied to out. Days and anything
 * else are CHISO_EINVAL. */
int chiso_wall_period_arg(const char *value, char out[CHISO_PERIOD_STRLEN]);

/* A count argument (`n` of /api/alerts): a decimal integer 1..max, or
 * `def` when value is NULL or empty. Returns the count, or CHISO_EINVAL. */
int chiso_wall_count_arg(const char *value, int def, int max);

#endif
