"""GET /sync-health/ and its writeback retry: the hiring-ops admin's sync health page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEvent, StopScope
from governance.roles import AUDITOR, HIRING_OPS_ADMIN
from integrations.models import InboundEventStatus, WritebackStatus
from tests.factories import (
    AtsConnectionFactory,
    InboundEventFactory,
    SignatureFailureFactory,
    StopSwitchFactory,
    UnmappedStageFactory,
    UserFactory,
    WritebackJobFactory,
)

pytestmark = pytest.mark.django_db

URL = "/sync-health/"


@pytest.fixture
def ops(role_groups: None) -> Any:
    return UserFactory(username="ops", groups=[HIRING_OPS_ADMIN])


@pytest.fixture
def auditor(role_groups: None) -> Any:
    return UserFactory(username="audrey", groups=[AUDITOR])


@pytest.fixture
def acme(db: Any) -> Any:
    return AtsConnectionFactory(name="Acme Greenhouse", mode="live")


def _dead_job(connection: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("attempts", 8)
    kwargs.setdefault("last_error", "HTTP 500 from Harvest: internal error")
    return WritebackJobFactory(
        connection=connection, status=WritebackStatus.DEAD, next_attempt_at=None, **kwargs
    )


def _retry_url(job: Any) -> str:
    return reverse("governance:sync-health-writeback-retry", args=[job.pk])


def test_the_urls_are_named() -> None:
    assert reverse("governance:sync-health") == URL
    assert reverse("governance:sync-health-writeback-retry", args=[7]) == (
        "/sync-health/writebacks/7/retry/"
    )


# -- who may see it ----------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, acme) -> None:
    job = _dead_job(acme)
    for response in (client.get(URL), client.post(_retry_url(job))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    job.refresh_from_db()
    assert job.status == WritebackStatus.DEAD


@pytest.mark.parametrize("who", ["alice", "auditor"])
def test_recruiters_and_auditors_are_refused(client, request, acme, who) -> None:
    job = _dead_job(acme)
    client.force_login(request.getfixturevalue(who))

    assert client.get(URL).status_code == 403
    assert client.post(_retry_url(job)).status_code == 403
    job.refresh_from_db()
    assert job.status == WritebackStatus.DEAD
    assert not AuditEvent.objects.filter(action="writeback.retry").exists()


def test_the_page_needs_get_and_the_retry_needs_post(client, ops, acme) -> None:
    job = _dead_job(acme)
    client.force_login(ops)
    assert client.post(URL).status_code == 405
    assert client.get(_retry_url(job)).status_code == 405


def test_an_admin_sees_every_section_per_connection(client, ops, acme) -> None:
    other = AtsConnectionFactory(name="Beta Lever", provider="lever")
    _dead_job(acme, last_error="HTTP 500 from Harvest: internal error")
    WritebackJobFactory(
        connection=acme, status=WritebackStatus.FAILED, attempts=2, last_error="timeout"
    )
    WritebackJobFactory(connection=acme, status=WritebackStatus.SUCCEEDED)  # not listed
    stage = UnmappedStageFactory(connection=acme, remote_stage_name="Take Home")
    InboundEventFactory(connection=acme, status=InboundEventStatus.PROCESSED)
    InboundEventFactory(connection=acme, status=InboundEventStatus.FAILED)
    old = InboundEventFactory(connection=acme, status=InboundEventStatus.FAILED)
    old.received_at = timezone.now() - dt.timedelta(hours=30)
    old.save(update_fields=["received_at"])
    SignatureFailureFactory(connection=other)
    StopSwitchFactory(scope=StopScope.GLOBAL, plan=None, reason="Vendor outage today")
    client.force_login(ops)

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Vary"].find("HX-Request") >= 0
    body = response.content.decode()
    assert "Acme Greenhouse" in body
    assert "Beta Lever" in body
    assert "HTTP 500 from Harvest: internal error" in body
    assert "Dead (gave up)" in body
    assert "Failed (will retry)" in body
    assert body.count(">Retry</button>") == 2
    assert reverse("admin:integrations_unmappedstage_change", args=[stage.pk]) in body
    assert "Take Home" in body
    assert '">1</span> signature failure</span>' in body
    assert "Vendor outage today" in body
    counts = response.context["counts"]
    assert counts == {
        "failing": 1,
        "dead": 1,
        "unmapped": 1,
        "events": 2,  # the 30-hour-old delivery is outside the window
        "events_failed": 1,
        "signature_failures": 1,
        "stop_switches": 1,
    }
    acme_health = next(c for c in response.context["connections"] if c.connection == acme)
    assert acme_health.events == {"processed": 1, "failed": 1}
    # The counts region refreshes itself and has a plain link as fallback.
    assert 'hx-trigger="every 30s' in body
    assert f'href="{URL}" hx-get="{URL}"' in body


def test_an_htmx_request_gets_only_the_counts_region(client, ops, acme) -> None:
    _dead_job(acme)
    client.force_login(ops)

    response = client.get(URL, headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card sync-counts" id="sync-counts"')
    assert "<html" not in body
    assert response.context["counts"]["dead"] == 1


# -- retry -------------------------------------------------------------------------------------


def test_retrying_a_dead_job_with_a_plain_form_queues_it_and_audits(
    client, ops, acme, django_capture_on_commit_callbacks
) -> None:
    job = _dead_job(acme)
    client.force_login(ops)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(_retry_url(job))

    assert response.status_code == 302
    assert response["Location"] == URL
    assert len(callbacks) == 1  # the relay kick, after commit
    job.refresh_from_db()
    assert job.status == WritebackStatus.PENDING
    assert job.max_attempts == 9  # one more attempt than it has used
    event = AuditEvent.objects.get(action="writeback.retry")
    assert event.actor == ops
    assert event.object_type == "integrations.writebackjob"
    assert event.object_id == str(job.pk)
    assert event.changes["status"] == ["dead", "pending"]
    page = client.get(URL).content.decode()
    assert f"Writeback {job.pk} queued for a new attempt." in page


def test_retrying_with_htmx_returns_the_updated_row(client, ops, acme) -> None:
    job = _dead_job(acme)
    client.force_login(ops)

    response = client.post(_retry_url(job), headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = response.content.decode().strip()
    assert body.startswith(f'<tr id="writeback-{job.pk}"')
    assert body.endswith("</tr>")
    assert "Pending" in body
    assert "queued for a new attempt" in body
    assert ">Retry</button>" not in body
    assert "sync-health-changed" in response["HX-Trigger"]
    job.refresh_from_db()
    assert job.status == WritebackStatus.PENDING
    assert AuditEvent.objects.filter(action="writeback.retry", object_id=str(job.pk)).count() == 1


def test_a_job_that_is_no_longer_failing_is_not_retried_or_audited(client, ops, acme) -> None:
    job = WritebackJobFactory(connection=acme, status=WritebackStatus.SUCCEEDED)
    client.force_login(ops)

    response = client.post(_retry_url(job), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "was not retried" in response.content.decode()
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED
    assert not AuditEvent.objects.filter(action="writeback.retry").exists()


def test_retrying_an_unknown_job_is_404(client, ops) -> None:
    client.force_login(ops)
    assert client.post("/sync-health/writebacks/999999/retry/").status_code == 404


# -- queries -----------------------------------------------------------------------------------


def _populate(connections: list[Any], n: int) -> None:
    for i in range(n):
        conn = connections[i % len(connections)]
        if i % 2:
            _dead_job(conn)
        else:
            WritebackJobFactory(connection=conn, status=WritebackStatus.FAILED, last_error="x")
        UnmappedStageFactory(connection=conn)
        InboundEventFactory(connection=conn)
        SignatureFailureFactory(connection=conn)


def _queries(client: Any) -> int:
    with CaptureQueriesContext(db_connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_rows(client, ops) -> None:
    connections = [AtsConnectionFactory(), AtsConnectionFactory()]
    StopSwitchFactory()
    client.force_login(ops)
    _populate(connections, 10)
    few = _queries(client)

    # 10 vs 500 rows of each kind (failing/dead writebacks, unmapped stages, deliveries,
    # signature failures), over one more connection.
    _populate([*connections, AtsConnectionFactory()], 490)
    StopSwitchFactory(scope=StopScope.GLOBAL, plan=None)
    many = _queries(client)

    assert many == few
