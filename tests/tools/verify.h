/*
 * verify.h - what chiso-verify's checks share (verify.c): reporting a
 * mismatch and reading a topic to its end. A test tool: not installed.
 */
#ifndef CHISO_VERIFY_H
#define CHISO_VERIFY_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "chiso/config.h"

/* Count one mismatch and print it (up to --max-report per check). */
void mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef void (*record_fn)(const rd_kafka_message_t *msg, void *opaque);

/* Hand every record of the contract topic `base` (with cfg's prefix), up to
 * the high watermarks it has when called, to fn. Returns 0, or -1 (said on
 * stderr) when the topic cannot be read to its end. */
int read_topic(const chiso_config *cfg, const char *base, record_fn fn, void *opaque);

/* The scores check's second half (verify_scores.c): for every snapshot the
 * truth has counts for, the 21 indicators and the total equal
 * chiso_score_compute() over the truth's counters with the catalog's
 * inputs; and every unit's rank among the snapshots of its parent and
 * period equals the rank of their truth totals. `latest` maps
 * "<unit>|<period>" to the latest snapshot. With `feedback` (chiso-feedback
 * ran), #19 and #20 are scored from the truth's feedback counters; without,
 * as with no feedback. Returns 0 (mismatches counted), or -1 when the
 * catalog topics cannot be read. */
int verify_score_values(const chiso_config *cfg, const cJSON *truth, const cJSON *latest,
                        bool feedback);

#endif
