/*
 * processors/classify: chiso-classify, dossier events into states and counters in Redis:
 * batch.h (this), statecache.h (the state cache), folder.h (journal folding), main.c.
 *
 * batch.h - one batch of dossier events applied to Redis, exactly once in
 * effect.
 *
 * A batch collects Kafka messages, parses them (bad ones become dead
 * letters), groups the good ones by dossier, reads every dossier's state
 * with one pipelined round trip, merges the events in C, and writes each
 * changed state together with its counter deltas in ONE atomic Lua call
 * that first checks the state is still the one read (compare-and-set).
 * Its outputs (dead letters, class changes) go out in a Kafka transaction
 * that commits them with the offsets, once Redis acknowledged everything
 * (ARCHITECTURE.md invariants 1-3, 6): read_committed consumers see each
 * exactly once (emit.h).
 */
#ifndef CHISO_CLASSIFY_BATCH_H
#define CHISO_CLASSIFY_BATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "chiso/applied.h"
#include "chiso/config.h"
#include "chiso/metrics.h"
#include "chiso/txn.h"
#include "chiso/strmap.h"

typedef struct cl_batch cl_batch;

/* What a batch needs from its program (borrowed, not owned). */
typedef struct cl_env {
    const chiso_config *cfg;
    rd_kafka_t *consumer;
    rd_kafka_t *producer; /* for polling while waiting */
    chiso_txn *txn;       /* the outputs' transactions (txn.h) */
    chiso_metrics *metrics;
    volatile sig_atomic_t *stop; /* set by signal handlers */
    const char *topic_events;    /* consumed; the reaper reads its committed offsets */
    const char *topic_deadletter;
    const char *topic_classified;
    /* the applied-offset record in Redis (applied.h): written behind every
     * batch, verified before applying after a (re)connection or an
     * assignment */
    chiso_applied *applied;
    const chiso_map *catalog; /* procedure code -> catalog attributes (u64, dossier.h) */
    /* Called before a batch holding an event whose procedure `catalog` does
     * not know is applied: reads catalog.procedures up to its current end
     * (the contract produces a procedure's record before its events), so a
     * dossier never takes "unknown" for a level that is on the topic.
     * Returns 0, or non-zero when stopping first. May be NULL. */
    int (*catalog_sync)(void *opaque);
    void *catalog_opaque;
} cl_env;

/* A batch of at most `max` messages. Caller frees with cl_batch_destroy(). */
cl_batch *cl_batch_new(const cl_env *env, int max);
void cl_batch_destroy(cl_batch *b);

/* Take ownership of a consumed message (destroyed when the batch is done). */
void cl_batch_add(cl_batch *b, rd_kafka_message_t *msg);
int cl_batch_count(const cl_batch *b);
bool cl_batch_full(const cl_batch *b);

/* Apply the batch to Redis and produce its outputs in the open Kafka
 * transaction; its offsets go with the transaction's next commit
 * (cl_batch_commit), at once with `sync_commit`. Retries Redis failures
 * until they succeed or the stop flag is set. Returns 0, or a negative
 * CHISO_E* code when the batch could not be completed (its offsets are then
 * not committed and the messages will be consumed again): CHISO_EREWIND
 * when Redis was found holding less than it acknowledged, or Kafka aborted
 * the transaction, and the consumer was sought back to replay (not an
 * error: go on polling). The batch is empty afterwards either way. */
int cl_batch_process(cl_batch *b, bool sync_commit);

/* Commit the open Kafka transaction (the outputs of the batches applied
 * since the last commit, with the offsets after their records) when
 * commit.interval.ms has passed since the last commit, or at once with
 * `now` (before a rebalance takes partitions away, and when stopping). Call
 * it often: it is also what commits the last batches when no more records
 * come. Returns 0; CHISO_EREWIND when Kafka aborted the transaction and the
 * consumer was sought back to the last commit (the batch in hand is
 * dropped: go on polling); or CHISO_EIO when fatal (another producer took
 * the transactional id). */
int cl_batch_commit(cl_batch *b, bool now);

#endif
