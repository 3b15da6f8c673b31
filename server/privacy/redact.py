"""Redact personal data from a comment before it is stored: e-mail addresses become ``[email]``, card-like
numbers (13-19 digits, optionally grouped by spaces or dashes, Luhn-valid) ``[card]`` and phone numbers
``[phone]`` (international ``+CC``/``00CC`` numbers, and the national forms of Norway, Germany, the UK and the
US). Flight numbers (SK4035), times, prices, dates, years, postcodes and other short numbers are kept.

Ingest calls :func:`redact` on every comment, so it is cheap for the common case: a comment with no digit and
no ``@`` is returned at once, and the patterns are compiled once. Redacting a redacted text changes nothing
(the placeholders hold no digit and no ``@``). See docs/architecture.md ("Wire protocol v1") for the
``redacted`` flag the stored tap then carries.

Raises nothing.
"""

from __future__ import annotations

import re
from typing import overload

EMAIL = "[email]"
PHONE = "[phone]"
CARD = "[card]"

# A number starts and ends apart from letters, digits and the digit-joining marks of a decimal, time or date
# (so "SK4035", "12:45", "26.11.2026" or "1 299,-" never lend digits to a match).
_START = r"(?<![\w+@])(?<![0-9][.,:/-])"
_END = r"(?![\w@])(?![.,:/-]?[0-9])"

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(_START + r"[0-9](?:[ -]?[0-9]){12,}" + _END)  # cut to 13-19 by _card
_PHONE = re.compile(
    _START
    + "(?:"
    # international: +47 412 34 567, +49 (0)30 1234567, +1 (415) 555-2671, 0044 20 7946 0958
    + r"(?:\+|00)[1-9][0-9]{0,2}(?:[ .-]?\(0\))?(?:[ ./-]?\(?[0-9]{2,5}\)?){1,6}"
    # US: (415) 555-2671, 415-555-2671, 415.555.2671, 415 555 2671
    + r"|\([2-9][0-9]{2}\) ?[0-9]{3}[-. ][0-9]{4}"
    + r"|[2-9][0-9]{2}(?:-[0-9]{3}-|\.[0-9]{3}\.| [0-9]{3} )[0-9]{4}"
    # national with a trunk 0 (Germany, the UK): 030 1234567, 0151 23456789, 020 7946 0958, 07700 900123
    + r"|0[1-9][0-9]{1,3}(?:[ /-]?[0-9]{2,8}){1,3}"
    # Norway: 41234567, 412 34 567, 41 23 45 67
    + r"|[2-9][0-9]{7}|[2-9][0-9]{2} [0-9]{2} [0-9]{3}|[2-9][0-9](?: [0-9]{2}){3}"
    + ")"
    + _END
)
_MAYBE_PERSONAL = re.compile(r"[0-9@]").search
_NOT_DIGIT = re.compile(r"[^0-9]")
_DIGITS = re.compile(r"[0-9]+")


@overload
def redact(text: str) -> tuple[str, bool]: ...
@overload
def redact(text: None) -> tuple[None, bool]: ...
def redact(text: str | None) -> tuple[str | None, bool]:
    """``text`` with e-mail addresses, card-like numbers and phone numbers replaced by ``[email]``, ``[card]``
    and ``[phone]``, and whether anything was replaced. None stays None."""
    if text is None or _MAYBE_PERSONAL(text) is None:
        return text, False
    out = text
    if "@" in out:
        out = _EMAIL.sub(EMAIL, out)
    out = _CARD.sub(_card, out)
    out = _PHONE.sub(_phone, out)
    return out, out != text


def _card(match: re.Match[str]) -> str:
    """The card number in a candidate: the longest Luhn-valid run of its digit groups, earliest first (a
    candidate may run on into a year or a count written after the number)."""
    text = match[0]
    groups = [(m.start(), m.end()) for m in _DIGITS.finditer(text)]
    for i, (start, _) in enumerate(groups):
        for _, end in reversed(groups[i:]):
            digits = _NOT_DIGIT.sub("", text[start:end])
            if 13 <= len(digits) <= 19 and _ends_apart(text, end) and luhn_valid(digits):
                return text[:start] + CARD + _CARD.sub(_card, text[end:])
    return text


def _phone(match: re.Match[str]) -> str:
    """The phone number in a candidate: its longest prefix of whole digit groups with 8-15 digits (E.164's most;
    the fewest of a Norwegian number), 10-12 after a trunk 0 (a German or UK area code and number)."""
    text = match[0]
    trunk = text.startswith("0") and not text.startswith("00")
    low, high = (10, 12) if trunk else (8, 15)
    for found in reversed(list(_DIGITS.finditer(text))):
        end = found.end()
        digits = sum(c.isdigit() for c in text[:end])
        if low <= digits <= high and _ends_apart(text, end):
            return PHONE + _PHONE.sub(_phone, text[end:])
    return text


def _ends_apart(text: str, end: int) -> bool:
    """Whether cutting ``text`` at ``end`` leaves no decimal, time or date split (``12`` | ``.50``)."""
    return not (text[end : end + 1] in (".", ",", ":", "/", "-") and text[end + 1 : end + 2].isdigit())


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (the check digit of payment card numbers)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = ord(char) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0
