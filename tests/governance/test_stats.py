"""governance.stats against established implementations (test oracles only, never app code).

scikit-learn's weighted kappa, the ``krippendorff`` package's ordinal alpha and scipy's
``fisher_exact`` / ``chi2_contingency`` on random data, plus hand-worked edge cases.
"""

from __future__ import annotations

import math
import random

import krippendorff
import numpy as np
import pytest
from scipy.stats import chi2_contingency, fisher_exact
from sklearn.metrics import cohen_kappa_score

from governance import stats

SCALE = [1, 2, 3, 4, 5]


def _random_ratings(rng: random.Random, items: int, raters: int, missing: float) -> list[list]:
    """Correlated ordinal ratings: a true level per item plus rater noise, some missing."""
    units = []
    for _ in range(items):
        truth = rng.randint(1, 5)
        row = []
        for _ in range(raters):
            if rng.random() < missing:
                row.append(None)
            else:
                row.append(min(5, max(1, truth + rng.choice([-2, -1, 0, 0, 0, 1, 1]))))
        units.append(row)
    return units


@pytest.mark.parametrize("seed", range(25))
def test_quadratic_kappa_matches_scikit_learn(seed: int) -> None:
    rng = random.Random(seed)
    units = _random_ratings(rng, rng.randint(5, 60), 2, 0.0)
    first, second = [u[0] for u in units], [u[1] for u in units]

    ours = stats.quadratic_weighted_kappa(first, second, SCALE)
    oracle = cohen_kappa_score(first, second, weights="quadratic", labels=SCALE)

    if math.isnan(oracle):
        assert ours is None
    else:
        assert ours == pytest.approx(oracle, abs=1e-12)


def test_kappa_leaves_out_items_a_rater_skipped() -> None:
    first = [1, 2, None, 4, 5, 3]
    second = [1, 3, 2, 4, None, 2]
    expected = cohen_kappa_score([1, 2, 4, 3], [1, 3, 4, 2], weights="quadratic", labels=SCALE)

    assert stats.quadratic_weighted_kappa(first, second, SCALE) == pytest.approx(expected)


def test_kappa_is_undefined_without_variation() -> None:
    assert stats.quadratic_weighted_kappa([3, 3, 3], [3, 3, 3], SCALE) is None
    assert stats.quadratic_weighted_kappa([3], [4], SCALE) is None


def test_kappa_of_perfect_agreement_is_one() -> None:
    assert stats.quadratic_weighted_kappa([1, 2, 5, 4], [1, 2, 5, 4], SCALE) == pytest.approx(1)


@pytest.mark.parametrize("seed", range(25))
def test_ordinal_alpha_matches_the_krippendorff_package(seed: int) -> None:
    rng = random.Random(1000 + seed)
    raters = rng.randint(2, 6)
    units = _random_ratings(rng, rng.randint(4, 40), raters, rng.choice([0.0, 0.1, 0.3]))
    # The package wants raters × units with nan for missing values.
    matrix = np.array(
        [[np.nan if u[r] is None else u[r] for u in units] for r in range(raters)], dtype=float
    )

    ours = stats.krippendorff_alpha_ordinal(units, SCALE)
    try:
        oracle = krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="ordinal", value_domain=SCALE
        )
    except (ValueError, ZeroDivisionError):
        oracle = float("nan")

    if math.isnan(oracle):
        assert ours is None
    else:
        assert ours == pytest.approx(oracle, abs=1e-9)


def test_alpha_uses_only_pairable_items() -> None:
    units = [[1, 1, None], [2, 2, 2], [5, None, None], [4, 5, 4], [3, 3, None]]
    matrix = np.array(
        [[np.nan if u[r] is None else u[r] for u in units] for r in range(3)], dtype=float
    )
    oracle = krippendorff.alpha(
        reliability_data=matrix, level_of_measurement="ordinal", value_domain=SCALE
    )

    assert stats.krippendorff_alpha_ordinal(units, SCALE) == pytest.approx(oracle)
    assert stats.krippendorff_alpha_ordinal([[4, 4], [4, 4]], SCALE) is None
    assert stats.krippendorff_alpha_ordinal([[4, None], [None, 2]], SCALE) is None


