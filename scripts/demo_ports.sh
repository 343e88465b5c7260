#!/usr/bin/env bash
# The demo's ports, as settings: NOTIFYD_DEMO_PORT (notifyd's web app, default 8787),
# NOTIFYD_SANDBOX_PORT (the provider sandbox, default 8788) and NOTIFYD_CONSOLE_PORT (the staff
# console, default 8790). Sourced by demo.sh: checks they are free (a busy one names the
# variable to change) and sets NOTIFYD_CONFIG to the sandbox config with those ports
# (config/notifyd.sandbox.local.toml when they are not the defaults).
# Run on its own, it prints the config it chose.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
NOTIFYD_DEMO_PORT=${NOTIFYD_DEMO_PORT:-8787}
NOTIFYD_SANDBOX_PORT=${NOTIFYD_SANDBOX_PORT:-8788}
NOTIFYD_CONSOLE_PORT=${NOTIFYD_CONSOLE_PORT:-8790}
for var in NOTIFYD_DEMO_PORT NOTIFYD_SANDBOX_PORT NOTIFYD_CONSOLE_PORT; do
  port=${!var}
  if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    echo "$var=$port is not a port number (1-65535)" >&2
    exit 1
  fi
  if $PY -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port))!=0)"; then
    echo "port $port on 127.0.0.1 is in use by another program: stop it, or run the demo on" \
         "another port, e.g. $var=$((port + 10)) bash scripts/demo.sh" >&2
    exit 1
  fi
done
if [ "$NOTIFYD_DEMO_PORT" = 8787 ] && [ "$NOTIFYD_SANDBOX_PORT" = 8788 ] \
    && [ "$NOTIFYD_CONSOLE_PORT" = 8790 ]; then
  NOTIFYD_CONFIG=config/notifyd.sandbox.toml
else
  NOTIFYD_CONFIG=config/notifyd.sandbox.local.toml
  sed -e "s/127\.0\.0\.1:8787/127.0.0.1:$NOTIFYD_DEMO_PORT/g" \
      -e "s/127\.0\.0\.1:8788/127.0.0.1:$NOTIFYD_SANDBOX_PORT/g" \
      config/notifyd.sandbox.toml > "$NOTIFYD_CONFIG"
  printf '\n[console]\nlisten = "127.0.0.1:%s"\n' "$NOTIFYD_CONSOLE_PORT" >> "$NOTIFYD_CONFIG"
fi
export NOTIFYD_CONFIG NOTIFYD_DEMO_PORT NOTIFYD_SANDBOX_PORT NOTIFYD_CONSOLE_PORT
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "$NOTIFYD_CONFIG"
fi
