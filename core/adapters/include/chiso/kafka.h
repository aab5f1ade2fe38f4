/*
 * kafka.h - librdkafka clients configured the chiso way, and the topics of
 * the contract.
 *
 * Every client reads the config keys "brokers" and "topic.prefix" and the
 * "kafka.*" pass-through (config.h). Producers are idempotent with
 * acks=all; consumers never auto-commit and never auto-store offsets: a
 * stage stores and commits offsets itself, only after its effects are
 * durable (ARCHITECTURE.md invariant 3).
 */
#ifndef CHISO_KAFKA_H
#define CHISO_KAFKA_H

#include <signal.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "chiso/config.h"

/* Base topic names of CONTRACT.md (before the prefix). */
#define CHISO_TOPIC_DOSSIER_EVENTS     "dossier.events"
#define CHISO_TOPIC_CATALOG_PROCEDURES "catalog.procedures"
#define CHISO_TOPIC_CATALOG_UNITS      "catalog.units"
#define CHISO_TOPIC_FEEDBACK_EVENTS    "feedback.events"
#define CHISO_TOPIC_DOSSIER_CLASSIFIED "dossier.classified"
#define CHISO_TOPIC_SCORES             "scores"
#define CHISO_TOPIC_ALERTS             "alerts"
#define CHISO_TOPIC_DEADLETTER         "deadletter"

/* Config rows every Kafka-using program includes in its table: "brokers"
 * (default 127.0.0.1:9092), "topic.prefix" (default ""), and the
 * partitions and replication factor of topics it creates when missing. */
#define CHISO_KAFKA_CFG_DEFS                                                                       \
    {"brokers", CHISO_CFG_STRING, "127.0.0.1:9092", "Kafka bootstrap servers", NULL},              \
        {"topic.prefix", CHISO_CFG_STRING, "", "prefix prepended to every topic name", NULL},      \
        {"topic.partitions", CHISO_CFG_INT, "4", "partitions of topics created when missing",      \
         NULL},                                                                                    \
    {                                                                                              \
        "topic.replication", CHISO_CFG_INT, "1",                                                   \
            "replication factor of topics created when missing", NULL                              \
    }

/* chiso_kafka_ensure_topics() with the topic.partitions and topic.replication
 * of the configuration. */
int chiso_kafka_ensure_topics_cfg(const chiso_config *cfg, char *errstr, size_t errstr_size);

/* How many partitions `topic` has (ids 0..n-1), from rk's metadata: n > 0,
 * or CHISO_EIO with errstr filled (no metadata, no such topic, or none yet). */
int chiso_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                                size_t errstr_size);

/* Write prefix + base into buf. Returns buf. */
const char *chiso_topic_name(const chiso_config *cfg, const char *base, char *buf, size_t size);

/* An idempotent, acks=all producer. `dr_cb` (may be NULL) receives every
 * delivery report with `opaque` as its opaque. Caller destroys with
 * rd_kafka_destroy() after rd_kafka_flush(). NULL with errstr on failure. */
rd_kafka_t *chiso_kafka_producer_new(const chiso_config *cfg,
                                     void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *,
                                                   void *),
                                     void *opaque, char *errstr, size_t errstr_size);

/* The transactional.id option of a stage whose outputs go out in Kafka
 * transactions (txn.h); UNSET says what the stage uses when it is unset. */
#define CHISO_TXN_CFG_DEF_UNSET(UNSET)                                                             \
    {                                                                                              \
        "transactional.id", CHISO_CFG_STRING, NULL,                                                \
            "Kafka transactional id of this instance's outputs (unset: " UNSET "); give each "     \
            "instance one of its own that it keeps across restarts (e.g. the systemd instance "    \
            "name) and a restart aborts at once what a killed process left open, instead of "      \
            "after 10 s, for read_committed consumers",                                            \
            NULL                                                                                   \
    }
#define CHISO_TXN_CFG_DEF CHISO_TXN_CFG_DEF_UNSET("<group.id>-<host>-<pid>")

