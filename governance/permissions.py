"""Object-level access: every queryset of candidate data is scoped through these helpers.

Hiring-ops admins and auditors see every requisition's metadata; recruiters and hiring managers see
only the requisitions they hold a ``RequisitionAccess`` grant on.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

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
    return Requisition.objects.filter(access_grants__user=user).distinct()


def applications_visible_to(user: Any) -> QuerySet[Application]:
    """Applications on requisitions the user may see."""
    if not user_roles(user):
        return Application.objects.none()
    if sees_all_requisitions(user):
        return Application.objects.all()
    return Application.objects.filter(
        requisition__in=Requisition.objects.filter(access_grants__user=user).values("pk")
    )
