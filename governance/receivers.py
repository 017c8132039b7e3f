"""Audit events for changes made outside our services: the Django admin and user deletions.

**Admin.** Every admin add, change and delete — and the project's admin actions, through
``integrations.admin.log_admin_changes`` — writes a ``LogEntry``. Each one becomes an
``admin.add`` / ``admin.change`` / ``admin.delete`` audit event in the same transaction (admin
views are atomic), so a failure anywhere in the save rolls back the change, the log entry and the
audit event together. Two paths lead here:

* one object: ``LogEntry.save()`` sends ``post_save`` → :func:`audit_admin_log_entry`;
* several objects: ``LogEntryManager.log_actions`` uses ``bulk_create``, which sends no signal,
  so the manager method is wrapped once (:func:`_audit_bulk_admin_logs`). An entry recorded by
  the signal is marked and never recorded twice.

**ATS erasure webhooks.** ``integrations`` publishes ``candidate_erasure_requested``;
:func:`open_data_request_from_ats` opens a candidate data request and enqueues its erasure.

**User deletion.** The audit actor foreign key is ``SET_NULL``. Before a user is deleted,
:func:`audit_user_deletion` records ``user.delete`` with the user's id, which lets
``verify_audit`` verify the hashes of that user's events after their ``actor_id`` became NULL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry, LogEntryManager
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.utils import translation

from governance import audit
from integrations.signals import candidate_erasure_requested

ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}
USER_DELETE_ACTION = "user.delete"
USER_DELETE_ACTOR = "system:auth"
_AUDITED = "_screenbridge_audited"


def record_log_entry(entry: LogEntry, *, user: Any = None) -> None:
    """Record one admin log entry as an audit event (once)."""
    if getattr(entry, _AUDITED, False):
        return
    content_type = (
        ContentType.objects.get_for_id(entry.content_type_id) if entry.content_type_id else None
    )
    # One language in the trail, whatever the admin user's language was.
    with translation.override(settings.LANGUAGE_CODE):
        message = entry.get_change_message()
    audit.record(
        actor=user if user is not None else entry.user,
        action=ADMIN_ACTIONS.get(entry.action_flag, "admin.log"),
        object_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        # Still the raw primary key (an int) on a just-created entry.
        object_id="" if entry.object_id is None else str(entry.object_id)[:100],
        object_repr=entry.object_repr,
        changes={"message": message},
    )
    setattr(entry, _AUDITED, True)


@receiver(post_save, sender=LogEntry, dispatch_uid="governance.audit.admin_log_entry")
def audit_admin_log_entry(
    sender: type[LogEntry], instance: LogEntry, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if created and not raw:
        record_log_entry(instance)


def _audit_bulk_admin_logs(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def log_actions(self: LogEntryManager, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        entries: Iterable[LogEntry] = [result] if isinstance(result, LogEntry) else result
        users: dict[Any, Any] = {}
        for entry in entries:
            if entry.user_id not in users:
                users[entry.user_id] = entry.user
            record_log_entry(entry, user=users[entry.user_id])
        return result

    log_actions._screenbridge_audited = True  # type: ignore[attr-defined]
    return log_actions


if not getattr(LogEntryManager.log_actions, "_screenbridge_audited", False):
    LogEntryManager.log_actions = _audit_bulk_admin_logs(LogEntryManager.log_actions)  # type: ignore[method-assign]


@receiver(pre_delete, sender=get_user_model(), dispatch_uid="governance.audit.user_deletion")
def audit_user_deletion(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    # Runs inside the deletion's own transaction (Collector.delete is atomic).
    audit.record(
        actor=USER_DELETE_ACTOR,
        action=USER_DELETE_ACTION,
        target=instance,
        changes={"username": instance.get_username()},
    )


@receiver(
    candidate_erasure_requested, dispatch_uid="governance.data_requests.ats_erasure_requested"
)
def open_data_request_from_ats(
    sender: Any,
    connection: Any,
    candidate_remote_ids: list[str],
    action: str,
    event: Any,
    **kwargs: Any,
) -> None:
    """An ATS deleted or anonymized a candidate: open a data request and erase at once."""
    from governance.data_requests import data_request_open, enqueue_erase
    from governance.models import DataRequestSource
    from integrations.models import Candidate

    candidates = Candidate.objects.filter(connection=connection, remote_id__in=candidate_remote_ids)
    for candidate in candidates:
        with transaction.atomic():
            request, _ = data_request_open(
                candidate=candidate,
                source=DataRequestSource.ATS_WEBHOOK,
                received_at=event.received_at,
                reference=f"{action} (webhook event {event.pk})",
            )
            transaction.on_commit(enqueue_erase(request.pk))
