/*
 * chiso-alerts - overdue and due-soon alerts, with no event needed.
 *
 * chiso-classify keeps, per unit and in the same atomic call as the
 * counters, an index of the unit's open dossiers scored by the start of
 * their first overdue day (docs/ontime.md): <prefix>:{U}:due. Every
 * interval this sink reads, per unit, the dossiers whose score is at most
 * now + due-soon window, and publishes to the `alerts` topic (key: unit)
 *   - "due_soon" once a dossier's first overdue day starts within the window,
 *   - "overdue" once it has started,
 * each at most once per dossier: <prefix>:{U}:alerted remembers the level
 * already published (classify forgets it when the dossier leaves the index).
 * An alert is published before it is remembered, so a crash in between
 * repeats it (at least once).
 *
 * "Now" is the wall clock (live), or with time.source = event the latest
 * event time classify has seen (<prefix>:watermark), so a replay of history
 * raises the alerts the live run did.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "chiso/common.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/redisx.h"
#include "chiso/vntime.h"

/* Remember the level only while the dossier is still in the due index. */
static const char LUA_REMEMBER[] = "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then\n"
                                   "  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
                                   "end\n"
                                   "return 1\n";

static const chiso_cfg_def config_defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    {"interval.ms", CHISO_CFG_INT, "1000", "time between scans of the due indexes",
     chiso_cfg_positive},
    {"due-soon.hours", CHISO_CFG_INT, "24", "alert this many hours before a dossier is overdue",
     chiso_cfg_nonneg},
    {"time.source", CHISO_CFG_STRING, "wall",
     "now: wall (live) or event (the latest event time classify saw; for replays)",
     chiso_cfg_time_source},
    {"once", CHISO_CFG_BOOL, "false", "one scan, wait for the deliveries, exit", NULL},
    {"metrics.port", CHISO_CFG_INT, "9103", "Prometheus /metrics port (0 = off)", chiso_cfg_port},
    {"metrics.bind", CHISO_CFG_STRING, "127.0.0.1", "address the metrics server binds", NULL},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct alerts {
    chiso_config *cfg;
    const char *prefix;
    redisContext *rc;
    rd_kafka_t *producer;
    char topic[256];
    char remember_sha[41];
    int64_t window_s;
    bool event_time;
    int outstanding, failed;
    chiso_counter *m_due_soon, *m_overdue, *m_scans, *m_errors;
} alerts;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    alerts *a = opaque;
    (void)rk;
    a->outstanding--;
    if (m->err) {
        a->failed++;
        LOG_ERROR("alert not delivered: %s", rd_kafka_err2str(m->err));
    }
}

static int redis_ready(alerts *a)
{
    char errstr[256];
    if (a->rc)
        return 0;
    if (!(a->rc = chiso_redis_connect(a->cfg, errstr, sizeof(errstr)))) {
        LOG_WARN("%s", errstr);
        return CHISO_EIO;
    }
    redisReply *r = redisCommand(a->rc, "SCRIPT LOAD %s", LUA_REMEMBER);
    if (chiso_redis_check(a->rc, r, errstr, sizeof(errstr)) != 0 || r->type != REDIS_REPLY_STRING) {
        LOG_WARN("loading a script: %s", errstr);
        if (r)
            freeReplyObject(r);
        redisFree(a->rc);
        a->rc = NULL;
        return CHISO_EIO;
    }
    snprintf(a->remember_sha, sizeof(a->remember_sha), "%s", r->str);
    freeReplyObject(r);
    return 0;
}

static void redis_drop(alerts *a, const char *why)
{
    LOG_WARN("Redis: %s; reconnecting", why);
    chiso_counter_add(a->m_errors, 1);
    redisFree(a->rc);
    a->rc = NULL;
}

static int64_t scan_now(alerts *a)
{
    if (!a->event_time)
        return (int64_t)time(NULL);
    redisReply *r = redisCommand(a->rc, "GET %s:watermark", a->prefix);
    int64_t w = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    if (r)
        freeReplyObject(r);
    return w;
}

