/*
 * txn.c - outputs and offsets in Kafka transactions (txn.h).
 */
#include "chiso/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/deadletter.h"

/* How long one transactional call may take before it is tried again
 * (retriable) or given up (abort). */
#define CALL_TIMEOUT_MS 30000

/* A topic the stage produces to, and the producer's handle of it. */
typedef struct txn_topic {
    char *name;
    rd_kafka_topic_t *rkt;
} txn_topic;

struct chiso_txn {
    rd_kafka_t *producer, *consumer;
    bool open, fatal;
    /* the topics produced to, each handle kept: naming the topic in a
     * producev looks it up and releases it again, every record */
    txn_topic *topics;
    int ntopics;
    chiso_counter *m_commits, *m_aborts;
    chiso_histogram *m_commit_secs; /* offsets sent, outputs flushed, EndTxn answered */
    chiso_counter *m_dead[CHISO_REJECT_REASON_COUNT];
};

/* The dead letter of consumed record `msg` (CONTRACT.md's format, `at` =
 * now), logged at debug level. Caller frees. NULL on out of memory. */
static char *dead_record(const rd_kafka_message_t *msg, const chiso_reject *rej, int64_t now)
{
    char *json = chiso_deadletter_json(rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset,
                                       rej, msg->payload, msg->len, now);
    if (json)
        LOG_DEBUG("dead letter %s [%d] @%lld: %s: %s", rd_kafka_topic_name(msg->rkt),
                  msg->partition, (long long)msg->offset, chiso_reject_code(rej->reason),
                  rej->detail);
    return json;
}

static const double commit_bounds[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                       0.1,   0.2,   0.5,   1,    5,    30};

