from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404

from governance.capabilities import can, capabilities_for, requisition_id_of
from governance.models import AccessRole
from governance.permissions import (
    applications_visible_to,
    decisions_visible_to,
    get_application_for_user,
    get_decision_for_user,
    get_interview_for_user,
    get_requisition_for_user,
    get_result_for_user,
    get_review_task_for_user,
    interviews_visible_to,
    requisitions_visible_to,
    results_visible_to,
    review_tasks_visible_to,
)
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN, RECRUITER
from interviews.models import InterviewResult
from tests.factories import (
    ApplicationFactory,
    DecisionFactory,
    InterviewFactory,
    InterviewResultFactory,
    RequisitionAccessFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    RoleFamilyAccessFactory,
    RoleFamilyFactory,
    RoleFamilyMembershipFactory,
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


# -- every scoping helper × every role ---------------------------------------------------------

HELPERS = {
    "requisitions": requisitions_visible_to,
    "applications": applications_visible_to,
    "interviews": interviews_visible_to,
    "results": results_visible_to,
    "review_tasks": review_tasks_visible_to,
    "decisions": decisions_visible_to,
}


def _records_on(requisition):
    """One of each kind of record on a requisition: application → decision."""
    application = _application_on(requisition)
    interview = InterviewFactory(completed=True, application=application)
    result = InterviewResultFactory(interview=interview)
    ReviewTaskFactory(interview=interview, result=result)
    DecisionFactory(result=result)
    return requisition


@pytest.fixture
def world(role_groups, alice, charlie, requisition, other_requisition):
    """Records on alice's and charlie's requisitions, and one user of every other kind."""
    _records_on(requisition)
    _records_on(other_requisition)
    manager = UserFactory(username="hm", groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=manager, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    stranger = UserFactory(username="stranger")  # no role group, but a grant
    RequisitionAccessFactory(user=stranger, requisition=requisition, role=AccessRole.RECRUITER)
    return {
        "alice": alice,
        "charlie": charlie,
        "hiring_manager": manager,
        "admin": UserFactory(username="admin", groups=[HIRING_OPS_ADMIN]),
        "auditor": UserFactory(username="auditor", groups=[AUDITOR]),
        "stranger": stranger,
        "A": requisition.pk,
        "B": other_requisition.pk,
    }


# Which requisitions' records each user sees, per helper ("-": none).
EXPECTED = {
    "alice": dict.fromkeys(HELPERS, "A"),
    "charlie": dict.fromkeys(HELPERS, "B"),
    # Hiring managers hold no view_interview / view_reviewtask permission.
    "hiring_manager": {
        "requisitions": "A",
        "applications": "A",
        "interviews": "-",
        "results": "A",
        "review_tasks": "-",
        "decisions": "A",
    },
    "admin": dict.fromkeys(HELPERS, "AB"),
    "auditor": dict.fromkeys(HELPERS, "AB"),
    "stranger": dict.fromkeys(HELPERS, "-"),
}


@pytest.mark.parametrize("helper", list(HELPERS))
@pytest.mark.parametrize("who", list(EXPECTED))
def test_scoping_helper_allows_and_denies_by_role(world, who, helper) -> None:
    rows = list(HELPERS[helper](world[who]))
    seen = sorted(requisition_id_of(row) for row in rows)
    expected = sorted(world[key] for key in EXPECTED[who][helper] if key in "AB")
    assert seen == expected
    assert len(rows) == len({row.pk for row in rows})


def test_role_family_access_covers_future_requisitions_of_the_family(role_groups) -> None:
    family = RoleFamilyFactory()
    recruiter = UserFactory(groups=[RECRUITER])
    RoleFamilyAccessFactory(user=recruiter, role_family=family)
    assert requisitions_visible_to(recruiter).count() == 0

    # A requisition that joins the family after the grant is visible without a new grant.
    later = RequisitionFactory()
    RoleFamilyMembershipFactory(requisition=later, role_family=family)
    elsewhere = RequisitionFactory()
    RoleFamilyMembershipFactory(requisition=elsewhere)
    _records_on(later)
    _records_on(elsewhere)

    for helper in HELPERS.values():
        assert {requisition_id_of(row) for row in helper(recruiter)} == {later.pk}
    assert can(
        recruiter, "decide", InterviewResult.objects.get(interview__application__requisition=later)
    )


def test_role_family_access_grants_nothing_to_a_hiring_manager(role_groups) -> None:
    family = RoleFamilyFactory()
    manager = UserFactory(groups=[HIRING_MANAGER])
    RoleFamilyAccessFactory(user=manager, role_family=family)
    RoleFamilyMembershipFactory(requisition=RequisitionFactory(), role_family=family)
    assert requisitions_visible_to(manager).count() == 0


def test_a_grant_counts_only_for_the_role_group_the_user_is_in(role_groups) -> None:
    requisition = RequisitionFactory()
    recruiter = UserFactory(groups=[RECRUITER])
    RequisitionAccessFactory(
        user=recruiter, requisition=requisition, role=AccessRole.HIRING_MANAGER
    )
    manager = UserFactory(groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=manager, requisition=requisition, role=AccessRole.RECRUITER)
    assert requisitions_visible_to(recruiter).count() == 0
    assert requisitions_visible_to(manager).count() == 0


def test_overlapping_grants_never_duplicate_rows(role_groups) -> None:
    family = RoleFamilyFactory()
    requisition = RequisitionFactory()
    RoleFamilyMembershipFactory(requisition=requisition, role_family=family)
    _records_on(requisition)
    _records_on(requisition)
    user = UserFactory(groups=[RECRUITER, HIRING_MANAGER])
    RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.RECRUITER)
    RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    RoleFamilyAccessFactory(user=user, role_family=family)

    for name, helper in HELPERS.items():
        expected = 1 if name == "requisitions" else 2
        assert helper(user).count() == expected, name
    annotated = requisitions_visible_to(user).annotate(n=Count("applications")).get()
    assert annotated.n == 2


# -- getters: 404 for invisible, 403 for visible without the capability ----------------------


def _result_on(requisition):
    return InterviewResultFactory(
        interview=InterviewFactory(completed=True, application=_application_on(requisition))
    )


def test_getter_returns_a_visible_object(alice, requisition) -> None:
    result = _result_on(requisition)
    got = get_result_for_user(alice, public_id=str(result.interview.public_id), capability="decide")
    assert got == result
    assert get_interview_for_user(alice, public_id=result.interview.public_id) == result.interview
    assert get_application_for_user(alice, pk=result.interview.application_id)
    assert get_requisition_for_user(alice, pk=requisition.pk) == requisition


def test_getter_answers_404_for_an_object_outside_the_scope(alice, charlie, requisition) -> None:
    result = _result_on(requisition)
    with pytest.raises(Http404):
        get_result_for_user(charlie, public_id=result.interview.public_id)
    with pytest.raises(Http404):
        get_result_for_user(charlie, pk=result.pk, capability=None)
    with pytest.raises(Http404):
        get_requisition_for_user(charlie, pk=requisition.pk)
    with pytest.raises(Http404):
        get_review_task_for_user(charlie, pk=ReviewTaskFactory(interview=result.interview).pk)


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "00000000-0000-0000-0000-000000000000"])
def test_getter_answers_404_for_malformed_or_unknown_ids(alice, bad) -> None:
    with pytest.raises(Http404):
        get_result_for_user(alice, public_id=bad)
    with pytest.raises(Http404):
        get_decision_for_user(alice, pk="x1")


