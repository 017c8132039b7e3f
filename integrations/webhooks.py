"""The inbound ATS webhook endpoint: ``POST /webhooks/ats/<connection-slug>/``.

Verify on the raw bytes, store, answer; processing happens later (see services.intake).
Status codes (WH-6): 200 for an accepted delivery, a duplicate and a ping (Greenhouse treats
anything but 200 as a failure); 401 for a bad or missing signature, counted per connection as a
SignatureFailure with nothing else stored; 400 for an authentic but malformed body; 404 for an
unknown or inactive connection; 413 for a body over 1 MiB; 503 when the database cannot store
the delivery (the ATS retries). Never 500, never a 3xx or 410, and every error body is JSON
``{"error": "..."}`` that never echoes a secret.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import registry
from integrations.connectors.base import MalformedPayloadError, SignatureError
from integrations.models import AtsConnection
from integrations.services.intake import inbound_event_store, signature_failure_record
from integrations.webhook_request import json_error, read_webhook_body, storage_unavailable

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def ats_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    """Receive one webhook delivery for the ATS connection ``slug``."""
    connection = AtsConnection.objects.filter(slug=slug, active=True).first()
    if connection is None:
        return json_error(404, "no active ATS connection at this address")
    body = read_webhook_body(request)
    if isinstance(body, JsonResponse):
        return body

    remote_addr = request.META.get("REMOTE_ADDR")
    try:
        verify = registry.webhook_module(connection.provider).verify
        delivery = verify(connection, request.headers, body)
    except SignatureError as exc:
        # A returned response commits (ATOMIC_REQUESTS), so the failure is counted.
        signature_failure_record(connection=connection, reason=str(exc), remote_addr=remote_addr)
        return json_error(401, f"webhook signature rejected: {exc}")
    except MalformedPayloadError as exc:
        return json_error(400, str(exc))
    except Exception:
        # Authenticity is unknown, so this is a refusal, never a 500.
        logger.exception("Unexpected error verifying a webhook for connection %s", connection.slug)
        signature_failure_record(
            connection=connection,
            reason="verification failed with an unexpected error",
            remote_addr=remote_addr,
        )
        return json_error(401, "webhook signature could not be verified")

    if delivery.is_ping:
        return JsonResponse({"status": "pong"})

    try:
        event, created = inbound_event_store(
            connection=connection, delivery=delivery, body=body, headers=request.headers
        )
    except MalformedPayloadError as exc:
        return json_error(400, str(exc))
    except DatabaseError:
        logger.exception(
            "Could not store delivery %s for connection %s", delivery.delivery_id, connection.slug
        )
        return storage_unavailable()
    if not created:
        return JsonResponse({"status": "duplicate", "event": event.pk})
    return JsonResponse({"status": "accepted", "event": event.pk})
