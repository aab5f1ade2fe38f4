/*
 * catview.c - the catalog view (catview.h).
 *
 * Records are kept by code in two maps; each value is a heap copy owned by
 * the view. The counts of the procedures each unit offers are derived in
 * one pass over the procedures (a procedure adds to every unit its `units`
 * list names, or to the "every unit" sums when the list is empty) and kept
 * until a procedure record changes, so a sweep asking for a hundred units
 * costs one pass, not a hundred.
 */
#include "chiso/catview.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/kafka.h"
#include "chiso/strmap.h"
#include "chiso/tail.h"

struct chiso_catview {
    chiso_map *units; /* code -> chiso_unit* */
    chiso_map *procs; /* code -> chiso_procedure* */
    unsigned e_copy_kinds;
    void (*on_change)(const char *unit, void *opaque);
    void *change_opaque;
    /* derived counts, valid while `derived` is true */
    bool derived;
    chiso_map *by_unit;        /* code -> chiso_catalog_counts* (listing procedures only) */
    chiso_catalog_counts all;  /* procedures listing no unit: offered by every unit */
    chiso_catalog_counts each; /* every procedure once */
    /* following Kafka */
    chiso_tail *tail_units, *tail_procs;
    void (*on_error)(void *opaque);
    void *error_opaque;
};

chiso_catview *chiso_catview_new(void)
{
    chiso_catview *cv = calloc(1, sizeof(*cv));

    if (!cv)
        return NULL;
    cv->e_copy_kinds = CHISO_CATVIEW_E_COPY_DEFAULT;
    cv->units = chiso_map_new();
    cv->procs = chiso_map_new();
    cv->by_unit = chiso_map_new();
    if (!cv->units || !cv->procs || !cv->by_unit) {
        chiso_catview_destroy(cv);
        return NULL;
    }
    return cv;
}

/* Free every value of a map (procedures also own their units list). */
static void free_values(chiso_map *m, bool procedures)
{
    size_t pos = 0;

    for (chiso_map_entry *e = chiso_map_next(m, &pos, NULL); e; e = chiso_map_next(m, &pos, e)) {
        if (procedures)
            chiso_procedure_clear(e->ptr);
        free(e->ptr);
        e->ptr = NULL;
    }
}

void chiso_catview_destroy(chiso_catview *cv)
{
    if (!cv)
        return;
    chiso_tail_destroy(cv->tail_units);
    chiso_tail_destroy(cv->tail_procs);
    if (cv->units)
        free_values(cv->units, false);
    if (cv->procs)
        free_values(cv->procs, true);
    if (cv->by_unit)
        free_values(cv->by_unit, false);
    chiso_map_destroy(cv->units);
    chiso_map_destroy(cv->procs);
    chiso_map_destroy(cv->by_unit);
    free(cv);
}

int chiso_catview_parse_kinds(const char *list, unsigned *kinds, char *errstr, size_t errstr_size)
{
    unsigned mask = 0;
    const char *p = list;

    while (p && *p) {
        size_t n = strcspn(p, ",");
        int k;

        for (k = CHISO_UNIT_PROVINCE; k <= CHISO_UNIT_COMMUNE; k++) {
            const char *name = chiso_unit_kind_name((chiso_unit_kind)k);
            if (strlen(name) == n && strncmp(p, name, n) == 0)
                break;
        }
        if (k > CHISO_UNIT_COMMUNE) {
            snprintf(errstr, errstr_size,
                     "'%.*s' is not a unit kind (province, department, commune)", (int)n, p);
            return CHISO_EINVAL;
        }
        mask |= 1u << k;
        p += n;
        if (*p == ',')
            p++;
    }
    *kinds = mask;
    return 0;
}

int chiso_catview_code_ok(const char *value, char *errstr, size_t errstr_size)
{
    size_t n = strlen(value);

    if (n == 0 || n > CHISO_CODE_MAX ||
        strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n) {
        snprintf(errstr, errstr_size, "must be a unit code (1..%d of [A-Za-z0-9._-])",
                 CHISO_CODE_MAX);
        return CHISO_EINVAL;
    }
    return 0;
}

