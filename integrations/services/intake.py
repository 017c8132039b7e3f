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
from functools import partial
from typing import Any

from django.db import DatabaseError, IntegrityError, models, transaction
from kombu.exceptions import KombuError

from integrations.connectors.base import Delivery, MalformedPayloadError
from integrations.models import AtsConnection, InboundEvent, InboundEventStatus, SignatureFailure
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


@transaction.atomic
def inbound_event_store(
    *,
    connection: AtsConnection,
    delivery: Delivery,
    body: bytes,
    headers: Mapping[str, str],
) -> tuple[InboundEvent, bool]:
    """Store one authentic delivery unless it is already stored; return ``(event, created)``.

    The insert runs in a savepoint: a duplicate (the unique ``(connection, delivery_id)``) rolls
    back only itself and the caller's transaction goes on, so a retry is answered like the
    first delivery. Processing is enqueued on commit for a new event only. Raises
    MalformedPayloadError when the body is not UTF-8 text.
    """
    raw_body = decode_body(body)
    delivery_id = storable_delivery_id(delivery.delivery_id, max_length=_DELIVERY_ID_LENGTH)
    event, created = ledger_insert(
        InboundEvent,
        lookup={"connection": connection, "delivery_id": delivery_id},
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


def ledger_insert[M: models.Model](
    model: type[M], *, lookup: dict[str, Any], **fields: Any
) -> tuple[M, bool]:
    """Insert one row of ``model`` unless a row matching ``lookup`` exists; ``(row, created)``.

    ``lookup`` is the model's unique key (e.g. ``(owner, delivery_id)``). The insert runs in a
    savepoint: a duplicate rolls back only itself and the caller's transaction goes on. An
    IntegrityError that is not a duplicate of ``lookup`` is raised.
    """
    try:
        with transaction.atomic():
            return model._default_manager.create(**lookup, **fields), True
    except IntegrityError:
        existing = model._default_manager.filter(**lookup).first()
        if existing is None:  # some other constraint failed: not a duplicate
            raise
        return existing, False


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
    """``task.delay(object_id)`` once the transaction commits; a broker error is only logged.

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
        task.delay(object_id)
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
