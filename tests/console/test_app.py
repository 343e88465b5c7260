"""The console in a real browser (Debian's chromium driven by Playwright): sign-in, lockout,
search, a person's story and voice note, resend with its warning, CSRF, roles, languages,
the 375 px layout, and axe-core on every page. Screenshots go to docs/console/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import FRIDAY_MORNING, add_attempt, notice_ids, person
from notifyd import config, plugins
from notifyd.console import app as console
from notifyd.console import logpages, views
from notifyd.db import corrections, schema, search, store, users
from notifyd.db import dispatch as dispatchstore
from notifyd.registry.sync import run_sync
from notifyd.sandbox.app import Background
from notifyd.sandbox.rules import Settings

# One process runs this file's tests: they share a module-scoped server or fixture that
# is costly to start (scripts/test.sh shares the rest of the suite out test by test).
pytestmark = pytest.mark.xdist_group("test_app")

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "console"
PASSWORD = "correct horse battery"
NOW = FRIDAY_MORNING


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from conftest import config_dict, write_registry

    folder = tmp_path_factory.mktemp("console")
    rows = [
        person(1, full_name="KIM SU-A", phone="0877-5186-7782", expiry_date="2026-12-18"),
        person(2, full_name="يوسف العتيبي", phone="0812-3456-0002", nationality="SA",
               expiry_date="2026-12-18"),
    ]  # fmt: skip
    data = config_dict(write_registry(folder / "registry.csv", rows))
    data["state_dir"] = str(folder / "state")
    data["voices"] = {"engines": ["espeak-ng"]}
    data["pilot"] = {"enabled": True, "allowlist": ["+6281200000001"]}
    cfg = config.parse(data)
    engine = store.open_store(f"sqlite:///{folder / 'notifyd.db'}")
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    search.refresh(engine, NOW)
    kim = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, kim, "whatsapp", "permanent", NOW, status="failed",
                error="131026: the number is not on WhatsApp (message undeliverable)",
                address="+6287751867782")  # fmt: skip
    # ani is locked out by the first test; dian is the admin of the admin pages' test
    for name, role in (("siti", "supervisor"), ("budi", "viewer"), ("ani", "admin"),
                       ("dian", "admin")):  # fmt: skip
        users.add_user(engine, name, role, PASSWORD, NOW, "test")
    server = Background(Settings(port=0), console.make_app(cfg, engine, clock=lambda: NOW))
    server.start()
    yield {"url": server.url, "engine": engine, "kim": kim}
    server.stop()
    engine.dispose()


def sign_in(page: Any, url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(url + "/signin")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")


def check_axe(page: Any) -> None:
    """axe-core, injected (pages opened with bypass_csp: the console's own CSP forbids it)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run bash scripts/setup.sh")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run()")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def audit(engine: Any) -> list[tuple[str, str, bool]]:
    return [(r["actor"], r["action"], r["ok"]) for r in users.audit_record(engine)]


def test_sign_in_wrong_password_and_lockout(browser: Any, site: dict[str, Any]) -> None:
    page = browser.new_page(bypass_csp=True)
    page.goto(site["url"] + "/")
    assert page.url.endswith("/signin")  # nothing without a session
    check_axe(page)
    shot(page, "signin")
    sign_in(page, site["url"], "ani", "wrong password")
    assert "Nama atau kata sandi salah." in page.inner_text("main")
    for _ in range(users.MAX_PER_ACCOUNT):
        sign_in(page, site["url"], "ani", "wrong password")
    sign_in(page, site["url"], "ani")  # the right password, but locked out now
    assert "Terlalu banyak upaya masuk" in page.inner_text("main")
    assert ("ani", "sign_in_locked", False) in audit(site["engine"])
    page.close()


def test_search_by_arabic_name_and_local_phone_then_story_and_voice_note(
    browser: Any, site: dict[str, Any]
) -> None:
    page = browser.new_page(bypass_csp=True)
    sign_in(page, site["url"], "siti")
    response = page.goto(site["url"] + "/")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-frame-options"] == "DENY"
    check_axe(page)
    shot(page, "today")
    page.goto(site["url"] + "/search")
    page.fill("#q", "يوسف")
    page.click("main button[type=submit]")
    assert "يوسف العتيبي" in page.inner_text(".results")
    assert "/search" in page.url and "q=" not in page.url  # nothing personal in the address
    page.fill("#q", "0877 5186 7782")
    page.click("main button[type=submit]")
    assert "KIM SU-A" in page.inner_text(".results")
    check_axe(page)
    shot(page, "search")
    page.click(".results a")
    story = page.inner_text(".story")
    assert "131026: the number is not on WhatsApp (message undeliverable)" in story
    assert "+6287751867782" in page.inner_text(".facts")  # a supervisor sees it whole
    assert "+6287751867782" in story  # and the address the attempt went to
    duration = page.evaluate(
        """(sel) => new Promise((ok, fail) => {
            const a = document.querySelector(sel);
            a.addEventListener('loadedmetadata', () => ok(a.duration));
            a.addEventListener('error', () => fail('audio error'));
            a.load();
        })""",
        f"#notice-{site['kim']} audio",
    )
    assert duration > 0
    check_axe(page)
    shot(page, "person")
    page.close()


def test_resend_warns_then_goes_ahead_and_is_recorded(browser: Any, site: dict[str, Any]) -> None:
    page = browser.new_page(bypass_csp=True)
    sign_in(page, site["url"], "siti")
    pid = _person_id(site["engine"], "BLT-00001")
    page.goto(f"{site['url']}/person/{pid}")
    page.click(f"#notice-{site['kim']} button:has-text('Kirim ulang')")
    assert "sudah gagal secara permanen" in page.inner_text(f"#notice-{site['kim']}")
    check_axe(page)
    page.click("button:has-text('Tetap kirim ulang')")
    assert "Selesai" in page.inner_text("main")
    n = schema.notifications
    with site["engine"].connect() as conn:
        row = conn.execute(select(n).where(n.c.id == site["kim"])).mappings().one()
    assert row["status"] == "retrying" and row["attempt_count"] == 1  # the count stays
    assert ("siti", "resend", True) in audit(site["engine"])
    assert "resend" in page.inner_text(".story")
    page.close()


def test_a_forged_form_without_the_csrf_token_is_refused(
    browser: Any, site: dict[str, Any]
) -> None:
    page = browser.new_page(bypass_csp=True)
    sign_in(page, site["url"], "siti")
    pid = _person_id(site["engine"], "BLT-00002")
    before = _actions(site["engine"])
    status = page.evaluate(
        """async (url) => (await fetch(url, {method: 'POST',
              headers: {'Content-Type': 'application/x-www-form-urlencoded'},
              body: 'text=forged'})).status""",
        f"{site['url']}/person/{pid}/note",
    )
    assert status == 403
    assert _actions(site["engine"]) == before
    assert ("siti", "csrf_refused", False) in audit(site["engine"])
    page.close()


def test_a_viewer_sees_masked_numbers_and_is_refused_actions(
    browser: Any, site: dict[str, Any]
) -> None:
    page = browser.new_page(bypass_csp=True)
    sign_in(page, site["url"], "budi")
    pid = _person_id(site["engine"], "BLT-00001")
    page.goto(f"{site['url']}/person/{pid}")
    facts = page.inner_text(".facts")
    assert "+6287751867782" not in facts and "782" in facts and "•" in facts
    story = page.inner_text(".story")
    assert "+6287751867782" not in story and "+62••••••••782" in story  # the attempt's address
    assert page.locator("button:has-text('Kirim ulang')").count() == 0
    csrf = page.get_attribute("input[name=csrf]", "value")
    status = page.evaluate(
        """async ([url, csrf]) => (await fetch(url, {method: 'POST',
              headers: {'Content-Type': 'application/x-www-form-urlencoded'},
              body: 'text=hello&csrf=' + encodeURIComponent(csrf)})).status""",
        [f"{site['url']}/person/{pid}/note", csrf],
    )
    assert status == 403
    assert ("budi", "note", False) in audit(site["engine"])
    page.close()


def test_english_by_choice_and_the_375_px_layout(browser: Any, site: dict[str, Any]) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 800}, bypass_csp=True)
    sign_in(page, site["url"], "siti")
    assert "Perlu perhatian" in page.inner_text("main")
    page.select_option("#lang", "en")
    page.click("button:has-text('Ganti')")
    assert "Needs attention" in page.inner_text("main")
    assert page.get_attribute("html", "lang") == "en"
    pid = _person_id(site["engine"], "BLT-00001")
    page.goto(f"{site['url']}/person/{pid}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375  # nothing wider than the phone's screen
    check_axe(page)
    shot(page, "person-375px")
    page.close()


def _person_id(engine: Any, registry_id: str) -> int:
    pe = schema.people
    with engine.connect() as conn:
        return int(
            conn.execute(select(pe.c.id).where(pe.c.registry_id == registry_id)).scalar_one()
        )


def _actions(engine: Any) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(schema.staff_actions)).all())


