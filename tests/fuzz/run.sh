#!/bin/sh
# run.sh SRC_DIR BUILD_DIR [SECONDS]
#
# Short fuzz runs from a normal (gcc) build: configure a separate clang build
# of the project in BUILD_DIR with CHISO_FUZZ=ON, build every fuzz target
# (the custom target chiso_fuzz_all: one per tests/fuzz/fuzz_*.c) and run
# each one for SECONDS (default 15) through its ctest test fuzz.<name>.
# Fails, never skips, when clang (with libFuzzer) is not available.
# CHISO_FUZZ_CC overrides the compiler (e.g. clang-16).
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 SRC_DIR BUILD_DIR [SECONDS]" >&2
    exit 2
fi
src=$1
bin=$2
secs=${3:-15}
cc=${CHISO_FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz: FAIL: '$cc' not found. Fuzzing needs clang with libFuzzer" \
         "(Debian: apt-get install clang), or set CHISO_FUZZ_CC." >&2
    exit 1
fi

echo "fuzz: configuring $bin with $cc" >&2
mkdir -p "$bin"
cmake -S "$src" -B "$bin" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCHISO_FUZZ=ON -DCHISO_E2E=OFF -DCHISO_SANITIZE=OFF \
      -DCHISO_FUZZ_SECONDS="$secs" >"$bin/configure.log" 2>&1 || {
    cat "$bin/configure.log" >&2
    echo "fuzz: FAIL: configuring the clang fuzz build failed" >&2
    exit 1
}
cmake --build "$bin" -j2 --target chiso_fuzz_all || {
    echo "fuzz: FAIL: building the fuzz targets failed (is libFuzzer installed?)" >&2
    exit 1
}
cd "$bin"
exec ctest -R '^fuzz\.' --output-on-failure --no-tests=error
