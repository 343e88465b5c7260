"""Console accounts: Argon2 hashes, throttled sign-in with lockout, sessions with an idle
timeout, and the audit record of each step; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from conftest import FRIDAY_MORNING
from notifyd.db import schema, users
from notifyd.errors import NotifydError

NOW = FRIDAY_MORNING
IDLE = timedelta(minutes=30)
PASSWORD = "correct horse battery"


@pytest.fixture
def siti(engine: Engine) -> str:
    users.add_user(engine, "siti", "supervisor", PASSWORD, NOW, "root")
    return "siti"


def test_the_password_is_stored_as_an_argon2_hash(engine: Engine, siti: str) -> None:
    with engine.connect() as conn:
        stored = conn.execute(select(schema.console_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_opens_a_session_that_ends_when_idle(engine: Engine, siti: str) -> None:
    result = users.sign_in(engine, siti, PASSWORD, "10.0.0.5", NOW)
    assert result.token and result.csrf
    found = users.session(engine, result.token, NOW + timedelta(minutes=29), IDLE)
    assert found == {"name": "siti", "role": "supervisor", "csrf": result.csrf}
    assert users.session(engine, result.token, NOW + timedelta(minutes=60), IDLE) is None
    assert users.session(engine, "forged", NOW, IDLE) is None


def test_a_wrong_password_fails_and_five_lock_the_account(engine: Engine, siti: str) -> None:
    for i in range(users.MAX_PER_ACCOUNT):
        assert users.sign_in(engine, siti, "wrong", f"10.0.0.{i}", NOW).refusal == "wrong"
    locked = users.sign_in(engine, siti, PASSWORD, "10.0.0.9", NOW + timedelta(minutes=1))
    assert locked.token is None and locked.refusal == "locked"
    later = NOW + users.WINDOW + timedelta(minutes=1)
    assert users.sign_in(engine, siti, PASSWORD, "10.0.0.9", later).token is not None
    actions = [(r["action"], r["ok"], r["address"]) for r in users.audit_record(engine)]
    assert ("sign_in", False, "10.0.0.0") in actions and (
        "sign_in_locked",
        False,
        "10.0.0.9",
    ) in actions


def test_one_address_is_locked_out_across_accounts(engine: Engine, siti: str) -> None:
    for i in range(users.MAX_PER_ADDRESS):
        users.sign_in(engine, f"guess{i}", "wrong", "10.9.9.9", NOW)
    assert users.sign_in(engine, siti, PASSWORD, "10.9.9.9", NOW).refusal == "locked"
    assert users.sign_in(engine, siti, PASSWORD, "10.0.0.1", NOW).token is not None


def test_disabling_a_user_ends_their_sessions(engine: Engine, siti: str) -> None:
    token = users.sign_in(engine, siti, PASSWORD, "10.0.0.5", NOW).token
    assert token is not None
    users.set_active(engine, siti, False, NOW, "root")
    assert users.session(engine, token, NOW, IDLE) is None
    assert users.sign_in(engine, siti, PASSWORD, "10.0.0.5", NOW).refusal == "wrong"


def test_bad_accounts_are_refused_with_the_fix(engine: Engine, siti: str) -> None:
    with pytest.raises(NotifydError, match="at least 10"):
        users.add_user(engine, "budi", "viewer", "short", NOW, "root")
    with pytest.raises(NotifydError, match="unknown role"):
        users.add_user(engine, "budi", "boss", PASSWORD, NOW, "root")
    with pytest.raises(NotifydError, match="exists"):
        users.add_user(engine, siti, "viewer", PASSWORD, NOW, "root")
    with pytest.raises(NotifydError, match="no user"):
        users.set_password(engine, "nobody", PASSWORD, NOW, "root")


def test_importing_the_accounts_costs_no_password_hash() -> None:
    """The unknown-name hash (a quarter of a CPU second and 64 MiB) is made on first use or
    by the console at start, not by every command that imports the module."""
    import subprocess
    import sys

    code = (
        "from notifyd.db import users; "
        "assert users._dummy.cache_info().currsize == 0; "
        "users.warm(); assert users._dummy.cache_info().currsize == 1"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
