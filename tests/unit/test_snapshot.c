/*
 * test_snapshot.c - the pure snapshot builder (snapshot.h): full-process
 * gap arithmetic, rates and their nulls, open / open_overdue from bucket
 * sums, the province roll-up, and the JSON layout of CONTRACT.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chiso/common.h"
#include "chiso/score.h"
#include "chiso/snapshot.h"

static void test_gap(void)
{
    static const struct {
        double target;
        int64_t resolved, full, gap;
    } cases[] = {
        {0.70, 0, 0, 0},  /* nothing resolved: nothing missing */
        {0.70, 10, 7, 0}, /* exactly at target */
        {0.70, 10, 6, 1}, /* 0.7 x 10 needs 7, not 8 */
        {0.70, 10, 0, 7},
        {0.70, 10, 10, 0}, /* above */
        {0.70, 3, 0, 3},   /* ceil(2.1) = 3 */
        {0.70, 3, 2, 1},
        {0.70, 3, 3, 0},
        {0.70, 1, 0, 1},
        {0.07, 100, 0, 7},  /* 0.07 * 100 = 7.000000000000001 in doubles */
        {0.14, 100, 13, 1}, /* 0.14 * 100 = 14.000000000000002 */
        {0.95, 20, 18, 1},
        {0.95, 21, 0, 20}, /* ceil(19.95) */
        {1.00, 5, 4, 1},
        {0.00, 5, 0, 0},                        /* no target */
        {1.50, 5, 0, 5},                        /* clamped to 1 */
        {-0.1, 5, 0, 0},                        /* clamped to 0 */
        {NAN, 5, 0, 0},                         /* nonsense target: no gap */
        {0.70, 1000000007, 0, 700000005},       /* ceil(700000004.9) across the split */
        {0.70, 1000000000000, 0, 700000000000}, /* large, exact */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ_INT(chiso_snapshot_gap(cases[i].target, cases[i].resolved, cases[i].full),
                     cases[i].gap, "gap case %zu", i);
}

static void test_counts_set_add(void)
{
    static const struct {
        const char *field;
        size_t offset;
    } ok[] = {
        {"received", offsetof(chiso_snapshot_counts, received)},
        {"received_online", offsetof(chiso_snapshot_counts, received_online)},
        {"received_direct", offsetof(chiso_snapshot_counts, received_direct)},
        {"received_postal", offsetof(chiso_snapshot_counts, received_postal)},
        {"resolved", offsetof(chiso_snapshot_counts, resolved)},
        {"resolved_on_time", offsetof(chiso_snapshot_counts, resolved_on_time)},
        {"resolved_late", offsetof(chiso_snapshot_counts, resolved_late)},
        {"full_process", offsetof(chiso_snapshot_counts, full_process)},
        {"partial", offsetof(chiso_snapshot_counts, partial)},
        {"offline", offsetof(chiso_snapshot_counts, offline)},
    };
    static const char *const rejected[] = {"closed", "overdue_began", "overdue_closed",
                                           "open",   "bogus",         ""};

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        chiso_snapshot_counts c = {0}, want = {0};
        *(int64_t *)(void *)((char *)&want + ok[i].offset) = 42 + (int64_t)i;
        CHECK_EQ_INT(chiso_snapshot_counts_set(&c, ok[i].field, 42 + (int64_t)i), 0, "%s",
                     ok[i].field);
        CHECK(memcmp(&c, &want, sizeof(c)) == 0, "set %s lands in its own field", ok[i].field);
    }
    for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
        chiso_snapshot_counts c = {0}, zero = {0};
        CHECK_EQ_INT(chiso_snapshot_counts_set(&c, rejected[i], 1), CHISO_ENOENT, "%s",
                     rejected[i]);
        CHECK(memcmp(&c, &zero, sizeof(c)) == 0, "%s leaves counts alone", rejected[i]);
    }

    chiso_snapshot_counts a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    chiso_snapshot_counts b = {100, 200, 300,  400,  500,  600,  700,
                               800, 900, 1000, 1100, 1200, 1300, 1400};
    chiso_snapshot_counts sum = {101, 202, 303,  404,  505,  606,  707,
                                 808, 909, 1010, 1111, 1212, 1313, 1414};
    chiso_snapshot_counts_add(&a, &b);
    CHECK(memcmp(&a, &sum, sizeof(a)) == 0, "counts_add sums all twelve fields");
}

