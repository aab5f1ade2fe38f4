/*
 * redisc.c - one Redis or a Redis Cluster behind hiredis's pipelining
 * calls (redisc.h).
 *
 * Single mode is hiredis on one context. Cluster mode keeps a context per
 * node, a slot map (16384 entries, a node index each), and a queue of the
 * commands appended and not yet answered, in order: each holds its bytes
 * (for a redirection), the node it went to, and its reply when read ahead.
 * A node's replies come back in the order its commands were sent, so the
 * oldest command's reply is the next one its node gives; when that reply
 * redirects the command to another node, the replies that node owes to
 * later commands are read ahead first, then the command is sent there.
 */
#include "chiso/redisc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/read.h>
#include <hiredis/sds.h>

#include "chiso/common.h"

#define NSLOTS        16384
#define MAX_REDIRECTS 16
#define TRYAGAIN_MS   100

typedef struct node {
    char *host;
    int port;
    redisContext *c; /* NULL until first used */
} node;

typedef struct entry {
    char *cmd; /* the command in the protocol (owned) */
    size_t len;
    int node;          /* where it was sent; -1: not sent (MULTI waiting, or refused) */
    int skip;          /* replies to read and drop before its own (ASKING, SCRIPT LOAD) */
    bool tx;           /* part of a transaction: no redirection */
    redisReply *ready; /* its reply, read ahead or made here */
} entry;

typedef struct script {
    char sha[41];
    char *body;
} script;

struct chiso_redis {
    redisContext *one; /* single mode */
    node *nodes;       /* cluster mode: seeds first, then the nodes learnt */
    int nnodes, capnodes;
    int16_t *slots; /* slot -> node index, -1 unknown */
    entry *q;
    size_t head, tail, cap;
    int tx_state; /* 0 none; 1 MULTI appended, node not chosen; 2 bound to tx_node */
    int tx_node;
    script *scripts;
    int nscripts;
    char *password;
    struct timeval tv;
    bool failed; /* a node could not be reached: reopen */
    /* the arguments of the command being routed */
    const char **argv;
    size_t *argvlen;
    int argcap;
    char err[256];
};

/* ---- pure rules ---- */

static uint16_t crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint8_t)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

uint16_t chiso_redis_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(key + from, '}', len - from);
        if (close && close > key + from)
            return crc16(key + from, (size_t)(close - (key + from))) & (NSLOTS - 1);
    }
    return crc16(key, len) & (NSLOTS - 1);
}

int chiso_redis_parse_redirect(const char *err, char *kind, uint16_t *slot, char *host,
                               size_t host_size, int *port)
{
    const char *p;
    if (strncmp(err, "MOVED ", 6) == 0) {
        *kind = 'M';
        p = err + 6;
    } else if (strncmp(err, "ASK ", 4) == 0) {
        *kind = 'A';
        p = err + 4;
    } else {
        return -1;
    }
    char *end;
    long s = strtol(p, &end, 10);
    if (end == p || *end != ' ' || s < 0 || s >= NSLOTS)
        return -1;
    p = end + 1;
    const char *colon = strrchr(p, ':');
    if (!colon || (size_t)(colon - p) >= host_size)
        return -1;
    long pt = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || pt <= 0 || pt > 65535)
        return -1;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = '\0';
    *slot = (uint16_t)s;
    *port = (int)pt;
    return 0;
}

static bool is(const char *arg, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)arg[i]) != name[i])
            return false;
    return true;
}

static bool is_any(const char *arg, size_t len, const char *const *names)
{
    for (; *names; names++)
        if (is(arg, len, *names))
            return true;
    return false;
}

