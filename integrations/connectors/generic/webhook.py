"""Generic ATS webhooks: Standard Webhooks signatures and Screenbridge's own event shape.

Any ATS (or middleware) without a dedicated connector can post events in this shape.

Signature (Standard Webhooks 1.0, https://www.standardwebhooks.com/):

- headers ``webhook-id`` (unique per message, the same on retries), ``webhook-timestamp`` (integer
  Unix seconds of this attempt) and ``webhook-signature`` (a space-separated list of
  ``v1,<base64 HMAC-SHA256>``; any matching entry accepts, so senders can rotate keys);
- signed content ``{webhook-id}.{webhook-timestamp}.{raw body}``;
- timestamps more than 5 minutes old or ahead are refused (replay protection);
- secret: ``whsec_<base64 key>`` as the spec serialises it, the key being the base64-decoded
  bytes. A secret without the ``whsec_`` prefix is used as a raw key: its UTF-8 bytes are the
  HMAC key (configure the sender with the same string, or with ``whsec_`` + its base64). The
  connection's webhook secret may hold several secrets separated by whitespace, so a raw secret
  cannot contain whitespace.

Verification uses the reference ``standardwebhooks`` library; the header checks before it give
precise reasons and keep its parsing errors out of the way. The body must be UTF-8 (the
library, like every reference implementation, signs text), so other bytes cannot be verified
and are refused as unsigned.

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

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from integrations.connectors.base import Delivery, MalformedPayloadError, SignatureError
from integrations.connectors.signing import json_object, webhook_secrets

if TYPE_CHECKING:
    from integrations.models import AtsConnection

TOLERANCE = dt.timedelta(minutes=5)
SECRET_PREFIX = "whsec_"  # noqa: S105  (the serialisation prefix, not a secret)
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
STAGE_CHANGED = "application.stage_changed"

_TIMESTAMP = re.compile(r"[0-9]{1,11}")  # up to year 5138: datetime stays in range
_V1_ENTRY = re.compile(r"v1,[A-Za-z0-9+/]+={0,2}")


def verify(connection: AtsConnection, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Check the Standard Webhooks signature on the raw body and name the delivery.

    Raises SignatureError (401) for missing headers, a timestamp outside the 5-minute tolerance
    or no matching v1 signature, and MalformedPayloadError (400) for an authentic body that is
    not a JSON object with a ``type`` and a readable ``occurred_at``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get(ID_HEADER, "").strip()
    raw_timestamp = lowered.get(TIMESTAMP_HEADER, "").strip()
    signature_header = lowered.get(SIGNATURE_HEADER, "").strip()
    if not message_id:
        raise SignatureError("missing webhook-id header")
    if not raw_timestamp:
        raise SignatureError("missing webhook-timestamp header")
    if not signature_header:
        raise SignatureError("missing webhook-signature header")
    if not _TIMESTAMP.fullmatch(raw_timestamp):
        raise SignatureError("webhook-timestamp is not an integer Unix time")
    sent_at = dt.datetime.fromtimestamp(int(raw_timestamp), tz=dt.UTC)
    now = timezone.now()
    if sent_at < now - TOLERANCE:
        raise SignatureError("webhook-timestamp is more than 5 minutes old")
    if sent_at > now + TOLERANCE:
        raise SignatureError("webhook-timestamp is more than 5 minutes in the future")
    # Only well-formed v1 entries reach the library: it stops at the first entry it cannot
    # parse, and other versions (v1a = ed25519) are not ours to check.
    entries = [entry for entry in signature_header.split() if _V1_ENTRY.fullmatch(entry)]
    if not entries:
        raise SignatureError("webhook-signature has no v1 signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("body is not UTF-8 text, so its signature cannot be checked") from None

    signed_headers = {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: raw_timestamp,
        SIGNATURE_HEADER: " ".join(entries),
    }
    for key in _signing_keys(connection):
        try:
            # Constant-time comparison (hmac.compare_digest) inside the library.
            Webhook(key).verify(text, signed_headers, json_parse=False)
        except (WebhookVerificationError, ValueError):  # binascii.Error is a ValueError
            continue
        break
    else:
        raise SignatureError("signature does not match")

    payload = json_object(text)
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedPayloadError("body has no 'type'")
    occurred_at = _occurred_at(payload.get("occurred_at"), default=sent_at)
    return Delivery(delivery_id=message_id, action=event_type, occurred_at=occurred_at)


def _signing_keys(connection: AtsConnection) -> list[bytes]:
    """HMAC keys from the connection's webhook secret(s): ``whsec_`` base64, else raw UTF-8."""
    keys = []
    for secret in webhook_secrets(connection):
        if secret.startswith(SECRET_PREFIX):
            encoded = secret.removeprefix(SECRET_PREFIX)
            try:
                # Strict decoding: a mistyped secret is a configuration error, not another key.
                key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise SignatureError(
                    "the connection's whsec_ webhook secret is not valid base64"
                ) from None
        else:
            key = secret.encode("utf-8")
        if key:
            keys.append(key)
    if not keys:
        raise SignatureError("no usable webhook secret is configured for this connection")
    return keys


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
