/*
 * chiso-catalog - load procedure and unit catalogs from CSV or JSON-lines
 * files into the compacted topics catalog.procedures and catalog.units
 * (docs/catalog.md).
 *
 * All or nothing by default: every file is read and every record validated
 * (load.h) before anything is produced; one bad line, reported as
 * FILE:LINE, means nothing is produced and the exit status is 1, unless
 * --skip-bad, which produces the valid records and exits 0. Records are
 * keyed by their code, normalized, and produced by an idempotent acks=all
 * producer; --tombstone deletes codes. --dry-run prints the normalized
 * records on stdout, one per line, and produces nothing.
 *
 * Exit status: 0 done; 1 bad lines (without --skip-bad) or a record not
 * delivered; 2 usage, a file that cannot be read as a catalog, or Kafka
 * setup failing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/strmap.h"

#include "load.h"

static const chiso_cfg_def cfg_defs[] = {
    {"catalog", CHISO_CFG_STRING, "auto",
     "units, procedures, or auto (a CSV header's 'procedure' or 'unit' column, a JSON line's "
     "field)",
     NULL},
    {"format", CHISO_CFG_STRING, "auto", "csv, jsonl, or auto (by extension: .csv, .jsonl)", NULL},
    {"skip-bad", CHISO_CFG_BOOL, "false",
     "produce the valid records even when some lines are bad (they are still reported)", NULL},
    {"dry-run", CHISO_CFG_BOOL, "false",
     "print the normalized records on stdout instead of producing them", NULL},
    {"tombstone", CHISO_CFG_STRING, NULL,
     "comma-separated codes to delete from the --catalog topic (a null record each)", NULL},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    CHISO_KAFKA_CFG_DEFS,
    {NULL, 0, NULL, NULL, NULL},
};

/* The base topic name of a catalog kind. */
static const char *kind_topic(cat_kind kind)
{
    return kind == CAT_UNITS ? CHISO_TOPIC_CATALOG_UNITS : CHISO_TOPIC_CATALOG_PROCEDURES;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: chiso-catalog [OPTIONS] FILE...\n"
        "       chiso-catalog [OPTIONS] --catalog units|procedures --tombstone CODE[,CODE...]\n\n"
        "Load unit and procedure catalogs (CSV with a header of CONTRACT.md field names,\n"
        "`units` as a ';'-separated list; or JSON lines) into catalog.units and\n"
        "catalog.procedures, keyed by code. Every record is validated first: a bad line\n"
        "(FILE:LINE on stderr) means nothing is produced, unless --skip-bad. FILE may be -\n"
        "(stdin, with --format). See docs/catalog.md.\n\n");
    chiso_config_print_help(cfg_defs, out);
}

typedef struct delivery {
    const cat_load *load;
    int delivered, failed;
} delivery;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    delivery *d = opaque;
    const cat_record *r = &d->load->recs[(intptr_t)m->_private];
    (void)rk;
    if (!m->err) {
        d->delivered++;
        return;
    }
    d->failed++;
    LOG_ERROR("%s:%ld: %s to %s not delivered: %s", r->file, r->line, r->key, kind_topic(r->kind),
              rd_kafka_err2str(m->err));
}

/* Warn about a code given twice: the topic keeps the later record. */
static void warn_repeats(const cat_load *l)
{
    chiso_map *seen = chiso_map_new();
    char key[CHISO_CODE_MAX + 16];
    for (int i = 0; seen && i < l->n; i++) {
        const cat_record *r = &l->recs[i];
        int created;
        snprintf(key, sizeof(key), "%d|%s", (int)r->kind, r->key);
        chiso_map_entry *e = chiso_map_put(seen, key, &created);
        if (e && !created) {
            const cat_record *prev = &l->recs[e->u64];
            LOG_WARN("%s:%ld: %s of %s already given at %s:%ld; the later one wins", r->file,
                     r->line, r->key, kind_topic(r->kind), prev->file, prev->line);
        }
        if (e)
            e->u64 = (uint64_t)i;
    }
    chiso_map_destroy(seen);
}

/* Produce every record and wait for every delivery report. Returns the
 * exit status. */