int chiso_catview_kinds_ok(const char *value, char *errstr, size_t errstr_size)
{
    unsigned kinds;
    return chiso_catview_parse_kinds(value, &kinds, errstr, errstr_size);
}

void chiso_catview_set_e_copy_kinds(chiso_catview *cv, unsigned kinds)
{
    cv->e_copy_kinds = kinds;
}

void chiso_catview_on_change(chiso_catview *cv, void (*fn)(const char *unit, void *opaque),
                             void *opaque)
{
    cv->on_change = fn;
    cv->change_opaque = opaque;
}

static void changed(chiso_catview *cv, const char *unit)
{
    if (cv->on_change)
        cv->on_change(unit, cv->change_opaque);
}

/* The record's key as a C string; CHISO_EINVAL when it is no unit code. */
static int key_of(const void *key, size_t keylen, char out[CHISO_CODE_MAX + 1], chiso_reject *rej)
{
    if (!key || keylen == 0 || keylen > CHISO_CODE_MAX) {
        rej->reason = CHISO_REJECT_BAD_VALUE;
        snprintf(rej->detail, sizeof(rej->detail), "the key is not a code of 1..%d bytes",
                 CHISO_CODE_MAX);
        return CHISO_EINVAL;
    }
    memcpy(out, key, keylen);
    out[keylen] = '\0';
    return 0;
}

static bool is_tombstone(const void *payload, size_t len)
{
    return !payload || len == 0 || (len == 4 && memcmp(payload, "null", 4) == 0);
}

/* A record's fingerprint: a repeat of the same bytes changes nothing. */
static uint64_t fingerprint(const void *payload, size_t len)
{
    return chiso_hash64(payload, len) | 1; /* never 0, a new entry's u64 */
}

int chiso_catview_apply_unit(chiso_catview *cv, const void *key, size_t keylen, const void *payload,
                             size_t len, chiso_reject *rej)
{
    char code[CHISO_CODE_MAX + 1];
    chiso_unit rec;
    chiso_map_entry *e;
    int rc;

    if ((rc = key_of(key, keylen, code, rej)) != 0)
        return rc;
    rc = is_tombstone(payload, len) ? 1 : chiso_unit_parse(payload, len, &rec, rej);
    if (rc == 1) {
        void *old = chiso_map_del(cv->units, code);
        if (!old)
            return 0;
        free(old);
        changed(cv, code);
        return 1;
    }
    if (rc != 0)
        return rc;
    if (strcmp(rec.unit, code) != 0)
        LOG_WARN("unit record %s under key %s: kept under %s", rec.unit, code, rec.unit);
    e = chiso_map_put(cv->units, rec.unit, NULL);
    if (!e)
        return CHISO_ENOMEM;
    if (e->ptr && e->u64 == fingerprint(payload, len))
        return 0; /* the same record again (a compaction leftover, a re-send) */
    if (!e->ptr && !(e->ptr = malloc(sizeof(chiso_unit)))) {
        chiso_map_del(cv->units, rec.unit);
        return CHISO_ENOMEM;
    }
    memcpy(e->ptr, &rec, sizeof(rec));
    e->u64 = fingerprint(payload, len);
    changed(cv, rec.unit);
    return 1;
}

/* Tell who a procedure record concerns: its units, or every unit. */
static void procedure_changed(chiso_catview *cv, const chiso_procedure *p)
{
    if (p->nunits == 0) {
        changed(cv, NULL);
        return;
    }
    for (int i = 0; i < p->nunits; i++)
        changed(cv, p->units[i]);
}

