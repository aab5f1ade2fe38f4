/*
 * fuzz_journal.c - libFuzzer target for chiso_journal_parse (journal.h).
 *
 * Properties: the parse consumes whole lines only (never more than it was
 * given, always up to a newline); every line it accepts is written back
 * byte for byte by chiso_journal_line, so parsing and writing agree.
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
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    again a = {malloc(size + 1), 0, size + 1};
    if (!a.text)
        return 0;
    long used = chiso_journal_parse((const char *)data, size, rewrite, &a);
    if (used >= 0) {
        if ((size_t)used > size || (used > 0 && data[used - 1] != '\n') ||
            memchr(data + used, '\n', size - (size_t)used))
            abort(); /* not exactly the whole lines */
        if (a.len != (size_t)used || memcmp(a.text, data, a.len) != 0)
            abort(); /* written back differently */
    } else if (used != CHISO_EINVAL) {
        abort();
    }
    free(a.text);
    return 0;
}