static int32_t day_of(const char *key)
{
    chiso_period p;
    if (chiso_period_parse(key, &p) != 0)
        return -1;
    return p.first_day;
}

/* CHISO_SNAPSHOT_CUM_FIELDS names chiso_snapshot_cum's counters, in order. */
static void test_cum_fields(void)
{
    char buf[] = CHISO_SNAPSHOT_CUM_FIELDS, *save = NULL;
    int i = 0;
    for (char *f = strtok_r(buf, " ", &save); f; f = strtok_r(NULL, " ", &save), i++) {
        CHECK(i < CHISO_SNAPSHOT_CUM, "no more fields than counters");
        if (i < CHISO_SNAPSHOT_CUM)
            CHECK_EQ_STR(f, chiso_counter_name(chiso_snapshot_cum[i]));
    }
    CHECK_EQ_INT(i, CHISO_SNAPSHOT_CUM, "one field per counter");
}

static void test_open(void)
{
    static const chiso_snapshot_bucket buckets[] = {
        {"2025-05", {10, 8, 2, 1}},    /* open 2, overdue 1 */
        {"2025-06", {5, 1, 1, 0}},     /* open 4, overdue 1 */
        {"2025-07", {20, 5, 3, 1}},    /* open 15, overdue 2 (whole month) */
        {"2025-06-30", {5, 1, 1, 0}},  /* a day of a complete month: never added */
        {"2025-07-01", {4, 1, 0, 0}},  /* open 3 */
        {"2025-07-02", {6, 2, 1, 0}},  /* open 4, overdue 1 */
        {"2025-07-15", {10, 2, 2, 1}}, /* open 8, overdue 1 */
        {"2025-Q3", {99, 0, 99, 0}},   /* quarters and years are ignored */
        {"2025", {99, 0, 99, 0}},
    };
    static const struct {
        const char *end;
        int64_t open, overdue;
    } cases[] = {
        {"2025-04-30", 0, 0},  {"2025-05-01", 0, 0},  {"2025-05-31", 2, 1},  {"2025-06-30", 6, 2},
        {"2025-07-01", 9, 2},  {"2025-07-02", 13, 3}, {"2025-07-14", 13, 3}, {"2025-07-15", 21, 4},
        {"2025-07-31", 21, 4}, {"2025-12-31", 21, 4},
    };
    size_t n = sizeof(buckets) / sizeof(buckets[0]);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_snapshot_counts c = {0};
        c.received = 77;
        CHECK_EQ_INT(chiso_snapshot_open(buckets, n, day_of(cases[i].end), &c), 0, "%s",
                     cases[i].end);
        CHECK_EQ_INT(c.open, cases[i].open, "open at %s", cases[i].end);
        CHECK_EQ_INT(c.open_overdue, cases[i].overdue, "open_overdue at %s", cases[i].end);
        CHECK_EQ_INT(c.received, 77, "other counts untouched");
    }

    chiso_snapshot_counts c = {0};
    CHECK_EQ_INT(chiso_snapshot_open(NULL, 0, day_of("2025-07-01"), &c), 0, "empty");
    CHECK_EQ_INT(c.open, 0, "empty list: open 0");

    static const chiso_snapshot_bucket bad[] = {{"2025-05", {1, 0, 0, 0}},
                                                {"2025-13", {1, 0, 0, 0}}};
    c.open = 5;
    CHECK_EQ_INT(chiso_snapshot_open(bad, 2, day_of("2025-07-01"), &c), CHISO_EINVAL, "bad key");
    CHECK_EQ_INT(c.open, 5, "bad key leaves counts alone");

    /* End day of a period: its last day, or today while it is running. */
    static const struct {
        const char *period, *today, *end;
    } ends[] = {
        {"2025-06", "2025-07-10", "2025-06-30"}, {"2025-07", "2025-07-10", "2025-07-10"},
        {"2025-Q3", "2025-07-10", "2025-07-10"}, {"2025-Q2", "2025-07-10", "2025-06-30"},
        {"2025", "2025-07-10", "2025-07-10"},    {"2024", "2025-07-10", "2024-12-31"},
        {"2025-07", "2025-07-31", "2025-07-31"},
    };
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        chiso_period p;
        CHECK_EQ_INT(chiso_period_parse(ends[i].period, &p), 0, "%s", ends[i].period);
        CHECK_EQ_INT(chiso_snapshot_end_day(&p, day_of(ends[i].today)), day_of(ends[i].end),
                     "end of %s at %s", ends[i].period, ends[i].today);
    }
}

