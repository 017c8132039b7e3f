"""Ashby assessments partner API endpoints, against the documented shapes.

https://developers.ashbyhq.com/docs/creating-an-assessments-integration: the partner serves
assessment.list, assessment.start (409 already assessing, 422 custom message) and
assessment.cancel, and calls Ashby's assessment.update with typed items. Requests come from
tests/fixtures/partners/*.json; assessment.update goes over real sockets to the loopback ATS
through the writeback relay.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.connectors.ashby.client import Client as AshbyClient
from integrations.http import AtsPermanentError
from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    ConnectionMode,
    Provider,
    Requisition,
    SignatureFailure,
    WritebackJob,
    WritebackKind,
    WritebackStatus,
)
from integrations.services.outbox import writeback_relay
from interviews.models import (
    Interview,
    InterviewStatus,
    LaunchMode,
    LaunchSkip,
    LaunchSkipReason,
    LaunchSource,
    PlanStatus,
    RoleFamilyMembership,
)
from interviews.partners.ashby import assessment_update_body
from interviews.partners.services import partner_completion_enqueue
from tests.ats_server import Reply, loopback_connection
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    CandidateFactory,
    CompetencyFactory,
    CompetencyScoreFactory,
    InterviewPlanFactory,
    InterviewResultFactory,
    RoleFamilyFactory,
    StopSwitchFactory,
)
from tests.helpers import basic_auth, partner_fixture, partner_plan, set_partner_key

PARTNER_KEY = "ashby-partner-key-0123456789abcdefghij"
TYPE_ID = "support-screen-v1"
APPLICATION_ID = "3ae2b801-19f6-41ef-ad28-214bd731948f"
CANDIDATE_ID = "152fc51a-69f1-4815-b642-2f314ed22975"
JOB_ID = "968209bc-521d-4094-9bc1-fd5e56e70b87"
TYPED_ITEM_TYPES = {"numeric_score", "numeric_duration_minutes", "url", "string", "boolean_success"}

pytestmark = pytest.mark.django_db


fixture = partner_fixture
basic = basic_auth


def with_partner_key(connection: AtsConnection, key: str = PARTNER_KEY) -> AtsConnection:
    return set_partner_key(connection, key)


@pytest.fixture
def connection() -> AtsConnection:
    return with_partner_key(
        AtsConnectionFactory(slug="acme-ashby", provider=Provider.ASHBY, mode=ConnectionMode.LIVE)
    )


@pytest.fixture
def plan() -> Any:
    return partner_plan(TYPE_ID, LaunchMode.ASHBY_ASSESSMENT)


def url(method: str, connection: AtsConnection) -> str:
    return reverse(f"interviews:ashby-assessment-{method}", args=[connection.slug])


def post(client: Any, path: str, body: Any, *, key: str | None = PARTNER_KEY) -> Any:
    headers = {"HTTP_AUTHORIZATION": basic(key)} if key is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data, content_type="application/json", **headers)


def start(client: Any, connection: AtsConnection, body: dict[str, Any] | None = None) -> Any:
    return post(client, url("start", connection), body or fixture("ashby_assessment_start.json"))


def cancel(client: Any, connection: AtsConnection, assessment_id: str) -> Any:
    body = fixture("ashby_assessment_cancel.json")
    body["assessment_id"] = assessment_id
    return post(client, url("cancel", connection), body)


def complete(interview: Interview, *, score: str = "82.00") -> Any:
    now = timezone.now()
    Interview.objects.filter(pk=interview.pk).update(
        status=InterviewStatus.COMPLETED, invited_at=now, completed_at=now, ended_at=now
    )
    interview.refresh_from_db()
    result = InterviewResultFactory(
        interview=interview,
        score=Decimal(score),
        summary_bullets=["Clear, structured answers.", "Limited depth on SQL tuning."],
    )
    for key, name, subscore in (("communication", "Communication", "80"), ("sql", "SQL", "64.5")):
        competency = CompetencyFactory(plan=interview.plan, key=key, name=name)
        CompetencyScoreFactory(result=result, competency=competency, score=Decimal(subscore))
    return result


# -- authentication and routing ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["list", "start", "cancel"])
def test_every_endpoint_needs_the_partner_key(client, connection, plan, method):
    missing = post(client, url(method, connection), {}, key=None)
    wrong = post(client, url(method, connection), {}, key="wrong-key-0123456789abcdefgh")

    for response in (missing, wrong):
        assert response.status_code == 401
        assert "error" in response.json()
        assert response["WWW-Authenticate"].startswith("Basic")
    assert SignatureFailure.objects.filter(connection=connection).count() == 2
    assert not Interview.objects.exists()


def test_ashby_endpoints_are_post_only_and_scoped_to_ashby_connections(client, connection, plan):
    greenhouse = with_partner_key(
        AtsConnectionFactory(slug="acme-gh", provider=Provider.GREENHOUSE)
    )

    response = client.get(url("list", connection), HTTP_AUTHORIZATION=basic(PARTNER_KEY))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert post(client, url("list", greenhouse), {}).status_code == 404


# -- assessment.list ---------------------------------------------------------------------------


def test_assessment_list_answers_running_ashby_plans_in_the_documented_envelope(
    client, connection, plan
):
    InterviewPlanFactory(
        vendor_test_id="draft", launch_mode=LaunchMode.ASHBY_ASSESSMENT, status="draft"
    )
    InterviewPlanFactory(vendor_test_id="gh", launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT)

    response = post(client, url("list", connection), fixture("ashby_assessment_list.json"))

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    [assessment] = body["results"]
    assert set(assessment) == {"assessment_type_id", "name", "description"}
    assert assessment["assessment_type_id"] == TYPE_ID
    assert assessment["name"] == "Support screen"
    assert isinstance(assessment["description"], str)


# -- assessment.start --------------------------------------------------------------------------


def test_assessment_start_upserts_by_ashby_ids_and_answers_the_assessment_id(
    client, connection, plan
):
    response = start(client, connection)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert set(body["results"]) == {"assessment_id"}
    interview = Interview.objects.select_related("application__candidate").get()
    assert body["results"]["assessment_id"] == str(interview.public_id)
    assert interview.launch_source == LaunchSource.ASHBY_START
    assert interview.plan == plan
    assert interview.status == InterviewStatus.PENDING
    application = interview.application
    assert application.remote_id == APPLICATION_ID
    assert application.candidate.remote_id == CANDIDATE_ID
    assert application.candidate.email == "jane@example.com"
    assert application.requisition.remote_id == JOB_ID
    assert application.requisition.title == "Support Engineer"
    assert application.canonical_stage == plan.trigger_stage


def test_the_application_is_the_anchor_of_a_repeated_or_merged_start(client, connection, plan):
    old_candidate = CandidateFactory(connection=connection, remote_id="old-candidate")
    existing = ApplicationFactory(
        connection=connection, remote_id=APPLICATION_ID, candidate=old_candidate
    )

    assert start(client, connection).status_code == 200

    existing.refresh_from_db()
    assert Application.objects.count() == 1
    assert existing.candidate.remote_id == CANDIDATE_ID  # followed the Ashby merge
    assert existing.requisition.remote_id == JOB_ID
    assert Interview.objects.get().application == existing


def test_a_new_job_joins_its_role_family_by_the_rules(client, connection, plan):
    family = plan.role_family
    family.title_pattern = r"support"
    family.save()

    assert start(client, connection).status_code == 200

    membership = RoleFamilyMembership.objects.get(requisition__remote_id=JOB_ID)
    assert membership.role_family == family


def test_already_being_assessed_is_409(client, connection, plan):
    first = start(client, connection).json()["results"]["assessment_id"]

    response = start(client, connection)

    assert response.status_code == 409
    body = response.json()
    assert body["message"] == "The candidate is already being assessed for this application."
    assert body["success"] is False
    assert body["assessment_id"] == first
    assert Interview.objects.count() == 1


def test_a_start_after_the_assessment_ended_is_422_with_a_message(client, connection, plan):
    start(client, connection)
    Interview.objects.update(status=InterviewStatus.COMPLETED)

    response = start(client, connection)

    assert response.status_code == 422
    assert set(response.json()) == {"message"}
    assert "already took this assessment" in response.json()["message"]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("opted_out", LaunchSkipReason.OPTED_OUT),
        ("stopped", LaunchSkipReason.STOPPED),
        ("paused", LaunchSkipReason.PLAN_PAUSED),
        ("vendor", LaunchSkipReason.VENDOR_INACTIVE),
    ],
)
def test_a_refused_launch_is_422_with_a_message_and_recorded(
    client, connection, plan, setup, reason
):
    if setup == "opted_out":
        CandidateFactory(connection=connection, remote_id=CANDIDATE_ID, opted_out=True)
    elif setup == "stopped":
        StopSwitchFactory(scope="global", plan=None)
    elif setup == "paused":
        plan.status = PlanStatus.PAUSED
        plan.save()
    else:
        plan.vendor.active = False
        plan.vendor.save()

    response = start(client, connection)

    assert response.status_code == 422
    assert response.json() == {"message": LaunchSkipReason(reason).label}
    assert not Interview.objects.exists()
    skip = LaunchSkip.objects.get()
    assert (skip.plan, skip.reason, skip.application.remote_id) == (plan, reason, APPLICATION_ID)


@pytest.mark.parametrize("status", ["Archived", "Hired"])
def test_a_start_for_a_closed_application_is_422(client, connection, plan, status):
    body = fixture("ashby_assessment_start.json")
    body["application"]["status"] = status

    response = start(client, connection, body)

    assert response.status_code == 422
    assert status in response.json()["message"]
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.pop("assessment_type_id"), "missing or empty: assessment_type_id"),
        (lambda b: b.pop("candidate"), "'candidate' must be an object"),
        (lambda b: b.update(job="Support"), "'job' must be an object"),
        (lambda b: b["candidate"].pop("ashby_id"), "missing or empty: candidate.ashby_id"),
        (lambda b: b["application"].update(ashby_id=""), "application.ashby_id"),
        (lambda b: b["job"].pop("ashby_id"), "job.ashby_id"),
        (lambda b: b["candidate"].update(email="nope"), "not an e-mail address"),
        (lambda b: b["application"].update(ashby_id="a" * 101), "longer than 100 characters"),
    ],
)
def test_a_malformed_start_is_400_in_ashbys_envelope(client, connection, plan, mutate, message):
    body = fixture("ashby_assessment_start.json")
    mutate(body)

    response = start(client, connection, body)

    assert response.status_code == 400
    payload = response.json()
    assert payload["success"] is False
    assert message in payload["error"]
    assert payload["errors"] == [payload["error"]]
    assert not Interview.objects.exists()
    assert not Requisition.objects.exists()


@pytest.mark.parametrize("raw", ["{broken", "", "[]", "null"])
def test_a_start_that_is_not_a_json_object_is_400(client, connection, plan, raw):
    response = post(client, url("start", connection), raw)

    assert response.status_code == 400
    assert response.json()["success"] is False


def test_an_unknown_assessment_type_is_404_and_stores_nothing(client, connection, plan):
    body = fixture("ashby_assessment_start.json")
    body["assessment_type_id"] = "no-such-type"

    response = start(client, connection, body)

    assert response.status_code == 404
    assert response.json()["errors"] == ["unknown assessment_type_id 'no-such-type'"]
    assert not Candidate.objects.exists()
    assert not Requisition.objects.exists()


def test_an_assessment_type_shared_by_two_families_is_resolved_by_the_job(client, connection, plan):
    other_family = RoleFamilyFactory(title_pattern="engineer")
    other = InterviewPlanFactory(
        role_family=other_family, vendor_test_id=TYPE_ID, launch_mode=plan.launch_mode
    )

    response = start(client, connection)

    assert response.status_code == 200
    assert Interview.objects.get().plan == other


# -- assessment.cancel -------------------------------------------------------------------------


def test_assessment_cancel_cancels_and_is_idempotent(client, connection, plan):
    assessment_id = start(client, connection).json()["results"]["assessment_id"]

    first = cancel(client, connection, assessment_id)
    again = cancel(client, connection, assessment_id)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"success": True}
    interview = Interview.objects.get()
    assert interview.status == InterviewStatus.CANCELLED
    assert interview.ended_at is not None
    assert "Ashby" in interview.failure_reason


def test_a_completed_assessment_cannot_be_cancelled(client, connection, plan):
    assessment_id = start(client, connection).json()["results"]["assessment_id"]
    Interview.objects.update(status=InterviewStatus.COMPLETED)

    response = cancel(client, connection, assessment_id)

    assert response.status_code == 409
    assert response.json()["success"] is False
    assert Interview.objects.get().status == InterviewStatus.COMPLETED


def test_cancel_needs_a_known_assessment_id(client, connection, plan):
    other = with_partner_key(
        AtsConnectionFactory(slug="other-ashby", provider=Provider.ASHBY), key=PARTNER_KEY
    )
    foreign = start(client, other).json()["results"]["assessment_id"]

    missing = post(client, url("cancel", connection), {})
    unknown = cancel(client, connection, "portal-asmt-abc123")
    elsewhere = cancel(client, connection, foreign)

    assert missing.status_code == 400
    assert "assessment_id" in missing.json()["error"]
    for response in (unknown, elsewhere):
        assert response.status_code == 404
        assert response.json()["success"] is False
    assert Interview.objects.get().status == InterviewStatus.PENDING


# -- assessment.update -------------------------------------------------------------------------


def assert_typed_item(item: dict[str, Any]) -> None:
    assert (
        {"identifier", "label", "type", "value"}
        <= set(item)
        <= {
            "identifier",
            "label",
            "description",
            "type",
            "value",
        }
    )
    assert item["type"] in TYPED_ITEM_TYPES
    assert isinstance(item["identifier"], str)
    assert item["identifier"]


def test_completion_sends_assessment_update_to_the_loopback_ats(client, ats_server, plan):
    connection = with_partner_key(loopback_connection(ats_server, "ashby", slug="loop-ashby"))
    ats_server.on("POST", "/assessment.update", Reply(200, json={"success": True, "results": {}}))
    assessment_id = start(client, connection).json()["results"]["assessment_id"]
    interview = Interview.objects.select_related("application__connection").get()
    result = complete(interview, score="82.00")

    job = partner_completion_enqueue(interview=interview, result=result)
    assert writeback_relay() == 1

    assert job is not None
    job.refresh_from_db()
    assert (job.kind, job.status) == (WritebackKind.ASSESSMENT, WritebackStatus.SUCCEEDED)
    [request] = ats_server.requests("POST", "/assessment.update")
    assert ats_server.unmatched == []
    assert request.basic_auth == ("sk-loopback-api-key-0123456789", "")
    assert request.header("accept") == "application/json; version=1"
    body = request.json
    assert set(body) == {
        "assessment_id",
        "timestamp",
        "assessment_status",
        "assessment_result",
        "assessment_profile_url",
        "metadata",
    }
    assert body["assessment_id"] == assessment_id
    assert isinstance(body["timestamp"], int)
    assert body["timestamp"] == int(interview.completed_at.timestamp() * 1000)
    for key in ("assessment_status", "assessment_result", "assessment_profile_url"):
        assert_typed_item(body[key])
    assert body["assessment_status"]["value"] == "Completed"
    assert body["assessment_result"]["type"] == "numeric_score"
    assert body["assessment_result"]["value"] == 82
    assert body["assessment_profile_url"]["type"] == "url"
    assert assessment_id in body["assessment_profile_url"]["value"]
    items = {item["identifier"]: item for item in body["metadata"]}
    assert len(items) == len(body["metadata"])  # unique identifiers
    for item in body["metadata"]:
        assert_typed_item(item)
    assert items["band"] == {
        "identifier": "band",
        "label": "Score band",
        "type": "string",
        "value": "Strong",
    }
    assert items["competency_communication"]["type"] == "numeric_score"
    assert items["competency_communication"]["value"] == 80
    assert items["competency_communication"]["label"] == "Communication"
    assert items["competency_sql"]["value"] == 64.5
    assert items["summary_1"]["value"] == "Clear, structured answers."
    assert items["summary_2"]["type"] == "string"
    assert "transcript" not in json.dumps(body).lower()


def test_an_ashby_refusal_of_the_update_fails_the_job_visibly(client, ats_server, plan):
    connection = with_partner_key(loopback_connection(ats_server, "ashby", slug="loop-ashby"))
    ats_server.on(
        "POST",
        "/assessment.update",
        Reply(200, json={"success": False, "errors": ["assessment_not_found"]}),
    )
    start(client, connection)
    interview = Interview.objects.get()

    job = partner_completion_enqueue(interview=interview, result=complete(interview))
    writeback_relay()

    job.refresh_from_db()
    assert job.status == WritebackStatus.DEAD
    assert "assessment_not_found" in job.last_error


def test_a_resubmitted_result_supersedes_the_unsent_update_of_the_same_assessment(
    client, connection, plan
):
    start(client, connection)
    interview = Interview.objects.get()
    first = complete(interview, score="70.00")
    first_job = partner_completion_enqueue(interview=interview, result=first)
    first.is_current = False
    first.save(update_fields=["is_current"])
    second = InterviewResultFactory(interview=interview, version=2, score=Decimal("90.00"))

    second_job = partner_completion_enqueue(interview=interview, result=second)

    first_job.refresh_from_db()
    assert first_job.status == WritebackStatus.SUPERSEDED
    assert second_job is not None
    assert second_job.payload["assessment_result"]["value"] == 90


def test_two_assessments_of_one_application_do_not_supersede_each_other(client, connection, plan):
    start(client, connection)
    other = InterviewPlanFactory(vendor_test_id="sales", launch_mode=LaunchMode.ASHBY_ASSESSMENT)
    body = fixture("ashby_assessment_start.json")
    body["assessment_type_id"] = "sales"
    assert start(client, connection, body).status_code == 200
    jobs = [
        partner_completion_enqueue(interview=interview, result=complete(interview))
        for interview in Interview.objects.order_by("pk")
    ]

    assert {job.status for job in jobs} == {WritebackStatus.PENDING}
    assert len({job.target for job in jobs}) == 2
    assert other.interviews.count() == 1


def test_an_interview_not_started_by_ashby_is_not_reported(connection, plan):
    application = ApplicationFactory(connection=connection)
    interview = Interview.objects.create(
        application=application, plan=plan, vendor=plan.vendor, status=InterviewStatus.STARTED
    )

    assert partner_completion_enqueue(interview=interview, result=complete(interview)) is None
    assert not WritebackJob.objects.exists()


def test_the_update_body_skips_unscored_competencies(client, connection, plan):
    start(client, connection)
    interview = Interview.objects.get()
    result = complete(interview)
    CompetencyFactory(plan=plan, key="unscored", name="Unscored")

    body = assessment_update_body(interview=interview, result=result)

    identifiers = [item["identifier"] for item in body["metadata"]]
    assert "competency_unscored" not in identifiers
    assert identifiers[0] == "band"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"timestamp": 1}, "assessment_id"),
        ({"assessment_id": "a", "timestamp": "1"}, "timestamp"),
        ({"assessment_id": "a", "timestamp": 1}, "assessment_status"),
        (
            {
                "assessment_id": "a",
                "timestamp": 1,
                "assessment_status": {},
                "assessment_result": {},
            },
            "assessment_profile_url",
        ),
    ],
)
def test_the_client_refuses_an_undocumented_update_body(connection, payload, message):
    application = ApplicationFactory(connection=connection)
    job = WritebackJob(
        connection=connection,
        application=application,
        kind=WritebackKind.ASSESSMENT,
        payload=payload,
    )

    with pytest.raises(AtsPermanentError, match=message):
        AshbyClient(connection).send_writeback(job)


def test_fixture_is_the_documented_start_shape():
    body = fixture("ashby_assessment_start.json")

    assert set(body) == {"assessment_type_id", "candidate", "application", "job"}
    assert {"ashby_id", "first_name", "last_name", "email", "ashby_profile_url"} == set(
        body["candidate"]
    )
    assert {"ashby_id", "status"} == set(body["application"])
    assert {"ashby_id", "name", "ashby_job_url"} <= set(body["job"])
