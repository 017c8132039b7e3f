"""Greenhouse Assessment Partner API endpoints, against the documented shapes.

https://developers.greenhouse.io/assessment.html: list_tests, send_test, test_status,
response_error (Basic auth, key as username) and the PATCH that marks a test complete. Requests
are built from tests/fixtures/partners/*.json; the completion PATCH goes over real sockets to
the loopback ATS through the writeback relay. Also the admin's write-only partner key.
"""

from __future__ import annotations

import json
import logging
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.connectors.greenhouse.client import Client as GreenhouseClient
from integrations.connectors.greenhouse.client import assessment_callback_allowed
from integrations.http import AtsPermanentError
from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    CanonicalStage,
    ConnectionMode,
    Provider,
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
)
from interviews.partners import greenhouse
from interviews.partners import services as partner_services
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
    RequisitionFactory,
    RoleFamilyMembershipFactory,
    StopSwitchFactory,
)
from tests.helpers import basic_auth, partner_fixture, partner_plan, set_partner_key

PARTNER_KEY = "gh-partner-key-0123456789abcdefghijklmnop"
TEST_ID = "support-screen-v1"
CALLBACK_PATH = "/integrations/testing_partners/take_home_tests/12345"

pytestmark = pytest.mark.django_db


fixture = partner_fixture
basic = basic_auth


def with_partner_key(connection: AtsConnection, key: str = PARTNER_KEY) -> AtsConnection:
    return set_partner_key(connection, key)


@pytest.fixture
def connection() -> AtsConnection:
    return with_partner_key(
        AtsConnectionFactory(slug="acme-gh", provider=Provider.GREENHOUSE, mode=ConnectionMode.LIVE)
    )


@pytest.fixture
def plan() -> Any:
    return partner_plan(TEST_ID, LaunchMode.GREENHOUSE_ASSESSMENT)


def url(name: str, connection: AtsConnection) -> str:
    return reverse(f"interviews:greenhouse-{name}", args=[connection.slug])


def get(client: Any, path: str, *, key: str | None = PARTNER_KEY, **params: str) -> Any:
    headers = {"HTTP_AUTHORIZATION": basic(key)} if key is not None else {}
    return client.get(path, params, **headers)


def post(client: Any, path: str, body: Any, *, key: str | None = PARTNER_KEY) -> Any:
    headers = {"HTTP_AUTHORIZATION": basic(key)} if key is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data, content_type="application/json", **headers)


def send(client: Any, connection: AtsConnection, body: dict[str, Any] | None = None) -> Any:
    return post(client, url("send-test", connection), body or fixture("greenhouse_send_test.json"))


def complete(interview: Interview, *, score: str = "82.00") -> Any:
    """The interview completed with a current result (and two competency subscores)."""
    now = timezone.now()
    Interview.objects.filter(pk=interview.pk).update(
        status=InterviewStatus.COMPLETED, invited_at=now, completed_at=now, ended_at=now
    )
    interview.refresh_from_db()
    result = InterviewResultFactory(interview=interview, score=Decimal(score))
    for key, name, subscore in (("communication", "Communication", "80"), ("sql", "SQL", "64.5")):
        competency = CompetencyFactory(plan=interview.plan, key=key, name=name)
        CompetencyScoreFactory(result=result, competency=competency, score=Decimal(subscore))
    return result


# -- authentication ----------------------------------------------------------------------------


def test_missing_basic_auth_is_401_with_a_challenge_and_counted(client, connection, plan):
    response = get(client, url("list-tests", connection), key=None)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "HTTP Basic authentication is required"}
    assert response["WWW-Authenticate"].startswith("Basic realm=")
    failure = SignatureFailure.objects.get(connection=connection)
    assert failure.reason == "assessment partner call: missing Basic auth"


