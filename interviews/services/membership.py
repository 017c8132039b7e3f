"""Which role family a requisition belongs to: an admin's assignment, else the families' rules.

Rules (:func:`requisition_role_family_resolve`, called on every synced stage change):

- An explicit membership (``source=manual``, made in the admin) always wins and is never touched.
- Otherwise each role family's rules are tried in role-family *name* order (ties by pk); the
  first family whose ``department_rule`` equals the requisition's department (case-insensitive,
  surrounding whitespace ignored) **or** whose ``title_pattern`` matches the title
  (``re.search``, case-insensitive) is the answer. An empty rule matches nothing.
- The answer is stored as a ``source=rule`` membership, so admins see it next to manual ones.
  Rules are re-evaluated on every call: a rule membership follows the rules when they (or the
  requisition's department/title) change, and is removed when no rule matches any more.
- A title pattern the database holds but Python cannot compile (the admin validates patterns,
  a raw SQL edit might not) is skipped with a warning rather than failing the sync.

Concurrency: all writes are conditional on ``source=rule``, so an admin's manual assignment made
at the same moment is never overwritten; two workers creating the same rule membership race on
the one-to-one constraint and the loser re-reads the winner's row.
"""

from __future__ import annotations

import logging
import re

from django.db import IntegrityError, transaction

from integrations.models import Requisition
from interviews.models import MembershipSource, RoleFamily, RoleFamilyMembership

logger = logging.getLogger(__name__)

__all__ = ["requisition_role_family_resolve", "role_family_rule_match"]


def role_family_rule_match(*, requisition: Requisition) -> RoleFamily | None:
    """The first role family (by name) whose department or title rule the requisition meets."""
    department = requisition.department.strip().casefold()
    title = requisition.title or ""
    families = RoleFamily.objects.exclude(department_rule="", title_pattern="").order_by(
        "name", "pk"
    )
    for family in families:
        rule = family.department_rule.strip().casefold()
        if rule and rule == department:
            return family
        if family.title_pattern and _title_matches(family, title):
            return family
    return None


def _title_matches(family: RoleFamily, title: str) -> bool:
    try:
        return re.search(family.title_pattern, title, re.IGNORECASE) is not None
    except re.error as exc:
        logger.warning(
            "role family %s has an invalid title pattern %r (%s); rule skipped",
            family.slug,
            family.title_pattern,
            exc,
        )
        return False


def requisition_role_family_resolve(*, requisition: Requisition) -> RoleFamily | None:
    """The requisition's role family, storing or refreshing its rule-based membership.

    Returns the manual membership's family if there is one, else the family the rules pick
    (recorded as a ``rule`` membership), else ``None`` (and a stale rule membership is removed).
    """
    membership = (
        RoleFamilyMembership.objects.select_related("role_family")
        .filter(requisition=requisition)
        .first()
    )
    if membership is not None and membership.source == MembershipSource.MANUAL:
        return membership.role_family

    family = role_family_rule_match(requisition=requisition)
    if family is None:
        if membership is None:
            return None
        RoleFamilyMembership.objects.filter(pk=membership.pk, source=MembershipSource.RULE).delete()
        logger.info(
            "requisition %s left role family %s: no rule matches any more",
            requisition.pk,
            membership.role_family.slug,
        )
        return _manual_family(requisition)

    if membership is None:
        try:
            with transaction.atomic():
                RoleFamilyMembership.objects.create(
                    requisition=requisition, role_family=family, source=MembershipSource.RULE
                )
        except IntegrityError:
            # Created by another worker (or an admin) meanwhile: a manual one wins.
            return _manual_family(requisition) or family
        logger.info("requisition %s joined role family %s by rule", requisition.pk, family.slug)
        return family

    if membership.role_family_id != family.pk:
        moved = RoleFamilyMembership.objects.filter(
            pk=membership.pk, source=MembershipSource.RULE
        ).update(role_family=family)
        if not moved:
            return _manual_family(requisition) or family
        logger.info(
            "requisition %s moved from role family %s to %s by rule",
            requisition.pk,
            membership.role_family.slug,
            family.slug,
        )
    return family


def _manual_family(requisition: Requisition) -> RoleFamily | None:
    """A manual membership made while we were deciding (it always wins)."""
    membership = (
        RoleFamilyMembership.objects.select_related("role_family")
        .filter(requisition=requisition, source=MembershipSource.MANUAL)
        .first()
    )
    return membership.role_family if membership is not None else None
