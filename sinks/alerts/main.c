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
 * each once per dossier for read_committed consumers: a scan's alerts go
 * out in one Kafka transaction, and what was published is read back from
 * the alerts topic itself when the sink starts (the topic is the record:
 * a crash between a commit and its remembering, or Redis losing writes,
 * never repeats an alert). <prefix>:{U}:alerted keeps, for operators, the
 * level published (classify forgets it when the dossier leaves the index).
 * One instance runs: its transactional id (default <redis.prefix>-alerts)
 * fences any other.
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
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/redisx.h"
#include "chiso/strmap.h"
#include "chiso/tail.h"
#include "chiso/txn.h"
#include "chiso/vntime.h"

#include <cjson/cJSON.h>

/* Remember the level only while the dossier is still in the due index. */
static const char LUA_REMEMBER[] = "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then\n"
                                   "  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
                                   "end\n"
                                   "return 1\n";

static const chiso_cfg_def config_defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    /* one instance runs, and fences any other */
    CHISO_TXN_CFG_DEF_UNSET("<redis.prefix>-alerts"),
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
    chiso_redis *rc;
    rd_kafka_t *producer;
    chiso_txn *txn;
    char topic[256];
    char remember_sha[41];
    int64_t window_s;
    bool event_time;
    /* "<unit>|<dossier>" -> the level published (1 due soon, 2 overdue):
     * read from the topic at start, then what each committed scan added */
    chiso_map *published;
    /* this scan's alerts, in the open transaction: "<unit>|<dossier>" ->
     * level; remembered once it commits */
    chiso_map *scanned;
    chiso_counter *m_due_soon, *m_overdue, *m_scans, *m_errors;
} alerts;

/* An alert on the topic (read at start): remember its level. */
static void on_published(const rd_kafka_message_t *m, void *opaque)
{
    alerts *a = opaque;
    char key[256];
    cJSON *doc = m->len ? cJSON_ParseWithLength(m->payload, m->len) : NULL;
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(doc, "unit");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "dossier_id");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    if (cJSON_IsString(unit) && cJSON_IsString(id) && cJSON_IsString(kind)) {
        uint64_t level = strcmp(kind->valuestring, "overdue") == 0 ? 2 : 1;
        snprintf(key, sizeof(key), "%s|%s", unit->valuestring, id->valuestring);
        chiso_map_entry *e = chiso_map_put(a->published, key, NULL);
        if (e && e->u64 < level)
            e->u64 = level;
    }
    cJSON_Delete(doc);
}

static int redis_ready(alerts *a)
{
    char errstr[256];
    if (a->rc)
        return 0;
    if (!(a->rc = chiso_redis_open(a->cfg, errstr, sizeof(errstr)))) {
        LOG_WARN("%s", errstr);
        return CHISO_EIO;
    }
    if (chiso_redis_script_load(a->rc, LUA_REMEMBER, a->remember_sha, errstr, sizeof(errstr)) !=
        0) {
        LOG_WARN("loading a script: %s", errstr);
        chiso_redis_close(a->rc);
        a->rc = NULL;
        return CHISO_EIO;
    }
    return 0;
}

static void redis_drop(alerts *a, const char *why)
{
    LOG_WARN("Redis: %s; reconnecting", why);
    chiso_counter_add(a->m_errors, 1);
    chiso_redis_close(a->rc);
    a->rc = NULL;
}

static int64_t scan_now(alerts *a)
{
    if (!a->event_time)
        return (int64_t)time(NULL);
    redisReply *r = chiso_redis_command(a->rc, "GET %s:watermark", a->prefix);
    int64_t w = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    if (r)
        freeReplyObject(r);
    return w;
}

static int publish(alerts *a, const char *unit, const char *dossier, int level, int64_t score,
                   int64_t now)
{
    char from[CHISO_TIME_STRLEN], at[CHISO_TIME_STRLEN], due[CHISO_PERIOD_STRLEN], json[512];
    chiso_time_format(score, from);
    chiso_time_format(now, at);
    chiso_period_key(chiso_local_day(score) - 1, CHISO_PERIOD_DAY, due);
    int n = snprintf(json, sizeof(json),
                     "{\"v\":1,\"unit\":\"%s\",\"dossier_id\":\"%s\",\"kind\":\"%s\","
                     "\"due_day\":\"%s\",\"overdue_from\":\"%s\",\"at\":\"%s\"}",
                     unit, dossier, level == 2 ? "overdue" : "due_soon", due, from, at);
    if (n < 0 || (size_t)n >= sizeof(json))
        return CHISO_ERANGE;
    return chiso_txn_produce(a->txn, a->topic, unit, strlen(unit), json, (size_t)n);
}

/* One unit: its candidates not published yet, into the open transaction. */
static int scan_unit(alerts *a, const char *unit, int64_t now)
{
    char key[256];
    redisReply *due = chiso_redis_command(a->rc, "ZRANGEBYSCORE %s:{%s}:due -inf %lld WITHSCORES",
                                          a->prefix, unit, (long long)(now + a->window_s));
    int rc = 0;
    if (!due || due->type != REDIS_REPLY_ARRAY) {
        if (due)
            freeReplyObject(due);
        return CHISO_EIO;
    }
    for (size_t i = 0; i + 1 < due->elements && rc == 0; i += 2) {
        const char *dossier = due->element[i]->str;
        int64_t score = strtoll(due->element[i + 1]->str, NULL, 10);
        uint64_t level = score <= now ? 2 : 1;
        snprintf(key, sizeof(key), "%s|%s", unit, dossier);
        const chiso_map_entry *e = chiso_map_get(a->published, key);
        if (e && e->u64 >= level)
            continue;
        chiso_map_entry *s = chiso_map_put(a->scanned, key, NULL);
        if (!s)
            rc = CHISO_ENOMEM;
        else if ((rc = publish(a, unit, dossier, (int)level, score, now)) == 0)
            s->u64 = level;
    }
    freeReplyObject(due);
    return rc;
}

