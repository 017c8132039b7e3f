"""The generic webhook ATS → canonical stage changes.

Screenbridge's own documented shape, for ATSs without a dedicated connector::

    {"type": "application.stage_changed",
     "occurred_at": "2026-04-09T16:38:36Z",
     "application": {"id": "...", "applied_at": "..."},
     "candidate": {"id": "...", "first_name": "...", "last_name": "...", "email": "..."},
     "job": {"id": "...", "title": "...", "department": "...", "location": "...",
             "status": "open|closed|draft"},
     "stage": {"id": "...", "name": "..."},
     "outcome": "" | "rejected" | "hired" | "withdrawn"}

``application.id``, ``candidate.id``, ``job.id`` and a stage id or name are required; an
unknown ``outcome`` or job ``status`` is an error rather than a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.connectors.base import (
    CandidateData,
    MalformedPayloadError,
    RequisitionData,
    StageChange,
)
from integrations.connectors.payload import iso_datetime, remote_id, require_object, text

if TYPE_CHECKING:
    from integrations.connectors.base import AtsClient
    from integrations.models import AtsConnection

STAGE_ACTION = "application.stage_changed"
OUTCOMES = frozenset({"", "rejected", "hired", "withdrawn"})
JOB_STATUSES = frozenset({"", "open", "closed", "draft"})


def normalize(
    connection: AtsConnection,
    action: str,
    payload: dict[str, Any],
    *,
    client: AtsClient | None,
) -> list[StageChange]:
    """The stage change a generic delivery reports; [] for other event types."""
    if action != STAGE_ACTION:
        return []
    require_object(payload, "stage")
    stage_id = text(payload, "stage.id")
    stage_name = text(payload, "stage.name")
    if not stage_id and not stage_name:
        raise MalformedPayloadError("missing required field stage.id or stage.name")
    outcome = text(payload, "outcome").casefold()
    if outcome not in OUTCOMES:
        raise MalformedPayloadError(
            f"field outcome must be one of rejected, hired, withdrawn or empty, got {outcome!r}"
        )
    job_status = text(payload, "job.status").casefold()
    if job_status not in JOB_STATUSES:
        raise MalformedPayloadError(
            f"field job.status must be open, closed or draft, got {job_status!r}"
        )
    return [
        StageChange(
            application_remote_id=remote_id(payload, "application.id"),
            candidate=CandidateData(
                remote_id=remote_id(payload, "candidate.id"),
                first_name=text(payload, "candidate.first_name"),
                last_name=text(payload, "candidate.last_name"),
                email=text(payload, "candidate.email"),
            ),
            requisition=RequisitionData(
                remote_id=remote_id(payload, "job.id"),
                title=text(payload, "job.title"),
                department=text(payload, "job.department"),
                location=text(payload, "job.location"),
                status=job_status,
            ),
            remote_stage_id=stage_id,
            remote_stage_name=stage_name,
            outcome=outcome,
            occurred_at=iso_datetime(payload, "occurred_at"),
            applied_at=iso_datetime(payload, "application.applied_at"),
        )
    ]
