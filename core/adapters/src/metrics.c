/*
 * metrics.c - the Prometheus registry, its text rendering, and the HTTP
 * endpoint of metrics.h.
 *
 * Ownership and locking: the registry owns every metric and family; they
 * live until chiso_metrics_destroy(). The mutex guards only the structure
 * (registration and the walk of a render). Values are C11 atomics updated
 * without the lock, so the hot path never waits for a scrape. A gauge keeps
 * the bits of its double in an atomic uint64; a histogram keeps one
 * non-cumulative atomic count per bucket (the last is +Inf) and its sum as
 * double bits updated by compare-and-swap. The rendered _count is the sum
 * of the buckets, so `le="+Inf"` always equals `_count` even mid-update.
 *
 * A metric name may carry labels (`name{a="b"}`); the part before '{' is
 * the family. Families render in registration order, HELP and TYPE once
 * each, followed by all their members.
 */
#include "chiso/metrics.h"

#include <arpa/inet.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "chiso/common.h"
#include "chiso/runtime.h"

typedef enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

struct chiso_counter {
    _Atomic uint64_t value;
};

struct chiso_gauge {
    _Atomic uint64_t bits; /* a double */
};

struct chiso_histogram {
    double *bounds; /* nbounds finite upper bounds, strictly ascending */
    int nbounds;
    _Atomic uint64_t *buckets; /* nbounds + 1, the last is +Inf; not cumulative */
    _Atomic uint64_t sum_bits; /* a double */
};

typedef struct metric {
    char *name;   /* full name, labels included */
    char *labels; /* inside the braces, or NULL */
    struct family *family;
    union {
        chiso_counter counter;
        chiso_gauge gauge;
        chiso_histogram hist;
    } u;
    struct metric *next; /* within the family */
} metric;

typedef struct family {
    char *name;
    char *help;
    metric_kind kind;
    metric *first, *last;
    struct family *next;
} family;

struct chiso_metrics {
    pthread_mutex_t lock;
    family *families, *last_family;
    struct MHD_Daemon *daemon;
};

