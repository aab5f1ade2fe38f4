#!/bin/sh
# domain_deps.sh BINARY...: none of the binaries (the domain's unit tests)
# may load librdkafka, hiredis or libmicrohttpd: the domain is pure
# (docs/architecture.md, "Map").
set -eu
[ $# -gt 0 ] || { echo "lint.domain: no binary given" >&2; exit 1; }
bad=0
for bin in "$@"; do
    if ldd "$bin" | grep -E 'librdkafka|libhiredis|libmicrohttpd'; then
        echo "lint.domain: $bin loads an adapter library (above)" >&2
        bad=1
    fi
done
[ "$bad" = 0 ] && echo "lint.domain: $# domain test binaries, none loads librdkafka, hiredis or libmicrohttpd"
exit "$bad"
