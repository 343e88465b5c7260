"""The Apprise bridge: text and voice note to an Apprise json:// URL served by the sandbox."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from conftest import channel, ogg_voice_note, sandbox_call
from notifyd.errors import ConfigError, TransientSendError
from notifyd.hookspecs import Message


def make(sandbox: Any, tmp_path: Path, **overrides: Any) -> Any:
    url = sandbox.url.replace("http://", "json://") + "/json/notify"
    return channel(
        "apprise", "apprise", {"urls": [url], "title": "Imigrasi Blitar", **overrides}, tmp_path
    )


def send(ch: Any, message: Message) -> str:
    return str(asyncio.run(ch.send(message)))


def test_the_text_and_the_voice_note_arrive_through_apprise(sandbox: Any, tmp_path: Path) -> None:
    audio = ogg_voice_note(tmp_path / "n.ogg")
    send(make(sandbox, tmp_path), Message(4, "", "id", "Izin tinggal Anda berakhir.", audio))
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=json")
    assert req["body"]["message"] == "Izin tinggal Anda berakhir."
    assert req["body"]["title"] == "Imigrasi Blitar"
    (attachment,) = req["attachments_raw"]
    assert attachment["filename"] == "n.ogg"
    assert base64.b64decode(attachment["base64"]) == audio.read_bytes()


def test_a_refusal_is_transient_and_carries_what_apprise_logged(
    sandbox: Any, tmp_path: Path
) -> None:
    sandbox_call(
        sandbox, "POST", "/_sandbox/faults", {"provider": "json", "kind": "http", "status": 503}
    )
    with pytest.raises(TransientSendError, match="Apprise could not notify: .*503"):
        send(make(sandbox, tmp_path), Message(4, "", "id", "teks"))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"urls": []}, "channels.apprise.options.urls"),
        ({"urls": ["nonsense"]}, "channels.apprise.options.urls[0]"),
        ({"audio_format": "flac"}, "channels.apprise.options.audio_format"),
    ],
)
def test_bad_options_name_their_key(
    sandbox: Any, tmp_path: Path, change: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        make(sandbox, tmp_path, **change)
    assert info.value.key == key
