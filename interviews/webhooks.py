"""The vendor webhook endpoint: ``POST /webhooks/vendor/<vendor-slug>/``.

It answers exactly like the ATS intake (``integrations.webhooks``) and adds one answer, 422:

- 200 ``{"status": "accepted", "event": id}`` for a new delivery (stored, processed later) and
  ``{"status": "duplicate", "event": id}`` for one already stored (a retry);
- 401 for a bad, missing or stale signature — nothing is stored;
- 400 for an authentic body that is not a JSON object with a ``type`` (or not UTF-8);
- 422 for an authentic event that cannot be applied as sent — a score outside its scale, 0 or
  more than 3 summary bullets, a bullet over 280 characters... — nothing is stored, so the vendor
  learns now rather than from a failed event it cannot see;
- 404 for an unknown or inactive vendor, or a vendor kind that receives no webhooks;
- 413 for a body over 1 MiB; 503 with ``Retry-After`` when the database cannot store it.

Never 500, never a 3xx or 410; every error body is JSON ``{"error": "..."}`` without secrets.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.connectors.base import MalformedPayloadError, SignatureError
from integrations.webhook_request import json_error, read_webhook_body, storage_unavailable
from interviews.models import Vendor
from interviews.services.vendor_events import VendorPayloadError, vendor_event_store
from interviews.vendors import registry

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def vendor_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    """Receive one status update or result from the vendor ``slug``."""
    vendor = Vendor.objects.filter(slug=slug, active=True).first()
    if vendor is None:
        return json_error(404, "no active interview vendor at this address")
    adapter = registry.adapter_for(vendor)  # the kind is constrained to adapted kinds
    if not getattr(adapter, "receives_webhooks", True):
        return json_error(404, "this vendor does not send webhooks")
    body = read_webhook_body(request)
    if isinstance(body, JsonResponse):
        return body

    try:
        delivery = adapter.verify(request.headers, body)
    except SignatureError as exc:
        logger.warning(
            "Webhook refused for vendor %s from %s: %s",
            vendor.slug,
            request.META.get("REMOTE_ADDR"),
            exc,
        )
        return json_error(401, f"webhook signature rejected: {exc}")
    except MalformedPayloadError as exc:
        return json_error(400, str(exc))
    except Exception:
        # Authenticity is unknown, so this is a refusal, never a 500.
        logger.exception("Unexpected error verifying a webhook for vendor %s", vendor.slug)
        return json_error(401, "webhook signature could not be verified")

    try:
        # check=True: a retry of a stored delivery is a duplicate whatever changed since; a new
        # one is checked (422 if it cannot be applied as sent) before it is stored.
        event, created = vendor_event_store(
            vendor=vendor, delivery=delivery, body=body, headers=request.headers, check=True
        )
    except VendorPayloadError as exc:
        logger.warning(
            "Delivery %s from vendor %s refused (422): %s", delivery.delivery_id, vendor.slug, exc
        )
        return json_error(422, str(exc))
    except MalformedPayloadError as exc:
        return json_error(400, str(exc))
    except DatabaseError:
        logger.exception(
            "Could not store delivery %s for vendor %s", delivery.delivery_id, vendor.slug
        )
        return storage_unavailable()
    if not created:
        return JsonResponse({"status": "duplicate", "event": event.pk})
    return JsonResponse({"status": "accepted", "event": event.pk})
