"""Which model fields hold personal data, and how a candidate's erasure treats each.

:data:`PERSONAL_FIELDS` is the registry ``governance.data_requests`` erases from and the test
(tests/governance/test_data_requests.py) enumerates. :data:`NOT_PERSONAL` lists fields whose
*names* look personal but which hold none, each with the reason. A model that gains a
personal-looking field (:data:`PERSONAL_LOOKING`) listed in neither fails that test, so nobody
adds candidate data that an erasure would miss.

Treatments: ``blank`` (""), ``empty_list`` ([]), ``empty_dict`` ({}), ``pseudonym``
(``erased-<random>``, for required identifiers), ``erased_text`` (:data:`ERASED_TEXT`, where a
constraint needs text).
"""

from __future__ import annotations

import re
from typing import Any

ERASED_TEXT = "[erased on the candidate's request]"
BLANK, EMPTY_LIST, EMPTY_DICT, PSEUDONYM, ERASED = (
    "blank",
    "empty_list",
    "empty_dict",
    "pseudonym",
    "erased_text",
)

# "app_label.ModelName" → {field: treatment}
PERSONAL_FIELDS: dict[str, dict[str, str]] = {
    "integrations.Candidate": {
        "first_name": BLANK,
        "last_name": BLANK,
        "email": BLANK,
        "remote_id": PSEUDONYM,
        "consents": EMPTY_LIST,
    },
    "integrations.Application": {"remote_id": PSEUDONYM},
    "integrations.InboundEvent": {"raw_body": BLANK, "headers": EMPTY_DICT},
    "integrations.WritebackJob": {"payload": EMPTY_DICT, "last_error": BLANK},
    "integrations.WritebackAttempt": {"error": BLANK},
    "interviews.Interview": {"invite_url": BLANK, "callback_url": BLANK, "failure_reason": BLANK},
    "interviews.InterviewResult": {
        "summary_bullets": EMPTY_LIST,
        "transcript_url": BLANK,
        "recording_url": BLANK,
        "report_url": BLANK,
        "raw_payload": EMPTY_DICT,
    },
    "interviews.CompetencyScore": {"evidence": BLANK},
    "interviews.ReviewTask": {"detail": BLANK},
    "interviews.VendorEvent": {"raw_body": BLANK, "headers": EMPTY_DICT, "error": BLANK},
    "governance.Decision": {"override_text": ERASED},
}

# Personal-looking names that hold no personal data, with the reason.
NOT_PERSONAL: dict[str, str] = {
    "integrations.AtsConnection.name": "the customer's name for its ATS account",
    "integrations.AtsConnection.base_url": "the ATS's API address",
    "integrations.AtsConnection.api_client_id": "an OAuth client id of the customer",
    "integrations.Requisition.remote_id": "a job id",
    "integrations.Requisition.title": "a job title",
    "integrations.Requisition.location": "an office location",
    "integrations.Application.remote_stage_name": "a pipeline stage name",
    "integrations.StageMapping.remote_stage_name": "a pipeline stage name",
    "integrations.StageMapping.normalized_name": "a pipeline stage name",
    "integrations.UnmappedStage.remote_stage_name": "a pipeline stage name",
    "integrations.InboundEvent.error": "a processing error naming fields, not values",
    "integrations.SignatureFailure.reason": "why a signature failed",
    "integrations.SignatureFailure.remote_addr": "the sender's (ATS's) address, not a person's",
    "interviews.RoleFamily.name": "a role family name",
    "interviews.InterviewPlan.name": "a plan name",
    "interviews.Competency.name": "a competency name",
    "interviews.Vendor.name": "a vendor name",
    "interviews.Vendor.base_url": "the vendor's API address",
    "interviews.InterviewPlan.required_consents": "consent kinds a plan needs",
    "interviews.Interview.vendor_reference": (
        "the vendor's id for the interview, kept to prove and repeat the vendor deletion"
    ),
    "governance.RetentionPolicy.notes": "the legal basis of a policy",
    "interviews.LaunchSkip.detail": "names the plan, stage or rule, never the candidate",
    "governance.AuditEvent.actor_label": "a staff user's name (accountability, kept)",
    "governance.AuditEvent.object_repr": "services pass a name-free label for candidate records",
    "governance.RetentionPolicy.name": "a policy name",
    "governance.LegalHold.reason": "why data is held (a case, never a candidate's details)",
    "governance.StopSwitch.reason": "why launches stopped",
    "governance.DeletionReceipt.policy_label": "the policy, no personal data",
    "governance.DeletionReceipt.vendor_error": "a vendor's HTTP error",
    "governance.DataRequest.reference": "a ticket or event id",
    "governance.BiasAudit.auditor": "the audit firm",
    "governance.BiasAudit.summary_url": "the published audit summary",
    "governance.ConsentRecord.explanation_version": "which explanation text was shown",
    "governance.CalibrationSession.name": "a calibration round's name",
    "interviews.RehearsalRun.error": "why a rehearsal run failed (synthetic candidates only)",
    "interviews.RehearsalCandidate.name": "a synthetic candidate's made-up name",
    "interviews.RehearsalCandidate.band_reasoning": "how a synthetic score mapped to a band",
    "interviews.RehearsalCandidate.review_reason": "the review reason code of a synthetic result",
    "interviews.RehearsalCandidate.review_detail": "why a synthetic result went to review",
    "interviews.RehearsalCandidate.note": "a rehearsal note about a synthetic candidate",
}
# Whole rows deleted on erasure (beyond the fields above): governance.CandidateDemographics.

# Field names that look like they could hold a person's data.
PERSONAL_LOOKING = re.compile(
    r"name|email|phone|address|addr|body|payload|url|text|detail|evidence|summary|bullet|"
    r"consent|remote_id|repr|note|reason|label|error|auditor|reference|client_id",
    re.IGNORECASE,
)


def label_of(model: Any) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def erased_value(treatment: str) -> Any:
    """The value a field gets on erasure (pseudonyms are made per row by the caller)."""
    return {BLANK: "", EMPTY_LIST: [], EMPTY_DICT: {}, ERASED: ERASED_TEXT}[treatment]
