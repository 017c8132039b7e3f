"""Reads of the governance app: decisions and what a result summary shows.

Selectors own ``select_related``/``prefetch_related``; callers pass the viewer so every list is
scoped through ``governance.permissions``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from governance.models import DataCategory, Decision, RetentionPolicy
from governance.permissions import decisions_visible_to
from interviews.models import CompetencyScore, Interview, InterviewResult

__all__ = [
    "data_category_labels",
    "decision_latest",
    "decisions_list",
    "result_competency_scores",
    "retention_categories_covered",
]


def decisions_list(
    *,
    viewer: Any,
    interview: Interview | None = None,
    result: InterviewResult | None = None,
) -> QuerySet[Decision]:
    """Decisions the viewer may see, newest first; of one interview (every version) or result."""
    decisions = decisions_visible_to(viewer).select_related(
        "decided_by", "result", "corrects", "corrected_by"
    )
    if interview is not None:
        decisions = decisions.filter(result__interview=interview)
    if result is not None:
        decisions = decisions.filter(result=result)
    return decisions.order_by("-created_at", "-pk")


def decision_latest(*, result: InterviewResult) -> Decision | None:
    """The decision in force on a result: the newest, i.e. the one nothing corrects yet.

    Unscoped: services call it after the permission check.
    """
    return Decision.objects.filter(result=result).order_by("-pk").first()


def result_competency_scores(*, result: InterviewResult) -> QuerySet[CompetencyScore]:
    """A result's subscores in the plan's competency order, with the competency loaded."""
    return result.competency_scores.select_related("competency").order_by(
        "competency__position", "competency__pk"
    )


def data_category_labels() -> dict[str, str]:
    """Every retention data category (``DataCategory``) and its label."""
    return {str(value): str(label) for value, label in DataCategory.choices}


def retention_categories_covered(*, role_family: Any) -> set[str]:
    """Data categories an active retention policy covers for ``role_family`` (or globally)."""
    return set(
        RetentionPolicy.objects.filter(active=True)
        .filter(Q(role_family__isnull=True) | Q(role_family=role_family))
        .values_list("data_category", flat=True)
    )
