#!/usr/bin/env bash
# The monitoring wall, end to end, in a real browser. The simulator streams
# three days of a province across a month and quarter boundary (2025-06-29
# to 2025-07-01) through chiso-classify, chiso-snapshot and chiso-alerts
# (event time); chiso-wall follows `scores` and `alerts`. Then:
#   1. HTTP safety with curl: /healthz, /metrics, 405 on POST/PUT/DELETE,
#      404 for traversal (../, %2e%2e, hidden names) and unknown paths, 413
#      for a request body, an oversized request header refused, 400 for a
#      bad period, the security headers; a second wall with --http.token
#      answers 401 without the bearer token (also to /events), 200 with
#      it, and /healthz stays open.
#   2. tests/browser/wall.test.mjs drives Debian's /usr/bin/chromium
#      (playwright-core, installed here with npm ci) against the wall: every
#      figure on the page equals the `scores` topic read with kcat (the
#      on-time figures are indicator #5's rate, labelled "chỉ số 5", and the
#      province's agrees with group 2's points; the province card shows the
#      three largest points still to win); new days of events update the
#      page without a reload; the quarter selector shows the quarter's
#      snapshots; a restarted wall is reconnected to by the page itself;
#      the unit drill-down shows the 21 indicators, the full-process gap
#      and the points still to win, one sentence each, by gain; the unit's
#      and the province's trends (12 months, 8 quarters) equal the topic's
#      snapshots point by point, null where it has none; the alert
#      feed holds only alerts of the topic; sorting by a header;
#      screenshots go to tests/artifacts/wall.png and wall-drilldown.png;
#      then the screens: at 1280x720, 1920x1080 and 3840x2160, normal and
#      kiosk, the cards fill the screen, no text is cut or off screen, text
#      keeps its size relative to the screen, every text meets WCAG AA
#      contrast, every rate's status is also a sign (screenshots
#      wall-1920x1080.png, wall-3840x2160.png); the kiosk (?kiosk=1) shows
#      every unit once per cycle in rank order, then the drill-downs of the
#      units furthest below target, redraws the ranking only on page turns
#      while a new day streams in; a wall started with --kiosk opens in
#      kiosk mode (its hello carries the settings, checked with curl).
#   Before the browser, chiso-top --once: its "Đúng hạn CS5" column is #5's
#   rate of the topic's snapshots, not the report's resolved on-time rate.
# A missing chromium, node or npm, or a failed npm install, FAILS the test.
. "$(dirname "$0")/lib.sh"

SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
SNAPSHOT=$(e2e_bin chiso-snapshot)
ALERTS=$(e2e_bin chiso-alerts)
VERIFY=$(e2e_bin chiso-verify)
WALL=$(e2e_bin chiso-wall)
P=$(e2e_prefix)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")
BROWSER_DIR=$CHISO_SOURCE_DIR/tests/browser
ARTIFACTS=$CHISO_SOURCE_DIR/tests/artifacts
CHROMIUM=${CHISO_CHROMIUM:-/usr/bin/chromium}
SEED=11
PER_DAY=600

# ---- the browser and its driver: required, never skipped ----
[ -x "$CHROMIUM" ] || e2e_fail "no Chromium at $CHROMIUM (Debian package chromium: deploy/local/deps.sh)"
command -v node >/dev/null || e2e_fail "node not found (Debian package nodejs: deploy/local/deps.sh)"
command -v npm >/dev/null || e2e_fail "npm not found (install npm, or nodejs from NodeSource)"
PINNED=$(node -p 'require(process.argv[1]).dependencies["playwright-core"]' "$BROWSER_DIR/package.json")
(
    # one install at a time (parallel test runs share tests/browser)
    flock 9
    have=$(node -p 'try { require(process.argv[1]).version } catch (e) { "" }' \
        "$BROWSER_DIR/node_modules/playwright-core/package.json" 2>/dev/null || true)
    if [ "$have" != "$PINNED" ]; then
        e2e_log "installing playwright-core $PINNED (npm ci in tests/browser)"
        cd "$BROWSER_DIR" && npm ci --no-audit --no-fund >&2
    fi
) 9>"${TMPDIR:-/tmp}/chiso-browser-npm.lock" || e2e_fail "npm ci in $BROWSER_DIR failed (is the npm registry reachable?)"
e2e_log "playwright-core $PINNED, $("$CHROMIUM" --version 2>/dev/null | head -1)"