def test_the_log_with_filters_and_its_formula_safe_csv(browser: Any, site: dict[str, Any]) -> None:
    page = browser.new_page(bypass_csp=True)
    sign_in(page, site["url"], "budi")
    page.goto(site["url"] + "/log?outcome=permanent")
    table = page.inner_text("table")
    assert "131026: the number is not on WhatsApp" in table and "permanent" in table
    check_axe(page)
    shot(page, "log")
    csv_text = page.evaluate("async () => (await fetch('/log.csv?outcome=permanent')).text()")
    header, first = csv_text.splitlines()[:2]
    assert header.startswith("when,notice,registry_id,name,permit,stage,channel,kind,outcome")
    assert "KIM SU-A" in first and "permanent" in first
    assert "+6287751867782" not in csv_text and "+62••••••••782" in first  # a viewer's export
    assert page.goto(site["url"] + "/log?status=bogus").status == 400
    page.goto(site["url"] + "/registry")
    assert "ok" in page.inner_text("table")
    check_axe(page)
    assert ("budi", "export_log", True) in audit(site["engine"])
    page.close()


def _post(page: Any, url: str, body: str) -> int:
    """A form POST from the page, with its CSRF token (fetch: a refusal does not navigate)."""
    return int(
        page.evaluate(
            """async ([url, body]) => {
                const csrf = document.querySelector('input[name=csrf]').value;
                return (await fetch(url, {method: 'POST',
                  headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                  body: body + '&csrf=' + encodeURIComponent(csrf)})).status; }""",
            [url, body],
        )
    )


