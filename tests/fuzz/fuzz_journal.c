/*
 * fuzz_journal.c - libFuzzer target for chiso_journal_parse (journal.h).
 *
 * Properties: the parse consumes whole lines only (never more than it was
 * given, always up to a newline); every line it accepts is written back
 * byte for byte by chiso_journal_line, so parsing and writing agree. The
 * sums (chiso_journal_sums_add) take the same bytes, read in one piece or
 * in two cut at a line end, and agree with a sum taken line by line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct again {
    char *text;
    size_t len, size;
    const char *last_hash, *last_field; /* the last such line: its sum is checked */
    size_t last_hash_len, last_field_len;
    long long last_sum;
} again;

static int rewrite(void *ctx, const char *hash, size_t hash_len, const char *field,
                   size_t field_len, long long delta)
{
    again *a = ctx;
    char h[CHISO_JOURNAL_NAME_MAX + 1], f[CHISO_JOURNAL_NAME_MAX + 1];
    if (hash_len > CHISO_JOURNAL_NAME_MAX || field_len > CHISO_JOURNAL_NAME_MAX)
        abort();
    memcpy(h, hash, hash_len);
    h[hash_len] = '\0';
    memcpy(f, field, field_len);
    f[field_len] = '\0';
    long n = chiso_journal_line(a->text, a->len, a->size, h, f, delta);
    if (n < 0)
        abort(); /* an accepted line that cannot be written */
    a->len = (size_t)n;
    if (strcmp(h, CHISO_JOURNAL_MARK_HASH) != 0) {
        a->last_hash = hash, a->last_field = field;
        a->last_hash_len = hash_len, a->last_field_len = field_len;
    }
    return 0;
}

/* The sum of one (hash, field) over the whole lines of text. */
static int sum_of(void *ctx, const char *hash, size_t hash_len, const char *field, size_t field_len,
                  long long delta)
{
    again *a = ctx;
    if (hash_len == a->last_hash_len && field_len == a->last_field_len &&
        memcmp(hash, a->last_hash, hash_len) == 0 && memcmp(field, a->last_field, field_len) == 0)
        (void)__builtin_add_overflow(a->last_sum, delta, &a->last_sum); /* see check_sums */
    return 0;
}

/* The sums of the whole lines, read in one piece and in two cut at the
 * first line's end, agree with the lines. */
static void check_sums(const uint8_t *data, long used, again *a)
{
    chiso_journal_sums *one = chiso_journal_sums_new(), *two = chiso_journal_sums_new();
    if (!one || !two)
        abort();
    long n1 = chiso_journal_sums_add(one, (const char *)data, (size_t)used);
    const uint8_t *nl = memchr(data, '\n', (size_t)used);
    size_t cut = nl ? (size_t)(nl - data) + 1 : 0;
    long n2a = chiso_journal_sums_add(two, (const char *)data, cut);
    long n2b = chiso_journal_sums_add(two, (const char *)data + cut, (size_t)used - cut);
    if (n1 < 0) {
        /* only a sum past 64 bits, in one piece and in two */
        if (n1 != CHISO_EINVAL || (n2a >= 0 && n2b >= 0))
            abort();
    } else {
        if (n1 != used || n2a != (long)cut || n2b != used - (long)cut)
            abort(); /* not the same bytes as the parse */
        if (a->last_hash) {
            char h[CHISO_JOURNAL_NAME_MAX + 1], f[CHISO_JOURNAL_NAME_MAX + 1];
            memcpy(h, a->last_hash, a->last_hash_len);
            h[a->last_hash_len] = '\0';
            memcpy(f, a->last_field, a->last_field_len);
            f[a->last_field_len] = '\0';
            if (chiso_journal_sums_get(one, h, f) != a->last_sum ||
                chiso_journal_sums_get(two, h, f) != a->last_sum)
                abort(); /* a field's sum differs from its lines' */
        }
    }
    chiso_journal_sums_free(one);
    chiso_journal_sums_free(two);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    again a = {.text = malloc(size + 1), .size = size + 1};
    if (!a.text)
        return 0;
    long used = chiso_journal_parse((const char *)data, size, rewrite, &a);
    if (used >= 0) {
        if ((size_t)used > size || (used > 0 && data[used - 1] != '\n') ||
            memchr(data + used, '\n', size - (size_t)used))
            abort(); /* not exactly the whole lines */
        if (a.len != (size_t)used || memcmp(a.text, data, a.len) != 0)
            abort(); /* written back differently */
        if (a.last_hash && chiso_journal_parse((const char *)data, (size_t)used, sum_of, &a) < 0)
            abort();
        check_sums(data, used, &a);
    } else if (used != CHISO_EINVAL) {
        abort();
    }
    free(a.text);
    return 0;
}
