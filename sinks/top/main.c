/*
 * chiso-top - a live terminal view of the scores topic: the province and its
 * busiest units for one period, with received dossiers, online share,
 * full-process rate against the unit's target, on-time rate and overdue
 * open dossiers. Labels in Vietnamese, numbers in Vietnamese formats.
 *
 * The on-time column is indicator #5's rate as the snapshot scores it
 * (`indicators`, id 5: dossiers received or processed in the period, each
 * judged at its finish or at the period end), the figure behind group 2's
 * points, the same the wall shows; not the snapshot's `on_time` object,
 * the quarterly report's rate over the resolved dossiers.
 *
 * It is a plain downstream consumer of the public `scores` contract: it
 * reads the compacted topic from the beginning (no consumer group) and
 * keeps the latest snapshot per key.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/vnfmt.h"
#include "chiso/vntime.h"
#include "chiso/wall_json.h"

static const chiso_cfg_def config_defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    {"period", CHISO_CFG_STRING, NULL,
     "period to show (2025-07, 2025-Q3, 2025); default: this month, else the latest month with "
     "data",
     NULL},
    {"top", CHISO_CFG_INT, "15", "units listed", chiso_cfg_positive},
    {"refresh.ms", CHISO_CFG_INT, "1000", "redraw interval", chiso_cfg_positive},
    {"once", CHISO_CFG_BOOL, "false", "read the topic to its end, print once, exit", NULL},
    {"log.level", CHISO_CFG_STRING, "warn", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

typedef struct view {
    cJSON *latest; /* key -> snapshot */
    char latest_month[16];
} view;

static void on_message(view *v, const rd_kafka_message_t *m)
{
    char key[256];
    if (!m->key || m->key_len >= sizeof(key))
        return;
    snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
    cJSON_DeleteItemFromObjectCaseSensitive(v->latest, key);
    cJSON *doc = m->len ? cJSON_ParseWithLength(m->payload, m->len) : NULL;
    if (!doc)
        return;
    cJSON_AddItemToObject(v->latest, key, doc);
    const cJSON *period = cJSON_GetObjectItemCaseSensitive(doc, "period");
    chiso_period p;
    if (cJSON_IsString(period) && chiso_period_parse(period->valuestring, &p) == 0 &&
        p.kind == CHISO_PERIOD_MONTH && strcmp(period->valuestring, v->latest_month) > 0)
        snprintf(v->latest_month, sizeof(v->latest_month), "%s", period->valuestring);
}

