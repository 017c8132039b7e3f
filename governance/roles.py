"""The four roles of Screenbridge, carried by Django groups."""

from __future__ import annotations

from typing import Any

RECRUITER = "Recruiter"
HIRING_MANAGER = "Hiring manager"
HIRING_OPS_ADMIN = "Hiring-ops admin"
AUDITOR = "Auditor"
ALL_ROLES = (RECRUITER, HIRING_MANAGER, HIRING_OPS_ADMIN, AUDITOR)

# Template-friendly keys for each role.
ROLE_KEYS = {
    RECRUITER: "recruiter",
    HIRING_MANAGER: "hiring_manager",
    HIRING_OPS_ADMIN: "admin",
    AUDITOR: "auditor",
}


def user_roles(user: Any) -> frozenset[str]:
    """Role keys of a user ('recruiter', 'hiring_manager', 'admin', 'auditor'); cached per object."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_screenbridge_roles", None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    keys = {ROLE_KEYS[name] for name in names if name in ROLE_KEYS}
    if user.is_superuser:
        keys.add("admin")
    result = frozenset(keys)
    user._screenbridge_roles = result
    return result
