"""Mask swear words in comments where they are shown, for locations that ask for it (``locations.mask_profanity``):
each word of the shipped lists (``profanity/{en,nb,de}.txt``), matched as a whole word and ignoring case, keeps
its first letter and the rest becomes ``*`` ("fuck" -> "f***"). Stored comments and exports are never masked.

Raises nothing.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

LANGUAGES = ("en", "nb", "de")


def words(language: str) -> list[str]:
    """The masked words of one language's list (lower case; ``#`` lines are comments)."""
    text = resources.files(__package__).joinpath("profanity", f"{language}.txt").read_text(encoding="utf-8")
    return [line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@functools.cache
def _pattern() -> re.Pattern[str]:
    """One pattern for every language's words, longest first, between word boundaries (built once)."""
    every = sorted({word for language in LANGUAGES for word in words(language)}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, every)) + r")\b", re.IGNORECASE)


def mask(text: str) -> str:
    """``text`` with every listed swear word reduced to its first letter and stars."""
    return _pattern().sub(lambda m: m[0][0] + "*" * (len(m[0]) - 1), text)
