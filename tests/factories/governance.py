"""Decisions, audit events, retention rules, legal holds and requisition access grants."""

from __future__ import annotations

import hashlib

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from governance import roles
from governance.models import (
    AccessRole,
    ApiToken,
    AuditEvent,
    DataCategory,
    Decision,
    DecisionOutcome,
    LegalHold,
    OverrideReason,
    RequisitionAccess,
    RetentionAction,
    RetentionPolicy,
    RoleFamilyAccess,
    StopScope,
    StopSwitch,
)

from .integrations import CandidateFactory, RequisitionFactory
from .interviews import InterviewPlanFactory, InterviewResultFactory, RoleFamilyFactory
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


class ApiTokenFactory(DjangoModelFactory[ApiToken]):
    """A user's API token; the key is ``key-<n>`` (only its hash is stored, as in production)."""

    class Meta:
        model = ApiToken

    class Params:
        key = factory.Sequence(lambda n: f"key-{n:04d}-for-tests")

    user = factory.SubFactory(UserFactory)
    key_hash = factory.LazyAttribute(lambda o: _sha256(o.key))
    key_prefix = factory.LazyAttribute(lambda o: o.key[:8])
