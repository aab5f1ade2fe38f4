/*
 * test_kafka_mock.c - the chiso Kafka clients against librdkafka's in-process
 * mock cluster: the producer's settings and delivery reports, retriable
 * produce errors absorbed by the idempotent producer (each message still
 * delivered exactly once), and the consumer group reading it all back with
 * manual offset store and commit. Also what ensure_topics does on the mock:
 * argument errors, and success without CreateTopics when every topic exists.
 *
 * Not testable on the 2.0.2 mock: a lost Produce response (appended, then
 * the request times out and is retried) - the mock does not deduplicate by
 * producer id and sequence, so the retry is appended twice where a real
 * broker answers DUPLICATE_SEQUENCE_NUMBER; and topic creation (no
 * controller, no CreateTopics). Both belong to the real-broker tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/consumer.h"
#include "chiso/kafka.h"

#include "check.h"

#define APIKEY_PRODUCE 0 /* Kafka protocol ProduceRequest */
#define N_EVENTS       30
#define N_SCORES       20
#define MAX_KEYS       (N_EVENTS + N_SCORES)

typedef struct delivery {
    int ok, failed;
    int per_key[MAX_KEYS]; /* successful reports per message key */
} delivery;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    delivery *d = opaque;
    (void)rk;
    if (msg->err) {
        d->failed++;
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(msg->err));
        return;
    }
    d->ok++;
    if (msg->key_len > 0 && msg->key_len < 16) {
        char key[16];
        memcpy(key, msg->key, msg->key_len);
        key[msg->key_len] = '\0';
        int k = atoi(key);
        if (k >= 0 && k < MAX_KEYS)
            d->per_key[k]++;
    }
}

static int assigns;

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        assigns++;
        rd_kafka_assign(rk, parts);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static void conf_expect(rd_kafka_t *rk, const char *name, const char *want)
{
    char val[256];
    size_t size = sizeof(val);
    const rd_kafka_conf_t *conf = rd_kafka_conf(rk);
    CHECK(rd_kafka_conf_get(conf, name, val, &size) == RD_KAFKA_CONF_OK, "get %s", name);
    CHECK(strcmp(val, want) == 0, "%s = '%s', want '%s'", name, val, want);
}

static void produce_range(rd_kafka_t *rk, const char *topic, int from, int to)
{
    for (int i = from; i < to; i++) {
        char key[16], value[64];
        snprintf(key, sizeof(key), "%d", i);
        snprintf(value, sizeof(value), "{\"n\":%d}", i);
        rd_kafka_resp_err_t err =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(value, strlen(value)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        CHECK(err == RD_KAFKA_RESP_ERR_NO_ERROR, "produce %d: %s", i, rd_kafka_err2str(err));
    }
}

/* A batch's offsets: per partition of each topic, past its highest
 * record, whatever order the runs of partitions come in. */
static void test_offsets(rd_kafka_t *rk)
{
    rd_kafka_topic_t *a = rd_kafka_topic_new(rk, "offsets.a", NULL);
    rd_kafka_topic_t *b = rd_kafka_topic_new(rk, "offsets.b", NULL);
    static const struct {
        int topic;
        int32_t partition;
        int64_t offset;
    } in[] = {{0, 0, 10}, {0, 0, 11}, {0, 1, 5}, {1, 0, 7},  {1, 0, 3},
              {0, 0, 4},  {0, 1, 9},  {1, 1, 2}, {0, 0, 12}, {1, 0, 8}};
    enum { N = sizeof(in) / sizeof(in[0]) };
    rd_kafka_message_t msgs[N];
    rd_kafka_message_t *ptrs[N];
    for (int i = 0; i < N; i++) {
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].rkt = in[i].topic ? b : a;
        msgs[i].partition = in[i].partition;
        msgs[i].offset = in[i].offset;
        ptrs[i] = &msgs[i];
    }
    rd_kafka_topic_partition_list_t *l = chiso_consumer_offsets(ptrs, N);
    CHECK(l && l->cnt == 4, "four partitions");
    static const struct {
        const char *topic;
        int32_t partition;
        int64_t next;
    } want[] = {
        {"offsets.a", 0, 13}, {"offsets.a", 1, 10}, {"offsets.b", 0, 9}, {"offsets.b", 1, 3}};
    for (size_t i = 0; l && i < sizeof(want) / sizeof(want[0]); i++) {
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, want[i].topic, want[i].partition);
        CHECK(tp && tp->offset == want[i].next, "%s [%d]: next offset %lld", want[i].topic,
              (int)want[i].partition, (long long)want[i].next);
    }
    rd_kafka_topic_partition_list_destroy(l);
    l = chiso_consumer_offsets(ptrs, 0);
    CHECK(l && l->cnt == 0, "no record, no offset");
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_topic_destroy(a);
    rd_kafka_topic_destroy(b);
}

