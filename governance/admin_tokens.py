"""Admin for REST API tokens: issue (the key is shown once, in a message), list and revoke.

Only the key's first characters are ever displayed again. Issuing and revoking need the add and
delete permissions on API tokens, which no role group holds: superusers only, because a token
lets its bearer act as the user. Admins and auditors see which users hold a token.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import ForeignKey
from django.http import HttpRequest

from governance.api_tokens import api_token_issue
from governance.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "key_prefix", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "key_prefix", "created_at", "last_used_at"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "user"] if obj is not None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "user":
            kwargs.setdefault(
                "queryset", get_user_model().objects.filter(is_active=True).order_by("username")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        # Issued through the service (hash only, audited, replaces an older token); the key is
        # shown in this one message and never again.
        token, key = api_token_issue(user=obj.user, actor=request.user)
        obj.pk, obj.key_prefix, obj.created_at = token.pk, token.key_prefix, token.created_at
        obj._state.adding = False
        messages.warning(
            request,
            f"API key for {obj.user}: {key} — copy it now; it cannot be shown again.",
        )
