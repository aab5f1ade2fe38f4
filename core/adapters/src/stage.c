/*
 * stage.c - the run loop of a batch-consuming stage (stage.h).
 *
 * A batch that fails is not committed, but the consumer has moved past its
 * records: going on would commit later offsets over them. So the loop stops
 * (unless it was stopping anyway) and a restart replays from the last
 * committed offset, which the stages' idempotent writes make harmless.
 */
#include "chiso/stage.h"

#include "chiso/common.h"
#include "chiso/consumer.h"

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
