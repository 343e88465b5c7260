"""Commands for the notice templates: `notifyd templates review` and `notifyd templates doc`.

`review` writes the kit a native speaker reviews a language with (docs/languages.md, "Reviewing
a language"); `doc` regenerates the table of languages in docs/languages.md from the templates
and the voice tables, and the list of what each language's reviewer should check from the
templates' `[review] note`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from notifyd import config as config_mod
from notifyd import plugins
from notifyd.cli import common
from notifyd.cli.common import Subcommands, command
from notifyd.errors import NotifydError

if TYPE_CHECKING:
    from notifyd.config import Config

#: The keys of voice/review.STAGES, written out so that the parser needs neither jinja2 nor
#: numpy (a test holds them equal).
STAGE_KEYS = ("14", "7", "tomorrow", "today", "overdue")
#: docs/languages.md of a source checkout, where `doc` writes by default.
DOCS = Path(__file__).resolve().parents[2] / "docs" / "languages.md"


def add_commands(sub: Subcommands) -> None:
    group = command(sub, "templates", lambda a: _usage(group), "notice templates: review, docs")
    tsub = group.add_subparsers(required=True, metavar="ACTION")
    sp = command(
        tsub, "review", cmd_review,
        "write an HTML page per language with every notice, written, spoken and played",
    )  # fmt: skip
    sp.add_argument("-o", "--output", required=True, help="folder for the pages and voice notes")
    sp.add_argument(
        "--lang", action="append", default=None,
        help="only this language (repeat for more; default: every available language)",
    )  # fmt: skip
    sp.add_argument(
        "--format", choices=("mp3", "ogg"), default="mp3", dest="audio_format",
        help="voice notes as MP3 (plays in every browser, default) or OGG/Opus",
    )  # fmt: skip
    sp.add_argument(
        "--stage", action="append", default=None, choices=(*STAGE_KEYS, "bilingual"),
        help="voice only this stage's notes (repeat for more; default: all); all are shown",
    )  # fmt: skip
    sp.add_argument("--cache", help="audio cache folder (default: OUTPUT/.cache)")
    sp.add_argument("--jobs", type=int, default=2, help="voice notes rendered at once")
    sp = command(
        tsub, "doc", cmd_doc,
        "rewrite the table of languages and the review notes in docs/languages.md from the "
        "shipped templates",
    )  # fmt: skip
    sp.add_argument("--file", default=str(DOCS), help="the document (default: %(default)s)")
    sp.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if the table is out of date"
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return common.EXIT_CONFIG


def _config(args: argparse.Namespace, state: Path) -> Config:
    """The operator's config when one is given or installed, else the shipped templates with a
    sample office: a reviewer needs no notifyd config."""
    from notifyd.voice import review

    explicit = getattr(args, "sub_config", None) or args.config
    if explicit or config_mod.config_path(None).exists():
        return common.load_config(args)
    return review.sample_config(state)


def cmd_review(args: argparse.Namespace) -> int:
    from notifyd.voice import review

    out = Path(args.output)
    cfg = _config(args, out / ".cache")
    unknown = [lang for lang in args.lang or [] if lang not in cfg.languages.available]
    if unknown:
        available = ", ".join(cfg.languages.available)
        raise NotifydError(f"no template for {', '.join(unknown)}; available: {available}")
    voices = plugins.voices(plugins.make_manager(cfg.disabled_plugins))
    cache = Path(args.cache) if args.cache else None
    pages = review.write_kit(
        cfg, voices, out, args.lang, args.audio_format, cache, args.jobs, args.stage
    )
    notes = sum(len(p["sections"]) for p in pages)
    print(f"wrote {len(pages)} pages, {notes} notices: open {out / 'index.html'}", file=sys.stderr)
    missing = review.failures(pages)
    for line in missing:
        print(f"notifyd: no voice note for {line}", file=sys.stderr)
    return 1 if missing else 0


def cmd_doc(args: argparse.Namespace) -> int:
    from notifyd.voice import langdoc

    path = Path(args.file)
    if not path.is_file():
        raise NotifydError(f"{path} does not exist; pass --file docs/languages.md")
    with tempfile.TemporaryDirectory(prefix="notifyd-doc-") as tmp:
        cfg = config_mod.parse({"state_dir": tmp})  # what notifyd ships, not this site's config
        voices = plugins.voices(plugins.make_manager())
        text = path.read_text(encoding="utf-8")
        new = langdoc.rewrite(text, langdoc.table(cfg, voices), langdoc.notes(cfg))
    if new == text:
        print(
            f"{path}: the table of languages and the review notes are up to date", file=sys.stderr
        )
        return 0
    if args.check:
        print(f"{path}: the table of languages or the review notes are out of date; "
              "run `notifyd templates doc`",
              file=sys.stderr)  # fmt: skip
        return 1
    path.write_text(new, encoding="utf-8")
    print(f"{path}: table of languages and review notes rewritten", file=sys.stderr)
    return 0
