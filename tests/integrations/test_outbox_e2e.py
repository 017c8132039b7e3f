"""The outbox end to end: real connector clients over real sockets to the loopback ATS.

Each test enqueues (or stores) a writeback, runs the relay with a pinned clock, and checks both
sides: the request the "ATS" received and the job/attempt ledger Screenbridge kept.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from integrations.models import (
    Application,
    ConnectionMode,
    WritebackJob,
    WritebackKind,
    WritebackStatus,
)
from integrations.services.outbox import writeback_enqueue, writeback_relay
from integrations.tasks import relay_writebacks_task
from tests.ats_server import (
    LOOPBACK_API_KEY,
    LOOPBACK_CLIENT_ID,
    AtsServer,
    Reply,
    loopback_connection,
)
from tests.factories import ApplicationFactory
from tests.processes import CeleryWorker, wait_for

pytestmark = pytest.mark.django_db

FIELDS = {"ai_interview_status": "Completed", "ai_interview_band": "proceed"}
GH_V3_PATCH = "/v3/applications/{id}"


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> None:
    # OAuth tokens are cached per connection id; ids can repeat across rolled-back tests.
    cache.clear()


def enqueue(application: Application, kind: str, payload: dict[str, Any]) -> WritebackJob:
    return writeback_enqueue(
        connection=application.connection, application=application, kind=kind, payload=payload
    )


def relay_at(moment: dt.datetime) -> int:
    return writeback_relay(now=moment)


def settled(job: WritebackJob) -> WritebackJob:
    job.refresh_from_db()
    return job


def ledger(job: WritebackJob) -> list[tuple[int, int | None, bool]]:
    return [
        (a.attempt_number, a.status_code, a.succeeded)
        for a in job.attempt_log.order_by("attempt_number")
    ]


# -- request shapes ----------------------------------------------------------------------------


def test_greenhouse_v3_custom_fields_are_patched_with_a_client_credentials_token(
    ats_server: AtsServer,
) -> None:
    connection = loopback_connection(ats_server, "greenhouse")
    application = ApplicationFactory(connection=connection, remote_id="69306314")
    job = enqueue(application, WritebackKind.CUSTOM_FIELDS, {"custom_fields": FIELDS})

    assert relay_at(timezone.now()) == 1

    [token] = ats_server.requests("POST", "/token")
    assert token.basic_auth == (LOOPBACK_CLIENT_ID, LOOPBACK_API_KEY)
    assert token.form == {"grant_type": "client_credentials", "sub": "4080"}
    [patch] = ats_server.requests("PATCH", GH_V3_PATCH)
    assert patch.path == "/v3/applications/69306314"
    assert (patch.header("authorization") or "").startswith("Bearer loopback-token-")
    # PostgreSQL jsonb does not keep key order, so the fields are compared as a set.
    assert sorted(patch.json["custom_fields"], key=lambda field: field["name_key"]) == [
        {"name_key": "ai_interview_band", "value": "proceed"},
        {"name_key": "ai_interview_status", "value": "Completed"},
    ]
    assert set(patch.json) == {"custom_fields"}
    assert ats_server.unmatched == []
    job = settled(job)
    assert job.status == WritebackStatus.SUCCEEDED
    assert ledger(job) == [(1, 200, True)]


def test_greenhouse_v1_note_goes_to_the_candidate_on_behalf_of_the_user(
    ats_server: AtsServer,
) -> None:
    connection = loopback_connection(ats_server, "greenhouse", settings={"harvest_version": "v1"})
    application = ApplicationFactory(connection=connection, candidate__remote_id="265772")
    job = enqueue(application, WritebackKind.NOTE, {"body": "AI interview: proceed (72/100)"})

    relay_at(timezone.now())

    [note] = ats_server.requests("POST", "/v1/candidates/{id}/activity_feed/notes")
    assert note.path == "/v1/candidates/265772/activity_feed/notes"
    assert note.header("on-behalf-of") == "4080"
    assert note.basic_auth == (LOOPBACK_API_KEY, "")
    assert note.json == {
        "user_id": 4080,
        "body": "AI interview: proceed (72/100)",
        "visibility": "private",
    }
    assert settled(job).status == WritebackStatus.SUCCEEDED


def test_lever_note_and_tags_are_posted_as_the_configured_user(
    ats_server: AtsServer,
) -> None:
    connection = loopback_connection(ats_server, "lever", on_behalf_of="user-1")
    application = ApplicationFactory(
        connection=connection, remote_id="250d8f03-738a-4bba-a671-8a3d73477145"
    )
    note = enqueue(application, WritebackKind.NOTE, {"body": "AI interview: proceed"})
    tags = enqueue(application, WritebackKind.TAGS, {"tags": ["ai-interview:proceed"]})

    assert relay_at(timezone.now()) == 2

    [sent_note] = ats_server.requests("POST", "/v1/opportunities/{id}/notes")
    assert sent_note.path == f"/v1/opportunities/{application.remote_id}/notes"
    assert sent_note.query["perform_as"] == "user-1"
    assert sent_note.basic_auth == (LOOPBACK_API_KEY, "")
    assert sent_note.json["value"] == "AI interview: proceed"
    [sent_tags] = ats_server.requests("POST", "/v1/opportunities/{id}/addTags")
    assert sent_tags.json == {"tags": ["ai-interview:proceed"]}
    assert settled(note).status == settled(tags).status == WritebackStatus.SUCCEEDED


def test_generic_writes_carry_the_jobs_idempotency_key_on_every_attempt(
    ats_server: AtsServer,
) -> None:
    connection = loopback_connection(ats_server, "generic")
    application = ApplicationFactory(connection=connection, remote_id="A-1")
    ats_server.on("POST", "/writebacks", Reply.server_error(502), Reply(200, json={"id": "wb-9"}))
    job = enqueue(application, WritebackKind.GENERIC, {"band": "proceed"})

    start = timezone.now()
    relay_at(start)
    relay_at(start + dt.timedelta(hours=1))

    first, second = ats_server.requests("POST", "/writebacks")
    assert first.header("webhook-id") == second.header("webhook-id") == str(job.idempotency_key)
    assert first.json == {
        "type": "screenbridge.writeback",
        "kind": "generic",
        "application_id": "A-1",
        "payload": {"band": "proceed"},
    }
    assert ledger(settled(job)) == [(1, 502, False), (2, 200, True)]


# -- retries -----------------------------------------------------------------------------------


def test_retry_after_from_a_429_sets_the_next_attempt(
    ats_server: AtsServer,
) -> None:
    connection = loopback_connection(ats_server, "greenhouse")
    application = ApplicationFactory(connection=connection)
    ats_server.on("PATCH", GH_V3_PATCH, Reply.rate_limited(retry_after=120), Reply(200, json={}))
    job = enqueue(application, WritebackKind.CUSTOM_FIELDS, {"custom_fields": FIELDS})

    start = timezone.now()
    relay_at(start)
    job = settled(job)
    assert job.status == WritebackStatus.FAILED
    assert job.next_attempt_at is not None
    assert job.next_attempt_at >= start + dt.timedelta(seconds=120)
    assert "429" in job.last_error

    assert relay_at(start + dt.timedelta(seconds=119)) == 0  # the ATS said "not before"
    assert len(ats_server.requests("PATCH", GH_V3_PATCH)) == 1
    relay_at(job.next_attempt_at)
    assert ledger(settled(job)) == [(1, 429, False), (2, 200, True)]


def test_a_500_then_success_is_retried_to_success(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "lever", on_behalf_of="user-1")
    application = ApplicationFactory(connection=connection)
    ats_server.on(
        "POST",
        "/v1/opportunities/{id}/notes",
        Reply.server_error(500),
        Reply(201, json={"data": {"noteId": "n-1"}}),
    )
    job = enqueue(application, WritebackKind.NOTE, {"body": "AI interview: proceed"})

    start = timezone.now()
    relay_at(start)
    job = settled(job)
    assert job.status == WritebackStatus.FAILED
    assert "500" in job.last_error
    relay_at(start + dt.timedelta(hours=1))
    job = settled(job)
    assert job.status == WritebackStatus.SUCCEEDED
    assert ledger(job) == [(1, 500, False), (2, 201, True)]
    assert len(ats_server.requests("POST", "/v1/opportunities/{id}/notes")) == 2


def test_a_read_timeout_is_retried(ats_server: AtsServer) -> None:
    connection = loopback_connection(
        ats_server, "greenhouse", settings={"http_timeout": [1.0, 0.3]}
    )
    application = ApplicationFactory(connection=connection)
    ats_server.on("PATCH", GH_V3_PATCH, Reply.slow(2.0, json={}), Reply(200, json={}))
    job = enqueue(application, WritebackKind.CUSTOM_FIELDS, {"custom_fields": FIELDS})

    start = timezone.now()
    relay_at(start)
    job = settled(job)
    assert job.status == WritebackStatus.FAILED
    assert "timeout" in job.last_error
    [attempt] = job.attempt_log.all()
    assert attempt.status_code is None
    assert attempt.latency_ms is not None
    assert attempt.latency_ms >= 250

    relay_at(start + dt.timedelta(hours=1))
    job = settled(job)
    assert job.status == WritebackStatus.SUCCEEDED
    assert job.attempts == 2


def test_a_422_is_dead_after_one_attempt_with_the_ats_error_visible(
    ats_server: AtsServer,
) -> None:
    connection = loopback_connection(ats_server, "greenhouse")
    application = ApplicationFactory(connection=connection)
    ats_server.on(
        "PATCH",
        GH_V3_PATCH,
        Reply(
            422,
            json={
                "message": "Validation error",
                "errors": [{"message": "Custom field not found", "field": "ai_interview_band"}],
            },
        ),
    )
    job = enqueue(application, WritebackKind.CUSTOM_FIELDS, {"custom_fields": FIELDS})

    start = timezone.now()
    relay_at(start)
    relay_at(start + dt.timedelta(days=1))

    job = settled(job)
    assert job.status == WritebackStatus.DEAD
    assert job.attempts == 1
    assert "422" in job.last_error
    assert "Custom field not found" in job.last_error
    [attempt] = job.attempt_log.all()
    assert (attempt.status_code, attempt.succeeded) == (422, False)
    assert "Custom field not found" in attempt.error
    assert LOOPBACK_API_KEY not in attempt.error
    assert len(ats_server.requests("PATCH", GH_V3_PATCH)) == 1


def test_an_expired_oauth_token_is_refreshed_within_the_same_attempt(
    ats_server: AtsServer,
) -> None:
    connection = loopback_connection(ats_server, "greenhouse")
    application = ApplicationFactory(connection=connection)
    first_job = enqueue(application, WritebackKind.CUSTOM_FIELDS, {"custom_fields": FIELDS})
    relay_at(timezone.now())  # caches a token
    assert settled(first_job).status == WritebackStatus.SUCCEEDED

    # The cached token has expired on Greenhouse's side: 401 once, then fine with a new one.
    ats_server.on(
        "PATCH",
        GH_V3_PATCH,
        Reply(401, json={"message": "Token expired"}),
        Reply(200, json={}),
    )
    job = enqueue(application, WritebackKind.CUSTOM_FIELDS, {"custom_fields": {"x": "y"}})
    relay_at(timezone.now())

    tokens = ats_server.requests("POST", "/token")
    assert len(tokens) == 2
    patches = ats_server.requests("PATCH", GH_V3_PATCH)
    assert len(patches) == 3
    assert patches[1].header("authorization") == patches[0].header("authorization")
    assert patches[2].header("authorization") != patches[1].header("authorization")
    job = settled(job)
    assert job.status == WritebackStatus.SUCCEEDED
    assert ledger(job) == [(1, 200, True)]  # the refresh is part of one attempt


def test_a_sandbox_connection_sends_nothing_to_the_ats(ats_server: AtsServer) -> None:
    connection = loopback_connection(ats_server, "greenhouse")
    connection.mode = ConnectionMode.SANDBOX
    connection.save(update_fields=["mode"])
    application = ApplicationFactory(connection=connection)
    job = enqueue(application, WritebackKind.CUSTOM_FIELDS, {"custom_fields": FIELDS})
    relay_at(timezone.now() + dt.timedelta(days=1))
    assert ats_server.requests() == []
    assert settled(job).status == WritebackStatus.SANDBOXED


def test_relay_writebacks_command_sends_due_jobs(
    ats_server: AtsServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    connection = loopback_connection(ats_server, "lever", on_behalf_of="user-1")
    application = ApplicationFactory(connection=connection)
    job = enqueue(application, WritebackKind.TAGS, {"tags": ["ai-interview:done"]})
    call_command("relay_writebacks")
    assert "1 job(s) handled" in capsys.readouterr().out
    assert settled(job).status == WritebackStatus.SUCCEEDED
    assert len(ats_server.requests("POST", "/v1/opportunities/{id}/addTags")) == 1


def test_reconcile_pages_through_the_generic_ats_cursor(
    ats_server: AtsServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    loopback_connection(ats_server, "generic", slug="acme-generic")

    def item(number: int) -> dict[str, Any]:
        # The generic application.stage_changed event, as connectors/generic/client.py lists it.
        return {
            "type": "application.stage_changed",
            "occurred_at": "2026-05-02T10:00:00Z",
            "application": {"id": f"A-{number}"},
            "candidate": {"id": f"C-{number}", "first_name": "Sam"},
            "job": {"id": "R-1", "title": "Support Specialist"},
            "stage": {"id": "S-2", "name": "Phone Screen"},
        }

    def page(request: Any) -> Reply:
        if request.query.get("cursor") == "page-2":
            return Reply(200, json={"data": [item(3)], "next_cursor": None})
        return Reply(200, json={"data": [item(1), item(2)], "next_cursor": "page-2"})

    ats_server.on("GET", "/applications", page)
    call_command("reconcile_ats", "acme-generic", "--since", "2026-05-01")

    requests = ats_server.requests("GET", "/applications")
    assert [r.query.get("cursor") for r in requests] == [None, "page-2"]
    assert requests[0].query["since"] == "2026-05-01T00:00:00+00:00"
    assert Application.objects.filter(remote_id__in=["A-1", "A-2", "A-3"]).count() == 3
    out = capsys.readouterr().out
    assert "Done: 3 seen: 0 created, 0 moved, 0 unchanged, 0 stale, 3 unmapped, 0 errors" in out


# -- a real worker killed mid-send -------------------------------------------------------------


def run_relay_on_worker() -> None:
    """Publish one relay run to the worker's queue, as beat would."""
    relay_writebacks_task.delay()


