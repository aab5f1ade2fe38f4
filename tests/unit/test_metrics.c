/*
 * test_metrics.c - the Prometheus registry: exact rendering of counters,
 * gauges and labelled histograms, quantile estimation on a known
 * distribution, and the HTTP endpoint fetched with a plain socket client.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/metrics.h"

#include "check.h"

static void test_render(void)
{
    chiso_metrics *m = chiso_metrics_new();
    static const double bounds[] = {0.5, 1, 2.5};
    chiso_counter *c, *dl1, *dl2;
    chiso_gauge *g;
    chiso_histogram *h, *hl;
    char *text;

    CHECK_EQ_STR((text = chiso_metrics_render(m)), "");
    free(text);

    c = chiso_metrics_counter(m, "chiso_consumed_total", "Records consumed.");
    dl1 = chiso_metrics_counter(m, "chiso_deadletter_total{reason=\"bad_json\"}",
                                "Records dead-lettered.");
    g = chiso_metrics_gauge(m, "chiso_lag", "Consumer lag\\in records\nsummed.");
    dl2 = chiso_metrics_counter(m, "chiso_deadletter_total{reason=\"bad_value\"}", "ignored");
    h = chiso_metrics_histogram(m, "chiso_latency_seconds", "Apply latency.", bounds, 3);
    hl = chiso_metrics_histogram(m, "chiso_stage_seconds{stage=\"redis\"}", "Stage latency.",
                                 bounds, 3);
    CHECK(c && dl1 && dl2 && g && h && hl, "registration");
    /* Registering again finds the same metric; a type clash is refused. */
    CHECK(chiso_metrics_counter(m, "chiso_consumed_total", "x") == c, "same counter");
    CHECK(chiso_metrics_gauge(m, "chiso_consumed_total", "x") == NULL, "type clash");
    CHECK(chiso_metrics_gauge(m, "chiso_deadletter_total{reason=\"x\"}", "x") == NULL,
          "family type clash");
    CHECK(chiso_metrics_counter(m, "9bad", "x") == NULL, "bad name");
    CHECK(chiso_metrics_counter(m, "bad{x=\"1\"", "x") == NULL, "unclosed labels");
    static const double unsorted[] = {1, 0.5};
    CHECK(chiso_metrics_histogram(m, "h_bad", "x", unsorted, 2) == NULL, "unsorted bounds");

    chiso_counter_add(c, 41);
    chiso_counter_add(c, 1);
    chiso_counter_add(dl1, 3);
    chiso_counter_add(NULL, 1); /* tolerated */
    CHECK_EQ_INT(chiso_counter_value(c), 42);
    chiso_gauge_set(g, 0.1);
    chiso_histogram_observe(h, 0.25);
    chiso_histogram_observe(h, 0.5); /* le is inclusive */
    chiso_histogram_observe(h, 2);
    chiso_histogram_observe(h, 100);
    chiso_histogram_observe(h, NAN); /* ignored */
    chiso_histogram_observe(hl, 1);

    text = chiso_metrics_render(m);
    CHECK_EQ_STR(text, "# HELP chiso_consumed_total Records consumed.\n"
                       "# TYPE chiso_consumed_total counter\n"
                       "chiso_consumed_total 42\n"
                       "# HELP chiso_deadletter_total Records dead-lettered.\n"
                       "# TYPE chiso_deadletter_total counter\n"
                       "chiso_deadletter_total{reason=\"bad_json\"} 3\n"
                       "chiso_deadletter_total{reason=\"bad_value\"} 0\n"
                       "# HELP chiso_lag Consumer lag\\\\in records\\nsummed.\n"
                       "# TYPE chiso_lag gauge\n"
                       "chiso_lag 0.1\n"
                       "# HELP chiso_latency_seconds Apply latency.\n"
                       "# TYPE chiso_latency_seconds histogram\n"
                       "chiso_latency_seconds_bucket{le=\"0.5\"} 2\n"
                       "chiso_latency_seconds_bucket{le=\"1\"} 2\n"
                       "chiso_latency_seconds_bucket{le=\"2.5\"} 3\n"
                       "chiso_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                       "chiso_latency_seconds_sum 102.75\n"
                       "chiso_latency_seconds_count 4\n"
                       "# HELP chiso_stage_seconds Stage latency.\n"
                       "# TYPE chiso_stage_seconds histogram\n"
                       "chiso_stage_seconds_bucket{stage=\"redis\",le=\"0.5\"} 0\n"
                       "chiso_stage_seconds_bucket{stage=\"redis\",le=\"1\"} 1\n"
                       "chiso_stage_seconds_bucket{stage=\"redis\",le=\"2.5\"} 1\n"
                       "chiso_stage_seconds_bucket{stage=\"redis\",le=\"+Inf\"} 1\n"
                       "chiso_stage_seconds_sum{stage=\"redis\"} 1\n"
                       "chiso_stage_seconds_count{stage=\"redis\"} 1\n");
    free(text);

    /* Gauge values: round-trip text, negative, infinities. */
    static const struct {
        double v;
        const char *want;
    } gauges[] = {
        {-3, "chiso_lag -3\n"},
        {1e21, "chiso_lag 1e+21\n"},
        {1.0 / 3, "chiso_lag 0.3333333333333333\n"},
        {INFINITY, "chiso_lag +Inf\n"},
        {-INFINITY, "chiso_lag -Inf\n"},
    };
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
        chiso_gauge_set(g, gauges[i].v);
        text = chiso_metrics_render(m);
        CHECK(text && strstr(text, gauges[i].want), "gauge case %zu: %s", i, gauges[i].want);
        free(text);
    }
    chiso_metrics_destroy(m);
}

