"""What the Greenhouse and Ashby assessment-partner modes share, and the completion hook.

:func:`partner_completion_enqueue` is the one entry point other modules call: when a result
completes an interview that an ATS started as an assessment partner, it queues the ATS
notification in the caller's transaction (Greenhouse: PATCH the Send Test completion URL;
Ashby: ``assessment.update`` with the result). Everything else here supports the endpoints:
finding the plan a partner test id names, mirroring the ATS records a partner request carries,
finding or launching the interview, and shaping results for the partner APIs.

Partner test ids: a plan's ``vendor_test_id`` is its partner test id (Greenhouse
``partner_test_id``, Ashby ``assessment_type_id``). It is not unique across role families; when
several plans of the mode share one, running plans win, then the plan of the requisition's role
family. A request that still names more than one is refused as ambiguous (422).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    Provider,
    Requisition,
    WritebackJob,
)
from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewResult,
    InterviewStatus,
    LaunchSkipReason,
    LaunchSource,
    PlanStatus,
    RoleFamilyMembership,
)
from interviews.partners.auth import PartnerRequestError

# interviews.services.launch and .results are imported where used: they call back into this
# package (the completion hook), and the URL configuration imports it before any service.

logger = logging.getLogger(__name__)

RUNNING = (PlanStatus.PILOT, PlanStatus.LIVE)
# Interview states in which the candidate is still being assessed.
OPEN_STATUSES = (InterviewStatus.PENDING, InterviewStatus.INVITED, InterviewStatus.STARTED)
WRITEBACK_TARGET_PREFIX = "assessment:"


class LaunchRefusedError(Exception):
    """The launch service will not start this interview (``reason`` is a LaunchSkipReason)."""

    def __init__(self, reason: str) -> None:
        self.reason = str(reason)
        try:
            self.message = str(LaunchSkipReason(reason).label)
        except ValueError:
            self.message = f"the interview cannot be launched ({reason})"
        super().__init__(self.message)


# -- the completion hook -----------------------------------------------------------------------


def partner_completion_enqueue(
    *, interview: Interview, result: InterviewResult
) -> WritebackJob | None:
    """Queue the "assessment complete" call to the ATS that started ``interview``, if any.

    Call it inside the transaction that stores ``result`` and completes the interview (and again
    for a resubmitted result: the ATS then shows the new version). Returns the job, or ``None``
    when the interview did not come from an assessment-partner request (or has no completion
    URL), the result is no longer current, or the interview is a rehearsal on a live
    connection. On a sandbox connection the job is stored as ``sandboxed``: it shows what
    would have been sent and is never sent.
    """
    connection = interview.application.connection
    if not InterviewResult.objects.filter(pk=result.pk, is_current=True).exists():
        return None  # a newer version reports (or reported) instead
    if interview.is_rehearsal and not connection.is_sandbox:
        # Rehearsal results never reach a live ATS (a sandbox connection records the job).
        logger.warning("Rehearsal interview %s not reported to live %s", interview.pk, connection)
        return None
    if connection.provider == Provider.GREENHOUSE and interview.callback_url:
        from interviews.partners.greenhouse import greenhouse_completion_enqueue

        return greenhouse_completion_enqueue(interview=interview, result=result)
    if (
        connection.provider == Provider.ASHBY
        and interview.launch_source == LaunchSource.ASHBY_START
    ):
        from interviews.partners.ashby import ashby_completion_enqueue

        return ashby_completion_enqueue(interview=interview, result=result)
    return None


def writeback_target(interview: Interview) -> str:
    """The outbox target of an interview's partner notifications.

    Per interview, not per application: two assessments of one application must not supersede
    each other's unsent notification; a newer notification for the *same* interview does.
    """
    return f"{WRITEBACK_TARGET_PREFIX}{interview.public_id}"


# -- plans -------------------------------------------------------------------------------------


def running_tests(launch_mode: str) -> list[tuple[str, str, InterviewPlan]]:
    """``(test id, display name, first plan)`` per distinct test id of running plans."""
    tests: dict[str, tuple[str, str, InterviewPlan]] = {}
    plans = (
        InterviewPlan.objects.filter(launch_mode=launch_mode, status__in=RUNNING)
        .exclude(vendor_test_id="")
        .select_related("role_family", "vendor")
        .order_by("vendor_test_id", "role_family__name", "pk")
    )
    for plan in plans:
        if plan.vendor_test_id not in tests:
            tests[plan.vendor_test_id] = (plan.vendor_test_id, plan.name, plan)
    return list(tests.values())


def plan_for_test(
    *,
    test_id: str,
    launch_mode: str,
    requisition: Requisition | None,
    id_name: str,
) -> InterviewPlan:
    """The plan a partner test id names (see the module docstring); 404 / 422 otherwise."""
    plans = list(
        InterviewPlan.objects.filter(launch_mode=launch_mode, vendor_test_id=test_id)
        .select_related("role_family", "vendor")
        .order_by("pk")
    )
    if not plans:
        raise PartnerRequestError(404, f"unknown {id_name} {test_id!r}")
    candidates = [plan for plan in plans if plan.status in RUNNING] or plans
    if len(candidates) > 1 and requisition is not None and requisition.pk is not None:
        family_id = (
            RoleFamilyMembership.objects.filter(requisition=requisition)
            .values_list("role_family_id", flat=True)
            .first()
        )
        candidates = [plan for plan in candidates if plan.role_family_id == family_id] or candidates
    if len(candidates) > 1:
        raise PartnerRequestError(
            422,
            f"{id_name} {test_id!r} is used by {len(candidates)} interview plans; an admin must "
            "assign this job to one of their role families",
        )
    return candidates[0]


# -- ATS records -------------------------------------------------------------------------------


def candidate_upsert(
    *,
    connection: AtsConnection,
    remote_id: str,
    first_name: str,
    last_name: str,
    email: str,
) -> Candidate:
    """The candidate ``(connection, remote_id)``; a new one gets the request's details."""
    fields = {"first_name": first_name, "last_name": last_name, "email": email}
    candidate, created = _get_or_create(
        Candidate,
        connection=connection,
        remote_id=remote_id,
        defaults={name: clip(Candidate, name, value) for name, value in fields.items()},
    )
    if not created:
        candidate_blanks_fill(candidate, **fields)
    return candidate


