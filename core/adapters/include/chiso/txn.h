/*
 * txn.h - a consuming stage's outputs and its consumer offsets committed
 * together in Kafka transactions, so read_committed consumers see each
 * output exactly once (ARCHITECTURE.md invariant 3; docs/contract.md).
 *
 * The stage produces its outputs through chiso_txn_produce() (a
 * transaction begins with the first) and, every so often, commits them
 * together with the offsets of the records that caused them
 * (chiso_txn_commit: KIP-447, the consumer group's metadata fences a
 * member that lost its partitions). When Kafka makes the transaction fail
 * in a way that only an abort cures, it is aborted and CHISO_EABORTED is
 * returned: nothing of it is visible, and the stage must consume again
 * from its committed offsets (chiso_applied_rewind) after dropping what it
 * holds. A fatal error (another producer took over the transactional id)
 * is CHISO_EIO: the stage stops.
 *
 * The producer is chiso_kafka_txn_producer_new()'s. Records are copied.
 * Dead letters are counted by reason in
 * <metric_prefix>_deadletter_total{reason="..."}.
 */
#ifndef CHISO_TXN_H
#define CHISO_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "chiso/event.h"
#include "chiso/metrics.h"

typedef struct chiso_txn chiso_txn;

/* Initialize the producer's transactions (fencing an earlier producer with
 * the same transactional id, and aborting what it left open). NULL with
 * errstr filled when Kafka refuses or does not answer within timeout_ms. */
chiso_txn *chiso_txn_new(rd_kafka_t *producer, rd_kafka_t *consumer, chiso_metrics *metrics,
                         const char *metric_prefix, int timeout_ms, char *errstr,
                         size_t errstr_size);
/* Abort what is open (nothing of it becomes visible). */
void chiso_txn_destroy(chiso_txn *t);

/* Produce one record in the open transaction (beginning one). Returns 0,
 * CHISO_EABORTED (the transaction was aborted) or CHISO_EIO (fatal). */
int chiso_txn_produce(chiso_txn *t, const char *topic, const void *key, size_t keylen,
                      const void *payload, size_t len);

/* Dead-letter consumed record `msg` to `topic` (CONTRACT.md's format, `at`
 * = now), counting it by reason. As chiso_txn_produce(). */
int chiso_txn_deadletter(chiso_txn *t, const char *topic, const rd_kafka_message_t *msg,
                         const chiso_reject *rej, int64_t now);

/* Commit the open transaction with the consumer offsets `offsets` (next
 * offsets; may be empty). Returns 0, CHISO_EABORTED or CHISO_EIO. */
int chiso_txn_commit(chiso_txn *t, const rd_kafka_topic_partition_list_t *offsets);

/* Abort the open transaction, if any. */
void chiso_txn_abort(chiso_txn *t);

/* True while a transaction is open. */
bool chiso_txn_open(const chiso_txn *t);
/* True once Kafka answered with a fatal error: the producer is unusable. */
bool chiso_txn_fatal(const chiso_txn *t);

#endif
