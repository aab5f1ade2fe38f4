/*
 * test_wall.c - the monitoring wall's pure logic: routing (no path leads
 * outside the route table), the read-only method rule, the bearer-token
 * check, the period and count arguments, snapshots to ranking rows (the
 * topic's numbers copied bit for bit; the on-time rate is indicator #5's,
 * never the report's `on_time`), alert checks, the period order, and
 * the bounded Server-Sent Events queue (framing, overflow drops the client
 * for good).
 */
#include "wall_http.h"
#include "chiso/wall_json.h"
#include "wall_sse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "check.h"

static void test_routes(void)
{
    static const struct {
        const char *path;
        chiso_wall_route_id id;
        const char *arg;
    } cases[] = {
        {"/", CHISO_WALL_ASSET, "index.html"},
        {"/index.html", CHISO_WALL_ASSET, "index.html"},
        {"/wall.js", CHISO_WALL_ASSET, "wall.js"},
        {"/wall.css", CHISO_WALL_ASSET, "wall.css"},
        {"/healthz", CHISO_WALL_HEALTHZ, ""},
        {"/metrics", CHISO_WALL_METRICS, ""},
        {"/events", CHISO_WALL_EVENTS, ""},
        {"/api/province", CHISO_WALL_API_PROVINCE, ""},
        {"/api/units", CHISO_WALL_API_UNITS, ""},
        {"/api/units/000.00.09.H31", CHISO_WALL_API_UNIT, "000.00.09.H31"},
        {"/api/units/HY-STP", CHISO_WALL_API_UNIT, "HY-STP"},
        {"/api/alerts", CHISO_WALL_API_ALERTS, ""},
        {"/api/today", CHISO_WALL_API_TODAY, ""},
        {"/api/periods", CHISO_WALL_API_PERIODS, ""},
        {"/api/trend", CHISO_WALL_API_TREND, ""},
        {"/api/trend/000.00.09.H31", CHISO_WALL_API_TREND, "000.00.09.H31"},
        /* nothing else, and never a way out of the table */
        {"", CHISO_WALL_NOT_FOUND, ""},
        {"index.html", CHISO_WALL_NOT_FOUND, ""},
        {"/../etc/passwd", CHISO_WALL_NOT_FOUND, ""},
        {"/..", CHISO_WALL_NOT_FOUND, ""},
        {"/.hidden", CHISO_WALL_NOT_FOUND, ""},
        {"/web/index.html", CHISO_WALL_NOT_FOUND, ""},
        {"/wall.js/", CHISO_WALL_NOT_FOUND, ""},
        {"/wall.js/../../etc/passwd", CHISO_WALL_NOT_FOUND, ""},
        {"//etc/passwd", CHISO_WALL_NOT_FOUND, ""},
        {"/a\\b", CHISO_WALL_NOT_FOUND, ""},
        {"/%2e%2e", CHISO_WALL_NOT_FOUND, ""},
        {"/api/units/", CHISO_WALL_NOT_FOUND, ""},
        {"/api/units/a/b", CHISO_WALL_NOT_FOUND, ""},
        {"/api/units/../../x", CHISO_WALL_NOT_FOUND, ""},
        {"/api/units/123456789012345678901234567890123", CHISO_WALL_NOT_FOUND, ""}, /* 33 */
        {"/api/units/x y", CHISO_WALL_NOT_FOUND, ""},
        {"/api/trend/", CHISO_WALL_NOT_FOUND, ""},
        {"/api/trend/a/b", CHISO_WALL_NOT_FOUND, ""},
        {"/api/trend/../x", CHISO_WALL_NOT_FOUND, ""},
        {"/api/province/", CHISO_WALL_NOT_FOUND, ""},
        {"/healthz/", CHISO_WALL_NOT_FOUND, ""},
        {"/HEALTHZ", CHISO_WALL_ASSET, "HEALTHZ"}, /* a name; not in the asset table: 404 */
    };
    chiso_wall_route r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ_INT(chiso_wall_route_path(cases[i].path, &r), cases[i].id, "route of '%s'",
                     cases[i].path);
        CHECK_EQ_INT(r.id, cases[i].id, "route id of '%s'", cases[i].path);
        CHECK_EQ_STR(r.arg, cases[i].arg);
    }
    CHECK_EQ_INT(chiso_wall_route_path(NULL, &r), CHISO_WALL_NOT_FOUND, "NULL path");
    /* a unit of exactly 32 characters is a unit */
    CHECK_EQ_INT(chiso_wall_route_path("/api/units/12345678901234567890123456789012", &r),
                 CHISO_WALL_API_UNIT, "32 characters");
    char longname[200] = "/";
    memset(longname + 1, 'a', 100);
    CHECK_EQ_INT(chiso_wall_route_path(longname, &r), CHISO_WALL_NOT_FOUND, "asset name too long");
}

