#!/usr/bin/env bash
# The README's run command: set up, start the provider sandbox (a local fake of WhatsApp Cloud,
# Twilio SMS and Twilio calls, on loopback) and notifyd on config/notifyd.sandbox.toml against a
# sample registry dated from today, with an all-day window. The notices due today go out within
# seconds: WhatsApp templates, SMS, a phone call; the sandbox fails a few numbers on purpose
# (not on WhatsApp, a refused SMS, a late failure, one person unreachable) so that fallbacks and
# failures show; receipts come back; one person taps "Listen" and gets the voice note. Then
# `notifyd log` shows it all. The daemon keeps running until Ctrl-C (DEMO_EXIT=1: stop there).
# Ports: NOTIFYD_DEMO_PORT (web app, 8787), NOTIFYD_SANDBOX_PORT (sandbox, 8788) and
# NOTIFYD_CONSOLE_PORT (staff console, 8790).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
N=.venv/bin/notifyd
# The ports are settings (NOTIFYD_DEMO_PORT, NOTIFYD_SANDBOX_PORT): checked free, and the
# sandbox config chosen for them (NOTIFYD_CONFIG).
source scripts/demo_ports.sh
# The sandbox's well-known dev credentials (loopback only), and a fresh secret for audio URLs.
export SANDBOX_WA_TOKEN=sandbox-token SANDBOX_WA_APP_SECRET=sandbox-app-secret
export SANDBOX_WA_VERIFY=sandbox-verify SANDBOX_TWILIO_TOKEN=sandbox-auth-token
NOTIFYD_URL_SECRET=$($PY -c 'import secrets; print(secrets.token_hex(32))')
export NOTIFYD_URL_SECRET
SANDBOX=http://127.0.0.1:$NOTIFYD_SANDBOX_PORT
WEB=http://127.0.0.1:$NOTIFYD_DEMO_PORT

# Each run starts from a fresh delivery log (the voice notes already made stay cached).
rm -f state/notifyd.db state/notifyd.db-wal state/notifyd.db-shm
$PY scripts/make_sample_registry.py -o config/registry.sample.csv
$N check-config
echo
$N sync
echo
# The staff console (127.0.0.1:$NOTIFYD_CONSOLE_PORT, started by the daemon): a demo admin with a fresh password.
DEMO_PASSWORD=$($PY -c 'import secrets; print(secrets.token_urlsafe(12))')
echo "$DEMO_PASSWORD" | $N user add demo --role admin >/dev/null
echo "Notices due in the next 15 days:"
$N upcoming --days 15
echo

# Listen before anything is sent: the voice note of the first notice due, in its person's language.
mkdir -p state
PERMIT=$($N upcoming --days 15 --format json \
    | $PY -c 'import json, sys; print(json.load(sys.stdin)[0]["permit"])')
echo "The notice of permit $PERMIT, as its voice note (state/demo-note.ogg) says it:"
$N render --permit "$PERMIT" -o state/demo-note.ogg
echo

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 0' INT TERM

faults=()
while read -r rule; do faults+=(--fault "$rule"); done < <($PY scripts/demo_sandbox.py faults -c "$NOTIFYD_CONFIG")
echo "Starting the provider sandbox on $SANDBOX (its log: state/sandbox.log); failure rules:"
printf '  %s\n' "${faults[@]}" | grep -v -- '--fault' || true
$N sandbox --listen "127.0.0.1:$NOTIFYD_SANDBOX_PORT" --callback-url "$WEB/hooks" \
  --callback-delay 0.5 "${faults[@]}" >state/sandbox.log 2>&1 &
pids+=($!)
echo "Starting the daemon (its log: state/notifyd.log); web app on $WEB"
$N run >state/notifyd.log 2>&1 &
daemon=$!
pids+=($daemon)
$PY scripts/demo_sandbox.py play -c "$NOTIFYD_CONFIG" --sandbox "$SANDBOX"
echo
echo "The delivery log (notifyd log):"
$N log --since 1d
echo
echo "What the sandbox received: $SANDBOX/_sandbox/requests; its callbacks: $SANDBOX/_sandbox/callbacks"
echo
echo "The staff console: http://127.0.0.1:$NOTIFYD_CONSOLE_PORT/  user: demo  password: $DEMO_PASSWORD"
if [ "${DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
echo "The daemon keeps running (Ctrl-C stops it and the sandbox)."
wait "$daemon"
