"""The writeback outbox with a fake connector: enqueue, relay, retries, leases, manual retry.

The fake client stands in for ``registry.client_for(connection)`` and raises the typed errors of
``integrations.http`` exactly as the real clients do.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from integrations import registry
from integrations.connectors.base import WritebackOutcome
from integrations.http import (
    AtsAuthError,
    AtsPermanentError,
    AtsRateLimited,
    AtsServerError,
    AtsTimeout,
)
from integrations.models import (
    ConnectionMode,
    WritebackAttempt,
    WritebackJob,
    WritebackKind,
    WritebackStatus,
)
from integrations.services import outbox
from integrations.services.outbox import (
    LEASE,
    writeback_enqueue,
    writeback_relay,
    writeback_retry,
)
from integrations.tasks import relay_writebacks_task
from tests.factories import ApplicationFactory, AtsConnectionFactory, WritebackJobFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
PAYLOAD = {"custom_fields": [{"name_key": "ai_interview_band", "value": "proceed"}]}

Step = WritebackOutcome | Exception | Callable[[WritebackJob], WritebackOutcome]


class FakeClient:
    """Answers each send with the next scripted step (default: 200); records every call."""

    def __init__(self) -> None:
        self.script: list[Step] = []
        self.calls: list[tuple[int, int, str]] = []
        self._lock = threading.Lock()  # relays in threads share one fake

    def send_writeback(self, job: WritebackJob) -> WritebackOutcome:
        with self._lock:
            self.calls.append((job.pk, job.attempts, str(job.idempotency_key)))
            step: Step = self.script.pop(0) if self.script else WritebackOutcome(status_code=200)
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step(job)
        return step

    def sent_job_ids(self) -> list[int]:
        return [pk for pk, _, _ in self.calls]


@pytest.fixture(autouse=True)
def _no_real_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgot the ``client`` fixture fails instead of reaching a real connector."""

    def refuse(connection: Any) -> Any:
        raise AssertionError("use the client fixture")

    monkeypatch.setattr(registry, "client_for", refuse)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> FakeClient:
    fake = FakeClient()
    monkeypatch.setattr(registry, "client_for", lambda connection: fake)
    return fake


@pytest.fixture
def live() -> Any:
    return AtsConnectionFactory(mode=ConnectionMode.LIVE)


@pytest.fixture
def application(live: Any) -> Any:
    return ApplicationFactory(connection=live)


def due_job(connection: Any, **fields: Any) -> WritebackJob:
    fields.setdefault("next_attempt_at", T0)
    return WritebackJobFactory(connection=connection, **fields)


def rate_limited(retry_after: float) -> AtsRateLimited:
    return AtsRateLimited(
        "HTTP 429 from PATCH https://ats.example/v1/applications/1",
        status_code=429,
        excerpt='{"message":"slow down"}',
        retry_after=retry_after,
    )


def server_error(status: int = 500) -> AtsServerError:
    return AtsServerError(f"HTTP {status} from PATCH https://ats.example/x", status_code=status)


def validation_error() -> AtsPermanentError:
    body = '{"message":"Validation error","errors":[{"message":"unknown field","field":"x"}]}'
    return AtsPermanentError(
        f"HTTP 422 from PATCH https://ats.example/v1/applications/1: {body}",
        status_code=422,
        excerpt=body,
    )


def attempts_of(job: WritebackJob) -> list[WritebackAttempt]:
    return list(job.attempt_log.order_by("attempt_number"))


# -- enqueue -----------------------------------------------------------------------------------


