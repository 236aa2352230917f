#!/usr/bin/env bash
# Build the dashboard (web/ -> web/dist) when it is missing or older than its sources.
# Refreshes web/schema.graphql from `collab schema` first (only when it changed), so an
# API change that breaks an operation fails here, in GraphQL Code Generator or tsc.
# Needs Node.js 20+ and npm (without them: a warning, and the dashboard's browser tests
# skip; a failure under COLLAB_REQUIRE_SERVICES=1). `--force` rebuilds regardless.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
  echo "build-dashboard: npm not found; install Node.js 20+ to build the dashboard (web/)." >&2
  # Without it the dashboard's browser tests skip; CI (COLLAB_REQUIRE_SERVICES=1) needs them.
  [ "${COLLAB_REQUIRE_SERVICES:-}" = 1 ] && exit 1
  exit 0
fi
if [ -x .venv/bin/collab ]; then
  .venv/bin/collab schema > web/.schema.graphql.new
  if cmp -s web/.schema.graphql.new web/schema.graphql; then rm web/.schema.graphql.new
  else mv web/.schema.graphql.new web/schema.graphql; fi
fi
cd web
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
stale=yes
if [ "${1:-}" != "--force" ] && [ -f dist/.built ]; then
  newer=$(find src index.html graphiql.html package.json package-lock.json schema.graphql \
    vite.config.ts codegen.ts tsconfig.json -newer dist/.built -print -quit)
  [ -z "$newer" ] && stale=no
fi
if [ "$stale" = yes ]; then
  npm run --silent build
  touch dist/.built
fi
