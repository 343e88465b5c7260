"""The config file's sections as frozen dataclasses, with their defaults and the fixed lists they
refer to (languages, channel kinds, registry columns)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("/etc/notifyd/notifyd.toml")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


CANONICAL_COLUMNS = (
    "registry_id", "full_name", "nationality", "passport_number", "permit_type",
    "permit_number", "expiry_date", "phone", "whatsapp", "language", "channels",
    "opted_out", "office", "email",
)  # fmt: skip


REQUIRED_COLUMNS = frozenset(
    {"registry_id", "full_name", "nationality", "permit_number", "expiry_date"}
)


CHANNEL_KINDS = ("whatsapp", "sms", "call", "email", "other")


#: The languages notices are written in, in order of how many stay-permit holders need them.
LANGUAGES = (
    "id", "en", "zh", "zh-TW", "ja", "ko", "ar", "ru", "fr", "de", "hi", "ms",
    "fil", "nl", "it", "vi", "th", "pt", "es", "tr", "uk",
)  # fmt: skip

#: Tags people and registries write that mean one of LANGUAGES (Babel's form: script, region).
LANGUAGE_ALIASES = {
    "zh-Hant": "zh-TW", "zh-Hant-TW": "zh-TW", "zh-Hant-HK": "zh-TW", "zh-Hant-MO": "zh-TW",
    "zh-HK": "zh-TW", "zh-MO": "zh-TW", "zh-Hans": "zh", "zh-Hans-CN": "zh", "zh-CN": "zh",
    "tl": "fil", "pt-BR": "pt", "pt-PT": "pt",
}  # fmt: skip

#: Nationality → notice language where a country's first official language is not the one its
#: people read notices in, or has no template (Babel's list decides the rest). The config's
#: languages.by_nationality comes first.
NATIONALITY_LANGUAGES = {
    "CN": "zh", "TW": "zh-TW", "HK": "zh-TW", "MO": "zh-TW", "SG": "en", "PH": "fil",
    "NL": "nl", "BE": "nl", "SR": "nl", "IT": "it", "SM": "it", "VN": "vi", "TH": "th",
    "PT": "pt", "BR": "pt", "TL": "pt", "AO": "pt", "MZ": "pt", "ES": "es", "TR": "tr",
    "UA": "uk", "MY": "ms", "BN": "ms",
    # Spanish-speaking Latin America
    "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es", "VE": "es", "EC": "es",
    "BO": "es", "PY": "es", "UY": "es", "CR": "es", "PA": "es", "GT": "es", "HN": "es",
    "SV": "es", "NI": "es", "CU": "es", "DO": "es", "PR": "es",
}  # fmt: skip

#: What the holder of a permit type must do before expiry (see docs/languages.md):
#: "sponsor" (the sponsor applies for the extension), "self" (the holder applies),
#: "none" (it cannot be extended).
EXTENSION_KINDS = ("sponsor", "self", "none")


@dataclass(frozen=True)
class Window:
    """A daily send window in the office's local time; `end` None means midnight (24:00)."""

    start: time
    end: time | None

    def __str__(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


@dataclass(frozen=True)
class OfficeConfig:
    name: str = ""
    timezone: str = "Asia/Jakarta"
    window: str = "09:00-17:00"
    weekend: list[str] = field(default_factory=lambda: ["sat", "sun"])
    holidays_country: str = "ID"
    holidays_subdiv: str = ""
    closed: list[str] = field(default_factory=list)
    address: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    #: The office's town as the notices name it ("Blitar"): spoken as "the immigration office
    #: in Blitar" in each language, never the Indonesian name or the address.
    city: str = ""


@dataclass(frozen=True)
class NoticesConfig:
    """The legal facts the notices state; defaults follow UU 6/2011 Pasal 78 and PP 45/2024
    (docs/languages.md). One set for every office: the law is national."""

    #: Rupiah charged per person per day of overstay (biaya beban).
    overstay_charge_per_day: int = 1_000_000
    #: Overstay beyond this many days leads to deportation and an entry ban (Pasal 78(3)).
    overstay_limit_days: int = 60
    #: Permit type (as the registry writes it, or a kind such as E23) → who extends it.
    extension: dict[str, str] = field(
        default_factory=lambda: {"ITAP": "self", "KITAP": "self", "ITK": "self"}
    )
    #: For permit types not listed in `extension`.
    extension_default: str = "sponsor"


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""
    password: str = ""


@dataclass(frozen=True)
class RegistryConfig:
    source: str = "csv"
    path: str = ""
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    url: str = ""
    query: str = ""
    date_formats: list[str] = field(default_factory=lambda: ["%d/%m/%Y", "%d-%m-%Y"])
    default_region: str = "ID"
    default_office: str = ""
    max_drop_share: float = 0.2
    schedule: str = "0 6 * * *"
    #: field → a header (str), several headers joined (list, or {columns, join}) or a constant
    #: ({value}); see column_spec in checks.py.
    columns: dict[str, Any] = field(default_factory=dict)
    nationality_aliases: dict[str, str] = field(default_factory=dict)
    #: A cell longer than this rejects its row (Python's csv stops at 131,072 by itself).
    max_field_chars: int = 131_072
    #: Registry ids equal to the row numbers are refused unless the office says they are its own.
    sequential_ids_ok: bool = False
    #: Share of known registry ids whose name and passport may change in one sync.
    max_identity_change_share: float = 0.2
    #: A channel that reaches fewer than this share of people is warned about.
    min_channel_share: float = 0.5


@dataclass(frozen=True)
class PlannerConfig:
    stages: list[int] = field(default_factory=lambda: [14, 7, 0])
    min_gap_days: int = 2
    closed_day: str = "previous"


@dataclass(frozen=True)
class LanguagesConfig:
    available: list[str] = field(default_factory=lambda: list(LANGUAGES))
    default: str = "en"
    by_nationality: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelConfig:
    plugin: str = ""
    kind: str = "other"
    options: dict[str, Any] = field(default_factory=dict)
    rate_per_second: float = 0.0  # token bucket refill; 0 means no limit
    burst: int = 1  # token bucket size
    concurrency: int = 4  # sends in flight at once on this channel
    #: How long a send of unknown outcome waits for its receipt before it may be sent again;
    #: 0 means dispatch.reconcile_seconds.
    reconcile_seconds: float = 0.0


@dataclass(frozen=True)
class DispatchConfig:
    """The dispatcher's clock, batches, leases and retry policy (see notifyd.delivery.dispatch)."""

    tick_seconds: float = 5.0
    batch_size: int = 200
    lease_seconds: float = 300.0
    send_timeout: float = 30.0
    concurrency: int = 32
    max_attempts: int = 5  # per channel, then the next channel
    backoff_base: float = 30.0
    backoff_cap: float = 3600.0
    jitter: bool = True  # full jitter; false only to make retry times predictable in tests
    paused_recheck_seconds: float = 60.0
    shutdown_grace: float = 20.0
    #: A send of unknown outcome (timeout after the request left, a crash mid-send) waits
    #: this long for its receipt, and the provider's lookup where there is one, before it
    #: is sent again; never past the stage's deadline.
    reconcile_seconds: float = 300.0
    #: Receipts that came before their send was recorded are kept this long.
    early_receipt_ttl: float = 86400.0
    #: Notices for the same phone number (families share phones) are spaced by this much.
    same_phone_interval: float = 600.0


@dataclass(frozen=True)
class PilotConfig:
    enabled: bool = False
    allowlist: list[str] = field(default_factory=list)  # E.164 numbers


#: edge-tts voices per language (Microsoft's names); any of them can be chosen in config.
DEFAULT_EDGE_VOICES = {
    "id": "id-ID-GadisNeural", "en": "en-GB-SoniaNeural", "zh": "zh-CN-XiaoxiaoNeural",
    "zh-TW": "zh-TW-HsiaoChenNeural", "yue": "zh-HK-HiuGaaiNeural", "ja": "ja-JP-NanamiNeural",
    "ko": "ko-KR-SunHiNeural", "ar": "ar-SA-ZariyahNeural", "ru": "ru-RU-SvetlanaNeural",
    "fr": "fr-FR-DeniseNeural", "de": "de-DE-KatjaNeural", "hi": "hi-IN-SwaraNeural",
    "ms": "ms-MY-YasminNeural", "fil": "fil-PH-BlessicaNeural", "nl": "nl-NL-ColetteNeural",
    "it": "it-IT-ElsaNeural", "vi": "vi-VN-HoaiMyNeural", "th": "th-TH-PremwadeeNeural",
    "pt": "pt-PT-RaquelNeural", "es": "es-ES-ElviraNeural", "tr": "tr-TR-EmelNeural",
    "uk": "uk-UA-PolinaNeural",
}  # fmt: skip


AUDIO_FORMATS = ("ogg", "mp3", "wav")


@dataclass(frozen=True)
class VoicesConfig:
    """How notices are worded and spoken; see the [voices] section of the example config."""

    #: Tried in this order; an engine that does not speak a language is skipped for it (open-jtalk
    #: speaks only Japanese, espeak-ng no Japanese, Thai or Filipino).
    engines: list[str] = field(default_factory=lambda: ["edge-tts", "open-jtalk", "espeak-ng"])
    engines_by_language: dict[str, list[str]] = field(default_factory=dict)
    #: engine name → language → voice name; unset languages use the engine's own default.
    names: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"edge-tts": dict(DEFAULT_EDGE_VOICES)}
    )
    #: Seconds an online engine (edge-tts) may take for one part of a note: it may hang.
    engine_timeout: float = 5.0
    #: Seconds an offline engine (Open JTalk, espeak-ng) may take: it runs here and is slow only
    #: on a busy host, and it is often the last voice for its language.
    offline_timeout: float = 60.0
    bilingual: bool = False
    templates_dir: str = ""
    sms_max_segments: int = 10
    max_seconds: float = 90.0
    audio_retention_days: int = 30
    opus_bitrate_kbps: int = 24
    opus_compression_level: int = 0


