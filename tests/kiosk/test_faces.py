"""Pure helpers behind the ask screen: scores, colours, mouths and texts."""

from __future__ import annotations

import pytest

from kiosk.faces import (
    COLOUR_STOPS,
    UNPAIRED_CONFIG,
    face_colour,
    followup_reasons,
    key_rows,
    language_name,
    languages,
    mood,
    mouth,
    reason_label,
    scores_for,
    text_for,
)
from tests.support.kiosk_config import make_config


@pytest.mark.parametrize(("scale", "scores"), [(3, [1, 2, 3]), (4, [1, 2, 3, 4]), (5, [1, 2, 3, 4, 5])])
def test_scores_for_face_scales(scale: int, scores: list[int]) -> None:
    assert scores_for(scale) == scores


def test_scores_for_unknown_scale_raises() -> None:
    with pytest.raises(ValueError, match="scale"):
        scores_for(6)


@pytest.mark.parametrize(
    ("score", "scale", "expected"), [(1, 5, 0.0), (3, 5, 0.5), (5, 5, 1.0), (2, 3, 0.5), (2, 4, 1 / 3), (0, 11, 0.0)]
)
def test_mood(score: int, scale: int, expected: float) -> None:
    assert mood(score, scale) == pytest.approx(expected)


def test_mood_of_score_off_the_scale_raises() -> None:
    with pytest.raises(ValueError):
        mood(4, 3)


def test_colours_run_red_orange_yellow_light_green_green() -> None:
    colours = [face_colour(m) for m in (0, 0.25, 0.5, 0.75, 1)]
    assert colours == [pytest.approx(c) for c in COLOUR_STOPS]
    red, _, _, _, green = colours
    assert red[0] > 0.8 > red[1] and green[1] > 0.6 > green[0]


def test_colour_between_stops_is_interpolated_and_clamped() -> None:
    assert face_colour(0.125) == pytest.approx(tuple((a + b) / 2 for a, b in zip(*COLOUR_STOPS[:2], strict=True)))
    assert face_colour(-1) == face_colour(0) and face_colour(2) == face_colour(1)


def sag(m: float) -> float:
    """How far the mouth's middle sits below its corners (positive: smile, negative: frown)."""
    shape = mouth(m)
    return shape.left[1] - shape.control[1]


def test_mouth_goes_from_frown_through_straight_to_smile() -> None:
    assert sag(0) < 0 and sag(0.5) == pytest.approx(0) and sag(1) > 0
    sags = [sag(mood(s, 5)) for s in range(1, 6)]
    assert sags == sorted(sags) and len(set(sags)) == 5


def test_mouth_points_scale_with_radius() -> None:
    assert mouth(1).points(100, 200, 50) == [
        100 + mouth(1).left[0] * 50,
        200 + mouth(1).left[1] * 50,
        100,
        200 + mouth(1).control[1] * 50,
        100 + mouth(1).right[0] * 50,
        200 + mouth(1).right[1] * 50,
    ]


def test_text_for_prefers_config_language_then_english_then_default() -> None:
    config = make_config(
        default_language="de", texts={"de": {"question": "Wie war es?"}, "en": {"question": "How?", "thanks": "Ta"}}
    )
    assert text_for(config, "question") == "Wie war es?"
    assert text_for(config, "thanks") == "Ta"
    assert text_for(make_config(texts={}), "thanks") == "Thank you!"
    assert text_for(UNPAIRED_CONFIG, "question") == "How was your experience today?"


# -- follow-up reasons, languages, keyboard (#3) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "score", "expected"),
    [
        (5, 1, ["slow", "rude"]),
        (5, 2, ["slow", "rude"]),
        (5, 3, []),
        (5, 4, ["fast"]),
        (3, 1, ["slow", "rude"]),
        (3, 2, []),
        (3, 3, ["fast"]),
        (4, 2, ["slow", "rude"]),
        (4, 3, ["fast"]),
        (11, 6, ["slow", "rude"]),
        (11, 7, []),
        (11, 8, []),
        (11, 9, ["fast"]),
    ],
)
def test_followup_reasons_follow_the_negative_and_positive_scores(scale: int, score: int, expected: list[str]) -> None:
    config = make_config(scale=scale, followup={"negative_reasons": ["slow", "rude"], "positive_reasons": ["fast"]})
    assert followup_reasons(config, score) == expected


def test_no_followup_question_means_no_reasons() -> None:
    assert followup_reasons(make_config(), 1) == []


def test_languages_start_with_the_default_and_texts_fall_back() -> None:
    config = make_config(
        default_language="nb",
        texts={"en": {"question": "How?", "reason.slow": "Slow"}, "nb": {"question": "Hvordan?"}, "de": {}},
    )
    assert languages(config) == ["nb", "en", "de"]
    assert text_for(config, "question", "de") == "Hvordan?"  # the default language first, then English
    assert text_for(config, "skip", "de") == "No, thanks"  # built-in English label
    assert reason_label(config, "slow", "nb") == "Slow"
    assert reason_label(config, "queue_time", "nb") == "Queue time"
    assert [language_name(c) for c in ("nb", "de", "pt-BR", "xx")] == ["Norsk", "Deutsch", "Português", "XX"]


def test_comment_keyboard_rows_add_the_languages_letters() -> None:
    assert key_rows("en") == ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm,.?!"]
    assert key_rows("nb")[-1] == "æøå"
    assert key_rows("de")[-1] == "äöüß"