@pytest.mark.parametrize(
    "header",
    [
        basic("not-the-partner-key-0123456789"),
        basic(PARTNER_KEY[:-1]),
        basic(""),
        "Bearer " + PARTNER_KEY,
        "Basic not-base64!!",
    ],
)
def test_a_wrong_or_malformed_key_is_401_and_nothing_is_launched(client, connection, plan, header):
    body = json.dumps(fixture("greenhouse_send_test.json"))
    response = client.post(
        url("send-test", connection),
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )

    assert response.status_code == 401
    assert "error" in response.json()
    assert response["WWW-Authenticate"]
    assert not Interview.objects.exists()
    assert not Candidate.objects.exists()


def test_the_key_is_the_basic_username_and_the_password_is_ignored(client, connection, plan):
    response = client.get(
        url("list-tests", connection), HTTP_AUTHORIZATION=basic(PARTNER_KEY, "anything")
    )

    assert response.status_code == 200


def test_a_connection_without_a_partner_key_refuses_every_key(client, plan):
    bare = AtsConnectionFactory(slug="bare-gh", provider=Provider.GREENHOUSE)

    response = get(client, url("list-tests", bare), key="")

    assert response.status_code == 401
    assert get(client, url("list-tests", bare)).status_code == 401


def test_another_connections_key_is_refused(client, connection, plan):
    other = with_partner_key(
        AtsConnectionFactory(slug="other-gh", provider=Provider.GREENHOUSE),
        key="the-other-connections-key-0123456789",
    )

    response = get(
        client, url("list-tests", connection), key="the-other-connections-key-0123456789"
    )

    assert response.status_code == 401
    assert get(client, url("list-tests", other), key=PARTNER_KEY).status_code == 401


def test_unknown_inactive_or_non_greenhouse_connections_are_404_json(client, connection, plan):
    ashby = with_partner_key(AtsConnectionFactory(slug="acme-ashby", provider=Provider.ASHBY))
    inactive = with_partner_key(
        AtsConnectionFactory(slug="old-gh", provider=Provider.GREENHOUSE, active=False)
    )

    for slug in ("nope", ashby.slug, inactive.slug):
        response = get(client, reverse("interviews:greenhouse-list-tests", args=[slug]))
        assert response.status_code == 404
        assert "error" in response.json()
    response = get(client, f"/partners/greenhouse/{connection.slug}/no_such_call")
    assert response.status_code == 404
    assert response.json() == {"error": "no assessment-partner endpoint at this address"}


def test_a_wrong_method_is_405_json_with_allow(client, connection, plan):
    response = post(client, url("list-tests", connection), {})

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert "error" in response.json()
    assert get(client, url("send-test", connection)).status_code == 405


# -- list_tests --------------------------------------------------------------------------------


def test_list_tests_lists_running_greenhouse_plans_as_documented(client, connection, plan):
    InterviewPlanFactory(
        name="Sales screen",
        vendor_test_id="sales-screen",
        launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT,
        status=PlanStatus.PILOT,
    )
    InterviewPlanFactory(
        vendor_test_id="draft", launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT, status="draft"
    )
    InterviewPlanFactory(
        vendor_test_id="paused", launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT, status="paused"
    )
    InterviewPlanFactory(vendor_test_id="ashby-only", launch_mode=LaunchMode.ASHBY_ASSESSMENT)
    InterviewPlanFactory(vendor_test_id="stage", launch_mode=LaunchMode.STAGE_CHANGE)
    # A second family using the same test is listed once.
    InterviewPlanFactory(
        vendor_test_id=TEST_ID, launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT, status="live"
    )

    response = get(client, url("list-tests", connection))

    assert response.status_code == 200
    tests = response.json()
    assert isinstance(tests, list)
    assert {t["partner_test_id"] for t in tests} == {TEST_ID, "sales-screen"}
    for test in tests:
        assert set(test) == {"partner_test_id", "partner_test_name"}
        assert isinstance(test["partner_test_id"], str)
        assert isinstance(test["partner_test_name"], str)
        assert test["partner_test_name"]


def test_list_tests_is_an_empty_array_without_plans(client, connection):
    assert get(client, url("list-tests", connection)).json() == []


# -- send_test ---------------------------------------------------------------------------------