def candidate_blanks_fill(candidate: Candidate, **fields: str) -> None:
    """Fill the candidate's *empty* fields from a partner request (the vendor needs an e-mail).

    Nothing stored is overwritten: the stage sync orders candidate updates by the ATS's
    timestamps, which a partner request does not carry.
    """
    missing = [name for name, value in fields.items() if value and not getattr(candidate, name)]
    if missing:
        for name in missing:
            setattr(candidate, name, clip(Candidate, name, fields[name]))
        candidate.save(update_fields=[*missing, "updated_at"])


def requisition_upsert(*, connection: AtsConnection, remote_id: str, title: str) -> Requisition:
    """The requisition ``(connection, remote_id)``; a new one is open and titled ``title``."""
    requisition, created = _get_or_create(
        Requisition,
        connection=connection,
        remote_id=remote_id,
        defaults={"title": clip(Requisition, "title", title) or f"Job {remote_id}"},
    )
    if not created and title and not requisition.title:
        requisition.title = clip(Requisition, "title", title)
        requisition.save(update_fields=["title", "updated_at"])
    return requisition


def application_get_or_create(
    *,
    connection: AtsConnection,
    remote_id: str,
    candidate: Candidate,
    requisition: Requisition,
    plan: InterviewPlan,
) -> Application:
    """The application ``(connection, remote_id)``, created in the plan's trigger stage.

    The ATS asking for this assessment *is* the news that the application reached the plan's
    step, so a new application starts in the plan's trigger stage (entered now) rather than
    ``unmapped``, where it would show up as a stage for admins to map. Its remote stage stays
    unknown and ``last_event_at`` empty, so the next webhook or reconcile (which know the
    stage) apply normally. Nothing is published: partner interviews are launched right here.
    """
    application, _ = _get_or_create(
        Application,
        connection=connection,
        remote_id=remote_id,
        defaults={
            "candidate": candidate,
            "requisition": requisition,
            "canonical_stage": plan.trigger_stage,
            "stage_entered_at": timezone.now(),
        },
    )
    return application


