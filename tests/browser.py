"""A real browser for tests: Debian's chromium driven by Playwright (`playwright install`
cannot download browsers here). Import the `browser` fixture into a conftest to use it.

Without chromium the tests are skipped with the command that installs it, except under CI
(CI=true), where a missing browser is a failure rather than a silent skip.

The browser lives for one test module, not the session: Playwright's sync API keeps an asyncio
loop running in the main thread while it is open, so every later test that calls asyncio.run()
would fail if it stayed open to the end of the session.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str | None:
    found = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium per test module; pages come from browser.new_page()."""
    path = chromium_path()
    if path is None:
        reason = "chromium is not installed (sudo apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; under CI the browser tests must run")
        pytest.skip(f"{reason}: browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # root needs --no-sandbox; a voice note may play without a click in a test
        chromium = p.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            yield chromium
        finally:
            chromium.close()
