#!/usr/bin/env bash
# The README's run command: set up, then run notifyd on the embedded defaults (SQLite in ./state,
# the spool channel) against a sample registry dated from today, with an all-day window. The
# daemon runs in the foreground and sends the notices due today within seconds (they appear in
# state/spool/); Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/make_sample_registry.py -o config/registry.sample.csv
export NOTIFYD_CONFIG=config/notifyd.demo.toml
.venv/bin/notifyd check-config
echo
.venv/bin/notifyd sync
echo
echo "Notices due in the next 15 days:"
.venv/bin/notifyd upcoming --days 15
echo
# Listen before anything is sent: the voice note of the first notice due, in its person's language.
PERMIT=$(.venv/bin/notifyd upcoming --days 15 --format json \
    | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)[0]["permit"])')
echo "The notice of permit $PERMIT, as its voice note (state/demo-note.ogg) says it:"
.venv/bin/notifyd render --permit "$PERMIT" -o state/demo-note.ogg
echo
echo "Starting the daemon (Ctrl-C to stop). Notices due today go to state/spool/ within seconds."
exec .venv/bin/notifyd run
