#!/usr/bin/env bash
# The same simulated dossiers both ways (issue 15, point 6): as contract
# events straight onto Kafka (path A), and posted through chiso-bridge as
# the DongBoHoSoMC snapshots and CapNhatTienDoHoSoMC steps a province sends
# the national portal (path B), each through its own chiso-classify into
# its own Redis prefix. The counters must be equal wherever the payload
# carries the fact; the fields that depend on what a snapshot cannot say
# (requirements, a denied outcome, cash payments, ...: docs/bridge.md) are
# measured and printed. A third pass (C) adds the resend quirk (a third of
# the snapshots sent twice): its counters must equal B's exactly. A fourth
# (D) turns on the other quirks of real senders (statuses 5/6/8 sent as 9,
# no channel, no supplement rounds, 20% of the changes coalesced away) and
# only measures what they cost.
. "$(dirname "$0")/lib.sh"

SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
BRIDGE=$(e2e_bin chiso-bridge)
CATALOG=$(e2e_bin chiso-catalog)
VERIFY=$(e2e_bin chiso-verify)
P=$(e2e_prefix)
SIMARGS=(--seed 11 --start 2025-06-28 --days 5 --dossiers-per-day 300 --feedback-rate 0
    --units-out "$E2E_TMP/units.jsonl" --procedures-out "$E2E_TMP/procedures.jsonl")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT")
COMPARE="python3 $CHISO_SOURCE_DIR/tests/e2e/compare_prefixes.py $CHISO_REDIS_HOST $CHISO_REDIS_PORT"
# what a snapshot cannot carry, and the counters that follow from it
# (docs/bridge.md "What the payload cannot carry"): the portal's
# acknowledgement (synced), complaints, and the class of a dossier, which
# also depends on requirements (in person, paper, on-site) and on how the
# result went back (HinhThuc has no online code)
ALLOWED=(synced complaint_received complaint_closed resolved_complaint full_process partial)

# classify_run PATH: classify of one path until it has committed its topic
classify_start() { # NAME
    e2e_bg "classify-$1" "$CLASSIFY" --brokers "$CHISO_BROKERS" --topic.prefix "$P$1." "${REDIS[@]}" \
        --redis.prefix "${P}$1" --group.id "${P}$1.classify" --metrics.port 0
    eval "CLASSIFY_PID_$1=\$E2E_LAST_PID"
}
classify_finish() { # NAME
    "$VERIFY" --brokers "$CHISO_BROKERS" --topic.prefix "$P$1." --check committed \
        --group "${P}$1.classify" --timeout.s 300 >"$E2E_TMP/committed-$1.out" 2>&1 ||
        e2e_fail "classify $1 did not commit: $(tail -3 "$E2E_TMP/committed-$1.out")"
    local pid
    eval "pid=\$CLASSIFY_PID_$1"
    e2e_stop "$pid" 30 || e2e_fail "classify $1 did not exit cleanly"
}

# path A: contract events
classify_start a
"$SIM" --brokers "$CHISO_BROKERS" --topic.prefix "${P}a." "${SIMARGS[@]}" \
    --truth "$E2E_TMP/truth-a.json" 2>"$E2E_TMP/sim-a.log" || e2e_fail "simulator A: $(tail -3 "$E2E_TMP/sim-a.log")"
classify_finish a
e2e_log "path A: $(grep -o 'records [0-9]*' "$E2E_TMP/sim-a.log" | tail -1)"

# path B, C, D: through the bridge
bridge_path() { # NAME SIM-OPTIONS...
    local name=$1 port
    shift
    port=$(e2e_free_port)
    "$CATALOG" --brokers "$CHISO_BROKERS" --topic.prefix "$P$name." "$E2E_TMP/units.jsonl" \
        "$E2E_TMP/procedures.jsonl" 2>"$E2E_TMP/catalog-$name.log" ||
        e2e_fail "catalog $name: $(tail -3 "$E2E_TMP/catalog-$name.log")"
    e2e_bg "bridge-$name" "$BRIDGE" --brokers "$CHISO_BROKERS" --topic.prefix "$P$name." "${REDIS[@]}" \
        --redis.prefix "${P}$name" --http.port "$port" --bridge.time date-header
    local bpid=$E2E_LAST_PID
    e2e_wait_for "curl -sf http://127.0.0.1:$port/healthz" 30
    classify_start "$name"
    local t0=$SECONDS
    "$SIM" --output bridge --bridge.url "http://127.0.0.1:$port" "${SIMARGS[@]}" "$@" \
        --truth "$E2E_TMP/truth-$name.json" 2>"$E2E_TMP/sim-$name.log" ||
        e2e_fail "simulator $name: $(tail -3 "$E2E_TMP/sim-$name.log")"
    e2e_log "path $name ($*): $(grep 'bridge: sent' "$E2E_TMP/sim-$name.log" | sed 's/.*bridge: //') [$((SECONDS - t0)) s]"
    cmp -s "$E2E_TMP/truth-a.json" "$E2E_TMP/truth-$name.json" ||
        e2e_fail "the simulator's truth differs between path A and path $name"
    classify_finish "$name"
    curl -sf "http://127.0.0.1:$port/metrics" | grep -E '^chiso_bridge_(guesses|step_corrections|items|events)' |
        grep -v ' 0$' >"$E2E_TMP/bridge-$name.metrics" || true
    e2e_stop "$bpid" 20 || e2e_fail "bridge $name did not exit cleanly"
}
bridge_path b --bridge.batch 1
bridge_path c --bridge.batch 1 --bridge.resend 0.3
bridge_path d --bridge.batch 1 --bridge.as9 true --bridge.no-channel true --bridge.no-rounds true \
    --bridge.skip 0.2

e2e_log "A (contract events) against B (the bridge):"
$COMPARE "${P}a" "${P}b" "${ALLOWED[@]}" >&2 || e2e_fail "counters differ where the payload carries the fact"
e2e_log "B against C (B with resends): must be equal"
$COMPARE "${P}b" "${P}c" >&2 || e2e_fail "resent snapshots changed the counters"
e2e_log "A against D (the senders' quirks), measured:"
$COMPARE "${P}a" "${P}d" >&2 || true
cat "$E2E_TMP/bridge-d.metrics" >&2
e2e_pass