# ---- the pipeline ----
e2e_log "simulating 2025-06-29..2025-07-01 into topics ${P}*"
"$SIM" "${COMMON[@]}" --seed "$SEED" --start 2025-06-29 --days 3 --dossiers-per-day "$PER_DAY" \
    2>"$E2E_TMP/simulate.log" || e2e_fail "simulator failed: $(tail -3 "$E2E_TMP/simulate.log")"
e2e_bg snapshot "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 500 --metrics.port 0
e2e_bg classify "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" --metrics.port 0
e2e_bg alerts "$ALERTS" "${COMMON[@]}" "${REDIS[@]}" --time.source event --due-soon.hours 72 \
    --interval.ms 500 --metrics.port 0

# settle: classify committed everything, snapshot drained its dirty set
# and published, so `scores` holds the final snapshots
settle() {
    "$VERIFY" "${COMMON[@]}" --check committed --group "${P}classify" --timeout.s 300 \
        >"$E2E_TMP/committed.out" 2>&1 || e2e_fail "classify did not commit: $(tail -3 "$E2E_TMP/committed.out")"
    e2e_wait_for "[ \"\$(e2e_redis scard ${P}chiso:dirty)\" = 0 ]" 60 0.3
    sleep 2
}
settle

# ---- chiso-top: its on-time column is indicator #5's rate ----
TOP=$(e2e_bin chiso-top)
"$TOP" "${COMMON[@]}" --once --period 2025-07 --top 100000 >"$E2E_TMP/top.txt" 2>"$E2E_TMP/top.err" ||
    e2e_fail "chiso-top --once failed: $(tail -3 "$E2E_TMP/top.err")"
e2e_kcat -C -t "${P}scores" -e -q -f '%k\t%s\n' >"$E2E_TMP/scores.tsv"
TOP_CHECK=$(python3 - "$E2E_TMP/top.txt" "$E2E_TMP/scores.tsv" <<'PY'
# chiso-top prints the name in 32 columns (cut when longer), then the
# cells; the on-time cell is the last but one (the open overdue is last)
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
latest = {}
for line in open(sys.argv[2], encoding="utf-8"):
    key, _, payload = line.rstrip("\n").partition("\t")
    if payload:
        latest[key] = json.loads(payload)
    else:
        latest.pop(key, None)
snaps = [s for s in latest.values() if s["period"] == "2025-07"]
head = next((l for l in lines if l.startswith("Đơn vị")), "")
assert head.split()[-3:-1] == ["CS5", "Quá"], "header: %r" % head
assert any("Đúng hạn CS5: chỉ số 5" in l for l in lines), "no note on what CS5 is"
def vi(text):  # "98,9%" -> 98.9; "—" -> None
    return None if text == "—" else float(text.rstrip("%").replace(".", "").replace(",", "."))
checked = numeric = 0
for s in snaps:
    name = s["unit_name"]
    prefix = name + " " if len(name) < 32 else name[:32]
    rows = [l for l in lines if l.startswith(prefix)]
    if len(rows) != 1:
        continue  # a name that prefixes another's: skip it
    five = next(i for i in s["indicators"] if i["id"] == 5)
    got = vi(rows[0].split()[-2])
    if five["rate"] is None:
        assert got is None, "%s: shows %s, #5 has no rate" % (s["unit"], got)
    else:
        assert got is not None and abs(got - 100 * five["rate"]) <= 0.05 + 1e-9, \
            "%s: shows %s, #5's rate %r (the report's on_time %r)" % (
                s["unit"], got, five["rate"], s["on_time"]["rate"])
        numeric += 1
    checked += 1
province = [s for s in snaps if s["kind"] == "province"]
assert province and checked >= len(snaps) - 5 and numeric > 0, (checked, numeric, len(snaps))
print("chiso-top: %d rows of 2025-07 show #5's rate in 'Đúng hạn CS5' (%d with a rate)" % (checked, numeric))
PY
) || e2e_fail "chiso-top's on-time column is not #5's rate (output: $E2E_TMP/top.txt)"
e2e_log "$TOP_CHECK"

