"""Generic ATS webhooks: Standard Webhooks signatures and Screenbridge's own event shape.

Any ATS (or middleware) without a dedicated connector can post events in this shape.

Signature: Standard Webhooks 1.0 (https://www.standardwebhooks.com/), verified by the shared
``integrations.connectors.standard_webhooks.verify`` — the same code the generic interview vendor
uses. In short: headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (any
matching ``v1,<base64>`` entry accepts), signed content ``{id}.{timestamp}.{raw body}``, a
5-minute tolerance either way, and a ``whsec_<base64>`` secret (a secret without the prefix is
used as a raw key: its UTF-8 bytes are the HMAC key). The connection's webhook secret may hold
several secrets separated by whitespace, so a raw secret cannot contain whitespace.

Event shape (JSON object, UTF-8), one per message::

    {
      "type": "application.stage_changed",
      "occurred_at": "2026-04-09T16:38:36Z",
      "application": {"id": "app_8731", "applied_at": "2026-03-22T09:15:00Z"},
      "candidate": {"id": "cand_5512", "first_name": "Amara", "last_name": "Okafor",
                    "email": "amara.okafor@example.com"},
      "job": {"id": "job_204", "title": "Customer Support Specialist",
              "department": "Customer Experience", "location": "Lisbon, Portugal",
              "status": "open"},
      "stage": {"id": "stage_ai_interview", "name": "AI Interview"},
      "outcome": ""
    }

- ``type`` (required): the event name; ``application.stage_changed`` is the one processed today.
- ``occurred_at``: ISO-8601 with an offset (``Z`` or ``+hh:mm``), when the change happened in
  the ATS; it orders events for one application. Absent or null: the ``webhook-timestamp``.
- ``application.id``, ``candidate.id``, ``job.id``: the ATS's own ids as strings; identity is
  always by id, never by e-mail. ``application.applied_at`` is ISO-8601 or null.
- ``job.status``: ``open``, ``closed`` or ``draft``.
- ``stage``: the ATS's stage id and/or name; stage mappings match either.
- ``outcome``: ``""`` while the application is in process, else ``rejected``, ``hired`` or
  ``withdrawn``; it takes precedence over the stage.

The delivery id is ``webhook-id``; the action is ``type``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from integrations.connectors import standard_webhooks
from integrations.connectors.base import Delivery, MalformedPayloadError
from integrations.connectors.signing import json_object, webhook_secrets

if TYPE_CHECKING:
    from integrations.models import AtsConnection

STAGE_CHANGED = "application.stage_changed"


def verify(connection: AtsConnection, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Check the Standard Webhooks signature on the raw body and name the delivery.

    Raises SignatureError (401) for missing headers, a timestamp outside the 5-minute tolerance
    or no matching v1 signature, and MalformedPayloadError (400) for an authentic body that is
    not a JSON object with a ``type`` and a readable ``occurred_at``.
    """
    message = standard_webhooks.verify(lambda: webhook_secrets(connection), headers, body)
    payload = json_object(message.text)
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedPayloadError("body has no 'type'")
    occurred_at = _occurred_at(payload.get("occurred_at"), default=message.sent_at)
    return Delivery(delivery_id=message.message_id, action=event_type, occurred_at=occurred_at)


def _occurred_at(value: object, *, default: dt.datetime) -> dt.datetime:
    """``occurred_at`` from the body (ISO-8601 with an offset), else the webhook timestamp."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise MalformedPayloadError("'occurred_at' is not an ISO-8601 timestamp with an offset")
