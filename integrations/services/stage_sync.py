"""Inbound stage sync: stored webhook deliveries become application state, each exactly once.

One delivery (:func:`inbound_event_process`):

1. **Claim** the event with a conditional update (received/failed → processing, attempts + 1).
   A second run — a duplicate task, a redelivery after a worker died — updates 0 rows and stops.
   While an event is ``processing``, ``processed_at`` holds the claim time (the model has no
   separate column for it); the sweeper uses it to spot claims whose worker died.
2. **Normalize** the raw body with the provider's ``mapping.normalize`` into
   :class:`~integrations.connectors.base.StageChange` facts (none: the event is ``ignored``).
3. **Apply** each fact with :func:`stage_change_apply` in one transaction together with the
   event's final status, so a crash leaves nothing half-written. The final update is fenced by
   the attempt number: if the sweeper handed the event to another worker meanwhile, this run
   rolls back and the other one wins.
4. Any error leaves the event ``failed`` with ``"<ExceptionType>: <message>"`` (one line,
   truncated) and never escapes: retry from the admin or ``manage.py replay_events``.

Rules of :func:`stage_change_apply`:

- Identity is ``(connection, remote_id)`` for candidates, requisitions and applications, never
  an e-mail address. The application is the anchor: when an event names another candidate for
  it (Ashby and Greenhouse merges) the application is re-pointed to that candidate.
- Ordering key: the change's provider timestamp, else the event's ``occurred_at``, else its
  ``received_at`` (Greenhouse: receipt order). A change older than ``last_event_at`` leaves the
  application alone and the event ends ``stale``; an equal key is a repeat and re-applies as a
  no-op.
- Canonical stage: an ``outcome`` (rejected / hired / withdrawn) wins; else a mapping by remote
  stage id, else by normalized name; else ``unmapped`` — the remote stage is kept, the
  :class:`UnmappedStage` row counts it, and nothing is published, so nothing is launched.
- ``application_stage_changed`` is sent after commit, only when the canonical stage changed
  (to something other than ``unmapped``): a duplicate or a repeat publishes nothing.

Mapping an unmapped stage (:func:`unmapped_stage_map`, used by the admin) re-maps the
applications sitting in it **without** publishing unless the operator explicitly asks for it:
see that function for why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, cast

from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from integrations import registry, selectors, tasks
from integrations.connectors.base import (
    AtsClient,
    CandidateData,
    MalformedPayloadError,
    RequisitionData,
    StageChange,
)
from integrations.connectors.payload import REQUISITION_PLACEHOLDER
from integrations.db import retry_transient
from integrations.models import (
    STAGE_ORDER,
    Application,
    ApplicationStageChange,
    AtsConnection,
    Candidate,
    CanonicalStage,
    InboundEvent,
    InboundEventStatus,
    Requisition,
    StageMapping,
    UnmappedStage,
    normalize_stage_name,
)
from integrations.queueing import enqueue_each
from integrations.services import erasure
from integrations.signals import application_stage_changed, candidate_erasure_requested

logger = logging.getLogger(__name__)

CLAIMABLE_STATUSES = (InboundEventStatus.RECEIVED, InboundEventStatus.FAILED)
# A claim older than this belongs to a worker that died (task time limit is 5 minutes).
STUCK_AFTER = dt.timedelta(minutes=10)
SWEEP_BATCH = 1000
ERROR_MAX_CHARS = 500
OUTCOMES = frozenset({CanonicalStage.REJECTED, CanonicalStage.HIRED, CanonicalStage.WITHDRAWN})


class ClaimLostError(Exception):
    """The sweeper gave this event to another worker while this one was still applying it."""


@dataclasses.dataclass(frozen=True)
class StageChangeResult:
    """What :func:`stage_change_apply` did with one change."""

    application: Application
    # False: the change was older than the state already applied (the event is stale).
    applied: bool
    # Canonical stage before the change; None when the change created the application.
    old_stage: str | None
    new_stage: str

    @property
    def stage_changed(self) -> bool:
        return self.applied and self.old_stage != self.new_stage


# -- processing one delivery -------------------------------------------------------------------


def inbound_event_process(*, event_id: int, reload: bool = True) -> InboundEvent:
    """Normalize and apply one stored delivery; safe to run any number of times.

    Returns the event with its resulting status (``reload=False``: as claimed, without reading
    the outcome back; the task does not look). Raises ``InboundEvent.DoesNotExist`` only for an
    id that does not exist; every other problem ends in status ``failed``.
    """
    claimed = InboundEvent.objects.filter(pk=event_id, status__in=CLAIMABLE_STATUSES).update(
        status=InboundEventStatus.PROCESSING,
        attempts=F("attempts") + 1,
        processed_at=timezone.now(),  # claim time while processing (see module docstring)
    )
    event = InboundEvent.objects.select_related("connection").get(pk=event_id)
    if not claimed:
        logger.info("inbound event %s not claimed: status is %s", event_id, event.status)
        return event
    attempt = event.attempts
    try:
        retry_transient(
            lambda: _event_apply(event, attempt=attempt), what=f"inbound event {event_id}"
        )
    except ClaimLostError:
        logger.warning("inbound event %s was reclaimed while processing; rolled back", event_id)
    except Exception as exc:
        error = _error_text(exc)
        logger.warning("inbound event %s failed: %s", event_id, error, exc_info=True)
        InboundEvent.objects.filter(
            pk=event_id, status=InboundEventStatus.PROCESSING, attempts=attempt
        ).update(status=InboundEventStatus.FAILED, error=error, processed_at=None)
    if reload:
        event.refresh_from_db()
    return event


def _event_apply(event: InboundEvent, *, attempt: int) -> None:
    connection = event.connection
    payload = _parse_body(event.raw_body)
    if erasure.is_erasure_action(connection.provider, event.action):
        _erasure_apply(event, payload, attempt=attempt)
        return
    mapping = registry.mapping_module(connection.provider)
    # Outside the transaction: normalize may call the ATS (Lever stage names).
    changes: list[StageChange] = mapping.normalize(
        connection, event.action, payload, client=cast(AtsClient, _DeferredClient(connection))
    )
    with transaction.atomic():
        if not changes:
            status = InboundEventStatus.IGNORED
        else:
            results = [
                stage_change_apply(connection=connection, change=change, event=event)
                for change in changes
            ]
            applied = any(result.applied for result in results)
            status = InboundEventStatus.PROCESSED if applied else InboundEventStatus.STALE
        finished = InboundEvent.objects.filter(
            pk=event.pk, status=InboundEventStatus.PROCESSING, attempts=attempt
        ).update(status=status, error="", processed_at=timezone.now())
        if not finished:
            raise ClaimLostError(event.pk)


def _erasure_apply(event: InboundEvent, payload: dict[str, Any], *, attempt: int) -> None:
    """A deletion/anonymization webhook: publish it after commit for governance to act on."""
    connection = event.connection
    candidate_ids = erasure.erasure_candidate_ids(connection.provider, payload)
    with transaction.atomic():
        status = InboundEventStatus.PROCESSED if candidate_ids else InboundEventStatus.IGNORED
        finished = InboundEvent.objects.filter(
            pk=event.pk, status=InboundEventStatus.PROCESSING, attempts=attempt
        ).update(status=status, error="", processed_at=timezone.now())
        if not finished:
            raise ClaimLostError(event.pk)
        if candidate_ids:
            transaction.on_commit(
                partial(
                    candidate_erasure_requested.send,
                    sender=InboundEvent,
                    connection=connection,
                    candidate_remote_ids=candidate_ids,
                    action=event.action,
                    event=event,
                )
            )


def _parse_body(raw_body: str) -> dict[str, Any]:
    try:
        payload = json.loads(raw_body)
    except ValueError as exc:
        raise MalformedPayloadError(f"body is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise MalformedPayloadError("body is not a JSON object")
    return payload


def _error_text(exc: BaseException) -> str:
    """``Type: message``, first line only and bounded: enough to act on, no tracebacks."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= ERROR_MAX_CHARS else f"{text[: ERROR_MAX_CHARS - 1]}…"


