/*
 * refill.c - a thread that wakes a busy consumer's fetchers (refill.h).
 */
#include "chiso/refill.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "chiso/runtime.h"

/* How often the thread looks at the queue: a fraction of the time a
 * consumer takes to eat half of its prefetch (25,000 records, about 0.2 s
 * at a drain's rate) */
#define LOOK_MS 5
/* How long one watermark request may take before the thread goes on */
#define ASK_TIMEOUT_MS 500
/* The fewest records a queue holds to count as a backlog's */
#define BACKLOG_MIN 100

bool chiso_refill_due(chiso_refill_watch *w, int64_t len)
{
    if (len > w->most)
        w->most = len;
    if (w->most < w->backlog || len * 2 > w->most)
        return false;
    w->most = len;
    return true;
}

struct chiso_refill {
    rd_kafka_t *consumer;
    rd_kafka_queue_t *queue;
    chiso_counter *wakes;
    chiso_refill_watch watch;
    atomic_bool stop;
    pthread_t thread;
};

/* A watermark request for every assigned partition: one wakes its leader's
 * thread (requests to one leader go through its thread). */
static void wake_leaders(chiso_refill *r)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(r->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    for (int i = 0; i < parts->cnt && !atomic_load(&r->stop); i++) {
        int64_t lo, hi;
        (void)rd_kafka_query_watermark_offsets(r->consumer, parts->elems[i].topic,
                                               parts->elems[i].partition, &lo, &hi, ASK_TIMEOUT_MS);
    }
    if (parts->cnt > 0)
        chiso_counter_add(r->wakes, 1);
    rd_kafka_topic_partition_list_destroy(parts);
}

static void *run(void *arg)
{
    chiso_refill *r = arg;
    const struct timespec look = {.tv_sec = 0, .tv_nsec = LOOK_MS * 1000000L};
    while (!atomic_load(&r->stop)) {
        if (chiso_refill_due(&r->watch, (int64_t)rd_kafka_queue_length(r->queue)))
            wake_leaders(r);
        nanosleep(&look, NULL);
    }
    return NULL;
}

chiso_refill *chiso_refill_start(rd_kafka_t *consumer, chiso_counter *wakes)
{
    char value[32];
    size_t size = sizeof(value);
    long min_msgs = 100000; /* librdkafka's default */
    if (rd_kafka_conf_get(rd_kafka_conf(consumer), "queued.min.messages", value, &size) ==
        RD_KAFKA_CONF_OK)
        min_msgs = strtol(value, NULL, 10);

    chiso_refill *r = calloc(1, sizeof(*r));
    if (!r) {
        LOG_WARN("refill: out of memory; the consumer may stall when its queue fills");
        return NULL;
    }
    r->consumer = consumer;
    r->wakes = wakes;
    /* a queue that held a quarter of the threshold was behind: a stream
     * that keeps up holds a batch's worth at most (and a few records are
     * no backlog whatever the threshold) */
    r->watch.backlog = min_msgs / 4 > BACKLOG_MIN ? min_msgs / 4 : BACKLOG_MIN;
    atomic_init(&r->stop, false);
    r->queue = rd_kafka_queue_get_consumer(consumer);
    if (!r->queue || pthread_create(&r->thread, NULL, run, r) != 0) {
        LOG_WARN("refill: no thread; the consumer may stall when its queue fills");
        if (r->queue)
            rd_kafka_queue_destroy(r->queue);
        free(r);
        return NULL;
    }
    return r;
}

void chiso_refill_stop(chiso_refill *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    rd_kafka_queue_destroy(r->queue);
    free(r);
}
