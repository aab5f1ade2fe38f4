/*
 * score.h - Decision 766 scoring: 21 indicators, five groups (and the
 * national portal's six), a total out of 100, and the ranking of siblings.
 * Pure: no I/O, no clock.
 *
 * The rules are data. A rule set is a table of 21 rows; each row names
 * its indicator, its maximum, its groups, which input counts make its
 * numerator and denominator, how the rate becomes points, and the points
 * it gives when its denominator is 0. The built-in sets are
 * "766-2022-dvcqg" (CHISO_SCORE_DEFAULT_RULES), the national portal's
 * practice as DOMAIN.md describes it (its population D for #5, #12-#14,
 * #16, #18 and #21), and "766-2022-resolved", chiso's rules before it
 * (those indicators over the dossiers received, or resolved and open past
 * due); docs/scoring.md prints both tables and argues every default. A caller may build its own
 * chiso_score_rules (say, with other thresholds) and score with it.
 *
 * Inputs are counts (chiso_score_input): dossiers, procedures of the
 * catalog and feedback of one unit in one period. A count may be "not
 * supplied" (CHISO_SCORE_ABSENT), which differs from 0: a denominator of 0
 * means there was nothing to judge and gives the row's `if_empty` points;
 * a count not supplied means we do not know, and gives a null rate and 0
 * points. Rates are clamped to [0, 1]. Points keep full double precision;
 * only the JSON rounds them (chiso_score_round2).
 */
#ifndef CHISO_SCORE_H
#define CHISO_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHISO_SCORE_DEFAULT_RULES "766-2022-dvcqg"
#define CHISO_SCORE_INDICATORS    21
#define CHISO_SCORE_GROUPS        5                /* the decision's groups I..V */
#define CHISO_SCORE_GROUPS6       6                /* the portal's: group III split in two */
#define CHISO_SCORE_ABSENT        (-1)             /* an input count not supplied */
#define CHISO_SCORE_COUNT_MAX     1000000000000000 /* 10^15: largest input count */
#define CHISO_SCORE_TERMS_MAX     3                /* input counts summed in one term */

/* The input counts, by id (docs/scoring.md defines each one; the name in
 * chiso_score_field_name() is its key in an input document). */
typedef enum chiso_score_field {
    /* dossiers of the unit in the period */
    CHISO_SF_RECEIVED = 0,     /* received in the period */
    CHISO_SF_RESOLVED,         /* resolved in the period */
    CHISO_SF_RESOLVED_ON_TIME, /* ... judged on time (ontime.h) */
    CHISO_SF_RESOLVED_LATE,    /* ... judged late */
    CHISO_SF_OPEN_OVERDUE,     /* open at the period's end and past due */
    CHISO_SF_ONLINE,           /* received, submitted online; with a paper result
                                  required, only those with an e-result */
    CHISO_SF_SYNCED,           /* received, acknowledged by the national portal */
    CHISO_SF_FEE_DOSSIERS,     /* received, of a procedure with a non-zero fee */
    CHISO_SF_PAID_ONLINE,      /* ... paid online (platform or provincial gateway) */
    CHISO_SF_E_RESULT,         /* resolved, with an electronic result */
    CHISO_SF_DIGITIZED,        /* received, with digitized components */
    CHISO_SF_REUSED_DATA,      /* received, reusing digitized data */
    CHISO_SF_FROM_DATA_STORE,  /* digitized, linked to the applicant's data store */
    CHISO_SF_POPULATION_DATA,  /* received, using population data */
    CHISO_SF_COMPLAINTS,       /* judged dossiers with a complaint or dislike */
    /* the national portal's population D: dossiers received or processed in
     * the period (DOMAIN.md; snapshot.h, chiso_snapshot_population) */
    CHISO_SF_JUDGED,                 /* |D| */
    CHISO_SF_JUDGED_ON_TIME,         /* ... judged on time */
    CHISO_SF_JUDGED_LATE,            /* ... judged late */
    CHISO_SF_JUDGED_COMPLAINTS,      /* ... with a complaint or dislike */
    CHISO_SF_JUDGED_E_RESULT,        /* ... finished in the period with an e-result */
    CHISO_SF_JUDGED_DIGITIZED,       /* ... digitized */
    CHISO_SF_JUDGED_REUSED_DATA,     /* ... reusing digitized data */
    CHISO_SF_JUDGED_FROM_DATA_STORE, /* ... linked to the applicant's data store */
    CHISO_SF_JUDGED_POPULATION_DATA, /* ... using population data */
    /* procedures of the catalog under the unit */
    CHISO_SF_PROCEDURES,
    CHISO_SF_PROCEDURES_ANNOUNCED_ON_TIME,
    CHISO_SF_PROCEDURES_PUBLISHED_ON_TIME,
    CHISO_SF_PROCEDURES_PUBLISHED_COMPLETE,
    CHISO_SF_PROCEDURES_ONLINE,               /* offered as an online service */
    CHISO_SF_PROCEDURES_ONLINE_WITH_DOSSIERS, /* ... that had a dossier in the period */
    CHISO_SF_PROCEDURES_FEE,                  /* with a fee or charge */
    CHISO_SF_PROCEDURES_PAID_ONLINE,          /* ... with an online payment in the period */
    CHISO_SF_PROCEDURES_FEE_INTEGRATED,       /* ... integrated with online payment */
    CHISO_SF_PROCEDURES_CITIZEN,              /* whose subject is citizens */
    CHISO_SF_PROCEDURES_POPULATION_CONNECTED, /* ... connected to the population DB */
    CHISO_SF_E_COPY_UNITS,                    /* units that certify copies (1 or 0) */
    CHISO_SF_E_COPY_OFFERED,                  /* ... offering e-certified copies */
    /* feedback (PAKN) of the period */
    CHISO_SF_FEEDBACK_RECEIVED,
    CHISO_SF_FEEDBACK_ANSWERED_ON_TIME,
    CHISO_SF_FEEDBACK_RATED,
    CHISO_SF_FEEDBACK_SATISFIED,
    CHISO_SF_COUNT
} chiso_score_field;

