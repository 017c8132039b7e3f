"""Admin for writeback field mappings: which result field goes where in each ATS connection.

A mapping is part of its connection's configuration, so whoever may change (or view) ATS
connections may change (or view) their mappings — hiring-ops admins edit, auditors read,
recruiters see nothing. The model's own permissions grant the same, for sites that assign them.
The form refuses what the connection's provider cannot receive, with the reason.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from interviews.models import Competency, ResultField, WritebackFieldMapping
from interviews.services.writeback import mapping_problems

CONNECTION_PERMISSION = "integrations.{action}_atsconnection"


class WritebackFieldMappingForm(forms.ModelForm):
    class Meta:
        model = WritebackFieldMapping
        fields = ["connection", "source", "competency_key", "target_kind", "target_key", "active"]
        help_texts = {
            "target_key": (
                "Custom fields: the Greenhouse name_key or Ashby custom field id. Generic: the "
                "JSON key. Notes and tags: the label shown before the value (optional)."
            ),
            "competency_key": "Competency subscores only: the competency's key in the plans.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        connection = cleaned.get("connection")
        source = cleaned.get("source")
        target_kind = cleaned.get("target_kind")
        if connection is None or not source or not target_kind:
            return cleaned  # the field errors already say what is missing
        competency_key = cleaned.get("competency_key") or ""
        target_key = cleaned.get("target_key") or ""
        problems = mapping_problems(
            provider=connection.provider,
            source=source,
            competency_key=competency_key,
            target_kind=target_kind,
            target_key=target_key,
        )
        if (
            "competency_key" not in problems
            and source == ResultField.COMPETENCY_SCORE
            and not Competency.objects.filter(key=competency_key).exists()
        ):
            problems["competency_key"] = (
                f"No interview plan has a competency with the key {competency_key!r}."
            )
        if target_key.strip() and "target_key" not in problems:
            clash = (
                WritebackFieldMapping.objects.filter(
                    connection=connection, target_kind=target_kind, target_key=target_key
                )
                .exclude(pk=self.instance.pk)
                .first()
            )
            if clash is not None and target_kind in ("custom_fields", "generic"):
                problems["target_key"] = (
                    f"{target_key!r} already receives “{clash.get_source_display()}” on this "
                    "connection; one field can hold one value."
                )
        for field_name, message in problems.items():
            self.add_error(field_name, message)
        return cleaned


@admin.register(WritebackFieldMapping)
class WritebackFieldMappingAdmin(admin.ModelAdmin):
    form = WritebackFieldMappingForm
    list_display = [
        "connection",
        "source",
        "competency_key",
        "target_kind",
        "target_key",
        "active",
    ]
    list_filter = ["connection", "connection__provider", "target_kind", "source", "active"]
    list_select_related = ["connection"]
    list_editable = ["active"]
    list_display_links = ["source"]
    search_fields = ["target_key", "competency_key", "connection__name", "connection__slug"]
    ordering = ["connection__name", "source", "competency_key", "target_kind"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WritebackFieldMapping]:
        return super().get_queryset(request).select_related("connection")

    # Permissions follow the ATS connection the mapping configures.
    def _allowed(self, request: HttpRequest, own_action: str, connection_action: str) -> bool:
        user = request.user
        own = f"{self.opts.app_label}.{own_action}_{self.opts.model_name}"
        return user.has_perm(own) or user.has_perm(
            CONNECTION_PERMISSION.format(action=connection_action)
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, "view", "view") or self.has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, "add", "change")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, "change", "change")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, "delete", "change")