static double num(const cJSON *obj, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

/* Column widths, in characters: name, then the figures. */
#define NAME_W 32
static const int col_w[] = {10, 11, 11, 9, 13, 8};

/* One line of the table: the name, then right-aligned cells. */
static void print_cells(const char *name, const char *const cells[6])
{
    char buf[512];
    fputs(chiso_utf8_pad(name, NAME_W, buf, sizeof(buf)), stdout);
    for (int i = 0; i < 6; i++)
        printf(" %s", chiso_utf8_rjust(cells[i], (size_t)col_w[i], buf, sizeof(buf)));
    putchar('\n');
}

static void print_row(const cJSON *snap)
{
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(snap, "counts");
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(snap, "full_process");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(snap, "unit_name");
    char rec[32], onl[32], fpr[48], tgt[32], ont[32], ovd[32];
    double received = num(counts, "received"), resolved = num(counts, "resolved");
    double rate = ratio(num(counts, "full_process"), resolved);
    double target = num(fp, "target");
    chiso_vnfmt_int((int64_t)received, rec, sizeof(rec));
    chiso_vnfmt_pct(ratio(num(counts, "received_online"), received), 1, onl, sizeof(onl));
    chiso_vnfmt_pct(rate, 1, fpr, sizeof(fpr));
    if (!isnan(rate))
        strcat(fpr, rate >= target ? " ✓" : " ✗");
    chiso_vnfmt_pct(target, 0, tgt, sizeof(tgt));
    /* #5's rate, never recomputed (null: no dossier judged, shown as —) */
    chiso_vnfmt_pct(num(chiso_wall_indicator(snap, CHISO_WALL_ONTIME_INDICATOR), "rate"), 1, ont,
                    sizeof(ont));
    chiso_vnfmt_int((int64_t)num(counts, "open_overdue"), ovd, sizeof(ovd));
    const char *const cells[6] = {rec, onl, fpr, tgt, ont, ovd};
    print_cells(cJSON_IsString(name) ? name->valuestring : "?", cells);
}

static int by_received(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    double rx = num(cJSON_GetObjectItemCaseSensitive(x, "counts"), "received");
    double ry = num(cJSON_GetObjectItemCaseSensitive(y, "counts"), "received");
    return (ry > rx) - (ry < rx);
}

static void draw(view *v, const char *period_opt, int top, bool clear)
{
    char this_month[CHISO_PERIOD_STRLEN];
    const char *period = period_opt;
    if (!period) {
        /* this month when the topic has it (any unit), else the latest month */
        chiso_period_key(chiso_local_day(time(NULL)), CHISO_PERIOD_MONTH, this_month);
        period = v->latest_month;
        const cJSON *item;
        cJSON_ArrayForEach(item, v->latest)
        {
            const char *bar = strrchr(item->string, '|');
            if (bar && strcmp(bar + 1, this_month) == 0) {
                period = this_month;
                break;
            }
        }
    }
    const cJSON *province = NULL;
    const cJSON *units[4096];
    int nunits = 0;
    const cJSON *item;
    char total[32];

    cJSON_ArrayForEach(item, v->latest)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "period");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(item, "kind");
        if (!cJSON_IsString(p) || strcmp(p->valuestring, period) != 0)
            continue;
        if (cJSON_IsString(k) && strcmp(k->valuestring, "province") == 0)
            province = item;
        else if (nunits < 4096)
            units[nunits++] = item;
    }
    qsort(units, (size_t)nunits, sizeof(units[0]), by_received);
    if (clear)
        printf("\033[H\033[2J");
    const cJSON *as_of = province ? cJSON_GetObjectItemCaseSensitive(province, "as_of") : NULL;
    printf("chiso — kỳ %s — %d đơn vị — cập nhật %s\n\n", *period ? period : "(chưa có dữ liệu)",
           nunits, cJSON_IsString(as_of) ? as_of->valuestring : "—");
    static const char *const heads[6] = {"Tiếp nhận", "Trực tuyến",   "Toàn trình",
                                         "Mục tiêu",  "Đúng hạn CS5", "Quá hạn"};
    print_cells("Đơn vị", heads);
    if (province) {
        print_row(province);
        printf("\n");
    }
    for (int i = 0; i < nunits && i < top; i++)
        print_row(units[i]);
    printf("\nĐúng hạn CS5: chỉ số 5, tỷ lệ hồ sơ xử lý đúng hạn trên hồ sơ tiếp nhận và xử lý "
           "trong kỳ\n(không phải tỷ lệ giải quyết đúng hạn của báo cáo quý).\n");
    chiso_vnfmt_int(cJSON_GetArraySize(v->latest), total, sizeof(total));
    printf("\n%s bản ghi điểm số (scores) đã đọc. Ctrl-C để thoát.\n", total);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    char errstr[512], topic[256];
    int first = 0, rc = 1;
    chiso_config *cfg = chiso_config_new(config_defs);
    rd_kafka_t *rk = NULL;
    view v = {cJSON_CreateObject(), ""};

    chiso_log_set_component("top");
    int pr = chiso_config_parse_args(cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (pr == 1) {
        printf("Usage: chiso-top [OPTIONS]\n\nLive terminal view of the scores topic.\n\n");
        chiso_config_print_help(config_defs, stdout);
        rc = 0;
        goto out;
    }
    if (pr != 0 || first < argc || chiso_log_set_level_name(chiso_config_str(cfg, "log.level"))) {
        fprintf(stderr, "chiso-top: %s\n", pr ? errstr : "bad arguments (see --help)");
        rc = 2;
        goto out;
    }
    chiso_stop_on_signals();
    chiso_topic_name(cfg, CHISO_TOPIC_SCORES, topic, sizeof(topic));
    rk = chiso_kafka_consumer_new(cfg, "chiso-top", NULL, NULL, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "chiso-top: %s\n", errstr);
        goto out;
    }
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "chiso-top: topic %s not found\n", topic);
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        goto out;
    }
    int nparts = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(nparts);
    int64_t high_total = 0;
    for (int p = 0; p < nparts; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000);
        high_total += hi - lo;
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);

    bool once = chiso_config_bool(cfg, "once");
    int64_t refresh = chiso_config_int(cfg, "refresh.ms") * 1000, last = 0, seen = 0;
    int idle = 0;
    while (!chiso_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m) {
            if (!m->err) {
                on_message(&v, m);
                seen++;
            }
            rd_kafka_message_destroy(m);
            idle = 0;
        } else {
            idle++;
        }
        if (once) {
            if (seen >= high_total || idle > 20)
                break;
            continue;
        }
        if (chiso_now_mono_us() - last >= refresh) {
            draw(&v, chiso_config_str(cfg, "period"), (int)chiso_config_int(cfg, "top"), true);
            last = chiso_now_mono_us();
        }
    }
    if (once)
        draw(&v, chiso_config_str(cfg, "period"), (int)chiso_config_int(cfg, "top"), false);
    rc = 0;
out:
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    cJSON_Delete(v.latest);
    chiso_config_destroy(cfg);
    return rc;
}
