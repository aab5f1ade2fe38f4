/*
 * test_bridge_upstream.c - forwarding a province's request to the national
 * portal (producers/bridge/upstream.h), against a fake portal served by
 * libmicrohttpd on 127.0.0.1 (an ephemeral port). The fake's mode is the
 * first segment after /portal/ in the base URL:
 *   ok          200 {"error_code":"0",...}; it records the raw URI, the
 *               headers and the body, checked here byte for byte;
 *   fail        500 with the portal's error shape;
 *   stall       no answer until released (the caller must time out);
 *   big, chunk  an answer one byte over the limit (with and without a
 *               Content-Length); max, one exactly at the limit;
 *   echo        200 with the request's body as the answer, and a check that
 *               the dstcode header names the same sender as the body.
 * Plus a port that refuses connections, the URL's validation, connection
 * reuse, and 4 threads calling at once.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "chiso/common.h"

#include "check.h"
#include "upstream.h"

#define OK_ANSWER   "{\"error_code\":\"0\",\"message\":\"Đồng bộ thành công\"}"
#define FAIL_ANSWER "{\"error_code\":\"-1\",\"message\":\"Lỗi hệ thống, vui lòng thử lại\"}"
#define JSON_TYPE   "application/json; charset=utf-8"

/* A request as the fake portal saw it. */
typedef struct seen {
    char uri[1024]; /* raw, before libmicrohttpd decodes it */
    char method[16];
    char headers[4096]; /* "name: value\n" each, as received */
    char *body;
    size_t len, cap;
    bool started;
} seen;

static struct fake {
    struct MHD_Daemon *daemon;
    uint16_t port;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool release;           /* ends the stalls */
    int stalled;            /* requests being stalled now */
    unsigned connections;   /* TCP connections accepted */
    unsigned requests;      /* requests answered or stalled */
    unsigned echo_mismatch; /* echo requests whose dstcode is not the body's sender */
    seen last;              /* the last request seen (body owned) */
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *conn)
{
    seen *r = calloc(1, sizeof(*r));
    (void)cls;
    (void)conn;
    if (r != NULL)
        snprintf(r->uri, sizeof(r->uri), "%s", uri);
    return r;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    seen *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (r != NULL) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

static void connection_notified(void *cls, struct MHD_Connection *conn, void **socket_context,
                                enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)conn;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&fake.lock);
        fake.connections++;
        pthread_mutex_unlock(&fake.lock);
    }
}

static enum MHD_Result header_seen(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    seen *r = cls;
    size_t used = strlen(r->headers);
    (void)kind;
    snprintf(r->headers + used, sizeof(r->headers) - used, "%s: %s\n", key, value ? value : "");
    return MHD_YES;
}

/* An answer of one byte over the limit, sent chunked (no Content-Length). */
static ssize_t chunk_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    const uint64_t total = (uint64_t)BRIDGE_UPSTREAM_ANSWER_MAX + 1;
    size_t n;
    (void)cls;
    if (pos >= total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = total - pos < max ? (size_t)(total - pos) : max;
    memset(buf, 'y', n);
    return (ssize_t)n;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
                              struct MHD_Response *resp)
{
    enum MHD_Result ret;
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static struct MHD_Response *copied(const char *text, size_t len)
{
    return MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
}

static struct MHD_Response *filled(size_t len, char c)
{
    char *buf = malloc(len);
    if (buf == NULL)
        return NULL;
    memset(buf, c, len);
    return MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
}

/* The mode: the segment after "/portal/". */
static bool mode_is(const seen *r, const char *mode)
{
    size_t n = strlen(mode);
    return strncmp(r->uri, "/portal/", 8) == 0 && strncmp(r->uri + 8, mode, n) == 0 &&
           (r->uri[8 + n] == '\0' || r->uri[8 + n] == '/' || r->uri[8 + n] == '?');
}

/* Waits (at most 3 s, so a broken test cannot hang) until released. */
static void stall(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    pthread_mutex_lock(&fake.lock);
    fake.stalled++;
    pthread_cond_broadcast(&fake.cond);
    while (!fake.release) {
        if (pthread_cond_timedwait(&fake.cond, &fake.lock, &until) != 0)
            break;
    }
    fake.stalled--;
    pthread_cond_broadcast(&fake.cond);
    pthread_mutex_unlock(&fake.lock);
}

/* An echo request's body starts {"sender":"<dstcode>". */
static bool echo_consistent(struct MHD_Connection *conn, const seen *r)
{
    const char *dst = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "dstcode");
    char want[128];
    if (dst == NULL || r->body == NULL)
        return false;
    snprintf(want, sizeof(want), "{\"sender\":\"%s\"", dst);
    return strncmp(r->body, want, strlen(want)) == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    seen *r = *con_cls;
    (void)cls;
    (void)url;
    (void)version;
    if (r == NULL)
        return MHD_NO;
    if (!r->started) {
        r->started = true;
        snprintf(r->method, sizeof(r->method), "%s", method);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, header_seen, r);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (r->len + n + 1 > r->cap) {
            size_t cap = (r->len + n + 1) * 2;
            char *grown = realloc(r->body, cap);
            if (grown == NULL)
                return MHD_NO;
            r->body = grown;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }

