"""Helpers shared by the providers' ``webhook.verify``: secrets, HMAC, strict JSON bodies."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from integrations.connectors.base import MalformedPayloadError, SignatureError
from integrations.crypto import SecretUnavailableError

if TYPE_CHECKING:
    from integrations.models import AtsConnection

MISSING_KEY_MESSAGE = "no usable webhook secret is configured for this connection"


def webhook_secrets(connection: AtsConnection) -> list[str]:
    """The connection's webhook secrets.

    Several may be configured, separated by whitespace, and any of them may match: key rotation,
    and providers that issue one signing token per webhook (Lever, Ashby). A connection without
    a usable secret refuses every delivery (:class:`SignatureError`, answered 401).
    """
    try:
        configured = connection.webhook_secret()
    except SecretUnavailableError:
        raise SignatureError(MISSING_KEY_MESSAGE) from None
    secrets = configured.split()
    if not secrets:
        raise SignatureError(MISSING_KEY_MESSAGE)
    return secrets


def hex_hmac_sha256(secret: str, message: bytes) -> bytes:
    """Lower-case hex HMAC-SHA256, as bytes ready for ``hmac.compare_digest``."""
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest().encode("ascii")


def matches_any_secret(connection: AtsConnection, message: bytes, given_hex: bytes) -> bool:
    """Whether ``given_hex`` is the HMAC of ``message`` under one of the connection's secrets.

    ``any()`` stops at the first match; each comparison is constant-time.
    """
    return any(
        hmac.compare_digest(hex_hmac_sha256(secret, message), given_hex)
        for secret in webhook_secrets(connection)
    )


def check_hex_signature_header(
    connection: AtsConnection,
    lowered_headers: Mapping[str, str],
    body: bytes,
    *,
    header: str,
    separator: str,
) -> None:
    """Check a ``sha256<separator><hex>`` header (``header`` is its display name) over ``body``.

    Greenhouse (``Signature: sha256 <hex>``) and Ashby (``Ashby-Signature: sha256=<hex>``) sign
    the raw body this way. ``lowered_headers`` has lower-cased names. Raises
    :class:`SignatureError` for a missing, malformed or non-matching signature.
    """
    value = lowered_headers.get(header.lower(), "").strip()
    if not value:
        raise SignatureError(f"missing {header} header")
    algorithm, found, given = value.partition(separator)
    given = given.strip()
    if not found or algorithm.strip().lower() != "sha256" or not given:
        raise SignatureError(f"{header} header is not of the form 'sha256{separator}<hex digest>'")
    if not matches_any_secret(connection, body, given.lower().encode("utf-8", "replace")):
        raise SignatureError("signature does not match")


def header_signed_action(
    connection: AtsConnection,
    headers: Mapping[str, str],
    body: bytes,
    *,
    header: str,
    separator: str,
) -> tuple[dict[str, str], dict[str, Any], str]:
    """Verify a ``sha256<separator><hex>`` header, then read the body's ``action``.

    Returns the lower-cased headers, the JSON object and its action. Raises
    :class:`SignatureError` (see :func:`check_hex_signature_header`) and, for an authentic body
    that is not a JSON object with an ``action``, :class:`MalformedPayloadError`.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    check_hex_signature_header(connection, lowered, body, header=header, separator=separator)
    payload = json_object(body)
    action = payload.get("action")
    if not isinstance(action, str) or not action:
        raise MalformedPayloadError("body has no 'action'")
    return lowered, payload, action


def json_object(body: bytes | str) -> dict[str, Any]:
    """The body as a JSON object, or :class:`MalformedPayloadError` saying what is wrong.

    Strict UTF-8: ``json.loads(bytes)`` would also accept UTF-16/32, which we could not store.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        payload = json.loads(text)
    except UnicodeDecodeError:
        raise MalformedPayloadError("body is not valid UTF-8") from None
    except (ValueError, RecursionError):
        raise MalformedPayloadError("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise MalformedPayloadError("body is not a JSON object")
    return payload
