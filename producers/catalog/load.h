/*
 * producers/catalog: chiso-catalog, catalog files onto the catalog topics: load.h (this),
 * csv.h (the CSV reader, library chiso_csv), main.c.
 *
 * load.h - reading catalog files (CSV or JSON lines) into validated,
 * normalized catalog records (chiso-catalog).
 *
 * Every record goes through core/catalog.h's parser, so the loader accepts
 * exactly what the processors accept, and is re-serialized from the parsed
 * struct: what travels is the normalized JSON (every field, contract
 * order), keyed by the procedure or unit code. Bad lines are reported on
 * stderr as "FILE:LINE: reason: sentence" and counted; they never stop the
 * reading of the rest.
 */
#ifndef CHISO_CATALOG_LOAD_H
#define CHISO_CATALOG_LOAD_H

#include <stddef.h>

#include "chiso/event.h"

typedef enum cat_kind { CAT_AUTO = 0, CAT_UNITS, CAT_PROCEDURES } cat_kind;
typedef enum cat_format { FMT_AUTO = 0, FMT_CSV, FMT_JSONL } cat_format;

/* One valid record to produce. */
typedef struct cat_record {
    cat_kind kind; /* CAT_UNITS or CAT_PROCEDURES */
    char key[CHISO_CODE_MAX + 1];
    char *value; /* normalized JSON, malloc'd; NULL for a tombstone */
    size_t len;
    const char *file; /* not owned: the path as given */
    long line;        /* 0 for a tombstone from the command line */
} cat_record;

/* What the files held: the valid records in input order, and how many
 * lines were bad. */
typedef struct cat_load {
    cat_record *recs;
    int n, cap;
    int bad;
} cat_load;

/* Parse "auto", "units", "procedures" / "auto", "csv", "jsonl"; -1 if none. */
int cat_kind_parse(const char *s);
int cat_format_parse(const char *s);
/* "units" or "procedures". */
const char *cat_kind_name(cat_kind kind);

/* Read one file (path "-" = stdin) into l. `format` FMT_AUTO goes by the
 * extension (.csv; .jsonl, .ndjson, .json); `kind` CAT_AUTO by the CSV
 * header (a `procedure` column, else a `unit` column) or by the first JSON
 * object's fields. Returns 0 (bad lines reported and counted in l->bad),
 * CHISO_EINVAL for a file that cannot be read as a catalog at all (format or
 * kind unknown, a bad CSV header) or CHISO_EIO (unreadable), with errstr;
 * or CHISO_ENOMEM. */
int cat_load_file(cat_load *l, const char *path, cat_format format, cat_kind kind, char *errstr,
                  size_t errstr_size);

/* Append a tombstone for `code` of `kind`. Returns 0, CHISO_EINVAL (not a
 * code: 1..32 of [A-Za-z0-9._-]) or CHISO_ENOMEM. */
int cat_load_tombstone(cat_load *l, cat_kind kind, const char *code);

/* Free every record. */
void cat_load_clear(cat_load *l);

#endif
