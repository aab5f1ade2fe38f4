/*
 * outbox.c - output records delivered before offsets are committed
 * (outbox.h).
 *
 * `outstanding` counts records handed to librdkafka whose delivery report
 * has not come back; a failed report (or a record librdkafka refused at
 * once) is copied into `retry`. Await polls the producer until nothing is
 * outstanding, then produces the kept records again after a backoff that
 * doubles up to 2 s, until none is left. Reports arrive on the thread that
 * polls the producer, which is the stage's own: no locking.
 */
#include "chiso/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/deadletter.h"
#include "chiso/kafka.h"

/* A record to produce again. */
typedef struct out_retry {
    char *topic;
    void *key;
    size_t keylen;
    char *payload; /* malloc'd */
    size_t len;
} out_retry;

struct chiso_outbox {
    rd_kafka_t *producer;
    volatile sig_atomic_t *stop;
    int outstanding; /* produced, report not back yet */
    int lost;        /* records that could not be kept for a retry */
    out_retry *retry;
    int nretry, capretry;
    chiso_counter *m_retries;
    chiso_counter *m_dead[CHISO_REJECT_REASON_COUNT];
};

chiso_outbox *chiso_outbox_new(rd_kafka_t *producer, volatile sig_atomic_t *stop,
                               chiso_metrics *metrics, const char *metric_prefix)
{
    char name[160];
    chiso_outbox *ob = calloc(1, sizeof(*ob));
    if (!ob)
        return NULL;
    ob->producer = producer;
    ob->stop = stop;
    snprintf(name, sizeof(name), "%s_output_retries_total", metric_prefix);
    ob->m_retries =
        chiso_metrics_counter(metrics, name, "Output records (dead letters, ...) produced again");
    chiso_dead_counters(ob->m_dead, metrics, metric_prefix);
    return ob;
}

void chiso_dead_counters(chiso_counter *counters[CHISO_REJECT_REASON_COUNT], chiso_metrics *metrics,
                         const char *metric_prefix)
{
    char name[160];
    counters[0] = NULL;
    for (int r = 1; r < CHISO_REJECT_REASON_COUNT; r++) {
        snprintf(name, sizeof(name), "%s_deadletter_total{reason=\"%s\"}", metric_prefix,
                 chiso_reject_code((chiso_reject_reason)r));
        counters[r] = chiso_metrics_counter(metrics, name, "Records dead-lettered, by reason");
    }
}

char *chiso_dead_record(const rd_kafka_message_t *msg, const chiso_reject *rej, int64_t now,
                        chiso_counter *const counters[CHISO_REJECT_REASON_COUNT])
{
    char *json = chiso_deadletter_json(rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset,
                                       rej, msg->payload, msg->len, now);
    if (!json)
        return NULL;
    LOG_DEBUG("dead letter %s [%d] @%lld: %s: %s", rd_kafka_topic_name(msg->rkt), msg->partition,
              (long long)msg->offset, chiso_reject_code(rej->reason), rej->detail);
    if (rej->reason > CHISO_REJECT_NONE && rej->reason < CHISO_REJECT_REASON_COUNT)
        chiso_counter_add(counters[rej->reason], 1);
    return json;
}

static void retry_clear(chiso_outbox *ob)
{
    for (int i = 0; i < ob->nretry; i++) {
        free(ob->retry[i].topic);
        free(ob->retry[i].key);
        free(ob->retry[i].payload);
    }
    ob->nretry = 0;
}

void chiso_outbox_destroy(chiso_outbox *ob)
{
    if (!ob)
        return;
    retry_clear(ob);
    free(ob->retry);
    free(ob);
}

/* Keep a record for producing again (takes ownership of payload). Out of
 * memory, the record is lost: the batch must not be committed, so the
 * stage is asked to stop and a restart produces it again. */
