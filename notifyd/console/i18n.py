"""The pages' languages: Indonesian by default, English by choice.

The catalogs are Babel .po files shipped with the package and compiled in memory when the
console starts (no build step, and a catalog edited on the server takes effect on restart).
Each language has its own Jinja2 environment with its translations installed.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, PackageLoader, select_autoescape

LOCALE = Path(__file__).parent / "locale"
LANGUAGES = ("id", "en")


@cache
def translations(lang: str) -> NullTranslations:
    po = LOCALE / lang / "LC_MESSAGES" / "console.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("notifyd.console", "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def gettext(lang: str, message: str) -> str:
    return str(translations(lang).gettext(message))
