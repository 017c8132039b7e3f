"""Admin for the inbound sync: the "Unmapped stages" list and retrying failed deliveries.

Unmapped stages
    Every remote stage no mapping covers, with how often it was seen and how many applications
    sit in it now. Its page is the "Map to…" form: choose a canonical stage and whether to map
    the stage *name* (every job's stage of that name — Greenhouse and Ashby stage ids are per
    job) or this stage *id* only. Saving creates the StageMapping, marks the stage resolved
    and re-maps the applications sitting in it with canonical ``unmapped``.

    Decision — mapping does **not** start workflows by default. Mapping a stage that 40
    candidates already sit in is a configuration change, not 40 candidates moving; publishing
    ``application_stage_changed`` for each would silently launch 40 interviews, some for people
    who have sat there for weeks. The applications are re-mapped quietly (keeping their
    ``stage_entered_at``) and their next move publishes as usual. The form shows how many
    applications are affected and offers an explicit, unticked "also start the workflow for
    them now" for the case where a trigger stage was simply forgotten.

    Permissions: role groups carry no UnmappedStage permissions, so this admin follows the
    StageMapping permissions it is about — ``view_stagemapping`` to see the list (Hiring-ops
    admins, auditors), ``add_stagemapping`` to map (Hiring-ops admins). Recruiters get 403.

Inbound events
    Adds "Retry processing now" to the InboundEvent admin: failed events go back to
    ``received`` and are enqueued after commit (the sweeper catches them if the broker is down).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from integrations.models import (
    CanonicalStage,
    UnmappedStage,
)
from integrations.selectors import (
    stage_mapping_covering,
    unmapped_applications,
    unmapped_stages_list,
)
from integrations.services.stage_sync import (
    StageMapConflictError,
    unmapped_stage_map,
)

MATCH_BY_NAME = "name"
MATCH_BY_ID = "id"


def _can_view_stages(request: HttpRequest) -> bool:
    user = request.user
    return user.has_perm("integrations.view_unmappedstage") or user.has_perm(
        "integrations.view_stagemapping"
    )


def _can_map_stages(request: HttpRequest) -> bool:
    return request.user.has_perm("integrations.add_stagemapping")


class UnmappedStageMapForm(forms.ModelForm):
    """The "Map to…" form; the stage's own fields are read-only."""

    map_to = forms.ChoiceField(
        label="Map to canonical stage",
        choices=[("", "---------")]
        + [c for c in CanonicalStage.choices if c[0] != CanonicalStage.UNMAPPED],
    )
    match_by = forms.ChoiceField(label="Match", widget=forms.RadioSelect)
    start_workflows = forms.BooleanField(
        label="Also start the workflow for the applications in this stage now",
        required=False,
        help_text=(
            "Off by default: the applications are re-mapped without publishing a stage change, "
            "so no interview is launched for them until they move again. Tick only if they "
            "should all be handled as if they had just entered the mapped stage."
        ),
    )

    class Meta:
        model = UnmappedStage
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stage = self.instance
        if "match_by" not in self.fields or stage.pk is None:
            return
        choices = []
        if stage.remote_stage_name.strip():
            count = unmapped_applications(stage=stage, by_name=True).count()
            choices.append(
                (
                    MATCH_BY_NAME,
                    f"Every stage named “{stage.remote_stage_name}” on this connection, "
                    f"on every job ({count} application(s) in it now)",
                )
            )
        if stage.remote_stage_id:
            count = unmapped_applications(stage=stage, by_name=False).count()
            choices.append(
                (
                    MATCH_BY_ID,
                    f"Only stage id {stage.remote_stage_id} ({count} application(s) in it now)",
                )
            )
        self.fields["match_by"].choices = choices
        self.fields["match_by"].initial = choices[0][0] if choices else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        canonical_stage = cleaned.get("map_to")
        match_by = cleaned.get("match_by")
        if canonical_stage and match_by and self.instance.pk is not None:
            existing = stage_mapping_covering(
                stage=self.instance, by_name=match_by == MATCH_BY_NAME
            )
            # Known before saving, so it is reported on the form rather than failing the save.
            if existing is not None and existing.canonical_stage != canonical_stage:
                self.add_error(
                    "map_to",
                    f"This stage is already mapped to {existing.get_canonical_stage_display()}; "
                    "choose that stage or change the mapping on the connection page.",
                )
        return cleaned


class UnmappedStageStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "resolved"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Not mapped yet"), ("yes", "Mapped")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(UnmappedStage)
class UnmappedStageAdmin(admin.ModelAdmin):
    form = UnmappedStageMapForm
    list_display = [
        "stage_label",
        "remote_stage_id",
        "connection",
        "applications_now",
        "seen_count",
        "last_seen_at",
        "mapped",
        "map_link",
    ]
    list_filter = [UnmappedStageStatusFilter, "connection"]
    # Stages still waiting for a mapping first, then the most recently seen.
    ordering = [F("resolved_at").desc(nulls_first=True), "-last_seen_at"]
    search_fields = ["remote_stage_name", "remote_stage_id"]
    show_full_result_count = False
    readonly_fields = [
        "connection",
        "remote_stage_name",
        "remote_stage_id",
        "applications_now",
        "seen_count",
        "first_seen_at",
        "last_seen_at",
        "resolved_at",
    ]

    # -- permissions: follow StageMapping (see module docstring) ----------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _can_view_stages(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _can_view_stages(request) or _can_map_stages(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A mapped stage is history: its page is read-only.
        if obj is not None and obj.resolved_at is not None:
            return False
        return _can_map_stages(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # recorded by the sync only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # -- list ------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[UnmappedStage]:
        return unmapped_stages_list(include_resolved=True)

    def get_fieldsets(
        self, request: HttpRequest, obj: UnmappedStage | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (None, {"fields": self.readonly_fields}),
        ]
        if obj is not None and self.has_change_permission(request, obj):
            fieldsets.append(
                ("Map to…", {"fields": ["map_to", "match_by", "start_workflows"]}),
            )
        return fieldsets

    @admin.display(description="Remote stage", ordering="remote_stage_name")
    def stage_label(self, obj: UnmappedStage) -> str:
        return obj.remote_stage_name or "(no name)"

    @admin.display(description="Applications in it now", ordering="application_count")
    def applications_now(self, obj: UnmappedStage) -> int:
        return int(getattr(obj, "application_count", 0))  # annotated by the selector

    @admin.display(description="Mapped", boolean=True, ordering="resolved_at")
    def mapped(self, obj: UnmappedStage) -> bool:
        return obj.resolved_at is not None

    @admin.display(description="")
    def map_link(self, obj: UnmappedStage) -> str:
        if obj.resolved_at is not None:
            return ""
        url = reverse("admin:integrations_unmappedstage_change", args=[obj.pk])
        return format_html('<a href="{}">Map to…</a>', url)

    # -- the map flow ----------------------------------------------------------------------

    def save_model(
        self, request: HttpRequest, obj: UnmappedStage, form: forms.ModelForm, change: bool
    ) -> None:
        """Map the stage instead of saving the (read-only) row (the form already checked for a
        conflicting mapping)."""
        try:
            result = unmapped_stage_map(
                unmapped_stage=obj,
                canonical_stage=form.cleaned_data["map_to"],
                by_name=form.cleaned_data["match_by"] == MATCH_BY_NAME,
                publish=form.cleaned_data["start_workflows"],
            )
        except StageMapConflictError as exc:  # mapped elsewhere since the form was checked
            self.message_user(request, str(exc), messages.ERROR)
            return
        if result.mapping_created:
            self.log_addition(request, result.mapping, "Created from the unmapped-stages list.")
        text = (
            f"“{obj.remote_stage_name or obj.remote_stage_id}” is now mapped to "
            f"{result.mapping.get_canonical_stage_display()}: "
            f"{result.remapped} application(s) re-mapped"
        )
        if form.cleaned_data["start_workflows"]:
            text += f", stage change published for {result.published}."
        else:
            text += ", no workflow started for them."
        self.message_user(request, text, messages.SUCCESS)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # nothing related: the mapping is created by the service
