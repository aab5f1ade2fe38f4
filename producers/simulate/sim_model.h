/*
 * producers/simulate: chiso-simulate, the seeded province: sim_model.h (this), sim_truth.h,
 * sim_feedback.h, sim_malformed.h, sim_check.h, sim_heap.h, main.c.
 *
 * sim_model.h - the simulator's province and dossier model (pure logic, no
 * I/O): a seeded PRNG, the province's units and procedures, the daily
 * arrival process, and the lifecycle of one dossier as a short list of
 * compact events.
 *
 * Everything here is a deterministic function of the seed and the
 * parameters: the province is built from its own PRNG stream, each day's
 * arrivals from a stream derived from (seed, day), and each dossier's
 * lifecycle from a stream derived from (seed, day, arrival index), so a
 * dossier does not change when the noise knobs or the window length change.
 *
 * The model never calls chiso's classification or counter code: the ground
 * truth (sim_truth.h) is computed from these events independently, to check
 * the pipeline against.
 */
#ifndef CHISO_SIM_MODEL_H
#define CHISO_SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chiso/catalog.h"
#include "chiso/event.h"

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---------------------- */

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

static inline uint64_t sim_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seed a generator from one 64-bit value (any value, 0 included). */
static inline void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_splitmix64(&x);
}

/* A seed for a sub-stream: mixes a parent seed with up to two labels. */
static inline uint64_t sim_seed_mix(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed ^ (a * 0xd1342543de82ef95ULL);
    uint64_t h = sim_splitmix64(&x);
    x = h ^ (b * 0x9e3779b97f4a7c15ULL) ^ 0x5851f42d4c957f2dULL;
    return sim_splitmix64(&x);
}

static inline uint64_t sim_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = sim_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sim_rotl(s[3], 45);
    return result;
}

