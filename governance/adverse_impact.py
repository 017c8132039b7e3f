"""The adverse-impact report: selection and scoring rates per demographic category.

Follows the NYC Local Law 144 bias-audit rules (6 RCNY §5-301) and the four-fifths rule of the
EEOC Uniform Guidelines (29 CFR 1607.4(D)):

- **assessed**: current results of completed, real interviews in the selection;
- **selection rate** = advanced / assessed, where *advanced* means the decision in force on the
  result (the newest one, which nothing corrects) is "advance";
- **scoring rate** = share of the category whose overall score is *above the median of the full
  sample* (every assessed person in the selection, unknown categories included);
- categories per **sex**, per **race/ethnicity** (Hispanic or Latino, or a race of people who
  are not) and per **intersection** of the two, each table with its **unknown** count;
- **impact ratio** = a category's rate ÷ the rate of the highest category. A category under 2 %
  of the sample is flagged as excluded from the ratios, yet shown with its N and rate;
- an **alert** when a ratio is below 0.80 and the category has at least the configured minimum
  number of people (``SCREENBRIDGE_ADVERSE_IMPACT_MIN_N``);
- a two-sided two-proportion z-test and Fisher's exact test of each category against the highest.

Ratios are compared as exact fractions, so 0.80 never alerts and 0.79 always does. Demographics
come only from ``CandidateDemographics``; nothing here is visible to reviewers.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from governance import stats
from governance.audit_views import spreadsheet_safe
from governance.date_filters import day_bounds
from governance.demographics import (
    RACE_ETHNICITY_LABELS,
    SEX_LABELS,
    UNKNOWN,
    CandidateDemographics,
    race_ethnicity_category,
)
from governance.models import Decision, DecisionOutcome
from interviews.models import InterviewResult, InterviewStatus

__all__ = [
    "EXCLUSION_JUSTIFICATION",
    "SMALL_CATEGORY_SHARE",
    "CategoryRow",
    "ImpactTable",
    "Report",
    "impact_table",
    "min_n_for_alert",
    "report_build",
    "report_csv",
]

SMALL_CATEGORY_SHARE = Fraction(2, 100)
FOUR_FIFTHS = Fraction(4, 5)
EXCLUSION_JUSTIFICATION = (
    "Excluded from the impact-ratio calculation: the category is under 2% of the audit data "
    "(6 RCNY 5-301(d)); its number of applicants and rate are still reported."
)
METRICS = {"selection": "Selection rate", "scoring": "Scoring rate"}


def min_n_for_alert() -> int:
    """Categories smaller than this never raise the adverse-impact alert."""
    return int(getattr(settings, "SCREENBRIDGE_ADVERSE_IMPACT_MIN_N", 30))


@dataclass
class CategoryRow:
    key: str
    label: str
    n: int
    hits: int
    share: Fraction
    excluded: bool = False
    impact_ratio: Fraction | None = None
    is_reference: bool = False
    alert: bool = False
    z_p: float | None = None
    fisher_p: float | None = None

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.hits, self.n) if self.n else None

    @property
    def rate_percent(self) -> float | None:
        return float(self.rate) * 100 if self.rate is not None else None

    @property
    def impact_ratio_value(self) -> float | None:
        return float(self.impact_ratio) if self.impact_ratio is not None else None


@dataclass
class ImpactTable:
    dimension: str
    title: str
    rows: list[CategoryRow]
    unknown: int
    total: int

    @property
    def alerts(self) -> list[CategoryRow]:
        return [row for row in self.rows if row.alert]


def impact_table(
    dimension: str,
    title: str,
    groups: dict[str, tuple[int, int]],
    labels: dict[str, str],
    *,
    total: int,
    unknown: int,
    min_n: int,
) -> ImpactTable:
    """One table from ``groups`` (category → (hits, n)), every category of ``labels`` shown.

    ``total`` is the whole sample (unknowns included): the 2 % rule is a share of all the data.
    """
    rows = []
    for key, label in labels.items():
        hits, n = groups.get(key, (0, 0))
        share = Fraction(n, total) if total else Fraction(0)
        rows.append(
            CategoryRow(
                key=key,
                label=label,
                n=n,
                hits=hits,
                share=share,
                excluded=share < SMALL_CATEGORY_SHARE,
            )
        )
    candidates = [row for row in rows if not row.excluded and row.n]
    reference = max(candidates, key=lambda row: (row.rate, row.n), default=None)
    if reference is not None and reference.hits:
        reference.is_reference = True
        for row in candidates:
            row.impact_ratio = row.rate / reference.rate  # type: ignore[operator]
            row.alert = row.impact_ratio < FOUR_FIFTHS and row.n >= min_n
            if row is not reference:
                test = stats.compare_proportions(row.hits, row.n, reference.hits, reference.n)
                row.z_p, row.fisher_p = test.z_p, test.fisher_p
    return ImpactTable(dimension, title, rows, unknown, total)


@dataclass
class Report:
    metric: str
    tables: list[ImpactTable]
    assessed: int
    median_score: float | None
    min_n: int
    date_from: date | None
    date_to: date | None
    tool: str
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def metric_label(self) -> str:
        return METRICS[self.metric]

    @property
    def alerts(self) -> list[tuple[ImpactTable, CategoryRow]]:
        return [(table, row) for table in self.tables for row in table.alerts]


def assessed_results(
    *,
    role_family: Any = None,
    requisition: Any = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[InterviewResult]:
    """Current results of completed, real interviews in the selection (by result date)."""
    results = InterviewResult.objects.filter(
        is_current=True,
        interview__status=InterviewStatus.COMPLETED,
        interview__is_rehearsal=False,
    )
    if role_family is not None:
        results = results.filter(interview__plan__role_family=role_family)
    if requisition is not None:
        results = results.filter(interview__application__requisition=requisition)
    start, end = day_bounds(date_from, date_to)
    if start is not None:
        results = results.filter(received_at__gte=start)
    if end is not None:
        results = results.filter(received_at__lt=end)
    return results


def report_build(
    *,
    metric: str = "selection",
    role_family: Any = None,
    requisition: Any = None,
    date_from: date | None = None,
    date_to: date | None = None,
    min_n: int | None = None,
) -> Report:
    """The report for one metric ("selection" or "scoring") over the selected results."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}")
    min_n = min_n_for_alert() if min_n is None else min_n
    advanced = Decision.objects.filter(
        result=OuterRef("pk"), outcome=DecisionOutcome.ADVANCE, corrected_by__isnull=True
    )
    results = assessed_results(
        role_family=role_family, requisition=requisition, date_from=date_from, date_to=date_to
    )
    rows = list(
        results.annotate(advanced=Exists(advanced)).values_list(
            "interview__application__candidate_id", "score", "advanced"
        )
    )
    demographics = {
        candidate_id: (sex, hispanic, race)
        for candidate_id, sex, hispanic, race in CandidateDemographics.objects.filter(
            candidate_id__in={row[0] for row in rows}
        ).values_list("candidate_id", "sex", "hispanic_or_latino", "race")
    }
    median = stats.median([float(score) for _, score, _ in rows])
    sex_groups: Counter[tuple[str, bool]] = Counter()
    race_groups: Counter[tuple[str, bool]] = Counter()
    cross_groups: Counter[tuple[str, bool]] = Counter()
    for candidate_id, score, was_advanced in rows:
        sex, hispanic, race = demographics.get(candidate_id, (UNKNOWN, UNKNOWN, UNKNOWN))
        ethnicity = race_ethnicity_category(hispanic, race)
        hit = bool(was_advanced) if metric == "selection" else _above(score, median)
        cross = f"{sex}|{ethnicity}" if UNKNOWN not in (sex, ethnicity) else UNKNOWN
        sex_groups[(sex, hit)] += 1
        race_groups[(ethnicity, hit)] += 1
        cross_groups[(cross, hit)] += 1
    total = len(rows)
    cross_labels = {
        f"{sex}|{ethnicity}": f"{ethnicity_label} {sex_label}"
        for ethnicity, ethnicity_label in RACE_ETHNICITY_LABELS.items()
        for sex, sex_label in SEX_LABELS.items()
    }
    tables = [
        _table("sex", "Sex", sex_groups, SEX_LABELS, total, min_n),
        _table(
            "race_ethnicity", "Race/ethnicity", race_groups, RACE_ETHNICITY_LABELS, total, min_n
        ),
        _table("intersection", "Intersectional", cross_groups, cross_labels, total, min_n),
    ]
    return Report(
        metric=metric,
        tables=tables,
        assessed=total,
        median_score=median,
        min_n=min_n,
        date_from=date_from,
        date_to=date_to,
        tool=_tool_description(results),
        filters={
            "role_family": str(role_family) if role_family is not None else "all",
            "requisition": str(requisition) if requisition is not None else "all",
        },
    )


