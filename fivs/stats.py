"""Paired statistics of the programme comparison (method note, statistics part).

For one metric (an S or the overall score) over the sites whose change is available:
    n; mean baseline and mean final score; mean change with its 95 % confidence interval
    (Student t with n - 1 degrees of freedom, scipy.stats.t; none when n < 2; cut to the bounds
    a change can have, when the caller gives them: ±100 points for a percentage); the numbers of
    sites improved / unchanged / declined; Cohen's dz (mean change / sample standard deviation
    of the changes; none when n < 2 or the deviation is 0); the Wilcoxon signed-rank test of
    the changes against 0 with its matched-pairs rank-biserial correlation.

Wilcoxon signed-rank test
    Changes are rounded to 1e-9 first, so floating-point noise such as 1e-14 is neither a
    change nor breaks a tie. Zero changes are dropped (Wilcoxon's own rule), the absolute
    changes are ranked with mid-ranks for ties, and W+ is the sum of the ranks of the positive
    changes. The two-sided p value is exact for up to 20 non-zero changes, ties included: the
    share of the 2^n sign assignments whose W+ is at least as far from n(n + 1)/4 as the
    observed one, counted in integers over doubled ranks. That is the p value of
    scipy.stats.wilcoxon with method="exact" (no ties) and with a PermutationMethod of
    n_resamples=inf (ties), as the tests check; counting keeps 20 tied changes to a tenth of a
    millisecond where scipy's enumeration of the 2^20 assignments takes about a minute. Above
    20 the p value is scipy.stats.wilcoxon's normal approximation with tie correction and no
    continuity correction. The effect size is r = (W+ - W-) / (W+ + W-). When every change is zero:
    W+ = 0, p = 1 and r is not defined. With fewer than WILCOXON_MIN_N non-zero changes the test
    cannot mean anything: even all of them in one direction give p >= 2 / 2^5 = 0.0625, so it can
    never show a change (MetricStats.wilcoxon_informative; pages and reports then say so instead).

Agreement of two raters on the same items (scores 0-4; the caller leaves out N/A and unscored)
    Quadratic-weighted Cohen's kappa: 1 - sum (a - b)^2 / the same sum expected when the two
    raters' scores were independent (their marginals crossed), which is
        n sum (a - b)^2 / (n sum a^2 - (sum a)^2 + n sum b^2 - (sum b)^2 + (sum a - sum b)^2)
    in integers: the value of sklearn's cohen_kappa_score(weights="quadratic", labels=0..4).
    Kappa is not reported (None) with fewer than AGREEMENT_MIN_ITEMS items, nor when either rater
    gave every item the same level: kappa is then 0 (or 0 / 0) whatever the other rater did, so it
    says nothing of agreement. Its 95 % interval is the percentile bootstrap over items
    (BOOTSTRAP_RESAMPLES resamples from numpy's default_rng(BOOTSTRAP_SEED), so a report printed
    twice shows the same interval); resamples where kappa is not defined are left out, and with
    fewer than half of them defined there is no interval. Exact agreement and agreement within one
    level are fractions of the items; the mean difference is first - other in points.

Pure: the standard library, numpy and scipy; no Flask, no database, nothing else of fivs.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

__all__ = [
    "CHANGE_DECIMALS",
    "EXACT_MAX_N",
    "WILCOXON_MIN_N",
    "MetricStats",
    "metric_stats",
    "rounded",
    "t_quantile",
    "mean_ci95",
    "cohens_dz",
    "wilcoxon_signed_rank",
    "AGREEMENT_MIN_ITEMS",
    "ONE_LEVEL",
    "TOO_FEW_ITEMS",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "Agreement",
    "agreement",
    "quadratic_kappa",
    "kappa_bootstrap_ci",
]

# Changes are compared with zero and with each other (tied ranks) after rounding to this many
# decimals.
CHANGE_DECIMALS = 9

# Up to this many non-zero changes the Wilcoxon p value is exact.
EXACT_MAX_N = 20

# The fewest non-zero changes with which the two-sided Wilcoxon test can reach p < 0.05 (2 / 2^6).
WILCOXON_MIN_N = 6


def rounded(values: Sequence[float]) -> list[float]:
    """The values rounded to CHANGE_DECIMALS (Python's decimal rounding, as a person would)."""
    return [round(float(v), CHANGE_DECIMALS) for v in values]


# ---------------------------------------------------------------- mean, interval, effect size
def t_quantile(p: float, df: float) -> float:
    """Inverse Student t CDF (scipy.stats.t.ppf) for 0 < p < 1 and df > 0 (df may be math.inf)."""
    if isinstance(df, bool) or not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df!r}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    return float(scipy.stats.t.ppf(p, df))


