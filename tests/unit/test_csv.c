/*
 * test_csv.c - the strict RFC 4180 reader of csv.h, table-driven: each input
 * is read to its end and summarized as text, one record a line:
 *   "<line>:<field>|<field>..."  for a record (line = where it starts)
 *   "<line>!<first words of the error>"  for a malformed record
 * with a line break inside a field shown as "\n" (and "\r"), so one string
 * states what every record, field and line number must be.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chiso/common.h"
#include "csv.h"

/* Read `in` (len bytes) to its end and summarize it into out. */
static void summarize(const char *in, size_t len, char *out, size_t size)
{
    chiso_csv *c = chiso_csv_new(in, len);
    char err[256];
    size_t n = 0;
    int rc;

    out[0] = '\0';
    if (!c)
        return;
    while ((rc = chiso_csv_next(c, err, sizeof(err))) != 0 && n < size) {
        if (rc < 0) {
            /* the error's first three words identify it */
            char words[64] = "";
            sscanf(err, "%63[^0-9]", words);
            n += (size_t)snprintf(out + n, size - n, "%ld!%s\n", chiso_csv_line(c), words);
            continue;
        }
        n += (size_t)snprintf(out + n, size - n, "%ld:", chiso_csv_line(c));
        for (int i = 0; i < chiso_csv_nfields(c) && n < size; i++) {
            size_t flen;
            const char *f = chiso_csv_field(c, i, &flen);
            CHECK(strlen(f) == flen, "field length %zu != %zu", strlen(f), flen);
            if (i > 0)
                n += (size_t)snprintf(out + n, size - n, "|");
            for (size_t k = 0; k < flen && n < size; k++)
                n += (size_t)snprintf(out + n, size - n, "%s",
                                      f[k] == '\n'   ? "\\n"
                                      : f[k] == '\r' ? "\\r"
                                                     : (char[2]){f[k], '\0'});
        }
        if (n < size)
            n += (size_t)snprintf(out + n, size - n, "\n");
    }
    CHECK(chiso_csv_field(c, -1, NULL) == NULL &&
              chiso_csv_field(c, chiso_csv_nfields(c), NULL) == NULL,
          "fields out of range are NULL");
    chiso_csv_free(c);
}

static void test_table(void)
{
    static const struct {
        const char *name;
        const char *in;
        const char *want;
    } cases[] = {
        {"plain LF", "a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n"},
        {"CRLF, no final line break", "a,b\r\n1,2", "1:a|b\n2:1|2\n"},
        {"lone CR", "a\rb\r", "1:a\n2:b\n"},
        {"empty fields", ",,\n,\n", "1:||\n2:|\n"},
        {"empty input", "", ""},
        {"only line breaks", "\n\r\n\r", ""},
        {"blank lines skipped, numbered", "\n\na\n\n\nb\n", "3:a\n6:b\n"},
        {"spaces are data", " a , b ", "1: a | b \n"},
        {"quoted comma", "\"x,y\",z\n", "1:x,y|z\n"},
        {"doubled quote", "\"say \"\"hi\"\"\",\"\"\"\"\n", "1:say \"hi\"|\"\n"},
        {"empty quoted", "\"\",\"\"\n", "1:|\n"},
        {"one empty quoted field is a record", "\"\"\n", "1:\n"},
        {"line breaks inside quotes", "\"l1\nl2\r\nl3\",x\nnext\n",
         "1:l1\\nl2\\r\\nl3|x\n4:next\n"},
        {"quoted then CRLF", "\"a\"\r\n\"b\"", "1:a\n2:b\n"},
        {"UTF-8 byte-order mark", "\xEF\xBB\xBFunit,name\n", "1:unit|name\n"},
        {"a mark later is data", "a\n\xEF\xBB\xBF", "1:a\n2:\xEF\xBB\xBF\n"},
        {"Vietnamese passes through", "H21,\"Sở Tư pháp, tỉnh Hưng Yên\",Phường Hiến Nam\n",
         "1:H21|Sở Tư pháp, tỉnh Hưng Yên|Phường Hiến Nam\n"},
        {"invalid UTF-8 passes through (the record parsers judge text)", "\xC3\x28,\xFF\n",
         "1:\xC3\x28|\xFF\n"},
        /* malformed records, and reading on at the next line */
        {"quote inside an unquoted field", "ab\"c,d\nok\n", "1!field \n2:ok\n"},
        {"data after a closing quote", "\"ab\"c,d\nok\n", "1!field \n2:ok\n"},
        {"space after a closing quote", "\"ab\" ,d\r\nok", "1!field \n2:ok\n"},
        {"never closed", "a\n\"open,\nstill\n", "1:a\n2!the quoted field \n"},
        {"never closed at the very end", "\"", "1!the quoted field \n"},
        {"error in a second field", "a,b\"\nc\n", "1!field \n2:c\n"},
        {"error on a later line of a multi-line record", "\"x\ny\"z\nok\n", "1!field \n3:ok\n"},
    };
    char out[2048];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        summarize(cases[i].in, strlen(cases[i].in), out, sizeof(out));
        CHECK(strcmp(out, cases[i].want) == 0, "%s:\n--- got\n%s--- want\n%s", cases[i].name, out,
              cases[i].want);
    }
}

