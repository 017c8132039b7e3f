"""The rehearsal vendor: scripted results for sandbox connections, so a team can rehearse.

Nothing leaves Screenbridge. :meth:`RehearsalVendor.invite` refuses an interview whose
application belongs to a **live** ATS connection (a permanent error, shown to admins), returns
the reference ``rehearsal-<interview public id>`` and no candidate link, and — once the
invitation's transaction commits — delivers a scripted ``interview.completed`` event through
the same path as a real vendor's webhook: a :class:`~interviews.models.VendorEvent` with the
delivery id ``rehearsal:<public id>:completed`` is stored and processed by
``services.vendor_events``, so parsing, normalization, bands, review routing and writeback
composition all run as they will in production. The event body is the generic vendor protocol
(``interviews.vendors.generic_http``, part 2) plus ``"rehearsal": true`` and the sample's name.

Rehearsal results are marked as such: the interview of a sandbox connection has
``is_rehearsal=True`` and the raw payload says ``"rehearsal": true``; the writeback outbox never
sends for sandbox connections, so nothing reaches an ATS.

Which result (deterministic — the same interview always gets the same result):

1. ``vendor.settings["script"]``, a list of samples tried in order; the first whose ``match``
   fits the candidate is used::

       {"script": [
         {"match": {"candidate_email": "amara.okafor@example.com"},
          "score": 66, "competencies": [{"key": "empathy", "score": 70}],
          "summary": ["..."], "flags": []},
         {"match": {"candidate_remote_id": "cand_5512"}, "score": 41, "summary": ["..."]},
         {"score": 75, "summary": ["Catch-all: a sample without 'match' fits everyone."]}
       ]}

   ``score`` and competency scores use ``scale_max`` (default 100); ``summary``, ``flags``,
   ``confidence``, ``transcript``... are those of the protocol's ``result`` object. E-mails
   match case-insensitively. Competencies default to the sample score, adjusted per competency.
2. Otherwise, for a synthetic candidate of a rehearsal run (``manage.py rehearse``), the
   built-in sample the run's seed assigned to it, so a run is repeatable with ``--seed``.
3. Otherwise a built-in sample chosen from a hash of the interview's public id among
   :data:`DEFAULT_SAMPLES` (strong, proceed, proceed near the cut, borderline, insufficient
   evidence, and one with an integrity flag), scored on each of the plan's competencies.

A scripted result that breaks the result rules (e.g. four bullets) is stored and fails in
processing with the same message a vendor would get, visible on the vendor event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.connectors.base import Delivery, SignatureError
from integrations.http import AtsPermanentError
from interviews.models import Interview, RehearsalCandidate
from interviews.selectors import interview_for_vendor_call
from interviews.services.vendor_events import vendor_event_store
from interviews.vendors.base import DeletionConfirmation, Invitation, VendorAdapter, VendorUpdate
from interviews.vendors.generic_http import parse_event

REFERENCE_PREFIX = "rehearsal-"
EVENT_TYPE = "interview.completed"
# An address that can never resolve (RFC 2606), for the sample's artifact links.
ARTIFACT_ROOT = "https://rehearsal.screenbridge.invalid"
# Per-competency adjustments around the sample score, so subscores differ but stay stable.
COMPETENCY_OFFSETS = (4, -3, 2, -5, 1, -2)

DEFAULT_SAMPLES: tuple[dict[str, Any], ...] = (
    {
        "name": "strong",
        "score": 88,
        "confidence": 0.93,
        "summary": [
            "Walked through calming an upset customer: “I repeated the problem back, apologised "
            "once, and promised a call at 3 pm — then called at 3 pm.”",
            "Prioritised a system outage over a refund request and explained the trade-off.",
            "Described writing a help-centre article after the third identical ticket.",
        ],
    },
    {
        "name": "proceed",
        "score": 72,
        "confidence": 0.88,
        "summary": [
            "Gave a concrete de-escalation example with the steps taken and the outcome.",
            "Said they would “check the order history before asking the customer to repeat it”.",
        ],
    },
    {
        "name": "proceed-near-cut",
        "score": 66,
        "confidence": 0.81,
        "summary": [
            "Answered the refund scenario correctly but did not say how they would follow up.",
            "Described one relevant example of teamwork, without their own contribution.",
        ],
    },
    {
        "name": "borderline",
        "score": 57,
        "confidence": 0.77,
        "summary": [
            "Knew the escalation path but described it only in general terms.",
            "Could not give an example of handling an angry customer from their own work.",
        ],
    },
    {
        "name": "insufficient-evidence",
        "score": 38,
        "confidence": 0.7,
        "summary": [
            "Answers stayed general (“I am a people person”) without examples of their own.",
        ],
    },
    {
        "name": "flagged-integrity",
        "score": 79,
        "confidence": 0.64,
        "flags": ["integrity"],
        "summary": [
            "Answers were strong but read verbatim from another window, per the vendor's check.",
            "Described the ticket triage process accurately and in the company's own terms.",
        ],
    },
)


class RehearsalVendor(VendorAdapter):
    """Scripted results for sandbox connections; see the module docstring."""

    # Rehearsal events are stored directly; the webhook endpoint answers 404 for these vendors.
    receives_webhooks = False

    def invite(self, interview: Interview) -> Invitation:
        """Accept the invitation and schedule the scripted result after commit."""
        connection = interview.application.connection
        if not connection.is_sandbox:
            raise AtsPermanentError(
                f"the rehearsal vendor only serves sandbox connections; {connection.slug} is "
                f"{connection.mode}"
            )
        return Invitation(vendor_reference=reference_for(interview))

    def invited(self, interview: Interview) -> None:
        """Deliver the scripted result now that the invitation is recorded (after commit)."""
        transaction.on_commit(
            partial(rehearsal_result_deliver, interview_id=interview.pk), robust=True
        )

    def cancel(self, interview: Interview) -> None:
        """Nothing to withdraw: the rehearsal vendor has no candidate-facing side."""

    def delete_data(
        self, interviews: list[Interview], *, artifacts: list[str], deletion_id: str
    ) -> DeletionConfirmation:
        """Confirmed at once: the rehearsal vendor stores nothing outside Screenbridge."""
        return DeletionConfirmation(deleted=len(interviews), reference="rehearsal")

    def verify(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        raise SignatureError("the rehearsal vendor sends no webhooks")

    def parse(self, event_type: str, payload: dict[str, Any]) -> list[VendorUpdate]:
        return parse_event(event_type, payload)


def reference_for(interview: Interview) -> str:
    return f"{REFERENCE_PREFIX}{interview.public_id}"


def delivery_id_for(interview: Interview) -> str:
    return f"rehearsal:{interview.public_id}:completed"


def rehearsal_result_deliver(*, interview_id: int) -> None:
    """Store the scripted ``interview.completed`` event of one interview and queue it.

    Idempotent: the delivery id is fixed per interview, so a second call stores nothing.
    """
    interview = interview_for_vendor_call(pk=interview_id)
    if interview is None:
        return
    body = json.dumps(scripted_event(interview), ensure_ascii=False).encode()
    vendor_event_store(
        vendor=interview.vendor,
        delivery=Delivery(
            delivery_id=delivery_id_for(interview), action=EVENT_TYPE, occurred_at=timezone.now()
        ),
        body=body,
        headers={"content-type": "application/json", "user-agent": "Screenbridge rehearsal"},
    )


def scripted_event(interview: Interview) -> dict[str, Any]:
    """The ``interview.completed`` event the rehearsal vendor sends for ``interview``."""
    sample = sample_for(interview)
    competency_keys = list(
        interview.plan.competencies.order_by("position", "pk").values_list("key", flat=True)
    )
    return {
        "type": EVENT_TYPE,
        "occurred_at": timezone.now().isoformat(),
        "rehearsal": True,
        "sample": sample.get("name", "script"),
        "interview": {"id": reference_for(interview), "external_id": str(interview.public_id)},
        "result": _result(sample, competency_keys, interview),
    }


def sample_for(interview: Interview) -> Mapping[str, Any]:
    """The vendor's scripted sample matching the candidate, else a built-in one by hash."""
    script = (interview.vendor.settings or {}).get("script") or []
    if isinstance(script, Sequence) and not isinstance(script, str):
        candidate = interview.application.candidate
        for index, entry in enumerate(script):
            if isinstance(entry, Mapping) and _matches(entry.get("match"), candidate):
                return {"name": f"script-{index + 1}", **entry}
    assigned = _assigned_sample(interview)
    if assigned is not None:
        return assigned
    digest = hashlib.sha256(str(interview.public_id).encode()).digest()
    return DEFAULT_SAMPLES[int.from_bytes(digest[:8], "big") % len(DEFAULT_SAMPLES)]