def _sd(values: Sequence[float]) -> float:
    """Sample standard deviation, exactly 0 when the values are equal after rounding."""
    if len(set(rounded(values))) <= 1:
        return 0.0
    return statistics.stdev(values)


def mean_ci95(values: Sequence[float], bounds: tuple[float, float] | None = None
              ) -> tuple[float, float] | None:
    """95 % Student-t confidence interval of the mean (None when n < 2), cut to `bounds` (the
    smallest and largest value the quantity can have) when given."""
    vals = [float(v) for v in values]
    n = len(vals)
    if n < 2:
        return None
    mean = statistics.fmean(vals)
    sd = _sd(vals)
    if sd == 0.0:
        return (mean, mean)
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return (low, high)


def cohens_dz(values: Sequence[float]) -> float | None:
    """Mean / sample sd of paired changes (None when n < 2 or sd == 0)."""
    vals = [float(v) for v in values]
    if len(vals) < 2:
        return None
    sd = _sd(vals)
    if sd == 0.0:
        return None
    return statistics.fmean(vals) / sd


# ---------------------------------------------------------------- Wilcoxon signed-rank
def _exact_two_sided_p(ranks: np.ndarray, w_plus: float) -> float:
    """Share of the 2^n sign assignments with |W+ - n(n+1)/4| >= observed, mid-ranks allowed.

    counts[k] is the number of assignments whose doubled W+ is k: the coefficients of the
    product of (1 + x^(2 r)) over the ranks r, built one rank at a time in integers.
    """
    doubled = np.rint(2 * ranks).astype(np.int64)
    total = int(doubled.sum())  # = n(n+1): doubled W+ ranges over 0..total, centred on total/2
    counts = np.zeros(total + 1, dtype=np.int64)
    counts[0] = 1
    for r in doubled:
        counts[r:] += counts[:-r].copy()
    k = np.arange(total + 1)
    observed = abs(4 * w_plus - total)  # |2 (2 W+) - total|, an integer
    extreme = int(counts[np.abs(2 * k - total) >= observed].sum())
    return min(1.0, extreme / 2 ** len(doubled))


def wilcoxon_signed_rank(changes: Sequence[float]) -> tuple[float, float, float | None]:
    """Wilcoxon signed-rank test of paired changes against 0: (W+, two-sided p, rank-biserial r).

    The rules are in the module docstring.
    """
    d = np.array([c for c in rounded(changes) if c != 0.0])
    n = d.size
    if n == 0:
        return 0.0, 1.0, None
    ranks = scipy.stats.rankdata(np.abs(d))  # mid-ranks for ties
    w_plus = float(ranks[d > 0].sum())
    total = n * (n + 1) / 2.0
    r_biserial = (w_plus - (total - w_plus)) / total
    if n <= EXACT_MAX_N:
        p = _exact_two_sided_p(ranks, w_plus)
    else:
        p = float(scipy.stats.wilcoxon(d, zero_method="wilcox", correction=False,
                                       method="asymptotic").pvalue)
    return w_plus, p, r_biserial


# ---------------------------------------------------------------- one metric
@dataclass(frozen=True)
class MetricStats:
    """The statistics of one metric over the sites whose change is available."""

    n: int
    baseline_mean: float | None
    final_mean: float | None
    mean_change: float | None
    ci95: tuple[float, float] | None
    improved: int
    unchanged: int
    declined: int
    cohens_dz: float | None
    wilcoxon_w_plus: float
    wilcoxon_p: float
    rank_biserial: float | None

    @property
    def wilcoxon_informative(self) -> bool:
        """Whether the Wilcoxon test (W+, p, r) can mean anything: at least WILCOXON_MIN_N non-zero changes."""
        return self.improved + self.declined >= WILCOXON_MIN_N

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "baseline_mean": self.baseline_mean,
            "final_mean": self.final_mean,
            "mean_change": self.mean_change,
            "ci95": None if self.ci95 is None else [self.ci95[0], self.ci95[1]],
            "improved": self.improved,
            "unchanged": self.unchanged,
            "declined": self.declined,
            "cohens_dz": self.cohens_dz,
            "wilcoxon_w_plus": self.wilcoxon_w_plus,
            "wilcoxon_p": self.wilcoxon_p,
            "rank_biserial": self.rank_biserial,
        }


def metric_stats(baselines: Sequence[float], finals: Sequence[float],
                 changes: Sequence[float], bounds: tuple[float, float] | None = None) -> MetricStats:
    """One metric's statistics from plain numbers: the sites' baseline and final scores and their
    changes (n is the number of changes); `bounds`: what a change can be (the interval is cut there)."""
    changes = [float(c) for c in changes]
    signs = rounded(changes)
    w_plus, p, r = wilcoxon_signed_rank(changes)
    return MetricStats(
        n=len(changes),
        baseline_mean=statistics.fmean(baselines) if baselines else None,
        final_mean=statistics.fmean(finals) if finals else None,
        mean_change=statistics.fmean(changes) if changes else None,
        ci95=mean_ci95(changes, bounds),
        improved=sum(1 for c in signs if c > 0),
        unchanged=sum(1 for c in signs if c == 0),
        declined=sum(1 for c in signs if c < 0),
        cohens_dz=cohens_dz(changes),
        wilcoxon_w_plus=w_plus,
        wilcoxon_p=p,
        rank_biserial=r,
    )


