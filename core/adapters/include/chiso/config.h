/*
 * config.h - configuration as a table, files, and the command line.
 *
 * Each program declares a table of chiso_cfg_def (key, type, default,
 * description, optional validator). Values come, in increasing priority,
 * from the defaults, a `key = value` file (-c FILE, '#' comments), and the
 * command line, where every key of the table is also a long option
 * (`--brokers host:9092` or `--brokers=host:9092`) and `-X key=value` sets
 * any key. Keys starting with "kafka." are not in the table: they pass
 * straight through to librdkafka with the prefix stripped
 * (`-X kafka.linger.ms=5`). Errors say `file:line: message`.
 */
#ifndef CHISO_CONFIG_H
#define CHISO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

typedef enum chiso_cfg_type {
    CHISO_CFG_STRING = 0,
    CHISO_CFG_INT,    /* int64, decimal */
    CHISO_CFG_DOUBLE, /* finite double */
    CHISO_CFG_BOOL,   /* true/false/1/0/yes/no; a bare `--flag` means true */
} chiso_cfg_type;

/* One row of a program's configuration table; the table ends with key NULL. */
typedef struct chiso_cfg_def {
    const char *key;
    chiso_cfg_type type;
    const char *def; /* default as text; NULL = unset */
    const char *desc;
    /* Optional extra check of a value already of the right type; returns 0
     * or CHISO_EINVAL and writes a reason into errstr. */
    int (*validate)(const char *value, char *errstr, size_t errstr_size);
} chiso_cfg_def;

typedef struct chiso_config chiso_config;

/* A configuration holding the defaults of `defs` (not copied: must outlive
 * the config). Caller frees with chiso_config_destroy(). */
chiso_config *chiso_config_new(const chiso_cfg_def *defs);
void chiso_config_destroy(chiso_config *cfg);

/* Set one key (a table key or any "kafka.*" key) after type-checking and
 * validating the value. Returns 0 or CHISO_EINVAL with errstr filled. */
int chiso_config_set(chiso_config *cfg, const char *key, const char *value, char *errstr,
                     size_t errstr_size);

/* Load a `key = value` file. Errors are "path:line: message". */
int chiso_config_load_file(chiso_config *cfg, const char *path, char *errstr, size_t errstr_size);

/* Parse argv: -h/--help, -c FILE, -X key=value, --<key> value, --<key>=value.
 * A bool key alone (`--once`) means true; the next word is taken as its
 * value only when it reads as a bool. Options stop at "--" or the first
 * non-option; *first_positional receives its index. Returns 0, 1 when help was asked (caller prints
 * usage and exits 0), or CHISO_EINVAL with errstr filled. */
int chiso_config_parse_args(chiso_config *cfg, int argc, char **argv, int *first_positional,
                            char *errstr, size_t errstr_size);

/* Typed getters for table keys (a key not in the table is a programming
 * error: logged and 0/NULL returned). chiso_config_str returns NULL when the
 * key is unset. */
const char *chiso_config_str(const chiso_config *cfg, const char *key);
int64_t chiso_config_int(const chiso_config *cfg, const char *key);
double chiso_config_double(const chiso_config *cfg, const char *key);
bool chiso_config_bool(const chiso_config *cfg, const char *key);

/* Apply every "kafka.*" key to a librdkafka configuration. Returns 0 or
 * CHISO_EINVAL with librdkafka's message in errstr. */
int chiso_config_apply_kafka(const chiso_config *cfg, rd_kafka_conf_t *conf, char *errstr,
                             size_t errstr_size);

/* Validators shared by the programs' tables (chiso_cfg_def.validate). */
int chiso_cfg_positive(const char *value, char *errstr, size_t errstr_size);    /* >= 1 */
int chiso_cfg_nonneg(const char *value, char *errstr, size_t errstr_size);      /* >= 0 */
int chiso_cfg_fraction(const char *value, char *errstr, size_t errstr_size);    /* 0..1 */
int chiso_cfg_port(const char *value, char *errstr, size_t errstr_size);        /* 0..65535 */
int chiso_cfg_listen_port(const char *value, char *errstr, size_t errstr_size); /* 1..65535 */
int chiso_cfg_log_level(const char *value, char *errstr, size_t errstr_size);   /* error..debug */
int chiso_cfg_time_source(const char *value, char *errstr, size_t errstr_size); /* wall|event */

/* Print the options table (key, type, default, description) for --help. */
void chiso_config_print_help(const chiso_cfg_def *defs, FILE *out);

#endif
