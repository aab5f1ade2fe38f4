/*
 * upstream.c - forwarding a request to the national portal with libcurl
 * (upstream.h): a pool of easy handles, each keeping its connection, that
 * share the DNS and TLS session caches under one mutex per kind of data.
 */
#include "upstream.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "chiso/common.h"

struct bridge_upstream {
    char *base;       /* the base URL as given */
    size_t base_stem; /* its length without trailing '/' (where a path goes) */
    long connect_timeout_ms, timeout_ms;
    CURLSH *share; /* DNS and TLS session caches */
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    CURL *idle[BRIDGE_UPSTREAM_IDLE_MAX]; /* under pool_lock */
    int n_idle;
};

/* libcurl's global state, counted over the forwarders alive. */
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned global_users;

static const char *const forwarded_headers[] = {"Content-Type", "Accept", "Charset", "dstcode",
                                                "Authorization"};

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;
    if (errstr == NULL || errstr_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

static int global_acquire(char *errstr, size_t errstr_size)
{
    int ret = 0;
    pthread_mutex_lock(&global_lock);
    if (global_users == 0) {
        CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK) {
            set_err(errstr, errstr_size, "libcurl does not start: %s", curl_easy_strerror(rc));
            ret = CHISO_EIO;
        }
    }
    if (ret == 0)
        global_users++;
    pthread_mutex_unlock(&global_lock);
    return ret;
}

static void global_release(void)
{
    pthread_mutex_lock(&global_lock);
    if (global_users > 0 && --global_users == 0)
        curl_global_cleanup();
    pthread_mutex_unlock(&global_lock);
}

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userp)
{
    bridge_upstream *u = userp;
    (void)handle;
    (void)access;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&u->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userp)
{
    bridge_upstream *u = userp;
    (void)handle;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&u->share_locks[data]);
}

/* Whether libcurl's URL parser finds the part absent (part_missing is the
 * code it gives then). */
static bool url_part_absent(CURLU *h, CURLUPart part, CURLUcode part_missing)
{
    char *value = NULL;
    CURLUcode rc = curl_url_get(h, part, &value, 0);
    curl_free(value);
    return rc == part_missing;
}

/* The URL is http(s) with a host, and nothing the path and query would be
 * appended after. The URL itself is not quoted back: it may hold a secret. */
static int check_url(const char *url, char *errstr, size_t errstr_size)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL;
    CURLUcode rc;
    int ret = CHISO_EINVAL;

    if (h == NULL) {
        set_err(errstr, errstr_size, "out of memory");
        return CHISO_ENOMEM;
    }
    rc = curl_url_set(h, CURLUPART_URL, url, 0);
    if (rc != CURLUE_OK) {
        set_err(errstr, errstr_size, "the portal's URL is not a URL: %s", curl_url_strerror(rc));
        goto out;
    }
    if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        set_err(errstr, errstr_size, "the portal's URL must be http:// or https://, not %s://",
                scheme ? scheme : "?");
        goto out;
    }
    if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
        set_err(errstr, errstr_size, "the portal's URL has no host");
        goto out;
    }
    if (!url_part_absent(h, CURLUPART_USER, CURLUE_NO_USER) ||
        !url_part_absent(h, CURLUPART_PASSWORD, CURLUE_NO_PASSWORD)) {
        set_err(errstr, errstr_size,
                "the portal's URL must not hold a user or password (the province's "
                "Authorization header is passed on)");
        goto out;
    }
    if (!url_part_absent(h, CURLUPART_QUERY, CURLUE_NO_QUERY) ||
        !url_part_absent(h, CURLUPART_FRAGMENT, CURLUE_NO_FRAGMENT)) {
        set_err(errstr, errstr_size,
                "the portal's URL must not have a query or fragment (the province's path and "
                "query string are appended to it)");
        goto out;
    }
    ret = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(h);
    return ret;
}

