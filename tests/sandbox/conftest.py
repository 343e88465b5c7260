"""Fixtures for driving the sandbox with Twilio's SDK, pywa and a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser import browser  # noqa: F401  (the shared browser fixture)
from twins import PywaInbox, close, pywa_client, twilio_client


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