int chiso_catview_apply_procedure(chiso_catview *cv, const void *key, size_t keylen,
                                  const void *payload, size_t len, chiso_reject *rej)
{
    char code[CHISO_CODE_MAX + 1];
    chiso_procedure rec, *old;
    chiso_map_entry *e;
    int rc;

    if ((rc = key_of(key, keylen, code, rej)) != 0)
        return rc;
    rc = is_tombstone(payload, len) ? 1 : chiso_procedure_parse(payload, len, &rec, rej);
    if (rc == 1) {
        if (!(old = chiso_map_del(cv->procs, code)))
            return 0;
        cv->derived = false;
        procedure_changed(cv, old);
        chiso_procedure_clear(old);
        free(old);
        return 1;
    }
    if (rc != 0)
        return rc;
    if (strcmp(rec.procedure, code) != 0)
        LOG_WARN("procedure record %s under key %s: kept under %s", rec.procedure, code,
                 rec.procedure);
    e = chiso_map_put(cv->procs, rec.procedure, NULL);
    if (!e) {
        chiso_procedure_clear(&rec);
        return CHISO_ENOMEM;
    }
    old = e->ptr;
    if (old && e->u64 == fingerprint(payload, len)) {
        chiso_procedure_clear(&rec);
        return 0;
    }
    if (!old && !(e->ptr = malloc(sizeof(chiso_procedure)))) {
        chiso_map_del(cv->procs, rec.procedure);
        chiso_procedure_clear(&rec);
        return CHISO_ENOMEM;
    }
    cv->derived = false;
    if (old) {
        procedure_changed(cv, old); /* the units it no longer lists change too */
        chiso_procedure_clear(old);
    }
    memcpy(e->ptr, &rec, sizeof(rec)); /* takes over rec.units */
    e->u64 = fingerprint(payload, len);
    procedure_changed(cv, e->ptr);
    return 1;
}

const chiso_unit *chiso_catview_unit(const chiso_catview *cv, const char *code)
{
    chiso_map_entry *e = code ? chiso_map_get(cv->units, code) : NULL;
    return e ? e->ptr : NULL;
}

const char *chiso_catview_province(const chiso_catview *cv)
{
    const char *best = NULL;
    size_t pos = 0;

    for (chiso_map_entry *e = chiso_map_next(cv->units, &pos, NULL); e;
         e = chiso_map_next(cv->units, &pos, e)) {
        const chiso_unit *u = e->ptr;
        if (u->kind == CHISO_UNIT_PROVINCE && (!best || strcmp(u->unit, best) < 0))
            best = u->unit;
    }
    return best;
}

size_t chiso_catview_nunits(const chiso_catview *cv)
{
    return chiso_map_size(cv->units);
}

size_t chiso_catview_nprocedures(const chiso_catview *cv)
{
    return chiso_map_size(cv->procs);
}

/* ---- derived counts ------------------------------------------------------- */

/* The fields of chiso_catalog_counts as an array, for sums. */
#define COUNTS_N (sizeof(chiso_catalog_counts) / sizeof(int64_t))

static void counts_add_counts(chiso_catalog_counts *acc, const chiso_catalog_counts *x)
{
    int64_t *a = (int64_t *)(void *)acc;
    const int64_t *b = (const int64_t *)(const void *)x;

    for (size_t i = 0; i < COUNTS_N; i++)
        a[i] += b[i];
}

/* Count one procedure: the definitions of chiso_catalog_counts. */
static void counts_add(chiso_catalog_counts *c, const chiso_procedure *p)
{
    c->procedures++;
    c->announced_on_time += p->announced_on_time;
    c->published_on_time += p->published_on_time;
    c->published_complete += p->published_complete;
    c->online += p->level == CHISO_LEVEL_FULL || p->level == CHISO_LEVEL_PARTIAL;
    c->eligible_full += p->eligible_full;
    c->offered_full += p->eligible_full && p->level == CHISO_LEVEL_FULL;
    c->fee += p->fee;
    c->fee_integrated += p->fee && p->payment_integrated;
    c->citizen += p->citizen_subject;
    c->population_connected += p->citizen_subject && p->population_data_connected;
}