static void test_methods(void)
{
    CHECK(chiso_wall_method_allowed("GET"), "GET");
    CHECK(chiso_wall_method_allowed("HEAD"), "HEAD");
    static const char *const refused[] = {"POST", "PUT", "DELETE", "PATCH",  "OPTIONS",
                                          "get",  "",    "TRACE",  "CONNECT"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        CHECK(!chiso_wall_method_allowed(refused[i]), "%s refused", refused[i]);
    CHECK(!chiso_wall_method_allowed(NULL), "NULL refused");
}

static void test_auth(void)
{
    static const struct {
        const char *header, *token;
        bool ok;
    } cases[] = {
        {NULL, NULL, true},
        {NULL, "", true},
        {"anything", NULL, true},
        {NULL, "s3cret", false},
        {"", "s3cret", false},
        {"Bearer s3cret", "s3cret", true},
        {"bearer s3cret", "s3cret", true},
        {"BEARER s3cret", "s3cret", true},
        {"Bearer   s3cret", "s3cret", true},
        {"Bearer s3cre", "s3cret", false},
        {"Bearer s3cretx", "s3cret", false},
        {"Bearer S3cret", "s3cret", false},
        {"Bearer ", "s3cret", false},
        {"Basic czNjcmV0", "s3cret", false},
        {"s3cret", "s3cret", false},
        {"Bearers3cret", "s3cret", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK(chiso_wall_auth_ok(cases[i].header, cases[i].token) == cases[i].ok,
              "auth '%s' with token '%s'", cases[i].header ? cases[i].header : "(none)",
              cases[i].token ? cases[i].token : "(none)");
}

static void test_args(void)
{
    static const struct {
        const char *value;
        int rc;
    } periods[] = {
        {"2025-07", 0},   {"2025-Q3", 0},     {"2025", 0},     {"2025-12", 0},   {"2025-Q1", 0},
        {"2025-7", -1},   {"2025-07-01", -1}, {"2025-13", -1}, {"2025-Q5", -1},  {"2025-q3", -1},
        {"", -1},         {"20250", -1},      {"abcd", -1},    {"2025-00", -1},  {"../x", -1},
        {"2025-07 ", -1}, {" 2025", -1},      {NULL, -1},      {"2025-Q3x", -1},
    };
    char out[CHISO_PERIOD_STRLEN];
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        int rc = chiso_wall_period_arg(periods[i].value, out);
        CHECK_EQ_INT(rc == 0 ? 0 : -1, periods[i].rc, "period '%s'",
                     periods[i].value ? periods[i].value : "(null)");
        if (rc == 0)
            CHECK_EQ_STR(out, periods[i].value);
    }

    static const struct {
        const char *value;
        int want;
    } counts[] = {
        {NULL, 50}, {"", 50},   {"1", 1},    {"200", 200},        {"201", CHISO_EINVAL},
        {"0", -1},  {"-1", -1}, {"1e3", -1}, {"12345678901", -1}, {"07", 7},
        {" 5", -1}, {"5 ", -1}, {"abc", -1}, {"999999999", -1},
    };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        int got = chiso_wall_count_arg(counts[i].value, 50, 200);
        CHECK_EQ_INT(got < 0 ? -1 : got, counts[i].want < 0 ? -1 : counts[i].want, "count '%s'",
                     counts[i].value ? counts[i].value : "(null)");
    }
}

static const char SNAPSHOT[] =
    "{\"v\":1,\"unit\":\"000.00.09.H31\",\"unit_name\":\"Sở Nội vụ\",\"kind\":\"department\","
    "\"parent\":\"000.00.00.H31\",\"period\":\"2025-07\",\"period_kind\":\"month\","
    "\"as_of\":\"2025-07-20T17:30:00+07:00\",\"rules\":\"766-2022-dvcqg\","
    "\"counts\":{\"received\":267922,\"received_online\":240427,\"resolved\":246821,"
    "\"resolved_on_time\":244695,\"resolved_late\":2126,\"full_process\":1,\"open\":9848,"
    "\"open_overdue\":583,\"judged\":267922,\"judged_on_time\":265213},"
    "\"full_process\":{\"rate\":0.72491909385113273,\"target\":0.7,\"gap\":12},"
    "\"on_time\":{\"rate\":0.99138648088128887},\"online\":{\"rate\":0.9},"
    "\"indicators\":[{\"id\":4,\"num\":null,\"den\":267922,\"rate\":null,\"points\":0,"
    "\"max\":6,\"lost\":6,\"need\":null,\"gain\":null},"
    "{\"id\":5,\"name\":\"Tỷ lệ hồ sơ xử lý đúng hạn\",\"num\":265213,\"den\":267922,"
    "\"rate\":0.989888848246878,\"points\":19.8,\"max\":20,\"lost\":0.2,\"need\":2709,"
    "\"gain\":0.2}],"
    "\"total\":74.88,\"rank\":20,\"rank_of\":34}";

static double row_num(const cJSON *row, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static bool row_null(const cJSON *row, const char *name)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(row, name));
}

