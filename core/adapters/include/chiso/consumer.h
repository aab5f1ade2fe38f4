/*
 * consumer.h - what every consuming stage does with its consumer besides
 * polling: commit the offsets of a batch it has made durable
 * (ARCHITECTURE.md invariant 3), and measure how far behind it is.
 */
#ifndef CHISO_CONSUMER_H
#define CHISO_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* The offsets after a batch of n records: for every partition they come
 * from, the offset after the highest of them. NULL on out of memory. */
rd_kafka_topic_partition_list_t *chiso_consumer_offsets(rd_kafka_message_t *const *msgs, int n);

/* The same list built one record at a time, for a loop that reads each
 * record anyway: a batch's records are far larger than the caches, and a
 * second pass over them waits for memory at every one. */
typedef struct chiso_offsets {
    rd_kafka_topic_partition_list_t *list; /* the caller's once built */
    const rd_kafka_topic_t *last_rkt;      /* the partition of the last record noted ... */
    int32_t last_partition;
    int at; /* ... and its index in list */
} chiso_offsets;

/* Start an empty list. Returns 0 or CHISO_ENOMEM. */
int chiso_offsets_begin(chiso_offsets *o);
/* Note one record (o begun). */
void chiso_offsets_note(chiso_offsets *o, const rd_kafka_message_t *m);

/* Commit `offsets`, synchronously when `sync`. Returns 0, or CHISO_EIO
 * after logging a warning: a failed commit is not fatal, the records are
 * consumed again and their effects are already there. */
int chiso_consumer_commit_offsets(rd_kafka_t *consumer,
                                  const rd_kafka_topic_partition_list_t *offsets, bool sync);

/* Records between the consumer's position (or, before it consumed anything,
 * the group's committed offset) and the end of its assigned partitions, from
 * the watermarks librdkafka caches. -1 while unknown: nothing assigned, or a
 * partition not fetched yet. */
int64_t chiso_consumer_lag(rd_kafka_t *consumer);

#endif
