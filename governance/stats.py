"""Agreement and adverse-impact statistics, in pure Python (no Django, no NumPy).

Used by calibration sessions (``governance.calibration``) and the adverse-impact report
(``governance.adverse_impact``). The tests check every function against an established
implementation (scikit-learn's ``cohen_kappa_score(weights="quadratic")``, the ``krippendorff``
package, scipy's ``fisher_exact`` and ``chi2_contingency``); those libraries are test oracles only.

Ratings are ordinal values on a known scale (e.g. ``[1, 2, 3, 4, 5]``); ``None`` is a missing
rating. A result that is mathematically undefined (no variation at all, too few ratings) is
``None``, never ``nan``: callers show it as "not enough data".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

__all__ = [
    "ALPHA_CALIBRATED",
    "ALPHA_TENTATIVE",
    "FOUR_FIFTHS",
    "ProportionTest",
    "alpha_verdict",
    "compare_proportions",
    "fisher_exact_p",
    "krippendorff_alpha_ordinal",
    "median",
    "quadratic_weighted_kappa",
    "raw_agreement",
    "two_proportion_z_test",
]

# Krippendorff's conventional cut-offs: reliable at 0.800, tentative conclusions from 0.667.
ALPHA_CALIBRATED = 0.800
ALPHA_TENTATIVE = 0.667
# UGESP 29 CFR 1607.4(D): a ratio below four-fifths is evidence of adverse impact.
FOUR_FIFTHS = 0.80


def median(values: Sequence[float]) -> float | None:
    """The median (mean of the two middle values for an even count); ``None`` when empty."""
    ordered = sorted(values)
    count = len(ordered)
    if not count:
        return None
    middle = count // 2
    if count % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


# -- inter-rater agreement ---------------------------------------------------------------------


def raw_agreement(units: Sequence[Sequence[Any]]) -> float | None:
    """Share of rating pairs within a unit that are identical, pooled over all units.

    ``units`` holds one row per rated item with each rater's value (``None`` = missing). A
    unit with three ratings contributes three pairs. ``None`` when no unit has two ratings.
    """
    agreeing = total = 0
    for unit in units:
        values = [value for value in unit if value is not None]
        for first, second in combinations(values, 2):
            total += 1
            agreeing += first == second
    return agreeing / total if total else None


def quadratic_weighted_kappa(
    first: Sequence[Any], second: Sequence[Any], scale: Sequence[Any]
) -> float | None:
    """Cohen's kappa of two raters with quadratic disagreement weights.

    Items where either rating is missing are left out. Weights are ``(i - j)²`` over the
    *positions* of the values in ``scale`` (as scikit-learn does with ``labels=scale``).
    ``None`` when fewer than two items are paired or the chance disagreement is zero (both
    raters gave one and the same value throughout).
    """
    if len(first) != len(second):
        raise ValueError("both raters must rate the same items")
    index = {value: position for position, value in enumerate(scale)}
    pairs = [
        (index[a], index[b])
        for a, b in zip(first, second, strict=True)
        if a is not None and b is not None
    ]
    if len(pairs) < 2:
        return None
    size = len(scale)
    observed = [[0] * size for _ in range(size)]
    for a, b in pairs:
        observed[a][b] += 1
    rows = [sum(row) for row in observed]
    cols = [sum(observed[i][j] for i in range(size)) for j in range(size)]
    count = len(pairs)
    observed_disagreement = expected_disagreement = 0.0
    for i in range(size):
        for j in range(size):
            weight = (i - j) ** 2
            observed_disagreement += weight * observed[i][j]
            expected_disagreement += weight * rows[i] * cols[j] / count
    if expected_disagreement == 0:
        return None
    return 1 - observed_disagreement / expected_disagreement


def krippendorff_alpha_ordinal(
    units: Sequence[Sequence[Any]], scale: Sequence[Any]
) -> float | None:
    """Krippendorff's alpha with the ordinal difference function, missing values allowed.

    ``units``: one row per item, one value per rater (``None`` = missing). Items with fewer than
    two ratings are not pairable and are left out. ``scale`` lists the possible values in order;
    the ordinal metric uses the frequencies of the values *between* two values, so a value that
    nobody used still orders the scale but weighs nothing (Krippendorff 2011, as in the
    ``krippendorff`` package with ``value_domain=scale``). ``None`` when fewer than two values are
    pairable or every pairable value is the same.
    """
    index = {value: position for position, value in enumerate(scale)}
    size = len(scale)
    coincidences = [[0.0] * size for _ in range(size)]
    for unit in units:
        values = [index[value] for value in unit if value is not None]
        pairable = len(values)
        if pairable < 2:
            continue
        counts = [0] * size
        for value in values:
            counts[value] += 1
        for c in range(size):
            if not counts[c]:
                continue
            for k in range(size):
                pairs = counts[c] * (counts[k] - (c == k))
                if pairs:
                    coincidences[c][k] += pairs / (pairable - 1)
    marginals = [sum(row) for row in coincidences]
    total = sum(marginals)
    if total < 2:
        return None

    def delta(c: int, k: int) -> float:
        low, high = min(c, k), max(c, k)
        between = sum(marginals[low : high + 1]) - (marginals[low] + marginals[high]) / 2
        return between**2

    observed = sum(
        coincidences[c][k] * delta(c, k) for c in range(size) for k in range(size) if c != k
    )
    expected = sum(
        marginals[c] * marginals[k] * delta(c, k)
        for c in range(size)
        for k in range(size)
        if c != k
    )
    if expected == 0:
        return None
    return 1 - (total - 1) * observed / expected


def alpha_verdict(alpha: float | None) -> str:
    """The calibration verdict for an alpha, as a key: calibrated, discuss, not_for_decisions or
    insufficient_data (thresholds 0.800 and 0.667)."""
    if alpha is None:
        return "insufficient_data"
    if alpha >= ALPHA_CALIBRATED:
        return "calibrated"
    if alpha >= ALPHA_TENTATIVE:
        return "discuss"
    return "not_for_decisions"


# -- two-group comparisons (adverse impact) ----------------------------------------------------


@dataclass(frozen=True)
class ProportionTest:
    """A two-sided test that two groups are selected at the same rate."""

    z: float | None
    z_p: float | None
    fisher_p: float | None


def two_proportion_z_test(
    hits_a: int, total_a: int, hits_b: int, total_b: int
) -> tuple[float | None, float | None]:
    """Pooled two-proportion z statistic and its two-sided p-value.

    Equals the chi-square test of the 2×2 table without continuity correction (p-values
    identical). ``(None, None)`` when a group is empty or the pooled rate is 0 or 1.
    """
    if total_a <= 0 or total_b <= 0:
        return None, None
    pooled = (hits_a + hits_b) / (total_a + total_b)
    variance = pooled * (1 - pooled) * (1 / total_a + 1 / total_b)
    if variance <= 0:
        return None, None
    z = (hits_a / total_a - hits_b / total_b) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def _log_hypergeometric(k: int, row_a: int, row_b: int, hits: int) -> float:
    """log P(X = k), X the hits in group A when ``hits`` of ``row_a + row_b`` are drawn."""
    lg = math.lgamma
    return (
        lg(row_a + 1)
        - lg(k + 1)
        - lg(row_a - k + 1)
        + lg(row_b + 1)
        - lg(hits - k + 1)
        - lg(row_b - hits + k + 1)
        - lg(row_a + row_b + 1)
        + lg(hits + 1)
        + lg(row_a + row_b - hits + 1)
    )


# Terms this far (in log) below both the mode and the observed table add nothing measurable.
_NEGLIGIBLE_LOG = 50.0


def fisher_exact_p(hits_a: int, total_a: int, hits_b: int, total_b: int) -> float | None:
    """Two-sided p-value of Fisher's exact test on the 2×2 table (hits, misses) × (A, B).

    Sums the probabilities of every table with the same margins that is no more likely than the
    observed one (with scipy's relative tolerance of 1e-7). The hypergeometric terms are walked
    outwards from the mode by their ratio, and the walk stops where the terms become negligible,
    so a sample of tens of thousands costs milliseconds. ``None`` when a group is empty.
    """
    if total_a <= 0 or total_b <= 0:
        return None
    if not (0 <= hits_a <= total_a and 0 <= hits_b <= total_b):
        raise ValueError("hits must lie between 0 and the group size")
    hits = hits_a + hits_b
    low, high = max(0, hits - total_b), min(total_a, hits)
    mode = min(high, max(low, (hits + 1) * (total_a + 1) // (total_a + total_b + 2)))
    log_mode = _log_hypergeometric(mode, total_a, total_b, hits)
    log_observed = _log_hypergeometric(hits_a, total_a, total_b, hits)
    threshold = log_observed + math.log1p(1e-7)
    total = below = 0.0
    # Downwards from the mode, then upwards from the one above it; each side is monotone.
    for k, step in ((mode, -1), (mode + 1, 1)):
        if not low <= k <= high:
            continue
        log_p = log_mode if k == mode else _log_hypergeometric(k, total_a, total_b, hits)
        while True:
            total += math.exp(log_p - log_mode)
            if log_p <= threshold:
                below += math.exp(log_p - log_observed)
            if log_p < min(log_mode, log_observed) - _NEGLIGIBLE_LOG:
                break
            nxt = k + step
            if not low <= nxt <= high:
                break
            if step > 0:  # P(k+1) / P(k)
                ratio = (total_a - k) * (hits - k) / ((k + 1) * (total_b - hits + k + 1))
            else:  # P(k-1) / P(k)
                ratio = k * (total_b - hits + k) / ((total_a - k + 1) * (hits - k + 1))
            log_p += math.log(ratio)
            k = nxt
    return min(1.0, below * math.exp(log_observed - log_mode) / total)


def compare_proportions(hits_a: int, total_a: int, hits_b: int, total_b: int) -> ProportionTest:
    """Both tests at once: the z-test for large groups, Fisher's exact test for small ones."""
    z, z_p = two_proportion_z_test(hits_a, total_a, hits_b, total_b)
    return ProportionTest(z=z, z_p=z_p, fisher_p=fisher_exact_p(hits_a, total_a, hits_b, total_b))
