#!/usr/bin/env bash
# test_systemd.sh: the systemd files of deploy/systemd (lint.systemd, registered
# by tests/deploy/systemd.cmake). It installs the built programs
# (cmake --install) and the units, user and configuration files
# (deploy/systemd/install.sh) into a temporary root, then checks:
#   1. install.sh: --dry-run changes nothing; the units are installed as they
#      are, the user chiso is created, the configuration files are root:chiso
#      0640 in a root:chiso 0750 directory; a second run changes nothing and
#      keeps an edited file; --prefix moves ExecStart=
#   2. systemd-analyze verify --root: every unit (the template as instance 1)
#      loads without a single message
#   3. every service has the hardening, stop and restart directives below,
#      each set once, and an exposure (systemd-analyze security) of at most
#      MAX_EXPOSURE
#   4. every key of every example configuration file, set or commented out,
#      is one its program lists in --help (or a kafka.* pass-through), and
#      every file is read by a unit
#   5. every program, started as its unit starts it (the installed
#      configuration, the unit's options) against no Kafka and no Redis, does
#      not refuse its configuration (exit 2) but waits for them
# Needs root (the files are installed root:chiso); exits 77 (skipped) without.
set -euo pipefail

# The exposure systemd-analyze security measured (deploy/systemd/README.md),
# in its tenths: raise it only with the reason in the README.
MAX_EXPOSURE=11
# How long a program gets to refuse its configuration (it does so at once).
RUN_WINDOW_S=5

usage() {
    cat <<EOF
usage: $(basename "$0") [--cmake CMAKE] BUILD_DIR

Checks deploy/systemd against the programs built in BUILD_DIR (see the
head of this script). --cmake: the cmake that installs them (default: the
one on PATH).
EOF
}

die() {
    echo "test_systemd: $*" >&2
    exit 1
}

