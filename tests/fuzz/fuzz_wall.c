/*
 * fuzz_wall.c - libFuzzer target for what the monitoring wall takes from
 * outside: request paths, the Authorization header, the period and count
 * query arguments (wall_http.h), snapshots and alerts from the topics
 * (wall_json.h), and the SSE framing of data (wall_sse.h).
 *
 * The first byte picks the function; the rest is its input. Properties:
 *   route    an asset names one segment of safe characters that is not
 *            hidden (nothing can leave the asset table); a unit route's
 *            code is exactly what follows /api/units/ (or /api/trend/:
 *            /api/trend alone is the province's trend, without a code)
 *   auth     a passing header carries exactly the token
 *   period   an accepted period is canonical and not a day
 *   count    an accepted count is within 1..max
 *   snapshot an accepted snapshot's row names its unit and period, and
 *            prints to JSON that parses back
 *   alert    an accepted alert has a unit code
 *   sse      parsing the frame back as a browser does gives the data with
 *            its line endings turned into \n
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chiso/common.h"
#include "wall_http.h"
#include "chiso/wall_json.h"
#include "wall_sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool safe_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static void fuzz_route(const char *s)
{
    chiso_wall_route r;
    chiso_wall_route_id id = chiso_wall_route_path(s, &r);

    if (id != r.id)
        abort();
    if (id == CHISO_WALL_ASSET) {
        if (r.arg[0] == '.' || r.arg[0] == '\0')
            abort();
        for (const char *p = r.arg; *p; p++) {
            if (!safe_char(*p))
                abort();
        }
        if (strcmp(s, "/") != 0 && strcmp(s + 1, r.arg) != 0)
            abort();
    } else if (id == CHISO_WALL_API_UNIT) {
        if (strncmp(s, "/api/units/", 11) != 0 || strcmp(s + 11, r.arg) != 0 ||
            strlen(r.arg) > 32 || strchr(r.arg, '/'))
            abort();
    } else if (id == CHISO_WALL_API_TREND) {
        /* the province's ("/api/trend", no arg) or a unit's */
        bool province = strcmp(s, "/api/trend") == 0 && r.arg[0] == '\0';
        bool unit = strncmp(s, "/api/trend/", 11) == 0 && strcmp(s + 11, r.arg) == 0 && r.arg[0] &&
                    strlen(r.arg) <= 32 && !strchr(r.arg, '/');
        if (!province && !unit)
            abort();
    } else if (r.arg[0] != '\0') {
        abort();
    }
}

static void fuzz_auth(const char *s)
{
    const char *nl = strchr(s, '\n');
    char header[512];
    const char *token = nl ? nl + 1 : "";
    size_t hlen = nl ? (size_t)(nl - s) : strlen(s);
    const char *given;

    if (hlen >= sizeof(header))
        return;
    memcpy(header, s, hlen);
    header[hlen] = '\0';
    if (!chiso_wall_auth_ok(header, token) || !*token)
        return;
    /* passed with a token: the header is "Bearer" + spaces + the token */
    if (strncasecmp(header, "Bearer ", 7) != 0)
        abort();
    given = header + 7;
    while (*given == ' ')
        given++;
    if (strcmp(given, token) != 0)
        abort();
}

static void fuzz_period(const char *s)
{
    char out[CHISO_PERIOD_STRLEN];
    chiso_period p;

    if (chiso_wall_period_arg(s, out) != 0)
        return;
    if (strcmp(out, s) != 0 || chiso_period_parse(out, &p) != 0 || p.kind == CHISO_PERIOD_DAY)
        abort();
}

static void fuzz_count(const char *s)
{
    int n = chiso_wall_count_arg(s, 50, 200);
    if (n != CHISO_EINVAL && (n < 1 || n > 200))
        abort();
}

static void fuzz_snapshot(const char *s, size_t len)
{
    chiso_wall_snap snap;
    char err[256];
    const cJSON *u, *p;
    char *text;
    cJSON *back;

    if (chiso_wall_snap_parse(s, len, &snap, err, sizeof(err)) != 0) {
        if (err[0] == '\0' || snap.row || snap.name)
            abort();
        return;
    }
    u = cJSON_GetObjectItemCaseSensitive(snap.row, "unit");
    p = cJSON_GetObjectItemCaseSensitive(snap.row, "period");
    if (!cJSON_IsString(u) || strcmp(u->valuestring, snap.unit) != 0 || !cJSON_IsString(p) ||
        strcmp(p->valuestring, snap.period) != 0 || !snap.name)
        abort();
    text = cJSON_PrintUnformatted(snap.row);
    back = text ? cJSON_Parse(text) : NULL;
    if (!back)
        abort();
    cJSON_Delete(back);
    free(text);
    chiso_wall_snap_clear(&snap);
}

static void fuzz_alert(const char *s, size_t len)
{
    char unit[CHISO_WALL_UNIT_MAX], err[256];
    cJSON *a = chiso_wall_alert_parse(s, len, unit, err, sizeof(err));

    if (!a) {
        if (err[0] == '\0')
            abort();
        return;
    }
    if (unit[0] == '\0' || strlen(unit) >= CHISO_WALL_UNIT_MAX)
        abort();
    cJSON_Delete(a);
}

/* Parse one frame back as the EventSource parser does: the data lines
 * joined with \n. */
static void fuzz_sse(const char *s)
{
    chiso_wall_sseq *q = chiso_wall_sseq_new(1 << 20);
    size_t len = strlen(s), cap = 8 * len + 64, n, k = 0; /* "data: \n" per line at most */
    char *frame = malloc(cap + 1), *want = malloc(len + 1), *got = malloc(cap + 1);
    size_t gl = 0;
    bool first = true;

    if (!q || !frame || !want || !got)
        abort();
    if (chiso_wall_sseq_event(q, "scores", s) != 0)
        abort();
    n = chiso_wall_sseq_take(q, frame, cap);
    frame[n] = '\0';
    if (chiso_wall_sseq_pending(q) != 0 || n < 2 || frame[n - 1] != '\n' || frame[n - 2] != '\n')
        abort();
    /* expected: CR LF and lone CR become LF */
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r') {
            want[k++] = '\n';
            if (s[i + 1] == '\n')
                i++;
        } else {
            want[k++] = s[i];
        }
    }
    want[k] = '\0';
    /* the browser's way: lines end at LF (our frames use LF only) */
    for (char *line = frame, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end)
            abort();
        *end = '\0';
        if (strncmp(line, "data: ", 6) == 0) {
            if (!first)
                got[gl++] = '\n';
            first = false;
            size_t ll = strlen(line + 6);
            memcpy(got + gl, line + 6, ll);
            gl += ll;
        } else if (*line && strcmp(line, "event: scores") != 0) {
            abort(); /* a line that is neither data nor the event name */
        }
    }
    got[gl] = '\0';
    if (strcmp(got, want) != 0)
        abort();
    chiso_wall_sseq_destroy(q);
    free(frame);
    free(want);
    free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;

    if (size < 1 || size > 65536)
        return 0;
    /* the C-string functions get the input up to its first NUL */
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 7) {
    case 0:
        fuzz_route(s);
        break;
    case 1:
        fuzz_auth(s);
        break;
    case 2:
        fuzz_period(s);
        break;
    case 3:
        fuzz_count(s);
        break;
    case 4:
        fuzz_snapshot(s, size - 1);
        break;
    case 5:
        fuzz_alert(s, size - 1);
        break;
    default:
        fuzz_sse(s);
        break;
    }
    free(s);
    return 0;
}
