#!/usr/bin/env bash
# test_powerloss.sh with classify committing every 8 s and Redis's disk
# copied just after a commit: the first power loss (2-4 s later) brings
# Redis back with writes past the last commit,
# whose class changes were in the transaction classify then aborts. They
# must be consumed and told again, not skipped from Redis's marker (the
# class changes' check of chiso-verify fails otherwise).
E2E_COMMIT_MS=8000 exec bash "$(dirname "$0")/test_powerloss.sh"
