"""Decisions, audit events, retention rules, legal holds and requisition access grants."""

from __future__ import annotations

import datetime as dt
import hashlib

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from governance import roles
from governance.calibration.models import (
    CalibrationItem,
    CalibrationRating,
    CalibrationSession,
    CalibrationStatus,
)
from governance.demographics import (
    CandidateDemographics,
    DemographicsSource,
    Ethnicity,
    Race,
    Sex,
)
from governance.models import (
    AccessRole,
    ApiToken,
    AuditEvent,
    BiasAudit,
    ConsentDecision,
    ConsentRecord,
    DataCategory,
    DataRequest,
    DataRequestBasis,
    DataRequestSource,
    Decision,
    DecisionOutcome,
    DeletionReceipt,
    Jurisdiction,
    LegalHold,
    NoticeChannel,
    NoticeRecord,
    OverrideReason,
    ReceiptSource,
    RequisitionAccess,
    RetentionAction,
    RetentionPolicy,
    RoleFamilyAccess,
    StopScope,
    StopSwitch,
)

from .integrations import CandidateFactory, RequisitionFactory
from .interviews import (
    CompetencyFactory,
    InterviewPlanFactory,
    InterviewResultFactory,
    RoleFamilyFactory,
    VendorFactory,
)
from .users import UserFactory


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class DecisionFactory(DjangoModelFactory[Decision]):
    """A recruiter's decision that follows the band; the ``override`` trait departs from it."""

    class Meta:
        model = Decision

    class Params:
        override = factory.Trait(
            is_override=True,
            recommended_outcome=factory.LazyAttribute(
                lambda o: (
                    DecisionOutcome.HOLD
                    if o.outcome != DecisionOutcome.HOLD
                    else DecisionOutcome.ADVANCE
                )
            ),
            override_reason=OverrideReason.ADDITIONAL_EVIDENCE,
            override_text="Reference call confirmed escalation skills the interview missed.",
        )

    result = factory.SubFactory(InterviewResultFactory)
    application = factory.SelfAttribute("result.interview.application")
    decided_by = factory.SubFactory(UserFactory, groups=[roles.RECRUITER])
    outcome = DecisionOutcome.ADVANCE
    recommended_outcome = factory.SelfAttribute("outcome")
    is_override = False
    override_reason = ""
    override_text = ""


class AuditEventFactory(DjangoModelFactory[AuditEvent]):
    """An audit row with unique, well-formed (but not chained) hashes."""

    class Meta:
        model = AuditEvent

    occurred_at = factory.LazyFunction(timezone.now)
    actor = factory.SubFactory(UserFactory)
    actor_label = factory.LazyAttribute(lambda o: o.actor.username if o.actor else "system:test")
    action = "result.viewed"
    object_type = "interviews.InterviewResult"
    object_id = factory.Sequence(str)
    object_repr = factory.LazyAttribute(lambda o: f"Result {o.object_id}")
    changes = factory.LazyFunction(dict)
    request_id = factory.Sequence(lambda n: f"req-{n:08d}")
    prev_hash = factory.Sequence(lambda n: _sha256(f"audit-event-{n - 1}"))
    hash = factory.Sequence(lambda n: _sha256(f"audit-event-{n}"))


class RetentionPolicyFactory(DjangoModelFactory[RetentionPolicy]):
    """A global policy; categories cycle so a few can coexist (one active per category)."""

    class Meta:
        model = RetentionPolicy

    name = factory.LazyAttribute(lambda o: f"Keep {o.data_category} {o.retention_days} days")
    data_category = factory.Iterator(DataCategory.values)
    role_family = None
    retention_days = 365
    action = RetentionAction.DELETE
    active = True


class LegalHoldFactory(DjangoModelFactory[LegalHold]):
    class Meta:
        model = LegalHold

    reason = "Pending litigation: preserve all screening records."
    candidate = factory.SubFactory(CandidateFactory)
    requisition = None
    placed_by = factory.SubFactory(UserFactory, groups=[roles.HIRING_OPS_ADMIN])


class RequisitionAccessFactory(DjangoModelFactory[RequisitionAccess]):
    """A recruiter grant; ``role=AccessRole.HIRING_MANAGER`` makes the new user a hiring manager."""

    class Meta:
        model = RequisitionAccess

    class Params:
        is_hiring_manager = factory.LazyAttribute(lambda o: o.role == AccessRole.HIRING_MANAGER)

    user = factory.Maybe(
        "is_hiring_manager",
        yes_declaration=factory.SubFactory(UserFactory, groups=[roles.HIRING_MANAGER]),
        no_declaration=factory.SubFactory(UserFactory, groups=[roles.RECRUITER]),
    )
    requisition = factory.SubFactory(RequisitionFactory)
    role = AccessRole.RECRUITER


class StopSwitchFactory(DjangoModelFactory[StopSwitch]):
    """An active stop switch on one plan (``scope=StopScope.GLOBAL, plan=None`` for all)."""

    class Meta:
        model = StopSwitch

    scope = StopScope.PLAN
    plan = factory.SubFactory(InterviewPlanFactory)
    reason = "Vendor outage: pausing all automated interviews."
    switched_on_by = factory.SubFactory(UserFactory, groups=[roles.HIRING_OPS_ADMIN])


