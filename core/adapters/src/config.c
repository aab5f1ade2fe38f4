/*
 * config.c - the configuration table of config.h.
 *
 * A chiso_config holds one slot per row of the program's table (same index
 * as the row): the value as text, plus the value parsed to the row's type
 * when it was set, so the getters never parse. A value reaches a slot only
 * through cfg_set_row(), which type-checks it and runs the row's validator;
 * a slot therefore always holds a well-typed, valid value or is unset.
 *
 * "kafka.*" keys are not in the table: they are kept, prefix and all, in an
 * ordered list and handed to librdkafka by chiso_config_apply_kafka(). Setting
 * a key again replaces its value in place (later set wins). Each one is
 * checked against a throwaway rd_kafka_conf_t when set, so a misspelt
 * librdkafka property fails at startup with its file:line.
 *
 * The config owns every string in it; the table itself belongs to the caller.
 */
#include "chiso/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chiso/common.h"
#include "chiso/runtime.h"

#define KAFKA_PREFIX     "kafka."
#define KAFKA_PREFIX_LEN (sizeof(KAFKA_PREFIX) - 1)

typedef struct cfg_value {
    char *text; /* NULL = unset */
    int64_t i;
    double d;
    bool b;
} cfg_value;

typedef struct cfg_kv {
    char *key; /* with the "kafka." prefix */
    char *value;
} cfg_kv;

struct chiso_config {
    const chiso_cfg_def *defs;
    size_t ndefs;
    cfg_value *values; /* ndefs slots */
    cfg_kv *kafka;
    size_t nkafka, kafka_cap;
};

static const char *const type_names[] = {
    [CHISO_CFG_STRING] = "string",
    [CHISO_CFG_INT] = "int",
    [CHISO_CFG_DOUBLE] = "double",
    [CHISO_CFG_BOOL] = "bool",
};

static long find_row(const chiso_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->ndefs; i++) {
        if (strcmp(cfg->defs[i].key, key) == 0)
            return (long)i;
    }
    return -1;
}

static bool is_kafka_key(const char *key)
{
    return strncmp(key, KAFKA_PREFIX, KAFKA_PREFIX_LEN) == 0;
}

/* Parse `text` as `type` into *out. Returns 0 or CHISO_EINVAL with a reason. */
static int parse_typed(chiso_cfg_type type, const char *text, cfg_value *out, char *errstr,
                       size_t errstr_size)
{
    static const char *const truths[] = {"true", "1", "yes", "on"};
    static const char *const lies[] = {"false", "0", "no", "off"};
    char *end = NULL;

    switch (type) {
    case CHISO_CFG_STRING:
        return 0;
    case CHISO_CFG_INT:
        if (*text == '\0' || isspace((unsigned char)*text))
            break;
        errno = 0;
        out->i = strtoll(text, &end, 10);
        if (errno == ERANGE) {
            chiso_errf(errstr, errstr_size, 0, "'%s' is out of the range of a 64-bit integer",
                       text);
            return CHISO_EINVAL;
        }
        if (errno != 0 || *end != '\0')
            break;
        return 0;
    case CHISO_CFG_DOUBLE:
        if (*text == '\0' || isspace((unsigned char)*text))
            break;
        errno = 0;
        out->d = strtod(text, &end);
        if (*end != '\0')
            break;
        if (!isfinite(out->d) || errno == ERANGE) {
            chiso_errf(errstr, errstr_size, 0, "'%s' is not a finite number", text);
            return CHISO_EINVAL;
        }
        return 0;
    case CHISO_CFG_BOOL:
        for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++) {
            if (strcasecmp(text, truths[i]) == 0) {
                out->b = true;
                return 0;
            }
            if (strcasecmp(text, lies[i]) == 0) {
                out->b = false;
                return 0;
            }
        }
        chiso_errf(errstr, errstr_size, 0, "'%s' is not a bool (true/false, 1/0, yes/no, on/off)",
                   text);
        return CHISO_EINVAL;
    }
    chiso_errf(errstr, errstr_size, 0, "'%s' is not a valid %s", text,
               (unsigned)type < sizeof(type_names) / sizeof(type_names[0]) ? type_names[type]
                                                                           : "value");
    return CHISO_EINVAL;
}

