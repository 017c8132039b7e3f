"""The HTTP side every inbound webhook endpoint shares (ATS intake and interview vendors).

- :func:`json_error`: every error body is JSON ``{"error": "..."}`` (never a secret);
- :func:`read_webhook_body`: the raw body, at most :data:`MAX_BODY_BYTES` (WH-8), or the
  response refusing it (413 too large, 400 unreadable) — never a 500;
- :func:`storage_unavailable`: 503 with ``Retry-After`` when the database cannot store a
  delivery, so the sender retries.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse, UnreadablePostError

MAX_BODY_BYTES = 1_048_576  # 1 MiB (WH-8); senders send a few kB
RETRY_AFTER_SECONDS = 60


def json_error(status: int, message: str) -> JsonResponse:
    """An error answer: ``{"error": message}`` with ``status``."""
    return JsonResponse({"error": message}, status=status)


def storage_unavailable() -> JsonResponse:
    """503 with ``Retry-After``: the delivery could not be stored now."""
    response = json_error(503, "the delivery could not be stored now; retry later")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def read_webhook_body(request: HttpRequest) -> bytes | JsonResponse:
    """The raw request body, or the error response refusing it (413 or 400).

    The declared ``Content-Length`` is checked before reading, and the body read is checked
    again (no or an understated ``Content-Length``).
    """
    too_large = f"body is larger than {MAX_BODY_BYTES} bytes"
    if _declared_length(request) > MAX_BODY_BYTES:
        return json_error(413, too_large)
    try:
        body = request.body
    except RequestDataTooBig:
        return json_error(413, too_large)
    except UnreadablePostError:
        return json_error(400, "the request body could not be read")
    if len(body) > MAX_BODY_BYTES:
        return json_error(413, too_large)
    return body


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        return 0
