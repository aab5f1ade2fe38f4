/*
 * server.c - chiso-bridge's HTTP server (server.h).
 */
#include "server.h"

#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "envelope.h"

#define SESSIONS_MAX 1024
#define SESSION_LEN  64 /* hex characters */

typedef struct session {
    char token[SESSION_LEN + 1];
    time_t expires;
} session;

struct bridge_server {
    struct MHD_Daemon *daemon;
    bridge_server_opts o;
    bridge_ingest *ingest;
    chiso_metrics *metrics;
    chiso_histogram *m_upstream_seconds;
    pthread_mutex_t sessions_mu;
    session sessions[SESSIONS_MAX];
};

/* A request body being received. */
typedef struct upload {
    char *uri;    /* the request's URI as sent: path and query, not decoded */
    bool started; /* the headers were seen */
    chiso_buf body;
    bool too_large;
} upload;

static const char JSON_TYPE[] = "application/json; charset=utf-8";

/* ---- answers ---------------------------------------------------------------- */

static void count(bridge_server *s, const char *service, unsigned int status)
{
    char name[160];
    snprintf(name, sizeof(name), "chiso_bridge_requests_total{service=\"%s\",code=\"%u\"}", service,
             status);
    chiso_counter_add(chiso_metrics_counter(s->metrics, name, "requests by service and status"), 1);
}

static enum MHD_Result respond(bridge_server *s, struct MHD_Connection *conn, const char *service,
                               unsigned int status, const char *type, char *body, size_t len,
                               bool owned)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"chiso\"");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    count(s, service, status);
    return ret;
}

/* The portal's answer shape, {"error_code","message"[,"errors"]}. */
static enum MHD_Result answer(bridge_server *s, struct MHD_Connection *conn, const char *service,
                              unsigned int status, const char *code, const char *message,
                              const bridge_item_error *errs, int n)
{
    char *body = bridge_answer(code, message, errs, n);
    if (!body)
        return MHD_NO;
    return respond(s, conn, service, status, JSON_TYPE, body, strlen(body), true);
}

/* ---- sessions ---------------------------------------------------------------- */

static bool session_valid(bridge_server *s, const char *token)
{
    bool ok = false;
    time_t now = time(NULL);
    if (!token || !token[0])
        return false;
    pthread_mutex_lock(&s->sessions_mu);
    for (int i = 0; i < SESSIONS_MAX; i++) {
        /* every slot compared, in constant time each */
        bool live = s->sessions[i].expires > now;
        ok |= live & chiso_secret_equal(token, s->sessions[i].token);
    }
    pthread_mutex_unlock(&s->sessions_mu);
    return ok;
}

/* Keep a session (the oldest slot makes room). */
static void session_keep(bridge_server *s, const char *token)
{
    int slot = 0;
    pthread_mutex_lock(&s->sessions_mu);
    for (int i = 1; i < SESSIONS_MAX; i++) {
        if (s->sessions[i].expires < s->sessions[slot].expires)
            slot = i;
    }
    snprintf(s->sessions[slot].token, sizeof(s->sessions[slot].token), "%s", token);
    s->sessions[slot].expires = time(NULL) + s->o.session_ttl_s;
    pthread_mutex_unlock(&s->sessions_mu);
}

static bool auth_required(const bridge_server *s)
{
    return (s->o.token && s->o.token[0]) || (s->o.username && s->o.username[0]);
}

/* The request may pass: no auth configured, the bearer token, or a
 * session the bridge issued (or the portal issued through it). */
static bool authorized(bridge_server *s, struct MHD_Connection *conn, const char *session)
{
    if (!auth_required(s))
        return true;
    const char *authz =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (s->o.token && s->o.token[0] && chiso_bearer_ok(authz, s->o.token))
        return true;
    return session_valid(s, session);
}

/* ---- forwarding ---------------------------------------------------------------- */

/* The request's headers the portal gets (upstream.h's allow-list). */
typedef struct header_list {
    const char *pairs[2 * 16 + 1];
    int n;
    const char *token;
} header_list;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    header_list *h = cls;
    (void)kind;
    /* chiso's own bearer token stays here */
    if (strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0 && h->token && h->token[0] &&
        chiso_bearer_ok(value, h->token))
        return MHD_YES;
    if (h->n < 2 * 16 && bridge_upstream_header_forwarded(key)) {
        h->pairs[h->n++] = key;
        h->pairs[h->n++] = value ? value : "";
    }
    h->pairs[h->n] = NULL;
    return MHD_YES;
}

/* Forward the request unchanged and answer with the portal's answer; a
 * portal down or slow is answered 502/504 in the portal's shape (the
 * province sends again; chiso already has its copy). `session_out` (may be
 * NULL) gets a session the portal's login answer carries. */