# ---- the wall ----
PORT=$(e2e_free_port)
WALL_ARGS=("${COMMON[@]}" "${REDIS[@]}" --http.port "$PORT" --time.source event
    --sse.interval.ms 250 --today.interval.ms 500 --http.request.max 8192)
WALL_PIDFILE=$E2E_TMP/wall.pid
wall_start() {
    "$WALL" "${WALL_ARGS[@]}" </dev/null >>"$E2E_TMP/wall.log" 2>&1 &
    echo $! >"$WALL_PIDFILE"
}
wall_stop() {
    local pid
    pid=$(cat "$WALL_PIDFILE" 2>/dev/null || true)
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    e2e_log "chiso-wall $pid did not stop on SIGTERM within 10 s"
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}
# the wall may be restarted by the browser test's hook: stop whichever runs
e2e_at_exit wall_stop
E2E_LOGS+=("$E2E_TMP/wall.log")
wall_start
URL=http://127.0.0.1:$PORT
e2e_wait_for "curl -sf $URL/healthz" 60 0.2
e2e_log "wall at $URL"

# ---- 1. HTTP safety ----
# status CODE [CURL ARGS...]: fail unless the request answers CODE
status() {
    local want=$1 got
    shift
    got=$(curl -s -o "$E2E_TMP/body" -w '%{http_code}' "$@" || true)
    [ "$got" = "$want" ] || e2e_fail "curl $*: expected HTTP $want, got '$got': $(head -c 200 "$E2E_TMP/body")"
}
status 200 "$URL/healthz"
grep -qx ok "$E2E_TMP/body" || e2e_fail "/healthz body: $(cat "$E2E_TMP/body")"
status 200 "$URL/metrics"
grep -q '^chiso_wall_snapshots_total [1-9]' "$E2E_TMP/body" || e2e_fail "/metrics lacks snapshots read"
grep -q '^chiso_wall_http_responses_total{code="200"}' "$E2E_TMP/body" || e2e_fail "/metrics lacks responses"
status 200 "$URL/"
grep -q 'id="province-total"' "$E2E_TMP/body" || e2e_fail "/ is not the wall page"
HEADERS=$(curl -s -D - -o /dev/null "$URL/")
for h in 'Content-Security-Policy: default-src' 'X-Content-Type-Options: nosniff' \
    'X-Frame-Options: DENY' 'Content-Type: text/html; charset=utf-8'; do
    grep -qi "^$h" <<<"$HEADERS" || e2e_fail "page lacks the header '$h'"
done
status 200 -I "$URL/wall.js"
for m in POST PUT DELETE PATCH OPTIONS; do
    status 405 -X "$m" "$URL/api/units"
done
status 405 -X POST --data 'x=1' "$URL/"
ALLOW=$(curl -s -D - -o /dev/null -X POST "$URL/api/today" | tr -d '\r' | awk -F': ' 'tolower($1) == "allow" {print $2}')
e2e_assert_eq "GET, HEAD" "$ALLOW" "Allow header of a 405"
for path in /../../etc/passwd /..%2f..%2fetc/passwd /%2e%2e/%2e%2e/etc/passwd \
    /wall.js/../../../etc/passwd /api/units/../../etc/passwd /.git/config /web/index.html \
    /nope.html '/api/units/a%2Fb' /api/units/ /main.c /CMakeLists.txt; do
    status 404 --path-as-is "$URL$path"
