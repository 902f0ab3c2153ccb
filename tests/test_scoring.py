"""Tests for fivs.scoring (pure-Python scoring and programme statistics).

Hand-computed cases for the scoring rules; the statistics are cross-checked
against scipy and against brute-force enumeration of the definitions.
"""
from __future__ import annotations

import ast
import itertools
import json
import math
import random
import statistics
import sys
from pathlib import Path

import pytest
from scipy import stats

from fivs import scoring
from fivs.scoring import (
    BAND_LABELS,
    METHOD_NOTE,
    S_KEYS,
    S_LABELS,
    AuditScores,
    Change,
    MetricStats,
    ProgrammeStats,
    ScoredAnswer,
    SitePair,
    audit_scores,
    band,
    band_label,
    cohens_dz,
    compare,
    format_pct,
    mean_ci95,
    programme_stats,
    t_cdf,
    t_quantile,
    wilcoxon_signed_rank,
)

SEIRI, SEITON, SEISO, SEIKETSU, SHITSUKE = S_KEYS


def ans(item, s, score, zone="Z", inst="", na=False):
    return ScoredAnswer(item_code=item, s=s, zone_code=zone, zone_instance=inst, score=score, na=na)


def one_per_s(scores, zone="Z"):
    """One item per S, codes S1..S5, with the given scores (dict or single int)."""
    if not isinstance(scores, dict):
        scores = {s: scores for s in S_KEYS}
    return [ans(f"S{i + 1}", s, scores[s], zone=zone) for i, s in enumerate(S_KEYS) if s in scores]


