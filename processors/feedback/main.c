/*
 * chiso-feedback - keeps every feedback's (PAKN) state and the per-unit
 * feedback counters in Redis, from the feedback.events topic (docs/feedback.md).
 *
 * Life: parse configuration, connect, subscribe; loop collecting a batch
 * (up to batch.max records, or batch.linger.ms after its first) and
 * processing it (apply.h): one atomic call per unit, dead letters
 * delivered, then offsets committed. On SIGTERM/SIGINT it finishes the
 * batch in hand, commits synchronously, closes the consumer, flushes the
 * producer and exits 0. A partition revocation completes and commits the
 * batch in hand first, so no other instance redoes its work.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/txn.h"
#include "chiso/redisx.h"
#include "chiso/stage.h"

#include "apply.h"

static int prefix_ok(const char *value, char *errstr, size_t errstr_size)
{
    if (strlen(value) < 1 || strlen(value) > FB_PREFIX_MAX) {
        snprintf(errstr, errstr_size, "must be 1..%d characters", FB_PREFIX_MAX);
        return CHISO_EINVAL;
    }
    return 0;
}

static const chiso_cfg_def config_defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    {"group.id", CHISO_CFG_STRING, "chiso-feedback", "Kafka consumer group", NULL},
    CHISO_TXN_CFG_DEF,
    {"batch.max", CHISO_CFG_INT, "1000", "most records applied in one batch (1..100000)",
     chiso_cfg_positive},
    {"batch.linger.ms", CHISO_CFG_INT, "5", "longest wait to fill a batch after its first record",
     chiso_cfg_nonneg},
    {"metrics.port", CHISO_CFG_INT, "9105", "Prometheus /metrics port (0 = off)", chiso_cfg_port},
    {"metrics.bind", CHISO_CFG_STRING, "127.0.0.1", "address the metrics server binds", NULL},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: chiso-feedback [OPTIONS]\n\n"
            "Consumes feedback (PAKN) events and keeps every feedback's state and exact\n"
            "per-unit feedback counters (fb_received, fb_answered_on_time,\n"
            "fb_answered_late, fb_rated, fb_satisfied, ...) by day, month, quarter and\n"
            "year in Redis. Bad records go to the deadletter topic. See docs/feedback.md.\n\n");
    chiso_config_print_help(config_defs, out);
}

typedef struct app {
    chiso_config *cfg;
    chiso_processor p; /* metrics, producer, consumer, transaction, applied record */
    fb_batch *batch;
    chiso_stage stage; /* the consumer's opaque */
} app;

/* The batch as chiso_stage sees it. */
static void batch_add(void *b, rd_kafka_message_t *msg)
{
    fb_batch_add(b, msg);
}

static int batch_count(const void *b)
{
    return fb_batch_count(b);
}

static bool batch_full(const void *b)
{
    return fb_batch_full(b);
}

static int batch_process(void *b, bool sync_commit)
{
    return fb_batch_process(b, sync_commit);
}

/* Parse the command line into a->cfg. Returns -1 to go on, else the exit
 * status (0 after --help). */
static int configure(app *a, int argc, char **argv)
{
    char errstr[512];
    int first = 0;

    a->cfg = chiso_config_new(config_defs);
    if (!a->cfg)
        return 1;
    int pr = chiso_config_parse_args(a->cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (pr == 1) {
        usage(stdout);
        return 0;
    }
    if (pr != 0 || first < argc) {
        fprintf(stderr, "chiso-feedback: %s\n",
                pr != 0 ? errstr : "unexpected argument (see --help)");
        return 2;
    }
    if (prefix_ok(chiso_config_str(a->cfg, "redis.prefix"), errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "chiso-feedback: redis.prefix %s\n", errstr);
        return 2;
    }
    if (chiso_config_int(a->cfg, "batch.max") > 100000) {
        fprintf(stderr, "chiso-feedback: batch.max must be 1..100000\n");
        return 2;
    }
    chiso_log_set_level_name(chiso_config_str(a->cfg, "log.level"));
    return -1;
}

int main(int argc, char **argv)
{
    char errstr[512], t_events[256], t_dead[256];
    int rc = 1;
    app a = {0};

    chiso_log_set_component("feedback");
    int crc = configure(&a, argc, argv);
    if (crc >= 0) {
        chiso_config_destroy(a.cfg);
        return crc;
    }
    chiso_stop_on_signals();

    chiso_topic_name(a.cfg, CHISO_TOPIC_FEEDBACK_EVENTS, t_events, sizeof(t_events));
    chiso_topic_name(a.cfg, CHISO_TOPIC_DEADLETTER, t_dead, sizeof(t_dead));
    chiso_processor_opts po = {.metric_prefix = "chiso_feedback",
                               .rebalance_cb = chiso_stage_rebalance_cb,
                               .rebalance_opaque = &a.stage};
    if (chiso_processor_start(&a.p, a.cfg, &po, errstr, sizeof(errstr)) != 0) {
        LOG_ERROR("%s", errstr);
        goto out;
    }
    LOG_INFO("dead letters in Kafka transactions as %s", a.p.transactional_id);
    fb_env env = {.cfg = a.cfg,
                  .consumer = a.p.consumer,
                  .txn = a.p.txn,
                  .metrics = a.p.metrics,
                  .stop = &chiso_stop,
                  .topic_deadletter = t_dead,
                  .applied = a.p.applied};
    a.batch = fb_batch_new(&env, (int)chiso_config_int(a.cfg, "batch.max"));
    if (!a.batch) {
        LOG_ERROR("out of memory");
        goto out;
    }

    a.stage = (chiso_stage){
        .consumer = a.p.consumer,
        .producer = a.p.producer,
        .batch = {a.batch, batch_add, batch_count, batch_full, batch_process},
        .linger_ms = chiso_config_int(a.cfg, "batch.linger.ms"),
        .lag = chiso_metrics_gauge(a.p.metrics, "chiso_feedback_lag",
                                   "Records behind the assigned partitions' ends (-1 = not known "
                                   "yet)"),
        .stop = &chiso_stop,
        .applied = a.p.applied,
    };

    if (chiso_processor_subscribe(&a.p, a.cfg, t_events, errstr, sizeof(errstr)) != 0) {
        LOG_ERROR("%s", errstr);
        goto out;
    }

    rc = chiso_stage_run(&a.stage);
    LOG_INFO("stopping: closing the consumer");
out:
    chiso_processor_close(&a.p);
    fb_batch_destroy(a.batch);
    chiso_processor_free(&a.p);
    chiso_config_destroy(a.cfg);
    return rc;
}
