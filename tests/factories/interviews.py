"""Role families, interview plans, interviews, results and the review queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from integrations.models import CanonicalStage, WritebackKind
from interviews.models import (
    Competency,
    CompetencyScore,
    Interview,
    InterviewPlan,
    InterviewResult,
    InterviewStatus,
    LaunchSkip,
    LaunchSkipReason,
    PlanStatus,
    RehearsalCandidate,
    RehearsalRun,
    ResultField,
    ResultFlag,
    ReviewReason,
    ReviewStatus,
    ReviewTask,
    RoleFamily,
    RoleFamilyMembership,
    Vendor,
    VendorEvent,
    VendorEventStatus,
    VendorKind,
    WritebackFieldMapping,
)
from interviews.scoring import band_for, is_borderline

from .integrations import ApplicationFactory, AtsConnectionFactory, RequisitionFactory

# The Standard Webhooks secret of factory-made vendors.
DEFAULT_VENDOR_SECRET = "whsec_ZmFjdG9yeS12ZW5kb3Itc2VjcmV0LWtleQ=="


class RoleFamilyFactory(DjangoModelFactory[RoleFamily]):
    class Meta:
        model = RoleFamily

    slug = factory.Sequence(lambda n: f"role-family-{n}")
    name = factory.Sequence(lambda n: f"Role family {n}")
    description = "Requisitions that share one automated interview."
    department_rule = ""
    title_pattern = ""


class RoleFamilyMembershipFactory(DjangoModelFactory[RoleFamilyMembership]):
    class Meta:
        model = RoleFamilyMembership

    requisition = factory.SubFactory(RequisitionFactory)
    role_family = factory.SubFactory(RoleFamilyFactory)


class VendorFactory(DjangoModelFactory[Vendor]):
    """A generic HTTP vendor with a Standard Webhooks secret for its callbacks."""

    class Meta:
        model = Vendor
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"vendor-{n}")
    name = factory.Sequence(lambda n: f"Interview vendor {n}")
    kind = VendorKind.GENERIC_HTTP
    base_url = "https://vendor.example/api"

    @factory.post_generation
    def webhook_secret(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        secret = DEFAULT_VENDOR_SECRET if extracted is None else extracted
        self.set_webhook_secret(secret)
        if create:
            self.save(update_fields=["webhook_secret_encrypted"])


class InterviewPlanFactory(DjangoModelFactory[InterviewPlan]):
    """A *live* plan (launches interviews) with the default band thresholds."""

    class Meta:
        model = InterviewPlan

    role_family = factory.SubFactory(RoleFamilyFactory)
    name = factory.LazyAttribute(lambda o: f"{o.role_family.name} screen")
    trigger_stage = CanonicalStage.AUTOMATED_INTERVIEW
    vendor = factory.SubFactory(VendorFactory)
    vendor_test_id = factory.Sequence(lambda n: f"test-{n}")
    status = PlanStatus.LIVE
    activated_at = factory.LazyFunction(timezone.now)


class CompetencyFactory(DjangoModelFactory[Competency]):
    class Meta:
        model = Competency

    plan = factory.SubFactory(InterviewPlanFactory)
    key = factory.Sequence(lambda n: f"competency-{n}")
    name = factory.Sequence(lambda n: f"Competency {n}")
    weight = Decimal("1.00")
    rubric_anchors = factory.LazyFunction(
        lambda: {
            "1": "No relevant example, or the example contradicts the skill.",
            "3": "A relevant example with some specifics about their own actions.",
            "5": "Several specific examples with clear actions, reasoning and outcomes.",
        }
    )
    position = factory.Sequence(int)


class InterviewFactory(DjangoModelFactory[Interview]):
    """A pending interview of an application in the plan's trigger stage.

    Traits ``invited``, ``started`` and ``completed`` fill in a consistent timeline.
    The requisition joins the plan's role family unless it already belongs to one
    (``membership=False`` skips that).
    """

    class Meta:
        model = Interview
        skip_postgeneration_save = True

    class Params:
        invited = factory.Trait(
            status=InterviewStatus.INVITED,
            vendor_reference=factory.Sequence(lambda n: f"vendor-ref-{n}"),
            invite_url=factory.LazyAttribute(
                lambda o: f"https://vendor.example/i/{o.vendor_reference}"
            ),
            invited_at=factory.LazyAttribute(
                lambda o: o.stage_entered_at + dt.timedelta(minutes=5)
            ),
            expires_at=factory.LazyAttribute(
                lambda o: o.invited_at + dt.timedelta(days=o.plan.expiry_days)
            ),
        )
        started = factory.Trait(
            invited=True,
            status=InterviewStatus.STARTED,
            started_at=factory.LazyAttribute(lambda o: o.invited_at + dt.timedelta(hours=2)),
        )
        completed = factory.Trait(
            started=True,
            status=InterviewStatus.COMPLETED,
            completed_at=factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(minutes=25)),
            ended_at=factory.SelfAttribute("completed_at"),
        )

    application = factory.SubFactory(
        ApplicationFactory,
        canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW,
        remote_stage_name="Automated Interview",
    )
    plan = factory.SubFactory(InterviewPlanFactory)
    status = InterviewStatus.PENDING
    vendor = factory.SelfAttribute("plan.vendor")
    stage_entered_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=2))

    @factory.post_generation
    def membership(self, create: bool, extracted: bool | None, **kwargs: Any) -> None:
        if not create or extracted is False:
            return
        RoleFamilyMembership.objects.get_or_create(
            requisition=self.application.requisition,
            defaults={"role_family": self.plan.role_family},
        )


class InterviewResultFactory(DjangoModelFactory[InterviewResult]):
    """Current result of a completed interview; band and borderline flag follow the score."""

    class Meta:
        model = InterviewResult

    interview = factory.SubFactory(InterviewFactory, completed=True)
    version = 1
    is_current = True
    score = Decimal("72.00")
    band_thresholds = factory.LazyAttribute(lambda o: list(o.interview.plan.band_thresholds))
    band = factory.LazyAttribute(lambda o: band_for(Decimal(str(o.score)), o.band_thresholds))
    flags = factory.LazyAttribute(
        lambda o: (
            [ResultFlag.BORDERLINE.value]
            if is_borderline(
                Decimal(str(o.score)), o.band_thresholds, o.interview.plan.borderline_margin
            )
            else []
        )
    )
    confidence = 0.9
    summary_bullets = factory.LazyFunction(
        lambda: [
            "Described calming an upset customer by restating the problem and a clear next step.",
            "Explained a prioritisation choice with the trade-off it accepted.",
        ]
    )
    transcript_url = factory.LazyAttribute(
        lambda o: f"https://vendor.example/transcripts/{o.interview.vendor_reference or 'x'}"
    )
    report_url = factory.LazyAttribute(
        lambda o: f"https://vendor.example/reports/{o.interview.vendor_reference or 'x'}"
    )
    raw_payload = factory.LazyAttribute(lambda o: {"score": str(o.score)})


class CompetencyScoreFactory(DjangoModelFactory[CompetencyScore]):
    """A subscore for a competency of the result's own plan."""

    class Meta:
        model = CompetencyScore

    result = factory.SubFactory(InterviewResultFactory)
    competency = factory.SubFactory(
        CompetencyFactory, plan=factory.SelfAttribute("..result.interview.plan")
    )
    score = Decimal("70.00")
    evidence = "Gave a concrete example with the steps they took and the outcome."


