/*
 * check.h - a minimal table-driven test harness: CHECK() records a failure
 * with file:line and goes on; CHECK_DONE() prints "N passed, N failed" and
 * returns the exit status for main().
 */
#ifndef CHISO_TEST_CHECK_H
#define CHISO_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b, ...)                                                                    \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        CHECK(check_a_ == check_b_, "%lld != %lld: ", check_a_, check_b_);                         \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "  " __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b, ...)                                                                    \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        CHECK(check_a_ &&check_b_ &&strcmp(check_a_, check_b_) == 0,                               \
              "\"%s\" != \"%s\": ", check_a_ ? check_a_ : "(null)",                                \
              check_b_ ? check_b_ : "(null)");                                                     \
    } while (0)

#define CHECK_DONE()                                                                               \
    (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