/* Type-check, validate and store `text` in slot `row`. */
static int cfg_set_row(chiso_config *cfg, size_t row, const char *text, bool validate, char *errstr,
                       size_t errstr_size)
{
    const chiso_cfg_def *def = &cfg->defs[row];
    cfg_value parsed = {0};
    char reason[256] = "";

    if (parse_typed(def->type, text, &parsed, reason, sizeof(reason)) != 0) {
        chiso_errf(errstr, errstr_size, 0, "option '%s': %s", def->key, reason);
        return CHISO_EINVAL;
    }
    if (validate && def->validate && def->validate(text, reason, sizeof(reason)) != 0) {
        chiso_errf(errstr, errstr_size, 0, "option '%s': invalid value '%s': %s", def->key, text,
                   reason[0] ? reason : "rejected");
        return CHISO_EINVAL;
    }
    parsed.text = strdup(text);
    if (!parsed.text) {
        chiso_errf(errstr, errstr_size, 0, "out of memory");
        return CHISO_ENOMEM;
    }
    free(cfg->values[row].text);
    cfg->values[row] = parsed;
    return 0;
}

/* librdkafka loads plugins when this property is set: never set it on a
 * throwaway configuration just to check it. */
static bool kafka_key_checkable(const char *name)
{
    return strcmp(name, "plugin.library.paths") != 0;
}

static int cfg_set_kafka(chiso_config *cfg, const char *key, const char *value, char *errstr,
                         size_t errstr_size)
{
    const char *name = key + KAFKA_PREFIX_LEN;
    char *k = NULL, *v = NULL;

    if (*name == '\0') {
        chiso_errf(errstr, errstr_size, 0, "option '%s': missing librdkafka property name", key);
        return CHISO_EINVAL;
    }
    if (kafka_key_checkable(name)) {
        char reason[512];
        rd_kafka_conf_t *probe = rd_kafka_conf_new();
        rd_kafka_conf_res_t res = rd_kafka_conf_set(probe, name, value, reason, sizeof(reason));
        rd_kafka_conf_destroy(probe);
        if (res != RD_KAFKA_CONF_OK) {
            chiso_errf(errstr, errstr_size, 0, "option '%s': %s", key, reason);
            return CHISO_EINVAL;
        }
    }

    v = strdup(value);
    if (!v)
        goto nomem;
    for (size_t i = 0; i < cfg->nkafka; i++) {
        if (strcmp(cfg->kafka[i].key, key) == 0) {
            free(cfg->kafka[i].value);
            cfg->kafka[i].value = v;
            return 0;
        }
    }
    if (cfg->nkafka == cfg->kafka_cap) {
        size_t cap = cfg->kafka_cap ? cfg->kafka_cap * 2 : 8;
        cfg_kv *grown = realloc(cfg->kafka, cap * sizeof(*grown));
        if (!grown)
            goto nomem;
        cfg->kafka = grown;
        cfg->kafka_cap = cap;
    }
    k = strdup(key);
    if (!k)
        goto nomem;
    cfg->kafka[cfg->nkafka].key = k;
    cfg->kafka[cfg->nkafka].value = v;
    cfg->nkafka++;
    return 0;

nomem:
    free(v);
    chiso_errf(errstr, errstr_size, 0, "out of memory");
    return CHISO_ENOMEM;
}

chiso_config *chiso_config_new(const chiso_cfg_def *defs)
{
    chiso_config *cfg = calloc(1, sizeof(*cfg));
    char errstr[512];

    if (!cfg)
        return NULL;
    cfg->defs = defs;
    while (defs && defs[cfg->ndefs].key)
        cfg->ndefs++;
    cfg->values = calloc(cfg->ndefs ? cfg->ndefs : 1, sizeof(*cfg->values));
    if (!cfg->values)
        goto err;
    for (size_t i = 0; i < cfg->ndefs; i++) {
        if (!defs[i].def)
            continue;
        /* Defaults are trusted to be valid, but must still parse. */
        if (cfg_set_row(cfg, i, defs[i].def, false, errstr, sizeof(errstr)) != 0) {
            LOG_ERROR("config: bad default: %s", errstr);
            goto err;
        }
    }
    return cfg;

err:
    chiso_config_destroy(cfg);
    return NULL;
}

