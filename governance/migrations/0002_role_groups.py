"""Create the four role groups with their model permissions."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

from governance.roles import ROLE_PERMISSIONS, sync_role_groups


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_role_groups(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


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
