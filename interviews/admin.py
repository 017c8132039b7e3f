"""Admin for role families and interview plans, plus read-only views of interviews and results.

Transcript and recording links (and the raw vendor payload, which may embed them) are shown only
to users holding ``interviews.view_transcript`` / ``interviews.view_recording``.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from integrations.admin import ReadOnlyAdminMixin
from interviews.admin_filters import PlanListFilter
from interviews.models import (
    Competency,
    CompetencyScore,
    Interview,
    InterviewPlan,
    InterviewResult,
    PlanStatus,
    RehearsalCandidate,
    RehearsalRun,
    ReviewTask,
    RoleFamily,
    RoleFamilyMembership,
    default_band_thresholds,
)

RUNNING_STATUSES = (PlanStatus.PILOT, PlanStatus.LIVE)

# Result fields a user sees only with the permission next to it.
GUARDED_RESULT_FIELDS: dict[str, str] = {
    "transcript_url": "interviews.view_transcript",
    "recording_url": "interviews.view_recording",
    # Vendors put transcript text and artifact links in their payloads.
    "raw_payload": "interviews.view_transcript",
}


# -- role families -----------------------------------------------------------------------------


class RoleFamilyMembershipInline(admin.TabularInline):
    model = RoleFamilyMembership
    fields = ["requisition", "source", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["requisition"]
    extra = 1
    verbose_name = "requisition"
    verbose_name_plural = "requisitions in this role family"


@admin.register(RoleFamily)
class RoleFamilyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "plan_count", "requisition_count", "created_at"]
    search_fields = ["name", "slug", "department_rule", "title_pattern"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RoleFamilyMembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description"]}),
        (
            "Automatic membership",
            {
                "fields": ["department_rule", "title_pattern"],
                "description": "Used on sync for requisitions without an explicit assignment.",
            },
        ),
        ("Metrics", {"fields": ["manual_screen_minutes"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoleFamily]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                plan_total=Count("plans", distinct=True),
                requisition_total=Count("memberships", distinct=True),
            )
        )

    @admin.display(description="Plans", ordering="plan_total")
    def plan_count(self, obj: RoleFamily) -> int:
        return obj.plan_total

    @admin.display(description="Requisitions", ordering="requisition_total")
    def requisition_count(self, obj: RoleFamily) -> int:
        return obj.requisition_total


# -- interview plans ---------------------------------------------------------------------------


class InterviewPlanAdminForm(forms.ModelForm):
    """Plan form: the model validates the bands; this adds a readable running-plan clash error."""

    class Meta:
        model = InterviewPlan
        fields = [
            "role_family",
            "name",
            "trigger_stage",
            "status",
            "vendor",
            "vendor_test_id",
            "launch_mode",
            "band_thresholds",
            "borderline_margin",
            "pilot_review_share",
            "expiry_days",
            "reminder_after_hours",
            "required_consents",
        ]
        help_texts = {
            "band_thresholds": (
                'Bands from the top down, each {"name": ..., "min": ...}; the cuts must be '
                "strictly descending and the last band must start at 0. Default: "
                + json.dumps(default_band_thresholds())
            ),
            "required_consents": 'Consents a candidate must have given, e.g. ["ai_interview"].',
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        stored = (
            InterviewPlan.objects.filter(pk=self.instance.pk)
            .values_list("status", flat=True)
            .first()
        )
        if cleaned.get("status") == PlanStatus.LIVE and stored != PlanStatus.LIVE:
            # Pilot → live only through services.golive (the readiness checklist).
            self.add_error(
                "status",
                "A plan goes live only from its go-live readiness page: save it as pilot, "
                "then use “Go-live readiness” once its checklist passes.",
            )
        role_family = cleaned.get("role_family")
        trigger_stage = cleaned.get("trigger_stage")
        if cleaned.get("status") in RUNNING_STATUSES and role_family and trigger_stage:
            clash = (
                InterviewPlan.objects.filter(
                    role_family=role_family,
                    trigger_stage=trigger_stage,
                    status__in=RUNNING_STATUSES,
                )
                .exclude(pk=self.instance.pk)
                .first()
            )
            if clash is not None:
                # Attached to "status" so the model's generic constraint message is not repeated.
                self.add_error(
                    "status",
                    f"“{clash.name}” is already {clash.get_status_display().lower()} for "
                    f"{role_family} at this stage; pause it first, so a launch is never ambiguous.",
                )
        return cleaned


class CompetencyInline(admin.TabularInline):
    model = Competency
    fields = ["position", "key", "name", "weight", "rubric_anchors"]
    extra = 0
    ordering = ["position", "pk"]


@admin.register(InterviewPlan)
class InterviewPlanAdmin(admin.ModelAdmin):
    form = InterviewPlanAdminForm
    list_display = ["name", "role_family", "trigger_stage", "vendor", "status", "activated_at"]
    list_filter = ["status", "trigger_stage", "role_family"]
    list_select_related = ["role_family", "vendor"]
    search_fields = ["name", "vendor__name", "vendor__slug", "vendor_test_id", "role_family__name"]
    autocomplete_fields = ["role_family"]
    inlines = [CompetencyInline]
    save_on_top = True
    readonly_fields = ["go_live_readiness", "activated_at", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "role_family",
                    "name",
                    "trigger_stage",
                    "status",
                    "go_live_readiness",
                    "activated_at",
                ]
            },
        ),
        ("Vendor", {"fields": ["vendor", "vendor_test_id", "launch_mode"]}),
        ("Scoring", {"fields": ["band_thresholds", "borderline_margin", "pilot_review_share"]}),
        ("Invitations", {"fields": ["expiry_days", "reminder_after_hours", "required_consents"]}),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Go-live readiness")
    def go_live_readiness(self, obj: InterviewPlan) -> str:
        if obj.pk is None:
            return "Save the plan first."
        return format_html(
            '<a class="button" href="{}">Go-live readiness and rehearsals</a> '
            "(a plan goes from pilot to live only there)",
            reverse("interviews:plan-readiness", args=[obj.pk]),
        )

    def save_model(
        self, request: HttpRequest, obj: InterviewPlan, form: forms.ModelForm, change: bool
    ) -> None:
        # Remember when the plan first started running (pilot or live).
        if obj.status in RUNNING_STATUSES and obj.activated_at is None:
            obj.activated_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(Competency)
class CompetencyAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "plan", "weight", "position"]
    list_filter = [("plan", PlanListFilter)]
    list_select_related = ["plan__role_family"]
    search_fields = ["key", "name", "plan__name"]
    autocomplete_fields = ["plan"]
    ordering = ["plan__role_family__name", "plan__name", "position", "pk"]


# -- interviews, results and the review queue (read-only) --------------------------------------


@admin.register(Interview)
class InterviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "application",
        "plan",
        "status",
        "is_rehearsal",
        "invited_at",
        "completed_at",
    ]
    list_filter = ["status", ("plan", PlanListFilter), "is_rehearsal"]
    list_select_related = [
        "application__candidate",
        "application__requisition",
        "plan__role_family",
    ]
    search_fields = [
        "vendor_reference",
        "application__remote_id",
        "application__candidate__first_name",
        "application__candidate__last_name",
    ]
    show_full_result_count = False


class CompetencyScoreInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CompetencyScore
    fields = ["competency", "score", "evidence"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CompetencyScore]:
        return super().get_queryset(request).select_related("competency")


@admin.register(InterviewResult)
class InterviewResultAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "candidate",
        "band",
        "score",
        "version",
        "is_current",
        "flag_list",
        "received_at",
    ]
    list_filter = ["band", "is_current", "artifact_retention_class"]
    list_select_related = ["interview__application__candidate"]
    search_fields = [
        "interview__vendor_reference",
        "interview__application__remote_id",
        "interview__application__candidate__first_name",
        "interview__application__candidate__last_name",
    ]
    show_full_result_count = False
    inlines = [CompetencyScoreInline]
    layout: list[tuple[str | None, list[str]]] = [
        (None, ["interview", "version", "is_current", "score", "band", "confidence", "flags"]),
        ("Summary", ["summary_bullets", "band_thresholds"]),
        (
            "Artifacts",
            [
                "report_url",
                "transcript_url",
                "recording_url",
                "artifact_retention_class",
                "artifacts_deleted_at",
            ],
        ),
        ("Vendor payload", ["raw_payload", "raw_payload_retention_class", "received_at"]),
    ]

    def _hidden_fields(self, request: HttpRequest) -> set[str]:
        return {
            field
            for field, permission in GUARDED_RESULT_FIELDS.items()
            if not request.user.has_perm(permission)
        }

    def get_fieldsets(
        self, request: HttpRequest, obj: InterviewResult | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        hidden = self._hidden_fields(request)
        return [
            (title, {"fields": [field for field in fields if field not in hidden]})
            for title, fields in self.layout
        ]

    def get_fields(self, request: HttpRequest, obj: InterviewResult | None = None) -> list[str]:
        hidden = self._hidden_fields(request)
        return [field for _, fields in self.layout for field in fields if field not in hidden]

    def get_readonly_fields(
        self, request: HttpRequest, obj: InterviewResult | None = None
    ) -> list[str]:
        return self.get_fields(request, obj)

    def get_exclude(self, request: HttpRequest, obj: InterviewResult | None = None) -> list[str]:
        # Belt and braces: even a form built for this admin never carries the guarded fields.
        return sorted(self._hidden_fields(request))

    @admin.display(description="Candidate")
    def candidate(self, obj: InterviewResult) -> str:
        return str(obj.interview.application.candidate)

    @admin.display(description="Flags")
    def flag_list(self, obj: InterviewResult) -> str:
        return ", ".join(obj.flags or []) or "-"


@admin.register(ReviewTask)
class ReviewTaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "interview",
        "reason",
        "status",
        "claimed_by",
        "created_at",
        "resolved_at",
    ]
    list_filter = ["status", "reason"]
    list_select_related = ["interview", "claimed_by"]
    search_fields = ["detail", "interview__vendor_reference", "interview__application__remote_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False


# Admin pages of the launch, results and vendor features, each in its own module.
from interviews import admin_launch, admin_results, admin_vendors  # noqa: E402, F401

# -- rehearsals (read-only) --------------------------------------------------------------------


class RehearsalCandidateInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RehearsalCandidate
    fields = ["position", "name", "sample", "outcome", "score", "band", "review_reason", "rejected"]
    readonly_fields = fields
    extra = 0
    show_change_link = False


@admin.register(RehearsalRun)
class RehearsalRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "plan", "mirrored_connection", "status", "started_at"]
    list_filter = ["status"]
    list_select_related = ["plan__role_family", "mirrored_connection"]
    inlines = [RehearsalCandidateInline]
    readonly_fields = ["run_page"]

    @admin.display(description="Page")
    def run_page(self, obj: RehearsalRun) -> str:
        return format_html(
            '<a href="{}">Per-candidate table</a>',
            reverse("interviews:rehearsal-run", args=[obj.pk]),
        )


@admin.register(RehearsalCandidate)
class RehearsalCandidateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "run", "position", "outcome", "band", "review_reason", "rejected"]
    list_filter = ["outcome", "rejected"]
    list_select_related = ["run__plan"]