int main(void)
{
    static const chiso_cfg_def defs[] = {CHISO_KAFKA_CFG_DEFS, {NULL, 0, NULL, NULL, NULL}};
    char err[512] = "", events[128], scores[128];
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_t *mrk, *producer = NULL, *consumer = NULL;
    rd_kafka_mock_cluster_t *mcluster;
    chiso_config *cfg = chiso_config_new(defs);
    delivery d = {0};
    int consumed[MAX_KEYS] = {0}, nconsumed = 0;
    size_t stack = 99;

    chiso_log_set_component("test_kafka_mock");
    rd_kafka_conf_set(mconf, "log_level", "3", err, sizeof(err));
    mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
    if (!mrk) {
        fprintf(stderr, "mock handle: %s\n", err);
        return 1;
    }
    test_offsets(mrk);
    mcluster = rd_kafka_mock_cluster_new(mrk, 3);
    CHECK(mcluster != NULL, "mock cluster");

    CHECK_EQ_INT(chiso_config_set(cfg, "brokers", rd_kafka_mock_cluster_bootstraps(mcluster), err,
                                  sizeof(err)),
                 0, "%s", err);
    CHECK_EQ_INT(chiso_config_set(cfg, "topic.prefix", "t1.", err, sizeof(err)), 0, "%s", err);
    /* Pass-through overrides chiso's producer default. */
    CHECK_EQ_INT(chiso_config_set(cfg, "kafka.linger.ms", "7", err, sizeof(err)), 0, "%s", err);
    chiso_topic_name(cfg, CHISO_TOPIC_DOSSIER_EVENTS, events, sizeof(events));
    chiso_topic_name(cfg, CHISO_TOPIC_SCORES, scores, sizeof(scores));
    CHECK_EQ_STR(events, "t1.dossier.events");
    CHECK(rd_kafka_mock_topic_create(mcluster, events, 3, 3) == RD_KAFKA_RESP_ERR_NO_ERROR,
          "mock topic");
    CHECK(rd_kafka_mock_topic_create(mcluster, scores, 1, 3) == RD_KAFKA_RESP_ERR_NO_ERROR,
          "mock topic");
    CHECK(rd_kafka_mock_partition_set_leader(mcluster, scores, 0, 2) == RD_KAFKA_RESP_ERR_NO_ERROR,
          "set leader");

    /* ensure_topics: the 2.0.2 mock has neither a controller nor a
     * CreateTopics handler (a call waits out its 30 s timeout and fails), so
     * only the argument errors, which fail before any request, are tested
     * here; creation is covered against a real broker by the e2e tests. */
    CHECK_EQ_INT(chiso_kafka_ensure_topics(cfg, -5, 1, err, sizeof(err)), CHISO_EIO,
                 "-5 partitions");
    CHECK(strstr(err, "t1.dossier.events") != NULL, "error names the topic: %s", err);

    /* ensure_topics reads metadata first: when every contract topic exists
     * (here made with the mock's own call) it succeeds with no admin call,
     * well before the 30 s a CreateTopics would wait out. */
    {
        static const char *const bases[] = {
            CHISO_TOPIC_DOSSIER_EVENTS,  CHISO_TOPIC_CATALOG_PROCEDURES, CHISO_TOPIC_CATALOG_UNITS,
            CHISO_TOPIC_FEEDBACK_EVENTS, CHISO_TOPIC_DOSSIER_CLASSIFIED, CHISO_TOPIC_SCORES,
            CHISO_TOPIC_ALERTS,          CHISO_TOPIC_DEADLETTER};
        char name[128];
        CHECK_EQ_INT(chiso_config_set(cfg, "topic.prefix", "t2.", err, sizeof(err)), 0, "%s", err);
        for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
            chiso_topic_name(cfg, bases[i], name, sizeof(name));
            CHECK(rd_kafka_mock_topic_create(mcluster, name, 2, 3) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "mock topic %s", name);
        }
        int64_t t0 = chiso_now_mono_us();
        CHECK_EQ_INT(chiso_kafka_ensure_topics(cfg, 4, 1, err, sizeof(err)), 0, "%s", err);
        CHECK(chiso_now_mono_us() - t0 < 10 * 1000000LL, "ensure_topics took %lld us",
              (long long)(chiso_now_mono_us() - t0));
        CHECK_EQ_INT(chiso_kafka_ensure_topics_cfg(cfg, err, sizeof(err)), 0, "%s", err);
        CHECK_EQ_INT(chiso_config_set(cfg, "topic.prefix", "t1.", err, sizeof(err)), 0, "%s", err);
    }

    /* Producer: settings, then plain delivery. */
    producer = chiso_kafka_producer_new(cfg, dr_cb, &d, err, sizeof(err));
    CHECK(producer != NULL, "producer: %s", err);
    if (!producer)
        goto out;
    conf_expect(producer, "enable.idempotence", "true");
    conf_expect(producer, "acks", "-1");
    conf_expect(producer, "compression.codec", "lz4");
    conf_expect(producer, "linger.ms", "7");
    conf_expect(producer, "message.timeout.ms", "300000");
    produce_range(producer, events, 0, N_EVENTS);
    CHECK(rd_kafka_flush(producer, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");
    CHECK_EQ_INT(d.ok, N_EVENTS, "delivered");

    /* Retriable errors on Produce, first cluster-wide, then on the leader
     * broker (whose stack can be checked empty afterwards). The idempotent
     * producer retries with the same sequence numbers. */
    rd_kafka_mock_push_request_errors(mcluster, APIKEY_PRODUCE, 2,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    produce_range(producer, scores, N_EVENTS, N_EVENTS + N_SCORES / 2);
    CHECK(rd_kafka_flush(producer, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush after errors");
    CHECK(rd_kafka_mock_broker_push_request_error_rtts(
              mcluster, 2, APIKEY_PRODUCE, 2, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 0,
              RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, 0) == RD_KAFKA_RESP_ERR_NO_ERROR,
          "push broker errors");
    produce_range(producer, scores, N_EVENTS + N_SCORES / 2, N_EVENTS + N_SCORES);
    CHECK(rd_kafka_flush(producer, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush after errors");
    CHECK(rd_kafka_mock_broker_error_stack_cnt(mcluster, 2, APIKEY_PRODUCE, &stack) ==
              RD_KAFKA_RESP_ERR_NO_ERROR,
          "error stack");
    CHECK_EQ_INT(stack, 0, "the injected errors were all served");
    CHECK_EQ_INT(d.ok, N_EVENTS + N_SCORES, "all delivered");
    CHECK_EQ_INT(d.failed, 0, "no failed delivery");
    for (int k = 0; k < MAX_KEYS; k++)
        CHECK_EQ_INT(d.per_key[k], 1, "one delivery report for key %d", k);

    /* Consumer group: read everything back exactly once, store and commit. */
    consumer = chiso_kafka_consumer_new(cfg, "test-group", rebalance_cb, NULL, err, sizeof(err));
    CHECK(consumer != NULL, "consumer: %s", err);
    if (!consumer)
        goto out;
    conf_expect(consumer, "enable.auto.commit", "false");
    conf_expect(consumer, "enable.auto.offset.store", "false");
    conf_expect(consumer, "group.id", "test-group");
    {
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2);
        rd_kafka_topic_partition_list_add(sub, events, RD_KAFKA_PARTITION_UA);
        rd_kafka_topic_partition_list_add(sub, scores, RD_KAFKA_PARTITION_UA);
        CHECK(rd_kafka_subscribe(consumer, sub) == RD_KAFKA_RESP_ERR_NO_ERROR, "subscribe");
        rd_kafka_topic_partition_list_destroy(sub);
    }
    int64_t deadline = chiso_now_mono_us() + 60 * 1000000LL;
    while (nconsumed < MAX_KEYS && chiso_now_mono_us() < deadline) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(consumer, 200);
        if (!msg)
            continue;
        if (!msg->err) {
            char key[16] = "";
            if (msg->key_len < sizeof(key))
                memcpy(key, msg->key, msg->key_len);
            int k = atoi(key);
            if (k >= 0 && k < MAX_KEYS)
                consumed[k]++;
            nconsumed++;
            /* 2.0.2 has no rd_kafka_offset_store_message(): store
             * offset + 1, the next one to read. */
            rd_kafka_topic_partition_list_t *st = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(st, rd_kafka_topic_name(msg->rkt), msg->partition)
                ->offset = msg->offset + 1;
            CHECK(rd_kafka_offsets_store(consumer, st) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "offset store");
            rd_kafka_topic_partition_list_destroy(st);
        }
        rd_kafka_message_destroy(msg);
    }
    CHECK(assigns >= 1, "rebalance callback assigned partitions");
    CHECK_EQ_INT(nconsumed, MAX_KEYS, "consumed");
    for (int k = 0; k < MAX_KEYS; k++)
        CHECK_EQ_INT(consumed[k], 1, "key %d consumed once", k);
    CHECK(rd_kafka_commit(consumer, NULL, 0) == RD_KAFKA_RESP_ERR_NO_ERROR, "commit");
    {
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(4);
        int64_t sum = 0;
        for (int p = 0; p < 3; p++)
            rd_kafka_topic_partition_list_add(parts, events, p);
        rd_kafka_topic_partition_list_add(parts, scores, 0);
        CHECK(rd_kafka_committed(consumer, parts, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR,
              "committed");
        for (int i = 0; i < parts->cnt; i++)
            sum += parts->elems[i].offset > 0 ? parts->elems[i].offset : 0;
        CHECK_EQ_INT(sum, MAX_KEYS, "committed offsets cover every message");
        rd_kafka_topic_partition_list_destroy(parts);
    }

out:
    if (consumer) {
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
    }
    if (producer)
        rd_kafka_destroy(producer);
    chiso_config_destroy(cfg);
    if (mcluster)
        rd_kafka_mock_cluster_destroy(mcluster);
    rd_kafka_destroy(mrk);
    return CHECK_DONE();
}
