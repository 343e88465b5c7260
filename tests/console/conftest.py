"""Fixtures for the console's browser tests: the shared browser, a console serving a synced
registry on a thread of its own, and accounts of each role."""

from __future__ import annotations

from browser import browser  # noqa: F401  (the shared browser fixture)
