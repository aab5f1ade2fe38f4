#!/usr/bin/env bash
# cluster.sh: local clusters for development and end-to-end tests: a Redis
# Cluster of 3 masters and 3 replicas and a 3-node KRaft Kafka (each JVM both
# broker and controller), all on 127.0.0.1 under one data directory, with
# fault helpers (kill a Redis master or a broker, move a hash slot) for tests.
#
# Layout of the cluster directory:
#   DIR/ports        the ports chosen free on first start, kept for restarts
#   DIR/redis/N/     Redis node N=1..6: data/ (AOF), nodes.conf (the node's
#                    cluster state: a restart comes back as the same cluster),
#                    redis.log, redis.pid
#   DIR/kafka/N/     broker N=1..3: server.properties, data/, logs/, kafka.pid
#   DIR/kafka/cluster.id  the KRaft cluster id the three were formatted with
#   DIR/cluster.env  shell exports telling programs and tests where things are:
#                    CHISO_BROKERS, CHISO_REDIS_HOST, CHISO_REDIS_PORT,
#                    CHISO_REDIS_CLUSTER_SEEDS, CHISO_CLUSTER_DIR,
#                    CHISO_KAFKA_HOME
# The Redis settings are redis.sh's (AOF, appendfsync everysec, no RDB,
# sorted sets past 32 members as skip lists) plus
# the cluster's; the Kafka jars are kafka.sh's (its `install`), the broker
# settings kafka.sh's with replication 3 and min.insync.replicas 2.
set -euo pipefail

CHISO_COMPONENT=cluster
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIR=${CHISO_CLUSTER_DIR:-$CHISO_REPO_DIR/.run/cluster}

REDIS_NODES=6
KAFKA_NODES=3
# redis.sh's persistence: AOF, fsync every second (CHISO_REDIS_APPENDFSYNC)
APPENDFSYNC=${CHISO_REDIS_APPENDFSYNC:-everysec}
# a master unreachable this long is failed over by its replica (a few seconds
# in all: the failure report, the election)
NODE_TIMEOUT=${CHISO_CLUSTER_NODE_TIMEOUT:-2000}
REDIS_START_TIMEOUT=${CHISO_REDIS_START_TIMEOUT:-30}
REDIS_STOP_TIMEOUT=${CHISO_REDIS_STOP_TIMEOUT:-30}
REDIS_OK_TIMEOUT=${CHISO_CLUSTER_REDIS_OK_TIMEOUT:-60}
MIGRATE_BATCH=${CHISO_CLUSTER_MIGRATE_BATCH:-100}

KAFKA_VERSION=3.9.1
KAFKA_HOME=${CHISO_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/chiso/kafka-$KAFKA_VERSION}
KAFKA_LIBS=$KAFKA_HOME/libs
KAFKA_HEAP=${CHISO_CLUSTER_KAFKA_HEAP:--Xms128m -Xmx512m}
# kafka.sh's collector (see there why not G1)
KAFKA_GC=${CHISO_KAFKA_GC:--XX:+UseParallelGC}
KAFKA_START_TIMEOUT=${CHISO_CLUSTER_KAFKA_START_TIMEOUT:-180}
KAFKA_STOP_TIMEOUT=${CHISO_KAFKA_STOP_TIMEOUT:-60}

usage() {
    local me
    me=$(basename "$0")
    cat <<EOF
usage: $me [--dir DIR] COMMAND [ARGS]

Local clusters on 127.0.0.1 under one data directory, for development and
end-to-end tests:
  - a Redis Cluster of 3 masters and 3 replicas (redis-server, cluster mode,
    appendonly yes, appendfsync everysec, cluster-node-timeout ${NODE_TIMEOUT} ms,
    cluster-replica-validity-factor 0: a replica always takes over a failed
    master);
  - Kafka $KAFKA_VERSION in KRaft mode, 3 nodes each broker and controller
    (default.replication.factor 3, min.insync.replicas 2, internal topics
    replicated 3 times), heap "$KAFKA_HEAP" each.
Ports are chosen free on first start and kept in DIR/ports, so a restart
(and the fault helpers) come back at the same addresses with the same data.

commands:
  start [--fresh]  start what is not running, create the Redis Cluster on
                   first start (redis-cli --cluster create), format Kafka's
                   storage on first start; wait until every Redis node says
                   cluster_state:ok with all 16384 slots served and the
                   replicas in sync, and every broker lists all 3 brokers;
                   write DIR/cluster.env and print it on stdout, so
                   eval "\$($me start)" sets the environment;
                   --fresh stops and deletes any previous cluster first
  stop             stop the brokers (together) and the Redis nodes (the
                   replicas, then the masters: no failover), cleanly
  status           state of each node, the Redis Cluster and the brokers;
                   exit 3 unless all 9 processes run
  env              print DIR/cluster.env

fault helpers (for tests; stdout only carries the data named):
  kill-redis-master [SLOT]
                   kill -9 the master that serves SLOT (default 0), print its
                   port; it stays down (its replica takes over after
                   cluster-node-timeout: see wait-redis-ok)
  restart-redis PORT
                   start the Redis node on PORT again (stop it first when it
                   runs); a failed-over master rejoins as a replica
  shard-aof-copy SLOT DEST
                   copy the append-only files of the replica of SLOT's master
                   as they are now into DEST
  shard-power-loss SLOT COPY
                   a shard that comes back with less than it acknowledged:
                   kill -9 SLOT's master and its replica, roll the replica's
                   append-only files back to COPY, start it and make it
                   master (CLUSTER FAILOVER TAKEOVER); print the old
                   master's port (down: restart-redis brings it back as a
                   replica, which drops its newer data)
  wait-redis-ok [TIMEOUT]
                   wait (default ${REDIS_OK_TIMEOUT}s) until every running node says
                   cluster_state:ok, all slots are served by running masters
                   that all nodes agree on, and running replicas are in sync
  redis-masters    print one line per master: 127.0.0.1:PORT SLOTS...
                   (slot ranges as CLUSTER NODES gives them: 0-5460 7000)
  keyslot KEY      print the hash slot of KEY (e.g. keyslot '{unit}')
  slot-owner SLOT  print the port of the master serving SLOT
  migrate-slot SLOT FROM_PORT TO_PORT
                   move hash slot SLOT and its keys from master FROM_PORT to
                   master TO_PORT: SETSLOT IMPORTING on TO, MIGRATING on
                   FROM, MIGRATE in batches of $MIGRATE_BATCH keys, SETSLOT NODE
                   on TO, FROM and the other masters; progress on stderr, the
                   number of keys moved on stdout. Clients see ASK
                   redirections while it runs, MOVED after.
  kill-broker N    kill -9 broker N (1..3); it stays down
  start-broker N   start broker N again, wait until it lists all 3 brokers
  create-topic NAME [PARTITIONS] [KEY=VALUE...]
                   create a topic, replication 3 (needs 3 brokers up),
                   default 4 partitions, topic configs as KEY=VALUE;
                   no-op when it exists
  topics ARGS...   run Kafka's TopicCommand with --bootstrap-server set
                   (e.g. topics --describe --topic X)
  cli ARGS...      run redis-cli -c against a running node (e.g. cli get k)

