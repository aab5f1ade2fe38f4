/*
 * chiso-simulate - a seeded, deterministic province simulator.
 *
 * Generates the dossier lifecycle events of a province (Hưng Yên by
 * default: 20 departments, 104 communes) over a window of local days, in
 * time order, optionally with reordering, duplicates and malformed records,
 * and sends them to Kafka (dossier.events, after the unit records on
 * catalog.units and the procedure records on catalog.procedures) or writes
 * them as JSON lines to stdout, or posts each dossier's changes to
 * chiso-bridge as a province's one-stop system sends them to the national
 * portal (--output bridge: DongBoHoSoMC snapshots and CapNhatTienDoHoSoMC
 * steps, sim_bridge.h; libcurl, one keep-alive connection). With --truth it
 * writes the ground-truth counters the pipeline must reach, the same
 * whichever the output. Its citizens' feedback (PAKN) goes to
 * feedback.events (and/or --feedback-out; never through the bridge), in
 * time order with the dossier events, from streams of its own
 * (sim_feedback.h): the dossier events and their truth do not depend on it.
 *
 * Streaming with bounded memory: arrivals are generated day by day in time
 * order; each dossier's whole lifecycle is generated at its arrival and its
 * events wait in a min-heap keyed by (at, dossier serial, event number)
 * until no later arrival can precede them. Memory is proportional to the
 * events still pending (about a due period's worth of dossiers), not to the
 * run.
 *
 * Determinism: the model's streams depend only on the seed and the model
 * knobs; the noise (reorder, duplicates, malformed) has its own stream, so
 * the same arguments always give byte-identical output.
 *
 * Exit codes: 0 ok, 1 runtime failure (I/O, Kafka delivery failures, a
 * self-check failure), 2 usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "chiso/catalog.h"
#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/deadletter.h"
#include "chiso/config.h"
#include "chiso/event.h"
#include "chiso/feedback.h"
#include "chiso/kafka.h"
#include "chiso/vntime.h"
#include "sim_bridge.h"
#include "sim_check.h"
#include "sim_feedback.h"
#include "sim_heap.h"
#include "sim_malformed.h"
#include "sim_model.h"
#include "sim_truth.h"

#define STREAM_NOISE    0x6e6f697365ULL   /* "noise" */
#define STREAM_FB_NOISE 0x66626e6f6973ULL /* "fbnois": the feedback's own noise */
#define DUP_WINDOW      100               /* a duplicate follows within this many records */
#define JSON_MAX        2048              /* a good event's JSON always fits */
#define BRIDGE_ATTEMPTS 6                 /* a request is tried this many times ... */
#define BRIDGE_BACKOFF  250               /* ... waiting 250 ms, then twice as long each time */

/* ---- configuration ---------------------------------------------------------- */

static int v_date(const char *value, char *errstr, size_t size)
{
    chiso_period p;
    if (chiso_period_parse(value, &p) != 0 || p.kind != CHISO_PERIOD_DAY) {
        snprintf(errstr, size, "'%s' is not a date YYYY-MM-DD", value);
        return CHISO_EINVAL;
    }
    return 0;
}

static int v_output(const char *value, char *errstr, size_t size)
{
    if (strcmp(value, "kafka") != 0 && strcmp(value, "stdout") != 0 &&
        strcmp(value, "bridge") != 0) {
        snprintf(errstr, size, "output must be 'kafka', 'stdout' or 'bridge', not '%s'", value);
        return CHISO_EINVAL;
    }
    return 0;
}

static int v_envelope(const char *value, char *errstr, size_t size)
{
    if (strcmp(value, "bare") != 0 && strcmp(value, "gateway") != 0) {
        snprintf(errstr, size, "bridge.envelope must be 'bare' or 'gateway', not '%s'", value);
        return CHISO_EINVAL;
    }
    return 0;
}

static int v_url(const char *value, char *errstr, size_t size)
{
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
        snprintf(errstr, size, "bridge.url must start with http:// or https://, not '%s'", value);
        return CHISO_EINVAL;
    }
    return 0;
}

static const chiso_cfg_def cfg_defs[] = {
    {"seed", CHISO_CFG_INT, "1", "PRNG seed; the same arguments give byte-identical output", NULL},
    {"start", CHISO_CFG_STRING, NULL,
     "first local day YYYY-MM-DD, Vietnam time (default: today minus --days)", v_date},
    {"days", CHISO_CFG_INT, "7", "length of the window in days; events after its end are not sent",
     chiso_cfg_positive},
    {"dossiers-per-day", CHISO_CFG_DOUBLE, "2900",
     "average dossiers a day over the week (Hưng Yên: ~2,900)", chiso_cfg_nonneg},
    {"departments", CHISO_CFG_INT, "20", "number of departments (kind department)",
     chiso_cfg_nonneg},
    {"communes", CHISO_CFG_INT, "104", "number of commune-level units (kind commune)",
     chiso_cfg_nonneg},
    {"output", CHISO_CFG_STRING, "kafka",
     "kafka, stdout (JSON lines of dossier events only), or bridge (each dossier's changes "
     "posted to chiso-bridge as DongBoHoSoMC snapshots and CapNhatTienDoHoSoMC steps; feedback "
     "events and the catalogs are not sent: --feedback-out, --units-out, --procedures-out write "
     "them; --reorder, --duplicates and --malformed must be 0)",
     v_output},
    {"bridge.url", CHISO_CFG_STRING, "http://127.0.0.1:8095",
     "chiso-bridge's base URL: POST <url>/DongBoHoSoMC?MaDinhDanhDV=<unit>&isUpdating=True|False "
     "and <url>/CapNhatTienDoHoSoMC?MaDinhDanhDV=<unit> (gateway envelope: <url>/)",
     v_url},
    {"bridge.envelope", CHISO_CFG_STRING, "bare",
     "bare (the body is the data array; unit and isUpdating in the query string, as Hà Giang) "
     "or gateway ({session, madonvi, service, isUpdating, data}, as OpenCPS)",
     v_envelope},
    {"bridge.token", CHISO_CFG_STRING, NULL,
     "sent as 'Authorization: Bearer TOKEN' (and as the gateway envelope's session)", NULL},
    {"bridge.batch", CHISO_CFG_INT, "20",
     "items (or progress steps) per request, all of one unit; the rest go at the end",
     chiso_cfg_positive},
    {"bridge.as9", CHISO_CFG_BOOL, "false",
     "send statuses 5, 6 and 8 as 9, in snapshots and steps (as Thanh Hóa)", NULL},
    {"bridge.no-channel", CHISO_CFG_BOOL, "false",
     "leave KenhThucHien out of the snapshots (as OpenCPS and Hà Giang)", NULL},
    {"bridge.skip", CHISO_CFG_DOUBLE, "0",
     "probability that a dossier's change is not sent, nor its step: the next snapshot carries "
     "the later state (as OpenCPS coalesces); a dossier's end is always sent",
     chiso_cfg_fraction},
    {"bridge.resend", CHISO_CFG_DOUBLE, "0", "probability that a snapshot is sent twice",
     chiso_cfg_fraction},
    {"bridge.no-rounds", CHISO_CFG_BOOL, "false",
     "leave DanhSachHoSoBoSung (the supplement rounds) empty, as every client seen does", NULL},
    {"bridge.no-steps", CHISO_CFG_BOOL, "false", "send no CapNhatTienDoHoSoMC progress steps",
     NULL},
    {"malformed-out", CHISO_CFG_STRING, NULL,
     "write each malformed record's bytes, base64, one per line, to FILE", NULL},
    {"units-out", CHISO_CFG_STRING, NULL, "also write the unit records as JSON lines to FILE",
     NULL},
    {"procedures-out", CHISO_CFG_STRING, NULL,
     "also write the procedure records as JSON lines to FILE", NULL},
    {"truth", CHISO_CFG_STRING, NULL, "write the ground-truth counters (JSON) to FILE", NULL},
    {"feedback-rate", CHISO_CFG_DOUBLE, SIM_FB_DEFAULT_RATE,
     "feedback (PAKN) per 1,000 dossiers, at least 3 a week (0 = no feedback events)",
     chiso_cfg_nonneg},
    {"feedback-out", CHISO_CFG_STRING, NULL,
     "also write the feedback events (with their duplicates) as JSON lines to FILE", NULL},
    {"reorder", CHISO_CFG_DOUBLE, "0", "fraction of events displaced later in the stream",
     chiso_cfg_fraction},
    {"reorder-window", CHISO_CFG_INT, "500", "a displaced event moves up to this many records",
     chiso_cfg_positive},
    {"duplicates", CHISO_CFG_DOUBLE, "0", "fraction of events sent a second time (same event_id)",
     chiso_cfg_fraction},
    {"malformed", CHISO_CFG_DOUBLE, "0", "per good event, probability of an extra invalid record",
     chiso_cfg_fraction},
    {"rate", CHISO_CFG_DOUBLE, "0", "records per second (0 = as fast as possible)",
     chiso_cfg_nonneg},
    {"self-check", CHISO_CFG_BOOL, "true",
     "parse every good record back with chiso_event_parse (malformed ones are always checked)",
     NULL},
    {"check-threads", CHISO_CFG_INT, "-1",
     "threads running the self-check (-1 = one less than the CPUs, at most 4; 0 = inline)", NULL},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    CHISO_KAFKA_CFG_DEFS,
    {NULL, 0, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: chiso-simulate [options]\n"
            "Simulate a province's dossier events (Decision 766 pipeline input).\n\n"
            "--output bridge posts each dossier's changes to chiso-bridge (bridge.url) as a\n"
            "province's one-stop system sends them to the national portal: DongBoHoSoMC\n"
            "snapshots and CapNhatTienDoHoSoMC progress steps, with an HTTP Date header at the\n"
            "simulated time of the request's latest change, and the senders' quirks of the\n"
            "bridge.* options. Feedback (PAKN) events and the catalogs are not sent that way\n"
            "(--feedback-out, --units-out and --procedures-out write them); --reorder,\n"
            "--duplicates and --malformed must be 0. The --truth file is the same as with\n"
            "--output kafka.\n\n");
    chiso_config_print_help(cfg_defs, out);
}

