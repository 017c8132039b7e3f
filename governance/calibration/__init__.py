"""Calibration sessions: blind panel scoring, agreement statistics and the readiness hook.

Public service for other parts of the code (e.g. a go-live readiness gate)::

    from governance.calibration import latest_alpha_by_competency
    latest_alpha_by_competency(plan)  # {"empathy": 0.84, "clarity": None, ...}

Modules: ``models`` (imported by ``governance.models``), ``services`` (writes), ``analysis``
(reads and statistics), ``views``/``urls`` (pages). This package ``__init__`` stays import-light
because ``governance.models`` imports ``governance.calibration.models``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["latest_alpha_by_competency"]


def latest_alpha_by_competency(plan: Any) -> dict[str, float | None]:
    """Krippendorff's ordinal alpha per competency key from the plan's latest *completed*
    calibration session; ``{}`` when the plan has none. ``None`` means not enough data."""
    from governance.calibration.analysis import latest_alpha_by_competency as compute

    return compute(plan)
