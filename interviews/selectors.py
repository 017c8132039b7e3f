"""Reads of the interviews app: launch skips and interviews, with their related rows loaded.

Selectors own ``select_related``; services and admin pages call these instead of building
querysets of their own. Due-lists (expiry, reminders, invitations to re-send) live here too so
the beat tasks and the management command share one definition of "due".
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from integrations.models import Application, AtsConnection, ConnectionMode
from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewStatus,
    LaunchSkip,
    LaunchSkipReason,
    RehearsalRun,
    RehearsalStatus,
    RoleFamily,
)

OPEN_STATUSES = (InterviewStatus.PENDING, InterviewStatus.INVITED, InterviewStatus.STARTED)

__all__ = [
    "OPEN_STATUSES",
    "interview_for_vendor_call",
    "interviews_expiry_due",
    "interviews_for_application",
    "interviews_invite_candidates",
    "interviews_invite_stuck",
    "interviews_open_for_application",
    "interviews_reminder_due",
    "launch_skips_list",
    "rehearsal_latest",
    "role_family_live_connections",
]


def launch_skips_list(
    *,
    plan: InterviewPlan | None = None,
    reason: LaunchSkipReason | str | None = None,
    application: Application | None = None,
) -> QuerySet[LaunchSkip]:
    """Why interviews were not launched, newest first; optionally one plan, reason, application."""
    skips = LaunchSkip.objects.select_related(
        "application__candidate", "application__requisition", "plan__role_family"
    )
    if plan is not None:
        skips = skips.filter(plan=plan)
    if reason is not None:
        skips = skips.filter(reason=reason)
    if application is not None:
        skips = skips.filter(application=application)
    return skips.order_by("-last_seen_at", "-pk")


def interview_for_vendor_call(*, pk: int) -> Interview | None:
    """One interview with what a vendor adapter reads (vendor, plan, candidate); None if gone.

    For work queued after commit (withdrawing an invitation, a rehearsal's scripted result),
    where the row may have been deleted in the meantime.
    """
    return (
        Interview.objects.select_related("vendor", "plan", "application__candidate")
        .filter(pk=pk)
        .first()
    )


def interviews_for_application(*, application: Application) -> QuerySet[Interview]:
    """Every interview of one application, newest first, with plan and vendor."""
    return (
        Interview.objects.filter(application=application)
        .select_related("plan__role_family", "vendor")
        .order_by("-created_at", "-pk")
    )


def interviews_open_for_application(*, application: Application) -> QuerySet[Interview]:
    """Interviews of one application that have not ended (pending, invited or started)."""
    return interviews_for_application(application=application).filter(status__in=OPEN_STATUSES)


def interviews_expiry_due(
    *, now: dt.datetime, started_grace: dt.timedelta, limit: int
) -> list[int]:
    """Ids of invited interviews past ``expires_at`` and started ones past it plus the grace."""
    due = Interview.objects.filter(
        Q(status=InterviewStatus.INVITED, expires_at__lt=now)
        | Q(status=InterviewStatus.STARTED, expires_at__lt=now - started_grace)
    )
    return list(due.order_by("expires_at", "pk").values_list("pk", flat=True)[:limit])


def interviews_reminder_due(*, now: dt.datetime, limit: int) -> list[int]:
    """Ids of invited, never-reminded interviews whose plan's reminder delay has passed.

    A plan with ``reminder_after_hours = 0`` sends no reminders. The delay is per plan, so the
    query is built per plan that has candidates (a handful), not with database date arithmetic
    that differs between SQLite and PostgreSQL.
    """
    waiting = Interview.objects.filter(
        status=InterviewStatus.INVITED,
        reminders_sent=0,
        invited_at__isnull=False,
        started_at__isnull=True,
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    plans = InterviewPlan.objects.filter(
        pk__in=waiting.values("plan_id"), reminder_after_hours__gt=0
    ).only("pk", "reminder_after_hours")
    ids: list[int] = []
    for plan in plans:
        cutoff = now - dt.timedelta(hours=plan.reminder_after_hours)
        ids.extend(
            waiting.filter(plan=plan, invited_at__lte=cutoff)
            .order_by("invited_at", "pk")
            .values_list("pk", flat=True)[: limit - len(ids)]
        )
        if len(ids) >= limit:
            break
    return ids


def interviews_invite_candidates(
    *, now: dt.datetime, idle_since: dt.datetime, limit: int
) -> QuerySet[Interview]:
    """Pending, unclaimed interviews untouched since ``idle_since`` whose next try (if one is
    scheduled) is due at ``now``."""
    return (
        Interview.objects.filter(
            Q(next_invite_at__isnull=True) | Q(next_invite_at__lte=now),
            status=InterviewStatus.PENDING,
            invited_at__isnull=True,
            updated_at__lt=idle_since,
        )
        .order_by("updated_at", "pk")
        .only("pk")[:limit]
    )


def interviews_invite_stuck(*, claimed_before: dt.datetime, limit: int) -> QuerySet[Interview]:
    """Pending interviews claimed for sending before ``claimed_before``: their worker died."""
    return Interview.objects.filter(
        status=InterviewStatus.PENDING, invited_at__lt=claimed_before
    ).order_by("invited_at", "pk")[:limit]


def role_family_live_connections(*, role_family: RoleFamily) -> QuerySet[AtsConnection]:
    """The live ATS connections with requisitions in ``role_family`` (what going live uses)."""
    return AtsConnection.objects.filter(
        mode=ConnectionMode.LIVE,
        requisitions__role_family_membership__role_family=role_family,
    ).distinct()


def rehearsal_latest(
    *, plan: InterviewPlan, mirrored_connection: AtsConnection | None = None
) -> RehearsalRun | None:
    """The newest completed rehearsal of ``plan`` (that mirrored ``mirrored_connection``)."""
    runs = RehearsalRun.objects.filter(plan=plan, status=RehearsalStatus.COMPLETED)
    if mirrored_connection is not None:
        runs = runs.filter(mirrored_connection=mirrored_connection)
    return runs.order_by("-started_at", "-pk").first()
