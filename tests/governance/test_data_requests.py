"""Candidate data requests: deadlines, erasure end to end, ATS deletion webhooks, the page."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest
import responses
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance import personal_data
from governance.data_requests import (
    data_request_erase,
    data_request_open,
    due_at_for,
    open_requests,
)
from governance.models import (
    AuditEvent,
    CandidateDemographics,
    DataRequest,
    DataRequestBasis,
    DataRequestSource,
    DataRequestStatus,
    Decision,
    DeletionReceipt,
    VendorDeletionStatus,
)
from governance.roles import AUDITOR, HIRING_OPS_ADMIN, RECRUITER
from integrations.models import Candidate, InboundEvent, InboundEventStatus
from integrations.services.stage_sync import inbound_event_process
from interviews.models import Interview, InterviewResult
from tests.factories import (
    CandidateDemographicsFactory,
    CompetencyScoreFactory,
    DataRequestFactory,
    DecisionFactory,
    InboundEventFactory,
    InterviewResultFactory,
    LegalHoldFactory,
    ReviewTaskFactory,
    UserFactory,
    VendorEventFactory,
    VendorFactory,
    WritebackJobFactory,
)

pytestmark = pytest.mark.django_db

VENDOR_API = "https://vendor.example/api"


# -- the registry of personal fields -----------------------------------------------------------


def _our_fields() -> list[tuple[str, models.Field]]:
    return [
        (personal_data.label_of(model), field)
        for app in ("integrations", "interviews", "governance")
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.concrete_fields
    ]


def test_every_personal_looking_field_is_classified() -> None:
    unclassified = []
    for label, field in _our_fields():
        textual = isinstance(field, models.CharField | models.TextField | models.JSONField)
        if not textual or field.choices or isinstance(field, models.SlugField):
            continue
        if not personal_data.PERSONAL_LOOKING.search(field.name):
            continue
        if field.name in personal_data.PERSONAL_FIELDS.get(label, {}):
            continue
        if f"{label}.{field.name}" in personal_data.NOT_PERSONAL:
            continue
        if field.name.endswith(("_env", "_encrypted")):  # secrets, not personal data
            continue
        unclassified.append(f"{label}.{field.name}")
    assert unclassified == [], (
        "mark these in governance/personal_data.py (PERSONAL_FIELDS or NOT_PERSONAL)"
    )


def test_the_registry_names_real_fields() -> None:
    for label, fields in personal_data.PERSONAL_FIELDS.items():
        model = apps.get_model(label)
        for name in fields:
            model._meta.get_field(name)
    for dotted in personal_data.NOT_PERSONAL:
        app_label, model_name, field = dotted.split(".")
        apps.get_model(app_label, model_name)._meta.get_field(field)


# -- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "received", "due"),
    [
        (
            DataRequestBasis.ILLINOIS,
            dt.datetime(2026, 1, 31, 9, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        ),
        (
            DataRequestBasis.GDPR,
            dt.datetime(2026, 1, 31, 9, tzinfo=dt.UTC),
            dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC),
        ),
        (
            DataRequestBasis.GDPR,
            dt.datetime(2026, 12, 15, 9, tzinfo=dt.UTC),
            dt.datetime(2027, 1, 15, 9, tzinfo=dt.UTC),
        ),
        (
            DataRequestBasis.OTHER,
            dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC),
            dt.datetime(2026, 5, 31, 9, tzinfo=dt.UTC),
        ),
    ],
)
def test_deadlines(basis: str, received: dt.datetime, due: dt.datetime) -> None:
    assert due_at_for(basis, received) == due


def test_the_basis_follows_the_candidates_requisitions() -> None:
    result = InterviewResultFactory(interview__application__requisition__location="Chicago, IL")
    candidate = result.interview.application.candidate
    request, created = data_request_open(
        candidate=candidate, source=DataRequestSource.CANDIDATE_EMAIL
    )
    assert created
    assert request.basis == DataRequestBasis.ILLINOIS
    assert request.due_at - request.received_at == dt.timedelta(days=30)
    again, created = data_request_open(candidate=candidate, source=DataRequestSource.ADMIN)
    assert (again.pk, created) == (request.pk, False)


# -- erasure end to end ------------------------------------------------------------------------


def _vendor() -> Any:
    vendor = VendorFactory(base_url=VENDOR_API)
    vendor.set_api_key("whsec_" + "dGVzdHNlY3JldHRlc3RzZWNyZXQ=")
    vendor.save()
    return vendor


def _candidate_world() -> dict[str, Any]:
    vendor = _vendor()
    result = InterviewResultFactory(
        interview__plan__vendor=vendor,
        interview__application__requisition__location="Chicago, IL",
        recording_url="https://vendor.example/r/1",
        summary_bullets=["Zora said: “I led the Harlow migration.”"],
    )
    interview = result.interview
    application = interview.application
    candidate = application.candidate
    CompetencyScoreFactory(result=result, evidence="Zora described the Harlow migration.")
    ReviewTaskFactory(interview=interview, result=result, detail="Zora Q. asked for a call")
    DecisionFactory(
        result=result,
        application=application,
        override=True,
        override_text="Zora's reference call confirmed the skills the interview missed.",
    )
    WritebackJobFactory(
        connection=application.connection,
        application=application,
        payload={"note": "Zora scored 72"},
        last_error="422 for zora@example.com",
    )
    body = json.dumps(
        {"payload": {"application": {"candidate": {"id": candidate.remote_id, "email": "z@x.io"}}}}
    )
    mention = InboundEventFactory(
        connection=application.connection, raw_body=body, status="processed"
    )
    other = InboundEventFactory(connection=application.connection, status="processed")
    vendor_event = VendorEventFactory(
        vendor=vendor,
        raw_body=json.dumps({"interview": {"external_id": str(interview.public_id)}}),
        status="processed",
    )
    # Somebody else's data, which must stay.
    bystander = InterviewResultFactory(interview__plan__vendor=vendor)
    return {
        "candidate": candidate,
        "application": application,
        "interview": interview,
        "result": result,
        "mention": mention,
        "other": other,
        "vendor_event": vendor_event,
        "bystander": bystander,
    }


def _metrics() -> dict[str, Any]:
    return {
        "interviews": Counter(Interview.objects.values_list("status", flat=True)),
        "results": Counter(InterviewResult.objects.values_list("band", flat=True)),
        "scores": sorted(InterviewResult.objects.values_list("score", flat=True)),
        "decisions": Counter(Decision.objects.values_list("outcome", "is_override")),
        "candidates": Candidate.objects.count(),
    }


def _rows_of(label: str, world: dict[str, Any]) -> list[Any]:
    candidate = world["candidate"]
    model = apps.get_model(label)
    scopes = {
        "integrations.Candidate": {"pk": candidate.pk},
        "integrations.Application": {"candidate": candidate},
        "integrations.InboundEvent": {"pk": world["mention"].pk},
        "integrations.WritebackJob": {"application__candidate": candidate},
        "integrations.WritebackAttempt": {"job__application__candidate": candidate},
        "interviews.Interview": {"application__candidate": candidate},
        "interviews.InterviewResult": {"interview__application__candidate": candidate},
        "interviews.CompetencyScore": {"result__interview__application__candidate": candidate},
        "interviews.ReviewTask": {"interview__application__candidate": candidate},
        "interviews.VendorEvent": {"pk": world["vendor_event"].pk},
        "governance.Decision": {"application__candidate": candidate},
    }
    assert set(scopes) == set(personal_data.PERSONAL_FIELDS), "test scopes follow the registry"
    return list(model.objects.filter(**scopes[label]))


@responses.activate
def test_a_deletion_request_end_to_end() -> None:
    world = _candidate_world()
    CandidateDemographicsFactory(candidate=world["candidate"])
    kept = CandidateDemographicsFactory()  # somebody else's
    before = _metrics()
    deletion = responses.post(f"{VENDOR_API}/deletions", json={"deleted": 1})
    admin = UserFactory(groups=[HIRING_OPS_ADMIN])
    request = DataRequestFactory(candidate=world["candidate"])

    done = data_request_erase(request_id=request.pk, actor=admin)

    # Voluntary demographics are personal as a whole: the candidate's row is gone.
    assert list(CandidateDemographics.objects.values_list("pk", flat=True)) == [kept.pk]

    # Every field marked personal is emptied or pseudonymized, on every row of the candidate.
    for label, fields in personal_data.PERSONAL_FIELDS.items():
        rows = _rows_of(label, world)
        assert rows or label == "integrations.WritebackAttempt", f"no {label} rows in the test"
        for row in rows:
            for name, treatment in fields.items():
                value = getattr(row, name)
                if treatment == personal_data.PSEUDONYM:
                    assert value == f"erased-{row.pk}", (label, name)
                else:
                    assert value == personal_data.erased_value(treatment), (label, name, value)
    # Somebody else's rows stay.
    world["other"].refresh_from_db()
    assert world["other"].raw_body
    world["bystander"].refresh_from_db()
    assert world["bystander"].summary_bullets
    assert world["bystander"].transcript_url
    # Aggregates stay.
    assert _metrics() == before
    # The vendor was asked to delete everything of the interview, and confirmed.
    assert deletion.call_count == 1
    sent = json.loads(deletion.calls[0].request.body)
    assert sent["artifacts"] == ["all"]
    assert sent["interviews"][0]["external_id"] == str(world["interview"].public_id)
    assert done.status == DataRequestStatus.COMPLETED
    assert done.vendor_confirmed_at is not None
    assert done.completed_at is not None
    receipt = DeletionReceipt.objects.get(data_request=done)
    assert receipt.vendor_status == VendorDeletionStatus.CONFIRMED
    assert receipt.count > 0
    # The audit trail says so, without personal data.
    events = AuditEvent.objects.filter(object_type="governance.datarequest")
    assert {"data_request.erase", "data_request.complete"} <= set(
        events.values_list("action", flat=True)
    )
    trail = json.dumps(list(events.values("object_repr", "changes")), default=str)
    assert "Zora" not in trail
    assert world["candidate"].email not in trail
    # Idempotent.
    assert data_request_erase(request_id=request.pk).status == DataRequestStatus.COMPLETED
    assert deletion.call_count == 1


@responses.activate
def test_an_unconfirmed_vendor_deletion_leaves_the_request_pending_then_completes() -> None:
    world = _candidate_world()
    responses.post(f"{VENDOR_API}/deletions", status=500)
    request = DataRequestFactory(candidate=world["candidate"])
    done = data_request_erase(request_id=request.pk)
    assert done.status == DataRequestStatus.VENDOR_PENDING
    assert done.erased_at is not None
    world["candidate"].refresh_from_db()
    assert world["candidate"].first_name == ""

    responses.replace(responses.POST, f"{VENDOR_API}/deletions", json={"deleted": 1})
    from governance.tasks import purge_expired_task

    assert purge_expired_task()["requests_completed"] == 1
    assert DataRequest.objects.get(pk=request.pk).status == DataRequestStatus.COMPLETED


def test_a_legal_hold_pauses_the_erasure() -> None:
    result = InterviewResultFactory()
    candidate = result.interview.application.candidate
    LegalHoldFactory(candidate=None, requisition=result.interview.application.requisition)
    request = DataRequestFactory(candidate=candidate)
    done = data_request_erase(request_id=request.pk)
    assert done.status == DataRequestStatus.OPEN
    assert done.erased_at is None
    candidate.refresh_from_db()
    assert candidate.first_name
    assert AuditEvent.objects.filter(action="data_request.held").exists()
    assert open_requests()[0].held is True


# -- ATS deletion webhooks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "action", "body"),
    [
        ("greenhouse", "delete_candidate", {"payload": {"candidate": {"id": "{rid}"}}}),
        ("greenhouse", "candidate_anonymized", {"payload": {"person": {"id": "{rid}"}}}),
        (
            "lever",
            "candidateDeleted",
            {"event": "candidateDeleted", "data": {"contactId": "{rid}"}},
        ),
        (
            "ashby",
            "candidateDelete",
            {"action": "candidateDelete", "data": {"candidate": {"id": "{rid}"}}},
        ),
    ],
)
def test_an_ats_deletion_webhook_opens_and_runs_a_request(
    provider: str, action: str, body: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    result = InterviewResultFactory(
        interview__application__connection__provider=provider,
        interview__plan__vendor__kind="rehearsal",
    )
    candidate = result.interview.application.candidate
    raw = json.dumps(body).replace("{rid}", candidate.remote_id)
    event = InboundEventFactory(connection=candidate.connection, action=action, raw_body=raw)

    with django_capture_on_commit_callbacks(execute=True):
        processed = inbound_event_process(event_id=event.pk)

    assert processed.status == InboundEventStatus.PROCESSED
    request = DataRequest.objects.get(candidate=candidate)
    assert request.source == DataRequestSource.ATS_WEBHOOK
    assert request.status == DataRequestStatus.COMPLETED
    candidate.refresh_from_db()
    assert (candidate.first_name, candidate.email) == ("", "")
    # The deletion webhook's own body named the candidate: it is scrubbed too.
    assert InboundEvent.objects.get(pk=event.pk).raw_body == ""


def test_a_deletion_webhook_for_an_unknown_candidate_opens_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = InboundEventFactory(
        action="delete_candidate", raw_body=json.dumps({"payload": {"candidate": {"id": "999"}}})
    )
    with django_capture_on_commit_callbacks(execute=True):
        inbound_event_process(event_id=event.pk)
    assert not DataRequest.objects.exists()


# -- the page ----------------------------------------------------------------------------------


def test_the_page_lists_open_requests_with_days_left_and_warnings(client: Client) -> None:
    now = timezone.now()
    fresh = DataRequestFactory(received_at=now - dt.timedelta(days=2))
    warning = DataRequestFactory(received_at=now - dt.timedelta(days=21))
    overdue = DataRequestFactory(received_at=now - dt.timedelta(days=35))
    DataRequestFactory(status=DataRequestStatus.COMPLETED, completed_at=now)
    client.force_login(UserFactory(groups=[AUDITOR]))

    response = client.get(reverse("governance:data-requests"))

    assert response.status_code == 200
    page = response.content.decode()
    assert [r.pk for r in response.context["requests"]] == [overdue.pk, warning.pk, fresh.pk]
    assert "Overdue" in page
    assert "Due soon" in page
    assert "On time" in page
    states = {r.pk: (r.state, r.days_left) for r in response.context["requests"]}
    assert states[fresh.pk][0] == "ok"
    assert states[fresh.pk][1] in (27, 28)
    assert states[warning.pk][0] == "warning"
    assert states[overdue.pk][0] == "overdue"
    assert "Erase now" not in page  # auditors read only


@pytest.mark.parametrize(("group", "status"), [(HIRING_OPS_ADMIN, 200), (RECRUITER, 403)])
def test_the_page_is_for_admins_and_auditors(client: Client, group: str, status: int) -> None:
    DataRequestFactory()
    client.force_login(UserFactory(groups=[group]))
    response = client.get(reverse("governance:data-requests"))
    assert response.status_code == status
    if status == 200:
        assert "Erase now" in response.content.decode()


def test_anonymous_users_go_to_login(client: Client) -> None:
    response = client.get(reverse("governance:data-requests"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_an_admin_records_a_request_in_the_admin_and_the_deadline_is_computed(
    client: Client,
) -> None:
    result = InterviewResultFactory(interview__application__requisition__location="Paris, France")
    candidate = result.interview.application.candidate
    client.force_login(UserFactory(groups=[HIRING_OPS_ADMIN], is_staff=True))

    response = client.post(
        reverse("admin:governance_datarequest_add"),
        {
            "candidate": candidate.pk,
            "source": DataRequestSource.CANDIDATE_EMAIL,
            "received_at_0": "2026-01-31",
            "received_at_1": "09:00:00",
            "reference": "TICKET-77",
        },
    )

    assert response.status_code == 302, response.content
    request = DataRequest.objects.get(candidate=candidate)
    assert request.basis == DataRequestBasis.GDPR
    assert request.due_at.date() == dt.date(2026, 2, 28)
    assert AuditEvent.objects.filter(action="data_request.open").exists()
