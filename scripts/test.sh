#!/usr/bin/env bash
# The README's test command: set up, lint, and run the whole test suite.
# PostgreSQL tests run when NOTIFYD_TEST_POSTGRES_URL names a server (then they must pass).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# The tests are shared out one by one among processes, one per core (NOTIFYD_TEST_PROCESSES to
# change it, 0 for one process); a file marked xdist_group, whose tests share a costly
# module-scoped server or a file, stays in one process.
.venv/bin/python -m pytest -n "${NOTIFYD_TEST_PROCESSES:-auto}" --dist loadgroup "$@"
