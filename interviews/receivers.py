"""Subscriptions of the interviews app to events published by integrations."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from integrations.signals import application_stage_changed


@receiver(application_stage_changed, dispatch_uid="interviews.launch_on_stage_change")
def launch_or_cancel_on_stage_change(
    sender: Any, application: Any, old: str | None, new: str, **kwargs: Any
) -> None:
    """Launch the plan's interview when an application enters a trigger stage; cancel on exit.

    Runs after the stage change committed, so a deadlock here would lose the launch: the
    handler's transaction is retried instead (it is idempotent: one interview per application
    and plan).
    """
    from integrations.db import retry_transient
    from interviews.services.launch import application_stage_changed_handle

    retry_transient(
        lambda: application_stage_changed_handle(application=application, old=old, new=new),
        what=f"launch for application {application.pk}",
    )
