/*
 * redisx.c - Redis connection set-up shared by the stages.
 */
#include "chiso/redisx.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "chiso/common.h"

redisContext *chiso_redis_connect(const chiso_config *cfg, char *errstr, size_t errstr_size)
{
    const char *host = chiso_config_str(cfg, "redis.host");
    int port = (int)chiso_config_int(cfg, "redis.port");
    const char *password = chiso_config_str(cfg, "redis.password");
    int64_t ms = chiso_config_int(cfg, "redis.timeout.ms");
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    redisContext *rc = redisConnectWithTimeout(host, port, tv);
    redisReply *reply = NULL;

    if (!rc) {
        snprintf(errstr, errstr_size, "redis %s:%d: out of memory", host, port);
        return NULL;
    }
    if (rc->err) {
        snprintf(errstr, errstr_size, "redis %s:%d: %s", host, port, rc->errstr);
        goto err;
    }
    if (redisSetTimeout(rc, tv) != REDIS_OK) {
        snprintf(errstr, errstr_size, "redis %s:%d: cannot set timeout", host, port);
        goto err;
    }
    if (password && *password) {
        reply = redisCommand(rc, "AUTH %s", password);
        if (chiso_redis_check(rc, reply, errstr, errstr_size) != 0)
            goto err;
        freeReplyObject(reply);
    }
    return rc;
err:
    if (reply)
        freeReplyObject(reply);
    redisFree(rc);
    return NULL;
}

int chiso_cfg_redis_cluster(const char *value, char *errstr, size_t errstr_size)
{
    if (strcmp(value, "auto") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "no") == 0)
        return 0;
    snprintf(errstr, errstr_size, "must be auto, yes or no");
    return CHISO_EINVAL;
}

int chiso_redis_check(redisContext *rc, redisReply *reply, char *errstr, size_t errstr_size)
{
    if (!reply) {
        snprintf(errstr, errstr_size, "redis: %s", rc->err ? rc->errstr : "no reply");
        return CHISO_EIO;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errstr_size, "redis: %s", reply->str);
        return CHISO_EINVAL;
    }
    return 0;
}
