"""``manage.py purge_expired [--dry-run] [--batch-size N]``: the retention purge, now."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.retention import DEFAULT_BATCH_SIZE, purge_expired


class Command(BaseCommand):
    help = (
        "Delete (or with --dry-run, count) everything past its retention policy, legal holds "
        "respected; one deletion receipt per batch. The daily beat task runs the same."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count only; change nothing.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        dry_run = options["dry_run"]
        started = time.monotonic()
        outcomes = purge_expired(
            batch_size=options["batch_size"],
            dry_run=dry_run,
            progress=None if dry_run else self.stdout.write,
        )
        by_policy: dict[int, list[Any]] = defaultdict(list)
        for outcome in outcomes:
            by_policy[outcome.policy.pk].append(outcome)
        verb = "would purge" if dry_run else "purged"
        total = 0
        for rows in by_policy.values():
            policy = rows[0].policy
            self.stdout.write(f"{policy.name} — {policy}")
            for outcome in rows:
                note = f" ({outcome.note})" if outcome.note else ""
                self.stdout.write(f"  {outcome.model}: {verb} {outcome.count}{note}")
                total += outcome.count
        elapsed = time.monotonic() - started
        summary = f"{'Dry run: ' if dry_run else ''}{verb} {total} rows in {elapsed:.1f} s."
        self.stdout.write(self.style.SUCCESS(summary))
