/*
 * chiso-replay - send JSON lines from a file or stdin to a Kafka topic.
 *
 * Each non-empty line is one message, sent as it is (nothing is dropped or
 * repaired: an invalid line still travels, so the pipeline dead-letters it).
 * The key is the line's `dossier_id` (or the field named by --key-field,
 * e.g. `procedure` for catalog.procedures records) when the line is a JSON
 * object with that field as a string, so records of one key keep their
 * order on one partition; any other line goes without key. Lines longer than Kafka's
 * default maximum message size cannot be sent: they are reported by line
 * number and counted as failures, as are delivery failures (the line number
 * travels as the message's opaque).
 *
 * The producer is idempotent with acks=all (chiso_kafka_producer_new).
 * On SIGINT/SIGTERM it stops reading, flushes what was produced and prints
 * the summary. Exit codes: 0 all sent, 1 any failure, 2 usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/event.h"
#include "chiso/kafka.h"

/* Kafka's default message.max.bytes: a longer value cannot be produced. */
#define REPLAY_MAX_LINE 1000000

static const chiso_cfg_def cfg_defs[] = {
    {"topic", CHISO_CFG_STRING, NULL,
     "topic to send to, as is (default: the prefix + dossier.events)", NULL},
    {"key-field", CHISO_CFG_STRING, "dossier_id",
     "the JSON string field whose value keys each message (e.g. procedure, unit)", NULL},
    {"create-topics", CHISO_CFG_BOOL, "false",
     "create the contract's missing topics first (chiso_kafka_ensure_topics)", NULL},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    CHISO_KAFKA_CFG_DEFS,
    {NULL, 0, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: chiso-replay [options] [FILE | -]\n"
                 "Send JSON lines (default: from stdin) to a Kafka topic, keyed by dossier_id\n"
                 "(or by --key-field).\n\n");
    chiso_config_print_help(cfg_defs, out);
}

/* Failures listed one by one before the rest are only counted. */
#define REPLAY_LIST_MAX 100

typedef struct replay {
    unsigned long long sent, failed;
    unsigned long long unlisted, unlisted_lo, unlisted_hi; /* beyond REPLAY_LIST_MAX */
} replay;

/* Report one failed line: listed while few, else folded into a range. */
static void line_failed(replay *r, unsigned long long lineno, const char *why)
{
    r->failed++;
    if (r->failed <= REPLAY_LIST_MAX) {
        LOG_ERROR("line %llu: %s", lineno, why);
        return;
    }
    if (r->unlisted == 0 || lineno < r->unlisted_lo)
        r->unlisted_lo = lineno;
    if (lineno > r->unlisted_hi)
        r->unlisted_hi = lineno;
    r->unlisted++;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    replay *r = opaque;
    char why[256];
    (void)rk;
    if (m->err) {
        snprintf(why, sizeof(why), "delivery failed: %s", rd_kafka_err2str(m->err));
        line_failed(r, (unsigned long long)(uintptr_t)m->_private, why);
    } else {
        r->sent++;
    }
}

/* The line's `field` when it is a JSON object with a string one: copies it
 * into key and returns its length, else 0. */
static size_t key_of(const char *line, size_t len, const char *field, char *key, size_t size)
{
    size_t n = 0;
    cJSON *root = cJSON_ParseWithLength(line, len);
    if (root && cJSON_IsObject(root)) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, field);
        if (cJSON_IsString(id) && id->valuestring) {
            n = strlen(id->valuestring);
            if (n >= size)
                n = 0; /* absurdly long: no key rather than a truncated one */
            else
                memcpy(key, id->valuestring, n + 1);
        }
    }
    cJSON_Delete(root);
    return n;
}