/* One pass over the procedures: the per-unit, every-unit and distinct sums. */
static int derive(chiso_catview *cv)
{
    size_t pos = 0;

    if (cv->derived)
        return 0;
    free_values(cv->by_unit, false);
    chiso_map_destroy(cv->by_unit);
    if (!(cv->by_unit = chiso_map_new()))
        return CHISO_ENOMEM;
    memset(&cv->all, 0, sizeof(cv->all));
    memset(&cv->each, 0, sizeof(cv->each));
    for (chiso_map_entry *e = chiso_map_next(cv->procs, &pos, NULL); e;
         e = chiso_map_next(cv->procs, &pos, e)) {
        const chiso_procedure *p = e->ptr;

        counts_add(&cv->each, p);
        if (p->nunits == 0)
            counts_add(&cv->all, p);
        for (int i = 0; i < p->nunits; i++) {
            chiso_map_entry *u = chiso_map_put(cv->by_unit, p->units[i], NULL);
            if (!u || (!u->ptr && !(u->ptr = calloc(1, sizeof(chiso_catalog_counts)))))
                return CHISO_ENOMEM;
            /* a unit listed twice in one record is still offered it once */
            if (u->u64 != (uint64_t)(uintptr_t)p) {
                counts_add(u->ptr, p);
                u->u64 = (uint64_t)(uintptr_t)p;
            }
        }
    }
    cv->derived = true;
    return 0;
}

int chiso_catview_counts(chiso_catview *cv, const char *unit, chiso_catalog_counts *out)
{
    chiso_map_entry *e;
    int rc;

    memset(out, 0, sizeof(*out));
    if (chiso_map_size(cv->procs) == 0)
        return CHISO_ENOENT;
    if ((rc = derive(cv)) != 0)
        return rc;
    if (!unit) {
        *out = cv->each;
        return 0;
    }
    *out = cv->all;
    if ((e = chiso_map_get(cv->by_unit, unit)) != NULL)
        counts_add_counts(out, e->ptr);
    return 0;
}

/* Whether a unit certifies copies (e_copy_units), and offers e-copies. */
static void e_copy_of(const chiso_catview *cv, const chiso_unit *u, int64_t *units,
                      int64_t *offered)
{
    bool certifies = (cv->e_copy_kinds >> u->kind) & 1u;

    *units += certifies;
    *offered += certifies && u->e_copy_certification;
}

int chiso_catview_score_input(chiso_catview *cv, const char *unit, chiso_score_input *in)
{
    static const struct {
        chiso_score_field field;
        size_t offset;
    } from_counts[] = {
        {CHISO_SF_PROCEDURES, offsetof(chiso_catalog_counts, procedures)},
        {CHISO_SF_PROCEDURES_ANNOUNCED_ON_TIME, offsetof(chiso_catalog_counts, announced_on_time)},
        {CHISO_SF_PROCEDURES_PUBLISHED_ON_TIME, offsetof(chiso_catalog_counts, published_on_time)},
        {CHISO_SF_PROCEDURES_PUBLISHED_COMPLETE,
         offsetof(chiso_catalog_counts, published_complete)},
        {CHISO_SF_PROCEDURES_ONLINE, offsetof(chiso_catalog_counts, online)},
        {CHISO_SF_PROCEDURES_FEE, offsetof(chiso_catalog_counts, fee)},
        {CHISO_SF_PROCEDURES_FEE_INTEGRATED, offsetof(chiso_catalog_counts, fee_integrated)},
        {CHISO_SF_PROCEDURES_CITIZEN, offsetof(chiso_catalog_counts, citizen)},
        {CHISO_SF_PROCEDURES_POPULATION_CONNECTED,
         offsetof(chiso_catalog_counts, population_connected)},
    };
    chiso_catalog_counts c;
    int64_t e_units = CHISO_SCORE_ABSENT, e_offered = CHISO_SCORE_ABSENT;
    int rc = chiso_catview_counts(cv, unit, &c);

    if (rc == CHISO_ENOMEM)
        return rc;
    for (size_t i = 0; i < sizeof(from_counts) / sizeof(from_counts[0]); i++)
        in->n[from_counts[i].field] =
            rc == 0 ? *(const int64_t *)(const void *)((const char *)&c + from_counts[i].offset)
                    : CHISO_SCORE_ABSENT;
    /* per-procedure sets of dossiers are not counted yet (docs/snapshot.md) */
    in->n[CHISO_SF_PROCEDURES_ONLINE_WITH_DOSSIERS] = CHISO_SCORE_ABSENT;
    in->n[CHISO_SF_PROCEDURES_PAID_ONLINE] = CHISO_SCORE_ABSENT;

    if (unit) {
        const chiso_unit *u = chiso_catview_unit(cv, unit);
        if (u) {
            e_units = e_offered = 0;
            e_copy_of(cv, u, &e_units, &e_offered);
        }
    } else if (chiso_map_size(cv->units) > 0) {
        size_t pos = 0;
        e_units = e_offered = 0;
        for (chiso_map_entry *e = chiso_map_next(cv->units, &pos, NULL); e;
             e = chiso_map_next(cv->units, &pos, e))
            e_copy_of(cv, e->ptr, &e_units, &e_offered);
    }
    in->n[CHISO_SF_E_COPY_UNITS] = e_units;
    in->n[CHISO_SF_E_COPY_OFFERED] = e_offered;
    return 0;
}