    pthread_mutex_lock(&fake.lock);
    fake.requests++;
    if (mode_is(r, "echo") && !echo_consistent(conn, r))
        fake.echo_mismatch++;
    free(fake.last.body);
    fake.last = *r;
    fake.last.body = r->body != NULL ? strdup(r->body) : NULL;
    pthread_mutex_unlock(&fake.lock);

    if (mode_is(r, "ok"))
        return answer(conn, MHD_HTTP_OK, copied(OK_ANSWER, strlen(OK_ANSWER)));
    if (mode_is(r, "fail"))
        return answer(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                      copied(FAIL_ANSWER, strlen(FAIL_ANSWER)));
    if (mode_is(r, "stall")) {
        stall();
        return answer(conn, MHD_HTTP_OK, copied(OK_ANSWER, strlen(OK_ANSWER)));
    }
    if (mode_is(r, "big"))
        return answer(conn, MHD_HTTP_OK, filled((size_t)BRIDGE_UPSTREAM_ANSWER_MAX + 1, 'x'));
    if (mode_is(r, "max"))
        return answer(conn, MHD_HTTP_OK, filled(BRIDGE_UPSTREAM_ANSWER_MAX, 'z'));
    if (mode_is(r, "chunk"))
        return answer(
            conn, MHD_HTTP_OK,
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, chunk_reader, NULL, NULL));
    if (mode_is(r, "echo"))
        return answer(conn, MHD_HTTP_OK, copied(r->body != NULL ? r->body : "", r->len));
    return answer(conn, MHD_HTTP_NOT_FOUND, copied("{}", 2));
}

static int fake_start(void)
{
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    fake.daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_URI_LOG_CALLBACK, uri_logged, NULL, MHD_OPTION_NOTIFY_COMPLETED, request_done,
        NULL, MHD_OPTION_NOTIFY_CONNECTION, connection_notified, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
    if (fake.daemon == NULL)
        return -1;
    info = MHD_get_daemon_info(fake.daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0)
        return -1;
    fake.port = info->port;
    return 0;
}

static void fake_stop(void)
{
    pthread_mutex_lock(&fake.lock);
    fake.release = true;
    pthread_cond_broadcast(&fake.cond);
    pthread_mutex_unlock(&fake.lock);
    MHD_stop_daemon(fake.daemon);
    free(fake.last.body);
    fake.last.body = NULL;
}

/* The last request, copied out under the lock (body freed by the caller). */
static seen last_seen(void)
{
    seen s;
    pthread_mutex_lock(&fake.lock);
    s = fake.last;
    s.body = NULL;
    if (fake.last.body != NULL) {
        s.body = malloc(fake.last.len + 1);
        memcpy(s.body, fake.last.body, fake.last.len + 1);
    }
    pthread_mutex_unlock(&fake.lock);
    return s;
}

static unsigned fake_count(const unsigned *counter)
{
    unsigned n;
    pthread_mutex_lock(&fake.lock);
    n = *counter;
    pthread_mutex_unlock(&fake.lock);
    return n;
}

