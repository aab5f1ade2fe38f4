/*
 * test_redisargs.c - the command builder (redisargs.h) writes exactly what
 * hiredis's own formatter writes for the same arguments: references,
 * printf-formatted strings, integers and keys, binary bytes and empty
 * strings, over many commands reusing one builder.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "chiso/redisargs.h"
#include "check.h"

/* A context that never connects: appending only fills its output buffer
 * (*hc, inside the client). */
static chiso_redis *offline(redisContext **hc)
{
    *hc = redisConnectUnix("/nonexistent/chiso-test.sock");
    return *hc ? chiso_redis_wrap(*hc) : NULL;
}

/* What hiredis writes for argv, as a malloc'd buffer (length in *len). */
static char *expected(int argc, const char **argv, const size_t *argvlen, size_t *len)
{
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    *len = n > 0 ? (size_t)n : 0;
    return cmd;
}

int main(void)
{
    redisContext *hc;
    chiso_redis *c = offline(&hc);
    chiso_rargs *a = chiso_rargs_new();
    CHECK(c && a, "setup");
    if (!c || !a)
        return 1;

    /* one command of every kind of argument */
    const char bin[] = {'a', '\0', '\r', '\n', (char)0xff};
    CHECK_EQ_INT(0, chiso_rargs_ref(a, "EVALSHA", 7), "ref");
    CHECK_EQ_INT(0, chiso_rargs_ref(a, bin, sizeof(bin)), "binary ref");
    CHECK_EQ_INT(0, chiso_rargs_ref(a, "", 0), "empty ref");
    CHECK_EQ_INT(0, chiso_rargs_fmt(a, "%s:{%s}:months", "chiso", "000.00.07.H31"), "fmt");
    CHECK_EQ_INT(0, chiso_rargs_key(a, "chiso", "000.00.07.H31", "due"), "key");
    CHECK_EQ_INT(0, chiso_rargs_key(a, "", "", ""), "empty key parts");
    CHECK_EQ_INT(0, chiso_rargs_int(a, 0), "0");
    CHECK_EQ_INT(0, chiso_rargs_int(a, -17), "-17");
    CHECK_EQ_INT(0, chiso_rargs_int(a, LLONG_MAX), "LLONG_MAX");
    CHECK_EQ_INT(0, chiso_rargs_int(a, LLONG_MIN), "LLONG_MIN");
    CHECK_EQ_INT(0, chiso_rargs_int_str(a, 20270, "H31-250701-000001"), "int and string");
    CHECK_EQ_INT(0, chiso_rargs_int_str(a, LLONG_MIN, ""), "LLONG_MIN and nothing");
    CHECK_EQ_INT(0, chiso_rargs_str(a, "2025-07"), "string");
    CHECK_EQ_INT(0, chiso_rargs_str(a, ""), "empty string");
    CHECK_EQ_INT(14, chiso_rargs_count(a), "count");
    char minbuf[32];
    snprintf(minbuf, sizeof(minbuf), "%lld", LLONG_MIN);
    char maxbuf[32];
    snprintf(maxbuf, sizeof(maxbuf), "%lld", LLONG_MAX);
    char minbuf2[32];
    snprintf(minbuf2, sizeof(minbuf2), "%lld:", LLONG_MIN);
    const char *argv[] = {"EVALSHA",
                          bin,
                          "",
                          "chiso:{000.00.07.H31}:months",
                          "chiso:{000.00.07.H31}:due",
                          ":{}:",
                          "0",
                          "-17",
                          maxbuf,
                          minbuf,
                          "20270:H31-250701-000001",
                          minbuf2,
                          "2025-07",
                          ""};
    size_t argvlen[14];
    for (int i = 0; i < 14; i++)
        argvlen[i] = i == 1 ? sizeof(bin) : strlen(argv[i]);
    size_t elen;
    char *e = expected(14, argv, argvlen, &elen);
    CHECK_EQ_INT(REDIS_OK, chiso_rargs_append(c, a), "append");
    CHECK_EQ_INT(0, chiso_rargs_count(a), "reset after append");
    CHECK(sdslen(hc->obuf) == elen && memcmp(hc->obuf, e, elen) == 0,
          "one command: %zu bytes, hiredis %zu", sdslen(hc->obuf), elen);
    free(e);

    /* many commands through one builder: its arena and buffer grow and
     * are reused; the output buffer holds them all, in order */
    sdsclear(hc->obuf);
    size_t total = 0;
    char *all = NULL;
    srand(7);
    for (int cmd = 0; cmd < 200; cmd++) {
        int n = 1 + rand() % 300;
        const char **av = calloc((size_t)n, sizeof(*av));
        size_t *al = calloc((size_t)n, sizeof(*al));
        char **owned = calloc((size_t)n, sizeof(*owned));
        for (int i = 0; i < n; i++) {
            long long v = (long long)rand() * (rand() % 2 ? -1 : 1) * (rand() % 1000);
            owned[i] = malloc(64);
            switch (rand() % 5) {
            case 0:
                chiso_rargs_int(a, v);
                snprintf(owned[i], 64, "%lld", v);
                break;
            case 1:
                chiso_rargs_key(a, "p", "U", i % 2 ? "c:2025-07" : "j");
                snprintf(owned[i], 64, "p:{U}:%s", i % 2 ? "c:2025-07" : "j");
                break;
            case 2:
                chiso_rargs_int_str(a, v, i % 2 ? "H31-250701-000001" : "");
                snprintf(owned[i], 64, "%lld:%s", v, i % 2 ? "H31-250701-000001" : "");
                break;
            case 3:
                chiso_rargs_str(a, i % 2 ? "2025-07" : "");
                snprintf(owned[i], 64, "%s", i % 2 ? "2025-07" : "");
                break;
            default:
                chiso_rargs_fmt(a, "x%dy", i);
                snprintf(owned[i], 64, "x%dy", i);
                break;
            }
            av[i] = owned[i];
            al[i] = strlen(owned[i]);
        }
        size_t len;
        char *one = expected(n, av, al, &len);
        char *grown = realloc(all, total + len);
        if (grown) {
            all = grown;
            memcpy(all + total, one, len);
            total += len;
        }
        free(one);
        CHECK_EQ_INT(REDIS_OK, chiso_rargs_append(c, a), "append %d", cmd);
        for (int i = 0; i < n; i++)
            free(owned[i]);
        free(owned);
        free(av);
        free(al);
    }
    CHECK(sdslen(hc->obuf) == total && memcmp(hc->obuf, all, total) == 0,
          "200 commands: %zu bytes, hiredis %zu", sdslen(hc->obuf), total);
    free(all);

    chiso_rargs_free(a);
    chiso_redis_close(c);
    return CHECK_DONE();
}
