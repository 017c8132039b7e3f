"""Ashby assessments partner API: Screenbridge as the assessment partner.

https://developers.ashbyhq.com/docs/creating-an-assessments-integration (schemas: Ashby's
assessment OpenAPI). Ashby calls three RPC-style endpoints per connection, with HTTP Basic auth
whose username is the connection's partner key (``interviews.partners.auth``), all ``POST``
under ``/partners/ashby/<connection-slug>/``:

- ``assessment.list`` → ``{"success": true, "results": [{"assessment_type_id", "name",
  "description"}]}``: one entry per distinct ``vendor_test_id`` of the pilot/live plans in
  ``ashby_assessment`` mode (plans belong to role families, so every Ashby connection lists all).
- ``assessment.start`` → ``{"success": true, "results": {"assessment_id":
  "<Interview.public_id>"}}``. The request names Ashby's candidate, application and job: they
  are upserted by their Ashby ids with the **application as the anchor** (Ashby merges can
  change a candidate id; an existing application follows the candidate and job the request
  names). A new job's role family is resolved by the role-family rules.
  **409** ``{"message"}``: the candidate is already being assessed (an open interview of this
  application under this plan). **422** ``{"message"}`` (shown to the Ashby user): the launch
  was refused (plan paused, stop switch, opted out, missing consent, ...; recorded for admins),
  the application is archived or hired, the assessment was already taken (the interview ended:
  one interview per application and plan), or the assessment type is ambiguous.
- ``assessment.cancel`` ``{"assessment_id"}`` → ``{"success": true}``; the interview is
  cancelled through ``services.lifecycle.interview_cancel`` (``interview_transition``, plus the
  vendor is asked to withdraw the invitation after commit). Cancelling a cancelled interview
  succeeds again; one that already completed, expired or failed cannot be cancelled (409).

Other errors: 400 malformed body (bad JSON, missing fields), 401 missing or wrong key, 404
unknown connection, assessment type or assessment id, 405 wrong method, 503 temporary. Bodies
follow Ashby's failure envelope ``{"success": false, "errors": [...]}`` plus ``"error"``.

Completion: :func:`ashby_completion_enqueue` queues Ashby's ``assessment.update`` with the
result (kind ``assessment``; ``integrations.connectors.ashby.client`` sends it):
``assessment_status`` "Completed", ``assessment_result`` the overall score (``numeric_score``
0–100), ``assessment_profile_url`` our score card, and ``metadata`` typed items with unique
identifiers: ``band`` (string), ``competency_<key>`` (numeric_score 0–100 each) and
``summary_<n>`` (string, 1–3). Sending a result is what marks it complete in Ashby.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, JsonResponse

from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    Provider,
    Requisition,
    WritebackJob,
    WritebackKind,
)
from integrations.services.outbox import writeback_enqueue
from interviews.models import (
    Interview,
    InterviewResult,
    InterviewStatus,
    LaunchMode,
    LaunchSource,
)
from interviews.partners import services
from interviews.partners.auth import PartnerRequestError, partner_endpoint, read_json_object
from interviews.services.membership import requisition_role_family_resolve

logger = logging.getLogger(__name__)

# Ashby application statuses in which nothing may be started.
CLOSED_APPLICATION_STATUSES = frozenset({"archived", "hired"})
COMPLETED = "Completed"
# Ashby ids are UUIDs; Screenbridge keeps remote ids in 100 characters.
ID_MAX_CHARS = Application._meta.get_field("remote_id").max_length or 100


def _render_error(exc: PartnerRequestError) -> HttpResponse:
    """Ashby's shapes: 422 ``{"message"}`` (documented), else its failure envelope."""
    if exc.status == 422:
        return JsonResponse({"message": exc.message}, status=422)
    body: dict[str, Any] = {"success": False, "errors": [exc.message], "error": exc.message}
    if exc.status == 409:
        body["message"] = exc.message
    return JsonResponse({**body, **exc.extra}, status=exc.status)


# -- assessment.start: parsing -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AssessmentStart:
    """A validated ``assessment.start`` request."""

    assessment_type_id: str
    candidate_id: str
    first_name: str
    last_name: str
    email: str
    application_id: str
    application_status: str
    job_id: str
    job_name: str


