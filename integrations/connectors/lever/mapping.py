"""Lever webhooks → canonical stage changes.

Envelope: ``{id, event, triggeredAt (epoch ms), token, signature, data{...}}``
(research/ats_apis.md 2b, 2c).

- The **opportunity** is the application anchor (``data.opportunityId``). ``candidateId`` is a
  deprecated alias of the opportunity, not a person, so it is never used; the person is the
  contact (``data.contactId``).
- ``candidateStageChange`` carries only stage ids: the name comes from ``client.stage_name``
  (Lever stages are account-wide, so ids map well too).
- The events carry no candidate name or e-mail and no posting. Rather than calling the API for
  them on every delivery, the change carries the contact id with empty fields (the sync never
  blanks what it already knows) and a stand-in requisition per connection, flagged with
  ``REQUISITION_PLACEHOLDER`` so an application already attached to its real posting is never
  moved to it. ``manage.py reconcile_ats`` fills in names, e-mails and postings later.
- ``candidateArchiveChange``: archived means outcome "rejected", unless the archive reason is
  one of the connection's ``settings["hired_archive_reason_ids"]`` (Lever archives hired
  candidates with a reason of type "hired"; the event has the reason id only). Unarchiving
  clears the outcome and the application's remote stage counts again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.connectors.base import (
    CandidateData,
    MalformedPayloadError,
    RequisitionData,
    StageChange,
)
from integrations.connectors.payload import (
    REQUISITION_PLACEHOLDER,
    dig,
    epoch_ms_datetime,
    remote_id,
    text,
)

if TYPE_CHECKING:
    from integrations.connectors.base import AtsClient
    from integrations.models import AtsConnection

# The stand-in posting of Lever applications known only from webhooks (see module docstring).
PLACEHOLDER_POSTING_ID = "lever-posting-unknown"
PLACEHOLDER_POSTING_TITLE = "Lever posting (not in the webhook; filled in by reconcile)"


def normalize(
    connection: AtsConnection,
    action: str,
    payload: dict[str, Any],
    *,
    client: AtsClient | None,
) -> list[StageChange]:
    """The stage change a Lever delivery reports; [] for events that move no application."""
    if action == "candidateStageChange":
        stage_id = remote_id(payload, "data.toStageId")
        # https://hire.lever.co/developer/documentation#list-all-stages (names are not in events)
        stage_name = client.stage_name(stage_id) if client is not None else ""
        return [_change(payload, stage_id=stage_id, stage_name=stage_name, outcome="")]
    if action == "candidateArchiveChange":
        return [
            _change(
                payload, stage_id="", stage_name="", outcome=_archive_outcome(connection, payload)
            )
        ]
    return []


def _change(
    payload: dict[str, Any], *, stage_id: str, stage_name: str, outcome: str
) -> StageChange:
    return StageChange(
        application_remote_id=remote_id(payload, "data.opportunityId"),
        candidate=CandidateData(remote_id=remote_id(payload, "data.contactId")),
        requisition=RequisitionData(
            remote_id=PLACEHOLDER_POSTING_ID, title=PLACEHOLDER_POSTING_TITLE, status=""
        ),
        remote_stage_id=stage_id,
        remote_stage_name=stage_name,
        outcome=outcome,
        occurred_at=epoch_ms_datetime(payload, "triggeredAt"),
        extra={REQUISITION_PLACEHOLDER: True},
    )


def _archive_outcome(connection: AtsConnection, payload: dict[str, Any]) -> str:
    to_archived = dig(payload, "data.toArchived")
    if not to_archived:
        return ""  # unarchived: back in the pipeline
    if not isinstance(to_archived, dict):
        raise MalformedPayloadError("field data.toArchived should be an object or null")
    reason = text(payload, "data.toArchived.reason")
    hired_reasons = (connection.settings or {}).get("hired_archive_reason_ids") or []
    return "hired" if reason and reason in hired_reasons else "rejected"
