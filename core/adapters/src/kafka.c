/*
 * kafka.c - librdkafka clients configured the chiso way (kafka.h).
 *
 * Every client is built in the same order: chiso's settings first, then the
 * user's "kafka.*" pass-through (so an operator can override any of them),
 * then the callbacks, which are not configurable. librdkafka's own log lines
 * and error events are routed to chiso's stderr logger, so a stage has one
 * log stream.
 *
 * The rd_kafka_conf_t built here is owned by this file until rd_kafka_new()
 * succeeds, which takes it over; on every failure path it is destroyed here.
 */
#include "chiso/kafka.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "chiso/common.h"
#include "chiso/runtime.h"

#define ENSURE_TIMEOUT_MS 30000

/* Map librdkafka's syslog levels onto chiso's. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const char *name = rk ? rd_kafka_name(rk) : "rdkafka";
    /* a program's kafka.* keys go to all its clients, consumers and
     * producers (--kafka.queued.min.messages, say): that a client ignores
     * the other kind's properties is expected, not a warning */
    if (level == 4 && strcmp(fac, "CONFWARN") == 0 &&
        strstr(buf, " property and will be ignored by this "))
        level = 6;
    if (level <= 3)
        LOG_ERROR("%s: %s: %s", name, fac, buf);
    else if (level == 4)
        LOG_WARN("%s: %s: %s", name, fac, buf);
    else if (level <= 6)
        LOG_INFO("%s: %s: %s", name, fac, buf);
    else
        LOG_DEBUG("%s: %s: %s", name, fac, buf);
}

/* Most errors reported here are transient (a broker went away) and the
 * client recovers by itself: they are warnings. A fatal error (e.g. the
 * idempotent producer lost its guarantees) is logged as an error; the stage
 * sees it again through rd_kafka_fatal_error() / failed deliveries. */
static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    char fatal[512];
    (void)opaque;

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        LOG_ERROR("%s: fatal error: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(orig), fatal);
        return;
    }
    LOG_WARN("%s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

typedef struct kv {
    const char *key, *value;
} kv;

/* A conf with bootstrap.servers, the given settings, the pass-through and
 * the logging callbacks. NULL with errstr on failure. */
static rd_kafka_conf_t *conf_build(const chiso_config *cfg, const kv *settings, size_t n,
                                   char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *brokers = chiso_config_str(cfg, "brokers");
    char reason[512];

    if (!brokers || !*brokers) {
        snprintf(errstr, errstr_size, "option 'brokers' is not set");
        goto err;
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, reason, sizeof(reason)) !=
        RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "bootstrap.servers: %s", reason);
        goto err;
    }
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_conf_set(conf, settings[i].key, settings[i].value, reason, sizeof(reason)) !=
            RD_KAFKA_CONF_OK) {
            snprintf(errstr, errstr_size, "%s=%s: %s", settings[i].key, settings[i].value, reason);
            goto err;
        }
    }
    if (chiso_config_apply_kafka(cfg, conf, errstr, errstr_size) != 0)
        goto err;
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    return conf;

err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

const char *chiso_topic_name(const chiso_config *cfg, const char *base, char *buf, size_t size)
{
    const char *prefix = chiso_config_str(cfg, "topic.prefix");
    snprintf(buf, size, "%s%s", prefix ? prefix : "", base);
    return buf;
}

rd_kafka_t *chiso_kafka_producer_new(const chiso_config *cfg,
                                     void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                                   void *),
                                     void *opaque, char *errstr, size_t errstr_size)
{
    /* lz4 is in Debian's librdkafka build (builtin.features lists it). */
    static const kv settings[] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "1"},
        {"batch.num.messages", "10000"},
        {"compression.codec", "lz4"},
        {"message.timeout.ms", "300000"},
    };
    rd_kafka_conf_t *conf =
        conf_build(cfg, settings, sizeof(settings) / sizeof(settings[0]), errstr, errstr_size);
    rd_kafka_t *rk;

    if (!conf)
        return NULL;
    if (dr_cb)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    conf = NULL; /* owned by rk */
    return rk;
}

