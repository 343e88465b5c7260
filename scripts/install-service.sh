#!/usr/bin/env bash
# Installs notifyd as a systemd service, from this clone. Run as root; safe to run again (it
# upgrades the code and keeps an existing config and credentials).
#   - a system user and group `notifyd` (no login, no home);
#   - a virtualenv in /opt/notifyd/venv with notifyd installed in it;
#   - /etc/notifyd/notifyd.toml from the example config (only if there is none yet) and
#     /etc/notifyd/credentials for secrets;
#   - /etc/systemd/system/notifyd.service, enabled (not started: write the config first).
# Variables: PREFIX (default /opt/notifyd), CONFDIR (default /etc/notifyd),
# UNITDIR (default /etc/systemd/system), EXTRAS (pip extras, default "postgresql").
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/opt/notifyd}
CONFDIR=${CONFDIR:-/etc/notifyd}
UNITDIR=${UNITDIR:-/etc/systemd/system}
EXTRAS=${EXTRAS:-postgresql}

if [ "$(id -u)" -ne 0 ]; then
    echo "install-service: run this as root (sudo bash scripts/install-service.sh)" >&2
    exit 1
fi
for tool in python3 ffmpeg espeak-ng; do
    if ! command -v "$tool" >/dev/null; then
        echo "install-service: $tool is missing; run scripts/setup.sh as root first" >&2
        exit 1
    fi
done

if ! getent group notifyd >/dev/null; then
    groupadd --system notifyd
fi
if ! getent passwd notifyd >/dev/null; then
    useradd --system --gid notifyd --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "notifyd daemon" notifyd
fi

install -d -m 0755 "$PREFIX"
if [ ! -x "$PREFIX/venv/bin/python" ]; then
    python3 -m venv "$PREFIX/venv"
fi
"$PREFIX/venv/bin/python" -m pip install --quiet --upgrade pip
"$PREFIX/venv/bin/python" -m pip install --quiet --upgrade ".[$EXTRAS]"

install -d -m 0750 -o root -g notifyd "$CONFDIR"
install -d -m 0700 -o root -g root "$CONFDIR/credentials"
if [ ! -f "$CONFDIR/notifyd.toml" ]; then
    # The service's state directory, written out so that staff commands find the same database.
    sed 's|^# state_dir = .*|state_dir = "/var/lib/notifyd"|' config/notifyd.example.toml \
        > "$CONFDIR/notifyd.toml"
    chown root:notifyd "$CONFDIR/notifyd.toml"
    chmod 0640 "$CONFDIR/notifyd.toml"
    created_config=yes
fi

# The unit carries this install's folders: the program, the config and its credentials.
bash scripts/render-unit.sh "$PREFIX" "$CONFDIR" > "$UNITDIR/notifyd.service.new"
chmod 0644 "$UNITDIR/notifyd.service.new"
mv "$UNITDIR/notifyd.service.new" "$UNITDIR/notifyd.service"
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable notifyd.service
    running=yes
fi

cat <<NEXT
notifyd is installed in $PREFIX/venv; its unit is $UNITDIR/notifyd.service.
Next:
  1. Edit $CONFDIR/notifyd.toml${created_config:+ (copied from the example)}: the registry
     export's path, your office, the channels. Each secret goes in its own file,
     $CONFDIR/credentials/NAME (mode 0600), and is written "credential:NAME" in the config.
  2. Check it:   sudo -u notifyd $PREFIX/venv/bin/notifyd check-config -c $CONFDIR/notifyd.toml
  3. Start it:   systemctl start notifyd   (then: systemctl status notifyd; journalctl -u notifyd -f)
  4. Staff use, as the service's user so that files stay its own:
                 sudo -u notifyd $PREFIX/venv/bin/notifyd status -c $CONFDIR/notifyd.toml
NEXT
if [ -z "${running:-}" ]; then
    echo "(systemd is not running here: enable it later with systemctl enable --now notifyd)"
fi
