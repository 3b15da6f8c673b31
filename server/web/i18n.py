"""The dashboard's languages (issue #14): English, Norwegian Bokmål and German, from the gettext catalogues in
``server/web/locale/<lang>/LC_MESSAGES/messages.po``, compiled in memory the first time a language is used (no
``.mo`` files to keep in step). ``make i18n`` re-extracts the messages and updates the catalogues.

The language of a request is the signed-in user's setting (``users.language``), else the first of the browser's
``Accept-Language`` languages that the dashboard speaks, else English (:func:`choose`). :func:`locale_dependency`
notes it for the whole request (a dependency of every page router; the API skips it),
:func:`server.web.render.render` renders in it, so Python code that words something for a page may call
:func:`gettext` while it handles the request. Outside a request (the CLI, reports, e-mail), :func:`gettext` is
English.

Strings at module level are marked with :func:`N_` (unchanged) and translated where they are shown. Error messages
of the library (``server.InvalidInput`` and friends) stay English. Numbers and dates go through Babel in the
request's language (:func:`number`, :func:`signed`, :func:`day`). Raises nothing of its own.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Annotated

from babel import Locale
from babel.dates import format_date, get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import get_decimal_symbol
from fastapi import Depends, Request

from server.api.deps import OptionalSession, viewer_languages

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
#: The languages the dashboard speaks, with the name each has in its own language (the /account select).
LANGUAGES = {"en": "English", "nb": "Norsk bokmål", "de": "Deutsch"}
#: More languages (tag → translations, and the Babel locale that formats its numbers and dates): for tests, which
#: add a pseudo-locale here.
EXTRA: dict[str, tuple[_gettext.NullTranslations, str]] = {}

_LOCALE: ContextVar[str | None] = ContextVar("smilepost_locale", default=None)


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for the catalogues without translating it (module-level labels, translated when shown)."""
    return message


@cache
def _catalogue(language: str) -> _gettext.NullTranslations:
    """The translations of ``language`` from its ``.po`` file, compiled in memory; English (none) has no file."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def translations(language: str) -> _gettext.NullTranslations:
    """The translations of a language the dashboard speaks (English: none)."""
    if language in EXTRA:
        return EXTRA[language][0]
    return _catalogue(language if language in LANGUAGES else DEFAULT)


def spoken() -> Sequence[str]:
    """Every language tag :func:`choose` may pick."""
    return [*LANGUAGES, *EXTRA]


def choose(setting: str | None, accepted: Sequence[str]) -> str:
    """The language of a page: the user's ``setting`` if the dashboard speaks it, else the first ``accepted``
    (Accept-Language, most wanted first) that it speaks, else English. Tags compare without case."""
    known = {tag.lower(): tag for tag in spoken()}
    for tag in [setting or "", *accepted]:
        if (found := known.get(tag.lower())) is not None:
            return found
    return DEFAULT


def request_language(request: Request, setting: str | None) -> str:
    """The language of a page for a user with this ``setting`` (None: not signed in, or from the browser)."""
    return choose(setting, viewer_languages(request))


async def locale_dependency(request: Request, session: OptionalSession) -> str:
    """The request's language, noted for the rest of the request (a dependency of every page router; async so that
    what it notes is seen by the endpoint and the error handlers that run after it)."""
    language = request_language(request, session.access.language if session else None)
    _LOCALE.set(language)
    return language


Language = Annotated[str, Depends(locale_dependency)]


def current() -> str:
    """The language of the request being handled; English outside requests."""
    return _LOCALE.get() or DEFAULT


def noted() -> str | None:
    """The language noted for this request, None when none was (outside a request, or before its dependencies)."""
    return _LOCALE.get()


@contextmanager
def use(language: str) -> Iterator[str]:
    """Run the block in ``language`` (rendering a page; a test)."""
    token = _LOCALE.set(language)
    try:
        yield language
    finally:
        _LOCALE.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current language ('' stays '', not the catalogue's header)."""
    return translations(current()).gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural ``message`` for ``n`` in the current language."""
    return translations(current()).ngettext(singular, plural, n)


def gettext_format(message: str, **values: object) -> str:
    """``message`` in the current language with its ``{name}`` fields filled in."""
    return gettext(message).format(**values)


def format_locale(language: str | None = None) -> Locale:
    """The Babel locale that formats numbers and dates in ``language`` (default: the current one)."""
    language = language or current()
    tag = EXTRA[language][1] if language in EXTRA else language
    return _babel_locale(tag)


@cache
def _babel_locale(tag: str) -> Locale:
    return Locale.parse(tag.replace("-", "_"))


def number(value: float | None, digits: int = 1) -> str:
    """``72.4`` / ``72,4``: a figure with ``digits`` decimals in the current language, no grouping; ``–`` for
    None. What Babel's ``format_decimal`` writes with the pattern ``0.0…`` (a test checks it), made by Python's own
    formatting with the language's decimal mark: a 200-location overview writes about 1,600 figures."""
    if value is None:
        return "–"
    text = f"{round(value, digits) + 0.0:.{max(0, digits)}f}"  # + 0.0: no "-0.0"
    mark = decimal_mark()
    return text if mark == "." else text.replace(".", mark)


def decimal_mark() -> str:
    """``.`` or ``,``: the decimal mark of the current language."""
    return _decimal_symbol(format_locale())


@cache
def _decimal_symbol(locale: Locale) -> str:
    return str(get_decimal_symbol(locale))


def signed(value: float | None, digits: int = 1) -> str:
    """``+3.5`` / ``−1,0``: a change with its sign; ``–`` for None."""
    if value is None:
        return "–"
    text = number(abs(value), digits)
    return ("-" if round(value, digits) < 0 else "+") + text


def day(value: date | None) -> str:
    """A date as the current language writes it: ISO ``2026-11-20`` in English (as the dashboard always wrote
    it), ``20.11.2026`` in German, ``20. nov. 2026`` in Norwegian; ``''`` for None."""
    if value is None:
        return ""
    if current() == DEFAULT:
        return value.isoformat()
    return format_date(value, format="medium", locale=format_locale())


def weekday_names() -> list[str]:
    """Monday … Sunday, abbreviated, in the current language."""
    names: Mapping[int, str] = get_day_names("abbreviated", locale=format_locale())
    return [names[i] for i in range(7)]


#: Words the pages show from data (user roles, tap sides), for the catalogues; templates translate them with ``_()``.
DATA_WORDS = (N_("admin"), N_("manager"), N_("negative"), N_("positive"), N_("neutral"))