def _above(score: Decimal, median: float | None) -> bool:
    return median is not None and float(score) > median


def _table(
    dimension: str,
    title: str,
    counts: Counter[tuple[str, bool]],
    labels: dict[str, str],
    total: int,
    min_n: int,
) -> ImpactTable:
    groups: dict[str, tuple[int, int]] = {}
    for (key, hit), count in counts.items():
        hits, n = groups.get(key, (0, 0))
        groups[key] = (hits + count * hit, n + count)
    unknown = groups.pop(UNKNOWN, (0, 0))[1]
    # A value outside the standard categories (e.g. "other" sex) still gets a row.
    labels = {**labels, **{key: key for key in groups if key not in labels}}
    return impact_table(dimension, title, groups, labels, total=total, unknown=unknown, min_n=min_n)


def _tool_description(results: QuerySet[InterviewResult]) -> str:
    """Which interview plans and vendors produced the results (the AEDT and its version)."""
    plans = (
        results.order_by()
        .values_list("interview__plan__name", "interview__vendor__name", "interview__plan_id")
        .distinct()
    )
    names = sorted({f"{vendor} · {plan} (plan #{pk})" for plan, vendor, pk in plans})
    return "; ".join(names) or "no results in the selection"


# -- export ------------------------------------------------------------------------------------

