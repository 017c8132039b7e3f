"""Admin for ATS connections and stage mappings, plus read-only views of the synced records.

Secrets are write-only here: the form accepts a new value (or a request to clear the stored one)
and only ever displays *whether* a secret is configured and where it comes from; the same
machinery serves the vendor admin (integrations/admin_secrets.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from integrations.admin_secrets import SecretInput, SecretsAdminMixin, secrets_form
from integrations.models import (
    Application,
    AtsConnection,
    Candidate,
    CanonicalStage,
    InboundEvent,
    Requisition,
    StageMapping,
    WritebackAttempt,
    WritebackJob,
    WritebackStatus,
    normalize_stage_name,
)

BOTH_ACTION_LOCATIONS = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


# -- shared building blocks (also used by the interviews and governance admins) ---------------


class ReadOnlyAdminMixin:
    """Records that only the system writes: viewable with the view permission, never added,
    edited or deleted from the admin (not even by superusers)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActionOnlyAdminMixin:
    """Read-only detail pages, but admin actions guarded by the model's change permission.

    Actions check ``has_change_permission(request)`` without an object, the change page checks it
    with one: answering "no" for every object keeps each record read-only while operators can
    still retry from the list or the detail page.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def log_admin_changes(request: HttpRequest, objects: list[Any], message: str) -> None:
    """Record a bulk admin action in every object's admin history."""
    if objects:
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=objects, action_flag=CHANGE, change_message=message
        )


class FixedSlugAdminMixin:
    """The slug is prepopulated from the name when adding and read-only afterwards: other
    systems (the webhook URLs configured in an ATS or at a vendor) refer to it."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "slug"] if obj is not None else fields

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj is not None else dict(super().get_prepopulated_fields(request, obj))


def first_line(text: str, limit: int = 80) -> str:
    """The first line of an error message, cut to fit a list column."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def retry_events(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    retry: Callable[..., list[int]],
    *,
    retryable: str,
) -> None:
    """The "Retry processing" action of an inbound-event ledger: queue the selected events
    again with ``retry`` (a service returning the ids it queued), log and report the outcome."""
    events = {event.pk: event for event in queryset}
    queued = retry(event_ids=list(events))
    log_admin_changes(request, [events[pk] for pk in queued], "Queued for processing again.")
    model_admin.message_user(
        request, f"{len(queued)} event(s) queued for processing.", messages.SUCCESS
    )
    if skipped := len(events) - len(queued):
        model_admin.message_user(
            request,
            f"{skipped} event(s) skipped: only {retryable} events can be retried.",
            messages.WARNING,
        )


# -- AtsConnection -----------------------------------------------------------------------------

# Assessment partner keys: long enough not to be guessed, short enough for Greenhouse (< 171).
PARTNER_KEY_MIN_LENGTH = 24
PARTNER_KEY_MAX_LENGTH = 170

ConnectionSecretsForm = secrets_form(
    AtsConnection,
    partner_key=SecretInput(
        column="Partner key configured",
        about=(
            "The key the ATS presents (HTTP Basic username) when it calls Screenbridge's "
            "assessment-partner endpoints (Greenhouse Assessment API, Ashby assessments)."
        ),
        min_length=PARTNER_KEY_MIN_LENGTH,
        max_length=PARTNER_KEY_MAX_LENGTH,
    ),
)


class AtsConnectionAdminForm(ConnectionSecretsForm):
    """Connection form with write-only secret fields: blank keeps the stored value."""

    class Meta(ConnectionSecretsForm.Meta):
        model = AtsConnection
        # Never the *_encrypted columns: secrets only enter through the new_* fields.
        fields = [
            "name",
            "slug",
            "provider",
            "mode",
            "active",
            "base_url",
            "webhook_secret_env",
            "api_key_env",
            "partner_key_env",
            "api_client_id",
            "on_behalf_of",
            "settings",
        ]


