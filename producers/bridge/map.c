/*
 * map.c - a DongBoHoSoMC snapshot and the events its change adds (map.h).
 * docs/bridge.md prints the mapping this file implements; change both
 * together.
 */
#include "map.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/vntime.h"

const char *bridge_guess_name(bridge_guess g)
{
    static const char *const names[BRIDGE_GUESS_COUNT] = {
        "unit_prefix", "unit_default", "channel", "due", "time", "delivery"};
    return (int)g >= 0 && g < BRIDGE_GUESS_COUNT ? names[g] : "unknown";
}

static int reject(chiso_reject *rej, chiso_reject_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(chiso_reject *rej, chiso_reject_reason reason, const char *fmt, ...)
{
    va_list ap;
    rej->reason = reason;
    va_start(ap, fmt);
    vsnprintf(rej->detail, sizeof(rej->detail), fmt, ap);
    va_end(ap);
    return CHISO_EINVAL;
}

/* s as a rejection may show it: at most 32 bytes, each outside printable
 * ASCII as '?' (the sentence goes to logs and to the province's answer). */
static const char *shown(const char *s, char out[33])
{
    size_t i = 0;
    for (; s[i] && i < 32; i++)
        out[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
    out[i] = '\0';
    return out;
}

/* A scalar of the payload as text: senders put every value in a string,
 * some a number or null. NULL for absent, null or "". */
static const char *text(const cJSON *obj, const char *name, char *buf, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (cJSON_IsString(v) && v->valuestring[0])
        return v->valuestring;
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15 &&
        v->valuedouble == (double)(long long)v->valuedouble) {
        snprintf(buf, size, "%lld", (long long)v->valuedouble);
        return buf;
    }
    return NULL;
}

bool bridge_code_ok(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c && strchr(extra, c))))
            return false;
    }
    return true;
}

/* A flag: "1" (or 1, "True") is set. */
static bool flag(const cJSON *obj, const char *name)
{
    char buf[32];
    const char *s = text(obj, name, buf, sizeof(buf));
    return s && (strcmp(s, "1") == 0 || strcmp(s, "True") == 0 || strcmp(s, "true") == 0);
}

/* A small code "0".."hi" into *out (-1 when absent). */
static int small_code(const cJSON *obj, const char *name, int lo, int hi, int *out,
                      chiso_reject *rej)
{
    char buf[32], show[33];
    const char *s = text(obj, name, buf, sizeof(buf));
    *out = -1;
    if (!s)
        return 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < lo || v > hi)
        return reject(rej, CHISO_REJECT_BAD_VALUE, "field '%s' must be %d..%d, not '%s'", name, lo,
                      hi, shown(s, show));
    *out = (int)v;
    return 0;
}

/* A date "yyyyMMddHHmmss" (Vietnam local time), or RFC 3339 where a sender
 * serialized a DateTime (the supplement rounds' wire format is not known,
 * BRIDGE.md §3.3); 0 when absent. */
static int date(const cJSON *obj, const char *name, int64_t *out, chiso_reject *rej)
{
    char buf[32], show[33];
    const char *s = text(obj, name, buf, sizeof(buf));
    *out = 0;
    if (!s)
        return 0;
    if (chiso_time_parse_compact(s, out) == 0 || chiso_time_parse(s, out) == 0)
        return 0;
    return reject(rej, CHISO_REJECT_BAD_VALUE,
                  "field '%s' must be a date yyyyMMddHHmmss (Vietnam time), not '%s'", name,
                  shown(s, show));
}

/* The unit of MaHoSo's prefix ("000.20.31.H56-260302-00417"), when the
 * prefix looks like a unit code (dotted); else "". */
static void unit_prefix(const char *id, char out[CHISO_CODE_MAX + 1])
{
    const char *dash = strchr(id, '-');
    size_t n = dash ? (size_t)(dash - id) : 0;
    out[0] = '\0';
    if (n == 0 || n > CHISO_CODE_MAX)
        return;
    memcpy(out, id, n);
    out[n] = '\0';
    if (!strchr(out, '.') || !bridge_code_ok(out, CHISO_CODE_MAX, "._-"))
        out[0] = '\0';
}

/* What every item begins with: a JSON object with a MaHoSo of the
 * contract's characters, copied to id. */
