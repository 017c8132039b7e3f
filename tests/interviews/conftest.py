"""Shared fixtures of the interviews tests: a plan ready to go live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from integrations.models import AtsConnection, CanonicalStage, ConnectionMode, WritebackKind
from interviews.models import (
    InterviewPlan,
    PlanStatus,
    RehearsalCandidate,
    RehearsalRun,
    ResultField,
    WritebackFieldMapping,
)
from interviews.readiness import plan_data_categories
from interviews.services.writeback import mapping_signature
from tests.factories import (
    AtsConnectionFactory,
    CalibrationItemFactory,
    CalibrationRatingFactory,
    CalibrationSessionFactory,
    CompetencyFactory,
    InterviewPlanFactory,
    RehearsalCandidateFactory,
    RehearsalRunFactory,
    RequisitionFactory,
    RetentionPolicyFactory,
    RoleFamilyMembershipFactory,
    StageMappingFactory,
    UserFactory,
    WritebackFieldMappingFactory,
)


@dataclass
class Ready:
    plan: InterviewPlan
    live: AtsConnection
    mapping: WritebackFieldMapping
    run: RehearsalRun
    row: RehearsalCandidate


def calibrated(plan: InterviewPlan, *, agree: bool = True, when: Any = None) -> Any:
    """A completed calibration session on ``plan``: two reviewers rate four results on every
    competency, identically (alpha 1.0) or with the second reversing the first (alpha < 0)."""
    from django.utils import timezone

    from governance.roles import RECRUITER

    competencies = list(plan.competencies.all()) or [
        CompetencyFactory(plan=plan, key=key, name=key.title(), position=n)
        for n, key in enumerate(("empathy", "clarity"))
    ]
    reviewers = [UserFactory(groups=[RECRUITER]) for _ in range(2)]
    session = CalibrationSessionFactory(
        plan=plan,
        panelists=reviewers,
        status="complete",
        closed_at=when or timezone.now(),
    )
    first = [1, 2, 4, 5]
    second = first if agree else list(reversed(first))
    for position in range(4):
        # Results without artifact links, so the plan's data categories stay the fixture's.
        item = CalibrationItemFactory(
            session=session,
            position=position + 1,
            result__transcript_url="",
            result__recording_url="",
            result__report_url="",
        )
        for competency in competencies:
            for reviewer, scores in zip(reviewers, (first, second), strict=True):
                CalibrationRatingFactory(
                    item=item, competency=competency, reviewer=reviewer, score=scores[position]
                )
    return session


def written(mapping: WritebackFieldMapping) -> dict[str, Any]:
    return {
        "mapping": str(mapping),
        "signature": list(mapping_signature(mapping)),
        "written": True,
        "problem": "",
    }


@pytest.fixture
def ready(role_groups: None, settings: Any) -> Ready:
    """A pilot plan for which every check passes (its calibration results are also its
    completed pilot interviews; two are required here)."""
    settings.SCREENBRIDGE_GO_LIVE_MIN_PILOT = 2
    plan = InterviewPlanFactory(status=PlanStatus.PILOT)
    live = AtsConnectionFactory(mode=ConnectionMode.LIVE, name="Acme Greenhouse")
    requisition = RequisitionFactory(connection=live, location="Austin, TX")
    RoleFamilyMembershipFactory(requisition=requisition, role_family=plan.role_family)
    StageMappingFactory(connection=live, canonical_stage=CanonicalStage.AUTOMATED_INTERVIEW)
    mapping = WritebackFieldMappingFactory(
        connection=live,
        source=ResultField.BAND,
        target_kind=WritebackKind.CUSTOM_FIELDS,
        target_key="ai_band",
    )
    run = RehearsalRunFactory(plan=plan, mirrored_connection=live)
    row = RehearsalCandidateFactory(
        run=run,
        writebacks=[{"kind": "custom_fields", "target": "result", "payload": {}}],
        mappings=[written(mapping)],
    )
    for category in plan_data_categories(plan):
        RetentionPolicyFactory(data_category=category)
    calibrated(plan)
    return Ready(plan, live, mapping, run, row)
