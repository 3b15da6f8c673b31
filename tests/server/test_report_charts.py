"""Server-side SVG charts for reports and the poster (server.reports.charts): the trend line over its 95 % band,
broken where nobody answered, labels escaped, NPS on −100…100, and faces from frown to smile."""

from __future__ import annotations

import re

import pytest

from server.reports.charts import Point, face, face_colour, faces_bar, trend_chart
from shared import scores


def estimate(value: float | None, n: int = 40) -> scores.Estimate:
    if value is None:
        return scores.Estimate(n=0, value=None, low=None, high=None)
    return scores.Estimate(n=n, value=value, low=value - 5, high=value + 5)


def test_trend_line_breaks_where_nobody_answered():
    points = [Point(str(i), estimate(v)) for i, v in enumerate([60, 65, None, 70, 72, 74, None, 50])]

    svg = trend_chart(points)

    assert svg.count("<polyline") == 2  # 60–65 and 70–74; the lone 50 is a dot with a bar for its interval
    assert svg.count("<polygon") == 2 and svg.count("<rect") == 1
    assert svg.count("<circle") == 6


def test_small_samples_are_hollow_dots_and_the_target_is_drawn():
    svg = trend_chart([Point("a", estimate(60, n=5)), Point("b", estimate(70))], target=75)

    assert re.findall(r'<circle [^>]*fill="([^"]+)"', svg) == ["#ffffff", "#1f6feb"]
    assert "target 75" in svg and "stroke-dasharray" in svg


def test_labels_are_escaped():
    svg = trend_chart([Point("<b>&", estimate(50)), Point("x", estimate(55))], title='"><script>')

    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg and "<script>" not in svg


def test_nps_axis_runs_from_minus_100():
    svg = trend_chart([Point("a", estimate(-20)), Point("b", estimate(10))], nps=True)

    assert ">-100</text>" in svg and ">100</text>" in svg and ">0</text>" in svg


@pytest.mark.parametrize(("score", "scale", "colour"), [(1, 5, "#d64545"), (5, 5, "#37a05a"), (2, 3, "#f2c230"),
                                                         (0, 11, "#d64545"), (10, 11, "#37a05a")])  # fmt: skip
def test_faces_run_from_red_to_green(score, scale, colour):
    assert face_colour(score, scale) == colour
    assert colour in face(score, scale)


def test_faces_bar_shows_each_faces_share():
    svg = faces_bar({"1": 10, "2": 0, "3": 30, "4": 20, "5": 40}, 5)

    assert re.findall(r">(\d+) %<", svg) == ["10", "30", "20", "40"]
    assert faces_bar({"1": 0, "2": 0, "3": 0}, 3) == ""
