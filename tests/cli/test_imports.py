"""A command imports what it runs, no more: the parser of every command is built from light
modules, so `notifyd sync` does not pay for the voice chain, the console or the web app, and
`--help` pays for nothing heavy. Each check runs in a fresh interpreter, where sys.modules
tells what was imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import config_dict, person, write_registry, write_toml
from notifyd.cli import templates
from notifyd.cli.main import main
from notifyd.voice import review

#: What the parser must never need: third-party libraries and the wings that run commands.
HEAVY = (
    "sqlalchemy", "numpy", "alembic", "aiohttp", "av", "jinja2", "phonenumbers", "pycountry",
    "holidays", "babel", "argon2", "pydub", "email_validator", "apscheduler", "notifyd.db",
    "notifyd.voice", "notifyd.web", "notifyd.console", "notifyd.registry.normalise",
    "notifyd.registry.sync", "notifyd.delivery", "notifyd.service", "notifyd.planning",
    "notifyd.sandbox.app",
)  # fmt: skip
#: What a sync does not need: the voice chain, the console's accounts and the web app.
NOT_FOR_SYNC = (
    "alembic", "aiohttp", "av", "jinja2", "argon2", "pydub", "num2words", "notifyd.voice",
    "notifyd.console", "notifyd.web.app", "notifyd.delivery",
)  # fmt: skip

#: Prints every command path's --help to /dev/null, then the modules loaded, as JSON.
HELP_ALL = """
import argparse, contextlib, json, os, sys
from notifyd.cli import main as m

def paths(parser, prefix):
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from paths(sub, [*prefix, name])

helped = []
with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
    for path in paths(m._parser(), []):
        try:
            m.main([*path, "--help"])
        except SystemExit as exc:
            assert exc.code == 0, (path, exc.code)
        helped.append(" ".join(path))
print(json.dumps({"helped": helped, "modules": sorted(sys.modules)}))
"""

#: Runs the command given in argv, then prints the modules loaded, as JSON, on the last line.
RUN = """
import json, sys
from notifyd.cli.main import main
code = main(sys.argv[1:])
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


def _python(code: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_every_commands_help_imports_nothing_heavy() -> None:
    found = _python(HELP_ALL)
    helped = found["helped"]
    assert isinstance(helped, list)
    assert {"", "sync", "run", "db upgrade", "user add", "templates review"} <= set(helped)
    assert len(helped) > 30  # every command and action, not only the top level
    modules = found["modules"]
    assert isinstance(modules, list)
    assert _loaded(modules, HEAVY) == []


def test_sync_imports_neither_the_voice_chain_nor_the_web_app(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "registry.csv", [person(1), person(2)])
    cfg = write_toml(
        {"state_dir": str(tmp_path / "state"), **config_dict(registry)}, tmp_path / "c.toml"
    )
    assert main(["-c", str(cfg), "db", "upgrade"]) == 0  # a new database runs alembic once
    found = _python(RUN, "-c", str(cfg), "sync", "--format", "json")
    assert found["code"] == 0
    modules = found["modules"]
    assert isinstance(modules, list)
    assert "notifyd.registry.sync" in modules  # it did sync
    assert _loaded(modules, NOT_FOR_SYNC) == []


def test_the_parsers_stage_keys_are_the_review_kits() -> None:
    assert templates.STAGE_KEYS == tuple(key for key, _, _ in review.STAGES)