def test_send_test_launches_an_interview_and_answers_its_id(client, connection, plan):
    response = send(client, connection)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"partner_interview_id"}
    assert isinstance(body["partner_interview_id"], str)
    interview = Interview.objects.get()
    assert body["partner_interview_id"] == str(interview.public_id)
    assert interview.plan == plan
    assert interview.status == InterviewStatus.PENDING
    assert interview.launch_source == LaunchSource.GREENHOUSE_SEND_TEST
    assert interview.callback_url == fixture("greenhouse_send_test.json")["url"]
    assert interview.is_rehearsal is False
    # Ids read from https://app.greenhouse.io/people/17681532?application_id=26234709
    application = interview.application
    assert application.connection == connection
    assert application.remote_id == "26234709"
    assert application.candidate.remote_id == "17681532"
    assert application.candidate.email == "hpotter@hogwarts.example"
    assert application.candidate.first_name == "Harry"
    assert application.requisition.remote_id == greenhouse.PLACEHOLDER_JOB_ID
    assert application.canonical_stage == plan.trigger_stage
    assert application.last_event_at is None


def test_the_same_send_test_twice_answers_the_same_id(client, connection, plan):
    first = send(client, connection).json()
    second = send(client, connection).json()

    assert first == second
    assert Interview.objects.count() == 1
    assert Application.objects.count() == 1
    assert Candidate.objects.count() == 1


def test_a_resent_test_reports_completion_to_the_newest_url(client, connection, plan):
    body = fixture("greenhouse_send_test.json")
    first = send(client, connection, body).json()
    body["url"] = "https://app.greenhouse.io/integrations/testing_partners/take_home_tests/999"

    second = send(client, connection, body).json()

    assert first == second
    assert Interview.objects.get().callback_url == body["url"]


def test_send_test_uses_an_application_the_webhooks_already_synced(client, connection, plan):
    candidate = CandidateFactory(connection=connection, remote_id="17681532", email="")
    requisition = RequisitionFactory(connection=connection, remote_id="3485", title="Support")
    synced = ApplicationFactory(
        connection=connection,
        remote_id="26234709",
        candidate=candidate,
        requisition=requisition,
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
    )

    response = send(client, connection)

    assert response.status_code == 200
    interview = Interview.objects.get()
    assert interview.application == synced
    assert interview.application.requisition == requisition
    first_name = candidate.first_name
    candidate.refresh_from_db()
    # An empty field is filled; nothing the sync stored is overwritten.
    assert candidate.email == "hpotter@hogwarts.example"
    assert candidate.first_name == first_name


@pytest.mark.parametrize(
    ("profile_url", "candidate_id", "application_id"),
    [
        (
            "https://app.greenhouse.io/people/17681532?application_id=26234709",
            "17681532",
            "26234709",
        ),
        ("https://app.eu.greenhouse.io/people/42/?application_id=7&src=x", "42", "7"),
        ("https://app.greenhouse.io/people/42?foo=1&application_id=7#notes", "42", "7"),
    ],
)
def test_profile_url_ids_are_read_robustly(profile_url, candidate_id, application_id):
    ids = greenhouse.profile_ids(profile_url)

    assert (ids.candidate_id, ids.application_id, ids.derived) == (
        candidate_id,
        application_id,
        False,
    )


def test_an_unreadable_profile_url_gets_a_stable_derived_id():
    ids = greenhouse.profile_ids("https://app.greenhouse.io/candidates/abc?b=2&a=1")
    again = greenhouse.profile_ids("HTTPS://APP.GREENHOUSE.IO/candidates/abc/?a=1&b=2")
    other = greenhouse.profile_ids("https://app.greenhouse.io/candidates/abd")
    half = greenhouse.profile_ids("https://app.greenhouse.io/people/42")

    assert ids.derived is True
    assert ids.candidate_id == ids.application_id
    assert ids.application_id.startswith(greenhouse.DERIVED_ID_PREFIX)
    assert again.application_id == ids.application_id
    assert other.application_id != ids.application_id
    assert (half.candidate_id, half.derived) == ("42", True)
    assert half.application_id.startswith(greenhouse.DERIVED_ID_PREFIX)


