"""sd_notify must never stall the daemon: a listener that reads nothing fills its queue (ten
datagrams by default on Linux), and a blocking send would then hold the event loop, SIGTERM
included."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from notifyd.service.sdnotify import notify


def test_a_full_queue_drops_the_message_instead_of_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))  # bound, never read
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        results: list[bool] = []
        sender = threading.Thread(
            target=lambda: results.extend(notify("WATCHDOG=1") for _ in range(200)), daemon=True
        )
        sender.start()
        sender.join(timeout=30)
        assert not sender.is_alive(), "notify() blocked on a full queue"
        assert results[0] is True and results[-1] is False  # the first arrived, later ones dropped
        assert listener.recv(100) == b"WATCHDOG=1"


def test_without_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False
