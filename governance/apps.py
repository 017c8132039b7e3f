from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_role_groups(sender: Any, **kwargs: Any) -> None:
    from governance.roles import sync_role_groups

    sync_role_groups()


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        # After every migrate (and test-database flush): groups get the permissions of every
        # model, including models added after the data migration that created the groups.
        post_migrate.connect(_sync_role_groups, sender=self, dispatch_uid="governance.roles")
        from governance import receivers  # noqa: F401  (audit events for admin changes)
