"""Score maths for Smilepost (see docs/architecture.md, "Score maths"). Pure functions: no I/O, stdlib only.

Input is rollup rows ``(scale, score, count)``, e.g. from
``SELECT scale, score, sum(count) ... GROUP BY scale, score``. Face scales n ∈ {3, 4, 5} have
scores 1..n; the NPS scale 11 has scores 0..10. Face scores ignore scale-11 rows and NPS ignores
face rows, but every row is validated. Results are unrounded floats; callers round for display.

Formulas (z = Z95 = 1.959963984540054, N = number of taps counted):

- **Happy Index** = 100 × mean(x) with x = (score − 1) / (n − 1) per tap, n being that row's own
  scale, so rows of different face scales combine. Interval: value ± z × s / √N, s the sample
  standard deviation of 100·x (ddof = 1), clipped to [0, 100]. N = 0 → value/low/high None;
  N = 1 → interval (0, 100).
- **CSAT %** = 100 × k / N, k = taps on positive faces (top two faces for n = 4, 5; top face for n = 3).
- **Negative %** = 100 × k / N, k = taps on negative faces (bottom two for n = 4, 5; bottom face for n = 3).
- **Wilson 95 % interval** of a proportion p = k / N:
  (p + z²/2N ± z·√(p(1 − p)/N + z²/4N²)) / (1 + z²/N), reported in percent for shares.
- **NPS** = 100 × (p_p − p_d), p_p = share of 9–10, p_d = share of 0–6 among scale-11 taps.
  Interval: NPS ± z × 100 × √((p_p + p_d − (p_p − p_d)²) / N), clipped to [−100, 100];
  N = 0 → None; N = 1 → (−100, 100).
- **Ranking score** (shrinks small samples toward the overall mean):
  (overall × W + index × n) / (W + n), W = RANKING_WEIGHT; index None or n = 0 → overall.
- **Small sample**: n < SMALL_SAMPLE ("few responses").
- **Side** of a press (:func:`side`): negative faces (as above) ``negative``, positive faces ``positive``, the
  middle face of an odd scale and 7–8 on 0–10 ``neutral``. A follow-up reason belongs to the side of the face
  that was tapped (the kiosk offers the negative list after a negative face), never to a configured list.
- **Repeat presses** (:func:`is_repeat`): a press within the repeat-press interval after the previous press of the
  same kiosk and question is stored flagged ``repeat`` and left out of every figure; :data:`FILTERED` lists
  every reason a stored press can be left out, and each has its own count, so nothing is left out silently.

Errors: every function raises only :class:`ValueError` — unknown scale, score outside its
scale's range, negative count, or (Wilson) n ≤ 0 / k outside 0..n.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal, NamedTuple

Z95 = 1.959963984540054
SMALL_SAMPLE = 30
RANKING_WEIGHT = 20.0

# Mirrors shared.protocol (kept local so this module needs only the stdlib; a test checks they agree).
FACE_SCALES = (3, 4, 5)
NPS_SCALE = 11

Row = tuple[int, int, int]
Side = Literal["negative", "neutral", "positive"]
SIDES: tuple[Side, ...] = ("negative", "neutral", "positive")
# Why a stored press is left out of the figures: a tap flag per reason. Summaries count each of them.
FILTERED = ("repeat",)


@dataclass(frozen=True)
class Share:
    """A percentage ``100*k/n`` with its 95 % Wilson interval (percent); None when n == 0."""

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None

    @property
    def small(self) -> bool:
        """True when there are fewer than SMALL_SAMPLE responses."""
        return self.n < SMALL_SAMPLE


@dataclass(frozen=True)
class Estimate:
    """A mean-type score with a 95 % interval; None when n == 0."""

    n: int
    value: float | None
    low: float | None
    high: float | None

    @property
    def small(self) -> bool:
        """True when there are fewer than SMALL_SAMPLE responses."""
        return self.n < SMALL_SAMPLE


_VALID_SCORES = {**{scale: range(1, scale + 1) for scale in FACE_SCALES}, NPS_SCALE: range(0, 11)}


def _score_range(scale: int) -> range:
    """Valid scores for ``scale``. Raises ValueError for an unknown scale."""
    valid = _VALID_SCORES.get(scale)
    if valid is None:
        raise ValueError(f"scale must be one of {(*FACE_SCALES, NPS_SCALE)}, got {scale}")
    return valid


class CheckedRows(tuple[Row, ...]):
    """Rows :func:`checked` validated once: the functions here do not validate them again (a summary computes five
    figures of the same rows, an overview thousands of summaries)."""

    __slots__ = ()


def checked(rows: Iterable[Row]) -> CheckedRows:
    """The rows, validated, for any number of the functions here.

    Raises ValueError for an unknown scale, a score outside the scale, or a negative count.
    """
    return rows if isinstance(rows, CheckedRows) else CheckedRows(_validated(rows))


def _checked(rows: Iterable[Row]) -> Iterable[Row]:
    """The rows, validated unless :func:`checked` already did. Raises ValueError like :func:`checked`."""
    return rows if isinstance(rows, CheckedRows) else _validated(rows)


def _validated(rows: Iterable[Row]) -> Iterator[Row]:
    """Yield rows after validating them.

    Raises ValueError for an unknown scale, a score outside the scale, or a negative count.
    """
    for scale, score, count in rows:
        valid = _score_range(scale)
        if score not in valid:
            raise ValueError(f"score {score} is outside {valid.start}..{valid.stop - 1} for scale {scale}")
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count} for scale {scale} score {score}")
        yield scale, score, count


def _face_rows(rows: Iterable[Row]) -> list[Row]:
    """Validated face-scale rows with a non-zero count. Raises ValueError like :func:`_checked`."""
    return [r for r in _checked(rows) if r[0] != NPS_SCALE and r[2] > 0]


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of k successes in n trials, as proportions in [0, 1].

    Raises ValueError if n <= 0 or k is outside 0..n.
    """
    if n <= 0:
        raise ValueError(f"n must be > 0, got {n}")
    if not 0 <= k <= n:
        raise ValueError(f"k must be in 0..{n}, got {k}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # Clamp against rounding so that 0 <= low <= p <= high <= 1 always holds.
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))


