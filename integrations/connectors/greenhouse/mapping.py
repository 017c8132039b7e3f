"""Greenhouse Recruiting webhooks → canonical stage changes.

Body: ``{"action": ..., "payload": {"application": {...}}}`` (research/ats_apis.md 1c, 1f).
``candidate_stage_change`` and the reject/hire/unreject events share the application shape:
``id``, ``status`` (active | rejected | hired), ``current_stage{id,name}``, ``applied_at``,
``candidate{id, first_name, last_name, email_addresses[]}`` and ``jobs[0]``.

- Stage ids are per job in Greenhouse: the same "Phone Screen" has a different id on every job,
  so admins usually map by name; a mapping by id pins one job's stage.
- The payload has no timestamp of the move (``last_activity_at`` moves for other reasons), so
  ``occurred_at`` stays None and the sync orders Greenhouse events by receipt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.connectors.base import CandidateData, RequisitionData, StageChange
from integrations.connectors.payload import (
    dig,
    iso_datetime,
    remote_id,
    require_object,
    text,
)

if TYPE_CHECKING:
    from integrations.connectors.base import AtsClient
    from integrations.models import AtsConnection

STAGE_ACTIONS = frozenset(
    {"candidate_stage_change", "reject_candidate", "hire_candidate", "unreject_candidate"}
)
# application.status is the state at send time; the action is the fallback when it is absent.
_OUTCOME_BY_STATUS = {"active": "", "rejected": "rejected", "hired": "hired"}
_OUTCOME_BY_ACTION = {"reject_candidate": "rejected", "hire_candidate": "hired"}
_JOB_STATUSES = frozenset({"open", "closed", "draft"})

_APP = "payload.application"


def normalize(
    connection: AtsConnection,
    action: str,
    payload: dict[str, Any],
    *,
    client: AtsClient | None,
) -> list[StageChange]:
    """The stage change a Greenhouse delivery reports; [] for events that move no application."""
    if action not in STAGE_ACTIONS:
        return []
    require_object(payload, _APP)

    status = text(payload, f"{_APP}.status").casefold()
    outcome = _OUTCOME_BY_STATUS.get(status)
    if outcome is None:
        outcome = _OUTCOME_BY_ACTION.get(action, "")

    # A stage move must name the stage; reject/hire carry it too, but their outcome is what counts.
    if action == "candidate_stage_change":
        stage_id = remote_id(payload, f"{_APP}.current_stage.id")
    else:
        stage_id = text(payload, f"{_APP}.current_stage.id")
    stage_name = text(payload, f"{_APP}.current_stage.name")

    job_status = text(payload, f"{_APP}.jobs.0.status").casefold()
    return [
        StageChange(
            application_remote_id=remote_id(payload, f"{_APP}.id"),
            candidate=CandidateData(
                remote_id=remote_id(payload, f"{_APP}.candidate.id"),
                first_name=text(payload, f"{_APP}.candidate.first_name"),
                last_name=text(payload, f"{_APP}.candidate.last_name"),
                email=_first_email(dig(payload, f"{_APP}.candidate.email_addresses")),
            ),
            requisition=RequisitionData(
                remote_id=remote_id(payload, f"{_APP}.jobs.0.id"),
                title=text(payload, f"{_APP}.jobs.0.name"),
                department=text(payload, f"{_APP}.jobs.0.departments.0.name"),
                location=text(payload, f"{_APP}.jobs.0.offices.0.name"),
                status=job_status if job_status in _JOB_STATUSES else "",
            ),
            remote_stage_id=stage_id,
            remote_stage_name=stage_name,
            outcome=outcome,
            occurred_at=None,
            applied_at=iso_datetime(payload, f"{_APP}.applied_at"),
            extra={"provider_status": status},
        )
    ]


def _first_email(addresses: Any) -> str:
    """The first address of ``email_addresses[{value, type}]``; data only, never an identity."""
    if not isinstance(addresses, list):
        return ""
    for address in addresses:
        value = address.get("value") if isinstance(address, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""
