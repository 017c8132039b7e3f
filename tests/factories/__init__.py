"""factory_boy factories for every model, one module per app (plus users)."""

from __future__ import annotations

from .governance import (
    AuditEventFactory,
    DecisionFactory,
    LegalHoldFactory,
    RequisitionAccessFactory,
    RetentionPolicyFactory,
)
from .integrations import (
    DEFAULT_WEBHOOK_SECRET,
    ApplicationFactory,
    AtsConnectionFactory,
    CandidateFactory,
    InboundEventFactory,
    RequisitionFactory,
    SignatureFailureFactory,
    StageMappingFactory,
    UnmappedStageFactory,
    WritebackAttemptFactory,
    WritebackJobFactory,
)
from .interviews import (
    CompetencyFactory,
    CompetencyScoreFactory,
    InterviewFactory,
    InterviewPlanFactory,
    InterviewResultFactory,
    ReviewTaskFactory,
    RoleFamilyFactory,
    RoleFamilyMembershipFactory,
    band_for,
    is_borderline,
)
from .users import DEFAULT_PASSWORD, UserFactory

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_WEBHOOK_SECRET",
    "ApplicationFactory",
    "AtsConnectionFactory",
    "AuditEventFactory",
    "CandidateFactory",
    "CompetencyFactory",
    "CompetencyScoreFactory",
    "DecisionFactory",
    "InboundEventFactory",
    "InterviewFactory",
    "InterviewPlanFactory",
    "InterviewResultFactory",
    "LegalHoldFactory",
    "RequisitionAccessFactory",
    "RequisitionFactory",
    "RetentionPolicyFactory",
    "ReviewTaskFactory",
    "RoleFamilyFactory",
    "RoleFamilyMembershipFactory",
    "SignatureFailureFactory",
    "StageMappingFactory",
    "UnmappedStageFactory",
    "UserFactory",
    "WritebackAttemptFactory",
    "WritebackJobFactory",
    "band_for",
    "is_borderline",
]
