"""Greenhouse Assessment Partner API: Screenbridge as the "testing partner".

https://developers.greenhouse.io/assessment.html. Greenhouse calls four endpoints per
connection, with HTTP Basic auth whose username is the connection's partner key (see
``interviews.partners.auth``), all under ``/partners/greenhouse/<connection-slug>/``:

- ``GET list_tests`` → ``[{"partner_test_id", "partner_test_name"}]`` (strings): one entry per
  distinct ``vendor_test_id`` of the pilot/live plans in ``greenhouse_assessment`` mode. Plans
  belong to role families, not connections, so every Greenhouse connection lists them all.
- ``POST send_test`` → ``{"partner_interview_id": "<Interview.public_id>"}``. Greenhouse sends
  no application or job id, only ``candidate.greenhouse_profile_url``, e.g.
  ``https://app.greenhouse.io/people/17681532?application_id=26234709``: the candidate id is the
  number after ``/people/`` and the application id the ``application_id`` query parameter
  (the same ids the Harvest webhooks carry, so a synced application is found). When either
  cannot be read, a stable stand-in is derived from the URL: ``gh-profile-<sha256 of the
  normalized URL, 24 hex>`` (scheme and host lower-cased, trailing slash and fragment dropped,
  query parameters sorted), so the same profile always maps to the same record. A new
  application gets the stand-in requisition ``greenhouse-job-unknown`` until a webhook or a
  reconcile names its job (the stage sync then re-points it).
  The same request twice answers the same id (one interview per application and plan); a new
  ``url`` for an existing interview replaces the stored completion URL.
- ``GET test_status?partner_interview_id=...`` → ``{"partner_status", "partner_profile_url",
  "partner_score", "metadata"}``. ``partner_status`` is ``"complete"`` (the documented "done"
  value) once the interview is completed and has a result, ``"incomplete"`` otherwise; the
  detailed state is in ``metadata["Status"]``. ``metadata`` is flat, values are primitives.
- ``POST response_error`` → logged (without the candidate's e-mail address), answered 200.

Status codes: 400 malformed body or query (bad JSON, missing or wrong-typed fields, a
completion ``url`` not on Greenhouse); 401 missing or wrong key; 404 unknown connection, unknown
``partner_test_id`` (the test the request names does not exist here) or unknown
``partner_interview_id``; 405 wrong method; 413 body over 1 MiB; 422 the test exists but
Screenbridge will not launch it — the body names the reason (``plan_paused``, ``stopped``,
``opted_out``, ...), recorded for admins by the launch service — or the test id is ambiguous;
503 a temporary failure (retry). Never 500; every error body is ``{"error": "..."}``.

Completion: :func:`greenhouse_completion_enqueue` queues a ``WritebackJob`` (kind
``assessment``) that PATCHes the stored completion URL with no body
(``integrations.connectors.greenhouse.client``); Greenhouse then calls ``test_status``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from integrations.connectors.greenhouse.client import assessment_callback_allowed
from integrations.models import (
    Application,
    AtsConnection,
    Provider,
    WritebackJob,
    WritebackKind,
)
from integrations.services.outbox import writeback_enqueue
from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewResult,
    InterviewStatus,
    LaunchMode,
    LaunchSource,
)
from interviews.partners import services
from interviews.partners.auth import PartnerRequestError, partner_endpoint, read_json_object

logger = logging.getLogger(__name__)

# The stand-in job of applications first seen through Send Test (it carries no job id).
PLACEHOLDER_JOB_ID = "greenhouse-job-unknown"
PLACEHOLDER_JOB_TITLE = "Greenhouse job (not sent with Send Test; filled in by the next sync)"
DERIVED_ID_PREFIX = "gh-profile-"
COMPLETE = "complete"
INCOMPLETE = "incomplete"

CALLBACK_URL_MAX_CHARS = Interview._meta.get_field("callback_url").max_length or 1000

# Greenhouse ids are integers; anything longer than this is not one of them.
_PEOPLE_PATH = re.compile(r"/people/(\d{1,30})(?:/|$)")


# -- send_test: parsing ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SendTest:
    """A validated ``send_test`` request."""

    partner_test_id: str
    first_name: str
    last_name: str
    email: str
    profile_url: str
    callback_url: str
    preferred_name: str = ""
    phone_number: str = ""
    sent_by: str = ""


@dataclasses.dataclass(frozen=True)
class ProfileIds:
    """Greenhouse ids read from a profile URL; ``derived`` when a stand-in had to be used."""

    candidate_id: str
    application_id: str
    derived: bool


def send_test_parse(data: Mapping[str, Any]) -> SendTest:
    """Validate a ``send_test`` body (documented fields) or raise a 400."""
    candidate = data.get("candidate")
    if not isinstance(candidate, Mapping):
        raise PartnerRequestError(400, "'candidate' must be an object")
    missing = [
        name
        for name, value in (
            ("partner_test_id", data.get("partner_test_id")),
            ("candidate.first_name", candidate.get("first_name")),
            ("candidate.last_name", candidate.get("last_name")),
            ("candidate.email", candidate.get("email")),
            ("candidate.greenhouse_profile_url", candidate.get("greenhouse_profile_url")),
            ("url", data.get("url")),
        )
        if services.text(value) == ""
    ]
    if missing:
        raise PartnerRequestError(400, f"missing or empty: {', '.join(missing)}")
    email = services.text(candidate.get("email"))
    try:
        validate_email(email)
    except ValidationError:
        raise PartnerRequestError(400, "candidate.email is not an e-mail address") from None
    profile_url = services.text(candidate.get("greenhouse_profile_url"))
    if urlsplit(profile_url).scheme not in ("http", "https"):
        raise PartnerRequestError(400, "candidate.greenhouse_profile_url must be an http(s) URL")
    callback_url = services.text(data.get("url"))
    if len(callback_url) > CALLBACK_URL_MAX_CHARS:
        raise PartnerRequestError(400, f"'url' is longer than {CALLBACK_URL_MAX_CHARS} characters")
    return SendTest(
        partner_test_id=services.text(data.get("partner_test_id")),
        first_name=services.text(candidate.get("first_name")),
        last_name=services.text(candidate.get("last_name")),
        email=email,
        profile_url=profile_url,
        callback_url=callback_url,
        preferred_name=services.text(candidate.get("preferred_name")),
        phone_number=services.text(candidate.get("phone_number")),
        sent_by=services.text(data.get("sent_by")),
    )


def profile_ids(profile_url: str) -> ProfileIds:
    """Candidate and application ids from a Greenhouse profile URL (see the module docstring)."""
    parts = urlsplit(profile_url.strip())
    match = _PEOPLE_PATH.search(parts.path)
    candidate_id = match.group(1) if match else ""
    application_id = next(
        (
            value
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if name == "application_id" and value.isdigit() and len(value) <= 30
        ),
        "",
    )
    if candidate_id and application_id:
        return ProfileIds(candidate_id, application_id, derived=False)
    derived = derived_profile_id(profile_url)
    return ProfileIds(candidate_id or derived, application_id or derived, derived=True)


def derived_profile_id(profile_url: str) -> str:
    """A stable stand-in id for a profile URL whose ids cannot be read."""
    parts = urlsplit(profile_url.strip())
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    normalized = (
        f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}{parts.path.rstrip('/')}?{query}"
    )
    return DERIVED_ID_PREFIX + hashlib.sha256(normalized.encode()).hexdigest()[:24]


# -- services ----------------------------------------------------------------------------------


def greenhouse_tests_list() -> list[dict[str, str]]:
    """The ``list_tests`` answer: one entry per partner test id of a running plan."""
    return [
        {"partner_test_id": test_id, "partner_test_name": name}
        for test_id, name, _plan in services.running_tests(LaunchMode.GREENHOUSE_ASSESSMENT)
    ]


def greenhouse_test_send(*, connection: AtsConnection, request: SendTest) -> Interview:
    """Find or launch the interview a Send Test asks for (idempotent).

    Raises :class:`PartnerRequestError` for an unknown test (404), a completion URL Screenbridge
    will not call (400), an ambiguous test id or a refused launch (422).
    """
    if not assessment_callback_allowed(connection, request.callback_url):
        raise PartnerRequestError(400, "'url' must be an https URL on greenhouse.io")
    ids = profile_ids(request.profile_url)
    existing = (
        Application.objects.filter(connection=connection, remote_id=ids.application_id)
        .select_related("candidate", "requisition")
        .first()
    )
    plan = services.plan_for_test(
        test_id=request.partner_test_id,
        launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT,
        requisition=existing.requisition if existing else None,
        id_name="partner_test_id",
    )
    if existing is not None:
        services.candidate_blanks_fill(
            existing.candidate,
            first_name=request.first_name,
            last_name=request.last_name,
            email=request.email,
        )
    application = existing or _application_create(connection, ids, request, plan)
    if ids.derived:
        logger.info(
            "Send Test on %s: profile URL ids not readable; using stand-in %s",
            connection.slug,
            ids.application_id,
        )
    interview = services.interview_find_or_launch(
        application=application,
        plan=plan,
        source=LaunchSource.GREENHOUSE_SEND_TEST,
        callback_url=request.callback_url,
    )
    if interview.callback_url != request.callback_url:
        # Greenhouse sent the test again (a new take-home-test URL): report to the newest one.
        Interview.objects.filter(pk=interview.pk).update(
            callback_url=request.callback_url, updated_at=timezone.now()
        )
        interview.callback_url = request.callback_url
    return interview


def _application_create(
    connection: AtsConnection, ids: ProfileIds, request: SendTest, plan: InterviewPlan
) -> Application:
    candidate = services.candidate_upsert(
        connection=connection,
        remote_id=ids.candidate_id,
        first_name=request.first_name,
        last_name=request.last_name,
        email=request.email,
    )
    requisition = services.requisition_upsert(
        connection=connection, remote_id=PLACEHOLDER_JOB_ID, title=PLACEHOLDER_JOB_TITLE
    )
    return services.application_get_or_create(
        connection=connection,
        remote_id=ids.application_id,
        candidate=candidate,
        requisition=requisition,
        plan=plan,
    )


def greenhouse_test_status(
    *, connection: AtsConnection, partner_interview_id: str
) -> dict[str, Any]:
    """The ``test_status`` answer for one interview of this connection (404 if unknown)."""
    interview = services.interview_for_connection(
        connection=connection, public_id=partner_interview_id, id_name="partner_interview_id"
    )
    result = services.current_result(interview)
    if interview.status == InterviewStatus.COMPLETED and result is not None:
        summary = services.partner_summary(result)
        metadata = dict(summary["metadata"])
        metadata.setdefault("Score band", summary["band_label"])
        if interview.completed_at:
            metadata.setdefault("Completed At", services.iso(interview.completed_at))
        body: dict[str, Any] = {
            "partner_status": COMPLETE,
            "partner_profile_url": summary["profile_url"],
            "metadata": metadata,
        }
        if summary["score"] is not None:
            body["partner_score"] = summary["score"]
        return body
    metadata = {"Status": interview.get_status_display()}
    for label, moment in (
        ("Invited At", interview.invited_at),
        ("Started At", interview.started_at),
        ("Expires At", interview.expires_at),
        ("Ended At", interview.ended_at),
    ):
        if moment is not None:
            metadata[label] = services.iso(moment)
    return {"partner_status": INCOMPLETE, "metadata": metadata}


def greenhouse_completion_enqueue(
    *, interview: Interview, result: InterviewResult
) -> WritebackJob | None:
    """Queue the completion PATCH for a Send Test interview; None when it has no callback.

    Call inside the transaction that stores the result. The job's target names the interview so
    two assessments of one application never supersede each other.
    """
    if not interview.callback_url:
        logger.warning(
            "Interview %s came from Greenhouse Send Test but has no completion URL",
            interview.public_id,
        )
        return None
    return writeback_enqueue(
        connection=interview.application.connection,
        application=interview.application,
        kind=WritebackKind.ASSESSMENT,
        target=services.writeback_target(interview),
        payload={
            "callback_url": interview.callback_url,
            "partner_interview_id": str(interview.public_id),
            "result_version": result.version,
        },
    )


def greenhouse_response_error_log(*, connection: AtsConnection, data: Mapping[str, Any]) -> None:
    """Log Greenhouse's report that one of our answers was malformed (no personal data)."""
    errors = data.get("errors")
    logger.warning(
        "Greenhouse reports a malformed %s answer on connection %s "
        "(partner_test_id=%s, partner_interview_id=%s): %s",
        services.text(data.get("api_call"))[:50] or "?",
        connection.slug,
        services.text(data.get("partner_test_id"))[:100] or "-",
        services.text(data.get("partner_interview_id"))[:100] or "-",
        "; ".join(services.text(e)[:300] for e in errors)[:2000]
        if isinstance(errors, list)
        else services.text(errors)[:2000],
    )