def _get_or_create(model: Any, *, defaults: Mapping[str, Any], **lookup: Any) -> tuple[Any, bool]:
    """``get_or_create`` that survives a concurrent insert of the same row (savepoint)."""
    try:
        with transaction.atomic():
            return model.objects.get_or_create(**lookup, defaults=dict(defaults))
    except IntegrityError:
        return model.objects.get(**lookup), False


def clip(model: Any, field: str, value: str) -> str:
    """``value`` cut to the column's length (ATS data is not ours to reject for length)."""
    limit = model._meta.get_field(field).max_length
    return value[:limit] if limit else value


# -- interviews --------------------------------------------------------------------------------


def interview_find_or_launch(
    *,
    application: Application,
    plan: InterviewPlan,
    source: str,
    callback_url: str = "",
) -> Interview:
    """The interview of ``(application, plan)``: the existing one, or a newly launched one.

    When there is none and the launch checks refuse (plan
    draft or paused, stop switch, vendor inactive, opted out, missing consent), the refusal is
    recorded as a launch skip for admins and :class:`LaunchRefusedError` is raised.
    """
    from interviews.services.launch import (
        interview_launch,
        interview_launch_refusal,
        launch_skip_record,
    )

    existing = Interview.objects.filter(application=application, plan=plan).first()
    if existing is not None:
        return existing
    refusal = interview_launch_refusal(application=application, plan=plan)
    if refusal is not None:
        launch_skip_record(
            application=application, plan=plan, reason=refusal.reason, detail=refusal.detail
        )
        raise LaunchRefusedError(refusal.reason)
    # interview_launch settles a concurrent identical request itself (one row, same answer).
    return interview_launch(
        application=application, plan=plan, source=source, callback_url=callback_url
    )


def interview_for_connection(
    *, connection: AtsConnection, public_id: str, id_name: str
) -> Interview:
    """The interview with this public id on this connection; 404 otherwise."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise PartnerRequestError(404, f"unknown {id_name} {str(public_id)[:100]!r}") from None
    interview = (
        Interview.objects.filter(public_id=key, application__connection=connection)
        .select_related("application__connection", "application__candidate", "plan")
        .first()
    )
    if interview is None:
        raise PartnerRequestError(404, f"unknown {id_name} {str(public_id)[:100]!r}")
    return interview


def current_result(interview: Interview) -> InterviewResult | None:
    return interview.results.filter(is_current=True).first()


# -- shaping -----------------------------------------------------------------------------------


def partner_summary(result: InterviewResult) -> dict[str, Any]:
    """``result_partner_summary`` with JSON-safe values and a flat primitive ``metadata``."""
    from interviews.services.results import result_partner_summary

    summary = dict(result_partner_summary(result))
    summary["score"] = number(summary.get("score"))
    summary["metadata"] = flat_metadata(summary.get("metadata"))
    summary["band_label"] = text(summary.get("band_label")) or text(summary.get("band"))
    summary["profile_url"] = text(summary.get("profile_url"))
    return summary


def flat_metadata(value: Any) -> dict[str, str | int | float | bool | None]:
    """A flat object of JavaScript primitives (Greenhouse's rule); nested values become text."""
    if not isinstance(value, Mapping):
        return {}
    flat: dict[str, str | int | float | bool | None] = {}
    for key, item in value.items():
        if item is None or isinstance(item, str | bool | int | float):
            flat[str(key)] = item
        elif isinstance(item, Decimal):
            flat[str(key)] = number(item)
        elif isinstance(item, dt.datetime | dt.date):
            flat[str(key)] = item.isoformat()
        elif isinstance(item, Iterable) and not isinstance(item, Mapping):
            flat[str(key)] = "; ".join(str(part) for part in item)
        else:
            flat[str(key)] = str(item)
    return flat


def number(value: Any) -> int | float | None:
    """A JSON number (72 for 72.00), or None for anything that is not a finite number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        decimal = Decimal(str(value))
    except ArithmeticError:
        return None
    if not decimal.is_finite():
        return None
    return int(decimal) if decimal == decimal.to_integral_value() else float(decimal)


def text(value: Any) -> str:
    """A request field as stripped text: strings and numbers (ids) only, else ""."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return ""


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)
