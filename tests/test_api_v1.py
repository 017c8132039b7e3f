"""REST API /api/v1/: who may read and do what (every endpoint, every role), tokens, paging,
filters, throttling and the docs page.

The world (tests/api_world.py): requisition A ("mine": rita recruits, hank manages) and B
("theirs": carl recruits); ada is a hiring-ops admin, audrey an auditor. Out-of-scope objects are
404 (as on the pages: a 403 would confirm they exist); visible objects the user may not act on
are 403.
"""

from __future__ import annotations

import base64
import json
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from governance.api_tokens import api_token_user, hash_key
from governance.models import AccessRole, ApiToken, AuditEvent, Decision, DecisionOutcome
from integrations.models import WritebackStatus
from interviews.models import ReviewStatus
from interviews.scoring import recommended_outcome
from tests.api_world import KEYS, ApiWorld, build_api_world
from tests.factories import RequisitionAccessFactory, UserFactory

pytestmark = pytest.mark.django_db

USERS = ["rita", "carl", "hank", "ada", "audrey"]
# Which requisitions' objects each user sees, per kind of object.
SEES = {
    "application": {"rita": {"mine"}, "carl": {"theirs"}, "hank": {"mine"}},
    "interview": {"rita": {"mine"}, "carl": {"theirs"}, "hank": set()},
    "result": {"rita": {"mine"}, "carl": {"theirs"}, "hank": {"mine"}},
    "review_task": {"rita": {"mine"}, "carl": {"theirs"}, "hank": set()},
    "decision": {"rita": {"mine"}, "carl": {"theirs"}, "hank": {"mine"}},
    "writeback_job": {"rita": set(), "carl": set(), "hank": set()},
}
for table in SEES.values():
    table.update({"ada": {"mine", "theirs"}, "audrey": {"mine", "theirs"}})


@pytest.fixture
def world(settings: Any) -> ApiWorld:
    settings.SCREENBRIDGE_API_THROTTLE_RATE = ""
    return build_api_world()


def _get(world: ApiWorld, who: str | None, url: str, **params: Any) -> Any:
    headers = world.auth(who) if who else {}
    return Client().get(url, params, **headers)


def _post(world: ApiWorld, who: str | None, url: str, body: Any = None) -> Any:
    headers = world.auth(who) if who else {}
    data = json.dumps(body) if body is not None else ""
    return Client(enforce_csrf_checks=True).post(
        url, data=data, content_type="application/json", **headers
    )


def _objects(world: ApiWorld, kind: str, which: str) -> list[tuple[Any, str]]:
    """(object, url key) pairs of one kind on one side."""
    side = getattr(world, which)
    if kind == "application":
        return [(r.interview.application, r.interview.application.pk) for r in side.results]
    if kind == "interview":
        return [(r.interview, str(r.interview.public_id)) for r in side.results]
    if kind == "result":
        return [(r, str(r.interview.public_id)) for r in side.results]
    if kind == "review_task":
        return [(t, t.pk) for t in side.tasks]
    if kind == "decision":
        return [(d, d.pk) for d in side.decisions]
    return [(j, j.pk) for j in side.jobs]


ROUTES = {
    "application": ("api:application-list", "api:application-detail"),
    "interview": ("api:interview-list", "api:interview-detail"),
    "result": ("api:result-list", "api:result-detail"),
    "review_task": ("api:review-task-list", "api:review-task-detail"),
    "decision": ("api:decision-list", "api:decision-detail"),
    "writeback_job": ("api:writeback-job-list", "api:writeback-job-detail"),
}


def _list_keys(world: ApiWorld, who: str, route: str, key: str) -> list[Any]:
    response = _get(world, who, reverse(route), page_size=100)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    return [
        item[key] if not isinstance(item[key], dict) else item[key]["public_id"]
        for item in body["results"]
    ]


# -- reads: every list and detail, every role -------------------------------------------------


