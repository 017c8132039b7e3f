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
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from django.db import DatabaseError, connections, router, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import registry
from integrations.connectors.base import MalformedPayloadError, SignatureError
from integrations.models import AtsConnection, InboundEvent
from integrations.services.intake import (
    Guard,
    GuardFailedError,
    inbound_event_store,
    signature_failure_record,
)
from integrations.webhook_request import json_error, read_webhook_body, storage_unavailable

logger = logging.getLogger(__name__)


# slug → the active connection as last read, per process. Only the write path trusts it, and
# only through the insert's guard (see _unchanged): the delivery is stored only if the row still
# has the slug, provider, active flag, secrets and updated_at the signature was checked with, in
# the same statement. Any other outcome (a refusal, a ping, a changed row) is decided again on a
# fresh read, so a rotated secret or a deactivated connection takes effect at once.
_connections: dict[str, tuple[AtsConnection, Guard]] = {}
_GUARDED_FIELDS = (
    "slug",
    "provider",
    "active",
    "webhook_secret_env",
    "webhook_secret_encrypted",
    "api_key_env",
    "api_key_encrypted",
    "updated_at",
)


class _DecideAfresh(Exception):
    """The cached connection cannot decide this delivery: read the connection again."""


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def ats_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    """Receive one webhook delivery for the ATS connection ``slug``.

    Not wrapped in a request transaction: the delivery is one ``INSERT`` (or one refusal row),
    atomic by itself, so a new delivery costs a single database round trip when the connection
    is cached (see ``_connections``), and processing is enqueued once that statement committed.
    """
    cached = _connections.get(slug)
    if cached is not None:
        body = read_webhook_body(request)
        if isinstance(body, JsonResponse):
            return body
        try:
            with _without_health_check() as lost:
                return _receive(request, *cached, body, lost=lost)
        except _DecideAfresh:
            _connections.pop(slug, None)
    connection = AtsConnection.objects.filter(slug=slug, active=True).first()
    if connection is None:
        return json_error(404, "no active ATS connection at this address")
    body = read_webhook_body(request)  # read once; Django keeps it
    if isinstance(body, JsonResponse):
        return body
    response = _receive(request, connection, None, body)
    if response.status_code == 200:
        _connections[slug] = (connection, _unchanged(connection))
    return response


def _unchanged(connection: AtsConnection) -> Guard:
    """The connection's row still matches ``connection`` in every field that matters."""
    return Guard.exists(
        AtsConnection.objects.filter(
            pk=connection.pk, **{name: getattr(connection, name) for name in _GUARDED_FIELDS}
        )
    )


class _Lost:
    """Set by :func:`_without_health_check`: whether the reused database connection was lost."""

    def __init__(self, trusted: bool) -> None:
        self.trusted = trusted

    def reconnect(self) -> bool:
        """After a database error: if the skipped health check would have caught it (the
        connection is gone), close it so the next statement opens a new one; True then."""
        if not self.trusted:
            return False
        self.trusted = False
        db = connections[router.db_for_write(InboundEvent)]
        if db.is_usable():
            return False
        db.close()
        return True


@contextmanager
def _without_health_check() -> Iterator[_Lost]:
    """Skip Django's per-request health check (``SELECT 1`` before the first query on a reused
    connection, a round trip) for the cached path's single INSERT.

    The INSERT is its own check: if it fails because the connection was lost (a PostgreSQL
    restart), the store is repeated once on a new connection (``_Lost.reconnect``), which is
    what the health check would have led to. A store repeated so cannot tell whether the lost
    attempt committed, so a "duplicate" it finds is enqueued again (tasks are idempotent).
    """
    db = connections[router.db_for_write(InboundEvent)]
    trusted = db.connection is not None and not db.health_check_done and not db.in_atomic_block
    if trusted:
        db.health_check_done = True
    try:
        yield _Lost(trusted)
    except _DecideAfresh:
        if trusted:
            db.health_check_done = False  # the fresh path reads first: checked as usual
        raise


def _receive(
    request: HttpRequest,
    connection: AtsConnection,
    guard: Guard | None,
    body: bytes,
    *,
    lost: _Lost | None = None,
) -> JsonResponse:
    """Verify, store and answer one delivery; with a ``guard`` (a cached connection) anything
    but a stored or duplicate delivery raises _DecideAfresh instead of answering. ``lost``: see
    :func:`_without_health_check`."""
    remote_addr = request.META.get("REMOTE_ADDR")
    try:
        verify = registry.webhook_module(connection.provider).verify
        delivery = verify(connection, request.headers, body)
    except SignatureError as exc:
        if guard is not None:
            raise _DecideAfresh from exc
        # Stored in its own transaction (autocommit request), so the failure is counted.
        signature_failure_record(connection=connection, reason=str(exc), remote_addr=remote_addr)
        return json_error(401, f"webhook signature rejected: {exc}")
    except MalformedPayloadError as exc:
        if guard is not None:
            raise _DecideAfresh from exc
        return json_error(400, str(exc))
    except Exception as exc:
        if guard is not None:
            raise _DecideAfresh from exc
        # Authenticity is unknown, so this is a refusal, never a 500.
        logger.exception("Unexpected error verifying a webhook for connection %s", connection.slug)
        signature_failure_record(
            connection=connection,
            reason="verification failed with an unexpected error",
            remote_addr=remote_addr,
        )
        return json_error(401, "webhook signature could not be verified")

    if delivery.is_ping:
        if guard is not None:
            raise _DecideAfresh
        return JsonResponse({"status": "pong"})

    store = partial(
        inbound_event_store,
        connection=connection,
        delivery=delivery,
        body=body,
        headers=request.headers,
        guard=guard,
    )
    try:
        try:
            event, created = store()
        except DatabaseError:
            if lost is None or not lost.reconnect():
                raise
            logger.info("Database connection lost; storing delivery %s again", delivery.delivery_id)
            event, created = store(enqueue_duplicate=True)
    except (GuardFailedError, MalformedPayloadError) as exc:
        if guard is not None:
            raise _DecideAfresh from exc
        return json_error(400, str(exc))
    except DatabaseError:
        logger.exception(
            "Could not store delivery %s for connection %s", delivery.delivery_id, connection.slug
        )
        return storage_unavailable()
    if not created:
        return JsonResponse({"status": "duplicate", "event": event.pk})
    return JsonResponse({"status": "accepted", "event": event.pk})
