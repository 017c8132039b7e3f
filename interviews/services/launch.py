"""Launching interviews on ATS stage changes, sending invitations, and the interview lifecycle.

Stage changes (:func:`application_stage_changed_handle`, the ``application_stage_changed``
receiver; runs after the sync transaction committed)
    1. The requisition's role family is resolved (``services.membership``: manual assignment,
       else rules), so rules are evaluated on every sync.
    2. The application row is locked and its stage re-read. If it is no longer ``new`` a newer
       change has been applied since, and that change's own handler decides; this one does
       nothing. The lock also serializes this handler with ``stage_change_apply`` for the same
       application, so a launch can never slip in after the cancel of a later move.
    3. Open interviews (pending, invited, started) are cancelled when the application became
       rejected, withdrawn or hired (whatever launched them), or — for interviews launched by a
       stage change — when it is no longer in the plan's trigger stage. Interviews launched
       otherwise (an assessment-partner call — Greenhouse Send Test, Ashby ``assessment.start``
       — or a rehearsal run) follow the ATS's own assessment lifecycle and are only cancelled
       on those outcomes.
    4. The running (pilot/live) ``stage_change`` plan of the family whose trigger stage is ``new``
       launches, unless :func:`interview_launch_refusal` names a reason; non-running plans at
       that stage record ``plan_draft`` / ``plan_paused``. Every "no" is a :class:`LaunchSkip`
       row (one per application, plan and reason; a repeat bumps ``occurrences`` and
       ``last_seen_at``), shown to admins in "Launch skips".
    5. ``skipped_stage`` is recorded for a running plan when the application jumped from a
       ranked stage *before* the plan's trigger stage straight to one *after* it (``STAGE_ORDER``),
       or was first seen past it (``old is None``). A move from an unranked stage (unmapped,
       rejected, withdrawn) says nothing about skipping and records nothing; neither does an
       application that already has an interview for the plan.
    6. ``no_role_family`` (plan ``None``) is recorded only when ``new`` is the trigger stage of
       some running plan, so admins see the requisitions that are missing a family without
       being flooded for stages no plan cares about.

Launch (:func:`interview_launch`, public: the assessment-partner endpoints call it too)
    Exactly one Interview per (application, plan): ``get_or_create`` in a savepoint, and the
    database constraint settles concurrent launches; an existing interview (of any status) is
    returned, never replaced, so re-entering the trigger stage does not launch again. The
    invitation task is enqueued after commit; a broker error is logged and the sweeper sends it.
    ``interview_launch`` does not check anything: callers run :func:`interview_launch_check`
    (or :func:`interview_launch_refusal` for the reason *and* the detail) first.

Invitations (:func:`interview_invite`, the ``interviews.invite`` task)
    - Claim: ``status=pending AND invited_at IS NULL`` → ``invited_at = <claim time>`` (a
      conditional update; the model has no "sending" status, so a pending interview with
      ``invited_at`` set means "invitation in flight since invited_at"). A second run — a
      duplicate task, the sweeper — claims nothing and does nothing, so the vendor is called once.
    - Checks again at send time with :func:`interview_launch_refusal`: the stop switch above
      all, but also a plan paused, a vendor deactivated, an opt-out or a consent withdrawn since
      the launch. **Decision:** a refused interview is *cancelled* (``failure_reason`` says why,
      nothing was sent to the vendor) and a LaunchSkip is recorded with the same reason. This
      matches what a stop switch does at launch time — everything not yet sent when the switch
      went on is recorded as stopped, and nothing goes out in a burst when it is switched off.
      Because there is one interview per (application, plan), such a candidate is not
      re-invited automatically later.
    - The vendor is called *outside* any transaction. Success → ``invited`` with the vendor's
      reference and link, ``invited_at`` and ``expires_at`` (the vendor's, else now + the plan's
      ``expiry_days``); the update is fenced by the claim, so if the interview was cancelled
      while the call was in flight, the fresh invitation is withdrawn at once (best effort).
    - **Retries.** Timeouts, 429 and 5xx (``integrations.http.is_retryable``) and unexpected
      errors (an adapter bug, a vendor API key missing) release the claim and leave the interview
      pending; ``failure_reason`` then reads
      ``[attempt 2/8, next try after 2025-01-01T10:02:00+00:00] AtsServerError: ...``. The model
      has no attempts column, so that prefix *is* the attempt counter and the schedule — visible
      to admins as is. The sweeper (beat, every minute) re-enqueues it once that time has
      passed: exponential backoff with full jitter (``backoff_delay``; base 60 s, cap 30 min,
      ``Retry-After`` honoured as a floor), never sooner than 2 minutes. No Celery countdowns:
      long waits belong in rows + beat, and the test/demo eager mode would otherwise retry in
      a tight loop. After :data:`MAX_INVITE_ATTEMPTS` attempts, or at once for a permanent error
      (auth, other 4xx), the interview is ``failed`` with the error — visible in the admin.
    - A claim older than :data:`CLAIM_LEASE` belongs to a worker that died; the sweeper counts it
      as an attempt and sends again. The vendor may have received the first call: adapters
      should send ``Interview.public_id`` as their idempotency key.

Lifecycle (:func:`interview_transition`, public: the results and vendor-event code use it)
    Only moves allowed by ``INTERVIEW_TRANSITIONS``, each a compare-and-set on the current
    status (re-read and retried when another writer moved it first), setting ``started_at``,
    ``completed_at``, ``invited_at`` and ``ended_at``. Cancelling or failing a pending interview
    also clears a send claim. Returns False when the move is not allowed (any more).

Expiry (:func:`interviews_expire_due`, beat every 5 minutes)
    Invited interviews past ``expires_at`` → ``expired``. A *started* interview gets
    :data:`STARTED_GRACE` beyond ``expires_at`` first: a candidate who began just before the
    deadline is not cut off mid-interview. The vendor is asked to withdraw the link (best
    effort), so nobody completes an interview we already counted as expired.

Reminders (:func:`interviews_remind_due`, beat) — **decision**
    Screenbridge has no channel to the candidate: the vendor sends invitations, and the vendor
    adapter contract has no "remind" call (see ``vendors/base.py``). Rather than pretend, a due
    reminder (invited, not started, ``reminder_after_hours`` after the invitation, none sent
    yet; a plan with 0 hours sends none) goes to the people who own the candidate relationship:
    a private note on the application in the ATS ("has not started the automated interview
    sent on …, the invitation expires on …"), queued through the writeback outbox (retries,
    visible on the sync-health page; recorded but never sent on sandbox connections).
    ``reminded_at`` / ``reminders_sent`` record that this note was queued, in the same
    transaction — the candidate is not contacted by Screenbridge. When the vendor contract
    gains a ``remind``, this is the one place to call it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import time
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from governance.stop_switch import active_stop
from integrations.http import AtsError, backoff_delay, is_retryable
from integrations.models import (
    STAGE_ORDER,
    Application,
    CanonicalStage,
    WritebackKind,
)
from integrations.services.outbox import writeback_enqueue
from interviews import selectors, tasks
from interviews.models import (
    INTERVIEW_TRANSITIONS,
    Interview,
    InterviewPlan,
    InterviewStatus,
    LaunchMode,
    LaunchSkip,
    LaunchSkipReason,
    LaunchSource,
    PlanStatus,
    VendorKind,
)
from interviews.services.membership import requisition_role_family_resolve
from interviews.vendors import registry
from interviews.vendors.base import Invitation, VendorAdapter

logger = logging.getLogger(__name__)

__all__ = [
    "CLAIM_LEASE",
    "MAX_INVITE_ATTEMPTS",
    "STARTED_GRACE",
    "LaunchRefusal",
    "application_stage_changed_handle",
    "interview_cancel",
    "interview_invite",
    "interview_launch",
    "interview_launch_check",
    "interview_launch_refusal",
    "interview_transition",
    "interviews_expire_due",
    "interviews_invite_sweep",
    "interviews_remind_due",
    "launch_skip_record",
]

# Outcomes the ATS reports: every open interview of the application is cancelled.
OUTCOMES = frozenset({CanonicalStage.REJECTED, CanonicalStage.HIRED, CanonicalStage.WITHDRAWN})
ENDED = frozenset(
    {
        InterviewStatus.COMPLETED,
        InterviewStatus.EXPIRED,
        InterviewStatus.CANCELLED,
        InterviewStatus.FAILED,
    }
)

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

_RETRY_NOTE = re.compile(r"^\[attempt (?P<attempt>\d+)/\d+, next try after (?P<at>[^\]]+)\]")


# -- launch checks -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LaunchRefusal:
    """Why an interview must not launch (or be sent): a LaunchSkip reason and its detail."""

    reason: LaunchSkipReason
    detail: str


def interview_launch_refusal(
    *, application: Application, plan: InterviewPlan
) -> LaunchRefusal | None:
    """The first reason ``plan`` must not interview ``application`` now, with the detail.

    In order: plan draft/paused, a stop switch (global, plan or vendor), the vendor inactive
    (or a rehearsal vendor on a live connection — it would write sample results about real
    candidates), the candidate opted out, a required consent missing. ``None``: go ahead.
    """
    if plan.status == PlanStatus.DRAFT:
        return LaunchRefusal(LaunchSkipReason.PLAN_DRAFT, f"Plan “{plan.name}” is a draft.")
    if plan.status == PlanStatus.PAUSED:
        return LaunchRefusal(LaunchSkipReason.PLAN_PAUSED, f"Plan “{plan.name}” is paused.")
    vendor = plan.vendor
    switch = active_stop(plan=plan, vendor=vendor)
    if switch is not None:
        who = switch.switched_on_by.get_username() if switch.switched_on_by_id else "unknown"
        when = switch.switched_on_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return LaunchRefusal(
            LaunchSkipReason.STOPPED,
            _clip(f"{switch} — switched on by {who} at {when}: {switch.reason}"),
        )
    if not vendor.active:
        return LaunchRefusal(
            LaunchSkipReason.VENDOR_INACTIVE, f"Vendor “{vendor.name}” is inactive."
        )
    if vendor.kind == VendorKind.REHEARSAL and not application.connection.is_sandbox:
        return LaunchRefusal(
            LaunchSkipReason.VENDOR_INACTIVE,
            f"Vendor “{vendor.name}” is a rehearsal vendor; it runs for sandbox connections only.",
        )
    candidate = application.candidate
    if candidate.opted_out:
        return LaunchRefusal(
            LaunchSkipReason.OPTED_OUT, "The candidate opted out of automated interviews."
        )
    given = set(_as_list(candidate.consents))
    missing = [consent for consent in _as_list(plan.required_consents) if consent not in given]
    if missing:
        return LaunchRefusal(
            LaunchSkipReason.MISSING_CONSENT, _clip(f"Missing consent: {', '.join(missing)}.")
        )
    return None


def interview_launch_check(
    *, application: Application, plan: InterviewPlan
) -> LaunchSkipReason | None:
    """Why ``plan`` must not interview ``application`` now (:func:`interview_launch_refusal`)."""
    refusal = interview_launch_refusal(application=application, plan=plan)
    return refusal.reason if refusal is not None else None


def launch_skip_record(
    *,
    application: Application,
    plan: InterviewPlan | None,
    reason: LaunchSkipReason | str,
    detail: str = "",
) -> LaunchSkip:
    """Record (or count once more) that ``plan`` did not launch for ``application`` because of
    ``reason``. One row per application, plan and reason; the latest detail is kept."""
    now = timezone.now()
    detail = _clip(detail)
    rows = LaunchSkip.objects.filter(application=application, plan=plan, reason=reason)
    bump = {"occurrences": F("occurrences") + 1, "last_seen_at": now, "detail": detail}
    if not rows.update(**bump):
        try:
            with transaction.atomic():
                skip = LaunchSkip.objects.create(
                    application=application,
                    plan=plan,
                    reason=reason,
                    detail=detail,
                    first_seen_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:
            # Recorded by a concurrent worker a moment ago: count this sighting on its row.
            rows.update(**bump)
        else:
            _log_skip(skip)
            return skip
    skip = rows.get()
    _log_skip(skip)
    return skip


def _log_skip(skip: LaunchSkip) -> None:
    logger.info(
        "no interview for application %s (plan %s): %s — %s",
        skip.application_id,
        skip.plan_id,
        skip.reason,
        skip.detail,
    )


# -- stage changes -----------------------------------------------------------------------------


def application_stage_changed_handle(
    *, application: Application, old: str | None, new: str
) -> list[Interview]:
    """Launch, skip or cancel interviews for one committed canonical stage change.

    Returns the interviews launched by this call (none for a duplicate). See the module
    docstring for the rules.
    """
    try:
        application = Application.objects.select_related(
            "candidate", "requisition", "connection"
        ).get(pk=application.pk)
    except Application.DoesNotExist:
        logger.warning("stage change for application %s, which no longer exists", application.pk)
        return []
    family = requisition_role_family_resolve(requisition=application.requisition)

    with transaction.atomic():
        current = (
            Application.objects.select_for_update()
            .filter(pk=application.pk)
            .values_list("canonical_stage", flat=True)
            .first()
        )
        if current != new:
            logger.info(
                "application %s is in %s now, not %s: the newer change decides",
                application.pk,
                current,
                new,
            )
            return []
        _interviews_cancel_for_stage(application, new)
        if new in OUTCOMES or new == CanonicalStage.UNMAPPED:
            return []

        plans = list(
            InterviewPlan.objects.filter(launch_mode=LaunchMode.STAGE_CHANGE).select_related(
                "vendor", "role_family"
            )
        )
        if family is None:
            triggered = [p for p in plans if p.is_running and p.trigger_stage == new]
            if triggered:
                requisition = application.requisition
                names = ", ".join(f"“{p.name}”" for p in triggered)
                launch_skip_record(
                    application=application,
                    plan=None,
                    reason=LaunchSkipReason.NO_ROLE_FAMILY,
                    detail=(
                        f"Requisition “{requisition.title}” ({requisition.remote_id}) is in no "
                        f"role family; running plans triggered by this stage: {names}."
                    ),
                )
            return []

        family_plans = [p for p in plans if p.role_family_id == family.pk]
        launched: list[Interview] = []
        entering = [p for p in family_plans if p.trigger_stage == new]
        running = [p for p in entering if p.is_running]
        # A running plan speaks for the stage; drafts and paused siblings are not reported then.
        for plan in running or entering:
            interview = _launch_or_skip(application, plan)
            if interview is not None:
                launched.append(interview)
        for plan in family_plans:
            if (
                plan.is_running
                and plan.trigger_stage != new
                and _skipped_past(old, new, plan.trigger_stage)
                and not Interview.objects.filter(application=application, plan=plan).exists()
            ):
                launch_skip_record(
                    application=application,
                    plan=plan,
                    reason=LaunchSkipReason.SKIPPED_STAGE,
                    detail=(
                        f"Moved from {_stage_label(old)} straight to {_stage_label(new)}, past "
                        f"the trigger stage {_stage_label(plan.trigger_stage)}."
                    ),
                )
    return launched


def _launch_or_skip(application: Application, plan: InterviewPlan) -> Interview | None:
    if Interview.objects.filter(application=application, plan=plan).exists():
        # Re-entering the trigger stage: one interview per application and plan, ever.
        logger.info("application %s already has an interview for plan %s", application.pk, plan.pk)
        return None
    refusal = interview_launch_refusal(application=application, plan=plan)
    if refusal is not None:
        launch_skip_record(
            application=application, plan=plan, reason=refusal.reason, detail=refusal.detail
        )
        return None
    return interview_launch(application=application, plan=plan)


def _skipped_past(old: str | None, new: str, trigger: str) -> bool:
    """True when the move from ``old`` to ``new`` jumped over ``trigger`` (STAGE_ORDER)."""
    trigger_rank, new_rank = STAGE_ORDER.get(trigger), STAGE_ORDER.get(new)
    if trigger_rank is None or new_rank is None or new_rank <= trigger_rank:
        return False
    if old is None:
        return True
    old_rank = STAGE_ORDER.get(old)
    return old_rank is not None and old_rank < trigger_rank


def _interviews_cancel_for_stage(application: Application, new: str) -> None:
    for interview in selectors.interviews_open_for_application(application=application):
        if new in OUTCOMES:
            reason = f"The application is {_stage_label(new).lower()} in the ATS."
        elif (
            interview.launch_source == LaunchSource.STAGE_CHANGE
            and interview.plan.trigger_stage != new
        ):
            reason = (
                f"The application left {_stage_label(interview.plan.trigger_stage)} "
                f"for {_stage_label(new)}."
            )
        else:
            continue
        interview_cancel(interview=interview, reason=reason)


def _stage_label(stage: str | None) -> str:
    if stage is None:
        return "nowhere (first seen)"
    try:
        return str(CanonicalStage(stage).label)
    except ValueError:
        return stage


# -- launch ------------------------------------------------------------------------------------


def interview_launch(
    *,
    application: Application,
    plan: InterviewPlan,
    source: LaunchSource | str = LaunchSource.STAGE_CHANGE,
    callback_url: str = "",
    stage_entered_at: dt.datetime | None = None,
) -> Interview:
    """The one Interview of ``application`` under ``plan``, created pending if there is none.

    Duplicate and concurrent calls return the existing interview and create nothing. A new
    interview's invitation is enqueued after commit. Checks nothing: call
    :func:`interview_launch_check` first. ``is_rehearsal`` follows the connection's sandbox
    mode; ``stage_entered_at`` defaults to the application's.
    """
    defaults: dict[str, Any] = {
        "vendor": plan.vendor,
        "launch_source": source,
        "callback_url": callback_url,
        "is_rehearsal": application.connection.is_sandbox,
        "stage_entered_at": stage_entered_at or application.stage_entered_at,
    }
    try:
        with transaction.atomic():
            interview, created = Interview.objects.get_or_create(
                application=application, plan=plan, defaults=defaults
            )
    except IntegrityError:
        # The constraint caught a concurrent launch: that worker's interview is the one.
        interview, created = Interview.objects.get(application=application, plan=plan), False
    if created:
        logger.info(
            "launched interview %s for application %s under plan %s (%s)",
            interview.pk,
            application.pk,
            plan.pk,
            source,
        )
        transaction.on_commit(partial(_invite_enqueue, interview.pk))
    return interview


def _invite_enqueue(interview_id: int) -> None:
    try:
        tasks.interview_invite_task.delay(interview_id)
    except Exception:
        logger.warning(
            "could not enqueue the invitation of interview %s; the sweeper will",
            interview_id,
            exc_info=True,
        )


# -- invitations -------------------------------------------------------------------------------


def interview_invite(*, interview_id: int) -> Interview | None:
    """Send one pending interview's invitation to its vendor; safe to run any number of times.

    Returns the interview, or ``None`` when there was nothing to claim (already sent, being
    sent, ended, or gone). Never raises for a vendor error: see the module docstring.
    """
    claimed_at = timezone.now()
    claimed = Interview.objects.filter(
        pk=interview_id, status=InterviewStatus.PENDING, invited_at__isnull=True
    ).update(invited_at=claimed_at, updated_at=claimed_at)
    if not claimed:
        logger.info("interview %s not claimed for sending: not pending or in flight", interview_id)
        return None
    interview = Interview.objects.select_related(
        "application__candidate",
        "application__connection",
        "application__requisition",
        "plan__vendor",
        "plan__role_family",
        "vendor",
    ).get(pk=interview_id)

    refusal = interview_launch_refusal(application=interview.application, plan=interview.plan)
    if refusal is not None:
        with transaction.atomic():
            if not interview_transition(
                interview=interview,
                to=InterviewStatus.CANCELLED,
                reason=_clip(f"Not sent: {refusal.detail}"),
            ):
                return interview  # cancelled by a stage change meanwhile: nothing to add
            launch_skip_record(
                application=interview.application,
                plan=interview.plan,
                reason=refusal.reason,
                detail=refusal.detail,
            )
        return interview

    attempt = _attempts_so_far(interview.failure_reason) + 1
    adapter: VendorAdapter | None = None
    try:
        adapter = registry.adapter_for(interview.vendor)
        # Outside any transaction: a slow vendor holds no database locks.
        invitation = adapter.invite(interview)
    except Exception as exc:
        _invite_failed(interview, exc, attempt=attempt, claimed_at=claimed_at)
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
            reason=_clip(
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


def _invite_failed(
    interview: Interview, exc: Exception, *, attempt: int, claimed_at: dt.datetime
) -> None:
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
        note = f"[attempt {attempt}/{MAX_INVITE_ATTEMPTS}, next try after {next_at.isoformat()}]"
        Interview.objects.filter(
            pk=interview.pk, status=InterviewStatus.PENDING, invited_at=claimed_at
        ).update(invited_at=None, failure_reason=f"{note} {error}", updated_at=now)
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
    if retryable:
        reason = f"Gave up after {attempt} attempts to send the invitation: {error}"
    else:
        reason = f"The vendor refused the invitation: {error}"
    logger.warning("invitation of interview %s failed for good: %s", interview.pk, error)
    interview_transition(interview=interview, to=InterviewStatus.FAILED, reason=_clip(reason))


def _attempts_so_far(failure_reason: str) -> int:
    match = _RETRY_NOTE.match(failure_reason or "")
    return int(match["attempt"]) if match else 0


def _next_try_at(failure_reason: str) -> dt.datetime | None:
    match = _RETRY_NOTE.match(failure_reason or "")
    if not match:
        return None
    try:
        return dt.datetime.fromisoformat(match["at"])
    except ValueError:
        return None


def interviews_invite_sweep() -> int:
    """Re-enqueue invitations that are due; returns how many were enqueued (beat).

    Due: pending and unclaimed for over 2 minutes (the enqueue on commit was lost, or a retry's
    backoff has passed), or claimed longer than :data:`CLAIM_LEASE` ago (the sending worker
    died — counted as a failed attempt, and failed for good after the last one).
    """
    now = timezone.now()
    due: list[int] = []
    for interview in selectors.interviews_invite_stuck(
        claimed_before=now - CLAIM_LEASE, limit=BATCH
    ):
        attempt = _attempts_so_far(interview.failure_reason) + 1
        error = "The worker sending the invitation was lost; the vendor may have received it."
        if attempt >= MAX_INVITE_ATTEMPTS:
            interview_transition(
                interview=interview,
                to=InterviewStatus.FAILED,
                reason=f"Gave up after {attempt} attempts to send the invitation: {error}",
            )
            continue
        note = f"[attempt {attempt}/{MAX_INVITE_ATTEMPTS}, next try after {now.isoformat()}]"
        if Interview.objects.filter(
            pk=interview.pk, status=InterviewStatus.PENDING, invited_at=interview.invited_at
        ).update(invited_at=None, failure_reason=f"{note} {error}", updated_at=now):
            logger.warning("interview %s: reset an invitation claim of a lost worker", interview.pk)
            due.append(interview.pk)

    for interview in selectors.interviews_invite_candidates(
        idle_since=now - SWEEP_IDLE, limit=BATCH
    ):
        next_at = _next_try_at(interview.failure_reason)
        if next_at is None or next_at <= now:
            due.append(interview.pk)

    enqueued = 0
    for interview_id in due:
        try:
            tasks.interview_invite_task.delay(interview_id)
        except Exception:
            # Broker still down: the interviews stay pending and the next sweep tries again.
            logger.warning("could not enqueue interview %s", interview_id, exc_info=True)
            break
        enqueued += 1
    if due:
        logger.info("invite sweeper enqueued %s of %s due invitation(s)", enqueued, len(due))
    return enqueued


# -- lifecycle ---------------------------------------------------------------------------------


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
    if current == InterviewStatus.PENDING and target in (
        InterviewStatus.CANCELLED,
        InterviewStatus.FAILED,
    ):
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
    interview = (
        Interview.objects.select_related("vendor", "plan", "application__candidate")
        .filter(pk=interview_id)
        .first()
    )
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


def _as_list(value: Any) -> list[str]:
    """A JSON consent list as strings (a bare string counts as one consent)."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item not in (None, "")]
    return []


def _clip(text: str, limit: int = TEXT_MAX_CHARS) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _error_text(exc: BaseException) -> str:
    """``Type: message``, first line only and bounded: enough to act on, no tracebacks."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return _clip(text)
