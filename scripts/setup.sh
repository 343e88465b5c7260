#!/usr/bin/env bash
# Sets up notifyd from a clone: Debian packages (when root), a virtualenv in .venv, notifyd in it,
# and a sample registry dated from today. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="python3 python3-venv python3-pip ffmpeg espeak-ng"
need_packages() {
    ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null \
        || ! command -v ffmpeg >/dev/null || ! command -v espeak-ng >/dev/null
}
if need_packages; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "setup: installing Debian packages: $PACKAGES" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
    else
        echo "setup: some system packages are missing. Run this once, then this command again:" >&2
        echo "  sudo apt-get install -y $PACKAGES" >&2
        exit 1
    fi
fi

# systemd-analyze checks the unit file in the tests (tests/service/test_systemd.py); optional otherwise.
if ! command -v systemd-analyze >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "setup: installing the Debian package systemd (for systemd-analyze)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends systemd >/dev/null
    else
        echo "setup: systemd-analyze is missing; the unit-file tests will be skipped" \
            "(sudo apt-get install -y systemd)" >&2
    fi
fi

# Chromium drives the browser tests of the sandbox's page (tests/browser.py); optional otherwise.
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "setup: installing the Debian package chromium (for the browser tests)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends chromium >/dev/null
    else
        echo "setup: chromium is missing; the browser tests will be skipped" \
            "(sudo apt-get install -y chromium)" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

if [ ! -f config/registry.sample.csv ]; then
    .venv/bin/python scripts/make_sample_registry.py -o config/registry.sample.csv
fi
