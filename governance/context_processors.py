from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from governance.roles import ROLE_KEYS, user_roles

ROLE_LABELS = {key: label for label, key in ROLE_KEYS.items()}


def roles(request: HttpRequest) -> dict[str, Any]:
    """Expose the signed-in user's roles to templates (for the navigation)."""
    user = getattr(request, "user", None)
    keys = user_roles(user) if user is not None else frozenset()
    return {
        "user_roles": keys,
        "user_role_labels": sorted(ROLE_LABELS[k] for k in keys),
    }
