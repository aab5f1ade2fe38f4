/*
 * test_redisc.c - the Redis Cluster client (chiso/redisc.h) against
 * recorded replies.
 *
 * The files tests/unit/data/redis_cluster/NAME.resp are the bytes a real Redis 7.0.15
 * cluster of three masters (ports 30001-30003) sent on 2026-12-05:
 * CLUSTER SLOTS, a MOVED and an ASK (slot 12102 set migrating), NOSCRIPT,
 * CROSSSLOT, and a single Redis's answer to CLUSTER SLOTS. Fake nodes
 * (threads on loopback ports) replay them, with the recorded ports
 * rewritten to theirs, and answer what the scenario wants; every command
 * they receive is logged, so the test sees where each command went.
 * The slots of keys are the ones CLUSTER KEYSLOT gave on that cluster.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/read.h>

#include "chiso/redisc.h"
#include "chiso/redisx.h"
#include "check.h"

#ifndef CHISO_REDIS_CLUSTER_DATA
#error "CHISO_REDIS_CLUSTER_DATA: the folder of the recorded replies"
#endif

/* ---- recorded replies ---- */

static char *recorded(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.resp", CHISO_REDIS_CLUSTER_DATA, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* s with every "30001".."30003" replaced by the fake nodes' ports. */
static char *with_ports(const char *s, const int ports[3])
{
    char *out = calloc(1, strlen(s) * 2 + 64);
    char *o = out;
    while (*s) {
        if (strncmp(s, "3000", 4) == 0 && s[4] >= '1' && s[4] <= '3') {
            o += sprintf(o, "%d", ports[s[4] - '1']);
            s += 5;
        } else {
            *o++ = *s++;
        }
    }
    return out;
}

/* ---- fake nodes ---- */

#define NODES  3
#define LOGMAX 64

typedef struct fake fake;
/* The bytes to answer a command with (argv of argc), or NULL to close. */
typedef const char *(*answer_fn)(fake *f, int node, int argc, char **argv);

struct fake {
    int fd[NODES];
    int port[NODES];
    pthread_t th[NODES];
    answer_fn answer;
    pthread_mutex_t lock;
    char log[NODES][LOGMAX][96]; /* the commands each node got, "GET key" */
    int nlog[NODES];
    int state; /* the scenario's own */
    char reply[NODES][512];
    char *slots; /* CLUSTER SLOTS with the fake ports */
};

typedef struct serve_arg {
    fake *f;
    int node;
} serve_arg;

static serve_arg args[NODES];

static void *serve(void *p)
{
    serve_arg *a = p;
    fake *f = a->f;
    for (;;) {
        int c = accept(f->fd[a->node], NULL, NULL);
        if (c < 0)
            return NULL;
        redisReader *rd = redisReaderCreate();
        char buf[8192];
        ssize_t n;
        int open = 1;
        while (open && (n = read(c, buf, sizeof(buf))) > 0) {
            redisReaderFeed(rd, buf, (size_t)n);
            void *cmd;
            while (open && redisReaderGetReply(rd, &cmd) == REDIS_OK && cmd) {
                redisReply *r = cmd;
                char *argv[16];
                int argc = (int)(r->elements < 16 ? r->elements : 16);
                for (int i = 0; i < argc; i++)
                    argv[i] = r->element[i]->str;
                pthread_mutex_lock(&f->lock);
                if (f->nlog[a->node] < LOGMAX) {
                    char *l = f->log[a->node][f->nlog[a->node]++];
                    snprintf(l, 96, "%s%s%s", argv[0], argc > 1 ? " " : "",
                             argc > 1 ? argv[1] : "");
                }
                const char *out = f->answer(f, a->node, argc, argv);
                pthread_mutex_unlock(&f->lock);
                if (!out || write(c, out, strlen(out)) < 0)
                    open = 0;
                freeReplyObject(r);
            }
        }
        redisReaderFree(rd);
        close(c);
    }
}

static void fake_start(fake *f, answer_fn answer)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->answer = answer;
    for (int i = 0; i < NODES; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(sa);
        f->fd[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (bind(f->fd[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(f->fd[i], 4) != 0 ||
            getsockname(f->fd[i], (struct sockaddr *)&sa, &len) != 0) {
            perror("fake node");
            exit(2);
        }
        f->port[i] = ntohs(sa.sin_port);
    }
    char *slots = recorded("cluster_slots");
    f->slots = with_ports(slots, f->port);
    free(slots);
    for (int i = 0; i < NODES; i++) {
        args[i] = (serve_arg){f, i};
        pthread_create(&f->th[i], NULL, serve, &args[i]);
    }
}

static void fake_stop(fake *f)
{
    for (int i = 0; i < NODES; i++) {
        shutdown(f->fd[i], SHUT_RDWR);
        close(f->fd[i]);
        pthread_join(f->th[i], NULL);
    }
    free(f->slots);
    pthread_mutex_destroy(&f->lock);
}

/* How many commands node got that begin with `what`. */
static int got(fake *f, int node, const char *what)
{
    int n = 0;
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < f->nlog[node]; i++)
        n += strncmp(f->log[node][i], what, strlen(what)) == 0;
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* A bulk string "<node>:<key>" answering a read. */
static const char *echo(fake *f, int node, const char *key)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "%d:%s", node, key);
    snprintf(f->reply[node], sizeof(f->reply[node]), "$%d\r\n%s\r\n", n, body);
    return f->reply[node];
}

static chiso_redis *open_client(fake *f, int node, const char *mode)
{
    static const chiso_cfg_def defs[] = {CHISO_REDIS_CFG_DEFS, {NULL, 0, NULL, NULL, NULL}};
    chiso_config *cfg = chiso_config_new(defs);
    char port[16], err[256];
    snprintf(port, sizeof(port), "%d", f->port[node]);
    chiso_config_set(cfg, "redis.port", port, err, sizeof(err));
    chiso_config_set(cfg, "redis.cluster", mode, err, sizeof(err));
    chiso_config_set(cfg, "redis.timeout.ms", "3000", err, sizeof(err));
    chiso_redis *r = chiso_redis_open(cfg, err, sizeof(err));
    if (!r)
        fprintf(stderr, "open: %s\n", err);
    chiso_config_destroy(cfg);
    return r;
}

/* The reply of the next command as text: the string, "ERR:<error>", or
 * "FAIL" when the client failed. */
static char reply_text[512];
static const char *next(chiso_redis *r)
{
    redisReply *rep;
    if (chiso_redis_get_reply(r, &rep) != REDIS_OK)
        return "FAIL";
    if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS)
        snprintf(reply_text, sizeof(reply_text), "%s", rep->str);
    else if (rep->type == REDIS_REPLY_ERROR)
        snprintf(reply_text, sizeof(reply_text), "ERR:%s", rep->str);
    else if (rep->type == REDIS_REPLY_INTEGER)
        snprintf(reply_text, sizeof(reply_text), "%lld", rep->integer);
    else
        snprintf(reply_text, sizeof(reply_text), "type %d", rep->type);
    freeReplyObject(rep);
    return reply_text;
}