/* ---- the event heap and the delayed records ------------------------------------ */

static bool ev_less(const void *a, const void *b)
{
    const sim_ev *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at;
    if (x->serial != y->serial)
        return x->serial < y->serial;
    return x->n < y->n;
}

/* A displaced or duplicated event, waiting for its turn. */
typedef struct delayed {
    uint64_t release; /* emit once this many records have gone out */
    uint64_t seq;     /* tie-break: insertion order */
    sim_ev ev;
    bool dup;
} delayed;

static bool dl_less(const void *a, const void *b)
{
    const delayed *x = a, *y = b;
    return x->release != y->release ? x->release < y->release : x->seq < y->seq;
}

/* A feedback event waiting in time order, or displaced / duplicated. */
static bool fb_less(const void *a, const void *b)
{
    const sim_fb_ev *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at;
    if (x->serial != y->serial)
        return x->serial < y->serial;
    return x->n < y->n;
}

typedef struct fb_delayed {
    uint64_t release; /* emit once this many dossier records have gone out */
    uint64_t seq;
    sim_fb_ev ev;
    bool dup;
} fb_delayed;

static bool fbdl_less(const void *a, const void *b)
{
    const fb_delayed *x = a, *y = b;
    return x->release != y->release ? x->release < y->release : x->seq < y->seq;
}

/* ---- the run ---------------------------------------------------------------------- */

typedef struct sim {
    const chiso_config *cfg;
    sim_province *pv;
    sim_truth *truth;
    sim_truth_meta meta;
    sim_rng noise;
    double p_reorder, p_dup, p_mal;
    uint32_t reorder_window;
    sim_check *check; /* NULL when --self-check false */
    bool to_kafka, to_bridge;
    /* stdout */
    bool stdout_closed;
    FILE *malformed_out; /* --malformed-out, or NULL */
    /* kafka */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt_events;
    uint64_t produced, delivered, failed;
    uint64_t delay_seq; /* insertion order of delayed records */
    /* feedback: its own events, noise and topic; never touches the dossier
     * stream (its records, noise or pacing) */
    sim_feedback *fb;
    sim_heap fb_heap, fb_dl;
    sim_rng fb_noise;
    uint64_t fb_seq;
    rd_kafka_topic_t *rkt_feedback;
    FILE *feedback_out;
    /* bridge: the requests of sim_bridge, posted with one keep-alive handle */
    sim_bridge *br;
    CURL *curl;
    const char *bridge_url, *bridge_token;
    char curl_err[CURL_ERROR_SIZE];
    chiso_buf resp;          /* the answer being read */
    uint64_t br_requests[2]; /* posted: [0] DongBoHoSoMC, [1] CapNhatTienDoHoSoMC */
    uint64_t br_items, br_steps, br_retries, br_refused;
    /* pacing */
    double rate;
    int64_t t_begin_us;
    uint64_t burst;
    /* buffers */
    char json[JSON_MAX];
    char *mal;
    int fatal; /* a self-check or I/O failure: stop and exit 1 */
} sim;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sim *s = opaque;
    (void)rk;
    if (m->err) {
        if (s->failed < 10)
            LOG_ERROR("delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
                      rd_kafka_err2str(m->err));
        s->failed++;
    } else {
        s->delivered++;
    }
}

/* Produce one message, waiting while the local queue is full. */
static int produce(sim *s, rd_kafka_topic_t *rkt, const char *key, size_t keylen, const char *val,
                   size_t len)
{
    for (;;) {
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)val, len, key,
                             keylen, NULL) == 0)
            break;
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            LOG_ERROR("produce to %s failed: %s", rd_kafka_topic_name(rkt), rd_kafka_err2str(err));
            s->failed++;
            return CHISO_EIO;
        }
        rd_kafka_poll(s->rk, 10);
    }
    s->produced++;
    if ((s->produced & 1023) == 0)
        rd_kafka_poll(s->rk, 0);
    return 0;
}

