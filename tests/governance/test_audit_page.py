"""GET /audit/: the auditor's audit trail page and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import audit
from governance.models import AccessRole, AuditEvent
from governance.roles import AUDITOR, HIRING_OPS_ADMIN
from tests.factories import RequisitionAccessFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/audit/"


def _event(action: str = "plan.update", **kwargs: Any) -> AuditEvent:
    kwargs.setdefault("actor", "system:test")
    kwargs.setdefault("object_type", "interviews.interviewplan")
    kwargs.setdefault("object_id", "1")
    with transaction.atomic():
        return audit.record(action=action, **kwargs)


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def auditor(role_groups: None) -> Any:
    return UserFactory(username="audrey", groups=[AUDITOR])


@pytest.fixture
def ops(role_groups: None) -> Any:
    return UserFactory(username="ops", groups=[HIRING_OPS_ADMIN])


def test_the_url_is_named() -> None:
    assert reverse("governance:audit-trail") == URL


# -- who may see it ----------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["auditor", "ops"])
def test_auditors_and_hiring_ops_admins_see_the_trail(client, request, who) -> None:
    _event(object_repr="Support screen")
    client.force_login(request.getfixturevalue(who))

    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Support screen" in body
    assert "<caption" in body
    assert '<label for="id_actor">' in body


def test_a_recruiter_is_refused(client, alice) -> None:
    _event(object_repr="Support screen")
    client.force_login(alice)

    for url in (URL, URL + "?format=csv"):
        response = client.get(url)
        assert response.status_code == 403
        assert b"Support screen" not in response.content


def test_a_hiring_manager_and_a_user_without_a_role_are_refused(client, requisition) -> None:
    manager = RequisitionAccessFactory(requisition=requisition, role=AccessRole.HIRING_MANAGER).user
    for user in (manager, UserFactory()):
        client.force_login(user)
        assert client.get(URL).status_code == 403


def test_the_auditor_home_and_navigation_link_to_the_page(client, auditor) -> None:
    client.force_login(auditor)
    body = client.get(reverse("home")).content.decode()
    assert f'<a href="{URL}">Audit trail</a>' in body
    assert (
        f'<a href="{URL}" aria-current="page">Audit trail</a>' in client.get(URL).content.decode()
    )


# -- filters, order, pages ---------------------------------------------------------------------


def _listed_actions(response: Any) -> list[str]:
    return [event.action for event in response.context["page"].object_list]


def test_events_are_listed_newest_first(client, auditor) -> None:
    for action in ("a.first", "a.second", "a.third"):
        _event(action)
    client.force_login(auditor)
    assert _listed_actions(client.get(URL)) == ["a.third", "a.second", "a.first"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "ops"}, ["admin.change", "admin.add"]),
        ({"actor": "system:launch"}, ["interview.launch"]),
        ({"object_type": "Interviews.Interview"}, ["interview.launch"]),
        ({"object_type": "interviews.interviewplan", "object_id": "7"}, ["admin.add"]),
        ({"action": "admin."}, ["admin.change", "admin.add"]),
        ({"action": "interview"}, ["interview.launch"]),
        ({"actor": "nobody"}, []),
    ],
)
def test_filters_narrow_the_list(client, auditor, ops, query, expected) -> None:
    _event("admin.add", actor=ops, object_id="7")
    _event("interview.launch", actor="system:launch", object_type="interviews.interview")
    _event("admin.change", actor=ops, object_id="8")
    client.force_login(auditor)

    response = client.get(URL, query)

    assert _listed_actions(response) == expected
    assert response.context["filtered"]


def test_dates_filter_whole_days_inclusive(client, auditor) -> None:
    for day in (1, 2, 3):
        with time_machine.travel(dt.datetime(2026, 11, day, 23, 30, tzinfo=dt.UTC), tick=False):
            _event(f"day.{day}")
    client.force_login(auditor)

    response = client.get(URL, {"date_from": "2026-11-02", "date_to": "2026-11-03"})
    assert _listed_actions(response) == ["day.3", "day.2"]
    assert _listed_actions(client.get(URL, {"date_to": "2026-11-01"})) == ["day.1"]


def test_a_reversed_date_range_is_explained_and_lists_nothing(client, auditor) -> None:
    _event()
    client.force_login(auditor)

    response = client.get(URL, {"date_from": "2026-11-03", "date_to": "2026-11-01"})

    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert _listed_actions(response) == []
    assert (
        client.get(
            URL, {"date_from": "2026-11-03", "date_to": "2026-11-01", "format": "csv"}
        ).status_code
        == 400
    )


def test_fifty_events_per_page_with_the_counts_shown(client, auditor) -> None:
    for index in range(53):
        _event(f"n.{index:02d}")
    client.force_login(auditor)

    first = client.get(URL)
    second = client.get(URL, {"page": "2", "action": "n."})

    assert len(first.context["page"].object_list) == 50
    assert "page 1 of 2" in first.content.decode()
    assert (
        'Showing <strong>1–50</strong> of <strong data-testid="audit-total">53</strong>'
        in first.content.decode()
    )
    assert _listed_actions(second) == ["n.02", "n.01", "n.00"]
    body = second.content.decode()
    assert "page 2 of 2" in body
    assert 'href="?page=1&amp;action=n."' in body  # page links keep the filters


def test_an_htmx_request_gets_only_the_results_region(client, auditor) -> None:
    _event("plan.update")
    client.force_login(auditor)

    response = client.get(URL, {"action": "plan."}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="audit-results"')
    assert "<h1>" not in body
    assert "HX-Request" in response["Vary"]


def test_the_page_query_count_does_not_grow_with_rows(client, auditor, ops) -> None:
    for index in range(3):
        _event(f"few.{index}", actor=ops)
    client.force_login(auditor)
    client.get(URL)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200

    for index in range(60):
        _event(f"many.{index}", actor=UserFactory() if index % 2 else ops, changes={"i": index})
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200

    assert len(many) == len(few)


# -- CSV export --------------------------------------------------------------------------------


def test_the_csv_export_has_a_header_and_the_filtered_rows(client, auditor, ops) -> None:
    kept = _event("admin.add", actor=ops, object_id="7", changes={"message": "Added."})
    _event("interview.launch", actor="system:launch")
    client.force_login(auditor)

    page = client.get(URL, {"actor": "ops"}).content.decode()
    assert 'href="?actor=ops&amp;format=csv"' in page
    response = client.get(URL, {"actor": "ops", "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    rows = _csv(response)
    assert rows[0] == [
        "id", "occurred_at", "actor", "actor_id", "action", "object_type", "object_id",
        "object_repr", "changes", "request_id", "prev_hash", "hash",
    ]  # fmt: skip
    assert len(rows) == 2
    assert rows[1][:7] == [
        str(kept.pk),
        kept.occurred_at.astimezone(dt.UTC).isoformat(),
        "ops",
        str(ops.pk),
        "admin.add",
        "interviews.interviewplan",
        "7",
    ]
    assert rows[1][8] == '{"message": "Added."}'
    assert rows[1][11] == kept.hash


def test_an_export_is_itself_audited(client, auditor) -> None:
    _event("plan.update")
    _event("plan.update")
    client.force_login(auditor)

    response = client.get(
        URL, {"action": "plan.", "format": "csv"}, headers={"X-Request-Id": "req-42"}
    )
    rows = _csv(response)

    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor_label == "audrey"
    assert export.changes == {
        "format": "csv",
        "filters": {"action": "plan."},
        "rows": 2,
        "up_to_event": int(rows[1][0]),
    }
    assert export.request_id == "req-42"
    assert len(rows) == 3  # the export's own event is not in its file


def test_a_long_export_streams_in_chunks_newest_first(client, auditor, monkeypatch) -> None:
    from governance import audit_views

    monkeypatch.setattr(audit_views, "EXPORT_CHUNK", 4)
    events = [_event(f"n.{index}") for index in range(10)]
    client.force_login(auditor)

    rows = _csv(client.get(URL, {"format": "csv"}))

    assert [row[0] for row in rows[1:]] == [str(e.pk) for e in reversed(events)]


def test_spreadsheet_formulas_in_exported_cells_are_defused(client, auditor) -> None:
    _event("plan.update", object_repr='=HYPERLINK("http://evil")')
    client.force_login(auditor)

    rows = _csv(client.get(URL, {"format": "csv"}))

    assert rows[1][7] == '\'=HYPERLINK("http://evil")'


def test_exporting_needs_the_export_permission(client, auditor) -> None:
    _event()
    Group.objects.get(name=AUDITOR).permissions.remove(
        Permission.objects.get(codename="export_auditevent")
    )
    client.force_login(auditor)

    page = client.get(URL)
    assert page.status_code == 200
    assert "format=csv" not in page.content.decode()
    assert client.get(URL, {"format": "csv"}).status_code == 403
    assert not AuditEvent.objects.filter(action="audit.export").exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_filtering_in_a_browser_swaps_the_results_and_keeps_the_url(
    live_server, page, role_groups
) -> None:
    UserFactory(username="pat", groups=[AUDITOR])
    _event("interview.launch", actor="system:launch", object_repr="Launched for Ada")
    _event("admin.change", object_repr="Support screen")
    page.goto(f"{live_server.url}{URL}")
    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill(UserFactory.DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}{URL}")

    page.get_by_label("Action starts with").fill("interview.")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/audit/?*action=interview.*")

    results = page.locator("#audit-results")
    assert "Launched for Ada" in results.inner_text()
    assert "Support screen" not in results.inner_text()
    assert page.locator("h1").count() == 1  # a region swap, not a page nested in a page
    assert page.console_errors == []  # htmx ran under the Content-Security-Policy