def _current_result(interview: Interview) -> InterviewResult | None:
    if interview.pk is None:
        return None
    return interview.results.filter(is_current=True).first()


class ReviewTaskFactory(DjangoModelFactory[ReviewTask]):
    """An open borderline review of an interview's current result (made if it has none)."""

    class Meta:
        model = ReviewTask

    class Params:
        current_result = factory.LazyAttribute(lambda o: _current_result(o.interview))

    interview = factory.SubFactory(InterviewFactory, completed=True)
    result = factory.Maybe(
        "current_result",
        yes_declaration=factory.SelfAttribute("current_result"),
        no_declaration=factory.SubFactory(
            InterviewResultFactory,
            interview=factory.SelfAttribute("..interview"),
            score=Decimal("66.00"),
        ),
    )
    reason = ReviewReason.BORDERLINE
    detail = "Score within the borderline margin of a band cut."
    status = ReviewStatus.OPEN


class LaunchSkipFactory(DjangoModelFactory[LaunchSkip]):
    class Meta:
        model = LaunchSkip

    application = factory.SubFactory(ApplicationFactory)
    plan = factory.SubFactory(InterviewPlanFactory, status=PlanStatus.PAUSED)
    reason = LaunchSkipReason.PLAN_PAUSED
    detail = "The plan is paused."


class VendorEventFactory(DjangoModelFactory[VendorEvent]):
    class Meta:
        model = VendorEvent

    vendor = factory.SubFactory(VendorFactory)
    delivery_id = factory.Sequence(lambda n: f"msg_{n:06d}")
    event_type = "interview.completed"
    raw_body = "{}"
    headers = factory.LazyFunction(lambda: {"content-type": "application/json"})
    status = VendorEventStatus.RECEIVED


class WritebackFieldMappingFactory(DjangoModelFactory[WritebackFieldMapping]):
    class Meta:
        model = WritebackFieldMapping

    connection = factory.SubFactory(AtsConnectionFactory)
    source = ResultField.BAND
    target_kind = WritebackKind.CUSTOM_FIELDS
    target_key = factory.Sequence(lambda n: f"ai_interview_band_{n}")


class RehearsalRunFactory(DjangoModelFactory[RehearsalRun]):
    class Meta:
        model = RehearsalRun

    plan = factory.SubFactory(InterviewPlanFactory)
    connection = factory.SubFactory(AtsConnectionFactory, mode="sandbox")
    vendor = factory.SubFactory(
        VendorFactory, kind=VendorKind.REHEARSAL, base_url="", webhook_secret=""
    )
    status = "completed"
    candidates_requested = 1
    finished_at = factory.LazyFunction(timezone.now)


class RehearsalCandidateFactory(DjangoModelFactory[RehearsalCandidate]):
    class Meta:
        model = RehearsalCandidate

    run = factory.SubFactory(RehearsalRunFactory)
    position = factory.Sequence(lambda n: n + 1)
    name = "Amara Okafor"
    sample = "proceed"
    outcome = "completed"
    score = Decimal("72.00")
    band = "proceed"
    band_reasoning = "72 ≥ 65 (proceed); strong needs 80"
