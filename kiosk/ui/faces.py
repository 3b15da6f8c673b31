"""Face drawing, as numbers: where a score sits between the saddest and the happiest face (its mood), the colour
for a mood and the mouth for a mood. Pure; no Kivy, so the shapes can be tested without a window
(:class:`kiosk.ui.widgets.FaceButton` draws them on the canvas).

Mood runs from 0 (saddest face) to 1 (happiest face). Neighbouring faces differ in colour *and* in the shape of
the mouth, for customers who cannot tell red from green. Texts and languages live in :mod:`kiosk.texts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.protocol import score_range

#: Colour stops from the saddest to the happiest face: red, orange, yellow, light green, green (RGB, 0..1).
COLOUR_STOPS: tuple[tuple[float, float, float], ...] = (
    (0.90, 0.16, 0.16),
    (0.96, 0.55, 0.10),
    (0.98, 0.84, 0.15),
    (0.56, 0.82, 0.25),
    (0.16, 0.66, 0.27),
)


@dataclass(frozen=True)
class Mouth:
    """A mouth as a quadratic bezier, in units of the face radius, relative to the face centre."""

    left: tuple[float, float]
    control: tuple[float, float]
    right: tuple[float, float]

    def points(self, cx: float, cy: float, radius: float) -> list[float]:
        """Flat [x0, y0, x1, y1, x2, y2] for kivy.graphics.Line(bezier=...)."""
        return [coord for x, y in (self.left, self.control, self.right) for coord in (cx + x * radius, cy + y * radius)]


def mood(score: int, scale: int) -> float:
    """Where ``score`` sits on ``scale``: 0.0 saddest .. 1.0 happiest. Raises ValueError if not on it."""
    scores = list(score_range(scale))
    if score not in scores:
        raise ValueError(f"score {score} is not on scale {scale}")
    return (score - scores[0]) / (scores[-1] - scores[0])


def face_colour(m: float) -> tuple[float, float, float]:
    """Colour for mood ``m`` (clamped to 0..1), interpolated between the COLOUR_STOPS."""
    m = min(1.0, max(0.0, m))
    position = m * (len(COLOUR_STOPS) - 1)
    index = min(int(position), len(COLOUR_STOPS) - 2)
    frac = position - index
    low, high = COLOUR_STOPS[index], COLOUR_STOPS[index + 1]
    r, g, b = (a + (c - a) * frac for a, c in zip(low, high, strict=True))
    return (r, g, b)


def mouth(m: float) -> Mouth:
    """Mouth for mood ``m``: a deep frown at 0, a straight line at 0.5, a wide smile at 1.

    The corners rise and the middle drops as the mood improves, so neighbouring faces differ in shape,
    not only in colour.
    """
    curve = (min(1.0, max(0.0, m)) - 0.5) * 2  # -1 frown .. +1 smile
    corner_y = -0.38 + 0.08 * curve
    half_width = 0.42 + 0.06 * curve
    return Mouth(
        left=(-half_width, corner_y),
        control=(0.0, corner_y - 0.55 * curve),
        right=(half_width, corner_y),
    )


__all__ = ["COLOUR_STOPS", "Mouth", "face_colour", "mood", "mouth"]
