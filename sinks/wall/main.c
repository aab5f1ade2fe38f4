/*
 * chiso-wall - the monitoring wall: a web page for the big screen showing
 * the province's Decision 766 score, the ranking of its units, one unit's
 * 21 indicators, today's received dossiers and the overdue alerts, kept
 * live by Server-Sent Events (docs/wall.md).
 *
 * It is a plain downstream consumer of the public contract: it tails the
 * compacted `scores` topic and the `alerts` topic from their beginning
 * (chiso_tail: no consumer group, no commits) and keeps the latest
 * snapshot of every key in memory (hub.h); today's count comes from the
 * day counters in Redis (today.h). The main thread tails and, every
 * sse.interval.ms, flushes the changes to the live-update clients; HTTP
 * runs in libmicrohttpd's threads (server.h).
 *
 * Life: read the configuration, catch up with both topics (bounded), serve,
 * follow the topics; on SIGTERM or SIGINT end the live-update streams, stop
 * the server, close the consumers and exit 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/redisx.h" /* CHISO_REDIS_CFG_DEFS */
#include "chiso/tail.h"
#include "hub.h"
#include "server.h"
#include "today.h"

/* A whole number lo..hi. */
static int validate_range(const char *value, long long lo, long long hi, char *errstr,
                          size_t errstr_size)
{
    char *end = NULL;
    long long v = strtoll(value, &end, 10);
    if (end != value && *end == '\0' && v >= lo && v <= hi)
        return 0;
    snprintf(errstr, errstr_size, "must be a whole number %lld..%lld", lo, hi);
    return CHISO_EINVAL;
}

static int validate_request_max(const char *value, char *errstr, size_t errstr_size)
{
    return validate_range(value, 4096, 1048576, errstr, errstr_size);
}

static int validate_kiosk_s(const char *value, char *errstr, size_t errstr_size)
{
    return validate_range(value, 1, 3600, errstr, errstr_size);
}

static int validate_kiosk_count(const char *value, char *errstr, size_t errstr_size)
{
    return validate_range(value, 0, 1000, errstr, errstr_size);
}

static const chiso_cfg_def config_defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    {"http.bind", CHISO_CFG_STRING, "127.0.0.1", "address the wall listens on", NULL},
    {"http.port", CHISO_CFG_INT, "8080", "port the wall listens on", chiso_cfg_listen_port},
    {"http.token", CHISO_CFG_STRING, NULL,
     "bearer token: when set, every request but /healthz needs 'Authorization: Bearer <token>' "
     "(put it in a -c file rather than on the command line)",
     NULL},
    {"http.connections", CHISO_CFG_INT, "64", "connections at once (each has a thread)",
     chiso_cfg_positive},
    {"http.request.max", CHISO_CFG_INT, "16384",
     "largest request line + headers, bytes (larger: refused)", validate_request_max},
    {"http.timeout.s", CHISO_CFG_INT, "60", "idle connection timeout, seconds (>= 2)",
     chiso_cfg_positive},
    {"sse.clients", CHISO_CFG_INT, "32", "live-update clients at once (more get 503)",
     chiso_cfg_positive},
    {"sse.interval.ms", CHISO_CFG_INT, "250",
     "changes are pushed to a client at most once per interval", chiso_cfg_positive},
    {"sse.queue.bytes", CHISO_CFG_INT, "4194304",
     "unsent bytes a client may hold; a slower client is dropped", chiso_cfg_positive},
    {"alerts.keep", CHISO_CFG_INT, "200", "latest alerts kept for /api/alerts and the feed",
     chiso_cfg_positive},
    {"time.source", CHISO_CFG_STRING, "wall",
     "today: wall (the clock) or event (classify's event-time watermark; for replays)",
     chiso_cfg_time_source},
    {"today.interval.ms", CHISO_CFG_INT, "1000", "how often today's count is read from Redis",
     chiso_cfg_positive},
    {"catchup.s", CHISO_CFG_INT, "20",
     "at start, read the topics to their end for at most this long before serving",
     chiso_cfg_nonneg},
    {"kiosk", CHISO_CFG_BOOL, "false",
     "pages start in kiosk mode (hands-free: the ranking pages by itself, then the drill-downs "
     "of the units furthest from their target); a page's ?kiosk=0/1 overrides it",
     NULL},
    {"kiosk.page.s", CHISO_CFG_INT, "10",
     "kiosk: seconds each page of the ranking is shown (1..3600)", validate_kiosk_s},
    {"kiosk.drilldowns", CHISO_CFG_INT, "5",
     "kiosk: drill-downs per cycle, the units furthest below their full-process target (0..1000)",
     validate_kiosk_count},
    {"kiosk.drilldown.s", CHISO_CFG_INT, "15", "kiosk: seconds each drill-down is shown (1..3600)",
     validate_kiosk_s},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

