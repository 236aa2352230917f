#!/usr/bin/env bash
# Make .venv match the lock: `venv.sh` installs requirements.txt (what the service runs
# on), `venv.sh --test` requirements-test.txt (plus the test and bench extras), each with
# hash checking, then the project itself, editable and without dependencies. It does the
# work only when the lock or pyproject.toml changed since the last install (a stamp in
# .venv holds their checksum); the test lock satisfies the runtime one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
lock=requirements.txt
[ "${1:-}" = --test ] && lock=requirements-test.txt
stamp_of() { cat "$1" pyproject.toml | sha256sum | cut -d' ' -f1; }
want=$(stamp_of "$lock")
have=$(cat .venv/.installed 2>/dev/null || true)
if [ -x .venv/bin/collab ] && { [ "$have" = "$want" ] ||
  { [ "$lock" = requirements.txt ] && [ "$have" = "$(stamp_of requirements-test.txt)" ]; }; }; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
# setuptools comes from the lock too, so no unpinned build environment is fetched.
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
echo "$want" > .venv/.installed
