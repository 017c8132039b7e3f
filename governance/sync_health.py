"""The hiring-ops admin's sync health page (``GET /sync-health/``) and its writeback retry.

One page per connection: failing and dead writebacks (with a Retry button), unmapped stages with
a link to their "Map to…" admin page, webhook deliveries by status and signature failures over
the last 24 hours; then the active stop switches. Counts sit on top in a region that refreshes
itself every 30 s (htmx) and has a plain "Refresh" link for browsers without JavaScript.

Every read is a fixed number of queries whatever the row count: grouped aggregates for the
counts, one ``select_related`` query per list, grouped per connection in Python.

Hiring-ops admins only: anybody else gets 403, anonymous users the login page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from governance import audit
from governance.models import StopSwitch
from governance.roles import user_roles
from integrations.models import (
    AtsConnection,
    InboundEvent,
    InboundEventStatus,
    SignatureFailure,
    UnmappedStage,
    WritebackJob,
    WritebackStatus,
)
from integrations.selectors import unmapped_stages_list
from integrations.services.outbox import writeback_retry

TEMPLATE = "governance/sync_health.html"
WINDOW = dt.timedelta(hours=24)
PROBLEM_STATUSES = (WritebackStatus.FAILED, WritebackStatus.DEAD)
# The page lists at most this many problem writebacks (newest first); the counts show them all.
JOB_LIMIT = 200
ERROR_EXCERPT_CHARS = 160
RETRY_ACTION = "writeback.retry"
# htmx event sent after a retry so the counts region reloads at once.
CHANGED_EVENT = "sync-health-changed"


# -- selectors ---------------------------------------------------------------------------------


@dataclass
class ConnectionHealth:
    connection: AtsConnection
    jobs: list[WritebackJob] = field(default_factory=list)
    unmapped: list[UnmappedStage] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    signature_failures: int = 0

    @property
    def events_total(self) -> int:
        return sum(self.events.values())

    @property
    def event_rows(self) -> list[tuple[str, str, int]]:
        """(status, label, count) for every status seen, in the declared status order."""
        return [
            (value, label, self.events[value])
            for value, label in InboundEventStatus.choices
            if self.events.get(value)
        ]


def problem_writebacks_list(*, limit: int = JOB_LIMIT) -> QuerySet[WritebackJob]:
    """Failing and dead writeback jobs, the most recently changed first."""
    return (
        WritebackJob.objects.filter(status__in=PROBLEM_STATUSES)
        .select_related("connection", "application__candidate", "application__requisition")
        .order_by("-updated_at", "-pk")[:limit]
    )


def sync_counts(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The headline numbers of the page (four queries)."""
    since = (now or timezone.now()) - WINDOW
    jobs = WritebackJob.objects.aggregate(
        failing=Count("pk", filter=Q(status=WritebackStatus.FAILED)),
        dead=Count("pk", filter=Q(status=WritebackStatus.DEAD)),
    )
    events = InboundEvent.objects.filter(received_at__gte=since).aggregate(
        received=Count("pk"), failed=Count("pk", filter=Q(status=InboundEventStatus.FAILED))
    )
    return {
        "failing": jobs["failing"],
        "dead": jobs["dead"],
        "unmapped": UnmappedStage.objects.filter(resolved_at__isnull=True).count(),
        "events": events["received"],
        "events_failed": events["failed"],
        "signature_failures": SignatureFailure.objects.filter(received_at__gte=since).count(),
        "stop_switches": StopSwitch.objects.filter(active=True).count(),
    }


def connection_health_list(*, now: dt.datetime | None = None) -> list[ConnectionHealth]:
    """Per connection: problem writebacks, unmapped stages and the last 24 hours of webhooks."""
    since = (now or timezone.now()) - WINDOW
    health = {c.pk: ConnectionHealth(connection=c) for c in AtsConnection.objects.order_by("name")}
    for job in problem_writebacks_list():
        health[job.connection_id].jobs.append(job)
    for stage in unmapped_stages_list():
        health[stage.connection_id].unmapped.append(stage)
    events = (
        InboundEvent.objects.filter(received_at__gte=since)
        .order_by()
        .values_list("connection_id", "status")
        .annotate(n=Count("pk"))
    )
    for connection_id, status, n in events:
        health[connection_id].events[status] = n
    failures = (
        SignatureFailure.objects.filter(received_at__gte=since)
        .order_by()
        .values_list("connection_id")
        .annotate(n=Count("pk"))
    )
    for connection_id, n in failures:
        health[connection_id].signature_failures = n
    return list(health.values())


