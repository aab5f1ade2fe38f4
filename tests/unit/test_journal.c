/*
 * test_journal.c - journal lines (journal.h): writing them, and parsing
 * whole lines only, strictly; marks; sums read in parts and merged with a
 * hash as read.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chiso/common.h"
#include "chiso/journal.h"

typedef struct seen {
    char text[1024];
    size_t len;
    int n;
    long long sum;
} seen;

/* Re-writes each parsed line, so a parse can be compared with its input. */
static int record(void *ctx, const char *hash, size_t hash_len, const char *field, size_t field_len,
                  long long delta)
{
    seen *s = ctx;
    int w = snprintf(s->text + s->len, sizeof(s->text) - s->len, "%.*s %.*s %lld\n", (int)hash_len,
                     hash, (int)field_len, field, delta);
    s->len += (size_t)w;
    s->n++;
    s->sum += delta;
    return 0;
}

static int stop_at_second(void *ctx, const char *hash, size_t hash_len, const char *field,
                          size_t field_len, long long delta)
{
    seen *s = ctx;
    (void)hash, (void)hash_len, (void)field, (void)field_len, (void)delta;
    return ++s->n == 2 ? 42 : 0;
}

static void test_lines(void)
{
    char buf[64];
    long n = chiso_journal_line(buf, 0, sizeof(buf), "c:2025-07-01", "received", 3);
    CHECK_EQ_INT(n, (long)strlen("c:2025-07-01 received 3\n"), "first line");
    n = chiso_journal_line(buf, (size_t)n, sizeof(buf), "po:2025-Q3", "1.004.H21", -2);
    CHECK_EQ_STR(buf, "c:2025-07-01 received 3\npo:2025-Q3 1.004.H21 -2\n");
    CHECK_EQ_INT(n, (long)strlen(buf), "two lines");

    /* what a line cannot hold */
    CHECK_EQ_INT(chiso_journal_line(buf, 0, sizeof(buf), "c:2025", "received", 0), -1, "zero");
    CHECK_EQ_INT(chiso_journal_line(buf, 0, sizeof(buf), "", "received", 1), -1, "no hash");
    CHECK_EQ_INT(chiso_journal_line(buf, 0, sizeof(buf), "c:2025", "", 1), -1, "no field");
    CHECK_EQ_INT(chiso_journal_line(buf, 0, sizeof(buf), "c 2025", "received", 1), -1, "space");
    CHECK_EQ_INT(chiso_journal_line(buf, 0, sizeof(buf), "c:2025", "a\nb", 1), -1, "newline");
    /* too long for what is left of the buffer */
    CHECK_EQ_INT(chiso_journal_line(buf, 40, sizeof(buf), "c:2025-07-01", "received", 1), -1,
                 "does not fit");
    CHECK_EQ_INT(chiso_journal_line(buf, 38, sizeof(buf), "c:2025-07-01", "received", 1), 62,
                 "just fits");
    {
        char name[CHISO_JOURNAL_NAME_MAX + 2];
        memset(name, 'a', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        CHECK_EQ_INT(chiso_journal_line(buf, 0, sizeof(buf), "c:2025", name, 1), -1,
                     "a field over the longest name");
    }
}

static void test_parse(void)
{
    const char *text = "c:2025-07-01 received 3\npo:2025-Q3 1.004.H21 -2\nc:2025 closed 1\n";
    seen s = {0};
    long used = chiso_journal_parse(text, strlen(text), record, &s);
    CHECK_EQ_INT(used, (long)strlen(text), "all lines");
    CHECK_EQ_INT(s.n, 3, "three lines");
    CHECK_EQ_INT(s.sum, 2, "their deltas");
    CHECK(s.len == strlen(text) && memcmp(s.text, text, s.len) == 0, "read back: %s", s.text);

    /* a trailing incomplete line is left for later, whatever it holds */
    const char *cut = "c:2025 received 1\nc:2025 rec";
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(chiso_journal_parse(cut, strlen(cut), record, &s), 18, "whole lines only");
    CHECK_EQ_INT(s.n, 1, "one line");
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(chiso_journal_parse("", 0, record, &s), 0, "empty");
    CHECK_EQ_INT(chiso_journal_parse("c:2025 x", 8, record, &s), 0, "no whole line");

    /* malformed lines */
    static const char *const bad[] = {
        "c:2025 received\n",                     /* no delta */
        "c:2025 received 0\n",                   /* zero */
        "c:2025 received -0\n",                  /* zero */
        "c:2025 received 1x\n",                  /* not a number */
        "c:2025 received -\n",                   /* no digits */
        "c:2025 received +1\n",                  /* plus sign */
        "c:2025 received 01\n",                  /* leading zero */
        "c:2025  received 1\n",                  /* empty field */
        " received 1\n",                         /* empty hash */
        "c:2025 received 1 2\n",                 /* a fourth part */
        "c:2025 rec\teived 1\n",                 /* control character */
        "c:2025 received 1234567890123456789\n", /* 19 digits */
        "\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&s, 0, sizeof(s));
        CHECK_EQ_INT(chiso_journal_parse(bad[i], strlen(bad[i]), record, &s), CHISO_EINVAL,
                     "malformed: %s", bad[i]);
        CHECK_EQ_INT(s.n, 0, "nothing reported before: %s", bad[i]);
    }
    /* the largest delta that fits */
    const char *big = "c:2025 received -999999999999999999\n";
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(chiso_journal_parse(big, strlen(big), record, &s), (long)strlen(big), "18 digits");
    CHECK(s.sum == -999999999999999999LL, "value %lld", s.sum);

    /* the callback stops the parse with its own value */
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(chiso_journal_parse(text, strlen(text), stop_at_second, &s), 42, "stopped");
    CHECK_EQ_INT(s.n, 2, "at the second line");
}

static void test_marks(void)
{
    char a[CHISO_JOURNAL_MARK_LEN + 1], b[CHISO_JOURNAL_MARK_LEN + 1];
    chiso_journal_mark(a);
    chiso_journal_mark(b);
    CHECK_EQ_INT((long long)strlen(a), CHISO_JOURNAL_MARK_LEN, "a mark's length");
    CHECK(strncmp(a, "po:j ", 5) == 0 && strstr(a, " 1\npo:j ") && strstr(a, " -1\n"),
          "a mark's two lines: %s", a);
    CHECK(strcmp(a, b) != 0, "two marks differ");
    CHECK(chiso_journal_marked(a, strlen(a)), "a mark is one");
    CHECK(!chiso_journal_marked(a, strlen(a) - 1), "cut short");
    char text[256];
    snprintf(text, sizeof(text), "%sc:2025-07 received 1\n", a);
    CHECK(chiso_journal_marked(text, strlen(text)), "a journal that begins with one");
    CHECK(!chiso_journal_marked("c:2025-07 received 1\nc:2025-07 received 1\nc:2025-07 x 1\n", 66),
          "a journal without");
    char bad[CHISO_JOURNAL_MARK_LEN + 1];
    memcpy(bad, a, sizeof(bad));
    bad[CHISO_JOURNAL_MARK_LEN - 6] ^= 1; /* the second line's digits differ */
    CHECK(!chiso_journal_marked(bad, strlen(bad)), "lines that do not cancel out");
    memcpy(bad, a, sizeof(bad));
    bad[5] = 'G';
    CHECK(!chiso_journal_marked(bad, strlen(bad)), "not hex digits");
    /* the lines parse, and cancel out */
    seen s = {0};
    CHECK_EQ_INT(chiso_journal_parse(a, strlen(a), record, &s), CHISO_JOURNAL_MARK_LEN, "parsed");
    CHECK(s.n == 2 && s.sum == 0, "two lines, sum 0");
}

/* The value of hash's field as a reader merges it: what the hash holds
 * (fields[], values[], n) plus the journal; and the fields only the
 * journal has, through the callback. */
static long long merged(chiso_journal_sums *js, const char *hash, const char *const *fields,
                        const long long *values, size_t n, const char *field)
{
    long long out = 0;
    bool hit = false;
    chiso_journal_sums_round(js);
    for (size_t i = 0; i < n; i++) {
        long long v = values[i] + chiso_journal_sums_take(js, hash, fields[i]);
        if (strcmp(fields[i], field) == 0)
            out = v, hit = true;
    }
    uint32_t cur = 0;
    long long d;
    for (const char *f; (f = chiso_journal_sums_next(js, hash, &cur, &d));) {
        for (size_t i = 0; i < n; i++)
            CHECK(strcmp(fields[i], f) != 0, "%s of %s was taken", f, hash);
        if (strcmp(f, field) == 0)
            out = d, hit = true;
    }
    CHECK(hit || out == 0, "found");
    return out;
}

static void test_sums(void)
{
    chiso_journal_sums *js = chiso_journal_sums_new();
    char mark[CHISO_JOURNAL_MARK_LEN + 1];
    char text[1024];
    chiso_journal_mark(mark);
    snprintf(text, sizeof(text),
             "%sc:2025-07 received 2\nc:2025-07 done 1\npo:2025-Q3 1.001 1\nc:2025-07 "
             "received -1\nc:2025-07-01 received 1\nc:2025-07",
             mark);
    long used = chiso_journal_sums_add(js, text, strlen(text));
    CHECK_EQ_INT(used, (long)(strlen(text) - strlen("c:2025-07")), "whole lines only");
    CHECK_EQ_INT(chiso_journal_sums_get(js, "c:2025-07", "received"), 1, "summed");
    CHECK_EQ_INT(chiso_journal_sums_get(js, "c:2025-07", "done"), 1, "done");
    CHECK_EQ_INT(chiso_journal_sums_get(js, "c:2025-07", "paid"), 0, "absent");
    CHECK_EQ_INT(chiso_journal_sums_get(js, "c:2025-08", "done"), 0, "another hash");
    CHECK_EQ_INT(chiso_journal_sums_get(js, "c:2025-07", ""), 0, "a hash is no field");
    CHECK_EQ_INT((long long)chiso_journal_sums_size(js), 4, "the mark is left out");
    /* the rest, read later: the incomplete line completed, more lines */
    const char *more = "c:2025-07 done 3\npo:2025-Q3 1.002 1\n";
    used = chiso_journal_sums_add(js, more, strlen(more));
    CHECK_EQ_INT(used, (long)strlen(more), "the rest");
    CHECK_EQ_INT(chiso_journal_sums_get(js, "c:2025-07", "done"), 4, "added up across reads");

    /* merged with the hash as read: fields of both, fields of either */
    const char *f[] = {"done", "paid"};
    const long long v[] = {10, 5};
    CHECK_EQ_INT(merged(js, "c:2025-07", f, v, 2, "done"), 14, "hash + journal");
    CHECK_EQ_INT(merged(js, "c:2025-07", f, v, 2, "paid"), 5, "hash only");
    CHECK_EQ_INT(merged(js, "c:2025-07", f, v, 2, "received"), 1, "journal only");
    CHECK_EQ_INT(merged(js, "po:2025-Q3", NULL, NULL, 0, "1.002"), 1, "a hash not read");
    uint32_t cur = 0;
    long long d;
    int n = 0;
    chiso_journal_sums_round(js);
    while (chiso_journal_sums_next(js, "po:2025-Q3", &cur, &d))
        n++;
    CHECK_EQ_INT(n, 2, "the journal's fields of a hash");
    CHECK(chiso_journal_sums_next(js, "c:2099", &cur, &d) == NULL, "a hash the journal lacks");

    /* many fields: the table grows, every sum kept */
    for (int i = 0; i < 3000; i++) {
        char line[64];
        int len = snprintf(line, sizeof(line), "c:2025-%02d f%d %d\n", 1 + i % 12, i, i + 1);
        CHECK_EQ_INT(chiso_journal_sums_add(js, line, (size_t)len), len, "line %d", i);
    }
    for (int i = 0; i < 3000; i += 7) {
        char hash[16], field[16];
        snprintf(hash, sizeof(hash), "c:2025-%02d", 1 + i % 12);
        snprintf(field, sizeof(field), "f%d", i);
        CHECK_EQ_INT(chiso_journal_sums_get(js, hash, field), i + 1, "%s %s", hash, field);
    }
    CHECK_EQ_INT((long long)chiso_journal_sums_size(js), 3005, "distinct fields");

    /* malformed, and a sum past 64 bits */
    CHECK_EQ_INT(chiso_journal_sums_add(js, "c:2025 x 01\n", 12), CHISO_EINVAL, "malformed");
    chiso_journal_sums_clear(js);
    CHECK_EQ_INT((long long)chiso_journal_sums_size(js), 0, "cleared");
    CHECK_EQ_INT(chiso_journal_sums_get(js, "c:2025-07", "done"), 0, "cleared: nothing");
    const char *big = "c:2025 x 999999999999999999\n";
    for (int i = 0; i < 9; i++)
        CHECK_EQ_INT(chiso_journal_sums_add(js, big, strlen(big)), (long)strlen(big), "big %d", i);
    CHECK_EQ_INT(chiso_journal_sums_add(js, big, strlen(big)), CHISO_EINVAL, "overflow");
    chiso_journal_sums_free(js);
}

int main(void)
{
    test_lines();
    test_parse();
    test_marks();
    test_sums();
    return CHECK_DONE();
}
