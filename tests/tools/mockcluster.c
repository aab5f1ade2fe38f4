/*
 * chiso-mockcluster - librdkafka's mock cluster in a process of its own, so
 * the end-to-end tests can point real chiso programs at a Kafka that fails
 * on demand: request errors, slow or unreachable brokers, moved leaders and
 * coordinators - what a real broker cannot do when a test asks.
 *
 * It starts N mock brokers (--broker.count, default 3) listening on
 * loopback, creates the eight contract topics under --topic.prefix with
 * --topic.partitions partitions each, prints the bootstrap servers as one
 * line on stdout, and then reads commands on stdin, one a line. Every
 * command is answered with one line on stdout: "ok" (some add a value:
 * "ok 3") or "error: <why>". Commands, where APIKEY is a protocol number or
 * name (Produce, Fetch, OffsetCommit, ...), ERR an error number or name
 * (REQUEST_TIMED_OUT, NOT_COORDINATOR, ...), TOPIC a contract topic's base
 * name (the prefix is added) and BROKER a broker id (1..N, -1 = all):
 *
 *   errors APIKEY COUNT ERR [ERR...]   the next COUNT requests of APIKEY, to
 *                                      any broker, fail with the ERRs in turn
 *   broker-errors BROKER APIKEY COUNT ERR [RTT_MS]
 *                                      the same on one broker, each answer
 *                                      delayed by RTT_MS
 *   error-count BROKER APIKEY          "ok N": errors still stacked there
 *   clear APIKEY                       drop the cluster-wide errors of APIKEY
 *   broker-down BROKER                 close its connections, refuse new ones
 *   broker-up BROKER                   accept connections again
 *   rtt BROKER MS                      delay every answer of the broker
 *   leader TOPIC PARTITION BROKER      move a partition's leader
 *   coordinator GROUP BROKER           make BROKER the coordinator of GROUP
 *   txn-coordinator ID BROKER          make BROKER the coordinator of transactional id ID
 *   quit                               exit 0 (so do EOF, SIGTERM, SIGINT)
 *
 * The mock keeps everything in memory and lives as long as this process.
 * The mock of librdkafka 2.0.2 does not implement CreateTopics (the topics
 * are made here, directly) nor deduplication of idempotent produce retries.
 * A test tool: it is not installed. Logs go to stderr, stdout carries the
 * protocol only.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/kafka.h"

#define LINE_MAX_LEN 1024
#define WORDS_MAX    16
#define ERRS_MAX     1000

static const chiso_cfg_def defs[] = {
    {"broker.count", CHISO_CFG_INT, "3", "mock brokers to start", chiso_cfg_positive},
    {"topic.prefix", CHISO_CFG_STRING, "", "prefix prepended to every topic name", NULL},
    {"topic.partitions", CHISO_CFG_INT, "4", "partitions of every contract topic",
     chiso_cfg_positive},
    {"topic.replication", CHISO_CFG_INT, "0",
     "replication factor of the topics (0 = the broker count, at most 3)", chiso_cfg_nonneg},
    {"log.level", CHISO_CFG_STRING, "warn", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

static const char *const contract_bases[] = {
    CHISO_TOPIC_DOSSIER_EVENTS,  CHISO_TOPIC_CATALOG_PROCEDURES, CHISO_TOPIC_CATALOG_UNITS,
    CHISO_TOPIC_FEEDBACK_EVENTS, CHISO_TOPIC_DOSSIER_CLASSIFIED, CHISO_TOPIC_SCORES,
    CHISO_TOPIC_ALERTS,          CHISO_TOPIC_DEADLETTER,
};
#define NCONTRACT (sizeof(contract_bases) / sizeof(contract_bases[0]))

/* Kafka protocol request types by name (those chiso's clients send). */
static const struct {
    const char *name;
    int16_t key;
} api_keys[] = {
    {"Produce", 0},          {"Fetch", 1},
    {"ListOffsets", 2},      {"Metadata", 3},
    {"OffsetCommit", 8},     {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},       {"LeaveGroup", 13},
    {"SyncGroup", 14},       {"ApiVersions", 18},
    {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

typedef struct mock {
    chiso_config *cfg;
    rd_kafka_mock_cluster_t *cluster;
    int brokers;
} mock;

static void usage(FILE *out)
{
    fprintf(out, "Usage: chiso-mockcluster [OPTIONS]\n\n"
                 "Runs librdkafka's mock Kafka cluster with chiso's contract topics, prints its\n"
                 "bootstrap servers, then obeys fault-injection commands read on stdin (see the\n"
                 "comment at the top of tests/tools/mockcluster.c).\n\n");
    chiso_config_print_help(defs, out);
}

/* Parse a whole decimal integer in [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return CHISO_EINVAL;
    *out = v;
    return 0;
}

static int parse_api_key(const char *s, int16_t *out)
{
    long v;
    if (parse_int(s, 0, 100, &v) == 0) {
        *out = (int16_t)v;
        return 0;
    }
    for (size_t i = 0; i < sizeof(api_keys) / sizeof(api_keys[0]); i++) {
        if (strcasecmp(s, api_keys[i].name) == 0) {
            *out = api_keys[i].key;
            return 0;
        }
    }
    return CHISO_EINVAL;
}

/* An error code by number or by librdkafka's name (REQUEST_TIMED_OUT, also
 * with an RD_KAFKA_RESP_ERR_ prefix). */
static int parse_error(const char *s, rd_kafka_resp_err_t *out)
{
    static const char pfx[] = "RD_KAFKA_RESP_ERR_";
    long v;
    if (parse_int(s, -200, 200, &v) == 0) {
        *out = (rd_kafka_resp_err_t)v;
        return 0;
    }
    if (strncasecmp(s, pfx, sizeof(pfx) - 1) == 0)
        s += sizeof(pfx) - 1;
    for (int e = -200; e <= 200; e++) {
        const char *name = rd_kafka_err2name((rd_kafka_resp_err_t)e);
        if (name && strcasecmp(name, s) == 0) {
            *out = (rd_kafka_resp_err_t)e;
            return 0;
        }
    }
    return CHISO_EINVAL;
}

static int parse_broker(const mock *m, const char *s, bool all_ok, int32_t *out)
{
    long v;
    if (parse_int(s, all_ok ? -1 : 1, m->brokers, &v) != 0 || v == 0)
        return CHISO_EINVAL;
    *out = (int32_t)v;
    return 0;
}

/* Run one command (its words in w[0..n-1]); write the answer, without its
 * newline, into `reply`. Returns 1 on quit, else 0. */
static int run_command(mock *m, char **w, int n, char *reply, size_t size)
{
    const char *cmd = w[0];
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR, codes[ERRS_MAX];
    int16_t api;
    int32_t broker;
    long count, v;
    char topic[256];

    snprintf(reply, size, "ok");
    if (strcmp(cmd, "quit") == 0)
        return 1;
    if (strcmp(cmd, "errors") == 0) {
        int ncodes = n - 3;
        if (n < 4 || parse_api_key(w[1], &api) != 0 || parse_int(w[2], 1, ERRS_MAX, &count) != 0)
            goto usage;
        for (int i = 0; i < ncodes; i++) {
            if (parse_error(w[3 + i], &codes[i]) != 0)
                goto bad_error;
        }
        for (long i = ncodes; i < count; i++)
            codes[i] = codes[i % ncodes];
        rd_kafka_mock_push_request_errors_array(m->cluster, api, (size_t)count, codes);
    } else if (strcmp(cmd, "broker-errors") == 0) {
        long rtt = 0;
        if ((n != 5 && n != 6) || parse_broker(m, w[1], false, &broker) != 0 ||
            parse_api_key(w[2], &api) != 0 || parse_int(w[3], 1, ERRS_MAX, &count) != 0 ||
            (n == 6 && parse_int(w[5], 0, 600000, &rtt) != 0))
            goto usage;
        if (parse_error(w[4], &codes[0]) != 0)
            goto bad_error;
        for (long i = 0; i < count && !err; i++)
            err = rd_kafka_mock_broker_push_request_error_rtts(m->cluster, broker, api, 1, codes[0],
                                                               (int)rtt);
    } else if (strcmp(cmd, "error-count") == 0) {
        size_t cnt = 0;
        if (n != 3 || parse_broker(m, w[1], false, &broker) != 0 || parse_api_key(w[2], &api) != 0)
            goto usage;
        err = rd_kafka_mock_broker_error_stack_cnt(m->cluster, broker, api, &cnt);
        if (!err)
            snprintf(reply, size, "ok %zu", cnt);
    } else if (strcmp(cmd, "clear") == 0) {
        if (n != 2 || parse_api_key(w[1], &api) != 0)
            goto usage;
        rd_kafka_mock_clear_request_errors(m->cluster, api);
    } else if (strcmp(cmd, "broker-down") == 0 || strcmp(cmd, "broker-up") == 0) {
        if (n != 2 || parse_broker(m, w[1], true, &broker) != 0)
            goto usage;
        err = cmd[7] == 'd' ? rd_kafka_mock_broker_set_down(m->cluster, broker)
                            : rd_kafka_mock_broker_set_up(m->cluster, broker);
    } else if (strcmp(cmd, "rtt") == 0) {
        if (n != 3 || parse_broker(m, w[1], true, &broker) != 0 ||
            parse_int(w[2], 0, 600000, &v) != 0)
            goto usage;
        err = rd_kafka_mock_broker_set_rtt(m->cluster, broker, (int)v);
    } else if (strcmp(cmd, "leader") == 0) {
        if (n != 4 || parse_int(w[2], 0, 100000, &v) != 0 ||
            parse_broker(m, w[3], false, &broker) != 0)
            goto usage;
        chiso_topic_name(m->cfg, w[1], topic, sizeof(topic));
        err = rd_kafka_mock_partition_set_leader(m->cluster, topic, (int32_t)v, broker);
    } else if (strcmp(cmd, "coordinator") == 0 || strcmp(cmd, "txn-coordinator") == 0) {
        if (n != 3 || parse_broker(m, w[2], false, &broker) != 0)
            goto usage;
        err = rd_kafka_mock_coordinator_set(m->cluster, cmd[0] == 'c' ? "group" : "transaction",
                                            w[1], broker);
    } else {
        snprintf(reply, size, "error: unknown command '%s'", cmd);
        return 0;
    }
    if (err)
        snprintf(reply, size, "error: %s", rd_kafka_err2name(err));
    return 0;

usage:
    snprintf(reply, size, "error: bad arguments to '%s'", cmd);
    return 0;
bad_error:
    snprintf(reply, size, "error: unknown error code");
    return 0;
}

/* Split `line` into words in place. Returns their number. */
static int split_words(char *line, char **w)
{
    int n = 0;
    for (char *tok = strtok(line, " \t\r"); tok && n < WORDS_MAX; tok = strtok(NULL, " \t\r"))
        w[n++] = tok;
    return n;
}

/* Read commands until quit, EOF or a stop signal. Returns 0 or CHISO_EIO. */
static int serve(mock *m)
{
    char buf[LINE_MAX_LEN], reply[256];
    size_t used = 0;
    bool eof = false;

    while (!chiso_stop) {
        char *nl = memchr(buf, '\n', used);
        if (!nl) {
            struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
            ssize_t got;
            if (eof)
                return 0;
            if (used == sizeof(buf)) {
                LOG_ERROR("command line longer than %d bytes", LINE_MAX_LEN);
                return CHISO_EIO;
            }
            if (poll(&pfd, 1, 200) <= 0)
                continue; /* timeout, or a signal: check the stop flag */
            got = read(STDIN_FILENO, buf + used, sizeof(buf) - used);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                LOG_ERROR("stdin: %s", strerror(errno));
                return CHISO_EIO;
            }
            if (got == 0) {
                eof = true;
                if (used == 0)
                    return 0;
                buf[used++] = '\n'; /* a last line without newline */
            }
            used += (size_t)(got > 0 ? got : 0);
            continue;
        }
        *nl = '\0';
        char *w[WORDS_MAX];
        int n = split_words(buf, w);
        int quit = 0;
        if (n > 0 && w[0][0] != '#') {
            quit = run_command(m, w, n, reply, sizeof(reply));
            LOG_INFO("%s -> %s", w[0], reply);
            printf("%s\n", reply);
            fflush(stdout);
        }
        used -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, used);
        if (quit)
            return 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char errstr[512];
    int first = 0, rc = 2;
    mock m = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;

    chiso_log_set_component("mockcluster");
    m.cfg = chiso_config_new(defs);
    if (!m.cfg)
        return 1;
    int pr = chiso_config_parse_args(m.cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (pr == 1) {
        usage(stdout);
        rc = 0;
        goto out;
    }
    if (pr != 0 || first < argc) {
        fprintf(stderr, "chiso-mockcluster: %s\n",
                pr != 0 ? errstr : "unexpected argument (see --help)");
        goto out;
    }
    if (chiso_log_set_level_name(chiso_config_str(m.cfg, "log.level")) != 0)
        goto out;
    m.brokers = (int)chiso_config_int(m.cfg, "broker.count");
    int partitions = (int)chiso_config_int(m.cfg, "topic.partitions");
    int replication = (int)chiso_config_int(m.cfg, "topic.replication");
    if (replication == 0)
        replication = m.brokers < 3 ? m.brokers : 3;
    if (m.brokers > 100 || partitions > 1000 || replication > m.brokers) {
        fprintf(stderr, "chiso-mockcluster: broker.count must be at most 100, topic.partitions "
                        "at most 1000 and topic.replication at most broker.count\n");
        goto out;
    }
    rc = 1;
    chiso_stop_on_signals();

    /* The mock cluster needs a client handle to live in; it is never used
     * to send anything. */
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", chiso_log_threshold >= CHISO_LOG_INFO ? "6" : "3",
                          errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        LOG_ERROR("%s", errstr);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        LOG_ERROR("%s", errstr);
        goto out;
    }
    conf = NULL; /* owned by rk */
    m.cluster = rd_kafka_mock_cluster_new(rk, m.brokers);
    if (!m.cluster) {
        LOG_ERROR("cannot start the mock cluster");
        goto out;
    }
    for (size_t i = 0; i < NCONTRACT; i++) {
        char topic[256];
        chiso_topic_name(m.cfg, contract_bases[i], topic, sizeof(topic));
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(m.cluster, topic, partitions, replication);
        if (err) {
            LOG_ERROR("topic %s: %s", topic, rd_kafka_err2str(err));
            goto out;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(m.cluster));
    fflush(stdout);
    LOG_INFO("%d brokers at %s; %zu topics of %d partitions", m.brokers,
             rd_kafka_mock_cluster_bootstraps(m.cluster), NCONTRACT, partitions);

    rc = serve(&m) == 0 ? 0 : 1;
    LOG_INFO("stopping");

out:
    if (m.cluster)
        rd_kafka_mock_cluster_destroy(m.cluster);
    if (rk)
        rd_kafka_destroy(rk);
    if (conf)
        rd_kafka_conf_destroy(conf);
    chiso_config_destroy(m.cfg);
    return rc;
}
