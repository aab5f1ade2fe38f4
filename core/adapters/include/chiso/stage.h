/*
 * stage.h - the life every batch-consuming stage shares (STYLE.md 9): poll
 * the consumer with short timeouts, collect a batch (until it is full, the
 * consumer has nothing more at once, or linger.ms after its first record),
 * process it, serve the producer's delivery reports and export the lag;
 * when partitions are revoked, complete the batch in hand first (so no
 * other instance redoes it); on stop, process the last batch with a
 * synchronous commit. The stage's own batch does the work through the four
 * functions of chiso_stage_batch. And what a processor opens before that loop
 * and closes after it (chiso_processor).
 */
#ifndef CHISO_STAGE_H
#define CHISO_STAGE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "chiso/applied.h"
#include "chiso/config.h"
#include "chiso/metrics.h"
#include "chiso/refill.h"
#include "chiso/txn.h"

/* A stage's batch, seen through four functions on its `batch` pointer. */
typedef struct chiso_stage_batch {
    void *batch;
    void (*add)(void *batch, rd_kafka_message_t *msg); /* takes ownership; never full */
    int (*count)(const void *batch);
    bool (*full)(const void *batch);
    /* Apply and commit (synchronously when sync_commit), then empty the
     * batch. Non-zero: it could not complete and was not committed;
     * CHISO_EREWIND: Redis lost acknowledged writes and the consumer was
     * sought back to replay them (applied.h), so the loop goes on. */
    int (*process)(void *batch, bool sync_commit);
} chiso_stage_batch;

/* A stage's loop (plain struct the stage fills; zero what it does not use). */
typedef struct chiso_stage {
    rd_kafka_t *consumer; /* subscribed, with chiso_stage_rebalance_cb and this as opaque */
    rd_kafka_t *producer; /* polled every turn; may be NULL */
    chiso_stage_batch batch;
    int64_t linger_ms;
    chiso_gauge *lag; /* updated once a second; may be NULL */
    /* the batch's applied-offset record (applied.h), told of assignments
     * and revocations; may be NULL */
    chiso_applied *applied;
    /* Called once every turn of the loop (e.g. to follow a catalog); may be NULL. */
    void (*each_turn)(void *opaque);
    void *opaque;
    volatile sig_atomic_t *stop;
    int fatal; /* set by the loop when a batch failed */
} chiso_stage;

/* The consumer's rebalance callback; its opaque must be the chiso_stage. */
void chiso_stage_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t *parts, void *opaque);

/* Run until *stop is set or a batch fails, then process what is in hand
 * (unless a batch failed). Returns 0 after a clean stop, 1 when a batch
 * could not complete (its offsets are not committed: a restart applies it
 * again). The caller then closes the consumer. */
int chiso_stage_run(chiso_stage *s);

/* ---- a processor's start-up and shut-down ----
 *
 * What every processor (chiso-classify, chiso-feedback) opens, in the order
 * it needs them: the metrics server, the topics (created when missing), a
 * transactional producer, the applied-offset record of its Redis state
 * (applied.h), the consumer of its input stream and the Kafka transaction
 * that ties its outputs to its input offsets (txn.h). */
typedef struct chiso_processor {
    chiso_metrics *metrics;
    rd_kafka_t *producer; /* transactional */
    rd_kafka_t *consumer;
    chiso_txn *txn;
    chiso_applied *applied;
    bool stream;          /* its consumer is a stream consumer */
    chiso_refill *refill; /* a stream consumer's, while subscribed (refill.h) */
    char refill_metric[128];
    char transactional_id[512];
} chiso_processor;

/* How a processor starts (plain struct; zero what it does not use). */
typedef struct chiso_processor_opts {
    const char *metric_prefix; /* "chiso_classify": the metrics of txn.h and applied.h */
    /* a busy input stream: chiso_kafka_stream_consumer_new(), else
     * chiso_kafka_consumer_new() */
    bool stream_consumer;
    void (*rebalance_cb)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);
    void *rebalance_opaque;
    /* output topics whose leaders to learn before the first batch; may be NULL */
    const char *const *outputs;
    int noutputs;
} chiso_processor_opts;

/* Open everything above from `cfg` (metrics.bind, metrics.port, group.id,
 * redis.prefix, the Kafka settings). Returns 0, or an error with a
 * sentence in errstr; chiso_processor_free() then frees what was opened. */
int chiso_processor_start(chiso_processor *p, const chiso_config *cfg,
                          const chiso_processor_opts *o, char *errstr, size_t errstr_size);

/* Subscribe the consumer to `topic` and log it; a stream consumer's refill
 * thread starts. Returns 0 or CHISO_EIO (errstr says why). */
int chiso_processor_subscribe(chiso_processor *p, const chiso_config *cfg, const char *topic,
                              char *errstr, size_t errstr_size);

/* Stop the refill thread and close the consumer (its last rebalance
 * completes the batch in hand). */
void chiso_processor_close(chiso_processor *p);

/* Free the rest, once the stage's batch (which uses them) is gone: the
 * transaction, the producer (flushed), the applied record, the metrics. */
void chiso_processor_free(chiso_processor *p);

#endif