static bridge_upstream *upstream(const char *mode, long connect_ms, long timeout_ms)
{
    char url[128], err[256] = "";
    bridge_upstream *u;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/portal/%s", (unsigned)fake.port, mode);
    u = bridge_upstream_new(url, connect_ms, timeout_ms, err, sizeof(err));
    CHECK(u != NULL, "upstream %s: %s", url, err);
    return u;
}

static bool has_header(const seen *s, const char *line)
{
    return strstr(s->headers, line) != NULL;
}

static void test_names(void)
{
    CHECK_EQ_STR(bridge_upstream_outcome_name(BRIDGE_UP_OK), "ok");
    CHECK_EQ_STR(bridge_upstream_outcome_name(BRIDGE_UP_HTTP_ERROR), "http_error");
    CHECK_EQ_STR(bridge_upstream_outcome_name(BRIDGE_UP_TIMEOUT), "timeout");
    CHECK_EQ_STR(bridge_upstream_outcome_name(BRIDGE_UP_UNREACHABLE), "unreachable");
    CHECK_EQ_STR(bridge_upstream_outcome_name(BRIDGE_UP_OUTCOME_COUNT), "unknown");

    CHECK(bridge_upstream_header_forwarded("Content-Type"), "Content-Type");
    CHECK(bridge_upstream_header_forwarded("content-type"), "any case");
    CHECK(bridge_upstream_header_forwarded("Accept"), "Accept");
    CHECK(bridge_upstream_header_forwarded("Charset"), "Charset");
    CHECK(bridge_upstream_header_forwarded("DSTCODE"), "dstcode");
    CHECK(bridge_upstream_header_forwarded("Authorization"), "Authorization");
    CHECK(!bridge_upstream_header_forwarded("Host"), "never Host");
    CHECK(!bridge_upstream_header_forwarded("Content-Length"), "never Content-Length");
    CHECK(!bridge_upstream_header_forwarded("Connection"), "never Connection");
    CHECK(!bridge_upstream_header_forwarded("Transfer-Encoding"), "never Transfer-Encoding");
    CHECK(!bridge_upstream_header_forwarded("X-Forwarded-For"), "not on the list");
    CHECK(!bridge_upstream_header_forwarded("Content-Type2"), "a longer name");
    CHECK(!bridge_upstream_header_forwarded(NULL), "NULL");
}

static void test_new_validation(void)
{
    static const char *bad[] = {"",
                                "portal.example.gov.vn/api",
                                "ftp://portal.example.gov.vn/api",
                                "file:///etc/passwd",
                                "http://",
                                "http://portal example/api",
                                "http://portal.example.gov.vn/api?key=1",
                                "http://portal.example.gov.vn/api#top",
                                "https://user:s3cr3t@portal.example.gov.vn/api"};
    char err[256];
    bridge_upstream *u;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        u = bridge_upstream_new(bad[i], 1000, 3000, err, sizeof(err));
        CHECK(u == NULL, "refused: %s", bad[i]);
        CHECK(err[0] != '\0', "a reason for %s", bad[i]);
        CHECK(strstr(err, "s3cr3t") == NULL, "the secret not quoted: %s", err);
        bridge_upstream_free(u);
    }
    err[0] = '\0';
    CHECK(bridge_upstream_new(NULL, 1000, 3000, err, sizeof(err)) == NULL && err[0], "NULL URL");
    err[0] = '\0';
    CHECK(bridge_upstream_new("http://127.0.0.1:1/", 0, 3000, err, sizeof(err)) == NULL && err[0],
          "a zero connect timeout");
    err[0] = '\0';
    CHECK(bridge_upstream_new("http://127.0.0.1:1/", 1000, -1, err, sizeof(err)) == NULL && err[0],
          "a negative timeout");
    CHECK(bridge_upstream_new("gopher://x/", 1000, 3000, NULL, 0) == NULL, "no errstr: still NULL");

    u = bridge_upstream_new("https://portal.example.gov.vn/api/", 1000, 3000, err, sizeof(err));
    CHECK(u != NULL, "https with a path: %s", err);
    bridge_upstream_free(u);
    u = bridge_upstream_new("HTTP://127.0.0.1:8080", 1000, 3000, err, sizeof(err));
    CHECK(u != NULL, "http, no path, a port: %s", err);
    bridge_upstream_free(u);
    bridge_upstream_free(NULL);
    bridge_upstream_answer_free(NULL);
}

