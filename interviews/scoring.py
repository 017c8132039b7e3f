"""Bands, borderline detection and the band's recommendation — one place for the scoring rules.

Thresholds are the plan's list of ``{"name", "min"}`` from the top band down (see
``interviews.models.validate_band_thresholds``). A score belongs to the first band whose ``min`` it
reaches. A score is borderline when it lies within the plan's margin of a cut, edges included
(with the default margin of 3, scores 62, 65 and 68 are all borderline around the cut at 65).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# What each default band recommends to the human reviewer. Bands an admin names differently
# recommend "hold": an unknown band never recommends advancing or declining on its own.
BAND_RECOMMENDATION = {
    "strong": "advance",
    "proceed": "advance",
    "borderline": "hold",
    "insufficient_evidence": "decline",
}


def _cut(band: dict[str, Any]) -> Decimal:
    return Decimal(str(band["min"]))


def band_for(score: Decimal, thresholds: list[dict[str, Any]]) -> str:
    """Name of the first band (top down) whose ``min`` the score reaches."""
    for band in thresholds:
        if score >= _cut(band):
            return str(band["name"])
    return str(thresholds[-1]["name"])


def borderline_cut(
    score: Decimal, thresholds: list[dict[str, Any]], margin: Decimal
) -> Decimal | None:
    """The cut (other than 0) that the score lies within ``margin`` points of, if any."""
    for band in thresholds:
        cut = _cut(band)
        if cut > 0 and abs(score - cut) <= margin:
            return cut
    return None


def is_borderline(score: Decimal, thresholds: list[dict[str, Any]], margin: Decimal) -> bool:
    return borderline_cut(score, thresholds, margin) is not None


def recommended_outcome(band: str) -> str:
    """The decision ("advance", "hold" or "decline") a band suggests; a person still decides."""
    return BAND_RECOMMENDATION.get(band, "hold")


def band_reasoning(score: Decimal, thresholds: list[dict[str, Any]]) -> str:
    """How ``score`` mapped to its band, in words: "66 ≥ 65 (proceed); strong needs 80"."""
    band = band_for(score, thresholds)
    index = next(i for i, b in enumerate(thresholds) if b["name"] == band)
    text = f"{_plain(score)} ≥ {_plain(_cut(thresholds[index]))} ({band})"
    if index > 0:
        above = thresholds[index - 1]
        text += f"; {above['name']} needs {_plain(_cut(above))}"
    return text


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)