/* Pace to --rate: sleep when ahead of schedule, checked every burst. */
static void pace(sim *s)
{
    if (s->rate <= 0 || s->meta.records % s->burst != 0)
        return;
    int64_t due = s->t_begin_us + (int64_t)((double)s->meta.records * 1e6 / s->rate);
    int64_t now = chiso_now_mono_us();
    if (due > now) {
        struct timespec ts = {(time_t)((due - now) / 1000000),
                              (long)((due - now) % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Write one record to dossier.events (or stdout). */
static void out_record(sim *s, const char *key, size_t keylen, const char *val, size_t len)
{
    s->meta.records++;
    if (s->to_kafka) {
        if (produce(s, s->rkt_events, key, keylen, val, len) != 0)
            s->fatal = 1;
    } else if (!s->to_bridge && !s->stdout_closed) {
        if (fwrite(val, 1, len, stdout) != len || putchar('\n') == EOF) {
            if (errno == EPIPE) {
                LOG_WARN("stdout closed after %llu records; output stops, the run and "
                         "the truth go on",
                         (unsigned long long)s->meta.records);
            } else {
                LOG_ERROR("writing stdout: %s", strerror(errno));
                s->fatal = 1;
            }
            s->stdout_closed = true;
        }
    }
    pace(s);
}

static void bridge_event(sim *s, const chiso_event *ev);

static void out_event(sim *s, const sim_ev *e, bool dup)
{
    chiso_event ev;
    sim_ev_to_event(s->pv, e, &ev);
    int n = chiso_event_to_json(&ev, s->json, sizeof(s->json));
    if (n < 0) {
        LOG_ERROR("self-check: event %s does not serialize", ev.event_id);
        s->fatal = 1;
        return;
    }
    if (s->check && sim_check_add(s->check, s->json, (size_t)n) != 0) {
        s->fatal = 1;
        return;
    }
    if (dup)
        s->meta.duplicates++;
    else
        s->meta.events++;
    out_record(s, ev.dossier_id, strlen(ev.dossier_id), s->json, (size_t)n);
    if (s->to_bridge && !s->fatal)
        bridge_event(s, &ev);
}

static void out_malformed(sim *s, const sim_ev *e)
{
    chiso_event ev, back;
    chiso_reject rej;
    chiso_reject_reason want;
    char key[40];
    sim_ev_to_event(s->pv, e, &ev);
    size_t n = sim_malformed_make(&s->noise, &ev, s->mal, SIM_MALFORMED_MAX, &want);
    if (chiso_event_parse(s->mal, n, &back, &rej) == 0) {
        LOG_ERROR("self-check: malformed record (%s) was accepted: %.*s", chiso_reject_code(want),
                  (int)(n > 300 ? 300 : n), s->mal);
        s->fatal = 1;
        return;
    }
    if (rej.reason != want) {
        LOG_ERROR("self-check: malformed record meant as %s was rejected as %s (%s): %.*s",
                  chiso_reject_code(want), chiso_reject_code(rej.reason), rej.detail,
                  (int)(n > 300 ? 300 : n), s->mal);
        s->fatal = 1;
        return;
    }
    s->meta.malformed++;
    s->meta.malformed_by_reason[want]++;
    if (s->malformed_out) {
        char *b64 = malloc(chiso_b64_encoded_len(n) + 1);
        if (!b64 || (chiso_b64_encode(s->mal, n, b64), fputs(b64, s->malformed_out) == EOF) ||
            fputc('\n', s->malformed_out) == EOF) {
            LOG_ERROR("writing the malformed records failed");
            s->fatal = 1;
        }
        free(b64);
    }
    /* A fake key, or none: the record never names a usable dossier. */
    int kl = 0;
    if (sim_rng_chance(&s->noise, 0.5))
        kl = snprintf(key, sizeof(key), "malformed-%llu", (unsigned long long)s->meta.malformed);
    out_record(s, kl ? key : NULL, (size_t)kl, s->mal, n);
}

/* ---- bridge ------------------------------------------------------------------------ */

static size_t bridge_read(char *data, size_t size, size_t nmemb, void *opaque)
{
    sim *s = opaque;
    size_t n = size * nmemb;
    if (chiso_buf_append(&s->resp, data, n) != 0)
        return 0; /* curl fails the transfer */
    return n;
}

/* The answer of a request that reached the bridge: 0 when it accepted the
 * request (error_code "0", "00" or 0), else CHISO_EIO with the reason in
 * why. Items it refused within an accepted request are logged and counted. */
static int bridge_answer_check(sim *s, const sim_bridge_request *r, char *why, size_t size)
{
    cJSON *root = cJSON_ParseWithLength(s->resp.buf ? s->resp.buf : "", s->resp.len);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "error_code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
    bool ok = (cJSON_IsString(code) &&
               (strcmp(code->valuestring, "0") == 0 || strcmp(code->valuestring, "00") == 0)) ||
              (cJSON_IsNumber(code) && code->valuedouble == 0);
    if (!ok) {
        if (!cJSON_IsObject(root))
            snprintf(why, size, "the answer is not a JSON object: %.200s",
                     s->resp.buf ? s->resp.buf : "");
        else
            snprintf(why, size, "error_code %s: %.200s",
                     cJSON_IsString(code)   ? code->valuestring
                     : cJSON_IsNumber(code) ? "(a number)"
                                            : "(none)",
                     cJSON_IsString(msg) ? msg->valuestring : "");
        cJSON_Delete(root);
        return CHISO_EIO;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "errors"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "MaHoSo");
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(e, "reason");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        if (s->br_refused++ < 10)
            LOG_ERROR("bridge: %s refused %s (%s): %s", r->target,
                      cJSON_IsString(id) ? id->valuestring : "an item",
                      cJSON_IsString(reason) ? reason->valuestring : "?",
                      cJSON_IsString(m) ? m->valuestring : "");
    }
    cJSON_Delete(root);
    return 0;
}

/* POST one request, retried with backoff; 0, CHISO_EIO (given up: logged)
 * or CHISO_EABORTED (stopped by a signal). */
static int bridge_post(sim *s, const sim_bridge_request *r)
{
    char url[1024], date[SIM_BRIDGE_HTTP_DATE_LEN + 8], why[512];
    char *cerr = s->curl_err;
    size_t ul = strlen(s->bridge_url);
    while (ul > 0 && s->bridge_url[ul - 1] == '/')
        ul--;
    int un = snprintf(url, sizeof(url), "%.*s%s", (int)ul, s->bridge_url, r->target);
    if (un < 0 || (size_t)un >= sizeof(url)) {
        LOG_ERROR("bridge: the URL %s%s is too long", s->bridge_url, r->target);
        return CHISO_EIO;
    }
    memcpy(date, "Date: ", 6);
    sim_bridge_http_date(r->at, date + 6);
    struct curl_slist *h = NULL, *x;
    char auth[512];
    const char *lines[] = {"Content-Type: application/json; charset=utf-8",
                           "Accept: application/json", "Expect:", date};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!(x = curl_slist_append(h, lines[i])))
            goto oom;
        h = x;
    }
    if (s->bridge_token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->bridge_token);
        if (!(x = curl_slist_append(h, auth)))
            goto oom;
        h = x;
    }
    int delay = BRIDGE_BACKOFF;
    for (int attempt = 1;; attempt++) {
        s->resp.len = 0;
        cerr[0] = '\0';
        curl_easy_setopt(s->curl, CURLOPT_URL, url);
        curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
        CURLcode cc = curl_easy_perform(s->curl);
        long status = 0;
        if (cc != CURLE_OK) {
            snprintf(why, sizeof(why), "%s", cerr[0] ? cerr : curl_easy_strerror(cc));
        } else if (curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status), status != 200) {
            snprintf(why, sizeof(why), "HTTP %ld: %.200s", status, s->resp.buf ? s->resp.buf : "");
        } else if (bridge_answer_check(s, r, why, sizeof(why)) == 0) {
            break;
        }
        if (attempt == BRIDGE_ATTEMPTS || chiso_stop) {
            curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
            curl_slist_free_all(h);
            if (chiso_stop)
                return CHISO_EABORTED;
            LOG_ERROR("bridge: POST %s failed %d times, giving up: %s", url, attempt, why);
            return CHISO_EIO;
        }
        LOG_WARN("bridge: POST %s failed (%s); trying again in %d ms", url, why, delay);
        s->br_retries++;
        for (int waited = 0; waited < delay && !chiso_stop; waited += 50)
            chiso_sleep_ms(50);
        delay *= 2;
    }
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    if (r->service == SIM_BRIDGE_DOSSIERS) {
        s->br_requests[0]++;
        s->br_items += (uint64_t)r->items;
    } else {
        s->br_requests[1]++;
        s->br_steps += (uint64_t)r->items;
    }
    return 0;