static int publish(alerts *a, const char *unit, const char *dossier, int level, int64_t score,
                   int64_t now)
{
    char from[CHISO_TIME_STRLEN], at[CHISO_TIME_STRLEN], due[CHISO_PERIOD_STRLEN];
    char *json = malloc(512);
    if (!json)
        return CHISO_ENOMEM;
    chiso_time_format(score, from);
    chiso_time_format(now, at);
    chiso_period_key(chiso_local_day(score) - 1, CHISO_PERIOD_DAY, due);
    int n = snprintf(json, 512,
                     "{\"v\":1,\"unit\":\"%s\",\"dossier_id\":\"%s\",\"kind\":\"%s\","
                     "\"due_day\":\"%s\",\"overdue_from\":\"%s\",\"at\":\"%s\"}",
                     unit, dossier, level == 2 ? "overdue" : "due_soon", due, from, at);
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(a->producer, RD_KAFKA_V_TOPIC(a->topic),
                              RD_KAFKA_V_KEY(unit, strlen(unit)), RD_KAFKA_V_VALUE(json, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END);
        if (!err)
            break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            LOG_ERROR("produce alert: %s", rd_kafka_err2str(err));
            free(json);
            return CHISO_EIO;
        }
        rd_kafka_poll(a->producer, 10);
    }
    a->outstanding++;
    chiso_counter_add(level == 2 ? a->m_overdue : a->m_due_soon, 1);
    return 0;
}

/* One unit: its candidates and what was already published about them. */
static int scan_unit(alerts *a, const char *unit, int64_t now)
{
    redisReply *due = redisCommand(a->rc, "ZRANGEBYSCORE %s:{%s}:due -inf %lld WITHSCORES",
                                   a->prefix, unit, (long long)(now + a->window_s));
    int rc = 0;
    if (!due || due->type != REDIS_REPLY_ARRAY) {
        if (due)
            freeReplyObject(due);
        return CHISO_EIO;
    }
    size_t n = due->elements / 2;
    if (n == 0) {
        freeReplyObject(due);
        return 0;
    }
    /* what was already published about them, in one round trip */
    const char **argv = malloc((n + 2) * sizeof(char *));
    size_t *argvlen = malloc((n + 2) * sizeof(size_t));
    char key[256];
    redisReply *seen = NULL;
    if (!argv || !argvlen) {
        rc = CHISO_ENOMEM;
        goto out;
    }
    snprintf(key, sizeof(key), "%s:{%s}:alerted", a->prefix, unit);
    argv[0] = "HMGET";
    argvlen[0] = 5;
    argv[1] = key;
    argvlen[1] = strlen(key);
    for (size_t i = 0; i < n; i++) {
        argv[i + 2] = due->element[2 * i]->str;
        argvlen[i + 2] = due->element[2 * i]->len;
    }
    seen = redisCommandArgv(a->rc, (int)n + 2, argv, argvlen);
    if (!seen || seen->type != REDIS_REPLY_ARRAY || seen->elements != n) {
        rc = CHISO_EIO;
        goto out;
    }
    char due_key[256];
    snprintf(due_key, sizeof(due_key), "%s:{%s}:due", a->prefix, unit);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *dossier = due->element[2 * i]->str;
        int64_t score = strtoll(due->element[2 * i + 1]->str, NULL, 10);
        int level = score <= now ? 2 : 1;
        int already =
            seen->element[i]->type == REDIS_REPLY_STRING ? atoi(seen->element[i]->str) : 0;
        if (already >= level)
            continue;
        if ((rc = publish(a, unit, dossier, level, score, now)) != 0)
            break;
        redisReply *r = redisCommand(a->rc, "EVALSHA %s 2 %s %s %s %d", a->remember_sha, due_key,
                                     key, dossier, level);
        if (!r || r->type == REDIS_REPLY_ERROR)
            rc = CHISO_EIO;
        if (r)
            freeReplyObject(r);
    }
out:
    if (seen)
        freeReplyObject(seen);
    free(argv);
    free(argvlen);
    freeReplyObject(due);
    return rc;
}

static int scan(alerts *a)
{
    if (redis_ready(a) != 0)
        return CHISO_EIO;
    int64_t now = scan_now(a);
    if (now <= 0)
        return 0; /* event time, nothing seen yet */
    redisReply *units = redisCommand(a->rc, "SMEMBERS %s:units", a->prefix);
    if (!units || units->type != REDIS_REPLY_ARRAY) {
        if (units)
            freeReplyObject(units);
        redis_drop(a, "reading the units");
        return CHISO_EIO;
    }
    int rc = 0;
    for (size_t i = 0; i < units->elements && rc == 0 && !chiso_stop; i++)
        rc = scan_unit(a, units->element[i]->str, now);
    freeReplyObject(units);
    if (rc == CHISO_EIO)
        redis_drop(a, a->rc && a->rc->err ? a->rc->errstr : "scan failed");
    else
        chiso_counter_add(a->m_scans, 1);
    return rc;
}

