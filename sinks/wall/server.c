/*
 * server.c - the wall's HTTP server (server.h).
 *
 * Every request is answered on its first handler call, in this order:
 * route (wall_http.h), token (all but /healthz), method (GET and HEAD
 * only), no request body, then the route's handler. Responses carry
 * nosniff, no-referrer and frame-deny headers; the page also a Content
 * Security Policy allowing nothing but this origin. Oversized requests are
 * refused by libmicrohttpd itself (its per-connection memory limit).
 */
#include "server.h"

#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "assets.h"
#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/metrics.h"
#include "wall_http.h"

static const unsigned int status_codes[] = {200, 400, 401, 404, 405, 413, 500, 503};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]))

struct wall_server {
    struct MHD_Daemon *daemon;
    wall_hub *hub;
    chiso_metrics *metrics;
    wall_server_opts o;
    chiso_counter *m_status[NSTATUS];
};

/* A live-update response's reader state. */
typedef struct sse_ctx {
    wall_hub *hub;
    wall_client *client;
} sse_ctx;

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; connect-src 'self'; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'";

static void count_status(wall_server *s, unsigned int status)
{
    for (size_t i = 0; i < NSTATUS; i++) {
        if (status_codes[i] == status)
            chiso_counter_add(s->m_status[i], 1);
    }
}

static void common_headers(struct MHD_Response *resp, const char *type, const char *cache)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

/* Queue a response; body is freed here when `owned`. `seq` (0 = none)
 * becomes the X-Chiso-Seq header. */
static enum MHD_Result respond(wall_server *s, struct MHD_Connection *conn, unsigned int status,
                               const char *type, char *body, size_t len, bool owned, uint64_t seq)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(len, body,
                                           owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    common_headers(resp, type, "no-store");
    if (seq) {
        char num[24];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)seq);
        MHD_add_response_header(resp, "X-Chiso-Seq", num);
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"chiso-wall\"");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    count_status(s, status);
    return ret;
}

/* A JSON error body {"error": message}; message is a literal. */
static enum MHD_Result reply_error(wall_server *s, struct MHD_Connection *conn, unsigned int status,
                                   const char *message)
{
    char *body = NULL;

    if (asprintf(&body, "{\"error\":\"%s\"}\n", message) < 0)
        return MHD_NO;
    return respond(s, conn, status, "application/json; charset=utf-8", body, strlen(body), true, 0);
}

/* A JSON body from the hub; NULL means not found (or no memory). */
static enum MHD_Result json(wall_server *s, struct MHD_Connection *conn, char *body, uint64_t seq,
                            const char *not_found)
{
    if (!body)
        return reply_error(s, conn, MHD_HTTP_NOT_FOUND, not_found);
    return respond(s, conn, MHD_HTTP_OK, "application/json; charset=utf-8", body, strlen(body),
                   true, seq);
}

static enum MHD_Result asset(wall_server *s, struct MHD_Connection *conn, const char *name)
{
    const wall_asset *a = wall_asset_find(name);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (!a)
        return reply_error(s, conn, MHD_HTTP_NOT_FOUND, "not found");
    resp = MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    common_headers(resp, a->type, "no-cache");
    if (strncmp(a->type, "text/html", 9) == 0)
        MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    count_status(s, MHD_HTTP_OK);
    return ret;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    sse_ctx *x = cls;
    ssize_t n;
    (void)pos;

    n = wall_hub_client_read(x->hub, x->client, buf, max);
    if (n == -1)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void sse_free(void *cls)
{
    sse_ctx *x = cls;
    wall_hub_client_free(x->hub, x->client);
    free(x);
}

static enum MHD_Result events(wall_server *s, struct MHD_Connection *conn, const char *period,
                              bool head)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    sse_ctx *x;

