"""Go-live readiness: each checklist item on its own, the go-live service and its override."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from governance.calibration.models import CalibrationSession
from governance.models import AuditEvent, DataCategory, RetentionPolicy
from governance.roles import HIRING_OPS_ADMIN, RECRUITER
from integrations.models import Requisition, WritebackKind
from interviews.models import (
    Interview,
    InterviewPlan,
    PlanStatus,
    RehearsalRun,
    ResultField,
)
from interviews.readiness import (
    CHECKS,
    CheckResult,
    plan_data_categories,
    readiness_evaluate,
)
from interviews.services.golive import GoLiveRefusedError, plan_go_live
from tests.factories import (
    CompetencyFactory,
    InterviewPlanFactory,
    RehearsalCandidateFactory,
    RetentionPolicyFactory,
    UnmappedStageFactory,
    UserFactory,
    WritebackFieldMappingFactory,
)
from tests.interviews.conftest import Ready, calibrated, written

pytestmark = pytest.mark.django_db

NAMES = {
    "trigger_path_mapped": "Every stage on the trigger path is mapped",
    "field_mappings_rehearsed": "Every field mapping was exercised by a rehearsal",
    "retention_covers_artifacts": "Retention policies cover every artifact kind",
    "calibration_reached_agreement": "Calibration reached agreement on every competency",
    "jurisdictions_registered": "Jurisdiction requirements are registered",
    "pilot_metrics_sufficient": "Pilot metrics cover enough candidates",
}


def admin_user() -> Any:
    return UserFactory(groups=[HIRING_OPS_ADMIN])


# Each breaks exactly one item of a ready plan.
BREAKERS: dict[str, list[tuple[str, Callable[[Ready], None]]]] = {
    "trigger_path_mapped": [
        ("trigger-unmapped", lambda r: r.live.stage_mappings.all().delete()),
        ("stage-waiting", lambda r: UnmappedStageFactory(connection=r.live)),
    ],
    "field_mappings_rehearsed": [
        ("never-rehearsed", lambda r: RehearsalRun.objects.all().delete()),
        (
            "rejected-write",
            lambda r: RehearsalCandidateFactory(
                run=r.run,
                rejected=True,
                writebacks=[{"kind": "custom_fields", "target": "result", "payload": {}}],
                mappings=[{**written(r.mapping), "written": False, "problem": "no value"}],
            ),
        ),
        (
            "mapping-added-since",
            lambda r: WritebackFieldMappingFactory(
                connection=r.live,
                source=ResultField.OVERALL_SCORE,
                target_kind=WritebackKind.CUSTOM_FIELDS,
                target_key="ai_score",
            ),
        ),
        ("run-failed", lambda r: RehearsalRun.objects.update(status="failed")),
    ],
    "retention_covers_artifacts": [
        (
            "no-transcript-policy",
            lambda r: RetentionPolicy.objects.filter(data_category=DataCategory.TRANSCRIPT).update(
                active=False
            ),
        ),
    ],
}
BREAKERS["calibration_reached_agreement"] = [
    (
        "no-completed-session",
        lambda r: CalibrationSession.objects.update(status="open", closed_at=None),
    ),
    ("latest-session-disagrees", lambda r: calibrated(r.plan, agree=False)),
    ("competency-added-since", lambda r: CompetencyFactory(plan=r.plan, key="curiosity")),
]


def _located(ready: Ready, location: str, **plan_fields: Any) -> None:
    Requisition.objects.filter(connection=ready.live).update(location=location)
    InterviewPlan.objects.filter(pk=ready.plan.pk).update(**plan_fields)
    ready.plan.refresh_from_db()


BREAKERS["jurisdictions_registered"] = [
    ("illinois-without-consent", lambda r: _located(r, "Chicago, IL", required_consents=[])),
    ("nyc-without-bias-audit", lambda r: _located(r, "New York, NY")),
]
BREAKERS["pilot_metrics_sufficient"] = [
    (
        "too-few-pilot-interviews",
        lambda r: Interview.objects.filter(plan=r.plan).update(status="cancelled"),
    ),
]
CASES = [(key, label, breaker) for key, items in BREAKERS.items() for label, breaker in items]


def test_a_ready_plan_passes_every_check(ready: Ready) -> None:
    readiness = readiness_evaluate(ready.plan)

    assert [r.key for r in readiness.results] == [check.__name__ for check in CHECKS]
    assert readiness.passed, readiness.summary()
    assert set(NAMES) == {r.key for r in readiness.results}


@pytest.mark.parametrize(("key", "label", "breaker"), CASES, ids=[c[1] for c in CASES])
def test_each_item_failing_on_its_own_is_the_only_failure(
    ready: Ready, key: str, label: str, breaker: Callable[[Ready], None]
) -> None:
    breaker(ready)

    readiness = readiness_evaluate(ready.plan)

    assert [r.key for r in readiness.failing] == [key]
    assert NAMES[key] in readiness.summary()


@pytest.mark.parametrize(("key", "label", "breaker"), CASES, ids=[c[1] for c in CASES])
def test_each_item_failing_on_its_own_blocks_going_live_by_name(
    ready: Ready, key: str, label: str, breaker: Callable[[Ready], None]
) -> None:
    breaker(ready)

    with pytest.raises(GoLiveRefusedError) as refused:
        plan_go_live(plan=ready.plan, actor=admin_user())

    assert NAMES[key] in str(refused.value)
    others = set(NAMES.values()) - {NAMES[key]}
    assert not any(name in str(refused.value) for name in others)
    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.PILOT
    assert not AuditEvent.objects.filter(action__startswith="plan.go_live").exists()


def test_without_a_live_connection_the_connection_checks_say_so(role_groups: None) -> None:
    plan = InterviewPlanFactory(status=PlanStatus.PILOT)

    readiness = readiness_evaluate(plan)

    failing = {r.key: r.message for r in readiness.failing}
    assert "No live ATS connection" in failing["trigger_path_mapped"]
    assert "No live ATS connection" in failing["field_mappings_rehearsed"]


def test_a_family_policy_covers_as_well_as_a_global_one(ready: Ready) -> None:
    RetentionPolicy.objects.filter(data_category=DataCategory.TRANSCRIPT).delete()
    RetentionPolicyFactory(
        data_category=DataCategory.TRANSCRIPT, role_family=ready.plan.role_family
    )

    assert readiness_evaluate(ready.plan).passed


def test_declared_vendor_artifacts_decide_the_categories(ready: Ready) -> None:
    vendor = ready.plan.vendor
    vendor.settings = {"artifacts": ["recording"]}
    vendor.save()

    categories = plan_data_categories(ready.plan)

    assert "recording" in categories
    assert "transcript" not in categories
    readiness = readiness_evaluate(ready.plan)
    assert [r.key for r in readiness.failing] == ["retention_covers_artifacts"]
    assert "Recordings" in readiness.failing[0].details[0]


def test_a_check_that_crashes_counts_as_failed(ready: Ready) -> None:
    def broken(plan: InterviewPlan) -> CheckResult:
        raise RuntimeError("boom")

    readiness = readiness_evaluate(ready.plan, [*CHECKS, broken])

    assert [r.key for r in readiness.failing] == ["broken"]
    assert "boom" in readiness.failing[0].message


# -- going live --------------------------------------------------------------------------------


def test_a_ready_pilot_plan_goes_live_and_it_is_audited(ready: Ready) -> None:
    user = admin_user()

    plan_go_live(plan=ready.plan, actor=user)

    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.LIVE
    event = AuditEvent.objects.get(action="plan.go_live")
    assert event.actor == user
    assert event.object_id == str(ready.plan.pk)
    assert event.changes["override_reason"] is None
    assert event.changes["failing"] == []


def test_an_admin_goes_live_anyway_with_a_written_reason_and_it_is_audited(ready: Ready) -> None:
    ready.live.stage_mappings.all().delete()
    user = admin_user()
    reason = "Board approved a two-week live trial while the ATS stage is renamed."

    plan_go_live(plan=ready.plan, actor=user, override_reason=f"  {reason}  ")

    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.LIVE
    event = AuditEvent.objects.get(action="plan.go_live_override")
    assert event.actor == user
    assert event.changes["override_reason"] == reason
    assert event.changes["failing"] == [NAMES["trigger_path_mapped"]]
    assert event.changes["checks"]["trigger_path_mapped"] is False


@pytest.mark.parametrize("reason", ["", "   ", "too short"])
def test_an_override_needs_a_real_reason(ready: Ready, reason: str) -> None:
    ready.live.stage_mappings.all().delete()

    with pytest.raises(GoLiveRefusedError):
        plan_go_live(plan=ready.plan, actor=admin_user(), override_reason=reason)

    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.PILOT
    assert not AuditEvent.objects.filter(action__startswith="plan.go_live").exists()


def test_only_hiring_ops_admins_go_live(ready: Ready) -> None:
    with pytest.raises(GoLiveRefusedError, match="hiring-ops admins"):
        plan_go_live(plan=ready.plan, actor=UserFactory(groups=[RECRUITER]))

    ready.plan.refresh_from_db()
    assert ready.plan.status == PlanStatus.PILOT


@pytest.mark.parametrize("status", [PlanStatus.DRAFT, PlanStatus.PAUSED, PlanStatus.LIVE])
def test_only_a_pilot_plan_goes_live(ready: Ready, status: str) -> None:
    InterviewPlan.objects.filter(pk=ready.plan.pk).update(status=status)

    with pytest.raises(GoLiveRefusedError, match="Only a pilot plan"):
        plan_go_live(
            plan=ready.plan, actor=admin_user(), override_reason="A long enough reason here."
        )

    ready.plan.refresh_from_db()
    assert ready.plan.status == status


def test_registered_jurisdictions_pass(ready: Ready) -> None:
    from django.utils import timezone

    from tests.factories import BiasAuditFactory

    def jurisdiction() -> CheckResult:
        results = readiness_evaluate(ready.plan).results
        return next(r for r in results if r.key == "jurisdictions_registered")

    vendor = ready.plan.vendor
    vendor.model_version = "screen-2026.1"
    vendor.save()
    BiasAuditFactory(vendor=vendor, tool_version="screen-2026.1", audit_date=timezone.localdate())
    _located(ready, "Chicago, IL", required_consents=["ai_interview"])

    result = next(
        r for r in readiness_evaluate(ready.plan).results if r.key == "jurisdictions_registered"
    )
    assert result.passed, result.details
    assert "il: 1" in result.message

    _located(ready, "New York, NY")
    result = next(
        r for r in readiness_evaluate(ready.plan).results if r.key == "jurisdictions_registered"
    )
    assert result.passed, result.details
    assert "nyc: 1" in result.message


def test_pilot_metrics_are_shown_beside_the_baseline(ready: Ready) -> None:
    result = next(
        r for r in readiness_evaluate(ready.plan).results if r.key == "pilot_metrics_sufficient"
    )
    assert result.passed
    assert result.message.startswith("4 completed pilot interviews (minimum 2)")
    assert any(d.startswith("Completion: 100.0 % (4 of 4 invited)") for d in result.details)
    assert any("vs baseline" in d for d in result.details)