int main(int argc, char **argv)
{
    char errstr[512], topic[256], key[4096];
    int first_pos = argc, rc = 1;
    chiso_config *cfg = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    FILE *in = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    replay r = {0};
    unsigned long long lineno = 0;

    chiso_log_set_component("replay");
    cfg = chiso_config_new(cfg_defs);
    if (!cfg) {
        LOG_ERROR("out of memory");
        return 1;
    }
    int prc = chiso_config_parse_args(cfg, argc, argv, &first_pos, errstr, sizeof(errstr));
    if (prc == 1) {
        usage(stdout);
        chiso_config_destroy(cfg);
        return 0;
    }
    if (prc != 0 || argc - first_pos > 1) {
        if (prc != 0)
            fprintf(stderr, "chiso-replay: %s (try --help)\n", errstr);
        else
            fprintf(stderr, "chiso-replay: one input file at most (try --help)\n");
        chiso_config_destroy(cfg);
        return 2;
    }
    chiso_log_set_level_name(chiso_config_str(cfg, "log.level"));

    const char *path = first_pos < argc ? argv[first_pos] : "-";
    if (strcmp(path, "-") == 0) {
        in = stdin;
    } else {
        in = fopen(path, "r");
        if (!in) {
            LOG_ERROR("cannot open %s: %s", path, strerror(errno));
            goto out;
        }
    }
    if (chiso_config_str(cfg, "topic"))
        snprintf(topic, sizeof(topic), "%s", chiso_config_str(cfg, "topic"));
    else
        chiso_topic_name(cfg, CHISO_TOPIC_DOSSIER_EVENTS, topic, sizeof(topic));

    if (chiso_config_bool(cfg, "create-topics") &&
        chiso_kafka_ensure_topics_cfg(cfg, errstr, sizeof(errstr)) != 0) {
        LOG_ERROR("creating topics: %s", errstr);
        goto out;
    }
    rk = chiso_kafka_producer_new(cfg, dr_cb, &r, errstr, sizeof(errstr));
    if (!rk) {
        LOG_ERROR("Kafka producer: %s", errstr);
        goto out;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt) {
        LOG_ERROR("topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        goto out;
    }
    const char *key_field = chiso_config_str(cfg, "key-field");
    chiso_stop_on_signals();
    LOG_INFO("replaying %s to %s, keyed by %s", in == stdin ? "stdin" : path, topic, key_field);

    ssize_t n;
    errno = 0;
    while (!chiso_stop && (n = getline(&line, &line_cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        if (len > REPLAY_MAX_LINE) {
            char why[128];
            snprintf(why, sizeof(why), "%zu bytes, over Kafka's %d-byte message limit: not sent",
                     len, REPLAY_MAX_LINE);
            line_failed(&r, lineno, why);
            continue;
        }
        size_t kl = key_of(line, len, key_field, key, sizeof(key));
        for (;;) {
            if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, line, len,
                                 kl ? key : NULL, kl, (void *)(uintptr_t)lineno) == 0)
                break;
            rd_kafka_resp_err_t err = rd_kafka_last_error();
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                char why[256];
                snprintf(why, sizeof(why), "produce failed: %s", rd_kafka_err2str(err));
                line_failed(&r, lineno, why);
                break;
            }
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    if (!chiso_stop && ferror(in)) {
        LOG_ERROR("reading %s: %s", in == stdin ? "stdin" : path, strerror(errno));
        r.failed++;
    }
    if (chiso_stop)
        LOG_WARN("interrupted after line %llu; flushing", lineno);
    while (rd_kafka_outq_len(rk) > 0 && chiso_stop < 2)
        rd_kafka_flush(rk, 1000);
    if (rd_kafka_outq_len(rk) > 0) {
        LOG_ERROR("%d messages abandoned in flight", rd_kafka_outq_len(rk));
        r.failed += (unsigned long long)rd_kafka_outq_len(rk);
    }
    if (r.unlisted)
        LOG_ERROR("%llu more failed lines not listed, between lines %llu and %llu", r.unlisted,
                  r.unlisted_lo, r.unlisted_hi);
    fprintf(stderr, "replay: sent %llu, failed %llu\n", r.sent, r.failed);
    rc = r.failed ? 1 : 0;
out:
    free(line);
    if (in && in != stdin)
        fclose(in);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rk)
        rd_kafka_destroy(rk);
    chiso_config_destroy(cfg);
    return rc;
}