static void retry_later(chiso_outbox *ob, const char *topic, const void *key, size_t keylen,
                        char *payload, size_t len)
{
    out_retry *r;
    if (ob->nretry == ob->capretry) {
        int cap = ob->capretry ? ob->capretry * 2 : 64;
        out_retry *grown = realloc(ob->retry, (size_t)cap * sizeof(*grown));
        if (!grown)
            goto oom;
        ob->retry = grown;
        ob->capretry = cap;
    }
    r = &ob->retry[ob->nretry];
    r->topic = strdup(topic);
    r->key = keylen ? malloc(keylen) : NULL;
    if (!r->topic || (keylen && !r->key)) {
        free(r->topic);
        free(r->key);
        goto oom;
    }
    if (keylen)
        memcpy(r->key, key, keylen);
    r->keylen = keylen;
    r->payload = payload;
    r->len = len;
    ob->nretry++;
    return;
oom:
    LOG_ERROR("out of memory keeping an undelivered output; stopping");
    free(payload);
    ob->lost++;
    *ob->stop = 1;
}

void chiso_outbox_on_delivery(const rd_kafka_message_t *msg)
{
    chiso_outbox *ob = msg->_private;
    if (!ob)
        return;
    ob->outstanding--;
    if (!msg->err)
        return;
    LOG_WARN("output to %s not delivered: %s", rd_kafka_topic_name(msg->rkt),
             rd_kafka_err2str(msg->err));
    char *copy = malloc(msg->len + 1);
    if (!copy) {
        LOG_ERROR("out of memory keeping an undelivered output; stopping");
        ob->lost++;
        *ob->stop = 1;
        return;
    }
    memcpy(copy, msg->payload, msg->len);
    copy[msg->len] = '\0';
    retry_later(ob, rd_kafka_topic_name(msg->rkt), msg->key, msg->key_len, copy, msg->len);
}

int chiso_outbox_produce(chiso_outbox *ob, const char *topic, const void *key, size_t keylen,
                         char *payload, size_t len)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            ob->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
            RD_KAFKA_V_VALUE(payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
            RD_KAFKA_V_OPAQUE(ob), RD_KAFKA_V_END);
        if (!err) {
            ob->outstanding++;
            return 0;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            LOG_WARN("produce to %s: %s; will try again", topic, rd_kafka_err2str(err));
            retry_later(ob, topic, key, keylen, payload, len);
            return ob->lost ? CHISO_ENOMEM : 0;
        }
        rd_kafka_poll(ob->producer, 10);
    }
}

int chiso_outbox_deadletter(chiso_outbox *ob, const char *topic, const rd_kafka_message_t *msg,
                            const chiso_reject *rej, int64_t now)
{
    char *json = chiso_dead_record(msg, rej, now, ob->m_dead);
    if (!json)
        return CHISO_ENOMEM;
    return chiso_outbox_produce(ob, topic, msg->key, msg->key_len, json, strlen(json));
}

int chiso_outbox_await(chiso_outbox *ob)
{
    int delay = 100;
    for (;;) {
        while (ob->outstanding > 0)
            rd_kafka_poll(ob->producer, 10);
        if (ob->lost) {
            ob->lost = 0;
            return CHISO_EIO;
        }
        if (ob->nretry == 0)
            return 0;
        if (*ob->stop)
            return CHISO_EIO;
        LOG_WARN("%d output record(s) not delivered; producing them again in %d ms", ob->nretry,
                 delay);
        chiso_counter_add(ob->m_retries, (uint64_t)ob->nretry);
        chiso_backoff(ob->producer, ob->stop, &delay);
        int n = ob->nretry;
        out_retry *list = ob->retry;
        ob->retry = NULL;
        ob->nretry = ob->capretry = 0;
        for (int i = 0; i < n; i++) {
            chiso_outbox_produce(ob, list[i].topic, list[i].key, list[i].keylen, list[i].payload,
                                 list[i].len);
            free(list[i].topic);
            free(list[i].key);
        }
        free(list);
    }
}

void chiso_outbox_abandon(chiso_outbox *ob)
{
    if (*ob->stop)
        rd_kafka_purge(ob->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    while (ob->outstanding > 0)
        rd_kafka_poll(ob->producer, 10);
    retry_clear(ob);
    ob->lost = 0;
}

int chiso_outbox_pending(const chiso_outbox *ob)
{
    return ob->outstanding + ob->nretry + ob->lost;
}
