"""The agreement figures of fivs.stats, checked against scikit-learn's cohen_kappa_score."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from fivs.stats import (AGREEMENT_MIN_ITEMS, ONE_LEVEL, TOO_FEW_ITEMS, agreement,
                        kappa_bootstrap_ci, quadratic_kappa)

LEVELS = [0, 1, 2, 3, 4]


def sklearn_kappa(a, b) -> float:
    # labels fixed to 0..4: sklearn weighs by label index, so a missing level must still count
    return float(cohen_kappa_score(a, b, weights="quadratic", labels=LEVELS))


@pytest.mark.parametrize("seed", range(25))
def test_kappa_matches_sklearn_on_random_raters(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 200))
    a = rng.integers(0, 5, n)
    b = np.clip(a + rng.integers(-2, 3, n), 0, 4) if seed % 2 else rng.integers(0, 5, n)
    expected = sklearn_kappa(a, b)
    assert quadratic_kappa(a.tolist(), b.tolist()) == pytest.approx(expected, abs=1e-12)
    assert agreement(a.tolist(), b.tolist()).kappa_quadratic == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("a, b", [
    ([0, 2, 4, 4, 2, 0, 2, 4, 0, 2], [2, 2, 4, 2, 2, 0, 4, 4, 0, 0]),  # levels 1 and 3 never used
    ([3, 4] * 6, [4, 3] * 6),  # systematic disagreement
    ([0, 4] * 5, [4, 0] * 5),  # opposite: kappa -1
])
def test_kappa_matches_sklearn_on_gappy_levels(a, b):
    assert quadratic_kappa(a, b) == pytest.approx(sklearn_kappa(a, b), abs=1e-12)


def test_perfect_agreement():
    a = [0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 2]
    result = agreement(a, a)
    assert result.kappa_quadratic == 1.0 == sklearn_kappa(a, a)
    assert result.kappa_ci == (1.0, 1.0)
    assert (result.exact_agreement, result.within_one, result.mean_difference) == (1.0, 1.0, 0.0)
    assert result.kappa_missing is None and result.n_items == 11


def test_one_side_all_one_level_has_no_kappa():
    """sklearn gives 0 here (nan when both are constant): the figure is 0 whatever the other rater
    did, so fivs reports none rather than a "no agreement" that is not measured."""
    a = [4] * 12
    b = [0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 4, 4]
    assert sklearn_kappa(a, b) == pytest.approx(0.0)
    for first, other in ((a, b), (b, a), (a, a)):
        result = agreement(first, other)
        assert result.kappa_quadratic is None and result.kappa_ci is None
        assert result.kappa_missing == ONE_LEVEL
    result = agreement(a, b)
    assert result.mean_difference == pytest.approx(np.mean(np.array(a) - np.array(b)))
    assert result.exact_agreement == pytest.approx(4 / 12)


def test_fewer_than_ten_items_has_no_kappa_but_the_other_figures():
    a, b = [4, 3, 2, 1, 0, 4, 3, 2, 1], [3, 3, 2, 0, 0, 4, 4, 2, 3]
    assert len(a) == AGREEMENT_MIN_ITEMS - 1
    result = agreement(a, b)
    assert result.kappa_quadratic is None and result.kappa_ci is None
    assert result.kappa_missing == TOO_FEW_ITEMS
    assert result.n_items == 9
    assert result.exact_agreement == pytest.approx(5 / 9)
    assert result.within_one == pytest.approx(8 / 9)
    assert result.mean_difference == pytest.approx(sum(x - y for x, y in zip(a, b)) / 9)
    empty = agreement([], [])
    assert empty.n_items == 0 and empty.mean_difference is None and empty.kappa_missing == TOO_FEW_ITEMS


def test_mean_difference_is_first_minus_other():
    result = agreement([4] * 5 + [3] * 5, [3] * 5 + [2] * 5)
    assert result.mean_difference == 1.0 and result.exact_agreement == 0.0 and result.within_one == 1.0


def test_bootstrap_interval_is_reproducible_and_brackets_the_kappa():
    rng = np.random.default_rng(7)
    a = rng.integers(0, 5, 60)
    b = np.clip(a + rng.integers(-1, 2, 60), 0, 4)
    ci = kappa_bootstrap_ci(a, b)
    assert ci == kappa_bootstrap_ci(a, b) == agreement(a.tolist(), b.tolist()).kappa_ci
    kappa = quadratic_kappa(a, b)
    assert ci[0] < kappa < ci[1] <= 1.0
    assert kappa_bootstrap_ci(a, b, seed=8) != ci


def test_bootstrap_interval_matches_a_plain_loop():
    """The vectorised resampling is the textbook percentile bootstrap with the same indices."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 5, 30)
    b = np.clip(a + rng.integers(-2, 3, 30), 0, 4)
    idx = np.random.default_rng(11).integers(0, 30, size=(300, 30))
    loop = [sklearn_kappa(a[i], b[i]) for i in idx if len(set(a[i])) > 1 and len(set(b[i])) > 1]
    expected = tuple(np.percentile(loop, [2.5, 97.5]))
    assert kappa_bootstrap_ci(a, b, seed=11, n_resamples=300) == pytest.approx(expected, abs=1e-12)


def test_unequal_lengths_are_refused():
    with pytest.raises(ValueError):
        agreement([1, 2], [1])
