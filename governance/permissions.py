"""Object-level access: every queryset of candidate data is scoped through these helpers.

Hiring-ops admins and auditors see every requisition's metadata; recruiters and hiring managers see
only the requisitions they hold a ``RequisitionAccess`` grant on.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from governance.models import RequisitionAccess
from governance.roles import user_roles
from integrations.models import Application, Requisition


def sees_all_requisitions(user: Any) -> bool:
    return bool(user_roles(user) & {"admin", "auditor"})


def requisitions_visible_to(user: Any) -> QuerySet[Requisition]:
    """Requisitions the user may see."""
    if not user_roles(user):
        return Requisition.objects.none()
    if sees_all_requisitions(user):
        return Requisition.objects.all()
    # A subquery, not a join: a user may hold several grants on one requisition, and a join would
    # duplicate rows (and inflate any counts annotated on them).
    return Requisition.objects.filter(pk__in=_granted_requisition_ids(user))


def applications_visible_to(user: Any) -> QuerySet[Application]:
    """Applications on requisitions the user may see."""
    if not user_roles(user):
        return Application.objects.none()
    if sees_all_requisitions(user):
        return Application.objects.all()
    return Application.objects.filter(requisition_id__in=_granted_requisition_ids(user))


def _granted_requisition_ids(user: Any) -> QuerySet[RequisitionAccess]:
    return RequisitionAccess.objects.filter(user=user).values("requisition_id")