oom:
    curl_slist_free_all(h);
    LOG_ERROR("out of memory");
    return CHISO_EIO;
}

/* Post every request sim_bridge has ready, in order; a request given up
 * stops the run. */
static void bridge_drain(sim *s)
{
    sim_bridge_request r;
    while (!s->fatal && !chiso_stop && sim_bridge_pop(s->br, &r)) {
        int rc = bridge_post(s, &r);
        free(r.body);
        if (rc == CHISO_EIO)
            s->fatal = 1;
        if (rc != 0)
            break;
    }
}

/* A good event goes to chiso-bridge as the snapshot (and the step) of the
 * change it makes, if any. */
static void bridge_event(sim *s, const chiso_event *ev)
{
    if (sim_bridge_feed(s->br, ev, NULL) < 0) {
        LOG_ERROR("out of memory");
        s->fatal = 1;
        return;
    }
    bridge_drain(s);
}

static int fb_flush(sim *s, int64_t before, bool all);

/* Release delayed records whose turn has come. */
static void release_delayed(sim *s, sim_heap *dl, bool all)
{
    const delayed *top;
    while ((top = sim_heap_top(dl)) && (all || top->release <= s->meta.records) && !s->fatal) {
        delayed d;
        sim_heap_pop(dl, &d);
        out_event(s, &d.ev, d.dup);
    }
}

static int delay(sim *s, sim_heap *dl, uint64_t release, const sim_ev *ev, bool dup)
{
    delayed d = {.release = release, .seq = s->delay_seq++, .ev = *ev, .dup = dup};
    return sim_heap_push(dl, &d);
}

/* One good event leaves the heap: maybe displaced, maybe duplicated, maybe
 * followed by a malformed record. */
static int emit(sim *s, sim_heap *dl, const sim_ev *e)
{
    if (fb_flush(s, e->at, false) != 0)
        return CHISO_ENOMEM;
    release_delayed(s, dl, false);
    uint64_t at = s->meta.records;
    if (s->p_reorder > 0 && sim_rng_chance(&s->noise, s->p_reorder)) {
        at += 1 + sim_rng_below(&s->noise, s->reorder_window);
        if (delay(s, dl, at, e, false) != 0)
            return CHISO_ENOMEM;
    } else {
        out_event(s, e, false);
    }
    if (s->p_dup > 0 && sim_rng_chance(&s->noise, s->p_dup)) {
        if (delay(s, dl, at + 1 + sim_rng_below(&s->noise, DUP_WINDOW), e, true) != 0)
            return CHISO_ENOMEM;
    }
    if (s->p_mal > 0 && sim_rng_chance(&s->noise, s->p_mal))
        out_malformed(s, e);
    return 0;
}

/* ---- feedback ---------------------------------------------------------------------- */

/* One feedback record to feedback.events (Kafka) and --feedback-out; it is
 * always parsed back (feedback is rare, the check is cheap). */
static void out_fb(sim *s, const sim_fb_ev *e, bool dup)
{
    chiso_feedback_event ev, back;
    chiso_reject rej;
    char buf[1024];
    sim_fb_ev_to_event(s->pv, e, &ev);
    int n = chiso_feedback_event_to_json(&ev, buf, sizeof(buf));
    if (n < 0) {
        LOG_ERROR("self-check: feedback event %s does not serialize", ev.event_id);
        s->fatal = 1;
        return;
    }
    if (chiso_feedback_event_parse(buf, (size_t)n, &back, &rej) != 0) {
        LOG_ERROR("self-check: feedback event does not parse back (%s): %s", rej.detail, buf);
        s->fatal = 1;
        return;
    }
    if (dup)
        s->meta.fb_duplicates++;
    else
        s->meta.fb_events++;
    s->meta.fb_records++;
    if (s->to_kafka &&
        produce(s, s->rkt_feedback, ev.feedback_id, strlen(ev.feedback_id), buf, (size_t)n) != 0)
        s->fatal = 1;
    if (s->feedback_out && (fwrite(buf, 1, (size_t)n, s->feedback_out) != (size_t)n ||
                            fputc('\n', s->feedback_out) == EOF)) {
        LOG_ERROR("writing the feedback events failed");
        s->fatal = 1;
    }
}

/* A feedback event leaves its heap: maybe displaced, maybe duplicated, as
 * dossier events are (positions count dossier records), with the
 * feedback's own noise stream. Never malformed. */
static int fb_emit(sim *s, const sim_fb_ev *e)
{
    uint64_t at = s->meta.records;
    if (s->p_reorder > 0 && sim_rng_chance(&s->fb_noise, s->p_reorder)) {
        at += 1 + sim_rng_below(&s->fb_noise, s->reorder_window);
        fb_delayed d = {.release = at, .seq = s->fb_seq++, .ev = *e, .dup = false};
        if (sim_heap_push(&s->fb_dl, &d) != 0)
            return CHISO_ENOMEM;
    } else {
        out_fb(s, e, false);
    }
    if (s->p_dup > 0 && sim_rng_chance(&s->fb_noise, s->p_dup)) {
        fb_delayed d = {.release = at + 1 + sim_rng_below(&s->fb_noise, DUP_WINDOW),
                        .seq = s->fb_seq++,
                        .ev = *e,
                        .dup = true};
        if (sim_heap_push(&s->fb_dl, &d) != 0)
            return CHISO_ENOMEM;
    }
    return 0;
}

/* Send the feedback events before `before` (epoch seconds), and the
 * delayed ones whose turn has come (all of them when `all`). */
static int fb_flush(sim *s, int64_t before, bool all)
{
    const fb_delayed *top;
    for (;;) {
        while ((top = sim_heap_top(&s->fb_dl)) && (all || top->release <= s->meta.records) &&
               !s->fatal) {
            fb_delayed d;
            sim_heap_pop(&s->fb_dl, &d);
            out_fb(s, &d.ev, d.dup);
        }
        const sim_fb_ev *e = sim_heap_top(&s->fb_heap);
        if (!e || e->at >= before || s->fatal)
            break;
        sim_fb_ev ev;
        sim_heap_pop(&s->fb_heap, &ev);
        if (fb_emit(s, &ev) != 0)
            return CHISO_ENOMEM;
    }
    return 0;
}

