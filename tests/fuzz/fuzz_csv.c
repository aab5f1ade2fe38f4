/*
 * fuzz_csv.c - libFuzzer target for the CSV reader (csv.h), the first
 * parser a catalog file goes through.
 *
 * Properties checked on every input (abort() on violation):
 *   - every record has 1..CHISO_CSV_FIELDS_MAX fields, each NUL-free with
 *     the length reported; line numbers never go backwards nor past the
 *     input's line count; an error has a sentence; the reader ends;
 *   - when the whole input reads without error, writing its records back
 *     (every field quoted, quotes doubled, CRLF) and reading that gives the
 *     same records.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read buf to its end; append the re-encoding of its records to *w (when
 * w is not NULL). Returns the number of errors, or -1 on a broken property. */
static int read_all(const char *buf, size_t len, char **w, size_t *wlen)
{
    chiso_csv *c = chiso_csv_new(buf, len);
    char err[256];
    long lines = 1, last = 0;
    int rc, errors = 0;

    if (!c)
        abort();
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n' || (buf[i] == '\r' && (i + 1 == len || buf[i + 1] != '\n'));
    while ((rc = chiso_csv_next(c, err, sizeof(err))) != 0) {
        long line = chiso_csv_line(c);
        if (line < last || line < 1 || line > lines)
            abort();
        last = line;
        if (rc < 0) {
            if (err[0] == '\0')
                abort();
            errors++;
            continue;
        }
        int n = chiso_csv_nfields(c);
        if (n < 1 || n > CHISO_CSV_FIELDS_MAX)
            abort();
        for (int i = 0; i < n; i++) {
            size_t flen;
            const char *f = chiso_csv_field(c, i, &flen);
            if (!f || strlen(f) != flen)
                abort();
            if (!w)
                continue;
            /* worst case: every byte a quote, doubled, plus quotes and separator */
            char *grown = realloc(*w, *wlen + 2 * flen + 4);
            if (!grown)
                abort();
            *w = grown;
            (*w)[(*wlen)++] = '"';
            for (size_t k = 0; k < flen; k++) {
                if (f[k] == '"')
                    (*w)[(*wlen)++] = '"';
                (*w)[(*wlen)++] = f[k];
            }
            (*w)[(*wlen)++] = '"';
            if (i + 1 < n)
                (*w)[(*wlen)++] = ',';
        }
        if (w) {
            char *grown = realloc(*w, *wlen + 2);
            if (!grown)
                abort();
            *w = grown;
            (*w)[(*wlen)++] = '\r';
            (*w)[(*wlen)++] = '\n';
        }
    }
    chiso_csv_free(c);
    return errors;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *w1 = NULL, *w2 = NULL;
    size_t l1 = 0, l2 = 0;

    if (read_all((const char *)data, size, &w1, &l1) == 0) {
        /* the re-encoding reads without error and re-encodes identically */
        if (read_all(w1 ? w1 : "", l1, &w2, &l2) != 0 || l1 != l2 ||
            (l1 && memcmp(w1, w2, l1) != 0))
            abort();
    }
    free(w1);
    free(w2);
    return 0;
}
