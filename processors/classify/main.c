/*
 * chiso-classify - keeps every dossier's state and the per-unit counters in
 * Redis, from the dossier.events topic.
 *
 * Life: parse configuration, connect, subscribe; loop collecting a batch
 * (every record already fetched, up to batch.max, waiting at most
 * batch.linger.ms for more) and processing it (batch.h); on SIGTERM/SIGINT
 * finish the batch, commit synchronously, close the consumer, flush the
 * producer, exit 0. On a
 * partition revocation the batch in hand is completed and committed before
 * the partitions are given up, so no other instance redoes its work.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/applied.h"
#include "chiso/catalog.h"
#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/consumer.h"
#include "chiso/dossier.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/redisx.h"
#include "chiso/stage.h"
#include "chiso/strmap.h"
#include "chiso/tail.h"

#include "batch.h"

static const chiso_cfg_def config_defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    {"group.id", CHISO_CFG_STRING, "chiso-classify", "Kafka consumer group", NULL},
    CHISO_TXN_CFG_DEF,
    {"batch.max", CHISO_CFG_INT, "50000",
     "most records applied in one batch (batches only grow this large when behind)", NULL},
    {"batch.linger.ms", CHISO_CFG_INT, "5",
     "longest wait to fill a batch after its first record is seen or its oldest was produced",
     chiso_cfg_nonneg},
    {"commit.interval.ms", CHISO_CFG_INT, "1000",
     "commit the Kafka transaction (outputs and offsets of the applied batches) this often "
     "(0 = after every batch): read_committed consumers see outputs this much later, a "
     "restart re-reads at most this much (the offset fence skips it), and the batch loop "
     "waits for each commit (docs/benchmarks.md)",
     chiso_cfg_nonneg},
    {"journal.fold.kb", CHISO_CFG_INT, "128",
     "a unit's journal longer than this is folded by classify (chiso-snapshot reads journals "
     "without folding them: this bounds a journal's size)",
     chiso_cfg_positive},
    {"state.cache.mb", CHISO_CFG_INT, "128",
     "memory for the cache of dossier states (each write is still compared and set in Redis)",
     chiso_cfg_positive},
    {"catalog.wait.s", CHISO_CFG_INT, "30",
     "at start, how long to wait for catalog.procedures to be read to its end", chiso_cfg_nonneg},
    {"retention.days", CHISO_CFG_INT, "120",
     "states of closed dossiers (and of fragments never received) are deleted once the latest "
     "event time is this many days past their last fact (0 = kept for good); an event for a "
     "dossier with no state, older than this before the latest event time, is dead-lettered "
     "as expired",
     chiso_cfg_nonneg},
    {"reap.interval.ms", CHISO_CFG_INT, "10000",
     "time between the reaper's passes over the units' reap lists (retention.days)",
     chiso_cfg_positive},
    {"metrics.port", CHISO_CFG_INT, "9101", "Prometheus /metrics port (0 = off)", chiso_cfg_port},
    {"metrics.bind", CHISO_CFG_STRING, "127.0.0.1", "address the metrics server binds", NULL},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: chiso-classify [OPTIONS]\n\n"
                 "Consumes dossier lifecycle events, classifies every dossier (full-process,\n"
                 "partial, offline) and keeps exact per-unit counters by day, month, quarter\n"
                 "and year in Redis. Bad records go to the deadletter topic; class changes to\n"
                 "dossier.classified.\n\n");
    chiso_config_print_help(config_defs, out);
}

typedef struct app {
    chiso_config *cfg;
    chiso_processor p;      /* metrics, producer, consumer, transaction, applied record */
    chiso_tail *procedures; /* catalog.procedures */
    chiso_map *catalog;     /* procedure code -> catalog attributes (dossier.h) */
    cl_batch *batch;
    int fatal;
} app;

/* A catalog.procedures record: remember (or, for a tombstone, forget) the
 * procedure's attributes that dossier states keep (service level,
 * paper_result_required), packed by chiso_dossier_catalog_attrs(). Dossiers
 * take the attributes known when their events are applied; a batch with a
 * procedure not known yet first reads the topic to its end (catalog_sync),
 * so every record produced before the event is known (docs/architecture.md). */