class _DeferredClient:
    """The connection's outbound client, built only when normalize first uses it (Lever reads
    the opportunity back), so providers that need no API call never load or configure one.
    Every attribute is forwarded to the real client."""

    def __init__(self, connection: AtsConnection) -> None:
        self.connection = connection
        self._client: AtsClient | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = registry.client_for(self.connection)
        return getattr(self._client, name)


# -- applying one stage change -----------------------------------------------------------------


def stage_change_apply(
    *, connection: AtsConnection, change: StageChange, event: InboundEvent | None = None
) -> StageChangeResult:
    """Apply one canonical stage change to the mirror (inbound webhooks and reconcile).

    Contract for callers such as reconcile (``event=None``):

    - ``change.occurred_at`` orders the change against what was applied before; without it the
      event's time is used, and for a reconcile repair without one, *now* (the API state is
      current as of the read).
    - Empty strings mean "unknown": candidate and requisition fields are only overwritten by
      non-empty values, and ``requisition.status=""`` keeps the stored status. A change with
      no remote stage keeps the application's (a Lever archive event).
    - ``extra[REQUISITION_PLACEHOLDER]`` marks a stand-in requisition: used for a new
      application, never to re-point an existing one.

    Runs in its own transaction (a savepoint inside the caller's) and publishes
    ``application_stage_changed`` after the outermost commit when the canonical stage changed.
    """
    if not change.application_remote_id or not change.candidate.remote_id:
        raise MalformedPayloadError("a stage change needs application and candidate ids")
    if not change.requisition.remote_id:
        raise MalformedPayloadError("a stage change needs a requisition id")
    if change.outcome and change.outcome not in OUTCOMES:
        raise MalformedPayloadError(f"unknown outcome {change.outcome!r}")
    key = _ordering_key(change, event)
    # The outer block needs no savepoint of its own: the inner one keeps a lost insert race
    # retryable, and any other error leaves through the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        try:
            with transaction.atomic():
                return _apply(connection, change, event, key)
        except IntegrityError:
            # Another worker created the same application or record at the same moment; its
            # row is committed now, so a second pass updates it instead of inserting.
            logger.info("retrying stage change for application %s", change.application_remote_id)
            return _apply(connection, change, event, key)


