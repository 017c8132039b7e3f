"""Webhooks through a real Celery worker on a real (private) Redis, on PostgreSQL.

- The broker is stopped while deliveries arrive: each still gets 200 and is stored; once the
  broker is back the sweeper hands them to the worker and each is processed exactly once.
- The worker's pool process is SIGKILLed while it processes a delivery: the event is not lost
  (it is recovered and processed once) and nothing is applied twice.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.urls import reverse

from integrations.models import Application, InboundEvent, InboundEventStatus
from integrations.services import stage_sync
from integrations.services.stage_sync import inbound_events_sweep
from tests.ats_server import AtsServer, Reply, loopback_connection
from tests.factories import AtsConnectionFactory
from tests.integrations.test_lever_sync import POSTING, lever_opportunity, lookups
from tests.integrations.test_signatures import (
    LEVER_HEADERS,
    fixture_body,
    greenhouse_headers,
    lever_sign,
)
from tests.processes import CeleryWorker, RedisServer, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _greenhouse_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    """The documented candidate_stage_change, for a distinct application and candidate."""
    payload = json.loads(fixture_body("greenhouse", "candidate_stage_change"))
    application = payload["payload"]["application"]
    application["id"] = 700000 + n
    application["candidate"]["id"] = 800000 + n
    body = json.dumps(payload).encode()
    return body, greenhouse_headers(body, event_id=f"evt-broker-{n}")


def _statuses(connection: Any) -> list[str]:
    return sorted(
        InboundEvent.objects.filter(connection=connection).values_list("status", flat=True)
    )


def test_webhooks_arriving_while_the_broker_is_down_are_processed_once_it_is_back(
    client, celery_worker: CeleryWorker, redis_server: RedisServer
) -> None:
    connection = AtsConnectionFactory(provider="greenhouse", slug="gh-broker")
    url = reverse("integrations:ats-webhook", args=[connection.slug])

    def post(n: int) -> Any:
        body, headers = _greenhouse_delivery(n)
        return client.post(url, data=body, content_type="application/json", headers=headers)

    assert post(0).status_code == 200
    wait_for(
        lambda: _statuses(connection) == [InboundEventStatus.PROCESSED],
        what="the first delivery to be processed by the worker",
    )

    redis_server.stop()
    answered_in = []
    for n in range(1, 6):
        started = time.monotonic()
        response = post(n)
        answered_in.append(time.monotonic() - started)
        assert response.status_code == 200, response.content
        assert json.loads(response.content)["status"] == "accepted"
    # Stored, not processed, not lost; and the sender was not kept waiting long.
    assert _statuses(connection).count(InboundEventStatus.RECEIVED) == 5
    assert max(answered_in) < 10

    redis_server.start()  # same port: the worker reconnects by itself
    # What the periodic sweeper does (beat runs it every minute, for events older than 2 min).
    assert inbound_events_sweep(older_than=stage_sync.dt.timedelta(0)) == 5
    wait_for(
        lambda: _statuses(connection) == [InboundEventStatus.PROCESSED] * 6,
        timeout=60,
        what="the stored deliveries to be processed after the broker came back",
    )
    assert Application.objects.filter(connection=connection).count() == 6

    # Greenhouse retries a delivery it thinks failed: still one event and one application each.
    assert post(3).status_code == 200
    assert InboundEvent.objects.filter(connection=connection).count() == 6
    assert Application.objects.filter(connection=connection).count() == 6


def test_a_worker_killed_while_processing_loses_no_event_and_applies_it_once(
    client, celery_worker: CeleryWorker, ats_server: AtsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Lever event is a notification: the worker reads the opportunity back from Lever. The
    # first answer is held back, so the worker is busy processing this event when it is killed.
    connection = loopback_connection(
        ats_server, "lever", slug="lever-kill", settings={"http_timeout": [2.0, 30.0]}
    )
    connection.set_webhook_secret("lever-signing-token")
    connection.save()
    opportunity = {
        "data": lever_opportunity(stage=("7c2690d8-6308-4ed9-ae2a-cbfe7db26593", "Phone Screen"))
    }
    ats_server.on(
        "GET",
        "/v1/opportunities/{id}",
        Reply.slow(60, json=opportunity),
        Reply(200, json=opportunity),
    )
    ats_server.on("GET", "/v1/postings/{id}", Reply(200, json={"data": lookups()["posting"]}))
    body = lever_sign(
        fixture_body("lever", "candidate_stage_change"),
        secret="lever-signing-token",
        triggered_at=int(time.time() * 1000),
    )
    url = reverse("integrations:ats-webhook", args=[connection.slug])
    response = client.post(url, data=body, content_type="application/json", headers=LEVER_HEADERS)
    assert response.status_code == 200, response.content

    wait_for(
        lambda: len(ats_server.requests("GET", "/v1/opportunities/{id}")) == 1,
        what="the worker to be processing the event",
    )
    celery_worker.kill_child()
    event = InboundEvent.objects.get(connection=connection)
    # Redelivered to the restarted pool process (reject on worker lost), the task finds the
    # event claimed and leaves it: one claim, nothing applied yet.
    time.sleep(2)
    event.refresh_from_db()
    assert event.status == InboundEventStatus.PROCESSING
    assert not Application.objects.filter(connection=connection).exists()

    # The sweeper's stuck-claim rule (10 minutes in production) recovers it.
    monkeypatch.setattr(stage_sync, "STUCK_AFTER", stage_sync.dt.timedelta(0))
    inbound_events_sweep(older_than=stage_sync.dt.timedelta(0))
    wait_for(
        lambda: InboundEvent.objects.get(pk=event.pk).status == InboundEventStatus.PROCESSED,
        timeout=60,
        what="the recovered event to be processed",
    )
    event.refresh_from_db()
    assert event.attempts == 2
    application = Application.objects.get(connection=connection)
    assert application.remote_id == "3410c8b9-5c31-4bab-b7e9-9f710206d647"
    assert application.remote_stage_name == "Phone Screen"
    assert application.requisition.remote_id == POSTING
    assert "WorkerLostError" in celery_worker.log() or "SIGKILL" in celery_worker.log()


def test_a_worker_on_several_queues_takes_the_launch_queue_first(
    celery_worker: CeleryWorker,
) -> None:
    """Results and writebacks queued first never delay a stage change queued after them (the
    ``priority`` queue order; kombu's default would take the queues in turn)."""
    from integrations import tasks

    launch_queue = f"{celery_worker.queue}-launch"
    celery_worker.stop()
    for _ in range(6):
        tasks.relay_writebacks_task.apply_async(queue=celery_worker.queue)
    for _ in range(2):  # ids of no event: the task logs and returns
        tasks.process_inbound_event_task.apply_async(args=[0], queue=launch_queue)

    celery_worker.queues = (launch_queue, celery_worker.queue)
    celery_worker.start()
    wait_for(
        lambda: celery_worker.log().count(" succeeded in ") == 8,
        what="the worker to run all eight tasks",
    )
    ran = [
        line.split("Task ", 1)[1].split("[", 1)[0]
        for line in celery_worker.log().splitlines()
        if " succeeded in " in line
    ]
    # Round robin would run launch, writeback, launch, writeback, ...
    assert (
        ran == ["integrations.process_inbound_event"] * 2 + ["integrations.relay_writebacks"] * 6
    ), ran


def test_the_worker_keeps_its_database_connection_between_tasks(
    celery_worker: CeleryWorker,
) -> None:
    """Celery's Django fixup closed every connection after every task, so each task paid for a
    new PostgreSQL connection (a third of an invitation's time in the pipeline bench)."""
    from django.db import connection

    from integrations import tasks

    def worker_backends() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                [celery_worker.queue],  # PGAPPNAME of the worker (tests/processes.py)
            )
            return {pid for (pid,) in cursor.fetchall()}

    seen: list[set[int]] = []
    for n in range(1, 4):
        tasks.relay_writebacks_task.delay()
        wait_for(
            lambda n=n: celery_worker.log().count(" succeeded in ") == n,
            what=f"task {n} to finish",
        )
        seen.append(worker_backends())
    # The finished task's connection stays open (idle), and the next tasks use the same one.
    assert len(seen[0]) == 1, seen
    assert seen[0] == seen[1] == seen[2], seen