static int produce_all(const chiso_config *cfg, const cat_load *l)
{
    char errstr[512], topics[3][256];
    delivery d = {.load = l};
    int rc = 1;

    if (chiso_kafka_ensure_topics_cfg(cfg, errstr, sizeof(errstr)) != 0) {
        LOG_ERROR("creating topics: %s", errstr);
        return 2;
    }
    chiso_topic_name(cfg, kind_topic(CAT_UNITS), topics[CAT_UNITS], sizeof(topics[0]));
    chiso_topic_name(cfg, kind_topic(CAT_PROCEDURES), topics[CAT_PROCEDURES], sizeof(topics[0]));
    rd_kafka_t *rk = chiso_kafka_producer_new(cfg, dr_cb, &d, errstr, sizeof(errstr));
    if (!rk) {
        LOG_ERROR("Kafka producer: %s", errstr);
        return 2;
    }
    chiso_stop_on_signals();
    int i;
    for (i = 0; i < l->n && !chiso_stop; i++) {
        const cat_record *r = &l->recs[i];
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topics[r->kind]), RD_KAFKA_V_KEY(r->key, strlen(r->key)),
                RD_KAFKA_V_VALUE(r->value, r->value ? r->len : 0),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(intptr_t)i),
                RD_KAFKA_V_END);
            if (!err)
                break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                LOG_ERROR("%s:%ld: %s to %s: %s", r->file, r->line, r->key, kind_topic(r->kind),
                          rd_kafka_err2str(err));
                d.failed++;
                break;
            }
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    if (chiso_stop)
        LOG_WARN("interrupted after %d of %d records; flushing", i, l->n);
    while (rd_kafka_outq_len(rk) > 0 && chiso_stop < 2)
        rd_kafka_flush(rk, 1000);
    int abandoned = rd_kafka_outq_len(rk);
    if (abandoned > 0)
        LOG_ERROR("%d records abandoned in flight", abandoned);
    fprintf(stderr, "catalog: produced %d, failed %d, not sent %d\n", d.delivered,
            d.failed + abandoned, l->n - d.delivered - d.failed - abandoned);
    if (d.delivered == l->n)
        rc = 0;
    rd_kafka_destroy(rk);
    return rc;
}

/* Turn --tombstone CODE[,CODE...] into records. Returns 0 or 2. */
static int add_tombstones(cat_load *l, cat_kind kind, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    int rc = copy ? 0 : 2;
    for (char *code = copy ? strtok_r(copy, ",", &save) : NULL; code && rc == 0;
         code = strtok_r(NULL, ",", &save)) {
        if (cat_load_tombstone(l, kind, code) != 0) {
            fprintf(stderr, "chiso-catalog: --tombstone: '%s' is not a %s code\n", code,
                    cat_kind_name(kind));
            rc = 2;
        }
    }
    free(copy);
    return rc;
}

int main(int argc, char **argv)
{
    char errstr[512];
    int first = argc, rc = 2;
    cat_load load = {0};

    chiso_log_set_component("catalog");
    chiso_config *cfg = chiso_config_new(cfg_defs);
    if (!cfg)
        return 1;
    int prc = chiso_config_parse_args(cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (prc == 1) {
        usage(stdout);
        rc = 0;
        goto out;
    }
    if (prc != 0) {
        fprintf(stderr, "chiso-catalog: %s (try --help)\n", errstr);
        goto out;
    }
    chiso_log_set_level_name(chiso_config_str(cfg, "log.level"));
    int kind = cat_kind_parse(chiso_config_str(cfg, "catalog"));
    int format = cat_format_parse(chiso_config_str(cfg, "format"));
    const char *tombstones = chiso_config_str(cfg, "tombstone");
    if (kind < 0 || format < 0) {
        fprintf(stderr, "chiso-catalog: %s (try --help)\n",
                kind < 0 ? "--catalog is units, procedures or auto"
                         : "--format is csv, jsonl or auto");
        goto out;
    }
    if (first >= argc && !tombstones) {
        fprintf(stderr, "chiso-catalog: no input file (try --help)\n");
        goto out;
    }
    if (tombstones && kind == CAT_AUTO) {
        fprintf(stderr, "chiso-catalog: --tombstone needs --catalog units or procedures\n");
        goto out;
    }

    for (int i = first; i < argc; i++) {
        int lrc = cat_load_file(&load, argv[i], (cat_format)format, (cat_kind)kind, errstr,
                                sizeof(errstr));
        if (lrc != 0) {
            LOG_ERROR("%s", errstr);
            goto out;
        }
    }
    if (tombstones && add_tombstones(&load, (cat_kind)kind, tombstones) != 0)
        goto out;
    warn_repeats(&load);
    if (load.bad > 0 && !chiso_config_bool(cfg, "skip-bad")) {
        LOG_ERROR("%d bad line(s): nothing produced (--skip-bad produces the %d valid record(s))",
                  load.bad, load.n);
        rc = 1;
        goto out;
    }
    if (load.bad > 0)
        LOG_WARN("%d bad line(s) skipped", load.bad);

    if (chiso_config_bool(cfg, "dry-run")) {
        for (int i = 0; i < load.n; i++) {
            const cat_record *r = &load.recs[i];
            if (r->value)
                printf("%s\n", r->value);
            else
                LOG_INFO("would delete %s from %s", r->key, kind_topic(r->kind));
        }
        rc = fflush(stdout) == 0 ? 0 : 1;
        goto out;
    }
    rc = produce_all(cfg, &load);
out:
    cat_load_clear(&load);
    chiso_config_destroy(cfg);
    return rc;
}
