/*
 * snapshot.h - the score snapshot of CONTRACT.md ("scores" topic), built
 * from a unit's period counts. Pure: no I/O, so the snapshot sink and the
 * offline score tool build byte-identical JSON from the same counts.
 *
 * The counts of a unit and period come from Redis (counters.h): the ten
 * period counters are read from the period's hash as they are; `open` and
 * `open_overdue` are not stored for a period but derived from sums of month
 * and day buckets up to the period's end day E (chiso_snapshot_open()).
 *
 * Rates are plain ratios, JSON null when their denominator is 0. The
 * full-process gap is computed in integers (the target is taken in parts
 * per billion), so 0.7 x 10 needs exactly 7 dossiers and 0.7 x 3 needs 3.
 *
 * A snapshot that carries a score (score.h) also prints the 21
 * indicators, the five and six groups, the total and the rank among
 * siblings, points rounded to 2 decimals (docs/scoring.md); one without
 * prints exactly the fields above, as before.
 */
#ifndef CHISO_SNAPSHOT_H
#define CHISO_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "chiso/catalog.h"
#include "chiso/counters.h"
#include "chiso/score.h"
#include "chiso/vntime.h"

#define CHISO_SNAPSHOT_VERSION        1
#define CHISO_SNAPSHOT_RULES          CHISO_SCORE_DEFAULT_RULES
#define CHISO_SNAPSHOT_DEFAULT_TARGET 0.70

/* The counts of one unit (or the province) in one period (plain value
 * struct). The first ten mirror the period counters of counters.h. */
typedef struct chiso_snapshot_counts {
    int64_t received;
    int64_t received_online;
    int64_t received_direct;
    int64_t received_postal;
    int64_t resolved;
    int64_t resolved_on_time;
    int64_t resolved_late;
    int64_t full_process;
    int64_t partial;
    int64_t offline;
    int64_t open;           /* received by E, not closed at E */
    int64_t open_overdue;   /* ... and past the due date at E */
    int64_t judged;         /* the population D: received or processed in the period */
    int64_t judged_on_time; /* ... judged on time (#5's numerator) */
} chiso_snapshot_counts;

/* One snapshot to build (plain value struct the caller fills). Zero it
 * first (`chiso_snapshot s = {0};`): the members for indicators, groups
 * and rank are optional and mean "absent" when zero / NULL. */
typedef struct chiso_snapshot {
    chiso_unit unit;                  /* code, name, kind, parent, target */
    char period[CHISO_PERIOD_STRLEN]; /* "2025-07", "2025-Q3" or "2025" */
    int64_t as_of;                    /* epoch seconds */
    chiso_snapshot_counts counts;
    const struct chiso_score *score; /* NULL: no indicators; not owned */
    /* the score's inputs, printed as "inputs" so that anyone can score the
     * snapshot again with chiso-score; NULL: not printed; not owned */
    const struct chiso_score_input *inputs;
    int rank;    /* 1-based among siblings; 0: not ranked (JSON null) */
    int rank_of; /* siblings ranked; 0: not ranked (JSON null) */
} chiso_snapshot;

/* The counters whose sums over every day up to a period's end (or before
 * its start) derive the counts that span periods: open, open_overdue and
 * the population D (counters.h). A bucket holds them in this order; the
 * first four alone derive open and open_overdue. */
#define CHISO_SNAPSHOT_CUM 15
extern const chiso_counter_id chiso_snapshot_cum[CHISO_SNAPSHOT_CUM];
/* The same as Redis field names, separated by spaces: a literal, to be
 * pasted into a hiredis format string ("HMGET %s " CHISO_SNAPSHOT_CUM_FIELDS),
 * where each becomes an argument (a %s argument would be one field). */
#define CHISO_SNAPSHOT_CUM_FIELDS                                                                  \
    "received closed overdue_began overdue_closed complaint_received complaint_closed "            \
    "e_result_closed digitized digitized_closed reused_data reused_data_closed from_data_store "   \
    "from_data_store_closed population_data population_data_closed"

/* A bucket's values of those counters, in chiso_snapshot_cum's order (plain
 * value struct). `key` is a month ("2025-07") or day ("2025-07-03") period
 * key; the caller keeps it alive. */
typedef struct chiso_snapshot_bucket {
    const char *key;
    int64_t v[CHISO_SNAPSHOT_CUM];
} chiso_snapshot_bucket;