chiso_txn *chiso_txn_new(rd_kafka_t *producer, rd_kafka_t *consumer, chiso_metrics *metrics,
                         const char *metric_prefix, int timeout_ms, char *errstr,
                         size_t errstr_size)
{
    char name[160];
    rd_kafka_error_t *err = rd_kafka_init_transactions(producer, timeout_ms);
    if (err) {
        chiso_errf(errstr, errstr_size, CHISO_EIO, "initializing Kafka transactions: %s",
                   rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
        return NULL;
    }
    chiso_txn *t = calloc(1, sizeof(*t));
    if (!t) {
        chiso_errf(errstr, errstr_size, CHISO_ENOMEM, "out of memory");
        return NULL;
    }
    t->producer = producer;
    t->consumer = consumer;
    snprintf(name, sizeof(name), "%s_transactions_total", metric_prefix);
    t->m_commits =
        chiso_metrics_counter(metrics, name, "Kafka transactions committed (outputs and offsets)");
    snprintf(name, sizeof(name), "%s_transactions_aborted_total", metric_prefix);
    t->m_aborts = chiso_metrics_counter(
        metrics, name, "Kafka transactions aborted (their records consumed again)");
    snprintf(name, sizeof(name), "%s_transaction_commit_seconds", metric_prefix);
    t->m_commit_secs = chiso_metrics_histogram(
        metrics, name, "Time a transaction's commit held the stage (offsets, flush, end)",
        commit_bounds, (int)(sizeof(commit_bounds) / sizeof(commit_bounds[0])));
    for (int r = 1; r < CHISO_REJECT_REASON_COUNT; r++) {
        snprintf(name, sizeof(name), "%s_deadletter_total{reason=\"%s\"}", metric_prefix,
                 chiso_reject_code((chiso_reject_reason)r));
        t->m_dead[r] = chiso_metrics_counter(metrics, name, "Records dead-lettered, by reason");
    }
    return t;
}

void chiso_txn_destroy(chiso_txn *t)
{
    if (!t)
        return;
    chiso_txn_abort(t);
    for (int i = 0; i < t->ntopics; i++) {
        rd_kafka_topic_destroy(t->topics[i].rkt);
        free(t->topics[i].name);
    }
    free(t->topics);
    free(t);
}

bool chiso_txn_open(const chiso_txn *t)
{
    return t->open;
}

bool chiso_txn_fatal(const chiso_txn *t)
{
    return t->fatal;
}

void chiso_txn_abort(chiso_txn *t)
{
    if (!t->open)
        return;
    t->open = false;
    chiso_counter_add(t->m_aborts, 1);
    for (int tries = 0; tries < 10; tries++) {
        rd_kafka_error_t *err = rd_kafka_abort_transaction(t->producer, CALL_TIMEOUT_MS);
        if (!err)
            return;
        bool again = rd_kafka_error_is_retriable(err);
        LOG_WARN("aborting the Kafka transaction: %s", rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
        if (!again)
            return;
    }
}

/* An error of a transactional call: abort when Kafka requires it
 * (CHISO_EABORTED), CHISO_EIO when fatal, 1 when the call may be tried
 * again. Takes the error. */
static int failed(chiso_txn *t, rd_kafka_error_t *err, const char *what)
{
    int rc;
    if (rd_kafka_error_is_fatal(err)) {
        LOG_ERROR("%s: %s (fatal: another instance took the transactional id, or the "
                  "transaction outlived transaction.timeout.ms; a restart re-initializes it)",
                  what, rd_kafka_error_string(err));
        t->fatal = true;
        rc = CHISO_EIO;
    } else if (rd_kafka_error_is_retriable(err)) {
        LOG_WARN("%s: %s; trying again", what, rd_kafka_error_string(err));
        rc = 1;
    } else {
        LOG_WARN("%s: %s; aborting the transaction, its records are consumed again", what,
                 rd_kafka_error_string(err));
        rc = CHISO_EABORTED;
    }
    rd_kafka_error_destroy(err);
    if (rc == CHISO_EABORTED)
        chiso_txn_abort(t);
    return rc;
}

static int begin(chiso_txn *t)
{
    if (t->open)
        return 0;
    rd_kafka_error_t *err = rd_kafka_begin_transaction(t->producer);
    if (err) {
        int rc = failed(t, err, "beginning a Kafka transaction");
        return rc == 1 ? CHISO_EABORTED : rc;
    }
    t->open = true;
    return 0;
}

/* The producer's handle of `topic`, kept from its first use (a stage
 * produces to two or three topics); NULL when out of memory or when
 * librdkafka gives none. */
static rd_kafka_topic_t *topic_handle(chiso_txn *t, const char *topic)
{
    for (int i = 0; i < t->ntopics; i++)
        if (strcmp(t->topics[i].name, topic) == 0)
            return t->topics[i].rkt;
    txn_topic *grown = realloc(t->topics, sizeof(*grown) * (size_t)(t->ntopics + 1));
    if (!grown)
        return NULL;
    t->topics = grown;
    char *name = strdup(topic);
    rd_kafka_topic_t *rkt = name ? rd_kafka_topic_new(t->producer, topic, NULL) : NULL;
    if (!rkt) {
        free(name);
        return NULL;
    }
    t->topics[t->ntopics].name = name;
    t->topics[t->ntopics++].rkt = rkt;
    return rkt;
}

int chiso_txn_produce(chiso_txn *t, const char *topic, const void *key, size_t keylen,
                      const void *payload, size_t len)
{
    int rc = begin(t);
    if (rc)
        return rc;
    rd_kafka_topic_t *rkt = topic_handle(t, topic);
    if (!rkt) {
        LOG_WARN("producing to %s: no topic handle (%s); aborting the transaction", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        chiso_txn_abort(t);
        return CHISO_EABORTED;
    }
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(t->producer, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(key, keylen),
                              RD_KAFKA_V_VALUE((void *)payload, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (!err)
            return 0;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(t->producer, 10);
            continue;
        }
        LOG_WARN("producing to %s: %s; aborting the transaction", topic, rd_kafka_err2str(err));
        chiso_txn_abort(t);
        return CHISO_EABORTED;
    }
}

int chiso_txn_deadletter(chiso_txn *t, const char *topic, const rd_kafka_message_t *msg,
                         const chiso_reject *rej, int64_t now)
{
    char *json = dead_record(msg, rej, now);
    if (!json)
        return CHISO_ENOMEM;
    int rc = chiso_txn_produce(t, topic, msg->key, msg->key_len, json, strlen(json));
    if (rc == 0 && rej->reason > CHISO_REJECT_NONE && rej->reason < CHISO_REJECT_REASON_COUNT)
        chiso_counter_add(t->m_dead[rej->reason], 1);
    free(json);
    return rc;
}

int chiso_txn_commit(chiso_txn *t, const rd_kafka_topic_partition_list_t *offsets)
{
    int64_t t0 = chiso_now_mono_us();
    int rc = begin(t);
    if (rc)
        return rc;
    if (offsets && offsets->cnt > 0) {
        for (;;) {
            rd_kafka_consumer_group_metadata_t *cgmd =
                rd_kafka_consumer_group_metadata(t->consumer);
            rd_kafka_error_t *err =
                rd_kafka_send_offsets_to_transaction(t->producer, offsets, cgmd, CALL_TIMEOUT_MS);
            rd_kafka_consumer_group_metadata_destroy(cgmd);
            if (!err)
                break;
            if ((rc = failed(t, err, "sending the offsets to the Kafka transaction")) != 1)
                return rc;
        }
    }
    for (;;) {
        rd_kafka_error_t *err = rd_kafka_commit_transaction(t->producer, CALL_TIMEOUT_MS);
        if (!err)
            break;
        if ((rc = failed(t, err, "committing the Kafka transaction")) != 1)
            return rc;
    }
    t->open = false;
    chiso_counter_add(t->m_commits, 1);
    chiso_histogram_observe(t->m_commit_secs, (double)(chiso_now_mono_us() - t0) / 1e6);
    return 0;
}