static void test_bad_calls(void)
{
    bridge_upstream_answer a;
    bridge_upstream *u = upstream("ok", 1000, 3000);
    CHECK_EQ_INT(bridge_upstream_post(NULL, "/x", NULL, NULL, "{}", 2, &a), CHISO_EINVAL, "no u");
    CHECK_EQ_INT(a.outcome, BRIDGE_UP_UNREACHABLE, "outcome of a local failure");
    CHECK(a.body == NULL, "no body");
    CHECK_EQ_INT(bridge_upstream_post(u, "/x", NULL, NULL, NULL, 5, &a), CHISO_EINVAL,
                 "NULL body with a length");
    CHECK_EQ_INT(bridge_upstream_post(u, "/x", NULL, NULL, "{}", 2, NULL), CHISO_EINVAL, "no out");
    bridge_upstream_free(u);
}

/* The request arrives unchanged; Host, Content-Length and the rest are the
 * connection's own; the portal's answer comes back. */
static void test_forward_ok(void)
{
    static const char body[] =
        "{\"session\":\"abc\",\"madonvi\":\"000.00.01.H22\",\"service\":\"DongBoHoSoMC\","
        "\"isUpdating\":\"False\",\"data\":[{\"MaHoSo\":\"000.00.01.H22-250101-00001\","
        "\"TenTTHC\":\"Cấp giấy phép xây dựng\",\"TrangThaiHoSo\":\"2\"}]}";
    static const char *const headers[] = {"Content-Type",
                                          "application/json",
                                          "Accept",
                                          "application/json",
                                          "Charset",
                                          "utf-8",
                                          "dstcode",
                                          "VN:GOV:000.00.00.G22:vpcp",
                                          "Authorization",
                                          "Bearer t0k3n",
                                          "Host",
                                          "bridge.province.example",
                                          "Content-Length",
                                          "999",
                                          "Connection",
                                          "close",
                                          "Transfer-Encoding",
                                          "chunked",
                                          "X-Province",
                                          "hg",
                                          NULL};
    char want[256];
    bridge_upstream_answer a;
    bridge_upstream *u = upstream("ok", 1000, 3000);
    seen s;
    int rc;

    rc = bridge_upstream_post(u, "/DongBoHoSoMC", "MaDinhDanhDV=000.00.01.H22&isUpdating=True",
                              headers, body, strlen(body), &a);
    CHECK_EQ_INT(rc, 0, "post: %s", a.note);
    CHECK_EQ_INT(a.outcome, BRIDGE_UP_OK, "%s", a.note);
    CHECK_EQ_INT(a.status, 200, "status");
    CHECK_EQ_STR(a.body, OK_ANSWER);
    CHECK_EQ_INT(a.len, strlen(OK_ANSWER), "length");
    CHECK_EQ_STR(a.content_type, JSON_TYPE);
    CHECK(a.seconds > 0 && a.seconds < 5, "took %.3f s", a.seconds);
    CHECK_EQ_STR(a.note, "");
    bridge_upstream_answer_free(&a);
    CHECK(a.body == NULL && a.len == 0, "answer emptied");

    s = last_seen();
    CHECK_EQ_STR(s.method, "POST");
    CHECK_EQ_STR(s.uri, "/portal/ok/DongBoHoSoMC?MaDinhDanhDV=000.00.01.H22&isUpdating=True");
    CHECK_EQ_INT(s.len, strlen(body), "body length");
    CHECK(s.body != NULL && memcmp(s.body, body, strlen(body)) == 0, "body unchanged");
    CHECK(has_header(&s, "Content-Type: application/json\n"), "%s", s.headers);
    CHECK(has_header(&s, "Accept: application/json\n"), "%s", s.headers);
    CHECK(has_header(&s, "Charset: utf-8\n"), "%s", s.headers);
    CHECK(has_header(&s, "dstcode: VN:GOV:000.00.00.G22:vpcp\n"), "%s", s.headers);
    CHECK(has_header(&s, "Authorization: Bearer t0k3n\n"), "%s", s.headers);
    snprintf(want, sizeof(want), "Host: 127.0.0.1:%u\n", (unsigned)fake.port);
    CHECK(has_header(&s, want), "the connection's Host: %s", s.headers);
    snprintf(want, sizeof(want), "Content-Length: %zu\n", strlen(body));
    CHECK(has_header(&s, want), "the body's length: %s", s.headers);
    CHECK(strstr(s.headers, "province.example") == NULL, "Host not copied: %s", s.headers);
    CHECK(strstr(s.headers, "999") == NULL, "Content-Length not copied: %s", s.headers);
    CHECK(strstr(s.headers, "close") == NULL, "Connection not copied: %s", s.headers);
    CHECK(strstr(s.headers, "chunked") == NULL, "Transfer-Encoding not copied: %s", s.headers);
    CHECK(strstr(s.headers, "X-Province") == NULL, "not on the list: %s", s.headers);
    CHECK(strstr(s.headers, "Expect") == NULL, "no Expect: %s", s.headers);
    free(s.body);
    bridge_upstream_free(u);
}

