/*
 * reaper.h - chiso-classify's reaper: a thread of its own, with its own
 * Redis connection, that deletes the dossier states the retention no
 * longer keeps (docs/architecture.md, "Retention").
 *
 * A state that is not open (closed, or a fragment never received) is
 * written without an expiry, and the apply call that writes it also puts
 * "<day>:<dossier id>" on its unit's reap list (<prefix>:{U}:reap), the day
 * being the local day of the state's last fact. Every few seconds the
 * reaper holding the lease (<prefix>:reaper, one classify instance at a
 * time, taken over when it stops) reads the watermark (the latest event
 * time seen) and, for every
 * unit, takes the front of the list while its days are before the horizon
 * (the watermark's day minus retention.days): a state still not open whose
 * last fact falls before the horizon, and whose last record is committed
 * (a replay after a crash never writes it again), is deleted
 * (chiso_dossier_reap_verdict; a due state whose last record is not
 * committed yet holds its unit's list until it is),
 * others only leave the list (a state written since is on it again, under
 * its new day). The check and the deletion are one atomic call that deletes
 * only states still equal to those judged, and pops only the entries it
 * judged, so classify's writes, another reaper and a restart at any point
 * lose nothing and delete nothing kept. Judging by event time, a replay of
 * history deletes what the live run deleted as it goes.
 */
#ifndef CHISO_CLASSIFY_REAPER_H
#define CHISO_CLASSIFY_REAPER_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "chiso/config.h"
#include "chiso/metrics.h"

typedef struct cl_reaper cl_reaper;

/* Start the reaper's thread: a pass every interval_ms over the units of
 * <prefix>:units, deleting states older than retention_s before the
 * watermark (redis.* of cfg, which must outlive it) whose last record is
 * committed: `consumer` (classify's, in the group; it must outlive the
 * reaper) gives the group's committed offsets of `topic_events`. `reaped`
 * (may be NULL) counts the states deleted. NULL when out of memory or the
 * thread could not start. */
cl_reaper *cl_reaper_new(const chiso_config *cfg, rd_kafka_t *consumer, const char *topic_events,
                         int64_t retention_s, int interval_ms, chiso_counter *reaped);

/* Stop the thread (a call in progress completes) and free everything. */
void cl_reaper_destroy(cl_reaper *r);

#endif
