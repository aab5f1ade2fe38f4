/*
 * applied.c - Redis as the record of what a consuming stage applied
 * (applied.h).
 */
#include "chiso/applied.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/redisargs.h"

/* One assigned partition. */
typedef struct part {
    char *topic;
    int32_t partition;
    bool verified;       /* its marker was compared since the last (re)connection */
    bool need_committed; /* its committed offset is not read yet */
    int64_t floor;       /* Redis must hold every record before this (-1: none known) */
    int64_t resume;      /* where it resumes when another partition rewinds: last commit */
    int64_t committed;   /* the group's committed offset: the highest known (-1: none) */
} part;

struct chiso_applied {
    char *key; /* <prefix>:applied:<group> */
    chiso_rargs *args;
    part *parts;
    int nparts, cap;
    int64_t lost_since_ms; /* of the last rewind: its earliest marker's time */
    chiso_counter *m_rewinds, *m_replayed;
};

chiso_applied *chiso_applied_new(const char *prefix, const char *group, chiso_metrics *metrics,
                                 const char *metric_prefix)
{
    char name[160];
    chiso_applied *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    size_t n = strlen(prefix) + strlen(group) + sizeof(":applied:");
    if (!(a->key = malloc(n)) || !(a->args = chiso_rargs_new())) {
        free(a->key);
        free(a);
        return NULL;
    }
    snprintf(a->key, n, "%s:applied:%s", prefix, group);
    snprintf(name, sizeof(name), "%s_redis_rewinds_total", metric_prefix);
    a->m_rewinds = chiso_metrics_counter(
        metrics, name, "Times Redis was found holding less than it acknowledged (input rewound)");
    snprintf(name, sizeof(name), "%s_replayed_records_total", metric_prefix);
    a->m_replayed = chiso_metrics_counter(
        metrics, name, "Offsets of the spans Redis lost, consumed again after a rewind");
    return a;
}

void chiso_applied_destroy(chiso_applied *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->nparts; i++)
        free(a->parts[i].topic);
    free(a->parts);
    free(a->key);
    chiso_rargs_free(a->args);
    free(a);
}

static part *find(chiso_applied *a, const char *topic, int32_t partition)
{
    for (int i = 0; i < a->nparts; i++) {
        if (a->parts[i].partition == partition && strcmp(a->parts[i].topic, topic) == 0)
            return &a->parts[i];
    }
    return NULL;
}

void chiso_applied_assign(chiso_applied *a, rd_kafka_t *consumer,
                          const rd_kafka_topic_partition_list_t *parts)
{
    (void)consumer; /* the committed offsets are read by the next verify */
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        part *p = find(a, tp->topic, tp->partition);
        if (!p) {
            if (a->nparts == a->cap) {
                int cap = a->cap ? a->cap * 2 : 16;
                part *grown = realloc(a->parts, (size_t)cap * sizeof(*grown));
                if (!grown) {
                    LOG_ERROR("out of memory: partition %s:%d is not checked against Redis",
                              tp->topic, tp->partition);
                    continue;
                }
                a->parts = grown;
                a->cap = cap;
            }
            p = &a->parts[a->nparts];
            if (!(p->topic = strdup(tp->topic))) {
                LOG_ERROR("out of memory: partition %s:%d is not checked against Redis", tp->topic,
                          tp->partition);
                continue;
            }
            a->nparts++;
            p->partition = tp->partition;
        }
        p->verified = false;
        p->need_committed = true;
        p->floor = -1;
        p->resume = -1;
        p->committed = -1;
    }
}

void chiso_applied_revoke(chiso_applied *a, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        part *p = find(a, parts->elems[i].topic, parts->elems[i].partition);
        if (!p)
            continue;
        free(p->topic);
        *p = a->parts[--a->nparts];
    }
}

void chiso_applied_unverify(chiso_applied *a)
{
    for (int i = 0; i < a->nparts; i++)
        a->parts[i].verified = false;
}

int64_t chiso_applied_lost_since(const chiso_applied *a)
{
    return a->lost_since_ms;
}

int chiso_applied_all_verified(const chiso_applied *a)
{
    for (int i = 0; i < a->nparts; i++) {
        if (!a->parts[i].verified)
            return 0;
    }
    return 1;
}

