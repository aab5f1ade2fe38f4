#!/usr/bin/env bash
# Exact when Redis loses writes it acknowledged, on a real Kafka and a real
# Redis (ARCHITECTURE.md invariant 3). While the simulator streams a province
# (duplicates, reordering, malformed records), Redis's append-only files are
# copied, classify goes on applying and committing for a few seconds, then
# Redis is killed with SIGKILL and started again from the older copy: it
# comes back without writes it had acknowledged, whose Kafka offsets were
# committed, as after a host's power loss under appendfsync everysec or a
# replica promoted without its master's last writes. chiso-classify,
# chiso-feedback (the simulator's feedback events) and chiso-snapshot run
# throughout. Twice:
#   1. with every stage running: classify, feedback and snapshot each find
#      out when they reconnect, say so (one WARN line) and count it (their
#      rewind metrics); classify and feedback replay the lost spans, snapshot
#      stores and publishes every snapshot again;
#   2. with chiso-classify killed (SIGKILL) first and started after Redis:
#      it finds out from the group's committed offsets.
# At the end every counter (dossiers and feedback), dead letter, snapshot
# (on the scores topic and in Redis) and alert equals the ground truth:
# nothing lost, nothing counted twice.
#
# E2E_APPENDFSYNC=always runs the same with Redis fsyncing every write (the
# documented option, docs/operations.md): Redis then loses nothing it
# acknowledged, and classify finds nothing to replay.
# E2E_COMMIT_MS=N (over 5000, under the transactions' 10 s timeout) runs
# classify with commit.interval.ms N and copies Redis's disk just after a
# commit: nothing is committed between the copy and the loss, so Redis
# comes back with writes past the last commit, whose class changes were in
# the transaction classify then aborts: they must be told again (as when a
# broker is away and commits fail, e2e.cluster).
. "$(dirname "$0")/lib.sh"

SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
SNAPSHOT=$(e2e_bin chiso-snapshot)
FEEDBACK=$(e2e_bin chiso-feedback)
VERIFY=$(e2e_bin chiso-verify)
ALERTS=$(e2e_bin chiso-alerts)
P=$(e2e_prefix)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")
SEED=${E2E_SEED:-$((RANDOM % 1000 + 1))}
RANDOM=$SEED
FSYNC=${E2E_APPENDFSYNC:-everysec}
COMMIT_MS=${E2E_COMMIT_MS:-1000}
e2e_log "seed $SEED (rerun with E2E_SEED=$SEED), appendfsync $FSYNC, commits every $COMMIT_MS ms"

stack() { bash "$E2E_STACK_SH" --dir "$CHISO_STACK_DIR" "$@"; }
stack redis cli config set appendfsync "$FSYNC" >/dev/null
e2e_at_exit 'stack redis cli config set appendfsync everysec'

METRICS=$(e2e_free_port)
FB_METRICS=$(e2e_free_port)
SNAP_METRICS=$(e2e_free_port)
start_classify() {
    e2e_bg "classify$1" "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" \
        --metrics.port "$METRICS" --batch.max 500 --commit.interval.ms "$COMMIT_MS"
    CLASSIFY_PID=$E2E_LAST_PID
    CLASSIFY_LOG=$E2E_TMP/classify$1.log
}
# metric NAME [PORT]: a metric's value (classify's by default)
metric() { e2e_metric "${2:-$METRICS}" "$1"; }

# about 45 s: 3 days of 1,000 dossiers at 450 records/s
e2e_bg simulate "$SIM" "${COMMON[@]}" --seed "$SEED" --start 2025-09-29 --days 3 \
    --dossiers-per-day 1000 --duplicates 0.05 --reorder 0.10 --malformed 0.01 --rate 450 \
    --feedback-rate 100 --truth "$E2E_TMP/truth.json" --malformed-out "$E2E_TMP/malformed.b64"
SIM_PID=$E2E_LAST_PID
e2e_bg snapshot "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 500 \
    --metrics.port "$SNAP_METRICS"
SNAP_PID=$E2E_LAST_PID
SNAP_LOG=$E2E_TMP/snapshot.log
e2e_bg feedback "$FEEDBACK" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}feedback" \
    --metrics.port "$FB_METRICS" --batch.max 50
FEEDBACK_PID=$E2E_LAST_PID
FEEDBACK_LOG=$E2E_TMP/feedback.log
start_classify 0

