"""A transaction that lost to a concurrent one (deadlock, serialization failure) is run again.

Before: a deadlock between two workers left the losing vendor event ``failed`` and the losing
launch lost for good (found by the pipeline bench with two worker processes).
"""

from __future__ import annotations

from typing import Any

import psycopg.errors
import pytest
from django.db import IntegrityError, OperationalError, transaction

from integrations import db
from integrations.models import Application, CanonicalStage, InboundEventStatus
from integrations.services import stage_sync
from tests.helpers import connection_with_stages
from tests.integrations.test_stage_sync import generic_payload, process, store


def deadlock() -> OperationalError:
    """What Django raises when PostgreSQL picked this transaction as the deadlock victim."""
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def serialization_failure() -> OperationalError:
    error = OperationalError("could not serialize access due to concurrent update")
    error.__cause__ = psycopg.errors.SerializationFailure("could not serialize access")
    return error


class Flaky:
    """Raises the given errors in turn, then returns what ``then`` returns."""

    def __init__(self, *errors: Exception, then: Any = "done") -> None:
        self.errors = list(errors)
        self.then = then
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.then


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(db.time, "sleep", slept.append)
    return slept


# -- the helper --------------------------------------------------------------------------------


def test_deadlock_and_serialization_failures_are_transient() -> None:
    assert db.is_transient_db_error(deadlock())
    assert db.is_transient_db_error(serialization_failure())
    assert not db.is_transient_db_error(OperationalError("connection refused"))
    assert not db.is_transient_db_error(IntegrityError("duplicate key"))
    assert not db.is_transient_db_error(RuntimeError("deadlock detected"))


def test_a_transient_failure_is_retried_with_growing_waits(no_waiting: list[float]) -> None:
    work = Flaky(deadlock(), serialization_failure())

    assert db.retry_transient(work, what="test work") == "done"

    assert work.calls == 3
    assert no_waiting == list(db.RETRY_DELAYS[:2])


def test_retries_are_bounded_and_the_last_error_is_raised(no_waiting: list[float]) -> None:
    errors = [deadlock() for _ in range(len(db.RETRY_DELAYS) + 1)]
    work = Flaky(*errors)

    with pytest.raises(OperationalError) as raised:
        db.retry_transient(work, what="test work")

    assert raised.value is errors[-1]
    assert work.calls == len(db.RETRY_DELAYS) + 1
    assert no_waiting == list(db.RETRY_DELAYS)


def test_other_database_errors_are_raised_at_once() -> None:
    work = Flaky(OperationalError("server closed the connection unexpectedly"))

    with pytest.raises(OperationalError, match="server closed"):
        db.retry_transient(work, what="test work")

    assert work.calls == 1


@pytest.mark.django_db
def test_inside_an_outer_transaction_the_error_goes_to_its_owner() -> None:
    work = Flaky(deadlock())

    with pytest.raises(OperationalError), transaction.atomic():
        db.retry_transient(work, what="test work")

    assert work.calls == 1


# -- inbound events ----------------------------------------------------------------------------


def stored_generic_event() -> tuple[Any, Any]:
    """A generic-webhook connection mapping "AI Interview", and one stored stage change."""
    connection = connection_with_stages(
        slug="acme-generic",
        provider="generic",
        stages=[("", "AI Interview", CanonicalStage.AUTOMATED_INTERVIEW)],
    )
    return connection, store(connection, generic_payload())


@pytest.mark.django_db(transaction=True)
def test_an_inbound_event_that_lost_a_deadlock_is_applied_on_the_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection, event = stored_generic_event()
    real_apply = stage_sync.stage_change_apply
    calls: list[int] = []

    def apply_then_lose_once(**kwargs: Any) -> Any:
        calls.append(1)
        result = real_apply(**kwargs)  # the write happens, then the transaction is aborted
        if len(calls) == 1:
            raise deadlock()
        return result

    monkeypatch.setattr(stage_sync, "stage_change_apply", apply_then_lose_once)

    processed = process(event)

    assert processed.status == InboundEventStatus.PROCESSED
    assert processed.attempts == 1
    assert processed.error == ""
    assert len(calls) == 2
    application = Application.objects.get(connection=connection)
    assert application.canonical_stage == CanonicalStage.AUTOMATED_INTERVIEW
    assert application.stage_changes.count() == 1  # the aborted try left nothing behind


@pytest.mark.django_db(transaction=True)
def test_an_inbound_event_that_keeps_losing_fails_visibly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _connection, event = stored_generic_event()

    def always_lose(**kwargs: Any) -> Any:
        raise deadlock()

    monkeypatch.setattr(stage_sync, "stage_change_apply", always_lose)

    processed = process(event)

    assert processed.status == InboundEventStatus.FAILED
    assert processed.error == "OperationalError: deadlock detected"
    assert not Application.objects.exists()
