"""``GET /metrics/`` (dashboard) and ``GET /metrics.csv`` (the same figures as CSV).

Anybody with a Screenbridge role may open it; the numbers cover only the requisitions the viewer
may see (admins and auditors: all; recruiters and hiring managers: their grants), and the filter
choices offer only those. Without a role: 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from governance.metrics import charts
from governance.metrics.export import report_csv
from governance.metrics.forms import MetricsFilterForm
from governance.metrics.report import MetricsReport
from governance.metrics.service import CARD_MINUTES_CAP, compute
from governance.roles import user_roles

TEMPLATE = "governance/metrics.html"


def _form(request: HttpRequest) -> MetricsFilterForm:
    if not user_roles(request.user):
        raise PermissionDenied("Metrics are for people with a Screenbridge role.")
    # Always bound: an empty query string is valid and means "the defaults".
    return MetricsFilterForm(request.GET, viewer=request.user)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def metrics_dashboard(request: Any) -> HttpResponse:
    form = _form(request)
    context: dict[str, Any] = {"form": form, "card_cap": CARD_MINUTES_CAP}
    if form.is_valid():
        report = compute(form.filters(), viewer=request.user)
        context.update(report=report, charts=_charts(report), query=request.GET.urlencode())
    template = TEMPLATE
    if request.htmx and not request.htmx.boosted:
        template += "#metrics-body"
    return render(request, template, context)


@require_GET
@login_required
def metrics_csv(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    filters = form.filters()
    response = HttpResponse(
        report_csv(compute(filters, viewer=request.user)), content_type="text/csv; charset=utf-8"
    )
    name = f"metrics-{filters.since.isoformat()}-{filters.until.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _charts(report: MetricsReport) -> dict[str, Any]:
    labels = [week.week.strftime("%d %b") for week in report.weekly]
    completion = [week.completion_rate.percent for week in report.weekly]
    overrides = [week.override_rate.percent for week in report.weekly]
    return {
        "completion": charts.bar_chart(
            "Completion rate per week",
            "Completed interviews as a share of invited interviews, per week of launch.",
            labels,
            completion,
            unit="%",
            floor_max=100,
        ),
        "speed": charts.line_chart(
            "Median time to screen per week",
            "Median hours from entering the screening stage to the first human decision: "
            "pilot (solid line, round markers) and baseline (dashed line).",
            labels,
            [
                charts.Series("Pilot", [w.pilot_median_hours for w in report.weekly]),
                charts.Series(
                    "Baseline",
                    [w.baseline_median_hours for w in report.weekly],
                    css_class="series-b",
                    dashed=True,
                ),
            ],
            unit="h",
            floor_max=1,
        ),
        "overrides": charts.bar_chart(
            "Manual override rate per week",
            "Overrides as a share of human decisions, per week of decision.",
            labels,
            overrides,
            unit="%",
            floor_max=10,
        ),
    }
