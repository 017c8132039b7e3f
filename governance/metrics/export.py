"""One flat list of every figure in a report: the CSV export and ``metrics_report`` print it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from governance.audit_views import spreadsheet_safe
from governance.metrics.report import CohortMetrics, Durations, MetricsReport, Rate

COLUMNS = ("section", "metric", "cohort", "group", "value", "numerator", "denominator", "unit")


@dataclass(frozen=True)
class Row:
    section: str
    metric: str
    cohort: str
    group: str
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None
    unit: str = ""

    def as_tuple(self) -> tuple[object, ...]:
        return tuple(getattr(self, column) for column in COLUMNS)


def _rate(section: str, metric: str, cohort: str, rate: Rate, group: str = "") -> Row:
    value = None if rate.value is None else round(rate.value, 4)
    return Row(section, metric, cohort, group, value, rate.numerator, rate.denominator, "ratio")


def _durations(
    section: str, metric: str, cohort: str, durations: Durations, unit: str, group: str = ""
) -> Iterator[Row]:
    for name, value in (("median", durations.median), ("p90", durations.p90)):
        shown = None if value is None else round(value, 2)
        yield Row(section, f"{metric} {name}", cohort, group, shown, None, durations.count, unit)


def _cohort(cohort: CohortMetrics) -> Iterator[Row]:
    label = cohort.label
    if cohort.completion is not None:
        c = cohort.completion
        yield _rate("completion", "completion rate", label, c.rate)
        for name in ("invited", "completed", "expired", "failed", "in_progress"):
            yield Row("completion", name, label, "", getattr(c, name), unit="interviews")
    yield from _durations("speed", "time to screen", label, cohort.time_to_screen_hours, "hours")
    if cohort.overrides is not None:
        yield _rate("overrides", "manual override rate", label, cohort.overrides.rate)
    if cohort.usage is not None:
        u = cohort.usage
        yield _rate("usage", "decisions after opening the score card", label, u.share_with_card)
        yield Row(
            "usage", "decisions without opening it", label, "", u.without_card, unit="decisions"
        )
        yield from _durations("usage", "time on card", label, u.card_minutes, "minutes")
    for row in cohort.pass_through:
        yield Row("quality", "candidates", label, row.band, row.candidates, unit="candidates")
        for stage, rate in row.rates:
            yield _rate("quality", f"reached {stage}", label, rate, group=row.band)
        yield from _durations(
            "quality", "time to screen", label, row.time_to_screen_hours, "hours", group=row.band
        )


def report_rows(report: MetricsReport) -> Iterator[Row]:
    """Every figure of ``report``, in the order the dashboard shows them."""
    yield from _cohort(report.pilot)
    yield from _cohort(report.baseline)
    sync = report.sync
    yield _rate("sync", "writebacks failed at least once", "all", sync.failed_once_rate)
    yield _rate("sync", "writebacks dead", "all", sync.dead_rate)
    yield Row(
        "sync", "webhook signature failures", "all", "", sync.signature_failures, unit="deliveries"
    )
    load = report.review_load
    yield Row("review load", "open review tasks", "all", "", load.open, unit="tasks")
    yield Row("review load", "claimed review tasks", "all", "", load.claimed, unit="tasks")
    yield from _durations("review load", "age", "all", load.age_hours, "hours")
    oldest = None if load.oldest_hours is None else round(load.oldest_hours, 2)
    yield Row("review load", "oldest age", "all", "", oldest, unit="hours")
    saved = report.hours_saved
    for item in saved.rows:
        group = item.role_family
        yield Row(
            "hours saved",
            "baseline minutes per manual screen",
            "pilot",
            group,
            item.baseline_minutes,
            unit="minutes",
        )
        yield Row(
            "hours saved", "candidates screened", "pilot", group, item.screened, unit="candidates"
        )
        yield Row(
            "hours saved",
            "review minutes",
            "pilot",
            group,
            round(item.review_minutes, 2),
            unit="minutes",
        )
        per = item.review_minutes_per_candidate
        yield Row(
            "hours saved",
            "review minutes per candidate",
            "pilot",
            group,
            None if per is None else round(per, 2),
            unit="minutes",
        )
        yield Row(
            "hours saved",
            "recruiter hours saved",
            "pilot",
            group,
            round(item.hours_saved, 2),
            unit="hours",
        )
    yield Row(
        "hours saved",
        "recruiter hours saved",
        "pilot",
        "total",
        round(saved.hours, 2),
        unit="hours",
    )
    for week in report.weekly:
        group = week.week.isoformat()
        yield _rate("weekly", "completion rate", "pilot", week.completion_rate, group=group)
        yield _rate("weekly", "manual override rate", "pilot", week.override_rate, group=group)
        for cohort, value in (
            ("pilot", week.pilot_median_hours),
            ("baseline", week.baseline_median_hours),
        ):
            shown = None if value is None else round(value, 2)
            yield Row("weekly", "time to screen median", cohort, group, shown, unit="hours")


def report_csv(report: MetricsReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in report_rows(report):
        # Role family and band names are typed by people: no spreadsheet formulas.
        writer.writerow([spreadsheet_safe(cell) for cell in row.as_tuple()])
    return buffer.getvalue()