rd_kafka_t *chiso_kafka_txn_producer_new(const chiso_config *cfg, const char *default_id,
                                         char *transactional_id, size_t id_size, char *errstr,
                                         size_t errstr_size)
{
    char host[256] = "localhost";
    const char *id = chiso_config_str(cfg, "transactional.id");
    if (id && *id) {
        snprintf(transactional_id, id_size, "%s", id);
    } else if (default_id) {
        snprintf(transactional_id, id_size, "%s", default_id);
    } else {
        gethostname(host, sizeof(host) - 1);
        snprintf(transactional_id, id_size, "%s-%s-%ld", chiso_config_str(cfg, "group.id"), host,
                 (long)getpid());
    }
    const kv settings[] = {
        {"transactional.id", transactional_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "1"},
        {"batch.num.messages", "10000"},
        {"compression.codec", "lz4"},
        /* a transaction left open by a process killed under a new id is
         * aborted by the broker after this long (read_committed consumers
         * wait for it until then; a restart with the same id aborts it at
         * once). A broker away longer than this fences the producer, fatal
         * in librdkafka 2.0: the stage stops and its supervisor restarts
         * it (60 s kept a killed process's transaction blocking the
         * outputs' readers for over a minute) */
        {"transaction.timeout.ms", "10000"},
    };
    rd_kafka_conf_t *conf =
        conf_build(cfg, settings, sizeof(settings) / sizeof(settings[0]), errstr, errstr_size);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

rd_kafka_t *chiso_kafka_client_new(const chiso_config *cfg, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = conf_build(cfg, NULL, 0, errstr, errstr_size);
    rd_kafka_t *rk;

    if (!conf)
        return NULL;
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* What a processor's busy input stream asks of its consumer besides
 * (chiso_kafka_stream_consumer_new): a fetch waits for
 * CHISO_STREAM_FETCH_WAIT_MS or 1 MiB, rather than coming back with every
 * few records the producers add (a fraction of the fetches for the broker
 * to answer), and enough records are prefetched for a second of a backlog
 * (kafka.h). */
static const kv stream_settings[] = {
    {"fetch.wait.max.ms", CHISO_STREAM_FETCH_WAIT_MS},
    {"fetch.min.bytes", "1048576"},
    {"queued.min.messages", CHISO_STREAM_QUEUED_MIN},
    {"queued.max.messages.kbytes", CHISO_STREAM_QUEUED_KB},
};

static rd_kafka_t *consumer_create(const chiso_config *cfg, const char *group_id,
                                   void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                        rd_kafka_topic_partition_list_t *, void *),
                                   void *opaque, bool stream, char *errstr, size_t errstr_size)
{
    const kv base[] = {
        {"group.id", group_id},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "false"},
        /* a member that died (kill -9, a lost machine) gives its partitions
         * back after 10 s rather than the 45 s default */
        {"session.timeout.ms", "10000"},
        {"heartbeat.interval.ms", "1000"},
    };
    enum {
        NBASE = sizeof(base) / sizeof(base[0]),
        NSTREAM = sizeof(stream_settings) / sizeof(stream_settings[0])
    };
    kv settings[NBASE + NSTREAM];
    memcpy(settings, base, sizeof(base));
    memcpy(settings + NBASE, stream_settings, sizeof(stream_settings));
    size_t n = NBASE + (stream ? NSTREAM : 0);
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;

    if (!group_id || !*group_id) {
        snprintf(errstr, errstr_size, "a consumer needs a group id");
        return NULL;
    }
    conf = conf_build(cfg, settings, n, errstr, errstr_size);
    if (!conf)
        return NULL;
    if (rebalance_cb)
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    conf = NULL; /* owned by rk */
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

rd_kafka_t *chiso_kafka_consumer_new(const chiso_config *cfg, const char *group_id,
                                     void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                          rd_kafka_topic_partition_list_t *,
                                                          void *),
                                     void *opaque, char *errstr, size_t errstr_size)
{
    return consumer_create(cfg, group_id, rebalance_cb, opaque, false, errstr, errstr_size);
}