/* ---- the pure rules ---- */

static void test_slots(void)
{
    static const struct {
        const char *key;
        int slot;
    } cases[] = {
        {"123456789", 12739},
        {"{user1000}.following", 3443},
        {"user1000", 3443},
        {"foo{}{bar}", 8363},
        {"foo{{bar}}zap", 4015},
        {"foo{bar}{zap}", 5061},
        {"{}", 15257},
        {"{", 4092},
        {"a}{b", 11640},
        {"", 0},
        {"{000.31.08.H31}:c:2025-07", 12102},
        {"chiso:units", 3902},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ_INT(chiso_redis_slot(cases[i].key, strlen(cases[i].key)), cases[i].slot, "%s",
                     cases[i].key);
}

static void test_redirects(void)
{
    char kind, host[64];
    uint16_t slot;
    int port;
    char *moved = recorded("moved"), *ask = recorded("ask");
    moved[strcspn(moved, "\r")] = '\0';
    ask[strcspn(ask, "\r")] = '\0';
    CHECK(chiso_redis_parse_redirect(moved + 1, &kind, &slot, host, sizeof(host), &port) == 0 &&
              kind == 'M' && slot == 12102 && strcmp(host, "127.0.0.1") == 0 && port == 30003,
          "%s", moved);
    CHECK(chiso_redis_parse_redirect(ask + 1, &kind, &slot, host, sizeof(host), &port) == 0 &&
              kind == 'A' && slot == 12102 && port == 30001,
          "%s", ask);
    CHECK(chiso_redis_parse_redirect("MOVED 3999 [::1]:7000", &kind, &slot, host, sizeof(host),
                                     &port) == 0 &&
              strcmp(host, "[::1]") == 0 && port == 7000,
          "an IPv6 node");
    static const char *const bad[] = {
        "MOVED",       "MOVED 16384 h:1", "MOVED -1 h:1", "MOVED 1 h",   "MOVED 1 h:0",
        "MOVED 1 h:x", "ASK 1 h:70000",   "MOVEDX 1 h:1", "ERR MOVED 1", "MOVED 1x h:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(chiso_redis_parse_redirect(bad[i], &kind, &slot, host, sizeof(host), &port) < 0,
              "'%s' taken as a redirection", bad[i]);
    free(moved);
    free(ask);
}

static void test_key_index(void)
{
    static const struct {
        const char *const argv[8];
        int argc, index, nkeys, step;
    } cases[] = {
        {{"GET", "k"}, 2, 1, 1, 1},
        {{"hset", "k", "f", "v"}, 4, 1, 1, 1},
        {{"EVALSHA", "sha", "2", "{u}a", "{u}b", "x"}, 6, 3, 2, 1},
        {{"EVAL", "s", "0", "x"}, 4, 0, 0, 1},
        {{"EVAL", "s", "3", "a"}, 4, -1, 0, 1},
        {{"EVAL", "s"}, 2, -1, 0, 1},
        {{"EVAL", "s", "x1", "a"}, 4, -1, 0, 1},
        {{"MGET", "a", "b", "c"}, 4, 1, 3, 1},
        {{"MSET", "a", "1", "b", "2"}, 5, 1, 2, 2},
        {{"MSET", "a", "1", "b"}, 4, -1, 0, 1},
        {{"DEL", "a", "b"}, 3, 1, 2, 1},
        {{"PING"}, 1, 0, 0, 1},
        {{"multi"}, 1, 0, 0, 1},
        {{"SCRIPT", "LOAD", "x"}, 3, 0, 0, 1},
        {{"INFO", "memory"}, 2, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len[8];
        for (int k = 0; k < cases[i].argc; k++)
            len[k] = strlen(cases[i].argv[k]);
        int nkeys = -9, step = -9;
        const char *argv[8];
        memcpy(argv, cases[i].argv, sizeof(argv));
        int idx = chiso_redis_key_index(cases[i].argc, argv, len, &nkeys, &step);
        CHECK_EQ_INT(idx, cases[i].index, "case %zu (%s)", i, cases[i].argv[0]);
        if (idx > 0) {
            CHECK_EQ_INT(nkeys, cases[i].nkeys, "case %zu keys", i);
            CHECK_EQ_INT(step, cases[i].step, "case %zu step", i);
        }
    }
}

/* ---- the client against fake nodes ---- */

/* The recorded map's masters: slots 0-5460 node 0, 5461-10922 node 1,
 * 10923-16383 node 2. */
static int owner(uint16_t slot)
{
    return slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2;
}

/* A key of the given node's slots, found by trying names. */
static const char *key_on(int node, char *buf, size_t size)
{
    for (int i = 0;; i++) {
        snprintf(buf, size, "{k%d}:x", i);
        if (owner(chiso_redis_slot(buf, strlen(buf))) == node)
            return buf;
    }
}

static char moved_key[64];
static char moved_text[128];

/* Node 1 sends its slot of moved_key to node 2 for good (MOVED); everyone
 * else answers reads with their name. */
static const char *answer_moved(fake *f, int node, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "CLUSTER") == 0)
        return f->slots;
    if (argc >= 2 && strcmp(argv[0], "GET") == 0) {
        if (node == 1 && strcmp(argv[1], moved_key) == 0)
            return moved_text;
        return echo(f, node, argv[1]);
    }
    return "-ERR unexpected\r\n";
}

