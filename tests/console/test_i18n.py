"""Every message of the console's pages has its Indonesian translation, compiled at start."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from notifyd.console import i18n

ROOT = Path(__file__).resolve().parents[2]


def _catalog_script():  # scripts/ is not a package: load the module from its file
    spec = importlib.util.spec_from_file_location(
        "console_catalog", ROOT / "scripts" / "console_catalog.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Words Indonesian borrows unchanged.
SAME_IN_INDONESIAN = {"admin", "Admin", "supervisor", "Status"}


def test_every_message_has_an_indonesian_translation() -> None:
    messages = _catalog_script().messages()
    missing = [m for m in messages if i18n.gettext("id", m) == m and m not in SAME_IN_INDONESIAN]
    assert len(messages) > 50 and missing == []


def test_english_shows_the_messages_themselves() -> None:
    assert i18n.gettext("en", "Needs attention") == "Needs attention"
    assert i18n.gettext("id", "Needs attention") == "Perlu perhatian"