static int write_units(sim *s, FILE *f, rd_kafka_topic_t *rkt)
{
    char buf[1024];
    for (int i = 0; i < s->pv->nunits; i++) {
        const chiso_unit *u = &s->pv->units[i].rec;
        int n = chiso_unit_to_json(u, buf, sizeof(buf));
        if (n < 0) {
            LOG_ERROR("unit %s does not serialize", u->unit);
            return CHISO_ERANGE;
        }
        if (f && (fwrite(buf, 1, (size_t)n, f) != (size_t)n || fputc('\n', f) == EOF))
            return CHISO_EIO;
        if (rkt && produce(s, rkt, u->unit, strlen(u->unit), buf, (size_t)n) != 0)
            return CHISO_EIO;
    }
    return 0;
}

/* Self-check of a procedure record: it parses, and serializes back to the
 * same bytes. */
static int procedure_check(const char *json, size_t len)
{
    static char again[CHISO_PROCEDURE_UNITS_MAX * (CHISO_CODE_MAX + 3) + 4096];
    chiso_procedure p;
    chiso_reject rej;
    int rc = chiso_procedure_parse(json, len, &p, &rej);
    if (rc == 0) {
        int n = chiso_procedure_to_json(&p, again, sizeof(again));
        rc = n >= 0 && (size_t)n == len && memcmp(again, json, len) == 0 ? 0 : CHISO_EINVAL;
    }
    chiso_procedure_clear(&p);
    return rc == 0 ? 0 : CHISO_EINVAL;
}

/* Every procedure of the model as a catalog.procedures record (key = code),
 * to FILE and/or Kafka. */
static int write_procedures(sim *s, FILE *f, rd_kafka_topic_t *rkt)
{
    static char buf[CHISO_PROCEDURE_UNITS_MAX * (CHISO_CODE_MAX + 3) + 4096];
    int rc = 0;
    for (int i = 0; i < s->pv->nprocs && rc == 0; i++) {
        chiso_procedure p;
        if (sim_procedure_record(s->pv, i, &p) != 0) {
            rc = CHISO_ENOMEM;
        } else {
            int n = chiso_procedure_to_json(&p, buf, sizeof(buf));
            if (n < 0) {
                LOG_ERROR("procedure %s does not serialize", p.procedure);
                rc = CHISO_ERANGE;
            } else if (procedure_check(buf, (size_t)n) != 0) {
                LOG_ERROR("self-check: procedure record does not parse back: %s", buf);
                rc = CHISO_EINVAL;
            } else if (f && (fwrite(buf, 1, (size_t)n, f) != (size_t)n || fputc('\n', f) == EOF)) {
                rc = CHISO_EIO;
            } else if (rkt &&
                       produce(s, rkt, p.procedure, strlen(p.procedure), buf, (size_t)n) != 0) {
                rc = CHISO_EIO;
            }
        }
        chiso_procedure_clear(&p);
    }
    return rc;
}

/* Write the catalog records of one kind to --<opt> FILE (if set) and to
 * Kafka (if rkt). */
static int write_catalog(sim *s, const char *path, rd_kafka_topic_t *rkt,
                         int (*fn)(sim *, FILE *, rd_kafka_topic_t *))
{
    FILE *f = NULL;
    int rc;
    if (path && !(f = fopen(path, "w"))) {
        LOG_ERROR("cannot write %s: %s", path, strerror(errno));
        return CHISO_EIO;
    }
    rc = fn(s, f, rkt);
    if (f && fclose(f) != 0 && rc == 0)
        rc = CHISO_EIO;
    if (rc != 0)
        LOG_ERROR("writing the catalog records%s%s failed", path ? " to " : "", path ? path : "");
    return rc;
}

static void pct(char *buf, size_t size, uint64_t a, uint64_t b)
{
    if (b)
        snprintf(buf, size, "%.2f%%", 100.0 * (double)a / (double)b);
    else
        snprintf(buf, size, "n/a");
}

static void log_summary(const sim *s)
{
    sim_truth_figures f;
    char on[16], fp[16], ot[16], don[16], con[16], dot[16], cot[16], dfp[16], cfp[16], fon[16];
    sim_truth_figures_get(s->truth, s->pv, &f);
    const uint64_t *c = f.total;
    uint64_t received = c[CHISO_C_RECEIVED], resolved = c[CHISO_C_RESOLVED];
    pct(on, sizeof(on), c[CHISO_C_RECEIVED_ONLINE], received);
    pct(fp, sizeof(fp), c[CHISO_C_FULL_PROCESS], resolved);
    pct(ot, sizeof(ot), c[CHISO_C_RESOLVED_ON_TIME], resolved);
    pct(don, sizeof(don), f.k_online[0], f.k_received[0]);
    pct(con, sizeof(con), f.k_online[1], f.k_received[1]);
    pct(dot, sizeof(dot), f.k_on_time[0], f.k_resolved[0]);
    pct(cot, sizeof(cot), f.k_on_time[1], f.k_resolved[1]);
    pct(dfp, sizeof(dfp), f.k_full[0], f.k_resolved[0]);
    pct(cfp, sizeof(cfp), f.k_full[1], f.k_resolved[1]);
    pct(fon, sizeof(fon), c[CHISO_C_FULL_PROCESS], c[CHISO_C_FULL_PROCESS] + c[CHISO_C_PARTIAL]);
    LOG_INFO("truth: dossiers %llu, events %llu, received %llu, resolved %llu",
             (unsigned long long)f.dossiers, (unsigned long long)s->meta.events,
             (unsigned long long)received, (unsigned long long)resolved);
    LOG_INFO("truth: online share %s (departments %s, communes %s)", on, don, con);
    LOG_INFO("truth: on time %s (departments %s, communes %s)", ot, dot, cot);
    LOG_INFO("truth: full-process rate %s of resolved (departments %s, communes %s); "
             "%s of online resolved",
             fp, dfp, cfp, fon);
    LOG_INFO("truth: departments %.2f%% of resolved",
             resolved ? 100.0 * (double)f.k_resolved[0] / (double)resolved : 0.0);
    char sf[16], sfo[16], sp[16], spo[16], s1[16], s2[16], s3[16];
    pct(sf, sizeof(sf), c[CHISO_C_RECEIVED_SVC_FULL], received);
    pct(sfo, sizeof(sfo), c[CHISO_C_RECEIVED_SVC_FULL_ONLINE], c[CHISO_C_RECEIVED_SVC_FULL]);
    pct(sp, sizeof(sp), c[CHISO_C_RECEIVED_SVC_PARTIAL], received);
    pct(spo, sizeof(spo), c[CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE], c[CHISO_C_RECEIVED_SVC_PARTIAL]);
    LOG_INFO("truth: received for full-process services %s (online %s), for partial services "
             "%s (online %s)",
             sf, sfo, sp, spo);
    pct(s1, sizeof(s1), f.supplements[1], received);
    pct(s2, sizeof(s2), f.supplements[2], received);
    pct(s3, sizeof(s3), f.supplements[3], received);
    LOG_INFO("truth: supplement requests: one answered %s, one waiting %s, two or more %s of "
             "received",
             s1, s2, s3);
    /* Decision 766 dossier indicators, as docs/counters.md defines their counters */
    char i4[16], i8[16], i11[16], i12[16], i13[16], i14[16], i16[16], i18[16], i21[16];
    pct(i4, sizeof(i4), c[CHISO_C_SYNCED], received);
    pct(i8, sizeof(i8), c[CHISO_C_RECEIVED_ONLINE_VALID], received);
    pct(i11, sizeof(i11), c[CHISO_C_PAID_ONLINE], c[CHISO_C_FEE_DOSSIERS]);
    pct(i12, sizeof(i12), c[CHISO_C_RESOLVED_E_RESULT], resolved);
    pct(i13, sizeof(i13), c[CHISO_C_DIGITIZED], received);
    pct(i14, sizeof(i14), c[CHISO_C_REUSED_DATA], received);
    pct(i16, sizeof(i16), c[CHISO_C_FROM_DATA_STORE], c[CHISO_C_DIGITIZED]);
    pct(i18, sizeof(i18), c[CHISO_C_POPULATION_DATA], received);
    pct(i21, sizeof(i21), c[CHISO_C_RESOLVED_COMPLAINT],
        c[CHISO_C_RESOLVED_ON_TIME] + c[CHISO_C_RESOLVED_LATE]);
    LOG_INFO("truth: 766 rates: #4 synced %s, #8 online %s, #11 paid online %s, #12 e-result "
             "%s, #13 digitized %s, #14 reused %s, #16 data store %s, #18 population data %s, "
             "#21 complaint or dislike %s",
             i4, i8, i11, i12, i13, i14, i16, i18, i21);
    if (f.ends_month)
        LOG_INFO("truth: open at the window end %llu (overdue %llu)",
                 (unsigned long long)f.open_end, (unsigned long long)f.open_overdue_end);
    if (s->fb) {
        uint64_t t[8];
        char a[16], r[16], sat[16];
        sim_feedback_totals(s->fb, t);
        pct(a, sizeof(a), t[1], t[0]);
        pct(r, sizeof(r), t[6], t[1] + t[2]);
        pct(sat, sizeof(sat), t[7], t[6]);
        LOG_INFO("truth: feedback received %llu, answered on time %llu (%s of received), late "
                 "%llu, overdue began %llu, rated %llu (%s of answered), satisfied %llu (%s); "
                 "%llu records (%llu duplicates)",
                 (unsigned long long)t[0], (unsigned long long)t[1], a, (unsigned long long)t[2],
                 (unsigned long long)t[4], (unsigned long long)t[6], r, (unsigned long long)t[7],
                 sat, (unsigned long long)s->meta.fb_records,
                 (unsigned long long)s->meta.fb_duplicates);
    }
}