static void test_moved(void)
{
    fake f;
    char k0[32], k1[64], k2[32], rec[64];
    fake_start(&f, answer_moved);
    key_on(0, k0, sizeof(k0));
    key_on(1, moved_key, sizeof(moved_key));
    key_on(2, k2, sizeof(k2));
    snprintf(k1, sizeof(k1), "%s", moved_key);
    /* the recorded MOVED, for this key's slot and node 2 */
    snprintf(rec, sizeof(rec), "-MOVED %u 127.0.0.1:30003\r\n",
             (unsigned)chiso_redis_slot(moved_key, strlen(moved_key)));
    char *m = with_ports(rec, f.port);
    snprintf(moved_text, sizeof(moved_text), "%s", m);
    free(m);

    chiso_redis *r = open_client(&f, 0, "auto");
    CHECK(r && chiso_redis_is_cluster(r), "a cluster from the recorded CLUSTER SLOTS");
    if (!r) {
        fake_stop(&f);
        return;
    }
    /* the masters, and a tag on each (the applied markers' keys) */
    CHECK_EQ_INT(chiso_redis_masters(r), 3, "three masters");
    for (int i = 0; i < 3; i++) {
        char tag[32];
        CHECK(chiso_redis_master_tag(r, i, tag, sizeof(tag)) == 0 &&
                  owner(chiso_redis_slot(tag, strlen(tag))) == i,
              "a tag on master %d", i);
    }
    char none[32];
    CHECK(chiso_redis_master_tag(r, 3, none, sizeof(none)) < 0, "no fourth master");
    /* three reads pipelined; the middle one is moved to node 2, which has
     * the third one's reply queued before it */
    CHECK_EQ_INT(chiso_redis_appendf(r, "GET %s", k0), REDIS_OK, "append");
    CHECK_EQ_INT(chiso_redis_appendf(r, "GET %s", k1), REDIS_OK, "append");
    CHECK_EQ_INT(chiso_redis_appendf(r, "GET %s", k2), REDIS_OK, "append");
    CHECK_EQ_INT(chiso_redis_pending(r), 3, "pending");
    char want[96];
    snprintf(want, sizeof(want), "0:%s", k0);
    CHECK_EQ_STR(next(r), want, "first reply, from node 0");
    snprintf(want, sizeof(want), "2:%s", k1);
    CHECK_EQ_STR(next(r), want, "the moved read, answered by node 2, in its place");
    snprintf(want, sizeof(want), "2:%s", k2);
    CHECK_EQ_STR(next(r), want, "third reply, from node 2");
    CHECK_EQ_INT(chiso_redis_pending(r), 0, "nothing pending");
    /* the map learnt the move: node 1 is not asked again */
    redisReply *rep = chiso_redis_command(r, "GET %s", k1);
    CHECK(rep && rep->type == REDIS_REPLY_STRING && rep->str[0] == '2', "the slot now on node 2");
    if (rep)
        freeReplyObject(rep);
    CHECK_EQ_INT(got(&f, 1, "GET"), 1, "node 1 asked once");
    CHECK_EQ_INT(got(&f, 2, "GET"), 3, "node 2 got the moved read twice and its own");
    /* after the move, node 1 serves one slot less; node 2 one more */
    char tag1[32];
    CHECK(chiso_redis_master_tag(r, 1, tag1, sizeof(tag1)) == 0 &&
              chiso_redis_slot(tag1, strlen(tag1)) != chiso_redis_slot(k1, strlen(k1)),
          "master 1's tag is not on the slot it lost");
    chiso_redis_close(r);
    fake_stop(&f);
}

