/*
 * units.c - catalog.units view of the snapshot sink (units.h).
 *
 * The partitions are discovered from metadata and assigned at
 * RD_KAFKA_OFFSET_BEGINNING; until that succeeds (topic missing, broker
 * down) every poll retries at most once a second. `next[p]` is the offset
 * after the last record applied from partition p, which is how catch_up
 * knows it has reached the high watermark.
 */
#include "units.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/kafka.h"
#include "strmap.h"

#define UNITS_GROUP "chiso-snapshot-units" /* required by the client; never joined */
#define UNITS_BATCH 1000                   /* records applied per poll at most */

struct snap_units {
    rd_kafka_t *rk;
    char topic[256];
    snap_map *units; /* code -> chiso_unit* */
    int npart;       /* 0 until assigned */
    int64_t *next;   /* per partition: offset after the last record applied */
    int64_t last_assign_try_us;
    void (*on_error)(void *opaque);
    void (*on_change)(const char *code, void *opaque);
    void *opaque;
};

static void units_error(snap_units *u)
{
    if (u->on_error)
        u->on_error(u->opaque);
}

/* Discover the partitions and assign them all from the beginning. */
static int units_assign(snap_units *u)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_resp_err_t err;
    int rc = CHISO_EIO, n;

    u->last_assign_try_us = chiso_now_mono_us();
    rkt = rd_kafka_topic_new(u->rk, u->topic, NULL);
    if (!rkt)
        goto out;
    err = rd_kafka_metadata(u->rk, 0, rkt, &md, 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        LOG_WARN("%s: metadata: %s", u->topic, rd_kafka_err2str(err));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topics[0].partition_cnt <= 0) {
        LOG_WARN("%s: no partitions yet (%s)", u->topic,
                 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic");
        goto out;
    }
    n = md->topics[0].partition_cnt;
    u->next = calloc((size_t)n, sizeof(*u->next));
    list = rd_kafka_topic_partition_list_new(n);
    if (!u->next || !list)
        goto out;
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_list_add(list, u->topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    /* partition ids are 0..n-1 in Kafka; next[] is indexed by id */
    err = rd_kafka_assign(u->rk, list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        LOG_WARN("%s: assign: %s", u->topic, rd_kafka_err2str(err));
        goto out;
    }
    u->npart = n;
    LOG_INFO("%s: reading %d partition(s) from the beginning", u->topic, n);
    rc = 0;
out:
    if (rc != 0) {
        free(u->next);
        u->next = NULL;
    }
    if (list)
        rd_kafka_topic_partition_list_destroy(list);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return rc;
}

snap_units *snap_units_new(const chiso_config *cfg, void (*on_error)(void *opaque),
                           void (*on_change)(const char *code, void *opaque), void *opaque,
                           char *errstr, size_t errstr_size)
{
    snap_units *u = calloc(1, sizeof(*u));

    if (!u) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    u->on_error = on_error;
    u->on_change = on_change;
    u->opaque = opaque;
    chiso_topic_name(cfg, CHISO_TOPIC_CATALOG_UNITS, u->topic, sizeof(u->topic));
    u->units = snap_map_new();
    if (!u->units) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    u->rk = chiso_kafka_consumer_new(cfg, UNITS_GROUP, NULL, NULL, errstr, errstr_size);
    if (!u->rk)
        goto err;
    if (units_assign(u) != 0)
        LOG_WARN("%s: not assigned yet, will retry", u->topic);
    return u;
err:
    snap_units_destroy(u);
    return NULL;
}

void snap_units_destroy(snap_units *u)
{
    size_t pos = 0;

    if (!u)
        return;
    if (u->rk) {
        rd_kafka_consumer_close(u->rk);
        rd_kafka_destroy(u->rk);
    }
    if (u->units) {
        for (snap_map_entry *e = snap_map_next(u->units, &pos, NULL); e;
             e = snap_map_next(u->units, &pos, e))
            free(e->ptr);
        snap_map_destroy(u->units);
    }
    free(u->next);
    free(u);
}

/* Whether two records carry the same metadata. */
static bool unit_equal(const chiso_unit *a, const chiso_unit *b)
{
    return strcmp(a->unit, b->unit) == 0 && strcmp(a->name, b->name) == 0 && a->kind == b->kind &&
           strcmp(a->parent, b->parent) == 0 &&
           a->e_copy_certification == b->e_copy_certification &&
           a->target_full_process == b->target_full_process;
}

/* Apply one record: store, replace or (tombstone) remove a unit. */
static void units_apply(snap_units *u, const rd_kafka_message_t *m)
{
    char key[CHISO_CODE_MAX + 1];
    chiso_reject rej = {0};
    chiso_unit rec;
    snap_map_entry *e;
    int rc;

    if (m->partition >= 0 && m->partition < u->npart)
        u->next[m->partition] = m->offset + 1;
    if (!m->key || m->key_len == 0 || m->key_len > CHISO_CODE_MAX) {
        LOG_WARN("%s [%d] @%lld: bad key, skipped", u->topic, (int)m->partition,
                 (long long)m->offset);
        units_error(u);
        return;
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    rc = (!m->payload || m->len == 0) ? 1 : chiso_unit_parse(m->payload, m->len, &rec, &rej);
    if (rc == 1) {
        void *old = snap_map_del(u->units, key);
        LOG_DEBUG("unit %s removed (tombstone)", key);
        if (old && u->on_change)
            u->on_change(key, u->opaque);
        free(old);
        return;
    }
    if (rc != 0) {
        LOG_WARN("%s [%d] @%lld: unit %s: %s, skipped", u->topic, (int)m->partition,
                 (long long)m->offset, key, rej.detail);
        units_error(u);
        return;
    }
    if (strcmp(rec.unit, key) != 0)
        LOG_WARN("unit record %s under key %s: kept under %s", rec.unit, key, rec.unit);
    e = snap_map_put(u->units, rec.unit, NULL);
    if (e && e->ptr && unit_equal(e->ptr, &rec))
        return; /* the same record again (a compaction leftover, a re-send) */
    if (!e || (!e->ptr && !(e->ptr = malloc(sizeof(chiso_unit))))) {
        LOG_ERROR("out of memory storing unit %s", rec.unit);
        units_error(u);
        return;
    }
    memcpy(e->ptr, &rec, sizeof(rec));
    LOG_DEBUG("unit %s: %s", rec.unit, rec.name);
    if (u->on_change)
        u->on_change(rec.unit, u->opaque);
}

/* One consumer poll; returns 1 when a record was applied. */
static int units_poll_one(snap_units *u, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(u->rk, timeout_ms);
    int got = 0;

    if (!m)
        return 0;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        units_apply(u, m);
        got = 1;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        LOG_WARN("%s: %s", u->topic, rd_kafka_message_errstr(m));
        units_error(u);
    }
    rd_kafka_message_destroy(m);
    return got;
}

void snap_units_poll(snap_units *u, int timeout_ms)
{
    if (u->npart == 0) {
        if (chiso_now_mono_us() - u->last_assign_try_us < 1000000 || units_assign(u) != 0)
            return;
    }
    if (!units_poll_one(u, timeout_ms))
        return;
    for (int i = 1; i < UNITS_BATCH && units_poll_one(u, 0); i++)
        ;
}

int snap_units_catch_up(snap_units *u, int timeout_ms, volatile sig_atomic_t *stop)
{
    int64_t deadline = chiso_now_mono_us() + (int64_t)timeout_ms * 1000;
    int64_t *high = NULL;
    int rc = CHISO_ETIMEOUT;

    while (u->npart == 0) {
        if (*stop || chiso_now_mono_us() >= deadline)
            return CHISO_ETIMEOUT;
        if (units_assign(u) != 0)
            rd_kafka_poll(u->rk, 200); /* wait a little, serve callbacks */
    }
    high = calloc((size_t)u->npart, sizeof(*high));
    if (!high)
        return CHISO_ENOMEM;
    for (int p = 0; p < u->npart; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t err;
        for (;;) {
            err = rd_kafka_query_watermark_offsets(u->rk, u->topic, p, &lo, &hi, 5000);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            LOG_WARN("%s [%d]: watermarks: %s", u->topic, p, rd_kafka_err2str(err));
            if (*stop || chiso_now_mono_us() >= deadline)
                goto out;
        }
        high[p] = hi > lo ? hi : 0; /* empty partition: nothing to wait for */
    }
    for (;;) {
        int behind = 0;
        for (int p = 0; p < u->npart; p++)
            behind += u->next[p] < high[p];
        if (!behind) {
            rc = 0;
            break;
        }
        if (*stop || chiso_now_mono_us() >= deadline)
            break;
        units_poll_one(u, 100);
    }
out:
    free(high);
    if (rc == 0)
        LOG_INFO("%s: caught up, %zu unit(s)", u->topic, snap_map_size(u->units));
    return rc;
}

const chiso_unit *snap_units_get(const snap_units *u, const char *code)
{
    snap_map_entry *e = snap_map_get(u->units, code);
    return e ? e->ptr : NULL;
}

const char *snap_units_province(const snap_units *u)
{
    const char *best = NULL;
    size_t pos = 0;

    for (snap_map_entry *e = snap_map_next(u->units, &pos, NULL); e;
         e = snap_map_next(u->units, &pos, e)) {
        const chiso_unit *unit = e->ptr;
        if (unit->kind == CHISO_UNIT_PROVINCE && (!best || strcmp(unit->unit, best) < 0))
            best = unit->unit;
    }
    return best;
}

size_t snap_units_count(const snap_units *u)
{
    return snap_map_size(u->units);
}
