"""Answer 503 with ``Retry-After`` when the database is unreachable, never a 500.

A PostgreSQL restart or failover makes every request fail for a moment, often before the view
runs (``ATOMIC_REQUESTS`` opens the transaction first). Webhook senders then retry later instead
of seeing a server error, and API clients and people get an honest "try again shortly". Only
connection-level failures (``OperationalError``, ``InterfaceError``) are turned into 503; any
other error stays a real error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from integrations.webhook_request import RETRY_AFTER_SECONDS, json_error

logger = logging.getLogger(__name__)

JSON_PREFIXES = ("/webhooks/", "/api/", "/partners/")
MESSAGE = "the service is briefly unavailable; retry later"


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("Database unavailable while answering %s: %s", request.path, exception)
        if request.path.startswith(JSON_PREFIXES):
            response: HttpResponse = json_error(503, MESSAGE)
        else:
            response = HttpResponse(
                "Screenbridge is briefly unavailable; please try again in a minute.",
                status=503,
                content_type="text/plain; charset=utf-8",
            )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
