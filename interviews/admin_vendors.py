"""Admin for interview vendors (write-only secrets) and their webhook deliveries (read-only).

Vendors
    Secrets behave exactly as on the ATS connection page: the form accepts a new value or a
    request to clear the stored one, and only ever shows *whether* a secret is configured and
    where it comes from. The form is built from ``CredentialsModel.SECRETS`` rather than
    subclassing the connection's form, which carries connection-only secrets (partner keys).
    The page also shows the webhook address to give the vendor.

Vendor events
    Read-only ledger of accepted deliveries with a "Retry processing" action (failed events, and
    received ones the broker lost). The raw body can hold transcript and recording links, so it
    is shown only to users who may open transcripts, like a result's raw payload.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from integrations.admin import BOTH_ACTION_LOCATIONS, ActionOnlyAdminMixin, log_admin_changes
from interviews.models import Vendor, VendorEvent, VendorKind

# Form fields that carry secrets: kept out of error reports (sensitive_post_parameters).
VENDOR_SECRET_FORM_FIELDS = ("new_webhook_secret", "new_api_key")
# VendorEvent fields shown only with the permission next to them.
GUARDED_EVENT_FIELDS = {"raw_body": "interviews.view_transcript"}


def secret_source_text(env_name: str, encrypted: str) -> str:
    """Where a secret comes from, in words; never the secret itself."""
    if env_name:
        state = "set" if os.environ.get(env_name) else "NOT set on this server"
        text = f"Read from environment variable {env_name} ({state})"
        if encrypted:
            text += "; a stored encrypted value is also present but unused"
        return text
    if encrypted:
        return "Stored encrypted in the database"
    return "Not configured"


def _password_field(label: str, noun: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=f"Leave blank to keep the current {noun}. Stored encrypted; never shown again.",
    )


class VendorAdminForm(forms.ModelForm):
    """Vendor form with write-only secret fields: blank keeps the stored value."""

    new_webhook_secret = _password_field("New webhook secret", "secret")
    clear_webhook_secret = forms.BooleanField(
        label="Clear the stored webhook secret", required=False
    )
    new_api_key = _password_field("New API key (signing secret)", "key")
    clear_api_key = forms.BooleanField(label="Clear the stored API key", required=False)

    # (secret name, label, new-value field, clear field, environment-variable field)
    SECRETS = (
        (
            "webhook_secret",
            "webhook secret",
            "new_webhook_secret",
            "clear_webhook_secret",
            "webhook_secret_env",
        ),
        ("api_key", "API key", "new_api_key", "clear_api_key", "api_key_env"),
    )

    class Meta:
        model = Vendor
        # Never the *_encrypted columns: secrets only enter through the new_* fields above.
        fields = [
            "name",
            "slug",
            "kind",
            "active",
            "base_url",
            "webhook_secret_env",
            "api_key_env",
            "settings",
        ]
        labels = {
            "webhook_secret_env": "Environment variable",
            "api_key_env": "Environment variable",
        }
        help_texts = {
            "settings": (
                'Generic HTTP: {"invite_path": "/interviews", "http_timeout": [5, 30]}. '
                'Rehearsal: {"script": [{"match": {"candidate_email": "..."}, "score": 72, '
                '"summary": ["..."]}]} — see interviews/vendors/rehearsal.py.'
            ),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for _, label, new_field, clear_field, env_field in self.SECRETS:
            if cleaned.get(new_field) and cleaned.get(clear_field):
                self.add_error(
                    clear_field, f"Either enter a new {label} or clear the stored one, not both."
                )
            elif cleaned.get(new_field) and cleaned.get(env_field):
                # The environment variable would win, silently ignoring what was just typed.
                self.add_error(
                    new_field,
                    f"The {label} is read from the environment variable {cleaned[env_field]}; "
                    f"empty that name to store a {label} here instead.",
                )
        kind = cleaned.get("kind")
        if kind == VendorKind.GENERIC_HTTP:
            if not cleaned.get("base_url"):
                self.add_error("base_url", "A generic HTTP vendor needs its API base URL.")
            secrets = (cleaned.get("new_webhook_secret") or "").split()
            if any(s.startswith("whsec_") and not _is_base64(s[6:]) for s in secrets):
                self.add_error("new_webhook_secret", "A whsec_ secret must be followed by base64.")
            api_key = cleaned.get("new_api_key") or ""
            if api_key and not _is_base64(api_key.removeprefix("whsec_")):
                self.add_error(
                    "new_api_key",
                    "Invitations are signed with Standard Webhooks: enter the whsec_<base64> "
                    "secret shared with the vendor.",
                )
        settings = cleaned.get("settings")
        if settings is not None and not isinstance(settings, dict):
            self.add_error("settings", "Settings must be a JSON object.")
        elif kind == VendorKind.REHEARSAL and "script" in (settings or {}):
            script = settings["script"]
            if not isinstance(script, list) or not all(isinstance(e, dict) for e in script):
                self.add_error("settings", "settings.script must be a list of objects.")
        return cleaned

    def save(self, commit: bool = True) -> Vendor:
        vendor: Vendor = super().save(commit=False)
        for name, _, new_field, clear_field, _ in self.SECRETS:
            if self.cleaned_data.get(clear_field):
                vendor.set_secret(name, "")
            elif new_value := self.cleaned_data.get(new_field):
                vendor.set_secret(name, new_value)
        if commit:
            vendor.save()
            self._save_m2m()
        return vendor


def _is_base64(value: str) -> bool:
    try:
        return bool(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return False


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
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
    save_on_top = True

    @method_decorator(sensitive_post_parameters(*VENDOR_SECRET_FORM_FIELDS))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_fieldsets(
        self, request: HttpRequest, obj: Vendor | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        editable = (
            self.has_add_permission(request)
            if obj is None
            else self.has_change_permission(request, obj)
        )
        webhook: list[str] = []
        api: list[str] = []
        if obj is not None:
            webhook += ["webhook_address", "webhook_secret_status"]
            api.append("api_key_status")
        webhook.append("webhook_secret_env")
        api.append("api_key_env")
        if editable:
            # Form-only fields: a view-only page has nothing to show for them.
            webhook.append("new_webhook_secret")
            api.append("new_api_key")
            if obj is not None:
                webhook.append("clear_webhook_secret")
                api.append("clear_api_key")
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (None, {"fields": ["name", "slug", "kind", "active", "base_url"]}),
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
                    "fields": api,
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

    def get_readonly_fields(self, request: HttpRequest, obj: Vendor | None = None) -> list[str]:
        fields = [
            "webhook_address",
            "webhook_secret_status",
            "api_key_status",
            "created_at",
            "updated_at",
        ]
        if obj is not None:
            # The webhook address configured at the vendor contains the slug.
            fields.append("slug")
        return fields

    def get_prepopulated_fields(
        self, request: HttpRequest, obj: Vendor | None = None
    ) -> dict[str, Any]:
        return {} if obj is not None else dict(self.prepopulated_fields)

    @admin.display(boolean=True, description="Webhook secret configured")
    def webhook_secret_configured(self, obj: Vendor) -> bool:
        return obj.has_webhook_secret

    @admin.display(boolean=True, description="API key configured")
    def api_key_configured(self, obj: Vendor) -> bool:
        return obj.has_api_key

    @admin.display(description="Current webhook secret")
    def webhook_secret_status(self, obj: Vendor) -> str:
        return secret_source_text(obj.webhook_secret_env, obj.webhook_secret_encrypted)

    @admin.display(description="Current API key")
    def api_key_status(self, obj: Vendor) -> str:
        return secret_source_text(obj.api_key_env, obj.api_key_encrypted)

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
        error = obj.error.strip().splitlines()[0] if obj.error.strip() else ""
        return error if len(error) <= 80 else f"{error[:79]}…"

    @admin.action(
        description="Retry processing now (failed or unprocessed events)",
        permissions=["change"],
        location=BOTH_ACTION_LOCATIONS,
    )
    def retry_processing(self, request: HttpRequest, queryset: QuerySet[VendorEvent]) -> None:
        from interviews.services.vendor_events import vendor_events_retry

        events = {event.pk: event for event in queryset.select_related("vendor")}
        queued = vendor_events_retry(event_ids=list(events))
        log_admin_changes(request, [events[pk] for pk in queued], "Queued for processing again.")
        self.message_user(
            request, f"{len(queued)} event(s) queued for processing.", messages.SUCCESS
        )
        if skipped := len(events) - len(queued):
            self.message_user(
                request,
                f"{skipped} event(s) skipped: only failed or unprocessed events can be retried.",
                messages.WARNING,
            )
