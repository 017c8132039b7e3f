"""Celery tasks of the interviews app: thin wrappers that load by id and call a service.

Every task is safe to run twice: the services claim their rows with a conditional update.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="interviews.invite", ignore_result=True)
def interview_invite_task(interview_id: int) -> None:
    """Send one pending interview's invitation to its vendor (services.lifecycle)."""
    from interviews.services.lifecycle import interview_invite

    interview_invite(interview_id=interview_id)


@shared_task(name="interviews.process_vendor_event", ignore_result=True)
def process_vendor_event_task(event_id: int) -> None:
    """Apply one stored vendor webhook delivery (services.vendor_events)."""
    from interviews.services.vendor_events import vendor_event_process

    vendor_event_process(event_id=event_id, reload=False)


@shared_task(name="interviews.expire_and_remind", ignore_result=True)
def expire_and_remind_task() -> dict[str, int]:
    """Expire overdue invitations and send due reminders (beat, every few minutes)."""
    from interviews.services.lifecycle import interviews_expire_due, interviews_remind_due

    return {"expired": interviews_expire_due(), "reminded": interviews_remind_due()}


@shared_task(name="interviews.sweep", ignore_result=True)
def sweep_task() -> dict[str, int]:
    """Re-enqueue pending invitations and received vendor events the broker lost."""
    from interviews.services.lifecycle import interviews_invite_sweep
    from interviews.services.vendor_events import vendor_events_sweep

    return {"invites": interviews_invite_sweep(), "vendor_events": vendor_events_sweep()}