def test_getter_answers_403_for_a_visible_object_without_the_capability(role_groups) -> None:
    requisition = RequisitionFactory()
    result = _result_on(requisition)
    manager = UserFactory(groups=[HIRING_MANAGER])
    RequisitionAccessFactory(user=manager, requisition=requisition, role=AccessRole.HIRING_MANAGER)
    assert get_result_for_user(manager, public_id=result.interview.public_id) == result
    with pytest.raises(PermissionDenied):
        get_result_for_user(manager, public_id=result.interview.public_id, capability="decide")
    auditor = UserFactory(groups=[AUDITOR])
    with pytest.raises(PermissionDenied):
        get_result_for_user(auditor, pk=result.pk, capability="view_transcript")


def test_getter_by_interview_id_returns_the_current_version(alice, requisition) -> None:
    old = _result_on(requisition)
    InterviewResult.objects.filter(pk=old.pk).update(is_current=False)
    new = InterviewResultFactory(interview=old.interview, version=2)
    assert get_result_for_user(alice, public_id=old.interview.public_id) == new
    assert get_result_for_user(alice, pk=old.pk) == old


# -- capabilities ------------------------------------------------------------------------------

CAPABILITIES = [
    "view_summary",
    "view_transcript",
    "view_recording",
    "decide",
    "override",
    "configure",
    "export",
]
# On a result of requisition A: what each user may do (1 = yes).
CAPABILITY_TABLE = {
    "alice": "1111100",
    "charlie": "0000000",
    "hiring_manager": "1000000",
    "admin": "1000011",
    "auditor": "1000001",
    "stranger": "0000000",
}


