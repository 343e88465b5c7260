"""config.py: TOML → frozen Config; every error names the exact key and says how to fix it."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from notifyd import config
from notifyd.config import Config, Window, parse_window, resolve_secret
from notifyd.db.store import database_url
from notifyd.errors import ConfigError


def config_error(data: dict[str, Any]) -> ConfigError:
    """The ConfigError that parsing `data` raises; fails the test if it parses."""
    with pytest.raises(ConfigError) as info:
        config.parse(data)
    assert info.value.fix.strip(), "every config error must say how to fix it"
    return info.value


def write(tmp_path: Path, text: str, name: str = "notifyd.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- errors that name the key and the fix ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key"),
    [
        pytest.param({"planer": {"stages": [14, 7, 0]}}, "planer", id="unknown-top-level"),
        pytest.param(
            {"offices": {"BLT": {"windw": "09:00-17:00"}}}, "offices.BLT.windw", id="unknown-office"
        ),
        pytest.param({"planner": {"min_gap": 2}}, "planner.min_gap", id="unknown-planner"),
        pytest.param(
            {"channels": {"wa": {"plugin": "spool", "optoins": {}}}},
            "channels.wa.optoins",
            id="unknown-channel",
        ),
    ],
)
def test_unknown_key_is_named_in_full(data: dict[str, Any], key: str) -> None:
    err = config_error(data)
    assert err.key == key
    assert err.problem == "unknown key"


def test_unknown_key_fix_lists_the_keys_allowed_there() -> None:
    err = config_error({"offices": {"BLT": {"windw": "09:00-17:00"}}})
    assert "window" in err.fix
    assert "timezone" in err.fix


@pytest.mark.parametrize(
    ("data", "key"),
    [
        pytest.param({"planner": {"min_gap_days": "2"}}, "planner.min_gap_days", id="str-for-int"),
        pytest.param(
            {"planner": {"min_gap_days": True}}, "planner.min_gap_days", id="bool-for-int"
        ),
        pytest.param(
            {"planner": {"min_gap_days": 2.0}}, "planner.min_gap_days", id="float-for-int"
        ),
        pytest.param({"planner": {"stages": "14,7,0"}}, "planner.stages", id="str-for-list"),
        pytest.param({"planner": {"stages": [14, "7", 0]}}, "planner.stages[1]", id="list-item"),
        pytest.param({"planner": {"stages": [14, True]}}, "planner.stages[1]", id="bool-item"),
        pytest.param({"offices": "BLT"}, "offices", id="str-for-table"),
        pytest.param({"offices": {"BLT": {"weekend": "sat"}}}, "offices.BLT.weekend", id="weekend"),
        pytest.param({"registry": {"max_drop_share": True}}, "registry.max_drop_share", id="bool"),
        pytest.param({"state_dir": 5}, "state_dir", id="int-for-str"),
    ],
)
def test_wrong_type_is_named(data: dict[str, Any], key: str) -> None:
    err = config_error(data)
    assert err.key == key
    assert err.problem.startswith("must be")


def test_a_whole_number_is_accepted_where_a_number_is_wanted() -> None:
    cfg = config.parse({"registry": {"max_drop_share": 1}})
    assert cfg.registry.max_drop_share == 1.0
    assert isinstance(cfg.registry.max_drop_share, float)


@pytest.mark.parametrize("zone", ["Asia/Jakrta", "WIB", "Mars/Olympus", "../etc/passwd", ""])
def test_unknown_time_zone(zone: str) -> None:
    err = config_error({"offices": {"BLT": {"timezone": zone}}})
    assert err.key == "offices.BLT.timezone"
    assert "Asia/Jakarta" in err.fix


@pytest.mark.parametrize(
    "window",
    [
        "17:00-09:00",  # wraps midnight
        "09:00-09:00",  # empty
        "9-17",
        "09:00",
        "09:00-17:00-18:00",
        "nine to five",
        "25:00-26:00",
        "09:00-24:30",
        "9:00-17:00",
        "",
    ],
)
def test_bad_window(window: str) -> None:
    err = config_error({"offices": {"BLT": {"window": window}}})
    assert err.key == "offices.BLT.window"
    assert "00:00-24:00" in err.fix


@pytest.mark.parametrize("window", ["09:00-17:00Z", "09:00-17:00+07:00"])
def test_window_with_a_utc_offset_is_a_config_error_not_a_crash(window: str) -> None:
    # The window is read in the office's time zone; an offset in it is garbage to report,
    # not a TypeError from comparing a naive with an aware time.
    err = config_error({"offices": {"BLT": {"window": window}}})
    assert err.key == "offices.BLT.window"


def test_all_day_window() -> None:
    window = parse_window("00:00-24:00", "offices.BLT.window")
    assert window == Window(time(0, 0), None)
    assert str(window) == "00:00-24:00"
    cfg = config.parse({"offices": {"BLT": {"window": "00:00-24:00"}}})
    assert cfg.offices["BLT"].window == "00:00-24:00"


def test_ordinary_window() -> None:
    window = parse_window("09:00-17:00", "offices.BLT.window")
    assert window == Window(time(9, 0), time(17, 0))
    assert str(window) == "09:00-17:00"


@pytest.mark.parametrize(
    ("stages", "problem"),
    [([14, 7, 7], "repeats a stage"), ([], "is empty")],
)
def test_stages_must_be_distinct_and_not_empty(stages: list[int], problem: str) -> None:
    err = config_error({"planner": {"stages": stages}})
    assert err.key == "planner.stages"
    assert problem in err.problem


@pytest.mark.parametrize(
    ("planner", "key"),
    [
        ({"min_gap_days": -1}, "planner.min_gap_days"),
        ({"closed_day": "nearest"}, "planner.closed_day"),
    ],
)
def test_planner_values(planner: dict[str, Any], key: str) -> None:
    assert config_error({"planner": planner}).key == key


@pytest.mark.parametrize(
    ("office", "key"),
    [
        ({"weekend": ["sat", "sunday"]}, "offices.BLT.weekend"),
        ({"weekend": list(config.WEEKDAYS)}, "offices.BLT.weekend"),
        ({"closed": ["2026-12-24", "24/12/2026"]}, "offices.BLT.closed[1]"),
        ({"holidays_country": "XX"}, "offices.BLT.holidays_country"),
    ],
)
def test_office_calendar_values(office: dict[str, Any], key: str) -> None:
    assert config_error({"offices": {"BLT": office}}).key == key


def test_unknown_channel_kind() -> None:
    err = config_error({"channels": {"wa": {"plugin": "spool", "kind": "pigeon"}}})
    assert err.key == "channels.wa.kind"
    assert "whatsapp" in err.fix


def test_channel_needs_a_plugin() -> None:
    assert config_error({"channels": {"wa": {"kind": "whatsapp"}}}).key == "channels.wa.plugin"


def test_channel_order_names_a_configured_channel() -> None:
    err = config_error(
        {
            "channels": {"wa": {"plugin": "spool", "kind": "whatsapp"}},
            "channel_order": ["wa", "sms"],
        }
    )
    assert err.key == "channel_order[1]"
    assert "[channels.sms]" in err.fix


def test_registry_columns_name_registry_fields() -> None:
    err = config_error({"registry": {"columns": {"full_name": "NAMA", "shoe_size": "SEPATU"}}})
    assert err.key == "registry.columns.shoe_size"
    assert "full_name" in err.fix


@pytest.mark.parametrize(
    ("registry", "key"),
    [
        ({"max_drop_share": 1.5}, "registry.max_drop_share"),
        ({"delimiter": ";;"}, "registry.delimiter"),
        ({"date_formats": ["%d/%m/%Y", "dd-mm-yyyy"]}, "registry.date_formats[1]"),
    ],
)
def test_registry_values(registry: dict[str, Any], key: str) -> None:
    assert config_error({"registry": registry}).key == key


def test_default_office_must_be_a_configured_office() -> None:
    err = config_error(
        {"offices": {"BLT": {"name": "Blitar"}}, "registry": {"default_office": "KDR"}}
    )
    assert err.key == "registry.default_office"
    assert "BLT" in err.fix


def test_default_office_must_exist_when_the_default_office_is_implicit() -> None:
    # With no [offices] the one office is "MAIN"; a default_office naming another code
    # would send every permit without an office column to an office that does not exist.
    err = config_error({"registry": {"default_office": "BLT"}})
    assert err.key == "registry.default_office"


def test_database_password_in_clear() -> None:
    err = config_error({"database": {"password": "hunter2"}})
    assert err.key == "database.password"
    assert "env:" in err.fix
    assert "credential:" in err.fix


def test_database_url_with_a_clear_password_is_refused_when_checked() -> None:
    # check-config validates with parse(): the password in the URL is in the file in clear.
    err = config_error({"database": {"url": "postgresql://notifyd:hunter2@db/notifyd"}})
    assert err.key == "database.url"


def test_database_url_with_a_clear_password_is_refused_when_used() -> None:
    cfg = Config(database=config.DatabaseConfig(url="postgresql://notifyd:hunter2@db/notifyd"))
    with pytest.raises(ConfigError) as info:
        database_url(cfg)
    assert info.value.key == "database.url"
    assert "database.password" in info.value.fix


def test_default_language_must_be_available() -> None:
    err = config_error({"languages": {"available": ["id", "en"], "default": "fr"}})
    assert err.key == "languages.default"
    assert "languages.available" in err.fix


def test_nationality_language_must_be_available() -> None:
    err = config_error(
        {"languages": {"available": ["id", "en"], "default": "en", "by_nationality": {"CN": "zh"}}}
    )
    assert err.key == "languages.by_nationality.CN"


def test_nationality_must_be_a_country_code() -> None:
    err = config_error({"languages": {"by_nationality": {"China": "zh"}}})
    assert err.key == "languages.by_nationality.China"


@pytest.mark.parametrize(
    ("languages", "key"),
    [
        ({"available": ["en", "english"]}, "languages.available[1]"),
        ({"available": ["en", "e!"]}, "languages.available[1]"),
        ({"default": "xx"}, "languages.default"),
        ({"by_nationality": {"CN": "zz-ZZ"}}, "languages.by_nationality.CN"),
    ],
)
def test_bad_language_tag_names_its_key(languages: dict[str, Any], key: str) -> None:
    err = config_error({"languages": languages})
    assert err.key == key
    assert "zh-Hans" in err.fix


def test_good_language_tags() -> None:
    cfg = config.parse(
        {"languages": {"available": ["id", "en", "zh-Hans", "pt-BR"], "default": "zh-Hans"}}
    )
    assert cfg.languages.default == "zh-Hans"


# --- valid configs and defaults -------------------------------------------------------------


def test_empty_config_gives_the_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    cfg = config.parse({})
    assert list(cfg.offices) == ["MAIN"]
    main = cfg.office("MAIN")
    assert main.timezone == "Asia/Jakarta"
    assert main.window == "09:00-17:00"
    assert main.weekend == ["sat", "sun"]
    assert main.holidays_country == "ID"
    assert cfg.planner.stages == [14, 7, 0]
    assert cfg.planner.min_gap_days == 2
    assert cfg.planner.closed_day == "previous"
    assert cfg.state_dir == str(tmp_path / "state")


def test_no_default_office_when_offices_are_configured() -> None:
    cfg = config.parse({"offices": {"BLT": {"name": "Blitar"}, "KDR": {"name": "Kediri"}}})
    assert sorted(cfg.offices) == ["BLT", "KDR"]
    assert cfg.office("BLT").timezone == "Asia/Jakarta"


def test_state_directory_from_systemd_takes_the_first_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/notifyd:/var/lib/other")
    assert config.parse({}).state_dir == "/var/lib/notifyd"


def test_explicit_state_dir_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/notifyd")
    assert config.parse({"state_dir": "/srv/notifyd"}).state_dir == "/srv/notifyd"


def test_config_is_frozen() -> None:
    cfg = config.parse({})
    with pytest.raises(AttributeError):
        cfg.state_dir = "/tmp"  # type: ignore[misc]


BLITAR_TOML = """\
state_dir = "state"
channel_order = ["wa", "sms"]