# power_loss N: Redis's disk as it is now is copied; classify applies and
# commits more for a few seconds; Redis is killed and comes back from the
# copy. With appendfsync always the disk holds every acknowledged write, so
# Redis is only killed: it comes back with everything.
power_loss() {
    if [ "$FSYNC" = always ]; then
        e2e_pause 2 4
        stack redis-power-loss
    else
        if [ "$COMMIT_MS" -gt 5000 ]; then # the copy just after a commit
            local n
            n=$(metric chiso_classify_transactions_total)
            e2e_wait_for "[ \"\$(metric chiso_classify_transactions_total)\" -gt ${n:-0} ]" 30 0.02
        fi
        stack redis-aof-copy "$E2E_TMP/aof$1"
        e2e_pause 2 4 # classify applies and commits more, which Redis then loses
        stack redis-power-loss "$E2E_TMP/aof$1"
    fi
    stack redis cli config set appendfsync "$FSYNC" >/dev/null # a restart forgets it
}
# expect_rewind: classify says it replays (everysec), or finds nothing lost
expect_rewind() {
    if [ "$FSYNC" = always ]; then
        e2e_wait_for "grep -q 'connected to Redis' '$CLASSIFY_LOG'" 60 0.5
        sleep 3
        ! grep -q 'Redis holds less than it acknowledged' "$CLASSIFY_LOG" ||
            e2e_fail "classify rewound although Redis fsyncs every write"
        return 0
    fi
    e2e_wait_for "grep -q 'Redis holds less than it acknowledged' '$CLASSIFY_LOG'" 60 0.5
    e2e_log "classify: $(grep -m1 'Redis holds less' "$CLASSIFY_LOG" | sed 's/.*WARN[^:]*: //')"
}

# 1. a power loss under a running classify
e2e_pause 5 8
power_loss 1
e2e_log "Redis killed and started from its disk (power loss #1, classify running)"
expect_rewind
REWINDS=$(metric chiso_classify_redis_rewinds_total)
REPLAYED=$(metric chiso_classify_replayed_records_total)
if [ "$FSYNC" = always ]; then
    e2e_assert_eq 0 "${REWINDS:-}" chiso_classify_redis_rewinds_total
else
    [ "${REWINDS:-0}" -ge 1 ] || e2e_fail "chiso_classify_redis_rewinds_total is '${REWINDS:-}' after a power loss"
    [ "${REPLAYED:-0}" -ge 1 ] || e2e_fail "chiso_classify_replayed_records_total is '${REPLAYED:-}'"
    # feedback and snapshot were writing too: they find out as they reconnect
    e2e_wait_for "grep -q 'Redis holds less than it acknowledged' '$FEEDBACK_LOG'" 60 0.5
    e2e_log "feedback: $(grep -m1 'Redis holds less' "$FEEDBACK_LOG" | sed 's/.*WARN[^:]*: //')"
    e2e_wait_for "grep -q 'Redis holds less than it acknowledged' '$SNAP_LOG'" 60 0.5
    e2e_log "snapshot: $(grep -m1 'Redis holds less' "$SNAP_LOG" | sed 's/.*WARN[^:]*: //')"
    [ "$(metric chiso_feedback_redis_rewinds_total "$FB_METRICS")" -ge 1 ] ||
        e2e_fail "chiso_feedback_redis_rewinds_total not counted"
    [ "$(metric chiso_feedback_replayed_records_total "$FB_METRICS")" -ge 1 ] ||
        e2e_fail "chiso_feedback_replayed_records_total not counted"
    [ "$(metric chiso_snapshot_redis_rewinds_total "$SNAP_METRICS")" -ge 1 ] ||
        e2e_fail "chiso_snapshot_redis_rewinds_total not counted"
fi

# 2. a power loss while classify is down: found from the committed offsets
e2e_pause 4 6
if [ "$FSYNC" != always ]; then
    stack redis-aof-copy "$E2E_TMP/aof2"
    e2e_pause 2 4
fi
kill -KILL "$CLASSIFY_PID"
wait "$CLASSIFY_PID" 2>/dev/null || true
e2e_log "killed chiso-classify (SIGKILL)"
if [ "$FSYNC" = always ]; then stack redis-power-loss; else stack redis-power-loss "$E2E_TMP/aof2"; fi
stack redis cli config set appendfsync "$FSYNC" >/dev/null
e2e_log "Redis killed and started from its disk (power loss #2, classify down)"
start_classify 1
if [ "$COMMIT_MS" -le 5000 ]; then
    expect_rewind
else
    # with commits held, the copy is likely past the last commit: Redis lost
    # only what was never committed, which the new instance consumes again
    # from the commit anyway, and there is nothing it can tell was lost
    e2e_wait_for "grep -q 'connected to Redis' '$CLASSIFY_LOG'" 60 0.5
fi

