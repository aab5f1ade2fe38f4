/*
 * txn.c - outputs and offsets in Kafka transactions (txn.h).
 */
#include "chiso/txn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/deadletter.h"

/* How long one transactional call may take before it is tried again
 * (retriable) or given up (abort). */
#define CALL_TIMEOUT_MS 30000

/* A record produced while a commit runs: produced in the next transaction
 * once that commit is over. */
typedef struct held {
    char *topic;
    void *key, *payload;
    size_t keylen, len;
} held;

struct chiso_txn {
    rd_kafka_t *producer, *consumer;
    bool open, fatal;
    bool poisoned; /* the records held during a commit could not follow it */
    /* a commit running on its own thread (chiso_txn_commit_start) */
    bool running;
    atomic_int done;
    int result;
    pthread_t thread;
    rd_kafka_topic_partition_list_t *inflight;
    rd_kafka_consumer_group_metadata_t *cgmd;
    held *held;
    int nheld, capheld;
    chiso_counter *m_commits, *m_aborts;
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
    for (int r = 1; r < CHISO_REJECT_REASON_COUNT; r++) {
        snprintf(name, sizeof(name), "%s_deadletter_total{reason=\"%s\"}", metric_prefix,
                 chiso_reject_code((chiso_reject_reason)r));
        t->m_dead[r] = chiso_metrics_counter(metrics, name, "Records dead-lettered, by reason");
    }
    return t;
}

static void held_clear(chiso_txn *t)
{
    for (int i = 0; i < t->nheld; i++) {
        free(t->held[i].topic);
        free(t->held[i].key);
        free(t->held[i].payload);
    }
    t->nheld = 0;
}