def _ordering_key(change: StageChange, event: InboundEvent | None) -> dt.datetime:
    if change.occurred_at is not None:
        return change.occurred_at
    if event is not None:
        return event.occurred_at or event.received_at
    return timezone.now()


def _apply(
    connection: AtsConnection, change: StageChange, event: InboundEvent | None, key: dt.datetime
) -> StageChangeResult:
    # The row lock serializes events for one application across workers.
    application = (
        Application.objects.select_for_update()
        .filter(connection=connection, remote_id=change.application_remote_id)
        .first()
    )
    if application is not None and application.last_event_at and key < application.last_event_at:
        stage = application.canonical_stage
        return StageChangeResult(application, applied=False, old_stage=stage, new_stage=stage)

    candidate = _candidate_upsert(connection, change.candidate, key)
    if change.remote_stage_id or change.remote_stage_name:
        stage_id = _clip(Application, "remote_stage_id", change.remote_stage_id)
        stage_name = _clip(Application, "remote_stage_name", change.remote_stage_name)
    elif application is not None:
        stage_id, stage_name = application.remote_stage_id, application.remote_stage_name
    else:
        stage_id, stage_name = "", ""
    canonical = change.outcome or selectors.canonical_stage_for(
        connection=connection, remote_stage_id=stage_id, remote_stage_name=stage_name
    )

    if application is None:
        application = Application.objects.create(
            connection=connection,
            remote_id=change.application_remote_id,
            candidate=candidate,
            requisition=_requisition_upsert(connection, change.requisition),
            remote_stage_id=stage_id,
            remote_stage_name=stage_name,
            canonical_stage=canonical,
            stage_entered_at=key,
            last_event_at=key,
            applied_at=change.applied_at,
        )
        old: str | None = None
    else:
        old = application.canonical_stage
        # A stand-in requisition (Lever) never replaces the one an application already has.
        placeholder = bool(change.extra.get(REQUISITION_PLACEHOLDER))
        _application_update(
            application,
            candidate=candidate,
            requisition=None
            if placeholder
            else _requisition_upsert(connection, change.requisition),
            stage_id=stage_id,
            stage_name=stage_name,
            canonical=canonical,
            applied_at=change.applied_at,
            key=key,
        )

    if canonical == CanonicalStage.UNMAPPED and (stage_id or stage_name):
        _unmapped_stage_record(connection, stage_id, stage_name)
    result = StageChangeResult(application, applied=True, old_stage=old, new_stage=canonical)
    if result.stage_changed and canonical != CanonicalStage.UNMAPPED:
        stage_history_record(application=application, old=old, new=canonical, at=key)
        _publish_on_commit(application, old=old, new=canonical, event=event)
    return result