def test_admin_pages_users_pause_and_the_pilot_allowlist(
    browser: Any, site: dict[str, Any]
) -> None:
    url, engine = site["url"], site["engine"]
    page = browser.new_page(bypass_csp=True)
    sign_in(page, url, "dian")
    page.goto(url + "/admin/users")
    page.fill("#u-name", "dewi")
    page.select_option("#u-role", "viewer")
    page.click("main form:has(#u-name) button[type=submit]")
    one_time = page.inner_text("#one-time")  # made by the console, shown once
    (added,) = [r for r in users.audit_record(engine) if r["action"] == "user_add"
                and r["actor"] == "dian"]  # fmt: skip
    assert len(one_time) >= 16 and added["address"] == "127.0.0.1"  # once, with the address
    check_axe(page)
    shot(page, "admin-users")
    other = browser.new_page(bypass_csp=True)
    sign_in(other, url, "dewi", one_time)
    assert other.url.rstrip("/") == url  # signed in with it
    page.goto(url + "/admin/users")
    page.click("button[name=do][value=disable]:has-text('dewi')")
    other.goto(url + "/search")
    assert other.url.endswith("/signin")  # disabling ended dewi's session
    other.close()
    assert page.locator("button[name=do][value=disable]:has-text('dian')").count() == 0
    assert _post(page, url + "/admin/users", "do=disable&name=dian") == 409  # not oneself
    assert ("dian", "user_disable", False) in audit(engine)
    assert users.sign_in(engine, "dian", PASSWORD, "x", NOW).token  # still active

    page.goto(url + "/admin/pause")
    page.select_option("#p-scope", "whatsapp")
    page.fill("#p-reason", "Meta template under review")
    page.click("button[name=do][value=pause]")
    paused = page.inner_text("#paused")
    assert "whatsapp" in paused and "WIB" in paused and "Meta template under review" in paused
    check_axe(page)
    shot(page, "admin-pause")
    page.goto(url + "/")
    assert "Meta template under review" in page.inner_text("main")  # on Today too
    page.goto(url + "/admin/pause")
    page.select_option("#p-scope", "whatsapp")
    page.fill("#p-reason", "approved again")
    page.click("button[name=do][value=resume]")
    assert "Tidak ada yang dijeda." in page.inner_text("#paused")
    assert ("dian", "pause", True) in audit(engine) and ("dian", "resume", True) in audit(engine)

    page.goto(url + "/admin/pilot")
    page.fill("#p-number", "0812-9999-0001")
    page.click("button[name=do][value=add]")
    table = page.inner_text("table")
    assert "+6281299990001" in table and "+6281200000001" in table
    check_axe(page)
    shot(page, "admin-pilot")
    page.click("button[name=do][value=remove]:has-text('+6281299990001')")
    assert "+6281299990001" not in page.inner_text("table")
    added = [r["detail"] for r in users.audit_record(engine) if r["action"] == "pilot_add"]
    assert added == [views.mask("+6281299990001")]  # numbers masked in the audit record
    forged = page.evaluate(
        """async () => (await fetch('/admin/users', {method: 'POST',
              headers: {'Content-Type': 'application/x-www-form-urlencoded'},
              body: 'do=add&name=mallory&role=admin'})).status"""
    )
    assert forged == 403 and "mallory" not in [u["name"] for u in users.list_users(engine)]
    page.close()