CSV_HEADER = [
    "metric",
    "table",
    "category",
    "number_of_applicants",
    "rate",
    "impact_ratio",
    "excluded_under_2_percent",
    "exclusion_justification",
    "alert_below_0_80",
    "z_test_p",
    "fisher_exact_p",
]


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def report_csv(reports: list[Report], *, generated_at: datetime) -> str:
    """The NYC LL144 bias-audit summary layout: the audit's facts, then per metric and table the
    categories with N, rate and impact ratio (excluded small categories with justification), and
    the unknown count of each table."""
    out = io.StringIO()
    writer = csv.writer(out)
    first = reports[0]
    writer.writerows(
        [
            ["summary_of_results", "Bias audit: automated employment decision tool (NYC LL144)"],
            ["date_of_audit", generated_at.date().isoformat()],
            ["data_source", "Historical data: Screenbridge interview results and decisions"],
            ["date_range_from", first.date_from.isoformat() if first.date_from else "all"],
            ["date_range_to", first.date_to.isoformat() if first.date_to else "all"],
            ["role_family", first.filters.get("role_family", "all")],
            ["requisition", first.filters.get("requisition", "all")],
            ["tool_and_version", first.tool],
            ["number_assessed", first.assessed],
            ["median_score_of_sample", _fmt(first.median_score, 2)],
            ["alert_minimum_n", first.min_n],
            [],
            CSV_HEADER,
        ]
    )
    for report in reports:
        for table in report.tables:
            for row in table.rows:
                writer.writerow(
                    [
                        report.metric_label,
                        table.title,
                        spreadsheet_safe(row.label),
                        row.n,
                        _fmt(float(row.rate) if row.rate is not None else None, 4),
                        _fmt(row.impact_ratio_value, 3),
                        "yes" if row.excluded else "no",
                        EXCLUSION_JUSTIFICATION if row.excluded else "",
                        "yes" if row.alert else "no",
                        _fmt(row.z_p, 4),
                        _fmt(row.fisher_p, 4),
                    ]
                )
            writer.writerow(
                [report.metric_label, table.title, "Unknown", table.unknown]
                + [""] * (len(CSV_HEADER) - 4)
            )
    return out.getvalue()
