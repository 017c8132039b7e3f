"""Reads of calibration: progress, agreement per competency, human-vs-tool agreement over time.

The statistics themselves are in ``governance.stats`` (pure functions, checked against
scikit-learn and the ``krippendorff`` package in the tests).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from governance import stats
from governance.calibration.models import (
    CalibrationItem,
    CalibrationRating,
    CalibrationSession,
    CalibrationStatus,
)
from governance.calibration.services import competency_scale
from governance.models import Decision
from governance.permissions import results_visible_to
from interviews.models import Competency, InterviewPlan, ReviewStatus, ReviewTask

__all__ = [
    "VERDICT_TEXT",
    "CompetencyAgreement",
    "WeekAgreement",
    "human_tool_agreement_by_week",
    "latest_alpha_by_competency",
    "session_agreement",
    "session_progress",
]

# The verdict of an alpha, in words (pages never rely on colour alone).
VERDICT_TEXT = {
    "calibrated": "Calibrated (α ≥ 0.80): reviewers read this competency consistently.",
    "discuss": (
        "Discuss (0.667 ≤ α < 0.80): agreement is tentative; go through the largest "
        "disagreements together and sharpen the rubric."
    ),
    "not_for_decisions": (
        "Not calibrated (α < 0.667): do not use this competency for decisions until a new "
        "session agrees."
    ),
    "insufficient_data": "Not enough data: too few ratings, or no variation at all.",
}


@dataclass
class PanelistProgress:
    user: Any
    done: int
    total: int


def session_progress(session: CalibrationSession) -> list[PanelistProgress]:
    """Candidates scored so far, per panelist (a candidate counts once all its ratings are in)."""
    total = session.items.count()
    competencies = Competency.objects.filter(plan_id=session.plan_id).count() or 1
    rated = dict(
        CalibrationRating.objects.filter(item__session=session)
        .values("reviewer")
        .annotate(n=Count("pk"))
        .values_list("reviewer", "n")
    )
    return [
        PanelistProgress(user=user, done=rated.get(user.pk, 0) // competencies, total=total)
        for user in session.panelists.order_by("username")
    ]


@dataclass
class Disagreement:
    position: int
    competency: str
    ratings: list[tuple[str, int | None]]
    spread: int


@dataclass
class CompetencyAgreement:
    competency: Competency
    scale: list[int]
    rated_items: int
    raw_agreement: float | None
    alpha: float | None
    verdict: str
    pair_kappas: list[tuple[str, str, float | None]] = field(default_factory=list)

    @property
    def verdict_text(self) -> str:
        return VERDICT_TEXT[self.verdict]


@dataclass
class SessionAgreement:
    competencies: list[CompetencyAgreement]
    disagreements: list[Disagreement]
    reviewers: list[str]


def _label(user: Any) -> str:
    return user.get_full_name() or user.username


def session_agreement(session: CalibrationSession) -> SessionAgreement:
    """Per competency: raw agreement, Krippendorff's ordinal alpha with its verdict and the
    quadratic-weighted kappa of every pair of panelists; plus every (candidate, competency)
    where reviewers differ, largest spread first."""
    reviewers = list(session.panelists.order_by("username"))
    items = list(CalibrationItem.objects.filter(session=session).order_by("position"))
    competencies = list(Competency.objects.filter(plan_id=session.plan_id).order_by("position"))
    scores: dict[tuple[int, int, int], int] = {
        (item_id, competency_id, reviewer_id): score
        for item_id, competency_id, reviewer_id, score in CalibrationRating.objects.filter(
            item__session=session
        ).values_list("item_id", "competency_id", "reviewer_id", "score")
    }
    results: list[CompetencyAgreement] = []
    disagreements: list[Disagreement] = []
    for competency in competencies:
        scale = competency_scale(competency)
        units = [
            [scores.get((item.pk, competency.pk, reviewer.pk)) for reviewer in reviewers]
            for item in items
        ]
        alpha = stats.krippendorff_alpha_ordinal(units, scale)
        pairs = [
            (
                _label(reviewers[a]),
                _label(reviewers[b]),
                stats.quadratic_weighted_kappa(
                    [unit[a] for unit in units], [unit[b] for unit in units], scale
                ),
            )
            for a, b in combinations(range(len(reviewers)), 2)
        ]
        results.append(
            CompetencyAgreement(
                competency=competency,
                scale=scale,
                rated_items=sum(1 for unit in units if any(v is not None for v in unit)),
                raw_agreement=stats.raw_agreement(units),
                alpha=alpha,
                verdict=stats.alpha_verdict(alpha),
                pair_kappas=pairs,
            )
        )
        for item, unit in zip(items, units, strict=True):
            given = [value for value in unit if value is not None]
            if len(given) >= 2 and max(given) != min(given):
                disagreements.append(
                    Disagreement(
                        position=item.position,
                        competency=competency.name,
                        ratings=[
                            (_label(reviewer), value)
                            for reviewer, value in zip(reviewers, unit, strict=True)
                        ],
                        spread=max(given) - min(given),
                    )
                )
    disagreements.sort(key=lambda d: (-d.spread, d.position, d.competency))
    return SessionAgreement(
        competencies=results,
        disagreements=disagreements,
        reviewers=[_label(reviewer) for reviewer in reviewers],
    )


def latest_alpha_by_competency(plan: InterviewPlan) -> dict[str, float | None]:
    """Alpha per competency key from the plan's newest completed session (``{}`` if none)."""
    session = (
        CalibrationSession.objects.filter(plan=plan, status=CalibrationStatus.COMPLETE)
        .order_by("-closed_at", "-pk")
        .first()
    )
    if session is None:
        return {}
    return {row.competency.key: row.alpha for row in session_agreement(session).competencies}


