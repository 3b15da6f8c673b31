"""Texts of a location's config in a language, with the fallbacks the kiosk and the dashboard share.

Pure: no I/O. A text is looked up in the asked language, then the location's default language, then English,
then any other language of the config that has it; a follow-up reason without any label is shown as its id
made readable ("queue_time" -> "Queue time"), never as the raw id.
"""

from __future__ import annotations

from shared.protocol import LocationConfig


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