/* Whether an answer of the portal says success: a 2xx with error_code
 * 0, "0" or "00" (BRIDGE.md §1.4). */
static bool portal_ok(const bridge_upstream_answer *a, cJSON **json)
{
    *json = NULL;
    if (a->outcome != BRIDGE_UP_OK || a->status < 200 || a->status > 299 || !a->body)
        return false;
    *json = cJSON_ParseWithLength(a->body, a->len);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(*json, "error_code");
    return (cJSON_IsNumber(code) && code->valuedouble == 0) ||
           (cJSON_IsString(code) &&
            (strcmp(code->valuestring, "0") == 0 || strcmp(code->valuestring, "00") == 0));
}

static enum MHD_Result forward(bridge_server *s, struct MHD_Connection *conn, const char *service,
                               const char *url, const upload *up, bool login,
                               const bridge_request *req, int64_t now)
{
    header_list h = {.n = 0, .token = s->o.token};
    bridge_upstream_answer a;
    h.pairs[0] = NULL;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &h);
    /* the path and query as the province sent them, not decoded */
    char *path = strdup(up->uri ? up->uri : url);
    if (!path)
        return MHD_NO;
    char *q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    int prc = bridge_upstream_post(s->o.upstream, path, q, h.pairs, up->body.buf, up->body.len, &a);
    free(path);
    if (prc != 0)
        return answer(s, conn, service, MHD_HTTP_INTERNAL_SERVER_ERROR, "-1",
                      "Lỗi nội bộ khi chuyển tiếp tới Cổng DVCQG", NULL, 0);
    char name[128];
    snprintf(name, sizeof(name), "chiso_bridge_upstream_total{outcome=\"%s\"}",
             bridge_upstream_outcome_name(a.outcome));
    chiso_counter_add(chiso_metrics_counter(s->metrics, name, "forwarded requests, by outcome"), 1);
    chiso_histogram_observe(s->m_upstream_seconds, a.seconds);
    enum MHD_Result ret;
    if (a.outcome == BRIDGE_UP_OK || a.outcome == BRIDGE_UP_HTTP_ERROR) {
        if (a.outcome != BRIDGE_UP_OK)
            LOG_WARN("upstream answered %ld to %s: %s", a.status, url, a.note);
        cJSON *j = NULL;
        bool ok = portal_ok(&a, &j);
        const cJSON *sess = cJSON_GetObjectItemCaseSensitive(j, "session");
        if (login && ok && cJSON_IsString(sess) && sess->valuestring[0] &&
            strlen(sess->valuestring) <= SESSION_LEN)
            session_keep(s, sess->valuestring);
        cJSON_Delete(j);
        /* the portal has the dossiers: indicator 4's fact */
        int n = 0;
        char errstr[256];
        if (ok && req && bridge_ingest_synced(s->ingest, req, now, &n, errstr, sizeof(errstr)) != 0)
            LOG_WARN("%s: the portal's acknowledgement of %d dossiers not recorded: %s", service, n,
                     errstr);
        char *body = a.body;
        size_t len = a.len;
        a.body = NULL;
        ret = respond(s, conn, service, (unsigned int)a.status,
                      a.content_type[0] ? a.content_type : JSON_TYPE, body ? body : (char *)"", len,
                      body != NULL);
    } else {
        LOG_WARN("upstream %s for %s: %s", bridge_upstream_outcome_name(a.outcome), url, a.note);
        ret = answer(
            s, conn, service,
            a.outcome == BRIDGE_UP_TIMEOUT ? MHD_HTTP_GATEWAY_TIMEOUT : MHD_HTTP_BAD_GATEWAY, "-1",
            a.outcome == BRIDGE_UP_TIMEOUT
                ? "Cổng DVCQG không trả lời kịp; chiso đã ghi nhận, vui lòng gửi lại sau"
                : "Không kết nối được Cổng DVCQG; chiso đã ghi nhận, vui lòng gửi lại sau",
            NULL, 0);
    }
    bridge_upstream_answer_free(&a);
    return ret;
}

/* ---- the login call ---------------------------------------------------------------- */

