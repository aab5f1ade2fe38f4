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

#endif