def share(k: int, n: int) -> Share:
    """Share of k in n as a percentage with its Wilson interval; all None when n == 0.

    Raises ValueError if n < 0 or k is outside 0..n.
    """
    if n == 0 and k == 0:
        return Share(k=0, n=0, value=None, low=None, high=None)
    low, high = wilson_interval(k, n)
    return Share(k=k, n=n, value=100 * k / n, low=100 * low, high=100 * high)


@cache  # called per row by every share; a scale's faces never change
def positive_scores(scale: int) -> frozenset[int]:
    """Scores counted as positive: top two faces (n = 4, 5), top face (n = 3), 9–10 (NPS).

    Raises ValueError for an unknown scale.
    """
    valid = _score_range(scale)
    if scale == NPS_SCALE:
        return frozenset({9, 10})
    return frozenset(valid[-1:] if scale == 3 else valid[-2:])


@cache  # called per row by every share; a scale's faces never change
def negative_scores(scale: int) -> frozenset[int]:
    """Scores counted as negative: bottom two faces (n = 4, 5), bottom face (n = 3), 0–6 (NPS).

    Raises ValueError for an unknown scale.
    """
    valid = _score_range(scale)
    if scale == NPS_SCALE:
        return frozenset(range(0, 7))
    return frozenset(valid[:1] if scale == 3 else valid[:2])


def side(scale: int, score: int) -> Side:
    """ "negative", "neutral" or "positive": the side of the face a press chose (see module docstring).

    Raises ValueError for an unknown scale or a score outside it.
    """
    if score not in _score_range(scale):
        raise ValueError(f"score {score} is outside the scale {scale}")
    if score in negative_scores(scale):
        return "negative"
    return "positive" if score in positive_scores(scale) else "neutral"


def is_repeat(seconds_since_previous: float | None, interval: float) -> bool:
    """Whether a press ``seconds_since_previous`` after the previous press of the same kiosk (device) and
    question is a repeat press under a repeat-press ``interval`` in seconds (None: there was no previous press).
    The kiosk applies it with its monotonic clock; the what-if summary replays it over effective tap times."""
    return seconds_since_previous is not None and seconds_since_previous < interval


def _interval(value: float, half: float, n: int, bounds: tuple[float, float]) -> Estimate:
    """Estimate ``value ± half`` clipped to ``bounds``; n == 1 gives the whole range."""
    lo, hi = bounds
    value = min(hi, max(lo, value))  # guards against float rounding just past the range
    if n == 1:
        return Estimate(n=1, value=value, low=lo, high=hi)
    return Estimate(n=n, value=value, low=max(lo, value - half), high=min(hi, value + half))


def happy_index(rows: Iterable[Row]) -> Estimate:
    """Happy Index 0–100 over face rows with a 95 % normal interval (see module docstring).

    Raises ValueError for an unknown scale, a score outside its scale, or a negative count.
    """
    face = _face_rows(rows)
    points = [(100 * (score - 1) / (scale - 1), count) for scale, score, count in face]
    n = sum(count for _, count in points)
    if n == 0:
        return Estimate(n=0, value=None, low=None, high=None)
    steps: dict[int, int] = {}  # scale -> sum of (score - 1) over its taps
    for scale, score, count in face:
        steps[scale] = steps.get(scale, 0) + (score - 1) * count
    mean = _index_mean(n, steps)
    if n == 1:
        return _interval(mean, 0.0, 1, (0.0, 100.0))
    variance = sum(count * (x - mean) ** 2 for x, count in points) / (n - 1)
    return _interval(mean, Z95 * math.sqrt(variance / n), n, (0.0, 100.0))