static enum MHD_Result login(bridge_server *s, struct MHD_Connection *conn, const char *url,
                             const upload *up)
{
    if (s->o.upstream)
        return forward(s, conn, "login", url, up, true, NULL, 0);
    if (!s->o.username || !s->o.username[0])
        return answer(s, conn, "login", MHD_HTTP_NOT_FOUND, "-1",
                      "Đăng nhập không được cấu hình (auth.username); dùng bearer token", NULL, 0);
    cJSON *j = cJSON_ParseWithLength(up->body.buf ? up->body.buf : "", up->body.len);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "username");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "password");
    /* both compared whatever the first gives */
    bool ok = chiso_secret_equal(cJSON_IsString(u) ? u->valuestring : NULL, s->o.username);
    ok &= chiso_secret_equal(cJSON_IsString(p) ? p->valuestring : NULL,
                             s->o.password ? s->o.password : "");
    cJSON_Delete(j);
    if (!ok)
        return answer(s, conn, "login", MHD_HTTP_UNAUTHORIZED, "-1",
                      "Sai tên đăng nhập hoặc mật khẩu", NULL, 0);
    unsigned char raw[SESSION_LEN / 2];
    char token[SESSION_LEN + 1];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return answer(s, conn, "login", MHD_HTTP_INTERNAL_SERVER_ERROR, "-1",
                      "Không tạo được phiên đăng nhập", NULL, 0);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    session_keep(s, token);
    char body[256];
    int n = snprintf(body, sizeof(body),
                     "{\"error_code\":0,\"message\":\"Đăng nhập thành công\",\"session\":\"%s\"}",
                     token);
    return respond(s, conn, "login", MHD_HTTP_OK, JSON_TYPE, strdup(body), (size_t)n, true);
}

/* ---- dossiers and steps -------------------------------------------------------------- */

/* The last segment of the path ("/api/DongBoHoSoMC" -> "DongBoHoSoMC"). */
static const char *last_segment(const char *url)
{
    const char *slash = strrchr(url, '/');
    return slash ? slash + 1 : url;
}

/* The request's sending time: its Date header when so configured and it
 * parses, else the arrival. */
static int64_t sending_time(bridge_server *s, struct MHD_Connection *conn)
{
    if (s->o.date_header) {
        const char *d = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_DATE);
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = d ? strptime(d, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
        if (end && *end == '\0')
            return (int64_t)timegm(&tm);
    }
    return (int64_t)time(NULL);
}

static enum MHD_Result dossiers(bridge_server *s, struct MHD_Connection *conn, const char *url,
                                const upload *up)
{
    bridge_request req;
    char errstr[512];
    const char *svc_name = "other";
    if (bridge_request_parse(
            up->body.buf ? up->body.buf : "", up->body.len, last_segment(url),
            MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "MaDinhDanhDV"),
            MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "isUpdating"), s->o.items_max,
            &req, errstr, sizeof(errstr)) != 0) {
        if (!authorized(s, conn, NULL))
            return answer(s, conn, svc_name, MHD_HTTP_UNAUTHORIZED, "-1",
                          "Phiên đăng nhập không hợp lệ hoặc đã hết hạn", NULL, 0);
        return answer(s, conn, svc_name, MHD_HTTP_BAD_REQUEST, "-1", errstr, NULL, 0);
    }
    if (req.service != BRIDGE_SVC_OTHER)
        svc_name = req.service_name;
    enum MHD_Result ret;
    if (!authorized(s, conn, req.session)) {
        ret = answer(s, conn, svc_name, MHD_HTTP_UNAUTHORIZED, "-1",
                     "Phiên đăng nhập không hợp lệ hoặc đã hết hạn", NULL, 0);
        goto out;
    }
    if (req.service == BRIDGE_SVC_OTHER) {
        if (s->o.upstream) { /* the portal's other services pass through untouched */
            ret = forward(s, conn, svc_name, url, up, false, NULL, 0);
        } else {
            snprintf(errstr, sizeof(errstr),
                     "Dịch vụ '%s' không được hỗ trợ; chỉ DongBoHoSoMC và CapNhatTienDoHoSoMC",
                     req.service_name);
            ret = answer(s, conn, svc_name, MHD_HTTP_BAD_REQUEST, "-1", errstr, NULL, 0);
        }
        goto out;
    }
    bridge_ingest_result res;
    int64_t now = sending_time(s, conn);
    if (bridge_ingest_request(s->ingest, &req, now, &res, errstr, sizeof(errstr)) != 0) {
        LOG_WARN("%s: not ingested: %s", svc_name, errstr);
        ret = answer(s, conn, svc_name, MHD_HTTP_SERVICE_UNAVAILABLE, "-1",
                     "chiso chưa ghi nhận được dữ liệu (Kafka hoặc Redis không sẵn sàng); "
                     "vui lòng gửi lại sau",
                     NULL, 0);
        goto out;
    }
    if (res.refused)
        LOG_INFO("%s: %d items refused (first: %s: %s)", svc_name, res.refused,
                 res.errs[0].dossier_id, res.errs[0].reject.detail);
    if (s->o.upstream) {
        ret = forward(s, conn, svc_name, url, up, false, &req, now);
    } else {
        char msg[256];
        if (res.refused)
            snprintf(msg, sizeof(msg), "Đồng bộ thành công %d hồ sơ, từ chối %d", res.accepted,
                     res.refused);
        else
            snprintf(msg, sizeof(msg), "Đồng bộ thành công %d hồ sơ", res.accepted);
        bool none = res.accepted == 0 && res.refused > 0;
        ret = answer(s, conn, svc_name, MHD_HTTP_OK, none ? "-1" : "0", msg, res.errs, res.refused);
    }
    free(res.errs);
