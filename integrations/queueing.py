"""Enqueueing Celery tasks from sweepers and after-commit kicks, tolerating a broker outage.

The rows a task works on are stored first; the broker only carries a nudge. So a failed
enqueue is logged, never raised: the periodic sweeper finds the stored rows again later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery import Task, signals
from kombu.utils.uuid import uuid

logger = logging.getLogger(__name__)


def enqueue_each(task: Any, ids: Iterable[int], *, what: str) -> int:
    """``task.delay(id)`` for each id, stopping at the first broker error; return how many."""
    due = list(ids)
    enqueued = 0
    for object_id in due:
        try:
            task.delay(object_id)
        except Exception:
            # Broker still down: the rows stay as they are and the next sweep tries again.
            logger.warning("could not enqueue %s %s", what, object_id, exc_info=True)
            break
        enqueued += 1
    if due:
        logger.info("sweeper enqueued %s of %s %s(s)", enqueued, len(due), what)
    return enqueued


# -- one task with one id, published from a template -------------------------------------------


def enqueue_id(task: Any, object_id: int) -> None:
    """``task.delay(object_id)``, at about a fifth of its CPU cost; raises like ``delay``.

    ``delay`` rebuilds the whole Celery message every time (options, routing, headers, a
    ``saferepr`` of the arguments, ~0.2 ms of CPU on the webhook path). The message of a task
    called with one id differs from call to call only in the id and the task id, so the first
    call records what Celery itself publishes (:func:`_template`: the very ``Producer.publish``
    arguments ``delay`` produces) and later calls publish a copy with those two replaced, through
    the same producer pool, retry policy and queue declaration. Anything the template cannot
    reproduce goes through ``delay`` itself: a stand-in task (tests), eager mode, a call from
    inside a worker task (parent and root ids), sent events, or publish signal receivers.
    """
    if not isinstance(task, Task) or type(object_id) is not int:
        task.delay(object_id)
        return
    app = task.app
    pool = app.producer_pool
    conf = app.conf
    # What a recorded template depends on and a running process may change (tests do).
    key = (pool, conf.task_default_queue, id(conf.task_routes), conf.task_time_limit)
    cached = _templates.get(task.name)
    if cached is None or cached[0] != key:
        cached = _templates[task.name] = (key, _template(task, pool))
    template = cached[1]
    if (
        template is None
        or conf.task_always_eager
        or app.current_worker_task is not None
        or _publish_observed()
    ):
        task.delay(object_id)
        return
    task_id = uuid()
    headers = dict(template.headers, id=task_id, root_id=task_id, argsrepr=f"({object_id!r},)")
    body = ((object_id,), {}, template.embed)
    with pool.acquire(block=True) as producer, producer.connection._reraise_as_library_errors():
        # kombu binds a copy of each queue to declare before looking it up in the connection's
        # cache of declared entities (a fifth of a publish): look it up first.
        declared = producer.connection.declared_entities
        declare = [queue for queue in template.declare if hash(queue) not in declared]
        producer.publish(
            body, headers=headers, correlation_id=task_id, declare=declare, **template.kwargs
        )


@dataclass(frozen=True)
class _Template:
    headers: dict[str, Any]
    embed: dict[str, Any]
    declare: list[Any]  # the queues Celery has kombu declare (once per broker connection)
    kwargs: dict[str, Any]  # every other Producer.publish argument, as Celery passed it


# Task name → (what it was recorded with: producer pool and settings, the template or None if
# the task cannot have one).
_templates: dict[str, tuple[tuple[Any, ...], _Template | None]] = {}
_PER_CALL_HEADERS = frozenset({"id", "root_id", "argsrepr"})


class _Recorder:
    """A stand-in producer: keeps the arguments Celery would publish with."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.published: tuple[Any, dict[str, Any]] | None = None

    def publish(self, body: Any, **kwargs: Any) -> None:
        self.published = (body, kwargs)


def _template(task: Task, pool: Any) -> _Template | None:
    """Record the ``publish`` call of ``task.delay(0)``; None if it cannot be reused."""
    app = task.app
    if app.conf.task_always_eager or app.conf.task_send_sent_event or app.current_worker_task:
        return None
    with pool.acquire(block=True) as producer:
        recorder = _Recorder(producer.connection)
        task.apply_async((0,), producer=recorder, add_to_parent=False)
    return _template_from(recorder.published)


def _template_from(published: tuple[Any, dict[str, Any]] | None) -> _Template | None:
    if published is None:
        return None
    body, kwargs = published
    kwargs = dict(kwargs)
    headers = kwargs.pop("headers")
    reusable = (
        isinstance(body, tuple)
        and body[:2] == ((0,), {})
        and headers.get("argsrepr") == "(0,)"
        and headers.get("root_id") == headers.get("id") == kwargs.get("correlation_id")
        and headers.get("parent_id") is None
        and headers.get("ignore_result") is True  # no result backend to tell about the call
    )
    if not reusable:
        return None
    kwargs.pop("correlation_id")
    declare = list(kwargs.pop("declare", None) or ())
    static = {k: v for k, v in headers.items() if k not in _PER_CALL_HEADERS}
    return _Template(headers=static, embed=body[2], declare=declare, kwargs=kwargs)


def _publish_observed() -> bool:
    """Whether anything listens to Celery's publish signals (the template skips them)."""
    return bool(
        signals.before_task_publish.receivers
        or signals.after_task_publish.receivers
        or signals.task_sent.receivers
    )