def test_supervisors_and_viewers_are_refused_admin_pages(
    browser: Any, site: dict[str, Any]
) -> None:
    page = browser.new_page(bypass_csp=True)
    sign_in(page, site["url"], "siti")
    for path in ("/admin/users", "/admin/pause", "/admin/pilot"):
        assert page.goto(site["url"] + path).status == 403
    assert _post(page, site["url"] + "/admin/pause", "do=pause&scope=*&reason=x") == 403
    assert ("siti", "admin_pause", False) in audit(site["engine"])
    assert "*" not in dispatchstore.paused(site["engine"])
    assert page.locator("nav a[href='/admin/users']").count() == 0
    page.close()


def test_log_pages_follow_a_cursor_and_corrections_export_for_supervisors(
    browser: Any, site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logpages, "PAGE", 1)
    engine, kim = site["engine"], site["kim"]
    add_attempt(engine, kim, "sms", "sent", NOW + timedelta(minutes=5))
    page = browser.new_page(bypass_csp=True)
    sign_in(page, site["url"], "siti")
    page.goto(site["url"] + "/log?office=BLT&stage=14")
    first = page.inner_text("tbody")
    assert "sms" in first and "KIM SU-A" in first
    page.click("#next-page")
    assert "after=" in page.url and "KIM" not in page.url.split("after=")[1]
    second = page.inner_text("tbody")
    assert "permanent" in second and "131026" in second
    assert page.goto(site["url"] + "/log?after=damaged").status == 400
    csv_text = page.evaluate("async () => (await fetch('/log.csv?stage=14')).text()")
    assert len(csv_text.splitlines()) >= 3 and csv_text.startswith("when,notice,registry_id")

    pid = _person_id(engine, "BLT-00002")
    corrections.correct(engine, pid, "phone", "+6281299990002", "siti", NOW)
    with engine.begin() as conn:  # a value a spreadsheet would run as a formula
        conn.execute(schema.people.update().where(schema.people.c.id == pid)
                     .values(registry_id="=HYPERLINK(1)"))  # fmt: skip
    page.goto(site["url"] + "/registry")
    check_axe(page)
    shot(page, "registry")
    fixes = page.evaluate("async () => (await fetch('/registry/corrections.csv')).text()")
    header, row = fixes.splitlines()[:2]
    assert header.startswith("registry_id,field,replaced,value")
    assert row.startswith("'=HYPERLINK(1),phone,'+6281234560002,'+6281299990002,siti")
    assert ("siti", "export_corrections", True) in audit(engine)
    viewer = browser.new_page(bypass_csp=True)
    sign_in(viewer, site["url"], "budi")
    assert viewer.goto(site["url"] + "/registry/corrections.csv").status == 403
    viewer.close()
    with engine.begin() as conn:
        conn.execute(schema.people.update().where(schema.people.c.id == pid)
                     .values(registry_id="BLT-00002"))  # fmt: skip
    page.close()