def test_send_test_with_an_unreadable_profile_url_is_still_idempotent(client, connection, plan):
    body = fixture("greenhouse_send_test.json")
    body["candidate"]["greenhouse_profile_url"] = "https://app.greenhouse.io/candidates/abc"

    first = send(client, connection, body)
    second = send(client, connection, body)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    application = Interview.objects.get().application
    assert application.remote_id.startswith(greenhouse.DERIVED_ID_PREFIX)
    assert application.candidate.remote_id == application.remote_id


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("{not json", 400, "not valid JSON"),
        ("", 400, "empty"),
        ("[1, 2]", 400, "must be a JSON object"),
        ({"partner_test_id": TEST_ID}, 400, "'candidate' must be an object"),
        ({"candidate": {}}, 400, "missing or empty: partner_test_id, candidate.first_name"),
    ],
)
def test_a_malformed_send_test_is_400_and_stores_nothing(
    client, connection, plan, body, status, message
):
    response = post(client, url("send-test", connection), body)

    assert response.status_code == status
    assert message in response.json()["error"]
    assert not Interview.objects.exists()
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("url",), None, "missing or empty: url"),
        (("candidate", "email"), "", "missing or empty: candidate.email"),
        (("candidate", "greenhouse_profile_url"), None, "candidate.greenhouse_profile_url"),
        (("candidate", "email"), "not-an-address", "not an e-mail address"),
        (("candidate", "greenhouse_profile_url"), "ftp://x/people/1", "must be an http(s) URL"),
        (("url",), "https://evil.example/take_home_tests/1", "'url' must be"),
        (("url",), "http://app.greenhouse.io/take_home_tests/1", "'url' must be"),
        (("partner_test_id",), {"id": 1}, "missing or empty: partner_test_id"),
        (("url",), "https://app.greenhouse.io/" + "x" * 1000, "longer than 1000 characters"),
    ],
)
def test_send_test_fields_are_validated(client, connection, plan, path, value, message):
    body = fixture("greenhouse_send_test.json")
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value

    response = send(client, connection, body)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Interview.objects.exists()


def test_an_unknown_partner_test_id_is_404_and_stores_nothing(client, connection, plan):
    body = fixture("greenhouse_send_test.json")
    body["partner_test_id"] = "no-such-test"

    response = send(client, connection, body)

    assert response.status_code == 404
    assert response.json() == {"error": "unknown partner_test_id 'no-such-test'"}
    assert not Application.objects.exists()
    assert not Candidate.objects.exists()


def test_a_numeric_partner_test_id_is_read_as_a_string(client, connection):
    numeric = InterviewPlanFactory(
        vendor_test_id="12345", launch_mode=LaunchMode.GREENHOUSE_ASSESSMENT
    )
    body = fixture("greenhouse_send_test.json")
    body["partner_test_id"] = 12345

    response = send(client, connection, body)

    assert response.status_code == 200
    assert Interview.objects.get().plan == numeric


def test_a_test_id_shared_by_two_families_follows_the_requisitions_family(client, connection, plan):
    other = InterviewPlanFactory(vendor_test_id=TEST_ID, launch_mode=plan.launch_mode)
    requisition = RequisitionFactory(connection=connection)
    RoleFamilyMembershipFactory(requisition=requisition, role_family=other.role_family)
    ApplicationFactory(connection=connection, remote_id="26234709", requisition=requisition)

    assert send(client, connection).status_code == 200
    assert Interview.objects.get().plan == other

    body = fixture("greenhouse_send_test.json")
    body["candidate"]["greenhouse_profile_url"] = (
        "https://app.greenhouse.io/people/1?application_id=2"
    )
    response = send(client, connection, body)
    assert response.status_code == 422
    assert "used by 2 interview plans" in response.json()["error"]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("opted_out", LaunchSkipReason.OPTED_OUT),
        ("stopped", LaunchSkipReason.STOPPED),
        ("paused", LaunchSkipReason.PLAN_PAUSED),
        ("consent", LaunchSkipReason.MISSING_CONSENT),
    ],
)
def test_a_refused_launch_is_422_with_the_reason_and_recorded(
    client, connection, plan, setup, reason
):
    candidate = CandidateFactory(connection=connection, remote_id="17681532")
    ApplicationFactory(connection=connection, remote_id="26234709", candidate=candidate)
    if setup == "opted_out":
        Candidate.objects.filter(pk=candidate.pk).update(opted_out=True)
    elif setup == "stopped":
        StopSwitchFactory(plan=plan)
    elif setup == "paused":
        plan.status = PlanStatus.PAUSED
        plan.save()
    else:
        plan.required_consents = ["video_recording"]
        plan.save()

    response = send(client, connection)

    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == reason
    assert body["error"] == LaunchSkipReason(reason).label
    assert not Interview.objects.exists()
    skip = LaunchSkip.objects.get()
    assert (skip.plan, skip.reason) == (plan, reason)