@pytest.mark.parametrize("kind", list(ROUTES))
def test_lists_hold_exactly_what_each_user_may_see(world: ApiWorld, kind: str) -> None:
    list_route, _ = ROUTES[kind]
    key = {"interview": "public_id", "result": "interview"}.get(kind, "id")
    for who in USERS:
        expected = {k for which in SEES[kind][who] for _, k in _objects(world, kind, which)}
        assert set(_list_keys(world, who, list_route, key)) == expected, who


@pytest.mark.parametrize("kind", list(ROUTES))
def test_details_answer_200_in_scope_and_404_outside(world: ApiWorld, kind: str) -> None:
    _, detail_route = ROUTES[kind]
    for who in USERS:
        for which in ("mine", "theirs"):
            _, key = _objects(world, kind, which)[0]
            response = _get(world, who, reverse(detail_route, args=[key]))
            if which in SEES[kind][who]:
                assert response.status_code == 200, (who, which, response.content)
            else:
                assert response.status_code == 404, (who, which, response.content)
                assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("kind", list(ROUTES))
def test_anonymous_requests_get_401(world: ApiWorld, kind: str) -> None:
    list_route, detail_route = ROUTES[kind]
    _, key = _objects(world, kind, "mine")[0]
    for url in (reverse(list_route), reverse(detail_route, args=[key])):
        response = _get(world, None, url)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_a_result_in_the_list_carries_subscores_and_bullets(world: ApiWorld) -> None:
    response = _get(world, "rita", reverse("api:result-list"), current="true")
    items = response.json()["results"]
    assert len(items) == 3
    item = items[0]
    assert len(item["competencies"]) == 2
    assert {"key", "name", "score", "evidence"} <= set(item["competencies"][0])
    assert 1 <= len(item["summary_bullets"]) <= 3
    assert item["candidate"] == {"display_name": "Grace H."}  # newest first
    assert "transcript_url" not in item


# -- review tasks: claim, release, decide -----------------------------------------------------

# (who, which) → status for claiming the open task; the recruiter of the requisition only.
CLAIM = {
    ("rita", "mine"): 200,
    ("rita", "theirs"): 404,
    ("carl", "mine"): 404,
    ("hank", "mine"): 404,
    ("ada", "mine"): 403,
    ("audrey", "mine"): 403,
    (None, "mine"): 401,
}


@pytest.mark.parametrize(("who", "which"), list(CLAIM))
def test_claiming_follows_scope_and_role(world: ApiWorld, who: str | None, which: str) -> None:
    task = getattr(world, which).tasks[0]
    response = _post(world, who, reverse("api:review-task-claim", args=[task.pk]))
    assert response.status_code == CLAIM[(who, which)], response.content
    task.refresh_from_db()
    if response.status_code == 200:
        assert response.json()["claim"] == "mine"
        assert task.claimed_by == world.users["rita"]
        assert AuditEvent.objects.filter(action="review_task.claim").count() == 1
    else:
        assert task.status == ReviewStatus.OPEN


def test_a_claim_held_by_someone_else_is_a_409(world: ApiWorld) -> None:
    task = world.mine.tasks[1]  # claimed by rita
    other = world.users["carl"]
    RequisitionAccessFactory(
        user=other, requisition=world.mine.requisition, role=AccessRole.RECRUITER
    )
    response = _post(world, "carl", reverse("api:review-task-claim", args=[task.pk]))
    assert response.status_code == 409
    assert response.json()["code"] == "claim_conflict"
    assert world.users["rita"].get_full_name() in response.json()["detail"]


@pytest.mark.parametrize(("who", "which"), list(CLAIM))
def test_releasing_follows_scope_and_role(world: ApiWorld, who: str | None, which: str) -> None:
    task = getattr(world, which).tasks[1]  # claimed by its side's recruiter
    response = _post(world, who, reverse("api:review-task-release", args=[task.pk]))
    assert response.status_code == CLAIM[(who, which)], response.content
    task.refresh_from_db()
    assert (task.status == ReviewStatus.OPEN) == (response.status_code == 200)


DECIDE = {**CLAIM, ("rita", "mine"): 201}


