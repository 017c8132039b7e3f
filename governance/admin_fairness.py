"""Admin for calibration sessions (created here) and the read-only ratings and demographics.

- **Calibration sessions**: the add page takes a name, an interview plan, the reviewers and
  either hand-picked results or a number of results to sample at random from the plan's
  completed interviews; ``calibration_session_create`` stores it with an audit event. Every
  panelist must be allowed to read every result (object scope), or the form says who is not. A
  session is a record afterwards: read-only, never deleted.
- **Calibration ratings** and **candidate demographics** are read-only records. Demographics are
  visible to auditors only (and superusers), never to the people who score or decide.
"""

from __future__ import annotations

import random
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from governance.calibration.analysis import panelists_who_cannot_see
from governance.calibration.models import (
    RECOMMENDED_RESULTS,
    CalibrationItem,
    CalibrationRating,
    CalibrationSession,
)
from governance.calibration.services import (
    CalibrationError,
    calibration_eligible_results,
    calibration_session_create,
)
from governance.demographics import CandidateDemographics
from governance.roles import HIRING_MANAGER, RECRUITER
from integrations.admin import ReadOnlyAdminMixin
from interviews.models import InterviewResult

MAX_PICKABLE_RESULTS = 2000


class CalibrationSessionAddForm(forms.ModelForm):
    panelists = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        widget=FilteredSelectMultiple("reviewers", is_stacked=False),
        help_text="At least two recruiters or hiring managers who may read these results.",
    )
    results = forms.ModelMultipleChoiceField(
        queryset=InterviewResult.objects.none(),
        required=False,
        widget=FilteredSelectMultiple("results", is_stacked=False),
        help_text="Pick results of the plan by hand, or leave empty and sample at random below.",
    )
    sample_size = forms.IntegerField(
        min_value=1,
        max_value=500,
        initial=RECOMMENDED_RESULTS,
        required=False,
        help_text=f"Results to sample at random when none are picked ({RECOMMENDED_RESULTS} or "
        "more recommended).",
    )

    class Meta:
        model = CalibrationSession
        fields = ["name", "plan"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["panelists"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=[RECRUITER, HIRING_MANAGER])
            .distinct()
            .order_by("username")
        )
        # The newest results only (a list to pick from by hand); a subquery, not a slice, so the
        # field can still filter the choices when it validates.
        newest = InterviewResult.objects.filter(
            is_current=True, interview__status="completed", interview__is_rehearsal=False
        ).order_by("-received_at")[:MAX_PICKABLE_RESULTS]
        self.fields["results"].queryset = (
            InterviewResult.objects.filter(pk__in=list(newest.values_list("pk", flat=True)))
            .select_related("interview__plan")
            .order_by("-received_at")
        )
        self.fields["results"].label_from_instance = lambda r: (
            f"{r.interview.plan.name} · result #{r.pk} · {r.received_at:%Y-%m-%d}"
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        plan = cleaned.get("plan")
        if plan is None:
            return cleaned
        eligible = calibration_eligible_results(plan)
        picked = list(cleaned.get("results") or [])
        if picked:
            strays = [r.pk for r in picked if r.interview.plan_id != plan.pk]
            if strays:
                self.add_error("results", f"Results {strays} belong to another plan.")
                return cleaned
        else:
            size = cleaned.get("sample_size") or RECOMMENDED_RESULTS
            pool = list(eligible.select_related("interview"))
            if not pool:
                self.add_error("plan", "This plan has no completed results to calibrate on.")
                return cleaned
            picked = random.SystemRandom().sample(pool, min(size, len(pool)))
        cleaned["picked"] = picked
        panelists = list(cleaned.get("panelists") or [])
        if len(panelists) < 2:
            self.add_error("panelists", "Choose at least two reviewers.")
        blocked = panelists_who_cannot_see(picked, panelists)
        if blocked:
            self.add_error(
                "panelists",
                f"{', '.join(blocked)} may not read every chosen result; grant access or pick "
                "other reviewers.",
            )
        return cleaned


@admin.register(CalibrationSession)
class CalibrationSessionAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "status", "created_by", "created_at", "closed_at", "page"]
    list_filter = ["status", "plan__role_family"]
    list_select_related = ["plan__role_family", "created_by"]
    search_fields = ["name", "plan__name"]
    readonly_fields = ["name", "plan", "status", "created_by", "created_at", "closed_at", "page"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = CalibrationSessionAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["name", "plan", "panelists", "results", "sample_size"]
        return [*self.readonly_fields, "panel"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else [*self.readonly_fields, "panel"]

    @admin.display(description="Page")
    def page(self, obj: CalibrationSession) -> str:
        url = reverse("governance:calibration-session", args=[obj.public_id])
        return format_html('<a href="{}">Open the session page</a>', url)

    @admin.display(description="Reviewers")
    def panel(self, obj: CalibrationSession) -> str:
        return ", ".join(user.username for user in obj.panelists.order_by("username"))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        try:
            session = calibration_session_create(
                name=obj.name,
                plan=obj.plan,
                actor=request.user,
                panelists=form.cleaned_data["panelists"],
                results=form.cleaned_data["picked"],
            )
        except CalibrationError as exc:  # the form checked the same things; a race gets here
            self.message_user(request, str(exc), messages.ERROR)
            return
        obj.pk = session.pk
        obj.refresh_from_db()
        obj._state.adding = False
        count = len(form.cleaned_data["picked"])
        if count < RECOMMENDED_RESULTS:
            self.message_user(
                request,
                f"The session holds {count} results; {RECOMMENDED_RESULTS} or more are "
                "recommended for agreement figures worth relying on.",
                messages.WARNING,
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # the service stored the panel and the items

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None if obj.pk is None else super().log_addition(request, obj, message)


@admin.register(CalibrationItem)
class CalibrationItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["session", "position", "result"]
    list_select_related = ["session", "result"]
    list_filter = ["session"]


@admin.register(CalibrationRating)
class CalibrationRatingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["item", "competency", "reviewer", "score", "seconds_spent", "created_at"]
    list_select_related = ["item__session", "competency", "reviewer"]
    list_filter = ["item__session"]


@admin.register(CandidateDemographics)
class CandidateDemographicsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["candidate", "sex", "hispanic_or_latino", "race", "source", "imported_at"]
    list_select_related = ["candidate"]
    list_filter = ["source", "sex", "hispanic_or_latino", "race"]
