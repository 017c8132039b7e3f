"""What every assessment-partner endpoint shares: the connection, Basic auth, JSON in and out.

Greenhouse (Assessment API) and Ashby (assessments) call Screenbridge with HTTP Basic auth whose
*username* is the key the customer gave them (Greenhouse: "append a : (colon) to the API token
and then Base64 encode"; the password is blank and ignored here). That key is the connection's
``partner_key`` secret, compared in constant time.

:func:`partner_endpoint` wraps a view so it only runs for an active connection of the right
provider, with the right key, with an allowed method, and never answers 500:

- unknown or inactive connection (or one of another provider) → 404;
- missing, malformed or wrong credentials, or no key configured → 401 with
  ``WWW-Authenticate: Basic`` (each refusal is counted as a ``SignatureFailure`` of the
  connection, like a bad webhook signature, so the sync-health page shows it);
- wrong method → 405 with ``Allow``;
- an unexpected error → the view's writes are rolled back and the answer is 503 with
  ``Retry-After`` (the ATS may retry; nothing half-written stays behind).

Error bodies are JSON ``{"error": "..."}`` unless the provider documents another shape.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt

from integrations.crypto import SecretUnavailableError
from integrations.models import AtsConnection
from integrations.services.intake import signature_failure_record

logger = logging.getLogger(__name__)

REALM = "Screenbridge assessment partner API"
MAX_BODY_BYTES = 1_048_576  # 1 MiB; partner requests are a few hundred bytes
RETRY_AFTER_SECONDS = 60

type PartnerView = Callable[[HttpRequest, AtsConnection], HttpResponse]


class PartnerRequestError(Exception):
    """A request the endpoint refuses, with the HTTP status and a message for the caller."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def json_error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


# -- authentication ----------------------------------------------------------------------------


def basic_username(header: str) -> str | None:
    """The username of an ``Authorization: Basic`` header; None when absent or malformed."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _, _password = decoded.partition(":")
    return username or None


def partner_key_matches(connection: AtsConnection, presented: str) -> bool:
    """Constant-time comparison with the connection's partner key (False if none is set)."""
    try:
        expected = connection.partner_key()
    except (SecretUnavailableError, ImproperlyConfigured) as exc:
        logger.error("Assessment partner call on connection %s refused: %s", connection.slug, exc)
        return False
    if not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def partner_authenticate(request: HttpRequest, connection: AtsConnection) -> JsonResponse | None:
    """None when the request carries the connection's partner key; otherwise the 401."""
    header = request.headers.get("Authorization", "")
    if not header:
        reason, message = "missing Basic auth", "HTTP Basic authentication is required"
    else:
        username = basic_username(header)
        if username is None:
            reason, message = "malformed Basic auth", "the Authorization header is not valid Basic"
        elif not partner_key_matches(connection, username):
            reason, message = "wrong partner key", "the partner key was not accepted"
        else:
            return None
    signature_failure_record(
        connection=connection,
        reason=f"assessment partner call: {reason}",
        remote_addr=request.META.get("REMOTE_ADDR"),
    )
    response = json_error(401, message)
    response["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response


# -- request bodies ----------------------------------------------------------------------------


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object, or :class:`PartnerRequestError` (400/413)."""
    too_large = PartnerRequestError(413, f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise too_large
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large from None
    except UnreadablePostError:
        raise PartnerRequestError(400, "the request body could not be read") from None
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    if not body.strip():
        raise PartnerRequestError(400, "the request body is empty; send a JSON object")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise PartnerRequestError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise PartnerRequestError(400, "the request body must be a JSON object")
    return data


# -- the endpoint wrapper ----------------------------------------------------------------------


def partner_endpoint(
    provider: str,
    *,
    methods: tuple[str, ...],
    on_error: Callable[[PartnerRequestError], HttpResponse] | None = None,
) -> Callable[[PartnerView], Callable[..., HttpResponse]]:
    """Decorate ``view(request, connection)`` as a partner endpoint at ``.../<slug>/...``.

    The view runs in a savepoint. A refusal it *returns* keeps what the view wrote (a launch
    skip recorded for admins); a :class:`PartnerRequestError` it *raises* rolls its writes back
    and is rendered by ``on_error`` (default ``{"error": ...}``); so does an unexpected error,
    answered 503.
    """
    render = on_error or (lambda exc: json_error(exc.status, exc.message, **exc.extra))

    def decorator(view: PartnerView) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str) -> HttpResponse:
            connection = AtsConnection.objects.filter(
                slug=slug, provider=provider, active=True
            ).first()
            if connection is None:
                return json_error(404, f"no active {provider} connection at this address")
            denied = partner_authenticate(request, connection)
            if denied is not None:
                return denied
            if request.method not in methods:
                response = json_error(405, f"use {' or '.join(methods)} for this endpoint")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                with transaction.atomic():
                    return view(request, connection)
            except PartnerRequestError as exc:
                return render(exc)
            except DatabaseError:
                logger.exception("Database error in partner endpoint %s", request.path)
            except Exception:
                logger.exception("Unexpected error in partner endpoint %s", request.path)
            response = json_error(503, "temporary problem handling this request; retry later")
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response

        return wrapper

    return decorator