/* No headers, no body, no path, no query; paths and queries that need
 * escaping; a base URL with a trailing '/'; a header value with a CR. */
static void test_forward_edges(void)
{
    static const char *const empty_dst[] = {"dstcode", "", "Authorization", "x\r\nX-Injected: 1",
                                            NULL};
    char url[128], err[256];
    bridge_upstream_answer a;
    bridge_upstream *u = upstream("ok", 1000, 3000), *slash;
    seen s;

    CHECK_EQ_INT(bridge_upstream_post(u, "", NULL, NULL, NULL, 0, &a), 0, "post: %s", a.note);
    CHECK_EQ_INT(a.outcome, BRIDGE_UP_OK, "%s", a.note);
    bridge_upstream_answer_free(&a);
    s = last_seen();
    CHECK_EQ_STR(s.uri, "/portal/ok");
    CHECK_EQ_INT(s.len, 0, "no body");
    CHECK(has_header(&s, "Content-Length: 0\n"), "%s", s.headers);
    CHECK(strstr(s.headers, "Content-Type") == NULL, "no Content-Type added: %s", s.headers);
    CHECK(strstr(s.headers, "Accept") == NULL, "no Accept added: %s", s.headers);
    free(s.body);

    CHECK_EQ_INT(
        bridge_upstream_post(u, "DongBoHoSoMC", "?isUpdating=False", empty_dst, "[]", 2, &a), 0,
        "post: %s", a.note);
    bridge_upstream_answer_free(&a);
    s = last_seen();
    CHECK_EQ_STR(s.uri, "/portal/ok/DongBoHoSoMC?isUpdating=False");
    CHECK(has_header(&s, "dstcode: \n"), "an empty value passes: %s", s.headers);
    CHECK(strstr(s.headers, "Authorization") == NULL, "a value with CR LF dropped: %s", s.headers);
    CHECK(strstr(s.headers, "X-Injected") == NULL, "no injection: %s", s.headers);
    free(s.body);

    CHECK_EQ_INT(bridge_upstream_post(u, "/a b/Đồng?#x", "q=a b&r=\"1\"#frag", NULL, "[]", 2, &a),
                 0, "post: %s", a.note);
    bridge_upstream_answer_free(&a);
    s = last_seen();
    CHECK_EQ_STR(s.uri, "/portal/ok/a%20b/%C4%90%E1%BB%93ng%3F%23x?q=a%20b&r=%221%22%23frag");
    free(s.body);

    CHECK_EQ_INT(bridge_upstream_post(u, "/x%2Fy/../z", "MaDinhDanhDV=000.00.01.H22&t=%C4%90", NULL,
                                      "[]", 2, &a),
                 0, "post: %s", a.note);
    bridge_upstream_answer_free(&a);
    s = last_seen();
    CHECK_EQ_STR(s.uri, "/portal/ok/x%2Fy/../z?MaDinhDanhDV=000.00.01.H22&t=%C4%90");
    free(s.body);
    bridge_upstream_free(u);

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/portal/ok/", (unsigned)fake.port);
    slash = bridge_upstream_new(url, 1000, 3000, err, sizeof(err));
    CHECK(slash != NULL, "%s", err);
    CHECK_EQ_INT(bridge_upstream_post(slash, "/CapNhatTienDoHoSoMC", "", NULL, "[]", 2, &a), 0,
                 "post: %s", a.note);
    bridge_upstream_answer_free(&a);
    s = last_seen();
    CHECK_EQ_STR(s.uri, "/portal/ok/CapNhatTienDoHoSoMC");
    free(s.body);
    CHECK_EQ_INT(bridge_upstream_post(slash, NULL, NULL, NULL, "[]", 2, &a), 0, "post: %s", a.note);
    bridge_upstream_answer_free(&a);
    s = last_seen();
    CHECK_EQ_STR(s.uri, "/portal/ok/");
    free(s.body);
    bridge_upstream_free(slash);
}

