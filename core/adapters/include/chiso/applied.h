/*
 * applied.h - Redis as the record of what a consuming stage applied
 * (ARCHITECTURE.md invariant 3; docs/architecture.md, "When Redis loses
 * acknowledged writes").
 *
 * A stage that keeps state in Redis from a Kafka topic writes, behind the
 * writes of every batch and on the same connection, the batch's offsets
 * (each partition's last record + 1) into the hash
 *   <prefix>:applied:<group>   field "<topic>:<partition>" -> "<next offset>/<ms>"
 * Redis executes one connection's commands in order and its append-only
 * file, or a replica, keeps a prefix of what it executed: so wherever Redis
 * holds a partition's marker at M, it holds every write of the records
 * before M. Redis may come back with less than it acknowledged (AOF fsync
 * every second, a promoted replica); then the marker is below what it
 * acknowledged to this process (or below the group's committed offset,
 * which is only committed after its marker was acknowledged). Before the
 * stage applies anything after a (re)connection or a partition assignment,
 * chiso_applied_verify() compares them and, where Redis is behind, seeks
 * the consumer back to the marker, so the lost span is applied again
 * (replays of what survived are fenced or absorbed, so nothing counts
 * twice). Each detection logs one WARN line with the partitions and spans
 * and counts in <metric_prefix>_redis_rewinds_total and
 * <metric_prefix>_replayed_records_total.
 *
 * One chiso_applied serves one consumer, on the thread that polls it
 * (rebalance callbacks run there too).
 */
#ifndef CHISO_APPLIED_H
#define CHISO_APPLIED_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "chiso/metrics.h"
#include "chiso/redisc.h"

typedef struct chiso_applied chiso_applied;

/* The record of consumer group `group` under Redis key prefix `prefix`;
 * registers its metrics in `metrics` under `metric_prefix` (e.g.
 * "chiso_classify"). NULL on out of memory. */
chiso_applied *chiso_applied_new(const char *prefix, const char *group, chiso_metrics *metrics,
                                 const char *metric_prefix);
void chiso_applied_destroy(chiso_applied *a);

/* Partitions were assigned (call from the rebalance callback, before or
 * after rd_kafka_assign): their committed offsets are read (the floor of
 * what Redis must hold) and they are verified before the next apply. */
void chiso_applied_assign(chiso_applied *a, rd_kafka_t *consumer,
                          const rd_kafka_topic_partition_list_t *parts);
/* Partitions were revoked: forgotten. */
void chiso_applied_revoke(chiso_applied *a, const rd_kafka_topic_partition_list_t *parts);

/* The stage's Redis connection was lost or replaced: every partition is
 * verified again before the next apply. */
void chiso_applied_unverify(chiso_applied *a);

/* The stage committed `offsets` (next offsets): where to resume a
 * partition whose writes Redis kept when another one's were lost. */
void chiso_applied_committed(chiso_applied *a, const rd_kafka_topic_partition_list_t *offsets);

/* The partition's committed offset, the highest this process knows (-1:
 * none, or not assigned): the records before it have their outputs
 * committed (txn.h). */
int64_t chiso_applied_boundary(chiso_applied *a, const char *topic, int32_t partition);
/* Raise every offset of `offsets` below its partition's committed offset
 * to it: a replay below the commit commits nothing lower. */
void chiso_applied_clamp(chiso_applied *a, rd_kafka_topic_partition_list_t *offsets);
/* After an aborted transaction: seek every assigned partition back to its
 * last commit (the start of the aborted records). 0, or CHISO_EIO. */
int chiso_applied_rewind(chiso_applied *a, rd_kafka_t *consumer);

/* Queue on `rc`, behind the writes of the records before `offsets` (next
 * offsets), the marker write (one HSET). Returns the number of commands
 * queued (1, or 0 when `offsets` is empty), or CHISO_ENOMEM. The caller
 * reads its reply in turn and, when it is not an error, calls
 * chiso_applied_acked(). */
int chiso_applied_append(chiso_applied *a, chiso_redis *rc,
                         const rd_kafka_topic_partition_list_t *offsets);
/* Redis acknowledged the marker write of `offsets`. */
void chiso_applied_acked(chiso_applied *a, const rd_kafka_topic_partition_list_t *offsets);

/* Before applying anything: read the markers of the partitions not
 * verified since their assignment or the last chiso_applied_unverify(),
 * and compare each with what Redis acknowledged to this process or the
 * committed offset. Returns 0 when Redis holds everything (nothing to do);
 * CHISO_EREWIND when it lost acknowledged writes: the consumer was sought
 * back (lost partitions to their markers, the others to their last
 * commit), so the caller must drop what it consumed and did not commit
 * (its batch in hand) and go on polling; CHISO_EIO when Redis or Kafka did
 * not answer (retry after reconnecting). */
int chiso_applied_verify(chiso_applied *a, chiso_redis *rc, rd_kafka_t *consumer);

/* After chiso_applied_verify() returned CHISO_EREWIND: when (epoch ms,
 * this process's clock) Redis acknowledged the oldest marker it still
 * holds of a lost partition, 0 when it holds none: what was applied and
 * output after it may be lost in Redis, not in Kafka. */
int64_t chiso_applied_lost_since(const chiso_applied *a);

/* Whether every assigned partition is verified. */
int chiso_applied_all_verified(const chiso_applied *a);

#endif
