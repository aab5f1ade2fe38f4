/*
 * consumer.c - committing a batch's offsets and measuring lag (consumer.h).
 */
#include "chiso/consumer.h"

#include "chiso/common.h"
#include "chiso/runtime.h"

int chiso_offsets_begin(chiso_offsets *o)
{
    o->list = rd_kafka_topic_partition_list_new(8);
    o->last_rkt = NULL;
    o->last_partition = -1;
    o->at = -1;
    return o->list ? 0 : CHISO_ENOMEM;
}

void chiso_offsets_note(chiso_offsets *o, const rd_kafka_message_t *m)
{
    /* records come in runs of one partition (a fetch's): the list, which
     * compares topic names, is searched when the partition changes; the
     * index survives the adds (the list grows by index) */
    if (m->rkt != o->last_rkt || m->partition != o->last_partition) {
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(o->list, topic, m->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(o->list, topic, m->partition);
        o->at = (int)(tp - o->list->elems);
        o->last_rkt = m->rkt;
        o->last_partition = m->partition;
    }
    if (o->list->elems[o->at].offset < m->offset + 1)
        o->list->elems[o->at].offset = m->offset + 1;
}

rd_kafka_topic_partition_list_t *chiso_consumer_offsets(rd_kafka_message_t *const *msgs, int n)
{
    chiso_offsets o;
    if (chiso_offsets_begin(&o) != 0)
        return NULL;
    for (int i = 0; i < n; i++)
        chiso_offsets_note(&o, msgs[i]);
    return o.list;
}

int chiso_consumer_commit_offsets(rd_kafka_t *consumer,
                                  const rd_kafka_topic_partition_list_t *offsets, bool sync)
{
    rd_kafka_resp_err_t err = offsets->cnt ? rd_kafka_commit(consumer, offsets, sync ? 0 : 1)
                                           : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        LOG_WARN("offset commit: %s", rd_kafka_err2str(err));
        return CHISO_EIO;
    }
    return 0;
}

int64_t chiso_consumer_lag(rd_kafka_t *consumer)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    int64_t lag = 0;
    if (rd_kafka_assignment(consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return -1;
    if (parts->cnt == 0)
        lag = -1;
    rd_kafka_position(consumer, parts);
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].offset < 0) {
            /* nothing consumed since the assignment: start from the
             * group's committed offsets (a short broker round trip) */
            rd_kafka_committed(consumer, parts, 500);
            break;
        }
    }
    for (int i = 0; i < parts->cnt && lag >= 0; i++) {
        int64_t lo, hi;
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (rd_kafka_get_watermark_offsets(consumer, tp->topic, tp->partition, &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0) {
            lag = -1;
        } else if (tp->offset < 0) {
            lag = hi > lo ? -1 : lag; /* nothing consumed yet: unknown unless empty */
        } else if (hi > tp->offset) {
            lag += hi - tp->offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return lag;
}
