"""Launching interviews: ATS stage changes, launch checks and refusals, launch skips.

What happens to an interview once launched (its invitation and retries, status changes, expiry,
reminders) is ``services.lifecycle``.

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
    invitation task is enqueued after commit; a broker error is logged and the invitation
    sweeper (``services.lifecycle``) sends it. ``interview_launch`` does not check anything:
    callers run :func:`interview_launch_check` (or :func:`interview_launch_refusal` for the
    reason *and* the detail) first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from governance import audit, compliance
from governance.stop_switch import active_stop
from integrations.models import STAGE_ORDER, Application, CanonicalStage
from interviews import selectors, tasks
from interviews.models import (
    Interview,
    InterviewPlan,
    LaunchMode,
    LaunchSkip,
    LaunchSkipReason,
    LaunchSource,
    PlanStatus,
    Vendor,
    VendorKind,
)
from interviews.services.lifecycle import clip_text, interview_cancel, interview_invite
from interviews.services.membership import requisition_role_family_resolve

logger = logging.getLogger(__name__)

__all__ = [
    "LaunchRefusal",
    "application_stage_changed_handle",
    "interview_launch",
    "interview_launch_check",
    "interview_launch_refusal",
    "launch_skip_record",
]

# Refusals of governance.compliance.launch_gate: each is also an audit event.
COMPLIANCE_REASONS = frozenset(
    {
        LaunchSkipReason.HUMAN_ONLY,
        LaunchSkipReason.IL_CONSENT_MISSING,
        LaunchSkipReason.NYC_NOTICE_MISSING,
        LaunchSkipReason.NYC_BIAS_AUDIT,
    }
)
# Outcomes the ATS reports: every open interview of the application is cancelled.
OUTCOMES = frozenset({CanonicalStage.REJECTED, CanonicalStage.HIRED, CanonicalStage.WITHDRAWN})


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
    candidates), the candidate opted out, a required consent missing, then the jurisdiction
    rules of ``governance.compliance.launch_gate`` (opt-out record → human-only path, Illinois
    consent, NYC notice and bias audit). ``None``: go ahead.
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
            clip_text(f"{switch} — switched on by {who} at {when}: {switch.reason}"),
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
            LaunchSkipReason.MISSING_CONSENT, clip_text(f"Missing consent: {', '.join(missing)}.")
        )
    # Consent, notice and bias-audit rules of the requisition's jurisdictions (and opt-outs).
    gate = compliance.launch_gate(application=application, plan=plan)
    if gate is not None:
        return LaunchRefusal(LaunchSkipReason(gate.reason), clip_text(gate.detail))
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
    detail = clip_text(detail)
    if reason in COMPLIANCE_REASONS:
        # A refusal for consent, notice, audit or opt-out is part of the audit trail too.
        with transaction.atomic():
            audit.record(
                actor="system:compliance",
                action="launch.refused",
                target=application,
                object_repr=f"Application {application.pk}",  # never the candidate's name
                changes={"reason": str(reason), "plan": plan.pk if plan else None},
            )
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
    with transaction.atomic():
        # The application as it is now, locked: a newer stage change waits for this one.
        fresh = (
            Application.objects.select_for_update(of=("self",))
            .select_related("candidate", "requisition", "connection")
            .filter(pk=application.pk)
            .first()
        )
        if fresh is None:
            logger.warning(
                "stage change for application %s, which no longer exists", application.pk
            )
            return []
        application = fresh
        if application.canonical_stage != new:
            logger.info(
                "application %s is in %s now, not %s: the newer change decides",
                application.pk,
                application.canonical_stage,
                new,
            )
            return []
        family = requisition_role_family_resolve(requisition=application.requisition)
        _interviews_cancel_for_stage(application, new)
        if new in OUTCOMES or new == CanonicalStage.UNMAPPED:
            return []
        if application.candidate.is_synthetic:
            # A rehearsal launches its own interview with the rehearsal vendor; a stage change
            # must never send a synthetic candidate to a plan's real vendor.
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
    vendor: Vendor | None = None,
) -> Interview:
    """The one Interview of ``application`` under ``plan``, created pending if there is none.

    Duplicate and concurrent calls return the existing interview and create nothing. A new
    interview's invitation is enqueued after commit. Checks nothing: call
    :func:`interview_launch_check` first. ``is_rehearsal`` follows the connection's sandbox
    mode; ``stage_entered_at`` defaults to the application's. ``vendor`` replaces the plan's
    vendor (a rehearsal run uses the rehearsal vendor).
    """
    defaults: dict[str, Any] = {
        "vendor": vendor or plan.vendor,
        "launch_source": source,
        "callback_url": callback_url,
        "is_rehearsal": application.connection.is_sandbox,
        "stage_entered_at": stage_entered_at or application.stage_entered_at,
    }
    try:
        # Insert first (callers have checked that there is none, so this is the usual case);
        # the one-interview-per-application-and-plan constraint catches a duplicate call or a
        # concurrent launch, and the savepoint keeps the caller's transaction usable.
        with transaction.atomic():
            interview = Interview.objects.create(application=application, plan=plan, **defaults)
            audit.record(
                actor=f"system:{source}",
                action="interview.launch",
                target=interview,
                changes={"plan": plan.pk, "source": source, "rehearsal": interview.is_rehearsal},
            )
        created = True
    except IntegrityError:
        existing = Interview.objects.filter(application=application, plan=plan).first()
        if existing is None:
            raise  # another constraint: not a duplicate launch
        interview, created = existing, False
    if created:
        logger.info(
            "launched interview %s for application %s under plan %s (%s)",
            interview.pk,
            application.pk,
            plan.pk,
            source,
        )
        transaction.on_commit(partial(_invite_enqueue, interview))
    return interview


def _invite_enqueue(interview: Interview) -> None:
    """After the launch commits: send the invitation now in a worker, else enqueue it.

    In a worker task (a stage change being processed) the invitation is sent right here, from
    the objects the launch just used (its checks passed inside the launch's transaction): the
    candidate is waiting, and a task of its own would only add a broker round trip, a second
    read of everything and a queue wait behind the rest of a bulk move. Anywhere else (a web
    request, a command) the invitation task is enqueued. Both go through
    :func:`interview_invite`, which claims the interview first, so a send is never doubled.
    """
    interview_id = interview.pk
    if _in_worker_task():
        try:
            interview_invite(interview_id=interview_id, launched=interview)
            return
        except Exception:
            # Failed before the claim: the task below sends it. After the claim: the task
            # finds it claimed, and the sweeper resets the claim after CLAIM_LEASE.
            logger.warning(
                "sending the invitation of interview %s failed in this task; enqueued instead",
                interview_id,
                exc_info=True,
            )
    try:
        tasks.interview_invite_task.delay(interview_id)
    except Exception:
        logger.warning(
            "could not enqueue the invitation of interview %s; the sweeper will",
            interview_id,
            exc_info=True,
        )


# -- helpers -----------------------------------------------------------------------------------


def _in_worker_task() -> bool:
    """True inside a task a Celery worker is running (not an eager call in the demo or tests)."""
    from celery import current_task

    return bool(current_task) and not getattr(current_task.request, "is_eager", False)


def _as_list(value: Any) -> list[str]:
    """A JSON consent list as strings (a bare string counts as one consent)."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item not in (None, "")]
    return []
