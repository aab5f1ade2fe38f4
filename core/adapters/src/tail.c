/*
 * tail.c - following a compacted topic from its beginning (tail.h).
 *
 * `next[p]` is the offset after the last record handed over from partition
 * p, which is how catch_up knows it has reached the high watermark.
 */
#include "chiso/tail.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/kafka.h"

#define TAIL_BATCH 1000 /* records handed over per poll at most */

struct chiso_tail {
    rd_kafka_t *rk;
    rd_kafka_t *query; /* watermark queries, off the consumer's connections */
    char topic[256];
    int npart;        /* 0 until assigned */
    int64_t *next;    /* per partition: offset after the last record handed over */
    int64_t since_ms; /* start at the first record at or after this time (-1: beginning) */
    int64_t last_assign_try_us;
    void (*on_record)(const rd_kafka_message_t *m, void *opaque);
    void (*on_error)(void *opaque);
    void *opaque;
};

/* Discover the partitions and assign them all from the beginning. */
static int tail_assign(chiso_tail *u)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_resp_err_t err;
    char errstr[256];
    int rc = CHISO_EIO;

    u->last_assign_try_us = chiso_now_mono_us();
    int n = chiso_kafka_partition_count(u->rk, u->topic, 5000, errstr, sizeof(errstr));
    if (n < 0) {
        LOG_WARN("%s", errstr);
        goto out;
    }
    u->next = calloc((size_t)n, sizeof(*u->next));
    list = rd_kafka_topic_partition_list_new(n);
    if (!u->next || !list)
        goto out;
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_list_add(list, u->topic, i)->offset =
            u->since_ms >= 0 ? u->since_ms : RD_KAFKA_OFFSET_BEGINNING;
    }
    if (u->since_ms >= 0) {
        /* the first offset at or after the time; none: the end */
        err = rd_kafka_offsets_for_times(u->query, list, 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            LOG_WARN("%s: offsets for a time: %s", u->topic, rd_kafka_err2str(err));
            goto out;
        }
        for (int i = 0; i < n; i++) {
            rd_kafka_topic_partition_t *tp = &list->elems[i];
            if (tp->offset < 0) {
                tp->offset = RD_KAFKA_OFFSET_END;
                if (tp->partition >= 0 && tp->partition < n)
                    u->next[tp->partition] = INT64_MAX; /* nothing to catch up */
            } else if (tp->partition >= 0 && tp->partition < n)
                u->next[tp->partition] = tp->offset;
        }
    }
    /* partition ids are 0..n-1 in Kafka; next[] is indexed by id */
    err = rd_kafka_assign(u->rk, list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        LOG_WARN("%s: assign: %s", u->topic, rd_kafka_err2str(err));
        goto out;
    }
    u->npart = n;
    LOG_INFO("%s: reading %d partition(s) from %s", u->topic, n,
             u->since_ms >= 0 ? "a time" : "the beginning");
    rc = 0;
out:
    if (rc != 0) {
        free(u->next);
        u->next = NULL;
    }
    if (list)
        rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

chiso_tail *chiso_tail_new(const chiso_config *cfg, const char *base, const char *client_group,
                           void (*on_record)(const rd_kafka_message_t *m, void *opaque),
                           void (*on_error)(void *opaque), void *opaque, char *errstr,
                           size_t errstr_size)
{
    return chiso_tail_new_since(cfg, base, client_group, -1, on_record, on_error, opaque, errstr,
                                errstr_size);
}

chiso_tail *chiso_tail_new_since(const chiso_config *cfg, const char *base,
                                 const char *client_group, int64_t since_ms,
                                 void (*on_record)(const rd_kafka_message_t *m, void *opaque),
                                 void (*on_error)(void *opaque), void *opaque, char *errstr,
                                 size_t errstr_size)
{
    chiso_tail *u = calloc(1, sizeof(*u));

    if (!u) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    u->since_ms = since_ms;
    u->on_record = on_record;
    u->on_error = on_error;
    u->opaque = opaque;
    chiso_topic_name(cfg, base, u->topic, sizeof(u->topic));
    u->rk = chiso_kafka_consumer_new(cfg, client_group, NULL, NULL, errstr, errstr_size);
    if (u->rk)
        u->query = chiso_kafka_client_new(cfg, errstr, errstr_size);
    if (!u->query) {
        if (u->rk)
            rd_kafka_destroy(u->rk);
        free(u);
        return NULL;
    }
    if (tail_assign(u) != 0)
        LOG_WARN("%s: not assigned yet, will retry", u->topic);
    return u;
}

