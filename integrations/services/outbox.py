"""The writeback outbox: writes Screenbridge owes the ATS, sent at least once and never lost.

Shape ("write out, nothing lost"):

1. :func:`writeback_enqueue` inserts a :class:`WritebackJob` inside the caller's transaction, so the
   job exists exactly when the change that caused it exists. After commit it kicks the relay; if
   the broker is down the kick is only logged, because beat runs the relay every few seconds.
2. :func:`writeback_relay` claims one due job at a time (``select_for_update(skip_locked=True)``
   plus a compare-and-set on ``status``/``attempts``), marks it ``in_flight`` under a lease,
   commits, calls the connector *outside* any transaction, then records a
   :class:`WritebackAttempt` and moves the job to ``succeeded``, ``failed`` (retry later with
   backoff) or ``dead`` — again with a compare-and-set, so a duplicate relay cannot record twice.
3. :func:`writeback_retry` puts failed or dead jobs back in the queue (admin, manual).

Delivery is **at least once**. The one window for a duplicate side effect: a worker killed after
the ATS accepted the write but before the outcome was recorded. The job stays ``in_flight``
until its lease expires, then it is claimed again and re-sent with the **same**
``idempotency_key``. The generic connector sends that key as ``webhook-id`` so the receiver
drops the duplicate; the custom-field writes (Greenhouse PATCH, Ashby ``customField.setValue``)
are idempotent by nature; a duplicated note is the residual risk of the note-only providers.

Ordering: a newer job for the same application + kind + target supersedes an older unsent one,
and a job is not sent while an older job for the same target is still in flight, so an older
payload never lands after a newer one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from integrations import registry
from integrations.http import AtsError, backoff_delay, is_retryable
from integrations.models import (
    Application,
    AtsConnection,
    WritebackAttempt,
    WritebackJob,
    WritebackKind,
)
from integrations.models import WritebackStatus as Status

logger = logging.getLogger(__name__)

# How long a claimed job belongs to its worker. It outlives the longest single send (an OAuth
# token fetch plus one write: 2 x (5 s connect + 30 s read)) and Celery's hard time limit
# (CELERY_TASK_TIME_LIMIT, 300 s), so a live worker is never overtaken; a dead worker's job is
# claimed again once it runs out.
LEASE = dt.timedelta(minutes=6)
# Retry schedule: 30 s, 1 min, 2 min, ... capped at 1 h, with jitter; the default 8 attempts
# span about an hour of ATS outage before a job is dead (and retryable from the admin).
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
# A relay run stops claiming new jobs after this long; beat starts the next run in 5 s. Well
# under CELERY_TASK_SOFT_TIME_LIMIT (240 s) so a run is not interrupted between claim and record.
RELAY_TIME_BUDGET_SECONDS = 120.0
# Error text kept on an attempt (and on the job).
ERROR_EXCERPT_CHARS = 500

UNSENT = (Status.PENDING, Status.FAILED)
RETRYABLE_BY_HAND = (Status.FAILED, Status.DEAD)


def default_max_attempts() -> int:
    """``SCREENBRIDGE_WRITEBACK_MAX_ATTEMPTS`` (8 unless configured)."""
    return int(settings.SCREENBRIDGE_WRITEBACK_MAX_ATTEMPTS)


# -- enqueue -----------------------------------------------------------------------------------


def writeback_enqueue(
    *,
    connection: AtsConnection,
    application: Application | None,
    kind: str,
    payload: dict[str, Any],
    target: str = "result",
    max_attempts: int | None = None,
) -> WritebackJob:
    """Record one write owed to the ATS, in the caller's transaction.

    Call it inside the ``transaction.atomic()`` that makes the change (a result, a decision):
    the job commits or rolls back with it. Older unsent jobs for the same application, kind and
    target are superseded. On a sandbox connection the job is stored as ``sandboxed``: it shows
    what would be written and is never sent. After commit the relay is kicked.
    """
    # Programming errors, refused before anything is stored.
    if kind not in WritebackKind.values:
        raise ValueError(f"unknown writeback kind {kind!r}")
    if application is not None and application.connection_id != connection.pk:
        raise ValueError("the application belongs to another ATS connection")
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = timezone.now()
    sandbox = connection.is_sandbox
    with transaction.atomic():
        if application is not None:
            # Conditional: a job a relay has claimed (in_flight) or finished is left alone.
            _same_target(connection.pk, application.pk, kind, target).filter(
                status__in=UNSENT
            ).update(
                status=Status.SUPERSEDED,
                next_attempt_at=None,
                completed_at=now,
                updated_at=now,
            )
        job = WritebackJob.objects.create(
            connection=connection,
            application=application,
            kind=kind,
            target=target,
            payload=payload,
            status=Status.SANDBOXED if sandbox else Status.PENDING,
            max_attempts=max_attempts or default_max_attempts(),
            next_attempt_at=None if sandbox else now,
            completed_at=now if sandbox else None,
        )
        if not sandbox:
            transaction.on_commit(writeback_relay_kick)
    return job


def writeback_relay_kick() -> None:
    """Ask a worker to run the relay now; a broker error is logged, never raised.

    The job is already committed, so nothing is lost when this fails: beat runs the relay every
    few seconds anyway. Raising here would turn a stored write into an error for the caller.
    """
    from integrations.tasks import relay_writebacks_task

    try:
        relay_writebacks_task.delay()
    except Exception:
        logger.warning(
            "Could not enqueue the writeback relay; the periodic relay will send the job",
            exc_info=True,
        )


# -- relay -------------------------------------------------------------------------------------


def writeback_relay(*, limit: int = 50, now: dt.datetime | None = None) -> int:
    """Send up to ``limit`` due writeback jobs; return how many jobs were handled.

    Due: ``pending``/``failed`` with ``next_attempt_at`` unset or passed, or ``in_flight`` with an
    expired lease (its worker died mid-send). Jobs are claimed one at a time so each lease covers
    one send only; a job found superseded or on a connection now in sandbox mode is settled
    without a call and counts as handled. Jobs of an inactive connection stay pending until it
    is active again. ``now`` pins the clock (tests, manual runs).
    """
    clock: Callable[[], dt.datetime] = (lambda: now) if now is not None else timezone.now
    started = time.monotonic()
    handled = 0
    while handled < limit and time.monotonic() - started < RELAY_TIME_BUDGET_SECONDS:
        job = _claim_next(clock())
        if job is None:
            break
        handled += 1
        if job.status != Status.IN_FLIGHT:
            continue  # settled during the claim (superseded, sandboxed, dead)
        try:
            _deliver(job, clock)
        except SoftTimeLimitExceeded:
            # Recorded as a failed attempt in _deliver; stop before the hard limit kills us.
            break
    return handled


def _same_target(
    connection_id: int, application_id: int | None, kind: str, target: str
) -> QuerySet[WritebackJob]:
    return WritebackJob.objects.filter(
        connection_id=connection_id, application_id=application_id, kind=kind, target=target
    )


def _siblings() -> QuerySet[WritebackJob]:
    """Jobs for the same write as the outer job (a null application has no siblings)."""
    return WritebackJob.objects.filter(
        connection=OuterRef("connection"),
        application=OuterRef("application"),
        kind=OuterRef("kind"),
        target=OuterRef("target"),
    )


def _due(now: dt.datetime) -> QuerySet[WritebackJob]:
    waiting = Q(status__in=UNSENT) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    abandoned = Q(status=Status.IN_FLIGHT, lease_expires_at__lt=now)
    # An older job for the same target still being sent (lease running) goes first.
    older_in_flight = _siblings().filter(
        pk__lt=OuterRef("pk"), status=Status.IN_FLIGHT, lease_expires_at__gte=now
    )
    return (
        WritebackJob.objects.filter(waiting | abandoned, connection__active=True)
        .exclude(Exists(older_in_flight))
        .annotate(has_newer=Exists(_siblings().filter(pk__gt=OuterRef("pk"))))
    )


def _claim_next(now: dt.datetime) -> WritebackJob | None:
    """Claim the oldest due job in a short transaction; None when nothing is due.

    ``skip_locked`` lets concurrent relays pass each other on PostgreSQL (SQLite ignores it and
    serializes writers); the compare-and-set on ``status`` and ``attempts`` is what guarantees one
    claimer per attempt on every backend. The returned job is ``in_flight`` (send it) or already
    settled (superseded, sandboxed, dead).
    """
    for _ in range(10):  # a job lost to a concurrent claimer: try the next one
        with transaction.atomic():
            job = (
                _due(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("connection", "application")
                .order_by("pk")
                .first()
            )
            if job is None:
                return None
            settled = _settle_without_sending(job, now)
            changes: dict[str, Any] = (
                {"status": settled, "next_attempt_at": None, "completed_at": now}
                if settled
                else {"status": Status.IN_FLIGHT, "attempts": F("attempts") + 1}
            )
            if settled == Status.DEAD:
                changes["last_error"] = _lost_text(job)
            claimed = WritebackJob.objects.filter(
                pk=job.pk, status=job.status, attempts=job.attempts
            ).update(lease_expires_at=None if settled else now + LEASE, updated_at=now, **changes)
            if not claimed:
                continue
            if job.status == Status.IN_FLIGHT:
                # The previous claimer never reported back: keep its attempt in the ledger.
                WritebackAttempt.objects.get_or_create(
                    job=job,
                    attempt_number=job.attempts,
                    defaults={"started_at": now, "error": _lost_text(job)},
                )
            if settled:
                job.status = settled
            else:
                job.status = Status.IN_FLIGHT
                job.attempts += 1
                job.lease_expires_at = now + LEASE
            return job
    return None


def _settle_without_sending(job: WritebackJob, now: dt.datetime) -> str:
    """The final status of a due job that must not be sent, or "" to send it."""
    if job.has_newer:  # type: ignore[attr-defined]
        # Two transactions enqueued for one target at once, or an abandoned job was overtaken:
        # sending it would overwrite newer data.
        return Status.SUPERSEDED
    if job.connection.is_sandbox:
        # The connection went to sandbox after the job was queued: recorded, never sent.
        return Status.SANDBOXED
    if job.status == Status.IN_FLIGHT and job.attempts >= job.max_attempts:
        # Its last allowed attempt was lost with its worker. Not re-sent: a job that kills its
        # worker every time would otherwise loop forever. Retryable from the admin.
        return Status.DEAD
    return ""


def _lost_text(job: WritebackJob) -> str:
    return (
        f"Attempt {job.attempts} lost: its worker stopped before recording the outcome "
        "(lease expired); the ATS may or may not have applied it."
    )


def _deliver(job: WritebackJob, clock: Callable[[], dt.datetime]) -> None:
    """Make one call for a claimed job (no transaction held) and record what happened."""
    started_at = clock()
    t0 = time.monotonic()
    error: BaseException | None = None
    status_code: int | None = None
    try:
        # API reference per provider: integrations/connectors/<provider>/client.py.
        outcome = registry.client_for(job.connection).send_writeback(job)
        status_code = outcome.status_code
    except Exception as exc:
        error = exc
        status_code = getattr(exc, "status_code", None)
    latency_ms = round((time.monotonic() - t0) * 1000)
    finished_at = clock()

    if error is None:
        changes: dict[str, Any] = {
            "status": Status.SUCCEEDED,
            "completed_at": finished_at,
            "next_attempt_at": None,
            "last_error": "",
        }
        log_text = ""
    else:
        log_text = _error_text(error)
        changes = {"last_error": log_text}
        retryable = is_retryable(error) if isinstance(error, AtsError) else True
        if retryable and job.attempts < job.max_attempts:
            delay = backoff_delay(
                job.attempts,
                base=BACKOFF_BASE_SECONDS,
                cap=BACKOFF_CAP_SECONDS,
                retry_after=getattr(error, "retry_after", None),
            )
            changes |= {
                "status": Status.FAILED,
                "next_attempt_at": finished_at + dt.timedelta(seconds=delay),
            }
        else:
            changes |= {"status": Status.DEAD, "next_attempt_at": None, "completed_at": finished_at}

    with transaction.atomic():
        moved = WritebackJob.objects.filter(
            pk=job.pk, status=Status.IN_FLIGHT, attempts=job.attempts
        ).update(lease_expires_at=None, updated_at=finished_at, **changes)
        # Each claim has its own attempt number. If a relay found our lease expired and took the
        # job over, it logged this attempt as lost; the call did happen, so record what it got.
        WritebackAttempt.objects.update_or_create(
            job=job,
            attempt_number=job.attempts,
            defaults={
                "started_at": started_at,
                "status_code": status_code,
                "latency_ms": latency_ms,
                "succeeded": error is None,
                "error": log_text,
            },
        )
    if not moved:
        logger.warning(
            "Writeback job %s was taken over during attempt %s; outcome kept on the attempt only",
            job.pk,
            job.attempts,
        )
    elif error is None:
        logger.info("Writeback job %s sent (attempt %s)", job.pk, job.attempts)
    else:
        logger.warning(
            "Writeback job %s attempt %s failed, now %s: %s",
            job.pk,
            job.attempts,
            changes["status"],
            log_text,
        )
    if isinstance(error, SoftTimeLimitExceeded):
        raise error


def _error_text(error: BaseException) -> str:
    """A short, single-purpose description of a failed call (≤ ERROR_EXCERPT_CHARS)."""
    if isinstance(error, AtsError):
        text = str(error) or type(error).__name__
        if not text.startswith(type(error).__name__):
            text = f"{type(error).__name__}: {text}"
    else:
        # Not an HTTP answer (a missing secret, a connector bug): retried, then dead, visible.
        text = f"{type(error).__name__}: {error}"
    return text if len(text) <= ERROR_EXCERPT_CHARS else text[: ERROR_EXCERPT_CHARS - 1] + "…"


# -- manual retry ------------------------------------------------------------------------------


@transaction.atomic
def writeback_retry(*, job_ids: Iterable[int], actor: Any = None) -> int:
    """Queue failed or dead jobs for an immediate new attempt; return how many were queued.

    A job with a newer job for the same application + kind + target is skipped: re-sending it
    would overwrite fresher data in the ATS. A dead job gets one more attempt than it has used.
    """
    now = timezone.now()
    ids = list(job_ids)
    queued = (
        WritebackJob.objects.filter(pk__in=ids, status__in=RETRYABLE_BY_HAND)
        .exclude(Exists(_siblings().filter(pk__gt=OuterRef("pk"))))
        .update(
            status=Status.PENDING,
            next_attempt_at=now,
            max_attempts=Greatest(F("max_attempts"), F("attempts") + 1),
            completed_at=None,
            updated_at=now,
        )
    )
    if queued:
        logger.info(
            "%s writeback job(s) queued for retry by %s", queued, getattr(actor, "pk", actor)
        )
        transaction.on_commit(writeback_relay_kick)
    return queued
