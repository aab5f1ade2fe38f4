/*
 * main.c - chiso-snapshot: publishes Decision 766 score snapshots.
 *
 * Every interval.ms it pops the dirty set the processors keep in Redis,
 * scores every unit of each period named there (the 21 indicators of
 * Decision 766, rank among siblings) and the province, and publishes the
 * snapshots whose content changed to the compacted `scores` topic and to
 * Redis (sweep.h). The first sweep after start is a full one: every unit,
 * every period it has counters for. Unit names, kinds, parents and targets,
 * and the catalog inputs of the score, come from the catalog.units and
 * catalog.procedures topics (catview.h).
 *
 * Life: init, loop (short polls, volatile sig_atomic_t chiso_stop flag), and on
 * SIGTERM/SIGINT finish the current sweep, flush the producer, return any
 * dirty member not yet published to the dirty set, exit 0. Redis being
 * down never stops it: sweeps retry with backoff. `--once` runs one full
 * sweep, waits for every delivery, and exits.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chiso/catview.h"
#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/redisx.h"
#include "chiso/score.h"
#include "chiso/vntime.h"
#include "sweep.h"

#define BACKOFF_MIN_MS   100
#define BACKOFF_MAX_MS   5000
#define CATCH_UP_ONCE_MS 60000 /* once: how long to wait for the catalog */
#define CATCH_UP_MS      10000 /* otherwise (it goes on reading it anyway) */
#define FLUSH_MS         10000 /* drain: how long to wait for deliveries */

static const chiso_cfg_def defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    {"interval.ms", CHISO_CFG_INT, "1000", "time between sweeps of the dirty set",
     chiso_cfg_positive},
    {"journal.fold.s", CHISO_CFG_INT, "60",
     "a unit's journal the sweeps have read for this long is folded (the sweeps read journals "
     "and do not fold them; classify folds one past its journal.fold.kb)",
     chiso_cfg_positive},
    {"province", CHISO_CFG_STRING, NULL,
     "province unit code; unset = the unit of kind province in catalog.units, else \"province\"",
     chiso_catview_code_ok},
    CHISO_SCORING_CFG_DEFS,
    {"metrics.port", CHISO_CFG_INT, "9102", "Prometheus /metrics port (0 = off)", chiso_cfg_port},
    {"metrics.bind", CHISO_CFG_STRING, "127.0.0.1", "address the metrics server listens on", NULL},
    {"once", CHISO_CFG_BOOL, "false",
     "one full sweep: publish every snapshot, wait for delivery, exit", NULL},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: chiso-snapshot [options]\n\n"
                 "Publish Decision 766 score snapshots of the dirty units and periods in Redis\n"
                 "to the scores topic and to Redis (docs/snapshot.md).\n\n");
    chiso_config_print_help(defs, out);
}

/* What the catalog callbacks reach. */
typedef struct app {
    snap_metrics mx;
    snap_sweeper *sw; /* NULL until created */
} app;

static void on_catalog_error(void *opaque)
{
    chiso_counter_add(((app *)opaque)->mx.err_catalog, 1);
}

static void on_catalog_change(const char *code, void *opaque)
{
    app *a = opaque;
    if (a->sw)
        snap_sweeper_touch_unit(a->sw, code); /* NULL: every unit */
}

static void metrics_register(chiso_metrics *m, snap_metrics *mx)
{
    static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25,  0.5,    1,     2.5,  5,     10};
    const char *err_help = "errors by kind (redis, kafka, catalog, dirty)";

    mx->published = chiso_metrics_counter(m, "chiso_snapshot_published_total",
                                          "snapshots published (Kafka and Redis)");
    mx->unchanged = chiso_metrics_counter(m, "chiso_snapshot_unchanged_total",
                                          "snapshots not republished: content unchanged");
    mx->sweeps = chiso_metrics_counter(m, "chiso_snapshot_sweeps_total", "sweeps completed");
    mx->popped = chiso_metrics_counter(m, "chiso_snapshot_dirty_popped_total",
                                       "dirty members popped from Redis");
    mx->err_redis =
        chiso_metrics_counter(m, "chiso_snapshot_errors_total{kind=\"redis\"}", err_help);
    mx->err_kafka =
        chiso_metrics_counter(m, "chiso_snapshot_errors_total{kind=\"kafka\"}", err_help);
    mx->err_catalog =
        chiso_metrics_counter(m, "chiso_snapshot_errors_total{kind=\"catalog\"}", err_help);
    mx->err_dirty =
        chiso_metrics_counter(m, "chiso_snapshot_errors_total{kind=\"dirty\"}", err_help);
    mx->rewinds = chiso_metrics_counter(
        m, "chiso_snapshot_redis_rewinds_total",
        "Times Redis was found holding less than it acknowledged (every snapshot republished)");
    mx->journal_folds = chiso_metrics_counter(
        m, "chiso_snapshot_journal_folds_total",
        "unit journals folded after the sweeps had read them for journal.fold.s");
    mx->sweep_secs =
        chiso_metrics_histogram(m, "chiso_snapshot_sweep_seconds", "duration of completed sweeps",
                                bounds, (int)(sizeof(bounds) / sizeof(bounds[0])));
    mx->pending =
        chiso_metrics_gauge(m, "chiso_snapshot_pending", "dirty members popped, not yet published");
}