static void on_procedure(const rd_kafka_message_t *m, void *opaque)
{
    app *a = opaque;
    char key[CHISO_CODE_MAX + 1];
    chiso_procedure p;
    chiso_reject rej;

    if (!m->key || m->key_len == 0 || m->key_len > CHISO_CODE_MAX) {
        LOG_WARN("catalog.procedures @%lld: no usable key, skipped", (long long)m->offset);
        return;
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    int rc = m->len ? chiso_procedure_parse(m->payload, m->len, &p, &rej) : 1;
    if (rc == 1) {
        chiso_map_del(a->catalog, key);
        return;
    }
    if (rc != 0) {
        LOG_WARN("catalog.procedures: %s: %s, skipped", key, rej.detail);
        return;
    }
    chiso_map_entry *e = chiso_map_put(a->catalog, p.procedure, NULL);
    if (e)
        e->u64 = chiso_dossier_catalog_attrs(&p);
    chiso_procedure_clear(&p);
}

/* cl_env.catalog_sync: read catalog.procedures to its end, however long
 * the broker takes to answer (the batch waiting for it is not applied with
 * a level missing); non-zero when stopping first. */
static int catalog_sync(void *opaque)
{
    app *a = opaque;
    size_t before = chiso_map_size(a->catalog);
    while (chiso_tail_catch_up(a->procedures, 5000, &chiso_stop) != 0) {
        if (chiso_stop)
            return 1;
        LOG_WARN("catalog.procedures not read to its end within 5 s; the batch waits for it");
    }
    if (chiso_map_size(a->catalog) != before)
        LOG_INFO("catalog: %zu procedure(s)", chiso_map_size(a->catalog));
    return 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    app *a = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        LOG_INFO("assigned %d partition(s)", parts->cnt);
        /* checked against Redis's applied markers before the first batch */
        chiso_applied_assign(a->p.applied, rk, parts);
        rd_kafka_assign(rk, parts);
        return;
    }
    LOG_INFO("revoking %d partition(s): completing the batches in hand", parts->cnt);
    int brc = a->batch ? cl_batch_process(a->batch, true) : 0;
    if (brc != 0 && brc != CHISO_EREWIND)
        a->fatal = 1;
    chiso_applied_revoke(a->p.applied, parts);
    rd_kafka_assign(rk, NULL);
}

