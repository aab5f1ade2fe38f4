/*
 * units.c - catalog.units view of the snapshot sink (units.h), on a
 * chiso_tail of the compacted topic.
 */
#include "units.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/kafka.h"
#include "chiso/strmap.h"
#include "chiso/tail.h"

#define UNITS_GROUP "chiso-snapshot-units" /* required by the client; never joined */

struct snap_units {
    chiso_tail *tail;
    chiso_map *units; /* code -> chiso_unit* */
    void (*on_error)(void *opaque);
    void (*on_change)(const char *code, void *opaque);
    void *opaque;
};

static void units_error(snap_units *u)
{
    if (u->on_error)
        u->on_error(u->opaque);
}

static void units_apply(const rd_kafka_message_t *m, void *opaque);

static void units_tail_error(void *opaque)
{
    units_error(opaque);
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
    u->units = chiso_map_new();
    if (!u->units) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    u->tail = chiso_tail_new(cfg, CHISO_TOPIC_CATALOG_UNITS, UNITS_GROUP, units_apply,
                             units_tail_error, u, errstr, errstr_size);
    if (!u->tail)
        goto err;
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
    chiso_tail_destroy(u->tail);
    if (u->units) {
        for (chiso_map_entry *e = chiso_map_next(u->units, &pos, NULL); e;
             e = chiso_map_next(u->units, &pos, e))
            free(e->ptr);
        chiso_map_destroy(u->units);
    }
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
static void units_apply(const rd_kafka_message_t *m, void *opaque)
{
    snap_units *u = opaque;
    char key[CHISO_CODE_MAX + 1];
    chiso_reject rej = {0};
    chiso_unit rec;
    chiso_map_entry *e;
    int rc;

    if (!m->key || m->key_len == 0 || m->key_len > CHISO_CODE_MAX) {
        LOG_WARN("%s [%d] @%lld: bad key, skipped", chiso_tail_topic(u->tail), (int)m->partition,
                 (long long)m->offset);
        units_error(u);
        return;
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    rc = (!m->payload || m->len == 0) ? 1 : chiso_unit_parse(m->payload, m->len, &rec, &rej);
    if (rc == 1) {
        void *old = chiso_map_del(u->units, key);
        LOG_DEBUG("unit %s removed (tombstone)", key);
        if (old && u->on_change)
            u->on_change(key, u->opaque);
        free(old);
        return;
    }
    if (rc != 0) {
        LOG_WARN("%s [%d] @%lld: unit %s: %s, skipped", chiso_tail_topic(u->tail),
                 (int)m->partition, (long long)m->offset, key, rej.detail);
        units_error(u);
        return;
    }
    if (strcmp(rec.unit, key) != 0)
        LOG_WARN("unit record %s under key %s: kept under %s", rec.unit, key, rec.unit);
    e = chiso_map_put(u->units, rec.unit, NULL);
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

void snap_units_poll(snap_units *u, int timeout_ms)
{
    chiso_tail_poll(u->tail, timeout_ms);
}

int snap_units_catch_up(snap_units *u, int timeout_ms, volatile sig_atomic_t *stop)
{
    int rc = chiso_tail_catch_up(u->tail, timeout_ms, stop);
    if (rc == 0)
        LOG_INFO("%zu unit(s) in the catalog", chiso_map_size(u->units));
    return rc;
}

const chiso_unit *snap_units_get(const snap_units *u, const char *code)
{
    chiso_map_entry *e = chiso_map_get(u->units, code);
    return e ? e->ptr : NULL;
}

const char *snap_units_province(const snap_units *u)
{
    const char *best = NULL;
    size_t pos = 0;

    for (chiso_map_entry *e = chiso_map_next(u->units, &pos, NULL); e;
         e = chiso_map_next(u->units, &pos, e)) {
        const chiso_unit *unit = e->ptr;
        if (unit->kind == CHISO_UNIT_PROVINCE && (!best || strcmp(unit->unit, best) < 0))
            best = unit->unit;
    }
    return best;
}

size_t snap_units_count(const snap_units *u)
{
    return chiso_map_size(u->units);
}
