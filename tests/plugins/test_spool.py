"""The spool channel: notices written to a folder, for offices without a provider."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from notifyd import config, plugins
from notifyd.errors import ConfigError
from notifyd.hookspecs import Message


def spool(tmp_path: Path, **options: object):
    cfg = config.parse({"state_dir": str(tmp_path / "state")})
    return plugins.channel_plugins(plugins.make_manager())["spool"].create("sms", options, cfg)


def test_a_notice_is_written_as_text_audio_and_a_json_record(tmp_path: Path) -> None:
    audio = tmp_path / "note.ogg"
    audio.write_bytes(b"OggS fake audio")
    channel = spool(tmp_path, dir=str(tmp_path / "out"))
    message = Message(7, "+6281234567890", "id", "Izin tinggal Anda berakhir.", audio)
    provider_id = asyncio.run(channel.send(message))
    folder = tmp_path / "out"
    assert provider_id == "7-sms"
    assert (folder / "7-sms.txt").read_text(encoding="utf-8") == message.text
    assert (folder / "7-sms.ogg").read_bytes() == b"OggS fake audio"
    record = json.loads((folder / "7-sms.json").read_text(encoding="utf-8"))
    assert record == {
        "to": "+6281234567890", "language": "id", "channel": "sms", "notification_id": 7,
        "attempt_id": 0, "audio": "7-sms.ogg", "text": "7-sms.txt",
    }  # fmt: skip
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # personal data: the owner's only
    assert {stat.S_IMODE(f.stat().st_mode) for f in folder.iterdir()} == {0o600}
    assert sorted(f.name for f in folder.iterdir()) == ["7-sms.json", "7-sms.ogg", "7-sms.txt"]


def test_without_a_folder_notices_go_under_the_state_directory(tmp_path: Path) -> None:
    channel = spool(tmp_path)
    asyncio.run(channel.send(Message(1, "+6281234567890", "en", "Your permit expires.")))
    assert (tmp_path / "state" / "spool" / "sms" / "1-sms.txt").exists()


def test_an_unknown_option_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        spool(tmp_path, folder="/tmp/x")
    assert info.value.key == "channels.sms.options.folder"