/* A transactional producer (txn.h) with the config's transactional.id, or
 * else `default_id`, or else <group.id>-<host>-<pid>, written into
 * transactional_id. Caller destroys with rd_kafka_destroy(). NULL with
 * errstr on failure. */
rd_kafka_t *chiso_kafka_txn_producer_new(const chiso_config *cfg, const char *default_id,
                                         char *transactional_id, size_t id_size, char *errstr,
                                         size_t errstr_size);

/* A plain client (a producer handle that never produces) for metadata and
 * offset queries: its connections carry no fetch long-poll, so a query is
 * answered at once (a broker answers a connection's requests in order, and
 * a consumer's fetch may wait fetch.wait.max.ms). Caller destroys with
 * rd_kafka_destroy(). NULL with errstr on failure. */
rd_kafka_t *chiso_kafka_client_new(const chiso_config *cfg, char *errstr, size_t errstr_size);

/* A consumer in `group_id` with enable.auto.commit=false,
 * enable.auto.offset.store=false, auto.offset.reset=earliest and a 10 s
 * session timeout (a dead member's partitions move on quickly). `rebalance_cb`
 * may be NULL (default assign/unassign). The caller subscribes, and closes
 * with rd_kafka_consumer_close() before rd_kafka_destroy(). */
rd_kafka_t *chiso_kafka_consumer_new(const chiso_config *cfg, const char *group_id,
                                     void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                          rd_kafka_topic_partition_list_t *,
                                                          void *),
                                     void *opaque, char *errstr, size_t errstr_size);

/* chiso_kafka_consumer_new() for a processor's busy input stream: a fetch
 * waits up to CHISO_STREAM_FETCH_WAIT_MS ms for 1 MiB instead of answering
 * with whatever a few records the producers just added, so the broker
 * answers a fraction of the fetches (measured in docs/benchmarks.md) for at
 * most that many ms of latency. */
#define CHISO_STREAM_FETCH_WAIT_MS "5"
/* ... and it prefetches up to CHISO_STREAM_QUEUED_MIN records (or
 * CHISO_STREAM_QUEUED_KB KiB of them) rather than librdkafka's 100,000 (or
 * 64 MiB). Debian's librdkafka (2.0.2) stops fetching a partition once the
 * consumer's queue holds that many, and looks at it again only when its
 * broker thread next wakes: up to a second later when nothing else wakes
 * it. A processor's refill thread wakes it when the queue has halved
 * (refill.h): without it, a prefetch of 250,000 records was needed to keep
 * two classify instances' drain going (twelfth session), 300 MiB of
 * memory an instance touched for the first time at each start, a quarter
 * of its CPU on a VM whose free memory goes back to the host (fifteenth
 * session, docs/benchmarks.md). The queue holds that many only while the
 * consumer is behind. */
#define CHISO_STREAM_QUEUED_MIN "50000"
#define CHISO_STREAM_QUEUED_KB  "65536"
rd_kafka_t *chiso_kafka_stream_consumer_new(const chiso_config *cfg, const char *group_id,
                                            void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                                 rd_kafka_topic_partition_list_t *,
                                                                 void *),
                                            void *opaque, char *errstr, size_t errstr_size);

/* Create any missing topic of the contract with its cleanup policy
 * (compact for catalog.* and scores, delete otherwise), `partitions`
 * partitions and replication factor `replication`. Existing topics are left
 * as they are. Returns 0 or CHISO_EIO with errstr. */
int chiso_kafka_ensure_topics(const chiso_config *cfg, int partitions, int replication,
                              char *errstr, size_t errstr_size);

/* Wait *delay_ms before retrying, in 50 ms steps that end early once *stop
 * is set, serving `producer`'s callbacks meanwhile (NULL: none); then
 * double *delay_ms, up to 2 s. */
void chiso_backoff(rd_kafka_t *producer, volatile sig_atomic_t *stop, int *delay_ms);

#endif
