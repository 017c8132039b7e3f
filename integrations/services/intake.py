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

from django.db import IntegrityError, transaction
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
    try:
        raw_body = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPayloadError("body is not valid UTF-8") from None
    delivery_id = _storable_delivery_id(delivery.delivery_id)
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                connection=connection,
                delivery_id=delivery_id,
                action=_storable_action(delivery.action),
                raw_body=raw_body,
                headers=relevant_headers(headers),
                occurred_at=delivery.occurred_at,
                status=InboundEventStatus.RECEIVED,
            )
    except IntegrityError:
        existing = InboundEvent.objects.filter(
            connection=connection, delivery_id=delivery_id
        ).first()
        if existing is None:  # some other constraint failed: not a duplicate
            raise
        logger.info(
            "Duplicate delivery %s on connection %s (event %s) ignored.",
            delivery_id,
            connection.slug,
            existing.pk,
        )
        return existing, False
    # robust: an unexpected error in the enqueue is logged by Django, never raised into the
    # response of a delivery that is already committed.
    transaction.on_commit(partial(_enqueue_processing, event.pk), robust=True)
    return event, True


def signature_failure_record(
    *, connection: AtsConnection, reason: str, remote_addr: str | None
) -> SignatureFailure:
    """Count one refused delivery against its connection (nothing of the delivery is kept)."""
    logger.warning(
        "Webhook refused on connection %s from %s: %s", connection.slug, remote_addr, reason
    )
    return SignatureFailure.objects.create(
        connection=connection,
        reason=reason[:_REASON_LENGTH],
        remote_addr=_ip_address_or_none(remote_addr),
    )


def _enqueue_processing(event_id: int) -> None:
    try:
        process_inbound_event_task.delay(event_id)
    except (KombuError, OSError):
        # Broker down or unreachable: the event stays "received" and the sweeper takes it.
        logger.warning(
            "Inbound event %s is stored but could not be queued (broker unavailable); "
            "the sweeper will process it.",
            event_id,
            exc_info=True,
        )


def _storable_delivery_id(value: str) -> str:
    """The delivery id, or a stable digest of it when it does not fit the column as text."""
    if len(value) <= _DELIVERY_ID_LENGTH and value.isprintable():
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _storable_action(value: str) -> str:
    if len(value) <= _ACTION_LENGTH and value.isprintable():
        return value
    # Escape control characters and lone surrogates, which PostgreSQL cannot store.
    return value.encode("unicode_escape").decode("ascii")[:_ACTION_LENGTH]


def _ip_address_or_none(value: str | None) -> str | None:
    # REMOTE_ADDR is empty behind some servers (unix sockets); an inet column refuses that.
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None
