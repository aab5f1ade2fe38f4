/*
 * test_common.c - the domain's small shared pieces (chiso/common.h): the
 * growable buffer, the large zeroed tables, the constant-time secret
 * comparison and the bearer token check built on it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

#include "check.h"

static void test_buf(void)
{
    chiso_buf b = {0};
    char piece[1000];
    memset(piece, 'x', sizeof(piece));
    CHECK_EQ_INT(chiso_buf_append(&b, "ab", 2), 0, "a first append");
    CHECK(b.len == 2 && strcmp(b.buf, "ab") == 0 && b.cap >= 3, "holds 'ab', NUL-terminated");
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(chiso_buf_append(&b, piece, sizeof(piece)), 0, "append %d", i);
    CHECK(b.len == 20002 && b.buf[b.len] == '\0' && b.cap >= b.len + 1,
          "grows past its first capacity: %zu bytes in %zu", b.len, b.cap);
    CHECK(memcmp(b.buf, "abxxx", 5) == 0 && b.buf[20001] == 'x', "keeps what it held");
    CHECK_EQ_INT(chiso_buf_append(&b, NULL, 0), 0, "an empty append");
    CHECK(b.len == 20002, "an empty append adds nothing");
    free(b.buf);
}

static void test_calloc_huge(void)
{
    /* small (no hint) and large (the hint on its 2 MiB-aligned part):
     * zeroed, writable end to end, freed with chiso_free_huge() */
    size_t sizes[] = {16, 4096, 3 << 20, 9 << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        unsigned char *p = chiso_calloc_huge(sizes[k] / 8, 8);
        CHECK(p != NULL, "%zu bytes allocated", sizes[k]);
        if (!p)
            continue;
        size_t nonzero = 0;
        for (size_t i = 0; i < sizes[k]; i += 4093)
            nonzero += p[i] != 0;
        CHECK(nonzero == 0 && p[sizes[k] - 1] == 0, "%zu bytes zeroed", sizes[k]);
        memset(p, 0xab, sizes[k]);
        CHECK(p[0] == 0xab && p[sizes[k] - 1] == 0xab, "%zu bytes writable", sizes[k]);
        chiso_free_huge(p);
    }
}

static void test_secrets(void)
{
    CHECK(chiso_secret_equal("s3cret", "s3cret"), "equal");
    CHECK(!chiso_secret_equal("s3cre", "s3cret"), "a prefix is not equal");
    CHECK(!chiso_secret_equal("s3cretX", "s3cret"), "longer is not equal");
    CHECK(!chiso_secret_equal("S3cret", "s3cret"), "case matters");
    CHECK(!chiso_secret_equal(NULL, "s3cret"), "NULL is not equal");
    CHECK(!chiso_secret_equal(NULL, ""), "NULL is not even the empty secret");
    CHECK(chiso_bearer_ok("Bearer tok", "tok"), "the bearer scheme");
    CHECK(chiso_bearer_ok("bearer   tok", "tok"), "the scheme in any case, spaces after it");
    CHECK(!chiso_bearer_ok("Basic tok", "tok"), "another scheme");
    CHECK(!chiso_bearer_ok("Bearer to", "tok"), "a shorter token");
    CHECK(!chiso_bearer_ok(NULL, "tok"), "no header");
}

/* chiso_put_ll and chiso_put_padded write what printf's "%lld" and
 * "%0*llu" write. */
static void test_put_numbers(void)
{
    static const long long v[] = {0,   1,      -1,         9,         10,       99,
                                  100, 123456, -987654321, LLONG_MAX, LLONG_MIN};
    char want[32], got[32];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = chiso_put_ll(got, v[i]);
        got[n] = '\0';
        snprintf(want, sizeof(want), "%lld", v[i]);
        CHECK_EQ_STR(got, want, "chiso_put_ll(%lld)", v[i]);
        for (size_t width = 0; width <= 21; width += 3) {
            unsigned long long u = (unsigned long long)v[i];
            n = chiso_put_padded(got, u, width);
            got[n] = '\0';
            snprintf(want, sizeof(want), "%0*llu", (int)width, u);
            CHECK_EQ_STR(got, want, "chiso_put_padded(%llu, %zu)", u, width);
        }
    }
}

int main(void)
{
    test_put_numbers();
    test_buf();
    test_calloc_huge();
    test_secrets();
    return CHECK_DONE();
}
