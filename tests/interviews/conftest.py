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
    InterviewPlanFactory,
    RehearsalCandidateFactory,
    RehearsalRunFactory,
    RequisitionFactory,
    RetentionPolicyFactory,
    RoleFamilyMembershipFactory,
    StageMappingFactory,
    WritebackFieldMappingFactory,
)


@dataclass
class Ready:
    plan: InterviewPlan
    live: AtsConnection
    mapping: WritebackFieldMapping
    run: RehearsalRun
    row: RehearsalCandidate


def written(mapping: WritebackFieldMapping) -> dict[str, Any]:
    return {
        "mapping": str(mapping),
        "signature": list(mapping_signature(mapping)),
        "written": True,
        "problem": "",
    }


@pytest.fixture
def ready(role_groups: None) -> Ready:
    """A pilot plan for which every check passes."""
    plan = InterviewPlanFactory(status=PlanStatus.PILOT)
    live = AtsConnectionFactory(mode=ConnectionMode.LIVE, name="Acme Greenhouse")
    requisition = RequisitionFactory(connection=live)
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
    return Ready(plan, live, mapping, run, row)