/* What the tails' callbacks get. */
typedef struct tail_ctx {
    wall_hub *hub;
    chiso_counter *errors;
} tail_ctx;

static void on_score(const rd_kafka_message_t *m, void *opaque)
{
    tail_ctx *t = opaque;
    wall_hub_put_snapshot(t->hub, m->key, m->key_len, m->payload, m->len);
}

static void on_alert(const rd_kafka_message_t *m, void *opaque)
{
    tail_ctx *t = opaque;
    if (m->len > 0)
        wall_hub_put_alert(t->hub, m->payload, m->len);
}

static void on_kafka_error(void *opaque)
{
    tail_ctx *t = opaque;
    chiso_counter_add(t->errors, 1);
}

int main(int argc, char **argv)
{
    char errstr[512];
    int first = 0, rc = 1, pr;
    chiso_config *cfg = chiso_config_new(config_defs);
    chiso_metrics *metrics = chiso_metrics_new();
    wall_hub *hub = NULL;
    chiso_tail *scores = NULL, *alerts = NULL;
    wall_today *today = NULL;
    wall_server *server = NULL;
    tail_ctx tctx = {0};

    chiso_log_set_component("wall");
    if (!cfg || !metrics) {
        fprintf(stderr, "chiso-wall: out of memory\n");
        goto out;
    }
    pr = chiso_config_parse_args(cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (pr == 1) {
        printf("Usage: chiso-wall [OPTIONS]\n\n"
               "The monitoring wall: a live web page of the scores topic (docs/wall.md).\n"
               "Open http://<http.bind>:<http.port>/ in a browser.\n\n");
        chiso_config_print_help(config_defs, stdout);
        rc = 0;
        goto out;
    }
    if (pr != 0 || first < argc || chiso_log_set_level_name(chiso_config_str(cfg, "log.level"))) {
        fprintf(stderr, "chiso-wall: %s\n", pr ? errstr : "bad arguments (see --help)");
        rc = 2;
        goto out;
    }
    int64_t interval_ms = chiso_config_int(cfg, "sse.interval.ms");
    int timeout_s = (int)chiso_config_int(cfg, "http.timeout.s");
    if (timeout_s < 2) {
        fprintf(stderr, "chiso-wall: http.timeout.s must be at least 2\n");
        rc = 2;
        goto out;
    }
    if (chiso_config_int(cfg, "sse.clients") >= chiso_config_int(cfg, "http.connections")) {
        /* every stream holds a connection: leave some for the page and the API */
        fprintf(stderr, "chiso-wall: sse.clients must be below http.connections\n");
        rc = 2;
        goto out;
    }
    chiso_stop_on_signals();

    wall_hub_opts hopts = {
        .alerts_keep = (size_t)chiso_config_int(cfg, "alerts.keep"),
        .queue_bytes = (size_t)chiso_config_int(cfg, "sse.queue.bytes"),
        .max_clients = (int)chiso_config_int(cfg, "sse.clients"),
        /* a ping well within the idle timeout keeps a quiet stream open */
        .ping_ms = timeout_s * 1000 / 2 < 15000 ? timeout_s * 1000 / 2 : 15000,
        .time_src = chiso_config_str(cfg, "time.source"),
        .kiosk = chiso_config_bool(cfg, "kiosk"),
        .kiosk_page_s = (int)chiso_config_int(cfg, "kiosk.page.s"),
        .kiosk_drilldowns = (int)chiso_config_int(cfg, "kiosk.drilldowns"),
        .kiosk_drilldown_s = (int)chiso_config_int(cfg, "kiosk.drilldown.s"),
    };
    if (!(hub = wall_hub_new(&hopts, metrics))) {
        fprintf(stderr, "chiso-wall: out of memory\n");
        goto out;
    }
    tctx.hub = hub;
    tctx.errors = chiso_metrics_counter(metrics, "chiso_wall_kafka_errors_total",
                                        "consumer errors on scores or alerts");
    scores = chiso_tail_new(cfg, CHISO_TOPIC_SCORES, "chiso-wall", on_score, on_kafka_error, &tctx,
                            errstr, sizeof(errstr));
    if (scores)
        alerts = chiso_tail_new(cfg, CHISO_TOPIC_ALERTS, "chiso-wall", on_alert, on_kafka_error,
                                &tctx, errstr, sizeof(errstr));
    if (!scores || !alerts) {
        fprintf(stderr, "chiso-wall: %s\n", errstr);
        goto out;
    }

    /* catch up first, so that the first page served is complete */
    int catchup_ms = (int)chiso_config_int(cfg, "catchup.s") * 1000;
    if (catchup_ms > 0 && (chiso_tail_catch_up(scores, catchup_ms, &chiso_stop) != 0 ||
                           chiso_tail_catch_up(alerts, catchup_ms, &chiso_stop) != 0))
        LOG_WARN("not caught up within catchup.s; serving what is read so far");
    else if (catchup_ms > 0)
        LOG_INFO("%s and %s read to their ends", chiso_tail_topic(scores),
                 chiso_tail_topic(alerts));
    wall_hub_flush(hub);

    if (!(today = wall_today_start(cfg, hub, metrics, errstr, sizeof(errstr)))) {
        fprintf(stderr, "chiso-wall: %s\n", errstr);
        goto out;
    }
    wall_server_opts sopts = {
        .bind = chiso_config_str(cfg, "http.bind"),
        .port = (int)chiso_config_int(cfg, "http.port"),
        .token = chiso_config_str(cfg, "http.token"),
        .connections = (int)chiso_config_int(cfg, "http.connections"),
        .request_max = (size_t)chiso_config_int(cfg, "http.request.max"),
        .timeout_s = timeout_s,
        .alerts_default = 50 < hopts.alerts_keep ? 50 : (int)hopts.alerts_keep,
        .alerts_max = (int)hopts.alerts_keep,
    };
    if (!(server = wall_server_start(&sopts, hub, metrics, errstr, sizeof(errstr)))) {
        fprintf(stderr, "chiso-wall: %s\n", errstr);
        goto out;
    }

    int64_t last_flush = chiso_now_mono_us();
    while (!chiso_stop) {
        int64_t t0 = chiso_now_mono_us();
        chiso_tail_poll(scores, 50);
        chiso_tail_poll(alerts, 50);
        int64_t now = chiso_now_mono_us();
        if (now - last_flush >= interval_ms * 1000) {
            wall_hub_flush(hub);
            last_flush = now;
        }
        /* a tail not assigned yet returns at once: never spin */
        if (now - t0 < 5000)
            chiso_sleep_ms(50);
    }
    LOG_INFO("stopping");
    rc = 0;
out:
    if (hub)
        wall_hub_stop(hub);
    wall_server_stop(server);
    wall_today_stop(today);
    chiso_tail_destroy(scores);
    chiso_tail_destroy(alerts);
    wall_hub_destroy(hub);
    chiso_metrics_destroy(metrics);
    chiso_config_destroy(cfg);
    return rc;
}