static void test_quantile(void)
{
    chiso_metrics *m = chiso_metrics_new();
    static const double bounds[] = {1, 2, 4, 8};
    chiso_histogram *h = chiso_metrics_histogram(m, "q_seconds", "q", bounds, 4);
    static const struct {
        double q, want;
    } cases[] = {
        {0.0, 0.0}, {0.1, 0.4}, {0.25, 1.0}, {0.5, 2.0}, {0.6, 2.8},
        {0.9, 6.4}, {1.0, 8.0}, {-1, 0.0},   {2, 8.0},
    };

    CHECK(isnan(chiso_histogram_quantile(h, 0.5)), "empty histogram is NaN");
    /* 25 observations in each of (0,1], (1,2], (2,4], (4,8]. */
    for (int i = 0; i < 25; i++) {
        chiso_histogram_observe(h, 0.5);
        chiso_histogram_observe(h, 1.5);
        chiso_histogram_observe(h, 3);
        chiso_histogram_observe(h, 6);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double got = chiso_histogram_quantile(h, cases[i].q);
        CHECK(fabs(got - cases[i].want) < 1e-9, "q=%g: got %g want %g", cases[i].q, got,
              cases[i].want);
    }
    /* Ranks falling in +Inf answer the highest finite bound. */
    for (int i = 0; i < 100; i++)
        chiso_histogram_observe(h, 1000);
    CHECK(fabs(chiso_histogram_quantile(h, 0.99) - 8.0) < 1e-9, "+Inf bucket");
    chiso_metrics_destroy(m);
}

/* Lock-free updates from several threads lose nothing. */
#define THREADS    4
#define PER_THREAD 20000

typedef struct hammer {
    chiso_counter *c;
    chiso_histogram *h;
} hammer;

static void *hammer_run(void *arg)
{
    hammer *hm = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        chiso_counter_add(hm->c, 1);
        chiso_histogram_observe(hm->h, (i % 4) * 0.5); /* 0, 0.5, 1, 1.5 */
    }
    return NULL;
}