int main(int argc, char **argv)
{
    char errstr[512];
    int first_pos = argc, rc = 1;
    chiso_config *cfg = NULL;
    sim s;
    sim_heap heap, dl;
    sim_heap_init(&heap, sizeof(sim_ev), ev_less);
    sim_heap_init(&dl, sizeof(delayed), dl_less);
    sim_arrival *arr = NULL;
    sim_fb_ev *fbe = NULL;
    rd_kafka_topic_t *rkt_units = NULL, *rkt_procs = NULL;

    memset(&s, 0, sizeof(s));
    sim_heap_init(&s.fb_heap, sizeof(sim_fb_ev), fb_less);
    sim_heap_init(&s.fb_dl, sizeof(fb_delayed), fbdl_less);
    chiso_log_set_component("simulate");
    cfg = chiso_config_new(cfg_defs);
    if (!cfg) {
        LOG_ERROR("out of memory");
        return 1;
    }
    /* Throughput defaults for a bulk producer (the benchmark's feeder); -X
     * kafka.* or -c FILE override them. */
    static const char *const kafka_defaults[][2] = {
        {"kafka.linger.ms", "20"},
        {"kafka.batch.size", "2000000"},
        {"kafka.compression.type", "lz4"},
    };
    for (size_t i = 0; i < sizeof(kafka_defaults) / sizeof(kafka_defaults[0]); i++) {
        if (chiso_config_set(cfg, kafka_defaults[i][0], kafka_defaults[i][1], errstr,
                             sizeof(errstr)) != 0) {
            LOG_ERROR("%s", errstr);
            chiso_config_destroy(cfg);
            return 1;
        }
    }
    int prc = chiso_config_parse_args(cfg, argc, argv, &first_pos, errstr, sizeof(errstr));
    if (prc == 1) {
        usage(stdout);
        chiso_config_destroy(cfg);
        return 0;
    }
    if (prc != 0) {
        fprintf(stderr, "chiso-simulate: %s (try --help)\n", errstr);
        chiso_config_destroy(cfg);
        return 2;
    }
    if (first_pos < argc) {
        fprintf(stderr, "chiso-simulate: unexpected argument '%s' (try --help)\n", argv[first_pos]);
        chiso_config_destroy(cfg);
        return 2;
    }
    chiso_log_set_level_name(chiso_config_str(cfg, "log.level"));

    s.cfg = cfg;
    s.to_kafka = strcmp(chiso_config_str(cfg, "output"), "kafka") == 0;
    s.to_bridge = strcmp(chiso_config_str(cfg, "output"), "bridge") == 0;
    s.p_reorder = chiso_config_double(cfg, "reorder");
    s.p_dup = chiso_config_double(cfg, "duplicates");
    s.p_mal = chiso_config_double(cfg, "malformed");
    s.reorder_window = (uint32_t)chiso_config_int(cfg, "reorder-window");
    if (s.to_bridge && (s.p_reorder > 0 || s.p_dup > 0 || s.p_mal > 0)) {
        /* snapshots carry a dossier's state: a sender's noise is the
         * bridge.skip and bridge.resend quirks, not reordered events */
        fprintf(stderr, "chiso-simulate: --output bridge sends each dossier's state as it "
                        "changes: --reorder, --duplicates and --malformed must be 0 (the "
                        "senders' noise is bridge.skip and bridge.resend)\n");
        chiso_config_destroy(cfg);
        return 2;
    }
    if (chiso_config_bool(cfg, "self-check")) {
        int64_t th = chiso_config_int(cfg, "check-threads");
        if (th < 0) {
            long cpus = sysconf(_SC_NPROCESSORS_ONLN);
            th = cpus > 1 ? cpus - 1 : 0;
            if (th > 4)
                th = 4;
        }
        s.check = sim_check_new((int)th);
        if (!s.check) {
            LOG_ERROR("cannot start the self-check threads");
            goto out;
        }
    }
    s.rate = chiso_config_double(cfg, "rate");
    s.burst = s.rate > 0 ? (uint64_t)(s.rate / 200) + 1 : 1;
    int64_t days = chiso_config_int(cfg, "days");
    if (days > 36600) {
        fprintf(stderr, "chiso-simulate: --days must be at most 36600\n");
        goto usage_err;
    }
    int32_t start;
    const char *start_s = chiso_config_str(cfg, "start");
    if (start_s) {
        chiso_period p;
        chiso_period_parse(start_s, &p);
        start = p.first_day;
    } else {
        start = chiso_local_day(chiso_now_wall_ms() / 1000) - (int32_t)days;
    }
    int32_t end_day = start + (int32_t)days;
    int64_t window_end = chiso_day_start(end_day);

    sim_params params = {
        .seed = (uint64_t)chiso_config_int(cfg, "seed"),
        .departments = (int)chiso_config_int(cfg, "departments"),
        .communes = (int)chiso_config_int(cfg, "communes"),
        .dossiers_per_day = chiso_config_double(cfg, "dossiers-per-day"),
    };
    s.meta.seed = params.seed;
    s.meta.days = (int32_t)days;
    s.pv = sim_province_new(&params, errstr, sizeof(errstr));
    if (!s.pv) {
        fprintf(stderr, "chiso-simulate: %s\n", errstr);
        goto usage_err;
    }
    s.truth = sim_truth_new(s.pv, start, (int32_t)days);
    s.mal = malloc(SIM_MALFORMED_MAX);
    if (!s.truth || !s.mal) {
        LOG_ERROR("out of memory");
        goto out;
    }
    sim_rng_seed(&s.noise, sim_seed_mix(params.seed, STREAM_NOISE, 0));
    double fb_rate = chiso_config_double(cfg, "feedback-rate");
    if (fb_rate > 0) {
        s.fb = sim_feedback_new(s.pv, params.seed, fb_rate, start, (int32_t)days);
        if (!s.fb) {
            LOG_ERROR("out of memory");
            goto out;
        }
        sim_rng_seed(&s.fb_noise, sim_seed_mix(params.seed, STREAM_FB_NOISE, 0));
    }

    chiso_stop_on_signals();

    const char *malformed_out = chiso_config_str(cfg, "malformed-out");
    if (malformed_out && !(s.malformed_out = fopen(malformed_out, "w"))) {
        LOG_ERROR("cannot write %s: %s", malformed_out, strerror(errno));
        goto out;
    }
    const char *feedback_out = chiso_config_str(cfg, "feedback-out");
    if (feedback_out && !(s.feedback_out = fopen(feedback_out, "w"))) {
        LOG_ERROR("cannot write %s: %s", feedback_out, strerror(errno));
        goto out;
    }
    char topic_events[256], topic_units[256], topic_procs[256], topic_fb[256];
    if (s.to_kafka) {
        chiso_topic_name(cfg, CHISO_TOPIC_DOSSIER_EVENTS, topic_events, sizeof(topic_events));
        chiso_topic_name(cfg, CHISO_TOPIC_CATALOG_UNITS, topic_units, sizeof(topic_units));
        chiso_topic_name(cfg, CHISO_TOPIC_CATALOG_PROCEDURES, topic_procs, sizeof(topic_procs));
        chiso_topic_name(cfg, CHISO_TOPIC_FEEDBACK_EVENTS, topic_fb, sizeof(topic_fb));
        if (chiso_kafka_ensure_topics_cfg(cfg, errstr, sizeof(errstr)) != 0) {
            LOG_ERROR("creating topics: %s", errstr);
            goto out;
        }
        s.rk = chiso_kafka_producer_new(cfg, dr_cb, &s, errstr, sizeof(errstr));
        if (!s.rk) {
            LOG_ERROR("Kafka producer: %s", errstr);
            goto out;
        }
        s.rkt_events = rd_kafka_topic_new(s.rk, topic_events, NULL);
        rkt_units = rd_kafka_topic_new(s.rk, topic_units, NULL);
        rkt_procs = rd_kafka_topic_new(s.rk, topic_procs, NULL);
        s.rkt_feedback = rd_kafka_topic_new(s.rk, topic_fb, NULL);
        if (!s.rkt_events || !rkt_units || !rkt_procs || !s.rkt_feedback) {
            LOG_ERROR("Kafka topic handle: %s", rd_kafka_err2str(rd_kafka_last_error()));
            goto out;
        }
    } else if (s.to_bridge) {
        int64_t batch = chiso_config_int(cfg, "bridge.batch");
        sim_bridge_opts bo = {
            .batch = batch > 100000 ? 100000 : (int)batch,
            .gateway = strcmp(chiso_config_str(cfg, "bridge.envelope"), "gateway") == 0,
            .session = chiso_config_str(cfg, "bridge.token"),
            .as9 = chiso_config_bool(cfg, "bridge.as9"),
            .no_channel = chiso_config_bool(cfg, "bridge.no-channel"),
            .no_rounds = chiso_config_bool(cfg, "bridge.no-rounds"),
            .no_steps = chiso_config_bool(cfg, "bridge.no-steps"),
            .skip = chiso_config_double(cfg, "bridge.skip"),
            .resend = chiso_config_double(cfg, "bridge.resend"),
        };
        s.bridge_url = chiso_config_str(cfg, "bridge.url");
        s.bridge_token = chiso_config_str(cfg, "bridge.token");
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(s.curl = curl_easy_init())) {
            LOG_ERROR("cannot start libcurl");
            goto out;
        }
        curl_easy_setopt(s.curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(s.curl, CURLOPT_POST, 1L);
        curl_easy_setopt(s.curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(s.curl, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(s.curl, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(s.curl, CURLOPT_USERAGENT, "chiso-simulate");
        curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, bridge_read);
        curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(s.curl, CURLOPT_ERRORBUFFER, s.curl_err);
        s.br = sim_bridge_new(&bo, s.pv, params.seed);
        if (!s.br) {
            LOG_ERROR("out of memory");
            goto out;
        }
        if (s.fb && !feedback_out)
            LOG_INFO("bridge: feedback events are not sent to the bridge (--feedback-out FILE "
                     "writes them)");
    } else {
        static char obuf[1 << 20];
        setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    }
    /* The catalog goes first, so a consumer knows every unit and procedure
     * before the first dossier event names it. */
    if (write_catalog(&s, chiso_config_str(cfg, "units-out"), rkt_units, write_units) != 0 ||
        write_catalog(&s, chiso_config_str(cfg, "procedures-out"), rkt_procs, write_procedures) !=
            0)
        goto out;
    if (s.to_kafka) {
        /* The catalogs are delivered before the first event (a processor may
         * rely on them), and the producer is ready (its idempotent producer
         * id acquired) before --rate pacing starts. */
        rd_kafka_resp_err_t ferr = rd_kafka_flush(s.rk, 60000);
        if (ferr || s.failed) {
            LOG_ERROR("delivering the catalogs: %s",
                      ferr ? rd_kafka_err2str(ferr) : "some records failed");
            goto out;
        }
        LOG_INFO("sent %d unit records to %s and %d procedure records to %s", s.pv->nunits,
                 topic_units, s.pv->nprocs, topic_procs);
    }

    char sday[CHISO_PERIOD_STRLEN];
    chiso_period_key(start, CHISO_PERIOD_DAY, sday);
    LOG_INFO("simulating %d departments, %d communes, %lld days from %s, %.0f dossiers/day, "
             "seed %llu -> %s",
             params.departments, params.communes, (long long)days, sday, params.dossiers_per_day,
             (unsigned long long)params.seed,
             s.to_kafka    ? topic_events
             : s.to_bridge ? s.bridge_url
                           : "stdout");

    /* The main loop: arrivals in time order; before each arrival, every
     * pending event strictly before it can go out. */
    int64_t t0 = chiso_now_mono_us();
    s.t_begin_us = t0;
    uint32_t serial = 0;
    sim_ev evs[SIM_EV_MAX];
    size_t heap_max = 0;
    for (int32_t day = start; day < end_day && !chiso_stop && !s.fatal; day++) {
        long nf = s.fb ? sim_feedback_day(s.fb, day, window_end, &fbe) : 0;
        for (long i = 0; i < nf; i++) {
            if (sim_heap_push(&s.fb_heap, &fbe[i]) != 0)
                nf = -1;
        }
        free(fbe);
        fbe = NULL;
        long na = sim_arrivals_day(s.pv, day, &arr);
        if (na < 0 || nf < 0) {
            LOG_ERROR("out of memory");
            goto out;
        }
        for (long i = 0; i < na && !chiso_stop && !s.fatal; i++) {
            while (heap.n && ((const sim_ev *)sim_heap_top(&heap))->at < arr[i].at && !s.fatal) {
                sim_ev e;
                sim_heap_pop(&heap, &e);
                if (emit(&s, &dl, &e) != 0) {
                    LOG_ERROR("out of memory");
                    goto out;
                }
            }
            int n = sim_dossier_generate(s.pv, &arr[i], day, (uint32_t)i + 1, serial++, window_end,
                                         evs);
            if (sim_truth_add(s.truth, s.pv, evs, n) != 0) {
                LOG_ERROR("internal error: a contribution falls outside the truth's days");
                goto out;
            }
            for (int k = 0; k < n; k++) {
                if (sim_heap_push(&heap, &evs[k]) != 0) {
                    LOG_ERROR("out of memory");
                    goto out;
                }
            }
            if (heap.n > heap_max)
                heap_max = heap.n;
        }
        free(arr);
        arr = NULL;
    }
    while (heap.n && !chiso_stop && !s.fatal) {
        sim_ev e;
        sim_heap_pop(&heap, &e);
        if (emit(&s, &dl, &e) != 0) {
            LOG_ERROR("out of memory");
            goto out;
        }
    }
    if (!chiso_stop && !s.fatal && fb_flush(&s, INT64_MAX, true) != 0) {
        LOG_ERROR("out of memory");
        goto out;
    }
    if (!chiso_stop)
        release_delayed(&s, &dl, true);
    if (s.br && !chiso_stop && !s.fatal) {
        if (sim_bridge_finish(s.br) != 0) {
            LOG_ERROR("out of memory");
            s.fatal = 1;
        } else {
            bridge_drain(&s);
        }
    }
    if (s.check) {
        int crc = sim_check_finish(s.check);
        s.check = NULL;
        if (crc != 0)
            s.fatal = 1;
    }
    int64_t t_gen = chiso_now_mono_us() - t0;

    if (!s.to_kafka) {
        if (fflush(stdout) != 0 && !s.stdout_closed && errno != EPIPE) {
            LOG_ERROR("writing stdout: %s", strerror(errno));
            s.fatal = 1;
        }
    }
    double secs = (double)t_gen / 1e6;
    LOG_INFO("records %llu (events %llu, duplicates %llu, malformed %llu) in %.2f s: %.0f "
             "records/s; peak pending events %zu (%.1f MB)",
             (unsigned long long)s.meta.records, (unsigned long long)s.meta.events,
             (unsigned long long)s.meta.duplicates, (unsigned long long)s.meta.malformed, secs,
             secs > 0 ? (double)s.meta.records / secs : 0.0, heap_max,
             (double)heap.cap * sizeof(sim_ev) / 1e6);

    if (s.rk) {
        LOG_INFO("flushing Kafka producer");
        while (rd_kafka_outq_len(s.rk) > 0 && chiso_stop < 2) {
            rd_kafka_flush(s.rk, 1000);
            if (chiso_stop && rd_kafka_outq_len(s.rk) > 0)
                LOG_INFO("waiting for %d messages in flight (signal again to abandon them)",
                         rd_kafka_outq_len(s.rk));
        }
        if (rd_kafka_outq_len(s.rk) > 0) {
            LOG_ERROR("%d messages abandoned in flight", rd_kafka_outq_len(s.rk));
            s.failed += (uint64_t)rd_kafka_outq_len(s.rk);
        }
        int64_t t_all = chiso_now_mono_us() - t0;
        LOG_INFO("kafka: sent %llu, failed %llu in %.2f s (%.0f msg/s end to end)",
                 (unsigned long long)s.delivered, (unsigned long long)s.failed, (double)t_all / 1e6,
                 t_all > 0 ? (double)s.delivered * 1e6 / (double)t_all : 0.0);
    }
    if (s.br) {
        sim_bridge_stats bs;
        sim_bridge_stats_get(s.br, &bs);
        int64_t t_all = chiso_now_mono_us() - t0;
        LOG_INFO("bridge: sent %llu requests (%llu DongBoHoSoMC, %llu CapNhatTienDoHoSoMC) in "
                 "%.2f s: %llu items (%llu resent), %llu steps; %llu changes (%llu skipped), "
                 "%llu retries, %llu items refused; at most %llu dossiers kept",
                 (unsigned long long)(s.br_requests[0] + s.br_requests[1]),
                 (unsigned long long)s.br_requests[0], (unsigned long long)s.br_requests[1],
                 (double)t_all / 1e6, (unsigned long long)s.br_items, (unsigned long long)bs.resent,
                 (unsigned long long)s.br_steps, (unsigned long long)bs.changes,
                 (unsigned long long)bs.skipped, (unsigned long long)s.br_retries,
                 (unsigned long long)s.br_refused, (unsigned long long)bs.peak);
        if (s.br_refused) {
            LOG_ERROR("bridge: %llu items refused (the first ones are logged above)",
                      (unsigned long long)s.br_refused);
            s.failed += s.br_refused;
        }
    }
    if (chiso_stop) {
        LOG_WARN("interrupted: stopped after %llu records; truth not written",
                 (unsigned long long)s.meta.records);
    } else if (!s.fatal) {
        log_summary(&s);
        const char *truth = chiso_config_str(cfg, "truth");
        if (truth) {
            FILE *tf = fopen(truth, "w");
            if (!tf) {
                LOG_ERROR("cannot write %s: %s", truth, strerror(errno));
                s.fatal = 1;
            } else {
                int wrc = sim_truth_write(s.truth, s.pv, &s.meta, s.fb, tf);
                if (fclose(tf) != 0 || wrc != 0) {
                    LOG_ERROR("writing %s failed", truth);
                    s.fatal = 1;
                }
            }
        }
    }
    rc = s.fatal || s.failed ? 1 : 0;
    goto out;

usage_err:
    rc = 2;
out:
    sim_check_finish(s.check);
    free(arr);
    if (s.malformed_out && fclose(s.malformed_out) != 0) {
        LOG_ERROR("writing %s: %s", chiso_config_str(cfg, "malformed-out"), strerror(errno));
        rc = 1;
    }
    if (s.feedback_out && fclose(s.feedback_out) != 0) {
        LOG_ERROR("writing %s: %s", chiso_config_str(cfg, "feedback-out"), strerror(errno));
        rc = 1;
    }
    if (s.rkt_feedback)
        rd_kafka_topic_destroy(s.rkt_feedback);
    if (rkt_procs)
        rd_kafka_topic_destroy(rkt_procs);
    if (rkt_units)
        rd_kafka_topic_destroy(rkt_units);
    if (s.rkt_events)
        rd_kafka_topic_destroy(s.rkt_events);
    if (s.rk) {
        rd_kafka_flush(s.rk, 5000);
        rd_kafka_destroy(s.rk);
    }
    sim_bridge_free(s.br);
    if (s.curl) {
        curl_easy_cleanup(s.curl);
        curl_global_cleanup();
    }
    free(s.resp.buf);
    sim_heap_free(&heap);
    sim_heap_free(&dl);
    sim_heap_free(&s.fb_heap);
    sim_heap_free(&s.fb_dl);
    sim_feedback_free(s.fb);
    free(fbe);
    free(s.mal);
    sim_truth_free(s.truth);
    sim_province_free(s.pv);
    chiso_config_destroy(cfg);
    return rc;
}