def stage_history_record(
    *, application: Application, old: str | None, new: str, at: dt.datetime
) -> ApplicationStageChange:
    """Append one canonical stage change to the history and raise the furthest rank reached.

    Called in the transaction that applies the change; the history feeds the metrics'
    pass-through (how far candidates of each band got).
    """
    change = ApplicationStageChange.objects.create(
        application=application, from_stage=old or "", to_stage=new, changed_at=at
    )
    rank = STAGE_ORDER.get(new)
    if rank is not None:
        Application.objects.filter(pk=application.pk).filter(
            Q(furthest_stage_rank__isnull=True) | Q(furthest_stage_rank__lt=rank)
        ).update(furthest_stage_rank=rank)
    return change


def _application_update(
    application: Application,
    *,
    candidate: Candidate,
    requisition: Requisition | None,
    stage_id: str,
    stage_name: str,
    canonical: str,
    applied_at: dt.datetime | None,
    key: dt.datetime,
) -> None:
    moved = canonical != application.canonical_stage or _stage_identity(
        stage_id, stage_name
    ) != _stage_identity(application.remote_stage_id, application.remote_stage_name)
    changed = ["last_event_at", "updated_at"]
    application.last_event_at = key
    if moved:
        application.stage_entered_at = key
        changed.append("stage_entered_at")
    updates: dict[str, Any] = {
        "remote_stage_id": stage_id,
        "remote_stage_name": stage_name,
        "canonical_stage": canonical,
        # The application is the anchor: a merged candidate or a moved job is followed.
        "candidate_id": candidate.pk,
    }
    if requisition is not None:
        updates["requisition_id"] = requisition.pk
    if applied_at is not None:
        updates["applied_at"] = applied_at
    for field, value in updates.items():
        if getattr(application, field) != value:
            setattr(application, field, value)
            changed.append(field)
    application.save(update_fields=changed)


def _stage_identity(stage_id: str, stage_name: str) -> str:
    """A remote stage is its id; without one, its normalized name (a rename is not a move)."""
    return stage_id or normalize_stage_name(stage_name)


def _candidate_upsert(
    connection: AtsConnection, data: CandidateData, key: dt.datetime
) -> Candidate:
    """By ``(connection, remote_id)`` only: two people sharing an e-mail stay two candidates."""
    fields = {
        name: _clip(Candidate, name, getattr(data, name))
        for name in ("first_name", "last_name", "email")
    }
    candidate, created = Candidate.objects.get_or_create(
        connection=connection,
        remote_id=_clip(Candidate, "remote_id", data.remote_id),
        defaults={**fields, "remote_updated_at": key},
    )
    if created:
        return candidate
    # A candidate is shared by applications: an older fact never overwrites a newer one.
    if candidate.remote_updated_at is not None and key < candidate.remote_updated_at:
        return candidate
    changed = ["remote_updated_at", "updated_at"]
    candidate.remote_updated_at = key
    for name, value in fields.items():
        if value and getattr(candidate, name) != value:
            setattr(candidate, name, value)
            changed.append(name)
    candidate.save(update_fields=changed)
    return candidate


