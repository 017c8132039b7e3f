"""manage.py verify_audit: recomputes the chain and names the first broken link.

Tampering needs the append-only trigger out of the way, as an attacker with table ownership would
do it: on PostgreSQL ``ALTER TABLE ... DISABLE TRIGGER USER`` (and ENABLE afterwards); on SQLite
the trigger is dropped and recreated. Both are DDL inside the test's transaction, so they roll
back with it.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from governance import audit
from governance.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("governance.migrations.0004_audit_append_only")

ON_POSTGRES = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only (ALTER TABLE ... DISABLE TRIGGER); run with DATABASE_URL=postgres://...",
)


def _record_events(count: int, **kwargs: Any) -> list[AuditEvent]:
    events = []
    for index in range(count):
        with transaction.atomic():
            events.append(
                audit.record(
                    actor=kwargs.get("actor", "system:test"),
                    action=f"step.{index}",
                    object_type="interviews.interviewplan",
                    object_id=str(index),
                    changes={"index": index},
                )
            )
    return events


def _disable_trigger_sql() -> list[str]:
    # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checks still pending in the test's
    # transaction would make ALTER TABLE fail ("pending trigger events"), so run them now.
    return [
        "SET CONSTRAINTS ALL IMMEDIATE",
        "ALTER TABLE governance_auditevent DISABLE TRIGGER USER",
    ]


@contextmanager
def _trigger_off() -> Iterator[None]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for statement in _disable_trigger_sql():
                cursor.execute(statement)
        else:
            cursor.execute("DROP TRIGGER governance_auditevent_no_update")
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for statement in migration.SQLITE_FORWARD:
                cursor.execute(statement)


def _tamper(sql: str, params: list[Any]) -> None:
    with _trigger_off(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _verify(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify_audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _verify_fails(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    return str(caught.value), err.getvalue()


def test_an_untouched_chain_verifies() -> None:
    events = _record_events(5)

    out, err = _verify()

    assert "Checked 5 event(s)" in out
    assert f"Head hash: {events[-1].hash}" in out
    assert "Audit trail intact" in out
    assert "Append-only trigger: enabled." in out
    assert err == ""


def test_an_empty_trail_verifies() -> None:
    out, _ = _verify()
    assert "Checked 0 event(s)" in out


def test_a_row_altered_while_the_trigger_was_off_is_reported() -> None:
    events = _record_events(5)
    altered = events[2]

    _tamper("UPDATE governance_auditevent SET action = %s WHERE id = %s", ["x.y", altered.pk])

    message, err = _verify_fails()
    assert f"first broken link at event #{altered.pk}" in message
    assert "1 problem(s)" in message
    assert f"Event #{altered.pk}: its content no longer matches its hash" in err
    assert f"stored hash:   {altered.hash}" in err
    assert f"Event #{events[3].pk} still points at the stored hash" in err


@ON_POSTGRES
def test_on_postgres_a_row_altered_with_the_trigger_disabled_is_reported() -> None:
    """The acceptance scenario, spelled out in SQL."""
    events = _record_events(4)
    with connection.cursor() as cursor:
        for statement in _disable_trigger_sql():
            cursor.execute(statement)
        cursor.execute(
            "UPDATE governance_auditevent SET action = 'admin.nothing' WHERE id = %s",
            [events[1].pk],
        )
        cursor.execute("ALTER TABLE governance_auditevent ENABLE TRIGGER USER")

    message, err = _verify_fails()

    assert f"at event #{events[1].pk}" in message
    assert f"Event #{events[1].pk}: its content no longer matches its hash" in err


def test_a_deleted_row_is_reported_at_its_successor() -> None:
    events = _record_events(4)

    _tamper("DELETE FROM governance_auditevent WHERE id = %s", [events[1].pk])

    message, err = _verify_fails()
    assert f"at event #{events[2].pk}" in message
    assert "prev_hash does not match the previous event's hash" in err
    assert "No event has the hash it points at" in err


def test_a_rewritten_hash_is_told_apart_from_rewritten_content() -> None:
    events = _record_events(3)
    forged = {**AuditEvent.objects.values("hash", *audit.HASHED_FIELDS).get(pk=events[0].pk)}
    forged["action"] = "forged.action"

    _tamper(
        "UPDATE governance_auditevent SET action = %s, hash = %s WHERE id = %s",
        ["forged.action", audit.compute_hash(forged), events[0].pk],
    )

    message, err = _verify_fails()
    # The forged row is self-consistent; its successor's link gives it away.
    assert f"at event #{events[1].pk}" in message
    assert "No event has the hash it points at" in err


def test_a_changed_time_is_pointed_out() -> None:
    events = _record_events(3)
    earlier = events[1].occurred_at - dt.timedelta(days=3)

    _tamper(
        "UPDATE governance_auditevent SET occurred_at = %s WHERE id = %s", [earlier, events[1].pk]
    )

    _, err = _verify_fails()
    assert "occurred_at is out of order" in err


def test_events_of_a_deleted_user_still_verify() -> None:
    user = UserFactory(username="leaver")
    _record_events(3, actor=user)

    user.delete()

    assert AuditEvent.objects.filter(actor_label="leaver", actor__isnull=True).count() == 3
    out, _ = _verify()
    assert "Audit trail intact" in out


def test_an_actor_link_cleared_without_a_user_deletion_is_reported() -> None:
    user = UserFactory(username="someone")
    events = _record_events(2, actor=user)

    # The trigger lets this one through (it looks like ON DELETE SET NULL); the chain does not.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE governance_auditevent SET actor_id = NULL WHERE id = %s", [events[0].pk]
        )

    _, err = _verify_fails()
    assert f"Event #{events[0].pk}: its content no longer matches its hash" in err
    assert "the actor link was probably removed" in err


def test_since_starts_at_a_day_and_still_checks_the_link_into_it() -> None:
    with time_machine.travel(dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC), tick=False):
        old = _record_events(2)
    with time_machine.travel(dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC), tick=False):
        new = _record_events(2)
    _tamper("UPDATE governance_auditevent SET action = %s WHERE id = %s", ["x.y", old[0].pk])

    out, _ = _verify("--since", "2026-11-01")
    assert f"Verifying 2 audit event(s) from #{new[0].pk}" in out
    assert "Audit trail intact" in out
    _verify_fails()  # the whole chain still shows the old alteration


def test_progress_is_printed_every_n_events() -> None:
    _record_events(5)
    out, _ = _verify("--progress-every", "2", "--chunk-size", "3")
    assert "checked 2 of 5" in out
    assert "checked 4 of 5" in out


def test_an_expected_hash_must_still_be_in_the_chain() -> None:
    events = _record_events(2)
    out, _ = _verify("--expect", events[1].hash)
    assert "Audit trail intact" in out

    message, _ = _verify_fails("--expect", "ab" * 32)
    assert "1 problem(s)" in message


def test_a_disabled_or_missing_trigger_is_a_failure_by_itself() -> None:
    _record_events(2)

    with _trigger_off():
        message, err = _verify_fails()

    state = "disabled" if connection.vendor == "postgresql" else "missing"
    assert f"The append-only trigger is {state}." in err
    assert "1 problem(s)" in message