def test_job_enqueued_in_a_rolled_back_transaction_leaves_nothing(
    application: Any, django_capture_on_commit_callbacks: Any
) -> None:
    @transaction.atomic
    def change_that_fails() -> None:
        writeback_enqueue(
            connection=application.connection,
            application=application,
            kind=WritebackKind.CUSTOM_FIELDS,
            payload=PAYLOAD,
        )
        raise RuntimeError("the change that caused the writeback failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        change_that_fails()
    assert not WritebackJob.objects.exists()
    assert callbacks == []  # no relay kick for a write that never happened


def test_enqueue_stores_a_due_pending_job_and_kicks_the_relay_after_commit(
    application: Any,
    client: FakeClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        job = writeback_enqueue(
            connection=application.connection,
            application=application,
            kind=WritebackKind.CUSTOM_FIELDS,
            payload=PAYLOAD,
        )
    job.refresh_from_db()
    assert job.status == WritebackStatus.PENDING
    assert job.next_attempt_at is not None
    assert job.max_attempts == 8
    assert job.payload == PAYLOAD
    assert client.calls == []  # nothing is sent before the commit
    assert len(callbacks) == 1

    callbacks[0]()  # the commit happened: the kick runs the relay (eager Celery in tests)
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED
    assert client.sent_job_ids() == [job.pk]


def test_max_attempts_default_comes_from_the_setting(application: Any, settings: Any) -> None:
    settings.SCREENBRIDGE_WRITEBACK_MAX_ATTEMPTS = 3
    job = writeback_enqueue(
        connection=application.connection,
        application=application,
        kind=WritebackKind.NOTE,
        payload={"body": "x"},
    )
    assert job.max_attempts == 3
    explicit = writeback_enqueue(
        connection=application.connection,
        application=application,
        kind=WritebackKind.NOTE,
        payload={"body": "y"},
        max_attempts=5,
    )
    assert explicit.max_attempts == 5


def test_a_broker_error_on_the_kick_is_logged_and_the_job_kept(
    application: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broker_down() -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(relay_writebacks_task, "delay", broker_down)
    with (
        caplog.at_level(logging.WARNING, logger="integrations.services.outbox"),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        job = writeback_enqueue(
            connection=application.connection,
            application=application,
            kind=WritebackKind.CUSTOM_FIELDS,
            payload=PAYLOAD,
        )
    job.refresh_from_db()
    assert job.status == WritebackStatus.PENDING  # beat's relay will send it
    assert "Could not enqueue the writeback relay" in caplog.text


def test_a_newer_write_for_the_same_target_supersedes_the_unsent_older_ones(
    application: Any,
) -> None:
    connection = application.connection
    pending = due_job(connection, application=application)
    failed = due_job(connection, application=application, status=WritebackStatus.FAILED)
    in_flight = due_job(
        connection,
        application=application,
        status=WritebackStatus.IN_FLIGHT,
        attempts=1,
        lease_expires_at=T0 + LEASE,
    )
    sent = due_job(connection, application=application, status=WritebackStatus.SUCCEEDED)
    other_target = due_job(connection, application=application, target="decision")
    other_kind = due_job(connection, application=application, kind=WritebackKind.NOTE)
    other_application = due_job(connection)

    newest = writeback_enqueue(
        connection=connection,
        application=application,
        kind=WritebackKind.CUSTOM_FIELDS,
        payload=PAYLOAD,
    )

    statuses = dict(WritebackJob.objects.values_list("pk", "status"))
    assert statuses[pending.pk] == WritebackStatus.SUPERSEDED
    assert statuses[failed.pk] == WritebackStatus.SUPERSEDED
    assert statuses[in_flight.pk] == WritebackStatus.IN_FLIGHT  # being sent: left alone
    assert statuses[sent.pk] == WritebackStatus.SUCCEEDED
    assert statuses[other_target.pk] == WritebackStatus.PENDING
    assert statuses[other_kind.pk] == WritebackStatus.PENDING
    assert statuses[other_application.pk] == WritebackStatus.PENDING
    assert statuses[newest.pk] == WritebackStatus.PENDING


def test_enqueue_refuses_an_application_of_another_connection_or_an_unknown_kind(
    application: Any,
) -> None:
    other = AtsConnectionFactory(mode=ConnectionMode.LIVE)
    with pytest.raises(ValueError, match="another ATS connection"):
        writeback_enqueue(
            connection=other, application=application, kind=WritebackKind.NOTE, payload={}
        )
    with pytest.raises(ValueError, match="unknown writeback kind"):
        writeback_enqueue(
            connection=application.connection, application=application, kind="fax", payload={}
        )
    assert not WritebackJob.objects.exists()


def test_jobs_without_an_application_never_supersede_each_other(live: Any) -> None:
    first = writeback_enqueue(
        connection=live, application=None, kind=WritebackKind.GENERIC, payload={"n": 1}
    )
    second = writeback_enqueue(
        connection=live, application=None, kind=WritebackKind.GENERIC, payload={"n": 2}
    )
    first.refresh_from_db()
    assert first.status == second.status == WritebackStatus.PENDING


# -- sandbox -----------------------------------------------------------------------------------


def test_a_sandbox_connection_records_the_write_and_never_sends_it(
    client: FakeClient, django_capture_on_commit_callbacks: Any
) -> None:
    sandbox_application = ApplicationFactory(connection__mode=ConnectionMode.SANDBOX)
    with django_capture_on_commit_callbacks() as callbacks:
        job = writeback_enqueue(
            connection=sandbox_application.connection,
            application=sandbox_application,
            kind=WritebackKind.CUSTOM_FIELDS,
            payload=PAYLOAD,
        )
    assert callbacks == []  # nothing to relay
    assert writeback_relay(now=T0 + dt.timedelta(days=1)) == 0
    assert client.calls == []
    job.refresh_from_db()
    assert job.status == WritebackStatus.SANDBOXED
    assert job.payload == PAYLOAD  # exactly what would have been written
    assert job.attempts == 0
    assert job.completed_at is not None
    assert not job.attempt_log.exists()


def test_a_job_whose_connection_went_to_sandbox_is_recorded_not_sent(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live)
    live.mode = ConnectionMode.SANDBOX
    live.save()
    assert writeback_relay(now=T0) == 1
    job.refresh_from_db()
    assert job.status == WritebackStatus.SANDBOXED
    assert client.calls == []


def test_an_inactive_connection_sends_nothing_and_keeps_its_jobs(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live)
    live.active = False
    live.save()
    assert writeback_relay(now=T0) == 0
    job.refresh_from_db()
    assert job.status == WritebackStatus.PENDING
    live.active = True
    live.save()
    assert writeback_relay(now=T0) == 1
    assert client.sent_job_ids() == [job.pk]


# -- relay outcomes ----------------------------------------------------------------------------


def test_a_successful_send_records_the_attempt_and_completes_the_job(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live)
    assert writeback_relay(now=T0) == 1
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED
    assert job.attempts == 1
    assert job.completed_at == T0
    assert job.lease_expires_at is None
    assert job.last_error == ""
    [attempt] = attempts_of(job)
    assert attempt.attempt_number == 1
    assert attempt.status_code == 200
    assert attempt.succeeded is True
    assert attempt.latency_ms is not None
    assert attempt.error == ""
    assert client.calls == [(job.pk, 1, str(job.idempotency_key))]


def test_a_429_waits_at_least_the_retry_after_before_the_next_attempt(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live)
    client.script = [rate_limited(retry_after=120)]
    writeback_relay(now=T0)
    job.refresh_from_db()
    assert job.status == WritebackStatus.FAILED
    assert job.next_attempt_at is not None
    assert job.next_attempt_at >= T0 + dt.timedelta(seconds=120)
    assert "429" in job.last_error
    [attempt] = attempts_of(job)
    assert attempt.status_code == 429
    assert attempt.succeeded is False

    # Not due before the ATS's "not before".
    assert writeback_relay(now=T0 + dt.timedelta(seconds=119)) == 0
    assert writeback_relay(now=job.next_attempt_at) == 1
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED
    assert job.attempts == 2


def test_a_500_is_retried_with_backoff_and_then_succeeds(live: Any, client: FakeClient) -> None:
    job = due_job(live)
    client.script = [server_error(500)]
    writeback_relay(now=T0)
    job.refresh_from_db()
    assert job.status == WritebackStatus.FAILED
    assert job.next_attempt_at is not None
    assert T0 <= job.next_attempt_at <= T0 + dt.timedelta(seconds=outbox.BACKOFF_BASE_SECONDS)
    assert "500" in job.last_error

    writeback_relay(now=job.next_attempt_at + dt.timedelta(seconds=1))
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED
    assert job.last_error == ""
    assert [(a.attempt_number, a.status_code, a.succeeded) for a in attempts_of(job)] == [
        (1, 500, False),
        (2, 200, True),
    ]
    # Both attempts carried the same idempotency key.
    assert {key for _, _, key in client.calls} == {str(job.idempotency_key)}


def test_a_timeout_is_retried(live: Any, client: FakeClient) -> None:
    job = due_job(live)
    client.script = [AtsTimeout("read timeout after 30s: PATCH https://ats.example/x")]
    writeback_relay(now=T0)
    job.refresh_from_db()
    assert job.status == WritebackStatus.FAILED
    assert "timeout" in job.last_error
    [attempt] = attempts_of(job)
    assert attempt.status_code is None
    writeback_relay(now=T0 + dt.timedelta(hours=1))
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED
    assert job.attempts == 2


def test_a_422_is_dead_after_exactly_one_attempt_with_its_error_visible(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live)
    client.script = [validation_error()]
    writeback_relay(now=T0)
    job.refresh_from_db()
    assert job.status == WritebackStatus.DEAD
    assert job.attempts == 1
    assert job.completed_at == T0
    assert job.next_attempt_at is None
    assert "422" in job.last_error
    assert "unknown field" in job.last_error
    [attempt] = attempts_of(job)
    assert attempt.status_code == 422
    assert "unknown field" in attempt.error
    assert writeback_relay(now=T0 + dt.timedelta(days=1)) == 0
    assert len(client.calls) == 1


def test_an_auth_error_is_permanent(live: Any, client: FakeClient) -> None:
    job = due_job(live)
    client.script = [AtsAuthError("HTTP 401 from PATCH https://ats.example/x", status_code=401)]
    writeback_relay(now=T0)
    job.refresh_from_db()
    assert job.status == WritebackStatus.DEAD
    assert job.attempts == 1


def test_a_retryable_error_on_the_last_allowed_attempt_makes_the_job_dead(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live, max_attempts=2)
    client.script = [server_error(503), server_error(502)]
    writeback_relay(now=T0)
    writeback_relay(now=T0 + dt.timedelta(hours=2))
    job.refresh_from_db()
    assert job.status == WritebackStatus.DEAD
    assert job.attempts == 2
    assert "502" in job.last_error
    assert writeback_relay(now=T0 + dt.timedelta(days=1)) == 0
    assert len(client.calls) == 2


def test_an_unexpected_connector_error_is_recorded_and_retried(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live)
    client.script = [KeyError("custom_fields")]
    writeback_relay(now=T0)
    job.refresh_from_db()
    assert job.status == WritebackStatus.FAILED
    assert job.last_error.startswith("KeyError")
    [attempt] = attempts_of(job)
    assert attempt.error.startswith("KeyError")
    assert attempt.status_code is None


def test_a_long_error_is_cut_to_500_characters(live: Any, client: FakeClient) -> None:
    job = due_job(live)
    client.script = [AtsPermanentError("HTTP 400: " + "x" * 2000, status_code=400)]
    writeback_relay(now=T0)
    [attempt] = attempts_of(job)
    assert len(attempt.error) == 500
    job.refresh_from_db()
    assert len(job.last_error) == 500


# -- leases, duplicates, ordering ---------------------------------------------------------------


def test_an_in_flight_job_with_an_expired_lease_is_claimed_again(
    live: Any, client: FakeClient
) -> None:
    # Its worker died after the claim: attempt 1 has no recorded outcome.
    job = due_job(
        live,
        status=WritebackStatus.IN_FLIGHT,
        attempts=1,
        lease_expires_at=T0 - dt.timedelta(seconds=1),
    )
    assert writeback_relay(now=T0) == 1
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED
    assert job.attempts == 2
    lost, resent = attempts_of(job)
    assert (lost.attempt_number, lost.succeeded) == (1, False)
    assert "lost" in lost.error
    assert (resent.attempt_number, resent.succeeded) == (2, True)
    # Re-sent under the same idempotency key, so the ATS side can drop a duplicate.
    assert client.calls == [(job.pk, 2, str(job.idempotency_key))]


def test_an_in_flight_job_with_a_running_lease_is_left_to_its_worker(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live, status=WritebackStatus.IN_FLIGHT, attempts=1, lease_expires_at=T0 + LEASE)
    assert writeback_relay(now=T0) == 0
    job.refresh_from_db()
    assert job.status == WritebackStatus.IN_FLIGHT
    assert client.calls == []


def test_a_job_lost_on_its_last_allowed_attempt_is_dead_not_resent(
    live: Any, client: FakeClient
) -> None:
    job = due_job(
        live,
        status=WritebackStatus.IN_FLIGHT,
        attempts=3,
        max_attempts=3,
        lease_expires_at=T0 - dt.timedelta(seconds=1),
    )
    assert writeback_relay(now=T0) == 1
    job.refresh_from_db()
    assert job.status == WritebackStatus.DEAD
    assert "lost" in job.last_error
    assert client.calls == []


def test_running_the_relay_twice_sends_each_due_job_once(live: Any, client: FakeClient) -> None:
    jobs = [due_job(live) for _ in range(3)]
    assert writeback_relay(now=T0) == 3
    assert writeback_relay(now=T0) == 0
    assert sorted(client.sent_job_ids()) == sorted(job.pk for job in jobs)


def test_a_relay_started_while_another_is_sending_takes_only_the_other_jobs(
    live: Any, client: FakeClient
) -> None:
    first, second = due_job(live), due_job(live)
    nested: list[int] = []

    def second_relay_during_the_send(job: WritebackJob) -> WritebackOutcome:
        nested.append(writeback_relay(now=T0))  # e.g. the beat tick while a kick runs
        return WritebackOutcome(status_code=200)

    client.script = [second_relay_during_the_send]
    assert writeback_relay(now=T0) == 1  # the nested run took the second job
    assert nested == [1]
    assert sorted(client.sent_job_ids()) == sorted([first.pk, second.pk])
    assert set(WritebackJob.objects.values_list("status", flat=True)) == {WritebackStatus.SUCCEEDED}


def test_a_late_outcome_from_an_overtaken_worker_does_not_move_the_job_again(
    live: Any, client: FakeClient
) -> None:
    job = due_job(live)

    def overtaken(job: WritebackJob) -> WritebackOutcome:
        # While this call hangs, the lease runs out and another relay re-sends the job.
        writeback_relay(now=T0 + LEASE + dt.timedelta(seconds=1))
        raise server_error(504)

    client.script = [overtaken, WritebackOutcome(status_code=200)]
    writeback_relay(now=T0)
    job.refresh_from_db()
    assert job.status == WritebackStatus.SUCCEEDED  # the late 504 did not overwrite it
    assert job.attempts == 2
    assert [(a.attempt_number, a.status_code, a.succeeded) for a in attempts_of(job)] == [
        (1, 504, False),  # first logged as lost, then corrected with what the call got
        (2, 200, True),
    ]


def test_an_older_job_still_pending_is_superseded_by_a_newer_one_at_send_time(
    application: Any, client: FakeClient
) -> None:
    # Two transactions enqueued at once: neither saw the other's job to supersede it.
    older = due_job(application.connection, application=application, payload={"v": 1})
    newer = due_job(application.connection, application=application, payload={"v": 2})
    assert writeback_relay(now=T0) == 2
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == WritebackStatus.SUPERSEDED
    assert newer.status == WritebackStatus.SUCCEEDED
    assert client.sent_job_ids() == [newer.pk]


def test_a_newer_job_waits_while_an_older_one_for_the_same_target_is_in_flight(
    application: Any, client: FakeClient
) -> None:
    older = due_job(
        application.connection,
        application=application,
        status=WritebackStatus.IN_FLIGHT,
        attempts=1,
        lease_expires_at=T0 + LEASE,
    )
    newer = due_job(application.connection, application=application)
    assert writeback_relay(now=T0) == 0
    WritebackJob.objects.filter(pk=older.pk).update(
        status=WritebackStatus.SUCCEEDED, lease_expires_at=None
    )
    assert writeback_relay(now=T0) == 1
    assert client.sent_job_ids() == [newer.pk]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    db_connection.vendor != "postgresql", reason="row locks (skip_locked) need PostgreSQL"
)
def test_concurrent_relays_on_postgresql_send_each_job_exactly_once(client: FakeClient) -> None:
    live = AtsConnectionFactory(mode=ConnectionMode.LIVE)
    jobs = [due_job(live) for _ in range(40)]
    start = threading.Barrier(4)
    handled: list[int] = []
    errors: list[BaseException] = []

    def relay() -> None:
        try:
            start.wait()
            handled.append(writeback_relay(now=T0))
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(handled) == len(jobs)
    assert sorted(client.sent_job_ids()) == sorted(job.pk for job in jobs)
    assert WritebackAttempt.objects.count() == len(jobs)
    assert set(WritebackJob.objects.values_list("status", flat=True)) == {WritebackStatus.SUCCEEDED}


def test_the_relay_task_is_safe_to_run_twice(live: Any, client: FakeClient) -> None:
    job = due_job(live, next_attempt_at=timezone.now())
    assert relay_writebacks_task() == 1
    assert relay_writebacks_task() == 0
    relay_writebacks_task.delay()  # eager in tests: a third run, still nothing to send
    assert client.sent_job_ids() == [job.pk]


def test_the_relay_stops_at_its_limit(live: Any, client: FakeClient) -> None:
    for _ in range(3):
        due_job(live)
    assert writeback_relay(limit=2, now=T0) == 2
    assert writeback_relay(limit=2, now=T0) == 1


# -- manual retry ------------------------------------------------------------------------------


def test_retry_queues_dead_and_failed_jobs_for_an_immediate_attempt(
    live: Any, client: FakeClient, django_capture_on_commit_callbacks: Any
) -> None:
    dead = due_job(live, status=WritebackStatus.DEAD, attempts=8, max_attempts=8, completed_at=T0)
    failed = due_job(
        live, status=WritebackStatus.FAILED, attempts=2, next_attempt_at=T0 + dt.timedelta(hours=1)
    )
    sent = due_job(live, status=WritebackStatus.SUCCEEDED, attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        assert writeback_retry(job_ids=[dead.pk, failed.pk, sent.pk], actor="ops") == 2
    assert len(callbacks) == 1  # the relay is kicked once the retry commits
    dead.refresh_from_db()
    failed.refresh_from_db()
    assert dead.status == failed.status == WritebackStatus.PENDING
    assert dead.max_attempts == 9  # one more than it has used
    assert dead.completed_at is None
    assert failed.max_attempts == 8
    assert dead.next_attempt_at is not None
    assert dead.next_attempt_at <= timezone.now()

    writeback_relay()
    dead.refresh_from_db()
    assert dead.status == WritebackStatus.SUCCEEDED
    assert dead.attempts == 9
    assert sorted(client.sent_job_ids()) == sorted([dead.pk, failed.pk])


def test_retry_skips_a_job_a_newer_write_for_the_same_target_replaced(
    application: Any,
) -> None:
    old = due_job(application.connection, application=application, status=WritebackStatus.DEAD)
    due_job(application.connection, application=application, status=WritebackStatus.SUCCEEDED)
    assert writeback_retry(job_ids=[old.pk]) == 0
    old.refresh_from_db()
    assert old.status == WritebackStatus.DEAD


# -- manage.py relay_writebacks ----------------------------------------------------------------


def test_relay_writebacks_command_prints_counts(
    live: Any, client: FakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    due_job(live, next_attempt_at=timezone.now())
    call_command("relay_writebacks")
    out = capsys.readouterr().out
    assert "round 1/1: 1 job(s) handled" in out
    assert "succeeded 1" in out


def test_relay_writebacks_command_loops(
    live: Any, client: FakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("relay_writebacks", "--loop", "2", "--interval", "0")
    out = capsys.readouterr().out
    assert "round 2/2: 0 job(s) handled" in out