static char ask_key[32];
static char ask_text[128];

/* Node 2's slot of ask_key is migrating to node 0: node 2 answers ASK;
 * node 0 answers only after ASKING. */
static const char *answer_ask(fake *f, int node, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "CLUSTER") == 0)
        return f->slots;
    if (strcmp(argv[0], "ASKING") == 0) {
        f->state = 1;
        return "+OK\r\n";
    }
    if (argc >= 2 && strcmp(argv[0], "GET") == 0) {
        if (node == 2 && strcmp(argv[1], ask_key) == 0)
            return ask_text;
        if (node == 0 && strcmp(argv[1], ask_key) == 0) {
            int asked = f->state;
            f->state = 0;
            return asked ? echo(f, node, argv[1]) : "-ERR no ASKING before\r\n";
        }
        return echo(f, node, argv[1]);
    }
    return "-ERR unexpected\r\n";
}

static void test_ask(void)
{
    fake f;
    fake_start(&f, answer_ask);
    key_on(2, ask_key, sizeof(ask_key));
    char *text = recorded("ask"); /* ASK 12102 127.0.0.1:30001 */
    char rec[128];
    snprintf(rec, sizeof(rec), "-ASK %u %s", (unsigned)chiso_redis_slot(ask_key, strlen(ask_key)),
             strchr(text + 5, ' ') + 1);
    char *a = with_ports(rec, f.port);
    snprintf(ask_text, sizeof(ask_text), "%s", a);
    free(a);
    free(text);
    chiso_redis *r = open_client(&f, 1, "yes");
    CHECK(r != NULL, "open from node 1");
    if (!r) {
        fake_stop(&f);
        return;
    }
    char want[96];
    snprintf(want, sizeof(want), "0:%s", ask_key);
    for (int round = 0; round < 2; round++) {
        chiso_redis_appendf(r, "GET %s", ask_key);
        CHECK_EQ_STR(next(r), want, "round %d: answered by node 0 after ASKING", round);
    }
    CHECK_EQ_INT(got(&f, 2, "GET"), 2, "an ASK does not move the slot: node 2 asked each time");
    CHECK_EQ_INT(got(&f, 0, "ASKING"), 2, "ASKING before each");
    chiso_redis_close(r);
    fake_stop(&f);
}