def _assigned_sample(interview: Interview) -> Mapping[str, Any] | None:
    """The built-in sample a rehearsal run's seed gave this synthetic candidate, if any."""
    name = (
        RehearsalCandidate.objects.filter(application_id=interview.application_id)
        .values_list("sample", flat=True)
        .first()
    )
    return next((sample for sample in DEFAULT_SAMPLES if sample["name"] == name), None)


def _matches(match: Any, candidate: Any) -> bool:
    if match is None:
        return True  # a catch-all sample
    if not isinstance(match, Mapping) or not match:
        return False
    email = match.get("candidate_email")
    if email is not None and str(email).strip().casefold() != candidate.email.strip().casefold():
        return False
    remote_id = match.get("candidate_remote_id")
    return remote_id is None or str(remote_id) == candidate.remote_id


def _result(
    sample: Mapping[str, Any], competency_keys: list[str], interview: Interview
) -> dict[str, Any]:
    score = sample.get("score")
    competencies = sample.get("competencies")
    if competencies is None and isinstance(score, int | float) and not isinstance(score, bool):
        scale_max = sample.get("scale_max") or 100
        competencies = [
            {
                "key": key,
                "score": min(
                    scale_max, max(0, score + COMPETENCY_OFFSETS[i % len(COMPETENCY_OFFSETS)])
                ),
            }
            for i, key in enumerate(competency_keys)
        ]
    result: dict[str, Any] = {
        "score": score,
        "competencies": competencies or [],
        "summary": sample.get("summary", []),
        "flags": sample.get("flags", []),
        "confidence": sample.get("confidence", 0.85),
        "transcript": sample.get(
            "transcript",
            {"url": f"{ARTIFACT_ROOT}/transcripts/{interview.public_id}", "word_count": 1400},
        ),
        "report_url": sample.get("report_url", f"{ARTIFACT_ROOT}/reports/{interview.public_id}"),
    }
    if "scale_max" in sample:
        result["scale_max"] = sample["scale_max"]
    if "recording_url" in sample:
        result["recording_url"] = sample["recording_url"]
    return result
