#!/usr/bin/env bash
# Exact on clusters (issue 17, point 3): a Redis Cluster of 3 masters and 3
# replicas and a 3-broker Kafka (replication 3, min.insync.replicas 2), from
# deploy/local/cluster.sh. While the simulator streams a province
# (duplicates, reordering, malformed records) at a steady rate into topics
# replicated 3 times, two chiso-classify instances and chiso-snapshot work
# against the clusters, and mid-stream:
#   a. the Redis master serving a busy unit is killed with SIGKILL; its
#      replica is promoted (without, perhaps, the master's last writes:
#      the stages' applied markers, one per master, must catch it and
#      replay), then the old master comes back as a replica;
#   b. a Kafka broker is killed with SIGKILL, and started again later;
#   c. the hash slot of another busy unit is migrated to another master
#      (ASK while it moves, MOVED after);
#   d. a shard comes back with less than it acknowledged: its master and
#      replica are killed with SIGKILL, the replica restarts from its
#      append-only files of a few seconds before and takes over; the other
#      shards keep everything (the per-master applied markers must see the
#      loss, and the stages replay it).
# At the end every counter, dead letter, snapshot and class change must
# equal the ground truth: nothing lost, nothing counted twice.
#
# The clusters are started here, under the test's scratch directory, and
# stopped at its end; CHISO_CLUSTER_DIR names running clusters to reuse
# instead (they are left running).
. "$(dirname "$0")/lib.sh"

SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
SNAPSHOT=$(e2e_bin chiso-snapshot)
VERIFY=$(e2e_bin chiso-verify)
CLUSTER_SH=$CHISO_SOURCE_DIR/deploy/local/cluster.sh
SEED=${E2E_SEED:-$((RANDOM % 1000 + 1))}
RANDOM=$SEED
e2e_log "seed $SEED (rerun with E2E_SEED=$SEED)"

# ---- the clusters ----
if [ -n "${CHISO_CLUSTER_DIR:-}" ]; then
    CL=$CHISO_CLUSTER_DIR
    OWN=0
else
    CL=$E2E_TMP/cluster
    OWN=1
fi
cl() { bash "$CLUSTER_SH" --dir "$CL" "$@"; }
started=$SECONDS
cl start >"$E2E_TMP/cluster.env.out" 2>"$E2E_TMP/cluster-start.log" ||
    e2e_fail "cluster.sh start failed: $(tail -5 "$E2E_TMP/cluster-start.log")"
E2E_LOGS+=("$E2E_TMP/cluster-start.log")
[ "$OWN" = 1 ] && e2e_at_exit 'cl stop 2>/dev/null'
# shellcheck disable=SC1091
. "$CL/cluster.env"
e2e_log "clusters up in $((SECONDS - started)) s: brokers $CHISO_BROKERS; Redis seeds $CHISO_REDIS_CLUSTER_SEEDS"

P=$(e2e_prefix)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P" --topic.replication 3)
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso"
    --redis.cluster yes --redis.cluster.seeds "$CHISO_REDIS_CLUSTER_SEEDS")

# ---- the stream and the stages ----
# about 145 s: 3 days of 1,000 dossiers at 150 records/s; every fault below
# must begin while it streams
e2e_bg simulate "$SIM" "${COMMON[@]}" --seed "$SEED" --start 2025-09-29 --days 3 \
    --dossiers-per-day 1000 --duplicates 0.05 --reorder 0.10 --malformed 0.01 --rate 150 \
    --truth "$E2E_TMP/truth.json" --malformed-out "$E2E_TMP/malformed.b64"
