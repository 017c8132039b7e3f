"""``manage.py metrics_report``: the dashboard's figures on the terminal (same service code)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from governance.metrics import compute
from governance.metrics.export import report_rows
from governance.metrics.forms import MetricsFilterForm


class Command(BaseCommand):
    help = "Print the adoption metrics (pilot vs. baseline) for a role family and date range."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--role-family", dest="role_family", help="role family slug")
        parser.add_argument("--requisition", help="requisition id")
        parser.add_argument("--connection", help="ATS connection slug")
        parser.add_argument("--since", help="first day, YYYY-MM-DD (default: 12 weeks ago)")
        parser.add_argument("--until", help="last day, YYYY-MM-DD (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        data = {
            key: options[key]
            for key in ("role_family", "requisition", "connection", "since", "until")
            if options.get(key)
        }
        form = MetricsFilterForm(data)
        if not form.is_valid():
            problems = "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()
            )
            raise CommandError(problems)
        filters = form.filters()
        self.stdout.write(f"Metrics {filters.since} to {filters.until} (UTC)")
        report = compute(filters)
        for row in report_rows(report):
            value = "—" if row.value is None else f"{row.value}"
            counts = (
                f"{row.numerator}/{row.denominator}"
                if row.numerator is not None
                else (f"n={row.denominator}" if row.denominator is not None else "")
            )
            self.stdout.write(
                f"{row.section:<12} {row.metric:<40} {row.cohort:<9} {row.group:<22} "
                f"{value:>10} {row.unit:<10} {counts}"
            )
