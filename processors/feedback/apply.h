/*
 * processors/feedback: chiso-feedback, feedback (PAKN) events into states and counters:
 * apply.h (this), main.c.
 *
 * apply.h - applying a batch of feedback events to Redis (chiso-feedback).
 *
 * A batch owns the Kafka messages handed to it. Processing it: parse each
 * record (bad ones are rejected, to be dead-lettered); per unit, read
 * the states of the batch's feedbacks, merge the events, and write the new
 * states with the summed counter changes in ONE atomic Lua call (compare-
 * and-set: a state changed since it was read makes the call change nothing,
 * and the unit is read and merged again); mark the periods touched dirty;
 * commit the dead letters and the offsets in one Kafka transaction, so
 * read_committed consumers see each dead letter once. Redis being
 * away is retried with backoff; only stopping or corrupt state ends a batch
 * uncommitted.
 */
#ifndef CHISO_FB_APPLY_H
#define CHISO_FB_APPLY_H

#include <signal.h>
#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "chiso/applied.h"
#include "chiso/config.h"
#include "chiso/metrics.h"
#include "chiso/txn.h"

/* What a batch works with (not owned). */
typedef struct fb_env {
    const chiso_config *cfg; /* redis.*, redis.prefix */
    rd_kafka_t *consumer;
    chiso_txn *txn; /* dead letters and offsets committed together (txn.h) */
    chiso_metrics *metrics;
    volatile sig_atomic_t *stop;
    const char *topic_deadletter;
    chiso_applied *applied; /* the applied-offset record in Redis (applied.h) */
} fb_env;

/* The longest redis.prefix accepted (every key must fit the batch's
 * buffers). */
#define FB_PREFIX_MAX 128

typedef struct fb_batch fb_batch;

/* A batch of up to `max` records. NULL on out of memory. */
fb_batch *fb_batch_new(const fb_env *env, int max);
void fb_batch_destroy(fb_batch *b);

/* Add a consumed message (takes ownership). The batch must not be full. */
void fb_batch_add(fb_batch *b, rd_kafka_message_t *msg);
int fb_batch_count(const fb_batch *b);
bool fb_batch_full(const fb_batch *b);

/* Process and commit the batch (synchronously when sync_commit), then empty
 * it. Returns 0, or a negative CHISO_E* code when it could not complete
 * (stopping while Redis or Kafka is away, corrupt state in Redis, out of
 * memory): its offsets are then not committed and the caller stops, so a
 * restart applies it again (a no-op for what was applied); CHISO_EREWIND
 * when Redis was found holding less than it acknowledged: the batch was
 * dropped and the consumer sought back to replay what Redis lost (the
 * caller goes on). */
int fb_batch_process(fb_batch *b, bool sync_commit);

#endif