static int item_start(const cJSON *item, char id[CHISO_ID_MAX + 1], chiso_reject *rej)
{
    char buf[80];
    const char *s;
    memset(rej, 0, sizeof(*rej));
    if (!cJSON_IsObject(item))
        return reject(rej, CHISO_REJECT_JSON_SYNTAX, "an item of 'data' is not a JSON object");
    if (!(s = text(item, "MaHoSo", buf, sizeof(buf))))
        return reject(rej, CHISO_REJECT_MISSING_FIELD, "field 'MaHoSo' is required");
    if (!bridge_code_ok(s, CHISO_ID_MAX, "._:/-"))
        return reject(rej, CHISO_REJECT_BAD_VALUE,
                      "field 'MaHoSo' must be 1..64 characters of [A-Za-z0-9._:/-]");
    strcpy(id, s);
    return 0;
}

/* The unit of an item: the envelope's, else MaHoSo's prefix, else the
 * default. */
static int item_unit(const char *dossier_id, const char *envelope_unit, const bridge_defaults *d,
                     char unit[CHISO_CODE_MAX + 1], unsigned guesses[BRIDGE_GUESS_COUNT],
                     chiso_reject *rej)
{
    if (envelope_unit && envelope_unit[0]) {
        if (!bridge_code_ok(envelope_unit, CHISO_CODE_MAX, "._-"))
            return reject(rej, CHISO_REJECT_BAD_VALUE,
                          "the unit code must be 1..32 characters of [A-Za-z0-9._-]");
        strcpy(unit, envelope_unit);
        return 0;
    }
    unit_prefix(dossier_id, unit);
    if (unit[0]) {
        guesses[BRIDGE_GUESS_UNIT_PREFIX]++;
    } else if (d->unit && bridge_code_ok(d->unit, CHISO_CODE_MAX, "._-")) {
        strcpy(unit, d->unit);
        guesses[BRIDGE_GUESS_UNIT_DEFAULT]++;
    } else {
        return reject(rej, CHISO_REJECT_MISSING_FIELD,
                      "no unit: not in the envelope, not a MaHoSo prefix, no default");
    }
    return 0;
}

static int parse_documents(const cJSON *item, bridge_snapshot *s)
{
    const cJSON *doc;
    cJSON_ArrayForEach(doc, cJSON_GetObjectItemCaseSensitive(item, "TaiLieuNop"))
    {
        char buf[32];
        if (flag(doc, "IsDeleted"))
            continue;
        const char *reuse = text(doc, "DuocTaiSuDung", buf, sizeof(buf));
        char rbuf[80];
        s->digitized |= flag(doc, "DuocSoHoa");
        s->reused |= (reuse && (strcmp(reuse, "1") == 0 || strcmp(reuse, "2") == 0)) ||
                     text(doc, "MaKetQuaThayThe", rbuf, sizeof(rbuf)) != NULL;
        s->from_store |= flag(doc, "DuocLayTuKhoDMQG");
    }
    cJSON_ArrayForEach(doc, cJSON_GetObjectItemCaseSensitive(item, "DanhSachGiayToKetQua"))
    {
        char buf[32];
        s->e_result |= text(doc, "DuongDanTepTinKetQua", buf, sizeof(buf)) != NULL;
    }
    return 0;
}

static int parse_fees(const cJSON *item, bridge_snapshot *s, chiso_reject *rej)
{
    const cJSON *fee;
    cJSON_ArrayForEach(fee, cJSON_GetObjectItemCaseSensitive(item, "DanhSachLePhi"))
    {
        char buf[32], show[33], *end = NULL;
        const char *g = text(fee, "Gia", buf, sizeof(buf));
        if (!g)
            continue;
        long long v = strtoll(g, &end, 10);
        if (*end || end == g || v < 0 || v > 1000000000000LL)
            return reject(rej, CHISO_REJECT_BAD_VALUE,
                          "field 'DanhSachLePhi[].Gia' must be an amount in VND, not '%s'",
                          shown(g, show));
        s->fees += v;
    }
    return 0;
}

