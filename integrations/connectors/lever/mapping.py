"""Lever webhooks → canonical stage changes.

Envelope: ``{id, event, triggeredAt (epoch ms), token, signature, data{...}}``
(research/ats_apis.md 2b, 2c). Only ``candidateStageChange`` and ``candidateArchiveChange`` move
an application; every other event gives ``[]``.

**The webhook is a notification, not the state.** Lever's signature covers ``token +
triggeredAt`` only, so whoever holds one captured delivery can send any ``data`` with a valid
signature (another ``opportunityId``, another ``toStageId``). Lever stage events also lack the
posting and the candidate's name and e-mail. So, whenever a client is available (always, when
``services.stage_sync`` processes a stored delivery), ``normalize`` reads the opportunity back
from the Lever API (``Client.opportunity_stage_change``, the parser reconcile uses too) and the
body contributes two things only: ``data.opportunityId`` (which opportunity to read) and
``triggeredAt`` (the ordering key when Lever's answer has no ``updatedAt``/``lastAdvancedAt``).
Stage, archive state, posting, candidate name and e-mail all come from Lever's current state:

- a forged or stale body can at worst make us re-read an opportunity's real state;
- the application is created on its real requisition (the posting), so it can launch interviews
  at once instead of waiting for ``manage.py reconcile_ats``;
- stage-change and archive events of one opportunity normalize to the same fact (the current
  state), so their arrival order no longer matters, and the ordering key is Lever's own
  ``updatedAt``: the API state is the newest there is;
- archived means "hired" when the archive reason's type is ``hired`` (``GET /archive_reasons``),
  else "rejected"; unarchived means the current stage counts;
- an opportunity without a posting (a general lead) is not an application: ``[]`` (ignored),
  as reconcile skips it.

If Lever cannot be read (timeouts, 5xx, 429 after the in-call retries; or 401/403/404), the
typed ``integrations.http`` error is raised with the opportunity named and the event ends
``failed``. Nothing falls back to the unverifiable body: retry the event from the admin, or
``manage.py replay_events``, once Lever answers.

**Body-only path** (``client=None``; unit tests, tools that must not call out): the change is
built from the body alone. The opportunity (``data.opportunityId``) is the application anchor,
the person is the contact (``data.contactId``; the deprecated ``candidateId`` is never used),
the stage is ``data.toStageId`` without a name, and a stand-in requisition per connection,
flagged with ``REQUISITION_PLACEHOLDER``, stands for the missing posting (the sync never moves an
application already on its real posting to it). ``candidateArchiveChange``: archived means
"rejected", unless the reason is one of ``settings["hired_archive_reason_ids"]``; unarchiving
clears the outcome. The ordering key is ``triggeredAt``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

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
from integrations.http import AtsError

if TYPE_CHECKING:
    from integrations.connectors.base import AtsClient
    from integrations.models import AtsConnection

logger = logging.getLogger(__name__)

STAGE_CHANGE = "candidateStageChange"
ARCHIVE_CHANGE = "candidateArchiveChange"

# The stand-in posting of the body-only path (see module docstring).
PLACEHOLDER_POSTING_ID = "lever-posting-unknown"
PLACEHOLDER_POSTING_TITLE = "Lever posting (not in the webhook; filled in by reconcile)"


@runtime_checkable
class OpportunityReader(Protocol):
    """What ``normalize`` needs from a client: Lever's current state of one opportunity."""

    def opportunity_stage_change(self, opportunity_id: str) -> StageChange | None: ...


def normalize(
    connection: AtsConnection,
    action: str,
    payload: dict[str, Any],
    *,
    client: AtsClient | None,
) -> list[StageChange]:
    """The stage change a Lever delivery reports; [] for events that move no application.

    With a client, the opportunity's current state read from Lever; with ``client=None``, what
    the body alone says (see the module docstring).
    """
    if action not in (STAGE_CHANGE, ARCHIVE_CHANGE):
        return []
    if client is None:
        return [_body_change(connection, action, payload)]
    return _api_changes(connection, action, payload, _reader(connection, client))


# -- from the Lever API ----------------------------------------------------------------------


def _api_changes(
    connection: AtsConnection, action: str, payload: dict[str, Any], reader: OpportunityReader
) -> list[StageChange]:
    opportunity_id = remote_id(payload, "data.opportunityId")
    # Read (and validated) before any call: the fallback ordering key.
    triggered_at = epoch_ms_datetime(payload, "triggeredAt")
    try:
        change = reader.opportunity_stage_change(opportunity_id)
    except AtsError as exc:
        # Same error type (retryable or not), with what was being done in front of it.
        hint = "; retry or replay the event once Lever answers" if exc.retryable else ""
        raise type(exc)(
            f"cannot read Lever opportunity {opportunity_id} for this {action}{hint}: "
            f"{exc.message}",
            status_code=exc.status_code,
            excerpt=exc.excerpt,
            retry_after=exc.retry_after,
            elapsed_ms=exc.elapsed_ms,
        ) from exc
    if change is None:
        logger.info(
            "Lever opportunity %s on %s has no posting: not an application, event ignored",
            opportunity_id,
            connection.slug,
        )
        return []
    if change.occurred_at is None:
        change = dataclasses.replace(change, occurred_at=triggered_at)
    return [change]


def _reader(connection: AtsConnection, client: AtsClient) -> OpportunityReader:
    # Duck-typed on purpose: services.stage_sync hands over a lazy proxy of the real client,
    # which a static Protocol isinstance() check cannot see through.
    if not callable(getattr(client, "opportunity_stage_change", None)):
        raise TypeError(f"{type(client).__name__} cannot read Lever opportunities")
    return cast(OpportunityReader, client)


# -- from the body alone ---------------------------------------------------------------------


def _body_change(connection: AtsConnection, action: str, payload: dict[str, Any]) -> StageChange:
    if action == STAGE_CHANGE:
        return _change(payload, stage_id=remote_id(payload, "data.toStageId"), outcome="")
    return _change(payload, stage_id="", outcome=_archive_outcome(connection, payload))


def _change(payload: dict[str, Any], *, stage_id: str, outcome: str) -> StageChange:
    return StageChange(
        application_remote_id=remote_id(payload, "data.opportunityId"),
        candidate=CandidateData(remote_id=remote_id(payload, "data.contactId")),
        requisition=RequisitionData(
            remote_id=PLACEHOLDER_POSTING_ID, title=PLACEHOLDER_POSTING_TITLE, status=""
        ),
        remote_stage_id=stage_id,
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
