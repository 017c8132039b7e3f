"""``manage.py expire_interviews``: what the beat task does, by hand (e.g. after beat was down).

Expires invitations past their deadline and queues due reminder notes (see
``interviews.services.lifecycle``), batch after batch until nothing is due, printing progress.
Safe to run at any time, also while beat runs: every row is claimed with a conditional update.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from interviews.services.lifecycle import interviews_expire_due, interviews_remind_due


class Command(BaseCommand):
    help = "Expire overdue interview invitations and queue due reminders now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-reminders", action="store_true", help="Only expire; queue no reminders."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        expired_total = reminded_total = 0
        batch = 0
        while True:
            batch += 1
            expired = interviews_expire_due()
            reminded = 0 if options["no_reminders"] else interviews_remind_due()
            expired_total += expired
            reminded_total += reminded
            if not expired and not reminded:
                break
            self.stdout.write(f"batch {batch}: {expired} expired, {reminded} reminder(s) queued")
        self.stdout.write(
            f"{expired_total} invitation(s) expired, {reminded_total} reminder(s) queued."
        )
