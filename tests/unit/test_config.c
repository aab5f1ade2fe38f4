/*
 * test_config.c - the configuration table: defaults, typed values, bad
 * values, validators, files (with file:line errors), the command line, the
 * kafka.* pass-through into a real rd_kafka_conf_t, and --help.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"

#include "check.h"

static int validate_port(const char *value, char *errstr, size_t errstr_size)
{
    long v = strtol(value, NULL, 10);
    if (v < 1 || v > 65535) {
        snprintf(errstr, errstr_size, "port must be 1..65535");
        return CHISO_EINVAL;
    }
    return 0;
}

static const chiso_cfg_def defs[] = {
    {"brokers", CHISO_CFG_STRING, "127.0.0.1:9092", "Kafka bootstrap servers", NULL},
    {"topic.prefix", CHISO_CFG_STRING, "", "prefix of every topic", NULL},
    {"redis.port", CHISO_CFG_INT, "6379", "Redis port", validate_port},
    {"rate", CHISO_CFG_DOUBLE, "1.5", "events per second", NULL},
    {"verbose", CHISO_CFG_BOOL, "false", "log more", NULL},
    {"dry.run", CHISO_CFG_BOOL, NULL, "do nothing", NULL},
    {"count", CHISO_CFG_INT, "-1", "how many", NULL},
    {"name", CHISO_CFG_STRING, NULL, "a name", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static void test_defaults(void)
{
    chiso_config *cfg = chiso_config_new(defs);
    CHECK(cfg != NULL, "config_new");
    CHECK_EQ_STR(chiso_config_str(cfg, "brokers"), "127.0.0.1:9092");
    CHECK_EQ_STR(chiso_config_str(cfg, "topic.prefix"), "");
    CHECK_EQ_INT(chiso_config_int(cfg, "redis.port"), 6379);
    CHECK(chiso_config_double(cfg, "rate") == 1.5, "rate default");
    CHECK(!chiso_config_bool(cfg, "verbose"), "verbose default");
    CHECK(!chiso_config_bool(cfg, "dry.run"), "unset bool reads false");
    CHECK_EQ_INT(chiso_config_int(cfg, "count"), -1);
    CHECK(chiso_config_str(cfg, "name") == NULL, "unset string is NULL");
    CHECK_EQ_STR(chiso_config_str(cfg, "redis.port"), "6379");
    /* Keys not in the table are programming errors: logged, 0/NULL. */
    CHECK(chiso_config_str(cfg, "nope") == NULL, "missing key str");
    CHECK_EQ_INT(chiso_config_int(cfg, "nope"), 0);
    CHECK_EQ_INT(chiso_config_int(cfg, "brokers"), 0); /* wrong type */
    chiso_config_destroy(cfg);

    static const chiso_cfg_def bad_default[] = {
        {"n", CHISO_CFG_INT, "ten", "broken", NULL},
        {NULL, 0, NULL, NULL, NULL},
    };
    CHECK(chiso_config_new(bad_default) == NULL, "bad default rejected");
}

