"""Score card page (/results/<public id>/) and the hiring-manager home cards: scope, view
events, artifact links, query counts, no-JS."""

from __future__ import annotations

import re
from decimal import Decimal

import factory
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import AccessRole, AuditEvent
from governance.roles import AUDITOR, HIRING_MANAGER
from tests.factories import (
    ApplicationFactory,
    CompetencyScoreFactory,
    DecisionFactory,
    InterviewFactory,
    RequisitionAccessFactory,
    UserFactory,
)
from tests.helpers import ADA_LOVELACE, completed_result

pytestmark = pytest.mark.django_db


def _result_on(requisition, *, competencies=2, decisions=0, **kwargs):
    result = completed_result(requisition, candidate=ADA_LOVELACE, **kwargs)
    CompetencyScoreFactory.create_batch(
        competencies,
        result=result,
        score=factory.Iterator(Decimal(40 + (n * 5) % 60) for n in range(competencies)),
    )
    if decisions:
        reviewer = UserFactory()
        DecisionFactory.create_batch(
            decisions,
            result=result,
            decided_by=reviewer,
            outcome="advance",
            recommended_outcome="advance",
        )
    return result


@pytest.fixture
def result(requisition):
    return _result_on(
        requisition,
        score=Decimal("66.50"),
        recording_url="https://vendor.example/recordings/1",
        flags=["borderline", "integrity"],
    )


