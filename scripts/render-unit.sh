#!/usr/bin/env bash
# Prints systemd/notifyd.service with the folders of one install: the program under PREFIX,
# the config and its credentials folder under CONFDIR. install-service.sh writes its output.
# Usage: bash scripts/render-unit.sh PREFIX CONFDIR > notifyd.service
set -euo pipefail
PREFIX=${1:?usage: render-unit.sh PREFIX CONFDIR}
CONFDIR=${2:?usage: render-unit.sh PREFIX CONFDIR}
CONFDIR=${CONFDIR%/}
unit="$(dirname "$0")/../systemd/notifyd.service"
case "$CONFDIR" in
    /etc/*) confdir_rule="s#^ConfigurationDirectory=.*#ConfigurationDirectory=${CONFDIR#/etc/}#" ;;
    *) confdir_rule="/^ConfigurationDirectory/d" ;;  # systemd only makes folders under /etc
esac
sed -e "s#^ExecStart=.*#ExecStart=$PREFIX/venv/bin/notifyd run#" \
    -e "s#/etc/notifyd#$CONFDIR#g" \
    -e "$confdir_rule" \
    "$unit"