class StageMappingForm(forms.ModelForm):
    """Stage mapping form that checks the id/name uniqueness the database enforces.

    ``normalized_name`` is computed in ``save()``, so Django's own constraint validation cannot
    see it; without these checks a duplicate name would end in an IntegrityError.
    """

    class Meta:
        model = StageMapping
        fields = ["connection", "remote_stage_id", "remote_stage_name", "canonical_stage"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "canonical_stage" in self.fields:
            # Mapping to "unmapped" is forbidden: it would hide the stage from the admins.
            self.fields["canonical_stage"].choices = [
                choice
                for choice in self.fields["canonical_stage"].choices
                if choice[0] != CanonicalStage.UNMAPPED
            ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        remote_id = cleaned.get("remote_stage_id") or ""
        name = cleaned.get("remote_stage_name") or ""
        normalized = normalize_stage_name(name)
        if not remote_id and not normalized:
            raise ValidationError("Enter the remote stage id, its name, or both.")
        connection = cleaned.get("connection")
        if connection is None or connection.pk is None:
            return cleaned  # a connection being created has no mappings to clash with yet
        others = StageMapping.objects.filter(connection=connection).exclude(pk=self.instance.pk)
        if remote_id:
            clash = others.filter(remote_stage_id=remote_id).first()
            if clash is not None:
                self.add_error(
                    "remote_stage_id",
                    f"Stage id {remote_id!r} is already mapped to "
                    f"{clash.get_canonical_stage_display()} on this connection.",
                )
        else:
            clash = others.filter(remote_stage_id="", normalized_name=normalized).first()
            if clash is not None:
                self.add_error(
                    "remote_stage_name",
                    f"The stage name {clash.remote_stage_name!r} is already mapped to "
                    f"{clash.get_canonical_stage_display()} on this connection "
                    "(names match ignoring case and spaces).",
                )
        return cleaned


class StageMappingInlineFormSet(BaseInlineFormSet):
    """Rejects two rows of one submission that map the same remote stage."""

    def clean(self) -> None:
        super().clean()
        seen_ids: set[str] = set()
        seen_names: set[str] = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or self._should_delete_form(form):
                continue
            remote_id = data.get("remote_stage_id") or ""
            normalized = normalize_stage_name(data.get("remote_stage_name") or "")
            if remote_id:
                if remote_id in seen_ids:
                    raise ValidationError(f"Stage id {remote_id!r} appears in two rows.")
                seen_ids.add(remote_id)
            elif normalized:
                if normalized in seen_names:
                    raise ValidationError(f"Stage name {normalized!r} appears in two rows.")
                seen_names.add(normalized)


class StageMappingInline(admin.TabularInline):
    model = StageMapping
    form = StageMappingForm
    formset = StageMappingInlineFormSet
    fields = ["remote_stage_id", "remote_stage_name", "normalized_name", "canonical_stage"]
    readonly_fields = ["normalized_name"]
    extra = 1


@admin.register(AtsConnection)
class AtsConnectionAdmin(SecretsAdminMixin, FixedSlugAdminMixin, admin.ModelAdmin):
    form = AtsConnectionAdminForm
    list_display = [
        "name",
        "slug",
        "provider",
        "mode",
        "active",
        "webhook_secret_configured",
        "api_key_configured",
        "partner_key_configured",
    ]
    list_filter = ["provider", "mode", "active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["unmapped_stages", "created_at", "updated_at"]
    inlines = [StageMappingInline]
    save_on_top = True

    def get_fieldsets(
        self, request: HttpRequest, obj: AtsConnection | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (None, {"fields": ["name", "slug", "provider", "mode", "active", "base_url"]}),
            (
                "Webhook secret",
                {
                    "fields": self.secret_fields(request, obj, "webhook_secret"),
                    "description": "Either the name of an environment variable or a secret "
                    "stored encrypted. The environment variable wins when both are set.",
                },
            ),
            (
                "API credentials",
                {
                    "fields": [
                        *self.secret_fields(request, obj, "api_key"),
                        "api_client_id",
                        "on_behalf_of",
                    ]
                },
            ),
            (
                "Assessment partner key",
                {
                    "fields": self.secret_fields(request, obj, "partner_key"),
                    "description": "Only for assessment-partner mode (Greenhouse Assessment "
                    "API, Ashby assessments): the key the ATS sends to Screenbridge. Either the "
                    "name of an environment variable or a key stored encrypted.",
                },
            ),
            ("Provider options", {"fields": ["settings"], "classes": ["collapse"]}),
        ]
        if obj is not None:
            fieldsets.append(
                ("Stages seen but not mapped", {"fields": ["unmapped_stages"]}),
            )
            fieldsets.append(
                ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]})
            )
        return fieldsets

    @admin.display(description="Unmapped stages")
    def unmapped_stages(self, obj: AtsConnection) -> str:
        """Remote stages applications sit in that no mapping covers; they are never guessed."""
        rows = (
            Application.objects.filter(connection=obj, canonical_stage=CanonicalStage.UNMAPPED)
            .values("remote_stage_id", "remote_stage_name")
            .annotate(applications=Count("pk"))
            .order_by("-applications", "remote_stage_name")[:20]
        )
        if not rows:
            return "None: every stage seen so far is mapped."
        url = reverse("admin:integrations_application_changelist")
        query = urlencode({"connection__id__exact": obj.pk, "canonical_stage__exact": "unmapped"})
        items = format_html_join(
            "",
            "<li>{} <code>{}</code>: {} application(s)</li>",
            [
                (
                    row["remote_stage_name"] or "(no name)",
                    row["remote_stage_id"],
                    row["applications"],
                )
                for row in rows
            ],
        )
        return format_html('<ul>{}</ul><a href="{}?{}">See the applications</a>', items, url, query)