void chiso_tail_destroy(chiso_tail *u)
{
    if (!u)
        return;
    rd_kafka_consumer_close(u->rk);
    rd_kafka_destroy(u->rk);
    rd_kafka_destroy(u->query);
    free(u->next);
    free(u);
}

const char *chiso_tail_topic(const chiso_tail *u)
{
    return u->topic;
}

/* One consumer poll; returns 1 when a record was handed over. */
static int tail_poll_one(chiso_tail *u, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(u->rk, timeout_ms);
    int got = 0;

    if (!m)
        return 0;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->partition >= 0 && m->partition < u->npart && m->offset + 1 > u->next[m->partition])
            u->next[m->partition] = m->offset + 1;
        u->on_record(m, u->opaque);
        got = 1;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        LOG_WARN("%s: %s", u->topic, rd_kafka_message_errstr(m));
        if (u->on_error)
            u->on_error(u->opaque);
    }
    rd_kafka_message_destroy(m);
    return got;
}

void chiso_tail_poll(chiso_tail *u, int timeout_ms)
{
    if (u->npart == 0) {
        if (chiso_now_mono_us() - u->last_assign_try_us < 1000000 || tail_assign(u) != 0)
            return;
    }
    if (!tail_poll_one(u, timeout_ms))
        return;
    for (int i = 1; i < TAIL_BATCH && tail_poll_one(u, 0); i++)
        ;
}

int chiso_tail_catch_up(chiso_tail *u, int timeout_ms, volatile sig_atomic_t *stop)
{
    int64_t deadline = chiso_now_mono_us() + (int64_t)timeout_ms * 1000;
    int64_t *high = NULL;
    rd_kafka_topic_partition_list_t *positions = NULL;
    int rc = CHISO_ETIMEOUT;

    while (u->npart == 0) {
        if (*stop || chiso_now_mono_us() >= deadline)
            return CHISO_ETIMEOUT;
        if (tail_assign(u) != 0)
            chiso_sleep_ms(200);
    }
    high = calloc((size_t)u->npart, sizeof(*high));
    if (!high)
        return CHISO_ENOMEM;
    for (int p = 0; p < u->npart; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t err;
        for (;;) {
            /* not through u->rk: its broker connection may be holding a
             * fetch long-poll, which the broker answers first */
            err = rd_kafka_query_watermark_offsets(u->query, u->topic, p, &lo, &hi, 5000);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            /* e.g. a topic just created, its leader not elected yet */
            LOG_DEBUG("%s [%d]: watermarks: %s", u->topic, p, rd_kafka_err2str(err));
            if (*stop || chiso_now_mono_us() >= deadline) {
                LOG_WARN("%s [%d]: watermarks: %s", u->topic, p, rd_kafka_err2str(err));
                goto out;
            }
            /* never rd_kafka_poll() here: the consumer's main queue is
             * forwarded to its consumer queue (kafka.h), where fetched
             * records may already wait, and rd_kafka_poll() aborts on them */
            chiso_sleep_ms(100);
        }
        high[p] = hi > lo ? hi : 0; /* empty partition: nothing to wait for */
    }
    positions = rd_kafka_topic_partition_list_new(u->npart);
    if (!positions) {
        rc = CHISO_ENOMEM;
        goto out;
    }
    for (int p = 0; p < u->npart; p++)
        rd_kafka_topic_partition_list_add(positions, u->topic, p);
    for (;;) {
        int behind = 0;
        /* the position passes transaction markers, which are never handed
         * over: the end of a transactional topic is a marker */
        rd_kafka_position(u->rk, positions);
        for (int p = 0; p < u->npart; p++) {
            if (positions->elems[p].offset > u->next[p])
                u->next[p] = positions->elems[p].offset;
            behind += u->next[p] < high[p];
        }
        if (!behind) {
            rc = 0;
            break;
        }
        if (*stop || chiso_now_mono_us() >= deadline)
            break;
        tail_poll_one(u, 100);
    }
out:
    free(high);
    if (positions)
        rd_kafka_topic_partition_list_destroy(positions);
    if (rc == 0)
        LOG_DEBUG("%s: caught up", u->topic);
    return rc;
}
