"""``manage.py seed_retention_policies``: create the documented default retention policies."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from governance.retention import default_policies_seed


class Command(BaseCommand):
    help = (
        "Create the default retention policy of each category that has no active global policy "
        "(docs/governance.md). Existing policies are never changed; safe to run twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        created = default_policies_seed()
        for policy in created:
            self.stdout.write(f"created: {policy}")
        self.stdout.write(f"{len(created)} default policies created.")