/* ---- following Kafka -------------------------------------------------------- */

/* Apply one record of either topic; bad records are logged and counted. */
static void follow_record(chiso_catview *cv, const rd_kafka_message_t *m, bool procedures)
{
    chiso_reject rej = {0};
    int rc = procedures
                 ? chiso_catview_apply_procedure(cv, m->key, m->key_len, m->payload, m->len, &rej)
                 : chiso_catview_apply_unit(cv, m->key, m->key_len, m->payload, m->len, &rej);

    if (rc >= 0)
        return;
    if (rc == CHISO_ENOMEM)
        LOG_ERROR("%s [%d] @%lld: out of memory", rd_kafka_topic_name(m->rkt), (int)m->partition,
                  (long long)m->offset);
    else
        LOG_WARN("%s [%d] @%lld: %s, skipped", rd_kafka_topic_name(m->rkt), (int)m->partition,
                 (long long)m->offset, rej.detail);
    if (cv->on_error)
        cv->on_error(cv->error_opaque);
}

static void on_unit_record(const rd_kafka_message_t *m, void *opaque)
{
    follow_record(opaque, m, false);
}

static void on_procedure_record(const rd_kafka_message_t *m, void *opaque)
{
    follow_record(opaque, m, true);
}

static void on_tail_error(void *opaque)
{
    chiso_catview *cv = opaque;
    if (cv->on_error)
        cv->on_error(cv->error_opaque);
}

int chiso_catview_follow(chiso_catview *cv, const chiso_config *cfg, const char *client_group,
                         void (*on_error)(void *opaque), void *opaque, char *errstr,
                         size_t errstr_size)
{
    cv->on_error = on_error;
    cv->error_opaque = opaque;
    cv->tail_units = chiso_tail_new(cfg, CHISO_TOPIC_CATALOG_UNITS, client_group, on_unit_record,
                                    on_tail_error, cv, errstr, errstr_size);
    if (!cv->tail_units)
        return CHISO_EIO;
    cv->tail_procs = chiso_tail_new(cfg, CHISO_TOPIC_CATALOG_PROCEDURES, client_group,
                                    on_procedure_record, on_tail_error, cv, errstr, errstr_size);
    return cv->tail_procs ? 0 : CHISO_EIO;
}

void chiso_catview_poll(chiso_catview *cv, int timeout_ms)
{
    if (cv->tail_units)
        chiso_tail_poll(cv->tail_units, timeout_ms / 2);
    if (cv->tail_procs)
        chiso_tail_poll(cv->tail_procs, timeout_ms - timeout_ms / 2);
}

int chiso_catview_catch_up(chiso_catview *cv, int timeout_ms, volatile sig_atomic_t *stop)
{
    int64_t deadline = chiso_now_mono_us() + (int64_t)timeout_ms * 1000;
    int rc = 0;

    if (cv->tail_units)
        rc = chiso_tail_catch_up(cv->tail_units, timeout_ms, stop);
    if (rc == 0 && cv->tail_procs) {
        int64_t left = (deadline - chiso_now_mono_us()) / 1000;
        rc = chiso_tail_catch_up(cv->tail_procs, left > 0 ? (int)left : 0, stop);
    }
    if (rc == 0)
        LOG_INFO("catalog: %zu unit(s), %zu procedure(s)", chiso_map_size(cv->units),
                 chiso_map_size(cv->procs));
    return rc;
}
