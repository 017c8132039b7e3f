"""ATS deletion/anonymization webhooks, normalized to candidate remote ids.

Event names per provider (docs/research: Greenhouse web hooks list, Lever and Ashby webhook
event lists). The candidate id is read from the first of the paths that holds one; the same
ids are what ``mapping.normalize`` stores as ``Candidate.remote_id`` for that provider.
"""

from __future__ import annotations

from typing import Any

from integrations.connectors.payload import text
from integrations.models import Provider

ERASURE_ACTIONS: dict[str, frozenset[str]] = {
    Provider.GREENHOUSE: frozenset({"delete_candidate", "candidate_anonymized"}),
    Provider.LEVER: frozenset({"candidateDeleted"}),
    Provider.ASHBY: frozenset({"candidateDelete"}),
    Provider.GENERIC: frozenset({"candidate.deleted", "candidate.anonymized"}),
}
CANDIDATE_ID_PATHS: dict[str, tuple[str, ...]] = {
    Provider.GREENHOUSE: (
        "payload.candidate.id",
        "payload.person.id",
        "payload.application.candidate.id",
    ),
    Provider.LEVER: ("data.contactId", "data.candidateId", "data.opportunityId"),
    Provider.ASHBY: ("data.candidate.id", "data.candidateId"),
    Provider.GENERIC: ("data.candidate.id", "candidate.id", "data.candidate_id"),
}


def is_erasure_action(provider: str, action: str) -> bool:
    return action in ERASURE_ACTIONS.get(provider, frozenset())


def erasure_candidate_ids(provider: str, payload: dict[str, Any]) -> list[str]:
    """Every candidate id the event names (several paths may hold the same person)."""
    ids = []
    for path in CANDIDATE_ID_PATHS.get(provider, ()):
        value = text(payload, path)
        if value and value not in ids:
            ids.append(value)
    return ids
