/*
 * producers/bridge: chiso-bridge, the payloads provinces send the national portal into events:
 * ingest.h (this: a parsed request made durable: Redis state, Kafka events, dead letters).
 *
 * ingest.h - what chiso-bridge does with a request before it answers: each
 * item is mapped (map.h) against the dossier's state kept in Redis, and
 * the events it adds, with the dead letters of the items refused, are in
 * Kafka (idempotent producer, acks=all) before the call returns.
 *
 * The state of a dossier is one Redis hash under the unit's hash tag,
 * <redis.prefix>:{<unit>}:br:<MaHoSo>, with two fields:
 *   s  the merged snapshot (bridge_snapshot_encode);
 *   o  the outbox: the events the last change added (CONTRACT JSON, one
 *      per line), written in the same HSET as s and deleted once Kafka
 *      has them.
 * A change is thus written with what it emits in one command; a crash
 * between that write and Kafka's acknowledgement leaves the outbox, which
 * the next request for the dossier (the province's retry) produces again,
 * and so does a sweep (once at the start, then every
 * bridge.outbox.sweep.s) over the units' indexes of outboxes,
 * <redis.prefix>:{<unit>}:bro (the MaHoSo of every dossier with an
 * outbox, added before the outbox is written, removed after it is
 * cleared).
 * Producing an event twice is harmless: ids and contents are the same,
 * and the pipeline's merge is idempotent.
 *
 * Requests run in the HTTP server's threads at once; the dossiers of one
 * request are locked (64 striped mutexes) from the read of their state to
 * the end, so two requests for one dossier take turns. Redis connections
 * come from a small pool; the Kafka producer is shared, its delivery
 * reports served by a thread of the ingest's own.
 */
#ifndef CHISO_BRIDGE_INGEST_H
#define CHISO_BRIDGE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "chiso/config.h"
#include "chiso/metrics.h"
#include "envelope.h"
#include "map.h"

typedef struct bridge_ingest bridge_ingest;

/* Connects to Kafka (the config's kafka.* options; topics prefixed by
 * topic.prefix) and checks Redis. `d` is copied (its strings must outlive
 * the ingest). NULL with errstr on failure. */
bridge_ingest *bridge_ingest_new(const chiso_config *cfg, const bridge_defaults *d,
                                 chiso_metrics *metrics, char *errstr, size_t errstr_size);

/* Flushes the producer (at most timeout_ms), stops the delivery thread
 * and frees everything. No request may be under way. */
void bridge_ingest_free(bridge_ingest *g, int timeout_ms);

/* What a request came to. */
typedef struct bridge_ingest_result {
    int accepted;            /* items taken */
    int refused;             /* items refused (in errs, and sent to the dead letters) */
    int events;              /* events produced for the request (new facts and corrections) */
    int replayed;            /* events of an earlier request's outbox produced again */
    bridge_item_error *errs; /* the refused items, malloc'd (caller frees), NULL when none */
} bridge_ingest_result;

/* Ingest a parsed request of service DOSSIERS or PROGRESS, `now` being its
 * arrival (or sending) time. Returns 0 once every event and dead letter of
 * the request is acknowledged by Kafka; else CHISO_EIO (Redis or Kafka
 * unreachable, or the delivery timed out) with errstr: nothing is then
 * promised, and the province's retry produces whatever is missing. */
int bridge_ingest_request(bridge_ingest *g, const bridge_request *req, int64_t now,
                          bridge_ingest_result *out, char *errstr, size_t errstr_size);

/* The national portal acknowledged a DongBoHoSoMC request the bridge
 * forwarded: a `synced` event for each of its items (bridge_synced_event),
 * produced and acknowledged like the others. Returns 0, or CHISO_EIO with
 * errstr (the province has the portal's answer by then; the dossier's
 * next acknowledged sync gives the fact again). */
int bridge_ingest_synced(bridge_ingest *g, const bridge_request *req, int64_t now, int *events,
                         char *errstr, size_t errstr_size);

#endif
