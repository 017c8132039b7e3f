"""The audit trail: one helper, called inside the transaction that makes the change.

Every change (and every view of a summary, transcript, recording or score card) is recorded with
:func:`record` *inside the caller's transaction*, so the audit row commits or rolls back together
with the change it describes (pretix/zulip style)::

    @transaction.atomic
    def plan_pause(*, plan, actor):
        plan.status = PlanStatus.PAUSED
        plan.save(update_fields=["status"])
        audit.record(actor=actor, action="plan.pause", target=plan, changes={"status": "paused"})

Append-only, twice over:

* **Hash chain.** Each row stores ``prev_hash`` (the previous row's ``hash``; the first row
  points at :data:`GENESIS_HASH`) and ``hash`` = SHA-256 over a canonical JSON serialization
  (sorted keys, no whitespace, ASCII) of the version, ``prev_hash``, ``occurred_at`` (ISO 8601,
  UTC, microseconds), ``actor_id``, ``actor_label``, ``action``, ``object_type``, ``object_id``,
  ``object_repr``, ``changes`` and ``request_id``. ``manage.py verify_audit`` recomputes the
  chain; any edit, deletion or insertion in the middle breaks it.
* **Database triggers** (migration 0004) reject UPDATE and DELETE of audit rows. The one UPDATE
  let through is the actor foreign key's ``SET NULL`` when a user is deleted; ``actor_label``
  keeps the name, and ``verify_audit`` checks such rows against the ``user.delete`` event that
  ``governance.receivers`` records.

The chain must be linear, so appends are serialized: on PostgreSQL :func:`record` takes the
transaction-scoped advisory lock :data:`CHAIN_LOCK_ID` before it reads the last hash, and holds it
until the caller's transaction ends. Consequence for callers: record *late* in the transaction
(after the slow work), because every other audited write waits for the lock meanwhile. On SQLite
the database-wide write lock already serializes writers: a transaction that read a stale head
cannot write afterwards (it gets "database is locked" instead of forking the chain).

``changes`` must be JSON-serializable (dates, decimals and UUIDs are encoded by
``DjangoJSONEncoder``) and never carries secrets: the value of every key whose name contains
``secret``, ``password``, ``passwd``, ``key``, ``token``, ``credential`` or ``authorization``
(any case, at any depth) is replaced by ``"[redacted]"`` before it is stored or hashed. The rule
over-redacts on purpose (``target_key`` is redacted too): a leaked secret in an append-only table
can never be removed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from governance.models import AuditEvent

__all__ = [
    "CHAIN_LOCK_ID",
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "VIEW_KINDS",
    "AuditOutsideTransactionError",
    "compute_hash",
    "object_type_of",
    "record",
    "record_view",
    "redact",
    "request_id_of",
]

GENESIS_HASH = "0" * 64
# Bump when the serialization changes; verify_audit would then need to know both versions.
HASH_VERSION = 1
# The columns the hash covers, in the names ``QuerySet.values()`` returns.
HASHED_FIELDS = (
    "prev_hash",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "request_id",
)
# pg_advisory_xact_lock key for appending to the chain: a fixed 64-bit number derived from a
# fixed string, so it cannot collide with another feature's advisory lock by accident.
CHAIN_LOCK_ID = int.from_bytes(
    hashlib.sha256(b"screenbridge:governance:audit-chain").digest()[:8], "big", signed=True
)

VIEW_KINDS = frozenset({"summary", "transcript", "recording", "report", "score_card"})
SYSTEM_ACTOR = "system"
ANONYMOUS_ACTOR = "anonymous"
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"secret|passw(?:or)?d|key|token|credential|authorization", re.IGNORECASE)

_MAX_LABEL = AuditEvent._meta.get_field("actor_label").max_length or 200
_MAX_ACTION = AuditEvent._meta.get_field("action").max_length or 100
_MAX_OBJECT_TYPE = AuditEvent._meta.get_field("object_type").max_length or 100
_MAX_OBJECT_ID = AuditEvent._meta.get_field("object_id").max_length or 100
_MAX_REPR = AuditEvent._meta.get_field("object_repr").max_length or 300
_MAX_REQUEST_ID = AuditEvent._meta.get_field("request_id").max_length or 64


class AuditOutsideTransactionError(RuntimeError):
    """``record()`` was called outside a transaction, so the change and its audit row could
    commit separately. Wrap the calling service in ``transaction.atomic``."""


# -- writing -----------------------------------------------------------------------------------


def record(
    *,
    actor: Any,
    action: str,
    target: Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: Mapping[str, Any] | None = None,
    request_id: str = "",
) -> AuditEvent:
    """Append one audit event to the chain, inside the caller's transaction.

    ``actor`` is a user, a label such as ``"system:launch"``, or ``None`` (``"system"``).
    ``target`` is the model instance acted on (its ``app_label.model`` type, primary key and
    ``str()``); explicit ``object_type``/``object_id`` are for things that are not a model
    instance, and an explicit ``object_repr`` replaces ``str(target)``.

    Raises :class:`AuditOutsideTransactionError` outside a transaction (tests included: the
    test case's own transaction does not count) and ``ValueError`` for bad arguments or
    ``changes`` that are not JSON-serializable. A database error here leaves the caller's
    transaction unusable, so the change rolls back with the missing audit row.
    """
    actor_user, actor_label = _actor(actor)
    object_type, object_id, object_repr = _object(target, object_type, object_id, object_repr)
    action = _clean_text(action).strip()
    if not action or len(action) > _MAX_ACTION:
        raise ValueError(f"action must be 1–{_MAX_ACTION} characters, got {action!r}.")
    stored_changes = _normalize_changes(changes)
    request_id = _clean_text(request_id or "")[:_MAX_REQUEST_ID]

    using = router.db_for_write(AuditEvent)
    connection = connections[using]
    if not _in_caller_transaction(connection):
        raise AuditOutsideTransactionError(
            f"audit.record({action!r}) must run inside the transaction that makes the change; "
            "wrap the caller in transaction.atomic()."
        )
    # savepoint=False: no extra round trips, and a failure below marks the caller's whole
    # transaction for rollback — a change must never commit without its audit row.
    with transaction.atomic(using=using, savepoint=False):
        _lock_chain(connection)
        prev_hash = (
            AuditEvent.objects.using(using).order_by("-pk").values_list("hash", flat=True).first()
            or GENESIS_HASH
        )
        # Taken under the lock, so time order follows chain order (clock steps aside).
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor=actor_user,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr,
            changes=stored_changes,
            request_id=request_id,
            prev_hash=prev_hash,
        )
        event.hash = compute_hash({name: getattr(event, name) for name in HASHED_FIELDS})
        event.save(using=using, force_insert=True)
    return event


def record_view(*, user: Any, target: Model, what: str) -> AuditEvent:
    """Record that ``user`` opened the ``what`` (summary, transcript, recording or score_card)
    of ``target``: action ``"<what>.view"``, the raw material of usage-depth metrics."""
    if what not in VIEW_KINDS:
        raise ValueError(f"what must be one of {sorted(VIEW_KINDS)}, got {what!r}.")
    return record(actor=user, action=f"{what}.view", target=target)


def request_id_of(request: HttpRequest) -> str:
    """The caller's ``X-Request-Id`` header (trimmed to the column), for ``request_id=``."""
    return request.headers.get("X-Request-Id", "")[:_MAX_REQUEST_ID]


def object_type_of(model: Model | type[Model]) -> str:
    """``"app_label.model_name"``, the ``object_type`` of a model (as in content types)."""
    return f"{model._meta.app_label}.{model._meta.model_name}"


def redact(value: Any) -> Any:
    """A copy of JSON-like ``value`` with the value of every secret-sounding key replaced."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _SECRET_KEY.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


# -- hashing -----------------------------------------------------------------------------------


def compute_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical serialization of one row's :data:`HASHED_FIELDS`."""
    document = {name: values[name] for name in HASHED_FIELDS}
    document["v"] = HASH_VERSION
    document["occurred_at"] = _iso_utc(values["occurred_at"])
    document["changes"] = _canonical_numbers(values["changes"])
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _iso_utc(value: datetime) -> str:
    if timezone.is_naive(value):
        raise ValueError("occurred_at must be timezone-aware.")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical_numbers(value: Any) -> Any:
    """Integral floats as ints: PostgreSQL's jsonb gives ``1e16`` back as ``10000000000000000``
    and ``-0.0`` as ``0``, and the hash must not depend on the round trip."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical_numbers(item) for item in value]
    return value


# -- helpers -----------------------------------------------------------------------------------


def _actor(actor: Any) -> tuple[Any, str]:
    if actor is None:
        return None, SYSTEM_ACTOR
    if isinstance(actor, str):
        label = _clean_text(actor).strip()
        if not label or len(label) > _MAX_LABEL:
            raise ValueError(f"An actor label must be 1–{_MAX_LABEL} characters, got {actor!r}.")
        return None, label
    if not getattr(actor, "is_authenticated", False):
        return None, ANONYMOUS_ACTOR
    if actor.pk is None:
        raise ValueError("The acting user must be saved before it can be audited.")
    return actor, _clean_text(actor.get_username())[:_MAX_LABEL]


def _object(
    target: Model | None, object_type: str, object_id: str, object_repr: str
) -> tuple[str, str, str]:
    if target is not None:
        if target.pk is None:
            raise ValueError("The audit target must be saved (it has no primary key yet).")
        derived_type, derived_id = object_type_of(target), str(target.pk)
        if object_type and object_type != derived_type:
            raise ValueError(f"object_type {object_type!r} contradicts the target's type.")
        if object_id and str(object_id) != derived_id:
            raise ValueError(f"object_id {object_id!r} contradicts the target's primary key.")
        object_type, object_id = derived_type, derived_id
        object_repr = object_repr or str(target)
    object_type, object_id = _clean_text(object_type), _clean_text(str(object_id))
    if len(object_type) > _MAX_OBJECT_TYPE or len(object_id) > _MAX_OBJECT_ID:
        raise ValueError(
            f"object_type and object_id are limited to {_MAX_OBJECT_TYPE} and "
            f"{_MAX_OBJECT_ID} characters."
        )
    return object_type, object_id, _clean_text(object_repr)[:_MAX_REPR]


def _normalize_changes(changes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Plain JSON data, redacted: exactly what is stored, read back and hashed."""
    if changes is None:
        return {}
    if not isinstance(changes, Mapping):
        raise ValueError(f"changes must be a mapping, got {type(changes).__name__}.")
    try:
        encoded = json.dumps(dict(changes), cls=DjangoJSONEncoder, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"changes must be JSON-serializable: {exc}") from exc
    return redact(_without_nul(json.loads(encoded)))


def _without_nul(value: Any) -> Any:
    """PostgreSQL rejects NUL in text and jsonb: replace it rather than fail the change."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _clean_text(value: str) -> str:
    return value.replace("\x00", "\ufffd")


def _in_caller_transaction(connection: BaseDatabaseWrapper) -> bool:
    """True inside ``transaction.atomic`` (or with autocommit off).

    Django's TestCase wraps each test in atomic blocks marked ``_from_testcase`` (the same
    marker Django's ``durable=True`` check uses); those do not count, so a caller that forgot
    its own transaction fails in the tests exactly as it would in production.
    """
    if connection.in_atomic_block:
        return any(
            not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks
        )
    return not connection.get_autocommit()


def _lock_chain(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
