"""Result summary API: what a summary holds, who may read it, artifact links, view events."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import AccessRole, AuditEvent
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN
from interviews.api import candidate_display_name
from interviews.models import InterviewResult
from tests.factories import (
    ApplicationFactory,
    CompetencyFactory,
    CompetencyScoreFactory,
    DecisionFactory,
    InterviewFactory,
    InterviewResultFactory,
    RequisitionAccessFactory,
    UserFactory,
)
from tests.helpers import ADA_LOVELACE, completed_result

pytestmark = pytest.mark.django_db


@pytest.fixture
def result(requisition):
    result = completed_result(
        requisition,
        candidate={**ADA_LOVELACE, "email": "ada@example.com"},
        score=Decimal("66.50"),
        recording_url="https://vendor.example/recordings/1",
        flags=["borderline", "low_confidence"],
    )
    plan = result.interview.plan
    empathy = CompetencyFactory(plan=plan, key="empathy", name="Empathy", position=0)
    solving = CompetencyFactory(plan=plan, key="solving", name="Problem solving", position=1)
    CompetencyScoreFactory(result=result, competency=solving, score=Decimal("61"))
    CompetencyScoreFactory(result=result, competency=empathy, score=Decimal("74.5"))
    return result


def _url(result):
    return reverse("api:result-detail", args=[str(result.interview.public_id)])


def _get(user, url):
    client = Client()
    client.force_login(user)
    return client.get(url)


def _hiring_manager(requisition):
    user = UserFactory(groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    return user


def test_summary_contents_for_the_recruiter(alice, result) -> None:
    decision = DecisionFactory(result=result, outcome="hold")
    response = _get(alice, _url(result))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["interview"]["public_id"] == str(result.interview.public_id)
    assert body["interview"]["status"] == "completed"
    assert body["interview"]["is_rehearsal"] is False
    assert body["requisition"] == {
        "id": result.interview.application.requisition_id,
        "title": "Customer Support Specialist",
    }
    assert body["candidate"] == {"display_name": "Ada L."}
    assert body["version"] == 1
    assert body["score"] == 66.5
    assert body["band"] == "proceed"
    assert body["band_label"] == "Proceed"
    assert body["recommended_outcome"] == "advance"
    assert body["flags"] == [
        {"code": "borderline", "label": "Score within the margin of a band cut"},
        {"code": "low_confidence", "label": "Vendor confidence below threshold"},
    ]
    assert body["summary_bullets"] == result.summary_bullets
    assert [(c["key"], c["score"]) for c in body["competencies"]] == [
        ("empathy", 74.5),
        ("solving", 61),
    ]
    assert [d["id"] for d in body["decisions"]] == [decision.pk]
    assert body["current_decision"] == decision.pk
    assert body["capabilities"] == {
        "view_transcript": True,
        "view_recording": True,
        "decide": True,
        "override": True,
    }
    # Signed links of our own, never the vendor's URLs.
    assert body["artifacts"]["transcript"].startswith("http://testserver/artifacts/")
    assert body["artifacts"]["recording"].startswith("http://testserver/artifacts/")
    text = response.content.decode()
    assert "vendor.example" not in text
    assert "ada@example.com" not in text
    assert "Lovelace" not in text


def test_opening_a_summary_records_a_view_event(alice, result) -> None:
    _get(alice, _url(result))
    event = AuditEvent.objects.get()
    assert event.action == "summary.view"
    assert event.actor == alice
    assert event.object_type == "interviews.interviewresult"
    assert event.object_id == str(result.pk)


def test_hiring_manager_reads_a_summary_without_artifacts_or_actions(requisition, result) -> None:
    manager = _hiring_manager(requisition)
    body = _get(manager, _url(result)).json()
    assert body["score"] == 66.5
    assert body["artifacts"]["transcript"] is None
    assert body["artifacts"]["recording"] is None
    # The vendor's report is part of the summary capability (governance.artifacts).
    assert body["artifacts"]["report"].startswith("http://testserver/artifacts/")
    assert body["capabilities"] == {
        "view_transcript": False,
        "view_recording": False,
        "decide": False,
        "override": False,
    }


@pytest.mark.parametrize("group", [AUDITOR, HIRING_OPS_ADMIN])
def test_auditors_and_admins_read_summaries_without_transcripts(role_groups, result, group) -> None:
    body = _get(UserFactory(groups=[group]), _url(result)).json()
    assert body["band"] == "proceed"
    assert body["artifacts"]["transcript"] is None
    assert body["artifacts"]["recording"] is None
    assert body["capabilities"]["decide"] is False


def test_auditor_granted_transcripts_explicitly_gets_the_link(role_groups, result) -> None:
    auditor = UserFactory(groups=[AUDITOR])
    auditor.user_permissions.add(Permission.objects.get(codename="view_transcript"))
    body = _get(auditor, _url(result)).json()
    assert body["artifacts"]["transcript"].startswith("http://testserver/artifacts/")
    assert body["artifacts"]["recording"] is None


def test_deleted_artifacts_have_no_links(alice, result) -> None:
    InterviewResult.objects.filter(pk=result.pk).update(artifacts_deleted_at=timezone.now())
    body = _get(alice, _url(result)).json()
    assert body["artifacts"] == {"transcript": None, "recording": None, "report": None}


def test_summary_shows_the_current_version(alice, result) -> None:
    InterviewResult.objects.filter(pk=result.pk).update(is_current=False)
    InterviewResultFactory(interview=result.interview, version=2, score=Decimal("85"))
    body = _get(alice, _url(result)).json()
    assert (body["version"], body["band"], body["recommended_outcome"]) == (2, "strong", "advance")


@pytest.mark.parametrize("who", ["charlie", "other_manager", "no_role"])
def test_summary_outside_the_scope_is_404_and_leaks_nothing(
    role_groups, charlie, other_requisition, result, who
) -> None:
    user = {
        "charlie": charlie,
        "other_manager": _hiring_manager(other_requisition),
        "no_role": UserFactory(),
    }[who]
    response = _get(user, _url(result))
    assert response.status_code == 404
    text = response.content.decode()
    assert json.loads(text) == {"detail": "Not found.", "code": "not_found"}
    assert AuditEvent.objects.count() == 0


def test_unknown_interview_is_404(alice) -> None:
    response = _get(alice, "/api/v1/results/3f1c9c0e-8a8b-4c8e-9d7e-2b7a4f1e0c11/")
    assert response.status_code == 404


def test_interview_without_a_result_is_404(alice, requisition) -> None:
    application = ApplicationFactory(
        requisition=requisition,
        connection=requisition.connection,
        candidate__connection=requisition.connection,
    )
    interview = InterviewFactory(invited=True, application=application)
    response = _get(alice, f"/api/v1/results/{interview.public_id}/")
    assert response.status_code == 404


def test_anonymous_is_401(result) -> None:
    response = Client().get(_url(result))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_summary_is_read_only(alice, result) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post(_url(result), data="{}", content_type="application/json")
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [("Ada", "Lovelace", "Ada L."), ("Ada", "", "Ada"), ("", "lovelace", "L."), ("", "", "")],
)
def test_candidate_display_name(first, last, expected) -> None:
    assert candidate_display_name(first, last) == expected
