#!/usr/bin/env bash
# Write the lock files from pyproject.toml, with every artifact's hash (pip-compile):
#   requirements.txt       what the service runs on (the Docker image installs exactly this)
#   requirements-test.txt  the same versions plus the test and bench extras and the build
#                          backend (scripts/test.sh and .ci/run install this)
# then reinstall .venv from the test lock. Without arguments, pins that still satisfy
# pyproject.toml are kept (after adding a dependency); `--upgrade` takes the newest releases
# pyproject.toml allows, `--upgrade-package NAME` (repeatable) just those. Afterwards run
# ./scripts/test.sh: the guard tests say what an upgrade broke. pip-tools itself lives in
# .venv/lock-tools, pinned here, so the output does not depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP_TOOLS=pip-tools==7.7.0
TOOLS=.venv/lock-tools
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --upgrade) args+=(--upgrade); shift ;;
    --upgrade-package) args+=(--upgrade-package "$2"); shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | cut -c3-; exit 0 ;;
    *) echo "lock.sh: unknown option $1 (--upgrade, --upgrade-package NAME)" >&2; exit 2 ;;
  esac
done
if [ ! -x "$TOOLS/bin/pip-compile" ]; then
  "$PY" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install --quiet "$PIP_TOOLS"
fi
compile=("$TOOLS/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras
  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --newline LF
)
export CUSTOM_COMPILE_COMMAND=scripts/lock.sh
# The test lock first: it holds every package, so the runtime lock is cut from it and
# the two can never disagree on a version.
"${compile[@]}" "${args[@]}" --extra test --extra bench --all-build-deps \
  --output-file requirements-test.txt pyproject.toml
"${compile[@]}" --upgrade --constraint requirements-test.txt --all-build-deps \
  --output-file requirements.txt pyproject.toml
./scripts/venv.sh --test
