"""docs/example_plugin, installed for real and found through the `notifyd` entry-point group
by fresh processes, as an operator's `pip install` would make it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# One process runs this file's tests: they share a module-scoped server or fixture that
# is costly to start (scripts/test.sh shares the rest of the suite out test by test).
pytestmark = pytest.mark.xdist_group("test_example_plugin")

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example_plugin"
NOTIFYD = Path(sys.executable).with_name("notifyd")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package built (pip, as an operator runs it) into a folder of its own."""
    tmp = tmp_path_factory.mktemp("example")
    src = shutil.copytree(
        EXAMPLE, tmp / "src", ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    target = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert list(target.glob("notifyd_json_post-0.1.0.dist-info/entry_points.txt"))
    return target


def run(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(site), **env}
    environ.pop("NOTIFYD_CONFIG", None)
    return subprocess.run(args, capture_output=True, text=True, env=environ, timeout=120)


def write_config(tmp_path: Path, url: str = "http://127.0.0.1:9/notices", extra: str = "") -> Path:
    path = tmp_path / "notifyd.toml"
    path.write_text(
        textwrap.dedent(f"""\
            state_dir = "state"
            channel_order = ["intranet"]
            {extra}
            [registry]
            path = "registry.csv"

            [channels.intranet]
            plugin = "json_post"

            [channels.intranet.options]
            url = "{url}"
            token = "env:INTRANET_TOKEN"
            """),
        encoding="utf-8",
    )
    return path


def test_notifyd_plugins_lists_the_installed_example(site: Path, tmp_path: Path) -> None:
    out = run(site, str(NOTIFYD), "plugins", "-c", str(write_config(tmp_path)), "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = {row["plugin"]: row for row in json.loads(out.stdout)}
    assert rows["json_post"]["distribution"] == "notifyd-json-post 0.1.0"
    assert rows["json_post"]["hooks"] == "register_channels"


def test_without_the_install_it_is_not_there(tmp_path: Path) -> None:
    out = run(tmp_path, str(NOTIFYD), "check-config", "-c", str(write_config(tmp_path)))
    assert out.returncode == 2
    assert "no channel plugin called 'json_post'" in out.stderr
    assert "install the plugin that provides it" in out.stderr


def test_check_config_accepts_a_config_that_names_it(site: Path, tmp_path: Path) -> None:
    out = run(site, str(NOTIFYD), "check-config", "-c", str(write_config(tmp_path)),
              INTRANET_TOKEN="t0ken")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "channels: intranet" in out.stdout


def test_check_config_names_a_bad_option_of_the_plugin(site: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, url="ftp://nowhere")
    out = run(site, str(NOTIFYD), "check-config", "-c", str(cfg), INTRANET_TOKEN="t0ken")
    assert out.returncode == 2 and "channels.intranet.options.url" in out.stderr


def test_disabled_plugins_keeps_it_out(site: Path, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, extra='disabled_plugins = ["json_post"]')
    out = run(site, str(NOTIFYD), "check-config", "-c", str(cfg), INTRANET_TOKEN="t0ken")
    assert out.returncode == 2
    assert "'json_post' comes from the plugin 'json_post', which disabled_plugins" in out.stderr
    assert "take 'json_post' out of disabled_plugins" in out.stderr


SEND = """
import asyncio, json, sys
from aiohttp import web
from notifyd import config, plugins
from notifyd.errors import TransientSendError
from notifyd.hookspecs import Message

async def main():
    seen = []
    async def notices(request):
        seen.append((request.headers.get("Authorization"), await request.json()))
        if len(seen) == 2:
            return web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "7"})
        return web.json_response({"id": "n-1"})
    app = web.Application()
    app.router.add_post("/notices", notices)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    cfg = config.load(sys.argv[1])
    pm = plugins.make_manager(cfg.disabled_plugins)
    options = {**cfg.channels["intranet"].options, "url": f"http://127.0.0.1:{port}/notices"}
    channel = plugins.channel_plugins(pm)["json_post"].create("intranet", options, cfg)
    message = Message(notification_id=5, to="+6281234560001", language="id", text="Izin tinggal")
    first = await channel.send(message)
    try:
        await channel.send(message)
        second = "sent"
    except TransientSendError as exc:
        second = f"transient {exc.retry_after}"
    await runner.cleanup()
    print(json.dumps({"first": first, "second": second, "seen": seen}))

asyncio.run(main())
"""


def test_the_example_sends_for_real_and_maps_errors(site: Path, tmp_path: Path) -> None:
    script = tmp_path / "send.py"
    script.write_text(SEND, encoding="utf-8")
    out = run(site, sys.executable, str(script), str(write_config(tmp_path)),
              INTRANET_TOKEN="t0ken")  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["first"], result["second"]) == ("n-1", "transient 7.0")
    auth, body = result["seen"][0]
    assert auth == "Bearer t0ken"
    assert body == {"notification_id": 5, "to": "+6281234560001", "language": "id",
                    "text": "Izin tinggal", "fields": {}}  # fmt: skip
