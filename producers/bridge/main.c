/*
 * chiso-bridge - provincial one-stop systems feed chiso with the requests
 * they already send the national portal: DongBoHoSoMC dossier snapshots
 * and CapNhatTienDoHoSoMC progress steps, in either envelope (docs/bridge.md).
 *
 * Each snapshot is compared with what the bridge accepted before for the
 * same dossier (kept in Redis) and what appeared goes to dossier.events as
 * CONTRACT events (map.h); the answer is sent once Kafka has them
 * (ingest.h). With bridge.upstream.url, the bridge sits in the sync path:
 * each request is then forwarded unchanged to the portal and the portal's
 * answer returned (server.h, upstream.h).
 *
 * Life: read the configuration, connect to Redis and Kafka, serve. On
 * SIGTERM or SIGINT stop the server (the requests in progress finish),
 * flush and exit 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/config.h"
#include "chiso/kafka.h"
#include "chiso/metrics.h"
#include "chiso/redisx.h"
#include "chiso/runtime.h"
#include "ingest.h"
#include "server.h"
#include "upstream.h"

static int validate_channel(const char *value, char *errstr, size_t errstr_size)
{
    if (strcmp(value, "direct") == 0 || strcmp(value, "online") == 0 ||
        strcmp(value, "postal") == 0)
        return 0;
    snprintf(errstr, errstr_size, "must be direct, online or postal");
    return CHISO_EINVAL;
}

static int validate_time(const char *value, char *errstr, size_t errstr_size)
{
    if (strcmp(value, "arrival") == 0 || strcmp(value, "date-header") == 0)
        return 0;
    snprintf(errstr, errstr_size, "must be arrival or date-header");
    return CHISO_EINVAL;
}

static int validate_path(const char *value, char *errstr, size_t errstr_size)
{
    if (value[0] == '/' && strlen(value) < 128)
        return 0;
    snprintf(errstr, errstr_size, "must be a path starting with '/'");
    return CHISO_EINVAL;
}

static const chiso_cfg_def config_defs[] = {
    CHISO_KAFKA_CFG_DEFS,
    CHISO_REDIS_CFG_DEFS,
    {"http.bind", CHISO_CFG_STRING, "127.0.0.1",
     "address the bridge listens on (anything but loopback needs auth.token or auth.username)",
     NULL},
    {"http.port", CHISO_CFG_INT, "8095", "port the bridge listens on", chiso_cfg_listen_port},
    {"http.connections", CHISO_CFG_INT, "64", "connections at once (each has a thread)",
     chiso_cfg_positive},
    {"http.timeout.s", CHISO_CFG_INT, "30", "idle connection timeout, seconds", chiso_cfg_positive},
    {"bridge.body.max", CHISO_CFG_INT, "4194304", "largest request body, bytes (larger: 413)",
     chiso_cfg_positive},
    {"bridge.items.max", CHISO_CFG_INT, "1000",
     "most items in one request (more: the request is refused)", chiso_cfg_positive},
    {"auth.token", CHISO_CFG_STRING, NULL,
     "bearer token: requests may carry 'Authorization: Bearer <token>' (put it in a -c file)",
     NULL},
    {"auth.username", CHISO_CFG_STRING, NULL,
     "the login call's user name: when set, requests need a session from the login call (in "
     "the envelope's 'session') or the bearer token",
     NULL},
    {"auth.password", CHISO_CFG_STRING, NULL, "the login call's password (put it in a -c file)",
     NULL},
    {"auth.session.ttl.s", CHISO_CFG_INT, "86400", "how long a session is valid, seconds",
     chiso_cfg_positive},
    {"bridge.login.path", CHISO_CFG_STRING, "/login", "path of the login call", validate_path},
    {"bridge.unit.default", CHISO_CFG_STRING, NULL,
     "unit of items whose envelope names none and whose MaHoSo has no unit prefix (counted in "
     "chiso_bridge_guesses_total{what=\"unit_default\"}); unset: such items are refused",
     NULL},
    {"bridge.channel.default", CHISO_CFG_STRING, "direct",
     "channel when KenhThucHien is missing (F766 reads a missing channel as in person)",
     validate_channel},
    {"bridge.due.days", CHISO_CFG_INT, "15",
     "when NgayHenTra is missing: due this many days after the reception", chiso_cfg_positive},
    {"bridge.population.db", CHISO_CFG_STRING, NULL,
     "MaCSDL of the national population database in DSKetNoiCSDL (unset: only the VNeID flag "
     "marks population data)",
     NULL},
    {"bridge.e_result.online", CHISO_CFG_BOOL, "true",
     "HinhThuc has no code for a result returned online: read a dossier with an e-result link "
     "as returned online (HinhThuc 1: with a paper copy by post), counted in "
     "chiso_bridge_guesses_total{what=\"delivery\"}; false: HinhThuc 0 is the counter, 1 the "
     "post",
     NULL},
    {"bridge.time", CHISO_CFG_STRING, "arrival",
     "time of facts the payload gives no time for: arrival (the request's arrival) or "
     "date-header (the request's HTTP Date header when present: for replays and simulations)",
     validate_time},
    {"bridge.ack.timeout.ms", CHISO_CFG_INT, "10000",
     "how long a request waits for Kafka's acknowledgement before it is answered 503",
     chiso_cfg_positive},
    {"bridge.outbox.sweep.s", CHISO_CFG_INT, "30",
     "how often the events a failed request left in Redis (its outbox) are produced without "
     "waiting for the province to send again; also once at the start",
     chiso_cfg_positive},
    {"bridge.upstream.url", CHISO_CFG_STRING, NULL,
     "the national portal's base URL: when set, every request is forwarded unchanged after "
     "chiso has it, and the portal's answer is returned",
     NULL},
    {"bridge.upstream.timeout.ms", CHISO_CFG_INT, "6000",
     "how long the portal may take to answer (OpenCPS itself waits 6 s)", chiso_cfg_positive},
    {"bridge.upstream.connect.timeout.ms", CHISO_CFG_INT, "2000",
     "how long connecting to the portal may take", chiso_cfg_positive},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

static bool loopback(const char *addr)
{
    return strcmp(addr, "127.0.0.1") == 0 || strcmp(addr, "::1") == 0 ||
           strcmp(addr, "localhost") == 0 || strncmp(addr, "127.", 4) == 0;
}

static chiso_channel channel_of(const char *name)
{
    return strcmp(name, "online") == 0   ? CHISO_CHANNEL_ONLINE
           : strcmp(name, "postal") == 0 ? CHISO_CHANNEL_POSTAL
                                         : CHISO_CHANNEL_DIRECT;
}

int main(int argc, char **argv)
{
    char errstr[512];
    int first = 0, rc = 1, pr;
    chiso_config *cfg = chiso_config_new(config_defs);
    chiso_metrics *metrics = chiso_metrics_new();
    bridge_ingest *ingest = NULL;
    bridge_upstream *upstream = NULL;
    bridge_server *server = NULL;

    chiso_log_set_component("bridge");
    if (!cfg || !metrics) {
        fprintf(stderr, "chiso-bridge: out of memory\n");
        goto out;
    }
    pr = chiso_config_parse_args(cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (pr == 1) {
        printf("Usage: chiso-bridge [OPTIONS]\n\n"
               "Accepts the DongBoHoSoMC and CapNhatTienDoHoSoMC requests provincial one-stop\n"
               "systems send the national portal, and puts what they say on dossier.events\n"
               "(docs/bridge.md). POST to http://<http.bind>:<http.port>/DongBoHoSoMC.\n\n");
        chiso_config_print_help(config_defs, stdout);
        rc = 0;
        goto out;
    }
    if (pr != 0 || first < argc || chiso_log_set_level_name(chiso_config_str(cfg, "log.level"))) {
        fprintf(stderr, "chiso-bridge: %s\n", pr ? errstr : "bad arguments (see --help)");
        rc = 2;
        goto out;
    }
    const char *token = chiso_config_str(cfg, "auth.token");
    const char *user = chiso_config_str(cfg, "auth.username");
    const char *password = chiso_config_str(cfg, "auth.password");
    bool auth = (token && *token) || (user && *user);
    if (user && *user && !(password && *password)) {
        fprintf(stderr, "chiso-bridge: auth.username needs auth.password\n");
        rc = 2;
        goto out;
    }
    if (!auth && !loopback(chiso_config_str(cfg, "http.bind"))) {
        fprintf(stderr,
                "chiso-bridge: http.bind '%s' is not a loopback address: set auth.token "
                "or auth.username/auth.password\n",
                chiso_config_str(cfg, "http.bind"));
        rc = 2;
        goto out;
    }
    chiso_stop_on_signals();

    const char *upstream_url = chiso_config_str(cfg, "bridge.upstream.url");
    if (upstream_url && *upstream_url) {
        upstream = bridge_upstream_new(
            upstream_url, (long)chiso_config_int(cfg, "bridge.upstream.connect.timeout.ms"),
            (long)chiso_config_int(cfg, "bridge.upstream.timeout.ms"), errstr, sizeof(errstr));
        if (!upstream) {
            fprintf(stderr, "chiso-bridge: bridge.upstream.url: %s\n", errstr);
            rc = 2;
            goto out;
        }
    }
    if (chiso_kafka_ensure_topics_cfg(cfg, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "chiso-bridge: %s\n", errstr);
        goto out;
    }
    bridge_defaults d = {
        .unit = chiso_config_str(cfg, "bridge.unit.default"),
        .channel = channel_of(chiso_config_str(cfg, "bridge.channel.default")),
        .due_days = (int)chiso_config_int(cfg, "bridge.due.days"),
        .population_db = chiso_config_str(cfg, "bridge.population.db"),
        .e_result_online = chiso_config_bool(cfg, "bridge.e_result.online"),
    };
    if (!(ingest = bridge_ingest_new(cfg, &d, metrics, errstr, sizeof(errstr)))) {
        fprintf(stderr, "chiso-bridge: %s\n", errstr);
        goto out;
    }
    bridge_server_opts so = {
        .bind = chiso_config_str(cfg, "http.bind"),
        .port = (int)chiso_config_int(cfg, "http.port"),
        .connections = (int)chiso_config_int(cfg, "http.connections"),
        .timeout_s = (int)chiso_config_int(cfg, "http.timeout.s"),
        .body_max = (size_t)chiso_config_int(cfg, "bridge.body.max"),
        .items_max = (size_t)chiso_config_int(cfg, "bridge.items.max"),
        .token = token,
        .username = user,
        .password = password,
        .session_ttl_s = (int)chiso_config_int(cfg, "auth.session.ttl.s"),
        .login_path = chiso_config_str(cfg, "bridge.login.path"),
        .date_header = strcmp(chiso_config_str(cfg, "bridge.time"), "date-header") == 0,
        .upstream = upstream,
    };
    if (!(server = bridge_server_start(&so, ingest, metrics, errstr, sizeof(errstr)))) {
        fprintf(stderr, "chiso-bridge: %s\n", errstr);
        goto out;
    }
    while (!chiso_stop)
        chiso_sleep_ms(100);
    LOG_INFO("stopping");
    rc = 0;
out:
    bridge_server_stop(server); /* the requests in progress finish first */
    bridge_ingest_free(ingest, 10000);
    bridge_upstream_free(upstream);
    chiso_metrics_destroy(metrics);
    chiso_config_destroy(cfg);
    return rc;
}
