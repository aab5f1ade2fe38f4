/*
 * test_refill.c - the refill thread (refill.h): when it decides to wake a
 * consumer's fetchers, and, on librdkafka's mock cluster, that a stream
 * consumer behind on a small prefetch is woken and reads every record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "chiso/common.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/refill.h"
#include "chiso/runtime.h"

#include "check.h"

#define N_RECORDS 6000
#define PREFETCH  "1000"

static void test_due(void)
{
    chiso_refill_watch w = {.backlog = 100};

    /* a stream that keeps up: its queue never holds a backlog */
    for (int i = 0; i < 50; i++)
        CHECK(!chiso_refill_due(&w, (i * 37) % 90), "a queue of %d is no backlog", (i * 37) % 90);
    /* a backlog: woken once it has halved, not before */
    CHECK(!chiso_refill_due(&w, 120), "full");
    CHECK(!chiso_refill_due(&w, 61), "above half of 120");
    CHECK(chiso_refill_due(&w, 60), "half of 120");
    CHECK_EQ_INT(w.most, 60, "the most starts again from the queue at the wake");
    CHECK(!chiso_refill_due(&w, 30), "halved again, but 60 was no backlog");
    CHECK(!chiso_refill_due(&w, 0), "empty, no backlog since the wake");
    /* refilled after the wake, then eaten again */
    CHECK(!chiso_refill_due(&w, 200), "refilled");
    CHECK(!chiso_refill_due(&w, 150), "eating");
    CHECK(chiso_refill_due(&w, 100), "half of 200");
    CHECK(!chiso_refill_due(&w, 90), "once per halving");
}

/* A stream consumer with a prefetch of PREFETCH records reads N_RECORDS
 * slower than the mock serves them: its queue fills, halves, and the
 * refill thread wakes the fetchers. */
static void test_mock(void)
{
    static const chiso_cfg_def defs[] = {CHISO_KAFKA_CFG_DEFS, {NULL, 0, NULL, NULL, NULL}};
    char err[512] = "";
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    chiso_config *cfg = chiso_config_new(defs);
    chiso_metrics *m = chiso_metrics_new();
    rd_kafka_t *mrk = NULL, *producer = NULL, *consumer = NULL;
    rd_kafka_mock_cluster_t *mcluster = NULL;
    chiso_refill *refill = NULL;
    const char *topic = "t2.dossier.events";
    int consumed = 0;

    CHECK(cfg && m, "config and metrics");
    rd_kafka_conf_set(mconf, "log_level", "3", err, sizeof(err));
    mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
    CHECK(mrk != NULL, "mock handle: %s", err);
    if (!mrk || !cfg || !m)
        goto out;
    mcluster = rd_kafka_mock_cluster_new(mrk, 1);
    CHECK(mcluster != NULL, "mock cluster");
    if (!mcluster)
        goto out;
    CHECK(rd_kafka_mock_topic_create(mcluster, topic, 2, 1) == RD_KAFKA_RESP_ERR_NO_ERROR,
          "mock topic");
    CHECK_EQ_INT(chiso_config_set(cfg, "brokers", rd_kafka_mock_cluster_bootstraps(mcluster), err,
                                  sizeof(err)),
                 0, "%s", err);

    producer = chiso_kafka_producer_new(cfg, NULL, NULL, err, sizeof(err));
    CHECK(producer != NULL, "producer: %s", err);
    if (!producer)
        goto out;
    int produced = 0;
    for (int i = 0; i < N_RECORDS; i++) {
        char v[32];
        int n = snprintf(v, sizeof(v), "record %d", i);
        produced += rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic),
                                      RD_KAFKA_V_PARTITION(i % 2), RD_KAFKA_V_VALUE(v, (size_t)n),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    CHECK_EQ_INT(produced, N_RECORDS, "every record produced");
    CHECK(rd_kafka_flush(producer, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");

    /* a consumer's setting: set once the producer exists */
    CHECK_EQ_INT(chiso_config_set(cfg, "kafka.queued.min.messages", PREFETCH, err, sizeof(err)), 0,
                 "%s", err);
    consumer = chiso_kafka_stream_consumer_new(cfg, "refill-group", NULL, NULL, err, sizeof(err));
    CHECK(consumer != NULL, "consumer: %s", err);
    if (!consumer)
        goto out;
    {
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
        CHECK(rd_kafka_subscribe(consumer, sub) == RD_KAFKA_RESP_ERR_NO_ERROR, "subscribe");
        rd_kafka_topic_partition_list_destroy(sub);
    }
    chiso_counter *wakes = chiso_metrics_counter(m, "test_refill_wakes_total", "wakes");
    refill = chiso_refill_start(consumer, wakes);
    CHECK(refill != NULL, "refill thread");
    /* 2 ms a hundred records: slower than the mock fills the queue */
    const struct timespec pause = {.tv_sec = 0, .tv_nsec = 2000000L};
    int64_t deadline = chiso_now_mono_us() + 60 * 1000000LL;
    while (consumed < N_RECORDS && chiso_now_mono_us() < deadline) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(consumer, 100);
        if (!msg)
            continue;
        if (!msg->err && ++consumed % 100 == 0)
            nanosleep(&pause, NULL);
        rd_kafka_message_destroy(msg);
    }
    CHECK_EQ_INT(consumed, N_RECORDS, "every record read");
    CHECK(chiso_counter_value(wakes) > 0, "the fetchers were never woken");
    printf("woken %llu times\n", (unsigned long long)chiso_counter_value(wakes));

out:
    chiso_refill_stop(refill);
    if (consumer) {
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
    }
    if (producer)
        rd_kafka_destroy(producer);
    if (mcluster)
        rd_kafka_mock_cluster_destroy(mcluster);
    if (mrk)
        rd_kafka_destroy(mrk);
    chiso_metrics_destroy(m);
    chiso_config_destroy(cfg);
}

int main(void)
{
    chiso_log_set_component("test_refill");
    test_due();
    test_mock();
    return CHECK_DONE();
}
