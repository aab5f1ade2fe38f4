#!/usr/bin/env bash
# test_stack.sh: smoke test of the e2e fixture itself. The broker answers
# metadata, a created topic carries a record end to end, and Redis answers
# PING with the persistence the pipeline relies on (AOF, fsync every second).
. "$(dirname "$0")/lib.sh"

e2e_kcat -L -m 5 2>/dev/null | grep -q '1 brokers:' ||
    e2e_fail "broker $CHISO_BROKERS does not answer metadata"

topic="$(e2e_prefix)smoke"
e2e_create_topic "$topic" 2
printf 'k1:v1\n' | e2e_kcat -P -t "$topic" -K: -p 1 ||
    e2e_fail "could not produce to $topic"
got=$(e2e_kcat -C -t "$topic" -p 1 -o beginning -c 1 -e -q -f '%k=%s' 2>/dev/null)
e2e_assert_eq "k1=v1" "$got" "record read back from $topic"

e2e_assert_eq PONG "$(e2e_redis ping)" "redis PING"
e2e_assert_eq "appendonly yes" "$(e2e_redis config get appendonly | paste -sd' ')" "redis appendonly"
e2e_assert_eq "appendfsync everysec" "$(e2e_redis config get appendfsync | paste -sd' ')" "redis appendfsync"

e2e_pass