def _requisition_upsert(connection: AtsConnection, data: RequisitionData) -> Requisition:
    remote_id = _clip(Requisition, "remote_id", data.remote_id)
    fields = {
        name: _clip(Requisition, name, getattr(data, name))
        for name in ("title", "department", "location", "status")
    }
    requisition, created = Requisition.objects.get_or_create(
        connection=connection,
        remote_id=remote_id,
        defaults={
            **fields,
            "title": fields["title"] or f"Job {remote_id}",
            "status": fields["status"] or "open",
        },
    )
    if created:
        return requisition
    changed = [
        name for name, value in fields.items() if value and getattr(requisition, name) != value
    ]
    if changed:
        for name in changed:
            setattr(requisition, name, fields[name])
        requisition.save(update_fields=[*changed, "updated_at"])
    return requisition


def _unmapped_stage_record(connection: AtsConnection, stage_id: str, stage_name: str) -> None:
    """Count one more sighting of a stage no mapping covers (shown to admins, never guessed)."""
    stage, _ = UnmappedStage.objects.get_or_create(
        connection=connection, remote_stage_id=stage_id, remote_stage_name=stage_name
    )
    # F(): concurrent workers each add their sighting. A stage whose mapping was deleted
    # shows up again as unresolved.
    UnmappedStage.objects.filter(pk=stage.pk).update(
        seen_count=F("seen_count") + 1, last_seen_at=timezone.now(), resolved_at=None
    )


def _clip(model: type[models.Model], field: str, value: str) -> str:
    """Fit an ATS string into its column rather than failing the whole event on a long title."""
    max_length = model._meta.get_field(field).max_length
    value = (value or "").strip()
    return value[:max_length] if max_length else value


def _publish_on_commit(
    application: Application, *, old: str | None, new: str, event: InboundEvent | None
) -> None:
    transaction.on_commit(partial(_publish, application, old=old, new=new, event=event))


def _publish(
    application: Application, *, old: str | None, new: str, event: InboundEvent | None
) -> None:
    # send_robust: the state is committed; one failing subscriber must not hide it from others
    # or turn a processed event into a failed one. Subscribers own their own retries.
    responses = application_stage_changed.send_robust(
        sender=Application, application=application, old=old, new=new, event=event
    )
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error(
                "application_stage_changed receiver %r failed for application %s",
                receiver,
                application.pk,
                exc_info=response,
            )


# -- sweeper and replay ------------------------------------------------------------------------


def inbound_events_sweep(*, older_than: dt.timedelta = dt.timedelta(minutes=2)) -> int:
    """Enqueue deliveries that were stored but never processed; returns how many were enqueued.

    - ``received`` for longer than ``older_than``: the enqueue on commit was lost (broker down).
    - ``processing`` for longer than :data:`STUCK_AFTER`: the worker died; such claims are
      reset to ``received`` first (conditional update), then enqueued like the others.

    Meant for Celery beat (autocommit): the resets are committed before tasks are enqueued.
    """
    now = timezone.now()
    stuck_claims_reset(
        InboundEvent,
        processing=InboundEventStatus.PROCESSING,
        received=InboundEventStatus.RECEIVED,
        cutoff=now - STUCK_AFTER,
        batch=SWEEP_BATCH,
        what="inbound event",
    )
    due = oldest_first_ids(
        InboundEvent.objects.filter(
            status=InboundEventStatus.RECEIVED, received_at__lt=now - older_than
        ),
        batch=SWEEP_BATCH,
    )
    return enqueue_each(tasks.process_inbound_event_task, due, what="unprocessed inbound event")


