"""Writes of the governance app: human decisions on interview results.

A decision, its audit event, its writeback job(s) and the closing of the interview's review task
are one unit: they commit together or not at all (``decision_record``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from governance import audit
from governance.capabilities import Capability, can
from governance.models import (
    OVERRIDE_REASON_MIN_LENGTH,
    AuditEvent,
    Decision,
    DecisionOutcome,
    OverrideReason,
)
from governance.selectors import decision_latest
from interviews import scoring
from interviews.models import Interview, InterviewResult, ReviewStatus, ReviewTask
from interviews.services import writeback

logger = logging.getLogger(__name__)

__all__ = [
    "DecisionConflictError",
    "DecisionError",
    "DecisionValidationError",
    "ResultNotCurrentError",
    "decision_record",
]

# The audit action of opening a score card (interviews/views_scorecard.py, audit.record_view).
SCORE_CARD_VIEW = "score_card.view"
ACTION_RECORD = "decision.record"
ACTION_OVERRIDE = "decision.override"


class DecisionError(Exception):
    """Base of the errors a decision can be refused with (nothing is stored)."""


class DecisionValidationError(DecisionError):
    """The decision's fields are invalid; ``errors`` maps a field name to its messages (422)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class DecisionConflictError(DecisionError):
    """The decision does not fit the result's current state (409): decide again on fresh data."""

    code = "conflict"


class ResultNotCurrentError(DecisionConflictError):
    """A newer version of the result arrived; decisions are taken on the current one only."""

    code = "result_not_current"


def decision_record(
    *,
    result: InterviewResult,
    actor: Any,
    outcome: str,
    override_reason: str = "",
    override_text: str = "",
    corrects: Decision | None = None,
    request_id: str = "",
) -> Decision:
    """Record a person's advance / hold / decline decision on a result.

    In one transaction: check that ``actor`` may decide on this result (``PermissionDenied``
    otherwise — also for a result outside their scope), that the result is still the current
    version (``ResultNotCurrentError``) and that the decision does not branch the history
    (``DecisionConflictError``: the first decision has no ``corrects``; every later one corrects
    the latest). A decision that departs from the band's recommendation is an override: it needs
    the override capability, a reason code and at least ``OVERRIDE_REASON_MIN_LENGTH`` characters
    of explanation (``DecisionValidationError`` with field errors otherwise). For a decision that
    follows the recommendation, reason and text are ignored.

    Then, still in the transaction: store the decision, write its audit event, enqueue the
    writeback with the decision in its payload and close the interview's open review task. A
    failure in any step rolls back all of them.
    """
    # Permission first: someone who may not decide learns nothing from field errors.
    if not can(actor, Capability.DECIDE, result):
        raise PermissionDenied("You cannot record decisions on this result.")
    errors: dict[str, list[str]] = {}
    if outcome not in DecisionOutcome.values:
        choices = ", ".join(DecisionOutcome.values)
        errors["outcome"] = [f"Choose one of: {choices}."]
        raise DecisionValidationError(errors)

    recommended = scoring.recommended_outcome(result.band)
    is_override = outcome != recommended
    reason = (override_reason or "").strip()
    text = (override_text or "").strip()
    if is_override:
        if not can(actor, Capability.OVERRIDE, result):
            raise PermissionDenied("You cannot override the band's recommendation.")
        if not reason:
            errors["override_reason"] = [
                "An override needs a reason code: " + ", ".join(OverrideReason.values) + "."
            ]
        elif reason not in OverrideReason.values:
            errors["override_reason"] = [
                f"Unknown reason {reason!r}; choose one of: "
                + ", ".join(OverrideReason.values)
                + "."
            ]
        if len(text) < OVERRIDE_REASON_MIN_LENGTH:
            errors["override_text"] = [
                f"Explain the override in at least {OVERRIDE_REASON_MIN_LENGTH} characters "
                f"({len(text)} given)."
            ]
    else:
        reason, text = "", ""
    if corrects is not None and corrects.result_id != result.pk:
        errors["corrects"] = ["The decision to correct must be one on this result."]
    if errors:
        raise DecisionValidationError(errors)

    with transaction.atomic():
        # The row lock serializes decisions on one result (and a new version arriving): two
        # reviewers clicking at once cannot both record a "first" decision.
        locked = (
            InterviewResult.objects.select_for_update(of=("self",))
            .select_related("interview__application__connection", "interview__plan")
            .get(pk=result.pk)
        )
        if not locked.is_current:
            raise ResultNotCurrentError(
                "A newer version of this result has arrived; review it and decide again."
            )
        latest = decision_latest(result=locked)
        if latest is not None and corrects is None:
            raise DecisionConflictError(
                f"This result already has decision {latest.pk}; to change it, record a "
                "correction of that decision."
            )
        if corrects is not None and (latest is None or corrects.pk != latest.pk):
            raise DecisionConflictError(
                "Only the latest decision on a result can be corrected"
                + (f" (decision {latest.pk})." if latest is not None else ".")
            )

        decision = Decision.objects.create(
            card_opened_at=score_card_opened_at(user=actor, result=locked, before=timezone.now()),
            result=locked,
            application_id=locked.interview.application_id,
            decided_by=actor,
            outcome=outcome,
            recommended_outcome=recommended,
            is_override=is_override,
            override_reason=reason,
            override_text=text,
            corrects=corrects,
        )
        interview_first_decision_stamp(decision=decision)
        # Read (and lock) before the audit event so it can name the task the decision resolves.
        task_ids = _open_review_task_ids(result=locked)
        audit.record(
            actor=actor,
            action=ACTION_OVERRIDE if is_override else ACTION_RECORD,
            target=decision,
            changes={
                "result": locked.pk,
                "result_version": locked.version,
                "interview": str(locked.interview.public_id),
                "outcome": outcome,
                "recommended_outcome": recommended,
                "is_override": is_override,
                "override_reason": reason,
                "override_text": text,
                "corrects": corrects.pk if corrects is not None else None,
                "review_tasks_closed": task_ids,
            },
            request_id=request_id,
        )
        writeback.result_writeback_enqueue(result=locked, decision=decision)
        _review_tasks_close(task_ids=task_ids, at=decision.created_at)
    logger.info(
        "Decision %s (%s%s) on result %s by %s",
        decision.pk,
        outcome,
        ", override" if is_override else "",
        result.pk,
        getattr(actor, "username", actor),
    )
    return decision


