/*
 * catview.h - a stage's view of the two compacted catalog topics
 * (CONTRACT.md: catalog.units, catalog.procedures): every record kept in
 * memory by its code, a tombstone removing it, and what scoring and the
 * quarterly report derive from them: a unit's metadata, the procedures a
 * unit offers (a procedure whose `units` list is empty is offered by every
 * unit) and their counts (chiso_catalog_counts), and the catalog inputs of
 * a score (score.h: procedures, e-copy certification).
 *
 * The view is pure until chiso_catview_follow() attaches it to Kafka
 * (chiso_tail, from the beginning, no group membership); tests feed it with
 * chiso_catview_apply_*(). One thread: the view is not locked.
 */
#ifndef CHISO_CATVIEW_H
#define CHISO_CATVIEW_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "chiso/catalog.h"
#include "chiso/config.h"
#include "chiso/score.h"

typedef struct chiso_catview chiso_catview;

/* Counts of catalog procedures (plain value struct). */
typedef struct chiso_catalog_counts {
    int64_t procedures;
    int64_t announced_on_time;
    int64_t published_on_time;
    int64_t published_complete;
    int64_t online;               /* level full or partial */
    int64_t eligible_full;        /* eligible for full-process online service */
    int64_t offered_full;         /* ... and offered at level full */
    int64_t fee;                  /* a fee or charge applies */
    int64_t fee_integrated;       /* ... and integrated with online payment */
    int64_t citizen;              /* whose subject is citizens */
    int64_t population_connected; /* ... and connected to the population database */
} chiso_catalog_counts;

/* The unit kinds with authority to certify copies (indicator #15), as a
 * mask of (1u << chiso_unit_kind). The default: communes. */
#define CHISO_CATVIEW_E_COPY_DEFAULT (1u << CHISO_UNIT_COMMUNE)

/* An empty view (e-copy kinds: the default). Caller frees with
 * chiso_catview_destroy(). NULL when out of memory. */
chiso_catview *chiso_catview_new(void);
void chiso_catview_destroy(chiso_catview *cv);

/* Parse a comma-separated list of unit kinds ("commune,department"; ""
 * for none) into a mask. Returns 0, or CHISO_EINVAL with the bad word in
 * errstr. */
int chiso_catview_parse_kinds(const char *list, unsigned *kinds, char *errstr, size_t errstr_size);

/* chiso_cfg_def validators: a unit code ("province", "unit"), a list of
 * unit kinds ("e_copy.kinds"). */
int chiso_catview_code_ok(const char *value, char *errstr, size_t errstr_size);
int chiso_catview_kinds_ok(const char *value, char *errstr, size_t errstr_size);

/* The configuration rows of a program that scores with a catalog view:
 * the rule set and the unit kinds that certify copies (docs/snapshot.md). */
#define CHISO_SCORING_CFG_DEFS                                                                     \
    {"rules", CHISO_CFG_STRING, CHISO_SCORE_DEFAULT_RULES, "scoring rule set (docs/scoring.md)",   \
     chiso_score_rules_ok},                                                                        \
    {                                                                                              \
        "e_copy.kinds", CHISO_CFG_STRING, "commune",                                               \
            "unit kinds with authority to certify copies (indicator 15), comma-separated",         \
            chiso_catview_kinds_ok                                                                 \
    }

/* Which unit kinds certify copies (a mask as above). */
void chiso_catview_set_e_copy_kinds(chiso_catview *cv, unsigned kinds);

/* Be told of changes: fn(code) once a unit's record or the procedures it
 * offers changed, fn(NULL) when every unit's may have (a procedure offered
 * by all units changed). fn must not change the view. */
void chiso_catview_on_change(chiso_catview *cv, void (*fn)(const char *unit, void *opaque),
                             void *opaque);

/* Apply one record of catalog.units (apply_unit) or catalog.procedures
 * (apply_procedure): key and payload as on the topic; an empty payload or
 * JSON null is a tombstone. Returns 1 when the view changed, 0 when not (a
 * repeat, a tombstone of nothing), CHISO_EINVAL for a bad key or record
 * (*rej says why; the view is unchanged), CHISO_ENOMEM. A record is the
 * same as the one held when its bytes are. */
int chiso_catview_apply_unit(chiso_catview *cv, const void *key, size_t keylen, const void *payload,
                             size_t len, chiso_reject *rej);
int chiso_catview_apply_procedure(chiso_catview *cv, const void *key, size_t keylen,
                                  const void *payload, size_t len, chiso_reject *rej);

/* The record of a unit, or NULL. Valid until the view next changes. */
const chiso_unit *chiso_catview_unit(const chiso_catview *cv, const char *code);

/* The code of the unit of kind province (the smallest if several), or NULL. */
const char *chiso_catview_province(const chiso_catview *cv);

/* How many unit and procedure records the view holds. */
size_t chiso_catview_nunits(const chiso_catview *cv);
size_t chiso_catview_nprocedures(const chiso_catview *cv);

/* The counts of the procedures `unit` offers (those listing it and those
 * listing no unit), or of every procedure once when unit is NULL. Returns
 * 0, CHISO_ENOENT when the view holds no procedure record at all (*out
 * zeroed: nothing is known), or CHISO_ENOMEM. */
int chiso_catview_counts(chiso_catview *cv, const char *unit, chiso_catalog_counts *out);

/* Set the catalog inputs of a score (procedures*, e_copy_units,
 * e_copy_offered; docs/snapshot.md) for `unit`, or for the province when
 * unit is NULL (every procedure once; e-copy summed over every unit
 * record). The procedure inputs are not supplied when the view holds no
 * procedure record, e-copy when it holds no record of the unit (of any
 * unit, for the province); procedures_online_with_dossiers and
 * procedures_paid_online are never supplied. Other inputs are left alone.
 * Returns 0 or CHISO_ENOMEM. */
int chiso_catview_score_input(chiso_catview *cv, const char *unit, chiso_score_input *in);

/* Follow catalog.units and catalog.procedures (with cfg's topic prefix)
 * from their beginning. `client_group` is required by librdkafka, never
 * joined. on_error (may be NULL) is called once per bad record or consumer
 * error. Returns 0, or an error with errstr. */
int chiso_catview_follow(chiso_catview *cv, const chiso_config *cfg, const char *client_group,
                         void (*on_error)(void *opaque), void *opaque, char *errstr,
                         size_t errstr_size);

/* Apply the records available within timeout_ms (bounded batches). */
void chiso_catview_poll(chiso_catview *cv, int timeout_ms);

/* Read both topics up to the high watermarks they had when called, or until
 * timeout_ms passes or *stop is set. Returns 0, or CHISO_ETIMEOUT. */
int chiso_catview_catch_up(chiso_catview *cv, int timeout_ms, volatile sig_atomic_t *stop);

#endif
