/*
 * wall_sse.c - Server-Sent Events frames and the bounded client queue
 * (wall_sse.h).
 *
 * The unsent bytes are data[off, len). The buffer grows by doubling up to
 * the limit and is compacted (moved to the front) before it grows, so a
 * client that keeps up never holds more than what one flush produced.
 */
#include "wall_sse.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

struct chiso_wall_sseq {
    char *data;
    size_t off, len, cap, limit;
    bool overflowed;
};

chiso_wall_sseq *chiso_wall_sseq_new(size_t limit)
{
    chiso_wall_sseq *q;

    if (limit == 0)
        return NULL;
    q = calloc(1, sizeof(*q));
    if (q)
        q->limit = limit;
    return q;
}

void chiso_wall_sseq_destroy(chiso_wall_sseq *q)
{
    if (!q)
        return;
    free(q->data);
    free(q);
}

size_t chiso_wall_sseq_pending(const chiso_wall_sseq *q)
{
    return q->len - q->off;
}

bool chiso_wall_sseq_overflowed(const chiso_wall_sseq *q)
{
    return q->overflowed;
}

/* Make room for n more unsent bytes; returns where they go, or NULL with
 * *err set (overflow empties the queue for good). */
static char *reserve(chiso_wall_sseq *q, size_t n, int *err)
{
    size_t pending = q->len - q->off, cap;
    char *grown;

    if (q->overflowed || n > q->limit - pending) {
        q->overflowed = true;
        free(q->data);
        q->data = NULL;
        q->off = q->len = q->cap = 0;
        *err = CHISO_ERANGE;
        return NULL;
    }
    if (q->off > 0 && q->len + n > q->cap) {
        memmove(q->data, q->data + q->off, pending);
        q->off = 0;
        q->len = pending;
    }
    if (q->len + n > q->cap) {
        cap = q->cap ? q->cap : 4096;
        while (cap < q->len + n)
            cap *= 2;
        grown = realloc(q->data, cap);
        if (!grown) {
            *err = CHISO_ENOMEM;
            return NULL;
        }
        q->data = grown;
        q->cap = cap;
    }
    return q->data + q->len;
}

int chiso_wall_sseq_raw(chiso_wall_sseq *q, const char *text)
{
    size_t n = strlen(text);
    int err = 0;
    char *dst = reserve(q, n, &err);

    if (!dst)
        return err;
    memcpy(dst, text, n);
    q->len += n;
    return 0;
}

/* Length of the line at s (up to \r, \n or the end) and of its ending. */
static size_t line_len(const char *s, size_t *eol)
{
    size_t n = strcspn(s, "\r\n");
    *eol = s[n] == '\0' ? 0 : (s[n] == '\r' && s[n + 1] == '\n') ? 2 : 1;
    return n;
}

int chiso_wall_sseq_event(chiso_wall_sseq *q, const char *event, const char *data)
{
    static const char ev[] = "event: ", dl[] = "data: ";
    size_t elen = strlen(event), total, n, eol;
    const char *s;
    char *dst;
    int err = 0;

    if (elen == 0 || elen > 64 || strspn(event, "abcdefghijklmnopqrstuvwxyz_") != elen)
        return CHISO_EINVAL;
    /* the frame's size first, so an overflow appends nothing */
    total = sizeof(ev) - 1 + elen + 1 + 1;
    s = data;
    do {
        n = line_len(s, &eol);
        total += sizeof(dl) - 1 + n + 1;
        s += n + eol;
    } while (eol);
    if (!(dst = reserve(q, total, &err)))
        return err;
    memcpy(dst, ev, sizeof(ev) - 1);
    memcpy(dst + sizeof(ev) - 1, event, elen);
    dst += sizeof(ev) - 1 + elen;
    *dst++ = '\n';
    s = data;
    do {
        n = line_len(s, &eol);
        memcpy(dst, dl, sizeof(dl) - 1);
        dst += sizeof(dl) - 1;
        memcpy(dst, s, n);
        dst += n;
        *dst++ = '\n';
        s += n + eol;
    } while (eol);
    *dst++ = '\n';
    q->len += total;
    return 0;
}

size_t chiso_wall_sseq_take(chiso_wall_sseq *q, char *buf, size_t max)
{
    size_t n = q->len - q->off;

    if (n > max)
        n = max;
    if (n) {
        memcpy(buf, q->data + q->off, n);
        q->off += n;
    }
    if (q->off == q->len)
        q->off = q->len = 0;
    return n;
}
