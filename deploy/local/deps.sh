#!/usr/bin/env bash
# deps.sh: install, with apt-get, what building and testing chiso needs on a
# Debian 12 machine. Idempotent: only missing packages are installed, and
# `apt-get update` runs only when something is missing. Works as root, or
# through sudo.
set -euo pipefail

CHISO_COMPONENT=deps
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PACKAGES=(
    # build
    build-essential cmake pkg-config
    librdkafka-dev libhiredis-dev libcjson-dev libmicrohttpd-dev libcurl4-openssl-dev
    # fuzzing, sanitizers, formatting, leak checks
    clang libclang-rt-14-dev clang-format valgrind
    # local stack: Redis, Kafka (a JVM; jars come through Maven), kcat
    redis-server redis-tools kcat default-jre-headless maven curl
    # test scripts
    python3 python3-jsonschema python3-yaml
    # the deployment files' checks: systemd-analyze, promtool and Prometheus
    systemd prometheus
    # the wall's browser test: Debian's Chromium driven by playwright-core
    # (npm registry); npm comes with nodejs from NodeSource, or Debian's npm
    chromium nodejs npm
)

usage() {
    cat <<EOF
usage: $(basename "$0") [--check] [-h|--help]

Installs (apt-get, only what is missing) the packages chiso needs:
  ${PACKAGES[*]}

  --check     list missing packages and exit 1 if any; install nothing
EOF
}

CHECK=0
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --check) CHECK=1; shift ;;
    *) chiso_die "unknown argument '$1' (see --help)" ;;
    esac
done

if [ "$CHECK" = 1 ]; then
    missing=()
    for pkg in "${PACKAGES[@]}"; do
        chiso_pkg_present "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        chiso_log "missing: ${missing[*]}"
        exit 1
    fi
    chiso_log "all ${#PACKAGES[@]} packages present"
    exit 0
fi

chiso_apt_ensure "${PACKAGES[@]}"
chiso_log "all ${#PACKAGES[@]} packages present"