options:
  --dir DIR        cluster directory; default \$CHISO_CLUSTER_DIR or
                   <repo>/.run/cluster
  -h, --help       this help

environment:
  CHISO_CLUSTER_KAFKA_HEAP   JVM heap options per broker (default
                             "-Xms128m -Xmx512m")
  CHISO_KAFKA_GC             JVM collector (default "-XX:+UseParallelGC")
  CHISO_KAFKA_HOME           jar cache, as for kafka.sh (default
                             \${XDG_CACHE_HOME:-\$HOME/.cache}/chiso/kafka-$KAFKA_VERSION)
  CHISO_CLUSTER_KAFKA_START_TIMEOUT  seconds to wait for the brokers (180)
  CHISO_REDIS_APPENDFSYNC    everysec (default) or always
  CHISO_CLUSTER_NODE_TIMEOUT Redis cluster-node-timeout in ms (2000)
  CHISO_CLUSTER_REDIS_OK_TIMEOUT  seconds start and wait-redis-ok wait (60)
  CHISO_CLUSTER_MIGRATE_BATCH     keys per MIGRATE (100)

Files: DIR/ports, DIR/cluster.env, DIR/redis/N/{redis.log,nodes.conf,data/},
DIR/redis/create.log, DIR/kafka/N/{server.properties,logs/server.log,
logs/kafka.out,data/}. See deploy/local/README-cluster.md.
EOF
}

# --- ports -------------------------------------------------------------------

declare -A PORTS=()

load_ports() {
    local k v
    PORTS=()
    [ -f "$DIR/ports" ] || return 0
    while IFS='=' read -r k v; do
        [ -n "$k" ] && [ -n "$v" ] && PORTS[$k]=$v
    done <"$DIR/ports"
}

# pick_ports: a free port for every name not in DIR/ports yet; saved there.
pick_ports() {
    local names=() i n p
    load_ports
    for ((i = 1; i <= REDIS_NODES; i++)); do
        names+=("REDIS_PORT_$i" "REDIS_BUS_PORT_$i")
    done
    for ((i = 1; i <= KAFKA_NODES; i++)); do
        names+=("KAFKA_PORT_$i" "KAFKA_CONTROLLER_PORT_$i")
    done
    for n in "${names[@]}"; do
        [ -n "${PORTS[$n]:-}" ] && continue
        p=$(chiso_free_port "${PORTS[@]}") || exit 1
        PORTS[$n]=$p
    done
    local tmp
    tmp=$(mktemp "$DIR/ports.XXXXXX")
    for n in "${names[@]}"; do printf '%s=%s\n' "$n" "${PORTS[$n]}"; done >"$tmp"
    mv "$tmp" "$DIR/ports"
}

need_ports() {
    load_ports
    [ -n "${PORTS[REDIS_PORT_1]:-}" ] || chiso_die "no cluster in $DIR (run start first)"
}

rport() { printf '%s\n' "${PORTS[REDIS_PORT_$1]}"; }
rbus() { printf '%s\n' "${PORTS[REDIS_BUS_PORT_$1]}"; }
kport() { printf '%s\n' "${PORTS[KAFKA_PORT_$1]}"; }
kcport() { printf '%s\n' "${PORTS[KAFKA_CONTROLLER_PORT_$1]}"; }

# redis_index PORT: the node number (1..6) of the Redis node on PORT.
redis_index() {
    local i
    for ((i = 1; i <= REDIS_NODES; i++)); do
        [ "$(rport "$i")" = "$1" ] && { printf '%s\n' "$i"; return 0; }
    done
    chiso_die "port $1 is not a Redis node of the cluster in $DIR"
}

brokers() {
    local i out=()
    for ((i = 1; i <= KAFKA_NODES; i++)); do out+=("127.0.0.1:$(kport "$i")"); done
    (IFS=,; printf '%s\n' "${out[*]}")
}

seeds() {
    local i out=()
    for ((i = 1; i <= REDIS_NODES; i++)); do out+=("127.0.0.1:$(rport "$i")"); done
    (IFS=,; printf '%s\n' "${out[*]}")
}

# rss PID: resident memory in MB.
rss_mb() {
    local kb
    kb=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null)
    printf '%s\n' "$(((${kb:-0} + 512) / 1024))"
}

# --- Redis nodes -------------------------------------------------------------

rdir() { printf '%s/redis/%s\n' "$DIR" "$1"; }
rpidfile() { printf '%s/redis/%s/redis.pid\n' "$DIR" "$1"; }

# redis_running N: node N's pid file names a live Redis Cluster node on its
# port (the process title is "redis-server 127.0.0.1:PORT [cluster]").
redis_running() {
    chiso_pid_running "$(rpidfile "$1")" "127.0.0.1:$(rport "$1") [cluster]"
}

# has_line TEXT LINE: TEXT has a line that is exactly LINE.
has_line() { [[ $'\n'$1$'\n' == *$'\n'"$2"$'\n'* ]]; }

