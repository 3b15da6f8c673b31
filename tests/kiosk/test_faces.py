"""Face drawing as numbers (kiosk.ui.faces, no Kivy): mood per score, colours, mouths."""

from __future__ import annotations

import pytest

from kiosk.ui.faces import COLOUR_STOPS, face_colour, mood, mouth


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
