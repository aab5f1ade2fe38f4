/*
 * redisx.c - the Redis settings and reply checks shared by the stages.
 */
#include "chiso/redisx.h"

#include <stdio.h>
#include <string.h>

#include "chiso/common.h"

int chiso_cfg_redis_cluster(const char *value, char *errstr, size_t errstr_size)
{
    if (strcmp(value, "auto") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "no") == 0)
        return 0;
    snprintf(errstr, errstr_size, "must be auto, yes or no");
    return CHISO_EINVAL;
}

int chiso_redis_check(chiso_redis *rc, redisReply *reply, char *errstr, size_t errstr_size)
{
    if (!reply) {
        snprintf(errstr, errstr_size, "redis: %s", chiso_redis_errstr(rc));
        return CHISO_EIO;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errstr_size, "redis: %s", reply->str);
        return CHISO_EINVAL;
    }
    return 0;
}
