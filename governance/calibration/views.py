"""Calibration pages.

- ``/calibration/``: the sessions you score (panelists); every session plus human-vs-tool
  agreement per week with the automation-bias warning (hiring-ops admins and auditors).
- ``/calibration/<session>/``: a panelist's list of candidates to score; for admins and auditors
  the progress and, once every rating is in, the agreement per competency.
- ``/calibration/<session>/candidates/<n>/``: the blind scoring form of one candidate. It shows the
  evidence needed to score (requisition, summary bullets, the evidence quoted per competency, the
  rubric) and never the band, the tool's scores or anyone else's scores.

Sessions are created in the admin (Governance → Calibration sessions).
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from governance.artifacts import artifact_url
from governance.calibration.analysis import (
    automation_bias_thresholds,
    human_tool_agreement_by_week,
    session_agreement,
    session_progress,
)
from governance.calibration.forms import BlindScoreForm
from governance.calibration.models import CalibrationItem, CalibrationRating, CalibrationSession
from governance.calibration.services import CalibrationError, calibration_ratings_submit
from governance.permissions import results_visible_to
from governance.roles import user_roles
from interviews.models import Competency

OVERSEER_ROLES = frozenset({"admin", "auditor"})
_START_SALT = "governance.calibration.started"


def _oversees(user: Any) -> bool:
    return bool(user_roles(user) & OVERSEER_ROLES) and user.has_perm(
        "governance.view_calibrationsession"
    )


def _session_for(user: Any, public_id: Any) -> tuple[CalibrationSession, bool]:
    """The session and whether ``user`` is on its panel; 404 unless a panelist or overseer."""
    session = (
        CalibrationSession.objects.select_related("plan", "created_by")
        .filter(public_id=public_id)
        .first()
    )
    if session is None:
        raise Http404("Not found.")
    on_panel = session.panelists.filter(pk=user.pk).exists()
    if not on_panel and not _oversees(user):
        raise Http404("Not found.")
    return session, on_panel


def _panelist_items(session: CalibrationSession, user: Any) -> list[dict[str, Any]]:
    rated = set(
        CalibrationRating.objects.filter(item__session=session, reviewer=user).values_list(
            "item_id", flat=True
        )
    )
    return [
        {"item": item, "done": item.pk in rated}
        for item in session.items.select_related("result__interview__application__requisition")
    ]


@require_GET
@login_required
def calibration_list(request: HttpRequest) -> HttpResponse:
    if not user_roles(request.user):
        raise PermissionDenied("Calibration is for Screenbridge roles.")
    oversees = _oversees(request.user)
    mine = list(request.user.calibration_panels.select_related("plan").order_by("-created_at"))
    context: dict[str, Any] = {"mine": mine, "oversees": oversees}
    if oversees:
        context["sessions"] = list(
            CalibrationSession.objects.select_related("plan", "created_by").order_by("-created_at")[
                :100
            ]
        )
        agreement_at, seconds_below, min_decisions = automation_bias_thresholds()
        context.update(
            weeks=human_tool_agreement_by_week(),
            bias_agreement=agreement_at,
            bias_seconds=seconds_below,
            bias_min_decisions=min_decisions,
        )
    return render(request, "governance/calibration_list.html", context)


@require_GET
@login_required
def calibration_session(request: HttpRequest, public_id: Any) -> HttpResponse:
    session, on_panel = _session_for(request.user, public_id)
    context: dict[str, Any] = {"session": session, "on_panel": on_panel}
    if on_panel:
        context["my_items"] = _panelist_items(session, request.user)
    if _oversees(request.user):
        context["oversees"] = True
        context["progress"] = session_progress(session)
        context["item_count"] = session.items.count()
        if session.is_complete:
            context["agreement"] = session_agreement(session)
    return render(request, "governance/calibration_session.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def calibration_score(request: HttpRequest, public_id: Any, position: int) -> HttpResponse:
    session, on_panel = _session_for(request.user, public_id)
    if not on_panel or not request.user.has_perm("governance.add_calibrationrating"):
        raise Http404("Not found.")
    item = (
        CalibrationItem.objects.filter(session=session, position=position)
        .select_related("result__interview__application__requisition")
        .first()
    )
    # The panel grants no access of its own: the reviewer must be allowed to read the result.
    if item is None or not results_visible_to(request.user).filter(pk=item.result_id).exists():
        raise Http404("Not found.")
    competencies = list(Competency.objects.filter(plan_id=session.plan_id).order_by("position"))
    already = CalibrationRating.objects.filter(item=item, reviewer=request.user).exists()
    error = ""
    if request.method == "POST":
        form = BlindScoreForm(request.POST, competencies=competencies)
        if form.is_valid():
            try:
                calibration_ratings_submit(
                    item=item,
                    reviewer=request.user,
                    scores=form.scores(),
                    seconds_spent=_seconds_since(form.cleaned_data["started"], item),
                )
            except CalibrationError as exc:
                error = str(exc)
            else:
                return redirect(_next_url(session, request.user))
    else:
        form = BlindScoreForm(
            initial={"started": signing.dumps([item.pk, time.time()], salt=_START_SALT)},
            competencies=competencies,
        )
    evidence = dict(item.result.competency_scores.values_list("competency_id", "evidence"))
    context = {
        "session": session,
        "item": item,
        "item_count": session.items.count(),
        "already": already,
        "form": form,
        "error": error,
        "rows": [
            {"competency": competency, "field": field, "evidence": evidence.get(competency.pk, "")}
            for competency, field in form.competency_fields()
        ],
        "bullets": item.result.summary_bullets or [],
        "requisition": item.result.interview.application.requisition,
        "transcript_url": artifact_url(
            user=request.user, interview_or_result=item.result, kind="transcript"
        ),
    }
    return render(request, "governance/calibration_score.html", context)


def _seconds_since(token: str, item: CalibrationItem) -> int:
    """Seconds since the form was served (a signed stamp; anything forged counts as 0)."""
    try:
        item_id, started = signing.loads(token, salt=_START_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return 0
    if item_id != item.pk:
        return 0
    return max(0, int(time.time() - float(started)))


def _next_url(session: CalibrationSession, user: Any) -> str:
    """The next candidate this reviewer has not scored, else the session page."""
    rated = CalibrationRating.objects.filter(item__session=session, reviewer=user).values("item_id")
    following = session.items.exclude(pk__in=rated).order_by("position").first()
    if following is not None and session.status == "open":
        return reverse("governance:calibration-score", args=[session.public_id, following.position])
    return reverse("governance:calibration-session", args=[session.public_id])
