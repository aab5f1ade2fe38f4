/*
 * sim_malformed.c - one-defect invalid records (see sim_malformed.h).
 *
 * The record is rendered here from a list of (key, raw JSON value) pairs,
 * not by editing chiso_event_to_json()'s output, so a defect never depends
 * on that serializer's formatting.
 */
#include "sim_malformed.h"

#include <stdio.h>
#include <string.h>

#include "chiso/vntime.h"

#define MF_MAX 16
#define MF_VAL 192

typedef struct mfield {
    const char *key;
    char val[MF_VAL]; /* raw JSON */
} mfield;

typedef struct mrec {
    mfield f[MF_MAX];
    int n;
    int required_first; /* index of the type's required field, -1 if none */
} mrec;

static void add(mrec *m, const char *key, const char *fmt, const char *s)
{
    mfield *f = &m->f[m->n++];
    f->key = key;
    snprintf(f->val, sizeof(f->val), fmt, s);
}

static void add_str(mrec *m, const char *key, const char *s)
{
    add(m, key, "\"%s\"", s);
}

static void add_raw(mrec *m, const char *key, const char *s)
{
    add(m, key, "%s", s);
}

static mfield *find(mrec *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->f[i].key, key) == 0)
            return &m->f[i];
    return NULL;
}

static void set_val(mrec *m, const char *key, const char *raw)
{
    mfield *f = find(m, key);
    if (f)
        snprintf(f->val, sizeof(f->val), "%s", raw);
}

/* The good event as fields; the type's required field (if any) is noted. */
static void from_event(mrec *m, const chiso_event *ev)
{
    char t[CHISO_TIME_STRLEN], id[CHISO_ID_MAX + 8];
    m->n = 0;
    m->required_first = -1;
    add_raw(m, "v", "1");
    snprintf(id, sizeof(id), "%.60s~bad", ev->event_id);
    add_str(m, "event_id", id);
    add_str(m, "dossier_id", ev->dossier_id);
    add_str(m, "unit", ev->unit);
    add_str(m, "procedure", ev->procedure);
    add_str(m, "type", chiso_event_type_name(ev->type));
    chiso_time_format(ev->at, t);
    add_str(m, "at", t);
    switch (ev->type) {
    case CHISO_EV_SUBMITTED:
        m->required_first = m->n;
        add_str(m, "channel", chiso_channel_name(ev->channel));
        break;
    case CHISO_EV_RECEIVED:
        m->required_first = m->n;
        chiso_time_format(ev->due_at, t);
        add_str(m, "due_at", t);
        add_raw(m, "digitized", ev->digitized ? "true" : "false");
        break;
    case CHISO_EV_FEE_REQUESTED: {
        char a[32];
        snprintf(a, sizeof(a), "%lld", (long long)ev->amount);
        m->required_first = m->n;
        add_raw(m, "amount", a);
        break;
    }
    case CHISO_EV_PAID:
        m->required_first = m->n;
        add_str(m, "method", chiso_pay_method_name(ev->method));
        break;
    case CHISO_EV_REQUIREMENT:
        m->required_first = m->n;
        add_str(m, "kind", chiso_requirement_kind_name(ev->kind));
        break;
    case CHISO_EV_RESOLVED:
        m->required_first = m->n;
        add_str(m, "outcome", chiso_outcome_name(ev->outcome));
        add_raw(m, "e_result", ev->e_result ? "true" : "false");
        break;
    case CHISO_EV_RETURNED:
        m->required_first = m->n;
        add_str(m, "delivery", chiso_delivery_name(ev->delivery));
        break;
    case CHISO_EV_RATED:
        m->required_first = m->n;
        add_raw(m, "satisfied", ev->satisfied ? "true" : "false");
        break;
    default:
        break;
    }
}

static void drop(mrec *m, int i)
{
    memmove(&m->f[i], &m->f[i + 1], (size_t)(m->n - i - 1) * sizeof(mfield));
    m->n--;
}

static size_t render(const mrec *m, char *buf, size_t size, const char *extra_key, size_t pad)
{
    size_t n = 0;
    buf[n++] = '{';
    for (int i = 0; i < m->n; i++) {
        n += (size_t)snprintf(buf + n, size - n, "%s\"%s\":%s", i ? "," : "", m->f[i].key,
                              m->f[i].val);
    }
    if (extra_key && n + pad + 64 < size) {
        n += (size_t)snprintf(buf + n, size - n, ",\"%s\":\"", extra_key);
        memset(buf + n, 'x', pad);
        n += pad;
        buf[n++] = '"';
    }
    buf[n++] = '}';
    return n;
}