static uint64_t double_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static double bits_double(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

chiso_metrics *chiso_metrics_new(void)
{
    chiso_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

static void metric_free(metric *mt, metric_kind kind)
{
    if (kind == KIND_HISTOGRAM) {
        free(mt->u.hist.bounds);
        free((void *)mt->u.hist.buckets);
    }
    free(mt->name);
    free(mt->labels);
    free(mt);
}

void chiso_metrics_destroy(chiso_metrics *m)
{
    if (!m)
        return;
    if (m->daemon)
        MHD_stop_daemon(m->daemon); /* joins the server thread */
    for (family *f = m->families, *fnext; f; f = fnext) {
        fnext = f->next;
        for (metric *mt = f->first, *mnext; mt; mt = mnext) {
            mnext = mt->next;
            metric_free(mt, f->kind);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Split `name` into its family and label text; NULL *labels when none.
 * Returns 0, CHISO_EINVAL for a malformed name, or CHISO_ENOMEM. */
static int split_name(const char *name, char **fam, char **labels)
{
    size_t n = 0, len = strlen(name);

    while (name_char(name[n], n == 0))
        n++;
    *fam = NULL;
    *labels = NULL;
    if (n == 0 || (name[n] != '\0' && name[n] != '{'))
        return CHISO_EINVAL;
    if (name[n] == '{' && (len < n + 3 || name[len - 1] != '}'))
        return CHISO_EINVAL;
    *fam = strndup(name, n);
    if (!*fam)
        return CHISO_ENOMEM;
    if (name[n] == '{') {
        *labels = strndup(name + n + 1, len - n - 2);
        if (!*labels) {
            free(*fam);
            *fam = NULL;
            return CHISO_ENOMEM;
        }
    }
    return 0;
}

/* Find or create the metric `name` of `kind`; the caller holds the lock.
 * *created tells whether the caller must initialise the value. */
static metric *registry_get(chiso_metrics *m, const char *name, const char *help, metric_kind kind,
                            bool *created)
{
    char *famname = NULL, *labels = NULL;
    family *f;
    metric *mt = NULL;
    bool new_family = false;

    *created = false;
    for (f = m->families; f; f = f->next) {
        for (mt = f->first; mt; mt = mt->next) {
            if (strcmp(mt->name, name) == 0) {
                if (f->kind != kind) {
                    LOG_ERROR("metrics: '%s' registered again with another type", name);
                    return NULL;
                }
                return mt;
            }
        }
    }
    if (split_name(name, &famname, &labels) != 0) {
        LOG_ERROR("metrics: invalid metric name '%s'", name);
        goto err;
    }
    for (f = m->families; f && strcmp(f->name, famname) != 0; f = f->next)
        ;
    if (f && f->kind != kind) {
        LOG_ERROR("metrics: '%s' has another type than its family '%s'", name, famname);
        goto err;
    }
    if (!f) {
        f = calloc(1, sizeof(*f));
        if (!f)
            goto err;
        new_family = true;
        f->kind = kind;
        f->name = famname;
        famname = NULL;
        f->help = strdup(help ? help : "");
        if (!f->help)
            goto err;
    }
    mt = calloc(1, sizeof(*mt));
    if (!mt || !(mt->name = strdup(name)))
        goto err;
    mt->labels = labels;
    labels = NULL;
    mt->family = f;
    if (f->last)
        f->last->next = mt;
    else
        f->first = mt;
    f->last = mt;
    if (new_family) {
        if (m->last_family)
            m->last_family->next = f;
        else
            m->families = f;
        m->last_family = f;
    }
    *created = true;
    free(famname);
    return mt;

err:
    if (mt) {
        free(mt->name);
        free(mt);
    }
    if (new_family) {
        free(f->name);
        free(f->help);
        free(f);
    }
    free(famname);
    free(labels);
    return NULL;
}

chiso_counter *chiso_metrics_counter(chiso_metrics *m, const char *name, const char *help)
{
    bool created;
    metric *mt;

    pthread_mutex_lock(&m->lock);
    mt = registry_get(m, name, help, KIND_COUNTER, &created);
    if (mt && created)
        atomic_init(&mt->u.counter.value, 0);
    pthread_mutex_unlock(&m->lock);
    return mt ? &mt->u.counter : NULL;
}

chiso_gauge *chiso_metrics_gauge(chiso_metrics *m, const char *name, const char *help)
{
    bool created;
    metric *mt;

    pthread_mutex_lock(&m->lock);
    mt = registry_get(m, name, help, KIND_GAUGE, &created);
    if (mt && created)
        atomic_init(&mt->u.gauge.bits, double_bits(0.0));
    pthread_mutex_unlock(&m->lock);
    return mt ? &mt->u.gauge : NULL;
}

/* Bounds must be finite and strictly ascending; a trailing +Inf is implied
 * and dropped if given. */
chiso_histogram *chiso_metrics_histogram(chiso_metrics *m, const char *name, const char *help,
                                         const double *bounds, int nbounds)
{
    chiso_histogram *h = NULL;
    bool created;
    metric *mt;

    if (nbounds > 0 && isinf(bounds[nbounds - 1]) && bounds[nbounds - 1] > 0)
        nbounds--;
    for (int i = 0; i < nbounds; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
            LOG_ERROR("metrics: histogram '%s': bounds must be finite and ascending", name);
            return NULL;
        }
    }
    pthread_mutex_lock(&m->lock);
    mt = registry_get(m, name, help, KIND_HISTOGRAM, &created);
    if (mt && !created) {
        h = &mt->u.hist;
    } else if (mt) {
        h = &mt->u.hist;
        h->nbounds = nbounds;
        h->bounds = malloc(sizeof(double) * (size_t)(nbounds ? nbounds : 1));
        h->buckets = malloc(sizeof(*h->buckets) * (size_t)(nbounds + 1));
        if (!h->bounds || !h->buckets) {
            /* Keep the metric registered but empty: never a half-built one. */
            free(h->bounds);
            free((void *)h->buckets);
            h->bounds = NULL;
            h->buckets = NULL;
            h->nbounds = -1;
            h = NULL;
        } else {
            if (nbounds)
                memcpy(h->bounds, bounds, sizeof(double) * (size_t)nbounds);
            for (int i = 0; i <= nbounds; i++)
                atomic_init(&h->buckets[i], 0);
            atomic_init(&h->sum_bits, double_bits(0.0));
        }
    }
    pthread_mutex_unlock(&m->lock);
    return h && h->nbounds >= 0 ? h : NULL;
}

/* Updates accept NULL (a failed registration was already logged), so a
 * metrics problem never takes a stage down. */
void chiso_counter_add(chiso_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t chiso_counter_value(const chiso_counter *c)
{
    return c ? atomic_load_explicit(&((chiso_counter *)c)->value, memory_order_relaxed) : 0;
}

void chiso_gauge_set(chiso_gauge *g, double v)
{
    if (g)
        atomic_store_explicit(&g->bits, double_bits(v), memory_order_relaxed);
}

/* The first bucket whose upper bound is >= v (le is inclusive). */
static int bucket_of(const chiso_histogram *h, double v)
{
    int lo = 0, hi = h->nbounds;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (v <= h->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void add_sum(chiso_histogram *h, double v)
{
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed), next;
    do {
        next = double_bits(bits_double(old) + v);
    } while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

/* NaN observations are ignored: they would poison the sum forever. */
void chiso_histogram_observe(chiso_histogram *h, double v)
{
    if (!h || isnan(v))
        return;
    atomic_fetch_add_explicit(&h->buckets[bucket_of(h, v)], 1, memory_order_relaxed);
    add_sum(h, v);
}

/* Counted here first, then one atomic add per bucket that got any and one
 * for the sum: a batch's records would otherwise take two atomic updates
 * each. */
void chiso_histogram_observe_many(chiso_histogram *h, const double *v, size_t n)
{
    enum { LOCAL_MAX = 64 };
    uint64_t count[LOCAL_MAX + 1] = {0};
    double sum = 0;
    bool any = false;

    if (!h)
        return;
    if (h->nbounds > LOCAL_MAX) {
        for (size_t i = 0; i < n; i++)
            chiso_histogram_observe(h, v[i]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            continue;
        count[bucket_of(h, v[i])]++;
        sum += v[i];
        any = true;
    }
    if (!any)
        return;
    for (int b = 0; b <= h->nbounds; b++)
        if (count[b])
            atomic_fetch_add_explicit(&h->buckets[b], count[b], memory_order_relaxed);
    add_sum(h, sum);
}

/* Prometheus histogram_quantile(): find the bucket holding rank q*count and
 * interpolate linearly inside it; the first bucket starts at 0 (when its
 * bound is positive); a rank in +Inf answers the highest finite bound.
 * q is clamped to [0, 1]; an empty histogram answers NaN. */
double chiso_histogram_quantile(const chiso_histogram *h, double q)
{
    chiso_histogram *hh = (chiso_histogram *)h;
    uint64_t total = 0, cum = 0, *counts;
    double rank, result = NAN;
    int n;

    if (!h || isnan(q) || h->nbounds == 0)
        return NAN;
    n = h->nbounds + 1;
    counts = malloc(sizeof(*counts) * (size_t)n);
    if (!counts)
        return NAN;
    for (int i = 0; i < n; i++) {
        counts[i] = atomic_load_explicit(&hh->buckets[i], memory_order_relaxed);
        total += counts[i];
    }
    if (total == 0)
        goto out;
    q = q < 0 ? 0 : q > 1 ? 1 : q;
    rank = q * (double)total;
    for (int i = 0; i < n; i++) {
        double lower, upper;
        uint64_t prev = cum;
        cum += counts[i];
        if (counts[i] == 0 || (double)cum < rank)
            continue;
        if (i == h->nbounds) {
            result = h->bounds[i - 1];
            break;
        }
        upper = h->bounds[i];
        if (i == 0 && upper <= 0) {
            result = upper;
            break;
        }
        lower = i == 0 ? 0 : h->bounds[i - 1];
        result = lower + (upper - lower) * (rank - (double)prev) / (double)counts[i];
        break;
    }

out:
    free(counts);
    return result;
}

/* A growing string for the renderer; `failed` sticks after any error. */
typedef struct sbuf {
    char *data;
    size_t len, cap;
    bool failed;
} sbuf;

static void sb_printf(sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (sb->failed)
        return;
    for (;;) {
        size_t room = sb->cap - sb->len;
        va_start(ap, fmt);
        n = vsnprintf(sb->data ? sb->data + sb->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->failed = true;
            return;
        }
        if ((size_t)n < room) {
            sb->len += (size_t)n;
            return;
        }
        size_t cap = sb->cap ? sb->cap : 4096;
        while (cap - sb->len <= (size_t)n)
            cap *= 2;
        char *grown = realloc(sb->data, cap);
        if (!grown) {
            sb->failed = true;
            return;
        }
        sb->data = grown;
        sb->cap = cap;
    }
}

/* A double as Prometheus reads it: shortest text that round-trips. */
static const char *fmt_double(double v, char *buf, size_t size)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* HELP text escapes backslash and newline. */
static void sb_help(sbuf *sb, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            sb_printf(sb, "\\\\");
        else if (*p == '\n')
            sb_printf(sb, "\\n");
        else
            sb_printf(sb, "%c", *p);
    }
}

static void render_histogram(sbuf *sb, const family *f, const metric *mt)
{
    chiso_histogram *h = (chiso_histogram *)&mt->u.hist;
    const char *lab = mt->labels, *sep = mt->labels ? "," : "";
    uint64_t cum = 0;
    char num[64];

    if (h->nbounds < 0)
        return;
    for (int i = 0; i <= h->nbounds; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        sb_printf(sb, "%s_bucket{%s%sle=\"%s\"} %llu\n", f->name, lab ? lab : "", sep,
                  i < h->nbounds ? fmt_double(h->bounds[i], num, sizeof(num)) : "+Inf",
                  (unsigned long long)cum);
    }
    sb_printf(sb, "%s_sum%s%s%s %s\n", f->name, lab ? "{" : "", lab ? lab : "", lab ? "}" : "",
              fmt_double(bits_double(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)), num,
                         sizeof(num)));
    sb_printf(sb, "%s_count%s%s%s %llu\n", f->name, lab ? "{" : "", lab ? lab : "", lab ? "}" : "",
              (unsigned long long)cum);
}

char *chiso_metrics_render(chiso_metrics *m)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    sbuf sb = {0};
    char num[64];

    sb_printf(&sb, "%s", ""); /* an empty registry renders "" */
    pthread_mutex_lock(&m->lock);
    for (const family *f = m->families; f; f = f->next) {
        sb_printf(&sb, "# HELP %s ", f->name);
        sb_help(&sb, f->help);
        sb_printf(&sb, "\n# TYPE %s %s\n", f->name, types[f->kind]);
        for (const metric *mt = f->first; mt; mt = mt->next) {
            switch (f->kind) {
            case KIND_COUNTER:
                sb_printf(&sb, "%s %llu\n", mt->name,
                          (unsigned long long)chiso_counter_value(&mt->u.counter));
                break;
            case KIND_GAUGE:
                sb_printf(&sb, "%s %s\n", mt->name,
                          fmt_double(bits_double(atomic_load_explicit(&((metric *)mt)->u.gauge.bits,
                                                                      memory_order_relaxed)),
                                     num, sizeof(num)));
                break;
            case KIND_HISTOGRAM:
                render_histogram(&sb, f, mt);
                break;
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (sb.failed || !sb.data) {
        free(sb.data);
        return NULL;
    }
    return sb.data;
}

/* ---- HTTP ---- */

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned int status,
                                 const char *content_type, char *body, bool owned)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(body), body,
                                           owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    static const char plain[] = "text/plain; charset=utf-8";
    chiso_metrics *m = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, plain, "method not allowed\n", false);
    if (strcmp(url, "/metrics") == 0) {
        char *body = chiso_metrics_render(m);
        if (!body)
            return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, plain, "out of memory\n", false);
        return send_text(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, true);
    }
    if (strcmp(url, "/healthz") == 0)
        return send_text(conn, MHD_HTTP_OK, plain, "ok\n", false);
    return send_text(conn, MHD_HTTP_NOT_FOUND, plain, "not found\n", false);
}

void chiso_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    LOG_WARN("%s: %s", cls ? (const char *)cls : "http", line);
}

int chiso_metrics_serve(chiso_metrics *m, const char *bind_addr, int port, char *errstr,
                        size_t errstr_size)
{
    struct addrinfo hints = {0}, *res = NULL;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    char portstr[16];
    int rc;

    if (port == 0)
        return 0;
    if (port < 0 || port > 65535) {
        snprintf(errstr, errstr_size, "metrics port %d out of range", port);
        return CHISO_EIO;
    }
    if (m->daemon) {
        snprintf(errstr, errstr_size, "metrics server already running");
        return CHISO_EIO;
    }
    if (!bind_addr || !*bind_addr)
        bind_addr = "0.0.0.0";
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(bind_addr, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "metrics bind address '%s': %s", bind_addr, gai_strerror(rc));
        return CHISO_EIO;
    }
    if (res->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle_request, m,
                                 MHD_OPTION_EXTERNAL_LOGGER, chiso_mhd_log, (void *)"metrics http",
                                 MHD_OPTION_SOCK_ADDR, res->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned int)32, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                                 MHD_OPTION_END);
    freeaddrinfo(res);
    if (!m->daemon) {
        snprintf(errstr, errstr_size, "cannot serve metrics on %s:%d (address in use?)", bind_addr,
                 port);
        return CHISO_EIO;
    }
    LOG_INFO("metrics: serving http://%s:%d/metrics", bind_addr, port);
    return 0;
}