def stuck_claims_reset(
    model: type[models.Model],
    *,
    processing: str,
    received: str,
    cutoff: dt.datetime,
    batch: int,
    what: str,
) -> list[int]:
    """Put claims whose worker died back to ``received``; return the ids found stuck.

    Shared by the sweepers of every claimed ledger (``status``, ``received_at`` and
    ``processed_at``, the claim time while ``processing``): a row ``processing`` since before
    ``cutoff`` (or with no claim time and received before it) is reset by a conditional update,
    so a claim a worker finishes meanwhile is left alone. At most ``batch`` rows.
    """
    stuck = Q(status=processing) & (
        Q(processed_at__lt=cutoff) | Q(processed_at__isnull=True, received_at__lt=cutoff)
    )
    rows = model._default_manager.filter(stuck)
    stuck_ids = list(rows.values_list("pk", flat=True)[:batch])
    if stuck_ids:
        reset = rows.filter(pk__in=stuck_ids).update(status=received, processed_at=None)
        logger.warning("reset %s %s(s) stuck in processing", reset, what)
    return stuck_ids


def oldest_first_ids(rows: models.QuerySet[Any], *, batch: int) -> list[int]:
    """The ids of ``rows`` in arrival order (``received_at``, then id), at most ``batch``."""
    return list(rows.order_by("received_at", "pk").values_list("pk", flat=True)[:batch])


def inbound_event_replay(
    *,
    event_ids: Iterable[int] | None = None,
    status: str | None = InboundEventStatus.FAILED,
    connection: AtsConnection | None = None,
    progress: Callable[[int, int, InboundEvent], None] | None = None,
) -> int:
    """Reset events to ``received`` and process them here, in arrival order.

    By default every failed event (optionally of one connection); ``event_ids`` with
    ``status=None`` replays exactly those events whatever their status (never one being
    processed). ``progress(n, total, event)`` is called after each. Returns how many were
    processed.
    """
    events = list(
        selectors.inbound_events_for_replay(
            event_ids=event_ids, status=status, connection=connection
        ).values_list("pk", "status")
    )
    total = len(events)
    for index, (event_id, old_status) in enumerate(events, start=1):
        # Conditional: an event a worker picked up since the list was read is left to it.
        InboundEvent.objects.filter(pk=event_id, status=old_status).exclude(
            status=InboundEventStatus.PROCESSING
        ).update(status=InboundEventStatus.RECEIVED, error="", processed_at=None)
        try:
            event = inbound_event_process(event_id=event_id)
        except InboundEvent.DoesNotExist:
            continue
        if progress is not None:
            progress(index, total, event)
    return total


RETRYABLE_BY_HAND = (InboundEventStatus.FAILED, InboundEventStatus.STALE)


def inbound_events_retry(*, event_ids: Iterable[int]) -> list[int]:
    """Queue failed or stale events for processing again (admin); return the ids queued.

    One conditional update per event: an event a worker picked up meanwhile is left to it.
    Processing is enqueued after the caller's transaction commits.
    """
    queued = [
        event_id
        for event_id in event_ids
        if InboundEvent.objects.filter(pk=event_id, status__in=RETRYABLE_BY_HAND).update(
            status=InboundEventStatus.RECEIVED, error="", processed_at=None
        )
    ]
    inbound_events_enqueue(event_ids=queued)
    return queued


def inbound_events_enqueue(*, event_ids: Iterable[int]) -> None:
    """Enqueue processing after the current transaction commits (admin retries).

    A broker error is logged and left to the sweeper: the events are ``received``.
    """
    for event_id in event_ids:
        transaction.on_commit(partial(_enqueue_quietly, event_id))


def _enqueue_quietly(event_id: int) -> None:
    try:
        tasks.process_inbound_event_task.delay(event_id)
    except Exception:
        logger.warning(
            "could not enqueue inbound event %s; the sweeper will", event_id, exc_info=True
        )


# -- mapping an unmapped stage -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StageMapResult:
    mapping: StageMapping
    mapping_created: bool
    remapped: int
    resolved: int
    published: int


class StageMapConflictError(ValueError):
    """The stage is already mapped to a different canonical stage."""


