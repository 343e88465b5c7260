"""The e-mail channel against a real SMTP server (aiosmtpd) the test starts on loopback."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import SmtpServer, channel, probe
from notifyd.errors import ConfigError, PermanentSendError, TransientSendError
from notifyd.hookspecs import Message

# One process runs this file's tests: they share a module-scoped server or fixture that
# is costly to start (scripts/test.sh shares the rest of the suite out test by test).
pytestmark = pytest.mark.xdist_group("test_email")


def options(server_port: int, **more: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": server_port, "security": "none",
            "from": "notifikasi@kanim-blitar.go.id", "from_name": "Kantor Imigrasi Blitar",
            **more}  # fmt: skip


def message(to: str, audio: Path | None, **more: Any) -> Message:
    fields = {"permit_type": "ITAS", "permit": "2C11AB0001-26", "expiry": "18 Desember 2026"}
    return Message(
        notification_id=7, to=to, language="id", attempt_id=42, audio=audio, fields=fields,
        text="Izin tinggal Anda berakhir 18 Desember 2026.\nKantor Imigrasi Blitar", **more,
    )  # fmt: skip


def test_the_notice_goes_with_its_voice_note_as_ogg_and_mp3(
    smtp_server: SmtpServer, tiny_ogg: Path, tmp_path: Path
) -> None:
    ch = channel("email", "email", options(smtp_server.port), tmp_path)
    assert ch.audio_format == "ogg"
    provider_id = asyncio.run(ch.send(message("wang.wei@example.cn", tiny_ogg)))
    ((rcpt, mail),) = smtp_server.messages
    assert rcpt == ["wang.wei@example.cn"]
    assert mail["Message-ID"] == provider_id and provider_id.endswith("@kanim-blitar.go.id>")
    assert mail["Subject"] == "ITAS 2C11AB0001-26: 18 Desember 2026"
    assert mail["From"] == "Kantor Imigrasi Blitar <notifikasi@kanim-blitar.go.id>"
    assert mail["X-Notifyd-Attempt"] == "42"
    assert "berakhir 18 Desember 2026" in mail.get_body(("plain",)).get_content()
    parts = {p.get_filename(): p for p in mail.iter_attachments()}
    assert set(parts) == {"notice-7.ogg", "notice-7.mp3"}
    assert parts["notice-7.ogg"].get_content() == tiny_ogg.read_bytes()
    mp3 = tmp_path / "got.mp3"
    mp3.write_bytes(parts["notice-7.mp3"].get_content())
    info = probe(mp3)
    assert (info["codec"], info["channels"]) == ("mp3", 1)
    assert 0.3 < info["duration"] < 1.0  # the half-second note, not silence or a stub


def test_a_recipient_the_server_refuses_is_a_permanent_failure(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    ch = channel("email", "email", options(smtp_server.port), tmp_path)
    with pytest.raises(PermanentSendError, match="SMTP 550 5.1.1"):
        asyncio.run(ch.send(message("refused@example.com", None)))
    assert smtp_server.refused == ["refused@example.com"] and smtp_server.messages == []


def test_a_server_that_is_not_there_is_transient(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    ch = channel("email", "email", options(port, timeout=2), tmp_path)
    with pytest.raises(TransientSendError, match="cannot reach SMTP server 127.0.0.1"):
        asyncio.run(ch.send(message("a@example.com", None)))


def test_a_server_asking_to_come_back_later_is_transient(tmp_path: Path) -> None:
    server = SmtpServer()

    async def busy(*args: Any) -> str:
        return "451 4.3.0 try again later"

    server.handle_DATA = busy  # type: ignore[method-assign]
    server.controller.start()
    try:
        ch = channel("email", "email", options(server.port), tmp_path)
        with pytest.raises(TransientSendError, match="SMTP 451"):
            asyncio.run(ch.send(message("a@example.com", None)))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_starttls_with_login_by_credential_reference(
    certificate: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        logins.append((auth.login, auth.password))
        return AuthResult(success=auth.password == b"s3cret")

    server = SmtpServer(
        tls_context=context, require_starttls=True, authenticator=authenticate,
        auth_require_tls=True,
    )  # fmt: skip
    server.controller.start()
    monkeypatch.setenv("NOTIFYD_T_SMTP", "s3cret")
    try:
        opts = options(server.port, security="starttls", username="notifyd",
                       password="env:NOTIFYD_T_SMTP", cafile=str(cert))  # fmt: skip
        ch = channel("email", "email", opts, tmp_path)
        asyncio.run(ch.send(message("ivan@example.ru", None)))
        assert logins == [(b"notifyd", b"s3cret")]
        assert len(server.messages) == 1
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("opts", "key"),
    [
        ({"security": "ssl"}, "channels.email.options.security"),
        ({"from": "nobody"}, "channels.email.options.from"),
        ({"username": "u"}, "channels.email.options.password"),
        ({"username": "u", "password": "hunter2"}, "channels.email.options.password"),
        ({"smtp_host": "x"}, "channels.email.options.smtp_host"),
    ],
)
def test_bad_options_name_their_key(opts: dict[str, Any], key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        channel("email", "email", options(25, **opts), tmp_path)
    assert info.value.key == key
