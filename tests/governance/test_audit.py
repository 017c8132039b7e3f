"""governance.audit.record(): the hash chain, the transaction rule, redaction, the append-only
triggers, and admin changes audited in the same transaction."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import audit
from governance.models import AuditEvent, LegalHold
from governance.roles import HIRING_OPS_ADMIN
from interviews.admin import InterviewPlanAdmin
from interviews.models import InterviewPlan
from tests.factories import InterviewPlanFactory, LegalHoldFactory, UserFactory

pytestmark = pytest.mark.django_db

ON_POSTGRES = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: SQLite has no DELETE trigger (Django flushes SQLite tables with "
    "DELETE) and no advisory locks; run with DATABASE_URL=postgres://...",
)


def _record(**kwargs: Any) -> AuditEvent:
    """record() in its own transaction, as a service would call it."""
    kwargs.setdefault("actor", "system:test")
    kwargs.setdefault("action", "thing.happen")
    with transaction.atomic():
        return audit.record(**kwargs)


def _last_hash() -> str:
    return (
        AuditEvent.objects.order_by("-pk").values_list("hash", flat=True).first()
        or audit.GENESIS_HASH
    )


# -- the chain ---------------------------------------------------------------------------------


def test_each_event_points_at_the_previous_events_hash() -> None:
    before = _last_hash()
    first = _record(action="one.happen")
    second = _record(action="two.happen")

    assert first.prev_hash == before
    assert second.prev_hash == first.hash
    assert len(second.hash) == 64
    assert first.hash != second.hash


def test_the_hash_is_sha256_of_sorted_key_json_of_the_row() -> None:
    event = _record(object_type="x.y", object_id="7", changes={"b": 1, "a": [1.5, "é"]})
    event.refresh_from_db()
    document = {
        "v": 1,
        "prev_hash": event.prev_hash,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": None,
        "actor_label": "system:test",
        "action": "thing.happen",
        "object_type": "x.y",
        "object_id": "7",
        "object_repr": "",
        "changes": {"a": [1.5, "é"], "b": 1},
        "request_id": "",
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    assert event.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_the_hash_survives_the_database_round_trip() -> None:
    event = _record(changes={"big": 1e16, "zero": -0.0, "ratio": 0.1, "n": 2**60, "none": None})
    stored = AuditEvent.objects.values("hash", *audit.HASHED_FIELDS).get(pk=event.pk)

    assert audit.compute_hash(stored) == stored["hash"] == event.hash


def test_a_target_fills_in_the_object_fields() -> None:
    plan = InterviewPlanFactory(name="Support screen")

    event = _record(target=plan)

    assert event.object_type == "interviews.interviewplan"
    assert event.object_id == str(plan.pk)
    assert event.object_repr == str(plan)
    assert _record(target=plan, object_repr="x" * 400).object_repr == "x" * 300


def test_an_explicit_repr_wins_but_a_contradicting_type_is_refused() -> None:
    plan = InterviewPlanFactory()
    assert _record(target=plan, object_repr="Plan A").object_repr == "Plan A"
    with pytest.raises(ValueError, match="contradicts"):
        _record(target=plan, object_type="interviews.vendor")


@pytest.mark.parametrize(
    ("actor", "label"),
    [("system:launch", "system:launch"), (None, "system"), (AnonymousUser(), "anonymous")],
)
def test_actors_that_are_not_users_are_labelled(actor: Any, label: str) -> None:
    event = _record(actor=actor)
    assert event.actor_id is None
    assert event.actor_label == label


def test_a_user_actor_is_linked_and_named() -> None:
    user = UserFactory(username="audrey")
    event = _record(actor=user)
    assert event.actor_id == user.pk
    assert event.actor_label == "audrey"


def test_changes_are_json_encoded_and_secrets_are_redacted() -> None:
    ref = uuid.uuid4()
    event = _record(
        changes={
            "score": Decimal("71.5"),
            "at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
            "interview": ref,
            "api_key": "k-123",
            "settings": {"Webhook_Secret": "s", "items": [{"access_token": "t", "ok": 1}]},
            "password": "p",
            "note": "kept",
        }
    )
    event.refresh_from_db()

    assert event.changes == {
        "score": "71.5",
        "at": "2026-11-02T09:30:00Z",
        "interview": str(ref),
        "api_key": "[redacted]",
        "settings": {
            "Webhook_Secret": "[redacted]",
            "items": [{"access_token": "[redacted]", "ok": 1}],
        },
        "password": "[redacted]",
        "note": "kept",
    }
    assert "k-123" not in json.dumps(event.changes)


@pytest.mark.parametrize("changes", [{"obj": object()}, {"nan": float("nan")}, ["not", "a map"]])
def test_changes_that_are_not_json_are_refused(changes: Any) -> None:
    with pytest.raises(ValueError, match="changes"):
        _record(changes=changes)
    assert not AuditEvent.objects.exists()


def test_a_view_event_is_named_after_what_was_viewed() -> None:
    user, plan = UserFactory(), InterviewPlanFactory()
    with transaction.atomic():
        event = audit.record_view(user=user, target=plan, what="transcript")
    assert event.action == "transcript.view"
    with pytest.raises(ValueError, match="what must be"), transaction.atomic():
        audit.record_view(user=user, target=plan, what="everything")


# -- the transaction rule ----------------------------------------------------------------------


def test_recording_outside_a_transaction_is_refused() -> None:
    # The test's own transaction does not count: a forgetful caller fails here as in production.
    with pytest.raises(audit.AuditOutsideTransactionError):
        audit.record(actor="system:test", action="thing.happen")
    assert not AuditEvent.objects.exists()


@transaction.atomic
def _rename(plan: InterviewPlan, *, then_fail: bool = False, swallow: bool = False) -> None:
    """A service that renames a plan and audits it."""
    InterviewPlan.objects.filter(pk=plan.pk).update(name="After")
    with contextlib.suppress(DatabaseError) if swallow else contextlib.nullcontext():
        # swallow=True: a careless caller that ignores a failed audit write.
        audit.record(actor="system:test", action="plan.rename", target=plan)
    InterviewPlan.objects.count()
    if then_fail:
        raise RuntimeError("the rest of the change failed")


def test_the_audit_row_rolls_back_with_the_change() -> None:
    plan = InterviewPlanFactory(name="Before")
    with pytest.raises(RuntimeError):
        _rename(plan, then_fail=True)

    assert InterviewPlan.objects.get(pk=plan.pk).name == "Before"
    assert not AuditEvent.objects.exists()


def test_a_swallowed_audit_failure_still_rolls_the_change_back(monkeypatch) -> None:
    plan = InterviewPlanFactory(name="Before")

    def broken_save(self: AuditEvent, *args: Any, **kwargs: Any) -> None:
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEvent, "save", broken_save)
    # The next query after the swallowed error already fails: the transaction is doomed.
    with pytest.raises(TransactionManagementError):
        _rename(plan, swallow=True)

    assert InterviewPlan.objects.get(pk=plan.pk).name == "Before"


@ON_POSTGRES
def test_appends_are_serialized_by_an_advisory_lock() -> None:
    with CaptureQueriesContext(connection) as queries:
        _record()
    sql = [q["sql"] for q in queries.captured_queries]
    lock = next(i for i, s in enumerate(sql) if "pg_advisory_xact_lock" in s)
    head = next(i for i, s in enumerate(sql) if '"governance_auditevent"."hash"' in s)
    assert lock < head


# -- append-only in the database ---------------------------------------------------------------


def test_a_raw_update_is_rejected_by_the_database() -> None:
    event = _record(action="original.action")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE governance_auditevent SET action = %s WHERE id = %s",
            ["forged.action", event.pk],
        )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(object_repr="forged")

    assert AuditEvent.objects.get(pk=event.pk).action == "original.action"


@ON_POSTGRES
def test_a_raw_update_or_delete_fails_with_a_postgres_error() -> None:
    import psycopg

    event = _record()
    for sql in (
        "UPDATE governance_auditevent SET hash = repeat('f', 64) WHERE id = %s",
        "DELETE FROM governance_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only") as caught,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
        assert isinstance(caught.value.__cause__, psycopg.errors.RaiseException)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.filter(pk=event.pk, hash=event.hash).exists()


def test_deleting_a_user_keeps_their_events_and_records_the_deletion() -> None:
    user = UserFactory(username="leaver")
    event = _record(actor=user, action="summary.view")
    user_pk = user.pk

    user.delete()

    event.refresh_from_db()
    assert event.actor_id is None
    assert event.actor_label == "leaver"
    deletion = AuditEvent.objects.get(action="user.delete")
    assert (deletion.object_type, deletion.object_id) == ("auth.user", str(user_pk))
    assert deletion.changes == {"username": "leaver"}


def test_only_the_actor_link_may_be_cleared_and_nothing_else_with_it() -> None:
    user = UserFactory()
    event = _record(actor=user)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor=None, action="forged.action")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor=UserFactory())


# -- admin changes -----------------------------------------------------------------------------


@pytest.fixture
def ops(role_groups: None) -> Any:
    return UserFactory(username="ops", groups=[HIRING_OPS_ADMIN], is_staff=True)


def _change_form_data(response: Any, **overrides: Any) -> dict[str, Any]:
    """The POST data the admin change form would send back unchanged (plus overrides)."""
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        # No extra (blank) inline forms: only the existing rows go back.
        data[management.add_prefix("TOTAL_FORMS")] = management["INITIAL_FORMS"].value()
    data.update(overrides, _save="Save")
    return data


def test_changing_a_plan_in_the_admin_writes_an_audit_event(client, ops) -> None:
    plan = InterviewPlanFactory(name="Support screen", status="draft", activated_at=None)
    url = reverse("admin:interviews_interviewplan_change", args=[plan.pk])
    client.force_login(ops)

    response = client.post(url, _change_form_data(client.get(url), name="Support screen v2"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="admin.change")
    assert event.actor_id == ops.pk
    assert (event.object_type, event.object_id) == ("interviews.interviewplan", str(plan.pk))
    assert event.object_repr == str(InterviewPlan.objects.get(pk=plan.pk))
    assert "Name" in event.changes["message"]
    assert LogEntry.objects.count() == 1


def test_a_failure_after_the_admin_save_rolls_back_the_change_and_its_audit_event(
    client, ops, monkeypatch
) -> None:
    plan = InterviewPlanFactory(name="Support screen", status="draft", activated_at=None)
    url = reverse("admin:interviews_interviewplan_change", args=[plan.pk])
    client.force_login(ops)
    data = _change_form_data(client.get(url), name="Support screen v2")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("after the log entry")

    monkeypatch.setattr(InterviewPlanAdmin, "response_change", fail)
    with pytest.raises(RuntimeError):
        client.post(url, data)

    assert InterviewPlan.objects.get(pk=plan.pk).name == "Support screen"
    assert not AuditEvent.objects.exists()
    assert not LogEntry.objects.exists()


def test_a_failing_audit_write_rolls_back_the_admin_change(client, ops, monkeypatch) -> None:
    plan = InterviewPlanFactory(name="Support screen", status="draft", activated_at=None)
    url = reverse("admin:interviews_interviewplan_change", args=[plan.pk])
    client.force_login(ops)
    data = _change_form_data(client.get(url), name="Support screen v2")

    def fail(values: Any) -> str:
        raise RuntimeError("hashing failed")

    monkeypatch.setattr(audit, "compute_hash", fail)
    with pytest.raises(RuntimeError):
        client.post(url, data)

    assert InterviewPlan.objects.get(pk=plan.pk).name == "Support screen"
    assert not LogEntry.objects.exists()


def test_a_bulk_admin_action_audits_every_object(client, ops) -> None:
    holds = [LegalHoldFactory(), LegalHoldFactory()]
    client.force_login(ops)

    response = client.post(
        reverse("admin:governance_legalhold_changelist"),
        {"action": "release_holds", "_selected_action": [hold.pk for hold in holds]},
    )

    assert response.status_code == 302
    events = AuditEvent.objects.filter(action="admin.change").order_by("object_id")
    assert [e.object_id for e in events] == sorted(str(hold.pk) for hold in holds)
    assert {e.changes["message"] for e in events} == {"Released."}
    assert {e.actor_label for e in events} == {"ops"}
    assert not LegalHold.objects.filter(released_at__isnull=True).exists()