def unmapped_stage_map(
    *,
    unmapped_stage: UnmappedStage,
    canonical_stage: str,
    by_name: bool,
    publish: bool = False,
) -> StageMapResult:
    """Map an unmapped remote stage and re-map the applications sitting in it.

    ``by_name`` creates a name mapping, which covers that stage on every job (Greenhouse and
    Ashby stage ids are per job); otherwise the mapping pins the stage id.

    Publishing is **off by default**. Mapping a stage that 40 candidates already sit in is a
    configuration change, not 40 candidates moving: sending ``application_stage_changed`` for
    each would launch 40 interviews nobody asked for at that moment (some candidates may have
    sat in the stage for weeks). So the applications are re-mapped quietly, keep their
    ``stage_entered_at``, and only their *next* move publishes. When the operator does want
    the workflow to start for them (a trigger stage was forgotten), ``publish=True`` sends the
    signal for each re-mapped application (``old="unmapped"``, ``event=None``) after commit;
    the admin shows how many applications that is before it is ticked.
    """
    if canonical_stage not in CanonicalStage.values or canonical_stage == CanonicalStage.UNMAPPED:
        raise ValueError(f"cannot map a stage to {canonical_stage!r}")
    if by_name and not normalize_stage_name(unmapped_stage.remote_stage_name):
        raise ValueError("this stage has no name to map by")
    if not by_name and not unmapped_stage.remote_stage_id:
        raise ValueError("this stage has no id to map by")
    connection = unmapped_stage.connection
    now = timezone.now()
    with transaction.atomic():
        mapping, created = _stage_mapping_get_or_create(
            unmapped_stage, canonical_stage=canonical_stage, by_name=by_name
        )
        candidates = selectors.unmapped_applications(stage=unmapped_stage, by_name=by_name)
        # Lock, then update only rows still unmapped in that stage: a webhook processed
        # meanwhile has already moved the others.
        remapped_ids = list(candidates.select_for_update().values_list("pk", flat=True))
        remapped = Application.objects.filter(pk__in=remapped_ids).update(
            canonical_stage=canonical_stage, updated_at=now
        )
        if by_name:
            normalized = normalize_stage_name(unmapped_stage.remote_stage_name)
            stages = [
                stage.pk
                for stage in UnmappedStage.objects.filter(
                    connection=connection, resolved_at__isnull=True
                )
                if normalize_stage_name(stage.remote_stage_name) == normalized
            ]
            rows = UnmappedStage.objects.filter(pk__in=stages)
        else:
            rows = UnmappedStage.objects.filter(
                connection=connection,
                remote_stage_id=unmapped_stage.remote_stage_id,
                resolved_at__isnull=True,
            )
        resolved = rows.update(resolved_at=now)
        published = 0
        if publish:
            for application in Application.objects.filter(pk__in=remapped_ids).select_related(
                "candidate", "requisition"
            ):
                _publish_on_commit(
                    application, old=CanonicalStage.UNMAPPED, new=canonical_stage, event=None
                )
                published += 1
    logger.info(
        "mapped stage %s on %s to %s: %s application(s) re-mapped, %s published",
        unmapped_stage.remote_stage_name or unmapped_stage.remote_stage_id,
        connection.slug,
        canonical_stage,
        remapped,
        published,
    )
    return StageMapResult(mapping, created, remapped, resolved, published)


def _stage_mapping_get_or_create(
    stage: UnmappedStage, *, canonical_stage: str, by_name: bool
) -> tuple[StageMapping, bool]:
    mapping = selectors.stage_mapping_covering(stage=stage, by_name=by_name)
    if mapping is not None:
        # Created elsewhere (e.g. on the connection page) after the stage was recorded.
        if mapping.canonical_stage != canonical_stage:
            raise StageMapConflictError(
                f"{mapping.remote_stage_name or mapping.remote_stage_id!r} is already mapped to "
                f"{mapping.get_canonical_stage_display()}; change that mapping instead."
            )
        return mapping, False
    mapping = StageMapping.objects.create(
        connection_id=stage.connection_id,
        remote_stage_id="" if by_name else stage.remote_stage_id,
        remote_stage_name=stage.remote_stage_name,
        canonical_stage=canonical_stage,
    )
    return mapping, True
