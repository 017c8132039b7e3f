"""Vendor webhook deliveries: check and store each once, then apply it exactly once.

Intake (the request path of ``POST /webhooks/vendor/<slug>/``, see ``interviews.webhooks``):

1. the adapter verifies the signature on the raw bytes and names the delivery;
2. a delivery already stored is answered as a duplicate (the vendor is retrying);
3. :func:`vendor_delivery_check` parses the event with the adapter and checks its result the
   way the results service will (1–3 bullets of at most 280 characters, scores 0–100, and the
   results service's own ``result_data_validate`` when it exports one), so a vendor learns
   *synchronously* (422) that its payload is bad and nothing unusable is stored;
4. :func:`vendor_event_store` inserts the :class:`VendorEvent` (unique per vendor and delivery id)
   and enqueues processing after commit.

Processing (:func:`vendor_event_process`, the ``interviews.process_vendor_event`` task):

1. **Claim** received/failed → processing with a conditional update (attempts + 1); a second run
   updates nothing and stops. While processing, ``processed_at`` holds the claim time so the
   sweeper can spot a worker that died.
2. **Parse** with the vendor's adapter; an event without facts (an unknown type) is ``ignored``.
3. **Find** each update's interview among the vendor's own interviews: by the vendor's reference,
   else by our public id. Unknown → the event ends ``failed`` with "unknown interview …" (visible
   and retryable in the admin); an interview is never created here. An interview still
   ``pending`` (the vendor answered before our invitation was recorded) puts the event back to
   ``received`` so the sweeper retries it, at most :data:`MAX_NOT_READY_ATTEMPTS` times.
4. **Apply** with ``services.results.vendor_update_apply`` in one transaction together with the
   event's final status (fenced by the attempt number). ``ResultValidationError`` and any other
   error end ``failed`` with the message; nothing escapes into the task.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations.connectors.base import Delivery, MalformedPayloadError
from integrations.connectors.signing import json_object
from integrations.db import retry_transient
from integrations.queueing import enqueue_each
from integrations.services import intake
from integrations.services.intake import (
    decode_body,
    enqueue_after_commit,
    ledger_insert,
    relevant_headers,
    storable_label,
)
from integrations.services.stage_sync import oldest_first_ids, stuck_claims_reset
from interviews import tasks
from interviews.models import Interview, InterviewStatus, Vendor, VendorEvent, VendorEventStatus
from interviews.vendors import registry
from interviews.vendors.base import ResultData, VendorUpdate

logger = logging.getLogger(__name__)

CLAIMABLE_STATUSES = (VendorEventStatus.RECEIVED, VendorEventStatus.FAILED)
RETRYABLE_BY_HAND = (VendorEventStatus.FAILED, VendorEventStatus.RECEIVED)
# A claim older than this belongs to a worker that died (task time limit is 5 minutes).
STUCK_AFTER = dt.timedelta(minutes=10)
SWEEP_AFTER = dt.timedelta(minutes=2)
SWEEP_BATCH = 1000
# An update for an interview whose invitation is not recorded yet waits this many attempts
# (one per sweep) before it is applied to the pending interview anyway.
MAX_NOT_READY_ATTEMPTS = 5
ERROR_MAX_CHARS = 500

# The result rules every vendor's result meets (issue 4 §5); the results service enforces them
# again when it stores a result.
MIN_BULLETS = 1
MAX_BULLETS = 3
MAX_BULLET_CHARS = 280

_DELIVERY_ID_LENGTH = VendorEvent._meta.get_field("delivery_id").max_length or 200
_EVENT_TYPE_LENGTH = VendorEvent._meta.get_field("event_type").max_length or 100


class VendorPayloadError(ValueError):
    """An authentic event that cannot be applied as sent (answered 422, nothing stored)."""


class UnknownInterviewError(LookupError):
    """The event names no interview of this vendor."""


class InterviewNotReadyError(Exception):
    """The interview exists but its invitation is not recorded yet (still ``pending``)."""


class _ClaimLostError(Exception):
    """The sweeper gave the event to another worker while this one was applying it."""


# -- intake ------------------------------------------------------------------------------------


def result_shape_check(data: ResultData) -> None:
    """The result rules that need no plan; raises :class:`VendorPayloadError` saying what is wrong.

    1–3 non-empty evidence bullets of at most 280 characters, scores 0–100, confidence 0–1.
    """
    bullets = data.summary_bullets
    if not MIN_BULLETS <= len(bullets) <= MAX_BULLETS:
        raise VendorPayloadError(
            f"result.summary has {len(bullets)} bullet(s); send {MIN_BULLETS} to {MAX_BULLETS} "
            "evidence bullets"
        )
    for index, bullet in enumerate(bullets, start=1):
        if not bullet.strip():
            raise VendorPayloadError(f"result.summary bullet {index} is empty")
        if len(bullet) > MAX_BULLET_CHARS:
            raise VendorPayloadError(
                f"result.summary bullet {index} has {len(bullet)} characters; "
                f"the limit is {MAX_BULLET_CHARS}"
            )
    if not 0 <= data.score <= 100:
        raise VendorPayloadError(f"result score {data.score} is outside 0–100")
    for key, score in data.competency_scores.items():
        if not 0 <= score <= 100:
            raise VendorPayloadError(f"competency {key!r} score {score} is outside 0–100")
    if data.confidence is not None and not 0 <= data.confidence <= 1:
        raise VendorPayloadError(f"result confidence {data.confidence} is outside 0–1")


def vendor_delivery_check(
    *, vendor: Vendor, event_type: str, payload: Mapping[str, Any]
) -> list[VendorUpdate]:
    """Parse an authentic event and check it can be applied; :class:`VendorPayloadError` if not.

    An event naming an interview we do not know passes (it is stored and fails visibly in
    processing, so nothing a vendor sends in good faith is lost); when the interview is known,
    its plan's rules apply too (``results.result_data_validate``, if the results service has it).
    """
    try:
        updates = registry.adapter_for(vendor).parse(event_type, dict(payload))
    except MalformedPayloadError as exc:
        raise VendorPayloadError(str(exc)) from None
    for update in updates:
        try:
            interview = interview_for_update(vendor=vendor, update=update)
        except MalformedPayloadError as exc:
            raise VendorPayloadError(str(exc)) from None
        if update.result is None:
            continue
        result_shape_check(update.result)
        validate, validation_error = _results_validation()
        if validate is None or interview is None:
            continue
        try:
            validate(update.result, plan=interview.plan)
        except validation_error as exc:
            raise VendorPayloadError(str(exc)) from None
    return updates


def vendor_event_find(*, vendor: Vendor, delivery_id: str) -> VendorEvent | None:
    """The stored event for this delivery, if the vendor sent it before."""
    return VendorEvent.objects.filter(
        vendor=vendor, delivery_id=storable_delivery_id(delivery_id)
    ).first()


@transaction.atomic
def vendor_event_store(
    *,
    vendor: Vendor,
    delivery: Delivery,
    body: bytes,
    headers: Mapping[str, str],
    check: bool = False,
) -> tuple[VendorEvent, bool]:
    """Store one authentic delivery unless it is already stored; return ``(event, created)``.

    The insert runs in a savepoint, so a duplicate (unique ``(vendor, delivery_id)``) rolls back
    only itself. Processing is enqueued after commit, for a new event only; a broker error is
    logged and the sweeper takes the event. MalformedPayloadError if the body is not UTF-8 (or,
    with ``check``, not a JSON object).

    ``check`` (the webhook): a delivery already stored is returned as a duplicate whatever
    changed since; a new one must pass :func:`vendor_delivery_check` first
    (:class:`VendorPayloadError` otherwise, and nothing is stored).
    """
    if check:
        existing = vendor_event_find(vendor=vendor, delivery_id=delivery.delivery_id)
        if existing is not None:
            return existing, False
        vendor_delivery_check(vendor=vendor, event_type=delivery.action, payload=json_object(body))
    raw_body = decode_body(body)
    delivery_id = storable_delivery_id(delivery.delivery_id)
    event, created = ledger_insert(
        VendorEvent,
        lookup={"vendor": vendor, "delivery_id": delivery_id},
        event_type=storable_label(delivery.action, max_length=_EVENT_TYPE_LENGTH),
        raw_body=raw_body,
        headers=relevant_headers(headers),
        status=VendorEventStatus.RECEIVED,
    )
    if not created:
        logger.info(
            "Duplicate delivery %s from vendor %s (event %s) ignored.",
            delivery_id,
            vendor.slug,
            event.pk,
        )
        return event, False
    enqueue_after_commit(tasks.process_vendor_event_task, event.pk, what="Vendor event")
    return event, True


def storable_delivery_id(value: str) -> str:
    """The delivery id, or a stable digest of it when it does not fit the column as text."""
    return intake.storable_delivery_id(value, max_length=_DELIVERY_ID_LENGTH)


# -- processing --------------------------------------------------------------------------------


def vendor_event_process(*, event_id: int, reload: bool = True) -> VendorEvent | None:
    """Apply one stored delivery; safe to run any number of times.

    Returns the event with its resulting status (``reload=False``: as claimed, without reading
    the outcome back; the task does not look), or ``None`` when it no longer exists (deleted
    between enqueue and run). Nothing raises: every problem ends in ``failed`` (or ``received``
    again while the interview's invitation is still being recorded).
    """
    claimed = VendorEvent.objects.filter(pk=event_id, status__in=CLAIMABLE_STATUSES).update(
        status=VendorEventStatus.PROCESSING,
        attempts=F("attempts") + 1,
        processed_at=timezone.now(),  # claim time while processing (see module docstring)
    )
    event = VendorEvent.objects.select_related("vendor").filter(pk=event_id).first()
    if event is None:
        logger.warning("vendor event %s no longer exists", event_id)
        return None
    if not claimed:
        logger.info("vendor event %s not claimed: status is %s", event_id, event.status)
        return event
    attempt = event.attempts
    still_mine = VendorEvent.objects.filter(
        pk=event_id, status=VendorEventStatus.PROCESSING, attempts=attempt
    )
    try:
        retry_transient(
            lambda: _event_apply(event, attempt=attempt), what=f"vendor event {event_id}"
        )
    except _ClaimLostError:
        logger.warning("vendor event %s was reclaimed while processing; rolled back", event_id)
    except InterviewNotReadyError as exc:
        logger.info("vendor event %s waits: %s", event_id, exc)
        still_mine.update(
            status=VendorEventStatus.RECEIVED,
            error=_clip(f"waiting (attempt {attempt}): {exc}"),
            processed_at=None,
        )
    except Exception as exc:
        error = _error_text(exc)
        logger.warning("vendor event %s failed: %s", event_id, error, exc_info=True)
        still_mine.update(status=VendorEventStatus.FAILED, error=error, processed_at=None)
    if reload:
        event.refresh_from_db()
    return event


def _event_apply(event: VendorEvent, *, attempt: int) -> None:
    vendor = event.vendor
    payload = _parse_body(event.raw_body)
    updates = registry.adapter_for(vendor).parse(event.event_type, payload)
    occurred_fallback = _event_time(event)
    targets: list[tuple[Interview, VendorUpdate]] = []
    for update in updates:
        interview = interview_for_update(vendor=vendor, update=update)
        if interview is None:
            raise UnknownInterviewError(_unknown_interview_text(vendor, update))
        if interview.status == InterviewStatus.PENDING and attempt < MAX_NOT_READY_ATTEMPTS:
            raise InterviewNotReadyError(
                f"interview {interview.public_id} is still pending: its invitation is not "
                "recorded yet"
            )
        if update.occurred_at is None:
            update = dataclasses.replace(update, occurred_at=occurred_fallback)
        targets.append((interview, update))

    with transaction.atomic():
        if targets:
            # Imported here: the results service is loaded only when there is something to apply.
            from interviews.services.results import vendor_update_apply

            for interview, update in targets:
                vendor_update_apply(interview=interview, update=update)
        status = VendorEventStatus.PROCESSED if targets else VendorEventStatus.IGNORED
        finished = VendorEvent.objects.filter(
            pk=event.pk, status=VendorEventStatus.PROCESSING, attempts=attempt
        ).update(status=status, error="", processed_at=timezone.now())
        if not finished:
            raise _ClaimLostError(event.pk)


def interview_for_update(*, vendor: Vendor, update: VendorUpdate) -> Interview | None:
    """The vendor's interview an update names: by the vendor's reference, else our public id.

    Scoped to ``vendor``: a vendor can never touch another vendor's interviews. When the update
    carries both ids they must agree (MalformedPayloadError otherwise).
    """
    interviews = Interview.objects.filter(vendor=vendor).select_related(
        "plan", "application__connection"
    )
    by_reference = (
        interviews.filter(vendor_reference=update.vendor_reference).first()
        if update.vendor_reference
        else None
    )
    by_public_id = (
        interviews.filter(public_id=update.interview_public_id).first()
        if update.interview_public_id
        else None
    )
    if by_reference is not None and by_public_id is not None and by_reference != by_public_id:
        raise MalformedPayloadError(
            "interview.id and interview.external_id name different interviews"
        )
    if (
        by_reference is None
        and by_public_id is not None
        and update.vendor_reference
        and by_public_id.vendor_reference
    ):
        # Our interview already has another reference from this vendor.
        raise MalformedPayloadError(
            f"interview.id {update.vendor_reference!r} is not the reference this vendor gave "
            f"interview {by_public_id.public_id}"
        )
    return by_reference or by_public_id


def _unknown_interview_text(vendor: Vendor, update: VendorUpdate) -> str:
    names = []
    if update.vendor_reference:
        names.append(f"reference {update.vendor_reference!r}")
    if update.interview_public_id:
        names.append(f"external_id {update.interview_public_id}")
    return f"unknown interview: vendor {vendor.slug} has no interview with {' or '.join(names)}"


def _event_time(event: VendorEvent) -> dt.datetime:
    """When the vendor sent the event (its ``webhook-timestamp``), else when we received it."""
    raw = str((event.headers or {}).get("webhook-timestamp", "")).strip()
    if raw.isdigit() and len(raw) <= 11:
        return dt.datetime.fromtimestamp(int(raw), tz=dt.UTC)
    return event.received_at


def _parse_body(raw_body: str) -> dict[str, Any]:
    try:
        payload = json.loads(raw_body)
    except ValueError as exc:
        raise MalformedPayloadError(f"body is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise MalformedPayloadError("body is not a JSON object")
    return payload


def _error_text(exc: BaseException) -> str:
    """One bounded line: the message alone for the expected failures, else ``Type: message``."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    expected = isinstance(exc, UnknownInterviewError) or type(exc).__name__ in {
        "ResultValidationError",
        "MalformedPayloadError",
    }
    if expected and message:
        return _clip(message)
    return _clip(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_MAX_CHARS else f"{text[: ERROR_MAX_CHARS - 1]}…"


def _results_validation() -> tuple[Callable[..., None] | None, type[Exception]]:
    """``results.result_data_validate`` and its error, when the results service exports them."""
    try:
        from interviews.services import results
    except ImportError:
        return None, VendorPayloadError
    validate = getattr(results, "result_data_validate", None)
    error = getattr(results, "ResultValidationError", VendorPayloadError)
    return validate, error


# -- sweeper and retries -----------------------------------------------------------------------


def vendor_events_sweep(*, older_than: dt.timedelta = SWEEP_AFTER) -> int:
    """Enqueue deliveries stored but not processed; returns how many were enqueued.

    - ``received`` for longer than ``older_than``: the enqueue on commit was lost (broker down);
    - ``received`` after an earlier attempt: it waits for an invitation to be recorded;
    - ``processing`` for longer than :data:`STUCK_AFTER`: the worker died; such claims are reset
      to ``received`` first (conditional update), then enqueued like the others.
    """
    now = timezone.now()
    stuck_ids = stuck_claims_reset(
        VendorEvent,
        processing=VendorEventStatus.PROCESSING,
        received=VendorEventStatus.RECEIVED,
        cutoff=now - STUCK_AFTER,
        batch=SWEEP_BATCH,
        what="vendor event",
    )
    # Events tried before (put back to wait for an invitation, or reset above) are due at once.
    due = oldest_first_ids(
        VendorEvent.objects.filter(
            Q(received_at__lt=now - older_than) | Q(attempts__gte=1) | Q(pk__in=stuck_ids),
            status=VendorEventStatus.RECEIVED,
        ),
        batch=SWEEP_BATCH,
    )
    return enqueue_each(tasks.process_vendor_event_task, due, what="unprocessed vendor event")


def vendor_events_retry(*, event_ids: Iterable[int]) -> list[int]:
    """Queue failed (or waiting) events for processing again (admin); return the ids queued.

    One conditional update per event: an event a worker picked up meanwhile is left to it.
    Processing is enqueued after the caller's transaction commits.
    """
    queued = [
        event_id
        for event_id in event_ids
        if VendorEvent.objects.filter(pk=event_id, status__in=RETRYABLE_BY_HAND).update(
            status=VendorEventStatus.RECEIVED, error="", processed_at=None
        )
    ]
    for event_id in queued:
        enqueue_after_commit(tasks.process_vendor_event_task, event_id, what="Vendor event")
    return queued