/* A large body goes in one piece, without "Expect: 100-continue". */
static void test_forward_large(void)
{
    static const char *const headers[] = {"Content-Type", "application/json", NULL};
    size_t len = 3 * 1024 * 1024 / 2;
    char *body = malloc(len);
    bridge_upstream_answer a;
    bridge_upstream *u = upstream("ok", 1000, 5000);
    seen s;

    CHECK(body != NULL, "test body");
    if (body == NULL)
        return;
    for (size_t i = 0; i < len; i++)
        body[i] = (char)('a' + i % 26);
    body[0] = '[';
    body[len - 1] = ']';
    CHECK_EQ_INT(bridge_upstream_post(u, "/DongBoHoSoMC", NULL, headers, body, len, &a), 0,
                 "post: %s", a.note);
    CHECK_EQ_INT(a.outcome, BRIDGE_UP_OK, "%s", a.note);
    bridge_upstream_answer_free(&a);
    s = last_seen();
    CHECK_EQ_INT(s.len, len, "body length");
    CHECK(s.body != NULL && memcmp(s.body, body, len) == 0, "body unchanged");
    CHECK(strstr(s.headers, "Expect") == NULL, "no Expect: %s", s.headers);
    free(s.body);
    free(body);
    bridge_upstream_free(u);
}

/* Consecutive calls from one thread use one connection. */
static void test_reuse(void)
{
    bridge_upstream *u = upstream("ok", 1000, 3000);
    unsigned before = fake_count(&fake.connections);
    for (int i = 0; i < 5; i++) {
        bridge_upstream_answer a;
        CHECK_EQ_INT(bridge_upstream_post(u, "/DongBoHoSoMC", NULL, NULL, "[]", 2, &a), 0, "%d", i);
        CHECK_EQ_INT(a.outcome, BRIDGE_UP_OK, "%d: %s", i, a.note);
        bridge_upstream_answer_free(&a);
    }
    CHECK_EQ_INT(fake_count(&fake.connections) - before, 1, "one connection for 5 calls");
    bridge_upstream_free(u);
}

/* The portal's error answer comes back as it is, for the province. */
static void test_http_error(void)
{
    bridge_upstream_answer a;
    bridge_upstream *u = upstream("fail", 1000, 3000);
    CHECK_EQ_INT(bridge_upstream_post(u, "/DongBoHoSoMC", NULL, NULL, "[]", 2, &a), 0, "post");
    CHECK_EQ_INT(a.outcome, BRIDGE_UP_HTTP_ERROR, "%s", a.note);
    CHECK_EQ_STR(bridge_upstream_outcome_name(a.outcome), "http_error");
    CHECK_EQ_INT(a.status, 500, "status");
    CHECK_EQ_STR(a.body, FAIL_ANSWER);
    CHECK_EQ_STR(a.content_type, JSON_TYPE);
    CHECK(strstr(a.note, "500") != NULL, "note: %s", a.note);
    bridge_upstream_answer_free(&a);
    bridge_upstream_free(u);
}

