/*
 * wall_http.c - routing, method, token and argument rules of the wall
 * (wall_http.h). Pure functions of their arguments.
 *
 * The route table is exact: a path is either one of the fixed API paths,
 * "/api/units/" followed by one unit code, or one asset name segment.
 */
#include "wall_http.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "chiso/common.h"

static const struct {
    const char *path;
    chiso_wall_route_id id;
} fixed_routes[] = {
    {"/healthz", CHISO_WALL_HEALTHZ},     {"/metrics", CHISO_WALL_METRICS},
    {"/events", CHISO_WALL_EVENTS},       {"/api/province", CHISO_WALL_API_PROVINCE},
    {"/api/units", CHISO_WALL_API_UNITS}, {"/api/alerts", CHISO_WALL_API_ALERTS},
    {"/api/today", CHISO_WALL_API_TODAY}, {"/api/periods", CHISO_WALL_API_PERIODS},
    {"/api/trend", CHISO_WALL_API_TREND},
};

#define UNIT_PREFIX  "/api/units/"
#define TREND_PREFIX "/api/trend/"
#define UNIT_MAX_LEN 32

static bool code_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* 1..max characters, all code_char. */
static bool code_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (n >= max || !code_char(s[n]))
            return false;
    }
    return n > 0;
}

chiso_wall_route_id chiso_wall_route_path(const char *path, chiso_wall_route *out)
{
    out->id = CHISO_WALL_NOT_FOUND;
    out->arg[0] = '\0';
    if (!path || path[0] != '/')
        return out->id;
    for (size_t i = 0; i < sizeof(fixed_routes) / sizeof(fixed_routes[0]); i++) {
        if (strcmp(path, fixed_routes[i].path) == 0)
            return out->id = fixed_routes[i].id;
    }
    static const struct {
        const char *prefix;
        chiso_wall_route_id id;
    } unit_routes[] = {{UNIT_PREFIX, CHISO_WALL_API_UNIT}, {TREND_PREFIX, CHISO_WALL_API_TREND}};
    for (size_t i = 0; i < sizeof(unit_routes) / sizeof(unit_routes[0]); i++) {
        size_t plen = strlen(unit_routes[i].prefix);
        if (strncmp(path, unit_routes[i].prefix, plen) != 0)
            continue;
        if (!code_ok(path + plen, UNIT_MAX_LEN))
            return out->id;
        snprintf(out->arg, sizeof(out->arg), "%s", path + plen);
        return out->id = unit_routes[i].id;
    }
    if (path[1] == '\0') {
        snprintf(out->arg, sizeof(out->arg), "index.html");
        return out->id = CHISO_WALL_ASSET;
    }
    if (path[1] == '.' || !code_ok(path + 1, CHISO_WALL_ARG_MAX - 1))
        return out->id;
    snprintf(out->arg, sizeof(out->arg), "%s", path + 1);
    return out->id = CHISO_WALL_ASSET;
}

bool chiso_wall_method_allowed(const char *method)
{
    return method && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
}

bool chiso_wall_auth_ok(const char *authorization, const char *token)
{
    return !token || !*token || chiso_bearer_ok(authorization, token);
}

int chiso_wall_period_arg(const char *value, char out[CHISO_PERIOD_STRLEN])
{
    chiso_period p;
    char canon[CHISO_PERIOD_STRLEN];

    if (!value || chiso_period_parse(value, &p) != 0 || p.kind == CHISO_PERIOD_DAY)
        return CHISO_EINVAL;
    chiso_period_key(p.first_day, p.kind, canon);
    if (strcmp(canon, value) != 0)
        return CHISO_EINVAL;
    memcpy(out, canon, sizeof(canon));
    return 0;
}

int chiso_wall_count_arg(const char *value, int def, int max)
{
    int64_t n = 0;

    if (!value || !*value)
        return def;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9' || p - value >= 9)
            return CHISO_EINVAL;
        n = n * 10 + (*p - '0');
    }
    return n >= 1 && n <= max ? (int)n : CHISO_EINVAL;
}