def test_documented_nulls_for_optional_fields_are_accepted(client, connection, plan):
    body = fixture("greenhouse_send_test.json")
    for name in ("preferred_name", "resume_url", "phone_number"):
        body["candidate"][name] = None
    body["sent_by"] = None

    assert send(client, connection, body).status_code == 200


def test_an_unexpected_error_is_503_and_rolls_back_what_the_request_wrote(
    client, connection, plan, monkeypatch
):
    def boom(**kwargs: Any) -> Interview:
        raise RuntimeError("a bug")

    monkeypatch.setattr(partner_services, "interview_find_or_launch", boom)

    response = send(client, connection)

    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json() == {"error": "temporary problem handling this request; retry later"}
    assert not Application.objects.exists()
    assert not Candidate.objects.exists()


def test_a_body_over_one_mebibyte_is_413(client, connection, plan):
    body = fixture("greenhouse_send_test.json")
    body["padding"] = "x" * 1_100_000

    response = send(client, connection, body)

    assert response.status_code == 413
    assert "error" in response.json()


# -- test_status -------------------------------------------------------------------------------


def test_test_status_before_completion_is_incomplete(client, connection, plan):
    partner_interview_id = send(client, connection).json()["partner_interview_id"]

    response = get(
        client, url("test-status", connection), partner_interview_id=partner_interview_id
    )

    assert response.status_code == 200
    body = response.json()
    assert body["partner_status"] == "incomplete"
    assert "partner_score" not in body
    assert body["metadata"] == {"Status": "Pending"}


def test_test_status_after_completion_reports_score_link_and_flat_metadata(
    client, connection, plan
):
    partner_interview_id = send(client, connection).json()["partner_interview_id"]
    interview = Interview.objects.get()
    result = complete(interview, score="82.00")
    result.summary_bullets = ["Clear, structured answers.", "Limited depth on SQL tuning."]
    result.save(update_fields=["summary_bullets"])

    response = get(
        client, url("test-status", connection), partner_interview_id=partner_interview_id
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"partner_status", "partner_profile_url", "partner_score", "metadata"}
    assert body["partner_status"] == "complete"
    assert body["partner_profile_url"].startswith("http")
    assert str(interview.public_id) in body["partner_profile_url"]
    assert body["partner_score"] == 82
    assert isinstance(body["partner_score"], int | float)
    metadata = body["metadata"]
    assert all(isinstance(value, str | int | float | bool) for value in metadata.values())
    assert metadata["Score band"] == "Strong"
    assert metadata["Communication"] == 80
    assert metadata["SQL"] == 64.5
    assert metadata["Summary 1"] == "Clear, structured answers."
    assert metadata["Summary 2"] == "Limited depth on SQL tuning."
    assert metadata["Completed At"]
    # No transcript, recording or raw vendor data in the ATS.
    flat = json.dumps(body)
    assert "transcript" not in flat.lower()
    assert "recording" not in flat.lower()


