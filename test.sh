#!/usr/bin/env bash
# test.sh: build chiso and run every test (unit, fuzz, end-to-end against a
# real local Kafka and Redis). This is the one command to run before pushing;
# CI runs it too (.ci/run).
#
#   ./test.sh                      deps, configure build/, build, ctest
#   ./test.sh --sanitize           same in build-asan/ with ASan + UBSan
#   ./test.sh --build-dir DIR      build in DIR instead (--no-deps: skip apt)
#   ./test.sh -DCHISO_E2E=OFF      extra arguments go to cmake's configure
#   ./test.sh -- -L unit -j2       arguments after -- go to ctest
#
# Exit status is ctest's (or the failing step's, if it never got there).
set -euo pipefail
cd "$(dirname "$0")"

usage() { sed -n '2,13s/^# \{0,1\}//p' "$0"; }

BUILD_DIR=build
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
CTEST_ARGS=()
DEPS=1
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --sanitize) BUILD_DIR=build-asan; CMAKE_ARGS+=(-DCHISO_SANITIZE=ON); shift ;;
    --build-dir) [ $# -ge 2 ] || { echo "test.sh: --build-dir needs a value" >&2; exit 2; }
        BUILD_DIR=$2; shift 2 ;;
    --no-deps) DEPS=0; shift ;;
    --) shift; CTEST_ARGS=("$@"); break ;;
    *) CMAKE_ARGS+=("$1"); shift ;;
    esac
done

step() { printf '==> %s\n' "$*" >&2; }

if [ "$DEPS" = 1 ]; then
    step "dependencies (deploy/local/deps.sh)"
    deploy/local/deps.sh
fi

step "configure $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" "${CMAKE_ARGS[@]}"

step "build $BUILD_DIR"
cmake --build "$BUILD_DIR" -j2

if ! grep -q '^CHISO_E2E:BOOL=OFF' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    step "Kafka jars (deploy/local/kafka.sh install)"
    deploy/local/kafka.sh install
fi

step "ctest $BUILD_DIR"
rc=0
ctest --test-dir "$BUILD_DIR" --output-on-failure "${CTEST_ARGS[@]}" || rc=$?
exit "$rc"