# rcli PORT ARGS...: redis-cli against one node (no redirections followed).
rcli() {
    local port=$1
    shift
    timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

rping() { [ "$(rcli "$1" ping 2>/dev/null)" = PONG ]; }

# rinfo PORT SECTION FIELD: one field of CLUSTER INFO (SECTION=cluster) or
# of INFO SECTION.
rinfo() {
    local out
    if [ "$2" = cluster ]; then
        out=$(rcli "$1" cluster info 2>/dev/null) || return 0
    else
        out=$(rcli "$1" info "$2" 2>/dev/null) || return 0
    fi
    printf '%s\n' "$out" | tr -d '\r' | sed -n "s/^$3://p"
}

# live_ports: the ports of the nodes that run and answer PING.
live_ports() {
    local i p
    for ((i = 1; i <= REDIS_NODES; i++)); do
        p=$(rport "$i")
        redis_running "$i" && rping "$p" && printf '%s\n' "$p"
    done
    return 0
}

# first_live_port: the port of the first node that runs (empty when none).
first_live_port() {
    local i p
    for ((i = 1; i <= REDIS_NODES; i++)); do
        p=$(rport "$i")
        if redis_running "$i" && rping "$p"; then
            printf '%s\n' "$p"
            return 0
        fi
    done
}

any_live_port() {
    local p
    p=$(first_live_port)
    [ -n "$p" ] || chiso_die "no Redis node of $DIR runs (run start first)"
    printf '%s\n' "$p"
}

# cluster_nodes PORT: CLUSTER NODES as node PORT sees the cluster.
cluster_nodes() { { rcli "$1" cluster nodes 2>/dev/null || true; } | tr -d '\r'; }

# masters_view PORT: "PORT SLOTS..." per master that serves slots, in node
# PORT's view (migration markers [..] left out), sorted by port.
masters_view() { cluster_nodes "$1" | masters_parse; }
masters_parse() {
    awk '
        $3 ~ /(^|,)master(,|$)/ {
            split($2, a, "@"); n = split(a[1], b, ":"); s = ""
            for (i = 9; i <= NF; i++) if ($i !~ /^\[/) s = s " " $i
            if (s != "") print b[n] s
        }' | sort -n
}

# slot_owner SLOT [PORT]: the port of the master serving SLOT (node PORT's
# view, default any running node).
slot_owner() {
    local slot=$1 port=${2:-}
    [ -n "$port" ] || port=$(any_live_port)
    # (awk reads to the end: an early exit could fail the pipe under pipefail)
    masters_view "$port" | awk -v s="$slot" '{
        for (i = 2; i <= NF; i++) {
            n = split($i, r, "-"); lo = r[1]; hi = (n > 1) ? r[2] : r[1]
            if (!found && s + 0 >= lo + 0 && s + 0 <= hi + 0) { print $1; found = 1 }
        }
    }'
}

redis_start_node() {
    local i=$1 d port bus started=$SECONDS
    d=$(rdir "$i")
    port=$(rport "$i")
    bus=$(rbus "$i")
    mkdir -p "$d/data"
    if redis_running "$i"; then
        chiso_log "redis $i already running (pid $(cat "$(rpidfile "$i")")) on 127.0.0.1:$port"
        return 0
    fi
    rm -f "$(rpidfile "$i")"
    local p
    for p in "$port" "$bus"; do
        chiso_port_wait_free "$p" || chiso_die "port $p on 127.0.0.1 is already in use by another process"
    done
    # redis.sh's settings, then the cluster's. The bus port is set (rather
    # than Redis's port+10000) to stay below the ephemeral port range.
    redis-server --bind 127.0.0.1 --port "$port" \
        --dir "$d/data" \
        --appendonly yes --appendfsync "$APPENDFSYNC" \
        --save '' --rdbcompression no \
        --auto-aof-rewrite-percentage 400 --auto-aof-rewrite-min-size 256mb \
        --zset-max-listpack-entries 32 \
        --cluster-enabled yes --cluster-config-file "$d/nodes.conf" \
        --cluster-port "$bus" --cluster-node-timeout "$NODE_TIMEOUT" \
        --cluster-replica-validity-factor 0 \
        --cluster-require-full-coverage yes \
        --repl-diskless-sync-delay 0 \
        --daemonize yes --pidfile "$(rpidfile "$i")" \
        --logfile "$d/redis.log" \
        </dev/null >>"$d/redis.out" 2>&1 9>&- ||
        { tail -n 20 "$d/redis.out" "$d/redis.log" >&2 2>/dev/null || true
          chiso_die "redis-server $i failed to start"; }
    while ! { [ -s "$(rpidfile "$i")" ] && rping "$port"; }; do
        sleep 0.1
        if [ $((SECONDS - started)) -ge "$REDIS_START_TIMEOUT" ]; then
            tail -n 20 "$d/redis.log" >&2 2>/dev/null || true
            chiso_die "redis $i: no PONG on port $port after ${REDIS_START_TIMEOUT}s"
        fi
    done
    chiso_log "redis $i: pid $(cat "$(rpidfile "$i")"), 127.0.0.1:$port (bus $bus)"
}

# redis_stop_node N: SHUTDOWN (flushes the AOF), then signals if needed.
redis_stop_node() {
    local i=$1 pid j
    if ! redis_running "$i"; then
        rm -f "$(rpidfile "$i")"
        return 0
    fi
    pid=$(cat "$(rpidfile "$i")")
    rcli "$(rport "$i")" shutdown >/dev/null 2>&1 || true
    for ((j = 0; j < REDIS_STOP_TIMEOUT * 10; j++)); do
        chiso_alive "$pid" || break
        sleep 0.1
    done
    chiso_stop_pid "$(rpidfile "$i")" redis-server 10
    chiso_log "redis $i (127.0.0.1:$(rport "$i")) stopped"
}

# redis_check_ok ALL: true when the running nodes (all 6 when ALL=1) form a
# healthy cluster: each says cluster_state:ok with 16384 slots ok, all agree
# on which master serves which slots, those masters run, no node flags a
# running node as failing, and every running replica's link is up. Sets
# NOT_OK to what is missing otherwise.
NOT_OK=
redis_check_ok() {
    local all=$1 live=() p ci cn ir view first='' owner bad
    mapfile -t live < <(live_ports)
    if [ "${#live[@]}" -eq 0 ]; then NOT_OK="no node runs"; return 1; fi
    if [ "$all" = 1 ] && [ "${#live[@]}" -lt "$REDIS_NODES" ]; then
        NOT_OK="only ${#live[@]} of $REDIS_NODES nodes run"
        return 1
    fi
    for p in "${live[@]}"; do
        ci=$(rcli "$p" cluster info 2>/dev/null | tr -d '\r') || ci=
        has_line "$ci" cluster_state:ok ||
            { NOT_OK="node $p: cluster_state not ok"; return 1; }
        has_line "$ci" cluster_slots_ok:16384 ||
            { NOT_OK="node $p: not all 16384 slots ok"; return 1; }
        cn=$(cluster_nodes "$p")
        view=$(printf '%s\n' "$cn" | masters_parse)
        if [ -z "$first" ]; then
            first=$view
        elif [ "$view" != "$first" ]; then
            NOT_OK="nodes ${live[0]} and $p disagree on the slots' masters"
            return 1
        fi
        # a running node flagged fail/fail? in this node's view: not rejoined
        bad=$(printf '%s\n' "$cn" | awk -v live=" ${live[*]} " '{
            split($2, a, "@"); n = split(a[1], b, ":")
            if ($3 ~ /fail/ && index(live, " " b[n] " ")) print b[n]
        }')
        [ -z "$bad" ] || { NOT_OK="node $p still flags running node(s) $bad as failing"; return 1; }
        ir=$(rcli "$p" info replication 2>/dev/null | tr -d '\r') || ir=
        if has_line "$ir" role:slave && ! has_line "$ir" master_link_status:up; then
            NOT_OK="replica $p: link to its master not up"
            return 1
        fi
    done
    [ -n "$first" ] || { NOT_OK="no master serves slots"; return 1; }
    for owner in $(printf '%s\n' "$first" | awk '{ print $1 }'); do
        [[ " ${live[*]} " == *" $owner "* ]] ||
            { NOT_OK="master $owner serves slots but does not run"; return 1; }
    done
    NOT_OK=
}

# wait_redis_ok ALL TIMEOUT
wait_redis_ok() {
    local all=$1 timeout=$2 started=$SECONDS last=''
    while ! redis_check_ok "$all"; do
        if [ "$NOT_OK" != "$last" ]; then
            chiso_log "waiting for the Redis Cluster: $NOT_OK"
            last=$NOT_OK
        fi
        if [ $((SECONDS - started)) -ge "$timeout" ]; then
            chiso_die "Redis Cluster not ok after ${timeout}s: $NOT_OK"
        fi
        sleep 0.2
    done
    chiso_log "Redis Cluster ok: $(masters_view "$(any_live_port)" | awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $0 }')"
}

redis_start() {
    local i p known slots fresh=0 old=0 addrs=()
    mkdir -p "$DIR/redis"
    for ((i = 1; i <= REDIS_NODES; i++)); do redis_start_node "$i"; done
    for ((i = 1; i <= REDIS_NODES; i++)); do
        p=$(rport "$i")
        addrs+=("127.0.0.1:$p")
        known=$(rinfo "$p" cluster cluster_known_nodes)
        slots=$(rinfo "$p" cluster cluster_slots_assigned)
        if [ "$known" = 1 ] && [ "$slots" = 0 ]; then
            fresh=$((fresh + 1))
        else
            old=$((old + 1))
        fi
    done
    if [ "$old" -gt 0 ] && [ "$fresh" -gt 0 ]; then
        chiso_die "$fresh Redis node(s) know no cluster, $old do: a node lost its nodes.conf? (start --fresh to rebuild)"
    fi
    if [ "$fresh" -eq "$REDIS_NODES" ]; then
        chiso_log "creating the Redis Cluster (3 masters, 3 replicas); log in $DIR/redis/create.log"
        if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
            </dev/null >"$DIR/redis/create.log" 2>&1; then
            tail -n 30 "$DIR/redis/create.log" >&2 || true
            chiso_die "redis-cli --cluster create failed"
        fi
    fi
    wait_redis_ok 1 "$REDIS_OK_TIMEOUT"
}

redis_stop() {
    local i p pids=() replicas=() masters=()
    for ((i = 1; i <= REDIS_NODES; i++)); do
        redis_running "$i" || { rm -f "$(rpidfile "$i")"; continue; }
        p=$(rport "$i")
        if [ "$(rinfo "$p" replication role)" = slave ]; then
            replicas+=("$i")
        else
            masters+=("$i")
        fi
    done
    # replicas first: with them gone no master is failed over while the
    # masters stop one after the other
    for i in "${replicas[@]}"; do redis_stop_node "$i" & pids+=($!); done
    [ "${#pids[@]}" -eq 0 ] || wait "${pids[@]}"
    pids=()
    for i in "${masters[@]}"; do redis_stop_node "$i" & pids+=($!); done
    [ "${#pids[@]}" -eq 0 ] || wait "${pids[@]}"
}

# --- Kafka brokers -----------------------------------------------------------

kdir() { printf '%s/kafka/%s\n' "$DIR" "$1"; }
kpidfile() { printf '%s/kafka/%s/kafka.pid\n' "$DIR" "$1"; }
kpattern() { printf '%s/kafka/%s/server.properties\n' "$DIR" "$1"; }
kafka_running() { chiso_pid_running "$(kpidfile "$1")" "$(kpattern "$1")"; }

# tool CLASS ARGS...: a Kafka command-line tool (kafka.sh's), stdout to
# stderr unless TOOL_STDOUT=1.
tool() { chiso_kafka_tool "$DIR/kafka/tools-log4j.properties" "$KAFKA_LIBS" "$@"; }

write_kafka_config() {
    local i=$1 d voters='' j
    d=$(kdir "$i")
    mkdir -p "$d/data" "$d/logs"
    for ((j = 1; j <= KAFKA_NODES; j++)); do
        voters+="${voters:+,}$j@127.0.0.1:$(kcport "$j")"
    done
    cat >"$d/server.properties" <<EOF
# Generated by deploy/local/cluster.sh; rewritten on every start.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(kport "$i"),CONTROLLER://127.0.0.1:$(kcport "$i")
advertised.listeners=PLAINTEXT://127.0.0.1:$(kport "$i")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$d/data
num.partitions=4
auto.create.topics.enable=false
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
# a killed broker is fenced (and leaves the ISRs) after 6 s, not 9
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000
# no controlled shutdown: a broker stopping would wait (up to 5 minutes) for
# the controller quorum to approve it, and when the three stop together the
# quorum may be gone first. Logs are still flushed and closed cleanly; the
# brokers only ever stop together here (kill-broker is a kill -9).
controlled.shutdown.enable=false
EOF
    chiso_kafka_write_log4j "$d/logs" "$d/log4j.properties"
}

write_tools_log4j() {
    mkdir -p "$DIR/kafka"
    chiso_kafka_write_tools_log4j "$DIR/kafka/tools-log4j.properties"
}

# kafka_format N: format broker N's storage with the cluster's id (once).
kafka_format() {
    local i=$1 id
    [ -f "$(kdir "$i")/data/meta.properties" ] && return 0
    if [ ! -s "$DIR/kafka/cluster.id" ]; then
        chiso_kafka_cluster_id >"$DIR/kafka/cluster.id"
    fi
    id=$(cat "$DIR/kafka/cluster.id")
    chiso_log "kafka $i: formatting storage in $(kdir "$i")/data (cluster id $id)"
    tool kafka.tools.StorageTool format -t "$id" -c "$(kpattern "$i")" ||
        chiso_die "kafka-storage format failed for broker $i"
}

kafka_launch() {
    local i=$1 d p
    d=$(kdir "$i")
    rm -f "$(kpidfile "$i")"
    for p in "$(kport "$i")" "$(kcport "$i")"; do
        chiso_port_busy "$p" && chiso_die "port $p on 127.0.0.1 is already in use by another process"
    done
    write_kafka_config "$i"
    kafka_format "$i"
    # shellcheck disable=SC2016,SC2086  # $$ is the inner shell's; KAFKA_HEAP is a list
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$(kpidfile "$i")" \
        java $KAFKA_HEAP $KAFKA_GC -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$d/log4j.properties" \
        -Dkafka.logs.dir="$d/logs" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$(kpattern "$i")" \
        </dev/null >>"$d/logs/kafka.out" 2>&1 9>&- &
    chiso_log "kafka $i: starting on 127.0.0.1:$(kport "$i") (controller $(kcport "$i"))"
}

# kafka_ready N: broker N answers a metadata request listing all brokers.
kafka_ready() {
    kcat -b "127.0.0.1:$(kport "$1")" -L -m 2 2>/dev/null | grep " $KAFKA_NODES brokers:" >/dev/null
}

show_kafka_logs() {
    local d
    d=$(kdir "$1")
    chiso_log "---- last lines of $d/logs/server.log ----"
    tail -n 30 "$d/logs/server.log" >&2 2>/dev/null || true
    chiso_log "---- last lines of $d/logs/kafka.out ----"
    tail -n 10 "$d/logs/kafka.out" >&2 2>/dev/null || true
}

# kafka_wait N...: wait until each broker N lists all brokers; on failure
# stop the brokers named (those this run launched) and die.
kafka_wait() {
    local started=$SECONDS pending=("$@") left i j
    while [ "${#pending[@]}" -gt 0 ]; do
        left=()
        for i in "${pending[@]}"; do
            if kafka_ready "$i"; then
                chiso_log "kafka $i: ready, pid $(cat "$(kpidfile "$i")") ($((SECONDS - started))s)"
            elif ! kafka_running "$i" && [ $((SECONDS - started)) -gt 5 ]; then
                show_kafka_logs "$i"
                for j in "$@"; do chiso_stop_pid "$(kpidfile "$j")" "$(kpattern "$j")" 10; done
                chiso_die "broker $i exited during startup"
            else
                left+=("$i")
            fi
        done
        pending=("${left[@]}")
        [ "${#pending[@]}" -eq 0 ] && break
        if [ $((SECONDS - started)) -ge "$KAFKA_START_TIMEOUT" ]; then
            for j in "${pending[@]}"; do show_kafka_logs "$j"; done
            for j in "$@"; do chiso_stop_pid "$(kpidfile "$j")" "$(kpattern "$j")" 10; done
            chiso_die "broker(s) ${pending[*]} not ready after ${KAFKA_START_TIMEOUT}s"
        fi
        sleep 0.5
    done
}

kafka_install() {
    [ -f "$KAFKA_LIBS/.complete" ] && return 0
    CHISO_KAFKA_HOME=$KAFKA_HOME "$CHISO_LOCAL_DIR/kafka.sh" install
}

kafka_start() {
    local i launched=()
    kafka_install
    write_tools_log4j
    for ((i = 1; i <= KAFKA_NODES; i++)); do
        if kafka_running "$i"; then
            chiso_log "kafka $i already running (pid $(cat "$(kpidfile "$i")")) on 127.0.0.1:$(kport "$i")"
        else
            kafka_launch "$i"
            launched+=("$i")
        fi
    done
    # the three start together: a controller quorum needs two of them
    local all=()
    for ((i = 1; i <= KAFKA_NODES; i++)); do all+=("$i"); done
    if [ "${#launched[@]}" -gt 0 ]; then
        kafka_wait "${launched[@]}"
    fi
    for i in "${all[@]}"; do
        kafka_ready "$i" || kafka_wait "$i"
    done
}

kafka_stop_one() {
    local i=$1 pid started=$SECONDS
    if ! kafka_running "$i"; then
        rm -f "$(kpidfile "$i")"
        return 0
    fi
    pid=$(cat "$(kpidfile "$i")")
    chiso_stop_pid "$(kpidfile "$i")" "$(kpattern "$i")" "$KAFKA_STOP_TIMEOUT"
    chiso_log "kafka $i (pid $pid) stopped ($((SECONDS - started))s)"
}

kafka_stop() {
    local i pids=()
    # together: one after the other, the last would find its controller
    # quorum gone (see controlled.shutdown.enable in write_kafka_config)
    for ((i = 1; i <= KAFKA_NODES; i++)); do kafka_stop_one "$i" & pids+=($!); done
    wait "${pids[@]}"
}

check_broker_arg() {
    if ! [[ ${1:-} =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ] || [ "$1" -gt "$KAFKA_NODES" ]; then
        chiso_die "broker number must be 1..$KAFKA_NODES, not '${1:-}'"
    fi
}

# --- commands ----------------------------------------------------------------

write_env() {
    local tmp redis_port
    redis_port=$(slot_owner 0)
    [ -n "$redis_port" ] || redis_port=$(rport 1)
    tmp=$(mktemp "$DIR/cluster.env.XXXXXX")
    cat >"$tmp" <<EOF
# Written by deploy/local/cluster.sh; source it to reach the local clusters.
# CHISO_REDIS_PORT is the master of slot 0 when the clusters started; any
# node answers (with redirections), the seeds list all six.
export CHISO_BROKERS=$(brokers)
export CHISO_REDIS_HOST=127.0.0.1
export CHISO_REDIS_PORT=$redis_port
export CHISO_REDIS_CLUSTER_SEEDS=$(seeds)
export CHISO_CLUSTER_DIR=$DIR
export CHISO_KAFKA_HOME=$KAFKA_HOME
EOF
    mv "$tmp" "$DIR/cluster.env"
}

cmd_start() {
    local started=$SECONDS
    if [ "$FRESH" = 1 ] && [ -d "$DIR" ]; then
        chiso_log "--fresh: stopping and wiping $DIR"
        cmd_stop
        rm -rf "$DIR/redis" "$DIR/kafka" "$DIR/ports" "$DIR/cluster.env"
    fi
    mkdir -p "$DIR"
    chiso_lock "$DIR/.lock"
    chiso_apt_ensure redis-server redis-tools default-jre-headless kcat
    pick_ports
    redis_start
    kafka_start
    write_env
    chiso_log "clusters up in $((SECONDS - started))s; env in $DIR/cluster.env"
    cat "$DIR/cluster.env"
}

cmd_stop() {
    [ -d "$DIR" ] || { chiso_log "not running (no $DIR)"; return 0; }
    chiso_lock "$DIR/.lock"
    load_ports
    [ -n "${PORTS[REDIS_PORT_1]:-}" ] || { chiso_log "not running (no ports in $DIR)"; return 0; }
    local started=$SECONDS
    kafka_stop
    redis_stop
    chiso_log "stopped ($((SECONDS - started))s)"
}

cmd_status() {
    local i p pid role rc=0 view live
    [ -d "$DIR" ] || { printf 'cluster: none in %s\n' "$DIR"; return 3; }
    load_ports
    [ -n "${PORTS[REDIS_PORT_1]:-}" ] || { printf 'cluster: none in %s\n' "$DIR"; return 3; }
    for ((i = 1; i <= REDIS_NODES; i++)); do
        p=$(rport "$i")
        if redis_running "$i"; then
            pid=$(cat "$(rpidfile "$i")")
            role=$(cluster_nodes "$p" | awk '$3 ~ /myself/ {
                if ($3 ~ /master/) { s = ""; for (i = 9; i <= NF; i++) s = s " " $i; print "master" s }
                else print "replica of " $4 }')
            # name the replica's master by its address
            if [[ $role == "replica of "* ]]; then
                role="replica of 127.0.0.1:$(cluster_nodes "$p" | awk -v id="${role#replica of }" \
                    '$1 == id { split($2, a, "@"); n = split(a[1], b, ":"); print b[n] }')"
            fi
            printf 'redis %d: running pid %s at 127.0.0.1:%s (bus %s), %s MB, %s\n' \
                "$i" "$pid" "$p" "$(rbus "$i")" "$(rss_mb "$pid")" "${role:-?}"
        else
            printf 'redis %d: stopped (127.0.0.1:%s), dir %s\n' "$i" "$p" "$(rdir "$i")"
            rc=3
        fi
    done
    live=$(first_live_port)
    if [ -n "$live" ]; then
        if redis_check_ok 0; then
            view="ok"
        else
            view="NOT OK: $NOT_OK"
        fi
        printf 'redis cluster: %s (cluster_state:%s, slots ok %s, %s masters serve slots)\n' \
            "$view" "$(rinfo "$live" cluster cluster_state)" \
            "$(rinfo "$live" cluster cluster_slots_ok)" "$(masters_view "$live" | grep -c .)"
    fi
    for ((i = 1; i <= KAFKA_NODES; i++)); do
        if kafka_running "$i"; then
            pid=$(cat "$(kpidfile "$i")")
            printf 'kafka %d: running pid %s at 127.0.0.1:%s (controller %s), %s MB, %s\n' \
                "$i" "$pid" "$(kport "$i")" "$(kcport "$i")" "$(rss_mb "$pid")" \
                "$(kcat -b "127.0.0.1:$(kport "$i")" -L -m 2 2>/dev/null |
                    sed -n 's/^ *\([0-9]* brokers\):$/\1 in metadata/p' | head -n 1)"
        else
            printf 'kafka %d: stopped (127.0.0.1:%s), dir %s\n' "$i" "$(kport "$i")" "$(kdir "$i")"
            rc=3
        fi
    done
    return "$rc"
}

cmd_env() {
    [ -f "$DIR/cluster.env" ] || chiso_die "no $DIR/cluster.env (run start first)"
    cat "$DIR/cluster.env"
}

check_slot() {
    if ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -gt 16383 ]; then
        chiso_die "slot must be 0..16383, not '$1'"
    fi
}

