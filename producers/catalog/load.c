/*
 * load.c - catalog files into normalized records (load.h).
 *
 * CSV: the first record is the header, naming CONTRACT.md fields (any
 * order, each at most once; an unknown name is an error, so a misspelt
 * column never silently becomes a default). Each row becomes a JSON object:
 *   text columns            the field as written (an empty one stays "",
 *                           which the parser rejects where it matters)
 *   parent                  empty = null
 *   booleans                true/false, yes/no, 1/0 (any case); empty =
 *                           absent (false); anything else goes on as text
 *                           and is rejected by the parser
 *   v, target_full_process  a JSON number as written; empty = absent (v
 *                           then 1); anything else goes on as text
 *   units (procedures)      unit codes separated by ';', blanks around
 *                           each trimmed; empty = absent (every unit)
 * Rows whose fields are all empty (spreadsheets export them) are skipped.
 *
 * JSON lines: one record per non-blank line, as on the topic; a null line
 * is refused (a tombstone needs its key: --tombstone).
 *
 * Either way the object then goes through chiso_unit_parse() or
 * chiso_procedure_parse() and, valid, is serialized again from the struct.
 */
#include "load.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "chiso/catalog.h"
#include "chiso/common.h"
#include "chiso/runtime.h"
#include "csv.h"

#define FILE_MAX   (256L * 1024 * 1024) /* bytes of one input file */
#define VALUE_MAX  (64 * 1024)          /* a normalized record */
#define BAD_LISTED 100                  /* bad lines listed one by one */

static const char *const kind_names[] = {"auto", "units", "procedures"};
static const char *const format_names[] = {"auto", "csv", "jsonl"};

static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
    }
    return -1;
}

int cat_kind_parse(const char *s)
{
    return name_index(kind_names, 3, s);
}

int cat_format_parse(const char *s)
{
    return name_index(format_names, 3, s);
}

const char *cat_kind_name(cat_kind kind)
{
    return (int)kind >= 0 && (int)kind < 3 ? kind_names[kind] : "?";
}

/* ---- records -------------------------------------------------------------- */

static void bad_line(cat_load *l, const char *file, long line, const char *reason,
                     const char *detail)
{
    if (++l->bad <= BAD_LISTED)
        LOG_ERROR("%s:%ld: %s: %s", file, line, reason, detail);
    else if (l->bad == BAD_LISTED + 1)
        LOG_ERROR("more bad lines: only counted from here");
}

static int append(cat_load *l, const cat_record *r)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 256;
        cat_record *grown = realloc(l->recs, (size_t)cap * sizeof(*grown));
        if (!grown)
            return CHISO_ENOMEM;
        l->recs = grown;
        l->cap = cap;
    }
    l->recs[l->n++] = *r;
    return 0;
}

/* Validate one record's JSON with its kind's parser; append it normalized,
 * or report the line. Returns 0 or CHISO_ENOMEM. */
static int add_json(cat_load *l, cat_kind kind, const char *json, size_t len, const char *file,
                    long line)
{
    cat_record r = {.kind = kind, .file = file, .line = line};
    chiso_reject rej;
    chiso_unit u;
    chiso_procedure p;
    char *out = malloc(VALUE_MAX);
    int rc, n = CHISO_EINVAL;

    if (!out)
        return CHISO_ENOMEM;
    if (kind == CAT_UNITS) {
        rc = chiso_unit_parse(json, len, &u, &rej);
        if (rc == 0) {
            n = chiso_unit_to_json(&u, out, VALUE_MAX);
            memcpy(r.key, u.unit, sizeof(r.key));
        }
    } else {
        rc = chiso_procedure_parse(json, len, &p, &rej);
        if (rc == 0) {
            n = chiso_procedure_to_json(&p, out, VALUE_MAX);
            memcpy(r.key, p.procedure, sizeof(r.key));
            chiso_procedure_clear(&p);
        }
    }
    if (rc == 1) {
        bad_line(l, file, line, "tombstone",
                 "an empty or null record deletes nothing without its key (use --tombstone CODE)");
    } else if (rc != 0) {
        bad_line(l, file, line, chiso_reject_code(rej.reason), rej.detail);
    } else if (n == CHISO_ENOMEM) {
        free(out);
        return CHISO_ENOMEM;
    } else if (n < 0) {
        bad_line(l, file, line, "too_large", "the normalized record does not fit 64 KiB");
    } else {
        r.value = out;
        r.len = (size_t)n;
        if (append(l, &r) != 0) {
            free(out);
            return CHISO_ENOMEM;
        }
        return 0;
    }
    free(out);
    return 0;
}