void chiso_applied_committed(chiso_applied *a, const rd_kafka_topic_partition_list_t *offsets)
{
    for (int i = 0; i < offsets->cnt; i++) {
        part *p = find(a, offsets->elems[i].topic, offsets->elems[i].partition);
        if (p && offsets->elems[i].offset >= 0) {
            p->resume = offsets->elems[i].offset;
            if (p->resume > p->committed)
                p->committed = p->resume;
        }
    }
}

int64_t chiso_applied_boundary(chiso_applied *a, const char *topic, int32_t partition)
{
    const part *p = find(a, topic, partition);
    return p ? p->committed : -1;
}

void chiso_applied_clamp(chiso_applied *a, rd_kafka_topic_partition_list_t *offsets)
{
    for (int i = 0; i < offsets->cnt; i++) {
        const part *p = find(a, offsets->elems[i].topic, offsets->elems[i].partition);
        if (p && offsets->elems[i].offset < p->committed)
            offsets->elems[i].offset = p->committed;
    }
}

int chiso_applied_rewind(chiso_applied *a, rd_kafka_t *consumer)
{
    rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new(a->nparts);
    if (!seek)
        return CHISO_ENOMEM;
    for (int i = 0; i < a->nparts; i++) {
        const part *p = &a->parts[i];
        rd_kafka_topic_partition_list_add(seek, p->topic, p->partition)->offset =
            p->resume >= 0 ? p->resume : RD_KAFKA_OFFSET_BEGINNING;
    }
    int rc = 0;
    rd_kafka_error_t *err = seek->cnt ? rd_kafka_seek_partitions(consumer, seek, 10000) : NULL;
    for (int i = 0; !err && i < seek->cnt; i++)
        rc = seek->elems[i].err ? CHISO_EIO : rc;
    if (err) {
        LOG_WARN("seeking back to the committed offsets: %s", rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
        rc = CHISO_EIO;
    }
    rd_kafka_topic_partition_list_destroy(seek);
    return rc;
}

/* Where a partition whose Redis marker is `marker` (behind what Redis
 * acknowledged) is consumed again from: the marker, or its last commit
 * when that comes first (chiso_applied_verify says why). */
static int64_t replay_from(const part *p, int64_t marker)
{
    return p->resume >= 0 && marker < p->resume ? marker : p->resume;
}

/* Start command `cmd` on the marker hash, adding for each partition of
 * `list` its field "<topic>:<partition>" and, with `values`, its offset. */
static int args_of(chiso_applied *a, const char *cmd, const char *key,
                   const rd_kafka_topic_partition_list_t *list, bool values)
{
    int64_t now_ms = values ? chiso_now_wall_ms() : 0;
    int rc = chiso_rargs_ref(a->args, cmd, strlen(cmd));
    rc |= chiso_rargs_fmt(a->args, "%s", key);
    for (int i = 0; i < list->cnt; i++) {
        rc |=
            chiso_rargs_fmt(a->args, "%s:%d", list->elems[i].topic, (int)list->elems[i].partition);
        if (values) /* "<next offset>/<wall clock ms>" */
            rc |= chiso_rargs_fmt(a->args, "%lld/%lld", (long long)list->elems[i].offset,
                                  (long long)now_ms);
    }
    return rc ? CHISO_ENOMEM : 0;
}

/* The marker hash on master i: the group's key on a single Redis; in a
 * cluster one per master, "<key>:{<tag>}" with a tag that master serves
 * (each master keeps a prefix of what it executed, not the others').
 * 0, or -1 past the last master. */
static int marker_key(chiso_applied *a, chiso_redis *rc, int i, char *key, size_t size)
{
    char tag[32];
    if (!chiso_redis_is_cluster(rc))
        return i == 0 && snprintf(key, size, "%s", a->key) < (int)size ? 0 : -1;
    if (chiso_redis_master_tag(rc, i, tag, sizeof(tag)) != 0)
        return -1;
    return snprintf(key, size, "%s:{%s}", a->key, tag) < (int)size ? 0 : -1;
}

int chiso_applied_append(chiso_applied *a, chiso_redis *rc,
                         const rd_kafka_topic_partition_list_t *offsets)
{
    char key[512];
    int n = 0;
    if (offsets->cnt == 0)
        return 0;
    for (; marker_key(a, rc, n, key, sizeof(key)) == 0; n++) {
        chiso_rargs_reset(a->args);
        if (args_of(a, "HSET", key, offsets, true) != 0 ||
            chiso_rargs_append(rc, a->args) != REDIS_OK)
            return CHISO_ENOMEM;
    }
    return n;
}

void chiso_applied_acked(chiso_applied *a, const rd_kafka_topic_partition_list_t *offsets)
{
    for (int i = 0; i < offsets->cnt; i++) {
        part *p = find(a, offsets->elems[i].topic, offsets->elems[i].partition);
        if (p && offsets->elems[i].offset > p->floor)
            p->floor = offsets->elems[i].offset;
    }
}

/* Read the committed offsets of the partitions that need them. 0 or
 * CHISO_EIO. */
static int read_committed(chiso_applied *a, rd_kafka_t *consumer)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(a->nparts);
    if (!list)
        return CHISO_ENOMEM;
    for (int i = 0; i < a->nparts; i++) {
        if (a->parts[i].need_committed)
            rd_kafka_topic_partition_list_add(list, a->parts[i].topic, a->parts[i].partition);
    }
    int rc = 0;
    if (list->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_committed(consumer, list, 10000);
        for (int i = 0; !err && i < list->cnt; i++)
            err = list->elems[i].err;
        if (err) {
            LOG_WARN("reading the committed offsets to check Redis against: %s",
                     rd_kafka_err2str(err));
            rc = CHISO_EIO;
        }
        for (int i = 0; !rc && i < list->cnt; i++) {
            part *p = find(a, list->elems[i].topic, list->elems[i].partition);
            int64_t off = list->elems[i].offset;
            if (!p)
                continue;
            p->need_committed = false;
            if (off >= 0) {
                p->floor = off > p->floor ? off : p->floor;
                p->resume = off;
                p->committed = off > p->committed ? off : p->committed;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

int chiso_applied_verify(chiso_applied *a, chiso_redis *rc, rd_kafka_t *consumer)
{
    if (chiso_applied_all_verified(a))
        return 0;
    int err = read_committed(a, consumer);
    if (err)
        return err;

    /* every partition's marker, in one HMGET */
    rd_kafka_topic_partition_list_t *assigned = rd_kafka_topic_partition_list_new(a->nparts);
    int64_t *marker = calloc((size_t)a->nparts + 1, sizeof(*marker));
    bool *lost = calloc((size_t)a->nparts + 1, sizeof(*lost));
    redisReply *r = NULL;
    rd_kafka_topic_partition_list_t *seek = NULL;
    if (!assigned || !marker || !lost) {
        err = CHISO_ENOMEM;
        goto out;
    }
    for (int i = 0; i < a->nparts; i++)
        rd_kafka_topic_partition_list_add(assigned, a->parts[i].topic, a->parts[i].partition);
    /* the markers of every master (one on a single Redis), pipelined; a
     * partition's is the lowest of them: a master that lost writes holds
     * an older one */
    char key[512];
    int nkeys = 0;
    for (; marker_key(a, rc, nkeys, key, sizeof(key)) == 0; nkeys++) {
        chiso_rargs_reset(a->args);
        if (args_of(a, "HMGET", key, assigned, false) != 0 ||
            chiso_rargs_append(rc, a->args) != REDIS_OK) {
            err = CHISO_ENOMEM;
            goto out;
        }
    }
    int64_t *at = calloc((size_t)a->nparts + 1, sizeof(*at));
    if (!at) {
        err = CHISO_ENOMEM;
        goto out;
    }
    for (int k = 0; k < nkeys; k++) {
        if (r)
            freeReplyObject(r);
        r = NULL;
        if (chiso_redis_get_reply(rc, &r) != REDIS_OK || !r || r->type != REDIS_REPLY_ARRAY ||
            r->elements != (size_t)a->nparts) {
            LOG_WARN("reading %s: %s", a->key,
                     !r                             ? chiso_redis_errstr(rc)
                     : r->type == REDIS_REPLY_ERROR ? r->str
                                                    : "unexpected reply");
            err = CHISO_EIO;
            continue; /* the other replies are read all the same */
        }
        for (int i = 0; i < a->nparts; i++) {
            const redisReply *e = r->element[i];
            char *end = NULL;
            int64_t m = e->type == REDIS_REPLY_STRING ? strtoll(e->str, &end, 10) : -1;
            if (k == 0 || m < marker[i]) {
                marker[i] = m;
                at[i] = end && *end == '/' ? strtoll(end + 1, NULL, 10) : 0;
            }
        }
    }
    if (err || nkeys == 0) {
        free(at);
        err = err ? err : CHISO_EIO;
        goto out;
    }
    int nlost = 0;
    a->lost_since_ms = INT64_MAX;
    for (int i = 0; i < a->nparts; i++) {
        lost[i] = a->parts[i].floor >= 0 && marker[i] < a->parts[i].floor;
        nlost += lost[i];
        if (lost[i] && at[i] < a->lost_since_ms)
            a->lost_since_ms = at[i];
    }
    free(at);
    if (nlost == 0) {
        for (int i = 0; i < a->nparts; i++) {
            a->parts[i].verified = true;
            if (marker[i] > a->parts[i].floor)
                a->parts[i].floor = marker[i];
        }
        goto out;
    }

    /* Redis lost acknowledged writes: consume again from its markers where
     * it is behind, and from the last commit elsewhere (the caller drops
     * what it holds uncommitted). Where a marker is past the last commit,
     * from the commit: the records between were applied and kept, but
     * the class changes they emitted were in the transaction the caller
     * aborts, and a state that kept such a change would chain the next one
     * from a class no consumer saw unless its record is read again
     * (emit.h: a record read again) */
    if (!(seek = rd_kafka_topic_partition_list_new(a->nparts))) {
        err = CHISO_ENOMEM;
        goto out;
    }
    char spans[1024] = "";
    size_t len = 0;
    uint64_t replayed = 0;
    for (int i = 0; i < a->nparts; i++) {
        part *p = &a->parts[i];
        int64_t to = lost[i] ? replay_from(p, marker[i]) : p->resume;
        rd_kafka_topic_partition_list_add(seek, p->topic, p->partition)->offset =
            to >= 0 ? to : RD_KAFKA_OFFSET_BEGINNING;
        if (!lost[i])
            continue;
        int64_t lo = 0, hi = 0;
        rd_kafka_get_watermark_offsets(consumer, p->topic, p->partition, &lo, &hi);
        int64_t from = marker[i] > lo ? marker[i] : (lo > 0 ? lo : 0);
        replayed += (uint64_t)(p->floor > from ? p->floor - from : 0);
        if (len < sizeof(spans) - 64)
            len += (size_t)snprintf(spans + len, sizeof(spans) - len, "%s%s[%d] %lld..%lld",
                                    len ? ", " : "", p->topic, (int)p->partition, (long long)from,
                                    (long long)p->floor - 1);
    }
    rd_kafka_error_t *serr = rd_kafka_seek_partitions(consumer, seek, 10000);
    for (int i = 0; !serr && i < seek->cnt; i++) {
        if (seek->elems[i].err) {
            LOG_WARN("seeking %s[%d] back: %s", seek->elems[i].topic, (int)seek->elems[i].partition,
                     rd_kafka_err2str(seek->elems[i].err));
            err = CHISO_EIO;
        }
    }
    if (serr) {
        LOG_WARN("seeking back to replay what Redis lost: %s", rd_kafka_error_string(serr));
        rd_kafka_error_destroy(serr);
        err = CHISO_EIO;
    }
    if (err)
        goto out; /* the partitions stay unverified: tried again */
    LOG_WARN("Redis holds less than it acknowledged (%s behind its acknowledged offsets): "
             "replaying %s",
             a->key, spans);
    chiso_counter_add(a->m_rewinds, 1);
    chiso_counter_add(a->m_replayed, replayed);
    for (int i = 0; i < a->nparts; i++) {
        part *p = &a->parts[i];
        p->verified = true;
        if (lost[i]) {
            p->floor = marker[i];
            p->resume = replay_from(p, marker[i]);
        }
    }
    err = CHISO_EREWIND;
out:
    if (r)
        freeReplyObject(r);
    if (seek)
        rd_kafka_topic_partition_list_destroy(seek);
    if (assigned)
        rd_kafka_topic_partition_list_destroy(assigned);
    free(marker);
    free(lost);
    return err;
}