static void test_threads(void)
{
    chiso_metrics *m = chiso_metrics_new();
    static const double bounds[] = {0.5, 1};
    hammer hm = {chiso_metrics_counter(m, "t_total", "t"),
                 chiso_metrics_histogram(m, "t_seconds", "t", bounds, 2)};
    pthread_t th[THREADS];
    char *text;

    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, hammer_run, &hm);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(chiso_counter_value(hm.c), THREADS * PER_THREAD);
    text = chiso_metrics_render(m);
    CHECK(text && strstr(text, "t_seconds_bucket{le=\"0.5\"} 40000\n"
                               "t_seconds_bucket{le=\"1\"} 60000\n"
                               "t_seconds_bucket{le=\"+Inf\"} 80000\n"
                               "t_seconds_sum 60000\n"
                               "t_seconds_count 80000\n"),
          "threaded histogram: %s", text ? text : "(null)");
    free(text);
    chiso_metrics_destroy(m);
}

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* One HTTP/1.0 request; returns the whole response (caller frees) or NULL. */
static char *http(int port, const char *method, const char *path)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[256], *buf = NULL;
    size_t len = 0, cap = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto out;
    snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        goto out;
    for (;;) {
        if (cap - len < 1024) {
            cap = cap ? cap * 2 : 4096;
            char *grown = realloc(buf, cap);
            if (!grown)
                goto out;
            buf = grown;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';

out:
    if (fd >= 0)
        close(fd);
    return buf;
}

static const char *body_of(const char *resp)
{
    const char *p = resp ? strstr(resp, "\r\n\r\n") : NULL;
    return p ? p + 4 : "";
}

static int status_of(const char *resp)
{
    const char *sp = resp ? strchr(resp, ' ') : NULL;
    return resp && strncmp(resp, "HTTP/1.", 7) == 0 && sp ? atoi(sp + 1) : -1;
}

static void test_http(void)
{
    chiso_metrics *m = chiso_metrics_new();
    chiso_counter *c = chiso_metrics_counter(m, "chiso_up_total", "Up.");
    char err[256] = "", *resp;
    int port = free_port();

    chiso_counter_add(c, 7);
    CHECK(port > 0, "free port");
    CHECK_EQ_INT(chiso_metrics_serve(m, "127.0.0.1", 0, err, sizeof(err)), 0, "port 0");
    CHECK_EQ_INT(chiso_metrics_serve(m, "127.0.0.1", port, err, sizeof(err)), 0, "%s", err);
    CHECK_EQ_INT(chiso_metrics_serve(m, "127.0.0.1", port, err, sizeof(err)), CHISO_EIO,
                 "second serve refused");

    resp = http(port, "GET", "/metrics");
    CHECK_EQ_INT(status_of(resp), 200, "metrics status");
    CHECK(resp && strstr(resp, "Content-Type: text/plain; version=0.0.4"), "content type");
    CHECK_EQ_STR(body_of(resp), "# HELP chiso_up_total Up.\n"
                                "# TYPE chiso_up_total counter\n"
                                "chiso_up_total 7\n");
    free(resp);

    resp = http(port, "GET", "/healthz");
    CHECK_EQ_INT(status_of(resp), 200, "healthz status");
    CHECK_EQ_STR(body_of(resp), "ok\n");
    free(resp);

    resp = http(port, "GET", "/nope");
    CHECK_EQ_INT(status_of(resp), 404, "404 status");
    CHECK_EQ_STR(body_of(resp), "not found\n");
    free(resp);

    resp = http(port, "DELETE", "/metrics");
    CHECK_EQ_INT(status_of(resp), 405, "405 status");
    free(resp);

    /* A second registry cannot take the same port. */
    chiso_metrics *other = chiso_metrics_new();
    CHECK_EQ_INT(chiso_metrics_serve(other, "127.0.0.1", port, err, sizeof(err)), CHISO_EIO,
                 "port in use");
    CHECK_EQ_INT(chiso_metrics_serve(other, "not an address", port, err, sizeof(err)), CHISO_EIO,
                 "bad address");
    chiso_metrics_destroy(other);

    chiso_metrics_destroy(m);
    /* Destroy stopped the server. */
    resp = http(port, "GET", "/healthz");
    CHECK(resp == NULL || resp[0] == '\0', "server stopped");
    free(resp);
}

/* The rendered family whose names begin with `prefix`, up to the next
 * family, with `prefix` written "h_"; 0 when absent or too long. */
static int family_block(const char *text, const char *prefix, char *out, size_t size)
{
    char head[64];
    snprintf(head, sizeof(head), "# HELP %s", prefix);
    const char *p = text ? strstr(text, head) : NULL;
    size_t n = 0, plen = strlen(prefix);
    if (!p)
        return 0;
    for (const char *q = p; *q && (q == p || strncmp(q, "# HELP", 6) != 0); q++) {
        if (n + 3 >= size)
            return 0;
        if (strncmp(q, prefix, plen) == 0) {
            out[n++] = 'h', out[n++] = '_';
            q += plen - 1;
            continue;
        }
        out[n++] = *q;
    }
    out[n] = '\0';
    return 1;
}

/* A batch observed at once renders as the same values observed one by one:
 * with few bounds (counted locally) and with more than 64 (one by one). */
static void test_observe_many(void)
{
    static const int nbounds[] = {3, 70};
    for (size_t k = 0; k < sizeof(nbounds) / sizeof(nbounds[0]); k++) {
        chiso_metrics *m = chiso_metrics_new();
        double bounds[70], v[500];
        for (int i = 0; i < nbounds[k]; i++)
            bounds[i] = 0.25 * (i + 1);
        chiso_histogram *one = chiso_metrics_histogram(m, "one_seconds", "x", bounds, nbounds[k]);
        chiso_histogram *many = chiso_metrics_histogram(m, "many_seconds", "x", bounds, nbounds[k]);
        CHECK(one && many, "registration (%d bounds)", nbounds[k]);
        /* quarters (exact sums in any order), on bounds and past the last */
        unsigned seed = 7;
        for (int i = 0; i < 500; i++) {
            seed = seed * 1103515245u + 12345u;
            v[i] = (i % 97 == 0) ? NAN : 0.25 * (double)((seed >> 16) % 100);
        }
        for (int i = 0; i < 500; i++)
            chiso_histogram_observe(one, v[i]);
        chiso_histogram_observe_many(many, v, 200);
        chiso_histogram_observe_many(many, v + 200, 300);
        chiso_histogram_observe_many(many, v, 0);
        chiso_histogram_observe_many(NULL, v, 500); /* tolerated */
        char *text = chiso_metrics_render(m);
        CHECK(text != NULL, "render");
        /* the family blocks, names aside, are the same text */
        char want[8192], got[8192];
        CHECK(family_block(text, "one_", want, sizeof(want)), "one_seconds rendered");
        CHECK(family_block(text, "many_", got, sizeof(got)), "many_seconds rendered");
        CHECK_EQ_STR(got, want);
        CHECK(strstr(want, "h_seconds_count 494\n") != NULL, "494 counted (6 NaN): %s", want);
        free(text);
        chiso_metrics_destroy(m);
    }
}

int main(void)
{
    chiso_log_set_component("test_metrics");
    test_render();
    test_quantile();
    test_observe_many();
    test_threads();
    test_http();
    return CHECK_DONE();
}
