"""The kiosk's texts and languages: which text to show for a key in a language, the language button's cycle and
label, follow-up reason labels, and the comment keyboard's rows per language. Pure; no Kivy, no I/O.

Every text comes from the config's ``texts[<language>][<key>]``, falling back to the default language, then
English, then the built-in English :data:`KIOSK_TEXTS`. A question besides the main one (#13) brings its own texts
(:func:`question_text`, :func:`question_reason_label`). Face drawing lives in :mod:`kiosk.ui.faces`.
"""

from __future__ import annotations

from shared import texts
from shared.protocol import KioskConfig, Question

KIOSK_TEXTS = texts.BUILT_IN_TEXTS  # English texts for every key; a config's texts override them per language
LANGUAGE_NAMES = texts.LANGUAGE_NAMES

#: Extra letters on the comment keyboard per language (the base rows are a-z).
EXTRA_LETTERS = {
    "nb": "æøå", "nn": "æøå", "no": "æøå", "da": "æøå", "sv": "åäö", "fi": "åäö", "de": "äöüß",
    "fr": "éèàçù", "es": "ñáéíóú", "it": "àèéìòù", "pt": "ãçáéíóõ", "pl": "ąćęłńóśźż", "is": "áðéíóúýþæö",
    "tr": "çğıöşü", "nl": "éë",
}  # fmt: skip
KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm,.?!")


def text_for(config: KioskConfig, key: str, language: str | None = None) -> str:
    """Text ``key`` in ``language`` (default: the config's), else the default language's, else English, else
    the built-in English text (:data:`KIOSK_TEXTS`); "" for a key nobody knows."""
    return texts.text_for(config, key, language)


def texts_in(config: KioskConfig, language: str) -> dict[str, str]:
    """Every text the screens show (the built-in keys and every key of the config), in ``language``."""
    keys = {*KIOSK_TEXTS, *(key for by_key in config.texts.values() for key in by_key)}
    return {key: text_for(config, key, language) for key in keys}


def reason_label(config: KioskConfig, reason: str, language: str | None = None) -> str:
    """Label of follow-up reason ``reason`` ("reason.<id>" in the texts), else the id made readable: the rule the
    dashboard shows it by too (:func:`shared.texts.reason_label`)."""
    return texts.reason_label(config, reason, language)


def question_text(config: KioskConfig, question: Question, language: str | None = None) -> str:
    """What ``question`` asks, in ``language`` (:func:`shared.texts.question_text`)."""
    return texts.question_text(config, question, language)


def question_reason_label(config: KioskConfig, question: Question, reason: str, language: str | None = None) -> str:
    """Label of follow-up reason ``reason`` of ``question`` (:func:`shared.texts.question_reason_label`)."""
    return texts.question_reason_label(config, question, reason, language)


def languages(config: KioskConfig) -> list[str]:
    """Languages the language button cycles through: the default first, then the others in config order."""
    codes = list(config.texts)
    return [config.default_language, *(c for c in codes if c != config.default_language)]


def next_language(config: KioskConfig, current: str) -> str:
    """The language after ``current`` in :func:`languages` (wraps around; an unknown code gives the first)."""
    codes = languages(config)
    index = codes.index(current) if current in codes else -1
    return codes[(index + 1) % len(codes)]


def language_name(code: str) -> str:
    """``code``'s own name ("Deutsch" for de), or the code in capitals."""
    return texts.language_name(code)


def language_label(config: KioskConfig, current: str) -> str:
    """The language button's text: every language's name, ``current`` in bold (Kivy markup); "" with only one."""
    codes = languages(config)
    if len(codes) < 2:
        return ""
    return "   ".join(f"[b]{language_name(c)}[/b]" if c == current else language_name(c) for c in codes)


def key_rows(language: str) -> list[str]:
    """Rows of letter keys for the comment keyboard in ``language`` (a-z plus that language's letters)."""
    extra = EXTRA_LETTERS.get(language.split("-")[0], "")
    return [*KEY_ROWS, extra] if extra else list(KEY_ROWS)


__all__ = [
    "KIOSK_TEXTS",
    "key_rows",
    "language_label",
    "language_name",
    "languages",
    "next_language",
    "question_reason_label",
    "question_text",
    "reason_label",
    "text_for",
    "texts_in",
]