done
status 413 -X GET --data-binary 'body' "$URL/api/today"
status 400 "$URL/api/units?period=2025-07-01"
status 400 "$URL/api/province?period=..%2f"
status 400 "$URL/api/alerts?n=0"
status 404 "$URL/api/units/NO-SUCH-UNIT?period=2025-07"
# an oversized request (a 12 KiB header, limit 8 KiB) is refused, never served
BIG=$(head -c 12288 /dev/zero | tr '\0' 'a')
got=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $BIG" "$URL/api/today" || true)
case "$got" in
4[0-9][0-9] | 000) e2e_log "oversized request refused (HTTP $got)" ;;
*) e2e_fail "an oversized request answered HTTP $got" ;;
esac
curl -sf "$URL/healthz" >/dev/null || e2e_fail "the wall died after the oversized request"
# the API answers the topic's data
curl -sf "$URL/api/units?period=2025-07" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["period"] == "2025-07" and len(d["units"]) > 50, d
' || e2e_fail "/api/units holds no ranking for 2025-07"
# an SSE stream starts with hello and its period
timeout 3 curl -sN "$URL/events?period=2025-Q3" >"$E2E_TMP/events.txt" || true
grep -q '^event: hello' "$E2E_TMP/events.txt" && grep -q '"period":"2025-Q3"' "$E2E_TMP/events.txt" ||
    e2e_fail "/events did not greet: $(head -c 300 "$E2E_TMP/events.txt")"

# a second wall with a bearer token: 401 without it, everywhere but /healthz
TPORT=$(e2e_free_port)
printf 'http.token = %s\n' "t0k-$RANDOM$RANDOM" >"$E2E_TMP/token.conf"
TOKEN=$(awk '{print $3}' "$E2E_TMP/token.conf")
e2e_bg wall-token "$WALL" -c "$E2E_TMP/token.conf" "${COMMON[@]}" "${REDIS[@]}" \
    --http.port "$TPORT" --catchup.s 0
TOKEN_PID=$E2E_LAST_PID
e2e_wait_for "curl -sf http://127.0.0.1:$TPORT/healthz" 60 0.2
for path in / /wall.js /api/units /api/today /metrics /events /nope; do
    status 401 "http://127.0.0.1:$TPORT$path"
    status 401 -H "Authorization: Bearer wrong" "http://127.0.0.1:$TPORT$path"
done
status 401 -X POST "http://127.0.0.1:$TPORT/api/units"
grep -qi '^WWW-Authenticate: Bearer' <(curl -s -D - -o /dev/null "http://127.0.0.1:$TPORT/") ||
    e2e_fail "a 401 lacks WWW-Authenticate"
status 200 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$TPORT/api/today"
status 200 -H "Authorization: bearer $TOKEN" "http://127.0.0.1:$TPORT/"
status 405 -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$TPORT/api/units"
status 200 "http://127.0.0.1:$TPORT/healthz"
e2e_stop "$TOKEN_PID" 20 || e2e_fail "the token wall did not exit cleanly on SIGTERM"
e2e_log "HTTP safety checks passed"

# ---- 2. the page in Chromium ----
# The browser test calls back here through a small hook script for what
# only the shell does: read the topics, stream more days, restart the wall.
HOOK=$E2E_TMP/hook.sh
{
    printf 'set -euo pipefail\n'
    for v in CHISO_BROKERS CHISO_REDIS_HOST CHISO_REDIS_PORT P SIM VERIFY WALL SEED PER_DAY \
        E2E_TMP WALL_PIDFILE PORT; do
        printf '%s=%q\n' "$v" "${!v}"
    done
    printf 'COMMON=(%s)\nREDIS=(%s)\nWALL_ARGS=(%s)\n' "$(printf '%q ' "${COMMON[@]}")" \
        "$(printf '%q ' "${REDIS[@]}")" "$(printf '%q ' "${WALL_ARGS[@]}")"
    declare -f e2e_redis e2e_kcat settle wall_start wall_stop e2e_wait_for e2e_fail e2e_log
    cat <<'EOF'
E2E_NAME=test_wall-hook
case "$1" in
scores) # every record of scores: key TAB payload (empty payload: a tombstone)
    e2e_kcat -C -t "${P}scores" -e -q -f '%k\t%s\n' ;;