static void test_set(void)
{
    static const struct {
        const char *key, *value;
        int rc;
        const char *err; /* substring of errstr, when rc != 0 */
    } cases[] = {
        {"redis.port", "6380", 0, NULL},
        {"redis.port", "+6381", 0, NULL},
        {"redis.port", "0", CHISO_EINVAL, "port must be 1..65535"},
        {"redis.port", "70000", CHISO_EINVAL, "port must be 1..65535"},
        {"redis.port", "12ab", CHISO_EINVAL, "not a valid int"},
        {"redis.port", "", CHISO_EINVAL, "not a valid int"},
        {"redis.port", " 12", CHISO_EINVAL, "not a valid int"},
        {"redis.port", "0x10", CHISO_EINVAL, "not a valid int"},
        {"count", "9223372036854775807", 0, NULL},
        {"count", "-9223372036854775808", 0, NULL},
        {"count", "9223372036854775808", CHISO_EINVAL, "out of the range"},
        {"rate", "2.25", 0, NULL},
        {"rate", "1e3", 0, NULL},
        {"rate", "inf", CHISO_EINVAL, "not a finite number"},
        {"rate", "nan", CHISO_EINVAL, "not a finite number"},
        {"rate", "1e999", CHISO_EINVAL, "not a finite number"},
        {"rate", "1.5x", CHISO_EINVAL, "not a valid double"},
        {"verbose", "true", 0, NULL},
        {"verbose", "YES", 0, NULL},
        {"verbose", "on", 0, NULL},
        {"verbose", "0", 0, NULL},
        {"verbose", "maybe", CHISO_EINVAL, "not a bool"},
        {"brokers", "k1:9092,k2:9092", 0, NULL},
        {"bogus", "1", CHISO_EINVAL, "unknown option 'bogus' (see --help)"},
        {"kafka.linger.ms", "20", 0, NULL},
        {"kafka.no.such.property", "1", CHISO_EINVAL, "No such configuration property"},
        {"kafka.acks", "several", CHISO_EINVAL, "kafka.acks"},
        {"kafka.", "1", CHISO_EINVAL, "missing librdkafka property name"},
    };
    chiso_config *cfg = chiso_config_new(defs);
    char err[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        int rc = chiso_config_set(cfg, cases[i].key, cases[i].value, err, sizeof(err));
        CHECK_EQ_INT(rc, cases[i].rc, "case %zu: %s=%s (%s)", i, cases[i].key, cases[i].value, err);
        if (cases[i].err)
            CHECK(strstr(err, cases[i].err) != NULL, "case %zu: error '%s' lacks '%s'", i, err,
                  cases[i].err);
    }
    /* The last good value of each key stayed. */
    CHECK_EQ_INT(chiso_config_int(cfg, "redis.port"), 6381);
    CHECK_EQ_INT(chiso_config_int(cfg, "count"), INT64_MIN);
    CHECK(chiso_config_double(cfg, "rate") == 1000.0, "rate");
    CHECK(!chiso_config_bool(cfg, "verbose"), "verbose=0");
    CHECK_EQ_STR(chiso_config_str(cfg, "brokers"), "k1:9092,k2:9092");
    chiso_config_destroy(cfg);
}

static char *write_file(const char *text)
{
    char *path = strdup("/tmp/chiso_test_config_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        exit(2);
    }
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        perror("write");
        exit(2);
    }
    close(fd);
    return path;
}