static void test_snapshots(void)
{
    chiso_wall_snap s;
    char err[256];

    CHECK_EQ_INT(chiso_wall_snap_parse(SNAPSHOT, strlen(SNAPSHOT), &s, err, sizeof(err)), 0,
                 "a snapshot parses: %s", err);
    CHECK_EQ_STR(s.unit, "000.00.09.H31");
    CHECK_EQ_STR(s.period, "2025-07");
    CHECK_EQ_STR(s.name, "Sở Nội vụ");
    CHECK(!s.province, "a department is not the province");
    /* copied bit for bit: the page shows the topic's numbers */
    CHECK(row_num(s.row, "total") == 74.88, "total");
    CHECK(row_num(s.row, "rank") == 20 && row_num(s.row, "rank_of") == 34, "rank");
    CHECK(row_num(s.row, "received") == 267922, "received");
    CHECK(row_num(s.row, "resolved") == 246821, "resolved");
    CHECK(row_num(s.row, "full_process") == 1, "full_process (the count, for the kinds' rates)");
    CHECK(row_num(s.row, "open") == 9848 && row_num(s.row, "open_overdue") == 583, "open");
    CHECK(row_num(s.row, "fp_rate") == 0.72491909385113273, "full-process rate");
    CHECK(row_num(s.row, "fp_target") == 0.7 && row_num(s.row, "fp_gap") == 12, "target, gap");
    /* on time: indicator #5's rate (population D), not the report's on_time */
    CHECK(row_num(s.row, "on_time_rate") == 0.989888848246878, "on-time rate is #5's: %.17g",
          row_num(s.row, "on_time_rate"));
    char *text = cJSON_PrintUnformatted(s.row);
    cJSON *back = cJSON_Parse(text);
    CHECK(row_num(back, "fp_rate") == 0.72491909385113273, "printed rate round-trips: %s", text);
    CHECK(strstr(text, "\"unit_name\":\"Sở Nội vụ\"") != NULL, "name as UTF-8: %s", text);
    cJSON_Delete(back);
    free(text);
    chiso_wall_snap_clear(&s);

    /* an unscored snapshot: total and rank null, rates null when null */
    static const char bare[] =
        "{\"unit\":\"000.00.00.H31\",\"unit_name\":\"Tỉnh Hưng Yên\",\"kind\":\"province\","
        "\"period\":\"2025-Q3\",\"counts\":{\"received\":0},"
        "\"full_process\":{\"rate\":null,\"target\":0.7,\"gap\":0},\"on_time\":{\"rate\":null}}";
    CHECK_EQ_INT(chiso_wall_snap_parse(bare, strlen(bare), &s, err, sizeof(err)), 0, "%s", err);
    CHECK(s.province, "kind province");
    CHECK(row_null(s.row, "total") && row_null(s.row, "rank") && row_null(s.row, "fp_rate") &&
              row_null(s.row, "on_time_rate") && row_null(s.row, "as_of") &&
              row_null(s.row, "open"),
          "absent members are null");
    chiso_wall_snap_clear(&s);

    /* #5 found by its id wherever it stands; null when it has no number */
    static const struct {
        const char *indicators;
        double rate; /* NAN: null */
    } ontime[] = {
        {"[{\"id\":21,\"rate\":0.5},{\"id\":5,\"rate\":0.25},{\"id\":1,\"rate\":1}]", 0.25},
        {"[{\"id\":5,\"rate\":1}]", 1},
        {"[{\"id\":5,\"rate\":0}]", 0},
        {"[{\"id\":5,\"rate\":null,\"need\":null}]", NAN},
        {"[{\"id\":5}]", NAN},
        {"[{\"id\":5,\"rate\":\"0.9\"}]", NAN},
        {"[{\"id\":\"5\",\"rate\":0.9}]", NAN},
        {"[{\"id\":4,\"rate\":0.9},{\"id\":6,\"rate\":0.8}]", NAN},
        {"[5,null,[]]", NAN},
        {"[]", NAN},
        {"{\"id\":5,\"rate\":0.9}", NAN},
        {"null", NAN},
    };
    for (size_t i = 0; i < sizeof(ontime) / sizeof(ontime[0]); i++) {
        char doc[512];
        snprintf(doc, sizeof(doc),
                 "{\"unit\":\"U\",\"unit_name\":\"n\",\"kind\":\"commune\",\"period\":\"2025-07\","
                 "\"counts\":{},\"on_time\":{\"rate\":0.75},\"indicators\":%s}",
                 ontime[i].indicators);
        CHECK_EQ_INT(chiso_wall_snap_parse(doc, strlen(doc), &s, err, sizeof(err)), 0, "%s: %s",
                     doc, err);
        if (isnan(ontime[i].rate))
            CHECK(row_null(s.row, "on_time_rate"), "no #5 rate, null (never on_time): %s", doc);
        else
            CHECK(row_num(s.row, "on_time_rate") == ontime[i].rate, "#5's rate: %s", doc);
        chiso_wall_snap_clear(&s);
    }

    /* the lookup itself, as chiso-top uses it */
    cJSON *doc = cJSON_Parse(SNAPSHOT);
    const cJSON *five = chiso_wall_indicator(doc, CHISO_WALL_ONTIME_INDICATOR);
    CHECK(CHISO_WALL_ONTIME_INDICATOR == 5, "the on-time indicator is #5");
    CHECK(five && row_num(five, "num") == 265213 && row_num(five, "den") == 267922 &&
              row_num(five, "need") == 2709,
          "#5 found");
    CHECK(chiso_wall_indicator(doc, 4) && row_null(chiso_wall_indicator(doc, 4), "rate"), "#4");
    CHECK(chiso_wall_indicator(doc, 6) == NULL && chiso_wall_indicator(doc, 0) == NULL,
          "absent ids: NULL");
    CHECK(chiso_wall_indicator(NULL, 5) == NULL, "no snapshot: NULL");
    CHECK(chiso_wall_indicator(cJSON_GetObjectItemCaseSensitive(doc, "indicators"), 5) == NULL,
          "an array is not a snapshot");
    cJSON_Delete(doc);

    static const char *const bad[] = {
        "",
        "[]",
        "{\"unit\":\"U\"",
        "{\"unit_name\":\"n\",\"kind\":\"commune\",\"period\":\"2025-07\",\"counts\":{}}",
        "{\"unit\":\"U\",\"unit_name\":\"n\",\"kind\":\"commune\",\"counts\":{}}",
        "{\"unit\":\"U\",\"unit_name\":\"n\",\"kind\":\"commune\",\"period\":\"2025-07-01\","
        "\"counts\":{}}",
        "{\"unit\":\"U\",\"unit_name\":\"n\",\"kind\":\"commune\",\"period\":\"July\","
        "\"counts\":{}}",
        "{\"unit\":\"U\",\"unit_name\":\"n\",\"kind\":\"commune\",\"period\":\"2025-07\"}",
        "{\"unit\":\"U\",\"unit_name\":\"n\",\"kind\":\"commune\",\"period\":\"2025-07\","
        "\"counts\":[]}",
        "{\"unit\":7,\"unit_name\":\"n\",\"kind\":\"commune\",\"period\":\"2025-07\","
        "\"counts\":{}}",
        "{\"unit\":\"\",\"unit_name\":\"n\",\"kind\":\"commune\",\"period\":\"2025-07\","
        "\"counts\":{}}",
        "{\"unit\":\"U\",\"unit_name\":\"n\",\"period\":\"2025-07\",\"counts\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK_EQ_INT(chiso_wall_snap_parse(bad[i], strlen(bad[i]), &s, err, sizeof(err)),
                     CHISO_EINVAL, "refused: %s", bad[i]);
        CHECK(err[0] != '\0' && s.row == NULL && s.name == NULL, "a reason, nothing kept: %s",
              bad[i]);
    }
    /* not NUL-terminated: only len bytes are read */
    char cut[sizeof(SNAPSHOT) + 8];
    memcpy(cut, SNAPSHOT, sizeof(SNAPSHOT) - 1);
    memcpy(cut + sizeof(SNAPSHOT) - 1, "garbage!", 8);
    CHECK_EQ_INT(chiso_wall_snap_parse(cut, sizeof(SNAPSHOT) - 1, &s, err, sizeof(err)), 0,
                 "length-bounded: %s", err);
    chiso_wall_snap_clear(&s);
}

