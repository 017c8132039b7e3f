"""Lever webhooks: check the signature and name the delivery.

Lever puts the signature in the JSON body, not in a header: ``signature`` is the hex
HMAC-SHA256 of ``token + triggeredAt`` (the random 48-character token and the millisecond
timestamp as decimal text) keyed with the webhook's signature token. A body without those fields
cannot be authenticated, so it is refused as unsigned (401), not as malformed.

Time tolerance: ``triggeredAt`` more than five minutes in the future (beyond clock skew) is
refused. Old ones are accepted on purpose: Lever retries a failed delivery five times over
growing intervals and offers a manual "Rerun" from its delivery history for two weeks, and a
resent body keeps its original ``triggeredAt`` unless Lever re-signs it (its docs do not say it
does). A past window would refuse those legitimate retries for good, and a lost stage change is
only repaired by the next reconcile. A replay of a whole delivery is harmless: it is a duplicate
of the stored one.

Known limit of Lever's scheme: the signature covers ``token`` and ``triggeredAt`` only, not
``id``, ``event`` or ``data``. A valid signature proves Lever issued the token, not that the body
is Lever's; processing should treat ``data`` as a pointer and read the opportunity's current
state from the Lever API before acting on it.

Delivery id: the event ``id`` (the same on retries); without one, the token. ``triggeredAt``
becomes ``occurred_at``. Lever may issue one signature token per webhook (event type): the
connection's webhook secret may hold several tokens separated by whitespace, and any may match.

Docs: https://hire.lever.co/developer/documentation#webhooks (Request signing)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from integrations.connectors.base import Delivery, MalformedPayloadError, SignatureError
from integrations.connectors.signing import matches_any_secret

if TYPE_CHECKING:
    from integrations.models import AtsConnection

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def verify(connection: AtsConnection, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Check the body's ``signature`` over ``token + triggeredAt`` and name the delivery.

    Raises SignatureError (401) when the signature fields are missing or wrong or the event is
    dated in the future, and MalformedPayloadError (400) for an authentic body without ``event``.
    ``headers`` are not used: Lever signs inside the body.
    """
    payload = _json_object(body)
    token = payload.get("token")
    triggered_at = payload.get("triggeredAt")
    signature = payload.get("signature")
    if not isinstance(token, str) or not token:
        raise SignatureError("body has no Lever 'token'")
    # bool is an int subclass; Lever sends epoch milliseconds as a JSON integer.
    if not isinstance(triggered_at, int) or isinstance(triggered_at, bool):
        raise SignatureError("body has no integer 'triggeredAt'")
    if not isinstance(signature, str) or not signature:
        raise SignatureError("body has no Lever 'signature'")

    message = f"{token}{triggered_at}".encode("utf-8", "surrogatepass")
    given = signature.strip().lower().encode("utf-8", "surrogatepass")
    if not matches_any_secret(connection, message, given):
        raise SignatureError("signature does not match")

    occurred_at = _from_milliseconds(triggered_at)
    if occurred_at > timezone.now() + FUTURE_TOLERANCE:
        raise SignatureError("triggeredAt is more than 5 minutes in the future")

    event = payload.get("event")
    if not isinstance(event, str) or not event:
        raise MalformedPayloadError("body has no 'event'")
    event_id = payload.get("id")
    delivery_id = event_id.strip() if isinstance(event_id, str) and event_id.strip() else token
    return Delivery(delivery_id=delivery_id, action=event, occurred_at=occurred_at)


def _from_milliseconds(value: int) -> dt.datetime:
    try:
        return _EPOCH + dt.timedelta(milliseconds=value)
    except OverflowError:
        raise SignatureError("triggeredAt is not a valid timestamp") from None


def _json_object(body: bytes) -> dict[str, Any]:
    # Unlike the header-signed providers, an unreadable body here means an unsigned one.
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise SignatureError("body is not a JSON object carrying a Lever signature") from None
    if not isinstance(payload, dict):
        raise SignatureError("body is not a JSON object carrying a Lever signature")
    return payload
