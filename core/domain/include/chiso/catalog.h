/*
 * catalog.h - reference records of the compacted catalog topics
 * (CONTRACT.md: catalog.units, catalog.procedures).
 */
#ifndef CHISO_CATALOG_H
#define CHISO_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "chiso/event.h"

typedef enum chiso_unit_kind {
    CHISO_UNIT_UNKNOWN = 0,
    CHISO_UNIT_PROVINCE,
    CHISO_UNIT_DEPARTMENT,
    CHISO_UNIT_COMMUNE,
} chiso_unit_kind;

#define CHISO_NAME_MAX 255 /* bytes of UTF-8 */

/* A unit record (plain value struct). */
typedef struct chiso_unit {
    char unit[CHISO_CODE_MAX + 1];
    char name[CHISO_NAME_MAX + 1];
    chiso_unit_kind kind;
    char parent[CHISO_CODE_MAX + 1]; /* "" when null */
    bool e_copy_certification;
    double target_full_process; /* default 0.70 */
} chiso_unit;

/* Parse a catalog.units value. A JSON null or empty payload is a tombstone:
 * returns 1 (the key names the unit). Returns 0 on a valid record, or
 * CHISO_EINVAL and fills *rej. */
int chiso_unit_parse(const char *buf, size_t len, chiso_unit *out, chiso_reject *rej);

/* Serialize a unit record to JSON. Returns length or CHISO_ERANGE. */
int chiso_unit_to_json(const chiso_unit *u, char *buf, size_t size);

const char *chiso_unit_kind_name(chiso_unit_kind kind);

/* A procedure's online service level (CONTRACT.md `level`). The order
 * matters: dossier states merge levels by keeping the highest. */
typedef enum chiso_service_level {
    CHISO_LEVEL_UNKNOWN = 0, /* no catalog record */
    CHISO_LEVEL_NONE,        /* not offered online */
    CHISO_LEVEL_PARTIAL,     /* partial online service */
    CHISO_LEVEL_FULL,        /* full-process online service */
} chiso_service_level;

#define CHISO_PROCEDURE_UNITS_MAX 256 /* unit codes in one record's `units` */

/* A procedure record (plain value struct); `units` is heap-allocated by the
 * parser: release with chiso_procedure_clear(). */
typedef struct chiso_procedure {
    char procedure[CHISO_CODE_MAX + 1];
    char name[CHISO_NAME_MAX + 1];
    chiso_service_level level;
    bool eligible_full;
    bool fee;
    bool payment_integrated;
    bool paper_result_required;
    bool citizen_subject;
    bool population_data_connected;
    bool announced_on_time;
    bool published_on_time;
    bool published_complete;
    int nunits;                        /* 0 = offered by every unit */
    char (*units)[CHISO_CODE_MAX + 1]; /* nunits codes */
} chiso_procedure;

/* Parse a catalog.procedures value. A JSON null or empty payload is a
 * tombstone: returns 1. Returns 0 on a valid record (caller releases it with
 * chiso_procedure_clear()), or CHISO_EINVAL and fills *rej. */
int chiso_procedure_parse(const char *buf, size_t len, chiso_procedure *out, chiso_reject *rej);
void chiso_procedure_clear(chiso_procedure *p);

/* Serialize a procedure record to JSON. Returns length or CHISO_ERANGE. */
int chiso_procedure_to_json(const chiso_procedure *p, char *buf, size_t size);

/* "unknown", "none", "partial", "full". */
const char *chiso_service_level_name(chiso_service_level level);

#endif
