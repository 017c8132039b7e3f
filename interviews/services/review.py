"""The human review queue: who works which item (claim / release) and what the queue shows.

Claiming is a conditional UPDATE (``filter(pk=..., <still claimable>).update(...) == 1``), the
healthchecks pattern: the database decides which of two recruiters clicking at the same moment
gets the item, and the loser gets ``ReviewClaimError`` with a message naming the holder.

Stale claims: a claim older than ``CLAIM_TTL`` (30 minutes) counts as abandoned — a recruiter who
claimed an item and went to lunch must not block it for the day. A stale claim stays visible as
"claimed" (nobody's status flips behind their back) but anyone who may decide can claim it again;
the new claim overwrites the old one in the same conditional UPDATE. Re-claiming your own item
simply refreshes ``claimed_at``.

The queue's reads live here too (``review_queue_*``) because they are only used by the queue view
and share its notion of "claimable".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from governance import audit
from governance.capabilities import Capability, can
from governance.models import AccessRole
from governance.permissions import (
    requisition_ids_for_role,
    requisitions_visible_to,
    review_tasks_visible_to,
)
from integrations.models import Requisition
from interviews.models import ReviewReason, ReviewStatus, ReviewTask

__all__ = [
    "CLAIM_TTL",
    "ReviewClaimError",
    "claim_state",
    "review_queue_list",
    "review_queue_reason_counts",
    "review_queue_requisitions",
    "review_task_claim",
    "review_task_release",
]

CLAIM_TTL = dt.timedelta(minutes=30)
ACTION_CLAIM = "review_task.claim"
ACTION_RELEASE = "review_task.release"
ACTIVE = (ReviewStatus.OPEN, ReviewStatus.CLAIMED)


class ReviewClaimError(Exception):
    """The item cannot be claimed or released right now; the message says why (nothing changed)."""


def _claimable(now: dt.datetime, actor: Any) -> Q:
    """Rows a claim by ``actor`` may take: open, already theirs, or claimed longer than the TTL."""
    return (
        Q(status=ReviewStatus.OPEN)
        | Q(status=ReviewStatus.CLAIMED, claimed_by=actor)
        | Q(status=ReviewStatus.CLAIMED, claimed_at__lt=now - CLAIM_TTL)
    )


def claim_state(task: ReviewTask, user: Any, now: dt.datetime | None = None) -> str:
    """``open``, ``mine``, ``stale`` (someone else's abandoned claim) or ``other``; no queries."""
    if task.status != ReviewStatus.CLAIMED:
        return "open"
    if task.claimed_by_id == user.pk:
        return "mine"
    now = now or timezone.now()
    if task.claimed_at is None or task.claimed_at < now - CLAIM_TTL:
        return "stale"
    return "other"


@transaction.atomic
def review_task_claim(*, task: ReviewTask, actor: Any) -> ReviewTask:
    """Claim ``task`` for ``actor`` so no other recruiter works it.

    Raises ``PermissionDenied`` when the actor may not decide on the task, and
    ``ReviewClaimError`` when someone else holds a live claim or the task is resolved.
    """
    if not can(actor, Capability.DECIDE, task):
        raise PermissionDenied("You cannot work on this review item.")
    now = timezone.now()
    previous = task.claimed_by_id
    updated = (
        ReviewTask.objects.filter(pk=task.pk)
        .filter(_claimable(now, actor))
        .update(status=ReviewStatus.CLAIMED, claimed_by=actor, claimed_at=now)
    )
    fresh = ReviewTask.objects.select_related("claimed_by").get(pk=task.pk)
    if updated != 1:
        if fresh.status == ReviewStatus.CLAIMED and fresh.claimed_by is not None:
            holder = fresh.claimed_by.get_full_name() or fresh.claimed_by.username
            raise ReviewClaimError(f"{holder} is already working on this item.")
        raise ReviewClaimError("This item is no longer open for review.")
    audit.record(
        actor=actor,
        action=ACTION_CLAIM,
        target=fresh,
        changes={"previous_claimed_by": previous, "claimed_at": now},
    )
    return fresh


@transaction.atomic
def review_task_release(*, task: ReviewTask, actor: Any) -> ReviewTask:
    """Give ``task`` back to the queue; only the recruiter holding the claim can release it."""
    updated = ReviewTask.objects.filter(
        pk=task.pk, status=ReviewStatus.CLAIMED, claimed_by=actor
    ).update(status=ReviewStatus.OPEN, claimed_by=None, claimed_at=None)
    fresh = ReviewTask.objects.get(pk=task.pk)
    if updated != 1:
        raise ReviewClaimError("You are not holding this item, so there is nothing to release.")
    audit.record(actor=actor, action=ACTION_RELEASE, target=fresh, changes={})
    return fresh


# -- reads ------------------------------------------------------------------------------------


def review_queue_base(*, viewer: Any) -> QuerySet[ReviewTask]:
    """Open and claimed items the viewer may see *and* decide on (recruiter grants only)."""
    return review_tasks_visible_to(viewer).filter(
        status__in=ACTIVE,
        interview__application__requisition_id__in=requisition_ids_for_role(
            viewer, AccessRole.RECRUITER
        ),
    )


def review_queue_requisitions(*, viewer: Any) -> QuerySet[Requisition]:
    """The requisitions the viewer's queue draws from: visible ones they are a recruiter on.

    The queue's filter choices come from here — the scoping tables (a few rows per grant) —
    rather than from a DISTINCT over every open item, which grew with the queue. A granted
    requisition without open items is offered too (filtering on it shows an empty queue).
    """
    return requisitions_visible_to(viewer).filter(
        pk__in=requisition_ids_for_role(viewer, AccessRole.RECRUITER)
    )


def review_queue_list(queryset: QuerySet[ReviewTask]) -> QuerySet[ReviewTask]:
    """Everything a queue row shows, in a fixed number of queries whatever the row count."""
    return queryset.select_related(
        "interview__application__candidate",
        "interview__application__requisition__role_family_membership__role_family",
        "result",
        "claimed_by",
    )


def review_queue_reason_counts(queryset: QuerySet[ReviewTask]) -> dict[str, int]:
    """Items per reason in ``queryset``, every reason present (one aggregate, one scan).

    The queue derives its total and its paginator's count from these, so a page needs no
    separate ``COUNT(*)`` over the same rows.
    """
    return queryset.order_by().aggregate(
        **{reason: Count("pk", filter=Q(reason=reason)) for reason in ReviewReason.values}
    )
