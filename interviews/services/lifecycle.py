"""Sending invitations (with their retries), the interview status machine, expiry and reminders.

Interviews are created pending by ``services.launch``; this module takes them from there.

Invitations (:func:`interview_invite`, the ``interviews.invite`` task)
    - Claim: ``status=pending AND invited_at IS NULL`` → ``invited_at = <claim time>``,
      ``invite_attempts + 1`` (a conditional update; there is no "sending" status, so a pending
      interview with ``invited_at`` set means "in flight since invited_at"). A duplicate task or
      the sweeper claims nothing and does nothing, so the vendor is called once.
    - Checks again at send time (``services.launch.interview_launch_refusal``): a stop switch,
      but also a plan paused, a vendor deactivated, an opt-out or a consent withdrawn since the
      launch. **Decision:** a refused interview is *cancelled* (``failure_reason`` says why;
      nothing went to the vendor) and a LaunchSkip is recorded with the same reason — as a stop
      switch does at launch time, so nothing goes out in a burst when it is switched off. With
      one interview per (application, plan), such a candidate is not re-invited automatically.
    - The vendor is called *outside* any transaction. Success → ``invited`` with the vendor's
      reference and link, ``invited_at`` and ``expires_at`` (the vendor's, else now + the plan's
      ``expiry_days``); the update is fenced by the claim, so if the interview was cancelled
      while the call was in flight, the fresh invitation is withdrawn at once (best effort).
    - **Retries.** Timeouts, 429 and 5xx (``integrations.http.is_retryable``) and unexpected
      errors (an adapter bug, a vendor API key missing) release the claim and leave the interview
      pending with ``next_invite_at`` set and the error in ``failure_reason`` (both shown to
      admins). The sweeper (beat, every minute) re-enqueues it once that time has passed:
      exponential backoff with full jitter (``backoff_delay``; base 60 s, cap 30 min,
      ``Retry-After`` honoured as a floor), never sooner than 2 minutes. No Celery countdowns:
      long waits belong in rows + beat, and eager mode (tests, demo) would retry in a tight loop.
      After :data:`MAX_INVITE_ATTEMPTS` claims, or at once for a permanent error (auth, other
      4xx), the interview is ``failed`` with the error.
    - A claim older than :data:`CLAIM_LEASE` belongs to a worker that died. Its claim counted
      the attempt; the sweeper sends again, or fails the interview after the last attempt. The
      vendor may have had the first call: adapters send ``Interview.public_id`` as idempotency key.

Lifecycle (:func:`interview_transition`, public: the results and vendor-event code use it)
    Only moves allowed by ``INTERVIEW_TRANSITIONS``, each a compare-and-set on the current
    status (re-read and retried when another writer moved it first), stamping ``started_at``,
    ``completed_at``, ``invited_at`` and ``ended_at``. Leaving pending clears ``next_invite_at``;
    cancelling or failing a pending interview also clears a send claim. Returns False when the
    move is not allowed (any more). :func:`interview_cancel` also withdraws it at the vendor.

Expiry (:func:`interviews_expire_due`, beat every 5 minutes)
    Invited interviews past ``expires_at`` → ``expired``; a *started* one gets
    :data:`STARTED_GRACE` more, so a candidate who began just before the deadline is not cut off.
    The vendor is asked to withdraw the link (best effort).

Reminders (:func:`interviews_remind_due`, beat) — **decision**
    Screenbridge has no channel to the candidate, and the vendor adapter contract has no
    "remind" call (``vendors/base.py``). So a due reminder (invited, not started,
    ``reminder_after_hours`` after the invitation, none sent yet; 0 hours sends none) goes to
    the people who own the candidate relationship: a private note on the application in the ATS,
    queued through the writeback outbox (retries, visible on the sync-health page; never sent on
    sandbox connections). ``reminded_at`` / ``reminders_sent`` record that, in the same
    transaction. When the vendor contract gains a ``remind``, this is the one place to call it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.http import AtsError, backoff_delay, is_retryable
from integrations.models import WritebackKind
from integrations.queueing import enqueue_each
from integrations.services.outbox import writeback_enqueue
from interviews import selectors, tasks
from interviews.models import INTERVIEW_TRANSITIONS, Interview, InterviewStatus
from interviews.vendors import registry
from interviews.vendors.base import Invitation, VendorAdapter

logger = logging.getLogger(__name__)

__all__ = [
    "CLAIM_LEASE",
    "MAX_INVITE_ATTEMPTS",
    "STARTED_GRACE",
    "clip_text",
    "interview_cancel",
    "interview_invite",
    "interview_transition",
    "interviews_expire_due",
    "interviews_invite_sweep",
    "interviews_remind_due",
]

# The end states: no way out of them.
ENDED = frozenset(status for status, moves in INTERVIEW_TRANSITIONS.items() if not moves)

# Invitation retries: about an hour of vendor outage before an interview is failed.
MAX_INVITE_ATTEMPTS = 8
RETRY_BASE_SECONDS = 60.0
RETRY_CAP_SECONDS = 1800.0
# A pending interview untouched this long lost its enqueue (broker down): the sweeper sends it.
SWEEP_IDLE = dt.timedelta(minutes=2)
# Longer than Celery's hard time limit (300 s): a claim this old belongs to a dead worker.
CLAIM_LEASE = dt.timedelta(minutes=10)
# A candidate who started before the deadline gets this long to finish.
STARTED_GRACE = dt.timedelta(days=1)
# Rows handled per beat run, and the wall-clock budget of a run (well under the soft limit).
BATCH = 500
RUN_BUDGET_SECONDS = 120.0
TEXT_MAX_CHARS = 500

LOST_WORKER_ERROR = "The worker sending the invitation was lost; the vendor may have received it."


# -- invitations -------------------------------------------------------------------------------


def interview_invite(*, interview_id: int, launched: Interview | None = None) -> Interview | None:
    """Send one pending interview's invitation to its vendor; safe to run any number of times.

    Returns the interview, or ``None`` when there was nothing to claim (already sent, being
    sent, ended, or gone). Never raises for a vendor error: see the module docstring.

    ``launched``: the interview as its launch created it moments ago in this same task, with
    its application, candidate, plan and vendor loaded. Its launch checks (stop switches,
    consent, jurisdiction rules) passed inside the launch's transaction, so they are not
    repeated and nothing is read back; the claim below still decides whether to send.
    """
    # services.launch imports this module (a stage change cancels interviews); the send-time
    # re-check is the one call back, so it is imported here.
    from interviews.services.launch import interview_launch_refusal, launch_skip_record

    claimed_at = timezone.now()
    claimed = Interview.objects.filter(
        pk=interview_id, status=InterviewStatus.PENDING, invited_at__isnull=True
    ).update(
        invited_at=claimed_at,
        invite_attempts=F("invite_attempts") + 1,
        next_invite_at=None,
        updated_at=claimed_at,
    )
    if not claimed:
        logger.info("interview %s not claimed for sending: not pending or in flight", interview_id)
        return None
    if launched is not None:
        interview = launched
        interview.invited_at, interview.next_invite_at = claimed_at, None
        interview.invite_attempts += 1  # what the claim stored
        refusal = None
    else:
        interview = Interview.objects.select_related(
            "application__candidate",
            "application__connection",
            "application__requisition",
            "plan__vendor",
            "plan__role_family",
            "vendor",
        ).get(pk=interview_id)
        # Re-checked at send time: a stop switch or a withdrawn consent since the launch wins.
        refusal = interview_launch_refusal(application=interview.application, plan=interview.plan)
    if refusal is not None:
        with transaction.atomic():
            if not interview_transition(
                interview=interview,
                to=InterviewStatus.CANCELLED,
                reason=clip_text(f"Not sent: {refusal.detail}"),
            ):
                return interview  # cancelled by a stage change meanwhile: nothing to add
            launch_skip_record(
                application=interview.application,
                plan=interview.plan,
                reason=refusal.reason,
                detail=refusal.detail,
            )
        return interview

    adapter: VendorAdapter | None = None
    try:
        adapter = registry.adapter_for(interview.vendor)
        # Outside any transaction: a slow vendor holds no database locks.
        invitation = adapter.invite(interview)
    except Exception as exc:
        _invite_failed(interview, exc, claimed_at=claimed_at)
        return interview
    _invite_succeeded(interview, invitation, adapter=adapter, claimed_at=claimed_at)
    return interview


def _invite_succeeded(
    interview: Interview,
    invitation: Invitation,
    *,
    adapter: VendorAdapter,
    claimed_at: dt.datetime,
) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {
        "status": InterviewStatus.INVITED,
        "vendor_reference": (invitation.vendor_reference or "")[:200],
        "invite_url": (invitation.invite_url or "")[:1000],
        "invited_at": now,
        "expires_at": invitation.expires_at or now + dt.timedelta(days=interview.plan.expiry_days),
        "failure_reason": "",
        "updated_at": now,
    }
    try:
        with transaction.atomic():
            sent = Interview.objects.filter(
                pk=interview.pk, status=InterviewStatus.PENDING, invited_at=claimed_at
            ).update(**fields)
    except IntegrityError:
        # Another interview already carries this vendor reference: a vendor-side error that
        # needs a human. Not withdrawn — that could withdraw the other interview's invitation.
        logger.error(
            "vendor %s returned reference %r for interview %s, already used by another interview",
            interview.vendor.slug,
            invitation.vendor_reference,
            interview.pk,
        )
        interview_transition(
            interview=interview,
            to=InterviewStatus.FAILED,
            reason=clip_text(
                f"The vendor answered with reference {invitation.vendor_reference!r}, which "
                "another interview already has."
            ),
        )
        return
    if not sent:
        # Cancelled while the vendor call was in flight: withdraw the invitation just made.
        interview.vendor_reference = fields["vendor_reference"]
        interview.invite_url = fields["invite_url"]
        logger.info("interview %s ended while its invitation was sent; withdrawing", interview.pk)
        _vendor_cancel(adapter, interview)
        interview.refresh_from_db()
        return
    for name, value in fields.items():
        setattr(interview, name, value)
    logger.info(
        "interview %s invited (vendor %s, reference %s)",
        interview.pk,
        interview.vendor.slug,
        interview.vendor_reference,
    )
    try:
        adapter.invited(interview)
    except Exception:  # a follow-up hook never undoes a recorded invitation
        logger.exception("vendor %s: after-invitation hook failed", interview.vendor.slug)


def _invite_failed(interview: Interview, exc: Exception, *, claimed_at: dt.datetime) -> None:
    attempt = interview.invite_attempts  # counted by the claim of this try
    error = _error_text(exc)
    # Anything but a typed permanent error is worth another (bounded) try: timeouts, 429, 5xx,
    # and surprises such as a missing vendor API key an admin can still fix.
    retryable = is_retryable(exc) or not isinstance(exc, AtsError)
    if retryable and attempt < MAX_INVITE_ATTEMPTS:
        now = timezone.now()
        delay = backoff_delay(
            attempt,
            base=RETRY_BASE_SECONDS,
            cap=RETRY_CAP_SECONDS,
            retry_after=getattr(exc, "retry_after", None),
        )
        next_at = now + dt.timedelta(seconds=delay)
        Interview.objects.filter(
            pk=interview.pk, status=InterviewStatus.PENDING, invited_at=claimed_at
        ).update(invited_at=None, next_invite_at=next_at, failure_reason=error, updated_at=now)
        logger.warning(
            "invitation of interview %s failed (attempt %s of %s), retrying after %s: %s",
            interview.pk,
            attempt,
            MAX_INVITE_ATTEMPTS,
            next_at.isoformat(),
            error,
            exc_info=not isinstance(exc, AtsError),
        )
        interview.refresh_from_db()
        return
    logger.warning("invitation of interview %s failed for good: %s", interview.pk, error)
    if retryable:
        _invite_give_up(interview, error)
    else:
        interview_transition(
            interview=interview,
            to=InterviewStatus.FAILED,
            reason=clip_text(f"The vendor refused the invitation: {error}"),
        )


def _invite_give_up(interview: Interview, error: str) -> None:
    interview_transition(
        interview=interview,
        to=InterviewStatus.FAILED,
        reason=clip_text(
            f"Gave up after {interview.invite_attempts} attempts to send the invitation: {error}"
        ),
    )


def interviews_invite_sweep() -> int:
    """Re-enqueue invitations that are due; returns how many were enqueued (beat).

    Due: pending, unclaimed for over 2 minutes and past ``next_invite_at`` (a lost enqueue, a
    backoff over), or claimed longer than :data:`CLAIM_LEASE` ago (the worker died).
    """
    now = timezone.now()
    due: list[int] = []
    for interview in selectors.interviews_invite_stuck(
        claimed_before=now - CLAIM_LEASE, limit=BATCH
    ):
        if interview.invite_attempts >= MAX_INVITE_ATTEMPTS:
            _invite_give_up(interview, LOST_WORKER_ERROR)
            continue
        if Interview.objects.filter(
            pk=interview.pk, status=InterviewStatus.PENDING, invited_at=interview.invited_at
        ).update(invited_at=None, failure_reason=LOST_WORKER_ERROR, updated_at=now):
            logger.warning("interview %s: reset an invitation claim of a lost worker", interview.pk)
            due.append(interview.pk)

    due.extend(
        interview.pk
        for interview in selectors.interviews_invite_candidates(
            now=now, idle_since=now - SWEEP_IDLE, limit=BATCH
        )
    )

    return enqueue_each(tasks.interview_invite_task, due, what="pending invitation")


# -- transitions -------------------------------------------------------------------------------


def interview_transition(
    *,
    interview: Interview,
    to: InterviewStatus | str,
    at: dt.datetime | None = None,
    reason: str = "",
) -> bool:
    """Move ``interview`` to status ``to`` if ``INTERVIEW_TRANSITIONS`` allows it from its
    current status; returns whether this call moved it.

    A compare-and-set on the status: when another writer moved the interview first, the row is
    re-read and the move re-checked from there (so a stale ``invited`` instance can still be
    completed after a concurrent ``started``). Sets ``started_at`` / ``completed_at`` /
    ``invited_at`` and, for the end states, ``ended_at`` (all ``at``, default now); ``reason``
    is stored as ``failure_reason`` for failed, cancelled and expired. The instance is updated.
    """
    target = InterviewStatus(to)
    at = at or timezone.now()
    for _ in range(3):
        current = interview.status
        if target not in INTERVIEW_TRANSITIONS[current]:
            logger.info("interview %s: %s → %s not allowed", interview.pk, current, target)
            return False
        fields = _transition_fields(current, target, at=at, reason=reason)
        if Interview.objects.filter(pk=interview.pk, status=current).update(**fields):
            for name, value in fields.items():
                setattr(interview, name, value)
            logger.info("interview %s: %s → %s", interview.pk, current, target)
            return True
        try:
            interview.refresh_from_db()
        except Interview.DoesNotExist:
            return False
    return False


def _transition_fields(
    current: str, target: InterviewStatus, *, at: dt.datetime, reason: str
) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": target, "updated_at": timezone.now()}
    if target == InterviewStatus.INVITED:
        fields["invited_at"] = at
    elif target == InterviewStatus.STARTED:
        fields["started_at"] = at
    elif target == InterviewStatus.COMPLETED:
        fields["completed_at"] = at
    if target in ENDED:
        fields["ended_at"] = at
    if current == InterviewStatus.PENDING:
        # Only a pending interview waits for another try to send its invitation.
        fields["next_invite_at"] = None
        if target in (InterviewStatus.CANCELLED, InterviewStatus.FAILED):
            # Never invited: drop a send claim, so an in-flight send sees the change and withdraws.
            fields["invited_at"] = None
    if reason and target in (
        InterviewStatus.FAILED,
        InterviewStatus.CANCELLED,
        InterviewStatus.EXPIRED,
    ):
        fields["failure_reason"] = reason[:2000]
    return fields


def interview_cancel(*, interview: Interview, reason: str, at: dt.datetime | None = None) -> bool:
    """Cancel an open interview; the vendor is asked to withdraw it after commit (best effort,
    a failure is logged, never raised). Returns whether this call cancelled it."""
    if not interview_transition(
        interview=interview, to=InterviewStatus.CANCELLED, at=at, reason=reason
    ):
        return False
    if interview.vendor_reference:
        transaction.on_commit(partial(_vendor_cancel_by_id, interview.pk))
    return True


def _vendor_cancel_by_id(interview_id: int) -> None:
    interview = selectors.interview_for_vendor_call(pk=interview_id)
    if interview is None:
        return
    try:
        adapter = registry.adapter_for(interview.vendor)
    except Exception:
        logger.warning(
            "no adapter to withdraw interview %s at its vendor", interview_id, exc_info=True
        )
        return
    _vendor_cancel(adapter, interview)


def _vendor_cancel(adapter: VendorAdapter, interview: Interview) -> None:
    try:
        adapter.cancel(interview)
    except Exception as exc:
        logger.warning(
            "could not withdraw interview %s at vendor %s: %s",
            interview.pk,
            interview.vendor.slug,
            _error_text(exc),
            exc_info=not isinstance(exc, AtsError),
        )


# -- expiry and reminders ----------------------------------------------------------------------


def interviews_expire_due() -> int:
    """Expire invitations past their deadline; returns how many were expired (beat).

    Invited interviews expire at ``expires_at``; started ones :data:`STARTED_GRACE` later. The
    vendor is asked to withdraw each expired invitation (best effort).
    """
    now = timezone.now()
    started = time.monotonic()
    expired = 0
    for interview_id in selectors.interviews_expiry_due(
        now=now, started_grace=STARTED_GRACE, limit=BATCH
    ):
        if time.monotonic() - started > RUN_BUDGET_SECONDS:
            break  # the next beat run continues; nothing is half-done
        interview = Interview.objects.select_related("vendor").filter(pk=interview_id).first()
        if interview is None or interview.expires_at is None:
            continue
        deadline = interview.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        if interview_transition(
            interview=interview,
            to=InterviewStatus.EXPIRED,
            at=now,
            reason=f"Not completed before the invitation expired ({deadline}).",
        ):
            expired += 1
            if interview.vendor_reference:
                transaction.on_commit(partial(_vendor_cancel_by_id, interview.pk))
    if expired:
        logger.info("expired %s interview invitation(s)", expired)
    return expired


def interviews_remind_due() -> int:
    """Queue a reminder note in the ATS for each invitation not started in time (beat).

    Returns how many reminders were queued. See the module docstring: the reminder goes to the
    recruiter through the ATS (the vendor contract has no remind); each interview gets one.
    """
    now = timezone.now()
    reminded = 0
    for interview_id in selectors.interviews_reminder_due(now=now, limit=BATCH):
        with transaction.atomic():
            claimed = Interview.objects.filter(
                pk=interview_id, status=InterviewStatus.INVITED, reminders_sent=0
            ).update(reminders_sent=F("reminders_sent") + 1, reminded_at=now, updated_at=now)
            if not claimed:
                continue
            interview = Interview.objects.select_related(
                "application__candidate", "application__connection", "plan", "vendor"
            ).get(pk=interview_id)
            application = interview.application
            writeback_enqueue(
                connection=application.connection,
                application=application,
                kind=WritebackKind.NOTE,
                payload={"body": _reminder_text(interview), "visibility": "private"},
                target=f"interview_reminder:{interview.public_id}",
            )
        reminded += 1
        logger.info("reminder note queued for interview %s", interview_id)
    return reminded


def _reminder_text(interview: Interview) -> str:
    def utc(value: dt.datetime | None) -> str:
        return value.astimezone(dt.UTC).strftime("%d %b %Y %H:%M UTC") if value else "unknown"

    candidate = interview.application.candidate
    who = candidate.full_name or "The candidate"
    text = (
        f"Screenbridge reminder: {who} has not started the automated interview "
        f"“{interview.plan.name}” sent by {interview.vendor.name} on {utc(interview.invited_at)}."
    )
    if interview.expires_at:
        text += f" The invitation expires on {utc(interview.expires_at)}."
    return text + " A nudge from the recruiter may help."


# -- helpers -----------------------------------------------------------------------------------


def clip_text(text: str, limit: int = TEXT_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (reasons and details shown to
    admins; ``services.launch`` uses it too)."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _error_text(exc: BaseException) -> str:
    """``Type: message``, first line only and bounded: enough to act on, no tracebacks."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return clip_text(text)