def _manager(requisition, username="mona"):
    user = UserFactory(username=username, groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    return user


def _url(result):
    return reverse("interviews:score-card", args=[result.interview.public_id])


def _get(user, url, **headers):
    client = Client()
    client.force_login(user)
    return client.get(url, headers=headers)


def test_url_is_the_profile_url_given_to_atss(result) -> None:
    from interviews.services.results import result_profile_url

    assert result_profile_url(result.interview).endswith(_url(result))
    assert _url(result) == f"/results/{result.interview.public_id}/"


def test_recruiter_on_the_requisition_sees_the_card(alice, result) -> None:
    DecisionFactory(result=result, outcome="hold", recommended_outcome="hold")
    response = _get(alice, _url(result))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ada L." in body
    assert "Lovelace" not in body  # display name only
    assert result.interview.application.requisition.title in body
    assert 'data-testid="band">Proceed<' in body  # band as text, not colour only
    assert "66.5" in body
    assert "Described calming an upset customer" in body
    # Flags explained in plain language.
    assert "signs that the answers may not be the candidate" in body
    assert "within a few points of a band cut" in body
    # Band cuts marked on the bars (default thresholds 80 / 65 / 50).
    assert 'x1="80"' in body
    assert 'x1="65"' in body
    assert 'data-testid="decisions"' in body
    assert "Hold" in body
    # Recruiters hold view_transcript and view_recording: signed links, never the vendor's URL.
    assert 'data-testid="artifact-transcript"' in body
    assert 'data-testid="artifact-recording"' in body
    assert "vendor.example" not in body
    assert 'style="' not in body  # the CSP forbids inline styles


def test_recruiter_on_another_requisition_gets_404(charlie, result) -> None:
    response = _get(charlie, _url(result))
    assert response.status_code == 404
    assert "Ada" not in response.content.decode()


def test_unknown_and_malformed_ids_are_404(alice) -> None:
    assert _get(alice, "/results/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert _get(alice, "/results/not-a-uuid/").status_code == 404


def test_anonymous_is_sent_to_login(client, result) -> None:
    response = client.get(_url(result))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_hiring_manager_sees_own_card_without_transcript(role_groups, requisition, result) -> None:
    manager = _manager(requisition)
    response = _get(manager, _url(result))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ada L." in body
    assert 'data-testid="artifact-transcript"' not in body
    assert 'data-testid="artifact-recording"' not in body
    assert 'data-testid="artifact-report"' in body  # the vendor report needs view_summary only


def test_hiring_manager_with_transcript_grant_gets_the_link(role_groups, requisition, result):
    from django.contrib.auth.models import Permission

    manager = _manager(requisition)
    manager.user_permissions.add(Permission.objects.get(codename="view_transcript"))
    body = _get(manager, _url(result)).content.decode()
    assert 'data-testid="artifact-transcript"' in body


def test_hiring_manager_of_another_requisition_gets_404(
    role_groups, other_requisition, result
) -> None:
    manager = _manager(other_requisition)
    response = _get(manager, _url(result))
    assert response.status_code == 404
    assert "Ada" not in response.content.decode()


def test_auditor_sees_the_card_without_transcript(role_groups, result) -> None:
    auditor = UserFactory(groups=[AUDITOR], is_staff=True)
    response = _get(auditor, _url(result))
    assert response.status_code == 200
    assert 'data-testid="artifact-transcript"' not in response.content.decode()


def test_each_open_records_a_score_card_view_event(alice, result) -> None:
    _get(alice, _url(result))
    _get(alice, _url(result))
    events = AuditEvent.objects.filter(action="score_card.view", object_id=str(result.pk))
    assert events.count() == 2
    assert {e.actor_id for e in events} == {alice.pk}


def test_denied_open_records_no_view_event(charlie, result) -> None:
    _get(charlie, _url(result))
    assert not AuditEvent.objects.filter(action="score_card.view").exists()


def test_htmx_request_gets_the_card_fragment_only(alice, result) -> None:
    response = _get(alice, _url(result), HX_Request="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="score-card"' in body
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_works_without_javascript_as_a_plain_page(alice, result) -> None:
    body = _get(alice, _url(result)).content.decode()
    assert "<html" in body
    assert "hx-get" not in body  # nothing on the card needs htmx
    assert f'href="{reverse("home")}"' in body


def _queries(user, url):
    with CaptureQueriesContext(connection) as ctx:
        response = _get(user, url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_competencies_or_decisions(
    alice, requisition, other_requisition
) -> None:
    small = _result_on(requisition, competencies=10, decisions=10)
    large = _result_on(requisition, competencies=500, decisions=500)
    assert _queries(alice, _url(small)) == _queries(alice, _url(large))


# -- hiring-manager home ------------------------------------------------------------------------


def test_manager_home_shows_cards_of_completed_interviews_only(
    role_groups, requisition, other_requisition, result
) -> None:
    manager = _manager(requisition)
    _result_on(other_requisition)  # another manager's requisition
    pending = ApplicationFactory(
        requisition=requisition,
        connection=requisition.connection,
        candidate__connection=requisition.connection,
        candidate__first_name="Zed",
    )
    InterviewFactory(application=pending)  # not completed: no card
    body = _get(manager, reverse("home")).content.decode()
    assert 'id="manager-score-cards"' in body
    assert body.count('data-testid="score-card"') == 1
    assert _url(result) in body
    assert "Zed" not in body
    assert "/artifacts/" not in body  # no transcripts (nor any artifact) on the home page


def test_recruiter_home_has_no_manager_cards(alice, result) -> None:
    body = _get(alice, reverse("home")).content.decode()
    assert 'id="manager-score-cards"' not in body


def test_manager_home_query_count_does_not_grow_with_cards(role_groups, requisition) -> None:
    manager = _manager(requisition)
    for _ in range(10):
        _result_on(requisition, competencies=3, decisions=1)
    few = _queries(manager, reverse("home"))
    # 10 vs 500 completed interviews behind the cards (the home page shows the latest ones).
    for _ in range(490):
        _result_on(requisition, competencies=1, decisions=1)
    assert _queries(manager, reverse("home")) == few


def test_each_competency_bar_takes_the_band_of_its_own_score(alice, requisition) -> None:
    result = completed_result(requisition, candidate=ADA_LOVELACE, score=Decimal("66.50"))
    # Default cuts 80 / 65 / 50: one subscore in each band, against an overall "Proceed".
    for score in ("85", "70", "55", "30"):
        CompetencyScoreFactory(result=result, score=Decimal(score))
    body = _get(alice, _url(result)).content.decode()
    bars = re.findall(r'class="sc-fill (tone-[a-z]+)" x="0" y="0" width="([\d.]+)"', body)
    assert bars == [
        ("tone-proceed", "66.5"),  # the overall bar keeps the overall band
        ("tone-strong", "85"),
        ("tone-proceed", "70"),
        ("tone-borderline", "55"),
        ("tone-low", "30"),
    ]
    # The band is written next to each subscore, not shown by colour alone.
    bands = re.findall(r'<span class="sc-cband tone-[a-z]+">([^<]+)</span>', body)
    assert bands == ["Strong", "Proceed", "Borderline", "Insufficient evidence"]
