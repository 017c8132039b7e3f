"""Standard Webhooks 1.0 verification, shared by every receiver that speaks it.

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
Used by the generic ATS connector (``connectors/generic/webhook.py`` and ``client.py``) and the
generic interview vendor (``interviews/vendors/generic_http.py``), so both answer the same
deliveries the same way and sign their outbound requests the same way (:func:`signed_headers`):

- headers ``webhook-id`` (unique per message, the same on retries), ``webhook-timestamp`` (integer
  Unix seconds of this attempt) and ``webhook-signature`` (a space-separated list of
  ``v1,<base64 HMAC-SHA256>``; any matching entry accepts, so senders can rotate keys);
- signed content ``{webhook-id}.{webhook-timestamp}.{raw body}``;
- timestamps more than 5 minutes old or ahead are refused (replay protection);
- secrets: ``whsec_<base64 key>`` as the spec serialises it, the key being the base64-decoded
  bytes; a secret without the prefix is a raw key whose UTF-8 bytes are the HMAC key.

The reference ``standardwebhooks`` library does the HMAC and the constant-time comparison; the
header checks before it give precise reasons and keep its parsing errors out of the way. The body
must be UTF-8 (the library, like every reference implementation, signs text), so other bytes
cannot be verified and are refused as unsigned. Nothing here parses the body: callers do, only
after :func:`verify` returned.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from integrations.connectors.base import SignatureError
from integrations.http import AtsAuthError, AtsPermanentError, HttpClient, read_credential

TOLERANCE = dt.timedelta(minutes=5)
SECRET_PREFIX = "whsec_"  # noqa: S105  (the serialisation prefix, not a secret)
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"

_TIMESTAMP = re.compile(r"[0-9]{1,11}")  # up to year 5138: datetime stays in range
_V1_ENTRY = re.compile(r"v1,[A-Za-z0-9+/]+={0,2}")

# Returns the configured secrets; raises SignatureError when none is usable.
type SecretSource = Callable[[], Iterable[str]]


@dataclass(frozen=True)
class SignedMessage:
    """An authentic message: its id, when it was sent and its body as text."""

    message_id: str
    sent_at: dt.datetime
    text: str


def verify(
    secret_source: SecretSource,
    headers: Mapping[str, str],
    body: bytes,
    *,
    owner: str = "connection",
) -> SignedMessage:
    """Check the Standard Webhooks signature of ``body``; raise :class:`SignatureError` if not.

    ``secret_source`` is called only once the headers are well-formed and fresh, so a receiver
    without a secret still reports a missing header or a stale timestamp precisely. ``owner``
    names what the secrets belong to in refusal reasons ("connection", "vendor"); those reasons
    never contain a secret.
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
    for key in signing_keys(secret_source(), owner=owner):
        try:
            # Constant-time comparison (hmac.compare_digest) inside the library.
            Webhook(key).verify(text, signed_headers, json_parse=False)
        except (WebhookVerificationError, ValueError):  # binascii.Error is a ValueError
            continue
        break
    else:
        raise SignatureError("signature does not match")
    return SignedMessage(message_id=message_id, sent_at=sent_at, text=text)


def signing_keys(secrets: Iterable[str], *, owner: str = "connection") -> list[bytes]:
    """HMAC keys from configured secrets: ``whsec_`` base64, else the raw UTF-8 bytes."""
    keys = []
    for secret in secrets:
        if secret.startswith(SECRET_PREFIX):
            encoded = secret.removeprefix(SECRET_PREFIX)
            try:
                # Strict decoding: a mistyped secret is a configuration error, not another key.
                key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise SignatureError(
                    f"the {owner}'s whsec_ webhook secret is not valid base64"
                ) from None
        else:
            key = secret.encode("utf-8")
        if key:
            keys.append(key)
    if not keys:
        raise SignatureError(f"no usable webhook secret is configured for this {owner}")
    return keys


# -- signing outbound requests -----------------------------------------------------------------


def outbound_signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret we sign with (:class:`AtsAuthError` if bad)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise AtsAuthError("the signing secret is not a whsec_<base64> secret") from None
    if not key:
        raise AtsAuthError("the signing secret is empty")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<signature>`` over ``{msg_id}.{timestamp}.{body}`` (Standard Webhooks ``v1``)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    http: HttpClient,
    read_secret: Callable[[], str],
    *,
    label: str,
    no_base_url: str,
    msg_id: str,
    body: bytes,
) -> dict[str, str]:
    """The three Standard Webhooks headers for one outbound request of ``body`` bytes.

    ``read_secret`` is the accessor of the ``whsec_`` secret (``connection.api_key``,
    ``vendor.api_key``); ``label`` names it in the :class:`AtsAuthError` raised when it is
    missing. The secret is registered with ``http`` so it is redacted from errors and logs.
    Without a base URL the request cannot be sent: :class:`AtsPermanentError` (``no_base_url``).
    ``msg_id`` is the ``webhook-id``; ``webhook-timestamp`` is now, in Unix seconds.
    """
    if not http.base_url:
        raise AtsPermanentError(no_base_url)
    secret = read_credential(read_secret, label)
    http.add_secret(secret)
    timestamp = int(time.time())
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(outbound_signing_key(secret), msg_id, timestamp, body),
    }
