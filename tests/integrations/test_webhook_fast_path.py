"""The webhook's fast path: per-process connection cache, one-statement store, cheaper publish.

A cached connection is trusted only through the insert's guard, so a rotated secret, a
deactivated connection or a renamed slug takes effect on the very next delivery.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import psycopg
import pytest
import redis
from django.db import IntegrityError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations import broker, crypto, webhooks
from integrations.connectors.base import Delivery
from integrations.models import AtsConnection, InboundEvent, InboundEventStatus, SignatureFailure
from integrations.services import intake
from tests.helpers import RecordingTask
from tests.integrations.test_signatures import connection_for, fixture_body, signed
from tests.processes import _database_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def task(monkeypatch: pytest.MonkeyPatch) -> RecordingTask:
    recorder = RecordingTask()
    monkeypatch.setattr(intake, "process_inbound_event_task", recorder)
    return recorder


def deliver(client: Client, slug: str, event_id: str, *, secret: str | None = None) -> Any:
    payload = json.loads(fixture_body("greenhouse", "candidate_stage_change"))
    payload["payload"]["application"]["id"] = sum(map(ord, event_id))
    body, headers = signed("greenhouse", json.dumps(payload).encode(), secret=secret)
    headers["Greenhouse-Event-ID"] = event_id
    headers.pop("Content-Type")
    return client.post(
        reverse("integrations:ats-webhook", args=[slug]),
        data=body,
        content_type="application/json",
        headers=headers,
    )


@pytest.fixture
def warm(client: Client) -> AtsConnection:
    """A Greenhouse connection whose first delivery put it into the per-process cache."""
    gh = connection_for("greenhouse", slug="gh-fast")
    assert deliver(client, gh.slug, "warm-up").status_code == 200
    assert webhooks._connections[gh.slug][0].pk == gh.pk
    return gh


def test_a_new_delivery_on_a_cached_connection_is_one_statement(
    client: Client, warm: AtsConnection, task: RecordingTask
) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = deliver(client, warm.slug, "second")

    assert response.status_code == 200
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    event = InboundEvent.objects.get(delivery_id="second")
    assert response.json() == {"status": "accepted", "event": event.pk}
    assert event.status == InboundEventStatus.RECEIVED


def test_a_duplicate_on_a_cached_connection_is_answered_with_the_stored_event(
    client: Client, warm: AtsConnection, task: RecordingTask
) -> None:
    first = InboundEvent.objects.get(delivery_id="warm-up")

    with CaptureQueriesContext(connection) as queries:
        response = deliver(client, warm.slug, "warm-up")

    assert response.json() == {"status": "duplicate", "event": first.pk}
    assert len(queries.captured_queries) == 2  # the insert that did nothing, the stored row
    assert InboundEvent.objects.count() == 1
    assert task.enqueued == []  # not captured on commit here: nothing new to process


def test_a_rotated_secret_takes_effect_on_the_next_delivery(
    client: Client, warm: AtsConnection
) -> None:
    old_secret = warm.webhook_secret()
    warm.set_webhook_secret("the-new-secret")
    warm.save()

    refused = deliver(client, warm.slug, "old-key", secret=old_secret)
    accepted = deliver(client, warm.slug, "new-key", secret="the-new-secret")

    assert refused.status_code == 401
    assert SignatureFailure.objects.filter(connection=warm).count() == 1
    assert not InboundEvent.objects.filter(delivery_id="old-key").exists()
    assert accepted.status_code == 200
    assert InboundEvent.objects.filter(delivery_id="new-key").exists()
    assert webhooks._connections[warm.slug][0].webhook_secret() == "the-new-secret"


def test_a_rotated_secret_changed_without_save_signals_still_takes_effect(
    client: Client, warm: AtsConnection
) -> None:
    # QuerySet.update() sends no signal and keeps updated_at: the guard compares the secret.
    AtsConnection.objects.filter(pk=warm.pk).update(
        webhook_secret_encrypted=crypto.encrypt("rotated-by-update")
    )

    assert deliver(client, warm.slug, "old", secret=None).status_code == 401
    assert deliver(client, warm.slug, "new", secret="rotated-by-update").status_code == 200


def test_a_replayed_duplicate_signed_with_the_old_secret_is_refused(
    client: Client, warm: AtsConnection
) -> None:
    old_secret = warm.webhook_secret()
    AtsConnection.objects.filter(pk=warm.pk).update(
        webhook_secret_encrypted=crypto.encrypt("after-a-leak")
    )

    response = deliver(client, warm.slug, "warm-up", secret=old_secret)

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("change", "status"),
    [({"active": False}, 404), ({"slug": "gh-renamed"}, 404), ({"provider": "lever"}, 401)],
)
def test_a_changed_connection_is_decided_afresh(
    client: Client, warm: AtsConnection, change: dict[str, Any], status: int
) -> None:
    AtsConnection.objects.filter(pk=warm.pk).update(**change)

    response = deliver(client, "gh-fast", "after-change")

    assert response.status_code == status
    assert not InboundEvent.objects.filter(delivery_id="after-change").exists()
    assert "gh-fast" not in webhooks._connections


def test_a_ping_on_a_cached_connection_is_answered_only_while_it_is_active(
    client: Client, warm: AtsConnection
) -> None:
    ping = json.dumps({"action": "ping", "payload": {}}).encode()
    body, headers = signed("greenhouse", ping)
    headers.pop("Content-Type")
    url = reverse("integrations:ats-webhook", args=[warm.slug])
    AtsConnection.objects.filter(pk=warm.pk).update(active=False)

    response = client.post(url, data=body, content_type="application/json", headers=headers)

    assert response.status_code == 404


@pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates a PostgreSQL backend")
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_since_the_last_request_is_replaced_without_a_503(
    client: Client, task: RecordingTask
) -> None:
    """The cached path skips the per-request health check (``SELECT 1``); its INSERT finding
    the connection dead (a PostgreSQL restart) stores the delivery on a new one instead."""
    gh = connection_for("greenhouse", slug="gh-lost")
    assert deliver(client, gh.slug, "before").status_code == 200
    backend = connection.connection.info.backend_pid
    with psycopg.connect(_database_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    # What Django does when a request starts (the test client leaves it out): the reused
    # connection is due for a health check again.
    connection.close_if_unusable_or_obsolete()
    assert not connection.health_check_done

    response = deliver(client, gh.slug, "after")

    assert response.status_code == 200
    event = InboundEvent.objects.get(delivery_id="after")
    assert response.json() == {"status": "accepted", "event": event.pk}
    assert connection.connection.info.backend_pid != backend
    assert task.enqueued.count(event.pk) == 1


def test_a_store_repeated_after_a_lost_connection_enqueues_even_a_duplicate(
    task: RecordingTask, django_capture_on_commit_callbacks: Any
) -> None:
    gh = connection_for("greenhouse")
    delivery = Delivery(delivery_id="d", action="candidate_stage_change", is_ping=False)
    store = partial(intake.inbound_event_store, connection=gh, delivery=delivery, headers={})

    with django_capture_on_commit_callbacks(execute=True):
        first, _ = store(body=b"{}")
        again, created = store(body=b"{}")
        repeated, created_again = store(body=b"{}", enqueue_duplicate=True)

    assert (created, created_again) == (False, False)
    assert first.pk == again.pk == repeated.pk
    assert task.enqueued == [first.pk, first.pk]  # the first store, then the repeated one


# -- ledger_insert: one statement, exact duplicates ---------------------------------------------


def test_ledger_insert_reports_only_its_own_key_as_a_duplicate() -> None:
    gh = connection_for("greenhouse")
    fields = {"action": "x", "raw_body": "{}", "status": InboundEventStatus.RECEIVED}
    lookup = {"connection": gh, "delivery_id": "d1"}

    first, created = intake.ledger_insert(InboundEvent, lookup=lookup, **fields)
    again, created_again = intake.ledger_insert(InboundEvent, lookup=lookup, **fields)

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    # Any other violation (here the status check constraint) is an error, not a duplicate.
    with pytest.raises(IntegrityError):
        intake.ledger_insert(
            InboundEvent, lookup={"connection": gh, "delivery_id": "d2"}, **fields | {"status": "?"}
        )


def test_ledger_insert_with_a_failing_guard_stores_nothing() -> None:
    gh = connection_for("greenhouse")
    other = connection_for("greenhouse")
    guard = intake.Guard.exists(AtsConnection.objects.filter(pk=gh.pk, active=False))
    fields = {"action": "x", "raw_body": "{}", "status": InboundEventStatus.RECEIVED}

    with pytest.raises(intake.GuardFailedError):
        intake.ledger_insert(
            InboundEvent, lookup={"connection": other, "delivery_id": "d"}, guard=guard, **fields
        )

    assert not InboundEvent.objects.exists()


def test_a_duplicate_whose_guard_fails_is_no_duplicate_but_a_guard_failure() -> None:
    gh = connection_for("greenhouse")
    fields = {"action": "x", "raw_body": "{}", "status": InboundEventStatus.RECEIVED}
    lookup = {"connection": gh, "delivery_id": "d"}
    intake.ledger_insert(InboundEvent, lookup=lookup, **fields)
    holds = intake.Guard.exists(AtsConnection.objects.filter(pk=gh.pk, active=True))
    fails = intake.Guard.exists(AtsConnection.objects.filter(pk=gh.pk, active=False))

    found, created = intake.ledger_insert(InboundEvent, lookup=lookup, guard=holds, **fields)
    assert (found.delivery_id, created) == ("d", False)
    with pytest.raises(intake.GuardFailedError):
        intake.ledger_insert(InboundEvent, lookup=lookup, guard=fails, **fields)
    assert InboundEvent.objects.count() == 1


@pytest.mark.parametrize("guarded", [False, True])
def test_the_prebuilt_insert_is_the_one_the_compiler_builds(guarded: bool) -> None:
    gh = connection_for("greenhouse")
    guard = intake.Guard.exists(AtsConnection.objects.filter(pk=gh.pk)) if guarded else None
    event = InboundEvent(
        connection=gh,
        delivery_id="d",
        action="candidate_stage_change",
        raw_body='{"a": 1}',
        headers={"signature": "sha256 00"},
        status=InboundEventStatus.RECEIVED,
    )
    key = ["connection", "delivery_id"]

    prebuilt = intake._insert_unless_duplicate_sql(event, "default", key=key, guard=guard)
    compiled = intake._compiled_insert_sql(event, "default", key=key, guard=guard)

    assert prebuilt[0] == compiled[0]
    assert [str(value) for value in prebuilt[1]] == [str(value) for value in compiled[1]]


# -- crypto and broker ---------------------------------------------------------------------------


def test_decryption_is_cached_per_token_and_key(settings: Any) -> None:
    token = crypto.encrypt("s3cret")
    assert crypto.decrypt(token) == crypto.decrypt(token) == "s3cret"
    assert crypto.decrypt(crypto.encrypt("rotated")) == "rotated"
    settings.FIELD_ENCRYPTION_KEY = "another-key"
    with pytest.raises(crypto.SecretUnavailableError):
        crypto.decrypt(token)  # the cached plaintext is never served under another key


def test_the_broker_channel_reuses_its_publishing_client_until_the_pool_changes() -> None:
    channel = broker.Channel.__new__(broker.Channel)  # no broker needed: pools connect lazily
    channel.Client = redis.Redis
    channel._pool = redis.ConnectionPool(host="127.0.0.1", port=6379)

    first = channel._create_client()
    assert channel._create_client() is first
    assert first.connection_pool is channel._pool
    channel._pool = redis.ConnectionPool(host="127.0.0.1", port=6379)  # rebuilt after an error
    second = channel._create_client()
    assert second is not first
    assert second.connection_pool is channel._pool