    if (head) {
        resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    } else {
        if (!(x = calloc(1, sizeof(*x))))
            return MHD_NO;
        x->hub = s->hub;
        x->client = wall_hub_client_new(s->hub, period);
        if (!x->client) {
            free(x);
            return reply_error(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                               "too many live-update clients");
        }
        resp =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, x, sse_free);
        if (!resp) {
            sse_free(x);
            return MHD_NO;
        }
    }
    if (!resp)
        return MHD_NO;
    common_headers(resp, "text/event-stream; charset=utf-8", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    count_status(s, MHD_HTTP_OK);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    wall_server *s = cls;
    chiso_wall_route r;
    char period[CHISO_PERIOD_STRLEN];
    const char *arg, *len;
    uint64_t seq = 0;
    int n;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;

    chiso_wall_route_path(url, &r);
    if (r.id != CHISO_WALL_HEALTHZ &&
        !chiso_wall_auth_ok(
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
            s->o.token))
        return reply_error(s, conn, MHD_HTTP_UNAUTHORIZED, "a bearer token is required");
    if (!chiso_wall_method_allowed(method))
        return reply_error(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET and HEAD only");
    len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if ((len && strcmp(len, "0") != 0) ||
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return reply_error(s, conn, MHD_HTTP_CONTENT_TOO_LARGE, "no request body is accepted");

    /* the period of the API and of /events: given, or the default */
    arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "period");
    if (arg && *arg) {
        if (chiso_wall_period_arg(arg, period) != 0)
            return reply_error(s, conn, MHD_HTTP_BAD_REQUEST,
                               "period must be a month, quarter or year: 2025-07, 2025-Q3, 2025");
    } else {
        wall_hub_default_period(s->hub, period);
    }

    switch (r.id) {
    case CHISO_WALL_ASSET:
        return asset(s, conn, r.arg);
    case CHISO_WALL_HEALTHZ:
        return respond(s, conn, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n", 3, false, 0);
    case CHISO_WALL_METRICS: {
        char *body = chiso_metrics_render(s->metrics);
        if (!body)
            return reply_error(s, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return respond(s, conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body,
                       strlen(body), true, 0);
    }
    case CHISO_WALL_EVENTS:
        return events(s, conn, arg && *arg ? period : NULL,
                      strcmp(method, MHD_HTTP_METHOD_HEAD) == 0);
    case CHISO_WALL_API_PROVINCE:
        return json(s, conn, wall_hub_province_json(s->hub, period, &seq), seq,
                    "no province snapshot for this period");
    case CHISO_WALL_API_UNITS:
        return json(s, conn, wall_hub_units_json(s->hub, period), 0, "out of memory");
    case CHISO_WALL_API_UNIT:
        return json(s, conn, wall_hub_unit_json(s->hub, r.arg, period, &seq), seq,
                    "no snapshot of this unit for this period");
    case CHISO_WALL_API_ALERTS:
        n = chiso_wall_count_arg(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "n"),
                                 s->o.alerts_default, s->o.alerts_max);
        if (n < 0)
            return reply_error(s, conn, MHD_HTTP_BAD_REQUEST,
                               "n must be a count from 1 to alerts.keep");
        return json(s, conn, wall_hub_alerts_json(s->hub, n), 0, "out of memory");
    case CHISO_WALL_API_TODAY:
        return json(s, conn, wall_hub_today_json(s->hub), 0, "out of memory");
    case CHISO_WALL_API_PERIODS:
        return json(s, conn, wall_hub_periods_json(s->hub), 0, "out of memory");
    case CHISO_WALL_API_TREND:
        return json(s, conn, wall_hub_trend_json(s->hub, r.arg, period), 0,
                    "no snapshot of this unit for this period");
    case CHISO_WALL_NOT_FOUND:
        break;
    }
    return reply_error(s, conn, MHD_HTTP_NOT_FOUND, "not found");
}

wall_server *wall_server_start(const wall_server_opts *opts, wall_hub *hub, chiso_metrics *metrics,
                               char *errstr, size_t errstr_size)
{
    struct addrinfo hints = {0}, *res = NULL;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | MHD_USE_ERROR_LOG;
    wall_server *s = calloc(1, sizeof(*s));
    char portstr[16];
    int rc;

    if (!s) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->hub = hub;
    s->metrics = metrics;
    s->o = *opts;
    for (size_t i = 0; i < NSTATUS; i++) {
        char name[96];
        snprintf(name, sizeof(name), "chiso_wall_http_responses_total{code=\"%u\"}",
                 status_codes[i]);
        s->m_status[i] = chiso_metrics_counter(metrics, name, "HTTP responses by status code");
    }
    snprintf(portstr, sizeof(portstr), "%d", opts->port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(opts->bind, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "http.bind '%s': %s", opts->bind, gai_strerror(rc));
        free(s);
        return NULL;
    }
    if (res->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        chiso_mhd_log, (void *)"http", MHD_OPTION_SOCK_ADDR, res->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)opts->connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)opts->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->request_max,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
    freeaddrinfo(res);
    if (!s->daemon) {
        snprintf(errstr, errstr_size, "cannot listen on %s:%d (address in use?)", opts->bind,
                 opts->port);
        free(s);
        return NULL;
    }
    LOG_INFO("serving the wall on http://%s:%d/%s", opts->bind, opts->port,
             opts->token && *opts->token ? " (bearer token required)" : "");
    return s;
}

void wall_server_stop(wall_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon); /* joins every connection thread */
    free(s);
}
