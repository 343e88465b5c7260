"""The example config's provider channels are real: uncommented, each one builds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from notifyd import config, plugins

ROOT = Path(__file__).resolve().parents[2]


def examples() -> dict[str, dict]:
    text = (ROOT / "config/notifyd.example.toml").read_text(encoding="utf-8")
    block = text.split("# BEGIN CHANNEL EXAMPLES\n")[1].split("# END CHANNEL EXAMPLES")[0]
    lines = [re.sub(r"^# ?", "", line) for line in block.splitlines()]
    return tomllib.loads("\n".join(line for line in lines if not line.startswith("#")))["channels"]


@pytest.mark.parametrize("name", sorted(examples()))
def test_every_documented_channel_builds_from_its_example(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("WHATSAPP_TOKEN", "WHATSAPP_VERIFY_TOKEN", "WAHA_API_KEY", "WAHA_HMAC_KEY",
                "TWILIO_AUTH_TOKEN", "SMS_GATEWAY_KEY"):  # fmt: skip
        monkeypatch.setenv(var, "x")
    monkeypatch.setenv("APPRISE_URL", "json://127.0.0.1:9/json")
    (tmp_path / "whatsapp-app-secret").write_text("s")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    data = examples()[name]
    cfg = config.parse({"state_dir": str(tmp_path), "channels": {name: data}})
    plugin = plugins.channel_plugins(plugins.make_manager())[data["plugin"]]
    channel = plugin.create(name, cfg.channels[name].options, cfg)
    assert channel.name == name


def test_every_channel_plugin_is_found_through_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    found = {ep.name for ep in entry_points(group="notifyd")}
    names = {"whatsapp-cloud", "waha", "twilio-sms", "http-sms", "twilio-call", "apprise"}
    assert names <= found
    assert names <= set(plugins.channel_plugins(plugins.make_manager()))


def test_the_sandbox_demo_config_passes_check_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from notifyd.cli.main import main

    for var in ("SANDBOX_WA_TOKEN", "SANDBOX_WA_APP_SECRET", "SANDBOX_WA_VERIFY",
                "SANDBOX_TWILIO_TOKEN"):  # fmt: skip
        monkeypatch.setenv(var, "x")
    monkeypatch.setenv("NOTIFYD_URL_SECRET", "0123456789abcdef" * 2)
    assert main(["check-config", "-c", str(ROOT / "config/notifyd.sandbox.toml")]) == 0
    assert "channels: whatsapp, sms, call" in capsys.readouterr().out