static int parse_rounds(const cJSON *item, bridge_snapshot *s, chiso_reject *rej)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(item, "DanhSachHoSoBoSung"))
    {
        bridge_round round;
        if (date(r, "NgayBoSung", &round.requested_at, rej) != 0 ||
            date(r, "NgayTiepNhanBoSung", &round.received_at, rej) != 0)
            return CHISO_EINVAL;
        if (!round.requested_at && !round.received_at)
            continue;
        if (s->nrounds == BRIDGE_ROUNDS_MAX)
            return reject(rej, CHISO_REJECT_BAD_VALUE,
                          "field 'DanhSachHoSoBoSung' has more than %d rounds", BRIDGE_ROUNDS_MAX);
        s->rounds[s->nrounds++] = round;
    }
    return 0;
}

int bridge_snapshot_parse(const cJSON *item, const char *envelope_unit, const bridge_defaults *d,
                          bridge_snapshot *out, unsigned guesses[BRIDGE_GUESS_COUNT],
                          chiso_reject *rej)
{
    char buf[80];
    const char *s;
    int code;
    bridge_snapshot t;

    memset(&t, 0, sizeof(t));
    if (item_start(item, t.dossier_id, rej) != 0)
        return CHISO_EINVAL;
    if (!(s = text(item, "MaTTHC", buf, sizeof(buf))))
        return reject(rej, CHISO_REJECT_MISSING_FIELD, "field 'MaTTHC' is required");
    if (!bridge_code_ok(s, CHISO_CODE_MAX, "._-"))
        return reject(rej, CHISO_REJECT_BAD_VALUE,
                      "field 'MaTTHC' must be 1..32 characters of [A-Za-z0-9._-]");
    strcpy(t.procedure, s);
    if (small_code(item, "TrangThaiHoSo", 1, 10, &t.status, rej) != 0)
        return CHISO_EINVAL;
    if (t.status < 0)
        return reject(rej, CHISO_REJECT_MISSING_FIELD, "field 'TrangThaiHoSo' is required");
    t.statuses = 1 << t.status;

    if (item_unit(t.dossier_id, envelope_unit, d, t.unit, guesses, rej) != 0)
        return CHISO_EINVAL;

    /* KenhThucHien: 1 in person, 2 online, 3 by post */
    if (small_code(item, "KenhThucHien", 1, 3, &code, rej) != 0)
        return CHISO_EINVAL;
    t.channel = code == 1   ? CHISO_CHANNEL_DIRECT
                : code == 2 ? CHISO_CHANNEL_ONLINE
                : code == 3 ? CHISO_CHANNEL_POSTAL
                            : CHISO_CHANNEL_UNKNOWN;

    if (date(item, "NgayNopHoSo", &t.submitted_at, rej) != 0 ||
        date(item, "NgayTiepNhan", &t.received_at, rej) != 0 ||
        date(item, "NgayHenTra", &t.due_at, rej) != 0 ||
        date(item, "NgayTuChoi", &t.refused_at, rej) != 0 ||
        date(item, "NgayKetThucXuLy", &t.finished_at, rej) != 0 ||
        date(item, "NgayTra", &t.returned_at, rej) != 0)
        return CHISO_EINVAL;
    if (small_code(item, "HinhThuc", 0, 1, &t.delivery, rej) != 0 ||
        small_code(item, "DuocThanhToanTrucTuyen", 0, 3, &t.paid, rej) != 0 ||
        parse_fees(item, &t, rej) != 0 || parse_rounds(item, &t, rej) != 0)
        return CHISO_EINVAL;

    t.digitized = flag(item, "HoSoCoThanhPhanSoHoa");
    t.population = flag(item, "TaiKhoanDuocXacThucVoiVNeID");
    const cJSON *db;
    cJSON_ArrayForEach(db, cJSON_GetObjectItemCaseSensitive(item, "DSKetNoiCSDL"))
    {
        char cbuf[32];
        const char *m = text(db, "MaCSDL", cbuf, sizeof(cbuf));
        t.population |= m && d->population_db && strcmp(m, d->population_db) == 0;
    }
    parse_documents(item, &t);
    *out = t;
    return 0;
}

/* ---- the change ---------------------------------------------------------- */

typedef struct emitter {
    const bridge_snapshot *s;
    chiso_event *out;
    int n;
} emitter;

