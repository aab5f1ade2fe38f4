#!/usr/bin/env bash
# test_powerloss.sh with Redis at appendfsync always (docs/operations.md):
# the disk holds every write Redis acknowledged, so a power loss loses
# nothing and classify must find nothing to replay, and stay exact.
E2E_APPENDFSYNC=always exec bash "$(dirname "$0")/test_powerloss.sh"
