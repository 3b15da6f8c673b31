"""The ``baseline`` metric: is this window's share of negative faces unusually high *for this location at this hour of
the week*? Pure functions: no I/O (the evaluator reads the counts, :mod:`server.alerts.figures`).

**What is compared.** The window ``[end − w, end)`` gives k negative faces among n face taps (counted presses only,
as every figure). Its history is the same location's counted face taps in the same local hours of the week over the
previous :data:`HISTORY_WEEKS` (8) weeks: the local (date, hour) pairs the window touches, in the location's zone,
each moved back 7, 14 … 56 days (:func:`history_hours`), read from the taps' stored local date and hour. For a
one-hour window ending on the hour (Tuesday 14:00–15:00) that is exactly "Tuesdays 14–15 of the last 8 weeks"; the
current week is never part of its own history. History gives h negatives among m taps.

**The test.** H0: the window's taps are negative with the historical probability

    p₀ = (h + ½) / (m + 1)

(the historical share with half a pseudo-count each way, so that a history without a single negative face does not
make one sad tap "impossible"). Under H0, X ~ Binomial(n, p₀), and the one-sided p-value is the upper tail

    P(X ≥ k) = Σ_{i=k}^{n} C(n, i) · p₀^i · (1 − p₀)^(n − i).

The rule fires when P(X ≥ k) < P (default 0.01), n ≥ the rule's min_responses and m ≥ :data:`MIN_HISTORY` (30); a
window whose negative share is at or below the usual one never fires (its p-value is ≥ ½).

**How it is computed** (:func:`binomial_sf`): exactly at every size — no normal approximation. Each term is taken in
log space, log C(n, i) = lgamma(n + 1) − lgamma(i + 1) − lgamma(n − i + 1), plus i·log p₀ + (n − i)·log1p(−p₀), so
nothing overflows or underflows for large n (C(n, i) as a float overflows beyond n ≈ 1030). Beyond the mode
⌊(n + 1)p₀⌋ the terms only fall, so for k above the mode the tail is summed from i = k upwards, relative to its first
term, until a term is below 2⁻⁶⁰ of the sum; for k at or below the mode the result is 1 − P(X ≤ k − 1), that lower
sum taken the same way from i = k − 1 downwards. Either way it sums terms within a few standard deviations
of k (a few hundred for a day of taps), not all n + 1.

Example: usually 10 % negative (h = 24 of m = 240); a window with k = 18 of n = 40 (45 %) gives
P(X ≥ 18) ≈ 1.7·10⁻⁸: it fires. On Monday mornings, usually 40 % (h = 96 of 240), a window with 12 of 30 gives
P(X ≥ 12) ≈ 0.57: quiet, though a plain ``negative --above 30`` rule would fire every Monday.

Raises ValueError for counts or probabilities out of range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

HISTORY_WEEKS = 8
MIN_HISTORY = 30  # face taps in the history before the test is believed
DEFAULT_P_VALUE = 0.01  # fire when P(X >= k) is below this, unless the rule says otherwise
_NEGLIGIBLE = 2.0**-60
_SAMPLE = timedelta(minutes=15)  # every UTC offset in use is a multiple of 15 minutes


@dataclass(frozen=True)
class Verdict:
    """The test of one window: ``fires``, its ``p_value`` and the historical probability ``p0`` it was tested against
    (None when there was too little data to test: ``p_value`` is then 1)."""

    fires: bool
    p_value: float
    p0: float | None


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), exactly, in log space (see the module docstring).

    Raises ValueError for n < 0, k < 0 or p outside [0, 1].
    """
    if n < 0 or k < 0:
        raise ValueError(f"n and k must be >= 0, got n={n}, k={k}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if k == 0:
        return 1.0
    if k > n or p == 0.0:
        return 0.0
    if p == 1.0:
        return 1.0
    mode = math.floor((n + 1) * p)
    if k > mode:
        return min(1.0, _falling_sum(k, n, p, step=1))
    return max(0.0, 1.0 - _falling_sum(k - 1, n, p, step=-1))


def _log_pmf(i: int, n: int, p: float) -> float:
    """log P(X = i) for X ~ Binomial(n, p), 0 < p < 1."""
    log_comb = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
    return log_comb + i * math.log(p) + (n - i) * math.log1p(-p)


def _falling_sum(start: int, n: int, p: float, *, step: int) -> float:
    """Σ P(X = i) from ``start`` in direction ``step`` (±1) to the end of 0..n, where the terms only fall: summed
    relative to the first term and stopped once a term is negligible."""
    first = _log_pmf(start, n, p)
    terms, i = [1.0], start + step
    while 0 <= i <= n:
        term = math.exp(_log_pmf(i, n, p) - first)
        terms.append(term)
        if term < _NEGLIGIBLE * math.fsum(terms):
            break
        i += step
    return math.exp(first) * math.fsum(terms)


def historical_probability(negatives: int, total: int) -> float:
    """p₀ = (h + ½) / (m + 1). Raises ValueError for counts out of range."""
    if total < 0 or not 0 <= negatives <= total:
        raise ValueError(f"need 0 <= negatives <= total, got {negatives} of {total}")
    return (negatives + 0.5) / (total + 1)


def verdict(
    k: int,
    n: int,
    history_k: int,
    history_n: int,
    *,
    p_level: float,
    min_responses: int,
    min_history: int = MIN_HISTORY,
) -> Verdict:
    """Whether a window of k negatives in n is unusually negative against a history of h in m (module docstring).

    Raises ValueError for counts out of range.
    """
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got {k} of {n}")
    p0 = historical_probability(history_k, history_n)
    if n < max(1, min_responses) or history_n < min_history:
        return Verdict(fires=False, p_value=1.0, p0=None)
    p_value = binomial_sf(k, n, p0)
    return Verdict(fires=p_value < p_level, p_value=p_value, p0=p0)


def history_hours(start: datetime, end: datetime, zone: tzinfo, weeks: int = HISTORY_WEEKS) -> dict[date, set[int]]:
    """The local hours of the same hours of the week in the ``weeks`` weeks before the window ``[start, end)``:
    {local date: local hours}, each (date, hour) the window touches moved back 7, 14 … 7·weeks days.

    Raises ValueError when ``end`` is not after ``start``.
    """
    if end <= start:
        raise ValueError("the window must end after it starts")
    touched: set[tuple[date, int]] = set()
    moment = start
    while moment < end:
        local = moment.astimezone(zone)
        touched.add((local.date(), local.hour))
        moment += _SAMPLE
    last = (end - timedelta(microseconds=1)).astimezone(zone)
    touched.add((last.date(), last.hour))
    hours: dict[date, set[int]] = {}
    for day, hour in touched:
        for week in range(1, weeks + 1):
            hours.setdefault(day - timedelta(days=7 * week), set()).add(hour)
    return hours