/* A new event of the dossier, its id a function of (dossier, type, n). */
static chiso_event *emit(emitter *e, chiso_event_type type, int64_t at, long long n)
{
    char key[CHISO_ID_MAX + 40];
    if (e->n == BRIDGE_EVENTS_MAX)
        return NULL;
    chiso_event *ev = &e->out[e->n++];
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->at = at;
    snprintf(ev->dossier_id, sizeof(ev->dossier_id), "%s", e->s->dossier_id);
    snprintf(ev->unit, sizeof(ev->unit), "%s", e->s->unit);
    snprintf(ev->procedure, sizeof(ev->procedure), "%s", e->s->procedure);
    int len =
        snprintf(key, sizeof(key), "%s|%s|%lld", e->s->dossier_id, chiso_event_type_name(type), n);
    snprintf(ev->event_id, sizeof(ev->event_id), "br-%016llx",
             (unsigned long long)chiso_hash64(key, (size_t)len));
    return ev;
}

/* The first known of two times (0 = not known). */
static int64_t first_of(int64_t a, int64_t b)
{
    return a ? a : b;
}

/* A time, or the arrival time (a guess) when the payload gave none. */
static int64_t at_or_now(int64_t at, int64_t now, unsigned guesses[BRIDGE_GUESS_COUNT])
{
    if (at)
        return at;
    guesses[BRIDGE_GUESS_TIME]++;
    return now;
}

/* The time of the fact of status s: the payload's date, else the earliest
 * step with that status, else the arrival time (a guess). fact_at[s]
 * records a time that a step may still correct. */
static int64_t status_time(bridge_snapshot *m, int s, int64_t field, int64_t now,
                           unsigned guesses[BRIDGE_GUESS_COUNT])
{
    if (field) {
        m->fact_at[s] = 0;
        return field;
    }
    m->fact_at[s] = m->step_at[s] ? m->step_at[s] : at_or_now(0, now, guesses);
    return m->fact_at[s];
}

/* How the result went back (HinhThuc, and the e-result reading). */
static void delivery(chiso_event *ev, const bridge_snapshot *m, const bridge_defaults *d,
                     unsigned guesses[BRIDGE_GUESS_COUNT])
{
    bool post = m->delivery == 1;
    if (m->e_result && d->e_result_online) {
        ev->delivery = post ? CHISO_DELIVERY_POSTAL : CHISO_DELIVERY_ONLINE;
        ev->paper_copy = post;
        guesses[BRIDGE_GUESS_DELIVERY]++;
    } else {
        ev->delivery = post ? CHISO_DELIVERY_POSTAL : CHISO_DELIVERY_COUNTER;
    }
}

/* merged = what was known (prev) with what cur adds: times keep the first
 * value given, flags and seen statuses add up, rounds are kept by index
 * with their first times, the status and the unit are cur's. */
static void merge(const bridge_snapshot *prev, const bridge_snapshot *cur, bridge_snapshot *m)
{
    *m = *cur;
    if (!prev)
        return;
    memcpy(m->step_at, prev->step_at, sizeof(m->step_at));
    memcpy(m->fact_at, prev->fact_at, sizeof(m->fact_at));
    memcpy(m->step_last, prev->step_last, sizeof(m->step_last));
    m->round_mark = prev->round_mark;
    m->status_rounds = prev->status_rounds;
    m->statuses |= prev->statuses;
    if (prev->channel != CHISO_CHANNEL_UNKNOWN)
        m->channel = prev->channel;
    m->submitted_at = first_of(prev->submitted_at, cur->submitted_at);
    m->received_at = first_of(prev->received_at, cur->received_at);
    m->due_at = first_of(prev->due_at, cur->due_at);
    m->refused_at = first_of(prev->refused_at, cur->refused_at);
    m->finished_at = first_of(prev->finished_at, cur->finished_at);
    m->returned_at = first_of(prev->returned_at, cur->returned_at);
    if (prev->delivery >= 0)
        m->delivery = prev->delivery;
    if (prev->paid > 0)
        m->paid = prev->paid;
    if (prev->fees > m->fees)
        m->fees = prev->fees;
    m->digitized |= prev->digitized;
    m->reused |= prev->reused;
    m->from_store |= prev->from_store;
    m->population |= prev->population;
    m->e_result |= prev->e_result;
    if (prev->nrounds > m->nrounds)
        m->nrounds = prev->nrounds;
    for (int i = 0; i < m->nrounds; i++) {
        const bridge_round *p = i < prev->nrounds ? &prev->rounds[i] : NULL;
        const bridge_round *c = i < cur->nrounds ? &cur->rounds[i] : NULL;
        m->rounds[i].requested_at = first_of(p ? p->requested_at : 0, c ? c->requested_at : 0);
        m->rounds[i].received_at = first_of(p ? p->received_at : 0, c ? c->received_at : 0);
    }
}

