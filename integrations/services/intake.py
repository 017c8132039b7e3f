"""Intake of ATS webhook deliveries: store each authentic delivery once, then hand it over.

The request path does only this (WH-5): the view verifies the signature, these services write
one row, and processing runs later in ``process_inbound_event_task``, enqueued after the commit
so a worker never looks for a row that is not there yet. If the broker is down the delivery is
still stored and answered 200; the periodic sweeper processes it once the broker is back.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.subqueries import InsertQuery
from kombu.exceptions import KombuError

from integrations.connectors.base import Delivery, MalformedPayloadError
from integrations.models import AtsConnection, InboundEvent, InboundEventStatus, SignatureFailure
from integrations.queueing import enqueue_id
from integrations.tasks import process_inbound_event_task

logger = logging.getLogger(__name__)

# The headers worth keeping with a delivery (stored with lower-case names): enough to audit and
# re-verify it. Never Authorization, cookies or anything else a sender or proxy may add.
RELEVANT_HEADERS = frozenset(
    {
        "content-type",
        "user-agent",
        "signature",  # Greenhouse
        "greenhouse-event-id",
        "ashby-signature",
        "webhook-id",  # Standard Webhooks (generic)
        "webhook-timestamp",
        "webhook-signature",
    }
)
MAX_HEADER_VALUE_LENGTH = 2000

_DELIVERY_ID_LENGTH = InboundEvent._meta.get_field("delivery_id").max_length or 200
_ACTION_LENGTH = InboundEvent._meta.get_field("action").max_length or 100
_REASON_LENGTH = SignatureFailure._meta.get_field("reason").max_length or 200


def relevant_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of ``RELEVANT_HEADERS`` present in ``headers``, keyed by lower-case name."""
    kept = {}
    for name, value in headers.items():
        key = name.lower()
        if key in RELEVANT_HEADERS:
            # PostgreSQL jsonb cannot hold NUL characters.
            kept[key] = str(value).replace("\x00", "")[:MAX_HEADER_VALUE_LENGTH]
    return kept


def inbound_event_store(
    *,
    connection: AtsConnection,
    delivery: Delivery,
    body: bytes,
    headers: Mapping[str, str],
    guard: Guard | None = None,
    enqueue_duplicate: bool = False,
) -> tuple[InboundEvent, bool]:
    """Store one authentic delivery unless it is already stored; return ``(event, created)``.

    One statement (:func:`ledger_insert`): a duplicate (the unique ``(connection,
    delivery_id)``) is not an error, so a retry is answered like the first delivery and the
    caller's transaction, if any, goes on. Processing is enqueued on commit for a new event
    only (right away when the caller runs in autocommit). ``guard``: see :func:`ledger_insert`
    (GuardFailedError). Raises MalformedPayloadError when the body is not UTF-8 text.
    ``enqueue_duplicate``: enqueue processing for a duplicate too (a store repeated after a lost
    connection cannot tell whether the lost attempt committed; the task is idempotent).
    """
    raw_body = decode_body(body)
    delivery_id = storable_delivery_id(delivery.delivery_id, max_length=_DELIVERY_ID_LENGTH)
    event, created = ledger_insert(
        InboundEvent,
        lookup={"connection": connection, "delivery_id": delivery_id},
        guard=guard,
        action=storable_label(delivery.action, max_length=_ACTION_LENGTH),
        raw_body=raw_body,
        headers=relevant_headers(headers),
        occurred_at=delivery.occurred_at,
        status=InboundEventStatus.RECEIVED,
    )
    if not created:
        logger.info(
            "Duplicate delivery %s on connection %s (event %s) ignored.",
            delivery_id,
            connection.slug,
            event.pk,
        )
        if enqueue_duplicate:
            enqueue_after_commit(process_inbound_event_task, event.pk, what="Inbound event")
        return event, False
    enqueue_after_commit(process_inbound_event_task, event.pk, what="Inbound event")
    return event, True


# -- shared by every webhook ledger (ATS deliveries here, vendor events in interviews) ---------