/* The number member `name` of obj, or NAN when absent or not a number. */
static double num(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

static const char *str(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static void test_json(void)
{
    static const char *const top[] = {
        "v",     "unit",  "unit_name", "kind",         "parent",  "period", "period_kind",
        "as_of", "rules", "counts",    "full_process", "on_time", "online"};
    static const char *const counts[] = {"received",
                                         "received_online",
                                         "received_direct",
                                         "received_postal",
                                         "resolved",
                                         "resolved_on_time",
                                         "resolved_late",
                                         "full_process",
                                         "partial",
                                         "offline",
                                         "open",
                                         "open_overdue",
                                         "judged",
                                         "judged_on_time"};
    const char *name = "Sở Tư pháp tỉnh Hưng Yên";
    chiso_snapshot s = {0};
    cJSON *root, *it, *obj;
    char *text;
    size_t i;

    snprintf(s.unit.unit, sizeof(s.unit.unit), "HY-STP");
    snprintf(s.unit.name, sizeof(s.unit.name), "%s", name);
    s.unit.kind = CHISO_UNIT_DEPARTMENT;
    snprintf(s.unit.parent, sizeof(s.unit.parent), "HY");
    s.unit.target_full_process = 0.7;
    snprintf(s.period, sizeof(s.period), "2025-Q3");
    s.as_of = 1751331600; /* 2025-07-01T01:00:00Z */
    s.counts = (chiso_snapshot_counts){.received = 4,
                                       .received_online = 3,
                                       .received_direct = 1,
                                       .received_postal = 0,
                                       .resolved = 10,
                                       .resolved_on_time = 9,
                                       .resolved_late = 1,
                                       .full_process = 6,
                                       .partial = 2,
                                       .offline = 2,
                                       .open = 5,
                                       .open_overdue = 1};

    text = chiso_snapshot_render(&s);
    CHECK(text != NULL, "render");
    if (!text)
        return;
    CHECK(strstr(text, name) != NULL, "Vietnamese name kept as raw UTF-8: %s", text);
    root = cJSON_Parse(text);
    CHECK(root != NULL, "rendered JSON parses: %s", text);
    if (!root) {
        free(text);
        return;
    }
    for (i = 0, it = root->child; it && i < sizeof(top) / sizeof(top[0]); i++, it = it->next)
        CHECK_EQ_STR(it->string, top[i]);
    CHECK(i == sizeof(top) / sizeof(top[0]) && it == NULL, "exactly the documented fields");

    CHECK(num(root, "v") == 1, "v");
    CHECK_EQ_STR(str(root, "unit"), "HY-STP");
    CHECK_EQ_STR(str(root, "unit_name"), name);
    CHECK_EQ_STR(str(root, "kind"), "department");
    CHECK_EQ_STR(str(root, "parent"), "HY");
    CHECK_EQ_STR(str(root, "period"), "2025-Q3");
    CHECK_EQ_STR(str(root, "period_kind"), "quarter");
    CHECK_EQ_STR(str(root, "as_of"), "2025-07-01T08:00:00+07:00");
    CHECK_EQ_STR(str(root, "rules"), "766-2022-dvcqg");

    obj = cJSON_GetObjectItemCaseSensitive(root, "counts");
    CHECK(cJSON_IsObject(obj) && cJSON_GetArraySize(obj) == 14, "counts has 14 members");
    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(obj, counts[i])), "counts.%s",
              counts[i]);
    CHECK(num(obj, "received") == 4 && num(obj, "received_online") == 3 &&
              num(obj, "received_direct") == 1 && num(obj, "received_postal") == 0 &&
              num(obj, "resolved") == 10 && num(obj, "resolved_on_time") == 9 &&
              num(obj, "resolved_late") == 1 && num(obj, "full_process") == 6 &&
              num(obj, "partial") == 2 && num(obj, "offline") == 2 && num(obj, "open") == 5 &&
              num(obj, "open_overdue") == 1,
          "count values: %s", text);

    obj = cJSON_GetObjectItemCaseSensitive(root, "full_process");
    CHECK(num(obj, "rate") == 0.6, "full_process.rate");
    CHECK(num(obj, "target") == 0.7, "full_process.target");
    CHECK(num(obj, "gap") == 1, "full_process.gap");
    CHECK(num(cJSON_GetObjectItemCaseSensitive(root, "on_time"), "rate") == 0.9, "on_time.rate");
    CHECK(num(cJSON_GetObjectItemCaseSensitive(root, "online"), "rate") == 0.75, "online.rate");
    CHECK(strstr(text, "\"full_process\":{\"rate\":0.6,\"target\":0.7,\"gap\":1}") != NULL,
          "compact numbers: %s", text);
    cJSON_Delete(root);
    free(text);

    /* Nothing resolved or received: null rates, zero gap; no parent: null;
     * a unit the catalog does not know. */
    chiso_snapshot e = {0};
    chiso_snapshot_unit_default(&e.unit, "X01");
    snprintf(e.period, sizeof(e.period), "2025-07");
    e.as_of = 1751331600;
    root = chiso_snapshot_to_json(&e);
    CHECK(root != NULL, "empty snapshot builds");
    if (root) {
        CHECK_EQ_STR(str(root, "kind"), "unknown");
        CHECK_EQ_STR(str(root, "unit_name"), "X01");
        CHECK_EQ_STR(str(root, "period_kind"), "month");
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "parent")), "parent null");
        obj = cJSON_GetObjectItemCaseSensitive(root, "full_process");
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, "rate")), "fp rate null");
        CHECK(num(obj, "target") == 0.7, "default target");
        CHECK(num(obj, "gap") == 0, "no gap when nothing resolved");
        obj = cJSON_GetObjectItemCaseSensitive(root, "on_time");
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, "rate")), "on_time null");
        obj = cJSON_GetObjectItemCaseSensitive(root, "online");
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, "rate")), "online null");
        cJSON_Delete(root);
    }

    /* Resolved but nothing received in the period: only online is null. */
    e.counts.resolved = 3;
    e.counts.resolved_on_time = 3;
    root = chiso_snapshot_to_json(&e);
    CHECK(root != NULL, "resolved-only snapshot builds");
    if (root) {
        obj = cJSON_GetObjectItemCaseSensitive(root, "full_process");
        CHECK(num(obj, "rate") == 0, "fp rate 0/3 is 0, not null");
        CHECK(num(obj, "gap") == 3, "gap ceil(2.1)");
        CHECK(num(cJSON_GetObjectItemCaseSensitive(root, "on_time"), "rate") == 1, "on_time 1");
        obj = cJSON_GetObjectItemCaseSensitive(root, "online");
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, "rate")), "online null");
        cJSON_Delete(root);
    }

    /* Year kind and a province. */
    snprintf(e.period, sizeof(e.period), "2025");
    e.unit.kind = CHISO_UNIT_PROVINCE;
    root = chiso_snapshot_to_json(&e);
    CHECK(root && strcmp(str(root, "period_kind"), "year") == 0, "year kind");
    CHECK(root && strcmp(str(root, "kind"), "province") == 0, "province kind");
    cJSON_Delete(root);

    /* Bad period keys build nothing. */
    static const char *const bad[] = {"", "2025-13", "2025-Q5", "July", "2025-07-1x"};
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(e.period, sizeof(e.period), "%s", bad[i]);
        CHECK(chiso_snapshot_to_json(&e) == NULL, "bad period '%s'", bad[i]);
        CHECK(chiso_snapshot_render(&e) == NULL, "bad period '%s' renders nothing", bad[i]);
        CHECK(chiso_snapshot_fingerprint(&e) == 0, "bad period '%s' has no fingerprint", bad[i]);
    }
}

