from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from governance.models import (
    AuditEvent,
    Decision,
    DecisionOutcome,
    ImmutableRecordError,
    LegalHold,
    OverrideReason,
)
from governance.roles import ALL_ROLES, user_roles
from tests.factories import (
    AuditEventFactory,
    DecisionFactory,
    InterviewResultFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_data_migration_creates_the_four_role_groups_with_permissions() -> None:
    groups = {g.name: g for g in Group.objects.filter(name__in=ALL_ROLES)}
    assert set(groups) == set(ALL_ROLES)
    admin_perms = set(groups["Hiring-ops admin"].permissions.values_list("codename", flat=True))
    assert {"change_atsconnection", "add_interviewplan", "change_retentionpolicy"} <= admin_perms
    auditor_perms = set(groups["Auditor"].permissions.values_list("codename", flat=True))
    assert "view_auditevent" in auditor_perms
    assert not any(p.startswith(("add_", "change_", "delete_")) for p in auditor_perms)
    # Auditors see metadata, not transcripts or recordings, unless granted.
    assert "view_transcript" not in auditor_perms
    manager_perms = set(groups["Hiring manager"].permissions.values_list("codename", flat=True))
    assert "view_transcript" not in manager_perms


def test_user_roles_come_from_groups() -> None:
    user = UserFactory(groups=["Recruiter", "Auditor"])
    assert user_roles(user) == {"recruiter", "auditor"}
    assert user_roles(UserFactory()) == frozenset()


def _decision_kwargs(**overrides):
    result = InterviewResultFactory()
    values = {
        "result": result,
        "application": result.interview.application,
        "decided_by": UserFactory(),
        "outcome": DecisionOutcome.ADVANCE,
        "recommended_outcome": DecisionOutcome.HOLD,
        "is_override": True,
        "override_reason": OverrideReason.ADDITIONAL_EVIDENCE,
        "override_text": "Portfolio shows strong escalation handling.",
    }
    values.update(overrides)
    return values


def test_override_with_reason_is_stored() -> None:
    decision = Decision.objects.create(**_decision_kwargs())
    assert decision.is_override


@pytest.mark.parametrize(
    "overrides",
    [
        {"override_text": "too short"},
        {"override_reason": ""},
        {"override_text": ""},
    ],
)
def test_override_without_a_real_reason_is_refused_by_the_database(overrides) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(**_decision_kwargs(**overrides))
    assert Decision.objects.count() == 0


def test_decision_departing_from_the_recommendation_must_be_marked_override() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.create(
            **_decision_kwargs(is_override=False, override_reason="", override_text="")
        )


def test_decisions_are_immutable() -> None:
    decision = DecisionFactory()
    decision.outcome = DecisionOutcome.DECLINE
    with pytest.raises(ImmutableRecordError):
        decision.save()
    with pytest.raises(ImmutableRecordError):
        decision.delete()
    assert Decision.objects.get(pk=decision.pk).outcome != DecisionOutcome.DECLINE


def test_audit_events_are_append_only_through_the_orm() -> None:
    event = AuditEventFactory()
    event.action = "something.else"
    with pytest.raises(ImmutableRecordError):
        event.save()
    with pytest.raises(ImmutableRecordError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_legal_hold_needs_a_target() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LegalHold.objects.create(reason="litigation", placed_by=UserFactory())


@pytest.mark.parametrize("rehearsal", [False, True])
def test_a_decision_carries_its_interviews_role_family_and_rehearsal_flag(rehearsal) -> None:
    result = InterviewResultFactory(interview__is_rehearsal=rehearsal)
    decision = DecisionFactory(result=result)
    decision.refresh_from_db()
    assert decision.role_family_id == result.interview.plan.role_family_id is not None
    assert decision.is_rehearsal is rehearsal


def test_the_backfill_fills_role_family_and_rehearsal_flag_of_older_decisions() -> None:
    import importlib

    from django.apps import apps

    backfill = importlib.import_module(
        "governance.migrations.0011_backfill_decision_role_family_rehearsal"
    )
    rehearsal = DecisionFactory(result__interview__is_rehearsal=True)
    plain = DecisionFactory()
    # As rows made before the columns existed: bypass the immutability guard on purpose.
    Decision.objects.update(role_family=None, is_rehearsal=False)
    backfill.forwards(apps, None)
    backfill.forwards(apps, None)  # safe to run twice
    rows = dict(Decision.objects.values_list("pk", "is_rehearsal"))
    assert rows == {rehearsal.pk: True, plain.pk: False}
    for decision in (rehearsal, plain):
        decision.refresh_from_db()
        assert decision.role_family_id == decision.result.interview.plan.role_family_id