/* A portal that does not answer costs the timeout, not more. */
static void test_timeout(void)
{
    bridge_upstream_answer a;
    bridge_upstream *u = upstream("stall", 1000, 300);
    unsigned before = fake_count(&fake.requests);
    double start, took;

    pthread_mutex_lock(&fake.lock);
    fake.release = false;
    pthread_mutex_unlock(&fake.lock);
    start = now_seconds();
    CHECK_EQ_INT(bridge_upstream_post(u, "/DongBoHoSoMC", NULL, NULL, "[]", 2, &a), 0, "post");
    took = now_seconds() - start;
    CHECK_EQ_INT(a.outcome, BRIDGE_UP_TIMEOUT, "%s", a.note);
    CHECK_EQ_INT(a.status, 0, "no status");
    CHECK(a.body == NULL && a.len == 0, "no body");
    CHECK(took >= 0.29 && took < 5.0, "timed out after %.3f s for 300 ms", took);
    CHECK(a.seconds >= 0.29 && a.seconds <= took + 0.01, "seconds %.3f", a.seconds);
    CHECK(strstr(a.note, "300 ms") != NULL, "note: %s", a.note);
    CHECK_EQ_INT(fake_count(&fake.requests) - before, 1, "the portal got the request");
    bridge_upstream_answer_free(&a);

    pthread_mutex_lock(&fake.lock);
    fake.release = true;
    pthread_cond_broadcast(&fake.cond);
    while (fake.stalled > 0)
        pthread_cond_wait(&fake.cond, &fake.lock);
    pthread_mutex_unlock(&fake.lock);
    bridge_upstream_free(u);
}

/* A port bound but not listening refuses the connection. */
static void test_unreachable(void)
{
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    char url[128], err[256];
    bridge_upstream_answer a;
    bridge_upstream *u;
    double start;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
              getsockname(fd, (struct sockaddr *)&addr, &alen) == 0,
          "a closed port");
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/portal", (unsigned)ntohs(addr.sin_port));
    u = bridge_upstream_new(url, 1000, 3000, err, sizeof(err));
    CHECK(u != NULL, "%s", err);
    start = now_seconds();
    CHECK_EQ_INT(bridge_upstream_post(u, "/DongBoHoSoMC", NULL, NULL, "[]", 2, &a), 0, "post");
    CHECK_EQ_INT(a.outcome, BRIDGE_UP_UNREACHABLE, "%s", a.note);
    CHECK_EQ_STR(bridge_upstream_outcome_name(a.outcome), "unreachable");
    CHECK_EQ_INT(a.status, 0, "no status");
    CHECK(a.body == NULL, "no body");
    CHECK(a.note[0] != '\0', "a note");
    CHECK(now_seconds() - start < 2.5, "refused at once");
    bridge_upstream_answer_free(&a);
    bridge_upstream_free(u);
    if (fd >= 0)
        close(fd);
}

/* An answer over the limit is dropped (with or without Content-Length);
 * one at the limit comes back whole. */
static void test_too_big(void)
{
    static const char *modes[] = {"big", "chunk"};
    bridge_upstream_answer a;

    for (int i = 0; i < 2; i++) {
        bridge_upstream *u = upstream(modes[i], 1000, 5000);
        CHECK_EQ_INT(bridge_upstream_post(u, "/DongBoHoSoMC", NULL, NULL, "[]", 2, &a), 0, "%s",
                     modes[i]);
        CHECK_EQ_INT(a.outcome, BRIDGE_UP_HTTP_ERROR, "%s: %s", modes[i], a.note);
        CHECK_EQ_INT(a.status, BRIDGE_UPSTREAM_TOO_BIG_STATUS, "%s: a proxy's status", modes[i]);
        CHECK(a.body == NULL && a.len == 0, "%s: dropped", modes[i]);
        CHECK(strstr(a.note, "(status 200) is larger than 1048576 bytes") != NULL, "%s: %s",
              modes[i], a.note);
        bridge_upstream_answer_free(&a);
        bridge_upstream_free(u);
    }

    bridge_upstream *u = upstream("max", 1000, 5000);
    CHECK_EQ_INT(bridge_upstream_post(u, "/DongBoHoSoMC", NULL, NULL, "[]", 2, &a), 0, "max");
    CHECK_EQ_INT(a.outcome, BRIDGE_UP_OK, "%s", a.note);
    CHECK_EQ_INT(a.len, BRIDGE_UPSTREAM_ANSWER_MAX, "whole");
    CHECK(a.body != NULL && a.body[0] == 'z' && a.body[a.len - 1] == 'z' && a.body[a.len] == '\0',
          "the bytes, NUL-terminated");
    bridge_upstream_answer_free(&a);
    bridge_upstream_free(u);
}

