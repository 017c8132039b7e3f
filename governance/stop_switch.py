"""Stop switches: switching them on and off, and the check other apps call before launching.

A switch is global, per plan or per vendor. While one is active in an interview's scope no new
interview launches — :func:`active_stop` is checked at launch time and again at send time
(``interviews.services.launch``), so a switch takes effect from the next request on.

:func:`stop_switch_on` (one transaction)
    Validates the scope and its target and requires a non-blank reason; creates the switch (the
    partial unique constraints allow one active switch per target: a second one raises
    :class:`StopSwitchAlreadyOnError`, naming who switched the first one on); flags every
    in-flight interview in scope (pending, invited, started) for human review; writes the
    ``stop_switch.on`` audit event.

    Flagging: the interview's open review task (there is at most one, a database constraint)
    gains the note "Stop switch on: <reason>" at the top of its detail and the reason
    ``flagged`` (the strongest review reason, as result routing does); an interview without an
    open task gets a new ``flagged`` task. Pending interviews are flagged too: the invitation
    task will cancel those not yet sent (a "stopped" launch skip), and a reviewer sees why.

:func:`stop_switch_off` (one transaction)
    A conditional update ``active → False`` with who and when; a switch someone else switched
    off meanwhile raises :class:`StopSwitchAlreadyOffError` and keeps their name. Writes the
    ``stop_switch.off`` audit event. Interviews refused while the switch was on stay cancelled
    (one interview per application and plan); launches resume with the next stage change.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from governance import audit
from governance.models import StopScope, StopSwitch

if TYPE_CHECKING:
    from interviews.models import Interview, InterviewPlan, ReviewTask, Vendor

logger = logging.getLogger(__name__)

__all__ = [
    "StopSwitchAlreadyOffError",
    "StopSwitchAlreadyOnError",
    "StopSwitchError",
    "active_stop",
    "stop_switch_off",
    "stop_switch_on",
]

DETAIL_MAX_CHARS = 500  # ReviewTask.detail


class StopSwitchError(ValueError):
    """A stop switch cannot be switched on or off as asked; the message says why."""


class StopSwitchAlreadyOnError(StopSwitchError):
    """An active switch already covers this target (one per target, a database constraint)."""

    def __init__(self, existing: StopSwitch | None) -> None:
        self.existing = existing
        if existing is None:
            message = "A stop switch for this is already on."
        else:
            who = existing.switched_on_by.get_username() if existing.switched_on_by_id else "?"
            when = existing.switched_on_at.strftime("%Y-%m-%d %H:%M %Z")
            message = (
                f"A stop switch for {_target_label(existing)} is already on "
                f"(switched on by {who} at {when}: {existing.reason})."
            )
        super().__init__(message)


class StopSwitchAlreadyOffError(StopSwitchError):
    """The switch was already switched off (by someone else, or by an earlier request)."""


# -- the launch check --------------------------------------------------------------------------


def active_stop(
    *, plan: InterviewPlan | None = None, vendor: Vendor | None = None
) -> StopSwitch | None:
    """The active switch that stops launches for this plan/vendor (global first), or None."""
    # Global first, then plan, then vendor: the broadest reason is the one reported. Every
    # launch and invitation asks, and the answer is almost always "none": the few active
    # switches are read with the simplest query there is and matched here; the related rows
    # are loaded only for the switch that is found.
    order = {StopScope.GLOBAL: 0, StopScope.PLAN: 1, StopScope.VENDOR: 2}
    plan_id = plan.pk if plan is not None else None
    vendor_id = vendor.pk if vendor is not None else None
    matching = [
        (order[scope], pk)
        for pk, scope, switch_plan, switch_vendor in StopSwitch.objects.filter(
            active=True
        ).values_list("pk", "scope", "plan_id", "vendor_id")
        if scope == StopScope.GLOBAL
        or (scope == StopScope.PLAN and plan_id is not None and switch_plan == plan_id)
        or (scope == StopScope.VENDOR and vendor_id is not None and switch_vendor == vendor_id)
    ]
    if not matching:
        return None
    return StopSwitch.objects.select_related("plan", "vendor", "switched_on_by").get(
        pk=min(matching)[1]
    )


# -- switching on and off ----------------------------------------------------------------------


@transaction.atomic
def stop_switch_on(
    *,
    scope: StopScope | str,
    plan: InterviewPlan | None = None,
    vendor: Vendor | None = None,
    reason: str,
    actor: Any,
) -> StopSwitch:
    """Switch launches off for everything, one plan or one vendor; flag in-flight interviews.

    Raises :class:`StopSwitchError` for a blank reason or a target that does not fit the scope,
    and :class:`StopSwitchAlreadyOnError` when an active switch already covers the target.
    """
    reason = (reason or "").strip()
    if not reason:
        raise StopSwitchError("A reason is required to switch a stop switch on.")
    scope = _scope(scope)
    _check_target(scope, plan, vendor)

    existing = _active_for(scope, plan, vendor).select_related("switched_on_by").first()
    if existing is not None:
        raise StopSwitchAlreadyOnError(existing)
    try:
        # A savepoint: a concurrent switch-on for the same target loses on the constraint
        # without spoiling the caller's transaction.
        with transaction.atomic():
            switch = StopSwitch.objects.create(
                scope=scope,
                plan=plan,
                vendor=vendor,
                reason=reason,
                active=True,
                switched_on_by=actor,
                switched_on_at=timezone.now(),
            )
    except IntegrityError as exc:
        winner = _active_for(scope, plan, vendor).select_related("switched_on_by").first()
        raise StopSwitchAlreadyOnError(winner) from exc

    flagged = _flag_in_flight(switch)
    audit.record(
        actor=actor,
        action="stop_switch.on",
        target=switch,
        changes={
            "scope": str(scope),
            "target": _target_label(switch),
            "reason": reason,
            "flagged_interviews": flagged,
        },
    )
    logger.warning(
        "stop switch %s on for %s by %s; %d in-flight interview(s) flagged for review",
        switch.pk,
        _target_label(switch),
        _username(actor),
        flagged,
    )
    return switch


@transaction.atomic
def stop_switch_off(*, switch: StopSwitch, actor: Any) -> StopSwitch:
    """Switch a stop switch off; launches resume with the next stage change.

    Raises :class:`StopSwitchAlreadyOffError` when it is off already: the first person to
    switch it off stays on record.
    """
    now = timezone.now()
    updated = StopSwitch.objects.filter(pk=switch.pk, active=True).update(
        active=False, switched_off_by=actor, switched_off_at=now
    )
    switch.refresh_from_db()
    if not updated:
        who = switch.switched_off_by.get_username() if switch.switched_off_by_id else "?"
        raise StopSwitchAlreadyOffError(
            f"The stop switch for {_target_label(switch)} is already off (switched off by {who})."
        )
    audit.record(
        actor=actor,
        action="stop_switch.off",
        target=switch,
        changes={
            "scope": switch.scope,
            "target": _target_label(switch),
            "active": [True, False],
        },
    )
    logger.warning(
        "stop switch %s off for %s by %s", switch.pk, _target_label(switch), _username(actor)
    )
    return switch


# -- helpers -----------------------------------------------------------------------------------


def _scope(scope: StopScope | str) -> StopScope:
    try:
        return StopScope(scope)
    except ValueError:
        choices = ", ".join(StopScope.values)
        raise StopSwitchError(f"Unknown scope {scope!r}: use one of {choices}.") from None


def _check_target(scope: StopScope, plan: Any, vendor: Any) -> None:
    if scope == StopScope.GLOBAL and (plan is not None or vendor is not None):
        raise StopSwitchError("A global switch stops everything: give no plan and no vendor.")
    if scope == StopScope.PLAN and (plan is None or vendor is not None):
        raise StopSwitchError("A plan switch needs the plan to stop, and no vendor.")
    if scope == StopScope.VENDOR and (vendor is None or plan is not None):
        raise StopSwitchError("A vendor switch needs the vendor to stop, and no plan.")


def _active_for(scope: StopScope, plan: Any, vendor: Any) -> QuerySet[StopSwitch]:
    active = StopSwitch.objects.filter(active=True)
    if scope == StopScope.PLAN:
        return active.filter(plan=plan)
    if scope == StopScope.VENDOR:
        return active.filter(vendor=vendor)
    return active.filter(scope=StopScope.GLOBAL)


def _target_label(switch: StopSwitch) -> str:
    if switch.scope == StopScope.PLAN and switch.plan is not None:
        return f"plan “{switch.plan.name}”"
    if switch.scope == StopScope.VENDOR and switch.vendor is not None:
        return f"vendor “{switch.vendor.name}”"
    return "everything"


def _username(actor: Any) -> str:
    return actor.get_username() if actor is not None else "system"


def _in_flight(switch: StopSwitch) -> QuerySet[Interview]:
    from interviews.models import Interview, InterviewStatus

    interviews = Interview.objects.filter(
        status__in=[InterviewStatus.PENDING, InterviewStatus.INVITED, InterviewStatus.STARTED]
    )
    if switch.scope == StopScope.PLAN:
        return interviews.filter(plan=switch.plan_id)
    if switch.scope == StopScope.VENDOR:
        return interviews.filter(vendor=switch.vendor_id)
    return interviews


def _flag_in_flight(switch: StopSwitch) -> int:
    """Open (or extend) a ``flagged`` review task for each in-flight interview in scope."""
    from interviews.models import ReviewReason, ReviewStatus, ReviewTask

    note = f"Stop switch on: {switch.reason}"
    open_statuses = [ReviewStatus.OPEN, ReviewStatus.CLAIMED]
    in_flight = _in_flight(switch)

    # Interviews that already have an open task: that task gains the note (one per interview).
    tasks = list(
        ReviewTask.objects.select_for_update().filter(
            status__in=open_statuses, interview__in=in_flight.values("pk")
        )
    )
    for task in tasks:
        _note_on(task, note)
    ReviewTask.objects.bulk_update(tasks, ["reason", "detail"], batch_size=500)

    # The others get a new task.
    untasked = list(
        in_flight.exclude(review_tasks__status__in=open_statuses).values_list("pk", flat=True)
    )
    new = [
        ReviewTask(interview_id=pk, reason=ReviewReason.FLAGGED, detail=_clip(note))
        for pk in untasked
    ]
    try:
        with transaction.atomic():
            ReviewTask.objects.bulk_create(new, batch_size=500)
    except IntegrityError:
        # A task was opened for one of them a moment ago: one by one, extending that task.
        for pk in untasked:
            _flag_one(pk, note)
    return len(tasks) + len(untasked)


def _flag_one(interview_id: int, note: str) -> None:
    from interviews.models import ReviewReason, ReviewStatus, ReviewTask

    try:
        with transaction.atomic():
            ReviewTask.objects.create(
                interview_id=interview_id, reason=ReviewReason.FLAGGED, detail=_clip(note)
            )
    except IntegrityError:
        task = (
            ReviewTask.objects.select_for_update()
            .filter(interview_id=interview_id, status__in=[ReviewStatus.OPEN, ReviewStatus.CLAIMED])
            .first()
        )
        if task is not None:
            _note_on(task, note)
            task.save(update_fields=["reason", "detail"])


def _note_on(task: ReviewTask, note: str) -> None:
    from interviews.models import ReviewReason

    # Flagged is the strongest review reason; the earlier reason stays visible in the detail.
    task.reason = ReviewReason.FLAGGED
    if note not in task.detail.split("\n"):
        task.detail = _clip(f"{note}\n{task.detail}" if task.detail else note)


def _clip(text: str) -> str:
    return text if len(text) <= DETAIL_MAX_CHARS else text[: DETAIL_MAX_CHARS - 1] + "…"
