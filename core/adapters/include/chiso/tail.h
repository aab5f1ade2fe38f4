/*
 * tail.h - following a compacted topic from its beginning (catalog.units,
 * catalog.procedures): every record of every partition, through assign()
 * (no consumer-group membership, no commits), then every new record while
 * the program runs. A stage keeps its own view of the records it is handed.
 *
 * The partitions are discovered from metadata; until that succeeds (topic
 * missing, broker down) every poll retries at most once a second.
 */
#ifndef CHISO_TAIL_H
#define CHISO_TAIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "chiso/config.h"

typedef struct chiso_tail chiso_tail;

/* Follow the contract topic `base` (the prefix is added). `on_record` gets
 * every record (payload may be empty: a tombstone); `on_error` (may be
 * NULL) once per consumer error. `client_group` is the group id librdkafka
 * requires; it is never joined. Caller frees with chiso_tail_destroy().
 * NULL with errstr. */
chiso_tail *chiso_tail_new(const chiso_config *cfg, const char *base, const char *client_group,
                           void (*on_record)(const rd_kafka_message_t *m, void *opaque),
                           void (*on_error)(void *opaque), void *opaque, char *errstr,
                           size_t errstr_size);
/* The same, starting each partition at its first record at or after
 * since_ms (epoch milliseconds, the records' timestamps), or at its end
 * when it has none. */
chiso_tail *chiso_tail_new_since(const chiso_config *cfg, const char *base,
                                 const char *client_group, int64_t since_ms,
                                 void (*on_record)(const rd_kafka_message_t *m, void *opaque),
                                 void (*on_error)(void *opaque), void *opaque, char *errstr,
                                 size_t errstr_size);
void chiso_tail_destroy(chiso_tail *t);

/* Hand over the records available within timeout_ms (a bounded batch). */
void chiso_tail_poll(chiso_tail *t, int timeout_ms);

/* Read every partition up to the high watermark it had when called (as a
 * read_committed consumer: a transaction still open waits), or
 * until timeout_ms passes or *stop is set. Returns 0, or CHISO_ETIMEOUT. */
int chiso_tail_catch_up(chiso_tail *t, int timeout_ms, volatile sig_atomic_t *stop);

/* The full topic name. */
const char *chiso_tail_topic(const chiso_tail *t);

#endif
