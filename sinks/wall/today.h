/*
 * today.h - today's received dossiers for the wall, read from the day
 * counters classify keeps in Redis (counters.h), in a thread of its own so
 * that a slow Redis never holds up the tailing thread.
 *
 * Every today.interval.ms: "today" is the Vietnam local day of the wall
 * clock (time.source wall) or of classify's event-time watermark,
 * <prefix>:watermark (time.source event: a replay or a simulation shows
 * its own today); the count is the sum over the units of <prefix>:units
 * of HGET <prefix>:{<unit>}:c:<day> received (one pipelined round trip).
 * The result goes to wall_hub_set_today(). Redis errors are logged once
 * per outage and retried at the next turn on a new connection.
 */
#ifndef CHISO_WALL_TODAY_H
#define CHISO_WALL_TODAY_H

#include <stddef.h>

#include "chiso/config.h"
#include "chiso/metrics.h"
#include "hub.h"

typedef struct wall_today wall_today;

/* Start the thread; it reads redis.*, time.source and today.interval.ms
 * from cfg (which must outlive it). Caller stops and frees it with
 * wall_today_stop(). NULL with errstr. */
wall_today *wall_today_start(const chiso_config *cfg, wall_hub *hub, chiso_metrics *metrics,
                             char *errstr, size_t errstr_size);
void wall_today_stop(wall_today *t);

#endif