rd_kafka_t *chiso_kafka_stream_consumer_new(const chiso_config *cfg, const char *group_id,
                                            void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                                 rd_kafka_topic_partition_list_t *,
                                                                 void *),
                                            void *opaque, char *errstr, size_t errstr_size)
{
    return consumer_create(cfg, group_id, rebalance_cb, opaque, true, errstr, errstr_size);
}

/* The contract's topics and their topic-level settings. */
static const struct {
    const char *base;
    const char *cleanup;
    const char *retention_ms; /* NULL = broker default */
} contract_topics[] = {
    /* The replay source: "long retention". 30 days is the default here; an
     * operator who wants to keep everything sets retention.ms=-1 on the
     * topic (kafka-configs) - existing topics are never altered. */
    {CHISO_TOPIC_DOSSIER_EVENTS, "delete", "2592000000"},
    {CHISO_TOPIC_CATALOG_PROCEDURES, "compact", NULL},
    {CHISO_TOPIC_CATALOG_UNITS, "compact", NULL},
    {CHISO_TOPIC_FEEDBACK_EVENTS, "delete", NULL},
    {CHISO_TOPIC_DOSSIER_CLASSIFIED, "delete", NULL},
    {CHISO_TOPIC_SCORES, "compact", NULL},
    {CHISO_TOPIC_ALERTS, "delete", NULL},
    {CHISO_TOPIC_DEADLETTER, "delete", NULL},
};
#define NTOPICS (sizeof(contract_topics) / sizeof(contract_topics[0]))

/* The NewTopic of every contract topic, with its partitions, replication
 * and topic configs. Built before any request, so bad arguments fail
 * without touching the cluster. Returns 0 or CHISO_EIO with errstr; the
 * caller destroys what was built, even on failure. */
static int new_topics(rd_kafka_NewTopic_t *topics[], char names[][256], int partitions,
                      int replication, char *errstr, size_t errstr_size)
{
    char reason[512];

    for (size_t i = 0; i < NTOPICS; i++) {
        topics[i] =
            rd_kafka_NewTopic_new(names[i], partitions, replication, reason, sizeof(reason));
        if (!topics[i]) {
            snprintf(errstr, errstr_size, "topic %s: %s", names[i], reason);
            return CHISO_EIO;
        }
        if (rd_kafka_NewTopic_set_config(topics[i], "cleanup.policy", contract_topics[i].cleanup) !=
                0 ||
            (contract_topics[i].retention_ms &&
             rd_kafka_NewTopic_set_config(topics[i], "retention.ms",
                                          contract_topics[i].retention_ms) != 0)) {
            snprintf(errstr, errstr_size, "topic %s: cannot set its config", names[i]);
            return CHISO_EIO;
        }
    }
    return 0;
}

/* Send one CreateTopics request for the `n` topics given and wait for its
 * result; a topic that exists meanwhile is not an error. Returns 0 or
 * CHISO_EIO with errstr. */
