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


CONFIG_MODELS = [
    ("integrations", "atsconnection"),
    ("integrations", "stagemapping"),
    ("interviews", "rolefamily"),
    ("interviews", "rolefamilymembership"),
    ("interviews", "interviewplan"),
    ("interviews", "competency"),
    ("governance", "retentionpolicy"),
    ("governance", "legalhold"),
    ("governance", "requisitionaccess"),
    ("governance", "rolefamilyaccess"),
    ("interviews", "vendor"),
    ("interviews", "writebackfieldmapping"),
    ("governance", "consentrecord"),
    ("governance", "noticerecord"),
    ("governance", "biasaudit"),
    ("governance", "datarequest"),
]
RECORD_MODELS = [
    ("integrations", "candidate"),
    ("integrations", "requisition"),
    ("integrations", "application"),
    ("integrations", "applicationstagechange"),
    ("integrations", "inboundevent"),
    ("integrations", "writebackjob"),
    ("integrations", "writebackattempt"),
    ("integrations", "signaturefailure"),
    ("integrations", "unmappedstage"),
    ("interviews", "vendorevent"),
    ("interviews", "launchskip"),
    ("interviews", "rehearsalrun"),
    ("interviews", "rehearsalcandidate"),
    ("governance", "stopswitch"),
    ("interviews", "interview"),
    ("interviews", "interviewresult"),
    ("interviews", "competencyscore"),
    ("interviews", "reviewtask"),
    ("governance", "decision"),
    ("governance", "auditevent"),
    ("governance", "deletionreceipt"),
    # Who holds an API token (prefix and dates only); issuing one is for superusers.
    ("governance", "apitoken"),
]


def _codenames_for(models: list[tuple[str, str]], actions: list[str]) -> list[tuple[str, str]]:
    return [(app, f"{action}_{model}") for app, model in models for action in actions]


ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    HIRING_OPS_ADMIN: (
        _codenames_for(CONFIG_MODELS, ["add", "change", "delete", "view"])
        + _codenames_for(RECORD_MODELS, ["view"])
        # Retrying failed deliveries and writebacks from the admin.
        + [("integrations", "change_inboundevent"), ("integrations", "change_writebackjob")]
        + [("interviews", "change_vendorevent")]
        # Stop switches are switched on and off, never edited or deleted.
        + [("governance", "add_stopswitch"), ("governance", "change_stopswitch")]
        + [("governance", "export_auditevent")]
        # Picking users when granting requisition access (admin autocomplete).
        + [("auth", "view_user")]
    ),
    AUDITOR: (
        _codenames_for(CONFIG_MODELS, ["view"])
        + _codenames_for(RECORD_MODELS, ["view"])
        + [("governance", "export_auditevent")]
    ),
    RECRUITER: [
        ("integrations", "view_candidate"),
        ("integrations", "view_requisition"),
        ("integrations", "view_application"),
        ("interviews", "view_interview"),
        ("interviews", "view_interviewresult"),
        ("interviews", "view_transcript"),
        ("interviews", "view_recording"),
        ("interviews", "view_reviewtask"),
        ("interviews", "change_reviewtask"),
        ("governance", "view_decision"),
        ("governance", "decide"),
        ("governance", "override"),
    ],
    HIRING_MANAGER: [
        ("integrations", "view_requisition"),
        ("integrations", "view_application"),
        ("interviews", "view_interviewresult"),
        ("governance", "view_decision"),
    ],
}


# Calibration sessions (issue 7): admins run them; recruiters and hiring managers score as
# panelists (the panel membership is the object-level check); auditors read them. Demographics
# and the adverse-impact report are for auditors only, never for anyone who decides.
ROLE_PERMISSIONS[HIRING_OPS_ADMIN] += [
    ("governance", "add_calibrationsession"),
    ("governance", "change_calibrationsession"),
    ("governance", "view_calibrationsession"),
    ("governance", "view_calibrationitem"),
    ("governance", "view_calibrationrating"),
]
ROLE_PERMISSIONS[AUDITOR] += [
    ("governance", "view_calibrationsession"),
    ("governance", "view_calibrationitem"),
    ("governance", "view_calibrationrating"),
    ("governance", "view_candidatedemographics"),
    ("governance", "view_adverse_impact"),
]
ROLE_PERMISSIONS[RECRUITER] += [("governance", "add_calibrationrating")]
ROLE_PERMISSIONS[HIRING_MANAGER] += [("governance", "add_calibrationrating")]


def sync_role_groups(group_model: Any = None, permission_model: Any = None) -> None:
    """Create the four role groups and give each exactly its permissions. Idempotent.

    Runs from the data migration (with historical models), after every ``migrate`` (a
    ``post_migrate`` handler, so permissions of models added later reach the groups without a
    new data migration), and from tests and ``seed_demo`` after a flush. A permission whose
    model does not exist yet (an early migration) is skipped; the next run grants it.
    """
    if group_model is None or permission_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    for group_name, codenames in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        wanted = []
        for app_label, codename in codenames:
            permission = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)


def user_roles(user: Any) -> frozenset[str]:
    """Role keys of a user: 'recruiter', 'hiring_manager', 'admin', 'auditor' (cached)."""
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