static void test_file(void)
{
    static const struct {
        const char *text;
        int rc;
        const char *err; /* after "path" */
    } cases[] = {
        {"# a comment\n\n  brokers = b1:9092  \nredis.port=7000\n\tverbose = yes\n"
         "kafka.linger.ms = 50\nkafka.client.id = a#b\n",
         0, NULL},
        {"brokers = x\n\nredis.port = seven\n", CHISO_EINVAL, ":3: option 'redis.port'"},
        {"brokers = x\n# c\nthis line has no equals\n", CHISO_EINVAL, ":3: expected 'key = value'"},
        {"\n\n= 5\n", CHISO_EINVAL, ":3: missing key"},
        {"a = 1\n", CHISO_EINVAL, ":1: unknown option 'a' (see --help)"},
        {"redis.port = 1\nredis.port = 99999\n", CHISO_EINVAL,
         ":2: option 'redis.port': invalid value"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_config *cfg = chiso_config_new(defs);
        char *path = write_file(cases[i].text);
        char err[512] = "", want[256];
        int rc = chiso_config_load_file(cfg, path, err, sizeof(err));
        CHECK_EQ_INT(rc, cases[i].rc, "file case %zu (%s)", i, err);
        if (cases[i].err) {
            snprintf(want, sizeof(want), "%s%s", path, cases[i].err);
            CHECK(strncmp(err, want, strlen(want)) == 0, "file case %zu: '%s' !~ '%s'", i, err,
                  want);
        }
        if (i == 0) {
            CHECK_EQ_STR(chiso_config_str(cfg, "brokers"), "b1:9092");
            CHECK_EQ_INT(chiso_config_int(cfg, "redis.port"), 7000);
            CHECK(chiso_config_bool(cfg, "verbose"), "verbose from file");
        }
        unlink(path);
        free(path);
        chiso_config_destroy(cfg);
    }

    chiso_config *cfg = chiso_config_new(defs);
    char err[512] = "";
    CHECK_EQ_INT(chiso_config_load_file(cfg, "/nonexistent/chiso.conf", err, sizeof(err)),
                 CHISO_EINVAL);
    CHECK(strstr(err, "/nonexistent/chiso.conf: ") == err, "missing file error '%s'", err);
    chiso_config_destroy(cfg);
}

static void test_kafka_passthrough(void)
{
    chiso_config *cfg = chiso_config_new(defs);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512] = "", val[256];
    size_t size;

    CHECK_EQ_INT(chiso_config_set(cfg, "kafka.linger.ms", "7", err, sizeof(err)), 0, "%s", err);
    CHECK_EQ_INT(chiso_config_set(cfg, "kafka.client.id", "first", err, sizeof(err)), 0, "%s", err);
    CHECK_EQ_INT(chiso_config_set(cfg, "kafka.client.id", "second", err, sizeof(err)), 0, "%s",
                 err);
    CHECK_EQ_INT(chiso_config_set(cfg, "kafka.compression.codec", "lz4", err, sizeof(err)), 0, "%s",
                 err);
    CHECK_EQ_INT(chiso_config_apply_kafka(cfg, conf, err, sizeof(err)), 0, "%s", err);

    size = sizeof(val);
    CHECK(rd_kafka_conf_get(conf, "linger.ms", val, &size) == RD_KAFKA_CONF_OK, "get linger");
    CHECK_EQ_STR(val, "7");
    size = sizeof(val);
    CHECK(rd_kafka_conf_get(conf, "client.id", val, &size) == RD_KAFKA_CONF_OK, "get client.id");
    CHECK_EQ_STR(val, "second"); /* later set wins */
    size = sizeof(val);
    CHECK(rd_kafka_conf_get(conf, "compression.codec", val, &size) == RD_KAFKA_CONF_OK,
          "get codec");
    CHECK_EQ_STR(val, "lz4");
    rd_kafka_conf_destroy(conf);
    chiso_config_destroy(cfg);

    /* A config without kafka keys applies nothing and succeeds. */
    cfg = chiso_config_new(defs);
    conf = rd_kafka_conf_new();
    CHECK_EQ_INT(chiso_config_apply_kafka(cfg, conf, err, sizeof(err)), 0, "%s", err);
    rd_kafka_conf_destroy(conf);
    chiso_config_destroy(cfg);
}

#define MAXARGS 16