int chiso_redis_key_index(int argc, const char **argv, const size_t *argvlen, int *nkeys, int *step)
{
    static const char *const scripts[] = {"eval",  "evalsha",  "eval_ro", "evalsha_ro",
                                          "fcall", "fcall_ro", NULL};
    static const char *const keyless[] = {
        "ping",     "info",    "multi",  "exec",     "discard",  "script",   "cluster",
        "auth",     "select",  "echo",   "time",     "dbsize",   "readonly", "readwrite",
        "asking",   "wait",    "config", "client",   "hello",    "quit",     "command",
        "flushall", "flushdb", "role",   "lastsave", "function", NULL};
    static const char *const every_key[] = {"mget",  "del",   "unlink", "exists",
                                            "touch", "watch", NULL};
    static const char *const pairs[] = {"mset", "msetnx", NULL};

    *nkeys = 0;
    *step = 1;
    if (argc < 1)
        return -1;
    if (is_any(argv[0], argvlen[0], scripts)) {
        if (argc < 3)
            return -1;
        char num[16];
        if (argvlen[2] == 0 || argvlen[2] >= sizeof(num))
            return -1;
        memcpy(num, argv[2], argvlen[2]);
        num[argvlen[2]] = '\0';
        char *end;
        long n = strtol(num, &end, 10);
        if (*end != '\0' || n < 0 || n > argc - 3)
            return -1;
        *nkeys = (int)n;
        return n > 0 ? 3 : 0;
    }
    if (is_any(argv[0], argvlen[0], keyless) || argc < 2)
        return 0;
    if (is_any(argv[0], argvlen[0], every_key)) {
        *nkeys = argc - 1;
        return 1;
    }
    if (is_any(argv[0], argvlen[0], pairs)) {
        if ((argc - 1) % 2 != 0)
            return -1;
        *nkeys = (argc - 1) / 2;
        *step = 2;
        return 1;
    }
    *nkeys = 1;
    return 1;
}

/* ---- small helpers ---- */

static void seterr(chiso_redis *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(chiso_redis *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
}

/* A reply made here, as if a node sent it: an error (CROSSSLOT,
 * CLUSTERDOWN) for type '-', a status for '+'. */
static redisReply *make_reply(char type, const char *text)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    if (!rd)
        return NULL;
    char buf[300];
    int n = snprintf(buf, sizeof(buf), "%c%s\r\n", type, text);
    if (redisReaderFeed(rd, buf, (size_t)n) != REDIS_OK ||
        redisReaderGetReply(rd, &reply) != REDIS_OK)
        reply = NULL;
    redisReaderFree(rd);
    return reply;
}

/* Split a command in the protocol into its arguments (pointers into cmd).
 * The argument count, or -1 when it is not a well-formed command. */
static int split(chiso_redis *r, const char *cmd, size_t len)
{
    const char *p = cmd, *end = cmd + len;
    char *e;
    if (p >= end || *p != '*')
        return -1;
    long argc = strtol(p + 1, &e, 10);
    if (e == p + 1 || e + 2 > end || e[0] != '\r' || argc < 1 || argc > (1 << 24))
        return -1;
    p = e + 2;
    if (argc > r->argcap) {
        int cap = (int)argc;
        const char **av = realloc(r->argv, (size_t)cap * sizeof(*av));
        if (!av)
            return -1;
        r->argv = av;
        size_t *al = realloc(r->argvlen, (size_t)cap * sizeof(*al));
        if (!al)
            return -1;
        r->argvlen = al;
        r->argcap = cap;
    }
    for (long i = 0; i < argc; i++) {
        if (p >= end || *p != '$')
            return -1;
        long n = strtol(p + 1, &e, 10);
        if (e == p + 1 || n < 0 || e + 2 > end || e[0] != '\r' ||
            (size_t)(end - (e + 2)) < (size_t)n + 2)
            return -1;
        r->argv[i] = e + 2;
        r->argvlen[i] = (size_t)n;
        p = e + 2 + n + 2;
    }
    return (int)argc;
}

