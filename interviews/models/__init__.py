"""Interview plans per role family, interviews, their results and the human review queue.

One package: ``plans`` (configuration), ``records`` (what happened to whom), ``ledgers``
(vendor deliveries, writeback field mappings) and ``rehearsals`` (rehearsal runs).
"""

from __future__ import annotations

from interviews.models.ledgers import (
    ResultField,
    VendorEvent,
    VendorEventStatus,
    WritebackFieldMapping,
)
from interviews.models.plans import (
    Competency,
    InterviewPlan,
    LaunchMode,
    MembershipSource,
    PlanStatus,
    RoleFamily,
    RoleFamilyMembership,
    Vendor,
    VendorKind,
    default_band_thresholds,
    validate_band_thresholds,
)
from interviews.models.records import (
    INTERVIEW_TRANSITIONS,
    CompetencyScore,
    Interview,
    InterviewResult,
    InterviewStatus,
    LaunchSkip,
    LaunchSkipReason,
    LaunchSource,
    ResultFlag,
    RetentionClass,
    ReviewReason,
    ReviewStatus,
    ReviewTask,
    stamp_current_result,
)
from interviews.models.rehearsals import (
    RehearsalCandidate,
    RehearsalOutcome,
    RehearsalRun,
    RehearsalStatus,
)

__all__ = [
    "INTERVIEW_TRANSITIONS",
    "Competency",
    "CompetencyScore",
    "Interview",
    "InterviewPlan",
    "InterviewResult",
    "InterviewStatus",
    "LaunchMode",
    "LaunchSkip",
    "LaunchSkipReason",
    "LaunchSource",
    "MembershipSource",
    "PlanStatus",
    "RehearsalCandidate",
    "RehearsalOutcome",
    "RehearsalRun",
    "RehearsalStatus",
    "ResultField",
    "ResultFlag",
    "RetentionClass",
    "ReviewReason",
    "ReviewStatus",
    "ReviewTask",
    "RoleFamily",
    "RoleFamilyMembership",
    "Vendor",
    "VendorEvent",
    "VendorEventStatus",
    "VendorKind",
    "WritebackFieldMapping",
    "default_band_thresholds",
    "stamp_current_result",
    "validate_band_thresholds",
]