void chiso_config_destroy(chiso_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; cfg->values && i < cfg->ndefs; i++)
        free(cfg->values[i].text);
    free(cfg->values);
    for (size_t i = 0; i < cfg->nkafka; i++) {
        free(cfg->kafka[i].key);
        free(cfg->kafka[i].value);
    }
    free(cfg->kafka);
    free(cfg);
}

int chiso_config_set(chiso_config *cfg, const char *key, const char *value, char *errstr,
                     size_t errstr_size)
{
    long row;

    if (!key || !value) {
        chiso_errf(errstr, errstr_size, 0, "missing key or value");
        return CHISO_EINVAL;
    }
    if (is_kafka_key(key))
        return cfg_set_kafka(cfg, key, value, errstr, errstr_size);
    row = find_row(cfg, key);
    if (row < 0) {
        chiso_errf(errstr, errstr_size, 0, "unknown option '%s' (see --help)", key);
        return CHISO_EINVAL;
    }
    return cfg_set_row(cfg, (size_t)row, value, true, errstr, errstr_size);
}

/* Trim leading and trailing whitespace in place; returns the new start. */
static char *trim(char *s)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return s;
}

/* A line is a comment only when '#' is its first non-blank character: values
 * (passwords, SASL settings) may contain '#'. */
int chiso_config_load_file(chiso_config *cfg, const char *path, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;

    if (!f) {
        chiso_errf(errstr, errstr_size, 0, "%s: %s", path, strerror(errno));
        return CHISO_EINVAL;
    }
    while (getline(&line, &cap, f) >= 0) {
        char *s = trim(line), *eq, *key, *value;
        char reason[512];

        lineno++;
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (!eq) {
            chiso_errf(errstr, errstr_size, 0, "%s:%ld: expected 'key = value'", path, lineno);
            rc = CHISO_EINVAL;
            goto out;
        }
        *eq = '\0';
        key = trim(s);
        value = trim(eq + 1);
        if (*key == '\0') {
            chiso_errf(errstr, errstr_size, 0, "%s:%ld: missing key before '='", path, lineno);
            rc = CHISO_EINVAL;
            goto out;
        }
        rc = chiso_config_set(cfg, key, value, reason, sizeof(reason));
        if (rc != 0) {
            chiso_errf(errstr, errstr_size, 0, "%s:%ld: %s", path, lineno, reason);
            goto out;
        }
    }
    if (ferror(f)) {
        chiso_errf(errstr, errstr_size, 0, "%s: read error", path);
        rc = CHISO_EIO;
    }

out:
    free(line);
    fclose(f);
    return rc;
}

/* One option found on the command line, applied after the scan. */
typedef struct cfg_arg {
    enum { ARG_FILE, ARG_SET } kind;
    char *key; /* ARG_SET: owned copy */
    const char *value;
} cfg_arg;

/* Split "key=value" (from -X or --key=value) into an owned key and a value
 * pointing into `s`. */
static int split_kv(const char *s, char **key, const char **value)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s)
        return CHISO_EINVAL;
    *key = strndup(s, (size_t)(eq - s));
    if (!*key)
        return CHISO_ENOMEM;
    *value = eq + 1;
    return 0;
}

/* Scan argv into `args` without applying anything; files are loaded before
 * command-line values so the command line always wins, wherever -c sits.
 * Returns 0, 1 for help, or an error. */