static redisContext *connect_node(chiso_redis *r, const char *host, int port)
{
    redisContext *c = redisConnectWithTimeout(host, port, r->tv);
    if (!c) {
        seterr(r, "redis %s:%d: out of memory", host, port);
        return NULL;
    }
    if (c->err) {
        seterr(r, "redis %s:%d: %s", host, port, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, r->tv) != REDIS_OK) {
        seterr(r, "redis %s:%d: cannot set timeout", host, port);
        redisFree(c);
        return NULL;
    }
    if (r->password && *r->password) {
        redisReply *a = redisCommand(c, "AUTH %s", r->password);
        if (!a || a->type == REDIS_REPLY_ERROR) {
            seterr(r, "redis %s:%d: AUTH: %s", host, port, a ? a->str : c->errstr);
            if (a)
                freeReplyObject(a);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(a);
    }
    return c;
}

/* The index of a node, added when new; -1 on out of memory. */
static int node_index(chiso_redis *r, const char *host, int port)
{
    for (int i = 0; i < r->nnodes; i++)
        if (r->nodes[i].port == port && strcmp(r->nodes[i].host, host) == 0)
            return i;
    if (r->nnodes == r->capnodes) {
        int cap = r->capnodes ? r->capnodes * 2 : 8;
        node *nn = realloc(r->nodes, (size_t)cap * sizeof(*nn));
        if (!nn)
            return -1;
        r->nodes = nn;
        r->capnodes = cap;
    }
    char *h = strdup(host);
    if (!h)
        return -1;
    r->nodes[r->nnodes] = (node){.host = h, .port = port, .c = NULL};
    return r->nnodes++;
}

static redisContext *node_ctx(chiso_redis *r, int i)
{
    if (!r->nodes[i].c && !(r->nodes[i].c = connect_node(r, r->nodes[i].host, r->nodes[i].port)))
        r->failed = true;
    return r->nodes[i].c;
}

/* Read the slot map (CLUSTER SLOTS) from the first node that answers. */
static int load_slots(chiso_redis *r)
{
    for (int i = 0; i < r->nnodes; i++) {
        redisContext *c = node_ctx(r, i);
        if (!c)
            continue;
        redisReply *s = redisCommand(c, "CLUSTER SLOTS");
        if (!s) {
            seterr(r, "redis %s:%d: %s", r->nodes[i].host, r->nodes[i].port, c->errstr);
            redisFree(c);
            r->nodes[i].c = NULL;
            continue;
        }
        if (s->type != REDIS_REPLY_ARRAY) {
            seterr(r, "redis %s:%d: CLUSTER SLOTS: %s", r->nodes[i].host, r->nodes[i].port,
                   s->type == REDIS_REPLY_ERROR ? s->str : "not an array");
            freeReplyObject(s);
            continue;
        }
        for (int k = 0; k < NSLOTS; k++)
            r->slots[k] = -1;
        int rc = 0;
        for (size_t k = 0; k < s->elements && rc == 0; k++) {
            redisReply *e = s->element[k];
            if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
                e->element[0]->type != REDIS_REPLY_INTEGER ||
                e->element[1]->type != REDIS_REPLY_INTEGER ||
                e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
                e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
                e->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
                rc = -1;
                break;
            }
            long long from = e->element[0]->integer, to = e->element[1]->integer;
            const char *host = e->element[2]->element[0]->str;
            int port = (int)e->element[2]->element[1]->integer;
            /* an empty host: the node we asked does not know its address */
            int n = node_index(r, *host ? host : r->nodes[i].host, port);
            if (n < 0 || from < 0 || to >= NSLOTS || from > to) {
                rc = -1;
                break;
            }
            for (long long sl = from; sl <= to; sl++)
                r->slots[sl] = (int16_t)n;
        }
        freeReplyObject(s);
        if (rc == 0)
            return 0;
        seterr(r, "redis %s:%d: CLUSTER SLOTS: unexpected reply", r->nodes[i].host,
               r->nodes[i].port);
    }
    return -1;
}

/* ---- the queue ---- */

static entry *push(chiso_redis *r, const char *cmd, size_t len)
{
    if (r->head == r->tail)
        r->head = r->tail = 0;
    if (r->tail == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        entry *q = realloc(r->q, cap * sizeof(*q));
        if (!q)
            return NULL;
        r->q = q;
        r->cap = cap;
    }
    char *copy = malloc(len);
    if (!copy)
        return NULL;
    memcpy(copy, cmd, len);
    entry *e = &r->q[r->tail++];
    *e = (entry){.cmd = copy, .len = len, .node = -1};
    return e;
}

