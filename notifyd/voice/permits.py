"""Which permit a registry's type names, in the reader's words, and who extends it.

Registries write the type as staff do: "KITAS", "ITAS E23", "E31A", "ITAP Investor". A holder
should hear what the permit is in their own language ("limited stay permit for work"), not an
Indonesian acronym read as letters, so each template names the permits and the kinds the law
knows (Permenkumham 22/2023 index codes); anything else is called by the generic name.
"""

from __future__ import annotations

import re

from notifyd.config import NoticesConfig

#: Kinds of ITAS by visa index code, longest first so E28A wins over E28.
KINDS = ("E28A", "E23", "E30", "E31", "E33")
#: Words registries use for the kinds, in English and Indonesian ("ITAS Work", "ITAS Kerja").
WORDS = {
    "WORK": "E23", "KERJA": "E23", "BEKERJA": "E23", "INVESTOR": "E28A", "INVESTASI": "E28A",
    "STUDENT": "E30", "STUDY": "E30", "PELAJAR": "E30", "STUDI": "E30", "FAMILY": "E31",
    "KELUARGA": "E31", "SPOUSE": "E31", "RETIREMENT": "E33", "RETIRED": "E33", "LANSIA": "E33",
}  # fmt: skip
#: The permit itself (ITAS) and its card (KITAS) are one thing to the holder.
BASES = {"ITAS": "ITAS", "KITAS": "ITAS", "ITAP": "ITAP", "KITAP": "ITAP", "ITK": "ITK"}
#: Keys every template's [permit_types] table gives.
KEYS = ("permit", *BASES.values(), *KINDS)


def kind(permit_type: str) -> str:
    """The key naming this type: a kind code (E23…), else a base (ITAS, ITAP, ITK), else
    "permit"."""
    tokens = re.findall(r"[A-Z0-9]+", permit_type.upper())
    for code in KINDS:
        if any(t.startswith(code) for t in tokens):
            return code
    for token in tokens:
        if token in WORDS:
            return WORDS[token]
    for token in tokens:
        if token in BASES:
            return BASES[token]
    return "permit"


def name(permit_type: str, names: dict[str, str]) -> str:
    """The permit as the template's language names it."""
    return names.get(kind(permit_type)) or names["permit"]


def extension(permit_type: str, notices: NoticesConfig) -> str:
    """Who extends it ("sponsor", "self", "none"): the configured type (the registry's words,
    any case), else its kind or base, else the default."""
    by_key = {k.upper(): v for k, v in notices.extension.items()}
    whole = " ".join(permit_type.upper().split())
    if whole in by_key:
        return by_key[whole]
    tokens = re.findall(r"[A-Z0-9]+", whole)
    for token in tokens:
        if token in by_key:
            return by_key[token]
    key = kind(permit_type)
    return by_key.get(key, notices.extension_default)
