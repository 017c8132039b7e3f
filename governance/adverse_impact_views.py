"""The adverse-impact report page and its CSV export (``GET /adverse-impact/``).

Auditors only: anyone else gets 403 (anonymous users the login page), hiring-ops admins
included: demographic data stays away from everyone who configures or decides. Filters: role
family, requisition, date range (of the results). ``?format=csv`` downloads both metrics in the
NYC LL144 summary layout; the export is audited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from governance import audit
from governance.adverse_impact import EXCLUSION_JUSTIFICATION, report_build, report_csv
from governance.date_filters import DateRangeForm
from governance.demographics import CandidateDemographics
from governance.roles import user_roles
from integrations.models import Requisition
from interviews.models import RoleFamily

REPORT_PERMISSION = "governance.view_adverse_impact"


class ReportFilterForm(DateRangeForm):
    field_order = ["role_family", "requisition", "date_from", "date_to"]

    role_family = forms.ModelChoiceField(
        queryset=RoleFamily.objects.order_by("name"), required=False, label="Role family"
    )
    requisition = forms.ModelChoiceField(
        queryset=Requisition.objects.order_by("title", "pk"), required=False, label="Requisition"
    )


def _may_see_report(user: Any) -> bool:
    return "auditor" in user_roles(user) and user.has_perm(REPORT_PERMISSION)


@require_GET
@login_required
def adverse_impact_report(request: HttpRequest) -> HttpResponse:
    if not _may_see_report(request.user):
        raise PermissionDenied("The adverse-impact report is for auditors.")
    form = ReportFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if form.is_bound and form.errors:
        return render(
            request, "governance/adverse_impact.html", {"form": form, "reports": []}, status=200
        )
    reports = [report_build(metric=metric, **filters) for metric in ("selection", "scoring")]
    if request.GET.get("format") == "csv":
        now = timezone.now()
        with transaction.atomic():
            audit.record(
                actor=request.user,
                action="adverse_impact.export",
                object_type="governance.adverseimpactreport",
                object_repr="Adverse-impact report CSV export",
                changes={
                    "filters": {key: str(value) for key, value in filters.items() if value},
                    "assessed": reports[0].assessed,
                },
                request_id=audit.request_id_of(request),
            )
        response = HttpResponse(
            report_csv(reports, generated_at=now), content_type="text/csv; charset=utf-8"
        )
        stamp = now.strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="adverse-impact-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response
    context = {
        "form": form,
        "reports": reports,
        "demographics_count": CandidateDemographics.objects.count(),
        "justification": EXCLUSION_JUSTIFICATION,
        "querystring": request.GET.urlencode(),
    }
    return render(request, "governance/adverse_impact.html", context)