static int send_to(chiso_redis *r, entry *e, int n)
{
    redisContext *c = node_ctx(r, n);
    if (!c || redisAppendFormattedCommand(c, e->cmd, e->len) != REDIS_OK) {
        if (c)
            seterr(r, "redis %s:%d: %s", r->nodes[n].host, r->nodes[n].port, c->errstr);
        return REDIS_ERR;
    }
    e->node = n;
    return REDIS_OK;
}

/* A command refused here: its reply is the error, nothing is sent. */
static int refuse(chiso_redis *r, const char *cmd, size_t len, const char *why)
{
    entry *e = push(r, cmd, len);
    if (!e || !(e->ready = make_reply('-', why))) {
        seterr(r, "redis: out of memory");
        return REDIS_ERR;
    }
    return REDIS_OK;
}

static int cluster_append(chiso_redis *r, const char *cmd, size_t len)
{
    int argc = split(r, cmd, len);
    int nkeys, step;
    int ki = argc < 0 ? -1 : chiso_redis_key_index(argc, r->argv, r->argvlen, &nkeys, &step);
    if (ki < 0)
        return refuse(r, cmd, len, "ERR chiso: malformed command");
    bool multi = is(r->argv[0], r->argvlen[0], "multi");
    bool ends = is(r->argv[0], r->argvlen[0], "exec") || is(r->argv[0], r->argvlen[0], "discard");
    int n = 0; /* a keyless command: the first master */
    if (ki > 0) {
        uint16_t slot = chiso_redis_slot(r->argv[ki], r->argvlen[ki]);
        for (int k = 1; k < nkeys; k++) {
            int a = ki + k * step;
            if (chiso_redis_slot(r->argv[a], r->argvlen[a]) != slot)
                return refuse(r, cmd, len,
                              "CROSSSLOT Keys in request don't hash to the same slot (chiso)");
        }
        if (r->slots[slot] < 0 && load_slots(r) != 0)
            return REDIS_ERR;
        if ((n = r->slots[slot]) < 0)
            return refuse(r, cmd, len, "CLUSTERDOWN Hash slot not served (chiso)");
    } else if (r->tx_state == 2) {
        n = r->tx_node;
    } else {
        int first = -1;
        for (int k = 0; k < NSLOTS && first < 0; k++)
            first = r->slots[k];
        n = first < 0 ? 0 : first;
    }
    if (multi) {
        if (r->tx_state != 0)
            return refuse(r, cmd, len, "ERR MULTI calls can not be nested");
        /* MULTI goes with the transaction's first command, to its node,
         * and its reply (+OK: transactions are never nested here) is given
         * now, so a caller may read it before appending the rest */
        entry *e = push(r, cmd, len);
        if (!e || !(e->ready = make_reply('+', "OK"))) {
            seterr(r, "redis: out of memory");
            return REDIS_ERR;
        }
        e->tx = true;
        r->tx_state = 1;
        return REDIS_OK;
    }
    int skip = 0;
    if (r->tx_state == 1) { /* the transaction goes where its first command goes */
        redisContext *c = node_ctx(r, n);
        if (!c || redisAppendCommand(c, "MULTI") != REDIS_OK) {
            seterr(r, "redis %s:%d: %s", r->nodes[n].host, r->nodes[n].port,
                   c ? c->errstr : r->err);
            return REDIS_ERR;
        }
        skip = 1; /* MULTI's own reply, given already */
        r->tx_node = n;
        r->tx_state = 2;
    } else if (r->tx_state == 2 && n != r->tx_node) {
        return refuse(r, cmd, len, "CROSSSLOT Keys of a transaction must be on one node (chiso)");
    }
    entry *e = push(r, cmd, len);
    if (!e) {
        seterr(r, "redis: out of memory");
        return REDIS_ERR;
    }
    e->tx = r->tx_state != 0;
    e->skip = skip;
    if (ends)
        r->tx_state = 0;
    return send_to(r, e, n);
}

