"""Enqueueing Celery tasks from sweepers and after-commit kicks, tolerating a broker outage.

The rows a task works on are stored first; the broker only carries a nudge. So a failed
enqueue is logged, never raised: the periodic sweeper finds the stored rows again later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

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