SIM_PID=$E2E_LAST_PID
e2e_bg snapshot "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 500 --metrics.port 0
SNAP_PID=$E2E_LAST_PID
# two instances in one group; a supervisor's restarts (systemd Restart=):
# an instance whose transactional producer Kafka fenced while a broker was
# away stops with an error (docs/operations.md) and is started again
METRICS=("$(e2e_free_port)" "$(e2e_free_port)")
CPIDS=(0 0)
RESTARTS=0
start_classify() {
    e2e_bg "classify$1-$RESTARTS" "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" \
        --group.id "${P}classify" --metrics.port "${METRICS[$1]}" --batch.max 500
    CPIDS[$1]=$E2E_LAST_PID
}
supervise() {
    local i rc
    for i in 0 1; do
        kill -0 "${CPIDS[$i]}" 2>/dev/null && continue
        rc=0
        wait "${CPIDS[$i]}" 2>/dev/null || rc=$?
        RESTARTS=$((RESTARTS + 1))
        e2e_log "   chiso-classify $i had stopped on its own (exit $rc): started again"
        start_classify "$i"
    done
}
start_classify 0
start_classify 1
# metric_of NAME I: the metric of instance I, 0 while it does not answer
# (stopped, or starting again: under `set -e` a failed curl would end the
# test without a word); metric NAME: of the instances now running, summed
# (an instance started again counts from its start)
metric_of() {
    { curl -sf "http://127.0.0.1:${METRICS[$2]}/metrics" || true; } |
        awk -v m="$1" '$1 == m { s += $2 } END { print s + 0 }'
}
metric() {
    local i total=0 v
    for i in 0 1; do
        v=$(metric_of "$1" "$i")
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# redis-cli on the cluster (following redirections), through any live node
rc_cli() {
    local seed
    for seed in ${CHISO_REDIS_CLUSTER_SEEDS//,/ }; do
        redis-cli -c -h "${seed%:*}" -p "${seed#*:}" "$@" 2>/dev/null && return 0
    done
    return 1
}
# a busy unit: the one that received the most dossiers so far (its day
# counters of 2025-09-29), other than $1
busy_unit() {
    local skip=${1:-} u n
    for u in $(rc_cli smembers "${P}chiso:units"); do
        [ "$u" = "$skip" ] && continue
        n=$(rc_cli hget "${P}chiso:{$u}:c:2025-09-29" received)
        printf '%s %s\n' "${n:-0}" "$u"
    done | sort -rn | awk 'NR == 1 { print $2 }' # (awk reads it all: no SIGPIPE)
}
# the stream still runs: a fault after it would prove nothing
streaming() { kill -0 "$SIM_PID" 2>/dev/null || e2e_fail "the stream ended before fault $1"; }
e2e_wait_for "[ \"\$(rc_cli scard ${P}chiso:units)\" -gt 20 ]" 60 0.5

# a. a master killed with SIGKILL, its replica promoted
e2e_pause 2 4
streaming a
UA=$(busy_unit)
[ -n "$UA" ] || e2e_fail "no busy unit found"
SLOT_A=$(cl keyslot "{$UA}")
DEAD=$(cl kill-redis-master "$SLOT_A")
e2e_log "a. killed (SIGKILL) the Redis master on port $DEAD, serving busy unit $UA (slot $SLOT_A)"
cl wait-redis-ok 60 >&2 || e2e_fail "the Redis Cluster did not recover from the master's loss"
e2e_log "   its replica took over slot $SLOT_A (now on port $(cl slot-owner "$SLOT_A"))"

# b. a broker killed with SIGKILL
e2e_pause 2 4
streaming b
cl kill-broker 2 >&2
e2e_log "b. killed Kafka broker 2 (SIGKILL)"
e2e_pause 4 6
supervise
cl restart-redis "$DEAD" >&2
e2e_log "   the old master (port $DEAD) is back, as a replica"

# c. the slot of another busy unit migrated while the stages write to it
e2e_pause 1 3
supervise
streaming c
UC=$(busy_unit "$UA")
[ -n "$UC" ] || e2e_fail "no busy unit found to migrate"
SLOT_C=$(cl keyslot "{$UC}")
FROM=$(cl slot-owner "$SLOT_C")
TO=$(cl redis-masters | awk -v from="127.0.0.1:$FROM" '$1 != from && !to { split($1, a, ":"); to = a[2] } END { print to }')
MOVED=$(cl migrate-slot "$SLOT_C" "$FROM" "$TO") || e2e_fail "migrating slot $SLOT_C failed"
e2e_log "c. migrated slot $SLOT_C of busy unit $UC from port $FROM to $TO: $MOVED keys moved"
[ "$MOVED" -gt 0 ] || e2e_fail "the migrated slot held no key: nothing was tested"

# d. a shard loses the writes of its last seconds: a copy of its replica's
# append-only files now, a few seconds of the stream, then the power loss
# (after the migration: keys migrated into a shard after the copy would be
# lost for good, a limit of Redis Cluster itself, docs/operations.md)
supervise
UD=$(busy_unit "$UC")
SLOT_D=$(cl keyslot "{$UD}")
# supervised_wait SECONDS WHAT CMD: wait until CMD succeeds, restarting an
# instance that stopped meanwhile (as a supervisor would); fail after SECONDS
supervised_wait() {
    local until=$((SECONDS + $1))
    until eval "$3"; do
        [ "$SECONDS" -lt "$until" ] || e2e_fail "$2 (waited $1 s)"
        supervise
        sleep 0.5
    done
}
# the instances apply again (a restarted one has joined and caught up)
supervised_wait 60 "classify applied nothing after the migration" \
    '[ "$(metric chiso_classify_applied_total)" -gt 0 ]'
cl shard-aof-copy "$SLOT_D" "$E2E_TMP/aof-d" >&2
# the window must hold writes: it lasts until the instances apply more,
# each counted from its count at the copy (or from 0 when started again
# meanwhile: an instance Kafka fenced stops, and the supervisor restarts it)
declare -A BASE
for i in 0 1; do BASE[${CPIDS[$i]}]=$(metric_of chiso_classify_applied_total "$i"); done
window_applied() {
    local i n total=0
    for i in 0 1; do
        n=$(($(metric_of chiso_classify_applied_total "$i") - ${BASE[${CPIDS[$i]}]:-0}))
        [ "$n" -gt 0 ] && total=$((total + n))
    done
    echo "$total"
}
W0=$SECONDS
e2e_pause 3 5
supervised_wait 90 "classify applied nothing after the shard's copy" '[ "$(window_applied)" -gt 0 ]'
e2e_log "   applied $(window_applied) records in the $((SECONDS - W0)) s the shard is to lose"
streaming d
OLD_D=$(cl shard-power-loss "$SLOT_D" "$E2E_TMP/aof-d") || e2e_fail "the shard power loss failed"
e2e_log "d. the shard of busy unit $UD (slot $SLOT_D) lost its last seconds: master $OLD_D and its replica killed, the replica back from older files, now master on port $(cl slot-owner "$SLOT_D")"
cl wait-redis-ok 60 >&2 || e2e_fail "the Redis Cluster did not recover from the shard's loss"
cl restart-redis "$OLD_D" >&2
e2e_log "   the old master (port $OLD_D) is back, as a replica"
cl start-broker 2 >&2
e2e_log "   broker 2 is back"
supervise
cl wait-redis-ok 60 >&2 || e2e_fail "the Redis Cluster is not ok at the end"

e2e_wait_for "! kill -0 $SIM_PID" 300 1
wait "$SIM_PID" || e2e_fail "the simulator failed"
supervise
RECORDS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$E2E_TMP/truth.json")
e2e_log "simulator done: $RECORDS records"

"$VERIFY" "${COMMON[@]}" --check committed --group "${P}classify" --timeout.s 240 |
    tee "$E2E_TMP/committed.out" >&2
grep -q '^verify: OK' "$E2E_TMP/committed.out" || e2e_fail "classify did not finish the stream"
# the instances' metrics (a restarted instance's count from its start) and
# their logs, where every rewind is one WARN line
REPLAYED=$(metric chiso_classify_replayed_records_total)
RERR=$(cat "$E2E_TMP"/classify*.log | grep -c 'Redis: .*; reconnecting' || true)
REWINDS=$(cat "$E2E_TMP"/classify*.log | grep -c 'Redis holds less than it acknowledged' || true)
e2e_log "classify: $RESTARTS restarts, $RERR Redis connections lost, $REWINDS rewinds ($REPLAYED records replayed by the instances running now)"
# the master's loss reached the stages mid-stream (their connection to it
# failed), and the shard's lost writes were seen and replayed
[ "$RERR" -gt 0 ] || e2e_fail "classify never saw the master's loss: the fault missed the stream"
[ "$REWINDS" -gt 0 ] || e2e_fail "classify never saw the shard's lost writes"
for pid in "${CPIDS[@]}"; do
    e2e_stop "$pid" 30 || e2e_fail "chiso-classify did not exit cleanly on SIGTERM"
done
e2e_wait_for "[ \"\$(rc_cli scard ${P}chiso:dirty)\" = 0 ]" 90 0.5
sleep 2
e2e_stop "$SNAP_PID" 30 || e2e_fail "chiso-snapshot did not exit cleanly on SIGTERM"

"$VERIFY" "${COMMON[@]}" "${REDIS[@]}" --truth "$E2E_TMP/truth.json" \
    --check counters,deadletter,scores,classified \
    --malformed "$E2E_TMP/malformed.b64" | tee "$E2E_TMP/verify.out" >&2
grep -q '^verify: OK' "$E2E_TMP/verify.out" || e2e_fail "counts differ from the ground truth on the clusters"
# the keys are spread over the masters, as a cluster spreads them
cl redis-masters | while read -r node _; do
    printf '%s: %s keys\n' "$node" "$(redis-cli -h "${node%:*}" -p "${node#*:}" dbsize)"
done >&2
e2e_pass
