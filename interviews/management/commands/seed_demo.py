"""``manage.py seed_demo``: load a realistic, deterministic demo data set (see ``interviews.demo``).

A thin wrapper: plan the blueprint, write it in one transaction, print the counts per step and
the demo logins.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from interviews.demo.data import DEMO_PASSWORD, USERS
from interviews.demo.planner import plan_demo
from interviews.demo.store import Tally
from interviews.demo.writer import write_demo


class Command(BaseCommand):
    help = "Load deterministic demo data (users, connections, ~300 applications, interviews...)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        now = timezone.now()
        blueprint = plan_demo(now)
        tally = Tally(self.stdout.write)
        with transaction.atomic():
            write_demo(blueprint, now=now, tally=tally)
        elapsed = time.monotonic() - started
        if tally.created == 0:
            self.stdout.write("Demo data already present; nothing to do.")
        else:
            self.stdout.write(f"Created {tally.created} rows in {elapsed:.1f} s.")
        self._print_logins()

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write("Demo logins (password for every account below):")
        self.stdout.write(f"  {'username':<10}{'role':<28}{'password'}")
        for username, _, _, role, is_staff in USERS:
            label = role + (" (staff)" if is_staff else "")
            self.stdout.write(f"  {username:<10}{label:<28}{DEMO_PASSWORD}")
        self.stdout.write("Accounts that already existed keep the password they had.")