static int create_topics(rd_kafka_t *rk, rd_kafka_NewTopic_t **topics, size_t n, char *errstr,
                         size_t errstr_size)
{
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **results;
    size_t nresults;
    char reason[512];
    int rc = CHISO_EIO;

    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (rd_kafka_AdminOptions_set_request_timeout(opts, ENSURE_TIMEOUT_MS, reason,
                                                  sizeof(reason)) != 0 ||
        rd_kafka_AdminOptions_set_operation_timeout(opts, ENSURE_TIMEOUT_MS, reason,
                                                    sizeof(reason)) != 0) {
        snprintf(errstr, errstr_size, "admin options: %s", reason);
        goto out;
    }
    queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, topics, n, opts, queue);
    /* The request timeout bounds the result; a little slack on top. */
    ev = rd_kafka_queue_poll(queue, ENSURE_TIMEOUT_MS + 5000);
    if (!ev) {
        snprintf(errstr, errstr_size, "CreateTopics: no result after %d ms", ENSURE_TIMEOUT_MS);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "CreateTopics: %s", rd_kafka_event_error_string(ev));
        goto out;
    }
    res = rd_kafka_event_CreateTopics_result(ev);
    if (!res) {
        snprintf(errstr, errstr_size, "CreateTopics: unexpected event %s", rd_kafka_event_name(ev));
        goto out;
    }
    results = rd_kafka_CreateTopics_result_topics(res, &nresults);
    for (size_t i = 0; i < nresults; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        const char *name = rd_kafka_topic_result_name(results[i]);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            LOG_INFO("kafka: created topic %s", name);
        } else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            const char *msg = rd_kafka_topic_result_error_string(results[i]);
            snprintf(errstr, errstr_size, "cannot create topic %s: %s", name,
                     msg ? msg : rd_kafka_err2str(err));
            goto out;
        }
    }
    rc = 0;

out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (queue)
        rd_kafka_queue_destroy(queue);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    return rc;
}

/* The metadata of topic `name`, or NULL when the cluster does not know it. */
static const rd_kafka_metadata_topic_t *topic_find(const rd_kafka_metadata_t *md, const char *name)
{
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (strcmp(mt->topic, name) == 0 && mt->err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            return mt;
    }
    return NULL;
}

/* Whether every topic in `names` is in the metadata with a leader for each
 * partition; names the first missing one in *missing. */
static bool topics_ready(const rd_kafka_metadata_t *md, char names[][256], const char **missing)
{
    for (size_t i = 0; i < NTOPICS; i++) {
        const rd_kafka_metadata_topic_t *mt = topic_find(md, names[i]);
        bool ok = mt && mt->err == RD_KAFKA_RESP_ERR_NO_ERROR && mt->partition_cnt > 0;
        for (int p = 0; ok && p < mt->partition_cnt; p++)
            ok = mt->partitions[p].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                 mt->partitions[p].leader >= 0;
        if (!ok) {
            *missing = names[i];
            return false;
        }
    }
    return true;
}

/* The cluster's metadata (all topics), retried until `deadline` (monotonic
 * microseconds). Caller frees with rd_kafka_metadata_destroy(). NULL with
 * errstr when the cluster did not answer in time. */
static const rd_kafka_metadata_t *metadata_get(rd_kafka_t *rk, int64_t deadline, char *errstr,
                                               size_t errstr_size)
{
    for (;;) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 5000);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return md;
        if (chiso_now_mono_us() >= deadline) {
            snprintf(errstr, errstr_size, "no metadata after %d ms: %s", ENSURE_TIMEOUT_MS,
                     rd_kafka_err2str(err));
            return NULL;
        }
        chiso_sleep_ms(200);
    }
}

/*
 * Metadata first: CreateTopics is sent only for the contract topics the
 * cluster does not know, and not at all when every one exists - so a user
 * without CREATE permission, or a cluster without CreateTopics (librdkafka's
 * mock), works as long as the topics are there.
 */