@admin.register(StageMapping)
class StageMappingAdmin(admin.ModelAdmin):
    form = StageMappingForm
    list_display = ["connection", "remote_stage_id", "remote_stage_name", "canonical_stage"]
    list_filter = ["connection", "canonical_stage"]
    list_select_related = ["connection"]
    search_fields = ["remote_stage_id", "remote_stage_name", "normalized_name"]
    fields = [
        "connection",
        "remote_stage_id",
        "remote_stage_name",
        "normalized_name",
        "canonical_stage",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["normalized_name", "created_at", "updated_at"]


# -- the synced mirror (read-only) -------------------------------------------------------------


@admin.register(Candidate)
class CandidateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["remote_id", "full_name", "email", "connection", "opted_out", "updated_at"]
    list_filter = ["connection", "opted_out"]
    list_select_related = ["connection"]
    search_fields = ["remote_id", "first_name", "last_name", "email"]
    show_full_result_count = False


@admin.register(Requisition)
class RequisitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "title",
        "remote_id",
        "department",
        "location",
        "status",
        "role_family",
        "connection",
    ]
    list_filter = ["connection", "status", "role_family_membership__role_family"]
    list_select_related = ["connection", "role_family_membership__role_family"]
    search_fields = ["remote_id", "title", "department"]
    show_full_result_count = False

    @admin.display(description="Role family")
    def role_family(self, obj: Requisition) -> str:
        try:
            return str(obj.role_family_membership.role_family)
        except ObjectDoesNotExist:
            return "-"


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "remote_id",
        "candidate",
        "requisition",
        "connection",
        "remote_stage_name",
        "canonical_stage",
        "stage_entered_at",
    ]
    list_filter = ["connection", "canonical_stage"]
    list_select_related = ["candidate", "requisition", "connection"]
    search_fields = [
        "remote_id",
        "candidate__remote_id",
        "candidate__first_name",
        "candidate__last_name",
        "requisition__remote_id",
        "requisition__title",
        "remote_stage_name",
    ]
    show_full_result_count = False


# -- inbound and outbound ledgers --------------------------------------------------------------


