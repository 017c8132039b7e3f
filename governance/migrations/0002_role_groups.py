"""Create the four role groups with their model permissions."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

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
]
RECORD_MODELS = [
    ("integrations", "candidate"),
    ("integrations", "requisition"),
    ("integrations", "application"),
    ("integrations", "inboundevent"),
    ("integrations", "writebackjob"),
    ("integrations", "writebackattempt"),
    ("interviews", "interview"),
    ("interviews", "interviewresult"),
    ("interviews", "competencyscore"),
    ("interviews", "reviewtask"),
    ("governance", "decision"),
    ("governance", "auditevent"),
]


def _codenames_for(models: list[tuple[str, str]], actions: list[str]) -> list[tuple[str, str]]:
    return [(app, f"{action}_{model}") for app, model in models for action in actions]


ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    "Hiring-ops admin": (
        _codenames_for(CONFIG_MODELS, ["add", "change", "delete", "view"])
        + _codenames_for(RECORD_MODELS, ["view"])
        # Retrying failed deliveries and writebacks from the admin.
        + [("integrations", "change_inboundevent"), ("integrations", "change_writebackjob")]
        + [("governance", "export_auditevent")]
    ),
    "Auditor": (
        _codenames_for(CONFIG_MODELS, ["view"])
        + _codenames_for(RECORD_MODELS, ["view"])
        + [("governance", "export_auditevent")]
    ),
    "Recruiter": [
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
    "Hiring manager": [
        ("integrations", "view_requisition"),
        ("integrations", "view_application"),
        ("interviews", "view_interviewresult"),
        ("governance", "view_decision"),
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for app_label, codename in codenames:
            permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            group.permissions.add(permission)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("governance", "0001_initial"),
        ("integrations", "0001_initial"),
        ("interviews", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
