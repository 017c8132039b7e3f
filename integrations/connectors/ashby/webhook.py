"""Ashby webhooks: check the signature and name the delivery.

Ashby signs the raw body: ``Ashby-Signature: sha256=<hex>`` where the digest is
HMAC-SHA256(secret token, body). The body is ``{"webhookActionId", "action", "data"}``.

Delivery id: ``webhookActionId`` stays the same across retries *and* across related webhooks that
Ashby fires together (a stage move sends ``candidateStageChange`` and ``applicationUpdate`` with one
id), so the id is ``<webhookActionId>:<action>``; the id alone would drop the second delivery as a
duplicate. The payload schemas do not list ``webhookActionId``, so without it the id is
``<application id>:<updatedAt>:<action>``, and the SHA-256 of the body for events with no
application.

``ping`` (sent when a webhook is set up) is answered 200 and not stored. Ashby configures one
event type per webhook, each with its own secret: the connection's webhook secret may hold several
secrets separated by whitespace, and any of them may match.

Docs: https://developers.ashbyhq.com/docs/authenticating-webhooks,
https://developers.ashbyhq.com/docs/common-payload-data, https://developers.ashbyhq.com/docs/related-webhooks
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from integrations.connectors.base import Delivery
from integrations.connectors.signing import header_signed_action

if TYPE_CHECKING:
    from integrations.models import AtsConnection

SIGNATURE_HEADER = "Ashby-Signature"
PING_ACTION = "ping"


def verify(connection: AtsConnection, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Check ``Ashby-Signature`` against the raw body and name the delivery.

    Raises SignatureError (401) for a missing, malformed or wrong signature and
    MalformedPayloadError (400) for an authentic body that is not a JSON object with an action.
    """
    _headers, payload, action = header_signed_action(
        connection, headers, body, header=SIGNATURE_HEADER, separator="="
    )
    action_id = payload.get("webhookActionId")
    if action == PING_ACTION:
        return Delivery(delivery_id=f"{action_id or 'ping'}:{action}", action=action, is_ping=True)

    data = payload.get("data")
    application = data.get("application") if isinstance(data, dict) else None
    if not isinstance(application, dict):
        application = {}
    updated_at = application.get("updatedAt")
    if isinstance(action_id, str) and action_id:
        delivery_id = f"{action_id}:{action}"
    elif application.get("id") and isinstance(updated_at, str) and updated_at:
        delivery_id = f"{application['id']}:{updated_at}:{action}"
    else:
        delivery_id = hashlib.sha256(body).hexdigest()
    return Delivery(delivery_id=delivery_id, action=action, occurred_at=_parse_time(updated_at))


def _parse_time(value: object) -> dt.datetime | None:
    """Ashby's ISO-8601 ``updatedAt``; None when absent or unreadable (ordering then falls back
    to receipt order rather than refusing an authentic delivery)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