bridge_upstream *bridge_upstream_new(const char *base_url, long connect_timeout_ms, long timeout_ms,
                                     char *errstr, size_t errstr_size)
{
    bridge_upstream *u;
    int locks = 0;
    bool pool_lock = false;

    if (base_url == NULL || base_url[0] == '\0') {
        set_err(errstr, errstr_size, "the portal's URL is empty");
        return NULL;
    }
    if (connect_timeout_ms <= 0 || timeout_ms <= 0) {
        set_err(errstr, errstr_size,
                "the portal's timeouts must be positive (connect %ld ms, whole call %ld ms)",
                connect_timeout_ms, timeout_ms);
        return NULL;
    }
    if (global_acquire(errstr, errstr_size) != 0)
        return NULL;
    if (check_url(base_url, errstr, errstr_size) != 0) {
        global_release();
        return NULL;
    }

    u = calloc(1, sizeof(*u));
    if (u == NULL)
        goto oom;
    u->base = strdup(base_url);
    if (u->base == NULL)
        goto oom;
    u->base_stem = strlen(u->base);
    while (u->base_stem > 0 && u->base[u->base_stem - 1] == '/')
        u->base_stem--;
    u->connect_timeout_ms = connect_timeout_ms;
    u->timeout_ms = timeout_ms;
    for (; locks < CURL_LOCK_DATA_LAST; locks++) {
        if (pthread_mutex_init(&u->share_locks[locks], NULL) != 0)
            goto oom;
    }
    if (pthread_mutex_init(&u->pool_lock, NULL) != 0)
        goto oom;
    pool_lock = true;
    u->share = curl_share_init();
    if (u->share == NULL)
        goto oom;
    if (curl_share_setopt(u->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(u->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(u->share, CURLSHOPT_USERDATA, u) != CURLSHE_OK ||
        curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(u->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        goto oom;
    return u;

oom:
    set_err(errstr, errstr_size, "out of memory starting the portal's forwarder");
    if (u != NULL) {
        if (u->share != NULL)
            curl_share_cleanup(u->share);
        if (pool_lock)
            pthread_mutex_destroy(&u->pool_lock);
        while (locks-- > 0)
            pthread_mutex_destroy(&u->share_locks[locks]);
        free(u->base);
        free(u);
    }
    global_release();
    return NULL;
}

void bridge_upstream_free(bridge_upstream *u)
{
    if (u == NULL)
        return;
    for (int i = 0; i < u->n_idle; i++)
        curl_easy_cleanup(u->idle[i]);
    curl_share_cleanup(u->share);
    pthread_mutex_destroy(&u->pool_lock);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&u->share_locks[i]);
    free(u->base);
    free(u);
    global_release();
}

bool bridge_upstream_header_forwarded(const char *name)
{
    if (name == NULL)
        return false;
    for (size_t i = 0; i < sizeof(forwarded_headers) / sizeof(forwarded_headers[0]); i++) {
        if (strcasecmp(name, forwarded_headers[i]) == 0)
            return true;
    }
    return false;
}

const char *bridge_upstream_outcome_name(bridge_upstream_outcome outcome)
{
    switch (outcome) {
    case BRIDGE_UP_OK:
        return "ok";
    case BRIDGE_UP_HTTP_ERROR:
        return "http_error";
    case BRIDGE_UP_TIMEOUT:
        return "timeout";
    case BRIDGE_UP_UNREACHABLE:
        return "unreachable";
    default:
        return "unknown";
    }
}

void bridge_upstream_answer_free(bridge_upstream_answer *a)
{
    if (a == NULL)
        return;
    free(a->body);
    memset(a, 0, sizeof(*a));
}

/* A byte that cannot stand as itself in a URL's path (or query). '%' is
 * kept: the path and query come percent-encoded already. */
static bool needs_escape(unsigned char c, bool in_path)
{
    if (c <= 0x20 || c >= 0x7f)
        return true;
    if (c == '?')
        return in_path;
    return strchr("\"<>\\^`{|}#", c) != NULL;
}

static char *append_escaped(char *p, const char *s, bool in_path)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (needs_escape(c, in_path)) {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        } else {
            *p++ = (char)c;
        }
    }
    return p;
}

/* base + path + "?" + query, malloc'd; NULL on OOM. */
static char *build_url(const bridge_upstream *u, const char *path, const char *query)
{
    size_t path_len, query_len;
    char *url, *p;

    if (path == NULL)
        path = "";
    if (query == NULL)
        query = "";
    if (query[0] == '?')
        query++;
    path_len = strlen(path);
    query_len = strlen(query);
    url = malloc(strlen(u->base) + 1 + 3 * path_len + 1 + 3 * query_len + 1);
    if (url == NULL)
        return NULL;
    if (path_len == 0) {
        p = url + strlen(u->base);
        memcpy(url, u->base, strlen(u->base));
    } else {
        memcpy(url, u->base, u->base_stem);
        p = url + u->base_stem;
        if (path[0] != '/')
            *p++ = '/';
        p = append_escaped(p, path, true);
    }
    if (query_len > 0) {
        *p++ = '?';
        p = append_escaped(p, query, false);
    }
    *p = '\0';
    return url;
}

static int append_line(struct curl_slist **list, const char *line)
{
    struct curl_slist *next = curl_slist_append(*list, line);
    if (next == NULL)
        return CHISO_ENOMEM;
    *list = next;
    return 0;
}

/* "Name: value" ("Name;" for an empty value: libcurl's way to send one). */
static int append_header(struct curl_slist **list, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    int rc;
    if (line == NULL)
        return CHISO_ENOMEM;
    if (value[0] == '\0')
        snprintf(line, n, "%s;", name);
    else
        snprintf(line, n, "%s: %s", name, value);
    rc = append_line(list, line);
    free(line);
    return rc;
}

/* The province's allowed headers, and the removal of those libcurl would
 * add of its own accord ("Name:" removes one): a form's Content-Type, its
 * catch-all Accept, and "Expect: 100-continue" for larger bodies. */
static int build_headers(const char *const *pairs, struct curl_slist **out)
{
    struct curl_slist *list = NULL;
    bool content_type = false, accept = false;
    int rc = 0;

    for (size_t i = 0; pairs != NULL && pairs[i] != NULL && pairs[i + 1] != NULL && rc == 0;
         i += 2) {
        const char *name = pairs[i], *value = pairs[i + 1];
        if (!bridge_upstream_header_forwarded(name) || strpbrk(value, "\r\n") != NULL)
            continue;
        content_type = content_type || strcasecmp(name, "Content-Type") == 0;
        accept = accept || strcasecmp(name, "Accept") == 0;
        rc = append_header(&list, name, value);
    }
    if (rc == 0 && !content_type)
        rc = append_line(&list, "Content-Type:");
    if (rc == 0 && !accept)
        rc = append_line(&list, "Accept:");
    if (rc == 0)
        rc = append_line(&list, "Expect:");
    if (rc != 0) {
        curl_slist_free_all(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* The answer's body, up to BRIDGE_UPSTREAM_ANSWER_MAX bytes. */
typedef struct sink {
    chiso_buf b;
    bool too_big, oom;
} sink;

static size_t sink_write(char *data, size_t size, size_t nmemb, void *userp)
{
    sink *s = userp;
    size_t n = size * nmemb;

    if (n > BRIDGE_UPSTREAM_ANSWER_MAX - s->b.len) {
        s->too_big = true;
        return 0; /* stops the transfer: CURLE_WRITE_ERROR */
    }
    if (chiso_buf_append(&s->b, data, n) != 0) {
        s->oom = true;
        return 0;
    }
    return n;
}

/* An easy handle from the pool (it keeps its connection), or a new one. */
static CURL *handle_take(bridge_upstream *u)
{
    CURL *h = NULL;
    pthread_mutex_lock(&u->pool_lock);
    if (u->n_idle > 0)
        h = u->idle[--u->n_idle];
    pthread_mutex_unlock(&u->pool_lock);
    return h != NULL ? h : curl_easy_init();
}

/* Back to the pool, its options reset (the connection stays), or cleaned
 * up when the pool is full. */
static void handle_give(bridge_upstream *u, CURL *h)
{
    curl_easy_reset(h);
    pthread_mutex_lock(&u->pool_lock);
    if (u->n_idle < BRIDGE_UPSTREAM_IDLE_MAX) {
        u->idle[u->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&u->pool_lock);
    if (h != NULL)
        curl_easy_cleanup(h);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* The options of one call; CURLE_OK or the first refusal. */
static CURLcode set_options(bridge_upstream *u, CURL *h, const char *url,
                            struct curl_slist *headers, const char *body, size_t len, sink *s,
                            char *errbuf)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_SHARE, u->share);
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_PATH_AS_IS, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, u->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, u->timeout_ms);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, body != NULL ? body : "");
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BRIDGE_UPSTREAM_ANSWER_MAX);
    SET(CURLOPT_WRITEFUNCTION, sink_write);
    SET(CURLOPT_WRITEDATA, s);
#undef SET
    return rc;
}

/* The answer from a finished transfer. */
static void classify(bridge_upstream *u, CURL *h, CURLcode rc, sink *s, const char *errbuf,
                     bridge_upstream_answer *out)
{
    const char *detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    char *type = NULL;
    long status = 0;

    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != NULL &&
            strlen(type) < sizeof(out->content_type))
            strcpy(out->content_type, type);
    }
    if (rc == CURLE_OK) {
        out->status = status;
        out->outcome = status >= 400 ? BRIDGE_UP_HTTP_ERROR : BRIDGE_UP_OK;
        if (s->b.len > 0) {
            out->body = s->b.buf;
            out->len = s->b.len;
            s->b.buf = NULL;
        }
        if (out->outcome == BRIDGE_UP_HTTP_ERROR)
            snprintf(out->note, sizeof(out->note), "the portal answered %ld", status);
    } else if ((rc == CURLE_WRITE_ERROR && s->too_big) || rc == CURLE_FILESIZE_EXCEEDED) {
        /* what a proxy answers for an upstream answer it cannot pass on */
        out->status = BRIDGE_UPSTREAM_TOO_BIG_STATUS;
        out->outcome = BRIDGE_UP_HTTP_ERROR;
        snprintf(out->note, sizeof(out->note),
                 "the portal's answer (status %ld) is larger than %d bytes: dropped", status,
                 BRIDGE_UPSTREAM_ANSWER_MAX);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        out->outcome = BRIDGE_UP_TIMEOUT;
        snprintf(out->note, sizeof(out->note),
                 "no answer from the portal within %ld ms (connect %ld ms): %s", u->timeout_ms,
                 u->connect_timeout_ms, detail);
    } else {
        out->outcome = BRIDGE_UP_UNREACHABLE;
        snprintf(out->note, sizeof(out->note), "the portal is unreachable: %s", detail);
    }
}

