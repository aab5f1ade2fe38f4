/*
 * test_journal.c - journal lines (journal.h): writing them, and parsing
 * whole lines only, strictly.
 */
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

int main(void)
{
    test_lines();
    test_parse();
    return CHECK_DONE();
}