cmake=cmake
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --cmake)
        [ $# -ge 2 ] || die "--cmake needs a path (see --help)"
        cmake=$2
        shift 2
        ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || { usage >&2; exit 1; }
build=$1
[ -f "$build/CMakeCache.txt" ] || die "'$build' is not a CMake build directory"
if [ "$(id -u)" -ne 0 ]; then
    echo "test_systemd: skipped: needs root (install.sh installs root:chiso)"
    exit 77
fi
command -v systemd-analyze >/dev/null || die "systemd-analyze not found (Debian: apt-get install systemd)"
system_units=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
[ -d "$system_units" ] || die "the system's unit directory was not found (pkg-config --variable=systemdsystemunitdir systemd)"

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy/systemd" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

units=("$src"/chiso.target "$src"/*.service)
services=("$src"/*.service)
examples=("$src"/etc/chiso/*.conf)

# The name systemd is given for a unit file: the template as instance 1.
instance_of() {
    local name
    name=$(basename "$1")
    printf '%s' "${name/@./@1.}"
}

# The value of ExecStart= of a unit, its specifiers resolved as systemd
# resolves them for instance_of (only those the units use: a new one must
# be added here).
exec_start() {
    local name prefix line
    name=$(instance_of "$1")
    prefix=${name%.*}
    prefix=${prefix%@*}
    line=$(sed -n 's/^ExecStart=//p' "$1")
    line=${line//%i/1}
    line=${line//%p/$prefix}
    line=${line//%H/$(uname -n)}
    case $line in
    *%*) die "$(basename "$1"): ExecStart= has a specifier this test does not resolve: $line" ;;
    esac
    printf '%s' "$line"
}

# The option keys a program lists in --help.
known_keys() {
    "$1" --help | sed -n 's/^  --\([^ ]*\) .*/\1/p'
}

echo "== install"
root=$tmp/root
mkdir -p "$root"
"$src/install.sh" --root "$root" --dry-run >"$tmp/dry-run.out" ||
    fail "install.sh --dry-run failed: $(cat "$tmp/dry-run.out")"
[ -z "$(ls -A "$root")" ] || fail "install.sh --dry-run changed $root: $(find "$root" -mindepth 1 | head -5)"
"$cmake" --install "$build" --prefix "$root/usr/local" >"$tmp/cmake-install.out" ||
    die "cmake --install $build failed: $(cat "$tmp/cmake-install.out")"
"$src/install.sh" --root "$root" >"$tmp/install.out" 2>&1 ||
    die "install.sh --root failed: $(cat "$tmp/install.out")"
! grep -i warning "$tmp/install.out" || fail "install.sh warned (above)"
gid=$(awk -F: '$1 == "chiso" { print $3 }' "$root/etc/group")
[ -n "$gid" ] || die "install.sh created no group chiso in $root/etc/group"
grep -q '^chiso:' "$root/etc/passwd" || fail "install.sh created no user chiso"
cmp -s "$src/sysusers.d/chiso.conf" "$root/etc/sysusers.d/chiso.conf" ||
    fail "/etc/sysusers.d/chiso.conf is not deploy/systemd/sysusers.d/chiso.conf"
for unit in "${units[@]}"; do
    installed=$root/etc/systemd/system/$(basename "$unit")
    cmp -s "$unit" "$installed" || fail "$installed differs from $unit"
    [ "$(stat -c '%a %u %g' "$installed")" = "644 0 0" ] || fail "$installed is not root:root 0644"
done
[ "$(stat -c '%a %u %g' "$root/etc/chiso")" = "750 0 $gid" ] || fail "/etc/chiso is not root:chiso 0750"
for conf in "${examples[@]}"; do
    installed=$root/etc/chiso/$(basename "$conf")
    cmp -s "$conf" "$installed" || fail "$installed differs from $conf"
    [ "$(stat -c '%a %u %g' "$installed")" = "640 0 $gid" ] || fail "$installed is not root:chiso 0640"
done
edited=$root/etc/chiso/$(basename "${examples[0]}")
echo "# edited by the operator" >>"$edited"
cp -a "$root/etc" "$tmp/etc-before"
"$src/install.sh" --root "$root" >"$tmp/install-again.out" 2>&1 ||
    die "install.sh, run again, failed: $(cat "$tmp/install-again.out")"
diff -r "$tmp/etc-before" "$root/etc" >/dev/null || fail "install.sh, run again, changed $root/etc"
! grep -E '^install.sh: (installed|made) ' "$tmp/install-again.out" || fail "install.sh, run again, reports changes (above)"
tail -1 "$edited" | grep -q 'edited by the operator' || fail "install.sh, run again, overwrote $edited"
mkdir "$tmp/opt-root"
"$src/install.sh" --root "$tmp/opt-root" --prefix /opt/chiso >"$tmp/install-opt.out" 2>&1 ||
    die "install.sh --prefix failed: $(cat "$tmp/install-opt.out")"
for unit in "${services[@]}"; do
    installed=$tmp/opt-root/etc/systemd/system/$(basename "$unit")
    grep -q '^ExecStart=/opt/chiso/bin/chiso-' "$installed" || fail "--prefix /opt/chiso: $installed does not run /opt/chiso/bin/chiso-*"
    diff <(grep -v '^ExecStart=' "$unit") <(grep -v '^ExecStart=' "$installed") >/dev/null ||
        fail "--prefix /opt/chiso changed more than ExecStart= in $installed"
done

echo "== systemd-analyze verify"
mkdir -p "$root/usr/lib/systemd"
cp -a "$system_units" "$root/usr/lib/systemd/system"
names=()
for unit in "${units[@]}"; do
    names+=("$(instance_of "$unit")")
done
if ! systemd-analyze verify --root="$root" "${names[@]}" >"$tmp/verify.out" 2>&1 || [ -s "$tmp/verify.out" ]; then
    cat "$tmp/verify.out" >&2
    fail "systemd-analyze verify --root: ${names[*]}"
fi

echo "== hardening"
# Each of these lines, exactly once in every service (README.md, "Hardening").
required=(
    "After=network-online.target"
    "Wants=network-online.target"
    "PartOf=chiso.target"
    "WantedBy=chiso.target"
    "Type=exec"
    "KillSignal=SIGTERM"
    "Restart=on-failure"
    "RestartPreventExitStatus=2"
    "User=chiso"
    "Group=chiso"
    "NoNewPrivileges=yes"
    "ProtectSystem=strict"
    "ProtectHome=yes"
    "PrivateTmp=yes"
    "PrivateDevices=yes"
    "ProtectKernelTunables=yes"
    "ProtectKernelModules=yes"
    "ProtectKernelLogs=yes"
    "ProtectControlGroups=yes"
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
    "RestrictNamespaces=yes"
    "LockPersonality=yes"
    "MemoryDenyWriteExecute=yes"
    "SystemCallArchitectures=native"
    "CapabilityBoundingSet="
)
# Each of these keys, set once with a value of the unit's choosing.
chosen=(TimeoutStopSec RestartSec StartLimitIntervalSec StartLimitBurst)
for unit in "${services[@]}"; do
    name=$(basename "$unit")
    for line in "${required[@]}"; do
        key=${line%%=*}
        if [ "$(grep -c "^$key=" "$unit")" -ne 1 ] || ! grep -qxF "$line" "$unit"; then
            fail "$name: needs exactly one '$line'"
        fi
    done
    for key in "${chosen[@]}"; do
        [ "$(grep -c "^$key=." "$unit")" -eq 1 ] || fail "$name: needs exactly one $key="
    done
    instance=$(instance_of "$unit")
    if systemd-analyze security --offline=yes --root="$root" --threshold="$MAX_EXPOSURE" "$instance" \
        >"$tmp/security.out" 2>&1; then
        tail -1 "$tmp/security.out"
    else
        grep -v '✓' "$tmp/security.out" >&2
        fail "$instance: exposure above $MAX_EXPOSURE tenths (systemd-analyze security)"
    fi
done

echo "== configuration keys"
declare -A read_by # example file -> its program
for unit in "${services[@]}"; do
    command_line=$(exec_start "$unit")
    read -ra argv <<<"$command_line"
    for ((i = 1; i < ${#argv[@]}; i++)); do
        [ "${argv[i]}" = -c ] || continue
        example=$src/etc/chiso/$(basename "${argv[i + 1]}")
        [ -f "$example" ] || fail "$(basename "$unit") reads ${argv[i + 1]}: no $example"
        read_by[$example]=$root${argv[0]}
    done
done
for conf in "${examples[@]}"; do
    program=${read_by[$conf]:-}
    if [ -z "$program" ]; then
        fail "$conf is read by no unit"
        continue
    fi
    if [ ! -x "$program" ]; then
        fail "$(basename "$conf"): its unit runs ${program#"$root"}, which cmake --install did not install"
        continue
    fi
    known=$(known_keys "$program")
    [ -n "$known" ] || die "$program --help lists no option"
    while read -r key; do
        case $key in
        kafka.?*) ;;
        *) grep -qxF "$key" <<<"$known" || fail "$(basename "$conf"): '$key' is not an option of $(basename "$program")" ;;
        esac
    done < <(sed -nE 's/^[[:space:]]*([^#[:space:]][^=]*[^=[:space:]])[[:space:]]*=.*/\1/p;
                      s/^#[[:space:]]*([a-z][a-z0-9_.-]*)[[:space:]]*=[[:space:]].*/\1/p' "$conf")
done

echo "== the programs accept their configuration"
# Kafka and Redis at closed ports, the metrics servers off: a program that
# accepts its configuration waits for them; one that refuses it exits 2.
nowhere=(--brokers 127.0.0.1:1 --redis.host 127.0.0.1 --redis.port 1)
started=()
for unit in "${services[@]}"; do
    command_line=$(exec_start "$unit")
    read -ra argv <<<"$command_line"
    for ((i = 0; i < ${#argv[@]}; i++)); do
        case ${argv[i]} in /*) argv[i]=$root${argv[i]} ;; esac
    done
    name=$(instance_of "$unit")
    if [ ! -x "${argv[0]}" ]; then
        fail "$name: runs ${argv[0]#"$root"}, which cmake --install did not install"
        continue
    fi
    off=()
    ! known_keys "${argv[0]}" | grep -qx metrics.port || off=(--metrics.port 0)
    "${argv[@]}" "${nowhere[@]}" "${off[@]}" >"$tmp/$name.log" 2>&1 &
    pids+=($!)
    started+=("$name")
done
sleep "$RUN_WINDOW_S"
for i in "${!pids[@]}"; do
    name=${started[i]}
    if kill -0 "${pids[i]}" 2>/dev/null; then
        echo "$name: accepted its configuration (waiting for Kafka and Redis)"
        { kill -KILL "${pids[i]}" && wait "${pids[i]}"; } 2>/dev/null || true
        continue
    fi
    status=0
    wait "${pids[i]}" || status=$?
    if [ "$status" -eq 2 ]; then
        cat "$tmp/$name.log" >&2
        fail "$name: the program refused its configuration (exit 2)"
    else
        echo "$name: exited $status within ${RUN_WINDOW_S} s, not on its configuration"
    fi
done

if [ "$failures" -ne 0 ]; then
    echo "test_systemd: $failures failure(s)" >&2
    exit 1
fi
echo "test_systemd: ok"