def assessment_start_parse(data: Mapping[str, Any]) -> AssessmentStart:
    """Validate an ``assessment.start`` body or raise a 400 naming what is missing."""
    parts: dict[str, Mapping[str, Any]] = {}
    for name in ("candidate", "application", "job"):
        value = data.get(name)
        if not isinstance(value, Mapping):
            raise PartnerRequestError(400, f"'{name}' must be an object")
        parts[name] = value
    candidate, application, job = parts["candidate"], parts["application"], parts["job"]
    required = (
        ("assessment_type_id", data.get("assessment_type_id")),
        ("candidate.ashby_id", candidate.get("ashby_id")),
        ("candidate.first_name", candidate.get("first_name")),
        ("candidate.last_name", candidate.get("last_name")),
        ("candidate.email", candidate.get("email")),
        ("application.ashby_id", application.get("ashby_id")),
        ("application.status", application.get("status")),
        ("job.ashby_id", job.get("ashby_id")),
        ("job.name", job.get("name")),
    )
    missing = [name for name, value in required if services.text(value) == ""]
    if missing:
        raise PartnerRequestError(400, f"missing or empty: {', '.join(missing)}")
    too_long = [
        name
        for name, value in required
        if name.endswith(".ashby_id") and len(services.text(value)) > ID_MAX_CHARS
    ]
    if too_long:
        raise PartnerRequestError(
            400, f"longer than {ID_MAX_CHARS} characters: {', '.join(too_long)}"
        )
    email = services.text(candidate.get("email"))
    try:
        validate_email(email)
    except ValidationError:
        raise PartnerRequestError(400, "candidate.email is not an e-mail address") from None
    return AssessmentStart(
        assessment_type_id=services.text(data.get("assessment_type_id")),
        candidate_id=services.text(candidate.get("ashby_id")),
        first_name=services.text(candidate.get("first_name")),
        last_name=services.text(candidate.get("last_name")),
        email=email,
        application_id=services.text(application.get("ashby_id")),
        application_status=services.text(application.get("status")),
        job_id=services.text(job.get("ashby_id")),
        job_name=services.text(job.get("name")),
    )


# -- services ----------------------------------------------------------------------------------


def ashby_assessments_list() -> list[dict[str, str]]:
    """The ``assessment.list`` results: one entry per assessment type id of a running plan."""
    return [
        {
            "assessment_type_id": type_id,
            "name": name,
            "description": (
                f"Automated interview for {plan.role_family.name} candidates "
                f"({plan.vendor.name}); results include a score band, competency subscores "
                "and 1–3 evidence bullets."
            ),
        }
        for type_id, name, plan in services.running_tests(LaunchMode.ASHBY_ASSESSMENT)
    ]


def ashby_assessment_start(*, connection: AtsConnection, request: AssessmentStart) -> Interview:
    """Mirror the request's records and launch the interview it asks for.

    Raises :class:`PartnerRequestError` (404 unknown type, 409 already being assessed, 422
    archived application, assessment already taken, ambiguous type) and
    :class:`~interviews.partners.services.LaunchRefusedError` (422, the skip is recorded).
    """
    if request.application_status.casefold() in CLOSED_APPLICATION_STATUSES:
        raise PartnerRequestError(
            422, f"The application is {request.application_status} in Ashby; nothing was started."
        )
    requisition = services.requisition_upsert(
        connection=connection, remote_id=request.job_id, title=request.job_name
    )
    requisition_role_family_resolve(requisition=requisition)
    plan = services.plan_for_test(
        test_id=request.assessment_type_id,
        launch_mode=LaunchMode.ASHBY_ASSESSMENT,
        requisition=requisition,
        id_name="assessment_type_id",
    )
    candidate = services.candidate_upsert(
        connection=connection,
        remote_id=request.candidate_id,
        first_name=request.first_name,
        last_name=request.last_name,
        email=request.email,
    )
    application = services.application_get_or_create(
        connection=connection,
        remote_id=request.application_id,
        candidate=candidate,
        requisition=requisition,
        plan=plan,
    )
    _follow_anchor(application, candidate=candidate, requisition=requisition)

    existing = Interview.objects.filter(application=application, plan=plan).first()
    if existing is not None:
        if existing.status in services.OPEN_STATUSES:
            raise PartnerRequestError(
                409,
                "The candidate is already being assessed for this application.",
                assessment_id=str(existing.public_id),
            )
        raise PartnerRequestError(
            422,
            "This candidate already took this assessment for this application "
            f"(status: {existing.get_status_display().lower()}); it can be run only once.",
        )
    return services.interview_find_or_launch(
        application=application, plan=plan, source=LaunchSource.ASHBY_START
    )


def _follow_anchor(
    application: Application, *, candidate: Candidate, requisition: Requisition
) -> None:
    """Point an existing application at the candidate and job Ashby names now (merges, moves)."""
    changed = []
    if application.candidate_id != candidate.pk:
        application.candidate = candidate
        changed.append("candidate")
    if application.requisition_id != requisition.pk:
        application.requisition = requisition
        changed.append("requisition")
    if changed:
        application.save(update_fields=[*changed, "updated_at"])