@pytest.mark.parametrize("status", ["expired", "cancelled", "failed"])
def test_an_interview_that_ended_without_a_result_is_incomplete(client, connection, plan, status):
    partner_interview_id = send(client, connection).json()["partner_interview_id"]
    Interview.objects.update(status=status)

    body = get(
        client, url("test-status", connection), partner_interview_id=partner_interview_id
    ).json()

    assert body["partner_status"] == "incomplete"
    assert body["metadata"]["Status"] == InterviewStatus(status).label


def test_test_status_needs_a_known_partner_interview_id(client, connection, plan):
    send(client, connection)
    other = with_partner_key(AtsConnectionFactory(slug="other-gh", provider=Provider.GREENHOUSE))
    foreign = post(client, url("send-test", other), fixture("greenhouse_send_test.json")).json()[
        "partner_interview_id"
    ]

    missing = get(client, url("test-status", connection))
    unknown = get(client, url("test-status", connection), partner_interview_id=str(uuid.uuid4()))
    garbage = get(client, url("test-status", connection), partner_interview_id="98765")
    elsewhere = get(client, url("test-status", connection), partner_interview_id=foreign)

    assert missing.status_code == 400
    assert "partner_interview_id" in missing.json()["error"]
    for response in (unknown, garbage, elsewhere):
        assert response.status_code == 404
        assert "unknown partner_interview_id" in response.json()["error"]


def test_test_status_without_auth_is_401(client, connection, plan):
    partner_interview_id = send(client, connection).json()["partner_interview_id"]

    response = get(
        client, url("test-status", connection), key=None, partner_interview_id=partner_interview_id
    )

    assert response.status_code == 401


# -- response_error ----------------------------------------------------------------------------


def test_response_error_is_logged_without_the_email_and_answered_200(client, connection, caplog):
    with caplog.at_level(logging.WARNING, logger="interviews.partners.greenhouse"):
        response = post(
            client, url("response-error", connection), fixture("greenhouse_response_error.json")
        )

    assert response.status_code == 200
    assert response.json() == {"status": 200}
    logged = caplog.text
    assert "test_status" in logged
    assert "partner_profile url is missing" in logged
    assert "299506" in logged
    assert "hpotter@hogwarts.example" not in logged


def test_response_error_with_only_the_required_fields_is_200(client, connection):
    response = post(
        client, url("response-error", connection), {"api_call": "list_tests", "errors": []}
    )

    assert response.status_code == 200


def test_a_malformed_response_error_is_400_and_without_auth_401(client, connection):
    assert post(client, url("response-error", connection), "{oops").status_code == 400
    assert post(client, url("response-error", connection), {}, key=None).status_code == 401


# -- completion: PATCH the callback URL through the outbox -------------------------------------


def test_completion_patches_the_callback_url_at_the_loopback_ats(client, ats_server, plan):
    connection = with_partner_key(loopback_connection(ats_server, "greenhouse", slug="loop-gh"))
    ats_server.on("PATCH", "/integrations/testing_partners/take_home_tests/{id}", Reply(200))
    body = fixture("greenhouse_send_test.json")
    body["url"] = f"{ats_server.url}{CALLBACK_PATH}"
    partner_interview_id = send(client, connection, body).json()["partner_interview_id"]
    interview = Interview.objects.select_related("application__connection").get()
    result = complete(interview)

    job = partner_completion_enqueue(interview=interview, result=result)
    handled = writeback_relay()

    assert handled == 1
    assert job is not None
    job.refresh_from_db()
    assert (job.kind, job.status, job.attempts) == (
        WritebackKind.ASSESSMENT,
        WritebackStatus.SUCCEEDED,
        1,
    )
    assert job.target == f"assessment:{partner_interview_id}"
    [patch] = ats_server.requests("PATCH", CALLBACK_PATH)
    assert patch.raw_body == b""
    assert patch.basic_auth == (PARTNER_KEY, "")
    assert ats_server.unmatched == []
    # Greenhouse then asks test_status, which now reports the result.
    status = get(client, url("test-status", connection), partner_interview_id=partner_interview_id)
    assert status.json()["partner_status"] == "complete"