static bool seen(const bridge_snapshot *s, int status)
{
    return s && (s->statuses & (1 << status));
}

/* The supplement rounds' events: each round's request and receipt once;
 * without rounds, status 5 is a request at the arrival time and a 5 -> 2/4
 * transition its receipt (BRIDGE.md §6). */
static void supplements(emitter *e, const bridge_snapshot *prev, bridge_snapshot *m, int64_t now,
                        unsigned guesses[BRIDGE_GUESS_COUNT])
{
    int known = prev ? prev->nrounds : 0;
    for (int i = 0; i < m->nrounds; i++) {
        const bridge_round *r = &m->rounds[i];
        bool had_req = i < known && prev->rounds[i].requested_at;
        bool had_recv = i < known && prev->rounds[i].received_at;
        if (r->requested_at && !had_req)
            emit(e, CHISO_EV_SUPPLEMENT_REQUESTED, r->requested_at, i);
        if (r->received_at && !had_recv)
            emit(e, CHISO_EV_SUPPLEMENT_RECEIVED, r->received_at, i);
    }
    if (m->nrounds > 0)
        return;
    /* status-only rounds, numbered after the rounds a payload can hold,
     * timed by a step newer than the last such fact when one came before
     * the snapshot, else at the arrival */
    if (m->status == 5 && (!prev || prev->status != 5)) {
        m->status_rounds++;
        int64_t t = m->step_last[5] > m->round_mark ? m->step_last[5] : at_or_now(0, now, guesses);
        m->round_mark = t;
        emit(e, CHISO_EV_SUPPLEMENT_REQUESTED, t, BRIDGE_ROUNDS_MAX + m->status_rounds);
    }
    if (prev && prev->status == 5 && (m->status == 2 || m->status == 4)) {
        int64_t step = m->step_last[2] > m->step_last[4] ? m->step_last[2] : m->step_last[4];
        int64_t t = step > m->round_mark ? step : at_or_now(0, now, guesses);
        m->round_mark = t;
        emit(e, CHISO_EV_SUPPLEMENT_RECEIVED, t, BRIDGE_ROUNDS_MAX + m->status_rounds);
    }
}

