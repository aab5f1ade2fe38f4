/*
 * refill.h - keeps a busy consumer's prefetch coming on librdkafka < 2.4.
 *
 * librdkafka stops fetching once the consumer's queue holds
 * queued.min.messages records (or queued.max.messages.kbytes of them), and
 * Debian's 2.0.2 looks at the queue again only when the thread of the
 * partition's leader next wakes: on a request, a reply, or after up to a
 * second (2.4 made that wait a setting, fetch.queue.backoff.ms). A consumer
 * behind on its input either prefetched a second of records, memory it
 * touches for the first time at every start, or stalled up to a second
 * each time its queue filled (docs/benchmarks.md, twelfth and fifteenth
 * sessions).
 *
 * A refill thread watches the queue's length; once it has fallen to half
 * of the most it held since the last wake (and that most was a backlog's,
 * not a steady stream's few records), it asks the leaders of the assigned
 * partitions for their watermarks: a request to each leader, which wakes
 * its thread, which finds the queue short and fetches again. A consumer
 * that keeps up never fills its queue and is never woken.
 */
#ifndef CHISO_REFILL_H
#define CHISO_REFILL_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "chiso/metrics.h"

/* The decision, free of I/O: fed the queue's length at every look. */
typedef struct chiso_refill_watch {
    int64_t backlog; /* a most (since the last wake) of at least this is a backlog's */
    int64_t most;    /* the most the queue held since the last wake */
} chiso_refill_watch;

/* Whether to wake the leaders now, the queue holding `len` records. */
bool chiso_refill_due(chiso_refill_watch *w, int64_t len);

typedef struct chiso_refill chiso_refill;

/* Start watching `consumer`'s queue (its queued.min.messages read from its
 * configuration); every wake counts on `wakes` (may be NULL). NULL when the
 * thread could not start (logged: the consumer works, with stalls). */
chiso_refill *chiso_refill_start(rd_kafka_t *consumer, chiso_counter *wakes);

/* Stop the thread (before the consumer closes) and free. NULL is a no-op. */
void chiso_refill_stop(chiso_refill *r);

#endif