@pytest.mark.parametrize("who", list(CAPABILITY_TABLE))
def test_capability_table_on_an_object(world, who) -> None:
    result = InterviewResult.objects.get(interview__application__requisition_id=world["A"])
    answers = "".join("1" if can(world[who], cap, result) else "0" for cap in CAPABILITIES)
    assert answers == CAPABILITY_TABLE[who]
    assert capabilities_for(world[who], result) == {
        cap: flag == "1" for cap, flag in zip(CAPABILITIES, CAPABILITY_TABLE[who], strict=True)
    }


def test_capabilities_without_an_object_follow_the_role(world) -> None:
    assert can(world["charlie"], "decide")
    assert not can(world["hiring_manager"], "decide")
    assert can(world["auditor"], "export")
    assert not can(world["alice"], "export")
    assert can(world["admin"], "configure")
    assert not can(world["auditor"], "configure")


def _grant(user, app_label, codename):
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


def test_auditor_sees_transcripts_only_when_granted_explicitly(world) -> None:
    result = InterviewResult.objects.get(interview__application__requisition_id=world["B"])
    auditor = world["auditor"]
    assert not can(auditor, "view_transcript", result)
    auditor = _grant(auditor, "interviews", "view_transcript")
    assert can(auditor, "view_transcript", result)
    assert not can(auditor, "view_recording", result)


def test_hiring_manager_never_decides_even_with_the_permission(world) -> None:
    result = InterviewResult.objects.get(interview__application__requisition_id=world["A"])
    manager = _grant(world["hiring_manager"], "governance", "decide")
    assert not can(manager, "decide", result)
    assert not can(manager, "override", result)


def test_recruiter_who_is_hiring_manager_elsewhere_decides_only_as_recruiter(world) -> None:
    result_b = InterviewResult.objects.get(interview__application__requisition_id=world["B"])
    alice = world["alice"]
    alice.groups.add(Group.objects.get(name=HIRING_MANAGER))
    RequisitionAccessFactory(user=alice, requisition_id=world["B"], role=AccessRole.HIRING_MANAGER)
    alice = type(alice).objects.get(pk=alice.pk)
    assert can(alice, "view_summary", result_b)
    assert not can(alice, "decide", result_b)


def test_superuser_configures_but_does_not_decide_without_the_recruiter_role(world) -> None:
    result = InterviewResult.objects.get(interview__application__requisition_id=world["A"])
    root = UserFactory(is_superuser=True)
    assert can(root, "configure")
    assert can(root, "view_transcript", result)
    assert not can(root, "decide", result)


def test_unknown_capability_is_a_programming_error(alice) -> None:
    with pytest.raises(ValueError, match="unknown capability"):
        can(alice, "fly")