int bridge_diff(const bridge_snapshot *prev, const bridge_snapshot *cur, int64_t now,
                const bridge_defaults *d, bridge_snapshot *merged, chiso_event *out,
                unsigned guesses[BRIDGE_GUESS_COUNT])
{
    bridge_snapshot m;
    emitter e = {.s = &m, .out = out, .n = 0};
    chiso_event *ev;

    merge(prev, cur, &m);
    bool received = m.received_at && !(prev && prev->received_at);

    /* submitted: with the first snapshot that says when (NgayNopHoSo, else
     * the reception), with its channel */
    bool had_submitted = prev && (prev->submitted_at || prev->received_at);
    if (!had_submitted && (m.submitted_at || m.received_at)) {
        if ((ev = emit(&e, CHISO_EV_SUBMITTED, first_of(m.submitted_at, m.received_at), 0))) {
            ev->channel = m.channel;
            if (ev->channel == CHISO_CHANNEL_UNKNOWN) {
                ev->channel = d->channel;
                guesses[BRIDGE_GUESS_CHANNEL]++;
            }
        }
    }
    /* received: NgayTiepNhan, due NgayHenTra, the flags known then */
    if (received && (ev = emit(&e, CHISO_EV_RECEIVED, m.received_at, 0))) {
        ev->due_at = m.due_at;
        if (!ev->due_at) {
            ev->due_at = m.received_at + (int64_t)d->due_days * 86400;
            guesses[BRIDGE_GUESS_DUE]++;
        }
        ev->digitized = m.digitized;
        ev->reused_data = m.reused;
        ev->from_data_store = m.digitized && m.from_store;
        ev->population_data = m.population;
    }
    /* not accepted (3): NgayTuChoi, else NgayKetThucXuLy */
    if (seen(&m, 3) && !seen(prev, 3))
        emit(&e, CHISO_EV_NOT_ACCEPTED,
             status_time(&m, 3, first_of(m.refused_at, m.finished_at), now, guesses), 0);
    supplements(&e, prev, &m, now, guesses);
    /* fees: a fee request when a fee appears or status 6; the payment when
     * DuocThanhToanTrucTuyen says online (1 the platform, 2 a gateway) */
    bool fee = m.fees > 0 || seen(&m, 6);
    bool had_fee = prev && (prev->fees > 0 || seen(prev, 6));
    if (fee && !had_fee &&
        (ev = emit(&e, CHISO_EV_FEE_REQUESTED, status_time(&m, 6, 0, now, guesses), 0)))
        ev->amount = m.fees;
    if ((m.paid == 1 || m.paid == 2) && !(prev && (prev->paid == 1 || prev->paid == 2)) &&
        (ev = emit(&e, CHISO_EV_PAID, at_or_now(0, now, guesses), 0)))
        ev->method = m.paid == 1 ? CHISO_PAY_DVCQG_PLATFORM : CHISO_PAY_PROVINCIAL_GATEWAY;
    /* resolved (9, or 10 without a 9 seen): NgayKetThucXuLy, an e-result
     * when a result document has a link */
    bool done = seen(&m, 9) || seen(&m, 10);
    if (done && !(seen(prev, 9) || seen(prev, 10)) &&
        (ev = emit(&e, CHISO_EV_RESOLVED, status_time(&m, 9, m.finished_at, now, guesses), 0))) {
        ev->outcome = CHISO_OUTCOME_APPROVED;
        ev->e_result = m.e_result;
    }
    /* withdrawn (7) and stopped (8): no date field but NgayKetThucXuLy */
    if (seen(&m, 7) && !seen(prev, 7))
        emit(&e, CHISO_EV_WITHDRAWN, status_time(&m, 7, 0, now, guesses), 0);
    if (seen(&m, 8) && !seen(prev, 8))
        emit(&e, CHISO_EV_STOPPED, status_time(&m, 8, m.finished_at, now, guesses), 0);
    /* returned (10, or NgayTra): HinhThuc 0 at the desk, 1 by post */
    bool returned = seen(&m, 10) || m.returned_at;
    if (returned && !(prev && (seen(prev, 10) || prev->returned_at)) &&
        (ev = emit(&e, CHISO_EV_RETURNED, status_time(&m, 10, m.returned_at, now, guesses), 0)))
        delivery(ev, &m, d, guesses);
    *merged = m;
    return e.n;
}

void bridge_synced_event(const bridge_snapshot *s, int64_t at, chiso_event *out)
{
    emitter e = {.s = s, .out = out, .n = 0};
    emit(&e, CHISO_EV_SYNCED, at, 0);
}

/* ---- progress steps ------------------------------------------------------ */

int bridge_step_parse(const cJSON *item, const char *envelope_unit, const bridge_defaults *d,
                      bridge_step *out, unsigned guesses[BRIDGE_GUESS_COUNT], chiso_reject *rej)
{
    bridge_step t;

    memset(&t, 0, sizeof(t));
    if (item_start(item, t.dossier_id, rej) != 0)
        return CHISO_EINVAL;
    if (small_code(item, "TrangThai", 1, 10, &t.status, rej) != 0 ||
        date(item, "ThoiDiemXuLy", &t.at, rej) != 0)
        return CHISO_EINVAL;
    if (t.status < 0)
        return reject(rej, CHISO_REJECT_MISSING_FIELD, "field 'TrangThai' is required");
    if (!t.at)
        return reject(rej, CHISO_REJECT_MISSING_FIELD, "field 'ThoiDiemXuLy' is required");
    if (item_unit(t.dossier_id, envelope_unit, d, t.unit, guesses, rej) != 0)
        return CHISO_EINVAL;
    *out = t;
    return 0;
}