def test_raw_agreement_pools_the_pairs_of_every_item() -> None:
    # Item 1: 3 pairs, 1 agreeing (1=1); item 2: 1 pair, agreeing; item 3: no pair.
    units = [[1, 1, 2], [4, None, 4], [5, None, None]]

    assert stats.raw_agreement(units) == pytest.approx(2 / 4)
    assert stats.raw_agreement([[1, None]]) is None


@pytest.mark.parametrize(
    ("alpha", "verdict"),
    [
        (None, "insufficient_data"),
        (0.95, "calibrated"),
        (0.80, "calibrated"),
        (0.7999, "discuss"),
        (0.667, "discuss"),
        (0.6669, "not_for_decisions"),
        (-0.2, "not_for_decisions"),
    ],
)
def test_alpha_verdict_thresholds(alpha: float | None, verdict: str) -> None:
    assert stats.alpha_verdict(alpha) == verdict


@pytest.mark.parametrize("seed", range(30))
def test_fisher_exact_matches_scipy(seed: int) -> None:
    rng = random.Random(2000 + seed)
    total_a, total_b = rng.randint(1, 120), rng.randint(1, 120)
    hits_a, hits_b = rng.randint(0, total_a), rng.randint(0, total_b)
    table = [[hits_a, total_a - hits_a], [hits_b, total_b - hits_b]]

    oracle = fisher_exact(table, alternative="two-sided").pvalue

    assert stats.fisher_exact_p(hits_a, total_a, hits_b, total_b) == pytest.approx(
        oracle, rel=1e-6, abs=1e-12
    )


@pytest.mark.parametrize("seed", range(30))
def test_two_proportion_z_test_matches_the_uncorrected_chi_square(seed: int) -> None:
    rng = random.Random(3000 + seed)
    total_a, total_b = rng.randint(5, 500), rng.randint(5, 500)
    hits_a, hits_b = rng.randint(1, total_a - 1), rng.randint(1, total_b - 1)
    table = [[hits_a, total_a - hits_a], [hits_b, total_b - hits_b]]

    chi2, oracle_p, _, _ = chi2_contingency(table, correction=False)
    z, p = stats.two_proportion_z_test(hits_a, total_a, hits_b, total_b)

    assert p == pytest.approx(oracle_p, rel=1e-9, abs=1e-15)
    assert z**2 == pytest.approx(chi2, rel=1e-9)
    assert (z > 0) == (hits_a / total_a > hits_b / total_b)


def test_tests_are_undefined_for_empty_or_uniform_groups() -> None:
    assert stats.two_proportion_z_test(0, 0, 3, 10) == (None, None)
    assert stats.two_proportion_z_test(10, 10, 5, 5) == (None, None)
    assert stats.fisher_exact_p(1, 0, 1, 3) is None
    assert stats.fisher_exact_p(4, 4, 3, 3) == pytest.approx(1.0)


def test_median_of_even_and_odd_counts() -> None:
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 3, 2]) == 2.5
    assert stats.median([]) is None


@pytest.mark.parametrize("seed", range(10))
def test_fisher_exact_matches_scipy_on_large_groups(seed: int) -> None:
    # The walk from the mode stops early on large samples; the answer must not change.
    rng = random.Random(4000 + seed)
    total_a, total_b = rng.randint(500, 20000), rng.randint(500, 20000)
    rate = rng.uniform(0.05, 0.95)
    hits_a = round(total_a * min(1, rate * rng.uniform(0.9, 1.1)))
    hits_b = round(total_b * rate)
    table = [[hits_a, total_a - hits_a], [hits_b, total_b - hits_b]]

    oracle = fisher_exact(table, alternative="two-sided").pvalue

    assert stats.fisher_exact_p(hits_a, total_a, hits_b, total_b) == pytest.approx(
        oracle, rel=1e-6, abs=1e-300
    )
