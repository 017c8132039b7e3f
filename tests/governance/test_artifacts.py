"""Artifact links: only for users who may open the artifact, bound to that user, short-lived,
checked again when opened, recorded as a view event, and silent about what they point to."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from governance.artifacts import SALT, artifact_url
from governance.models import AccessRole, AuditEvent, RequisitionAccess
from interviews.models import InterviewResult
from tests.factories import InterviewResultFactory, RequisitionAccessFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
TRANSCRIPT = "https://vendor.example/transcripts/secret-path-77"
RECORDING = "https://vendor.example/recordings/secret-path-78"
REPORT = "https://vendor.example/reports/secret-path-79"


@pytest.fixture
def result(requisition: Any) -> InterviewResult:
    return InterviewResultFactory(
        interview__application__requisition=requisition,
        interview__application__candidate__first_name="Zebedee",
        interview__application__candidate__last_name="Quartermaine",
        transcript_url=TRANSCRIPT,
        recording_url=RECORDING,
        report_url=REPORT,
    )


@pytest.fixture
def hank(role_groups: None, requisition: Any) -> Any:
    """A hiring manager on the same requisition: summaries, but no transcripts or recordings."""
    grant = RequisitionAccessFactory(requisition=requisition, role=AccessRole.HIRING_MANAGER)
    return grant.user


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def forged(result: InterviewResult, kind: str, user: Any) -> str:
    """A correctly signed token (someone who knows SECRET_KEY — or our own bug)."""
    return "/artifacts/" + signing.dumps({"r": result.pk, "k": kind, "u": user.pk}, salt=SALT) + "/"


def views() -> list[tuple[str, str, str]]:
    return list(AuditEvent.objects.values_list("actor_label", "action", "object_id"))


def assert_nothing_leaks(response: Any, result: InterviewResult) -> None:
    body = response.content.decode()
    for secret in ("vendor.example", "secret-path", "Zebedee", "Quartermaine", str(result.score)):
        assert secret not in body
    assert "Location" not in response


# -- allow -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "target"),
    [("transcript", TRANSCRIPT), ("recording", RECORDING), ("report", REPORT)],
)
def test_a_recruiter_opens_an_artifact_and_the_view_is_recorded(alice, result, kind, target):
    link = artifact_url(user=alice, interview_or_result=result, kind=kind)

    assert link is not None
    assert link.startswith("/artifacts/")
    assert "vendor.example" not in link
    response = signed_in(alice).get(link)

    assert response.status_code == 302
    assert response["Location"] == target
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert views() == [("alice", f"{kind}.view", str(result.pk))]


def test_an_interview_stands_for_its_current_result(alice, result):
    link = artifact_url(user=alice, interview_or_result=result.interview, kind="transcript")

    response = signed_in(alice).get(link)

    assert response["Location"] == TRANSCRIPT


def test_a_hiring_manager_may_open_the_report_but_not_the_transcript(hank, result):
    assert artifact_url(user=hank, interview_or_result=result, kind="transcript") is None
    assert artifact_url(user=hank, interview_or_result=result, kind="recording") is None
    report = artifact_url(user=hank, interview_or_result=result, kind="report")

    response = signed_in(hank).get(report)

    assert response["Location"] == REPORT


# -- deny --------------------------------------------------------------------------------------


def test_a_hiring_manager_is_refused_a_transcript_even_with_a_valid_token(alice, hank, result):
    alices_link = artifact_url(user=alice, interview_or_result=result, kind="transcript")
    client = signed_in(hank)

    # Alice's own link (made for her), and one signed for Hank himself.
    with_alices = client.get(alices_link)
    with_his_own = client.get(forged(result, "transcript", hank))

    for response in (with_alices, with_his_own):
        assert response.status_code == 403
        assert_nothing_leaks(response, result)
    assert views() == []


def test_a_recruiter_on_another_requisition_gets_no_link_and_no_artifact(charlie, result):
    assert artifact_url(user=charlie, interview_or_result=result, kind="transcript") is None

    response = signed_in(charlie).get(forged(result, "transcript", charlie))

    assert response.status_code == 403
    assert_nothing_leaks(response, result)
    assert views() == []


def test_losing_access_after_the_link_was_made_closes_it(alice, result):
    link = artifact_url(user=alice, interview_or_result=result, kind="transcript")
    RequisitionAccess.objects.filter(user=alice).delete()

    response = signed_in(alice).get(link)

    assert response.status_code == 403
    assert views() == []


def test_signed_out_users_are_sent_to_sign_in(alice, result):
    link = artifact_url(user=alice, interview_or_result=result, kind="transcript")

    response = Client().get(link)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert views() == []


def test_the_link_answers_get_only(alice, result):
    link = artifact_url(user=alice, interview_or_result=result, kind="transcript")

    assert signed_in(alice).post(link).status_code == 405
    assert views() == []


# -- expiry and tampering ----------------------------------------------------------------------


def test_a_link_expires_after_the_ttl(alice, result):
    with time_machine.travel(T0, tick=False):
        link = artifact_url(user=alice, interview_or_result=result, kind="transcript")
    client = signed_in(alice)

    with time_machine.travel(T0 + dt.timedelta(seconds=299), tick=False):
        fresh = client.get(link)
    with time_machine.travel(T0 + dt.timedelta(seconds=301), tick=False):
        stale = client.get(link)

    assert fresh.status_code == 302
    assert stale.status_code == 403
    assert "expired" in stale.content.decode()
    assert "Reopen it from the score card" in stale.content.decode()
    assert_nothing_leaks(stale, result)
    assert len(views()) == 1


def test_the_ttl_is_a_setting(alice, result, settings):
    settings.SCREENBRIDGE_ARTIFACT_LINK_TTL = 10
    with time_machine.travel(T0, tick=False):
        link = artifact_url(user=alice, interview_or_result=result, kind="transcript")

    with time_machine.travel(T0 + dt.timedelta(seconds=11), tick=False):
        assert signed_in(alice).get(link).status_code == 403


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        lambda token: "x" + token,
        lambda token: "not-a-token",
        lambda token: signing.dumps({"r": 1, "k": "transcript", "u": 1}, salt="another-salt"),
    ],
    ids=["signature", "payload", "garbage", "other-salt"],
)
def test_a_tampered_token_is_not_found(alice, result, mangle):
    link = artifact_url(user=alice, interview_or_result=result, kind="transcript")
    token = link.removeprefix("/artifacts/").removesuffix("/")

    response = signed_in(alice).get(f"/artifacts/{mangle(token)}/")

    assert response.status_code == 404
    assert_nothing_leaks(response, result)
    assert views() == []


def test_a_token_for_a_result_that_does_not_exist_is_not_found(alice, result):
    token = signing.dumps({"r": result.pk + 1000, "k": "transcript", "u": alice.pk}, salt=SALT)

    assert signed_in(alice).get(f"/artifacts/{token}/").status_code == 404


def test_a_token_with_an_unknown_kind_is_not_found(alice, result):
    token = signing.dumps({"r": result.pk, "k": "raw_payload", "u": alice.pk}, salt=SALT)

    assert signed_in(alice).get(f"/artifacts/{token}/").status_code == 404


# -- deleted or missing artifacts --------------------------------------------------------------


def test_deleted_artifacts_are_gone(alice, result):
    link = artifact_url(user=alice, interview_or_result=result, kind="transcript")
    InterviewResult.objects.filter(pk=result.pk).update(artifacts_deleted_at=timezone.now())
    result.refresh_from_db()

    response = signed_in(alice).get(link)

    assert response.status_code == 410
    assert "deleted under the retention policy" in response.content.decode()
    assert_nothing_leaks(response, result)
    assert views() == []
    assert artifact_url(user=alice, interview_or_result=result, kind="transcript") is None


def test_deleted_artifacts_of_a_result_you_may_not_see_are_not_revealed(charlie, result):
    InterviewResult.objects.filter(pk=result.pk).update(artifacts_deleted_at=timezone.now())

    response = signed_in(charlie).get(forged(result, "transcript", charlie))

    assert response.status_code == 403


def test_no_link_for_an_artifact_the_vendor_did_not_send(alice, result):
    InterviewResult.objects.filter(pk=result.pk).update(recording_url="")
    result.refresh_from_db()

    assert artifact_url(user=alice, interview_or_result=result, kind="recording") is None
    response = signed_in(alice).get(forged(result, "recording", alice))
    assert response.status_code == 404


def test_no_link_for_an_interview_without_a_result(alice, result):
    interview = result.interview
    InterviewResult.objects.filter(pk=result.pk).update(is_current=False)

    assert artifact_url(user=alice, interview_or_result=interview, kind="transcript") is None


def test_an_unknown_kind_is_a_programming_error(alice, result):
    with pytest.raises(ValueError, match="unknown artifact kind"):
        artifact_url(user=alice, interview_or_result=result, kind="raw_payload")


def test_script_clients_get_json_errors(alice, result):
    response = signed_in(alice).get("/artifacts/garbage/", HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert response.json() == {"error": "This artifact link is not valid."}