cmd_kill_redis_master() {
    local slot=${1:-0} port i pid
    check_slot "$slot"
    need_ports
    chiso_lock "$DIR/.lock"
    port=$(slot_owner "$slot")
    [ -n "$port" ] || chiso_die "no master serves slot $slot"
    i=$(redis_index "$port") || exit 1
    redis_running "$i" || chiso_die "the master of slot $slot (127.0.0.1:$port) does not run"
    pid=$(cat "$(rpidfile "$i")")
    kill -KILL "$pid"
    while chiso_alive "$pid"; do sleep 0.05; done
    rm -f "$(rpidfile "$i")"
    chiso_log "killed redis $i, master of slot $slot at 127.0.0.1:$port (pid $pid, SIGKILL)"
    printf '%s\n' "$port"
}

# The node index of the replica of SLOT's master.
slot_replica() {
    local slot=$1 port id
    port=$(slot_owner "$slot")
    [ -n "$port" ] || chiso_die "no master serves slot $slot"
    id=$(cluster_nodes "$port" | awk '$3 ~ /myself/ { print $1 }')
    port=$(cluster_nodes "$port" | awk -v id="$id" '$4 == id && $3 ~ /slave/ {
        split($2, a, "[:@]"); print a[2]; exit }')
    [ -n "$port" ] || chiso_die "the master of slot $slot has no replica"
    redis_index "$port"
}

