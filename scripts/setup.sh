#!/usr/bin/env bash
# Sets up notifyd from a clone: Debian packages (when root), a virtualenv in .venv, notifyd in it,
# and a sample registry dated from today. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# What each Debian package is for. Required: python3 with venv and pip, ffmpeg and espeak-ng (the
# voice notes), openssl (the e-mail STARTTLS test's certificate). Optional: systemd (systemd-analyze
# checks the unit file), chromium (the browser tests), nodejs and npm (axe-core, the console's
# accessibility checks); without them those tests are skipped or fail with a message naming the package.
REQUIRED=""
OPTIONAL=""
command -v python3 >/dev/null && python3 -c 'import ensurepip, venv' 2>/dev/null \
    || REQUIRED="$REQUIRED python3 python3-venv python3-pip"
command -v ffmpeg >/dev/null || REQUIRED="$REQUIRED ffmpeg"
command -v espeak-ng >/dev/null || REQUIRED="$REQUIRED espeak-ng"
# OGG/Opus voice notes use the system's libopus (ffmpeg brings it; named in case it does not)
libs=$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)
case "$libs" in *libopus.so.0*) ;; *) REQUIRED="$REQUIRED libopus0" ;; esac
command -v openssl >/dev/null || REQUIRED="$REQUIRED openssl"
command -v systemd-analyze >/dev/null || OPTIONAL="$OPTIONAL systemd"
command -v chromium >/dev/null || OPTIONAL="$OPTIONAL chromium"
command -v npm >/dev/null || OPTIONAL="$OPTIONAL nodejs npm"

# One apt-get run for everything missing, as root; otherwise the exact command to run.
if [ -n "$REQUIRED$OPTIONAL" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "setup: installing Debian packages:$REQUIRED$OPTIONAL" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $REQUIRED $OPTIONAL >/dev/null
    elif [ -n "$REQUIRED" ]; then
        echo "setup: some system packages are missing. Run this once, then this command again:" >&2
        echo "  sudo apt-get install -y$REQUIRED$OPTIONAL" >&2
        exit 1
    else
        echo "setup: optional packages are missing (the unit-file, browser and accessibility" \
            "tests need them): sudo apt-get install -y$OPTIONAL" >&2
    fi
fi

if command -v npm >/dev/null && [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
    npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@4
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

if [ ! -f config/registry.sample.csv ]; then
    .venv/bin/python scripts/make_sample_registry.py -o config/registry.sample.csv
fi
