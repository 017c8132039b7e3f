from __future__ import annotations

import pytest

from governance.models import AccessRole
from governance.permissions import applications_visible_to, requisitions_visible_to
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN
from tests.factories import (
    ApplicationFactory,
    RequisitionAccessFactory,
    RequisitionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _application_on(requisition):
    return ApplicationFactory(
        requisition=requisition,
        connection=requisition.connection,
        candidate__connection=requisition.connection,
    )


def test_recruiter_sees_only_granted_requisitions_and_their_applications(
    alice, charlie, requisition, other_requisition
) -> None:
    mine = _application_on(requisition)
    theirs = _application_on(other_requisition)
    assert list(requisitions_visible_to(alice)) == [requisition]
    assert list(applications_visible_to(alice)) == [mine]
    assert list(applications_visible_to(charlie)) == [theirs]


def test_two_grants_on_one_requisition_do_not_duplicate_rows(role_groups) -> None:
    requisition = RequisitionFactory()
    _application_on(requisition)
    user = UserFactory(groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.RECRUITER)
    assert requisitions_visible_to(user).count() == 1
    assert applications_visible_to(user).count() == 1


@pytest.mark.parametrize("role", [HIRING_OPS_ADMIN, AUDITOR])
def test_admins_and_auditors_see_every_requisition(role_groups, role) -> None:
    _application_on(RequisitionFactory())
    _application_on(RequisitionFactory())
    user = UserFactory(groups=[role])
    assert requisitions_visible_to(user).count() == 2
    assert applications_visible_to(user).count() == 2


def test_user_without_a_role_sees_nothing_even_with_a_grant(db) -> None:
    requisition = RequisitionFactory()
    _application_on(requisition)
    user = UserFactory()
    RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.RECRUITER)
    assert requisitions_visible_to(user).count() == 0
    assert applications_visible_to(user).count() == 0


def test_inactive_user_sees_nothing(alice, requisition) -> None:
    _application_on(requisition)
    alice.is_active = False
    alice.save()
    alice = type(alice).objects.get(pk=alice.pk)
    assert applications_visible_to(alice).count() == 0
