#!/usr/bin/env bash
# chiso-bridge on a real Kafka and Redis, driven as provincial systems drive
# the national portal (tests/e2e/bridge_session.py prints each request and
# answer): the login call and sessions, the bearer token, both envelopes, a
# resend that adds nothing, a bad item answered per item and dead-lettered
# while the good ones go through, a progress step correcting a guessed
# time, the limits; 16 senders at once, several on the same dossiers (each
# fact under one id); the broker stopped (the request is answered 503, the
# change waits in Redis with its outbox, which the bridge's own sweep
# produces once the broker is back, the province's retry then adding
# nothing); the bridge killed with -9 (its kept state survives); and
# the sync path against a fake national portal that answers, fails and
# stalls, chiso keeping its copy each time.
. "$(dirname "$0")/lib.sh"

BRIDGE=$(e2e_bin chiso-bridge)
P=$(e2e_prefix)
PORT=$(e2e_free_port)
export BRIDGE_URL="http://127.0.0.1:$PORT" TOKEN="tok-$RANDOM$RANDOM" USER=tinh-h56 PASSWORD="pw-$RANDOM"
export BROKERS=$CHISO_BROKERS TOPIC_PREFIX=$P REDIS_PREFIX="${P}chiso"
export REDIS_CLI="redis-cli -h $CHISO_REDIS_HOST -p $CHISO_REDIS_PORT"
SESSION="python3 $CHISO_SOURCE_DIR/tests/e2e/bridge_session.py"
printf 'auth.token=%s\nauth.username=%s\nauth.password=%s\n' "$TOKEN" "$USER" "$PASSWORD" \
    >"$E2E_TMP/bridge.conf"
ARGS=(-c "$E2E_TMP/bridge.conf" --brokers "$CHISO_BROKERS" --topic.prefix "$P"
    --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso"
    --http.port "$PORT" --bridge.body.max 65536 --bridge.ack.timeout.ms 3000
    --bridge.outbox.sweep.s 2)

start_bridge() { # NAME EXTRA-ARGS...
    local name=$1
    shift
    e2e_bg "$name" "$BRIDGE" "${ARGS[@]}" "$@"
    BRIDGE_PID=$E2E_LAST_PID
    e2e_wait_for "curl -sf $BRIDGE_URL/healthz" 30
}

# refuses to listen beyond loopback without authentication
if "$BRIDGE" --http.bind 0.0.0.0 --http.port "$PORT" 2>"$E2E_TMP/bind.err"; then
    e2e_fail "chiso-bridge listened on 0.0.0.0 without authentication"
fi
grep -q "not a loopback address" "$E2E_TMP/bind.err" || e2e_fail "unclear refusal: $(cat "$E2E_TMP/bind.err")"

start_bridge bridge
$SESSION session || e2e_fail "the session's checks failed"
$SESSION concurrent || e2e_fail "concurrent senders"

# the broker down: 503, the change kept with its outbox; back: the sweep
e2e_log "stopping the broker"
bash "$E2E_STACK_SH" --dir "$CHISO_STACK_DIR" kafka stop >/dev/null
$SESSION broker_down || e2e_fail "broker down"
bash "$E2E_STACK_SH" --dir "$CHISO_STACK_DIR" kafka start >/dev/null
e2e_log "broker started again"
e2e_wait_for "kcat -b $CHISO_BROKERS -L -t ${P}dossier.events | grep -q 'partition 0, leader 1'" 60 0.5
$SESSION broker_back || e2e_fail "broker back"

# kill -9: the state is in Redis, nothing to lose in the process
kill -KILL "$BRIDGE_PID"
wait "$BRIDGE_PID" 2>/dev/null || true
start_bridge bridge2
$SESSION after_kill || e2e_fail "after kill -9"
e2e_stop "$BRIDGE_PID" 20 || e2e_fail "chiso-bridge did not exit cleanly on SIGTERM"

# the sync path: a fake national portal that answers, fails and stalls
PORTAL_PORT=$(e2e_free_port)
export PORTAL_LOG=$E2E_TMP/portal.jsonl
e2e_bg portal python3 "$CHISO_SOURCE_DIR/tests/tools/fake_portal.py" "$PORTAL_PORT" "$PORTAL_LOG"
e2e_wait_for "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $PORTAL_PORT), 1)'" 20
start_bridge bridge3 --bridge.upstream.url "http://127.0.0.1:$PORTAL_PORT" \
    --bridge.upstream.timeout.ms 1500
$SESSION portal || e2e_fail "the sync path"
curl -sf "$BRIDGE_URL/metrics" | grep -E '^chiso_bridge_(upstream_total|requests_total|errors_total)' >&2
e2e_stop "$BRIDGE_PID" 20 || e2e_fail "chiso-bridge did not exit cleanly on SIGTERM"
e2e_pass
