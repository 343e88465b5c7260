"""What the admin's pause page offers: all sending, each channel, and each office only when
the deployment serves several (the browser tests drive the page itself, in test_app.py)."""

from __future__ import annotations

from pathlib import Path

from conftest import config_dict
from notifyd import config
from notifyd.console.admin import _scopes


def test_offices_are_offered_only_when_there_are_several(tmp_path: Path) -> None:
    one = config.parse(config_dict(tmp_path / "r.csv"))
    assert _scopes(one) == {"*": "all sending", "whatsapp": "channel whatsapp",
                            "sms": "channel sms"}  # fmt: skip
    offices = {"BLT": {"name": "Blitar", "timezone": "Asia/Jakarta"},
               "SBY": {"name": "Surabaya", "timezone": "Asia/Jakarta"}}  # fmt: skip
    two = config.parse(config_dict(tmp_path / "r.csv", offices=offices))
    assert _scopes(two)["office:SBY"] == "office SBY (Surabaya)" and len(_scopes(two)) == 5