# ---------------------------------------------------------------- module hygiene
def test_module_imports_only_stdlib():
    tree = ast.parse(Path(scoring.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            roots.add(node.module.split(".")[0])
    assert roots <= set(sys.stdlib_module_names) | {"__future__"}, roots


def test_labels_and_method_note():
    assert S_KEYS == ("seiri", "seiton", "seiso", "seiketsu", "shitsuke")
    assert S_LABELS["seiri"] == {"vi": "Sàng lọc", "en": "Sort", "jp": "Seiri"}
    assert S_LABELS["seiketsu"]["en"] == "Standardise"
    assert S_LABELS["shitsuke"]["vi"] == "Sẵn sàng"
    assert all(set(S_LABELS[s]) == {"vi", "en", "jp"} for s in S_KEYS)
    assert BAND_LABELS["fair"] == {"vi": "Trung bình", "en": "Fair"}
    assert set(BAND_LABELS) == {"poor", "fair", "good", "excellent"}
    assert set(METHOD_NOTE) == {"vi", "en"}
    assert "Wilcoxon" in METHOD_NOTE["vi"] and "Wilcoxon" in METHOD_NOTE["en"]
    assert "N/A" in scoring.__doc__ and "matched" in scoring.__doc__


@pytest.mark.parametrize("kwargs", [{"s": "seisou"}, {"score": 5}, {"score": -1}])
def test_invalid_answer_rejected(kwargs):
    base = {"item_code": "X", "s": SEIRI, "zone_code": "Z", "zone_instance": "", "score": 2}
    with pytest.raises(ValueError):
        ScoredAnswer(**{**base, **kwargs})


# ---------------------------------------------------------------- one audit
def test_na_left_out():
    answers = [
        ans("A1", SEIRI, 4),
        ans("A2", SEIRI, 2),
        ans("A3", SEIRI, None, na=True),
        ans("A4", SEIRI, 0, na=True),  # a score recorded on an N/A answer is ignored
        *one_per_s(4)[1:],
    ]
    r = audit_scores(answers)
    assert r.by_s[SEIRI] == pytest.approx(75.0)  # 6 / (4 * 2)
    assert all(r.by_s[s] == 100.0 for s in S_KEYS[1:])
    assert r.overall == pytest.approx((75 + 400) / 5)
    assert r.scored == 6 and r.na == 2
    assert r.incomplete_s == ()


def test_unscored_left_out():
    answers = [ans("A1", SEIRI, 3), ans("A2", SEIRI, None), *one_per_s(2)[1:]]
    r = audit_scores(answers)
    assert r.by_s[SEIRI] == pytest.approx(75.0)
    assert r.by_s[SEITON] == pytest.approx(50.0)
    assert r.scored == 5 and r.na == 0
    assert r.overall == pytest.approx((75 + 4 * 50) / 5)


def test_repeated_zone_instances_pooled_and_zone_percentages():
    answers = [
        # classroom, two instances
        ans("C1", SEISO, 4, zone="classroom", inst="1"),
        ans("C2", SEIRI, 3, zone="classroom", inst="1"),
        ans("C1", SEISO, 1, zone="classroom", inst="2"),
        ans("C2", SEIRI, None, zone="classroom", inst="2", na=True),
        # corridor, non-repeating
        ans("K1", SEISO, 2, zone="corridor"),
        ans("K2", SEITON, 4, zone="corridor"),
        ans("K3", SEIKETSU, 0, zone="corridor"),
        ans("K4", SHITSUKE, 2, zone="corridor"),
        # an all-N/A zone still appears, with None
        ans("T1", SEIRI, None, zone="toilet", na=True),
    ]
    r = audit_scores(answers)
    assert r.by_s[SEISO] == pytest.approx(7 / 12 * 100)  # 4 + 1 + 2 over 3 answers
    assert r.by_s[SEIRI] == pytest.approx(75.0)
    assert r.by_s[SEITON] == 100.0 and r.by_s[SEIKETSU] == 0.0 and r.by_s[SHITSUKE] == 50.0
    assert r.by_zone == {
        "classroom": pytest.approx(8 / 12 * 100),  # 4 + 3 + 1 over 3 scored answers
        "corridor": pytest.approx(8 / 16 * 100),
        "toilet": None,
    }
    assert list(r.by_zone) == ["classroom", "corridor", "toilet"]
    assert r.overall == pytest.approx((7 / 12 * 100 + 75 + 100 + 0 + 50) / 5)
    assert r.scored == 7 and r.na == 2


@pytest.mark.parametrize("seed", range(25))
def test_scores_from_sums_per_s_and_zone_equal_scores_from_answers(seed):
    """Answers summed per S and per zone give exactly the percentages of the answers themselves."""
    rng = random.Random(seed)
    items = [(f"I{n}", rng.choice(S_KEYS), rng.choice(["classroom", "kitchen", "toilet"])) for n in range(12)]
    answers = []
    for code, s, zone in items:
        for room in range(rng.randint(1, 3)):
            kind = rng.random()
            answers.append(ans(code, s, None if kind < 0.2 else rng.randint(0, 4), zone=zone, inst=str(room),
                               na=kind < 0.1))
    rng.shuffle(answers)
    sums: dict[tuple[str, str], list] = {}
    for a in answers:
        for key in (("s", a.s), ("zone", a.zone_code)):
            row = sums.setdefault(key, [*key, 0, 0, 0])
            if a.na:
                row[4] += 1
            elif a.score is not None:
                row[2] += a.score
                row[3] += 1
    expected, got = audit_scores(answers), scoring.audit_scores_from_sums(tuple(r) for r in sums.values())
    assert got.by_s == pytest.approx(expected.by_s) and got.overall == pytest.approx(expected.overall)
    assert got.by_zone == pytest.approx(expected.by_zone)
    assert (got.scored, got.na, got.incomplete_s) == (expected.scored, expected.na, expected.incomplete_s)


@pytest.mark.parametrize("row", [("s", "seisou", 1, 1, 0), ("s", SEIRI, 5, 1, 0), ("s", SEIRI, 1, -1, 0),
                                 ("s", SEIRI, -1, 1, 0), ("s", SEIRI, 0, 0, -1), ("zone", "Z", 9, 2, 0),
                                 ("room", "Z", 1, 1, 0)])
def test_impossible_sums_are_refused(row):
    with pytest.raises(ValueError):
        scoring.audit_scores_from_sums([row])


def test_full_precision_kept():
    r = audit_scores([ans("A1", SEIRI, 1), ans("A2", SEIRI, 1), ans("A3", SEIRI, 0), *one_per_s(4)[1:]])
    assert r.by_s[SEIRI] == 2 / 12 * 100  # not rounded to 16.7
    assert format_pct(r.by_s[SEIRI], "en") == "16.7%"


def test_s_without_scored_item_flags_and_no_overall():
    answers = [*one_per_s(3)[:4], ans("E1", SHITSUKE, None, na=True), ans("E2", SHITSUKE, None)]
    r = audit_scores(answers)
    assert r.by_s[SHITSUKE] is None
    assert set(r.by_s) == set(S_KEYS)
    assert r.overall is None
    assert r.incomplete_s == (SHITSUKE,)
    assert r.by_s[SEIRI] == 75.0


def test_empty_audit():
    r = audit_scores([])
    assert r == AuditScores(
        by_s={s: None for s in S_KEYS}, by_zone={}, overall=None, incomplete_s=S_KEYS, scored=0, na=0
    )


# ---------------------------------------------------------------- bands and formatting
@pytest.mark.parametrize(
    "pct, expected, vi, en",
    [
        (0.0, "poor", "Kém", "Poor"),
        (59.999, "poor", "Kém", "Poor"),
        (60.0, "fair", "Trung bình", "Fair"),
        (79.9, "fair", "Trung bình", "Fair"),
        (79.99999, "fair", "Trung bình", "Fair"),
        (80.0, "good", "Tốt", "Good"),
        (89.99, "good", "Tốt", "Good"),
        (90.0, "excellent", "Xuất sắc", "Excellent"),
        (100.0, "excellent", "Xuất sắc", "Excellent"),
        (None, None, None, None),
    ],
)
def test_bands(pct, expected, vi, en):
    assert band(pct) == expected
    assert band_label(pct) == vi
    assert band_label(pct, "vi") == vi
    assert band_label(pct, "en") == en


def test_band_label_unknown_language_falls_back_to_english():
    assert band_label(95, "jp") == "Excellent"


@pytest.mark.parametrize(
    "pct, vi, en",
    [
        (62.5, "62,5 %", "62.5%"),
        (62.25, "62,3 %", "62.3%"),  # half up on the decimal value
        (2 / 3 * 100, "66,7 %", "66.7%"),
        (100.0, "100,0 %", "100.0%"),
        (0, "0,0 %", "0.0%"),
        (-0.04, "0,0 %", "0.0%"),  # never "-0.0"
        (-12.35, "-12,4 %", "-12.4%"),
        (None, "—", "—"),
    ],
)
def test_format_pct(pct, vi, en):
    assert format_pct(pct) == vi
    assert format_pct(pct, "vi") == vi
    assert format_pct(pct, "en") == en


# ---------------------------------------------------------------- comparability guard
def test_compare_matched_items_only():
    baseline = [
        ans("A1", SEIRI, 2), ans("A2", SEIRI, 4), ans("A3", SEIRI, None, na=True),
        ans("B1", SEITON, 1), ans("B2", SEITON, None),
        ans("C1", SEISO, 3, zone="room", inst="1"), ans("C1", SEISO, None, zone="room", inst="2", na=True),
        ans("D1", SEIKETSU, 2),
        ans("E1", SHITSUKE, 4), ans("E2", SHITSUKE, 0),
    ]
    final = [
        ans("A1", SEIRI, 4), ans("A2", SEIRI, 4), ans("A3", SEIRI, 3),
        ans("B1", SEITON, 3), ans("B2", SEITON, 4),
        ans("C1", SEISO, None, zone="room", inst="1", na=True), ans("C1", SEISO, 4, zone="room", inst="2"),
        ans("D1", SEIKETSU, 3), ans("D9", SEIKETSU, 4),
        ans("E1", SHITSUKE, 2),
    ]
    c = compare(baseline, final)
    assert isinstance(c, Change)
    assert c.excluded_items == ("A3", "B2", "D9", "E2")
    assert c.baseline_matched == pytest.approx(
        {SEIRI: 75.0, SEITON: 25.0, SEISO: 75.0, SEIKETSU: 50.0, SHITSUKE: 100.0}
    )
    assert c.final_matched == pytest.approx(
        {SEIRI: 100.0, SEITON: 75.0, SEISO: 100.0, SEIKETSU: 75.0, SHITSUKE: 50.0}
    )
    assert c.by_s == pytest.approx({SEIRI: 25.0, SEITON: 50.0, SEISO: 25.0, SEIKETSU: 25.0, SHITSUKE: -50.0})
    assert c.overall == pytest.approx(15.0)
    # the unmatched view differs: all-items baseline seiri stays 75, final seiri is 11/12
    assert audit_scores(final).by_s[SEIRI] == pytest.approx(11 / 12 * 100)


def test_compare_pools_all_scored_answers_of_matched_items():
    baseline = [ans("C1", SEISO, 4, inst="1"), ans("C1", SEISO, 2, inst="2"), *one_per_s(2)]
    final = [ans("C1", SEISO, 4, inst="1"), ans("C1", SEISO, None, inst="2"), *one_per_s(2)]
    c = compare(baseline, final)
    assert c.baseline_matched[SEISO] == pytest.approx((4 + 2 + 2) / 12 * 100)
    assert c.final_matched[SEISO] == pytest.approx((4 + 2) / 8 * 100)
    assert c.excluded_items == ()


def test_compare_s_without_matched_item():
    baseline = one_per_s(2)
    final = [a for a in one_per_s(3) if a.s != SEITON] + [ans("S2", SEITON, None, na=True)]
    c = compare(baseline, final)
    assert c.by_s[SEITON] is None
    assert c.baseline_matched[SEITON] is None and c.final_matched[SEITON] is None
    assert c.overall is None
    assert c.by_s[SEIRI] == pytest.approx(25.0)
    assert c.excluded_items == ("S2",)


# ---------------------------------------------------------------- t distribution and CI
@pytest.mark.parametrize("df", [1, 2, 5, 11, 30, 100])
@pytest.mark.parametrize("p", [1e-6, 0.001, 0.025, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.995, 0.999999])
def test_t_quantile_matches_scipy(p, df):
    expected = stats.t.ppf(p, df)
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-10, abs=1e-10)
    assert t_cdf(expected, df) == pytest.approx(p, rel=1e-10)


def test_t_quantile_infinite_df_is_normal():
    assert t_quantile(0.975, math.inf) == pytest.approx(stats.norm.ppf(0.975), abs=1e-10)
    assert t_quantile(0.975, 10**6) == pytest.approx(stats.norm.ppf(0.975), abs=1e-5)


@pytest.mark.parametrize("p, df", [(0.0, 5), (1.0, 5), (0.5, 0)])
def test_t_quantile_rejects_bad_input(p, df):
    with pytest.raises(ValueError):
        t_quantile(p, df)


@pytest.mark.parametrize(
    "values",
    [[1.0, 3.0], [25.0, 0.0, -25.0], [2.5, -1.0, 4.0, 7.25, 0.0, 3.0], list(range(-10, 31, 3))],
)
def test_mean_ci95_matches_scipy(values):
    n = len(values)
    lo, hi = stats.t.interval(0.95, n - 1, loc=statistics.fmean(values), scale=stats.sem(values))
    ci = mean_ci95(values)
    assert ci == pytest.approx((lo, hi), rel=1e-10, abs=1e-10)


def test_mean_ci95_degenerate():
    assert mean_ci95([]) is None
    assert mean_ci95([4.0]) is None
    assert mean_ci95([12.5, 12.5, 12.5]) == (12.5, 12.5)


def test_cohens_dz():
    assert cohens_dz([1, 2, 3, 6]) == pytest.approx(3 / math.sqrt(14 / 3))
    assert cohens_dz([-2.0, -4.0]) == pytest.approx(-3 / math.sqrt(2))
    assert cohens_dz([5.0]) is None
    assert cohens_dz([5.0, 5.0, 5.0]) is None


# ---------------------------------------------------------------- Wilcoxon signed-rank
def brute_force_wilcoxon(changes):
    """Definition: drop zeros, mid-ranks of |d|, exact p by enumerating all 2^n signs."""
    d = [c for c in changes if c != 0]
    n = len(d)
    ranks = stats.rankdata([abs(c) for c in d])
    w_plus = sum(r for r, c in zip(ranks, d) if c > 0)
    centre = n * (n + 1) / 4
    observed = abs(w_plus - centre)
    hits = sum(
        1
        for signs in itertools.product((0, 1), repeat=n)
        if abs(sum(r for r, s in zip(ranks, signs) if s) - centre) >= observed - 1e-9
    )
    return w_plus, hits / 2**n


def test_wilcoxon_hand_computed():
    w, p, r = wilcoxon_signed_rank([1, 2, 3, 4, 5])
    assert (w, p, r) == (15.0, pytest.approx(2 / 32), 1.0)
    w, p, r = wilcoxon_signed_rank([25.0, 0.0, -25.0, 50.0])  # ranks 1.5, 1.5, 3
    assert (w, p, r) == (4.5, pytest.approx(0.75), pytest.approx(0.5))


@pytest.mark.parametrize("changes", [[], [0.0], [0, 0, 0, 0], [1e-12, -1e-12, 0.0]])
def test_wilcoxon_all_zero(changes):
    assert wilcoxon_signed_rank(changes) == (0.0, 1.0, None)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 12, 16, 20])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_wilcoxon_exact_matches_scipy_without_ties(n, seed):
    rng = random.Random(seed * 100 + n)
    x = [rng.choice((-1, 1)) * (rng.random() * 40 + 0.01 * i) + 0.3 for i in range(n)]
    assert len({abs(v) for v in x}) == n and 0 not in x
    w, p, r = wilcoxon_signed_rank(x)
    assert p == pytest.approx(stats.wilcoxon(x, method="exact").pvalue, rel=1e-12)
    assert w == pytest.approx(stats.wilcoxon(x, alternative="greater", method="exact").statistic)
    w_minus = n * (n + 1) / 2 - w
    assert r == pytest.approx((w - w_minus) / (w + w_minus))


