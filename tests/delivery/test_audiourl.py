"""Audio URL tokens without HTTP: what a token binds, and the secret it needs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from conftest import FRIDAY_MORNING
from notifyd import config
from notifyd.delivery import audiourl
from notifyd.errors import ConfigError

NOW = FRIDAY_MORNING
KEY = b"k" * 32


def cfg(tmp_path: Path, **http: object):
    return config.parse({"state_dir": str(tmp_path), "http": http})


def test_a_token_names_its_file_and_expires(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    token = audiourl.make_token(KEY, "ab/call.wav", int((NOW + timedelta(seconds=30)).timestamp()))
    assert audiourl.check(c, KEY, token, NOW) == (tmp_path / "audio" / "ab" / "call.wav").resolve()
    with pytest.raises(audiourl.Refused) as info:
        audiourl.check(c, KEY, token, NOW + timedelta(seconds=30))
    assert info.value.status == 410
    with pytest.raises(audiourl.Refused) as info:
        audiourl.check(c, b"another-key-0123456789", token, NOW)
    assert info.value.status == 403


def test_the_url_uses_the_public_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("URL_SECRET", "x" * 32)
    c = cfg(tmp_path, public_url="https://notifyd.example.org/", url_secret="env:URL_SECRET")
    url = audiourl.audio_url(c, tmp_path / "audio" / "n1.wav", NOW)
    assert url.startswith("https://notifyd.example.org/audio/")
    token = url.rsplit("/", 1)[1]
    assert audiourl.check(c, b"x" * 32, token, NOW + timedelta(seconds=3599)).name == "n1.wav"


@pytest.mark.parametrize(
    ("secret", "env", "problem"),
    [("", None, "is not set"), ("env:URL_SECRET", None, "is not set"),
     ("env:URL_SECRET", "short", "shorter than 16")],
)  # fmt: skip
def test_audio_urls_need_a_real_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str, env: str | None, problem: str
) -> None:
    monkeypatch.delenv("URL_SECRET", raising=False)
    if env is not None:
        monkeypatch.setenv("URL_SECRET", env)
    with pytest.raises(ConfigError, match=problem) as info:
        audiourl.audio_url(cfg(tmp_path, url_secret=secret), tmp_path / "audio" / "a.ogg", NOW)
    assert info.value.key == "http.url_secret"


@pytest.mark.parametrize(
    ("name", "ctype"),
    [
        ("a.ogg", "audio/ogg"),
        ("a.MP3", "audio/mpeg"),
        ("a.wav", "audio/wav"),
        ("a.bin", "application/octet-stream"),
    ],
)
def test_content_types(name: str, ctype: str) -> None:
    assert audiourl.content_type(Path(name)) == ctype