def test_a_refused_completion_patch_ends_dead_and_visible(client, ats_server, plan):
    connection = with_partner_key(loopback_connection(ats_server, "greenhouse", slug="loop-gh"))
    ats_server.on(
        "PATCH",
        "/integrations/testing_partners/take_home_tests/{id}",
        Reply(422, json={"errors": ["You can only update test statuses for active candidates"]}),
    )
    body = fixture("greenhouse_send_test.json")
    body["url"] = f"{ats_server.url}{CALLBACK_PATH}"
    send(client, connection, body)
    interview = Interview.objects.get()

    job = partner_completion_enqueue(interview=interview, result=complete(interview))
    writeback_relay()

    job.refresh_from_db()
    assert job.status == WritebackStatus.DEAD
    assert "422" in job.last_error
    assert PARTNER_KEY not in job.last_error


def test_a_sandbox_connection_records_the_completion_without_sending(client, connection, plan):
    AtsConnection.objects.filter(pk=connection.pk).update(mode=ConnectionMode.SANDBOX)
    connection.refresh_from_db()
    send(client, connection)
    interview = Interview.objects.get()

    job = partner_completion_enqueue(interview=interview, result=complete(interview))

    assert interview.is_rehearsal is True
    assert job is not None
    assert job.status == WritebackStatus.SANDBOXED
    assert job.payload["callback_url"] == interview.callback_url


def test_no_completion_call_for_a_rehearsal_on_a_live_connection_or_an_old_version(
    client, connection, plan
):
    send(client, connection)
    interview = Interview.objects.get()
    result = complete(interview)
    Interview.objects.filter(pk=interview.pk).update(is_rehearsal=True)
    interview.refresh_from_db()

    assert partner_completion_enqueue(interview=interview, result=result) is None

    Interview.objects.filter(pk=interview.pk).update(is_rehearsal=False)
    interview.refresh_from_db()
    result.is_current = False
    result.save(update_fields=["is_current"])
    assert partner_completion_enqueue(interview=interview, result=result) is None
    assert not WritebackJob.objects.exists()


def test_no_completion_call_for_an_interview_launched_by_a_stage_change(connection, plan):
    application = ApplicationFactory(connection=connection)
    interview = Interview.objects.create(
        application=application, plan=plan, vendor=plan.vendor, status=InterviewStatus.STARTED
    )
    result = complete(interview)

    assert partner_completion_enqueue(interview=interview, result=result) is None


def test_the_client_refuses_a_completion_url_off_greenhouse(connection):
    job = WritebackJob(
        connection=connection,
        kind=WritebackKind.ASSESSMENT,
        payload={"callback_url": "https://evil.example/steal", "partner_interview_id": "x"},
    )

    with pytest.raises(AtsPermanentError, match="callback_url"):
        GreenhouseClient(connection).send_writeback(job)


@pytest.mark.parametrize(
    ("callback", "allowed"),
    [
        ("https://app.greenhouse.io/integrations/testing_partners/take_home_tests/1", True),
        ("https://app.eu.greenhouse.io/integrations/testing_partners/take_home_tests/1", True),
        ("https://greenhouse.io/x", True),
        ("http://app.greenhouse.io/x", False),
        ("https://greenhouse.io.evil.example/x", False),
        ("https://evilgreenhouse.io/x", False),
        ("https://app.greenhouse.io:bad/x", False),
        ("/relative/path", False),
        ("javascript:alert(1)", False),
    ],
)
def test_completion_urls_must_be_on_greenhouse(connection, callback, allowed):
    assert assessment_callback_allowed(connection, callback) is allowed


def test_completion_urls_may_use_the_connections_own_origin_or_listed_hosts(connection):
    connection.base_url = "http://127.0.0.1:8099"
    connection.settings = {"assessment_callback_hosts": ["gh-proxy.internal"]}

    assert assessment_callback_allowed(connection, "http://127.0.0.1:8099/x/1")
    assert not assessment_callback_allowed(connection, "http://127.0.0.1:8100/x/1")
    assert assessment_callback_allowed(connection, "https://gh-proxy.internal/x")