/* Read the next reply of node n into *out (dropping `skip` before it). */
static int read_node(chiso_redis *r, int n, int skip, redisReply **out)
{
    redisContext *c = r->nodes[n].c;
    for (int k = 0; k <= skip; k++) {
        void *reply = NULL;
        if (!c || redisGetReply(c, &reply) != REDIS_OK || !reply) {
            seterr(r, "redis %s:%d: %s", r->nodes[n].host, r->nodes[n].port,
                   c ? c->errstr : "not connected");
            return REDIS_ERR;
        }
        if (k < skip)
            freeReplyObject(reply);
        else
            *out = reply;
    }
    return REDIS_OK;
}

/* Send the head command again to node n (after ASKING when asking, after
 * loading `body` when set), first reading ahead what n owes to the
 * commands after it. */
static int resend(chiso_redis *r, int n, bool asking, const char *body)
{
    entry *head = &r->q[r->head];
    for (size_t i = r->head + 1; i < r->tail; i++) {
        entry *e = &r->q[i];
        if (e->node == n && !e->ready && read_node(r, n, e->skip, &e->ready) != REDIS_OK)
            return REDIS_ERR;
        if (e->node == n)
            e->skip = 0;
    }
    redisContext *c = node_ctx(r, n);
    head->skip = 0;
    if (c && asking && redisAppendCommand(c, "ASKING") == REDIS_OK)
        head->skip++;
    if (c && body && redisAppendCommand(c, "SCRIPT LOAD %s", body) == REDIS_OK)
        head->skip++;
    if (!c || send_to(r, head, n) != REDIS_OK)
        return REDIS_ERR;
    return read_node(r, n, head->skip, &head->ready);
}

static const script *find_script(const chiso_redis *r, const char *sha, size_t len)
{
    for (int i = 0; i < r->nscripts; i++)
        if (len == 40 && memcmp(r->scripts[i].sha, sha, 40) == 0)
            return &r->scripts[i];
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Follow the head's redirections until its reply is its own. */
static int follow(chiso_redis *r)
{
    entry *e = &r->q[r->head];
    for (int tries = 0; tries < MAX_REDIRECTS; tries++) {
        redisReply *rep = e->ready;
        if (e->tx || rep->type != REDIS_REPLY_ERROR)
            return REDIS_OK;
        char kind, host[256];
        uint16_t slot;
        int port, n;
        const char *body = NULL;
        bool asking = false;
        if (chiso_redis_parse_redirect(rep->str, &kind, &slot, host, sizeof(host), &port) == 0) {
            if ((n = node_index(r, host, port)) < 0)
                return REDIS_ERR;
            if (kind == 'M')
                r->slots[slot] = (int16_t)n;
            asking = kind == 'A';
        } else if (strncmp(rep->str, "TRYAGAIN", 8) == 0) {
            n = e->node;
            sleep_ms(TRYAGAIN_MS);
        } else if (strncmp(rep->str, "NOSCRIPT", 8) == 0 && split(r, e->cmd, e->len) >= 2 &&
                   is(r->argv[0], r->argvlen[0], "evalsha")) {
            const script *s = find_script(r, r->argv[1], r->argvlen[1]);
            if (!s)
                return REDIS_OK;
            n = e->node;
            body = s->body;
        } else {
            return REDIS_OK;
        }
        freeReplyObject(rep);
        e->ready = NULL;
        if (resend(r, n, asking, body) != REDIS_OK)
            return REDIS_ERR;
    }
    return REDIS_OK; /* redirected too often: the last error goes to the caller */
}

/* ---- the API ---- */

static void clear_queue(chiso_redis *r)
{
    for (size_t i = r->head; i < r->tail; i++) {
        free(r->q[i].cmd);
        if (r->q[i].ready)
            freeReplyObject(r->q[i].ready);
    }
    r->head = r->tail = 0;
    r->tx_state = 0;
}

void chiso_redis_close(chiso_redis *r)
{
    if (!r)
        return;
    clear_queue(r);
    if (r->one)
        redisFree(r->one);
    for (int i = 0; i < r->nnodes; i++) {
        if (r->nodes[i].c)
            redisFree(r->nodes[i].c);
        free(r->nodes[i].host);
    }
    for (int i = 0; i < r->nscripts; i++)
        free(r->scripts[i].body);
    free(r->scripts);
    free(r->nodes);
    free(r->slots);
    free(r->q);
    free(r->argv);
    free(r->argvlen);
    free(r->password);
    free(r);
}

/* Add the seeds: redis.host:redis.port, then redis.cluster.seeds. */
static int add_seeds(chiso_redis *r, const chiso_config *cfg, char *errstr, size_t errstr_size)
{
    if (node_index(r, chiso_config_str(cfg, "redis.host"),
                   (int)chiso_config_int(cfg, "redis.port")) < 0)
        goto oom;
    const char *list = chiso_config_str(cfg, "redis.cluster.seeds");
    while (list && *list) {
        const char *comma = strchr(list, ',');
        size_t n = comma ? (size_t)(comma - list) : strlen(list);
        char item[300];
        const char *colon = n < sizeof(item) ? memchr(list, ':', n) : NULL;
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || end != list + n || port <= 0 || port > 65535 || colon == list) {
            snprintf(errstr, errstr_size, "redis.cluster.seeds: '%.*s' is not host:port", (int)n,
                     list);
            return CHISO_EINVAL;
        }
        memcpy(item, list, (size_t)(colon - list));
        item[colon - list] = '\0';
        if (node_index(r, item, (int)port) < 0)
            goto oom;
        list = comma ? comma + 1 : list + n;
    }
    return 0;
oom:
    snprintf(errstr, errstr_size, "redis: out of memory");
    return CHISO_ENOMEM;
}