# -- human vs tool -----------------------------------------------------------------------------


@dataclass
class WeekAgreement:
    week_start: datetime
    decisions: int
    agreeing: int
    median_review_seconds: float | None
    automation_bias: bool

    @property
    def agreement(self) -> float | None:
        return self.agreeing / self.decisions if self.decisions else None


def automation_bias_thresholds() -> tuple[float, float, int]:
    """(agreement at or above which, median review seconds below which, minimum decisions)."""
    return (
        float(getattr(settings, "SCREENBRIDGE_AUTOMATION_BIAS_AGREEMENT", 0.98)),
        float(getattr(settings, "SCREENBRIDGE_AUTOMATION_BIAS_REVIEW_SECONDS", 60)),
        int(getattr(settings, "SCREENBRIDGE_AUTOMATION_BIAS_MIN_DECISIONS", 20)),
    )


def _week_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    monday = local - timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def human_tool_agreement_by_week(
    *, weeks: int = 12, now: datetime | None = None
) -> list[WeekAgreement]:
    """Per week (Monday to Sunday, newest first): how many human decisions followed the tool's
    recommendation, and the median time from claiming a review to finishing it.

    A week is flagged for automation bias when agreement is at or above the configured share
    *and* the median review takes less than the configured seconds (with enough decisions to
    judge): people may be rubber-stamping the tool (EU AI Act Art. 14(4)(b); GDPR Art. 22).
    """
    agreement_at, seconds_below, min_decisions = automation_bias_thresholds()
    start = _week_start(now or timezone.now()) - timedelta(weeks=weeks - 1)
    counts: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for created_at, is_override in Decision.objects.filter(created_at__gte=start).values_list(
        "created_at", "is_override"
    ):
        bucket = counts[_week_start(created_at)]
        bucket[0] += 1
        bucket[1] += not is_override
    durations: dict[datetime, list[float]] = defaultdict(list)
    for claimed_at, resolved_at in ReviewTask.objects.filter(
        status=ReviewStatus.DONE,
        resolved_at__gte=start,
        claimed_at__isnull=False,
    ).values_list("claimed_at", "resolved_at"):
        durations[_week_start(resolved_at)].append((resolved_at - claimed_at).total_seconds())
    rows = []
    for index in range(weeks):
        week = start + timedelta(weeks=weeks - 1 - index)
        week = _week_start(week + timedelta(hours=12))  # DST-safe: stay on the Monday
        decisions, agreeing = counts.get(week, [0, 0])
        review_median = stats.median(durations.get(week, []))
        flagged = (
            decisions >= min_decisions
            and agreeing / decisions >= agreement_at
            and review_median is not None
            and review_median < seconds_below
        )
        rows.append(WeekAgreement(week, decisions, agreeing, review_median, flagged))
    return rows


def panelists_who_cannot_see(results: list[Any], panelists: list[Any]) -> list[str]:
    """Usernames of panelists who may not read every one of ``results`` (object scope)."""
    ids = {r.pk for r in results}
    blocked = []
    for user in panelists:
        visible = set(results_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
        if visible != ids:
            blocked.append(user.username)
    return blocked