/* The single fact a step of status s can correct, and its payload. */
static chiso_event *correction(emitter *e, const bridge_snapshot *m, int s, int64_t at,
                               const bridge_defaults *d, unsigned guesses[BRIDGE_GUESS_COUNT])
{
    static const chiso_event_type types[11] = {
        [3] = CHISO_EV_NOT_ACCEPTED, [6] = CHISO_EV_FEE_REQUESTED, [7] = CHISO_EV_WITHDRAWN,
        [8] = CHISO_EV_STOPPED,      [9] = CHISO_EV_RESOLVED,      [10] = CHISO_EV_RETURNED,
    };
    /* ids apart from the first occurrence's: n is minus the step's time */
    chiso_event *ev = emit(e, types[s], at, -(long long)at);
    if (!ev)
        return NULL;
    ev->amount = m->fees;
    ev->outcome = CHISO_OUTCOME_APPROVED;
    ev->e_result = m->e_result;
    if (s == 10)
        delivery(ev, m, d, guesses);
    return ev;
}

int bridge_step_apply(const bridge_snapshot *prev, const bridge_step *st, const bridge_defaults *d,
                      bridge_snapshot *merged, chiso_event *out,
                      unsigned guesses[BRIDGE_GUESS_COUNT])
{
    bridge_snapshot m;
    emitter e = {.s = &m, .out = out, .n = 0};
    int s = st->status;

    if (prev) {
        m = *prev;
    } else {
        memset(&m, 0, sizeof(m));
        strcpy(m.dossier_id, st->dossier_id);
        strcpy(m.unit, st->unit);
        m.delivery = -1;
        m.paid = -1;
    }
    if (!m.step_at[s] || st->at < m.step_at[s])
        m.step_at[s] = st->at;
    if (st->at > m.step_last[s])
        m.step_last[s] = st->at;
    /* the facts the step corrects: its status's (fact_at is only ever set
     * for 3, 6, 7, 8, 9 and 10), and for a 10 the resolution too, which
     * came no later than the hand-over */
    const int ks[2] = {s, s == 10 ? 9 : 0};
    for (int i = 0; i < 2; i++) {
        int k = ks[i];
        if (k && m.fact_at[k] && st->at < m.fact_at[k] && m.procedure[0] &&
            correction(&e, &m, k, st->at, d, guesses))
            m.fact_at[k] = st->at;
    }
    *merged = m;
    return e.n;
}

/* ---- the state kept in Redis --------------------------------------------- */

/* The numeric members of a kept snapshot: key, offset, width (4 or 8). */
#define NUM(key, field)                                                                            \
    {                                                                                              \
        key, offsetof(bridge_snapshot, field), sizeof(((bridge_snapshot *)0)->field)               \
    }
static const struct {
    const char *key;
    size_t off, width;
} nums[] = {
    NUM("st", status),        NUM("ss", statuses),     NUM("ch", channel),
    NUM("sub", submitted_at), NUM("rec", received_at), NUM("due", due_at),
    NUM("ref", refused_at),   NUM("fin", finished_at), NUM("ret", returned_at),
    NUM("del", delivery),     NUM("pay", paid),        NUM("fee", fees),
    NUM("sr", status_rounds), NUM("rm", round_mark),
};
#undef NUM

static int64_t num_get(const bridge_snapshot *s, size_t i)
{
    const char *p = (const char *)s + nums[i].off;
    if (nums[i].width == 8) {
        int64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
    }
    int v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void num_set(bridge_snapshot *s, size_t i, int64_t v)
{
    char *p = (char *)s + nums[i].off;
    if (nums[i].width == 8) {
        memcpy(p, &v, sizeof(v));
    } else {
        int x = (int)v;
        memcpy(p, &x, sizeof(x));
    }
}

/* The 11 per-status times as an array under key, left out when all 0. */
static bool add_times(cJSON *o, const char *key, const int64_t t[11])
{
    bool any = false;
    for (int i = 0; i < 11; i++)
        any |= t[i] != 0;
    if (!any)
        return true;
    cJSON *a = cJSON_AddArrayToObject(o, key);
    for (int i = 0; a && i < 11; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t[i])))
            return false;
    return a != NULL;
}

/* The 11 per-status times of key into t (all 0 when absent). */
static bool get_times(const cJSON *o, const char *key, int64_t t[11])
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *v;
    int i = 0;
    if (!a)
        return true;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 11)
        return false;
    cJSON_ArrayForEach(v, a)
    {
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18))
            return false;
        t[i++] = (int64_t)v->valuedouble;
    }
    return true;
}