static int scan_args(const chiso_config *cfg, int argc, char **argv, cfg_arg *args, int *nargs,
                     int *first_positional, char *errstr, size_t errstr_size)
{
    int i = 1;

    for (; i < argc; i++) {
        const char *a = argv[i];
        cfg_arg *out = &args[*nargs];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return 1;
        if (strncmp(a, "-c", 2) == 0 || strncmp(a, "-X", 2) == 0) {
            const char *v = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                chiso_errf(errstr, errstr_size, 0, "option '%.2s' needs an argument", a);
                return CHISO_EINVAL;
            }
            if (a[1] == 'c') {
                out->kind = ARG_FILE;
                out->value = v;
            } else {
                out->kind = ARG_SET;
                int rc = split_kv(v, &out->key, &out->value);
                if (rc != 0) {
                    chiso_errf(errstr, errstr_size, 0, "-X expects key=value, got '%s'", v);
                    return rc;
                }
            }
            (*nargs)++;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            long row;
            out->kind = ARG_SET;
            if (strchr(name, '=')) {
                int rc = split_kv(name, &out->key, &out->value);
                if (rc != 0) {
                    chiso_errf(errstr, errstr_size, 0, "malformed option '%s'", a);
                    return rc;
                }
                (*nargs)++;
                continue;
            }
            row = find_row(cfg, name);
            if (row < 0 && !is_kafka_key(name)) {
                chiso_errf(errstr, errstr_size, 0, "unknown option '%s' (see --help)", name);
                return CHISO_EINVAL;
            }
            out->key = strdup(name);
            if (!out->key)
                return CHISO_ENOMEM;
            (*nargs)++;
            if (row >= 0 && cfg->defs[row].type == CHISO_CFG_BOOL) {
                /* `--flag` alone means true; the next word is its value only
                 * when it reads as a bool (so `--once FILE` keeps FILE) */
                cfg_value probe;
                if (i + 1 >= argc ||
                    parse_typed(CHISO_CFG_BOOL, argv[i + 1], &probe, NULL, 0) != 0) {
                    out->value = "true";
                    continue;
                }
            }
            if (i + 1 >= argc) {
                chiso_errf(errstr, errstr_size, 0, "option '--%s' needs a value", name);
                return CHISO_EINVAL;
            }
            out->value = argv[++i];
            continue;
        }
        chiso_errf(errstr, errstr_size, 0, "unknown option '%s' (see --help)", a);
        return CHISO_EINVAL;
    }
    if (first_positional)
        *first_positional = i;
    return 0;
}

int chiso_config_parse_args(chiso_config *cfg, int argc, char **argv, int *first_positional,
                            char *errstr, size_t errstr_size)
{
    cfg_arg *args = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*args));
    int nargs = 0, rc;

    if (!args) {
        chiso_errf(errstr, errstr_size, 0, "out of memory");
        return CHISO_ENOMEM;
    }
    rc = scan_args(cfg, argc, argv, args, &nargs, first_positional, errstr, errstr_size);
    if (rc != 0)
        goto out;
    for (int pass = ARG_FILE; pass <= ARG_SET && rc == 0; pass++) {
        for (int i = 0; i < nargs && rc == 0; i++) {
            if ((int)args[i].kind != pass)
                continue;
            if (args[i].kind == ARG_FILE)
                rc = chiso_config_load_file(cfg, args[i].value, errstr, errstr_size);
            else
                rc = chiso_config_set(cfg, args[i].key, args[i].value, errstr, errstr_size);
        }
    }

out:
    for (int i = 0; i < argc; i++)
        free(args[i].key);
    free(args);
    return rc;
}

/* Slot of a table key for the getters; a missing key is a programming bug. */
static const cfg_value *get_value(const chiso_config *cfg, const char *key, chiso_cfg_type want,
                                  bool any_type)
{
    long row = cfg && key ? find_row(cfg, key) : -1;
    if (row < 0) {
        LOG_ERROR("config: '%s' is not in this program's option table", key ? key : "(null)");
        return NULL;
    }
    if (!any_type && cfg->defs[row].type != want) {
        LOG_ERROR("config: '%s' is a %s option, read as %s", key, type_names[cfg->defs[row].type],
                  type_names[want]);
        return NULL;
    }
    return cfg->values[row].text ? &cfg->values[row] : NULL;
}

const char *chiso_config_str(const chiso_config *cfg, const char *key)
{
    const cfg_value *v = get_value(cfg, key, CHISO_CFG_STRING, true);
    return v ? v->text : NULL;
}

int64_t chiso_config_int(const chiso_config *cfg, const char *key)
{
    const cfg_value *v = get_value(cfg, key, CHISO_CFG_INT, false);
    return v ? v->i : 0;
}

double chiso_config_double(const chiso_config *cfg, const char *key)
{
    const cfg_value *v = get_value(cfg, key, CHISO_CFG_DOUBLE, false);
    return v ? v->d : 0.0;
}