static bool code_ok(const char *s)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    size_t n = strlen(s);
    return n >= 1 && n <= CHISO_CODE_MAX && strspn(s, chars) == n;
}

int cat_load_tombstone(cat_load *l, cat_kind kind, const char *code)
{
    cat_record r = {.kind = kind, .file = "--tombstone"};
    if ((kind != CAT_UNITS && kind != CAT_PROCEDURES) || !code_ok(code))
        return CHISO_EINVAL;
    memcpy(r.key, code, strlen(code) + 1);
    return append(l, &r);
}

void cat_load_clear(cat_load *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->recs[i].value);
    free(l->recs);
    memset(l, 0, sizeof(*l));
}

/* ---- CSV ------------------------------------------------------------------ */

typedef enum col_type { COL_TEXT, COL_NULLABLE, COL_BOOL, COL_NUMBER, COL_LIST } col_type;

typedef struct col_def {
    const char *name;
    col_type type;
    bool required;
} col_def;

static const col_def unit_cols[] = {
    {"v", COL_NUMBER, false},
    {"unit", COL_TEXT, true},
    {"name", COL_TEXT, true},
    {"kind", COL_TEXT, true},
    {"parent", COL_NULLABLE, false},
    {"e_copy_certification", COL_BOOL, false},
    {"target_full_process", COL_NUMBER, false},
    {NULL, COL_TEXT, false},
};

static const col_def proc_cols[] = {
    {"v", COL_NUMBER, false},
    {"procedure", COL_TEXT, true},
    {"name", COL_TEXT, true},
    {"level", COL_TEXT, true},
    {"eligible_full", COL_BOOL, false},
    {"fee", COL_BOOL, false},
    {"payment_integrated", COL_BOOL, false},
    {"paper_result_required", COL_BOOL, false},
    {"citizen_subject", COL_BOOL, false},
    {"population_data_connected", COL_BOOL, false},
    {"announced_on_time", COL_BOOL, false},
    {"published_on_time", COL_BOOL, false},
    {"published_complete", COL_BOOL, false},
    {"units", COL_LIST, false},
    {NULL, COL_TEXT, false},
};