#define SHA "e0e1f9fabfc9d4800c877a703b823ac0578ff831"

/* Node 2 forgot the script once (a promoted replica): NOSCRIPT, then it
 * takes SCRIPT LOAD and answers. MULTI/EXEC: replies as Redis gives them. */
static const char *answer_script(fake *f, int node, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "CLUSTER") == 0)
        return f->slots;
    if (argc >= 2 && strcmp(argv[0], "SCRIPT") == 0) {
        if (node == 2)
            f->state = 2;
        return "$40\r\n" SHA "\r\n";
    }
    if (strcmp(argv[0], "EVALSHA") == 0) {
        if (node == 2 && f->state == 0)
            return f->reply[node];
        return ":7\r\n";
    }
    if (strcmp(argv[0], "MULTI") == 0)
        return "+OK\r\n";
    if (strcmp(argv[0], "HSET") == 0)
        return "+QUEUED\r\n";
    if (strcmp(argv[0], "EXEC") == 0)
        return "*1\r\n:1\r\n";
    return "-ERR unexpected\r\n";
}

static void test_script_and_tx(void)
{
    fake f;
    char k2[32], k0[32], err[256], sha[41];
    fake_start(&f, answer_script);
    char *nos = recorded("noscript");
    snprintf(f.reply[2], sizeof(f.reply[2]), "%s", nos);
    free(nos);
    chiso_redis *r = open_client(&f, 0, "auto");
    CHECK(r != NULL, "open");
    if (!r) {
        fake_stop(&f);
        return;
    }
    CHECK_EQ_INT(chiso_redis_script_load(r, "return 7", sha, err, sizeof(err)), 0, "%s", err);
    CHECK_EQ_STR(sha, SHA, "the script's sha");
    for (int i = 0; i < NODES; i++)
        CHECK_EQ_INT(got(&f, i, "SCRIPT"), 1, "loaded on master %d", i);
    pthread_mutex_lock(&f.lock);
    f.state = 0; /* node 2 loses it */
    pthread_mutex_unlock(&f.lock);
    key_on(2, k2, sizeof(k2));
    key_on(0, k0, sizeof(k0));
    chiso_redis_appendf(r, "EVALSHA %s 1 %s", sha, k2);
    chiso_redis_appendf(r, "EVALSHA %s 1 %s", sha, k0);
    CHECK_EQ_STR(next(r), "7", "NOSCRIPT: loaded again on node 2, answered");
    CHECK_EQ_STR(next(r), "7", "node 0's");
    CHECK_EQ_INT(got(&f, 2, "SCRIPT"), 2, "node 2 got the script again");

    /* a transaction goes to its key's node, whole */
    chiso_redis_appendf(r, "MULTI");
    chiso_redis_appendf(r, "HSET %s f 1", k2);
    chiso_redis_appendf(r, "EXEC");
    CHECK_EQ_STR(next(r), "OK", "MULTI");
    CHECK_EQ_STR(next(r), "QUEUED", "HSET queued");
    CHECK_EQ_STR(next(r), "type 2", "EXEC's array");
    CHECK_EQ_INT(got(&f, 2, "MULTI"), 1, "MULTI went to the key's node");
    CHECK_EQ_INT(got(&f, 0, "MULTI") + got(&f, 1, "MULTI"), 0, "and nowhere else");
    /* a transaction across nodes, and keys across slots, are refused here */
    chiso_redis_appendf(r, "MULTI");
    chiso_redis_appendf(r, "HSET %s f 1", k2);
    chiso_redis_appendf(r, "HSET %s f 1", k0);
    chiso_redis_appendf(r, "EXEC");
    CHECK_EQ_STR(next(r), "OK", "MULTI");
    CHECK_EQ_STR(next(r), "QUEUED", "the first node's command");
    CHECK(strncmp(next(r), "ERR:CROSSSLOT", 13) == 0, "another node's command: %s", reply_text);
    next(r); /* EXEC, as the node answers it */
    CHECK_EQ_INT(got(&f, 0, "HSET"), 0, "not sent to the other node");
    chiso_redis_appendf(r, "MGET %s %s", k0, k2);
    char *cross = recorded("crossslot");
    cross[strcspn(cross, " ")] = '\0';
    CHECK(strncmp(next(r), "ERR:", 4) == 0 &&
              strncmp(reply_text + 4, cross + 1, strlen(cross + 1)) == 0,
          "MGET across slots: %s (Redis says %s)", reply_text, cross + 1);
    free(cross);
    chiso_redis_close(r);
    fake_stop(&f);
}