int main(int argc, char **argv)
{
    chiso_config *cfg = NULL;
    chiso_metrics *metrics = NULL;
    app a = {0};
    chiso_catview *catalog = NULL;
    unsigned e_copy_kinds = CHISO_CATVIEW_E_COPY_DEFAULT;
    snap_sweeper *sw = NULL;
    char errstr[512];
    int first_pos = 0, rc, status = 1;
    int64_t interval_ms, backoff_ms = 0, next_us;
    bool once, full = true, done = false;
    int32_t sweep_day = 0;

    chiso_log_set_component("snapshot");
    cfg = chiso_config_new(defs);
    if (!cfg) {
        LOG_ERROR("out of memory");
        return 1;
    }
    rc = chiso_config_parse_args(cfg, argc, argv, &first_pos, errstr, sizeof(errstr));
    if (rc == 1) {
        usage(stdout);
        status = 0;
        goto out;
    }
    if (rc != 0 || first_pos < argc) {
        LOG_ERROR("%s", rc != 0 ? errstr : "unexpected argument");
        usage(stderr);
        status = 2;
        goto out;
    }
    (void)chiso_log_set_level_name(chiso_config_str(cfg, "log.level"));
    interval_ms = chiso_config_int(cfg, "interval.ms");
    once = chiso_config_bool(cfg, "once");

    chiso_stop_on_signals();

    metrics = chiso_metrics_new();
    if (!metrics) {
        LOG_ERROR("out of memory");
        goto out;
    }
    metrics_register(metrics, &a.mx);
    if (chiso_metrics_serve(metrics, chiso_config_str(cfg, "metrics.bind"),
                            (int)chiso_config_int(cfg, "metrics.port"), errstr,
                            sizeof(errstr)) != 0) {
        LOG_ERROR("metrics: %s", errstr);
        goto out;
    }
    if (chiso_kafka_ensure_topics_cfg(cfg, errstr, sizeof(errstr)) != 0)
        LOG_WARN("topics: %s (going on: the producer retries)", errstr);

    catalog = chiso_catview_new();
    if (!catalog) {
        LOG_ERROR("out of memory");
        goto out;
    }
    (void)chiso_catview_parse_kinds(chiso_config_str(cfg, "e_copy.kinds"), &e_copy_kinds, errstr,
                                    sizeof(errstr)); /* validated with the options */
    chiso_catview_set_e_copy_kinds(catalog, e_copy_kinds);
    chiso_catview_on_change(catalog, on_catalog_change, &a);
    if (chiso_catview_follow(catalog, cfg, "chiso-snapshot-catalog", on_catalog_error, &a, errstr,
                             sizeof(errstr)) != 0) {
        LOG_ERROR("catalog: %s", errstr);
        goto out;
    }
    sw = snap_sweeper_new(cfg, catalog, chiso_score_rules_find(chiso_config_str(cfg, "rules")),
                          &a.mx, errstr, sizeof(errstr));
    if (!sw) {
        LOG_ERROR("producer: %s", errstr);
        goto out;
    }
    a.sw = sw;
    /* the first sweep publishes everything: give it the catalog first */
    if (chiso_catview_catch_up(catalog, once ? CATCH_UP_ONCE_MS : CATCH_UP_MS, &chiso_stop) != 0 &&
        !chiso_stop)
        LOG_WARN("catalog: not read to the end; going on with %zu unit(s), %zu procedure(s)",
                 chiso_catview_nunits(catalog), chiso_catview_nprocedures(catalog));

    LOG_INFO("started: interval %lld ms%s", (long long)interval_ms, once ? ", once" : "");
    next_us = chiso_now_mono_us();
    while (!chiso_stop && !done) {
        int64_t now = chiso_now_mono_us(), wait_ms;

        if (now >= next_us) {
            /* the running periods' open_overdue moves with the date: at each
             * local day rollover every snapshot is recomputed */
            int32_t today = chiso_local_day(time(NULL));
            if (today != sweep_day) {
                full = full || sweep_day != 0;
                sweep_day = today;
            }
            rc = snap_sweeper_run(sw, full);
            if (rc == 0) {
                full = false;
                backoff_ms = 0;
                next_us = now + interval_ms * 1000;
                if (once) {
                    /* wait for the deliveries; a failed one is held again */
                    while (!chiso_stop && snap_sweeper_flush(sw, 1000) != 0)
                        ;
                    done = snap_sweeper_held(sw) == 0;
                    next_us = now; /* else retry the held ones right away */
                }
            } else {
                backoff_ms = backoff_ms ? backoff_ms * 2 : BACKOFF_MIN_MS;
                if (backoff_ms > BACKOFF_MAX_MS)
                    backoff_ms = BACKOFF_MAX_MS;
                next_us = now + backoff_ms * 1000;
                LOG_WARN("sweep failed; %zu dirty member(s) held; retry in %lld ms",
                         snap_sweeper_held(sw), (long long)backoff_ms);
            }
            continue;
        }
        wait_ms = (next_us - now + 999) / 1000;
        chiso_catview_poll(catalog, (int)(wait_ms < 100 ? wait_ms : 100));
        snap_sweeper_poll(sw, 0);
    }

    LOG_INFO("stopping: flushing the producer");
    if (snap_sweeper_flush(sw, FLUSH_MS) != 0)
        LOG_WARN("producer: not every snapshot was delivered in %d s", FLUSH_MS / 1000);
    (void)snap_sweeper_return_held(sw);
    status = 0;
out:
    snap_sweeper_destroy(sw);
    chiso_catview_destroy(catalog);
    chiso_metrics_destroy(metrics);
    chiso_config_destroy(cfg);
    return status;
}