@pytest.mark.parametrize(("who", "which"), list(DECIDE))
def test_deciding_a_task_follows_scope_and_role(
    world: ApiWorld, who: str | None, which: str
) -> None:
    task = getattr(world, which).tasks[1]  # claimed by its side's recruiter
    before = Decision.objects.count()
    outcome = recommended_outcome(task.result.band)
    response = _post(
        world, who, reverse("api:review-task-decide", args=[task.pk]), {"outcome": outcome}
    )
    assert response.status_code == DECIDE[(who, which)], response.content
    task.refresh_from_db()
    if response.status_code == 201:
        assert response.json()["outcome"] == outcome
        assert task.status == ReviewStatus.DONE
        assert Decision.objects.count() == before + 1
    else:
        assert Decision.objects.count() == before
        assert task.status == ReviewStatus.CLAIMED


def test_deciding_needs_a_claim_first(world: ApiWorld) -> None:
    task = world.mine.tasks[0]  # open
    response = _post(
        world, "rita", reverse("api:review-task-decide", args=[task.pk]), {"outcome": "hold"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "not_claimed"
    assert not Decision.objects.filter(result=task.result).exists()


def test_an_override_without_a_reason_is_a_422_and_stores_nothing(world: ApiWorld) -> None:
    task = world.mine.tasks[1]
    before = (Decision.objects.count(), AuditEvent.objects.count())
    url = reverse("api:review-task-decide", args=[task.pk])
    departs = next(o for o in DecisionOutcome.values if o != recommended_outcome(task.result.band))
    response = _post(world, "rita", url, {"outcome": departs})
    assert response.status_code == 422, response.content
    assert set(response.json()["errors"]) == {"override_reason", "override_text"}
    assert (Decision.objects.count(), AuditEvent.objects.count()) == before


# -- writeback jobs: retry --------------------------------------------------------------------

RETRY = {
    ("ada", "mine"): 200,
    ("ada", "theirs"): 200,
    ("audrey", "mine"): 403,
    ("rita", "mine"): 404,
    ("hank", "mine"): 404,
    (None, "mine"): 401,
}


@pytest.mark.parametrize(("who", "which"), list(RETRY))
def test_retrying_a_dead_writeback_is_for_admins(
    world: ApiWorld, who: str | None, which: str
) -> None:
    job = getattr(world, which).jobs[0]
    assert job.status == WritebackStatus.DEAD
    response = _post(world, who, reverse("api:writeback-job-retry", args=[job.pk]))
    assert response.status_code == RETRY[(who, which)], response.content
    job.refresh_from_db()
    queued = job.status == WritebackStatus.PENDING
    assert queued == (response.status_code == 200)
    assert AuditEvent.objects.filter(action="writeback.retry").count() == int(queued)
    if queued:
        assert response.json()["status"] == "pending"


def test_a_succeeded_writeback_cannot_be_retried(world: ApiWorld) -> None:
    job = world.mine.jobs[2]
    response = _post(world, "ada", reverse("api:writeback-job-retry", args=[job.pk]))
    assert response.status_code == 409
    assert response.json()["code"] == "not_retryable"
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED


# -- authentication ---------------------------------------------------------------------------


def test_a_wrong_token_is_a_401_even_with_a_session(world: ApiWorld) -> None:
    client = Client()
    client.force_login(world.users["rita"])
    response = client.get(reverse("api:application-list"), HTTP_AUTHORIZATION="Token nope")
    # The session authenticates first; a bad token never downgrades it to someone else.
    assert response.status_code == 200
    response = Client().get(reverse("api:application-list"), HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    assert response["WWW-Authenticate"]


def test_an_inactive_users_token_stops_working(world: ApiWorld) -> None:
    user = world.users["rita"]
    user.is_active = False
    user.save()
    response = _get(world, "rita", reverse("api:application-list"))
    assert response.status_code == 401


def test_token_writes_need_no_csrf_but_session_writes_do(world: ApiWorld) -> None:
    task = world.mine.tasks[0]
    url = reverse("api:review-task-claim", args=[task.pk])
    session = Client(enforce_csrf_checks=True)
    session.force_login(world.users["rita"])
    response = session.post(url)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert _post(world, "rita", url).status_code == 200


def test_only_the_hash_of_a_key_is_stored(world: ApiWorld) -> None:
    token = ApiToken.objects.get(user=world.users["rita"])
    assert token.key_hash == hash_key(KEYS["rita"])
    assert KEYS["rita"] not in {token.key_hash, token.key_prefix, str(token)}
    assert api_token_user(KEYS["rita"]) == world.users["rita"]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_create_api_token_prints_the_key_once_and_refuses_a_second(world: ApiWorld) -> None:
    user = UserFactory(username="newbie")
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "newbie", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert len(key) >= 40
    assert "not shown again" in err.getvalue()
    assert api_token_user(key) == user
    assert AuditEvent.objects.filter(action="api_token.issue", object_id=str(user.pk)).exists()
    with pytest.raises(CommandError, match="--rotate"):
        call_command("create_api_token", "newbie", stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command("create_api_token", "newbie", "--rotate", stdout=out, stderr=StringIO())
    assert api_token_user(key) is None
    assert api_token_user(out.getvalue().strip()) == user
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody", stdout=StringIO(), stderr=StringIO())


def test_a_superuser_issues_a_token_in_the_admin_and_sees_the_key_once(world: ApiWorld) -> None:
    UserFactory(username="root", is_superuser=True, is_staff=True)
    newbie = UserFactory(username="newbie")
    client = Client()
    client.force_login(world.users["ada"])
    assert client.get(reverse("admin:governance_apitoken_add")).status_code == 403
    client.force_login(type(newbie).objects.get(username="root"))
    response = client.post(
        reverse("admin:governance_apitoken_add"), {"user": newbie.pk}, follow=True
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    shown = [m for m in messages if m.startswith("API key for newbie: ")]
    assert len(shown) == 1
    key = shown[0].removeprefix("API key for newbie: ").split(" ")[0]
    assert api_token_user(key) == newbie
    token = ApiToken.objects.get(user=newbie)
    page = client.get(reverse("admin:governance_apitoken_change", args=[token.pk]))
    assert page.status_code == 200
    assert key not in page.content.decode()


# -- paging, filters, throttling --------------------------------------------------------------


def test_cursor_pages_walk_every_row_once(world: ApiWorld) -> None:
    seen: list[int] = []
    url: str | None = reverse("api:application-list") + "?page_size=2"
    while url:
        body = _get(world, "ada", url).json()
        seen.extend(item["id"] for item in body["results"])
        assert len(body["results"]) <= 2
        url = body["next"]
    assert len(seen) == len(set(seen)) == 6


@pytest.mark.parametrize(
    ("route", "params", "field"),
    [
        ("api:review-task-list", {"status": "nope"}, "status"),
        ("api:interview-list", {"created_after": "yesterday"}, "created_after"),
        ("api:interview-list", {"created_after": "0001-01-01T00:00:00+14:00"}, "created_after"),
        ("api:application-list", {"requisition": "x"}, "requisition"),
        ("api:application-list", {"requisition": str(2**70)}, "requisition"),
        ("api:decision-list", {"is_override": "maybe"}, "is_override"),
        ("api:writeback-job-list", {"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_filter_values_and_cursors_are_400_json(
    world: ApiWorld, route: str, params: dict[str, str], field: str
) -> None:
    response = _get(world, "ada", reverse(route), **params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_query"
    assert field in body["errors"]


@pytest.mark.parametrize(
    "position", ["abc", "2026-13-40T00:00:00+00:00", "2026-11-01T00:00:00", "1" * 400]
)
def test_a_forged_cursor_position_is_a_400(world: ApiWorld, position: str) -> None:
    cursor = base64.b64encode(urlencode({"o": "0", "p": position}).encode()).decode()
    response = _get(world, "ada", reverse("api:decision-list"), cursor=cursor)
    assert response.status_code == 400, response.content
    assert "cursor" in response.json()["errors"]
    # The request's transaction is still usable afterwards.
    assert _get(world, "ada", reverse("api:decision-list")).status_code == 200


def test_filters_narrow_the_lists(world: ApiWorld) -> None:
    requisition = world.mine.requisition.pk
    ids = _get(world, "ada", reverse("api:application-list"), requisition=requisition).json()
    assert {a["requisition"]["id"] for a in ids["results"]} == {requisition}
    claimed = _get(world, "ada", reverse("api:review-task-list"), status="claimed").json()
    assert {t["id"] for t in claimed["results"]} == {
        world.mine.tasks[1].pk,
        world.theirs.tasks[1].pk,
    }
    dead = _get(world, "ada", reverse("api:writeback-job-list"), status="dead").json()
    assert {j["id"] for j in dead["results"]} == {world.mine.jobs[0].pk, world.theirs.jobs[0].pk}
    family = world.mine.requisition.role_family_membership.role_family_id
    mine = _get(world, "ada", reverse("api:interview-list"), role_family=family).json()
    assert len(mine["results"]) >= 1
    assert all(i["requisition"]["id"] == requisition for i in mine["results"])


def test_requests_over_the_rate_are_429(world: ApiWorld, settings: Any) -> None:
    settings.SCREENBRIDGE_API_THROTTLE_RATE = "3/minute"
    url = reverse("api:decision-list")
    statuses = [_get(world, "rita", url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Budgets are per user.
    assert _get(world, "carl", url).status_code == 200


# -- the docs page ----------------------------------------------------------------------------


def test_the_docs_page_uses_only_our_own_scripts_and_styles(world: ApiWorld) -> None:
    client = Client()
    assert client.get(reverse("api:docs")).status_code == 302  # to the sign-in page
    client.force_login(world.users["rita"])
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<style" not in html
    assert "http" not in html.replace("http-equiv", "")  # nothing from another origin
    assert "<script>" not in html  # no inline script: every script has a src
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


# -- metrics -----------------------------------------------------------------------------------

METRICS = "/api/v1/metrics/"


def _metric(body: dict[str, Any], section: str, metric: str, cohort: str) -> dict[str, Any]:
    return next(
        row
        for row in body["rows"]
        if (row["section"], row["metric"], row["cohort"]) == (section, metric, cohort)
    )


def test_metrics_are_the_pages_numbers_scoped_to_the_user(world: ApiWorld) -> None:
    from governance.metrics import MetricsFilters, compute
    from governance.metrics.export import report_rows

    everything = _get(world, "ada", METRICS)
    assert everything.status_code == 200
    body = everything.json()
    filters = MetricsFilters(
        since=_date(body["filters"]["since"]), until=_date(body["filters"]["until"])
    )
    expected = [row.as_tuple() for row in report_rows(compute(filters))]
    got = [tuple(row[c] for c in ("section", "metric", "cohort", "group")) for row in body["rows"]]
    assert got == [row[:4] for row in expected]
    tasks = _metric(body, "review load", "open review tasks", "all")["value"]
    # rita sees only requisition A's share of the open review tasks; audrey sees all.
    mine = _metric(_get(world, "rita", METRICS).json(), "review load", "open review tasks", "all")
    assert mine["value"] < tasks
    assert _get(world, "audrey", METRICS).json()["rows"] == body["rows"]


def _date(text: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(text)


def test_metrics_refuse_bad_filters_and_foreign_requisitions(world: ApiWorld) -> None:
    response = _get(world, "rita", METRICS, since="yesterday")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_query"
    assert "since" in response.json()["errors"]
    foreign = _get(world, "rita", METRICS, requisition=world.theirs.requisition.pk)
    assert foreign.status_code == 400
    assert "requisition" in foreign.json()["errors"]
    reversed_range = _get(world, "ada", METRICS, since="2026-05-01", until="2026-04-01")
    assert reversed_range.status_code == 400


def test_metrics_need_a_signed_in_user_with_a_role(world: ApiWorld) -> None:
    assert _get(world, None, METRICS).status_code == 401
    nobody = UserFactory(username="nobody")
    client = Client()
    client.force_login(nobody)
    assert client.get(METRICS).status_code == 403
