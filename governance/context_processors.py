from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from governance.roles import user_roles


def roles(request: HttpRequest) -> dict[str, Any]:
    """Expose the signed-in user's roles to templates (for the navigation)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": frozenset()}
    return {"user_roles": user_roles(user)}