alerts) # every alert
    e2e_kcat -C -t "${P}alerts" -e -q -f '%s\n' ;;
today) # today's received dossiers, straight from Redis: the watermark's day
    "$VERIFY" "${REDIS[@]}" --check fold >/dev/null # the journals into the hashes first
    w=$(e2e_redis get "${P}chiso:watermark")
    day=$(date -u -d "@$((w + 7 * 3600))" +%F)
    sum=0
    for u in $(e2e_redis smembers "${P}chiso:units"); do
        n=$(e2e_redis hget "${P}chiso:{$u}:c:$day" received)
        sum=$((sum + ${n:-0}))
    done
    printf '{"day":"%s","received":%d}\n' "$day" "$sum" ;;
more) # one more simulated day, then wait until scores holds its effect
    "$SIM" "${COMMON[@]}" --seed "$SEED" --start "$2" --days 1 --dossiers-per-day "$PER_DAY" \
        2>>"$E2E_TMP/simulate.log" || e2e_fail "simulator failed"
    settle ;;
units) # the province's units: every unit that has had a dossier
    printf '{"units":%d}\n' "$(e2e_redis scard "${P}chiso:units")" ;;
restart) # stop the wall and start it again on the same port
    wall_stop
    wall_start
    e2e_wait_for "curl -sf http://127.0.0.1:$PORT/healthz" 60 0.2 ;;
*) echo "hook: unknown verb $1" >&2; exit 2 ;;
esac
EOF
} >"$HOOK"

# a live-update client that never reads (a frozen browser) stays connected
# through the whole browser test: the page must update all the same
e2e_bg stalled-client python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /events HTTP/1.1\r\nHost: wall\r\n\r\n")
time.sleep(3600)
' "$PORT"
e2e_wait_for "curl -sf $URL/metrics | grep -q '^chiso_wall_sse_clients 1'" 10 0.2

# a wall whose pages start in kiosk mode by default (--kiosk): its hello
# carries the settings, and the browser test opens it without ?kiosk
KPORT=$(e2e_free_port)
e2e_bg wall-kiosk "$WALL" "${COMMON[@]}" "${REDIS[@]}" --http.port "$KPORT" --time.source event \
    --kiosk --kiosk.page.s 7 --kiosk.drilldowns 3 --kiosk.drilldown.s 9
e2e_wait_for "curl -sf http://127.0.0.1:$KPORT/healthz" 60 0.2
timeout 3 curl -sN "http://127.0.0.1:$KPORT/events" >"$E2E_TMP/kiosk-hello.txt" || true
grep -q '"kiosk":{"on":true,"page_s":7,"drilldowns":3,"drilldown_s":9}' "$E2E_TMP/kiosk-hello.txt" ||
    e2e_fail "the --kiosk wall's hello lacks its settings: $(head -c 300 "$E2E_TMP/kiosk-hello.txt")"
grep -q '"kiosk":{"on":false,"page_s":10,"drilldowns":5,"drilldown_s":15}' "$E2E_TMP/events.txt" ||
    e2e_fail "the default hello lacks the kiosk defaults: $(head -c 300 "$E2E_TMP/events.txt")"
"$WALL" --kiosk.page.s 0 >/dev/null 2>"$E2E_TMP/kiosk-bad.txt" && e2e_fail "kiosk.page.s 0 was accepted"
grep -q "kiosk.page.s" "$E2E_TMP/kiosk-bad.txt" || e2e_fail "kiosk.page.s 0: $(cat "$E2E_TMP/kiosk-bad.txt")"

