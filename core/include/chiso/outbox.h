/*
 * outbox.h - the output records (dead letters, derived events) a consuming
 * stage must have delivered before it commits the offsets of the records
 * that caused them (ARCHITECTURE.md invariants 3 and 6: nothing is lost
 * between "consumed" and "committed").
 *
 * Records go out through the stage's producer (chiso_kafka_producer_new)
 * with the outbox as their per-message opaque; the producer's delivery
 * report callback must hand every report to chiso_outbox_on_delivery(). A
 * record librdkafka refuses or fails to deliver is kept and produced again,
 * with backoff, by chiso_outbox_await(). One outbox serves one thread.
 */
#ifndef CHISO_OUTBOX_H
#define CHISO_OUTBOX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "chiso/event.h"
#include "chiso/metrics.h"

typedef struct chiso_outbox chiso_outbox;

/* An outbox producing through `producer` (not owned). `stop` is the stage's
 * stop flag: waiting gives up once it is set. Registers, in `metrics`,
 * `<metric_prefix>_deadletter_total{reason="..."}` and
 * `<metric_prefix>_output_retries_total`. Caller frees with
 * chiso_outbox_destroy(). NULL on out of memory. */
chiso_outbox *chiso_outbox_new(rd_kafka_t *producer, volatile sig_atomic_t *stop,
                               chiso_metrics *metrics, const char *metric_prefix);
/* Drop the records kept for producing again (the caller flushes and
 * destroys the producer). */
void chiso_outbox_destroy(chiso_outbox *ob);

/* Produce one record; takes ownership of the malloc'd payload (freed by
 * librdkafka or the outbox). Returns 0, or CHISO_ENOMEM. */
int chiso_outbox_produce(chiso_outbox *ob, const char *topic, const void *key, size_t keylen,
                         char *payload, size_t len);

/* Dead-letter consumed record `msg` to `topic` in CONTRACT.md's format,
 * keyed as received, `at` = now (epoch seconds), counting it by reason.
 * Returns 0, or CHISO_ENOMEM. */
int chiso_outbox_deadletter(chiso_outbox *ob, const char *topic, const rd_kafka_message_t *msg,
                            const chiso_reject *rej, int64_t now);

/* The dead-letter counters <metric_prefix>_deadletter_total{reason="..."}
 * (index: chiso_reject_reason; [0] unused). */
void chiso_dead_counters(chiso_counter *counters[CHISO_REJECT_REASON_COUNT], chiso_metrics *metrics,
                         const char *metric_prefix);
/* The dead letter of consumed record `msg` (CONTRACT.md's format, `at` =
 * now), logged at debug level and counted by reason. Caller frees. NULL on
 * out of memory. */
char *chiso_dead_record(const rd_kafka_message_t *msg, const chiso_reject *rej, int64_t now,
                        chiso_counter *const counters[CHISO_REJECT_REASON_COUNT]);

/* Give the outbox a delivery report of the producer (records of an outbox
 * carry it as their opaque; others are ignored). */
void chiso_outbox_on_delivery(const rd_kafka_message_t *msg);

/* Wait until every record produced since the last await (or abandon) is
 * delivered, producing failed ones again with backoff. Returns 0, or
 * CHISO_EIO when the stage is stopping first or a record could not be kept:
 * the caller must then not commit. */
int chiso_outbox_await(chiso_outbox *ob);

/* Records produced since the last await (or abandon) that are not
 * delivered yet: awaiting their report, or kept for producing again. 0 when
 * chiso_outbox_await() would return at once. */
int chiso_outbox_pending(const chiso_outbox *ob);

/* After a batch that will not be committed: purge what librdkafka still
 * queues when stopping, wait for the reports in flight, drop the records
 * kept for producing again. A restart produces them again. */
void chiso_outbox_abandon(chiso_outbox *ob);

#endif