def decode_body(body: bytes) -> str:
    """The body as text to store; MalformedPayloadError when it is not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPayloadError("body is not valid UTF-8") from None


class GuardFailedError(Exception):
    """A guarded insert found its guard empty: nothing was stored (see :func:`ledger_insert`)."""


@dataclass(frozen=True)
class Guard:
    """A condition, compiled once, that a row must exist for :func:`ledger_insert` to insert."""

    queryset: QuerySet[Any]
    sql: str
    params: tuple[Any, ...]

    @classmethod
    def exists(cls, queryset: QuerySet[Any]) -> Guard:
        """``EXISTS (queryset)``, compiled now (a guard is reused: compiling costs ~1 ms)."""
        queryset = queryset.order_by()
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
        return cls(queryset=queryset, sql=f"EXISTS ({sql})", params=tuple(params))

    def condition(self) -> RawSQL:
        """The guard as a filter, already compiled (``Exists(queryset)`` would copy and
        relabel the whole query on every use: most of a duplicate delivery's CPU)."""
        # Compiled by Django from a queryset (see exists); the values stay bound parameters.
        return RawSQL(self.sql, self.params, output_field=models.BooleanField())  # noqa: S611


def ledger_insert[M: models.Model](
    model: type[M],
    *,
    lookup: dict[str, Any],
    guard: Guard | None = None,
    **fields: Any,
) -> tuple[M, bool]:
    """Insert one row of ``model`` unless a row matching ``lookup`` exists; ``(row, created)``.

    ``lookup`` names the model's unique key (e.g. ``(owner, delivery_id)``). One statement,
    ``INSERT … ON CONFLICT (<lookup columns>) DO NOTHING RETURNING pk`` (PostgreSQL and
    SQLite): a duplicate is no error, so no savepoint is needed and the caller's transaction
    goes on; only a conflict on exactly that key counts as a duplicate — any other violation
    raises IntegrityError. A duplicate costs one more query, reading the row already stored.

    ``guard``: a condition that must hold for the insert to happen, checked in the same
    statement (``INSERT … SELECT … WHERE <guard>``); a duplicate is reported only if the guard
    still holds too. Otherwise GuardFailedError is raised and nothing is stored. The webhook
    uses it to trust a cached connection only while its row is unchanged.
    """
    using = router.db_for_write(model)
    for _attempt in range(2):
        obj = model(**lookup, **fields)
        sql, params = _insert_unless_duplicate_sql(obj, using, key=list(lookup), guard=guard)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is not None:
            obj.pk = row[0]
            obj._state.adding = False
            obj._state.db = using
            return obj, True
        existing = model._default_manager.using(using).filter(**lookup)
        if guard is not None:
            existing = existing.filter(guard.condition())
        found = existing.first()
        if found is not None:
            return found, False
        if guard is not None:
            raise GuardFailedError(f"the guard of an insert into {model._meta.label} failed")
        # The conflicting row went away between the two statements (purged): insert again.
    raise IntegrityError(f"could not insert into {model._meta.label} nor find the duplicate")


def _insert_unless_duplicate_sql(
    obj: models.Model, using: str, *, key: list[str], guard: Guard | None
) -> tuple[str, list[Any]]:
    """The SQL of :func:`ledger_insert` and its parameters.

    Values are prepared as Django's insert compiler prepares them (``pre_save`` with
    ``add=True``, then ``get_db_prep_save``). For plain values the statement's text depends only
    on the model, the key and the guard, so it is built once (:func:`_insert_sql`); an
    expression value or a field with its own placeholder goes through the compiler each time.
    """
    connection = connections[using]
    fields = _insert_fields(type(obj))
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for f in fields]
    if any(hasattr(v, "resolve_expression") or hasattr(v, "as_sql") for v in values) or any(
        hasattr(f, "get_placeholder_sql") for f in fields
    ):
        return _compiled_insert_sql(obj, using, key=key, guard=guard)
    sql = _insert_sql(type(obj), connection.vendor, tuple(key), guard.sql if guard else None)
    return sql, (values + list(guard.params)) if guard is not None else values


@cache
def _insert_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    meta = model._meta
    return [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]


