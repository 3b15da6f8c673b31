"""Charts drawn on the server as inline SVG, for reports and the poster: a trend line with its 95 % band (and the
target as a dashed line), a stacked bar of faces, and a smiley face. Pure: strings in, :class:`markupsafe.Markup`
out; every text that goes into the SVG is escaped, every number formatted here.

Raises nothing of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from shared import scores

# Face colours from the worst face to the best (five steps; 3- and 4-face scales pick from them).
FACE_COLOURS = ("#d64545", "#f08c3a", "#f2c230", "#8cc152", "#37a05a")
INK, GRID, BAND, LINE, TARGET = "#24292f", "#d8dde3", "#9ec5fe", "#1f6feb", "#8250df"


@dataclass(frozen=True)
class Point:
    """One x position of a trend: its label and the estimate there (value None: nobody answered)."""

    label: str
    estimate: scores.Estimate


def _position(score: int, scale: int) -> float:
    """Where a score sits on its scale: 0 for the worst, 1 for the best."""
    return score / 10 if scale == scores.NPS_SCALE else (score - 1) / (scale - 1)


def face_colour(score: int, scale: int) -> str:
    """The colour of a face: red for the worst, green for the best, by its position on the scale."""
    return FACE_COLOURS[round(_position(score, scale) * (len(FACE_COLOURS) - 1))]


def face(score: int, scale: int, size: float = 48) -> Markup:
    """A smiley face of ``score``: coloured circle, two eyes, a mouth from frown to smile."""
    curve = (_position(score, scale) - 0.5) * 2  # -1 frown … 1 smile
    mouth_y, bend = 64, 22 * curve
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="{size:g}" height="{size:g}" '
        f'role="img" aria-label="face {score} of {scale}">'
        f'<circle cx="50" cy="50" r="46" fill="{face_colour(score, scale)}" stroke="{INK}" stroke-width="3"/>'
        f'<circle cx="35" cy="38" r="6" fill="{INK}"/><circle cx="65" cy="38" r="6" fill="{INK}"/>'
        f'<path d="M28 {mouth_y - bend / 2:.1f} Q50 {mouth_y + bend:.1f} 72 {mouth_y - bend / 2:.1f}" fill="none" '
        f'stroke="{INK}" stroke-width="6" stroke-linecap="round"/></svg>'
    )


@dataclass(frozen=True)
class Frame:
    """Where the plot sits in the SVG and the value range it shows."""

    width: float
    height: float
    low: float
    high: float
    left: float = 34
    right: float = 10
    top: float = 10
    bottom: float = 22

    def x(self, index: int, count: int) -> float:
        inner = self.width - self.left - self.right
        return self.left + (inner * (index + 0.5) / count if count else 0)

    def y(self, value: float) -> float:
        inner = self.height - self.top - self.bottom
        clipped = min(self.high, max(self.low, value))
        return self.top + inner * (self.high - clipped) / ((self.high - self.low) or 1)


def trend_chart(
    points: Sequence[Point], *, nps: bool = False, target: float | None = None, width: float = 680,
    height: float = 190, title: str = "Trend",
) -> Markup:  # fmt: skip
    """A line of the points' values over their 95 % band (0–100, or −100…100 for NPS); gaps where nobody
    answered break the line; small samples are hollow dots; ``target`` is a dashed line."""
    frame = Frame(width, height, -100.0 if nps else 0.0, 100.0)
    parts = [_grid(frame), *_x_labels(frame, [p.label for p in points])]
    for run in _runs(points):
        parts.append(_band(frame, run, len(points)))
        parts.append(_line(frame, run, len(points)))
    if target is not None:
        y = frame.y(target)
        parts.append(f'<line x1="{frame.left}" x2="{width - frame.right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="6 4"/>'
                     f'<text x="{width - frame.right - 2}" y="{y - 4:.1f}" text-anchor="end" fill="{TARGET}" '
                     f'font-size="10">target {target:g}</text>')  # fmt: skip
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" width="{width:g}" '
        f'height="{height:g}" role="img" aria-label="{escape(title)}" font-family="DejaVu Sans, Arial, sans-serif">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def _grid(frame: Frame) -> str:
    """Horizontal grid lines with their values, every quarter of the range."""
    out = []
    for step in range(5):
        value = frame.low + (frame.high - frame.low) * step / 4
        y = frame.y(value)
        out.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{GRID}" stroke-width="1"/><text x="{frame.left - 4}" y="{y + 3:.1f}" '
                   f'text-anchor="end" font-size="9" fill="{INK}">{value:g}</text>')  # fmt: skip
    return "".join(out)


def _x_labels(frame: Frame, labels: list[str]) -> list[str]:
    """Labels under the x axis, thinned to at most about 16 so they never overlap."""
    every = max(1, -(-len(labels) // 16))
    y = frame.height - 6
    return [
        f'<text x="{frame.x(i, len(labels)):.1f}" y="{y}" text-anchor="middle" font-size="9" fill="{INK}">'
        f"{escape(label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def _runs(points: Sequence[Point]) -> list[list[tuple[int, scores.Estimate]]]:
    """Consecutive points that have a value, with their positions."""
    runs: list[list[tuple[int, scores.Estimate]]] = [[]]
    for i, point in enumerate(points):
        if point.estimate.value is None:
            runs.append([])
        else:
            runs[-1].append((i, point.estimate))
    return [run for run in runs if run]


def _band(frame: Frame, run: list[tuple[int, scores.Estimate]], count: int) -> str:
    """The 95 % interval of a run as a filled polygon (a single point: a vertical bar)."""
    upper = [(frame.x(i, count), frame.y(e.high if e.high is not None else e.value or 0)) for i, e in run]
    lower = [(frame.x(i, count), frame.y(e.low if e.low is not None else e.value or 0)) for i, e in run]
    if len(run) == 1:
        (x, top), (_, bottom) = upper[0], lower[0]
        return f'<rect x="{x - 3:.1f}" y="{top:.1f}" width="6" height="{bottom - top:.1f}" fill="{BAND}"/>'
    outline = " ".join(f"{x:.1f},{y:.1f}" for x, y in [*upper, *reversed(lower)])
    return f'<polygon points="{outline}" fill="{BAND}" fill-opacity="0.6" stroke="none"/>'


def _line(frame: Frame, run: list[tuple[int, scores.Estimate]], count: int) -> str:
    """The values of a run as a line with a dot per point; small samples hollow."""
    xy = [(frame.x(i, count), frame.y(e.value or 0), e.small) for i, e in run]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in xy)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{"#ffffff" if small else LINE}" stroke="{LINE}" '
        f'stroke-width="1.4"/>'
        for x, y, small in xy
    )
    path = f'<polyline points="{line}" fill="none" stroke="{LINE}" stroke-width="2"/>' if len(xy) > 1 else ""
    return path + dots


def faces_bar(counts: dict[str, int], scale: int, width: float = 680, height: float = 26) -> Markup:
    """One bar split by face, worst to best, each part in its face's colour with its share when it fits."""
    total = sum(counts.values())
    if total == 0 or scale == scores.NPS_SCALE:
        return Markup("")
    parts, x = [], 0.0
    for score, count in sorted(counts.items(), key=lambda item: int(item[0])):
        share = count / total
        part = width * share
        parts.append(f'<rect x="{x:.1f}" y="0" width="{part:.1f}" height="{height:g}" '
                     f'fill="{face_colour(int(score), scale)}"/>')  # fmt: skip
        if part >= 34:
            parts.append(f'<text x="{x + part / 2:.1f}" y="{height / 2 + 4:.1f}" text-anchor="middle" '
                         f'font-size="11" fill="{INK}">{share * 100:.0f} %</text>')  # fmt: skip
        x += part
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" width="{width:g}" '
        f'height="{height:g}" role="img" aria-label="faces" font-family="DejaVu Sans, Arial, sans-serif">'
        f"{''.join(parts)}</svg>"
    )
