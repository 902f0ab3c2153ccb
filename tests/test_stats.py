"""Tests for fivs.stats (paired statistics on SciPy) and the programme statistics built on it.

The statistics are cross-checked against scipy and against brute-force enumeration of the
definitions.
"""
from __future__ import annotations

import itertools
import json
import math
import random
import statistics
import sys

import numpy as np
import pytest
from scipy import stats

from fivs import stats as fivs_stats
from fivs.comparisons.services import ProgrammeStats, programme_stats
from fivs.scoring import S_KEYS, SitePair
from fivs.stats import MetricStats, cohens_dz, mean_ci95, metric_stats, t_quantile, wilcoxon_signed_rank
from tests.scoring_support import SEIRI, SEITON, SHITSUKE, build_pairs, import_roots, one_per_s


# ---------------------------------------------------------------- module hygiene
def test_module_imports_only_stdlib_numpy_and_scipy():
    roots = import_roots(fivs_stats)
    assert roots <= set(sys.stdlib_module_names) | {"__future__", "numpy", "scipy"}, roots


# ---------------------------------------------------------------- t distribution and CI
@pytest.mark.parametrize("df", [1, 2, 5, 11, 30, 100])
@pytest.mark.parametrize("p", [1e-6, 0.001, 0.025, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.995, 0.999999])
def test_t_quantile_matches_scipy(p, df):
    expected = stats.t.ppf(p, df)
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-10, abs=1e-10)
    assert stats.t.cdf(t_quantile(p, df), df) == pytest.approx(p, rel=1e-10)


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


def enumerated_p(changes):
    """Definition again, vectorised for n up to 21: every one of the 2^n sign assignments of the
    mid-ranks, enumerated in blocks; two-sided p = share with |W+ - n(n+1)/4| >= observed."""
    d = np.array([c for c in changes if c != 0], dtype=float)
    n = d.size
    ranks = stats.rankdata(np.abs(d))
    centre = n * (n + 1) / 4
    observed = abs(ranks[d > 0].sum() - centre)
    hits = 0
    for start in range(0, 2**n, 2**16):
        assignment = np.arange(start, min(start + 2**16, 2**n))
        positive = (assignment[:, None] >> np.arange(n)) & 1
        hits += int(np.count_nonzero(np.abs(positive @ ranks - centre) >= observed - 1e-9))
    return hits / 2**n


@pytest.mark.parametrize("n", range(11))
@pytest.mark.parametrize("seed", [1, 2])
def test_wilcoxon_ties_and_zeros_match_scipys_complete_enumeration(n, seed):
    """Exact p with ties and zeros (up to 12 non-zero changes) = scipy.stats.wilcoxon's
    permutation test over every one of the 2^n sign assignments (n_resamples=inf), and the
    definition enumerated by hand."""
    rng = random.Random(seed * 100 + n)
    x = [rng.randint(-3, 4) * 12.5 for _ in range(n)] + [25.0, -25.0, 0.0]  # a tie and a zero at least
    w, p, _ = wilcoxon_signed_rank(x)
    scipy_p = stats.wilcoxon(x, zero_method="wilcox",
                             method=stats.PermutationMethod(n_resamples=np.inf)).pvalue
    w_ref, p_ref = brute_force_wilcoxon(x)
    assert p == pytest.approx(scipy_p, rel=1e-12)
    assert (w, p) == (pytest.approx(w_ref), pytest.approx(p_ref, rel=1e-12))


def test_wilcoxon_20_non_zero_tied_changes_are_exact_and_21_approximate():
    rng = random.Random(20)
    twenty = [rng.choice((-1, 1, 1)) * rng.randint(1, 6) * 12.5 for _ in range(20)] + [0.0, 0.0]
    twenty_one = twenty + [75.0]
    assert len({abs(v) for v in twenty if v}) < 20  # ties

    _, p20, _ = wilcoxon_signed_rank(twenty)
    normal20 = stats.wilcoxon(twenty, zero_method="wilcox", correction=False, method="asymptotic").pvalue
    assert p20 == pytest.approx(enumerated_p(twenty), rel=1e-12)
    assert p20 != pytest.approx(normal20, rel=1e-6)

    _, p21, _ = wilcoxon_signed_rank(twenty_one)
    normal21 = stats.wilcoxon(twenty_one, zero_method="wilcox", correction=False, method="asymptotic").pvalue
    assert p21 == pytest.approx(normal21, rel=1e-12)
    assert p21 != pytest.approx(enumerated_p(twenty_one), rel=1e-6)


def test_metric_stats_from_plain_numbers():
    m = metric_stats([50.0, 25.0, 75.0], [75.0, 75.0, 75.0], [25.0, 50.0, 0.0])
    assert (m.n, m.improved, m.unchanged, m.declined) == (3, 2, 1, 0)
    assert (m.baseline_mean, m.final_mean, m.mean_change) == (50.0, 75.0, 25.0)
    assert m.ci95 == pytest.approx(stats.t.interval(0.95, 2, loc=25.0, scale=stats.sem([25, 50, 0])))
    assert (m.wilcoxon_w_plus, m.wilcoxon_p, m.rank_biserial) == (3.0, pytest.approx(0.5), 1.0)
    assert m.cohens_dz == pytest.approx(1.0)
    assert all(type(v) in (int, float, type(None)) for v in m.as_dict().values() if not isinstance(v, list))


# ---------------------------------------------------------------- programme statistics
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