@admin.register(InboundEvent)
class InboundEventAdmin(ActionOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["connection", "delivery_id", "action", "status", "received_at", "attempts"]
    list_filter = ["status", "connection", "action"]
    list_select_related = ["connection"]
    search_fields = ["delivery_id"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    actions = ["retry_processing"]
    fields = [
        "connection",
        "delivery_id",
        "action",
        "status",
        "attempts",
        "error",
        "received_at",
        "occurred_at",
        "processed_at",
        "headers",
        "raw_body",
    ]

    @admin.action(
        description="Retry processing now (failed or stale events)",
        permissions=["change"],
        location=BOTH_ACTION_LOCATIONS,
    )
    def retry_processing(self, request: HttpRequest, queryset: QuerySet[InboundEvent]) -> None:
        from integrations.services.stage_sync import inbound_events_retry

        retry_events(
            self,
            request,
            queryset.select_related("connection"),
            inbound_events_retry,
            retryable="failed or stale",
        )


class WritebackAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WritebackAttempt
    fields = ["started_at", "status_code", "latency_ms", "succeeded", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(WritebackJob)
class WritebackJobAdmin(ActionOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "connection",
        "application",
        "kind",
        "target",
        "status",
        "attempts",
        "next_attempt_at",
        "short_last_error",
    ]
    list_filter = ["status", "kind", "connection"]
    list_select_related = ["connection", "application__candidate", "application__requisition"]
    search_fields = ["target", "application__remote_id", "last_error"]
    show_full_result_count = False
    inlines = [WritebackAttemptInline]
    actions = ["retry_now"]
    fields = [
        "connection",
        "application",
        "kind",
        "target",
        "status",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "last_error",
        "payload",
        "created_at",
        "updated_at",
        "completed_at",
    ]

    @admin.display(description="Last error")
    def short_last_error(self, obj: WritebackJob) -> str:
        return first_line(obj.last_error)

    @admin.action(
        description="Retry now (failed or dead jobs)",
        permissions=["change"],
        location=BOTH_ACTION_LOCATIONS,
    )
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WritebackJob]) -> None:
        from integrations.services.outbox import RETRYABLE_BY_HAND, writeback_retry

        jobs = {job.pk: job for job in queryset.select_related("connection")}
        was_stuck = [job for job in jobs.values() if job.status in RETRYABLE_BY_HAND]
        queued = writeback_retry(job_ids=list(jobs), actor=request.user)
        now_pending = set(
            WritebackJob.objects.filter(
                pk__in=[job.pk for job in was_stuck], status=WritebackStatus.PENDING
            ).values_list("pk", flat=True)
        )
        log_admin_changes(
            request, [job for job in was_stuck if job.pk in now_pending], "Queued for retry now."
        )
        self.message_user(request, f"{queued} job(s) queued for retry.", messages.SUCCESS)
        if skipped := len(jobs) - queued:
            self.message_user(
                request,
                f"{skipped} job(s) skipped: only failed or dead jobs without a newer write "
                "for the same target can be retried.",
                messages.WARNING,
            )


# -- refused webhook deliveries ----------------------------------------------------------------

# Imported here so this section stays self-contained at the end of the module.
from integrations.models import SignatureFailure  # noqa: E402


@admin.register(SignatureFailure)
class SignatureFailureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Deliveries refused for a bad or missing signature, per connection (nothing else kept)."""

    list_display = ["received_at", "connection", "reason", "remote_addr"]
    list_filter = ["connection", "reason"]
    list_select_related = ["connection"]
    search_fields = ["reason", "remote_addr", "connection__slug"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    fields = ["connection", "received_at", "reason", "remote_addr"]
    readonly_fields = fields


# -- stage history (metrics) -------------------------------------------------------------------

from integrations.models import ApplicationStageChange  # noqa: E402


@admin.register(ApplicationStageChange)
class ApplicationStageChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only canonical stage history of applications, as the ATS reported it."""

    list_display = ["changed_at", "application", "from_stage", "to_stage"]
    list_filter = ["to_stage"]
    list_select_related = ["application__candidate", "application__requisition"]
    search_fields = ["application__remote_id"]
    date_hierarchy = "changed_at"
    show_full_result_count = False
    fields = ["application", "from_stage", "to_stage", "changed_at", "recorded_at"]
    readonly_fields = fields


from integrations import admin_sync  # noqa: E402, F401