# -- admin: the partner key is write-only ------------------------------------------------------


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def admin_form_data(connection: AtsConnection, **overrides: str) -> dict[str, str]:
    data = {
        "name": connection.name,
        "provider": connection.provider,
        "mode": connection.mode,
        "base_url": connection.base_url,
        "webhook_secret_env": "",
        "new_webhook_secret": "",
        "api_key_env": "",
        "new_api_key": "",
        "partner_key_env": "",
        "new_partner_key": "",
        "api_client_id": "",
        "on_behalf_of": "",
        "settings": json.dumps(connection.settings),
        "stage_mappings-TOTAL_FORMS": "0",
        "stage_mappings-INITIAL_FORMS": "0",
        "stage_mappings-MIN_NUM_FORMS": "0",
        "stage_mappings-MAX_NUM_FORMS": "1000",
        "active": "on",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def change_url(connection: AtsConnection) -> str:
    return reverse("admin:integrations_atsconnection_change", args=[connection.pk])


def test_admin_stores_a_new_partner_key_encrypted_and_never_shows_it(client, superuser, plan):
    connection = AtsConnectionFactory(slug="admin-gh", provider=Provider.GREENHOUSE)
    client.force_login(superuser)
    new_key = "brand-new-partner-key-0123456789"

    response = client.post(
        change_url(connection), admin_form_data(connection, new_partner_key=new_key)
    )

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.partner_key() == new_key
    assert new_key not in connection.partner_key_encrypted
    page = client.get(change_url(connection))
    assert page.status_code == 200
    assert new_key.encode() not in page.content
    assert connection.partner_key_encrypted.encode() not in page.content
    assert b'name="new_partner_key"' in page.content
    assert b"Stored encrypted in the database" in page.content
    listing = client.get(reverse("admin:integrations_atsconnection_changelist"))
    assert new_key.encode() not in listing.content
    assert b"Partner key configured" in listing.content
    # The key now opens the partner endpoints.
    client.logout()
    assert get(client, url("list-tests", connection), key=new_key).status_code == 200


def test_admin_partner_key_blank_keeps_clear_removes_and_bad_lengths_are_refused(client, superuser):
    connection = with_partner_key(AtsConnectionFactory(slug="admin-gh", provider="greenhouse"))
    stored = connection.partner_key_encrypted
    client.force_login(superuser)

    client.post(change_url(connection), admin_form_data(connection))
    connection.refresh_from_db()
    assert connection.partner_key_encrypted == stored

    for bad in ("short", "x" * 171):
        response = client.post(
            change_url(connection), admin_form_data(connection, new_partner_key=bad)
        )
        assert response.status_code == 200  # the form again, with the error
        assert bad.encode() not in response.content
        connection.refresh_from_db()
        assert connection.partner_key_encrypted == stored

    client.post(change_url(connection), admin_form_data(connection, clear_partner_key="on"))
    connection.refresh_from_db()
    assert connection.partner_key_encrypted == ""
    assert not connection.has_secret("partner_key")


def test_admin_refuses_a_typed_partner_key_while_an_environment_variable_is_named(
    client, superuser
):
    connection = AtsConnectionFactory(slug="admin-gh", provider="greenhouse")
    client.force_login(superuser)

    response = client.post(
        change_url(connection),
        admin_form_data(
            connection,
            partner_key_env="ACME_PARTNER_KEY",
            new_partner_key="typed-partner-key-0123456789abc",
        ),
    )

    assert response.status_code == 200
    assert b"ACME_PARTNER_KEY" in response.content
    connection.refresh_from_db()
    assert connection.partner_key_encrypted == ""


def test_fixture_is_the_documented_send_test_shape():
    body = fixture("greenhouse_send_test.json")

    assert set(body) == {"partner_test_id", "candidate", "sent_by", "url"}
    assert set(body["candidate"]) == {
        "first_name",
        "last_name",
        "preferred_name",
        "resume_url",
        "phone_number",
        "email",
        "greenhouse_profile_url",
    }
