"""The metrics dashboard, its CSV export and ``manage.py metrics_report``."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from governance.models import AccessRole
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN
from tests.factories import RequisitionAccessFactory, UserFactory
from tests.governance import metrics_world
from tests.governance.metrics_world import NOW

pytestmark = pytest.mark.django_db

MARCH = {"since": "2026-03-01", "until": "2026-03-31"}


@pytest.fixture
def world(role_groups):
    return metrics_world.build()


def _get(user, url_name="governance:metrics", **params):
    client = Client()
    if user is not None:
        client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse(url_name), params)


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _value(rows, metric, cohort="pilot", group=""):
    (row,) = [
        r for r in rows if r["metric"] == metric and r["cohort"] == cohort and r["group"] == group
    ]
    return row


def test_admin_sees_every_figure_and_the_charts(world) -> None:
    admin = UserFactory(groups=[HIRING_OPS_ADMIN], is_staff=True)
    response = _get(admin, **MARCH)
    assert response.status_code == 200
    body = response.content.decode()
    # Hand-worked figures from tests/governance/metrics_world.py (see test_metrics.py).
    assert "57.1 %" in body  # completion 4 / 7
    assert "4 of 7 invited" in body
    assert "median 7.0 h" in body
    assert "p90 19.8 h" in body
    assert "median 24.0 h" in body  # baseline time to screen
    assert "2 of 4 decisions" in body  # overrides
    assert body.count('<svg class="chart"') == 3
    assert "How computed" in body
    assert 'aria-current="page"' in body
    assert ">Metrics</a>" in body


def test_an_auditor_may_open_it_too(world) -> None:
    auditor = UserFactory(groups=[AUDITOR], is_staff=True)
    response = _get(auditor, **MARCH)
    assert response.status_code == 200
    assert "4 of 7 invited" in response.content.decode()


def test_a_recruiter_sees_only_their_requisitions(world) -> None:
    RequisitionAccessFactory(
        user=world.bob, requisition=world.sales_requisition, role=AccessRole.RECRUITER
    )
    response = _get(world.bob, **MARCH)
    assert response.status_code == 200
    body = response.content.decode()
    assert "0 of 0 invited" in body
    assert "Support agent" not in body  # not even offered as a filter
    # Asking for a requisition outside the scope is a form error, not data (nor a 500).
    refused = _get(world.bob, requisition=world.support_requisition.pk, **MARCH)
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert "invited" not in refused.content.decode()


def test_a_hiring_manager_sees_their_requisition(world) -> None:
    manager = UserFactory(groups=[HIRING_MANAGER])
    RequisitionAccessFactory(
        user=manager, requisition=world.support_requisition, role=AccessRole.HIRING_MANAGER
    )
    rows = _csv(_get(manager, "governance:metrics-csv", **MARCH))
    assert _value(rows, "manual override rate")["numerator"] == "2"


def test_people_without_a_role_are_refused_and_anonymous_go_to_login(world) -> None:
    nobody = UserFactory()
    assert _get(nobody).status_code == 403
    assert _get(nobody, "governance:metrics-csv").status_code == 403
    anonymous = _get(None)
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]


def test_bad_dates_are_a_form_error_and_a_json_400_for_the_csv(world) -> None:
    admin = UserFactory(groups=[HIRING_OPS_ADMIN])
    page = _get(admin, since="2026-04-01", until="2026-03-01")
    assert page.status_code == 200
    assert "The start date must not be after the end date." in page.content.decode()
    export = _get(admin, "governance:metrics-csv", since="not-a-date")
    assert export.status_code == 400
    assert "since" in export.json()["errors"]


def test_csv_has_the_same_numbers(world) -> None:
    admin = UserFactory(groups=[HIRING_OPS_ADMIN])
    response = _get(admin, "governance:metrics-csv", **MARCH)
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    completion = _value(rows, "completion rate")
    assert (completion["numerator"], completion["denominator"], completion["value"]) == (
        "4",
        "7",
        "0.5714",
    )
    assert _value(rows, "time to screen p90", "baseline")["value"] == "43.2"
    assert _value(rows, "reached onsite", group="proceed")["value"] == "0.5"
    assert _value(rows, "recruiter hours saved", group="total")["value"] == "1.0"
    assert _value(rows, "writebacks dead", "all")["value"] == "0.25"


def test_a_role_family_name_cannot_smuggle_a_formula_into_the_csv(world) -> None:
    world.support.name = "=HYPERLINK(1)"
    world.support.save()
    rows = _csv(_get(UserFactory(groups=[HIRING_OPS_ADMIN]), "governance:metrics-csv", **MARCH))
    assert _value(rows, "candidates screened", group="'=HYPERLINK(1)")["value"] == "4"


def test_htmx_gets_only_the_body_region(world) -> None:
    client = Client()
    client.force_login(UserFactory(groups=[HIRING_OPS_ADMIN]))
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("governance:metrics"), MARCH, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="metrics-body">')
    assert "<nav" not in body


def test_query_count_does_not_grow_with_rows(world, django_assert_max_num_queries) -> None:
    client = Client()
    client.force_login(UserFactory(groups=[HIRING_OPS_ADMIN]))
    url = reverse("governance:metrics")
    with time_machine.travel(NOW, tick=False):
        client.get(url, MARCH)  # warm up (content types, the session)
        # Session, user and roles, the metric queries in a transaction (8, one scan per row
        # set, + the savepoint and, on PostgreSQL, three SET LOCAL), filter choices (3):
        # 17 on SQLite, 20 on PostgreSQL.
        with django_assert_max_num_queries(20):
            small = client.get(url, MARCH)
        # A second copy of the whole world: twice the rows, the same number of queries.
        metrics_world.build(suffix="-2")
        with django_assert_max_num_queries(20):
            large = client.get(url, MARCH)
    assert "4 of 7 invited" in small.content.decode()
    assert "8 of 14 invited" in large.content.decode()


def test_metrics_report_command_prints_the_same_numbers(world) -> None:
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(
            "metrics_report",
            "--role-family",
            "support",
            "--since",
            "2026-03-01",
            "--until",
            "2026-03-31",
            stdout=out,
        )
    text = out.getvalue()
    completion = [line for line in text.splitlines() if "completion rate" in line]
    assert "0.5714" in completion[0]
    assert "4/7" in completion[0]
    # Support's baseline is B3 alone (48 h).
    (baseline,) = [
        line
        for line in text.splitlines()
        if "time to screen median" in line
        and "baseline" in line
        and "weekly" not in line
        and "quality" not in line
    ]
    assert "48.0" in baseline


def test_metrics_report_rejects_an_unknown_role_family(world) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="role_family"):
        call_command("metrics_report", "--role-family", "nope", stdout=io.StringIO())