int main(int argc, char **argv)
{
    char errstr[512];
    char t_events[256], t_dead[256], t_classified[256];
    int first = 0, rc = 1;
    app a = {0};

    chiso_runtime_stream_heap(argv);
    chiso_log_set_component("classify");
    a.cfg = chiso_config_new(config_defs);
    if (!a.cfg)
        return 1;
    int pr = chiso_config_parse_args(a.cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (pr == 1) {
        usage(stdout);
        chiso_config_destroy(a.cfg);
        return 0;
    }
    if (pr != 0 || first < argc) {
        fprintf(stderr, "chiso-classify: %s\n",
                pr != 0 ? errstr : "unexpected argument (see --help)");
        chiso_config_destroy(a.cfg);
        return 2;
    }
    if (chiso_log_set_level_name(chiso_config_str(a.cfg, "log.level")) != 0) {
        fprintf(stderr, "chiso-classify: bad log.level\n");
        chiso_config_destroy(a.cfg);
        return 2;
    }
    int batch_max = (int)chiso_config_int(a.cfg, "batch.max");
    if (batch_max < 1 || batch_max > 100000) {
        fprintf(stderr, "chiso-classify: batch.max must be 1..100000\n");
        chiso_config_destroy(a.cfg);
        return 2;
    }
    int64_t linger_ms = chiso_config_int(a.cfg, "batch.linger.ms");

    chiso_stop_on_signals();

    chiso_topic_name(a.cfg, CHISO_TOPIC_DOSSIER_EVENTS, t_events, sizeof(t_events));
    chiso_topic_name(a.cfg, CHISO_TOPIC_DEADLETTER, t_dead, sizeof(t_dead));
    chiso_topic_name(a.cfg, CHISO_TOPIC_DOSSIER_CLASSIFIED, t_classified, sizeof(t_classified));
    const char *outputs[] = {t_dead, t_classified};
    chiso_processor_opts po = {.metric_prefix = "chiso_classify",
                               .stream_consumer = true,
                               .rebalance_cb = on_rebalance,
                               .rebalance_opaque = &a,
                               .outputs = outputs,
                               .noutputs = 2};
    if (chiso_processor_start(&a.p, a.cfg, &po, errstr, sizeof(errstr)) != 0) {
        LOG_ERROR("%s", errstr);
        goto out;
    }
    LOG_INFO("outputs in Kafka transactions as %s", a.p.transactional_id);
    a.catalog = chiso_map_new();
    a.procedures = chiso_tail_new(a.cfg, CHISO_TOPIC_CATALOG_PROCEDURES, "chiso-classify-catalog",
                                  on_procedure, NULL, &a, errstr, sizeof(errstr));
    if (!a.catalog || !a.procedures) {
        LOG_ERROR("catalog.procedures: %s", a.catalog ? errstr : "out of memory");
        goto out;
    }
    if (chiso_tail_catch_up(a.procedures, (int)chiso_config_int(a.cfg, "catalog.wait.s") * 1000,
                            &chiso_stop) != 0)
        LOG_WARN("catalog.procedures not read to its end; going on with %zu procedure(s)",
                 chiso_map_size(a.catalog));
    else
        LOG_INFO("catalog: %zu procedure(s)", chiso_map_size(a.catalog));
    cl_env env = {.cfg = a.cfg,
                  .catalog = a.catalog,
                  .catalog_sync = catalog_sync,
                  .catalog_opaque = &a,
                  .consumer = a.p.consumer,
                  .producer = a.p.producer,
                  .txn = a.p.txn,
                  .metrics = a.p.metrics,
                  .stop = &chiso_stop,
                  .topic_events = t_events,
                  .topic_deadletter = t_dead,
                  .topic_classified = t_classified,
                  .applied = a.p.applied};
    a.batch = cl_batch_new(&env, batch_max);
    if (!a.batch) {
        LOG_ERROR("out of memory");
        goto out;
    }

    if (chiso_processor_subscribe(&a.p, a.cfg, t_events, errstr, sizeof(errstr)) != 0) {
        LOG_ERROR("%s", errstr);
        goto out;
    }

    rc = 0;
    /* a batch is applied once it holds every record already fetched and
     * batch.linger.ms have passed since its first record was seen or since
     * its oldest record was produced (its Kafka timestamp), whichever comes
     * first: records that queued while the previous batch was applied have
     * waited already, and go at once; a backlog fills batches up to
     * batch.max */
    int64_t batch_started = 0, batch_oldest_ms = 0, lag_at = 0;
    chiso_gauge *lag =
        chiso_metrics_gauge(a.p.metrics, "chiso_classify_lag",
                            "Records behind the assigned partitions' ends (-1 = not known yet)");
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(a.p.consumer);
    rd_kafka_message_t *burst[512];
    while (!chiso_stop && !a.fatal) {
        /* wait for one record, then take every one already fetched */
        int n = cl_batch_count(a.batch), got = 0;
        bool drained = true; /* nothing more was waiting in the queue */
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(a.p.consumer, n ? 1 : 100);
        if (msg) {
            burst[got++] = msg;
            int room = batch_max - n - 1;
            if (room > (int)(sizeof(burst) / sizeof(burst[0])) - 1)
                room = (int)(sizeof(burst) / sizeof(burst[0])) - 1;
            ssize_t more =
                room > 0 ? rd_kafka_consume_batch_queue(queue, 0, burst + 1, (size_t)room) : 0;
            if (more > 0)
                got += (int)more;
            drained = more < room;
        }
        int64_t now = chiso_now_mono_us(); /* one clock read per turn of the loop */
        for (int i = 0; i < got; i++) {
            if (burst[i]->err) {
                if (burst[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    LOG_WARN("consumer: %s", rd_kafka_message_errstr(burst[i]));
                rd_kafka_message_destroy(burst[i]);
            } else {
                int64_t ts = rd_kafka_message_timestamp(burst[i], NULL);
                if (cl_batch_count(a.batch) == 0) {
                    batch_started = now;
                    batch_oldest_ms = INT64_MAX;
                }
                if (ts > 0 && ts < batch_oldest_ms)
                    batch_oldest_ms = ts;
                cl_batch_add(a.batch, burst[i]);
            }
        }
        rd_kafka_poll(a.p.producer, 0);
        /* every commit.interval.ms, and at once when the stream pauses (no
         * record for the poll's 100 ms, nothing batched): read_committed
         * consumers need not wait for the interval when nothing follows */
        int crc = cl_batch_commit(a.batch, !got && n == 0);
        if (crc != 0 && crc != CHISO_EREWIND && !chiso_stop)
            a.fatal = 1;
        chiso_tail_poll(a.procedures, 0);
        if (now - lag_at >= 1000000) {
            chiso_gauge_set(lag, (double)chiso_consumer_lag(a.p.consumer));
            lag_at = now;
        }
        n = cl_batch_count(a.batch);
        if (n > 0 && (cl_batch_full(a.batch) || !got ||
                      (drained && (now - batch_started >= linger_ms * 1000 ||
                                   chiso_now_wall_ms() - batch_oldest_ms >= linger_ms)))) {
            /* a batch that could not complete is not committed; the consumer
             * has moved past it, so stop: a restart replays it */
            int brc = cl_batch_process(a.batch, false);
            if (brc != 0 && brc != CHISO_EREWIND && !chiso_stop) {
                LOG_ERROR("stopping: %s", chiso_strerror(brc));
                a.fatal = 1;
            }
        }
    }
    rd_kafka_queue_destroy(queue);
    if (a.batch && !a.fatal)
        cl_batch_process(a.batch, true);
    if (a.fatal)
        rc = 1;
    LOG_INFO("stopping: closing the consumer");
out:
    chiso_processor_close(&a.p);
    cl_batch_destroy(a.batch);
    chiso_processor_free(&a.p);
    chiso_tail_destroy(a.procedures);
    chiso_map_destroy(a.catalog);
    chiso_config_destroy(a.cfg);
    return rc;
}
