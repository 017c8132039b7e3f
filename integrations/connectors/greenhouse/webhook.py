"""Greenhouse Recruiting webhooks: check the signature and name the delivery.

Greenhouse signs the entire raw body, not just ``payload``: the ``Signature`` header is
``sha256 <hex>`` (algorithm, a space, the digest) where the digest is HMAC-SHA256(secret key, body).
Unicode is JSON-escaped (``\\u003c``) before signing, so only the exact bytes received verify;
a re-serialised body never does. Each delivery carries a ``Greenhouse-Event-ID`` header; without
it the SHA-256 of the body names the delivery, which a retry of the same event repeats.

Greenhouse pings the URL (``{"action": "ping", ...}``) when a webhook is saved and disables the
webhook if the ping fails, so a ping is answered 200 and not stored.

The connection's webhook secret may hold several secrets separated by whitespace (rotation, or
one Greenhouse webhook per event type with different keys); any of them may match.

Docs: https://developers.greenhouse.io/webhooks.html#authentication
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from integrations.connectors.base import Delivery
from integrations.connectors.signing import header_signed_action

if TYPE_CHECKING:
    from integrations.models import AtsConnection

SIGNATURE_HEADER = "Signature"
EVENT_ID_HEADER = "greenhouse-event-id"
PING_ACTION = "ping"


def verify(connection: AtsConnection, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Check the ``Signature`` header against the raw body and name the delivery.

    Raises SignatureError (401) for a missing, malformed or wrong signature and
    MalformedPayloadError (400) for an authentic body that is not a JSON object with an action.
    """
    lowered, _payload, action = header_signed_action(
        connection, headers, body, header=SIGNATURE_HEADER, separator=" "
    )
    delivery_id = lowered.get(EVENT_ID_HEADER, "").strip() or hashlib.sha256(body).hexdigest()
    # Greenhouse sends no event timestamp (candidate_stage_change has no time of the move).
    return Delivery(delivery_id=delivery_id, action=action, is_ping=action == PING_ACTION)
