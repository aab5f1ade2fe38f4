/*
 * redisx.h - Redis the chiso way: the settings and checking a reply
 * (connections: redisc.h).
 *
 * Every Redis-using program includes CHISO_REDIS_CFG_DEFS in its config
 * table: redis.host, redis.port, redis.password, redis.prefix (the first
 * component of every key, counters.h), redis.timeout.ms, and for a Redis
 * Cluster redis.cluster and redis.cluster.seeds (redisc.h).
 */
#ifndef CHISO_REDISX_H
#define CHISO_REDISX_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "chiso/config.h"
#include "chiso/redisc.h"

#define CHISO_REDIS_CFG_DEFS                                                                       \
    {"redis.host", CHISO_CFG_STRING, "127.0.0.1", "Redis host", NULL},                             \
        {"redis.port", CHISO_CFG_INT, "6379", "Redis port", NULL},                                 \
        {"redis.password", CHISO_CFG_STRING, NULL, "Redis password (AUTH), unset = none", NULL},   \
        {"redis.prefix", CHISO_CFG_STRING, "chiso", "first component of every Redis key", NULL},   \
        {"redis.timeout.ms", CHISO_CFG_INT, "5000", "Redis connect and command timeout", NULL},    \
        {"redis.cluster", CHISO_CFG_STRING, "auto",                                                \
         "Redis Cluster: auto (as the node says), yes or no", chiso_cfg_redis_cluster},            \
    {                                                                                              \
        "redis.cluster.seeds", CHISO_CFG_STRING, NULL,                                             \
            "more cluster nodes to start from, host:port,host:port (besides redis.host:port)",     \
            NULL                                                                                   \
    }

/* A redis.cluster value: auto, yes or no. */
int chiso_cfg_redis_cluster(const char *value, char *errstr, size_t errstr_size);

/* Run a command expecting no error reply; returns 0, or CHISO_EIO (connection
 * broken: reconnect) or CHISO_EINVAL (error reply) with errstr filled. */
int chiso_redis_check(chiso_redis *rc, redisReply *reply, char *errstr, size_t errstr_size);

#endif
