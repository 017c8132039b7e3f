"""Admin for interview vendors (write-only secrets) and their webhook deliveries (read-only).

Vendors
    Secrets behave exactly as on the ATS connection page, through the same machinery
    (integrations/admin_secrets.py, built from ``Vendor.SECRETS``): the form accepts a new value
    or a request to clear the stored one, and only ever shows *whether* a secret is configured
    and where it comes from. The Standard Webhooks format checks for a generic HTTP vendor plug
    in as per-secret hooks. The page also shows the webhook address to give the vendor.

Vendor events
    Read-only ledger of accepted deliveries with a "Retry processing" action (failed events, and
    received ones the broker lost). The raw body can hold transcript and recording links, so it
    is shown only to users who may open transcripts, like a result's raw payload.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations.admin import (
    BOTH_ACTION_LOCATIONS,
    ActionOnlyAdminMixin,
    FixedSlugAdminMixin,
    first_line,
    retry_events,
)
from integrations.admin_secrets import SecretInput, SecretsAdminMixin, secrets_form
from interviews.models import Vendor, VendorEvent, VendorKind

# VendorEvent fields shown only with the permission next to them.
GUARDED_EVENT_FIELDS = {"raw_body": "interviews.view_transcript"}


def _check_webhook_secret(value: str, cleaned: dict[str, Any]) -> str | None:
    """Generic HTTP: each of the (space-separated) secrets that is a whsec_ one must decode."""
    if cleaned.get("kind") == VendorKind.GENERIC_HTTP and any(
        s.startswith("whsec_") and not _is_base64(s[6:]) for s in value.split()
    ):
        return "A whsec_ secret must be followed by base64."
    return None


def _check_api_key(value: str, cleaned: dict[str, Any]) -> str | None:
    """Generic HTTP: invitations are signed with this key, so it must be whsec_<base64>."""
    if cleaned.get("kind") == VendorKind.GENERIC_HTTP and not _is_base64(
        value.removeprefix("whsec_")
    ):
        return (
            "Invitations are signed with Standard Webhooks: enter the whsec_<base64> "
            "secret shared with the vendor."
        )
    return None


def _is_base64(value: str) -> bool:
    try:
        return bool(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return False


VendorSecretsForm = secrets_form(
    Vendor,
    webhook_secret=SecretInput(check=_check_webhook_secret),
    api_key=SecretInput(field_label="New API key (signing secret)", check=_check_api_key),
)


class VendorAdminForm(VendorSecretsForm):
    """Vendor form with write-only secret fields: blank keeps the stored value."""

    class Meta(VendorSecretsForm.Meta):
        model = Vendor
        # Never the *_encrypted columns: secrets only enter through the new_* fields.
        fields = [
            "name",
            "slug",
            "kind",
            "active",
            "base_url",
            "model_version",
            "webhook_secret_env",
            "api_key_env",
            "settings",
        ]
        help_texts = {
            "settings": (
                'Generic HTTP: {"invite_path": "/interviews", "deletion_path": "/deletions", '
                '"http_timeout": [5, 30]}. '
                'Rehearsal: {"script": [{"match": {"candidate_email": "..."}, "score": 72, '
                '"summary": ["..."]}]} — see interviews/vendors/rehearsal.py.'
            ),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == VendorKind.GENERIC_HTTP and not cleaned.get("base_url"):
            self.add_error("base_url", "A generic HTTP vendor needs its API base URL.")
        settings = cleaned.get("settings")
        if settings is not None and not isinstance(settings, dict):
            self.add_error("settings", "Settings must be a JSON object.")
        elif kind == VendorKind.REHEARSAL and "script" in (settings or {}):
            script = settings["script"]
            if not isinstance(script, list) or not all(isinstance(e, dict) for e in script):
                self.add_error("settings", "settings.script must be a list of objects.")
        return cleaned


@admin.register(Vendor)
class VendorAdmin(SecretsAdminMixin, FixedSlugAdminMixin, admin.ModelAdmin):
    form = VendorAdminForm
    list_display = [
        "name",
        "slug",
        "kind",
        "active",
        "webhook_secret_configured",
        "api_key_configured",
    ]
    list_filter = ["kind", "active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["webhook_address", "created_at", "updated_at"]
    save_on_top = True

    def get_fieldsets(
        self, request: HttpRequest, obj: Vendor | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        # The address the vendor sends to comes first: it is what the admin copies over.
        webhook = self.secret_fields(request, obj, "webhook_secret")
        if obj is not None:
            webhook.insert(0, "webhook_address")
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (None, {"fields": ["name", "slug", "kind", "active", "base_url", "model_version"]}),
            (
                "Webhooks from the vendor",
                {
                    "fields": webhook,
                    "description": "The secret the vendor signs its status updates and results "
                    "with (Standard Webhooks). Either the name of an environment variable or a "
                    "secret stored encrypted; the environment variable wins when both are set.",
                },
            ),
            (
                "Invitations to the vendor",
                {
                    "fields": self.secret_fields(request, obj, "api_key"),
                    "description": "The whsec_ secret Screenbridge signs its invitations with.",
                },
            ),
            ("Adapter options", {"fields": ["settings"]}),
        ]
        if obj is not None:
            fieldsets.append(
                ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]})
            )
        return fieldsets

    @admin.display(description="Webhook address to give the vendor")
    def webhook_address(self, obj: Vendor) -> str:
        if obj.kind == VendorKind.REHEARSAL:
            return "None: the rehearsal vendor sends no webhooks."
        from interviews.vendors.generic_http import webhook_url

        return webhook_url(obj)


@admin.register(VendorEvent)
class VendorEventAdmin(ActionOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "vendor",
        "delivery_id",
        "event_type",
        "status",
        "attempts",
        "received_at",
        "short_error",
    ]
    list_filter = ["status", "vendor", "event_type"]
    list_select_related = ["vendor"]
    search_fields = ["delivery_id", "error"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    actions = ["retry_processing"]
    layout = [
        "vendor",
        "delivery_id",
        "event_type",
        "status",
        "attempts",
        "error",
        "received_at",
        "processed_at",
        "headers",
        "raw_body",
    ]

    def get_fields(self, request: HttpRequest, obj: VendorEvent | None = None) -> list[str]:
        hidden = {
            field
            for field, permission in GUARDED_EVENT_FIELDS.items()
            if not request.user.has_perm(permission)
        }
        return [field for field in self.layout if field not in hidden]

    def get_readonly_fields(
        self, request: HttpRequest, obj: VendorEvent | None = None
    ) -> list[str]:
        return self.get_fields(request, obj)

    @admin.display(description="Error")
    def short_error(self, obj: VendorEvent) -> str:
        return first_line(obj.error)

    @admin.action(
        description="Retry processing now (failed or unprocessed events)",
        permissions=["change"],
        location=BOTH_ACTION_LOCATIONS,
    )
    def retry_processing(self, request: HttpRequest, queryset: QuerySet[VendorEvent]) -> None:
        from interviews.services.vendor_events import vendor_events_retry

        retry_events(
            self,
            request,
            queryset.select_related("vendor"),
            vendor_events_retry,
            retryable="failed or unprocessed",
        )
