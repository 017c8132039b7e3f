"""Reads of the integrations app: stage mapping lookups, unmapped stages, replayable events."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from integrations.models import (
    Application,
    AtsConnection,
    CanonicalStage,
    InboundEvent,
    InboundEventStatus,
    StageMapping,
    UnmappedStage,
    normalize_stage_name,
)


def canonical_stage_for(
    *, connection: AtsConnection, remote_stage_id: str, remote_stage_name: str
) -> str:
    """The canonical stage a remote stage maps to, or ``unmapped`` — never a guess.

    A mapping by id wins; otherwise a mapping by name (rows without an id) matches when the
    names are equal ignoring case and whitespace.
    """
    normalized = normalize_stage_name(remote_stage_name)
    wanted = Q()
    if remote_stage_id:
        wanted |= Q(remote_stage_id=remote_stage_id)
    if normalized:
        wanted |= Q(remote_stage_id="", normalized_name=normalized)
    if not wanted:
        return CanonicalStage.UNMAPPED
    # One query for both rules (every stage change asks); the id match wins.
    found = dict(
        StageMapping.objects.filter(wanted, connection=connection).values_list(
            "remote_stage_id", "canonical_stage"
        )
    )
    if remote_stage_id and found.get(remote_stage_id):
        return found[remote_stage_id]
    return found.get("") or CanonicalStage.UNMAPPED


def unmapped_stages_list(
    *, connection: AtsConnection | None = None, include_resolved: bool = False
) -> QuerySet[UnmappedStage]:
    """Unmapped stages, newest first, each with ``application_count``: the applications on its
    connection that sit in exactly that remote stage (id and name) with canonical ``unmapped``.
    """
    in_stage = (
        Application.objects.filter(
            connection=OuterRef("connection"),
            canonical_stage=CanonicalStage.UNMAPPED,
            remote_stage_id=OuterRef("remote_stage_id"),
            remote_stage_name=OuterRef("remote_stage_name"),
        )
        .order_by()
        .values("connection")
        .annotate(n=Count("pk"))
        .values("n")
    )
    stages = UnmappedStage.objects.select_related("connection").annotate(
        application_count=Coalesce(
            Subquery(in_stage, output_field=IntegerField()), Value(0), output_field=IntegerField()
        )
    )
    if connection is not None:
        stages = stages.filter(connection=connection)
    if not include_resolved:
        stages = stages.filter(resolved_at__isnull=True)
    return stages.order_by(F("resolved_at").desc(nulls_first=True), "-last_seen_at", "pk")


def unmapped_applications(*, stage: UnmappedStage, by_name: bool) -> QuerySet[Application]:
    """Applications sitting with canonical ``unmapped`` in the stage (by its id, or by its name
    ignoring case and whitespace — every job's stage of that name)."""
    applications = Application.objects.filter(
        connection_id=stage.connection_id, canonical_stage=CanonicalStage.UNMAPPED
    )
    if not by_name:
        return applications.filter(remote_stage_id=stage.remote_stage_id)
    normalized = normalize_stage_name(stage.remote_stage_name)
    # Whitespace-insensitive equality has no portable SQL form: narrow by the exact names seen.
    names = {
        name
        for name in applications.values_list("remote_stage_name", flat=True).distinct()
        if normalize_stage_name(name) == normalized
    }
    return applications.filter(remote_stage_name__in=names)


def stage_mapping_covering(*, stage: UnmappedStage, by_name: bool) -> StageMapping | None:
    """The mapping that already covers an unmapped stage by its name (rows without an id) or
    by its id, e.g. one added on the connection page after the stage was recorded."""
    mappings = StageMapping.objects.filter(connection_id=stage.connection_id)
    if by_name:
        return mappings.filter(
            remote_stage_id="", normalized_name=normalize_stage_name(stage.remote_stage_name)
        ).first()
    return mappings.filter(remote_stage_id=stage.remote_stage_id).first()


def inbound_events_for_replay(
    *,
    event_ids: Iterable[int] | None = None,
    status: str | None = InboundEventStatus.FAILED,
    connection: AtsConnection | None = None,
) -> QuerySet[InboundEvent]:
    """Events to process again, in arrival order (which orders Greenhouse events).

    ``status=None`` takes the given ids whatever their status; an event a worker is processing
    right now is never included.
    """
    events = InboundEvent.objects.select_related("connection").exclude(
        status=InboundEventStatus.PROCESSING
    )
    if event_ids is not None:
        events = events.filter(pk__in=list(event_ids))
    if status is not None:
        events = events.filter(status=status)
    if connection is not None:
        events = events.filter(connection=connection)
    return events.order_by("received_at", "pk")
