#!/usr/bin/env bash
# e2e.prometheus: deploy/prometheus/ with a real Prometheus on a short
# pipeline of the local stack. Every stage runs on free ports: two
# chiso-classify in one group, chiso-feedback, chiso-snapshot, chiso-alerts
# (event time), chiso-wall and chiso-bridge (its own topic prefix). A
# Prometheus scrapes them with deploy/prometheus/prometheus.yml, its targets
# replaced by those ports (jobs, relabelling and rule file kept; 1 s
# intervals). Once every target is up, the simulator streams one day of a
# province (1% malformed records, feedback) and the bridge takes one good
# and one bad item. Then (tests/deploy/test_prometheus_e2e.py):
#   - one counter or gauge of each stage is in Prometheus exactly as on the
#     stage's own /metrics, and is not 0 (both classify instances compared);
#   - every rule is loaded and evaluated without error;
#   - ChisoDeadLetters is active for classify and for the bridge's bad item,
#     and no other alert is;
#   - every query of deploy/grafana/chiso-dashboard.json runs, and the
#     throughput panel shows every stage.
# About 45 s.
. "$(dirname "$0")/../e2e/lib.sh"

PROMETHEUS=$(command -v prometheus) ||
    e2e_fail "prometheus not found (Debian package prometheus: deploy/local/deps.sh)"
SIM=$(e2e_bin chiso-simulate)
CLASSIFY=$(e2e_bin chiso-classify)
FEEDBACK=$(e2e_bin chiso-feedback)
SNAPSHOT=$(e2e_bin chiso-snapshot)
ALERTS=$(e2e_bin chiso-alerts)
WALL=$(e2e_bin chiso-wall)
BRIDGE=$(e2e_bin chiso-bridge)
VERIFY=$(e2e_bin chiso-verify)
DEPLOY=$CHISO_SOURCE_DIR/deploy
CHECK=(python3 "$CHISO_SOURCE_DIR/tests/deploy/test_prometheus_e2e.py")
P=$(e2e_prefix)
COMMON=(--brokers "$CHISO_BROKERS" --topic.prefix "$P")
REDIS=(--redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}chiso")
UNIT=000.20.31.H56

# one free port per process, all different
declare -A PORT
for name in classify1 classify2 feedback snapshot alerts wall bridge prometheus; do
    until [ -n "${PORT[$name]:-}" ]; do
        port=$(e2e_free_port)
        [[ " ${PORT[*]} " == *" $port "* ]] || PORT[$name]=$port
    done
done

# ---- the stages ----
for i in 1 2; do
    e2e_bg "classify$i" "$CLASSIFY" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}classify" \
        --transactional.id "${P}classify-$i" --metrics.port "${PORT[classify$i]}"
done
e2e_bg feedback "$FEEDBACK" "${COMMON[@]}" "${REDIS[@]}" --group.id "${P}feedback" \
    --metrics.port "${PORT[feedback]}"
e2e_bg snapshot "$SNAPSHOT" "${COMMON[@]}" "${REDIS[@]}" --interval.ms 500 \
    --metrics.port "${PORT[snapshot]}"
e2e_bg alerts "$ALERTS" "${COMMON[@]}" "${REDIS[@]}" --time.source event --due-soon.hours 72 \
    --interval.ms 500 --metrics.port "${PORT[alerts]}"
e2e_bg wall "$WALL" "${COMMON[@]}" "${REDIS[@]}" --time.source event --http.port "${PORT[wall]}"
e2e_bg bridge "$BRIDGE" --brokers "$CHISO_BROKERS" --topic.prefix "${P}bridge." \
    --redis.host "$CHISO_REDIS_HOST" --redis.port "$CHISO_REDIS_PORT" --redis.prefix "${P}bridge" \
    --http.port "${PORT[bridge]}"
for name in classify1 classify2 feedback snapshot alerts wall bridge; do
    e2e_wait_for "curl -sf http://127.0.0.1:${PORT[$name]}/healthz" 60
done
e2e_log "stages up: $(for n in "${!PORT[@]}"; do printf '%s=%s ' "$n" "${PORT[$n]}"; done)"

# ---- Prometheus with deploy/prometheus/prometheus.yml on these ports ----
at() { printf '127.0.0.1:%s' "${PORT[$1]}"; }
"${CHECK[@]}" config "$DEPLOY/prometheus/prometheus.yml" "$E2E_TMP/prometheus.yml" \
    "$DEPLOY/prometheus/rules/chiso.rules.yml" \
    "chiso-classify=$(at classify1),$(at classify2)" "chiso-feedback=$(at feedback)" \
    "chiso-snapshot=$(at snapshot)" "chiso-alerts=$(at alerts)" "chiso-wall=$(at wall)" \
    "chiso-bridge=$(at bridge)" || e2e_fail "could not write the Prometheus configuration"
