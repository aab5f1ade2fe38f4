/*
 * stage.c - the run loop of a batch-consuming stage (stage.h).
 *
 * A batch that fails is not committed, but the consumer has moved past its
 * records: going on would commit later offsets over them. So the loop stops
 * (unless it was stopping anyway) and a restart replays from the last
 * committed offset, which the stages' idempotent writes make harmless.
 */
#include "chiso/stage.h"

#include <stdio.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/consumer.h"
#include "chiso/kafka.h"
#include "chiso/runtime.h"

void chiso_stage_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    chiso_stage *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        LOG_INFO("assigned %d partition(s)", parts->cnt);
        if (s->applied)
            chiso_applied_assign(s->applied, rk, parts);
        rd_kafka_assign(rk, parts);
        return;
    }
    LOG_INFO("revoking %d partition(s): completing the batch in hand", parts->cnt);
    int rc = !s->fatal && s->batch.batch && s->batch.count(s->batch.batch) > 0
                 ? s->batch.process(s->batch.batch, true)
                 : 0;
    if (rc != 0 && rc != CHISO_EREWIND)
        s->fatal = 1;
    if (s->applied)
        chiso_applied_revoke(s->applied, parts);
    rd_kafka_assign(rk, NULL);
}

int chiso_stage_run(chiso_stage *s)
{
    const chiso_stage_batch *b = &s->batch;
    int64_t batch_started = 0, lag_at = 0;

    while (!*s->stop && !s->fatal) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(s->consumer, b->count(b->batch) ? 1 : 100);
        int64_t now = chiso_now_mono_us(); /* one clock read per turn */
        if (msg && msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                LOG_WARN("consumer: %s", rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
        } else if (msg) {
            if (b->count(b->batch) == 0)
                batch_started = now;
            b->add(b->batch, msg);
        }
        if (s->producer)
            rd_kafka_poll(s->producer, 0);
        if (s->each_turn)
            s->each_turn(s->opaque);
        if (s->lag && now - lag_at >= 1000000) {
            chiso_gauge_set(s->lag, (double)chiso_consumer_lag(s->consumer));
            lag_at = now;
        }
        if (b->count(b->batch) > 0 &&
            (b->full(b->batch) || !msg || now - batch_started >= s->linger_ms * 1000)) {
            int rc = b->process(b->batch, false);
            if (rc != 0 && rc != CHISO_EREWIND && !*s->stop) {
                LOG_ERROR("stopping: %s", chiso_strerror(rc));
                s->fatal = 1;
            }
        }
    }
    int rc = !s->fatal && b->count(b->batch) > 0 ? b->process(b->batch, true) : 0;
    if (rc != 0 && rc != CHISO_EREWIND)
        s->fatal = 1;
    return s->fatal ? 1 : 0;
}

/* ---- a processor's start-up and shut-down ---- */

int chiso_processor_start(chiso_processor *p, const chiso_config *cfg,
                          const chiso_processor_opts *o, char *errstr, size_t errstr_size)
{
    const char *group = chiso_config_str(cfg, "group.id");

    memset(p, 0, sizeof(*p));
    if (!(p->metrics = chiso_metrics_new()))
        return chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
    if (chiso_metrics_serve(p->metrics, chiso_config_str(cfg, "metrics.bind"),
                            (int)chiso_config_int(cfg, "metrics.port"), errstr, errstr_size) != 0 ||
        chiso_kafka_ensure_topics_cfg(cfg, errstr, errstr_size) != 0)
        return CHISO_EIO;
    p->producer = chiso_kafka_txn_producer_new(cfg, NULL, p->transactional_id,
                                               sizeof(p->transactional_id), errstr, errstr_size);
    if (!p->producer)
        return CHISO_EIO;
    /* know the output topics' leaders before the first batch needs them */
    for (int i = 0; i < o->noutputs; i++) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->producer, o->outputs[i], NULL);
        if (rkt && rd_kafka_metadata(p->producer, 0, rkt, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            LOG_WARN("no metadata yet for %s; the first batch may wait for it", o->outputs[i]);
        if (md)
            rd_kafka_metadata_destroy(md);
        if (rkt)
            rd_kafka_topic_destroy(rkt);
    }
    p->applied = chiso_applied_new(chiso_config_str(cfg, "redis.prefix"), group, p->metrics,
                                   o->metric_prefix);
    if (!p->applied)
        return chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
    p->consumer = o->stream_consumer
                      ? chiso_kafka_stream_consumer_new(cfg, group, o->rebalance_cb,
                                                        o->rebalance_opaque, errstr, errstr_size)
                      : chiso_kafka_consumer_new(cfg, group, o->rebalance_cb, o->rebalance_opaque,
                                                 errstr, errstr_size);
    if (!p->consumer)
        return CHISO_EIO;
    p->stream = o->stream_consumer;
    snprintf(p->refill_metric, sizeof(p->refill_metric), "%s_refill_wakes_total",
             o->metric_prefix ? o->metric_prefix : "chiso");
    char why[256];
    p->txn = chiso_txn_new(p->producer, p->consumer, p->metrics, o->metric_prefix, 60000, why,
                           sizeof(why));
    if (!p->txn)
        return chiso_errf(errstr, errstr_size, CHISO_EIO, "%s (transactional id %s)", why,
                          p->transactional_id);
    return 0;
}

int chiso_processor_subscribe(chiso_processor *p, const chiso_config *cfg, const char *topic,
                              char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(p->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err)
        return chiso_errf(errstr, errstr_size, CHISO_EIO, "subscribe %s: %s", topic,
                          rd_kafka_err2str(err));
    LOG_INFO("consuming %s as group %s", topic, chiso_config_str(cfg, "group.id"));
    if (p->stream && !p->refill)
        p->refill = chiso_refill_start(
            p->consumer, chiso_metrics_counter(p->metrics, p->refill_metric,
                                               "Times the consumer's fetchers were woken to "
                                               "refill its queue (refill.h)"));
    return 0;
}

void chiso_processor_close(chiso_processor *p)
{
    chiso_refill_stop(p->refill);
    p->refill = NULL;
    if (p->consumer) {
        rd_kafka_consumer_close(p->consumer);
        rd_kafka_destroy(p->consumer);
        p->consumer = NULL;
    }
}

void chiso_processor_free(chiso_processor *p)
{
    chiso_processor_close(p);
    chiso_txn_destroy(p->txn);
    if (p->producer) {
        rd_kafka_flush(p->producer, 10000);
        rd_kafka_destroy(p->producer);
    }
    chiso_applied_destroy(p->applied);
    chiso_metrics_destroy(p->metrics);
    memset(p, 0, sizeof(*p));
}
