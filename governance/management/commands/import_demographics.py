"""Import voluntary demographic data (sex, ethnicity, race) for the adverse-impact report.

    python manage.py import_demographics demographics.csv
    python manage.py import_demographics demographics.csv --dry-run

The CSV has the columns ``connection`` (ATS connection slug), ``candidate_id`` (the ATS's
candidate id), ``sex`` (male/female/other/unknown), ``hispanic_or_latino`` (yes/no/unknown) and
``race`` (white/black/nhpi/asian/aian/two_or_more/unknown); an empty value means unknown.

All or nothing: every line is checked first, and one bad line (named with its line number) stores
nothing. Existing demographics of a candidate are replaced. Prints the counts; exit status 1 on
errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.demographics import import_csv

MAX_ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = "Import candidate demographics from a CSV file (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_path", help="Path of the CSV file.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and print counts; store nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["csv_path"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        self.stdout.write(f"Checking {path} …")
        outcome = import_csv(text, dry_run=options["dry_run"])
        if outcome.errors:
            for error in outcome.errors[:MAX_ERRORS_SHOWN]:
                self.stderr.write(error)
            more = len(outcome.errors) - MAX_ERRORS_SHOWN
            if more > 0:
                self.stderr.write(f"… and {more} more.")
            raise CommandError(
                f"{len(outcome.errors)} bad line(s) in {outcome.rows} row(s); nothing was imported."
            )
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {outcome.rows} row(s): {outcome.created} new, {outcome.updated} replaced."
            )
        )
