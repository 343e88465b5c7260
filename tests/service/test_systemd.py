"""The unit file: systemd-analyze verifies it and rates its exposure at 2.5 or lower."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "notifyd.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is not installed (scripts/setup.sh installs it when run as root)",
)


def directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def installed(tmp_path: Path, text: str | None = None) -> Path:
    """The unit as install-service.sh writes it, with ExecStart= at this environment's
    notifyd (verify fails when the program does not exist)."""
    notifyd = Path(sys.executable).parent / "notifyd"
    assert notifyd.exists(), "pip install -e . puts the notifyd script beside python"
    unit = tmp_path / "notifyd.service"
    body = text if text is not None else UNIT.read_text()
    unit.write_text(re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={notifyd}", body))
    return unit


def exposure(unit: Path) -> tuple[int, float]:
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--threshold=25", "--no-pager", str(unit)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert m, result.stdout + result.stderr
    return result.returncode, float(m.group(1))


def test_the_unit_has_what_the_daemon_relies_on() -> None:
    d = directives(UNIT.read_text())
    assert d["Type"] == ["notify"] and d["NotifyAccess"] == ["main"]
    assert d["ExecStart"] == ["/opt/notifyd/venv/bin/notifyd run"]
    assert d["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert d["Restart"] == ["on-failure"] and int(d["WatchdogSec"][0]) > 0
    assert int(d["TimeoutStopSec"][0]) > 0
    assert d["User"] == ["notifyd"] and d["StateDirectory"] == ["notifyd"]
    assert d["ConfigurationDirectory"] == ["notifyd"]
    assert d["LoadCredential"] == ["notifyd:/etc/notifyd/credentials"]
    assert d["ProtectSystem"] == ["strict"] and d["NoNewPrivileges"] == ["yes"]
    assert d["PrivateTmp"] == ["yes"] and d["CapabilityBoundingSet"] == [""]
    assert "AF_INET" in d["RestrictAddressFamilies"][0] and d["SystemCallFilter"]


@needs_analyze
def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", str(installed(tmp_path))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "notifyd.service" not in result.stderr  # no warning about our unit either


@needs_analyze
def test_the_exposure_is_rated_at_most_2_5(tmp_path: Path) -> None:
    code, level = exposure(installed(tmp_path))
    assert code == 0 and level <= 2.5


@needs_analyze
def test_an_unhardened_unit_fails_the_same_check(tmp_path: Path) -> None:
    bare = "[Service]\nType=notify\nExecStart=/opt/notifyd/venv/bin/notifyd run\n"
    code, level = exposure(installed(tmp_path, bare))
    assert code != 0 and level > 2.5


def test_the_install_script_parses_as_bash() -> None:
    script = ROOT / "scripts" / "install-service.sh"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def render_unit(prefix: str, confdir: str) -> str:
    script = ROOT / "scripts" / "render-unit.sh"
    return subprocess.run(
        ["bash", str(script), prefix, confdir], capture_output=True, text=True, check=True
    ).stdout


def test_the_install_folders_reach_the_unit_it_writes(tmp_path: Path) -> None:
    d = directives(render_unit("/srv/office/app", "/srv/office/notifyd"))
    assert d["ExecStart"] == ["/srv/office/app/venv/bin/notifyd run"]
    assert d["Environment"] == ["NOTIFYD_CONFIG=/srv/office/notifyd/notifyd.toml"]
    assert d["LoadCredential"] == ["notifyd:/srv/office/notifyd/credentials"]
    assert "ConfigurationDirectory" not in d  # systemd only makes those under /etc
    text = render_unit("/opt/notifyd", "/etc/notifyd-kanim")
    assert directives(text)["ConfigurationDirectory"] == ["notifyd-kanim"]
    unit = installed(tmp_path, text)
    result = subprocess.run(
        [ANALYZE, "verify", "--man=no", str(unit)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_default_install_writes_the_unit_as_shipped() -> None:
    rendered = render_unit("/opt/notifyd", "/etc/notifyd")
    assert rendered == UNIT.read_text()


def test_the_descriptor_limit_covers_the_default_listener_and_sends() -> None:
    """The unit's syscall filter denies setrlimit (@resources), so LimitNOFILE must already
    cover what the default config needs: the listener's bound, the sends, the reserve."""
    from notifyd.config import Config
    from notifyd.web.limits import descriptors_needed

    d = directives(UNIT.read_text())
    assert int(d["LimitNOFILE"][0]) >= descriptors_needed(Config())
