/*
 * units.h - the snapshot sink's view of catalog.units: every unit record of
 * the compacted topic, read from the beginning with assign() (no consumer
 * group membership, no commits) and kept up to date while the sink runs. A
 * tombstone removes the unit's metadata.
 */
#ifndef CHISO_SNAPSHOT_UNITS_H
#define CHISO_SNAPSHOT_UNITS_H

#include <signal.h>
#include <stddef.h>

#include "chiso/catalog.h"
#include "chiso/config.h"

typedef struct snap_units snap_units;

/* A consumer of catalog.units assigned to all its partitions from the
 * beginning. `on_error` (may be NULL) is called once per bad record or
 * consumer error; `on_change` (may be NULL) once per unit whose metadata
 * was added, changed or removed. Caller frees with snap_units_destroy().
 * NULL with errstr. */
snap_units *snap_units_new(const chiso_config *cfg, void (*on_error)(void *opaque),
                           void (*on_change)(const char *code, void *opaque), void *opaque,
                           char *errstr, size_t errstr_size);
void snap_units_destroy(snap_units *u);

/* Apply the records available within timeout_ms (at most a bounded batch). */
void snap_units_poll(snap_units *u, int timeout_ms);

/* Read every partition up to the high watermark it had when called, or
 * until timeout_ms passes or *stop is set. Returns 0, or CHISO_ETIMEOUT. */
int snap_units_catch_up(snap_units *u, int timeout_ms, volatile sig_atomic_t *stop);

/* The metadata of a unit, or NULL when the catalog has none. */
const chiso_unit *snap_units_get(const snap_units *u, const char *code);

/* The code of the unit of kind province (the smallest code if several), or
 * NULL. */
const char *snap_units_province(const snap_units *u);

/* How many units the catalog holds. */
size_t snap_units_count(const snap_units *u);

#endif