cmd_shard_aof_copy() {
    local slot=${1:-} dest=${2:-} i
    [ -n "$dest" ] || chiso_die "usage: shard-aof-copy SLOT DEST"
    check_slot "$slot"
    need_ports
    i=$(slot_replica "$slot")
    [ -d "$(rdir "$i")/data/appendonlydir" ] || chiso_die "no append-only files in $(rdir "$i")/data"
    rm -rf "$dest"
    mkdir -p "$(dirname "$dest")"
    cp -a "$(rdir "$i")/data/appendonlydir" "$dest"
    chiso_log "append-only files of redis $i (replica of slot $slot's master) copied to $dest"
}

cmd_shard_power_loss() {
    local slot=${1:-} copy=${2:-} m r node pid
    [ -d "$copy" ] || chiso_die "usage: shard-power-loss SLOT COPY (no copy at '$copy')"
    check_slot "$slot"
    need_ports
    chiso_lock "$DIR/.lock"
    m=$(redis_index "$(slot_owner "$slot")")
    r=$(slot_replica "$slot")
    for node in "$m" "$r"; do
        pid=$(cat "$(rpidfile "$node")")
        kill -KILL "$pid"
        while chiso_alive "$pid"; do sleep 0.05; done
        rm -f "$(rpidfile "$node")"
    done
    chiso_log "killed redis $m (master of slot $slot) and redis $r (its replica), SIGKILL"
    rm -rf "$(rdir "$r")/data/appendonlydir"
    cp -a "$copy" "$(rdir "$r")/data/appendonlydir"
    redis_start_node "$r"
    rcli "$(rport "$r")" cluster failover takeover >/dev/null ||
        chiso_die "redis $r did not take over"
    chiso_log "redis $r came back from the older append-only files and took over slot $slot"
    printf '%s\n' "$(rport "$m")"
}

