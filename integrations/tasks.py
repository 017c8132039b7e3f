"""Celery tasks of the integrations app: thin wrappers that load by id and call a service.

Every task is safe to run twice: the services claim their rows with a conditional update
(or ``select_for_update(skip_locked=True)``) before doing anything with side effects.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="integrations.process_inbound_event", ignore_result=True)
def process_inbound_event_task(event_id: int) -> None:
    """Normalize one stored webhook delivery and apply it (see services.stage_sync).

    Never raises for a bad delivery: the service records failures on the event itself.
    """
    from integrations.models import InboundEvent
    from integrations.services.stage_sync import inbound_event_process

    try:
        inbound_event_process(event_id=event_id, reload=False)
    except InboundEvent.DoesNotExist:
        # Deleted (e.g. by retention) between enqueue and run: nothing left to do.
        logger.warning("inbound event %s no longer exists", event_id)


@shared_task(name="integrations.sweep_inbound_events", ignore_result=True)
def sweep_inbound_events_task() -> int:
    """Pick up deliveries that were stored but never processed (e.g. the broker was down)."""
    from integrations.services.stage_sync import inbound_events_sweep

    return inbound_events_sweep()


@shared_task(name="integrations.relay_writebacks", ignore_result=True)
def relay_writebacks_task() -> int:
    """Send the writeback jobs that are due (see services.outbox)."""
    from integrations.services.outbox import writeback_relay

    return writeback_relay()