def _index_mean(n: int, steps: dict[int, int]) -> float:
    """The Happy Index of ``n`` face taps whose (score − 1) add up to ``steps[scale]`` on each scale: exact integer
    sums, divided once per scale, so :func:`happy_index` and :func:`headline_value` agree to the last bit."""
    if len(steps) == 1:  # most spans: one scale (the same float as the sum below: 0 + x is x)
        ((scale, total),) = steps.items()
        return 100 * total / (scale - 1) / n
    return sum(100 * total / (scale - 1) for scale, total in sorted(steps.items())) / n


def _nps_value(n: int, promoters: int, detractors: int) -> float:
    """NPS of ``n`` scale-11 taps of which ``promoters`` gave 9–10 and ``detractors`` 0–6."""
    return 100 * (promoters / n - detractors / n)


class Sums(NamedTuple):
    """What a database adds up for a headline without reading each score: per scale, taps, the sum of their scores,
    and (scale 11) promoters and detractors. :func:`headline_value` turns the rows of one span into its headline."""

    scale: int
    n: int
    score_total: int
    promoters: int = 0
    detractors: int = 0


def headline_value(sums: Iterable[Sums]) -> float | None:
    """The headline of a span from its :class:`Sums` (one per scale): the Happy Index of its face taps, else the NPS
    of its scale-11 taps, else None — the value :func:`happy_index` or :func:`nps` gives for the same taps."""
    face_n, nps_n, promoters, detractors = 0, 0, 0, 0
    steps: dict[int, int] = {}
    for row in sums:
        if row.scale == NPS_SCALE:
            nps_n, promoters, detractors = nps_n + row.n, promoters + row.promoters, detractors + row.detractors
        elif row.n:
            face_n += row.n
            steps[row.scale] = steps.get(row.scale, 0) + row.score_total - row.n
    if face_n:
        return min(100.0, max(0.0, _index_mean(face_n, steps)))
    return min(100.0, max(-100.0, _nps_value(nps_n, promoters, detractors))) if nps_n else None


def _face_share(rows: Iterable[Row], faces: Callable[[int], frozenset[int]]) -> Share:
    """Share of face taps whose score is in ``faces(scale)``. Raises ValueError like :func:`_checked`."""
    face = _face_rows(rows)
    k = sum(count for scale, score, count in face if score in faces(scale))
    return share(k, sum(count for _, _, count in face))


def csat(rows: Iterable[Row]) -> Share:
    """CSAT: share of positive faces among face taps, with its Wilson interval.

    Raises ValueError for an unknown scale, a score outside its scale, or a negative count.
    """
    return _face_share(rows, positive_scores)


def negative(rows: Iterable[Row]) -> Share:
    """Share of negative faces among face taps, with its Wilson interval.

    Raises ValueError for an unknown scale, a score outside its scale, or a negative count.
    """
    return _face_share(rows, negative_scores)


def nps(rows: Iterable[Row]) -> Estimate:
    """Net Promoter Score −100..100 over scale-11 rows with a 95 % interval (see module docstring).

    Raises ValueError for an unknown scale, a score outside its scale, or a negative count.
    """
    counts = counts_by_score(rows, NPS_SCALE)
    n = sum(counts.values())
    if n == 0:
        return Estimate(n=0, value=None, low=None, high=None)
    promoters = sum(counts[str(s)] for s in positive_scores(NPS_SCALE))
    detractors = sum(counts[str(s)] for s in negative_scores(NPS_SCALE))
    p_p, p_d = promoters / n, detractors / n
    variance = max(0.0, p_p + p_d - (p_p - p_d) ** 2)
    half = Z95 * 100 * math.sqrt(variance / n)
    return _interval(_nps_value(n, promoters, detractors), half, n, (-100.0, 100.0))


def ranking_score(index: float | None, n: int, overall_index: float, weight: float = RANKING_WEIGHT) -> float:
    """Index shrunk toward the overall index: (overall × W + index × n) / (W + n).

    Returns ``overall_index`` when index is None or n == 0.
    Raises ValueError if n < 0 or weight < 0.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    if index is None or n == 0:
        return overall_index
    return (overall_index * weight + index * n) / (weight + n)


def counts_by_score(rows: Iterable[Row], scale: int) -> dict[str, int]:
    """Tap counts per score of ``scale``, keyed "1".."n" ("0".."10" for NPS), zeros included.

    Raises ValueError for an unknown scale, a score outside its scale, or a negative count.
    """
    counts = {str(s): 0 for s in _score_range(scale)}
    for row_scale, score, count in _checked(rows):
        if row_scale == scale:
            counts[str(score)] += count
    return counts
