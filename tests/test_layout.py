"""The house's rules (DESIGN.md, Layout): wings import downwards only, only db/ speaks SQL, and
plugins see nothing but the contract. Read from the source, so a lazy import counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = {"config", "model", "errors", "events", "hookspecs", "plugins", "logs"}
#: Each wing's rank: a wing imports the core, itself and wings of a lower rank, never a higher
#: or equal one. db/ is below them all; cli/ on top assembles everything.
RANK = {
    "db": 1,
    "planning": 2,
    "voice": 3,
    "registry": 4,
    "delivery": 5,
    "web": 6,
    "console": 7,
    "sandbox": 7,
    "service": 8,
    "cli": 9,
}
#: What a plugin may import from notifyd: the contract, and two helpers kept public for them.
PLUGIN_API = {
    "notifyd.hookspecs",
    "notifyd.model",
    "notifyd.errors",
    "notifyd.events",
    "notifyd.config",
    "notifyd.registry.columns",
    "notifyd.web.signatures",
}


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from notifyd.db import store` imports the module notifyd.db.store
            inner = {f"{node.module}.{alias.name}" for alias in node.names}
            modules = {name for name in inner if is_module(name)}
            found.update(modules or {node.module})
    return found


def is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def place(module: str) -> str | None:
    """The wing (or "core") a notifyd module belongs to; None outside notifyd."""
    parts = module.split(".")
    if parts[0] != "notifyd" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else "core" if parts[1] in CORE else None


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_module_of_notifyd_is_in_the_core_or_a_wing() -> None:
    for path in sources("notifyd"):
        parts = path.relative_to(ROOT / "notifyd").parts
        if len(parts) == 1:
            assert path.stem in CORE | {"__init__"}, f"{relative(path)}: a module at the top"
        else:
            assert parts[0] in RANK | {"config": 0}, f"{relative(path)}: not in a wing"


def wing_of(path: Path) -> str:
    parts = path.relative_to(ROOT / "notifyd").parts
    return parts[0] if len(parts) > 1 and parts[0] in RANK else "core"


def upward(path: Path, mine: str) -> list[str]:
    """The imports of `path` (a module of wing `mine`) that reach a wing not below it."""
    wrong = []
    for module in sorted(imports(path)):
        theirs = place(module)
        if theirs is None or theirs in (mine, "core"):
            continue
        if mine == "core" or RANK[theirs] >= RANK[mine]:
            wrong.append(f"{module} ({theirs}/)")
    return wrong


@pytest.mark.parametrize("path", sources("notifyd"), ids=relative)
def test_a_module_imports_only_downwards(path: Path) -> None:
    assert upward(path, wing_of(path)) == [], f"{relative(path)} ({wing_of(path)}) imports upwards"


@pytest.mark.parametrize("path", sources("notifyd"), ids=relative)
def test_only_db_speaks_sqlalchemy(path: Path) -> None:
    if path.relative_to(ROOT / "notifyd").parts[0] == "db":
        return
    sql = {m for m in imports(path) if m.split(".")[0] in {"sqlalchemy", "alembic"}}
    assert not sql, f"{relative(path)} imports {sorted(sql)}; queries belong in notifyd/db/"


@pytest.mark.parametrize(
    "path", sources("plugins") + sources("docs/example_plugin"), ids=relative
)  # fmt: skip
def test_plugins_import_only_the_contract(path: Path) -> None:
    used = {m for m in imports(path) if m == "notifyd" or m.startswith("notifyd.")}
    # `from notifyd.x import Name` lists notifyd.x.Name too: judge by the module imported
    modules = {m for m in used if m in PLUGIN_API or m.rsplit(".", 1)[0] not in PLUGIN_API}
    outside = sorted(m for m in modules if m not in PLUGIN_API)
    assert not outside, f"{relative(path)} imports {outside}: use notifyd.hookspecs and friends"


def test_the_rules_catch_upward_and_sideways_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from notifyd.db import store\n"
        "def f():\n"
        "    from notifyd.delivery.dispatch import Dispatcher\n"
        "    from notifyd import config\n"
    )
    assert upward(bad, "db") == ["notifyd.delivery.dispatch (delivery/)"]
    assert upward(bad, "web") == []
    assert upward(bad, "core") == [
        "notifyd.db.store (db/)",
        "notifyd.delivery.dispatch (delivery/)",
    ]
    assert upward(bad, "console") == []