static void test_args(void)
{
    char *file = write_file("redis.port = 7000\nbrokers = fromfile:9092\n");
    char cflag[300];
    snprintf(cflag, sizeof(cflag), "-c%s", file);
    const struct {
        const char *argv[MAXARGS];
        int rc, positional;
        const char *key, *want; /* checked via chiso_config_str when rc == 0 */
        const char *err;
    } cases[] = {
        {{"prog", NULL}, 0, 1, "brokers", "127.0.0.1:9092", NULL},
        {{"prog", "--brokers", "k:1", NULL}, 0, 3, "brokers", "k:1", NULL},
        {{"prog", "--brokers=k:2", "in.json", NULL}, 0, 2, "brokers", "k:2", NULL},
        {{"prog", "--name=a=b", NULL}, 0, 2, "name", "a=b", NULL},
        {{"prog", "-X", "brokers=k:3", NULL}, 0, 3, "brokers", "k:3", NULL},
        {{"prog", "-Xbrokers=k:4", NULL}, 0, 2, "brokers", "k:4", NULL},
        {{"prog", "--verbose", NULL}, 0, 2, "verbose", "true", NULL},
        {{"prog", "--verbose", "--rate", "3", NULL}, 0, 4, "verbose", "true", NULL},
        {{"prog", "--verbose", "off", NULL}, 0, 3, "verbose", "off", NULL},
        {{"prog", "--verbose", "-", NULL}, 0, 2, "verbose", "true", NULL},
        {{"prog", "--count", "-5", "x", NULL}, 0, 3, "count", "-5", NULL},
        {{"prog", "--rate", "2", "--", "--brokers", NULL}, 0, 4, "rate", "2", NULL},
        {{"prog", "file1", "--brokers", "k", NULL}, 0, 1, "brokers", "127.0.0.1:9092", NULL},
        {{"prog", "-X", "kafka.linger.ms=9", NULL}, 0, 3, NULL, NULL, NULL},
        /* The command line beats the file, wherever -c is. */
        {{"prog", "--redis.port", "7001", "-c", file, NULL}, 0, 5, "redis.port", "7001", NULL},
        {{"prog", cflag, NULL}, 0, 2, "brokers", "fromfile:9092", NULL},
        {{"prog", "-h", NULL}, 1, 0, NULL, NULL, NULL},
        {{"prog", "--brokers", "k", "--help", NULL}, 1, 0, NULL, NULL, NULL},
        {{"prog", "--bogus", "1", NULL},
         CHISO_EINVAL,
         0,
         NULL,
         NULL,
         "unknown option 'bogus' (see --help)"},
        {{"prog", "-q", NULL}, CHISO_EINVAL, 0, NULL, NULL, "unknown option '-q'"},
        {{"prog", "--brokers", NULL}, CHISO_EINVAL, 0, NULL, NULL, "needs a value"},
        {{"prog", "-X", "brokers", NULL}, CHISO_EINVAL, 0, NULL, NULL, "-X expects key=value"},
        {{"prog", "-X", NULL}, CHISO_EINVAL, 0, NULL, NULL, "needs an argument"},
        {{"prog", "--redis.port", "x", NULL}, CHISO_EINVAL, 0, NULL, NULL, "not a valid int"},
        {{"prog", "-c", "/nonexistent.conf", NULL},
         CHISO_EINVAL,
         0,
         NULL,
         NULL,
         "/nonexistent.conf"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_config *cfg = chiso_config_new(defs);
        char *argv[MAXARGS];
        int argc = 0, pos = -1, rc;
        char err[512] = "";

        while (cases[i].argv[argc]) {
            argv[argc] = (char *)cases[i].argv[argc];
            argc++;
        }
        argv[argc] = NULL;
        rc = chiso_config_parse_args(cfg, argc, argv, &pos, err, sizeof(err));
        CHECK_EQ_INT(rc, cases[i].rc, "args case %zu (%s)", i, err);
        if (rc == 0 && cases[i].rc == 0) {
            CHECK_EQ_INT(pos, cases[i].positional, "args case %zu positional", i);
            if (cases[i].key)
                CHECK_EQ_STR(chiso_config_str(cfg, cases[i].key), cases[i].want);
        }
        if (cases[i].err)
            CHECK(strstr(err, cases[i].err) != NULL, "args case %zu: '%s' lacks '%s'", i, err,
                  cases[i].err);
        chiso_config_destroy(cfg);
    }
    unlink(file);
    free(file);
}

static void test_help(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    static const chiso_cfg_def small[] = {
        {"brokers", CHISO_CFG_STRING, "127.0.0.1:9092", "Kafka bootstrap servers", NULL},
        {"topic.prefix", CHISO_CFG_STRING, "", "topic prefix", NULL},
        {"n", CHISO_CFG_INT, NULL, "how many", NULL},
        {NULL, 0, NULL, NULL, NULL},
    };
    chiso_config_print_help(small, out);
    fclose(out);
    CHECK_EQ_STR(buf,
                 "  -h, --help             show this help and exit\n"
                 "  -c FILE                read options from a 'key = value' file ('#' comments)\n"
                 "  -X key=value           set any option; kafka.<property> passes through to "
                 "librdkafka\n"
                 "  --brokers      string  Kafka bootstrap servers (default: 127.0.0.1:9092)\n"
                 "  --topic.prefix string  topic prefix (default: \"\")\n"
                 "  --n            int     how many\n");
    free(buf);
}

int main(void)
{
    chiso_log_set_component("test_config");
    test_defaults();
    test_set();
    test_file();
    test_kafka_passthrough();
    test_args();
    test_help();
    return CHECK_DONE();
}