# ---------------------------------------------------------------- agreement of two raters
# With fewer common items than this, no kappa is reported.
AGREEMENT_MIN_ITEMS = 10
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 5  # fixed: the same data give the same interval on every page and report

TOO_FEW_ITEMS, ONE_LEVEL = "too_few_items", "one_level"  # why a kappa is missing


def _kappa_terms(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along the last axis: n * observed disagreement, n * expected one, and whether either
    rater used a single level (integers, so equal raters give exactly 1)."""
    n = a.shape[-1]
    sa, sb = a.sum(-1), b.sum(-1)
    var_a = n * (a * a).sum(-1) - sa * sa  # n^2 times the population variance
    var_b = n * (b * b).sum(-1) - sb * sb
    observed = n * ((a - b) ** 2).sum(-1)
    expected = var_a + var_b + (sa - sb) ** 2
    return observed, expected, (var_a == 0) | (var_b == 0)


def quadratic_kappa(first: Sequence[int], other: Sequence[int]) -> float | None:
    """Quadratic-weighted Cohen's kappa of two raters' scores on the same items (module
    docstring); None when there is no item or either rater used a single level."""
    a, b = np.asarray(first, dtype=np.int64), np.asarray(other, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError("both raters must score the same items")
    if a.size == 0:
        return None
    observed, expected, one_level = _kappa_terms(a, b)
    if one_level:
        return None
    return 1.0 - float(observed) / float(expected)


def kappa_bootstrap_ci(first: Sequence[int], other: Sequence[int], *,
                       seed: int = BOOTSTRAP_SEED, n_resamples: int = BOOTSTRAP_RESAMPLES
                       ) -> tuple[float, float] | None:
    """95 % percentile bootstrap interval of the quadratic kappa, items resampled in pairs."""
    a, b = np.asarray(first, dtype=np.int64), np.asarray(other, dtype=np.int64)
    if a.size < 2:
        return None
    idx = np.random.default_rng(seed).integers(0, a.size, size=(n_resamples, a.size))
    observed, expected, one_level = _kappa_terms(a[idx], b[idx])
    defined = ~one_level
    if defined.sum() * 2 < n_resamples:
        return None
    kappas = 1.0 - observed[defined] / expected[defined]
    low, high = np.percentile(kappas, [2.5, 97.5])
    return (float(low), float(high))


@dataclass(frozen=True)
class Agreement:
    """Two raters on their common items: see the module docstring for each figure."""

    n_items: int
    kappa_quadratic: float | None
    kappa_ci: tuple[float, float] | None
    kappa_missing: str | None  # TOO_FEW_ITEMS, ONE_LEVEL or None (kappa shown)
    exact_agreement: float | None
    within_one: float | None
    mean_difference: float | None  # first - other, points on the 0-4 scale

    def as_dict(self) -> dict:
        return {
            "n_items": self.n_items,
            "kappa_quadratic": self.kappa_quadratic,
            "kappa_ci": None if self.kappa_ci is None else [self.kappa_ci[0], self.kappa_ci[1]],
            "kappa_missing": self.kappa_missing,
            "exact_agreement": self.exact_agreement,
            "within_one": self.within_one,
            "mean_difference": self.mean_difference,
        }


def agreement(first: Sequence[int], other: Sequence[int], *,
              min_items: int = AGREEMENT_MIN_ITEMS, seed: int = BOOTSTRAP_SEED) -> Agreement:
    """Every agreement figure of two raters' scores on the same items (in the same order)."""
    a, b = np.asarray(first, dtype=np.int64), np.asarray(other, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError("both raters must score the same items")
    n = int(a.size)
    if n == 0:
        return Agreement(0, None, None, TOO_FEW_ITEMS, None, None, None)
    gap = a - b
    kappa = ci = None
    if n < min_items:
        missing = TOO_FEW_ITEMS
    else:
        kappa = quadratic_kappa(a, b)
        missing = ONE_LEVEL if kappa is None else None
        if kappa is not None:
            ci = kappa_bootstrap_ci(a, b, seed=seed)
    return Agreement(
        n_items=n, kappa_quadratic=kappa, kappa_ci=ci, kappa_missing=missing,
        exact_agreement=float(np.mean(gap == 0)), within_one=float(np.mean(np.abs(gap) <= 1)),
        mean_difference=float(np.mean(gap)))
