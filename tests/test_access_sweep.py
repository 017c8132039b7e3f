"""The access sweep: every URL pattern that takes an object id, tried by every role.

Each such pattern must be listed in ``SWEEP`` with its rule; a new pattern that is not listed
fails :func:`test_every_url_pattern_with_an_object_id_is_covered`, so nobody can add an
endpoint without saying who may reach it. For each role the test tries objects it may and may
not see: allowed → 2xx/3xx, others → 401/403/404, and refusals never leak a candidate's name,
the score or the vendor's artifact URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from governance.artifacts import artifact_url
from governance.models import AccessRole, Decision
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN, RECRUITER
from integrations.models import InboundEvent, WritebackStatus
from interviews.models import VendorEvent
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    InterviewFactory,
    InterviewResultFactory,
    RehearsalRunFactory,
    RequisitionAccessFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    UserFactory,
    VendorFactory,
    WritebackJobFactory,
)

pytestmark = pytest.mark.django_db

SECRET_MARKERS = ("Zelda", "Quorum", "Yannick", "Pardo", "73.45", "81.25", "vendor.example/t/")


# -- which patterns take an object id ---------------------------------------------------------


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name or '<unnamed>'}", entry


def _takes_an_id(pattern: URLPattern) -> bool:
    return bool(pattern.pattern.regex.groupindex) or bool(pattern.pattern.regex.groups)


def patterns_with_ids() -> dict[str, URLPattern]:
    return {name: p for name, p in _walk(get_resolver().url_patterns) if _takes_an_id(p)}


# Machine-to-machine endpoints: authenticated by a signature or a partner key, never by the
# session. A signed-in person without the signature/key must get nothing.
SIGNED_ENDPOINTS = {
    "integrations:ats-webhook": 401,
    "interviews:vendor-webhook": 401,
}
PARTNER_ENDPOINTS = {
    "interviews:greenhouse-list-tests",
    "interviews:greenhouse-send-test",
    "interviews:greenhouse-test-status",
    "interviews:greenhouse-response-error",
    "interviews:ashby-assessment-list",
    "interviews:ashby-assessment-start",
    "interviews:ashby-assessment-cancel",
}
PERSON_ENDPOINTS = {
    "api:result-detail",
    "api:result-decisions",
    # /api/v1/: every role against objects in and out of scope in tests/test_api_v1.py.
    "api:application-detail",
    "api:interview-detail",
    "api:review-task-detail",
    "api:review-task-claim",
    "api:review-task-release",
    "api:review-task-decide",
    "api:decision-detail",
    "api:writeback-job-detail",
    "api:writeback-job-retry",
    "governance:artifact",
    "interviews:score-card",
    "interviews:review-claim",
    "interviews:review-release",
    "interviews:review-decide",
    "governance:sync-health-writeback-retry",
    "interviews:plan-readiness",
    "interviews:plan-go-live",
    "interviews:rehearsal-run",
    "governance:calibration-session",
    "governance:calibration-score",
    "governance:data-request-erase",
}


def test_every_url_pattern_with_an_object_id_is_covered() -> None:
    uncovered = {
        name
        for name in patterns_with_ids()
        if not name.startswith("admin:")
        and name not in SIGNED_ENDPOINTS
        and name not in PARTNER_ENDPOINTS
        and name not in PERSON_ENDPOINTS
    }
    assert uncovered == set(), f"add access rules for: {sorted(uncovered)}"


# -- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, Any]
    mine: Any  # result on requisition A (alice recruits, hank manages)
    theirs: Any  # result on requisition B (charlie recruits)
    connection: Any
    vendor: Any


@pytest.fixture
def world(role_groups: None) -> World:
    connection = AtsConnectionFactory(slug="acme-gh")
    vendor = VendorFactory(slug="acme-vendor")
    results = []
    for title, (first, last), score in [
        ("Support A", ("Zelda", "Quorum"), Decimal("73.45")),
        ("Support B", ("Yannick", "Pardo"), Decimal("81.25")),
    ]:
        requisition = RequisitionFactory(connection=connection, title=title)
        application = ApplicationFactory(
            connection=connection,
            requisition=requisition,
            candidate__connection=connection,
            candidate__first_name=first,
            candidate__last_name=last,
        )
        interview = InterviewFactory(application=application, completed=True)
        results.append(
            InterviewResultFactory(
                interview=interview,
                score=score,
                transcript_url=f"https://vendor.example/t/{interview.public_id}",
                recording_url=f"https://vendor.example/r/{interview.public_id}",
                report_url=f"https://vendor.example/reports/{interview.public_id}",
            )
        )
    mine, theirs = results
    users = {
        "alice": UserFactory(username="alice", groups=[RECRUITER]),
        "charlie": UserFactory(username="charlie", groups=[RECRUITER]),
        "hank": UserFactory(username="hank", groups=[HIRING_MANAGER]),
        "audrey": UserFactory(username="audrey", groups=[AUDITOR], is_staff=True),
        "ada": UserFactory(username="ada", groups=[HIRING_OPS_ADMIN], is_staff=True),
    }
    req_a = mine.interview.application.requisition
    req_b = theirs.interview.application.requisition
    RequisitionAccessFactory(user=users["alice"], requisition=req_a, role=AccessRole.RECRUITER)
    RequisitionAccessFactory(user=users["charlie"], requisition=req_b, role=AccessRole.RECRUITER)
    RequisitionAccessFactory(user=users["hank"], requisition=req_a, role=AccessRole.HIRING_MANAGER)
    return World(users, mine, theirs, connection, vendor)


def _client(world: World, who: str | None) -> Client:
    client = Client()
    if who is not None:
        client.force_login(world.users[who])
    return client


def _assert_no_leak(response: Any) -> None:
    body = response.content.decode(errors="replace")
    for marker in SECRET_MARKERS:
        assert marker not in body, f"{marker!r} leaked in a {response.status_code} answer"


# Signed-in people who are not hiring-ops admins.
READ_WHO = ("alice", "charlie", "hank", "audrey")

# Who may read which result: (user, "mine"/"theirs") → allowed?
READ_ACCESS = {
    ("alice", "mine"): True,
    ("alice", "theirs"): False,
    ("charlie", "mine"): False,
    ("charlie", "theirs"): True,
    ("hank", "mine"): True,
    ("hank", "theirs"): False,
    ("audrey", "mine"): True,
    ("audrey", "theirs"): True,
    ("ada", "mine"): True,
    ("ada", "theirs"): True,
}


@pytest.mark.parametrize(
    "route", ["api:result-detail", "api:result-decisions", "interviews:score-card"]
)
@pytest.mark.parametrize(("who", "which"), list(READ_ACCESS))
def test_result_reads_follow_object_scope(world: World, route: str, who: str, which: str) -> None:
    result = getattr(world, which)
    url = reverse(route, args=[result.interview.public_id])
    response = _client(world, who).get(url)
    if READ_ACCESS[(who, which)]:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code in (403, 404)
        _assert_no_leak(response)


@pytest.mark.parametrize(
    "route", ["api:result-detail", "api:result-decisions", "interviews:score-card"]
)
def test_anonymous_reads_are_refused(world: World, route: str) -> None:
    response = Client().get(reverse(route, args=[world.mine.interview.public_id]))
    assert response.status_code in (302, 401, 403)
    if response.status_code == 302:
        assert "/login/" in response["Location"]
    _assert_no_leak(response)


# Who may work which review task: the recruiter of its requisition only.
QUEUE_ACCESS = {
    ("alice", "mine"): True,
    ("alice", "theirs"): False,
    ("charlie", "mine"): False,
    ("charlie", "theirs"): True,
    ("hank", "mine"): False,
    ("audrey", "mine"): False,
    ("ada", "mine"): False,
}


@pytest.mark.parametrize("route", ["interviews:review-claim", "interviews:review-release"])
@pytest.mark.parametrize(("who", "which"), list(QUEUE_ACCESS))
def test_review_task_actions_follow_scope_and_role(
    world: World, route: str, who: str, which: str
) -> None:
    task = ReviewTaskFactory(interview=getattr(world, which).interview)
    response = _client(world, who).post(reverse(route, args=[task.pk]))
    if QUEUE_ACCESS[(who, which)]:
        assert response.status_code in (200, 302), response.content
    else:
        assert response.status_code in (403, 404)
        _assert_no_leak(response)
        task.refresh_from_db()
        assert task.claimed_by is None


@pytest.mark.parametrize(("who", "which"), [k for k, v in QUEUE_ACCESS.items() if not v])
def test_deciding_from_the_queue_is_refused_outside_scope(
    world: World, who: str, which: str
) -> None:
    result = getattr(world, which)
    task = ReviewTaskFactory(interview=result.interview)
    response = _client(world, who).post(
        reverse("interviews:review-decide", args=[task.pk]), {"outcome": "hold"}
    )
    assert response.status_code in (403, 404)
    _assert_no_leak(response)
    assert not Decision.objects.filter(result=result).exists()


@pytest.mark.parametrize("route", ["interviews:review-claim", "interviews:review-decide"])
def test_anonymous_queue_actions_go_to_login(world: World, route: str) -> None:
    task = ReviewTaskFactory(interview=world.mine.interview)
    response = Client().post(reverse(route, args=[task.pk]))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [("ada", (200, 302)), ("alice", (403,)), ("hank", (403,)), ("audrey", (403,))],
)
def test_only_admins_retry_writebacks_from_sync_health(
    world: World, who: str, expected: tuple[int, ...]
) -> None:
    job = WritebackJobFactory(
        connection=world.connection,
        application=world.mine.interview.application,
        status=WritebackStatus.DEAD,
    )
    response = _client(world, who).post(
        reverse("governance:sync-health-writeback-retry", args=[job.pk])
    )
    assert response.status_code in expected
    job.refresh_from_db()
    assert (job.status == WritebackStatus.PENDING) == (who == "ada")


@pytest.mark.parametrize(
    ("who", "expected"),
    [("ada", (302,)), ("alice", (403,)), ("hank", (403,)), ("audrey", (403,)), (None, (302,))],
)
def test_only_admins_erase_candidate_data(
    world: World, who: str | None, expected: tuple[int, ...]
) -> None:
    from governance.models import DataRequest
    from tests.factories import DataRequestFactory

    candidate = world.mine.interview.application.candidate
    request = DataRequestFactory(candidate=candidate)
    response = _client(world, who).post(reverse("governance:data-request-erase", args=[request.pk]))
    assert response.status_code in expected
    if response.status_code == 403:
        _assert_no_leak(response)
    candidate.refresh_from_db()
    request = DataRequest.objects.get(pk=request.pk)
    assert (request.erased_at is not None) == (who == "ada")
    assert (candidate.first_name == "") == (who == "ada")


@pytest.mark.parametrize(
    ("who", "which", "expected"),
    [
        ("alice", "mine", 201),
        ("alice", "theirs", 404),
        ("charlie", "mine", 404),
        ("hank", "mine", 403),
        ("hank", "theirs", 404),
        ("audrey", "mine", 403),
        ("ada", "mine", 403),
        (None, "mine", 401),
    ],
)
def test_deciding_follows_object_scope_and_role(
    world: World, who: str | None, which: str, expected: int
) -> None:
    from interviews.scoring import recommended_outcome

    result = getattr(world, which)
    url = reverse("api:result-decisions", args=[result.interview.public_id])
    body = {"outcome": recommended_outcome(result.band)}
    response = _client(world, who).post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        _assert_no_leak(response)
        assert not Decision.objects.filter(result=result).exists()


# Which artifact kinds each role may open on a result it can read. Every (role, kind, result)
# has an expected outcome, so a link that appears or disappears unexpectedly fails the sweep.
ARTIFACT_KINDS_BY_ROLE = {
    "alice": {"transcript", "recording", "report"},
    "charlie": {"transcript", "recording", "report"},
    "hank": {"report"},
    "audrey": {"report"},
    "ada": {"report"},
}
ARTIFACT_ACCESS = {
    (who, kind, which): READ_ACCESS[(who, which)] and kind in kinds
    for who, kinds in ARTIFACT_KINDS_BY_ROLE.items()
    for kind in ("transcript", "recording", "report")
    for which in ("mine", "theirs")
}


@pytest.mark.parametrize(("who", "kind", "which"), list(ARTIFACT_ACCESS))
def test_artifact_links_follow_capability_and_scope(
    world: World, who: str, kind: str, which: str
) -> None:
    result = getattr(world, which)
    link = artifact_url(user=world.users[who], interview_or_result=result, kind=kind)
    if not ARTIFACT_ACCESS[(who, kind, which)]:
        assert link is None
        return
    assert link is not None, f"{who} should get a {kind} link for {which}"
    response = _client(world, who).get(link)
    assert response.status_code == 302
    assert response["Location"] == getattr(result, f"{kind}_url")


def test_an_artifact_link_is_useless_to_anyone_else(world: World) -> None:
    link = artifact_url(
        user=world.users["alice"], interview_or_result=world.mine, kind="transcript"
    )
    assert link is not None
    for who in ("charlie", "hank", "audrey", "ada"):
        response = _client(world, who).get(link)
        assert response.status_code in (403, 404)
        _assert_no_leak(response)
    response = Client().get(link)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("route", sorted(SIGNED_ENDPOINTS))
@pytest.mark.parametrize("who", ["alice", "ada", None])
def test_signed_endpoints_ignore_the_session(world: World, route: str, who: str | None) -> None:
    slug = world.connection.slug if route.startswith("integrations") else world.vendor.slug
    response = _client(world, who).post(
        reverse(route, args=[slug]), data=b'{"action": "x"}', content_type="application/json"
    )
    assert response.status_code == SIGNED_ENDPOINTS[route]
    assert not InboundEvent.objects.exists()
    assert not VendorEvent.objects.exists()


@pytest.mark.parametrize("route", sorted(PARTNER_ENDPOINTS))
@pytest.mark.parametrize("who", ["alice", "ada", None])
def test_partner_endpoints_need_the_partner_key(world: World, route: str, who: str | None) -> None:
    provider = "ashby" if "ashby" in route else "greenhouse"
    connection = AtsConnectionFactory(provider=provider, slug=f"{provider}-partner")
    connection.set_secret("partner_key", "p" * 32)
    connection.save()
    url = reverse(route, args=[connection.slug])
    client = _client(world, who)
    response = (
        client.get(url)
        if route.endswith("list-tests") or "status" in route
        else client.post(url, data=b"{}", content_type="application/json")
    )
    assert response.status_code == 401
    _assert_no_leak(response)


@pytest.mark.parametrize("who", ["alice", "charlie", "hank"])
def test_people_without_staff_status_never_reach_an_admin_object_page(
    world: World, who: str
) -> None:
    client = _client(world, who)
    admin_names = [name for name in patterns_with_ids() if name.startswith("admin:")]
    assert admin_names
    for name, obj in [
        ("admin:interviews_interviewresult_change", world.mine),
        ("admin:interviews_interview_change", world.mine.interview),
        ("admin:integrations_candidate_change", world.mine.interview.application.candidate),
        ("admin:integrations_application_change", world.mine.interview.application),
    ]:
        response = client.get(reverse(name, args=[obj.pk]))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(("who", "allowed"), [("ada", True), *((w, False) for w in READ_WHO)])
def test_only_admins_open_readiness_and_rehearsal_pages(
    world: World, who: str, allowed: bool
) -> None:
    plan = world.mine.interview.plan
    plan.status = "pilot"
    plan.save()
    run = RehearsalRunFactory(plan=plan)
    client = _client(world, who)
    for route, pk in [
        ("interviews:plan-readiness", run.plan.pk),
        ("interviews:rehearsal-run", run.pk),
    ]:
        response = client.get(reverse(route, args=[pk]))
        assert response.status_code == (200 if allowed else 403), route
        if not allowed:
            _assert_no_leak(response)
    response = client.post(reverse("interviews:plan-go-live", args=[run.plan.pk]))
    # The admin's post is refused by the checklist (200, the form again); others get 403.
    assert response.status_code == (200 if allowed else 403)
    run.plan.refresh_from_db()
    assert run.plan.status == "pilot"


# Calibration: the panel (alice, hank) scores; admins and auditors oversee; nobody else sees the
# session. The scoring page is blind: not even a panelist sees the score or the candidate's name.
CALIBRATION_SESSION_ACCESS = {
    "alice": 200,
    "hank": 200,
    "audrey": 200,
    "ada": 200,
    "charlie": 404,
}
CALIBRATION_SCORE_ACCESS = {
    "alice": 200,
    "hank": 200,
    "audrey": 404,
    "ada": 404,
    "charlie": 404,
}


@pytest.fixture
def calibration(world: World) -> Any:
    from tests.factories import CalibrationItemFactory, CalibrationSessionFactory

    session = CalibrationSessionFactory(
        plan=world.mine.interview.plan,
        created_by=world.users["ada"],
        panelists=[world.users["alice"], world.users["hank"]],
    )
    CalibrationItemFactory(session=session, result=world.mine, position=1)
    return session


@pytest.mark.parametrize(("who", "expected"), list(CALIBRATION_SESSION_ACCESS.items()))
def test_calibration_session_page_follows_the_panel(
    world: World, calibration: Any, who: str, expected: int
) -> None:
    url = reverse("governance:calibration-session", args=[calibration.public_id])
    response = _client(world, who).get(url)
    assert response.status_code == expected
    _assert_no_leak(response)


@pytest.mark.parametrize(("who", "expected"), list(CALIBRATION_SCORE_ACCESS.items()))
def test_calibration_scoring_is_for_panelists_and_blind(
    world: World, calibration: Any, who: str, expected: int
) -> None:
    url = reverse("governance:calibration-score", args=[calibration.public_id, 1])
    response = _client(world, who).get(url)
    assert response.status_code == expected
    _assert_no_leak(response)  # for panelists too: no score, no name, no vendor URL


def test_a_panelist_who_lost_access_to_the_requisition_cannot_score(
    world: World, calibration: Any
) -> None:
    from governance.models import RequisitionAccess

    RequisitionAccess.objects.filter(user=world.users["alice"]).delete()
    url = reverse("governance:calibration-score", args=[calibration.public_id, 1])
    assert _client(world, "alice").get(url).status_code == 404
    assert _client(world, "alice").post(url, {}).status_code == 404


@pytest.mark.parametrize(
    "route", ["governance:calibration-session", "governance:calibration-score"]
)
def test_anonymous_calibration_pages_go_to_login(
    world: World, calibration: Any, route: str
) -> None:
    args = [calibration.public_id] + ([1] if route.endswith("score") else [])
    response = Client().get(reverse(route, args=args))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# -- pages without an object id in the URL, scoped by their content ------------------------------

# The metrics dashboard and its CSV: every role may open them, each sees the figures of the
# requisitions it may see. (who → titles of the requisitions offered as filters)
METRICS_SCOPE = {
    "alice": {"Support A"},
    "charlie": {"Support B"},
    "hank": {"Support A"},
    "audrey": {"Support A", "Support B"},
    "ada": {"Support A", "Support B"},
}


@pytest.mark.parametrize(("who", "titles"), list(METRICS_SCOPE.items()))
def test_metrics_follow_requisition_scope(world: World, who: str, titles: set[str]) -> None:
    client = _client(world, who)
    page = client.get(reverse("governance:metrics"))
    assert page.status_code == 200
    body = page.content.decode()
    for title in ("Support A", "Support B"):
        assert (title in body) == (title in titles), f"{who} and {title}"
    _assert_no_leak(page)
    rows = client.get(reverse("governance:metrics-csv")).content.decode().splitlines()
    (completed,) = [row for row in rows if row.startswith("completion,completed,pilot")]
    # One completed interview per visible requisition.
    assert completed.split(",")[4] == str(len(titles))
    # A requisition outside the scope is refused (as a form error / a 400), never measured.
    other = world.theirs if "Support B" not in titles else None
    if other is not None:
        pk = other.interview.application.requisition_id
        refused = client.get(reverse("governance:metrics-csv"), {"requisition": pk})
        assert refused.status_code == 400


@pytest.mark.parametrize("route", ["governance:metrics", "governance:metrics-csv"])
def test_metrics_refuse_anonymous_and_roleless_users(world: World, route: str) -> None:
    anonymous = Client().get(reverse(route))
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    nobody = Client()
    nobody.force_login(UserFactory(username="nobody"))
    assert nobody.get(reverse(route)).status_code == 403
