"""Admin "Launch skips": why an interview was *not* launched for an application (read-only).

Rows are written by ``services.launch`` only (one per application, plan and reason, with how
often and when it was last seen). Hiring-ops admins and auditors see the list — filter by reason
or plan, search by candidate, requisition or detail; nobody adds, edits or deletes.

Permissions: the role groups carry no LaunchSkip permissions, so the page follows the roles
(``governance.roles.user_roles``: admin or auditor) or an explicit ``view_launchskip``
permission. Recruiters and hiring managers get 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from governance.roles import user_roles
from integrations.admin import ReadOnlyAdminMixin
from interviews import selectors
from interviews.admin_filters import PlanListFilter
from interviews.models import LaunchSkip


def _sees_launch_skips(request: HttpRequest) -> bool:
    user = request.user
    return bool(user_roles(user) & {"admin", "auditor"}) or user.has_perm(
        "interviews.view_launchskip"
    )


@admin.register(LaunchSkip)
class LaunchSkipAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "last_seen_at",
        "candidate",
        "requisition",
        "plan",
        "reason",
        "detail",
        "occurrences",
        "first_seen_at",
    ]
    list_filter = ["reason", ("plan", PlanListFilter)]
    search_fields = [
        "detail",
        "application__remote_id",
        "application__candidate__first_name",
        "application__candidate__last_name",
        "application__candidate__remote_id",
        "application__requisition__title",
        "application__requisition__remote_id",
        "plan__name",
    ]
    date_hierarchy = "last_seen_at"
    show_full_result_count = False
    fields = [
        "application",
        "plan",
        "reason",
        "detail",
        "occurrences",
        "first_seen_at",
        "last_seen_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[LaunchSkip]:
        return selectors.launch_skips_list()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _sees_launch_skips(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _sees_launch_skips(request)

    @admin.display(description="Candidate", ordering="application__candidate__last_name")
    def candidate(self, obj: LaunchSkip) -> str:
        return str(obj.application.candidate)

    @admin.display(description="Requisition", ordering="application__requisition__title")
    def requisition(self, obj: LaunchSkip) -> str:
        return str(obj.application.requisition)
