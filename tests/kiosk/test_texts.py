"""Texts and languages (kiosk.texts): fallbacks, the language button, reason labels, the comment keyboard, and the
texts of questions besides the main one (#13)."""

from __future__ import annotations

import pytest

from kiosk.flow import UNPAIRED_CONFIG
from kiosk.texts import (
    KIOSK_TEXTS,
    key_rows,
    language_label,
    language_name,
    languages,
    next_language,
    question_reason_label,
    question_text,
    reason_label,
    text_for,
    texts_in,
)
from shared.protocol import Question
from shared.questions import main_question
from tests.support.kiosk_config import make_config

THREE = make_config(
    default_language="nb",
    texts={"en": {"question": "How?", "reason.slow": "Slow"}, "nb": {"question": "Hvordan?"}, "de": {}},
)


def test_text_for_prefers_config_language_then_english_then_default() -> None:
    config = make_config(
        default_language="de", texts={"de": {"question": "Wie war es?"}, "en": {"question": "How?", "thanks": "Ta"}}
    )
    assert text_for(config, "question") == "Wie war es?"
    assert text_for(config, "thanks") == "Ta"
    assert text_for(make_config(texts={}), "thanks") == "Thank you!"
    assert text_for(UNPAIRED_CONFIG, "question") == "How was your experience today?"


def test_languages_start_with_the_default_and_texts_fall_back() -> None:
    assert languages(THREE) == ["nb", "en", "de"]
    assert text_for(THREE, "question", "de") == "Hvordan?"  # the default language first, then English
    assert text_for(THREE, "skip", "de") == "No, thanks"  # built-in English label
    assert reason_label(THREE, "slow", "nb") == "Slow"
    assert reason_label(THREE, "queue_time", "nb") == "Queue time"
    assert [language_name(c) for c in ("nb", "de", "pt-BR", "xx")] == ["Norsk", "Deutsch", "Português", "XX"]


@pytest.mark.parametrize(("current", "expected"), [("nb", "en"), ("en", "de"), ("de", "nb"), ("fr", "nb")])
def test_the_language_button_cycles_the_languages_and_wraps_around(current: str, expected: str) -> None:
    assert next_language(THREE, current) == expected


def test_the_language_button_shows_every_name_with_the_current_one_bold() -> None:
    assert language_label(THREE, "en") == "Norsk   [b]English[/b]   Deutsch"
    assert language_label(make_config(texts={"en": {}}), "en") == ""  # one language: no button


def test_texts_in_a_language_cover_the_built_in_and_the_configs_keys() -> None:
    shown = texts_in(THREE, "en")
    assert set(KIOSK_TEXTS) <= set(shown) and shown["reason.slow"] == "Slow"
    assert (shown["question"], texts_in(THREE, "de")["question"]) == ("How?", "Hvordan?")


def test_comment_keyboard_rows_add_the_languages_letters() -> None:
    assert key_rows("en") == ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm,.?!"]
    assert key_rows("nb")[-1] == "æøå"
    assert key_rows("de")[-1] == "äöüß"


# -- several questions (#13) -----------------------------------------------------------------------------------

ASKED = make_config(
    default_language="nb",
    texts={"nb": {"question": "Hvordan var det?", "reason.slow": "Treg"}, "en": {"question": "How was it?"}},
)


@pytest.mark.parametrize(
    ("texts", "language", "expected"),
    [
        ({"de": {"question": "Freundlich?"}, "nb": {"question": "Hyggelig?"}}, "de", "Freundlich?"),
        ({"de": {"question": "Freundlich?"}, "nb": {"question": "Hyggelig?"}}, "en", "Hyggelig?"),  # the default
        ({"fr": {"question": "Aimable ?"}}, "de", "Aimable ?"),  # any language the question has
        ({"de": {"question": ""}}, "de", "Staff friendliness"),  # none at all: its id made readable
        ({}, "nb", "Staff friendliness"),
    ],
)
def test_a_questions_text_falls_back_to_the_default_language_then_any_then_its_id(
    texts: dict[str, dict[str, str]], language: str, expected: str
) -> None:
    question = Question(id="staff_friendliness", texts=texts)
    assert question_text(ASKED, question, language) == expected


def test_the_main_questions_text_keeps_its_fallbacks_down_to_the_built_in_one() -> None:
    assert question_text(ASKED, main_question(ASKED, 5), "de") == "Hvordan var det?"
    assert question_text(ASKED, main_question(ASKED, 5), "en") == "How was it?"
    blank = make_config(texts={})
    assert question_text(blank, main_question(blank, 5)) == "How was your experience today?"


def test_a_questions_reason_labels_come_from_the_question_then_the_config_then_the_id() -> None:
    question = Question(id="staff", texts={"en": {"reason.rude": "Rude"}, "nb": {"reason.rude": "Uhøflig"}})
    assert question_reason_label(ASKED, question, "rude", "nb") == "Uhøflig"
    assert question_reason_label(ASKED, question, "rude", "de") == "Uhøflig"  # the default language
    assert question_reason_label(ASKED, question, "slow", "en") == "Treg"  # the location's label
    assert question_reason_label(ASKED, question, "long_wait", "en") == "Long wait"