mkdir -p "$ARTIFACTS"
SHOTS=(wall.png wall-drilldown.png wall-1920x1080.png wall-3840x2160.png wall-drilldown-3840x2160.png)
for shot in "${SHOTS[@]}"; do rm -f "$ARTIFACTS/$shot"; done
WALL_URL=$URL WALL_KIOSK_URL=http://127.0.0.1:$KPORT WALL_HOOK=$HOOK WALL_SCREENSHOT_DIR=$ARTIFACTS CHROMIUM=$CHROMIUM \
    WALL_PROFILE_DIR=$E2E_TMP/chromium-profile \
    node "$BROWSER_DIR/wall.test.mjs" 2>&1 | tee "$E2E_TMP/browser.log" >&2 ||
    e2e_fail "the browser test failed (log: $E2E_TMP/browser.log)"
for shot in "${SHOTS[@]}"; do
    [ -s "$ARTIFACTS/$shot" ] || e2e_fail "no screenshot at $ARTIFACTS/$shot"
done
grep -q '^\[wall.test\] PASS' "$E2E_TMP/browser.log" || e2e_fail "the browser test did not pass"

curl -sf "$URL/metrics" | grep -E '^chiso_wall_(sse|snapshots|alerts)' >&2 || true

# the wall leaves cleanly, the frozen client still attached or not
wall_stop || e2e_fail "chiso-wall did not exit on SIGTERM"

# ---- 3. a client whose queue overflows is dropped; the wall goes on ----
# A wall with a 1 KiB queue per client; one alert of 2 KiB overflows it.
SPORT=$(e2e_free_port)
SURL=http://127.0.0.1:$SPORT
e2e_bg wall-small "$WALL" "${COMMON[@]}" "${REDIS[@]}" --http.port "$SPORT" \
    --sse.queue.bytes 1024 --sse.interval.ms 100
e2e_wait_for "curl -sf $SURL/healthz" 60 0.2
e2e_bg small-client curl -sN "$SURL/events"
SMALL_CLIENT=$E2E_LAST_PID
e2e_wait_for "grep -q '^event: hello' $E2E_TMP/small-client.log" 10 0.2
e2e_wait_for "curl -sf $SURL/metrics | grep -q '^chiso_wall_sse_clients 1'" 10 0.2
UNIT=$(e2e_redis srandmember "${P}chiso:units")
PAD=$(head -c 2048 /dev/zero | tr '\0' 'x')
printf '{"v":1,"unit":"%s","dossier_id":"DROP-TEST","kind":"overdue","due_day":"2025-07-03","note":"%s"}\n' \
    "$UNIT" "$PAD" | e2e_kcat -P -t "${P}alerts" -k "$UNIT"
# the server ends that stream: curl exits by itself
e2e_wait_for "! kill -0 $SMALL_CLIENT" 20 0.2
METRICS_SMALL=$(curl -sf "$SURL/metrics")
grep -q '^chiso_wall_sse_dropped_total 1$' <<<"$METRICS_SMALL" ||
    e2e_fail "the overflowing client was not counted as dropped: $(grep sse <<<"$METRICS_SMALL")"
grep -q '^chiso_wall_sse_clients 0$' <<<"$METRICS_SMALL" || e2e_fail "the dropped client is still held"
grep -q '"dossier_id":"DROP-TEST"' <(curl -sf "$SURL/api/alerts?n=1") ||
    e2e_fail "the wall stopped following the alerts topic"
timeout 3 curl -sN "$SURL/events" >"$E2E_TMP/after-drop.txt" || true
grep -q '^event: hello' "$E2E_TMP/after-drop.txt" || e2e_fail "no new client after a drop"
e2e_log "an overflowing client was dropped, its stream closed; the wall serves on"
e2e_pass
