"""Requisitions join role families: explicit assignment first, else rules evaluated on sync."""

from __future__ import annotations

import logging

import pytest

from integrations.models import CanonicalStage
from interviews.models import MembershipSource, RoleFamilyMembership
from interviews.services.launch import application_stage_changed_handle
from interviews.services.membership import requisition_role_family_resolve
from tests.factories import (
    ApplicationFactory,
    RequisitionFactory,
    RoleFamilyFactory,
    RoleFamilyMembershipFactory,
)

pytestmark = pytest.mark.django_db


def membership_of(requisition) -> RoleFamilyMembership | None:
    return RoleFamilyMembership.objects.filter(requisition=requisition).first()


def test_a_department_rule_matches_ignoring_case_and_surrounding_spaces():
    family = RoleFamilyFactory(name="Support", department_rule="  customer experience ")
    requisition = RequisitionFactory(department="Customer Experience", title="Agent")

    assert requisition_role_family_resolve(requisition=requisition) == family


def test_a_title_pattern_matches_anywhere_in_the_title_ignoring_case():
    family = RoleFamilyFactory(name="SDR", title_pattern=r"sales development|\bSDR\b")
    requisition = RequisitionFactory(department="Revenue", title="Senior sdr (EMEA)")

    assert requisition_role_family_resolve(requisition=requisition) == family


def test_the_first_matching_family_by_name_wins():
    RoleFamilyFactory(name="Zebra support", department_rule="Customer Experience")
    first = RoleFamilyFactory(name="Agents", title_pattern="agent")
    requisition = RequisitionFactory(department="Customer Experience", title="Support agent")

    assert requisition_role_family_resolve(requisition=requisition) == first


def test_a_rule_match_is_stored_as_a_rule_membership():
    family = RoleFamilyFactory(department_rule="Customer Experience")
    requisition = RequisitionFactory(department="Customer Experience")

    requisition_role_family_resolve(requisition=requisition)

    membership = membership_of(requisition)
    assert membership is not None
    assert membership.role_family == family
    assert membership.source == MembershipSource.RULE


def test_an_explicit_membership_wins_over_matching_rules_and_is_never_changed():
    RoleFamilyFactory(name="Alpha", department_rule="Customer Experience")
    chosen = RoleFamilyFactory(name="Zulu")
    requisition = RequisitionFactory(department="Customer Experience")
    RoleFamilyMembershipFactory(
        requisition=requisition, role_family=chosen, source=MembershipSource.MANUAL
    )

    assert requisition_role_family_resolve(requisition=requisition) == chosen
    membership = membership_of(requisition)
    assert membership.role_family == chosen
    assert membership.source == MembershipSource.MANUAL


def test_a_rule_membership_follows_rules_that_changed():
    old = RoleFamilyFactory(name="Old", department_rule="Customer Experience")
    new = RoleFamilyFactory(name="New", title_pattern="specialist")
    requisition = RequisitionFactory(department="Customer Experience", title="Specialist")
    assert requisition_role_family_resolve(requisition=requisition) == new  # "New" < "Old"

    new.title_pattern = ""
    new.save()

    assert requisition_role_family_resolve(requisition=requisition) == old
    assert membership_of(requisition).role_family == old
    assert RoleFamilyMembership.objects.filter(requisition=requisition).count() == 1


def test_a_rule_membership_is_removed_when_no_rule_matches_any_more():
    family = RoleFamilyFactory(department_rule="Customer Experience")
    requisition = RequisitionFactory(department="Customer Experience")
    requisition_role_family_resolve(requisition=requisition)

    requisition.department = "Finance"
    requisition.save()

    assert requisition_role_family_resolve(requisition=requisition) is None
    assert membership_of(requisition) is None
    assert family.memberships.count() == 0


def test_empty_rules_match_nothing():
    RoleFamilyFactory(department_rule="", title_pattern="")
    requisition = RequisitionFactory(department="", title="Anything")

    assert requisition_role_family_resolve(requisition=requisition) is None
    assert membership_of(requisition) is None


def test_an_invalid_title_pattern_is_skipped_with_a_warning(caplog):
    RoleFamilyFactory(name="Broken", title_pattern="(unclosed")
    fallback = RoleFamilyFactory(name="Fallback", title_pattern="agent")
    requisition = RequisitionFactory(department="Other", title="Agent")

    with caplog.at_level(logging.WARNING, logger="interviews.services.membership"):
        assert requisition_role_family_resolve(requisition=requisition) == fallback
    assert "invalid title pattern" in caplog.text


def test_a_synced_stage_change_assigns_the_role_family_by_rule():
    family = RoleFamilyFactory(title_pattern="support")
    application = ApplicationFactory(
        requisition__title="Customer Support Specialist",
        canonical_stage=CanonicalStage.RECRUITER_SCREEN,
    )

    application_stage_changed_handle(
        application=application,
        old=CanonicalStage.APPLICATION_REVIEW,
        new=CanonicalStage.RECRUITER_SCREEN,
    )

    membership = membership_of(application.requisition)
    assert membership.role_family == family
    assert membership.source == MembershipSource.RULE