@pytest.mark.parametrize(
    "changes",
    [
        [1, 1, 2, -2, 3, 0, 0, -1, 4, 4],
        [25.0, -25.0, 50.0, 0.0, 12.5, 12.5, -12.5],
        [-3, -3, -3, 3, 3, 1],
        [5, 5, 5, 5],
        [2.5, -2.5, 2.5, -2.5, 0, 7.5, 7.5, 7.5, -10, 10],
    ],
)
def test_wilcoxon_with_ties_and_zeros_matches_definition(changes):
    w, p, _ = wilcoxon_signed_rank(changes)
    w_ref, p_ref = brute_force_wilcoxon(changes)
    assert w == pytest.approx(w_ref)
    assert p == pytest.approx(p_ref, rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_wilcoxon_random_ties_match_definition(seed):
    rng = random.Random(seed)
    changes = [rng.randint(-4, 6) * 12.5 for _ in range(rng.randint(3, 10))]
    w, p, _ = wilcoxon_signed_rank(changes)
    if all(c == 0 for c in changes):
        assert (w, p) == (0.0, 1.0)
        return
    w_ref, p_ref = brute_force_wilcoxon(changes)
    assert w == pytest.approx(w_ref)
    assert p == pytest.approx(p_ref, rel=1e-12)


def test_wilcoxon_n20_is_exact_not_normal():
    x = [i if i % 3 else -i for i in range(1, 21)]
    _, p, _ = wilcoxon_signed_rank(x)
    assert p == pytest.approx(stats.wilcoxon(x, method="exact").pvalue, rel=1e-12)
    assert p != pytest.approx(stats.wilcoxon(x, correction=False, method="approx").pvalue, rel=1e-6)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("size", [25, 60])
def test_wilcoxon_normal_approximation_matches_scipy(seed, size):
    rng = random.Random(seed)
    x = [rng.randint(-6, 9) * 2.5 for _ in range(size)]  # ties and zeros
    assert sum(1 for v in x if v != 0) > 20
    w, p, r = wilcoxon_signed_rank(x)
    ref = stats.wilcoxon(x, zero_method="wilcox", correction=False, method="approx")
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
    nz = [v for v in x if v != 0]
    ranks = stats.rankdata([abs(v) for v in nz])
    assert w == pytest.approx(sum(rk for rk, v in zip(ranks, nz) if v > 0))


def test_wilcoxon_float_noise_counts_as_tie_and_zero():
    a = 2 / 3 * 100 - 50  # 16.666...
    b = 100 / 6
    assert a != b
    assert wilcoxon_signed_rank([a, -b, 1e-13]) == wilcoxon_signed_rank([b, -b])


# ---------------------------------------------------------------- programme statistics
def build_pairs():
    """Four sites, one item per S; site D has an extra baseline-only seiri item
    and its final shitsuke item is N/A."""
    site_a = SitePair.from_answers("A", one_per_s(2), one_per_s(3))  # +25 everywhere
    site_b = SitePair.from_answers("B", one_per_s(1), one_per_s(1))  # unchanged
    site_c = SitePair.from_answers("C", one_per_s(3), one_per_s(2))  # -25 everywhere
    d_base = one_per_s(2) + [ans("X", SEIRI, 0)]
    d_final = one_per_s(4)[:4] + [ans("S5", SHITSUKE, None, na=True)]
    site_d = SitePair.from_answers("D", d_base, d_final)
    return [site_a, site_b, site_c, site_d]


def test_site_pair_from_answers():
    d = build_pairs()[3]
    assert d.baseline.by_s[SEIRI] == pytest.approx(25.0)  # (2 + 0) / 8
    assert d.change.by_s[SEIRI] == pytest.approx(50.0)  # matched S1 only: 100 - 50
    assert d.change.by_s[SHITSUKE] is None and d.change.overall is None
    assert d.change.excluded_items == ("S5", "X")
    assert d.final.overall is None and d.final.incomplete_s == (SHITSUKE,)


def test_programme_stats_small_set():
    ps = programme_stats(build_pairs())
    assert isinstance(ps, ProgrammeStats)

    seiri = ps.by_s[SEIRI]
    assert seiri.n == 4
    assert seiri.baseline_mean == pytest.approx((50 + 25 + 75 + 25) / 4)  # all items, not matched
    assert seiri.final_mean == pytest.approx((75 + 25 + 50 + 100) / 4)
    assert seiri.mean_change == pytest.approx(12.5)
    assert (seiri.improved, seiri.unchanged, seiri.declined) == (2, 1, 1)
    assert seiri.cohens_dz == pytest.approx(12.5 / statistics.stdev([25, 0, -25, 50]))
    assert seiri.ci95 == pytest.approx(stats.t.interval(0.95, 3, loc=12.5, scale=stats.sem([25, 0, -25, 50])))
    assert seiri.wilcoxon_w_plus == 4.5
    assert seiri.wilcoxon_p == pytest.approx(0.75)
    assert seiri.rank_biserial == pytest.approx(0.5)

    seiton = ps.by_s[SEITON]  # D: matched S2 only, 50 -> 100, and baseline has no extra item
    assert seiton.n == 4
    assert seiton.baseline_mean == pytest.approx((50 + 25 + 75 + 50) / 4)
    assert seiton.mean_change == pytest.approx(12.5)

    shitsuke = ps.by_s[SHITSUKE]  # site D left out (no matched item)
    assert shitsuke.n == 3
    assert shitsuke.baseline_mean == pytest.approx(50.0)
    assert shitsuke.final_mean == pytest.approx(50.0)
    assert shitsuke.mean_change == pytest.approx(0.0)
    assert (shitsuke.improved, shitsuke.unchanged, shitsuke.declined) == (1, 1, 1)
    assert shitsuke.rank_biserial == pytest.approx(0.0)
    assert shitsuke.wilcoxon_p == pytest.approx(1.0)

    overall = ps.overall  # site D left out (overall change None)
    assert overall.n == 3
    assert overall.baseline_mean == pytest.approx(50.0)
    assert overall.final_mean == pytest.approx(50.0)
    assert overall.mean_change == pytest.approx(0.0)
    assert (overall.improved, overall.unchanged, overall.declined) == (1, 1, 1)
    assert overall.cohens_dz == pytest.approx(0.0)
    half = stats.t.ppf(0.975, 2) * 25 / math.sqrt(3)
    assert overall.ci95 == pytest.approx((-half, half))


def test_programme_stats_as_dict_is_json_ready():
    d = programme_stats(build_pairs()).as_dict()
    json.dumps(d)
    assert set(d) == {"overall", "by_s"}
    assert list(d["by_s"]) == list(S_KEYS)
    assert isinstance(d["overall"]["ci95"], list) and len(d["overall"]["ci95"]) == 2
    assert set(d["overall"]) == {f for f in MetricStats.__dataclass_fields__}


def test_programme_stats_single_site_and_empty():
    one = programme_stats(build_pairs()[:1]).overall
    assert one.n == 1 and one.mean_change == pytest.approx(25.0)
    assert one.ci95 is None and one.cohens_dz is None
    assert one.improved == 1 and one.wilcoxon_w_plus == 1.0 and one.wilcoxon_p == 1.0

    empty = programme_stats([])
    for m in [empty.overall, *empty.by_s.values()]:
        assert m == MetricStats(
            n=0, baseline_mean=None, final_mean=None, mean_change=None, ci95=None,
            improved=0, unchanged=0, declined=0, cohens_dz=None,
            wilcoxon_w_plus=0.0, wilcoxon_p=1.0, rank_biserial=None,
        )
        assert m.as_dict()["ci95"] is None


def test_programme_stats_all_unchanged():
    pairs = [SitePair.from_answers(c, one_per_s(2), one_per_s(2)) for c in "ABC"]
    m = programme_stats(pairs).overall
    assert (m.n, m.improved, m.unchanged, m.declined) == (3, 0, 3, 0)
    assert m.ci95 == (0.0, 0.0)
    assert m.cohens_dz is None
    assert (m.wilcoxon_w_plus, m.wilcoxon_p, m.rank_biserial) == (0.0, 1.0, None)
