"""Test-only plugins, loaded through the real `notifyd` entry-point group (see conftest)."""