/* The counts of one unit and period (plain value struct), indexed by
 * chiso_score_field: a count 0..CHISO_SCORE_COUNT_MAX, or
 * CHISO_SCORE_ABSENT. Start from chiso_score_input_init(). */
typedef struct chiso_score_input {
    int64_t n[CHISO_SF_COUNT];
    /* Instead of counts, the per-indicator figures the national portal
     * publishes (chiso-score's "indicators", docs/scoring.md): when
     * `figures` is true every row is scored from num[i] / den[i] as given
     * (a complement's num counts the successes, as the portal prints it),
     * the counts above are not read. CHISO_SCORE_ABSENT: not supplied;
     * CHISO_SCORE_NA in both: not applicable, full points. */
    bool figures;
    int64_t num[CHISO_SCORE_INDICATORS], den[CHISO_SCORE_INDICATORS];
} chiso_score_input;

#define CHISO_SCORE_NA (-2) /* a figure the portal marks not applicable (null/null) */

/* Set every count to CHISO_SCORE_ABSENT, no figures. */
void chiso_score_input_init(chiso_score_input *in);

/* The key of a field ("received", "procedures_fee", ...), or NULL. */
const char *chiso_score_field_name(chiso_score_field f);

/* The field of a key, or -1. */
int chiso_score_field_from_name(const char *name);

/* ---- inputs from the per-unit counters in Redis ---------------------------
 *
 * Most dossier and feedback inputs are period counters the processors keep
 * (counters.h: dossiers; feedback.h: fb_* fields in the same hash). Each
 * such input names its counter; the mapping is a table in score.c that
 * docs/snapshot.md prints. An input whose counter this build does not keep
 * is not supplied, so a counter added to counters.h slots in by name. */

/* The Redis counter field that feeds input f ("received_online_valid",
 * "fb_received", ...), or NULL when no counter does (open_overdue is
 * derived from buckets, catalog inputs come from catalog.*, and #7 and #9
 * count the fields of the per-procedure hashes {U}:po and {U}:pp). */
const char *chiso_score_field_counter(chiso_score_field f);

/* Start the inputs of one unit and period from its counters: every input
 * fed by a counter this build keeps is 0 (a counter missing from the hash
 * is 0), every other input is not supplied. */
void chiso_score_input_counters(chiso_score_input *in);

/* Take one counter read from a period hash: the input it feeds gets
 * `value`, clamped to 0..CHISO_SCORE_COUNT_MAX. Returns 0, or CHISO_ENOENT
 * when no input reads a counter of that name. */
int chiso_score_input_counter(chiso_score_input *in, const char *counter, int64_t value);

/* The province roll-up: out = the field-by-field sum of n units' inputs,
 * scored like a unit's. A field any unit did not supply is not supplied
 * in the sum (it would be incomplete); with n = 0 nothing is supplied.
 * Per-indicator figures (a document's) are not summed: out has none.
 * Sums saturate at CHISO_SCORE_COUNT_MAX. */
void chiso_score_rollup(const chiso_score_input *units, size_t n, chiso_score_input *out);

/* How a row turns its counts into a rate. */
typedef enum chiso_score_rate_kind {
    CHISO_RATE_RATIO = 0,  /* num / den */
    CHISO_RATE_COMPLEMENT, /* 1 - num / den: num counts the failures */
} chiso_score_rate_kind;