chiso_redis *chiso_redis_open(const chiso_config *cfg, char *errstr, size_t errstr_size)
{
    chiso_redis *r = calloc(1, sizeof(*r));
    const char *mode = chiso_config_str(cfg, "redis.cluster");
    const char *password = chiso_config_str(cfg, "redis.password");
    int64_t ms = chiso_config_int(cfg, "redis.timeout.ms");

    if (!r || (password && !(r->password = strdup(password)))) {
        snprintf(errstr, errstr_size, "redis: out of memory");
        goto err;
    }
    r->tv =
        (struct timeval){.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    if (add_seeds(r, cfg, errstr, errstr_size) != 0)
        goto err;
    if (strcmp(mode, "no") == 0) {
        if (!(r->one = connect_node(r, r->nodes[0].host, r->nodes[0].port))) {
            snprintf(errstr, errstr_size, "%s", r->err);
            goto err;
        }
        return r;
    }
    if (!(r->slots = malloc(NSLOTS * sizeof(*r->slots)))) {
        snprintf(errstr, errstr_size, "redis: out of memory");
        goto err;
    }
    if (load_slots(r) == 0) {
        r->failed = false; /* a seed that did not answer is not a failure */
        return r;
    }
    /* auto: a node without cluster support is the single Redis */
    if (strcmp(mode, "auto") == 0 && r->nodes[0].c && strstr(r->err, "cluster support disabled")) {
        r->one = r->nodes[0].c;
        r->nodes[0].c = NULL;
        free(r->slots);
        r->slots = NULL;
        return r;
    }
    snprintf(errstr, errstr_size, "%s", r->err);
err:
    chiso_redis_close(r);
    return NULL;
}

chiso_redis *chiso_redis_wrap(redisContext *c)
{
    chiso_redis *r = calloc(1, sizeof(*r));
    if (!r) {
        redisFree(c);
        return NULL;
    }
    r->one = c;
    return r;
}

bool chiso_redis_is_cluster(const chiso_redis *r)
{
    return r->one == NULL;
}

int chiso_redis_append_formatted(chiso_redis *r, const char *cmd, size_t len)
{
    if (r->one)
        return redisAppendFormattedCommand(r->one, cmd, len);
    return cluster_append(r, cmd, len);
}

int chiso_redis_vappendf(chiso_redis *r, const char *fmt, va_list ap)
{
    if (r->one)
        return redisvAppendCommand(r->one, fmt, ap);
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0) {
        seterr(r, "redis: cannot format '%s'", fmt);
        return REDIS_ERR;
    }
    int rc = cluster_append(r, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return rc;
}

int chiso_redis_appendf(chiso_redis *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = chiso_redis_vappendf(r, fmt, ap);
    va_end(ap);
    return rc;
}

int chiso_redis_append_argv(chiso_redis *r, int argc, const char **argv, const size_t *argvlen)
{
    if (r->one)
        return redisAppendCommandArgv(r->one, argc, argv, argvlen);
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) {
        seterr(r, "redis: out of memory");
        return REDIS_ERR;
    }
    int rc = cluster_append(r, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return rc;
}

int chiso_redis_get_reply(chiso_redis *r, redisReply **reply)
{
    *reply = NULL;
    if (r->one) {
        void *rep = NULL;
        if (redisGetReply(r->one, &rep) != REDIS_OK || !rep) {
            seterr(r, "redis: %s", r->one->err ? r->one->errstr : "no reply");
            return REDIS_ERR;
        }
        *reply = rep;
        return REDIS_OK;
    }
    if (r->head == r->tail) {
        seterr(r, "redis: no command waits for a reply");
        return REDIS_ERR;
    }
    entry *e = &r->q[r->head];
    if (!e->ready && read_node(r, e->node, e->skip, &e->ready) != REDIS_OK)
        return REDIS_ERR;
    if (follow(r) != REDIS_OK)
        return REDIS_ERR;
    *reply = e->ready;
    free(e->cmd);
    r->head++;
    return REDIS_OK;
}

redisReply *chiso_redis_command(chiso_redis *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = chiso_redis_vappendf(r, fmt, ap);
    va_end(ap);
    redisReply *reply = NULL;
    if (rc != REDIS_OK || chiso_redis_get_reply(r, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

size_t chiso_redis_pending(const chiso_redis *r)
{
    return r->one ? 0 : r->tail - r->head;
}

size_t chiso_redis_unsent(const chiso_redis *r)
{
    if (r->one)
        return sdslen(r->one->obuf);
    size_t n = 0;
    for (int i = 0; i < r->nnodes; i++)
        if (r->nodes[i].c)
            n += sdslen(r->nodes[i].c->obuf);
    return n;
}

static int write_all(chiso_redis *r, redisContext *c)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            seterr(r, "redis: %s", c->errstr);
            return REDIS_ERR;
        }
    return REDIS_OK;
}

int chiso_redis_flush(chiso_redis *r)
{
    if (r->one)
        return write_all(r, r->one);
    for (int i = 0; i < r->nnodes; i++)
        if (r->nodes[i].c && write_all(r, r->nodes[i].c) != REDIS_OK)
            return REDIS_ERR;
    return REDIS_OK;
}

const char *chiso_redis_errstr(const chiso_redis *r)
{
    if (r->one && r->one->err)
        return r->one->errstr;
    return r->err[0] ? r->err : "no error";
}

bool chiso_redis_failed(const chiso_redis *r)
{
    if (r->one)
        return r->one->err != 0;
    for (int i = 0; i < r->nnodes; i++)
        if (r->nodes[i].c && r->nodes[i].c->err)
            return true;
    return r->failed;
}

/* The context of the i-th master (in slot order), NULL past the last. */
/* The node index of the i-th master (the nodes serving slots, in the
 * order of their first slot), -1 past the last. */
static int master_node(chiso_redis *r, int i)
{
    bool *seen = calloc((size_t)r->nnodes + 1, sizeof(*seen));
    int n = -1, found = -1;
    for (int k = 0; seen && k < NSLOTS && found < 0; k++) {
        int s = r->slots[k];
        if (s < 0 || seen[s])
            continue;
        seen[s] = true;
        if (++n == i)
            found = s;
    }
    free(seen);
    return found;
}

static redisContext *master_ctx(chiso_redis *r, int i)
{
    if (r->one)
        return i == 0 ? r->one : NULL;
    int n = master_node(r, i);
    return n < 0 ? NULL : node_ctx(r, n);
}

int chiso_redis_masters(chiso_redis *r)
{
    if (r->one)
        return 1;
    int n = 0;
    while (master_node(r, n) >= 0)
        n++;
    return n;
}

int chiso_redis_master_tag(chiso_redis *r, int i, char *tag, size_t size)
{
    if (r->one)
        return i == 0 && snprintf(tag, size, "m") < (int)size ? 0 : -1;
    int n = master_node(r, i);
    if (n < 0)
        return -1;
    for (unsigned k = 0; k < 1000000; k++) {
        int len = snprintf(tag, size, "m%u", k);
        if (len < 0 || (size_t)len >= size)
            return -1;
        if (r->slots[chiso_redis_slot(tag, (size_t)len)] == n)
            return 0;
    }
    return -1;
}

int chiso_redis_scan_next(chiso_redis *r, chiso_redis_scan *s, const char *match,
                          redisReply **batch)
{
    *batch = NULL;
    for (;;) {
        redisContext *c = master_ctx(r, s->master);
        if (!c)
            return r->failed ? -1 : 0;
        if (strcmp(s->cursor, "0") == 0) { /* this master is done */
            s->master++;
            s->cursor[0] = '\0';
            continue;
        }
        redisReply *rep =
            redisCommand(c, "SCAN %s MATCH %s COUNT 1000", s->cursor[0] ? s->cursor : "0", match);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            seterr(r, "redis: SCAN: %s",
                   !rep                             ? c->errstr
                   : rep->type == REDIS_REPLY_ERROR ? rep->str
                                                    : "unexpected reply");
            if (rep)
                freeReplyObject(rep);
            return -1;
        }
        snprintf(s->cursor, sizeof(s->cursor), "%s", rep->element[0]->str);
        *batch = rep;
        return 1;
    }
}

static int load_on(chiso_redis *r, redisContext *c, const char *where, const char *body,
                   char sha[41], char *errstr, size_t errstr_size)
{
    redisReply *rep = redisCommand(c, "SCRIPT LOAD %s", body);
    if (!rep) {
        snprintf(errstr, errstr_size, "redis %s: SCRIPT LOAD: %s", where, c->errstr);
        return CHISO_EIO;
    }
    if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
        snprintf(errstr, errstr_size, "redis %s: SCRIPT LOAD: %s", where,
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        freeReplyObject(rep);
        return CHISO_EINVAL;
    }
    memcpy(sha, rep->str, 40);
    sha[40] = '\0';
    freeReplyObject(rep);
    (void)r;
    return 0;
}

int chiso_redis_script_load(chiso_redis *r, const char *body, char sha[41], char *errstr,
                            size_t errstr_size)
{
    if (r->one)
        return load_on(r, r->one, "", body, sha, errstr, errstr_size);
    int rc = CHISO_EIO;
    snprintf(errstr, errstr_size, "redis: no master to load the script on");
    for (int i = 0; i < r->nnodes; i++) {
        bool serves = false;
        for (int k = 0; k < NSLOTS && !serves; k++)
            serves = r->slots[k] == i;
        if (!serves)
            continue;
        redisContext *c = node_ctx(r, i);
        char where[300];
        snprintf(where, sizeof(where), "%s:%d", r->nodes[i].host, r->nodes[i].port);
        if (!c) {
            snprintf(errstr, errstr_size, "%s", r->err);
            return CHISO_EIO;
        }
        if ((rc = load_on(r, c, where, body, sha, errstr, errstr_size)) != 0)
            return rc;
    }
    if (rc != 0)
        return rc;
    if (!find_script(r, sha, 40)) {
        script *s = realloc(r->scripts, (size_t)(r->nscripts + 1) * sizeof(*s));
        char *copy = strdup(body);
        if (!s || !copy) {
            free(copy);
            if (s)
                r->scripts = s;
            snprintf(errstr, errstr_size, "redis: out of memory");
            return CHISO_ENOMEM;
        }
        r->scripts = s;
        memcpy(r->scripts[r->nscripts].sha, sha, 41);
        r->scripts[r->nscripts++].body = copy;
    }
    return 0;
}