/* 1 true, 0 false, -1 neither. */
static int bool_value(const char *s)
{
    static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* The `units` list: codes separated by ';', blanks trimmed. */
static cJSON *list_value(const char *s)
{
    cJSON *arr = cJSON_CreateArray();
    while (arr) {
        const char *end = strchr(s, ';');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        while (n && isspace((unsigned char)*s))
            s++, n--;
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        char *item = strndup(s, n);
        cJSON *str = item ? cJSON_CreateString(item) : NULL;
        free(item);
        if (!str || !cJSON_AddItemToArray(arr, str)) {
            cJSON_Delete(str);
            cJSON_Delete(arr);
            return NULL;
        }
        if (!end)
            break;
        s = end + 1;
    }
    return arr;
}

/* A JSON number as written, else the text (for the parser to reject). */
static cJSON *number_value(const char *s)
{
    cJSON *v = cJSON_ParseWithOpts(s, NULL, 1);
    if (cJSON_IsNumber(v))
        return v;
    cJSON_Delete(v);
    return cJSON_CreateString(s);
}

/* The JSON value of one CSV field, or NULL for "absent" (*oom set when
 * NULL means out of memory). */
static cJSON *field_value(const col_def *col, const char *s, bool *oom)
{
    cJSON *v;
    int b;

    *oom = false;
    if (s[0] == '\0' && col->type == COL_NULLABLE)
        v = cJSON_CreateNull();
    else if (s[0] == '\0' && col->type != COL_TEXT)
        return NULL; /* absent: the parser's default */
    else if (col->type == COL_BOOL)
        v = (b = bool_value(s)) < 0 ? cJSON_CreateString(s) : cJSON_CreateBool(b);
    else if (col->type == COL_NUMBER)
        v = number_value(s);
    else if (col->type == COL_LIST)
        v = list_value(s);
    else
        v = cJSON_CreateString(s);
    *oom = !v;
    return v;
}

/* Map the header's columns to `cols`: index[i] = column of field i. */
static int map_header(chiso_csv *c, const col_def *cols, int *index, const char *path, char *errstr,
                      size_t errstr_size)
{
    int n = chiso_csv_nfields(c);
    bool seen[16] = {false};

    for (int i = 0; i < n; i++) {
        const char *name = chiso_csv_field(c, i, NULL);
        index[i] = -1;
        for (int k = 0; cols[k].name; k++) {
            if (strcmp(name, cols[k].name) == 0)
                index[i] = k;
        }
        if (index[i] < 0) {
            snprintf(errstr, errstr_size,
                     "%s:%ld: unknown column '%.40s' (a %s file's columns "
                     "are CONTRACT.md field names)",
                     path, chiso_csv_line(c), name, cols == unit_cols ? "units" : "procedures");
            return CHISO_EINVAL;
        }
        if (seen[index[i]]) {
            snprintf(errstr, errstr_size, "%s:%ld: column '%s' appears twice", path,
                     chiso_csv_line(c), name);
            return CHISO_EINVAL;
        }
        seen[index[i]] = true;
    }
    for (int k = 0; cols[k].name; k++) {
        if (cols[k].required && !seen[k]) {
            snprintf(errstr, errstr_size, "%s:%ld: the header lacks the required column '%s'", path,
                     chiso_csv_line(c), cols[k].name);
            return CHISO_EINVAL;
        }
    }
    return 0;
}

/* One CSV row as a JSON object (printed into *json, caller frees). */
static int row_json(chiso_csv *c, const col_def *cols, const int *index, char **json)
{
    cJSON *obj = cJSON_CreateObject();
    bool has_v = false, oom = false;

    for (int i = 0; obj && i < chiso_csv_nfields(c); i++) {
        const col_def *col = &cols[index[i]];
        cJSON *v = field_value(col, chiso_csv_field(c, i, NULL), &oom);
        if (oom)
            break;
        if (v && !cJSON_AddItemToObject(obj, col->name, v)) {
            cJSON_Delete(v);
            oom = true;
            break;
        }
        has_v |= v && strcmp(col->name, "v") == 0;
    }
    if (obj && !oom && !has_v && !cJSON_AddNumberToObject(obj, "v", 1))
        oom = true;
    *json = obj && !oom ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    return *json ? 0 : CHISO_ENOMEM;
}

static bool row_blank(const chiso_csv *c)
{
    for (int i = 0; i < chiso_csv_nfields(c); i++) {
        if (chiso_csv_field(c, i, NULL)[0])
            return false;
    }
    return true;
}

static int load_csv(cat_load *l, const char *buf, size_t len, const char *path, cat_kind kind,
                    char *errstr, size_t errstr_size)
{
    char err[256];
    int index[16], ncols, rc;
    chiso_csv *c = chiso_csv_new(buf, len);

    if (!c)
        return CHISO_ENOMEM;
    rc = chiso_csv_next(c, err, sizeof(err));
    if (rc <= 0) {
        if (rc == 0)
            snprintf(errstr, errstr_size, "%s: empty file: no header", path);
        else
            snprintf(errstr, errstr_size, "%s:%ld: header: %s", path, chiso_csv_line(c), err);
        rc = rc == CHISO_ENOMEM ? rc : CHISO_EINVAL;
        goto out;
    }
    ncols = chiso_csv_nfields(c);
    if (kind == CAT_AUTO) {
        for (int i = 0; i < ncols; i++) {
            const char *name = chiso_csv_field(c, i, NULL);
            if (strcmp(name, "procedure") == 0)
                kind = CAT_PROCEDURES;
            else if (strcmp(name, "unit") == 0 && kind == CAT_AUTO)
                kind = CAT_UNITS;
        }
        if (kind == CAT_AUTO) {
            snprintf(errstr, errstr_size,
                     "%s:%ld: the header has neither a 'procedure' nor a 'unit' column", path,
                     chiso_csv_line(c));
            rc = CHISO_EINVAL;
            goto out;
        }
    }
    const col_def *cols = kind == CAT_UNITS ? unit_cols : proc_cols;
    if (ncols > 16) {
        snprintf(errstr, errstr_size, "%s:%ld: %d columns: more than a %s record has", path,
                 chiso_csv_line(c), ncols, cat_kind_name(kind));
        rc = CHISO_EINVAL;
        goto out;
    }
    if ((rc = map_header(c, cols, index, path, errstr, errstr_size)) != 0)
        goto out;
    while ((rc = chiso_csv_next(c, err, sizeof(err))) != 0) {
        char *json = NULL;
        if (rc == CHISO_ENOMEM)
            goto out;
        if (rc < 0) {
            bad_line(l, path, chiso_csv_line(c), "csv", err);
            continue;
        }
        if (row_blank(c))
            continue;
        if (chiso_csv_nfields(c) != ncols) {
            snprintf(err, sizeof(err), "the row has %d fields, the header %d", chiso_csv_nfields(c),
                     ncols);
            bad_line(l, path, chiso_csv_line(c), "csv", err);
            continue;
        }
        if ((rc = row_json(c, cols, index, &json)) != 0)
            goto out;
        rc = add_json(l, kind, json, strlen(json), path, chiso_csv_line(c));
        cJSON_free(json);
        if (rc != 0)
            goto out;
    }
out:
    chiso_csv_free(c);
    return rc;
}

/* ---- JSON lines ----------------------------------------------------------- */

/* The next line of buf from *pos: its start and length without the line
 * break (and a CR before it). */
static const char *next_line(const char *buf, size_t len, size_t *pos, size_t *n)
{
    if (*pos >= len)
        return NULL;
    const char *s = buf + *pos, *nl = memchr(s, '\n', len - *pos);
    *n = nl ? (size_t)(nl - s) : len - *pos;
    *pos += *n + (nl ? 1 : 0);
    if (*n && s[*n - 1] == '\r')
        (*n)--;
    return s;
}

static bool line_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isspace((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* The kind of the first line that is a JSON object naming one. */
static cat_kind jsonl_kind(const char *buf, size_t len)
{
    size_t pos = 0, n;
    const char *s;
    cat_kind kind = CAT_AUTO;
    while (kind == CAT_AUTO && (s = next_line(buf, len, &pos, &n)) != NULL) {
        cJSON *root = cJSON_ParseWithLength(s, n);
        if (cJSON_IsObject(root)) {
            if (cJSON_GetObjectItemCaseSensitive(root, "procedure"))
                kind = CAT_PROCEDURES;
            else if (cJSON_GetObjectItemCaseSensitive(root, "unit"))
                kind = CAT_UNITS;
        }
        cJSON_Delete(root);
    }
    return kind;
}

static int load_jsonl(cat_load *l, const char *buf, size_t len, const char *path, cat_kind kind,
                      char *errstr, size_t errstr_size)
{
    size_t pos = 0, n;
    const char *s;
    long line = 0;
    int rc;

    if (kind == CAT_AUTO && (kind = jsonl_kind(buf, len)) == CAT_AUTO) {
        snprintf(errstr, errstr_size,
                 "%s: no record names a 'procedure' or a 'unit': cannot tell the catalog "
                 "(use --catalog)",
                 path);
        return CHISO_EINVAL;
    }
    while ((s = next_line(buf, len, &pos, &n)) != NULL) {
        line++;
        if (line_blank(s, n))
            continue;
        if ((rc = add_json(l, kind, s, n, path, line)) != 0)
            return rc;
    }
    return 0;
}

/* ---- files ---------------------------------------------------------------- */

static int read_all(const char *path, char **buf, size_t *len, char *errstr, size_t errstr_size)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = 0, got;
    int rc = 0;

    *buf = NULL;
    *len = 0;
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return CHISO_EIO;
    }
    do {
        if (*len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *grown = cap <= (size_t)FILE_MAX + 1 ? realloc(*buf, cap) : NULL;
            if (!grown) {
                snprintf(errstr, errstr_size, "%s: larger than %ld MiB, or out of memory", path,
                         FILE_MAX >> 20);
                rc = CHISO_EIO;
                break;
            }
            *buf = grown;
        }
        got = fread(*buf + *len, 1, cap - *len, f);
        *len += got;
    } while (got > 0);
    if (rc == 0 && ferror(f)) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        rc = CHISO_EIO;
    }
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

static cat_format format_of(const char *path)
{
    static const struct {
        const char *ext;
        cat_format format;
    } exts[] = {
        {".csv", FMT_CSV}, {".jsonl", FMT_JSONL}, {".ndjson", FMT_JSONL}, {".json", FMT_JSONL}};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t e = strlen(exts[i].ext);
        if (n > e && strcasecmp(path + n - e, exts[i].ext) == 0)
            return exts[i].format;
    }
    return FMT_AUTO;
}

int cat_load_file(cat_load *l, const char *path, cat_format format, cat_kind kind, char *errstr,
                  size_t errstr_size)
{
    char *buf;
    size_t len;
    int rc;

    if (format == FMT_AUTO && (format = format_of(path)) == FMT_AUTO) {
        snprintf(errstr, errstr_size,
                 "%s: cannot tell the format from the name (.csv, .jsonl): use --format", path);
        return CHISO_EINVAL;
    }
    if ((rc = read_all(path, &buf, &len, errstr, errstr_size)) != 0)
        return rc;
    if (format == FMT_CSV) {
        rc = load_csv(l, buf, len, path, kind, errstr, errstr_size);
    } else {
        size_t skip = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        rc = load_jsonl(l, buf + skip, len - skip, path, kind, errstr, errstr_size);
    }
    if (rc == CHISO_ENOMEM)
        snprintf(errstr, errstr_size, "%s: out of memory", path);
    free(buf);
    return rc;
}