@cache
def _insert_sql(
    model: type[models.Model], vendor: str, key: tuple[str, ...], guard_sql: str | None
) -> str:
    """:func:`_insert_statement` with one ``%s`` per value, built once (``vendor``: part of
    the cache key only)."""
    placeholders = ", ".join(["%s"] * len(_insert_fields(model)))
    return _insert_statement(model, placeholders, key=key, guard_sql=guard_sql)


def _compiled_insert_sql(
    obj: models.Model, using: str, *, key: list[str], guard: Guard | None
) -> tuple[str, list[Any]]:
    """:func:`_insert_unless_duplicate_sql` through Django's insert compiler (any value)."""
    fields = _insert_fields(type(obj))
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    values = [compiler.prepare_value(f, compiler.pre_save_val(f, obj)) for f in fields]
    placeholder_rows, param_rows = compiler.assemble_as_sql(fields, [values])
    placeholders, params = ", ".join(placeholder_rows[0]), list(param_rows[0])
    if guard is not None:
        params.extend(guard.params)
    guard_sql = guard.sql if guard is not None else None
    return _insert_statement(type(obj), placeholders, key=tuple(key), guard_sql=guard_sql), params


def _insert_statement(
    model: type[models.Model], placeholders: str, *, key: tuple[str, ...], guard_sql: str | None
) -> str:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING pk``, guarded by ``guard_sql``."""
    meta = model._meta
    quote = connections[router.db_for_write(model)].ops.quote_name
    columns = ", ".join(quote(f.column) for f in _insert_fields(model))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
    if guard_sql is None:
        sql += f"VALUES ({placeholders})"
    else:
        sql += f"SELECT {placeholders} WHERE {guard_sql}"
    conflict = ", ".join(quote(meta.get_field(name).column) for name in key)
    return f"{sql} ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(meta.pk.column)}"


def storable_delivery_id(value: str, *, max_length: int) -> str:
    """The delivery id, or a stable digest of it when it does not fit the column as text."""
    if len(value) <= max_length and value.isprintable():
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def storable_label(value: str, *, max_length: int) -> str:
    """A short label (action, event type) as storable text, clipped to ``max_length``."""
    if len(value) <= max_length and value.isprintable():
        return value
    # Escape control characters and lone surrogates, which PostgreSQL cannot store.
    return value.encode("unicode_escape").decode("ascii")[:max_length]


def enqueue_after_commit(task: Any, object_id: int, *, what: str) -> None:
    """``task.delay(object_id)`` once the transaction commits (through :func:`enqueue_id`, the
    same message for less CPU); a broker error is only logged.

    ``robust``: an unexpected error in the enqueue is logged by Django, never raised into the
    response of a delivery that is already committed.
    """
    transaction.on_commit(partial(_enqueue_quietly, task, object_id, what=what), robust=True)


# -- refusals and queueing ----------------------------------------------------------------------


def signature_failure_record(
    *, connection: AtsConnection, reason: str, remote_addr: str | None
) -> SignatureFailure | None:
    """Count one refused delivery against its connection (nothing of the delivery is kept)."""
    logger.warning(
        "Webhook refused on connection %s from %s: %s", connection.slug, remote_addr, reason
    )
    try:
        with transaction.atomic():
            return SignatureFailure.objects.create(
                connection=connection,
                reason=reason[:_REASON_LENGTH],
                remote_addr=_ip_address_or_none(remote_addr),
            )
    except DatabaseError:
        # The refusal stands (401) even when it cannot be counted; never a 500.
        logger.exception("Could not count a refused delivery on connection %s", connection.slug)
        return None


def _enqueue_quietly(task: Any, object_id: int, *, what: str) -> None:
    try:
        enqueue_id(task, object_id)
    except (KombuError, OSError):
        # Broker down or unreachable: the row stays "received" and the sweeper takes it.
        logger.warning(
            "%s %s is stored but could not be queued (broker unavailable); "
            "the sweeper will process it.",
            what,
            object_id,
            exc_info=True,
        )


def _ip_address_or_none(value: str | None) -> str | None:
    # REMOTE_ADDR is empty behind some servers (unix sockets); an inet column refuses that.
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None