#define THREADS 4
#define CALLS   6

typedef struct caller {
    bridge_upstream *u;
    int id;
    int ok;          /* calls answered ok with the body echoed */
    int failed;      /* others */
    char first[384]; /* the first failure */
} caller;

static void *call_loop(void *arg)
{
    caller *c = arg;
    for (int i = 0; i < CALLS; i++) {
        char dst[32], body[256];
        const char *headers[] = {"Content-Type", "application/json", "dstcode", dst, NULL};
        bridge_upstream_answer a;
        int rc;
        snprintf(dst, sizeof(dst), "T%d", c->id);
        snprintf(body, sizeof(body), "{\"sender\":\"T%d\",\"call\":%d,\"data\":[]}", c->id, i);
        rc = bridge_upstream_post(c->u, "/DongBoHoSoMC", "isUpdating=True", headers, body,
                                  strlen(body), &a);
        if (rc == 0 && a.outcome == BRIDGE_UP_OK && a.status == 200 && a.body != NULL &&
            strcmp(a.body, body) == 0) {
            c->ok++;
        } else {
            if (c->failed++ == 0)
                snprintf(c->first, sizeof(c->first), "call %d: rc %d, %s, status %ld: %s", i, rc,
                         bridge_upstream_outcome_name(a.outcome), a.status, a.note);
        }
        bridge_upstream_answer_free(&a);
    }
    return NULL;
}

/* Four server threads forwarding at once, on one forwarder. */
static void test_concurrent(void)
{
    pthread_t tid[THREADS];
    caller callers[THREADS];
    bridge_upstream *u = upstream("echo", 1000, 5000);
    unsigned connections = fake_count(&fake.connections);
    unsigned mismatch = fake_count(&fake.echo_mismatch);

    for (int t = 0; t < THREADS; t++) {
        memset(&callers[t], 0, sizeof(callers[t]));
        callers[t].u = u;
        callers[t].id = t;
        CHECK_EQ_INT(pthread_create(&tid[t], NULL, call_loop, &callers[t]), 0, "thread %d", t);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tid[t], NULL);
        CHECK_EQ_INT(callers[t].ok, CALLS, "thread %d: %s", t, callers[t].first);
        CHECK_EQ_INT(callers[t].failed, 0, "thread %d: %s", t, callers[t].first);
    }
    CHECK_EQ_INT(fake_count(&fake.echo_mismatch) - mismatch, 0, "each request whole");
    connections = fake_count(&fake.connections) - connections;
    CHECK(connections >= 1 && connections <= THREADS, "%u connections for %d threads", connections,
          THREADS);
    bridge_upstream_free(u);
}

int main(void)
{
    double start = now_seconds();

    test_names();
    test_new_validation();
    if (fake_start() != 0) {
        fprintf(stderr, "the fake portal does not start\n");
        return 1;
    }
    test_bad_calls();
    test_forward_ok();
    test_forward_edges();
    test_forward_large();
    test_reuse();
    test_http_error();
    test_timeout();
    test_unreachable();
    test_too_big();
    test_concurrent();
    fake_stop();
    fprintf(stderr, "test_bridge_upstream: %.2f s\n", now_seconds() - start);
    return CHECK_DONE();
}
