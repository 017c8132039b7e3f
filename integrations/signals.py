"""Events that integrations publishes for the other apps (it imports neither of them).

``application_stage_changed`` is sent after the transaction that moved the application commits,
with keyword arguments ``application`` (Application), ``old`` and ``new`` (canonical stage values)
and ``event`` (the InboundEvent, or None for a reconcile repair).
"""

from __future__ import annotations

from django.dispatch import Signal

application_stage_changed = Signal()

# An ATS told us to delete or anonymize a candidate (Greenhouse ``delete_candidate`` /
# ``candidate_anonymized``, Lever ``candidateDeleted``, Ashby ``candidateDelete``, generic
# ``candidate.deleted`` / ``candidate.anonymized``). Sent after the event's transaction commits
# with keyword arguments ``connection`` (AtsConnection), ``candidate_remote_ids`` (list of str),
# ``action`` (the provider's event name) and ``event`` (the InboundEvent). governance opens a
# candidate data request for each known candidate.
candidate_erasure_requested = Signal()
