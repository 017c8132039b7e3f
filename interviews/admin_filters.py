"""List filters shared by the interviews admin modules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from interviews.models import InterviewPlan


class PlanListFilter(admin.RelatedFieldListFilter):
    """Plan filter whose choices load their role family in the same query (the label uses it)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[Any]:
        plans = InterviewPlan.objects.select_related("role_family")
        return [(plan.pk, str(plan)) for plan in plans]
