"""Pages for going live: a plan's readiness checklist with the go-live form, and a rehearsal run.

Hiring-ops admins only (403 for everyone else, the login page for anonymous users).

- ``GET /plans/<pk>/readiness/`` (``interviews/plan_readiness.html``): each checklist item with
  "Passed"/"Failed" in words and an icon, its details, the plan's recent rehearsals and the
  go-live form. Regions: ``readiness-checklist`` (htmx "Check again") and ``go-live-form``.
- ``POST /plans/<pk>/go-live/``: ``services.golive.plan_go_live``; a refusal re-renders the form
  (200, with the message naming the failing items), success redirects to the readiness page.
- ``GET /plans/rehearsals/<pk>/`` (``interviews/rehearsal_run.html``): the per-candidate table;
  ``?show=review|rejected`` narrows it (region ``rehearsal-table``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from governance import audit
from governance.roles import user_roles
from interviews.models import InterviewPlan, PlanStatus, RehearsalRun
from interviews.readiness import readiness_evaluate
from interviews.services.golive import (
    MIN_OVERRIDE_REASON_CHARS,
    GoLiveRefusedError,
    plan_go_live,
)

READINESS_TEMPLATE = "interviews/plan_readiness.html"
RUN_TEMPLATE = "interviews/rehearsal_run.html"
RECENT_RUNS = 10
SHOW_FILTERS = {"all": "All candidates", "review": "Sent to review", "rejected": "Rejected writes"}


class GoLiveForm(forms.Form):
    override_reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason to go live despite failing checks",
        help_text=(
            f"Only needed when a check fails; at least {MIN_OVERRIDE_REASON_CHARS} characters. "
            "It is kept in the audit trail."
        ),
    )


def _require_admin(request: HttpRequest) -> None:
    if "admin" not in user_roles(request.user):
        raise PermissionDenied("Go-live readiness and rehearsals are for hiring-ops admins.")


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def _readiness_context(plan: InterviewPlan, form: GoLiveForm) -> dict[str, Any]:
    return {
        "plan": plan,
        "readiness": readiness_evaluate(plan),
        "form": form,
        "can_go_live": plan.status == PlanStatus.PILOT,
        "runs": RehearsalRun.objects.filter(plan=plan)
        .select_related("mirrored_connection", "connection")
        .order_by("-started_at", "-pk")[:RECENT_RUNS],
    }


def _plan(pk: int) -> InterviewPlan:
    return get_object_or_404(InterviewPlan.objects.select_related("role_family", "vendor"), pk=pk)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def plan_readiness(request: HttpRequest, pk: int) -> HttpResponse:
    """The checklist page; an htmx request ("Check again") gets the checklist region."""
    _require_admin(request)
    context = _readiness_context(_plan(pk), GoLiveForm())
    if _is_partial(request):
        return render(request, f"{READINESS_TEMPLATE}#readiness-checklist", context)
    return render(request, READINESS_TEMPLATE, context)


@require_POST
@login_required
def plan_go_live_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Take the plan live, or show why not (the form region again, with the refusal)."""
    _require_admin(request)
    plan = _plan(pk)
    form = GoLiveForm(request.POST)
    if form.is_valid():
        try:
            plan_go_live(
                plan=plan,
                actor=request.user,
                override_reason=form.cleaned_data["override_reason"],
                request_id=audit.request_id_of(request),
            )
        except GoLiveRefusedError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"“{plan.name}” is live.")
            url = reverse("interviews:plan-readiness", args=[plan.pk])
            return HttpResponseClientRedirect(url) if _is_partial(request) else redirect(url)
    plan.refresh_from_db()
    context = _readiness_context(plan, form)
    template = f"{READINESS_TEMPLATE}#go-live-form" if _is_partial(request) else READINESS_TEMPLATE
    return render(request, template, context)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def rehearsal_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One rehearsal run: per candidate the band, review, would-be writes and rejections."""
    _require_admin(request)
    run = get_object_or_404(
        RehearsalRun.objects.select_related(
            "plan__role_family", "connection", "mirrored_connection", "vendor", "started_by"
        ),
        pk=pk,
    )
    show = request.GET.get("show", "all")
    if show not in SHOW_FILTERS:
        show = "all"
    everyone = list(run.candidates.order_by("position"))
    rows = [
        row
        for row in everyone
        if show == "all"
        or (show == "review" and row.review_reason)
        or (show == "rejected" and row.rejected)
    ]
    bands: dict[str, int] = {}
    for row in everyone:
        if row.band:
            bands[row.band] = bands.get(row.band, 0) + 1
    context = {
        "run": run,
        "rows": rows,
        "show": show,
        "filters": SHOW_FILTERS,
        "totals": {
            "candidates": len(everyone),
            "completed": sum(1 for row in everyone if row.band),
            "review": sum(1 for row in everyone if row.review_reason),
            "rejected": sum(1 for row in everyone if row.rejected),
            "bands": sorted(bands.items()),
        },
    }
    if _is_partial(request):
        return render(request, f"{RUN_TEMPLATE}#rehearsal-table", context)
    return render(request, RUN_TEMPLATE, context)
