"""Run the writeback relay by hand: ``manage.py relay_writebacks [--loop N] [--limit N]``.

Beat runs the same relay every few seconds; this is for operators (a stuck queue, a demo without
workers) and is as safe to run alongside the workers as a second beat tick.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from integrations.models import WritebackJob, WritebackStatus
from integrations.services.outbox import writeback_relay


class Command(BaseCommand):
    help = "Send the writeback jobs that are due, once or for N rounds, and print counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            type=int,
            default=1,
            metavar="N",
            help="Run N rounds, pausing --interval seconds between them (default 1).",
        )
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between rounds (default 5)."
        )
        parser.add_argument(
            "--limit", type=int, default=50, help="Jobs handled per round at most (default 50)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rounds, interval, limit = options["loop"], options["interval"], options["limit"]
        if rounds < 1 or limit < 1 or interval < 0:
            raise CommandError("--loop and --limit must be at least 1, --interval not negative.")
        total = 0
        for number in range(1, rounds + 1):
            handled = writeback_relay(limit=limit)
            total += handled
            self.stdout.write(f"round {number}/{rounds}: {handled} job(s) handled")
            if number < rounds:
                time.sleep(interval)
        # order_by(): the model's default ordering would split the GROUP BY.
        counts = dict(WritebackJob.objects.order_by().values_list("status").annotate(n=Count("pk")))
        summary = ", ".join(f"{status} {counts.get(status, 0)}" for status in WritebackStatus)
        self.stdout.write(self.style.SUCCESS(f"{total} job(s) handled. Queue now: {summary}"))