PROM=http://$(at prometheus)
e2e_bg prometheus "$PROMETHEUS" --config.file "$E2E_TMP/prometheus.yml" \
    --storage.tsdb.path "$E2E_TMP/tsdb" --web.listen-address "$(at prometheus)"
PROM_PID=$E2E_LAST_PID
e2e_wait_for "curl -sf $PROM/-/ready" 60
"${CHECK[@]}" targets "$PROM" 7 30 || e2e_fail "the scrape targets"

# ---- a day of a province, and the bridge's two items ----
e2e_log "simulating 2025-07-01 into topics ${P}*"
"$SIM" "${COMMON[@]}" --seed 5 --start 2025-07-01 --days 1 --dossiers-per-day 400 \
    --feedback-rate 20 --malformed 0.01 2>"$E2E_TMP/simulate.log" ||
    e2e_fail "simulator failed: $(tail -3 "$E2E_TMP/simulate.log")"
ITEMS='[{"MaHoSo":"'$UNIT'-P1","MaTTHC":"1.001612","TrangThaiHoSo":"2","KenhThucHien":"2",
         "NgayNopHoSo":"20250701080000","NgayTiepNhan":"20250701091520","NgayHenTra":"20250711170000"},
        {"MaHoSo":"'$UNIT'-BAD","MaTTHC":"1.001612","TrangThaiHoSo":"2","NgayTiepNhan":"2025-13-45"}]'
ANSWER=$(curl -s -X POST -H 'Content-Type: application/json' --data "$ITEMS" \
    "http://$(at bridge)/DongBoHoSoMC?MaDinhDanhDV=$UNIT&isUpdating=False")
grep -q '"reason":"bad_value"' <<<"$ANSWER" || e2e_fail "the bridge's answer: $ANSWER"

# settle: classify and feedback committed everything, snapshot published
committed() { # STAGE TOPIC
    "$VERIFY" "${COMMON[@]}" --check committed --group "${P}$1" --committed.topic "$2" \
        --timeout.s 60 >"$E2E_TMP/committed-$1.out" 2>&1 ||
        e2e_fail "$1 did not commit: $(tail -3 "$E2E_TMP/committed-$1.out")"
}
committed classify dossier.events
committed feedback feedback.events
e2e_wait_for "[ \"\$(e2e_redis scard ${P}chiso:dirty)\" = 0 ]" 60 0.3
e2e_wait_for "[ \"\$(e2e_metric ${PORT[snapshot]} chiso_snapshot_pending)\" = 0 ]" 30 0.3

# ---- what Prometheus holds ----
"${CHECK[@]}" compare "$PROM" 20 \
    "chiso-classify/$(at classify1)/${PORT[classify1]}/chiso_classify_consumed_total/nonzero" \
    "chiso-classify/$(at classify2)/${PORT[classify2]}/chiso_classify_consumed_total" \
    "chiso-classify/$(at classify1)/${PORT[classify1]}/chiso_classify_deadletter_total" \
    "chiso-feedback/$(at feedback)/${PORT[feedback]}/chiso_feedback_consumed_total/nonzero" \
    "chiso-snapshot/$(at snapshot)/${PORT[snapshot]}/chiso_snapshot_published_total/nonzero" \
    "chiso-alerts/$(at alerts)/${PORT[alerts]}/chiso_alerts_published_total/nonzero" \
    "chiso-wall/$(at wall)/${PORT[wall]}/chiso_wall_snapshots/nonzero" \
    "chiso-bridge/$(at bridge)/${PORT[bridge]}/chiso_bridge_items_total/nonzero" \
    "chiso-bridge/$(at bridge)/${PORT[bridge]}/chiso_bridge_errors_total/nonzero" ||
    e2e_fail "Prometheus does not hold what the stages export"
"${CHECK[@]}" rules "$PROM" "$DEPLOY/prometheus/rules/chiso.rules.yml" 20 ||
    e2e_fail "the rules"
"${CHECK[@]}" alerts "$PROM" 20 ChisoDeadLetters ChisoDeadLetters:job=chiso-classify \
    ChisoDeadLetters:job=chiso-bridge:reason=bad_value || e2e_fail "the alerts"
"${CHECK[@]}" dashboard "$PROM" "$DEPLOY/grafana/chiso-dashboard.json" \
    chiso-classify,chiso-feedback,chiso-snapshot,chiso-alerts,chiso-wall,chiso-bridge ||
    e2e_fail "the dashboard's queries"

e2e_stop "$PROM_PID" 20 || e2e_fail "Prometheus did not stop cleanly"
e2e_pass
