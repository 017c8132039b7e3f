"""Every factory makes a row that the model's own validation accepts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from governance import roles
from governance.models import AccessRole, DecisionOutcome
from integrations.models import StageMapping
from interviews.models import InterviewStatus, ResultFlag
from tests import factories as f

pytestmark = pytest.mark.django_db

ALL_FACTORIES = [
    f.UserFactory,
    f.AtsConnectionFactory,
    f.CandidateFactory,
    f.ApplicationStageChangeFactory,
    f.RequisitionFactory,
    f.ApplicationFactory,
    f.StageMappingFactory,
    f.InboundEventFactory,
    f.WritebackJobFactory,
    f.WritebackAttemptFactory,
    f.SignatureFailureFactory,
    f.UnmappedStageFactory,
    f.RoleFamilyFactory,
    f.RoleFamilyMembershipFactory,
    f.InterviewPlanFactory,
    f.CompetencyFactory,
    f.InterviewFactory,
    f.InterviewResultFactory,
    f.CompetencyScoreFactory,
    f.ReviewTaskFactory,
    f.DecisionFactory,
    f.AuditEventFactory,
    f.RetentionPolicyFactory,
    f.LegalHoldFactory,
    f.RequisitionAccessFactory,
    f.RoleFamilyAccessFactory,
    f.StopSwitchFactory,
    f.LaunchSkipFactory,
    f.VendorEventFactory,
    f.VendorFactory,
    f.WritebackFieldMappingFactory,
    f.RehearsalRunFactory,
    f.RehearsalCandidateFactory,
    f.CalibrationSessionFactory,
    f.CalibrationItemFactory,
    f.CalibrationRatingFactory,
    f.CandidateDemographicsFactory,
    f.DataRequestFactory,
    f.DeletionReceiptFactory,
    f.ConsentRecordFactory,
    f.NoticeRecordFactory,
    f.BiasAuditFactory,
    f.ApiTokenFactory,
]


def test_every_model_has_a_factory() -> None:
    from django.apps import apps

    ours = {
        model
        for app in ("integrations", "interviews", "governance")
        for model in apps.get_app_config(app).get_models()
    }
    covered = {factory._meta.model for factory in ALL_FACTORIES}
    assert ours - covered == set()


@pytest.mark.parametrize("factory", ALL_FACTORIES, ids=lambda factory: factory.__name__)
def test_factory_creates_a_valid_row(factory: type) -> None:
    first = factory.create()
    second = factory.create()  # a second row must not collide on any unique field
    assert first.pk != second.pk

    for instance in (first, second):
        instance.refresh_from_db()
        instance.full_clean()


def test_user_factory_puts_user_in_role_groups() -> None:
    user = f.UserFactory(groups=[roles.RECRUITER, roles.AUDITOR])

    assert set(user.groups.values_list("name", flat=True)) == {roles.RECRUITER, roles.AUDITOR}
    assert user.check_password(f.DEFAULT_PASSWORD)
    assert f.UserFactory.DEFAULT_PASSWORD == f.DEFAULT_PASSWORD


def test_connection_factory_encrypts_the_webhook_secret() -> None:
    connection = f.AtsConnectionFactory(webhook_secret="s3cret-value")
    connection.refresh_from_db()

    assert connection.webhook_secret() == "s3cret-value"
    assert "s3cret-value" not in connection.webhook_secret_encrypted
    assert not f.AtsConnectionFactory(webhook_secret="").has_webhook_secret


def test_application_candidate_and_requisition_share_its_connection() -> None:
    application = f.ApplicationFactory()

    assert application.candidate.connection == application.connection
    assert application.requisition.connection == application.connection


def test_stage_mapping_factory_fills_the_normalized_name() -> None:
    mapping = f.StageMappingFactory(remote_stage_id="", remote_stage_name="  Phone   Screen ")

    assert StageMapping.objects.get(pk=mapping.pk).normalized_name == "phone screen"


def test_interview_traits_build_a_consistent_timeline() -> None:
    interview = f.InterviewFactory(completed=True)

    assert interview.status == InterviewStatus.COMPLETED
    assert interview.vendor == interview.plan.vendor
    assert interview.stage_entered_at < interview.invited_at < interview.started_at
    assert interview.started_at < interview.completed_at < interview.expires_at
    assert interview.application.requisition.role_family_membership.role_family == (
        interview.plan.role_family
    )


@pytest.mark.parametrize(
    ("score", "band", "flags"),
    [
        ("92.00", "strong", []),
        ("81.50", "strong", [ResultFlag.BORDERLINE]),
        ("72.00", "proceed", []),
        ("64.00", "borderline", [ResultFlag.BORDERLINE]),
        ("20.00", "insufficient_evidence", []),
        ("1.00", "insufficient_evidence", []),
    ],
)
def test_result_band_follows_the_default_thresholds(
    score: str, band: str, flags: list[str]
) -> None:
    result = f.InterviewResultFactory(score=Decimal(score))

    assert (result.band, result.flags) == (band, flags)


def test_review_tasks_of_one_interview_share_its_current_result() -> None:
    first = f.ReviewTaskFactory(status="done")
    second = f.ReviewTaskFactory(interview=first.interview)

    assert second.result == first.result
    assert first.interview.results.count() == 1


def test_decision_override_trait_is_consistent() -> None:
    plain = f.DecisionFactory()
    override = f.DecisionFactory(override=True, outcome=DecisionOutcome.DECLINE)

    assert (plain.is_override, plain.outcome == plain.recommended_outcome) == (False, True)
    assert override.is_override
    assert override.recommended_outcome == DecisionOutcome.HOLD
    override.full_clean()


def test_requisition_access_user_is_in_the_matching_group() -> None:
    manager = f.RequisitionAccessFactory(role=AccessRole.HIRING_MANAGER)
    recruiter = f.RequisitionAccessFactory()

    assert list(manager.user.groups.values_list("name", flat=True)) == [roles.HIRING_MANAGER]
    assert list(recruiter.user.groups.values_list("name", flat=True)) == [roles.RECRUITER]


def test_audit_event_hashes_are_hex_and_chained() -> None:
    first, second = f.AuditEventFactory(), f.AuditEventFactory()

    for event in (first, second):
        assert len(event.hash) == 64
        int(event.hash, 16)
    assert second.prev_hash == first.hash


def test_full_clean_catches_a_broken_override() -> None:
    decision = f.DecisionFactory.build(is_override=True, override_reason="", override_text="")

    with pytest.raises(ValidationError):
        decision.full_clean(exclude=["result", "application", "decided_by"])