def score_card_opened_at(*, user: Any, result: InterviewResult, before: Any) -> Any:
    """When ``user`` first opened ``result``'s score card, up to ``before`` (None: never).

    Read from the ``score_card.view`` audit events; stored on the decision for the metrics'
    usage depth ("decided after opening the card", time on card).
    """
    return (
        AuditEvent.objects.filter(
            action=SCORE_CARD_VIEW,
            object_type=audit.object_type_of(InterviewResult),
            object_id=str(result.pk),
            actor=user,
            occurred_at__lte=before,
        )
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def interview_first_decision_stamp(*, decision: Decision) -> None:
    """Stamp the interview's ``first_decided_at`` (the end of time-to-screen) if still empty."""
    Interview.objects.filter(results__pk=decision.result_id, first_decided_at__isnull=True).update(
        first_decided_at=decision.created_at
    )


def _open_review_task_ids(*, result: InterviewResult) -> list[int]:
    """The interview's open (or claimed) review tasks, locked until the transaction ends."""
    return list(
        ReviewTask.objects.select_for_update()
        .filter(
            interview_id=result.interview_id,
            status__in=[ReviewStatus.OPEN, ReviewStatus.CLAIMED],
        )
        .values_list("pk", flat=True)
    )


def _review_tasks_close(*, task_ids: list[int], at: Any = None) -> None:
    """Mark the review tasks a decision resolves as done."""
    if task_ids:
        ReviewTask.objects.filter(
            pk__in=task_ids, status__in=[ReviewStatus.OPEN, ReviewStatus.CLAIMED]
        ).update(status=ReviewStatus.DONE, resolved_at=at or timezone.now())