/* How a row turns its rate into points. */
typedef enum chiso_score_formula {
    CHISO_FORMULA_PLAIN = 0, /* max x rate */
    CHISO_FORMULA_THRESHOLD, /* min(max, max x rate / threshold) */
    CHISO_FORMULA_CAPPED,    /* min(cap, factor x rate) */
} chiso_score_formula;

/* A sum of 1..CHISO_SCORE_TERMS_MAX input counts. */
typedef struct chiso_score_terms {
    int n;
    chiso_score_field f[CHISO_SCORE_TERMS_MAX];
} chiso_score_terms;

/* One indicator's rule (plain value struct). */
typedef struct chiso_score_rule {
    int id;           /* 1..21, the row's position + 1 */
    const char *name; /* Vietnamese, UTF-8 */
    double max;       /* points */
    int group;        /* 1..CHISO_SCORE_GROUPS */
    int group6;       /* 1..CHISO_SCORE_GROUPS6 */
    chiso_score_rate_kind rate;
    chiso_score_formula formula;
    double threshold; /* CHISO_FORMULA_THRESHOLD: in (0, 1] */
    double factor;    /* CHISO_FORMULA_CAPPED: > 0 */
    double cap;       /* CHISO_FORMULA_CAPPED: in [0, max] */
    chiso_score_terms num, den;
    double if_empty; /* points when den = 0, as a share of max (1 = full) */
} chiso_score_rule;

/* A group of indicators: its number and Vietnamese name. */
typedef struct chiso_score_group {
    int id;
    const char *name;
} chiso_score_group;

/* A rule set (plain value struct). */
typedef struct chiso_score_rules {
    const char *name; /* e.g. "766-2022-dvcqg" */
    chiso_score_rule rule[CHISO_SCORE_INDICATORS];
    chiso_score_group group[CHISO_SCORE_GROUPS];
    chiso_score_group group6[CHISO_SCORE_GROUPS6];
} chiso_score_rules;

/* The built-in rule set called `name`, or NULL. Static: never freed. */
const chiso_score_rules *chiso_score_rules_find(const char *name);

/* A chiso_cfg_def validator: the name of a built-in rule set. */
int chiso_score_rules_ok(const char *value, char *errstr, size_t errstr_size);

/* The i-th built-in rule set (0 is the default), or NULL past the last. */
const chiso_score_rules *chiso_score_rules_at(size_t i);

/* Check a rule set (ids, groups, terms, thresholds, caps, defaults).
 * Returns 0, or CHISO_EINVAL with the first problem in errstr. */
int chiso_score_rules_check(const chiso_score_rules *rules, char *errstr, size_t errstr_size);

/* One indicator's result. num and den are CHISO_SCORE_ABSENT when a count
 * they sum was not supplied; for a complement, num is den minus the
 * failures (at least 0), so rate = num / den either way. */
typedef struct chiso_score_item {
    int64_t num;
    int64_t den;
    double rate; /* in [0, 1]; NAN when null (den 0 or not supplied) */
    double points;
    double max;
    /* The points still to win: how much num must grow, at the same den, for
     * the row's full points (max, or a capped row's cap), and the points
     * that adds; 0 and 0 when already full; need = -1 (JSON null) when
     * growing num cannot get there (den 0, or a count not supplied). */
    int64_t need;
    double gain;
} chiso_score_item;

/* Points and maximum of a group. */
typedef struct chiso_score_sum {
    double points;
    double max;
} chiso_score_sum;

/* A scored unit and period (plain value struct, filled by compute). */
typedef struct chiso_score {
    const chiso_score_rules *rules; /* not owned */
    chiso_score_item ind[CHISO_SCORE_INDICATORS];
    chiso_score_sum group[CHISO_SCORE_GROUPS];
    chiso_score_sum group6[CHISO_SCORE_GROUPS6];
    double total; /* sum of the 21 points, full precision */
    double max;   /* sum of the 21 maxima: 100 for the decision */
} chiso_score;

/* Score `in` with `rules` (which must outlive *out). Returns 0, or
 * CHISO_EINVAL when the rule set fails chiso_score_rules_check() or a
 * count is neither absent nor in 0..CHISO_SCORE_COUNT_MAX. */
int chiso_score_compute(const chiso_score_rules *rules, const chiso_score_input *in,
                        chiso_score *out);

/* Competition ranking of n totals among siblings ("1224"): ranks[i] = 1 +
 * the number of totals greater than totals[i], comparing totals rounded to
 * 2 decimals as the JSON shows them, so equal shown totals share a rank.
 * O(n^2) without allocation: siblings number a few hundred. */
void chiso_score_rank(const double *totals, size_t n, int *ranks);

/* x rounded to 2 decimals, half away from zero: how the JSON prints points. */
double chiso_score_round2(double x);

#endif