out:
    bridge_request_free(&req);
    return ret;
}

/* ---- routing ------------------------------------------------------------------------ */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    bridge_server *s = cls;
    upload *up = *con_cls;
    (void)version;

    if (!up)
        return MHD_NO;  /* uri_logger makes one for every request */
    if (!up->started) { /* the headers: decide what can be decided before the body */
        up->started = true;
        bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
        if (get && strcmp(url, "/healthz") == 0)
            return respond(s, conn, "healthz", MHD_HTTP_OK, "text/plain; charset=utf-8",
                           (char *)"ok\n", 3, false);
        if (get && strcmp(url, "/metrics") == 0) {
            char *body = chiso_metrics_render(s->metrics);
            if (!body)
                return MHD_NO;
            return respond(s, conn, "metrics", MHD_HTTP_OK,
                           "text/plain; version=0.0.4; charset=utf-8", body, strlen(body), true);
        }
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return answer(s, conn, "other", get ? MHD_HTTP_NOT_FOUND : MHD_HTTP_METHOD_NOT_ALLOWED,
                          "-1", "Chỉ nhận POST (và GET /healthz, /metrics)", NULL, 0);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->o.body_max)
            return answer(s, conn, "other", MHD_HTTP_CONTENT_TOO_LARGE, "-1",
                          "Dữ liệu gửi lên quá lớn", NULL, 0);
        return MHD_YES;
    }
    if (*upload_data_size > 0) { /* a piece of the body */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (up->too_large || up->body.len + n > s->o.body_max) {
            up->too_large = true;
            return MHD_YES;
        }
        if (chiso_buf_append(&up->body, upload_data, n) != 0)
            return MHD_NO;
        return MHD_YES;
    }
    /* the whole body is in */
    if (up->too_large)
        return answer(s, conn, "other", MHD_HTTP_CONTENT_TOO_LARGE, "-1", "Dữ liệu gửi lên quá lớn",
                      NULL, 0);
    if (strcmp(url, s->o.login_path) == 0)
        return login(s, conn, url, up);
    return dossiers(s, conn, url, up);
}

/* Every request starts here, with its URI as sent: the state of its
 * upload, kept for forwarding. */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    upload *up = calloc(1, sizeof(*up));
    if (up && uri && !(up->uri = strdup(uri))) {
        free(up);
        up = NULL;
    }
    return up;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    upload *up = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (up) {
        free(up->uri);
        free(up->body.buf);
        free(up);
        *con_cls = NULL;
    }
}

bridge_server *bridge_server_start(const bridge_server_opts *opts, bridge_ingest *ingest,
                                   chiso_metrics *metrics, char *errstr, size_t errstr_size)
{
    struct addrinfo hints = {0}, *res = NULL;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | MHD_USE_ERROR_LOG;
    static const double bounds[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10};
    bridge_server *s = calloc(1, sizeof(*s));
    char portstr[16];

    if (!s) {
        chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
        return NULL;
    }
    s->o = *opts;
    s->ingest = ingest;
    s->metrics = metrics;
    pthread_mutex_init(&s->sessions_mu, NULL);
    s->m_upstream_seconds = chiso_metrics_histogram(
        metrics, "chiso_bridge_upstream_seconds", "time the national portal took to answer", bounds,
        (int)(sizeof(bounds) / sizeof(bounds[0])));
    snprintf(portstr, sizeof(portstr), "%d", opts->port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(opts->bind, portstr, &hints, &res);
    if (rc != 0) {
        chiso_errf(errstr, errstr_size, CHISO_EINVAL, "http.bind '%s': %s", opts->bind,
                   gai_strerror(rc));
        goto fail;
    }
    if (res->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        chiso_mhd_log, (void *)"http", MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_URI_LOG_CALLBACK, uri_logger, s, MHD_OPTION_SOCK_ADDR, res->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)opts->connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)opts->timeout_s, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_END);
    freeaddrinfo(res);
    if (!s->daemon) {
        chiso_errf(errstr, errstr_size, CHISO_EIO, "cannot listen on %s:%d (address in use?)",
                   opts->bind, opts->port);
        goto fail;
    }
    LOG_INFO("serving on http://%s:%d/ (%s%s)", opts->bind, opts->port,
             auth_required(s) ? "authentication required" : "no authentication",
             opts->upstream ? ", forwarding to the national portal" : "");
    return s;
fail:
    pthread_mutex_destroy(&s->sessions_mu);
    free(s);
    return NULL;
}

void bridge_server_stop(bridge_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->sessions_mu);
    free(s);
}