void chiso_txn_destroy(chiso_txn *t)
{
    if (!t)
        return;
    chiso_txn_abort(t);
    held_clear(t);
    free(t->held);
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

/* Abort the producer's open transaction (on any thread). */
static void abort_open(chiso_txn *t)
{
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

void chiso_txn_abort(chiso_txn *t)
{
    if (t->running)
        chiso_txn_commit_poll(t, true); /* its outcome no longer matters */
    held_clear(t);
    t->poisoned = false;
    if (!t->open)
        return;
    t->open = false;
    chiso_counter_add(t->m_aborts, 1);
    abort_open(t);
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
    return rc;
}

static int begin(chiso_txn *t)
{
    if (t->open)
        return 0;
    rd_kafka_error_t *err = rd_kafka_begin_transaction(t->producer);
    if (err) {
        int rc = failed(t, err, "beginning a Kafka transaction");
        if (rc != CHISO_EIO)
            abort_open(t);
        return rc == 1 ? CHISO_EABORTED : rc;
    }
    t->open = true;
    return 0;
}

/* Keep a record for the transaction after the running commit. */
static int hold(chiso_txn *t, const char *topic, const void *key, size_t keylen,
                const void *payload, size_t len)
{
    if (t->nheld == t->capheld) {
        int cap = t->capheld ? t->capheld * 2 : 256;
        held *grown = realloc(t->held, (size_t)cap * sizeof(*grown));
        if (!grown)
            return CHISO_ENOMEM;
        t->held = grown;
        t->capheld = cap;
    }
    held *h = &t->held[t->nheld];
    h->topic = strdup(topic);
    h->key = malloc(keylen ? keylen : 1);
    h->payload = malloc(len ? len : 1);
    if (!h->topic || !h->key || !h->payload) {
        free(h->topic);
        free(h->key);
        free(h->payload);
        return CHISO_ENOMEM;
    }
    memcpy(h->key, key, keylen);
    memcpy(h->payload, payload, len);
    h->keylen = keylen;
    h->len = len;
    t->nheld++;
    return 0;
}

static int produce_now(chiso_txn *t, const char *topic, const void *key, size_t keylen,
                       const void *payload, size_t len);

/* The transaction aborted behind the caller's back (held records that
 * could not follow a commit): CHISO_EABORTED once. */
static int poisoned(chiso_txn *t)
{
    if (!t->poisoned)
        return 0;
    t->poisoned = false;
    return CHISO_EABORTED;
}

int chiso_txn_produce(chiso_txn *t, const char *topic, const void *key, size_t keylen,
                      const void *payload, size_t len)
{
    int rc = poisoned(t);
    if (rc)
        return rc;
    if (t->running)
        return hold(t, topic, key, keylen, payload, len);
    return produce_now(t, topic, key, keylen, payload, len);
}

static int produce_now(chiso_txn *t, const char *topic, const void *key, size_t keylen,
                       const void *payload, size_t len)
{
    int rc = begin(t);
    if (rc)
        return rc;
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(t->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
                              RD_KAFKA_V_VALUE((void *)payload, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (!err)
            return 0;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(t->producer, 10);
            continue;
        }
        LOG_WARN("producing to %s: %s; aborting the transaction", topic, rd_kafka_err2str(err));
        t->open = false;
        chiso_counter_add(t->m_aborts, 1);
        abort_open(t);
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

/* The commit, on its own thread: the offsets, then the transaction;
 * retriable errors are tried again, an abortable one aborts. */
static void *commit_thread(void *arg)
{
    chiso_txn *t = arg;
    int rc = 0;
    if (t->inflight && t->inflight->cnt > 0) {
        for (;;) {
            rd_kafka_error_t *err = rd_kafka_send_offsets_to_transaction(t->producer, t->inflight,
                                                                         t->cgmd, CALL_TIMEOUT_MS);
            if (!err)
                break;
            if ((rc = failed(t, err, "sending the offsets to the Kafka transaction")) != 1)
                break;
            rc = 0;
        }
    }
    while (rc == 0) {
        rd_kafka_error_t *err = rd_kafka_commit_transaction(t->producer, CALL_TIMEOUT_MS);
        if (!err)
            break;
        if ((rc = failed(t, err, "committing the Kafka transaction")) == 1)
            rc = 0;
        else
            break;
    }
    if (rc == CHISO_EABORTED)
        abort_open(t);
    t->result = rc;
    atomic_store(&t->done, 1);
    return NULL;
}

/* Forget what the commit thread worked on. */
static void drop_inflight(chiso_txn *t)
{
    if (t->inflight)
        rd_kafka_topic_partition_list_destroy(t->inflight);
    if (t->cgmd)
        rd_kafka_consumer_group_metadata_destroy(t->cgmd);
    t->inflight = NULL;
    t->cgmd = NULL;
}

int chiso_txn_commit_start(chiso_txn *t, const rd_kafka_topic_partition_list_t *offsets)
{
    if (t->running)
        return CHISO_EINVAL;
    if (poisoned(t))
        return CHISO_EABORTED;
    bool any = offsets && offsets->cnt > 0;
    if (!t->open && !any)
        return 0; /* nothing to commit */
    int rc = begin(t);
    if (rc)
        return rc;
    t->inflight = any ? rd_kafka_topic_partition_list_copy(offsets) : NULL;
    t->cgmd = t->consumer ? rd_kafka_consumer_group_metadata(t->consumer) : NULL;
    if ((any && (!t->inflight || !t->cgmd))) {
        rc = CHISO_ENOMEM;
        goto fail;
    }
    atomic_store(&t->done, 0);
    if (pthread_create(&t->thread, NULL, commit_thread, t) != 0) {
        rc = CHISO_ENOMEM;
        goto fail;
    }
    t->running = true;
    return 0;
fail:
    drop_inflight(t);
    return rc;
}

int chiso_txn_commit_poll(chiso_txn *t, bool wait)
{
    if (!t->running)
        return 0;
    if (!wait && !atomic_load(&t->done))
        return 1;
    pthread_join(t->thread, NULL);
    t->running = false;
    drop_inflight(t);
    int rc = t->result;
    t->open = false;
    if (rc == CHISO_EIO) {
        t->fatal = true;
        held_clear(t);
        return rc;
    }
    if (rc != 0) {
        chiso_counter_add(t->m_aborts, 1);
        held_clear(t); /* theirs are later records: consumed again */
        return rc;
    }
    chiso_counter_add(t->m_commits, 1);
    /* what was produced meanwhile opens the next transaction; if that
     * fails, the next call says the transaction was aborted */
    for (int i = 0; i < t->nheld && rc == 0; i++)
        rc = produce_now(t, t->held[i].topic, t->held[i].key, t->held[i].keylen, t->held[i].payload,
                         t->held[i].len);
    held_clear(t);
    if (rc == CHISO_EIO)
        return rc;
    t->poisoned = rc != 0;
    return 0;
}

int chiso_txn_commit(chiso_txn *t, const rd_kafka_topic_partition_list_t *offsets)
{
    int rc = chiso_txn_commit_poll(t, true);
    if (rc == 0)
        rc = chiso_txn_commit_start(t, offsets);
    return rc == 0 ? chiso_txn_commit_poll(t, true) : rc;
}
