"""Score maths: hand-computed examples, error cases and Hypothesis properties.

Arithmetic in the comments uses z = 1.96 (Z95 = 1.959963984540054 in the code); the expected
numbers carry the exact z. Happy Index points are x = 100 * (score - 1) / (n - 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import protocol, scores
from shared.scores import (
    RANKING_WEIGHT,
    SMALL_SAMPLE,
    Z95,
    Estimate,
    Share,
    counts_by_score,
    csat,
    happy_index,
    negative,
    negative_scores,
    nps,
    positive_scores,
    ranking_score,
    share,
    wilson_interval,
)

PROP = 1e-4  # tolerance for proportions in [0, 1]
PCT = 1e-2  # the same tolerance for percentages


def rows_from(scale: int, counts: dict[int, int]) -> list[tuple[int, int, int]]:
    """Rollup rows for one scale from a {score: count} dict."""
    return [(scale, score, count) for score, count in counts.items()]


def assert_close(got: Share | Estimate, expected: Share | Estimate) -> None:
    """Counts equal exactly, None stays None, percentages within PCT."""
    assert type(got) is type(expected)
    for name, want in asdict(expected).items():
        have = getattr(got, name)
        if want is None or isinstance(want, int):
            assert have == want, name
        else:
            assert have == pytest.approx(want, abs=PCT), name


# --- constants and sets -------------------------------------------------------------------------


def test_constants_match_brief_and_protocol() -> None:
    from shared import scores

    assert Z95 == 1.959963984540054
    assert SMALL_SAMPLE == 30
    assert RANKING_WEIGHT == 20.0
    assert scores.FACE_SCALES == protocol.FACE_SCALES
    assert scores.NPS_SCALE == protocol.NPS_SCALE


@pytest.mark.parametrize(
    ("scale", "positive", "negative_"),
    [
        (3, {3}, {1}),  # top face / bottom face
        (4, {3, 4}, {1, 2}),  # top two / bottom two
        (5, {4, 5}, {1, 2}),  # top two / bottom two
        (11, {9, 10}, {0, 1, 2, 3, 4, 5, 6}),  # promoters / detractors
    ],
)
def test_positive_and_negative_scores_per_scale(scale: int, positive: set[int], negative_: set[int]) -> None:
    assert positive_scores(scale) == frozenset(positive)
    assert negative_scores(scale) == frozenset(negative_)
    assert positive_scores(scale) <= set(protocol.score_range(scale))
    assert negative_scores(scale) <= set(protocol.score_range(scale))


# --- Wilson -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Published values (Newcombe 1998, Stat Med 17:857, table II, method 3 "score"):
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
        # k=0, n=10: p=0, z²/n=0.3841, denom 1.3841; centre = 0.19208/1.3841 = 0.13877,
        #   half = 1.96/1.3841 * sqrt(3.8415/400) = 1.41605 * 0.09800 = 0.13877 -> (0, 0.2775)
        (0, 10, 0.0, 0.2775),
        # k=5, n=10: centre 0.5, half = 1.41605 * sqrt(0.025 + 0.009604) = 1.41605 * 0.18602 = 0.2634
        #   -> (0.2366, 0.7634)
        (5, 10, 0.2366, 0.7634),
        # k=1, n=1: centre = (1 + 1.92085)/4.84146 = 0.60330, half = 0.40483*sqrt(0.96037) = 0.39672
        #   -> (0.2065, 1.0)
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_interval_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(k, n) == pytest.approx((low, high), abs=PROP)


def test_wilson_bounds_are_exact_at_the_edges() -> None:
    assert wilson_interval(0, 20)[0] == 0.0  # the raw formula gives -0.0 here
    assert wilson_interval(7, 7)[1] == 1.0


@pytest.mark.parametrize(("k", "n"), [(0, 0), (1, 0), (0, -1), (-1, 5), (6, 5)])
def test_wilson_rejects_bad_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n)


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (0, 0, Share(k=0, n=0, value=None, low=None, high=None)),
        (5, 10, Share(k=5, n=10, value=50.0, low=23.66, high=76.34)),  # Wilson 5/10 above, in %
        (81, 263, Share(k=81, n=263, value=30.7985, low=25.53, high=36.62)),  # 100*81/263 = 30.7985
    ],
)
def test_share_is_percent_with_wilson_interval(k: int, n: int, expected: Share) -> None:
    assert_close(share(k, n), expected)


@pytest.mark.parametrize(("k", "n"), [(1, 0), (11, 10), (-1, 10), (0, -1)])
def test_share_rejects_bad_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        share(k, n)


@pytest.mark.parametrize(("n", "small"), [(0, True), (1, True), (29, True), (30, False), (1000, False)])
def test_small_sample_flag_below_thirty(n: int, small: bool) -> None:
    assert Share(k=0, n=n, value=None, low=None, high=None).small is small
    assert Estimate(n=n, value=None, low=None, high=None).small is small


# --- Happy Index --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param([], Estimate(0, None, None, None), id="empty"),
        pytest.param(rows_from(5, {1: 0, 5: 0}), Estimate(0, None, None, None), id="only-zero-counts"),
        pytest.param([(11, 10, 5)], Estimate(0, None, None, None), id="only-nps-rows"),
        # one tap: x = 75, interval is the whole range
        pytest.param(rows_from(5, {4: 1}), Estimate(1, 75.0, 0.0, 100.0), id="n5-single-tap"),
        # x = 0, 100 -> mean 50; s = sqrt((50² + 50²)/1) = 70.71; half = 1.96*70.71/sqrt(2) = 98.0
        #   -> (-48, 148) clipped to (0, 100)
        pytest.param(rows_from(5, {1: 1, 5: 1}), Estimate(2, 50.0, 0.0, 100.0), id="n5-extremes-clipped"),
        # ten taps all x = 75 -> s = 0, interval collapses to (75, 75)
        pytest.param(rows_from(5, {4: 10}), Estimate(10, 75.0, 75.0, 75.0), id="n5-all-same"),
        # x = 100*20, 75*10, 50*5, 25*3, 0*2, N = 40: sum = 2000+750+250+75 = 3075, mean = 76.875
        #   Σc·x² = 200000+56250+12500+1875 = 270625; SS = 270625 - 40*76.875² = 34234.375
        #   s = sqrt(34234.375/39) = 29.628; half = 1.96*29.628/sqrt(40) = 9.1816 -> (67.693, 86.057)
        pytest.param(
            rows_from(5, {5: 20, 4: 10, 3: 5, 2: 3, 1: 2}),
            Estimate(40, 76.875, 67.6934, 86.0566),
            id="n5-forty-taps",
        ),
        # x = 33.33 x3, 66.67 x3 -> mean 50; SS = 6*16.667² = 1666.7; s = sqrt(1666.7/5) = 18.257
        #   half = 1.96*18.257/sqrt(6) = 14.6087 -> (35.391, 64.609)
        pytest.param(rows_from(4, {2: 3, 3: 3}), Estimate(6, 50.0, 35.3913, 64.6087), id="n4-middle-faces"),
        # x = 0, 0, 50, 100 -> mean 37.5; SS = 2*37.5² + 12.5² + 62.5² = 6875; s = sqrt(6875/3) = 47.871
        #   half = 1.96*47.871/2 = 46.913 -> (-9.41, 84.413), low clipped to 0
        pytest.param(rows_from(3, {1: 2, 2: 1, 3: 1}), Estimate(4, 37.5, 0.0, 84.4131), id="n3-low-clipped"),
        # mixed scales, each normalised by its own n: (3,2) -> 50, (5,3) -> 50, (4,1) -> 0, (4,4) -> 100;
        #   the NPS row is ignored. mean 50; SS = 50² + 50² = 5000; s = sqrt(5000/3) = 40.825
        #   half = 1.96*40.825/2 = 40.008 -> (9.992, 90.008)
        pytest.param(
            [(3, 2, 1), (5, 3, 1), (4, 1, 1), (4, 4, 1), (11, 0, 9)],
            Estimate(4, 50.0, 9.9924, 90.0076),
            id="mixed-scales",
        ),
        # the same taps split across duplicate rows count the same: x = 100, 100, 0 -> mean 66.667
        #   SS = 2*33.333² + 66.667² = 6666.7; s = sqrt(6666.7/2) = 57.735; half = 1.96*57.735/sqrt(3)
        #   = 65.33 -> (1.33, 100) after clipping 132.0
        pytest.param([(5, 5, 1), (5, 5, 1), (5, 1, 1)], Estimate(3, 66.6667, 1.3346, 100.0), id="split-rows"),
    ],
)
def test_happy_index_examples(rows: list[tuple[int, int, int]], expected: Estimate) -> None:
    assert_close(happy_index(rows), expected)


def test_happy_index_accepts_a_one_shot_iterator() -> None:
    def gen() -> Iterator[tuple[int, int, int]]:
        yield from rows_from(4, {2: 3, 3: 3})

    assert happy_index(gen()).value == pytest.approx(50.0, abs=1e-9)


# --- CSAT and negative share --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "csat_expected", "negative_expected"),
    [
        pytest.param([], Share(0, 0, None, None, None), Share(0, 0, None, None, None), id="empty"),
        pytest.param([(11, 10, 3)], Share(0, 0, None, None, None), Share(0, 0, None, None, None), id="only-nps"),
        # scale 4: positive {3,4} = 4+1 = 5 of 10, negative {1,2} = 2+3 = 5 of 10 -> Wilson 5/10
        pytest.param(
            rows_from(4, {1: 2, 2: 3, 3: 4, 4: 1}),
            Share(5, 10, 50.0, 23.66, 76.34),
            Share(5, 10, 50.0, 23.66, 76.34),
            id="n4-half-and-half",
        ),
        # scale 3: all ten on the middle face -> neither positive nor negative: Wilson 0/10 = (0, 27.75)
        pytest.param(
            rows_from(3, {1: 0, 2: 10, 3: 0}),
            Share(0, 10, 0.0, 0.0, 27.75),
            Share(0, 10, 0.0, 0.0, 27.75),
            id="n3-all-neutral",
        ),
        # scale 5, N = 40: positive 20+10 = 30 (75 %), negative 3+2 = 5 (12.5 %).
        #   30/40: z²/n = 0.09604, denom 1.09604; centre = (0.75+0.04802)/1.09604 = 0.72810
        #   half = 1.78823*sqrt(0.0046875+0.00060023) = 0.13003 -> (59.81, 85.81)
        #   5/40: centre = (0.125+0.04802)/1.09604 = 0.15786; half = 1.78823*sqrt(0.0027344+0.00060023)
        #   = 0.10326 -> (5.46, 26.11)
        pytest.param(
            rows_from(5, {5: 20, 4: 10, 3: 5, 2: 3, 1: 2}),
            Share(30, 40, 75.0, 59.81, 85.81),
            Share(5, 40, 12.5, 5.46, 26.11),
            id="n5-forty-taps",
        ),
        # mixed: 81 top faces on scale 3 + 182 middle faces on scale 5 -> csat 81/263 (Newcombe)
        #   negative: 0/263 -> upper = z²/(n+z²) = 3.8415/266.84 = 1.44 %
        pytest.param(
            [(3, 3, 81), (5, 3, 182), (11, 0, 50)],
            Share(81, 263, 30.7985, 25.53, 36.62),
            Share(0, 263, 0.0, 0.0, 1.44),
            id="mixed-scales",
        ),
    ],
)
def test_csat_and_negative_share_examples(
    rows: list[tuple[int, int, int]], csat_expected: Share, negative_expected: Share
) -> None:
    assert_close(csat(rows), csat_expected)
    assert_close(negative(rows), negative_expected)


# --- NPS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param([], Estimate(0, None, None, None), id="empty"),
        pytest.param(rows_from(5, {5: 10}), Estimate(0, None, None, None), id="face-rows-ignored"),
        # one promoter -> 100, interval is the whole range
        pytest.param([(11, 9, 1)], Estimate(1, 100.0, -100.0, 100.0), id="single-tap"),
        # all promoters: p_p = 1, p_d = 0 -> 100; var = 1 + 0 - 1² = 0 -> (100, 100)
        pytest.param(rows_from(11, {9: 4, 10: 6}), Estimate(10, 100.0, 100.0, 100.0), id="all-promoters"),
        # all detractors: p_d = 1 -> -100; var = 0 + 1 - 1 = 0 -> (-100, -100)
        pytest.param(rows_from(11, {0: 1, 3: 2, 6: 2}), Estimate(5, -100.0, -100.0, -100.0), id="all-detractors"),
        # passives only: p_p = p_d = 0 -> 0, var 0 -> (0, 0)
        pytest.param(rows_from(11, {7: 2, 8: 2}), Estimate(4, 0.0, 0.0, 0.0), id="all-passives"),
        # N = 10, 5 promoters, 2 passives, 3 detractors: 100*(0.5-0.3) = 20; var = 0.8 - 0.2² = 0.76
        #   half = 1.96*100*sqrt(0.76/10) = 1.96*27.568 = 54.03 -> (-34.03, 74.03)
        pytest.param(
            rows_from(11, {10: 3, 9: 2, 8: 1, 7: 1, 6: 1, 0: 2}),
            Estimate(10, 20.0, -34.0325, 74.0325),
            id="ten-mixed",
        ),
        # N = 100, 50 promoters, 30 passives, 20 detractors: 100*(0.5-0.2) = 30; var = 0.7 - 0.09 = 0.61
        #   half = 1.96*100*sqrt(0.0061) = 1.96*7.8102 = 15.308 -> (14.692, 45.308)
        pytest.param(
            rows_from(11, {10: 25, 9: 25, 8: 15, 7: 15, 5: 10, 1: 10}) + [(3, 1, 7)],
            Estimate(100, 30.0, 14.6922, 45.3078),
            id="hundred-mixed",
        ),
        # 1 promoter, 1 detractor: 0; var = 1 - 0 = 1; half = 1.96*100*sqrt(1/2) = 138.6 -> clipped
        pytest.param(rows_from(11, {10: 1, 0: 1}), Estimate(2, 0.0, -100.0, 100.0), id="clipped"),
    ],
)
def test_nps_examples(rows: list[tuple[int, int, int]], expected: Estimate) -> None:
    assert_close(nps(rows), expected)


# --- ranking ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "n", "overall", "weight", "expected"),
    [
        (80.0, 20, 60.0, RANKING_WEIGHT, 70.0),  # (60*20 + 80*20)/40 = 2800/40 = 70
        (40.0, 5, 60.0, RANKING_WEIGHT, 56.0),  # (60*20 + 40*5)/25 = 1400/25 = 56
        (100.0, 180, 50.0, RANKING_WEIGHT, 95.0),  # (50*20 + 100*180)/200 = 19000/200 = 95
        (90.0, 0, 60.0, RANKING_WEIGHT, 60.0),  # no taps -> overall
        (None, 0, 60.0, RANKING_WEIGHT, 60.0),  # no index -> overall
        (None, 12, 60.0, RANKING_WEIGHT, 60.0),  # no index -> overall
        (40.0, 5, 60.0, 0.0, 40.0),  # W = 0: no shrinkage, (0 + 200)/5 = 40
        (40.0, 10, 70.0, 5.0, 50.0),  # (70*5 + 40*10)/15 = 750/15 = 50
    ],
)
def test_ranking_shrinks_small_samples_toward_overall(
    index: float | None, n: int, overall: float, weight: float, expected: float
) -> None:
    assert ranking_score(index, n, overall, weight) == pytest.approx(expected, abs=1e-9)


def test_ranking_default_weight_is_twenty() -> None:
    assert ranking_score(80.0, 20, 60.0) == pytest.approx(70.0, abs=1e-9)


@pytest.mark.parametrize(("n", "weight"), [(-1, 20.0), (5, -1.0)])
def test_ranking_rejects_negative_n_or_weight(n: int, weight: float) -> None:
    with pytest.raises(ValueError):
        ranking_score(50.0, n, 60.0, weight)


# --- counts -------------------------------------------------------------------------------------

COUNT_ROWS = [(5, 5, 3), (5, 5, 2), (5, 1, 1), (5, 3, 0), (3, 2, 4), (11, 10, 7), (11, 0, 1)]


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (5, {"1": 1, "2": 0, "3": 0, "4": 0, "5": 5}),  # 3 + 2 on "5"; zero-count row stays 0
        (4, {"1": 0, "2": 0, "3": 0, "4": 0}),  # no rows: all keys, all zero
        (3, {"1": 0, "2": 4, "3": 0}),
        (11, {**{str(s): 0 for s in range(11)}, "0": 1, "10": 7}),
    ],
)
def test_counts_by_score_has_every_key(scale: int, expected: dict[str, int]) -> None:
    got = counts_by_score(COUNT_ROWS, scale)
    assert got == expected
    assert list(got) == [str(s) for s in protocol.score_range(scale)]  # keys in score order


# --- errors -------------------------------------------------------------------------------------

BAD_ROWS = [
    pytest.param([(5, 6, 1)], id="score-above-scale"),
    pytest.param([(5, 0, 1)], id="face-score-zero"),
    pytest.param([(3, 4, 1)], id="score-above-n3"),
    pytest.param([(11, 11, 1)], id="nps-score-eleven"),
    pytest.param([(11, -1, 1)], id="nps-score-negative"),
    pytest.param([(6, 1, 1)], id="unknown-scale-6"),
    pytest.param([(2, 1, 1)], id="unknown-scale-2"),
    pytest.param([(10, 1, 1)], id="unknown-scale-10"),
    pytest.param([(5, 3, 4), (5, 1, -1)], id="negative-count"),
    pytest.param([(11, 9, -2)], id="negative-nps-count"),
]


@pytest.mark.parametrize("rows", BAD_ROWS)
@pytest.mark.parametrize(
    "score_fn",
    [happy_index, csat, negative, nps, lambda rows: counts_by_score(rows, 5)],
    ids=["happy_index", "csat", "negative", "nps", "counts_by_score"],
)
def test_invalid_rows_raise_value_error(score_fn: object, rows: list[tuple[int, int, int]]) -> None:
    # Rows of the other kind are ignored for the maths but still validated.
    with pytest.raises(ValueError):
        score_fn(rows)  # type: ignore[operator]


@pytest.mark.parametrize("scale", [0, 1, 2, 6, 10, 12])
def test_unknown_scale_raises_value_error(scale: int) -> None:
    for fn in (positive_scores, negative_scores):
        with pytest.raises(ValueError):
            fn(scale)
    with pytest.raises(ValueError):
        counts_by_score([], scale)


# --- properties ---------------------------------------------------------------------------------


@st.composite
def face_rows(draw: st.DrawFn, scales: tuple[int, ...] = (3, 4, 5)) -> list[tuple[int, int, int]]:
    scale_list = draw(st.lists(st.sampled_from(scales), max_size=12))
    return [(scale, draw(st.integers(1, scale)), draw(st.integers(0, 10_000))) for scale in scale_list]


nps_rows = st.lists(st.tuples(st.just(11), st.integers(0, 10), st.integers(0, 10_000)), max_size=12)


@given(face_rows())
def test_property_happy_index_in_range_and_inside_interval(rows: list[tuple[int, int, int]]) -> None:
    est = happy_index(rows)
    assert est.n == sum(c for _, _, c in rows)
    if est.n == 0:
        assert est.value is est.low is est.high is None
    else:
        assert est.value is not None and est.low is not None and est.high is not None
        assert 0.0 <= est.low <= est.value <= est.high <= 100.0


@given(nps_rows)
def test_property_nps_in_range_and_inside_interval(rows: list[tuple[int, int, int]]) -> None:
    est = nps(rows)
    if est.n == 0:
        assert est.value is None
    else:
        assert est.value is not None and est.low is not None and est.high is not None
        assert -100.0 <= est.low <= est.value <= est.high <= 100.0


@given(st.integers(1, 10**7).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_property_wilson_contains_the_proportion(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0


@given(face_rows(scales=(4, 5)))
def test_property_csat_plus_negative_at_most_100_on_four_and_five_faces(
    rows: list[tuple[int, int, int]],
) -> None:
    pos, neg = csat(rows), negative(rows)
    assert pos.k + neg.k <= pos.n
    if pos.value is not None and neg.value is not None:
        assert pos.value + neg.value <= 100.0 + 1e-9


finite = st.floats(0.0, 100.0, allow_nan=False)


@given(finite, st.integers(0, 10**6), finite, st.floats(0.0, 1000.0, allow_nan=False))
def test_property_ranking_lies_between_index_and_overall(index: float, n: int, overall: float, weight: float) -> None:
    score = ranking_score(index, n, overall, weight)
    assert min(index, overall) - 1e-9 <= score <= max(index, overall) + 1e-9


@given(
    st.lists(
        st.sampled_from([(scale, score) for scale in (3, 4, 5, 11) for score in protocol.score_range(scale)]).flatmap(
            lambda key: st.tuples(st.just(key[0]), st.just(key[1]), st.integers(min_value=0, max_value=10**6))
        ),
        max_size=30,
    )
)
def test_the_headline_of_database_sums_is_the_headline_of_the_rows_to_the_last_bit(rows):
    totals: dict[int, list[int]] = {}
    for scale, score, count in rows:  # what SUM(count), SUM(count * score) and the promoter/detractor sums give
        n, total, pro, det = totals.setdefault(scale, [0, 0, 0, 0])
        totals[scale] = [n + count, total + count * score, pro + count * (score >= 9), det + count * (score <= 6)]
    sums = [scores.Sums(scale, *values) for scale, values in totals.items()]

    index = scores.happy_index(rows)
    expected = index.value if index.n else scores.nps(rows).value

    assert scores.headline_value(sums) == expected


def test_rows_checked_once_are_not_checked_again_and_bad_rows_are_refused_when_checked():
    with pytest.raises(ValueError, match="score 7 is outside 1..5 for scale 5"):
        scores.checked([(5, 7, 1)])
    rows = scores.checked([(5, 5, 3), (5, 1, 1)])

    assert scores.checked(rows) is rows
    assert scores.happy_index(rows) == scores.happy_index([(5, 5, 3), (5, 1, 1)])
    assert scores.csat(rows).k == 3 and scores.negative(rows).k == 1