int bridge_upstream_post(bridge_upstream *u, const char *path, const char *query,
                         const char *const *header_pairs, const char *body, size_t len,
                         bridge_upstream_answer *out)
{
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL;
    struct timespec start;
    sink s = {0};
    char *url = NULL;
    CURL *h = NULL;
    CURLcode rc;
    int ret = 0;

    if (out == NULL)
        return CHISO_EINVAL;
    memset(out, 0, sizeof(*out));
    out->outcome = BRIDGE_UP_UNREACHABLE;
    if (u == NULL || (body == NULL && len > 0)) {
        snprintf(out->note, sizeof(out->note), "no forwarder or no body");
        return CHISO_EINVAL;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    errbuf[0] = '\0';

    url = build_url(u, path, query);
    if (url == NULL || build_headers(header_pairs, &headers) != 0 || (h = handle_take(u)) == NULL) {
        ret = CHISO_ENOMEM;
        goto out;
    }
    rc = set_options(u, h, url, headers, body, len, &s, errbuf);
    if (rc != CURLE_OK) {
        ret = rc == CURLE_OUT_OF_MEMORY ? CHISO_ENOMEM : CHISO_EIO;
        snprintf(out->note, sizeof(out->note), "libcurl refuses an option: %s",
                 curl_easy_strerror(rc));
        goto out;
    }
    rc = curl_easy_perform(h);
    if (rc == CURLE_OUT_OF_MEMORY || s.oom) {
        ret = CHISO_ENOMEM;
        goto out;
    }
    classify(u, h, rc, &s, errbuf, out);
out:
    if (ret == CHISO_ENOMEM)
        snprintf(out->note, sizeof(out->note), "out of memory forwarding to the portal");
    out->seconds = seconds_since(&start);
    if (h != NULL)
        handle_give(u, h);
    curl_slist_free_all(headers);
    free(url);
    free(s.b.buf);
    return ret;
}