int bridge_snapshot_encode(const bridge_snapshot *s, char *buf, size_t size)
{
    cJSON *o = cJSON_CreateObject(), *rounds = NULL;
    int rc = CHISO_ERANGE;
    bool ok = o && cJSON_AddStringToObject(o, "id", s->dossier_id) &&
              cJSON_AddStringToObject(o, "u", s->unit) &&
              cJSON_AddStringToObject(o, "p", s->procedure);
    for (size_t i = 0; ok && i < sizeof(nums) / sizeof(nums[0]); i++) {
        int64_t v = num_get(s, i);
        if (v != 0)
            ok = cJSON_AddNumberToObject(o, nums[i].key, (double)v) != NULL;
    }
    int flags =
        s->digitized | s->reused << 1 | s->from_store << 2 | s->population << 3 | s->e_result << 4;
    if (ok && flags)
        ok = cJSON_AddNumberToObject(o, "f", flags) != NULL;
    if (ok)
        ok = add_times(o, "sa", s->step_at) && add_times(o, "fa", s->fact_at) &&
             add_times(o, "sl", s->step_last);
    if (ok && s->nrounds > 0)
        ok = (rounds = cJSON_AddArrayToObject(o, "r")) != NULL;
    for (int i = 0; ok && i < s->nrounds; i++) {
        cJSON *pair = cJSON_CreateArray();
        ok = pair && cJSON_AddItemToArray(rounds, pair);
        if (!ok) {
            cJSON_Delete(pair);
            break;
        }
        ok = cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)s->rounds[i].requested_at)) &&
             cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)s->rounds[i].received_at));
    }
    if (ok && cJSON_PrintPreallocated(o, buf, (int)(size > 5 ? size - 5 : 0), false))
        rc = (int)strlen(buf);
    cJSON_Delete(o);
    return rc;
}

/* A string member into out (size bytes), "" when absent; false when too long. */
static bool str_member(const cJSON *o, const char *key, char *out, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    out[0] = '\0';
    if (!v)
        return true;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
        return false;
    strcpy(out, v->valuestring);
    return true;
}

int bridge_snapshot_decode(const char *buf, size_t len, bridge_snapshot *out)
{
    cJSON *o = cJSON_ParseWithLength(buf, len);
    bridge_snapshot s;
    int rc = CHISO_ESTATE;

    memset(&s, 0, sizeof(s));
    if (!cJSON_IsObject(o) || !str_member(o, "id", s.dossier_id, sizeof(s.dossier_id)) ||
        !str_member(o, "u", s.unit, sizeof(s.unit)) ||
        !str_member(o, "p", s.procedure, sizeof(s.procedure)) || !s.dossier_id[0])
        goto out;
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, nums[i].key);
        if (!v)
            continue;
        double lim = nums[i].width == 8 ? 9.2e18 : 2147483647.0;
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= -lim && v->valuedouble <= lim))
            goto out;
        num_set(&s, i, (int64_t)v->valuedouble);
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "f");
    if (f && (!cJSON_IsNumber(f) || f->valuedouble < 0 || f->valuedouble > 31))
        goto out;
    int flags = f ? (int)f->valuedouble : 0;
    s.digitized = flags & 1;
    s.reused = flags & 2;
    s.from_store = flags & 4;
    s.population = flags & 8;
    s.e_result = flags & 16;
    if (!get_times(o, "sa", s.step_at) || !get_times(o, "fa", s.fact_at) ||
        !get_times(o, "sl", s.step_last))
        goto out;
    const cJSON *r, *rounds = cJSON_GetObjectItemCaseSensitive(o, "r");
    if (rounds && (!cJSON_IsArray(rounds) || cJSON_GetArraySize(rounds) > BRIDGE_ROUNDS_MAX))
        goto out;
    cJSON_ArrayForEach(r, rounds)
    {
        const cJSON *a = cJSON_GetArrayItem(r, 0), *b = cJSON_GetArrayItem(r, 1);
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b))
            goto out;
        s.rounds[s.nrounds].requested_at = (int64_t)a->valuedouble;
        s.rounds[s.nrounds].received_at = (int64_t)b->valuedouble;
        s.nrounds++;
    }
    if (s.status < 0 || s.status > 10 || s.channel < CHISO_CHANNEL_UNKNOWN ||
        s.channel > CHISO_CHANNEL_POSTAL)
        goto out;
    *out = s;
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}
