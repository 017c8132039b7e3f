"""Admin "Stop switches": halt new interview launches globally, for one plan or for one vendor.

- **Switch on** (the add page): scope, its target and a required reason, saved through
  ``governance.stop_switch.stop_switch_on`` (``switched_on_by`` is the requesting user; in-flight
  interviews in scope are flagged for review; an audit event is written). While a switch is on,
  no interview launches in its scope and no pending invitation is sent
  (``interviews.services.launch`` records each as a "stopped" launch skip).
- **Switch off** (an action on the list and on the detail page): ``stop_switch_off`` sets
  ``active`` to False and records who and when, with an audit event. A switch is never edited or
  deleted afterwards, so the record of who stopped what, when and why stays.

Permissions: the role groups carry no StopSwitch permissions, so this page follows the roles
(``governance.roles.user_roles``) or explicit model permissions: Hiring-ops admins switch on
and off; auditors see the history read-only; everybody else gets 403.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from governance.models import StopScope, StopSwitch
from governance.roles import user_roles
from governance.stop_switch import StopSwitchError, stop_switch_off, stop_switch_on
from integrations.admin import BOTH_ACTION_LOCATIONS, log_admin_changes


def _is_ops_admin(request: HttpRequest, permission: str) -> bool:
    return "admin" in user_roles(request.user) or request.user.has_perm(
        f"governance.{permission}_stopswitch"
    )


def _sees_stop_switches(request: HttpRequest) -> bool:
    return bool(user_roles(request.user) & {"admin", "auditor"}) or request.user.has_perm(
        "governance.view_stopswitch"
    )


class StopSwitchAdminForm(forms.ModelForm):
    """Switch-on form: the target must match the scope, and one active switch per target."""

    class Meta:
        model = StopSwitch
        fields = ["scope", "plan", "vendor", "reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "reason": "Required: why launches stop. Shown with every launch this switch stops.",
            "plan": "For the “plan” scope only.",
            "vendor": "For the “vendor” scope only.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        scope, plan, vendor = cleaned.get("scope"), cleaned.get("plan"), cleaned.get("vendor")
        clash: QuerySet[StopSwitch] | None = None
        if scope == StopScope.GLOBAL:
            for name in ("plan", "vendor"):
                if cleaned.get(name) is not None:
                    self.add_error(name, "A global switch stops everything: leave this empty.")
            clash, field = StopSwitch.objects.filter(active=True, scope=StopScope.GLOBAL), "scope"
        elif scope == StopScope.PLAN:
            if vendor is not None:
                self.add_error("vendor", "A plan switch has no vendor: leave this empty.")
            if plan is None:
                if not self.has_error("plan"):
                    self.add_error("plan", "Choose the plan to stop.")
            else:
                clash, field = StopSwitch.objects.filter(active=True, plan=plan), "plan"
        elif scope == StopScope.VENDOR:
            if plan is not None:
                self.add_error("plan", "A vendor switch has no plan: leave this empty.")
            if vendor is None:
                if not self.has_error("vendor"):
                    self.add_error("vendor", "Choose the vendor to stop.")
            else:
                clash, field = StopSwitch.objects.filter(active=True, vendor=vendor), "vendor"
        if clash is not None and clash.exists():
            # On the field, so the database constraint's generic message is not added too.
            self.add_error(field, "A stop switch for this is already on.")
        return cleaned


class SwitchStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("on", "On"), ("off", "Off")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[StopSwitch]
    ) -> QuerySet[StopSwitch]:
        if self.value() == "on":
            return queryset.filter(active=True)
        if self.value() == "off":
            return queryset.filter(active=False)
        return queryset


@admin.register(StopSwitch)
class StopSwitchAdmin(admin.ModelAdmin):
    form = StopSwitchAdminForm
    list_display = [
        "__str__",
        "scope",
        "active",
        "reason",
        "switched_on_by",
        "switched_on_at",
        "switched_off_by",
        "switched_off_at",
    ]
    list_filter = [SwitchStateFilter, "scope"]
    list_select_related = ["plan__role_family", "vendor", "switched_on_by", "switched_off_by"]
    search_fields = ["reason", "plan__name", "vendor__name", "switched_on_by__username"]
    actions = ["switch_off"]
    readonly_fields = [
        "active",
        "switched_on_by",
        "switched_on_at",
        "switched_off_by",
        "switched_off_at",
    ]

    def get_fields(self, request: HttpRequest, obj: StopSwitch | None = None) -> list[str]:
        if obj is None:
            return ["scope", "plan", "vendor", "reason"]
        return ["scope", "plan", "vendor", "reason", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: StopSwitch | None = None) -> list[str]:
        if obj is None:
            return []
        return self.get_fields(request, obj)

    # -- permissions -------------------------------------------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _sees_stop_switches(request)

    def has_view_permission(self, request: HttpRequest, obj: StopSwitch | None = None) -> bool:
        return _sees_stop_switches(request) or _is_ops_admin(request, "change")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_ops_admin(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: StopSwitch | None = None) -> bool:
        # The detail page is a record (read-only); "change" guards the switch-off action.
        if obj is not None:
            return False
        return _is_ops_admin(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: StopSwitch | None = None) -> bool:
        return False  # switch off instead, so the record stays

    # -- switching on and off ----------------------------------------------------------------

    def save_model(
        self, request: HttpRequest, obj: StopSwitch, form: forms.ModelForm, change: bool
    ) -> None:
        if change:  # the detail page is read-only; nothing to save
            return
        try:
            switch = stop_switch_on(
                scope=obj.scope,
                plan=obj.plan,
                vendor=obj.vendor,
                reason=obj.reason,
                actor=request.user,
            )
        except StopSwitchError as exc:
            # Only a race gets here (the form checked the same things): another admin switched
            # the same target on a moment ago. ``response_add`` reports it.
            obj._switch_on_error = str(exc)  # type: ignore[attr-defined]
            return
        obj.pk = switch.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def log_addition(self, request: HttpRequest, obj: StopSwitch, message: Any) -> Any:
        if obj.pk is None:
            return None
        return super().log_addition(request, obj, message)

    def response_add(
        self, request: HttpRequest, obj: StopSwitch, post_url_continue: str | None = None
    ) -> HttpResponse:
        error = getattr(obj, "_switch_on_error", None)
        if error is not None:
            self.message_user(request, error, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:governance_stopswitch_changelist"))
        return super().response_add(request, obj, post_url_continue)

    @admin.action(
        description="Switch off the selected stop switches",
        permissions=["change"],
        location=BOTH_ACTION_LOCATIONS,
    )
    def switch_off(self, request: HttpRequest, queryset: QuerySet[StopSwitch]) -> None:
        switched: list[StopSwitch] = []
        for switch in queryset.filter(active=True).select_related("plan", "vendor"):
            try:
                switched.append(stop_switch_off(switch=switch, actor=request.user))
            except StopSwitchError:
                # Someone else switched it off meanwhile; their name stays on it.
                continue
        log_admin_changes(request, switched, "Switched off.")
        self.message_user(
            request,
            f"{len(switched)} stop switch(es) switched off; "
            "launches resume from the next stage change.",
            messages.SUCCESS,
        )