static void test_alerts(void)
{
    char unit[CHISO_WALL_UNIT_MAX], err[256];
    static const char ok[] = "{\"v\":1,\"unit\":\"000.31.01.H31\",\"dossier_id\":\"H31-250701-7\","
                             "\"kind\":\"overdue\",\"due_day\":\"2025-07-01\"}";
    cJSON *a = chiso_wall_alert_parse(ok, strlen(ok), unit, err, sizeof(err));
    CHECK(a != NULL, "an alert parses: %s", err);
    CHECK_EQ_STR(unit, "000.31.01.H31");
    cJSON_Delete(a);
    static const char due[] = "{\"unit\":\"U\",\"dossier_id\":\"D\",\"kind\":\"due_soon\"}";
    a = chiso_wall_alert_parse(due, strlen(due), unit, err, sizeof(err));
    CHECK(a != NULL, "due_soon: %s", err);
    cJSON_Delete(a);
    static const char *const bad[] = {
        "null",
        "{\"unit\":\"U\",\"dossier_id\":\"D\",\"kind\":\"late\"}",
        "{\"unit\":\"U\",\"dossier_id\":\"D\"}",
        "{\"unit\":\"U\",\"kind\":\"overdue\"}",
        "{\"dossier_id\":\"D\",\"kind\":\"overdue\"}",
        "{\"unit\":[],\"dossier_id\":\"D\",\"kind\":\"overdue\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        a = chiso_wall_alert_parse(bad[i], strlen(bad[i]), unit, err, sizeof(err));
        CHECK(a == NULL && err[0] != '\0', "refused with a reason: %s", bad[i]);
        cJSON_Delete(a);
    }
}