/* A bad value for the type's required field, or NULL if it has none. */
static const char *bad_type_value(sim_rng *r, chiso_event_type type)
{
    bool a = sim_rng_chance(r, 0.5);
    switch (type) {
    case CHISO_EV_SUBMITTED:
        return a ? "\"fax\"" : "2";
    case CHISO_EV_RECEIVED:
        return a ? "\"tomorrow\"" : "\"2025-07-32T17:00:00+07:00\"";
    case CHISO_EV_FEE_REQUESTED:
        return a ? "-5000" : "\"50000\"";
    case CHISO_EV_PAID:
        return a ? "\"bitcoin\"" : "null";
    case CHISO_EV_REQUIREMENT:
        return a ? "\"telepathy\"" : "true";
    case CHISO_EV_RESOLVED:
        return a ? "\"maybe\"" : "1";
    case CHISO_EV_RETURNED:
        return a ? "\"drone\"" : "\"\"";
    case CHISO_EV_RATED:
        return a ? "\"yes\"" : "1";
    default:
        return NULL;
    }
}

size_t sim_malformed_make(sim_rng *r, const chiso_event *ev, char *buf, size_t size,
                          chiso_reject_reason *reason)
{
    static const char *const common[] = {"v",         "event_id", "dossier_id", "unit",
                                         "procedure", "type",     "at"};
    static const char *const unknown_types[] = {"escalated",    "archived", "SUBMITTED",
                                                "submitted_v2", "deleted",  "paid_back"};
    mrec m;
    size_t n;
    from_event(&m, ev);
    double u = sim_rng_unit(r);

    if (u < 0.005) { /* too_large: a valid event with a huge extra field */
        *reason = CHISO_REJECT_TOO_LARGE;
        return render(&m, buf, size, "note", CHISO_EVENT_MAX_BYTES + 64 + sim_rng_below(r, 4096));
    }
    if (u < 0.285) { /* json_syntax */
        *reason = CHISO_REJECT_JSON_SYNTAX;
        n = render(&m, buf, size, NULL, 0);
        switch (sim_rng_below(r, 6)) {
        case 0: /* truncated: any proper prefix of an object is invalid */
            return 1 + sim_rng_below(r, (uint32_t)(n - 1));
        case 1: {
            static const char html[] = "<html><body><h1>502 Bad Gateway</h1></body></html>";
            memcpy(buf, html, sizeof(html) - 1);
            return sizeof(html) - 1;
        }
        case 2: /* data after the value */
            buf[n++] = '}';
            return n;
        case 3: /* an array, not an object */
            memmove(buf + 1, buf, n);
            buf[0] = '[';
            buf[n + 1] = ']';
            return n + 2;
        case 4: /* single quotes */
            for (size_t i = 0; i < n; i++)
                if (buf[i] == '"')
                    buf[i] = '\'';
            return n;
        default: {                                 /* a raw control byte inside a string */
            char *q = memchr(buf + 2, '"', n - 2); /* after the first key's quote */
            q = q ? q : buf + 1;
            memmove(q + 1, q, (size_t)(buf + n - q));
            *q = '\x01';
            return n + 1;
        }
        }
    }
    if (u < 0.535) { /* missing_field */
        *reason = CHISO_REJECT_MISSING_FIELD;
        int nchoice = 7 + (m.required_first >= 0);
        int c = (int)sim_rng_below(r, (uint32_t)nchoice);
        if (c < 7) {
            for (int i = 0; i < m.n; i++) {
                if (strcmp(m.f[i].key, common[c]) == 0) {
                    drop(&m, i);
                    break;
                }
            }
        } else {
            drop(&m, m.required_first);
        }
        return render(&m, buf, size, NULL, 0);
    }
    if (u < 0.835) { /* bad_value */
        *reason = CHISO_REJECT_BAD_VALUE;
        const char *bt = bad_type_value(r, ev->type);
        switch (sim_rng_below(r, bt ? 8 : 7)) {
        case 0:
            set_val(&m, "at", sim_rng_chance(r, 0.5) ? "\"2025-07-01 08:00:00\"" : "1751331600");
            break;
        case 1:
            set_val(&m, "at", "\"2025-02-30T08:00:00+07:00\"");
            break;
        case 2:
            set_val(&m, "v", sim_rng_chance(r, 0.5) ? "2" : "\"1\"");
            break;
        case 3:
            set_val(&m, "dossier_id", "\"H31 250701/000001 (copy)\"");
            break;
        case 4:
            set_val(&m, "unit", "\"000.00.12.H31/phong-mot-cua-tiep-nhan\"");
            break;
        case 5:
            set_val(&m, "event_id", "\"\"");
            break;
        case 6:
            set_val(&m, "procedure", "1001234");
            break;
        default:
            snprintf(m.f[m.required_first].val, MF_VAL, "%s", bt);
            break;
        }
        return render(&m, buf, size, NULL, 0);
    }
    *reason = CHISO_REJECT_UNKNOWN_TYPE;
    char q[40];
    snprintf(q, sizeof(q), "\"%s\"", unknown_types[sim_rng_below(r, 6)]);
    set_val(&m, "type", q);
    return render(&m, buf, size, NULL, 0);
}
