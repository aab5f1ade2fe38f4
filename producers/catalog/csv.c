/*
 * csv.c - the strict RFC 4180 reader of csv.h.
 *
 * One pass over the caller's buffer per record: field bytes are copied,
 * unquoted, into an arena the reader owns (each followed by a NUL), and the
 * fields' offsets into it are kept; both grow as needed and are reused from
 * record to record. Line numbers count line breaks consumed (CRLF, LF, lone
 * CR), inside quoted fields too, so they match what an editor shows.
 */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

struct chiso_csv {
    const char *buf;
    size_t len, pos;
    long line;        /* line of buf[pos] */
    long record_line; /* line the last record (or error) starts on */
    char *arena;      /* the record's fields, each NUL-terminated */
    size_t used, cap;
    size_t *start; /* the record's fields: offsets into arena */
    size_t *flen;
    int nfields, capfields;
};

chiso_csv *chiso_csv_new(const char *buf, size_t len)
{
    chiso_csv *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->buf = buf;
    c->len = buf ? len : 0;
    c->line = 1;
    if (c->len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        c->pos = 3; /* byte-order mark */
    return c;
}

void chiso_csv_free(chiso_csv *c)
{
    if (!c)
        return;
    free(c->arena);
    free(c->start);
    free(c->flen);
    free(c);
}

static int emit(chiso_csv *c, char ch)
{
    if (c->used == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        char *grown = realloc(c->arena, cap);
        if (!grown)
            return CHISO_ENOMEM;
        c->arena = grown;
        c->cap = cap;
    }
    c->arena[c->used++] = ch;
    return 0;
}

/* Close the field that started at arena offset `from`. */
static int end_field(chiso_csv *c, size_t from)
{
    if (c->nfields == c->capfields) {
        int cap = c->capfields ? c->capfields * 2 : 16;
        size_t *s = realloc(c->start, (size_t)cap * sizeof(*s));
        if (s)
            c->start = s;
        size_t *l = realloc(c->flen, (size_t)cap * sizeof(*l));
        if (l)
            c->flen = l;
        if (!s || !l)
            return CHISO_ENOMEM;
        c->capfields = cap;
    }
    c->start[c->nfields] = from;
    c->flen[c->nfields] = c->used - from;
    c->nfields++;
    return emit(c, '\0');
}

/* At a CR or LF: consume one line break. */
static void eat_line_break(chiso_csv *c)
{
    if (c->buf[c->pos] == '\r' && c->pos + 1 < c->len && c->buf[c->pos + 1] == '\n')
        c->pos++;
    c->pos++;
    c->line++;
}

/* After a malformed record: go on at the next line. */
static int fail(chiso_csv *c, char *errstr, size_t errstr_size, const char *fmt, int field)
{
    snprintf(errstr, errstr_size, fmt, field);
    while (c->pos < c->len && c->buf[c->pos] != '\n' && c->buf[c->pos] != '\r')
        c->pos++;
    if (c->pos < c->len)
        eat_line_break(c);
    c->nfields = 0;
    return CHISO_EINVAL;
}

/* A quoted field, from its opening quote; the closing quote is consumed. */
static int quoted(chiso_csv *c, char *errstr, size_t errstr_size, int field)
{
    long opened = c->line;
    c->pos++;
    for (;;) {
        if (c->pos == c->len) {
            c->record_line = opened;
            return fail(c, errstr, errstr_size,
                        "the quoted field %d is never closed (it runs to the end of the input)",
                        field);
        }
        char ch = c->buf[c->pos];
        if (ch == '\0')
            return fail(c, errstr, errstr_size, "field %d holds a NUL byte", field);
        if (ch == '"') {
            if (c->pos + 1 < c->len && c->buf[c->pos + 1] == '"') {
                c->pos += 2;
                if (emit(c, '"') != 0)
                    return CHISO_ENOMEM;
                continue;
            }
            c->pos++;
            return 0;
        }
        if (ch == '\r' || ch == '\n') {
            size_t from = c->pos;
            eat_line_break(c);
            for (size_t i = from; i < c->pos; i++) { /* line breaks are data, as written */
                if (emit(c, c->buf[i]) != 0)
                    return CHISO_ENOMEM;
            }
            continue;
        }
        if (emit(c, ch) != 0)
            return CHISO_ENOMEM;
        c->pos++;
    }
}

int chiso_csv_next(chiso_csv *c, char *errstr, size_t errstr_size)
{
    int rc;

    c->nfields = 0;
    c->used = 0;
    while (c->pos < c->len && (c->buf[c->pos] == '\n' || c->buf[c->pos] == '\r'))
        eat_line_break(c); /* empty lines */
    if (c->pos == c->len)
        return 0;
    c->record_line = c->line;
    for (;;) {
        int field = c->nfields + 1;
        size_t from = c->used;
        if (c->nfields == CHISO_CSV_FIELDS_MAX)
            return fail(c, errstr, errstr_size, "the record has more than %d fields",
                        CHISO_CSV_FIELDS_MAX);
        if (c->pos < c->len && c->buf[c->pos] == '"') {
            if ((rc = quoted(c, errstr, errstr_size, field)) != 0)
                return rc;
            if (c->pos < c->len && c->buf[c->pos] != ',' && c->buf[c->pos] != '\r' &&
                c->buf[c->pos] != '\n')
                return fail(c, errstr, errstr_size,
                            "field %d has data after its closing quote (write a quote in a "
                            "quoted field as \"\")",
                            field);
        } else {
            for (; c->pos < c->len; c->pos++) {
                char ch = c->buf[c->pos];
                if (ch == ',' || ch == '\r' || ch == '\n')
                    break;
                if (ch == '"')
                    return fail(c, errstr, errstr_size,
                                "field %d has a quote but does not start with one (quote the "
                                "whole field and double the quote)",
                                field);
                if (ch == '\0')
                    return fail(c, errstr, errstr_size, "field %d holds a NUL byte", field);
                if (emit(c, ch) != 0)
                    return CHISO_ENOMEM;
            }
        }
        if (end_field(c, from) != 0)
            return CHISO_ENOMEM;
        if (c->pos < c->len && c->buf[c->pos] == ',') {
            c->pos++;
            continue;
        }
        if (c->pos < c->len)
            eat_line_break(c);
        return 1;
    }
}

int chiso_csv_nfields(const chiso_csv *c)
{
    return c->nfields;
}

const char *chiso_csv_field(const chiso_csv *c, int i, size_t *len)
{
    if (i < 0 || i >= c->nfields)
        return NULL;
    if (len)
        *len = c->flen[i];
    return c->arena + c->start[i];
}

long chiso_csv_line(const chiso_csv *c)
{
    return c->record_line;
}
