"""Writes of calibration sessions: create a session, submit one reviewer's blind scores.

Every write is one transaction with its audit event. A session completes by itself when the last
rating is in (every panelist × every candidate × every competency).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from governance import audit
from governance.calibration.models import (
    CalibrationItem,
    CalibrationRating,
    CalibrationSession,
    CalibrationStatus,
)
from interviews.models import Competency, InterviewPlan, InterviewResult, InterviewStatus

__all__ = [
    "CalibrationError",
    "calibration_eligible_results",
    "calibration_ratings_submit",
    "calibration_session_create",
    "competency_scale",
]

DEFAULT_SCALE = (1, 2, 3, 4, 5)
# Longest time one candidate's scoring can count for (a tab left open overnight is not effort).
MAX_SECONDS_PER_CANDIDATE = 2 * 60 * 60


class CalibrationError(Exception):
    """A calibration write that the session's state does not allow (shown to the user)."""


def competency_scale(competency: Competency) -> list[int]:
    """The competency's rubric levels, lowest first: every integer between the lowest and the
    highest numbered rubric anchor (``{"1": …, "3": …, "5": …}`` → 1–5); 1–5 without anchors."""
    levels = []
    for key in competency.rubric_anchors or {}:
        try:
            levels.append(int(str(key).strip()))
        except ValueError:
            continue
    if len(levels) < 2:
        return list(DEFAULT_SCALE)
    return list(range(min(levels), max(levels) + 1))


def calibration_eligible_results(plan: InterviewPlan) -> QuerySet[InterviewResult]:
    """Current results of completed, real (not rehearsal) interviews under the plan."""
    return InterviewResult.objects.filter(
        interview__plan=plan,
        is_current=True,
        interview__status=InterviewStatus.COMPLETED,
        interview__is_rehearsal=False,
    )


@transaction.atomic
def calibration_session_create(
    *,
    name: str,
    plan: InterviewPlan,
    actor: Any,
    panelists: Iterable[Any],
    results: Iterable[InterviewResult],
    shuffle: bool = True,
) -> CalibrationSession:
    """A new open session over ``results`` (numbered in random order, so the numbering says
    nothing about the band) scored by ``panelists``."""
    results = list(results)
    panelists = list(panelists)
    if not results:
        raise CalibrationError("Pick at least one result.")
    if len(panelists) < 2:
        raise CalibrationError("A calibration panel needs at least two reviewers.")
    eligible = set(
        calibration_eligible_results(plan)
        .filter(pk__in=[r.pk for r in results])
        .values_list("pk", flat=True)
    )
    strays = [r.pk for r in results if r.pk not in eligible]
    if strays:
        raise CalibrationError(
            f"Results {strays} are not current, completed results of the plan {plan.name}."
        )
    if shuffle:
        random.SystemRandom().shuffle(results)
    session = CalibrationSession.objects.create(name=name, plan=plan, created_by=actor)
    session.panelists.set(panelists)
    CalibrationItem.objects.bulk_create(
        CalibrationItem(session=session, result=result, position=position)
        for position, result in enumerate(results, start=1)
    )
    audit.record(
        actor=actor,
        action="calibration.create",
        target=session,
        changes={
            "plan": plan.pk,
            "results": [r.pk for r in results],
            "panelists": sorted(p.pk for p in panelists),
        },
    )
    return session


def _expected_ratings(session: CalibrationSession) -> int:
    return (
        session.items.count()
        * session.panelists.count()
        * Competency.objects.filter(plan_id=session.plan_id).count()
    )


@transaction.atomic
def calibration_ratings_submit(
    *,
    item: CalibrationItem,
    reviewer: Any,
    scores: Mapping[int, int],
    seconds_spent: int,
) -> list[CalibrationRating]:
    """Store one panelist's scores (competency id → level) of one candidate, all at once.

    Scores are final: a second submission for the same candidate is refused, so nobody revises
    after seeing anything. The last rating of the session completes it.
    """
    session = CalibrationSession.objects.select_for_update().get(pk=item.session_id)
    if session.status != CalibrationStatus.OPEN:
        raise CalibrationError("This calibration session is closed.")
    if not session.panelists.filter(pk=reviewer.pk).exists():
        raise CalibrationError("You are not on this calibration panel.")
    competencies = list(Competency.objects.filter(plan_id=session.plan_id))
    if set(scores) != {c.pk for c in competencies}:
        raise CalibrationError("Score every competency.")
    for competency in competencies:
        if scores[competency.pk] not in competency_scale(competency):
            raise CalibrationError(f"{competency.name}: pick one of the rubric levels.")
    if CalibrationRating.objects.filter(item=item, reviewer=reviewer).exists():
        raise CalibrationError("You have already scored this candidate.")
    seconds = max(0, min(int(seconds_spent), MAX_SECONDS_PER_CANDIDATE))
    ratings = CalibrationRating.objects.bulk_create(
        CalibrationRating(
            item=item,
            competency=competency,
            reviewer=reviewer,
            score=scores[competency.pk],
            seconds_spent=seconds,
        )
        for competency in competencies
    )
    audit.record(
        actor=reviewer,
        action="calibration.rate",
        target=item,
        changes={"session": session.pk, "competencies": len(ratings), "seconds": seconds},
    )
    done = CalibrationRating.objects.filter(item__session=session).count()
    if done >= _expected_ratings(session):
        session.status = CalibrationStatus.COMPLETE
        session.closed_at = timezone.now()
        session.save(update_fields=["status", "closed_at"])
        audit.record(
            actor=reviewer,
            action="calibration.complete",
            target=session,
            changes={"ratings": done},
        )
    return ratings