/* The scan's transaction committed: what it published is remembered, in
 * memory (what decides) and in the units' alerted hashes (for operators;
 * only while the dossier is still in the due index). */
static void remember(alerts *a)
{
    size_t pos = 0;
    char due_key[256], alerted_key[256];
    for (chiso_map_entry *e = chiso_map_next(a->scanned, &pos, NULL); e;
         e = chiso_map_next(a->scanned, &pos, e)) {
        if (!e->u64)
            continue;
        chiso_map_entry *p = chiso_map_put(a->published, e->key, NULL);
        if (p && p->u64 < e->u64)
            p->u64 = e->u64;
        chiso_counter_add(e->u64 == 2 ? a->m_overdue : a->m_due_soon, 1);
        const char *bar = strchr(e->key, '|');
        if (!bar || !a->rc)
            continue;
        snprintf(due_key, sizeof(due_key), "%s:{%.*s}:due", a->prefix, (int)(bar - e->key), e->key);
        snprintf(alerted_key, sizeof(alerted_key), "%s:{%.*s}:alerted", a->prefix,
                 (int)(bar - e->key), e->key);
        redisReply *r = chiso_redis_command(a->rc, "EVALSHA %s 2 %s %s %s %d", a->remember_sha,
                                            due_key, alerted_key, bar + 1, (int)e->u64);
        if (r)
            freeReplyObject(r);
    }
}

static int scan(alerts *a)
{
    if (redis_ready(a) != 0)
        return CHISO_EIO;
    int64_t now = scan_now(a);
    if (now <= 0)
        return 0; /* event time, nothing seen yet */
    redisReply *units = chiso_redis_command(a->rc, "SMEMBERS %s:units", a->prefix);
    if (!units || units->type != REDIS_REPLY_ARRAY) {
        if (units)
            freeReplyObject(units);
        redis_drop(a, "reading the units");
        return CHISO_EIO;
    }
    int rc = 0;
    chiso_map_destroy(a->scanned);
    if (!(a->scanned = chiso_map_new())) {
        freeReplyObject(units);
        return CHISO_ENOMEM;
    }
    for (size_t i = 0; i < units->elements && rc == 0 && !chiso_stop; i++)
        rc = scan_unit(a, units->element[i]->str, now);
    freeReplyObject(units);
    /* the scan's alerts, all or none */
    if (rc == 0 && chiso_txn_open(a->txn))
        rc = chiso_txn_commit(a->txn, NULL);
    else if (rc != 0)
        chiso_txn_abort(a->txn);
    if (rc == 0) {
        remember(a);
        chiso_counter_add(a->m_scans, 1);
    } else if (rc == CHISO_EIO && a->rc && chiso_redis_failed(a->rc)) {
        redis_drop(a, chiso_redis_errstr(a->rc));
    }
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
    char tid[512], default_tid[300];
    snprintf(default_tid, sizeof(default_tid), "%s-alerts", a.prefix);
    a.producer =
        chiso_kafka_txn_producer_new(a.cfg, default_tid, tid, sizeof(tid), errstr, sizeof(errstr));
    if (!a.producer || !(a.txn = chiso_txn_new(a.producer, NULL, metrics, "chiso_alerts", 60000,
                                               errstr, sizeof(errstr)))) {
        LOG_ERROR("%s (transactional id %s)", errstr, tid);
        goto out;
    }
    /* what was published before: the topic, as read_committed consumers see it */
    a.published = chiso_map_new();
    chiso_tail *t = a.published ? chiso_tail_new(a.cfg, CHISO_TOPIC_ALERTS, default_tid,
                                                 on_published, NULL, &a, errstr, sizeof(errstr))
                                : NULL;
    int crc = t ? chiso_tail_catch_up(t, 120000, &chiso_stop) : CHISO_ENOMEM;
    chiso_tail_destroy(t);
    if (crc != 0) {
        LOG_ERROR("the alerts topic was not read to its end (%s): not publishing blind",
                  t ? chiso_strerror(crc) : errstr);
        goto out;
    }
    LOG_INFO("%zu dossier(s) alerted before; alerts in Kafka transactions as %s",
             chiso_map_size(a.published), tid);
    LOG_INFO("scanning every %lld ms, due-soon window %lld h, time from %s",
             (long long)chiso_config_int(a.cfg, "interval.ms"), (long long)(a.window_s / 3600),
             a.event_time ? "event time" : "the wall clock");
    bool once = chiso_config_bool(a.cfg, "once");
    int64_t interval_us = chiso_config_int(a.cfg, "interval.ms") * 1000, next = 0;
    rc = 0;
    while (!chiso_stop) {
        if (chiso_now_mono_us() >= next) {
            int src = scan(&a);
            if (chiso_txn_fatal(a.txn)) {
                rc = 1;
                break;
            }
            next = chiso_now_mono_us() + (src == 0 ? interval_us : 2000000);
            if (once && src == 0)
                break;
        }
        rd_kafka_poll(a.producer, 100);
    }
out:
    chiso_txn_destroy(a.txn);
    if (a.producer)
        rd_kafka_destroy(a.producer);
    chiso_map_destroy(a.published);
    chiso_map_destroy(a.scanned);
    if (a.rc)
        chiso_redis_close(a.rc);
    chiso_metrics_destroy(metrics);
    chiso_config_destroy(a.cfg);
    return rc;
}