static void test_period_order(void)
{
    const char *keys[] = {"2025",    "2025-06", "2025-Q2", "bogus",
                          "2025-07", "2024",    "2025-Q3", "2024-12"};
    const char *want[] = {"2025-07", "2025-06", "2024-12", "2025-Q3",
                          "2025-Q2", "2025",    "2024",    "bogus"};
    qsort(keys, sizeof(keys) / sizeof(keys[0]), sizeof(keys[0]), chiso_wall_period_cmp);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        CHECK_EQ_STR(keys[i], want[i]);
}

/* The periods of a trend, and its points. */
static void test_trend(void)
{
    char keys[12][CHISO_PERIOD_STRLEN];
    CHECK_EQ_INT(chiso_wall_trend_periods("2025-07", CHISO_PERIOD_MONTH, 12, keys), 12, "months");
    CHECK_EQ_STR(keys[0], "2024-08");
    CHECK_EQ_STR(keys[5], "2025-01");
    CHECK_EQ_STR(keys[11], "2025-07");
    /* a quarter or a year ends with its last month */
    CHECK_EQ_INT(chiso_wall_trend_periods("2025-Q3", CHISO_PERIOD_MONTH, 3, keys), 3, "months");
    CHECK_EQ_STR(keys[0], "2025-07");
    CHECK_EQ_STR(keys[2], "2025-09");
    CHECK_EQ_INT(chiso_wall_trend_periods("2025", CHISO_PERIOD_MONTH, 1, keys), 1, "a year");
    CHECK_EQ_STR(keys[0], "2025-12");
    CHECK_EQ_INT(chiso_wall_trend_periods("2025-07", CHISO_PERIOD_QUARTER, 8, keys), 8, "quarters");
    CHECK_EQ_STR(keys[0], "2023-Q4");
    CHECK_EQ_STR(keys[4], "2024-Q4");
    CHECK_EQ_STR(keys[7], "2025-Q3");
    CHECK_EQ_INT(chiso_wall_trend_periods("2025-07-01", CHISO_PERIOD_MONTH, 2, keys), 2, "a day");
    CHECK_EQ_STR(keys[0], "2025-06");
    CHECK_EQ_INT(chiso_wall_trend_periods("2025-13", CHISO_PERIOD_MONTH, 2, keys), CHISO_EINVAL,
                 "a bad anchor");
    CHECK_EQ_INT(chiso_wall_trend_periods("2025-07", CHISO_PERIOD_YEAR, 2, keys), CHISO_EINVAL,
                 "years are not a trend");
    CHECK_EQ_INT(chiso_wall_trend_periods("2025-07", CHISO_PERIOD_MONTH, 0, keys), CHISO_EINVAL,
                 "no periods");

    cJSON *row = cJSON_Parse("{\"total\":81.5,\"fp_rate\":0.62,\"fp_target\":0.7,"
                             "\"on_time_rate\":null,\"as_of\":\"2025-08-01T00:00:00+07:00\","
                             "\"rank\":3}");
    cJSON *pt = chiso_wall_trend_point("2025-07", row);
    char *text = cJSON_PrintUnformatted(pt);
    CHECK_EQ_STR(text, "{\"period\":\"2025-07\",\"total\":81.5,\"fp_rate\":0.62,"
                       "\"fp_target\":0.7,\"on_time_rate\":null,"
                       "\"as_of\":\"2025-08-01T00:00:00+07:00\"}");
    free(text);
    cJSON_Delete(pt);
    pt = chiso_wall_trend_point("2025-06", NULL);
    text = cJSON_PrintUnformatted(pt);
    CHECK_EQ_STR(text, "{\"period\":\"2025-06\",\"total\":null,\"fp_rate\":null,"
                       "\"fp_target\":null,\"on_time_rate\":null,\"as_of\":null}");
    free(text);
    cJSON_Delete(pt);
    cJSON_Delete(row);
}