class RoleFamilyAccessFactory(DjangoModelFactory[RoleFamilyAccess]):
    """A recruiter granted every requisition of one role family."""

    class Meta:
        model = RoleFamilyAccess

    user = factory.SubFactory(UserFactory, groups=[roles.RECRUITER])
    role_family = factory.SubFactory(RoleFamilyFactory)


class CalibrationSessionFactory(DjangoModelFactory[CalibrationSession]):
    """An open session of one plan; ``panelists=[...]`` sets the reviewers."""

    class Meta:
        model = CalibrationSession
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Calibration round {n}")
    plan = factory.SubFactory(InterviewPlanFactory)
    created_by = factory.SubFactory(UserFactory, groups=[roles.HIRING_OPS_ADMIN])
    status = CalibrationStatus.OPEN

    @factory.post_generation
    def panelists(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.panelists.set(extracted)


class CalibrationItemFactory(DjangoModelFactory[CalibrationItem]):
    """One result of the session's plan, numbered in sequence."""

    class Meta:
        model = CalibrationItem

    session = factory.SubFactory(CalibrationSessionFactory)
    result = factory.SubFactory(
        InterviewResultFactory, interview__plan=factory.SelfAttribute("...session.plan")
    )
    position = factory.Sequence(lambda n: n + 1)


class CalibrationRatingFactory(DjangoModelFactory[CalibrationRating]):
    """A recruiter's score of one competency of the item's plan (scale 1–5)."""

    class Meta:
        model = CalibrationRating

    item = factory.SubFactory(CalibrationItemFactory)
    competency = factory.SubFactory(
        CompetencyFactory, plan=factory.SelfAttribute("..item.session.plan")
    )
    reviewer = factory.SubFactory(UserFactory, groups=[roles.RECRUITER])
    score = 3
    seconds_spent = 95


class CandidateDemographicsFactory(DjangoModelFactory[CandidateDemographics]):
    """A candidate who self-identified as a White (not Hispanic or Latino) woman."""

    class Meta:
        model = CandidateDemographics

    candidate = factory.SubFactory(CandidateFactory)
    sex = Sex.FEMALE
    hispanic_or_latino = Ethnicity.NOT_HISPANIC_OR_LATINO
    race = Race.WHITE
    source = DemographicsSource.CSV_IMPORT


class DataRequestFactory(DjangoModelFactory[DataRequest]):
    """An open erasure request received today (company-policy basis: 30 days)."""

    class Meta:
        model = DataRequest

    candidate = factory.SubFactory(CandidateFactory)
    source = DataRequestSource.CANDIDATE_EMAIL
    basis = DataRequestBasis.OTHER
    reference = factory.Sequence(lambda n: f"TICKET-{n}")
    received_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyAttribute(lambda o: o.received_at + dt.timedelta(days=30))


class DeletionReceiptFactory(DjangoModelFactory[DeletionReceipt]):
    """A purge receipt of one batch of recordings."""

    class Meta:
        model = DeletionReceipt

    source = ReceiptSource.PURGE
    data_category = DataCategory.RECORDING
    policy_label = "Recordings: 90 days after requisition close (all role families)"
    count = 10


class ConsentRecordFactory(DjangoModelFactory[ConsentRecord]):
    """An Illinois consent to the AI interview, given an hour ago."""

    class Meta:
        model = ConsentRecord

    candidate = factory.SubFactory(CandidateFactory)
    jurisdiction = Jurisdiction.IL
    decision = ConsentDecision.GIVEN
    explanation_version = "ai-explainer-v1"
    recorded_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))


class NoticeRecordFactory(DjangoModelFactory[NoticeRecord]):
    """An NYC AEDT notice e-mailed three weeks ago."""

    class Meta:
        model = NoticeRecord

    candidate = factory.SubFactory(CandidateFactory)
    jurisdiction = Jurisdiction.NYC
    channel = NoticeChannel.EMAIL
    sent_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=21))


class BiasAuditFactory(DjangoModelFactory[BiasAudit]):
    """A bias audit of the vendor's current tool version, dated 30 days ago."""

    class Meta:
        model = BiasAudit

    vendor = factory.SubFactory(VendorFactory, model_version="v1")
    tool_version = factory.LazyAttribute(lambda o: o.vendor.model_version or "v1")
    audit_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    auditor = "Independent Audits LLC"
    summary_url = "https://careers.example/ai-bias-audit-2026.pdf"


class ApiTokenFactory(DjangoModelFactory[ApiToken]):
    """A user's API token; the key is ``key-<n>`` (only its hash is stored, as in production)."""

    class Meta:
        model = ApiToken

    class Params:
        key = factory.Sequence(lambda n: f"key-{n:04d}-for-tests")

    user = factory.SubFactory(UserFactory)
    key_hash = factory.LazyAttribute(lambda o: _sha256(o.key))
    key_prefix = factory.LazyAttribute(lambda o: o.key[:8])
