#!/usr/bin/env bash
# The README's test command: set up, lint, and run the whole test suite.
# PostgreSQL tests run when NOTIFYD_TEST_POSTGRES_URL names a server (then they must pass).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
