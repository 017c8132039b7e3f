"""ATS connections, the synced mirror of ATS records, and the inbound/outbound ledgers."""

from __future__ import annotations

import json
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from integrations.models import (
    Application,
    ApplicationStageChange,
    AtsConnection,
    Candidate,
    CanonicalStage,
    ConnectionMode,
    InboundEvent,
    InboundEventStatus,
    Provider,
    Requisition,
    RequisitionStatus,
    SignatureFailure,
    StageMapping,
    UnmappedStage,
    WritebackAttempt,
    WritebackJob,
    WritebackKind,
    WritebackStatus,
)

# The webhook secret every factory-made connection has unless told otherwise.
DEFAULT_WEBHOOK_SECRET = "factory-webhook-secret"


class AtsConnectionFactory(DjangoModelFactory[AtsConnection]):
    """A sandbox Greenhouse connection with an encrypted webhook secret.

    ``webhook_secret=""`` leaves it without one; any other value is encrypted and stored.
    """

    class Meta:
        model = AtsConnection
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"connection-{n}")
    name = factory.LazyAttribute(lambda o: f"{o.provider.title()} {o.slug}")
    provider = Provider.GREENHOUSE
    mode = ConnectionMode.SANDBOX
    active = True

    @factory.post_generation
    def webhook_secret(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        self.set_webhook_secret(DEFAULT_WEBHOOK_SECRET if extracted is None else extracted)
        if create:
            self.save(update_fields=["webhook_secret_encrypted"])


class CandidateFactory(DjangoModelFactory[Candidate]):
    class Meta:
        model = Candidate

    connection = factory.SubFactory(AtsConnectionFactory)
    remote_id = factory.Sequence(lambda n: str(300000 + n))
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"candidate{n}@example.com")
    opted_out = False
    consents = factory.LazyFunction(lambda: ["ai_interview"])


class RequisitionFactory(DjangoModelFactory[Requisition]):
    class Meta:
        model = Requisition

    connection = factory.SubFactory(AtsConnectionFactory)
    remote_id = factory.Sequence(lambda n: str(4000 + n))
    title = factory.Faker("job")
    department = "Customer Experience"
    location = factory.Faker("city")
    status = RequisitionStatus.OPEN


class ApplicationFactory(DjangoModelFactory[Application]):
    """An application in Application Review; candidate and requisition share its connection."""

    class Meta:
        model = Application

    connection = factory.SubFactory(AtsConnectionFactory)
    remote_id = factory.Sequence(lambda n: str(500000 + n))
    candidate = factory.SubFactory(
        CandidateFactory, connection=factory.SelfAttribute("..connection")
    )
    requisition = factory.SubFactory(
        RequisitionFactory, connection=factory.SelfAttribute("..connection")
    )
    remote_stage_id = factory.Sequence(lambda n: str(71000 + n))
    remote_stage_name = "Application Review"
    canonical_stage = CanonicalStage.APPLICATION_REVIEW
    applied_at = factory.LazyFunction(timezone.now)
    stage_entered_at = factory.LazyAttribute(lambda o: o.applied_at)
    last_event_at = factory.LazyAttribute(lambda o: o.stage_entered_at)


class StageMappingFactory(DjangoModelFactory[StageMapping]):
    class Meta:
        model = StageMapping

    connection = factory.SubFactory(AtsConnectionFactory)
    remote_stage_id = factory.Sequence(lambda n: str(72000 + n))
    remote_stage_name = factory.Sequence(lambda n: f"Stage {n}")
    canonical_stage = CanonicalStage.APPLICATION_REVIEW


class InboundEventFactory(DjangoModelFactory[InboundEvent]):
    class Meta:
        model = InboundEvent

    connection = factory.SubFactory(AtsConnectionFactory)
    delivery_id = factory.Sequence(lambda n: f"delivery-{n}")
    action = "candidate_stage_change"
    raw_body = factory.LazyAttribute(
        lambda o: json.dumps({"action": o.action, "payload": {"application": {"id": 1}}})
    )
    headers = factory.LazyFunction(lambda: {"Content-Type": "application/json"})
    occurred_at = factory.LazyFunction(timezone.now)
    status = InboundEventStatus.RECEIVED


class WritebackJobFactory(DjangoModelFactory[WritebackJob]):
    """A pending custom-field write for an application on the same connection."""

    class Meta:
        model = WritebackJob

    connection = factory.SubFactory(AtsConnectionFactory)
    application = factory.SubFactory(
        ApplicationFactory, connection=factory.SelfAttribute("..connection")
    )
    kind = WritebackKind.CUSTOM_FIELDS
    target = "result"
    payload = factory.LazyFunction(
        lambda: {"custom_fields": [{"name_key": "ai_interview_status", "value": "Completed"}]}
    )
    status = WritebackStatus.PENDING
    next_attempt_at = factory.LazyFunction(timezone.now)


class WritebackAttemptFactory(DjangoModelFactory[WritebackAttempt]):
    class Meta:
        model = WritebackAttempt

    job = factory.SubFactory(WritebackJobFactory)
    attempt_number = factory.LazyAttribute(lambda o: o.job.attempt_log.count() + 1)
    status_code = 200
    latency_ms = 240
    succeeded = True
    error = ""


class SignatureFailureFactory(DjangoModelFactory[SignatureFailure]):
    class Meta:
        model = SignatureFailure

    connection = factory.SubFactory(AtsConnectionFactory)
    reason = "signature mismatch"
    remote_addr = "127.0.0.1"


class UnmappedStageFactory(DjangoModelFactory[UnmappedStage]):
    class Meta:
        model = UnmappedStage

    connection = factory.SubFactory(AtsConnectionFactory)
    remote_stage_id = factory.Sequence(lambda n: f"{80000 + n}")
    remote_stage_name = factory.Sequence(lambda n: f"Take Home Assignment {n}")
    seen_count = 1


class ApplicationStageChangeFactory(DjangoModelFactory[ApplicationStageChange]):
    class Meta:
        model = ApplicationStageChange

    application = factory.SubFactory(ApplicationFactory)
    from_stage = CanonicalStage.AUTOMATED_INTERVIEW
    to_stage = CanonicalStage.HIRING_MANAGER_REVIEW
    changed_at = factory.LazyFunction(timezone.now)