/* The national portal's population D of a unit and period [S, E]
 * (DOMAIN.md, "Populations the national portal uses"): the dossiers
 * received on or before E that had not finished before S, each judged at
 * its finish or, unfinished, at E; and those of them with each property
 * (plain value struct). */
typedef struct chiso_snapshot_population {
    int64_t judged;          /* |D| */
    int64_t late;            /* judged late (#5, #21) */
    int64_t complaints;      /* with a complaint or a dislike (#21) */
    int64_t e_result;        /* finished in the period with an electronic result (#12) */
    int64_t digitized;       /* #13 */
    int64_t reused_data;     /* #14 */
    int64_t from_data_store; /* #16 */
    int64_t population_data; /* #18 */
} chiso_snapshot_population;

/* Fill `u` with the metadata of a unit the catalog does not know: the code
 * (truncated to CHISO_CODE_MAX) as its name, kind unknown, no parent, the
 * default target. */
void chiso_snapshot_unit_default(chiso_unit *u, const char *code);

/* Set the count of a period counter by its Redis field name (counters.h).
 * Returns 0, or CHISO_ENOENT for a name that is not one of the ten period
 * counters (closed, overdue_began, overdue_closed, unknown names). */
int chiso_snapshot_counts_set(chiso_snapshot_counts *c, const char *field, int64_t value);

/* The count called `name` in the JSON's "counts" (any of the fourteen,
 * open, open_overdue, judged and judged_on_time included), or NULL for
 * another name. */
int64_t *chiso_snapshot_count_field(chiso_snapshot_counts *c, const char *name);

/* acc += x, field by field (the province roll-up). */
void chiso_snapshot_counts_add(chiso_snapshot_counts *acc, const chiso_snapshot_counts *x);

/* Derive open and open_overdue at the end day `end_day` (E) from bucket
 * sums: every month bucket whose last day is <= E, plus every day bucket
 * <= E whose month ends after E (the month of E when E is not its last
 * day). Other buckets are ignored, so the caller may pass a unit's whole
 * month list and the day buckets of E's month. Writes c->open and
 * c->open_overdue; returns 0, or CHISO_EINVAL when a key is not a period
 * key (c is then unchanged). */
int chiso_snapshot_open(const chiso_snapshot_bucket *buckets, size_t n, int32_t end_day,
                        chiso_snapshot_counts *c);

/* Derive the population D of period `p` at its end day `end_day` (E) from
 * bucket sums, taken as chiso_snapshot_open() takes them for the sums up
 * to E, and every month bucket before p's first month for the sums before
 * its first day S (p is a month, quarter or year). Writes *out; returns 0,
 * or CHISO_EINVAL when a key is not a period key or p is a day. */
int chiso_snapshot_population_of(const chiso_snapshot_bucket *buckets, size_t n,
                                 const chiso_period *p, int32_t end_day,
                                 chiso_snapshot_population *out);

/* Set the score inputs of the population D (score.h: CHISO_SF_JUDGED, ...)
 * from `pop`: judged_on_time = judged - late. */
void chiso_snapshot_population_input(struct chiso_score_input *in,
                                     const chiso_snapshot_population *pop);

/* The end day E of a period at local day `today`: min(last day, today). */
int32_t chiso_snapshot_end_day(const chiso_period *p, int32_t today);

/* The full-process gap: max(0, ceil(target x resolved) - full_process),
 * with target clamped to [0, 1] and taken to nine decimals. */
int64_t chiso_snapshot_gap(double target, int64_t resolved, int64_t full_process);

/* Build the snapshot JSON object. Returns NULL on a bad period key, a
 * score without rules, or out of memory. Caller frees with cJSON_Delete(). */
cJSON *chiso_snapshot_to_json(const chiso_snapshot *s);

/* Render the snapshot as compact UTF-8 JSON. Returns NULL on a bad period
 * key or out of memory; caller frees with free(). */
char *chiso_snapshot_render(const chiso_snapshot *s);

/* chiso_snapshot_render() and chiso_snapshot_fingerprint() at the cost of
 * one rendering: *fp gets the fingerprint (0 when NULL is returned). */
char *chiso_snapshot_render_fp(const chiso_snapshot *s, uint64_t *fp);

/* A fingerprint of everything in the snapshot except `as_of`: two
 * snapshots with equal fingerprints carry the same content. Returns 0 when
 * the snapshot cannot be built. */
uint64_t chiso_snapshot_fingerprint(const chiso_snapshot *s);

#endif
