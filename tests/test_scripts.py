"""The demo's ports are settings (scripts/demo_ports.sh, sourced by scripts/demo.sh)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import free_port
from notifyd import config

# One process runs this file's tests: they write the same file, config/notifyd.sandbox.local.toml
# (scripts/test.sh shares the rest of the suite out test by test).
pytestmark = pytest.mark.xdist_group("test_scripts")

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "config" / "notifyd.sandbox.local.toml"


def ports(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo_ports.sh")],
        env={**os.environ, "PY": sys.executable, **env}, capture_output=True, text=True,
    )  # fmt: skip


@pytest.fixture
def busy() -> Iterator[int]:
    """A port another program listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s.getsockname()[1]
    s.close()


@pytest.mark.parametrize("var", ["NOTIFYD_DEMO_PORT", "NOTIFYD_SANDBOX_PORT"])
def test_a_busy_port_names_the_variable_to_change(busy: int, var: str) -> None:
    other = "NOTIFYD_SANDBOX_PORT" if var == "NOTIFYD_DEMO_PORT" else "NOTIFYD_DEMO_PORT"
    result = ports({var: str(busy), other: str(free_port())})
    assert result.returncode == 1
    assert f"port {busy} on 127.0.0.1 is in use" in result.stderr
    assert f"{var}={busy + 10} bash scripts/demo.sh" in result.stderr


def test_other_ports_give_a_sandbox_config_that_uses_them() -> None:
    web, sandbox = free_port(), free_port()
    try:
        result = ports({"NOTIFYD_DEMO_PORT": str(web), "NOTIFYD_SANDBOX_PORT": str(sandbox)})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "config/notifyd.sandbox.local.toml"
        cfg = config.load(LOCAL)
        assert cfg.http.listen == f"127.0.0.1:{web}"
        options = [ch.options for ch in cfg.channels.values()]
        assert {o["base_url"] for o in options if "base_url" in o} == {
            f"http://127.0.0.1:{sandbox}"
        }
        assert f"http://127.0.0.1:{web}/hooks/sms" in {o.get("status_callback") for o in options}
        assert "8787" not in LOCAL.read_text() and "8788" not in LOCAL.read_text()
    finally:
        LOCAL.unlink(missing_ok=True)


def test_a_port_that_is_not_a_number_is_refused() -> None:
    result = ports({"NOTIFYD_DEMO_PORT": "web"})
    assert result.returncode == 1 and "NOTIFYD_DEMO_PORT=web is not a port number" in result.stderr