int main(int argc, char **argv)
{
    char errstr[512];
    int first = 0, rc = 1;
    alerts a = {0};
    chiso_metrics *metrics = NULL;

    chiso_log_set_component("alerts");
    a.cfg = chiso_config_new(config_defs);
    int pr = a.cfg ? chiso_config_parse_args(a.cfg, argc, argv, &first, errstr, sizeof(errstr))
                   : CHISO_ENOMEM;
    if (pr == 1) {
        printf("Usage: chiso-alerts [OPTIONS]\n\nPublishes overdue and due-soon alerts for open "
               "dossiers to the alerts topic,\nwithout waiting for any event.\n\n");
        chiso_config_print_help(config_defs, stdout);
        rc = 0;
        goto out;
    }
    if (pr != 0 || first < argc) {
        fprintf(stderr, "chiso-alerts: %s\n", pr ? errstr : "unexpected argument (see --help)");
        rc = 2;
        goto out;
    }
    chiso_log_set_level_name(chiso_config_str(a.cfg, "log.level"));
    chiso_stop_on_signals();
    a.prefix = chiso_config_str(a.cfg, "redis.prefix");
    a.window_s = chiso_config_int(a.cfg, "due-soon.hours") * 3600;
    a.event_time = strcmp(chiso_config_str(a.cfg, "time.source"), "event") == 0;
    chiso_topic_name(a.cfg, CHISO_TOPIC_ALERTS, a.topic, sizeof(a.topic));

    metrics = chiso_metrics_new();
    if (!metrics || chiso_metrics_serve(metrics, chiso_config_str(a.cfg, "metrics.bind"),
                                        (int)chiso_config_int(a.cfg, "metrics.port"), errstr,
                                        sizeof(errstr)) != 0) {
        LOG_ERROR("metrics: %s", metrics ? errstr : "out of memory");
        goto out;
    }
    a.m_due_soon = chiso_metrics_counter(metrics, "chiso_alerts_published_total{kind=\"due_soon\"}",
                                         "Alerts published, by kind");
    a.m_overdue = chiso_metrics_counter(metrics, "chiso_alerts_published_total{kind=\"overdue\"}",
                                        "Alerts published, by kind");
    a.m_scans = chiso_metrics_counter(metrics, "chiso_alerts_scans_total", "Scans completed");
    a.m_errors = chiso_metrics_counter(metrics, "chiso_alerts_errors_total", "Redis failures");
    if (chiso_kafka_ensure_topics_cfg(a.cfg, errstr, sizeof(errstr)) != 0)
        LOG_WARN("topics: %s (going on: the producer retries)", errstr);
    a.producer = chiso_kafka_producer_new(a.cfg, on_delivery, &a, errstr, sizeof(errstr));
    if (!a.producer) {
        LOG_ERROR("%s", errstr);
        goto out;
    }
    LOG_INFO("scanning every %lld ms, due-soon window %lld h, time from %s",
             (long long)chiso_config_int(a.cfg, "interval.ms"), (long long)(a.window_s / 3600),
             a.event_time ? "event time" : "the wall clock");
    bool once = chiso_config_bool(a.cfg, "once");
    int64_t interval_us = chiso_config_int(a.cfg, "interval.ms") * 1000, next = 0;
    rc = 0;
    while (!chiso_stop) {
        if (chiso_now_mono_us() >= next) {
            int src = scan(&a);
            next = chiso_now_mono_us() + (src == 0 ? interval_us : 2000000);
            if (once && src == 0)
                break;
        }
        rd_kafka_poll(a.producer, 100);
    }
    rd_kafka_flush(a.producer, 10000);
    if (a.failed || a.outstanding)
        rc = 1;
out:
    if (a.producer)
        rd_kafka_destroy(a.producer);
    if (a.rc)
        redisFree(a.rc);
    chiso_metrics_destroy(metrics);
    chiso_config_destroy(a.cfg);
    return rc;
}
