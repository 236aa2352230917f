#!/usr/bin/env bash
# Does the production image start? Builds what the Dockerfile's final stage copies and
# runs it against a fresh PostgreSQL database until /readyz answers: with `docker build`
# and `docker run` where a Docker daemon answers, else in a fresh virtual environment in
# a temporary directory (scripts/check_image.py says how). Needs PostgreSQL on
# 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379, like the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" scripts/check_image.py "$@"