/* Inputs with NUL bytes: strlen cannot give their length. */
static void test_nul(void)
{
    static const char unquoted[] = "a\0b,c\nok\n";
    static const char quoted[] = "\"a\0b\"\nok\n";
    char out[256];
    summarize(unquoted, sizeof(unquoted) - 1, out, sizeof(out));
    CHECK_EQ_STR(out, "1!field \n2:ok\n");
    summarize(quoted, sizeof(quoted) - 1, out, sizeof(out));
    CHECK_EQ_STR(out, "1!field \n2:ok\n");
    /* the reader reads len bytes, not up to a NUL */
    summarize("a,b\nc,d\n", 4, out, sizeof(out));
    CHECK_EQ_STR(out, "1:a|b\n");
}

static void test_limits(void)
{
    char err[256];
    size_t len = 2 * (CHISO_CSV_FIELDS_MAX + 1) + 4;
    char *in = malloc(len + 1);
    if (!in)
        return;
    /* CHISO_CSV_FIELDS_MAX fields: fine; one more: an error, then line 2 */
    for (int extra = 0; extra < 2; extra++) {
        size_t n = 0;
        int fields = CHISO_CSV_FIELDS_MAX + extra;
        for (int i = 0; i < fields; i++) {
            in[n++] = 'x';
            in[n++] = i + 1 < fields ? ',' : '\n';
        }
        in[n++] = 'o';
        in[n++] = 'k';
        chiso_csv *c = chiso_csv_new(in, n);
        int rc = chiso_csv_next(c, err, sizeof(err));
        if (extra == 0)
            CHECK(rc == 1 && chiso_csv_nfields(c) == CHISO_CSV_FIELDS_MAX, "%d fields", fields);
        else
            CHECK(rc == CHISO_EINVAL && strstr(err, "more than") != NULL, "%d fields: %s", fields,
                  err);
        rc = chiso_csv_next(c, err, sizeof(err));
        CHECK(rc == 1 && chiso_csv_line(c) == 2 && strcmp(chiso_csv_field(c, 0, NULL), "ok") == 0,
              "reads on at line 2 after %d fields", fields);
        CHECK_EQ_INT(chiso_csv_next(c, err, sizeof(err)), 0, "then the end");
        CHECK_EQ_INT(chiso_csv_next(c, err, sizeof(err)), 0, "and stays at the end");
        chiso_csv_free(c);
    }
    free(in);

    /* a long quoted field grows the arena */
    size_t big = 100000;
    char *q = malloc(big + 3);
    if (!q)
        return;
    q[0] = '"';
    memset(q + 1, 'y', big);
    q[big + 1] = '"';
    chiso_csv *c = chiso_csv_new(q, big + 2);
    size_t flen = 0;
    CHECK(chiso_csv_next(c, err, sizeof(err)) == 1 && chiso_csv_field(c, 0, &flen) && flen == big,
          "a %zu-byte field", big);
    chiso_csv_free(c);
    free(q);
    chiso_csv_free(NULL);
    c = chiso_csv_new(NULL, 5);
    CHECK(c && chiso_csv_next(c, err, sizeof(err)) == 0, "a NULL buffer is empty");
    chiso_csv_free(c);
}

int main(void)
{
    test_table();
    test_nul();
    test_limits();
    return CHECK_DONE();
}