def ashby_assessment_cancel(*, connection: AtsConnection, assessment_id: str) -> Interview:
    """Cancel the interview Ashby's user cancelled; 404 unknown, 409 already ended otherwise."""
    interview = services.interview_for_connection(
        connection=connection, public_id=assessment_id, id_name="assessment_id"
    )
    locked = Interview.objects.select_for_update().get(pk=interview.pk)
    if locked.status == InterviewStatus.CANCELLED:
        return locked
    if locked.status not in services.OPEN_STATUSES:
        raise PartnerRequestError(
            409, f"The assessment cannot be cancelled: it is already {locked.status}."
        )
    from interviews.services.lifecycle import interview_cancel

    # interview_transition under the hood; also withdraws the vendor's invitation after commit.
    interview_cancel(interview=locked, reason="Cancelled in Ashby (assessment.cancel).")
    locked.refresh_from_db()
    return locked


def ashby_completion_enqueue(
    *, interview: Interview, result: InterviewResult
) -> WritebackJob | None:
    """Queue ``assessment.update`` with ``result`` (call inside the result's transaction)."""
    return writeback_enqueue(
        connection=interview.application.connection,
        application=interview.application,
        kind=WritebackKind.ASSESSMENT,
        target=services.writeback_target(interview),
        payload=assessment_update_body(interview=interview, result=result),
    )


def assessment_update_body(*, interview: Interview, result: InterviewResult) -> dict[str, Any]:
    """The documented ``assessment.update`` body for a completed interview's result."""
    summary = services.partner_summary(result)
    completed_at = interview.completed_at or result.received_at
    metadata: list[dict[str, Any]] = [
        _item("band", "Score band", "string", summary["band_label"]),
    ]
    for competency in summary.get("competencies") or []:
        score = services.number(competency.get("score"))
        key = services.text(competency.get("key"))
        if score is None or not key:
            continue
        name = services.text(competency.get("name")) or key
        metadata.append(_item(f"competency_{key}", name, "numeric_score", score, "Subscore, 0–100"))
    for number, bullet in enumerate(result.summary_bullets or [], start=1):
        metadata.append(_item(f"summary_{number}", f"Summary {number}", "string", str(bullet)))
    return {
        "assessment_id": str(interview.public_id),
        "timestamp": services.epoch_ms(completed_at),
        "assessment_status": _item("status", "Status", "string", COMPLETED),
        "assessment_result": _item(
            "score", "Overall score", "numeric_score", summary["score"], "Score, 0–100"
        ),
        "assessment_profile_url": _item(
            "profile_url", "Screenbridge score card", "url", summary["profile_url"]
        ),
        "metadata": metadata,
    }


def _item(
    identifier: str, label: str, kind: str, value: Any, description: str = ""
) -> dict[str, Any]:
    """One typed item ``{identifier, label, description?, type, value}``."""
    item: dict[str, Any] = {"identifier": identifier, "label": label, "type": kind, "value": value}
    if description:
        item["description"] = description
    return item


# -- views -------------------------------------------------------------------------------------


@partner_endpoint(Provider.ASHBY, methods=("POST",), on_error=_render_error)
def assessment_list(request: HttpRequest, connection: AtsConnection) -> HttpResponse:
    """``POST assessment.list``: the assessments Ashby users can add to an interview plan."""
    # The body is ignored (an empty object in practice), so a bad body does not block listing.
    return JsonResponse({"success": True, "results": ashby_assessments_list()})


@partner_endpoint(Provider.ASHBY, methods=("POST",), on_error=_render_error)
def assessment_start(request: HttpRequest, connection: AtsConnection) -> HttpResponse:
    """``POST assessment.start``: an Ashby user started the assessment for a candidate."""
    parsed = assessment_start_parse(read_json_object(request))
    try:
        interview = ashby_assessment_start(connection=connection, request=parsed)
    except services.LaunchRefusedError as refusal:
        # Returned, not raised: the launch skip recorded for admins is kept.
        return JsonResponse({"message": refusal.message}, status=422)
    return JsonResponse({"success": True, "results": {"assessment_id": str(interview.public_id)}})


@partner_endpoint(Provider.ASHBY, methods=("POST",), on_error=_render_error)
def assessment_cancel(request: HttpRequest, connection: AtsConnection) -> HttpResponse:
    """``POST assessment.cancel``: an Ashby user cancelled a started assessment."""
    data = read_json_object(request)
    assessment_id = services.text(data.get("assessment_id"))
    if not assessment_id:
        raise PartnerRequestError(400, "missing or empty: assessment_id")
    ashby_assessment_cancel(connection=connection, assessment_id=assessment_id)
    return JsonResponse({"success": True})