e2e_wait_for "! kill -0 $SIM_PID" 240 1
wait "$SIM_PID" || e2e_fail "the simulator failed"
RECORDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$E2E_TMP/truth.json")
e2e_log "simulator done: $RECORDS records"

"$VERIFY" "${COMMON[@]}" --check committed --group "${P}classify" --timeout.s 180 |
    tee "$E2E_TMP/committed.out" >&2
grep -q '^verify: OK' "$E2E_TMP/committed.out" || e2e_fail "classify did not finish the stream"
e2e_log "rewinds counted by the last instance: $(metric chiso_classify_redis_rewinds_total)," \
    "offsets replayed: $(metric chiso_classify_replayed_records_total)"
e2e_stop "$CLASSIFY_PID" 30 || e2e_fail "chiso-classify did not exit cleanly on SIGTERM"
"$VERIFY" "${COMMON[@]}" --check committed --group "${P}feedback" --committed.topic feedback.events \
    --timeout.s 120 | tee "$E2E_TMP/committed-fb.out" >&2
grep -q '^verify: OK' "$E2E_TMP/committed-fb.out" || e2e_fail "feedback did not finish its stream"
e2e_stop "$FEEDBACK_PID" 30 || e2e_fail "chiso-feedback did not exit cleanly on SIGTERM"
e2e_wait_for "[ \"\$(e2e_redis scard ${P}chiso:dirty)\" = 0 ]" 60 0.5
sleep 2
e2e_stop "$SNAP_PID" 30 || e2e_fail "chiso-snapshot did not exit cleanly on SIGTERM"

# 3. a power loss that takes chiso-snapshot's and chiso-alerts' own writes:
# snapshot is restarted (its first sweep stores and publishes every snapshot
# anew) and alerts runs once (every overdue dossier alerted, remembered in
# Redis), and Redis then comes back from before both. Nothing else changes
# any more, so only snapshot's own recovery can make Redis hold the topic's
# latest again, and only alerts reading its topic back keeps the last run
# below from alerting every dossier a second time.
[ "$FSYNC" = always ] || stack redis-aof-copy "$E2E_TMP/aof3"
e2e_bg snapshot2 "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 500 \
    --metrics.port "$SNAP_METRICS"
SNAP_PID=$E2E_LAST_PID
# and the alerts of every overdue dossier, which Redis then forgets too
"$ALERTS" "${COMMON[@]}" "${REDIS[@]}" --time.source wall --once --metrics.port 0 \
    2>"$E2E_TMP/alerts1.log" || e2e_fail "chiso-alerts failed: $(tail -3 "$E2E_TMP/alerts1.log")"
e2e_log "alerts published before power loss #3: $(e2e_redis eval "local n = 0 for _, k in ipairs(redis.call('keys', ARGV[1])) do n = n + redis.call('hlen', k) end return n" 0 "${P}chiso:{*}:alerted")"
e2e_wait_for "[ \"\$(metric chiso_snapshot_sweeps_total $SNAP_METRICS)\" -ge 1 ] 2>/dev/null" 60 0.2
if [ "$FSYNC" = always ]; then stack redis-power-loss; else stack redis-power-loss "$E2E_TMP/aof3"; fi
stack redis cli config set appendfsync "$FSYNC" >/dev/null
e2e_log "Redis killed and started from its disk (power loss #3, after snapshot's first sweep)"
if [ "$FSYNC" != always ]; then
    e2e_wait_for "grep -q 'Redis holds less than it acknowledged' '$E2E_TMP/snapshot2.log'" 60 0.5
    e2e_log "snapshot: $(grep -m1 'Redis holds less' "$E2E_TMP/snapshot2.log" | sed 's/.*WARN[^:]*: //')"
fi
# nothing is dirty: the only sweep after the first is the one a reconnection makes
e2e_wait_for "[ \"\$(metric chiso_snapshot_sweeps_total $SNAP_METRICS)\" -ge 2 ] 2>/dev/null" 60 0.2
e2e_stop "$SNAP_PID" 30 || e2e_fail "chiso-snapshot did not exit cleanly on SIGTERM"

"$ALERTS" "${COMMON[@]}" "${REDIS[@]}" --time.source wall --once --metrics.port 0 \
    2>"$E2E_TMP/alerts.log" || e2e_fail "chiso-alerts failed: $(tail -3 "$E2E_TMP/alerts.log")"

"$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$E2E_TMP/truth.json" \
    --check counters,feedback,deadletter,scores,alerts,classified --alerts.now wall \
    --malformed "$E2E_TMP/malformed.b64" | tee "$E2E_TMP/verify.out" >&2
grep -q '^verify: OK' "$E2E_TMP/verify.out" || e2e_fail "counts differ from the ground truth after Redis lost writes"
e2e_pass
