"""Ashby webhooks → canonical stage changes.

Envelope: ``{webhookActionId, action, data: {application: {...}}}`` (research/ats_apis.md 3c,
3e). ``candidateStageChange`` and ``applicationUpdate`` carry the same application object, and
one move sends both; the sync applies the second as a no-op.

- The **application id** is the anchor: Ashby candidate ids change when recruiters merge
  duplicates, and the sync re-points the application to the candidate the event names.
- ``currentInterviewStage.type`` Archived → outcome "rejected", Hired → "hired" (``status``
  says the same and is the fallback). Stage ids belong to an interview plan, i.e. per job.
- ``updatedAt`` orders the events; ``job`` has only ids for location and department, so those
  are left for reconcile, and the job status is unknown ("" keeps the stored one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.connectors.base import CandidateData, RequisitionData, StageChange
from integrations.connectors.payload import (
    iso_datetime,
    remote_id,
    require_object,
    text,
)

if TYPE_CHECKING:
    from integrations.connectors.base import AtsClient
    from integrations.models import AtsConnection

STAGE_ACTIONS = frozenset({"candidateStageChange", "applicationUpdate"})
_OUTCOME_BY_TYPE = {"archived": "rejected", "hired": "hired"}

_APP = "data.application"


def normalize(
    connection: AtsConnection,
    action: str,
    payload: dict[str, Any],
    *,
    client: AtsClient | None,
) -> list[StageChange]:
    """The stage change an Ashby delivery reports; [] for events that move no application."""
    if action not in STAGE_ACTIONS:
        return []
    require_object(payload, _APP)
    require_object(payload, f"{_APP}.currentInterviewStage")

    stage_type = text(payload, f"{_APP}.currentInterviewStage.type").casefold()
    status = text(payload, f"{_APP}.status").casefold()
    outcome = _OUTCOME_BY_TYPE.get(stage_type) or _OUTCOME_BY_TYPE.get(status, "")
    first_name, last_name = split_name(text(payload, f"{_APP}.candidate.name"))
    return [
        StageChange(
            application_remote_id=remote_id(payload, f"{_APP}.id"),
            candidate=CandidateData(
                remote_id=remote_id(payload, f"{_APP}.candidate.id"),
                first_name=first_name,
                last_name=last_name,
                email=text(payload, f"{_APP}.candidate.primaryEmailAddress.value"),
            ),
            requisition=RequisitionData(
                remote_id=remote_id(payload, f"{_APP}.job.id"),
                title=text(payload, f"{_APP}.job.title"),
                status="",
            ),
            remote_stage_id=remote_id(payload, f"{_APP}.currentInterviewStage.id"),
            remote_stage_name=text(payload, f"{_APP}.currentInterviewStage.title"),
            outcome=outcome,
            occurred_at=iso_datetime(payload, f"{_APP}.updatedAt"),
            applied_at=iso_datetime(payload, f"{_APP}.createdAt"),
            extra={"stage_type": stage_type, "provider_status": status},
        )
    ]


def split_name(name: str) -> tuple[str, str]:
    """Ashby sends one ``name``: the first word is the first name, the rest the last name."""
    parts = name.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""
