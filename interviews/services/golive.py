"""Going live: a pilot plan becomes ``live`` only through :func:`plan_go_live`.

The readiness checklist (``interviews.readiness``) must pass. A hiring-ops admin may go live
anyway with a written reason (at least :data:`MIN_OVERRIDE_REASON_CHARS` characters); the
reason and the failing items are kept in the audit trail. The admin cannot set ``live`` by
hand (the plan form refuses it), so this service is the only way from pilot to live.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance import audit
from governance.roles import user_roles
from interviews.models import InterviewPlan, PlanStatus
from interviews.readiness import Readiness, readiness_evaluate

__all__ = ["MIN_OVERRIDE_REASON_CHARS", "GoLiveRefusedError", "plan_go_live"]

MIN_OVERRIDE_REASON_CHARS = 15


class GoLiveRefusedError(Exception):
    """The plan stays where it is; the message says why (naming each failing item)."""

    def __init__(self, message: str, *, readiness: Readiness | None = None) -> None:
        super().__init__(message)
        self.readiness = readiness


@transaction.atomic
def plan_go_live(
    *,
    plan: InterviewPlan,
    actor: Any,
    override_reason: str | None = None,
    request_id: str = "",
) -> Readiness:
    """Move ``plan`` from pilot to live; return the readiness it was judged on.

    Raises :class:`GoLiveRefusedError` when the actor is not a hiring-ops admin, the plan is not
    in pilot, or a check fails and no override reason (long enough) was given.
    """
    if "admin" not in user_roles(actor):
        raise GoLiveRefusedError("Only hiring-ops admins can take a plan live.")
    plan = InterviewPlan.objects.select_for_update().select_related("role_family").get(pk=plan.pk)
    if plan.status != PlanStatus.PILOT:
        raise GoLiveRefusedError(
            f"Only a pilot plan can go live; “{plan.name}” is {plan.get_status_display().lower()}."
        )
    readiness = readiness_evaluate(plan)
    reason = (override_reason or "").strip()
    if not readiness.passed:
        if not reason:
            raise GoLiveRefusedError(readiness.summary(), readiness=readiness)
        if len(reason) < MIN_OVERRIDE_REASON_CHARS:
            raise GoLiveRefusedError(
                f"Write a reason of at least {MIN_OVERRIDE_REASON_CHARS} characters to go live "
                "despite the failing checks.",
                readiness=readiness,
            )
    plan.status = PlanStatus.LIVE
    plan.activated_at = plan.activated_at or timezone.now()
    plan.save(update_fields=["status", "activated_at", "updated_at"])
    override = not readiness.passed
    audit.record(
        actor=actor,
        action="plan.go_live_override" if override else "plan.go_live",
        target=plan,
        changes={
            "status": [PlanStatus.PILOT.value, PlanStatus.LIVE.value],
            "checks": {result.key: result.passed for result in readiness.results},
            "failing": [result.name for result in readiness.failing],
            "override_reason": reason if override else None,
        },
        request_id=request_id,
    )
    return readiness