/* Everything the queue holds, as text. */
static void take_all(chiso_wall_sseq *q, char *out, size_t size)
{
    size_t n = chiso_wall_sseq_take(q, out, size - 1);
    out[n] = '\0';
}

static void test_sse(void)
{
    char out[1024];
    chiso_wall_sseq *q = chiso_wall_sseq_new(200);

    static const struct {
        const char *event, *data, *frame;
    } frames[] = {
        {"scores", "{\"a\":1}", "event: scores\ndata: {\"a\":1}\n\n"},
        /* every line ending the SSE parser knows becomes its own data line */
        {"x", "a\nb\r\nc\rd", "event: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n"},
        {"x", "", "event: x\ndata: \n\n"},
        {"x", "a\n", "event: x\ndata: a\ndata: \n\n"},
        {"hello_world", "\r\n\r\n", "event: hello_world\ndata: \ndata: \ndata: \n\n"},
    };
    CHECK(q != NULL, "a queue");
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        CHECK_EQ_INT(chiso_wall_sseq_event(q, frames[i].event, frames[i].data), 0, "frame %zu", i);
        take_all(q, out, sizeof(out));
        CHECK_EQ_STR(out, frames[i].frame);
    }
    static const char *const names[] = {"", "Hello", "a b", "a\nevent", "x1"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        CHECK_EQ_INT(chiso_wall_sseq_event(q, names[i], "{}"), CHISO_EINVAL, "name '%s'", names[i]);
    CHECK_EQ_INT(chiso_wall_sseq_pending(q), 0, "refused names append nothing");

    /* partial takes, and the queue keeps its order across compaction */
    CHECK_EQ_INT(chiso_wall_sseq_raw(q, "retry: 2000\n"), 0, "raw");
    CHECK_EQ_INT(chiso_wall_sseq_event(q, "ping", "{}"), 0, "ping");
    char part[8];
    size_t n = chiso_wall_sseq_take(q, part, 5);
    CHECK(n == 5 && memcmp(part, "retry", 5) == 0, "first 5 bytes");
    CHECK_EQ_INT(chiso_wall_sseq_event(q, "ping", "{}"), 0, "append after a partial take");
    take_all(q, out, sizeof(out));
    CHECK_EQ_STR(out, ": 2000\nevent: ping\ndata: {}\n\nevent: ping\ndata: {}\n\n");
    CHECK_EQ_INT(chiso_wall_sseq_take(q, part, sizeof(part)), 0, "empty");

    /* a client that does not read: the append past the limit drops it */
    int rc = 0, appended = 0;
    while ((rc = chiso_wall_sseq_event(q, "scores", "012345678901234567890123456789")) == 0)
        appended++;
    CHECK_EQ_INT(rc, CHISO_ERANGE, "overflow");
    CHECK_EQ_INT(appended, 3, "three 52-byte frames fit in 200 bytes");
    CHECK(chiso_wall_sseq_overflowed(q), "marked overflowed");
    CHECK_EQ_INT(chiso_wall_sseq_pending(q), 0, "its bytes are freed");
    CHECK_EQ_INT(chiso_wall_sseq_event(q, "ping", "{}"), CHISO_ERANGE, "dropped for good");
    CHECK_EQ_INT(chiso_wall_sseq_raw(q, "x"), CHISO_ERANGE, "raw too");
    chiso_wall_sseq_destroy(q);

    /* a client that keeps up is never dropped, however long it runs */
    q = chiso_wall_sseq_new(64);
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ_INT(chiso_wall_sseq_event(q, "today", "{\"received\":12345}"), 0, "turn %d", i);
        take_all(q, out, sizeof(out));
    }
    CHECK(!chiso_wall_sseq_overflowed(q), "never overflowed");
    /* one frame larger than the whole limit overflows at once */
    char big[100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ_INT(chiso_wall_sseq_event(q, "scores", big), CHISO_ERANGE, "frame over the limit");
    chiso_wall_sseq_destroy(q);
    CHECK(chiso_wall_sseq_new(0) == NULL, "limit 0 refused");
}

int main(void)
{
    test_routes();
    test_methods();
    test_auth();
    test_args();
    test_snapshots();
    test_alerts();
    test_period_order();
    test_trend();
    test_sse();
    return CHECK_DONE();
}