/* A single Redis: CLUSTER SLOTS refused as recorded; then plain hiredis. */
static const char *answer_single(fake *f, int node, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "CLUSTER") == 0)
        return f->reply[0];
    if (argc >= 2 && strcmp(argv[0], "GET") == 0)
        return echo(f, node, argv[1]);
    if (strcmp(argv[0], "QUIT") == 0)
        return NULL; /* closes */
    return "-ERR unexpected\r\n";
}

static void test_single_and_failure(void)
{
    fake f;
    fake_start(&f, answer_single);
    char *dis = recorded("disabled");
    snprintf(f.reply[0], sizeof(f.reply[0]), "%s", dis);
    free(dis);
    chiso_redis *r = open_client(&f, 0, "auto");
    CHECK(r && !chiso_redis_is_cluster(r), "auto: a single Redis");
    if (r) {
        chiso_redis_appendf(r, "GET %s", "a");
        chiso_redis_appendf(r, "GET %s", "{b}");
        CHECK_EQ_STR(next(r), "0:a", "single: first");
        CHECK_EQ_STR(next(r), "0:{b}", "single: second");
        chiso_redis_close(r);
    }
    CHECK(open_client(&f, 0, "yes") == NULL, "yes: a single Redis is an error");
    fake_stop(&f);

    /* a node that closes the connection fails the call, with a reason */
    fake_start(&f, answer_single);
    snprintf(f.reply[0], sizeof(f.reply[0]), "%s", f.slots);
    r = open_client(&f, 0, "yes");
    CHECK(r != NULL, "cluster");
    if (r) {
        char k[32];
        key_on(1, k, sizeof(k));
        chiso_redis_appendf(r, "QUIT");
        CHECK_EQ_STR(next(r), "FAIL", "a closed connection");
        CHECK(strstr(chiso_redis_errstr(r), "redis 127.0.0.1:") != NULL, "errstr: %s",
              chiso_redis_errstr(r));
        chiso_redis_close(r);
    }
    fake_stop(&f);
}

int main(void)
{
    test_slots();
    test_redirects();
    test_key_index();
    test_moved();
    test_ask();
    test_script_and_tx();
    test_single_and_failure();
    return CHECK_DONE();
}
