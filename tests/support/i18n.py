"""The dashboard's messages as the tests see them: extracted from the sources with Babel and ``server/web/babel.cfg``
(as ``make i18n`` does), the ``.po`` catalogues, and a pseudo-locale that wraps every known message in ``⟦…⟧`` so a
page shows which of its words bypassed translation."""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from server.web import i18n

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "server" / "web" / "babel.cfg"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "gettext_format": None}
PSEUDO = "en-XA"  # a private-use region: no real language
OPEN, CLOSE = "⟦", "⟧"


@cache
def extracted() -> frozenset[str | tuple[str, str]]:
    """Every message the sources mark: a msgid, or (singular, plural) for a plural message."""
    with BABEL_CFG.open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return frozenset(found)


def catalogue(language: str) -> Catalog:
    """The ``.po`` catalogue of a language, as it is on disk."""
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def singulars(messages: Iterable[str | tuple[str, str]]) -> frozenset[str]:
    return frozenset(m if isinstance(m, str) else m[0] for m in messages)


class PseudoTranslations(gettext.NullTranslations):
    """``⟦message⟧`` for every message the sources mark; anything else (data handed to ``tr()``) as it is."""

    def __init__(self, known: frozenset[str]) -> None:
        super().__init__()
        self.known = known

    def gettext(self, message: str) -> str:
        return f"{OPEN}{message}{CLOSE}" if message in self.known else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        text = msgid1 if n == 1 else msgid2
        return f"{OPEN}{text}{CLOSE}" if msgid1 in self.known else text


def pseudo() -> tuple[gettext.NullTranslations, str]:
    """The pseudo-locale for :data:`server.web.i18n.EXTRA`: its translations, and German number and date formats
    (``72,4``, ``20.11.2026``: no English words in the data)."""
    return PseudoTranslations(singulars(extracted())), "de"
