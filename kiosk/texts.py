"""The kiosk's texts and languages: which text to show for a key in a language, the language button's cycle and
label, follow-up reason labels, and the comment keyboard's rows per language. Pure; no Kivy, no I/O.

Every text comes from the config's ``texts[<language>][<key>]``, falling back to the default language, then
English, then the built-in English :data:`KIOSK_TEXTS`. A question besides the main one (#13) brings its own texts
(:func:`question_text`, :func:`question_reason_label`). Face drawing lives in :mod:`kiosk.ui.faces`.
"""

from __future__ import annotations

from shared import texts
from shared.protocol import DEFAULT_TEXTS, KioskConfig, Question

#: English texts for every key in shared.protocol.TEXT_KEYS; a config's texts override them per language.
KIOSK_TEXTS: dict[str, str] = {
    **DEFAULT_TEXTS,
    "followup_question": "What was the main reason?",
    "comment_prompt": "Anything you would like to add?",
    "closed": "We are closed right now.\nSee you soon!",
    "attract": "How did we do?\nTouch the screen to tell us.",
    "skip": "No, thanks",
    "comment_button": "Write a comment",
    "send": "Send",
    "cancel": "Cancel",
    "nps_low": "Not at all likely",
    "nps_high": "Extremely likely",
}

#: Names of languages in themselves, for the language button; unknown codes show in capitals.
LANGUAGE_NAMES = {
    "en": "English", "nb": "Norsk", "nn": "Nynorsk", "no": "Norsk", "sv": "Svenska", "da": "Dansk",
    "fi": "Suomi", "de": "Deutsch", "fr": "Français", "es": "Español", "it": "Italiano", "nl": "Nederlands",
    "pt": "Português", "pl": "Polski", "tr": "Türkçe", "is": "Íslenska",
}  # fmt: skip

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
    for lang in (language or config.default_language, config.default_language, "en"):
        text = config.texts.get(lang, {}).get(key)
        if text:
            return text
    return KIOSK_TEXTS.get(key, "")


def texts_in(config: KioskConfig, language: str) -> dict[str, str]:
    """Every text the screens show (the built-in keys and every key of the config), in ``language``."""
    keys = {*KIOSK_TEXTS, *(key for by_key in config.texts.values() for key in by_key)}
    return {key: text_for(config, key, language) for key in keys}


def reason_label(config: KioskConfig, reason: str, language: str | None = None) -> str:
    """Label of follow-up reason ``reason`` ("reason.<id>" in the texts), else the id made readable: the rule the
    dashboard shows it by too (:func:`shared.texts.reason_label`)."""
    return texts.reason_label(config, reason, language)


def _question_lookup(config: KioskConfig, question: Question, key: str, language: str | None) -> str | None:
    """Text ``key`` of ``question`` in ``language``, else the default language, else English, else any language
    the question has it in; None if it has none."""
    for lang in (language or config.default_language, config.default_language, "en", *question.texts):
        if text := question.texts.get(lang, {}).get(key):
            return text
    return None


def question_text(config: KioskConfig, question: Question, language: str | None = None) -> str:
    """What ``question`` asks, in ``language``: the main question's text as :func:`text_for` finds it (down to the
    built-in one); another question's from its own texts (that language, the default one, English, any), else its
    id made readable ("staff_friendliness" -> "Staff friendliness", as :func:`shared.texts.readable` words a reason).
    """
    if question.id == config.question_id:
        return text_for(config, "question", language)
    found = _question_lookup(config, question, "question", language)
    return found or texts.readable(question.id.replace("-", "_"))


def question_reason_label(config: KioskConfig, question: Question, reason: str, language: str | None = None) -> str:
    """Label of follow-up reason ``reason`` of ``question``: from the question's texts ("reason.<id>"), else the
    config's (:func:`reason_label`, which ends with the id made readable)."""
    return _question_lookup(config, question, f"reason.{reason}", language) or reason_label(config, reason, language)


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
    return LANGUAGE_NAMES.get(code.split("-")[0], code.upper())


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