def active_stop_switches_list() -> QuerySet[StopSwitch]:
    return StopSwitch.objects.filter(active=True).select_related("switched_on_by", "plan", "vendor")


def writeback_retry_allowed(user: Any) -> bool:
    """Hiring-ops admins holding the change permission on writeback jobs (page and API alike)."""
    return "admin" in user_roles(user) and user.has_perm("integrations.change_writebackjob")


# -- service -----------------------------------------------------------------------------------


@transaction.atomic
def sync_health_writeback_retry(*, job: WritebackJob, actor: Any, request_id: str = "") -> bool:
    """Queue one failed or dead writeback for a new attempt and audit it; False if refused.

    Refused (nothing changes, nothing is audited) when the job is no longer failed or dead, or a
    newer job for the same write exists (``writeback_retry`` skips it: re-sending would
    overwrite fresher data in the ATS).
    """
    previous = job.status
    if not writeback_retry(job_ids=[job.pk], actor=actor):
        return False
    audit.record(
        actor=actor,
        action=RETRY_ACTION,
        target=job,
        changes={"status": [previous, WritebackStatus.PENDING], "attempts": job.attempts},
        request_id=request_id,
    )
    return True


# -- views -------------------------------------------------------------------------------------


def _require_admin(request: HttpRequest) -> None:
    if "admin" not in user_roles(request.user):
        raise PermissionDenied("Sync health is for hiring-ops admins.")


def _excerpt(job: WritebackJob) -> WritebackJob:
    error = " ".join(job.last_error.split())
    cut = len(error) > ERROR_EXCERPT_CHARS
    job.error_excerpt = error[:ERROR_EXCERPT_CHARS] + ("…" if cut else "")  # type: ignore[attr-defined]
    return job


@require_GET
@login_required
@vary_on_headers("HX-Request")
def sync_health(request: HttpRequest) -> HttpResponse:
    """The whole page; an htmx request (the self-refreshing counts) gets the counts region."""
    _require_admin(request)
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted:
        return render(request, f"{TEMPLATE}#sync-counts", {"counts": sync_counts()})
    connections = connection_health_list()
    for item in connections:
        for job in item.jobs:
            _excerpt(job)
    context = {
        "counts": sync_counts(),
        "connections": connections,
        "stop_switches": active_stop_switches_list(),
        "job_limit": JOB_LIMIT,
        "window_hours": int(WINDOW.total_seconds() // 3600),
    }
    return render(request, TEMPLATE, context)


@require_POST
@login_required
def writeback_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry one writeback: htmx gets the updated row, a plain form post a redirect."""
    _require_admin(request)
    if not writeback_retry_allowed(request.user):
        raise PermissionDenied("Retrying writebacks needs the change permission.")
    job = get_object_or_404(WritebackJob.objects.select_related("connection"), pk=pk)
    queued = sync_health_writeback_retry(
        job=job, actor=request.user, request_id=audit.request_id_of(request)
    )
    if queued:
        notice = f"Writeback {job.pk} queued for a new attempt."
    else:
        notice = (
            f"Writeback {job.pk} was not retried: it is no longer failing "
            "or a newer write replaced it."
        )
    htmx = getattr(request, "htmx", None)
    if not htmx:
        (messages.success if queued else messages.warning)(request, notice)
        return redirect("governance:sync-health")
    job = _excerpt(
        WritebackJob.objects.select_related(
            "connection", "application__candidate", "application__requisition"
        ).get(pk=pk)
    )
    response = render(
        request, f"{TEMPLATE}#writeback-row", {"job": job, "notice": notice, "queued": queued}
    )
    return trigger_client_event(response, CHANGED_EVENT)