@dataclass(frozen=True)
class RetentionConfig:
    #: Days after a permit's expiry (or its leaving the registry) before its holder's name,
    #: numbers and audio are purged.
    days: int = 90
    #: When the daemon purges (cron, in the first office's time zone): nightly by default.
    schedule: str = "30 2 * * *"
    #: Folders (relative to state_dir) of cached audio: files unused for `days` are deleted.
    audio_dirs: list[str] = field(default_factory=lambda: ["audio"])


@dataclass(frozen=True)
class MetricsConfig:
    #: Prometheus metrics port; 0 turns them off.
    port: int = 0
    #: Loopback only: the metrics are not meant for the network.
    address: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpConfig:
    """notifyd's web app: provider webhooks, audio URLs for calls, health."""

    listen: str = "127.0.0.1:8787"
    public_url: str = ""
    trust_proxy: bool = False
    url_secret: str = ""
    audio_ttl_seconds: int = 3600
    #: Connections open at once; past it the oldest idle one is closed for the newcomer.
    max_connections: int = 256
    #: Seconds a connection may take to send a request's headers (or sit idle between them).
    header_timeout: float = 10.0
    #: Seconds a request may take to send its body.
    body_timeout: float = 10.0


@dataclass(frozen=True)
class ConsoleConfig:
    """The staff console: its own listener, for the office network, never the webhook one."""

    #: Where the console listens; "" runs the daemon without it (several instances on one
    #: host: one serves the console, or `notifyd console` does on its own).
    listen: str = "127.0.0.1:8790"
    #: Minutes without a request after which a session ends.
    idle_minutes: int = 30
    #: Cookies marked Secure: set it when the console is behind the office's HTTPS proxy.
    https: bool = False
    #: Take the browser's address from X-Forwarded-For, as the office's HTTPS proxy sets it.
    trust_proxy: bool = False
    #: "id" (Indonesian) or "en": the language of the pages until a user picks the other.
    language: str = "id"
    #: A send with no receipt for this long is listed under "needs attention".
    unconfirmed_hours: int = 6
    #: A channel is "failing" on Today when its last `failing_streak` attempts all failed, or
    #: when in the last hour at least `failing_min` attempts were made and the share of them
    #: that failed is `failing_share` or more.
    failing_streak: int = 5
    failing_share: float = 0.5
    failing_min: int = 10


@dataclass(frozen=True)
class Config:
    state_dir: str = ""
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    languages: LanguagesConfig = field(default_factory=LanguagesConfig)
    offices: dict[str, OfficeConfig] = field(default_factory=dict)
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    channel_order: list[str] = field(default_factory=list)
    disabled_plugins: list[str] = field(default_factory=list)
    voices: VoicesConfig = field(default_factory=VoicesConfig)
    notices: NoticesConfig = field(default_factory=NoticesConfig)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    pilot: PilotConfig = field(default_factory=PilotConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    #: The daemon's log level (debug, info, warning, error); `notifyd run --log-level` wins.
    log_level: str = "info"
    #: Where the file was read from; relative paths in it are read from its folder.
    source_path: str = ""

    def office(self, code: str) -> OfficeConfig:
        return self.offices[code]

    def resolve_path(self, value: str) -> Path:
        path = Path(os.path.expanduser(value))
        if path.is_absolute() or not self.source_path:
            return path
        return Path(self.source_path).parent / path