int chiso_kafka_ensure_topics(const chiso_config *cfg, int partitions, int replication,
                              char *errstr, size_t errstr_size)
{
    char names[NTOPICS][256];
    rd_kafka_NewTopic_t *topics[NTOPICS] = {0};
    rd_kafka_NewTopic_t *missing_topics[NTOPICS];
    size_t nmissing = 0;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    const rd_kafka_metadata_t *md = NULL;
    int64_t deadline;
    const char *missing = "?";
    int rc = CHISO_EIO;

    for (size_t i = 0; i < NTOPICS; i++)
        chiso_topic_name(cfg, contract_topics[i].base, names[i], sizeof(names[i]));
    if (new_topics(topics, names, partitions, replication, errstr, errstr_size) != 0)
        goto out;
    conf = conf_build(cfg, NULL, 0, errstr, errstr_size);
    if (!conf)
        goto out;
    /* A plain producer handle carries the metadata and admin requests. */
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    conf = NULL; /* owned by rk */

    deadline = chiso_now_mono_us() + (int64_t)ENSURE_TIMEOUT_MS * 1000;
    md = metadata_get(rk, deadline, errstr, errstr_size);
    if (!md)
        goto out;
    for (size_t i = 0; i < NTOPICS; i++) {
        if (!topic_find(md, names[i]))
            missing_topics[nmissing++] = topics[i];
    }
    rd_kafka_metadata_destroy(md);
    md = NULL;
    if (nmissing > 0 && create_topics(rk, missing_topics, nmissing, errstr, errstr_size) != 0)
        goto out;

    /* Creation is asynchronous on the brokers (and a topic that exists may
     * be between leaders): wait until every topic has leaders, bounded by
     * the same timeout, renewed after a creation. */
    if (nmissing > 0)
        deadline = chiso_now_mono_us() + (int64_t)ENSURE_TIMEOUT_MS * 1000;
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 5000);
        bool ready = err == RD_KAFKA_RESP_ERR_NO_ERROR && topics_ready(md, names, &missing);
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        if (ready) {
            rc = 0;
            break;
        }
        if (chiso_now_mono_us() >= deadline) {
            if (err)
                snprintf(errstr, errstr_size, "no metadata after %d ms: %s", ENSURE_TIMEOUT_MS,
                         rd_kafka_err2str(err));
            else
                snprintf(errstr, errstr_size, "topic %s has no leader after %d ms", missing,
                         ENSURE_TIMEOUT_MS);
            break;
        }
        chiso_sleep_ms(200);
    }

out:
    if (rk)
        rd_kafka_destroy(rk);
    for (size_t i = 0; i < NTOPICS; i++) {
        if (topics[i])
            rd_kafka_NewTopic_destroy(topics[i]);
    }
    return rc;
}

int chiso_kafka_ensure_topics_cfg(const chiso_config *cfg, char *errstr, size_t errstr_size)
{
    int64_t partitions = chiso_config_int(cfg, "topic.partitions");
    int64_t replication = chiso_config_int(cfg, "topic.replication");
    if (partitions < 1 || partitions > 10000 || replication < 1 || replication > 100) {
        snprintf(errstr, errstr_size,
                 "topic.partitions must be 1..10000 and topic.replication 1..100");
        return CHISO_EINVAL;
    }
    return chiso_kafka_ensure_topics(cfg, (int)partitions, (int)replication, errstr, errstr_size);
}

void chiso_backoff(rd_kafka_t *producer, volatile sig_atomic_t *stop, int *delay_ms)
{
    for (int waited = 0; waited < *delay_ms && !*stop; waited += 50) {
        chiso_sleep_ms(50);
        if (producer)
            rd_kafka_poll(producer, 0);
    }
    *delay_ms = *delay_ms < 2000 ? *delay_ms * 2 : 2000;
}

int chiso_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                                size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt)
        return chiso_errf(errstr, errstr_size, CHISO_EIO, "%s: no topic handle", topic);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    rd_kafka_topic_destroy(rkt);
    int n = CHISO_EIO;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        chiso_errf(errstr, errstr_size, CHISO_EIO, "%s: metadata: %s", topic,
                   rd_kafka_err2str(err));
    else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
             md->topics[0].partition_cnt <= 0)
        chiso_errf(errstr, errstr_size, CHISO_EIO, "%s: no partitions yet (%s)", topic,
                   md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic");
    else
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    return n;
}
