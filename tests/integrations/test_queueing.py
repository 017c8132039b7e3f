"""``queueing.enqueue_id``: the message ``task.delay(id)`` would publish, built from a template.

Published to a private Redis (no worker) and read back raw, so what is compared is exactly what
a worker would receive.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import signals
from kombu.exceptions import OperationalError

from config.celery import app
from integrations import queueing, tasks
from tests.helpers import RecordingTask
from tests.processes import RedisServer, _reset_producer_pool

QUEUE = "test-enqueue-id"


@pytest.fixture
def broker(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """The app publishing (not eagerly) to a private Redis; yields a client to read it."""
    keys = ("task_always_eager", "broker_url", "task_default_queue")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(task_always_eager=False, broker_url=redis_server.url, task_default_queue=QUEUE)
    _reset_producer_pool(app)
    client = redis.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        client.close()
        app.conf.update(saved)
        _reset_producer_pool(app)


def published(client: redis.Redis) -> list[dict[str, Any]]:
    """The messages in the queue, oldest first, with their body decoded."""
    messages = [json.loads(raw) for raw in reversed(client.lrange(QUEUE, 0, -1))]
    for message in messages:
        message["body"] = json.loads(base64.b64decode(message["body"]))
    return messages


def without_ids(message: dict[str, Any]) -> dict[str, Any]:
    """The message without what differs on every publish (task id, delivery tag)."""
    message = json.loads(json.dumps(message))
    for key in ("id", "root_id"):
        message["headers"].pop(key)
    for key in ("correlation_id", "delivery_tag"):
        message["properties"].pop(key)
    return message


def test_the_message_is_the_one_delay_publishes(broker: redis.Redis) -> None:
    task = tasks.process_inbound_event_task
    task.delay(41)
    queueing.enqueue_id(task, 41)  # records the template, then publishes from it
    queueing.enqueue_id(task, 42)

    by_delay, first, second = published(broker)
    assert without_ids(first) == without_ids(by_delay)
    assert second["body"][0] == [42]
    assert second["headers"]["argsrepr"] == "(42,)"
    assert second["headers"]["task"] == "integrations.process_inbound_event"
    task_ids = {m["headers"]["id"] for m in (by_delay, first, second)}
    assert len(task_ids) == 3  # a fresh task id per message
    for message in (first, second):
        task_id = message["headers"]["id"]
        assert message["headers"]["root_id"] == message["properties"]["correlation_id"] == task_id
        assert message["properties"]["delivery_info"]["routing_key"] == QUEUE


def test_a_new_default_queue_or_broker_records_a_new_template(
    broker: redis.Redis, redis_server: RedisServer
) -> None:
    task = tasks.process_inbound_event_task
    queueing.enqueue_id(task, 1)
    app.conf.task_default_queue = f"{QUEUE}-other"
    queueing.enqueue_id(task, 2)
    task.delay(3)

    assert [m["body"][0] for m in published(broker)] == [[1]]
    second, by_delay = [json.loads(raw) for raw in reversed(broker.lrange(f"{QUEUE}-other", 0, -1))]
    assert without_ids(second)["properties"] == without_ids(by_delay)["properties"]
    assert second["properties"]["delivery_info"]["routing_key"] == f"{QUEUE}-other"

    recorded = queueing._templates[task.name][0]
    _reset_producer_pool(app)  # the fixtures switch brokers this way (and Celery after a fork)
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    assert app.producer_pool is not recorded[0]


def test_eager_mode_stand_ins_and_signal_receivers_go_through_delay(
    broker: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = RecordingTask()
    queueing.enqueue_id(stand_in, 7)
    assert stand_in.enqueued == [7]

    task = tasks.process_inbound_event_task
    delayed: list[int] = []
    monkeypatch.setattr(task, "delay", delayed.append)
    seen: list[Any] = []

    def receiver(**kwargs: Any) -> None:
        seen.append(kwargs["headers"]["id"])

    signals.before_task_publish.connect(receiver)
    try:
        queueing.enqueue_id(task, 8)  # a receiver must see every publish: delay does that
    finally:
        signals.before_task_publish.disconnect(receiver)
    app.conf.task_always_eager = True
    queueing.enqueue_id(task, 9)

    assert delayed == [8, 9]
    assert published(broker) == []


def test_a_broker_that_is_down_raises_like_delay(broker: redis.Redis, settings: Any) -> None:
    task = tasks.process_inbound_event_task
    queueing.enqueue_id(task, 1)  # template recorded while the broker is up
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    _reset_producer_pool(app)

    with pytest.raises(OperationalError):
        queueing.enqueue_id(task, 2)
