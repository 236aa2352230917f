#!/usr/bin/env bash
# The whole test suite: lint, types, then pytest against SQLite and PostgreSQL with the
# real Redis, then the API suites once more with the response cache off. Creates .venv and
# builds the dashboard (web/, needs Node.js 20+) on first use. Extra arguments go to pytest
# (and skip the second pass). pytest runs on every core (pytest-xdist; TEST_WORKERS=N to
# choose, 0 for one process), a whole file per worker: module fixtures start once.
set -euo pipefail
cd "$(dirname "$0")/.."
# .venv from the lock files (requirements-test.txt, hashes checked), again when they change.
./scripts/venv.sh --test
# The browser tests drive the built dashboard: build it when missing or out of date.
./scripts/build-dashboard.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
XDIST=(-n "${TEST_WORKERS:-auto}" --dist loadfile --no-loadscope-reorder)
.venv/bin/pytest "${XDIST[@]}" "$@"
# The API suites again with the response cache off (the default is on): no answer may
# depend on it. Skipped when pytest arguments pick tests.
if [ $# -eq 0 ]; then
  RESPONSE_CACHE_ENABLED=false .venv/bin/pytest "${XDIST[@]}" -q tests/acceptance tests/authz \
    tests/members tests/test_accounts.py tests/test_platform.py
fi
