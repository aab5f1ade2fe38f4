/*
 * sinks/snapshot: chiso-snapshot, counters into score snapshots on `scores` and in Redis:
 * sweep.h (this), main.c.
 *
 * sweep.h - one snapshot sweep: pop the dirty set, read the counters of
 * every unit in every period it names (the province roll-up and the ranking
 * of siblings need them all), score each unit (score.h, with the catalog
 * inputs of catview.h), rank siblings, build the snapshots (snapshot.h) and
 * publish each one whose content changed to the scores topic and to Redis,
 * with the ranking of each parent and period as a sorted set.
 *
 * The sweeper owns the Redis connection and the producer. A dirty member is
 * held in memory from the moment it is popped until its snapshot is both
 * queued on Kafka and stored in Redis; a failed delivery report puts it
 * back. So Redis or Kafka going away delays snapshots but never loses one:
 * the next sweep retries, and at exit what is still held goes back to the
 * dirty set.
 */
#ifndef CHISO_SNAPSHOT_SWEEP_H
#define CHISO_SNAPSHOT_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "chiso/catview.h"
#include "chiso/config.h"
#include "chiso/metrics.h"
#include "chiso/score.h"

/* The sink's metrics, registered by the caller. */
typedef struct snap_metrics {
    chiso_counter *published;     /* snapshots queued on Kafka and stored in Redis */
    chiso_counter *unchanged;     /* snapshots skipped: same content as last published */
    chiso_counter *sweeps;        /* sweeps completed */
    chiso_counter *popped;        /* dirty members popped */
    chiso_counter *err_redis;     /* Redis connection or command failures */
    chiso_counter *err_kafka;     /* produce or delivery failures */
    chiso_counter *err_catalog;   /* bad catalog records, consumer errors */
    chiso_counter *err_dirty;     /* unparseable dirty members (dropped) */
    chiso_counter *rewinds;       /* Redis found holding less than it acknowledged */
    chiso_counter *journal_folds; /* journals folded, read for journal.fold.s */
    chiso_histogram *sweep_secs;  /* duration of completed sweeps */
    chiso_gauge *pending;         /* dirty members held, not yet published */
} snap_metrics;

typedef struct snap_sweeper snap_sweeper;

/* A sweeper publishing with its own idempotent producer, scoring with
 * `rules`; Redis is connected lazily. `catalog`, `rules` and `mx` are
 * borrowed and must outlive it. Caller frees with snap_sweeper_destroy().
 * NULL with errstr. */
snap_sweeper *snap_sweeper_new(const chiso_config *cfg, chiso_catview *catalog,
                               const chiso_score_rules *rules, const snap_metrics *mx, char *errstr,
                               size_t errstr_size);
void snap_sweeper_destroy(snap_sweeper *sw);

/* Run one sweep at the current time. `full` also takes every unit and every
 * period it has counters for. The first completed sweep publishes every
 * snapshot; later ones skip snapshots whose content did not change.
 * Returns 0 when the sweep completed (snapshots whose produce failed stay
 * held for the next one), or CHISO_EIO when Redis failed (connection
 * dropped; call again later: what was popped is still held). */
int snap_sweeper_run(snap_sweeper *sw, bool full);

/* Serve producer callbacks (delivery reports) for up to timeout_ms. */
void snap_sweeper_poll(snap_sweeper *sw, int timeout_ms);

/* Wait for every queued snapshot's delivery. Returns 0 or CHISO_ETIMEOUT. */
int snap_sweeper_flush(snap_sweeper *sw, int timeout_ms);

/* The catalog record of `code`, or the procedures it offers, changed (NULL:
 * of every unit): hold every key of that unit published so far, so the
 * next sweep scores it again (its siblings follow: a sweep ranks every
 * unit of each period it touches). */
void snap_sweeper_touch_unit(snap_sweeper *sw, const char *code);

/* Dirty members held but not published yet. */
size_t snap_sweeper_held(const snap_sweeper *sw);

/* Put every held member back into the dirty set (at exit). Returns 0 or
 * CHISO_EIO (then they are logged as not returned). */
int snap_sweeper_return_held(snap_sweeper *sw);

#endif
