"""Admin for retention rules, legal holds and access grants; the decision and audit trails are
shown read-only to everybody, superusers included."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import ForeignKey, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from governance.models import (
    AuditEvent,
    BiasAudit,
    ConsentRecord,
    DataRequest,
    Decision,
    DeletionReceipt,
    LegalHold,
    NoticeRecord,
    RequisitionAccess,
    RetentionPolicy,
)
from integrations.admin import BOTH_ACTION_LOCATIONS, ReadOnlyAdminMixin, log_admin_changes

admin.site.site_header = "Screenbridge administration"
admin.site.site_title = "Screenbridge administration"


# -- retention ---------------------------------------------------------------------------------


class RetentionPolicyAdminForm(forms.ModelForm):
    """Explains an overlapping active policy instead of the database's generic constraint text."""

    class Meta:
        model = RetentionPolicy
        fields = [
            "name",
            "data_category",
            "role_family",
            "jurisdiction",
            "retention_days",
            "anchor",
            "action",
            "active",
            "notes",
        ]

    def clean(self) -> dict[str, Any]:
        from governance.retention import MINIMUM_DAYS

        cleaned = super().clean()
        category = cleaned.get("data_category")
        days = cleaned.get("retention_days")
        minimum = MINIMUM_DAYS.get(category or "", 0)
        if days is not None and days < minimum:
            self.add_error("retention_days", f"Keep this category at least {minimum} days.")
        if cleaned.get("active") and category:
            role_family = cleaned.get("role_family")
            jurisdiction = cleaned.get("jurisdiction") or ""
            clash = (
                RetentionPolicy.objects.filter(
                    active=True,
                    data_category=category,
                    role_family=role_family,
                    jurisdiction=jurisdiction,
                )
                .exclude(pk=self.instance.pk)
                .first()
            )
            if clash is not None:
                scope = f"role family {role_family}" if role_family else "all role families"
                if jurisdiction:
                    scope += f" in {jurisdiction}"
                self.add_error(
                    "data_category",
                    f"The active policy “{clash.name}” already covers this category for {scope}; "
                    "deactivate it first.",
                )
        return cleaned


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    form = RetentionPolicyAdminForm
    list_display = [
        "name",
        "data_category",
        "role_family",
        "jurisdiction",
        "retention_days",
        "anchor",
        "action",
        "active",
    ]
    list_filter = ["data_category", "jurisdiction", "anchor", "action", "active", "role_family"]
    list_select_related = ["role_family"]
    search_fields = ["name", "notes"]
    autocomplete_fields = ["role_family"]
    readonly_fields = ["created_at", "updated_at"]


# -- legal holds -------------------------------------------------------------------------------


class HoldStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("released", "Released")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[LegalHold]) -> QuerySet[LegalHold]:
        if self.value() == "active":
            return queryset.filter(released_at__isnull=True)
        if self.value() == "released":
            return queryset.filter(released_at__isnull=False)
        return queryset


class LegalHoldAdminForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["reason", "candidate", "requisition", "connection"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # Only on the add page: the target is read-only once the hold exists.
        if (
            "candidate" in self.fields
            and not cleaned.get("candidate")
            and not cleaned.get("requisition")
            and not cleaned.get("connection")
            and not self.has_error("candidate")
            and not self.has_error("requisition")
        ):
            self.add_error(
                "candidate",
                "Choose the candidate or the requisition to hold, or a whole connection.",
            )
        return cleaned


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    form = LegalHoldAdminForm
    list_display = ["__str__", "placed_by", "placed_at", "is_active", "released_by", "released_at"]
    list_filter = [HoldStateFilter, "placed_at"]
    list_select_related = ["candidate", "requisition", "connection", "placed_by", "released_by"]
    search_fields = [
        "reason",
        "candidate__remote_id",
        "candidate__first_name",
        "candidate__last_name",
        "requisition__remote_id",
        "requisition__title",
    ]
    autocomplete_fields = ["candidate", "requisition"]
    fields = [
        "reason",
        "candidate",
        "requisition",
        "connection",
        "placed_by",
        "placed_at",
        "released_by",
        "released_at",
    ]
    actions = ["release_holds"]

    def get_readonly_fields(self, request: HttpRequest, obj: LegalHold | None = None) -> list[str]:
        fields = ["placed_by", "placed_at", "released_by", "released_at"]
        if obj is not None:
            # A hold is proof of what had to be kept: its target never changes afterwards.
            fields += ["candidate", "requisition", "connection"]
        return fields

    def has_delete_permission(self, request: HttpRequest, obj: LegalHold | None = None) -> bool:
        # Release a hold instead, so the record of it stays.
        return False

    @admin.display(boolean=True, description="Active")
    def is_active(self, obj: LegalHold) -> bool:
        return obj.is_active

    def save_model(
        self, request: HttpRequest, obj: LegalHold, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            obj.placed_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(
        description="Release the selected holds",
        permissions=["change"],
        location=BOTH_ACTION_LOCATIONS,
    )
    def release_holds(self, request: HttpRequest, queryset: QuerySet[LegalHold]) -> None:
        holds = list(
            queryset.filter(released_at__isnull=True).select_related(
                "candidate", "requisition", "connection"
            )
        )
        updated = LegalHold.objects.filter(
            pk__in=[hold.pk for hold in holds], released_at__isnull=True
        ).update(released_by=request.user, released_at=timezone.now())
        log_admin_changes(request, holds, "Released.")
        self.message_user(request, f"{updated} hold(s) released.", messages.SUCCESS)


# -- access grants -----------------------------------------------------------------------------


@admin.register(RequisitionAccess)
class RequisitionAccessAdmin(admin.ModelAdmin):
    list_display = ["user", "requisition", "role", "granted_at"]
    list_filter = ["role"]
    list_select_related = ["user", "requisition"]
    search_fields = [
        "user__username",
        "user__email",
        "user__first_name",
        "user__last_name",
        "requisition__remote_id",
        "requisition__title",
    ]
    readonly_fields = ["granted_at"]

    def get_autocomplete_fields(self, request: HttpRequest) -> list[str]:
        # The user autocomplete asks the user admin, which needs auth.view_user; without it
        # a plain list of active users still lets hiring ops pick the person.
        user_model = get_user_model()
        view_user = f"{user_model._meta.app_label}.view_{user_model._meta.model_name}"
        if request.user.has_perm(view_user):
            return ["user", "requisition"]
        return ["requisition"]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "user":
            kwargs.setdefault(
                "queryset",
                get_user_model().objects.filter(is_active=True).order_by("username"),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# -- decisions and the audit trail (read-only for everybody) -----------------------------------


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "application",
        "outcome",
        "recommended_outcome",
        "is_override",
        "override_reason",
        "decided_by",
    ]
    list_filter = ["outcome", "is_override", "override_reason"]
    list_select_related = ["application__candidate", "application__requisition", "decided_by"]
    search_fields = [
        "application__remote_id",
        "application__candidate__first_name",
        "application__candidate__last_name",
        "decided_by__username",
        "override_text",
    ]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_id", "object_repr", "request_id", "hash"]
    date_hierarchy = "occurred_at"
    # The trail only grows; counting it on every page load gets slow.
    show_full_result_count = False


import governance.admin_fairness  # noqa: E402, F401

# -- data requests, deletion receipts, consent, notices, bias audits ---------------------------


class DataRequestAdminForm(forms.ModelForm):
    class Meta:
        model = DataRequest
        fields = ["candidate", "source", "received_at", "reference"]


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    """Recorded here (the deadline is computed); erased from the data requests page."""

    form = DataRequestAdminForm
    list_display = ["__str__", "source", "basis", "received_at", "due_at", "status"]
    list_filter = ["status", "source", "basis"]
    list_select_related = ["candidate"]
    search_fields = ["reference", "candidate__remote_id"]
    autocomplete_fields = ["candidate"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: DataRequest | None = None
    ) -> list[str]:
        if obj is None:
            return []
        return [
            "candidate",
            "source",
            "basis",
            "reference",
            "received_at",
            "due_at",
            "status",
            "erased_at",
            "vendor_confirmed_at",
            "completed_at",
            "created_by",
        ]

    def get_fields(self, request: HttpRequest, obj: DataRequest | None = None) -> list[str]:
        if obj is None:
            return ["candidate", "source", "received_at", "reference"]
        return self.get_readonly_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: DataRequest, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            return
        from governance.data_requests import data_request_open

        opened, _ = data_request_open(
            candidate=obj.candidate,
            source=obj.source,
            received_at=obj.received_at,
            reference=obj.reference,
            actor=request.user,
        )
        obj.pk = opened.pk
        obj.refresh_from_db()


@admin.register(DeletionReceipt)
class DeletionReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "source",
        "data_category",
        "policy_label",
        "count",
        "vendor_status",
        "vendor_confirmed_at",
    ]
    list_filter = ["source", "data_category", "vendor_status"]
    search_fields = ["run_id", "policy_label"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ["candidate", "jurisdiction", "decision", "recorded_at", "withdrawn_at"]
    list_filter = ["decision", "jurisdiction"]
    list_select_related = ["candidate"]
    search_fields = ["candidate__remote_id"]
    autocomplete_fields = ["candidate", "application"]


@admin.register(NoticeRecord)
class NoticeRecordAdmin(admin.ModelAdmin):
    list_display = ["candidate", "jurisdiction", "channel", "sent_at"]
    list_filter = ["jurisdiction", "channel"]
    list_select_related = ["candidate"]
    search_fields = ["candidate__remote_id"]
    autocomplete_fields = ["candidate", "application"]


@admin.register(BiasAudit)
class BiasAuditAdmin(admin.ModelAdmin):
    list_display = ["vendor", "tool_version", "audit_date", "auditor"]
    list_filter = ["vendor"]
    list_select_related = ["vendor"]
    search_fields = ["tool_version", "auditor"]


from governance import admin_stop, admin_tokens  # noqa: E402, F401