static void test_fingerprint(void)
{
    chiso_snapshot a = {0}, b;
    uint64_t fa;

    chiso_snapshot_unit_default(&a.unit, "U1");
    snprintf(a.unit.name, sizeof(a.unit.name), "UBND xã Tân Hưng");
    snprintf(a.period, sizeof(a.period), "2025-07");
    a.as_of = 1751331600;
    a.counts.received = 3;
    fa = chiso_snapshot_fingerprint(&a);
    CHECK(fa != 0, "fingerprint");

    b = a;
    b.as_of += 3600;
    CHECK(chiso_snapshot_fingerprint(&b) == fa, "as_of alone is not a change");
    b = a;
    b.counts.open_overdue = 1;
    CHECK(chiso_snapshot_fingerprint(&b) != fa, "a count is a change");
    b = a;
    snprintf(b.unit.name, sizeof(b.unit.name), "UBND xã Tân Hưng mới");
    CHECK(chiso_snapshot_fingerprint(&b) != fa, "a name is a change");
    b = a;
    b.unit.target_full_process = 0.8;
    CHECK(chiso_snapshot_fingerprint(&b) != fa, "a target is a change");
    b = a;
    snprintf(b.unit.parent, sizeof(b.unit.parent), "HY");
    CHECK(chiso_snapshot_fingerprint(&b) != fa, "a parent is a change");
}