[planner]
stages = [14, 7, 0, -3]
min_gap_days = 3

[registry]
source = "csv"
path = "data/registry.csv"
default_office = "BLT"

[registry.columns]
full_name = "NAMA"

[offices.BLT]
name = "Kantor Imigrasi Blitar"
timezone = "Asia/Jakarta"
window = "08:00-16:00"
closed = ["2026-12-24"]

[offices.MKS]
name = "Kantor Imigrasi Makassar"
timezone = "Asia/Makassar"

[languages]
available = ["id", "en", "zh-Hans"]
default = "id"
by_nationality = { CN = "zh-Hans" }

[channels.wa]
plugin = "spool"
kind = "whatsapp"
options = { folder = "out", retries = 3 }

[channels.sms]
plugin = "spool"
kind = "sms"
"""


def test_load_reads_a_toml_file(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, BLITAR_TOML))
    assert cfg.planner.stages == [14, 7, 0, -3]
    assert cfg.planner.min_gap_days == 3
    assert sorted(cfg.offices) == ["BLT", "MKS"]
    assert cfg.office("BLT").window == "08:00-16:00"
    assert cfg.office("BLT").closed == ["2026-12-24"]
    assert cfg.office("MKS").timezone == "Asia/Makassar"
    assert cfg.registry.columns == {"full_name": "NAMA"}
    assert cfg.languages.by_nationality == {"CN": "zh-Hans"}
    assert cfg.channels["wa"].options == {"folder": "out", "retries": 3}
    assert cfg.channel_order == ["wa", "sms"]
    assert cfg.source_path == str((tmp_path / "notifyd.toml").resolve())


def test_load_reports_the_nested_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[offices.BLT]\nwindw = "09:00-17:00"\n')
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert info.value.key == "offices.BLT.windw"


def test_load_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert info.value.key == str(path)
    assert "NOTIFYD_CONFIG" in info.value.fix


def test_load_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[planner\nstages = [14, 7, 0]\n")
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert info.value.key == str(path)
    assert "TOML" in info.value.problem
    assert info.value.fix


def test_relative_paths_are_read_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "notifyd"
    cfg = config.load(write(folder, BLITAR_TOML))
    monkeypatch.chdir(tmp_path)  # the working folder does not matter
    expected = folder.resolve() / "data" / "registry.csv"
    assert cfg.resolve_path(cfg.registry.path) == expected
    assert cfg.resolve_path("/srv/registry.csv") == Path("/srv/registry.csv")
    assert cfg.state_dir == str(folder.resolve() / "state")


def test_relative_path_without_a_config_file_stays_relative() -> None:
    assert config.parse({}).resolve_path("data/registry.csv") == Path("data/registry.csv")


def test_home_folder_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = config.parse({}, source_path="/etc/notifyd/notifyd.toml")
    assert cfg.resolve_path("~/registry.csv") == tmp_path / "registry.csv"


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path, "[planner]\nstages = [30, 14, 7, 0]\n", name="site.toml")
    monkeypatch.setenv("NOTIFYD_CONFIG", str(path))
    assert config.config_path(None) == path
    assert config.load().planner.stages == [30, 14, 7, 0]
    # An explicit path wins over the environment.
    assert config.config_path("/srv/other.toml") == Path("/srv/other.toml")


def test_config_path_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFYD_CONFIG", raising=False)
    assert config.config_path(None) == Path("/etc/notifyd/notifyd.toml")


# --- secrets --------------------------------------------------------------------------------


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFYD_TEST_TOKEN", "t0ken")
    assert resolve_secret("env:NOTIFYD_TEST_TOKEN", "channels.wa.options.token") == "t0ken"


def test_missing_environment_secret_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFYD_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError) as info:
        resolve_secret("env:NOTIFYD_TEST_TOKEN", "channels.wa.options.token")
    assert info.value.key == "channels.wa.options.token"
    assert "NOTIFYD_TEST_TOKEN" in info.value.fix


def test_secret_from_systemd_credential(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "db-password").write_text("s3cret pass\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert resolve_secret("credential:db-password", "database.password") == "s3cret pass"


def test_missing_credential_names_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    with pytest.raises(ConfigError) as info:
        resolve_secret("credential:db-password", "database.password")
    assert info.value.key == "database.password"
    assert "/etc/notifyd/credentials/db-password" in info.value.fix


def test_a_credential_from_the_units_folder_is_named_by_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """LoadCredential=notifyd:/etc/notifyd/credentials names each file notifyd_<file>; the
    config names it by the file alone, as the README, the unit and the install script say."""
    (tmp_path / "notifyd_db-password").write_text("from the folder\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert resolve_secret("credential:db-password", "database.password") == "from the folder"


def test_one_naming_of_credentials_in_every_document() -> None:
    root = Path(__file__).parent.parent
    texts = [
        (root / name).read_text(encoding="utf-8")
        for name in ("README.md", "systemd/notifyd.service", "scripts/install-service.sh",
                     "config/notifyd.example.toml")
    ]  # fmt: skip
    for text in texts:
        assert "credential:notifyd_" not in text
    assert "/etc/notifyd/credentials/NAME" in texts[1]
    assert '"credential:NAME"' in texts[2] and "$CONFDIR/credentials/NAME" in texts[2]


def test_credential_without_credentials_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigError) as info:
        resolve_secret("credential:db-password", "database.password")
    assert info.value.key == "database.password"
    assert "not started by systemd" in info.value.problem


def test_every_secret_reference_that_cannot_be_read_is_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from notifyd.config.secrets import unresolved

    monkeypatch.delenv("NOTIFYD_T_A", raising=False)
    monkeypatch.setenv("NOTIFYD_T_B", "set")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    cfg = config.parse(
        {
            "database": {"password": "env:NOTIFYD_T_A"},
            "channels": {
                "wa": {"plugin": "spool", "kind": "whatsapp",
                       "options": {"token": "credential:wa-token", "other": "env:NOTIFYD_T_B",
                                   "list": ["plain", "env:NOTIFYD_T_A"]}},
            },
        }
    )  # fmt: skip
    keys = [e.key for e in unresolved(cfg)]
    assert keys == ["database.password", "channels.wa.options.token", "channels.wa.options.list[1]"]


def test_a_clear_value_is_not_a_secret_reference() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_secret("hunter2", "database.password")
    assert info.value.key == "database.password"
    assert "env:" in info.value.fix


def test_database_url_defaults_to_sqlite_in_the_state_dir(tmp_path: Path) -> None:
    cfg = config.parse({"state_dir": str(tmp_path)})
    url = make_url(database_url(cfg))
    assert url.drivername == "sqlite"
    assert url.database == str(tmp_path / "notifyd.db")


def test_database_password_is_injected_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOTIFYD_DB_PASSWORD", "p@ss/word:1")
    cfg = config.parse(
        {
            "database": {
                "url": "postgresql+psycopg://notifyd@db.example:5432/notifyd",
                "password": "env:NOTIFYD_DB_PASSWORD",
            }
        }
    )
    url = make_url(database_url(cfg))
    assert url.password == "p@ss/word:1"
    assert (url.drivername, url.username, url.host, url.port, url.database) == (
        "postgresql+psycopg",
        "notifyd",
        "db.example",
        5432,
        "notifyd",
    )


def test_database_password_missing_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFYD_DB_PASSWORD", raising=False)
    cfg = config.parse(
        {
            "database": {
                "url": "postgresql://notifyd@db/notifyd",
                "password": "env:NOTIFYD_DB_PASSWORD",
            }
        }
    )
    with pytest.raises(ConfigError) as info:
        database_url(cfg)
    assert info.value.key == "database.password"


def test_whole_database_url_by_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFYD_DB_URL", "postgresql://notifyd:s3cret@db/notifyd")
    cfg = config.parse({"database": {"url": "env:NOTIFYD_DB_URL"}})
    assert make_url(database_url(cfg)).password == "s3cret"


# --- [http] -----------------------------------------------------------------------------------


def test_http_defaults_listen_on_loopback() -> None:
    cfg = config.parse({})
    assert config.listen_address(cfg.http.listen) == ("127.0.0.1", 8787)
    assert config.listen_address("[::1]:9000") == ("::1", 9000)


@pytest.mark.parametrize(
    ("http", "key"),
    [
        ({"listen": "8787"}, "http.listen"),
        ({"listen": "localhost:http"}, "http.listen"),
        ({"listen": "0.0.0.0:70000"}, "http.listen"),
        ({"public_url": "notifyd.example.org"}, "http.public_url"),
        ({"public_url": "https://notifyd.example.org/?a=1"}, "http.public_url"),
        ({"url_secret": "hunter2-in-clear-0123456789"}, "http.url_secret"),
        ({"audio_ttl_seconds": 0}, "http.audio_ttl_seconds"),
        ({"trust_proxy": "yes"}, "http.trust_proxy"),
        ({"port": 80}, "http.port"),
    ],
)
def test_bad_http_settings_name_the_key(http: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.parse({"http": http})
    assert info.value.key == key and info.value.fix


# --- dispatch and pilot -----------------------------------------------------------------------

SPOOL = {"plugin": "spool", "kind": "sms"}


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"dispatch": {"tick_seconds": 0}}, "dispatch.tick_seconds"),
        ({"dispatch": {"batch_size": 0}}, "dispatch.batch_size"),
        ({"dispatch": {"max_attempts": 0}}, "dispatch.max_attempts"),
        ({"dispatch": {"backoff_base": 60.0, "backoff_cap": 30.0}}, "dispatch.backoff_cap"),
        ({"dispatch": {"lease_seconds": 40.0, "send_timeout": 30.0}}, "dispatch.lease_seconds"),
        ({"dispatch": {"shutdown_grace": -1}}, "dispatch.shutdown_grace"),
        ({"dispatch": {"paused_recheck_seconds": 0}}, "dispatch.paused_recheck_seconds"),
        ({"dispatch": {"jitter": "yes"}}, "dispatch.jitter"),
        ({"channels": {"sms": {**SPOOL, "rate_per_second": -1}}}, "channels.sms.rate_per_second"),
        ({"channels": {"sms": {**SPOOL, "burst": 0}}}, "channels.sms.burst"),
        ({"channels": {"sms": {**SPOOL, "concurrency": 0}}}, "channels.sms.concurrency"),
        ({"pilot": {"allowlist": ["0812345678"]}}, "pilot.allowlist[0]"),
        ({"pilot": {"enabled": True, "allowlist": ["+62812", "+62 812"]}}, "pilot.allowlist[0]"),
        ({"console": {"failing_streak": 0}}, "console.failing_streak"),
        ({"console": {"failing_share": 1.5}}, "console.failing_share"),
    ],
)
def test_dispatch_and_pilot_values(data: dict[str, Any], key: str) -> None:
    assert config_error(data).key == key


def test_dispatch_and_pilot_defaults_and_values() -> None:
    cfg = config.parse(
        {"dispatch": {"tick_seconds": 1, "jitter": False},
         "pilot": {"enabled": True, "allowlist": ["+6281234567890"]}}
    )  # fmt: skip
    assert (cfg.dispatch.tick_seconds, cfg.dispatch.jitter, cfg.dispatch.max_attempts) == (
        1.0, False, 5,
    )  # fmt: skip
    assert cfg.pilot.allowlist == ["+6281234567890"]


@pytest.mark.parametrize("key", ["registry", "retention"])
def test_a_schedule_that_is_not_a_crontab_line_names_its_key(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.parse({key: {"schedule": "every morning"}})
    assert info.value.key == f"{key}.schedule" and "minute hour" in info.value.fix


def test_bilingual_notes_need_indonesian_among_the_languages() -> None:
    with pytest.raises(ConfigError) as info:
        config.parse({"voices": {"bilingual": True}, "languages": {"available": ["en"]}})
    assert info.value.key == "voices.bilingual" and '"id"' in info.value.fix