cmd_restart_redis() {
    local port=${1:-} i
    [[ $port =~ ^[0-9]+$ ]] || chiso_die "usage: restart-redis PORT"
    need_ports
    chiso_lock "$DIR/.lock"
    i=$(redis_index "$port") || exit 1
    redis_stop_node "$i"
    redis_start_node "$i"
}

cmd_wait_redis_ok() {
    local timeout=${1:-$REDIS_OK_TIMEOUT}
    [[ $timeout =~ ^[0-9]+$ ]] || chiso_die "timeout must be a number of seconds"
    need_ports
    wait_redis_ok 0 "$timeout"
}

cmd_redis_masters() {
    need_ports
    masters_view "$(any_live_port)" | sort -t' ' -k2,2n | sed 's/^/127.0.0.1:/'
}

cmd_slot_owner() {
    [ $# -eq 1 ] || chiso_die "usage: slot-owner SLOT"
    check_slot "$1"
    need_ports
    local p
    p=$(slot_owner "$1")
    [ -n "$p" ] || chiso_die "no master serves slot $1"
    printf '%s\n' "$p"
}

cmd_keyslot() {
    [ $# -eq 1 ] || chiso_die "usage: keyslot KEY"
    need_ports
    rcli "$(any_live_port)" cluster keyslot "$1"
}

# rok PORT WHAT ARGS...: a command that must answer OK.
rok() {
    local port=$1 what=$2 out
    shift 2
    out=$(rcli "$port" "$@" 2>&1) || true
    [ "$out" = OK ] || chiso_die "$what on 127.0.0.1:$port: $out"
}

cmd_migrate_slot() {
    [ $# -eq 3 ] || chiso_die "usage: migrate-slot SLOT FROM_PORT TO_PORT"
    local slot=$1 from=$2 to=$3 from_id to_id total moved=0 left before out keys p i_from i_to
    check_slot "$slot"
    [[ $from =~ ^[0-9]+$ ]] || chiso_die "FROM_PORT '$from' is not a number"
    [[ $to =~ ^[0-9]+$ ]] || chiso_die "TO_PORT '$to' is not a number"
    [ "$from" != "$to" ] || chiso_die "FROM_PORT and TO_PORT are the same"
    need_ports
    chiso_lock "$DIR/.lock"
    i_from=$(redis_index "$from") || exit 1
    i_to=$(redis_index "$to") || exit 1
    for p in "$i_from:$from" "$i_to:$to"; do
        redis_running "${p%%:*}" || chiso_die "node ${p#*:} does not run"
        rping "${p#*:}" || chiso_die "node ${p#*:} does not answer PING"
    done
    [ "$(rinfo "$to" replication role)" = master ] || chiso_die "node $to is not a master"
    p=$(slot_owner "$slot" "$from")
    if [ "$p" = "$to" ] && [ "$(slot_owner "$slot" "$to")" = "$to" ]; then
        chiso_log "slot $slot is already served by $to"
        printf '0\n'
        return 0
    fi
    [ "$p" = "$from" ] || chiso_die "slot $slot is served by ${p:-nobody}, not by $from"
    from_id=$(rcli "$from" cluster myid)
    to_id=$(rcli "$to" cluster myid)
    total=$(rcli "$from" cluster countkeysinslot "$slot")
    chiso_log "slot $slot: $total keys, 127.0.0.1:$from -> 127.0.0.1:$to"
    rok "$to" "SETSLOT $slot IMPORTING" cluster setslot "$slot" importing "$from_id"
    chiso_log "slot $slot: importing on $to"
    rok "$from" "SETSLOT $slot MIGRATING" cluster setslot "$slot" migrating "$to_id"
    chiso_log "slot $slot: migrating on $from"
    while :; do
        mapfile -t keys < <(rcli "$from" cluster getkeysinslot "$slot" "$MIGRATE_BATCH")
        if [ "${#keys[@]}" -eq 0 ] || [ -z "${keys[0]}" ]; then break; fi
        before=$(rcli "$from" cluster countkeysinslot "$slot")
        out=$(rcli "$from" migrate 127.0.0.1 "$to" "" 0 5000 keys "${keys[@]}" 2>&1) || true
        case "$out" in
        OK | NOKEY) ;;
        *) chiso_die "MIGRATE from $from to $to: $out (slot $slot left migrating; run again)" ;;
        esac
        left=$(rcli "$from" cluster countkeysinslot "$slot")
        [ "$left" -lt "$before" ] || chiso_die "MIGRATE moved nothing (keys $left; names with newlines?)"
        moved=$((moved + before - left))
        chiso_log "slot $slot: moved $moved keys, $left left on $from"
    done
    # the new owner first, then the old one (it refuses while it holds keys),
    # then every other master; replicas learn it from their masters
    rok "$to" "SETSLOT $slot NODE" cluster setslot "$slot" node "$to_id"
    rok "$from" "SETSLOT $slot NODE" cluster setslot "$slot" node "$to_id"
    for p in $(masters_view "$to" | awk '{ print $1 }'); do
        [ "$p" = "$to" ] || [ "$p" = "$from" ] || ! rping "$p" ||
            rok "$p" "SETSLOT $slot NODE" cluster setslot "$slot" node "$to_id"
    done
    chiso_log "slot $slot: now served by $to; keys in slot: $from has $(rcli "$from" cluster countkeysinslot "$slot"), $to has $(rcli "$to" cluster countkeysinslot "$slot")"
    printf '%s\n' "$moved"
}

cmd_kill_broker() {
    local n=${1:-} pid i
    check_broker_arg "$n"
    need_ports
    chiso_lock "$DIR/.lock"
    kafka_running "$n" || chiso_die "broker $n does not run"
    pid=$(cat "$(kpidfile "$n")")
    kill -KILL "$pid"
    while chiso_alive "$pid"; do sleep 0.05; done
    rm -f "$(kpidfile "$n")"
    # the main thread may be reaped before the others let go of the ports
    for ((i = 0; i < 200; i++)); do
        chiso_port_busy "$(kport "$n")" || chiso_port_busy "$(kcport "$n")" || break
        sleep 0.05
    done
    chiso_log "killed broker $n at 127.0.0.1:$(kport "$n") (pid $pid, SIGKILL)"
}

cmd_start_broker() {
    local n=${1:-}
    check_broker_arg "$n"
    need_ports
    chiso_lock "$DIR/.lock"
    if kafka_running "$n"; then
        chiso_log "broker $n already running (pid $(cat "$(kpidfile "$n")"))"
        return 0
    fi
    kafka_install
    write_tools_log4j
    kafka_launch "$n"
    kafka_wait "$n"
}

live_brokers() {
    local i out=()
    for ((i = 1; i <= KAFKA_NODES; i++)); do
        kafka_running "$i" && out+=("127.0.0.1:$(kport "$i")")
    done
    [ "${#out[@]}" -gt 0 ] || chiso_die "no broker of $DIR runs (run start first)"
    (IFS=,; printf '%s\n' "${out[*]}")
}

cmd_create_topic() {
    [ $# -ge 1 ] || chiso_die "usage: create-topic NAME [PARTITIONS] [KEY=VALUE...]"
    local name=$1 partitions=4 configs=() kv
    shift
    if [ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then
        partitions=$1
        shift
    fi
    for kv in "$@"; do
        [[ $kv == *=* ]] || chiso_die "topic config '$kv' is not KEY=VALUE"
        configs+=(--config "$kv")
    done
    need_ports
    [ -f "$DIR/kafka/tools-log4j.properties" ] || write_tools_log4j
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(live_brokers)" \
        --create --if-not-exists --topic "$name" --partitions "$partitions" \
        --replication-factor 3 "${configs[@]}" ||
        chiso_die "could not create topic $name"
}

cmd_topics() {
    need_ports
    [ -f "$DIR/kafka/tools-log4j.properties" ] || write_tools_log4j
    TOOL_STDOUT=1 tool org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "$(live_brokers)" "$@"
}

cmd_cli() {
    need_ports
    exec redis-cli -c -h 127.0.0.1 -p "$(any_live_port)" "$@"
}

# --- main --------------------------------------------------------------------

COMMAND=
while [ $# -gt 0 ] && [ -z "$COMMAND" ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --dir) [ $# -ge 2 ] || chiso_die "--dir needs a value"; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    -*) chiso_die "unknown option '$1' (see --help)" ;;
    *) COMMAND=$1; shift ;;
    esac
done
DIR=$(chiso_abspath "$DIR")
# Options may also follow the command (cluster.sh start --dir DIR), except
# for cli and topics, whose arguments all go to the tool.
ARGS=()
FRESH=0
while [ $# -gt 0 ]; do
    case "$COMMAND:$1" in
    cli:* | topics:*) ARGS+=("$1"); shift ;;
    *:-h | *:--help) usage; exit 0 ;;
    *:--dir) [ $# -ge 2 ] || chiso_die "--dir needs a value"; DIR=$(chiso_abspath "$2"); shift 2 ;;
    *:--dir=*) DIR=$(chiso_abspath "${1#*=}"); shift ;;
    start:--fresh) FRESH=1; shift ;;
    *) ARGS+=("$1"); shift ;;
    esac
done

case "$COMMAND" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
kill-redis-master) cmd_kill_redis_master "${ARGS[@]}" ;;
restart-redis) cmd_restart_redis "${ARGS[@]}" ;;
shard-aof-copy) cmd_shard_aof_copy "${ARGS[@]}" ;;
shard-power-loss) cmd_shard_power_loss "${ARGS[@]}" ;;
wait-redis-ok) cmd_wait_redis_ok "${ARGS[@]}" ;;
redis-masters) cmd_redis_masters ;;
keyslot) cmd_keyslot "${ARGS[@]}" ;;
slot-owner) cmd_slot_owner "${ARGS[@]}" ;;
migrate-slot) cmd_migrate_slot "${ARGS[@]}" ;;
kill-broker) cmd_kill_broker "${ARGS[@]}" ;;
start-broker) cmd_start_broker "${ARGS[@]}" ;;
create-topic) cmd_create_topic "${ARGS[@]}" ;;
topics) cmd_topics "${ARGS[@]}" ;;
cli) cmd_cli "${ARGS[@]}" ;;
'') usage >&2; exit 2 ;;
*) chiso_die "unknown command '$COMMAND' (see --help)" ;;
esac