bool chiso_config_bool(const chiso_config *cfg, const char *key)
{
    const cfg_value *v = get_value(cfg, key, CHISO_CFG_BOOL, false);
    return v ? v->b : false;
}

int chiso_config_apply_kafka(const chiso_config *cfg, rd_kafka_conf_t *conf, char *errstr,
                             size_t errstr_size)
{
    for (size_t i = 0; i < cfg->nkafka; i++) {
        char reason[512];
        const cfg_kv *kv = &cfg->kafka[i];
        if (rd_kafka_conf_set(conf, kv->key + KAFKA_PREFIX_LEN, kv->value, reason,
                              sizeof(reason)) != RD_KAFKA_CONF_OK) {
            chiso_errf(errstr, errstr_size, 0, "option '%s': %s", kv->key, reason);
            return CHISO_EINVAL;
        }
    }
    return 0;
}

void chiso_config_print_help(const chiso_cfg_def *defs, FILE *out)
{
    static const struct {
        const char *left, *desc;
    } fixed[] = {
        {"-h, --help", "show this help and exit"},
        {"-c FILE", "read options from a 'key = value' file ('#' comments)"},
        {"-X key=value", "set any option; kafka.<property> passes through to librdkafka"},
    };
    int kw = 0, tw = 0, lw;

    for (size_t i = 0; defs && defs[i].key; i++) {
        int k = (int)strlen(defs[i].key) + 2, t = (int)strlen(type_names[defs[i].type]);
        kw = k > kw ? k : kw;
        tw = t > tw ? t : tw;
    }
    lw = kw + 1 + tw;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        int l = (int)strlen(fixed[i].left);
        lw = l > lw ? l : lw;
    }
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        fprintf(out, "  %-*s  %s\n", lw, fixed[i].left, fixed[i].desc);
    for (size_t i = 0; defs && defs[i].key; i++) {
        const chiso_cfg_def *d = &defs[i];
        fprintf(out, "  --%-*s %-*s  %s", kw - 2, d->key, lw - kw - 1, type_names[d->type],
                d->desc ? d->desc : "");
        if (d->def && d->def[0])
            fprintf(out, " (default: %s)", d->def);
        else if (d->def)
            fputs(" (default: \"\")", out);
        fputc('\n', out);
    }
}

/* ---- shared validators ---- */

static int check_range(const char *value, double lo, double hi, const char *what, char *errstr,
                       size_t errstr_size)
{
    char *end = NULL;
    double d = strtod(value, &end);
    if (end == value || !(d >= lo && d <= hi)) {
        chiso_errf(errstr, errstr_size, 0, "'%s' must be %s", value, what);
        return CHISO_EINVAL;
    }
    return 0;
}

int chiso_cfg_positive(const char *value, char *errstr, size_t errstr_size)
{
    return check_range(value, 1, HUGE_VAL, ">= 1", errstr, errstr_size);
}

int chiso_cfg_nonneg(const char *value, char *errstr, size_t errstr_size)
{
    return check_range(value, 0, HUGE_VAL, ">= 0", errstr, errstr_size);
}

int chiso_cfg_fraction(const char *value, char *errstr, size_t errstr_size)
{
    return check_range(value, 0, 1, "a fraction in [0, 1]", errstr, errstr_size);
}

int chiso_cfg_port(const char *value, char *errstr, size_t errstr_size)
{
    return check_range(value, 0, 65535, "a port 0..65535", errstr, errstr_size);
}

int chiso_cfg_listen_port(const char *value, char *errstr, size_t errstr_size)
{
    return check_range(value, 1, 65535, "a port 1..65535", errstr, errstr_size);
}

int chiso_cfg_log_level(const char *value, char *errstr, size_t errstr_size)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(value, levels[i]) == 0)
            return 0;
    }
    chiso_errf(errstr, errstr_size, 0, "'%s' must be error, warn, info or debug", value);
    return CHISO_EINVAL;
}

int chiso_cfg_time_source(const char *value, char *errstr, size_t errstr_size)
{
    if (strcmp(value, "wall") == 0 || strcmp(value, "event") == 0)
        return 0;
    chiso_errf(errstr, errstr_size, 0, "'%s' must be wall or event", value);
    return CHISO_EINVAL;
}
