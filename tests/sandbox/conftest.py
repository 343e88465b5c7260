"""Fixtures for driving the sandbox with Twilio's SDK, pywa and a real browser."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import browser  # noqa: F401  (the shared browser fixture)
from twins import PywaInbox, close, pywa_client, twilio_client

SHARED = Path(__file__).parent.parent / "conftest.py"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    """pytest imports every conftest.py outside a package as the module `conftest`, so loading
    this one evicts tests/conftest.py from sys.modules; put it back before test modules load,
    so that `from conftest import …` (here and in tests/) keeps meaning the shared helpers."""
    shared = parent.config.pluginmanager.get_plugin(str(SHARED))
    if shared is not None:
        sys.modules["conftest"] = shared


@pytest.fixture
def twilio(sandbox: Any) -> Iterator[Any]:
    client = twilio_client(sandbox)
    yield client
    close(client)


@pytest.fixture
def wa(sandbox: Any) -> Iterator[Any]:
    client = pywa_client(sandbox)
    yield client
    close(client)


@pytest.fixture
def inbox(wa: Any, receiver: Any) -> PywaInbox:
    """pywa receives the sandbox's WhatsApp webhooks (receiver's /hooks/whatsapp)."""
    box = PywaInbox(wa)
    receiver.handlers["whatsapp"] = box
    return box
