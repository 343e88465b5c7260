"""E-mail channel (`email`): the notice's words as the body, its voice note attached as OGG
(Opus) and MP3, sent over SMTP with aiosmtplib (async: the event loop is never blocked).

Security: STARTTLS on 587 by default, implicit TLS on 465, or none (a relay on loopback only).
The server's refusal of a recipient with a 5xx code is permanent (the next channel is tried),
a 4xx or a lost connection before the message went is transient, and a connection lost while
the message was being handed over is an unknown outcome. The provider id is the Message-ID.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib

from notifyd.config import Config
from notifyd.errors import ConfigError, OutcomeUnknown
from notifyd.hookspecs import (
    Channel,
    ChannelPlugin,
    Message,
    PermanentSendError,
    TransientSendError,
    hookimpl,
)
from notifyd_plugins.httpclient import Options

OPTIONS = {
    "host", "port", "security", "username", "password", "from", "from_name", "subject",
    "timeout", "cafile",
}  # fmt: skip
PORTS = {"starttls": 587, "tls": 465, "none": 25}
#: A subject from the notice's fields (docs/plugins.md lists them); the default below.
SUBJECT = "{permit_type} {permit}: {expiry}"


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class SmtpChannel:
    audio_format: str | None = "ogg"

    def __init__(self, name: str, opts: Options) -> None:
        self.name = name
        self.host = opts.string("host", example='"smtp.kantor.go.id"')
        self.security = opts.string("security", "starttls")
        if self.security not in PORTS:
            raise ConfigError(
                opts.key("security"), f"{self.security!r} is not a choice",
                'use "starttls" (port 587), "tls" (port 465) or "none" (a relay on loopback)',
            )  # fmt: skip
        self.port = int(opts.number("port", PORTS[self.security], 1, 65535))
        self.username = opts.string("username", "")
        self.password = opts.secret("password", required=bool(self.username))
        self.sender = opts.string("from", example='"notifikasi@kantor.go.id"')
        if "@" not in self.sender:
            raise ConfigError(opts.key("from"), f"{self.sender!r} is not an address", "e.g. a@b.id")
        self.sender_name = opts.string("from_name", "")
        self.subject = opts.string("subject", SUBJECT)
        self.timeout = opts.number("timeout", 30, 1, 300)
        cafile = opts.string("cafile", "")
        self.tls_context = ssl.create_default_context(cafile=cafile or None)

    def compose(self, message: Message, mp3: bytes | None) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = formataddr((self.sender_name, self.sender))
        mail["To"] = message.to
        subject = self.subject.format_map(_Fields(message.fields)).strip(" :")
        mail["Subject"] = subject or message.text.splitlines()[0][:78]
        mail["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[1])
        mail["Content-Language"] = message.language
        mail["X-Notifyd-Attempt"] = str(message.attempt_id)
        mail.set_content(message.text)
        if message.audio is not None:
            stem = f"notice-{message.notification_id}"
            mail.add_attachment(
                message.audio.read_bytes(), maintype="audio", subtype="ogg",
                filename=f"{stem}.ogg",
            )  # fmt: skip
            if mp3 is not None:
                mail.add_attachment(mp3, maintype="audio", subtype="mpeg", filename=f"{stem}.mp3")
        return mail

    async def send(self, message: Message) -> str:
        if not message.to:
            raise PermanentSendError("no e-mail address")
        mp3 = await to_mp3(message.audio) if message.audio is not None else None
        mail = self.compose(message, mp3)
        smtp = aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self.timeout,
            use_tls=self.security == "tls", start_tls=self.security == "starttls",
            tls_context=self.tls_context,
        )  # fmt: skip
        try:
            await self._handover(smtp, mail)
        finally:
            await _close(smtp)
        return str(mail["Message-ID"])

    async def _handover(self, smtp: aiosmtplib.SMTP, mail: EmailMessage) -> None:
        try:
            await smtp.connect()
            if self.username:
                await smtp.login(self.username, self.password)
        except aiosmtplib.SMTPResponseException as exc:
            raise TransientSendError(f"SMTP server {self.host}: {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientSendError(f"cannot reach SMTP server {self.host}: {exc}") from exc
        try:
            await smtp.send_message(mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _answer(exc.recipients[0]) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _answer(exc) from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            raise OutcomeUnknown(f"SMTP server {self.host} went away mid-send: {exc}") from exc


async def _close(smtp: aiosmtplib.SMTP) -> None:
    """QUIT politely when the server still listens; drop the connection in any case."""
    if smtp.is_connected:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
    smtp.close()


def _answer(exc: aiosmtplib.SMTPResponseException) -> Exception:
    """5xx: the server refuses for good (no such mailbox, rejected); 4xx: try again later."""
    reason = f"SMTP {exc.code} {exc.message}".strip()
    if 500 <= exc.code < 600:
        return PermanentSendError(reason)
    return TransientSendError(reason)


async def to_mp3(ogg: Path) -> bytes | None:
    """The voice note as MP3 too, for mail programs that do not play Opus; None if ffmpeg
    cannot make it (the OGG still goes)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "note.mp3"
        proc = await asyncio.create_subprocess_exec(
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(ogg),
            "-ac", "1", "-b:a", "48k", str(out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await proc.communicate()
        return out.read_bytes() if proc.returncode == 0 and out.exists() else None


class SmtpPlugin:
    name = "email"

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return SmtpChannel(name, Options(name, options, OPTIONS))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [SmtpPlugin()]