/* The names of obj's members, in order, against `want`. */
static void check_members(const cJSON *obj, const char *const *want, size_t n, const char *what)
{
    const cJSON *it = obj ? obj->child : NULL;
    size_t i;

    for (i = 0; it && i < n; i++, it = it->next)
        CHECK_EQ_STR(it->string, want[i]);
    CHECK(i == n && it == NULL, "%s: exactly the documented members", what);
}

/* A snapshot that carries a score (score.h): indicators, groups, total and
 * rank after the fields of a snapshot without one, which stay unchanged. */
static void test_score_json(void)
{
    static const char *const top[] = {
        "v",      "unit",    "unit_name", "kind",         "parent",  "period", "period_kind",
        "as_of",  "rules",   "counts",    "full_process", "on_time", "online", "indicators",
        "groups", "groups6", "total",     "rank",         "rank_of"};
    static const char *const ind_members[] = {"id",     "name", "num",  "den",  "rate",
                                              "points", "max",  "lost", "need", "gain"};
    static const char *const group_members[] = {"id", "name", "points", "max"};
    chiso_snapshot plain = {0}, s;
    chiso_score_input in;
    chiso_score sc;
    cJSON *root, *bare, *arr, *o, *it;
    char *text = NULL;

    chiso_snapshot_unit_default(&plain.unit, "HY");
    plain.unit.kind = CHISO_UNIT_PROVINCE;
    snprintf(plain.period, sizeof(plain.period), "2025-Q3");
    plain.as_of = 1759280400; /* 2025-10-01T08:00:00+07:00 */
    plain.counts.resolved = 246821;
    plain.counts.resolved_on_time = 244695;
    plain.counts.resolved_late = 2126;
    plain.counts.open_overdue = 583;

    /* #5: 244,695 on time of 247,404 judged (population D) x 20 =
     * 19.7810... -> 19.78, lost 0.22. #8: 49 / 100 at T 0.5 -> 5.88, lost 0.12. #19: no feedback
     * -> 6, rate null. Everything else is not supplied: 0 points, nulls.
     * Total 19.7810 + 5.88 + 6 = 31.6610 -> 31.66. */
    chiso_score_input_init(&in);
    in.n[CHISO_SF_JUDGED] = 247404;
    in.n[CHISO_SF_JUDGED_ON_TIME] = 244695;
    in.n[CHISO_SF_RECEIVED] = 100;
    in.n[CHISO_SF_ONLINE] = 49;
    in.n[CHISO_SF_FEEDBACK_RECEIVED] = 0;
    in.n[CHISO_SF_FEEDBACK_ANSWERED_ON_TIME] = 0;
    CHECK_EQ_INT(chiso_score_compute(chiso_score_rules_find("766-2022-dvcqg"), &in, &sc), 0,
                 "compute");
    s = plain;
    s.score = &sc;
    s.rank = 3;
    s.rank_of = 20;

    text = chiso_snapshot_render(&s);
    root = text ? cJSON_Parse(text) : NULL;
    bare = chiso_snapshot_to_json(&plain);
    CHECK(root && bare, "both snapshots build");
    if (!root || !bare) {
        cJSON_Delete(root);
        goto out;
    }
    check_members(root, top, sizeof(top) / sizeof(top[0]), "snapshot with a score");
    /* The fields of a snapshot without a score are there, unchanged. */
    for (it = bare->child; it; it = it->next)
        CHECK(cJSON_Compare(it, cJSON_GetObjectItemCaseSensitive(root, it->string), 1),
              "'%s' unchanged by the score", it->string);
    CHECK_EQ_STR(str(root, "rules"), "766-2022-dvcqg");

    arr = cJSON_GetObjectItemCaseSensitive(root, "indicators");
    CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 21, "21 indicators");
    for (int i = 0; i < cJSON_GetArraySize(arr); i++) {
        o = cJSON_GetArrayItem(arr, i);
        check_members(o, ind_members, 10, "indicator");
        CHECK(num(o, "id") == i + 1, "indicator %d in order", i + 1);
        CHECK(str(o, "name") && str(o, "name")[0], "indicator %d named", i + 1);
        CHECK(num(o, "points") + num(o, "lost") == num(o, "max"), "#%d points + lost = max", i + 1);
    }
    o = cJSON_GetArrayItem(arr, 4); /* #5 */
    CHECK(num(o, "num") == 244695 && num(o, "den") == 247404, "#5 num, den");
    CHECK(num(o, "rate") == 244695.0 / 247404.0, "#5 rate at full precision");
    CHECK(num(o, "points") == 19.78 && num(o, "max") == 20 && num(o, "lost") == 0.22,
          "#5 points %g lost %g", num(o, "points"), num(o, "lost"));
    CHECK(strstr(text, "\"points\":19.78,\"max\":20,\"lost\":0.22,\"need\":2709,\"gain\":0.22}") !=
              NULL,
          "2 decimals in the text; 247,404 - 244,695 = 2,709 more on time for full points");
    CHECK_EQ_STR(str(o, "name"), "Tỷ lệ hồ sơ xử lý đúng hạn");
    o = cJSON_GetArrayItem(arr, 7); /* #8 */
    CHECK(num(o, "points") == 5.88 && num(o, "lost") == 0.12, "#8 5.88");
    CHECK(num(o, "need") == 1 && num(o, "gain") == 0.12, "#8: one more online dossier, 0.12");
    o = cJSON_GetArrayItem(arr, 0); /* #1: not supplied */
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "num")) &&
              cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "den")) &&
              cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "rate")),
          "#1 num, den, rate null");
    CHECK(num(o, "points") == 0 && num(o, "max") == 6 && num(o, "lost") == 6, "#1 0 of 6");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "need")) &&
              cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "gain")),
          "#1: nothing to grow, need and gain null");
    o = cJSON_GetArrayItem(arr, 18); /* #19: no feedback */
    CHECK(num(o, "num") == 0 && num(o, "den") == 0, "#19 0 / 0");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "rate")), "#19 rate null");
    CHECK(num(o, "points") == 6 && num(o, "lost") == 0, "#19 full points");
    CHECK(num(o, "need") == 0 && num(o, "gain") == 0, "#19 nothing to win");

    arr = cJSON_GetObjectItemCaseSensitive(root, "groups");
    CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 5, "5 groups");
    for (int i = 0; i < cJSON_GetArraySize(arr); i++) {
        check_members(cJSON_GetArrayItem(arr, i), group_members, 4, "group");
        CHECK(num(cJSON_GetArrayItem(arr, i), "id") == i + 1, "group %d in order", i + 1);
    }
    o = cJSON_GetArrayItem(arr, 1);
    CHECK(num(o, "points") == 19.78 && num(o, "max") == 20, "group II");
    CHECK_EQ_STR(str(o, "name"), "Tiến độ, kết quả giải quyết");
    o = cJSON_GetArrayItem(arr, 4);
    CHECK(num(o, "points") == 6 && num(o, "max") == 18, "group V: #19 only");
    arr = cJSON_GetObjectItemCaseSensitive(root, "groups6");
    CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 6, "6 groups");
    o = cJSON_GetArrayItem(arr, 2);
    CHECK(num(o, "points") == 5.88 && num(o, "max") == 12, "online service: #8 only");
    o = cJSON_GetArrayItem(arr, 3);
    CHECK(num(o, "points") == 0 && num(o, "max") == 10, "online payment: nothing supplied");
    CHECK_EQ_STR(str(o, "name"), "Thanh toán trực tuyến");
    CHECK(num(root, "total") == 31.66, "total %g", num(root, "total"));
    CHECK(num(root, "rank") == 3 && num(root, "rank_of") == 20, "rank 3 of 20");
    cJSON_Delete(root);

    /* Not ranked: rank and rank_of null. Another rule set: its name. */
    chiso_score_rules custom = *sc.rules;
    custom.name = "test-rules";
    sc.rules = &custom;
    s.rank = s.rank_of = 0;
    root = chiso_snapshot_to_json(&s);
    CHECK(root != NULL, "unranked builds");
    if (root) {
        CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "rank")) &&
                  cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "rank_of")),
              "rank null");
        CHECK_EQ_STR(str(root, "rules"), "test-rules");
        cJSON_Delete(root);
    }

    /* The fingerprint covers the score, not as_of. */
    uint64_t fp = chiso_snapshot_fingerprint(&s);
    CHECK(fp != 0 && fp != chiso_snapshot_fingerprint(&plain), "a score is a change");
    s.as_of += 60;
    CHECK(chiso_snapshot_fingerprint(&s) == fp, "as_of alone is not a change");
    sc.ind[0].points = 1;
    CHECK(chiso_snapshot_fingerprint(&s) != fp, "a point is a change");
    s.rank = 1;
    s.rank_of = 1;
    CHECK(chiso_snapshot_fingerprint(&s) != fp, "a rank is a change");

    /* One rendering, both results: the text of render() and the
     * fingerprint of fingerprint(), whatever as_of is. */
    for (int k = 0; k < 3; k++) {
        uint64_t both = 0;
        s.as_of += 86400 * 40 + 7;
        char *text = chiso_snapshot_render_fp(&s, &both), *alone = chiso_snapshot_render(&s);
        CHECK(text && alone && strcmp(text, alone) == 0, "render_fp renders what render does");
        CHECK(both != 0 && both == chiso_snapshot_fingerprint(&s),
              "render_fp's fingerprint is fingerprint()'s (as_of %lld)", (long long)s.as_of);
        free(text);
        free(alone);
    }
    uint64_t plain_fp = 0;
    char *plain_text = chiso_snapshot_render_fp(&plain, &plain_fp);
    CHECK(plain_text && plain_fp == chiso_snapshot_fingerprint(&plain),
          "render_fp's fingerprint without a score");
    free(plain_text);

    /* A score without rules builds nothing. */
    sc.rules = NULL;
    CHECK(chiso_snapshot_to_json(&s) == NULL && chiso_snapshot_render(&s) == NULL,
          "score without rules");
out:
    cJSON_Delete(bare);
    free(text);
}

int main(void)
{
    test_gap();
    test_counts_set_add();
    test_cum_fields();
    test_open();
    test_json();
    test_fingerprint();
    test_score_json();
    return CHECK_DONE();
}
