/*
 * test_journal.c - journal lines (journal.h): writing them, parsing whole
 * lines only, strictly, and their sums as a reader that does not fold
 * adds them to the hashes it reads.
 */
#include <stdbool.h>
#include <stdio.h>
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

static void test_sums(void)
{
    /* repeated pairs summed; a pair summing to 0 kept; the trailing
     * incomplete line left out */
    const char *text = "c:2025-07 received 2\n"
                       "po:2025-Q3 P1 1\n"
                       "c:2025-07 closed 1\n"
                       "c:2025-07 received 3\n"
                       "c:2025-07-01 received 1\n"
                       "po:2025-Q3 P1 -1\n"
                       "c:2025-07 aardvark -4\n"
                       "c:2025-07 received 100";
    chiso_journal_sums *js;
    CHECK_EQ_INT(chiso_journal_sums_new(text, strlen(text), &js), 0, "summed");
    if (!js)
        return;
    bool found;
    CHECK(chiso_journal_sums_get(js, "c:2025-07", "received", &found) == 5 && found,
          "received summed over its two whole lines");
    CHECK(chiso_journal_sums_get(js, "po:2025-Q3", "P1", &found) == 0 && found,
          "a pair summing to 0 is there");
    CHECK(chiso_journal_sums_get(js, "c:2025-07", "paid", &found) == 0 && !found,
          "an absent field");
    CHECK(chiso_journal_sums_get(js, "c:2025", "received", &found) == 0 && !found,
          "a hash that is a prefix of another is not it");
    CHECK(chiso_journal_sums_get(js, "c:2025-07-01", "received", NULL) == 1, "the day's hash");
    CHECK_EQ_INT((long)chiso_journal_sums_count(js, "c:2025-07"), 3, "three fields in the month");
    CHECK_EQ_INT((long)chiso_journal_sums_count(js, "c:2025-08"), 0, "none in another month");
    const char *want[] = {"aardvark", "closed", "received"};
    long long deltas[] = {-4, 1, 5};
    for (size_t i = 0; i < 3; i++) {
        long long d;
        const char *f = chiso_journal_sums_field(js, "c:2025-07", i, &d);
        CHECK(strcmp(f, want[i]) == 0 && d == deltas[i], "field %zu: %s %lld", i, f, d);
    }
    chiso_journal_sums_free(js);

    /* an empty text sums nothing */
    CHECK_EQ_INT(chiso_journal_sums_new("", 0, &js), 0, "empty");
    CHECK(js && chiso_journal_sums_count(js, "c:2025-07") == 0, "nothing in it");
    chiso_journal_sums_free(js);

    /* a malformed line, or sums past 64 bits, fail the whole text */
    const char *bad = "c:2025 received 1\nc:2025 received x\n";
    CHECK_EQ_INT(chiso_journal_sums_new(bad, strlen(bad), &js), CHISO_EINVAL, "malformed");
    CHECK(js == NULL, "nothing returned");
    char over[512];
    snprintf(over, sizeof(over), "c:2025 r %s\nc:2025 r %s\n", "999999999999999999",
             "999999999999999999");
    CHECK_EQ_INT(chiso_journal_sums_new(over, strlen(over), &js), 0, "two large deltas fit");
    chiso_journal_sums_free(js);
    size_t len = 0;
    for (int i = 0; i < 10; i++)
        len += (size_t)snprintf(over + len, sizeof(over) - len, "c:2025 r 999999999999999999\n");
    CHECK_EQ_INT(chiso_journal_sums_new(over, len, &js), CHISO_EINVAL, "ten overflow");
}

int main(void)
{
    test_lines();
    test_parse();
    test_sums();
    return CHECK_DONE();
}
