/*
 * common.c - error strings, decimal writing, the fingerprint hash and large tables.
 */
#include "chiso/common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)
/* before a table: its mapping's length (a page, so the table stays
 * page-aligned) */
#define HUGE_HEADER ((size_t)4096)

void *chiso_calloc_huge(size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - 2 * HUGE_HEADER) / size)
        return NULL;
    size_t bytes = n * size;
    size_t len = (HUGE_HEADER + bytes + HUGE_HEADER - 1) & ~(HUGE_HEADER - 1);
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    *(size_t *)base = len;
    unsigned char *p = (unsigned char *)base + HUGE_HEADER;
#ifdef MADV_HUGEPAGE
    if (bytes >= 2 * HUGE_PAGE) {
        uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        uintptr_t hi = ((uintptr_t)p + bytes) & ~(HUGE_PAGE - 1);
        /* a hint: a kernel without THP says no, and the table works as well */
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#endif
    return p;
}

void chiso_free_huge(void *p)
{
    if (!p)
        return;
    void *base = (unsigned char *)p - HUGE_HEADER;
    munmap(base, *(size_t *)base);
}

int chiso_errf(char *errstr, size_t errstr_size, int rc, const char *fmt, ...)
{
    if (errstr && errstr_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return rc;
}

const char *chiso_strerror(int err)
{
    switch (err) {
    case CHISO_OK:
        return "success";
    case CHISO_EINVAL:
        return "invalid argument or value";
    case CHISO_ENOMEM:
        return "out of memory";
    case CHISO_EIO:
        return "I/O or network failure";
    case CHISO_ECONFLICT:
        return "concurrent update, retry";
    case CHISO_ENOENT:
        return "not found";
    case CHISO_ERANGE:
        return "value out of range";
    case CHISO_ESTATE:
        return "corrupt or incompatible stored state";
    case CHISO_ETIMEOUT:
        return "timed out";
    case CHISO_EREWIND:
        return "Redis lost acknowledged writes; input rewound to replay them";
    case CHISO_EABORTED:
        return "a Kafka transaction was aborted; its records are consumed again";
    default:
        return "unknown error";
    }
}

uint64_t chiso_hash64(const void *data, size_t len)
{
    return chiso_hash64_add(CHISO_HASH64_INIT, data, len);
}

uint64_t chiso_hash64_add(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

size_t chiso_put_ll(char *out, long long v)
{
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    if (v < 0)
        *out++ = '-';
    return (v < 0) + chiso_put_padded(out, u, 1);
}

size_t chiso_put_padded(char *out, unsigned long long v, size_t width)
{
    size_t n = 1;
    for (unsigned long long t = v; t >= 10; t /= 10)
        n++;
    if (n < width)
        n = width;
    for (size_t i = n; i-- > 0; v /= 10)
        out[i] = (char)('0' + v % 10);
    return n;
}

bool chiso_secret_equal(const char *given, const char *secret)
{
    size_t slen = strlen(secret), glen = given ? strlen(given) : 0;
    unsigned char diff = given == NULL || glen != slen;
    /* walk the whole secret whatever the given value is */
    for (size_t i = 0; i < slen; i++)
        diff |= (unsigned char)secret[i] ^ (unsigned char)(i < glen ? given[i] : 0);
    return diff == 0;
}

bool chiso_bearer_ok(const char *authorization, const char *token)
{
    static const char scheme[] = "Bearer ";
    if (!authorization || strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
        return chiso_secret_equal(NULL, token);
    const char *given = authorization + sizeof(scheme) - 1;
    while (*given == ' ')
        given++;
    return chiso_secret_equal(given, token);
}

int chiso_buf_append(chiso_buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->buf, cap);
        if (!grown)
            return CHISO_ENOMEM;
        b->buf = grown;
        b->cap = cap;
    }
    if (n > 0) /* data may be NULL then */
        memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}
