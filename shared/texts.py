"""Texts of a location's config in a language, with the fallbacks the kiosk and the dashboard share.

Pure: no I/O. A text is looked up in the asked language, then the location's default language, then English,
then any other language of the config that has it; a follow-up reason without any label is shown as its id
made readable ("queue_time" -> "Queue time"), never as the raw id. The built-in English texts
(:data:`BUILT_IN_TEXTS`) and the languages' own names (:data:`LANGUAGE_NAMES`) are the kiosk's and the web page's.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.protocol import DEFAULT_TEXTS, LocationConfig, Question

#: English texts for every key in shared.protocol.TEXT_KEYS; a config's texts override them per language.
BUILT_IN_TEXTS: dict[str, str] = {
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

#: Names of languages in themselves, for a language button or switch; unknown codes show in capitals.
LANGUAGE_NAMES = {
    "en": "English", "nb": "Norsk", "nn": "Nynorsk", "no": "Norsk", "sv": "Svenska", "da": "Dansk",
    "fi": "Suomi", "de": "Deutsch", "fr": "Français", "es": "Español", "it": "Italiano", "nl": "Nederlands",
    "pt": "Português", "pl": "Polski", "tr": "Türkçe", "is": "Íslenska",
}  # fmt: skip


def language_name(code: str) -> str:
    """``code``'s own name ("Deutsch" for de), or the code in capitals."""
    return LANGUAGE_NAMES.get(code.split("-")[0], code.upper())


def text_for(
    config: LocationConfig, key: str, language: str | None = None, built_in: Mapping[str, str] = BUILT_IN_TEXTS
) -> str:
    """Text ``key`` in ``language`` (default: the config's), else the default language's, else English, else
    ``built_in``'s; "" for a key nobody knows."""
    for lang in (language or config.default_language, config.default_language, "en"):
        if text := config.texts.get(lang, {}).get(key):
            return text
    return built_in.get(key, "")


def _question_lookup(config: LocationConfig, question: Question, key: str, language: str | None) -> str | None:
    """Text ``key`` of ``question`` in ``language``, else the default language, else English, else any language
    the question has it in; None if it has none."""
    for lang in (language or config.default_language, config.default_language, "en", *question.texts):
        if text := question.texts.get(lang, {}).get(key):
            return text
    return None


def question_text(
    config: LocationConfig,
    question: Question,
    language: str | None = None,
    built_in: Mapping[str, str] = BUILT_IN_TEXTS,
) -> str:
    """What ``question`` asks, in ``language``: the main question's text as :func:`text_for` finds it (down to the
    built-in one); another question's from its own texts (that language, the default one, English, any), else its
    id made readable ("staff_friendliness" -> "Staff friendliness")."""
    if question.id == config.question_id:
        return text_for(config, "question", language, built_in)
    found = _question_lookup(config, question, "question", language)
    return found or readable(question.id.replace("-", "_"))


def question_reason_label(config: LocationConfig, question: Question, reason: str, language: str | None = None) -> str:
    """Label of follow-up reason ``reason`` of ``question``: from the question's texts ("reason.<id>"), else the
    config's (:func:`reason_label`, which ends with the id made readable)."""
    return _question_lookup(config, question, f"reason.{reason}", language) or reason_label(config, reason, language)


def lookup(config: LocationConfig, key: str, language: str | None = None) -> str | None:
    """Text ``key`` in ``language``, else the default language, else English, else any language; None if none."""
    for lang in (language or config.default_language, config.default_language, "en", *config.texts):
        if text := config.texts.get(lang, {}).get(key):
            return text
    return None


def readable(reason_id: str) -> str:
    """A reason id as words: "queue_time" -> "Queue time"."""
    return reason_id.replace("_", " ").capitalize()


def reason_label(config: LocationConfig, reason_id: str, language: str | None = None) -> str:
    """The label of follow-up reason ``reason_id`` (text key ``reason.<id>``) as :func:`lookup` finds it, else
    the id made readable."""
    return lookup(config, f"reason.{reason_id}", language) or readable(reason_id)