def test_a_worker_killed_mid_send_is_resent_once_with_the_same_idempotency_key(
    ats_server: AtsServer,
    celery_worker: CeleryWorker,
) -> None:
    """The at-least-once window: the ATS got the write, the worker died before recording it.

    The job stays in flight until its lease runs out, then goes out again with the same
    ``webhook-id``, so a receiver that deduplicates on it applies the write once.
    """
    connection = loopback_connection(ats_server, "generic")
    application = ApplicationFactory(connection=connection, remote_id="A-7")
    ats_server.on(
        "POST",
        "/writebacks",
        Reply.slow(60, json={"id": "wb-1"}),  # holds the answer while the worker is killed
        Reply(200, json={"id": "wb-1"}),
    )
    # Autocommit: committed at once; then the relay runs on the real worker.
    job = enqueue(application, WritebackKind.GENERIC, {"band": "proceed"})
    run_relay_on_worker()
    wait_for(
        lambda: len(ats_server.requests("POST", "/writebacks")) == 1,
        what="the worker to send the writeback",
    )
    celery_worker.kill_child()

    job = settled(job)
    assert job.status == WritebackStatus.IN_FLIGHT  # nobody recorded an outcome
    # Its lease (minutes) has not run out: the redelivered relay task leaves it alone.
    assert job.lease_expires_at is not None
    WritebackJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    run_relay_on_worker()
    wait_for(
        lambda: settled(job).status == WritebackStatus.SUCCEEDED,
        what="the writeback to be re-sent and recorded",
    )

    sent = ats_server.requests("POST", "/writebacks")
    assert len(sent) == 2
    assert {request.header("webhook-id") for request in sent} == {str(job.idempotency_key)}
    assert sent[0].raw_body == sent[1].raw_body
    job = settled(job)
    assert job.attempts == 2
    lost, resent = job.attempt_log.order_by("attempt_number")
    assert (lost.attempt_number, lost.succeeded, lost.status_code) == (1, False, None)
    assert "lost" in lost.error
    assert (resent.attempt_number, resent.succeeded, resent.status_code) == (2, True, 200)