/* Uniform double in [0, 1). */
static inline double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, tiny bias ok). */
static inline uint32_t sim_rng_below(sim_rng *r, uint32_t n)
{
    return (uint32_t)(((sim_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform integer in [lo, hi], lo <= hi. */
static inline int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(sim_rng_unit(r) * (double)(hi - lo + 1));
}

static inline bool sim_rng_chance(sim_rng *r, double p)
{
    return sim_rng_unit(r) < p;
}

/* Index of the first of n cumulative weights greater than u * cum[n - 1]
 * (binary search): a draw weighted by the increments, u in [0, 1). */
int sim_pick_cum(const double *cum, int n, double u);

/* ---- the province ------------------------------------------------------- */

typedef enum sim_level {
    SIM_LEVEL_NONE = 0, /* not offered online: counter or post only */
    SIM_LEVEL_PARTIAL,  /* partial online service (level 3) */
    SIM_LEVEL_FULL,     /* full-process online service (level 4) */
} sim_level;

#define SIM_KIND_DEPARTMENT 1u
#define SIM_KIND_COMMUNE    2u

typedef struct sim_procedure {
    char code[CHISO_CODE_MAX + 1]; /* "1.001234" */
    char name[CHISO_NAME_MAX + 1]; /* Vietnamese, UTF-8 */
    sim_level level;
    bool fee;       /* a fee or charge applies */
    int64_t amount; /* VND, > 0 when fee */
    int due_days;   /* working days from reception to the due date */
    unsigned kinds; /* SIM_KIND_* of the units that offer it */
    int owner;      /* the offering department's unit index, -1 = every commune */
    bool citizen;   /* the applicant is a citizen (population data used) */
    /* catalog-only attributes (catalog.procedures), from their own stream */
    bool eligible_full;         /* eligible for full-process service */
    bool paper_result_required; /* the law requires a paper result */
    bool population_connected;  /* connected to the population database */
    bool announced_on_time;
    bool published_on_time;
    bool published_complete;
    double p_supplement; /* P(a received dossier gets a supplement request) */
} sim_procedure;

typedef struct sim_unit {
    chiso_unit rec;  /* the catalog.units record */
    double share;    /* share of the province's dossiers */
    double p_online; /* P(online | procedure offered online) */
    double p_late;   /* P(resolved after the due day) */
    int proc_first;  /* index into sim_province.proc_list */
    int proc_count;  /* procedures this unit offers */
} sim_unit;

/* Model parameters (command-line knobs). */
typedef struct sim_params {
    uint64_t seed;
    int departments;         /* default 20 */
    int communes;            /* default 104 */
    double dossiers_per_day; /* average over all days of the week, default 2900 */
} sim_params;

typedef struct sim_province {
    sim_params params;
    int nunits; /* 1 + departments + communes; unit 0 is the province */
    sim_unit *units;
    double *unit_cum; /* cumulative arrival shares, index = unit (0 has none) */
    int nprocs;
    sim_procedure *procs;
    int *proc_list;   /* per unit, the indices of its procedures (slices) */
    double *proc_cum; /* per unit slice, cumulative popularity */
} sim_province;

/* Build the province. Returns NULL with errstr on bad parameters or OOM.
 * Caller frees with sim_province_free(). */
sim_province *sim_province_new(const sim_params *params, char *errstr, size_t errstr_size);
void sim_province_free(sim_province *pv);

/* The contract's service level of a model level. */
chiso_service_level sim_level_chiso(sim_level level);

/* The catalog.procedures record of procedure `i` (CONTRACT.md). `units`
 * lists the owning department, or every commune when there are at most
 * CHISO_PROCEDURE_UNITS_MAX of them (empty = every unit otherwise). Returns
 * 0, or CHISO_ENOMEM; the caller releases it with chiso_procedure_clear(). */
int sim_procedure_record(const sim_province *pv, int i, chiso_procedure *out);

/* ---- arrivals ----------------------------------------------------------- */

/* One dossier arrival (its submission). */
typedef struct sim_arrival {
    int64_t at;         /* submitted, epoch seconds */
    uint32_t gen_index; /* index in generation order (seeds the lifecycle) */
    uint16_t unit;
    uint16_t proc;
    uint8_t channel; /* chiso_channel */
} sim_arrival;

/* The arrivals of local `day`, sorted by time (ties by gen_index). Returns
 * the count and sets *out to a malloc'd array the caller frees (NULL and 0
 * for no arrivals); returns -1 on OOM. */
long sim_arrivals_day(const sim_province *pv, int32_t day, sim_arrival **out);

/* ---- one dossier's lifecycle -------------------------------------------- */

/* A compact event (40 bytes): what the heap holds between generation and
 * emission. The dossier id is H31-<yymmdd of day0>-<dseq>, the event id
 * <dossier_id>#<n>. */
typedef struct sim_ev {
    int64_t at;      /* epoch seconds */
    int64_t x;       /* received: due_at; fee_requested: amount */
    uint32_t serial; /* global dossier number in arrival order (ordering) */
    int32_t day0;    /* local day of submission (dossier id) */
    uint32_t dseq;   /* number of the dossier within its day, from 1 */
    uint16_t unit;
    uint16_t proc;
    uint8_t type;  /* chiso_event_type */
    uint8_t n;     /* event number within the dossier, from 1, in time order */
    uint8_t p1;    /* channel / method / kind / outcome / delivery */
    uint8_t flags; /* SIM_F_* */
} sim_ev;

#define SIM_F_DIGITIZED  0x01u /* received */
#define SIM_F_REUSED     0x02u /* received */
#define SIM_F_FROM_STORE 0x04u /* received */
#define SIM_F_POPULATION 0x08u /* received */
#define SIM_F_E_RESULT   0x10u /* resolved */
#define SIM_F_E_SIGNED   0x20u /* resolved */
#define SIM_F_PAPER_COPY 0x40u /* returned */
#define SIM_F_SATISFIED  0x80u /* rated */

#define SIM_EV_MAX 20 /* events of one dossier, at most */

/* Generate the lifecycle of the dossier of arrival `a` on `day`, number
 * `dseq` of that day and `serial` overall. Writes its events with
 * at < window_end into out (time order, n = 1..), returns how many (at
 * most SIM_EV_MAX). Every path of CONTRACT.md occurs, supplement cycles
 * included (docs/simulator.md lists them with their shares). */
int sim_dossier_generate(const sim_province *pv, const sim_arrival *a, int32_t day, uint32_t dseq,
                         uint32_t serial, int64_t window_end, sim_ev *out);

/* ---- rendering ------------------------------------------------------------ */

/* Write the dossier id of `ev` ("H31-250701-000123"); returns its length. */
int sim_dossier_id(const sim_ev *ev, char *buf, size_t size);

/* Fill a chiso_event from a compact event. */
void sim_ev_to_event(const sim_province *pv, const sim_ev *ev, chiso_event *out);

/* Days kept after the window by the truths (sim_truth.h, sim_feedback.h):
 * a dossier or a feedback still open has contributions after its end. */
#define SIM_TRUTH_SLACK_DAYS 64

#endif