# -- views -------------------------------------------------------------------------------------


@partner_endpoint(Provider.GREENHOUSE, methods=("GET",))
def list_tests(request: HttpRequest, connection: AtsConnection) -> HttpResponse:
    """``GET list_tests``: the tests Greenhouse users can add as a partner interview stage."""
    return JsonResponse(greenhouse_tests_list(), safe=False)


@partner_endpoint(Provider.GREENHOUSE, methods=("POST",))
def send_test(request: HttpRequest, connection: AtsConnection) -> HttpResponse:
    """``POST send_test``: a Greenhouse user clicked "Send Test" for a candidate."""
    parsed = send_test_parse(read_json_object(request))
    try:
        interview = greenhouse_test_send(connection=connection, request=parsed)
    except services.LaunchRefusedError as refusal:
        # Returned, not raised: the launch skip recorded for admins is kept.
        return JsonResponse({"error": refusal.message, "reason": refusal.reason}, status=422)
    return JsonResponse({"partner_interview_id": str(interview.public_id)})


@partner_endpoint(Provider.GREENHOUSE, methods=("GET",))
def test_status(request: HttpRequest, connection: AtsConnection) -> HttpResponse:
    """``GET test_status?partner_interview_id=...``: where one sent test stands."""
    partner_interview_id = request.GET.get("partner_interview_id", "").strip()
    if not partner_interview_id:
        raise PartnerRequestError(400, "the query parameter partner_interview_id is required")
    body = greenhouse_test_status(connection=connection, partner_interview_id=partner_interview_id)
    return JsonResponse(body)


@partner_endpoint(Provider.GREENHOUSE, methods=("POST",))
def response_error(request: HttpRequest, connection: AtsConnection) -> HttpResponse:
    """``POST response_error``: Greenhouse could not use one of our answers."""
    greenhouse_response_error_log(connection=connection, data=read_json_object(request))
    return JsonResponse({"status": 200})


__all__ = [
    "COMPLETE",
    "INCOMPLETE",
    "ProfileIds",
    "SendTest",
    "derived_profile_id",
    "greenhouse_completion_enqueue",
    "greenhouse_test_send",
    "greenhouse_test_status",
    "greenhouse_tests_list",
    "list_tests",
    "profile_ids",
    "response_error",
    "send_test",
    "send_test_parse",
    "test_status",
]
