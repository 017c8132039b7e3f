"""Plain dataclasses returned by :func:`governance.metrics.compute` (no ORM objects inside)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MetricsFilters:
    """What to measure: a date range plus optional role family, requisition and connection."""

    since: dt.date
    until: dt.date
    role_family_id: int | None = None
    requisition_id: int | None = None
    connection_id: int | None = None

    @property
    def start(self) -> dt.datetime:
        """Inclusive lower bound: midnight (UTC) at the start of ``since``."""
        return dt.datetime.combine(self.since, dt.time.min, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """Exclusive upper bound: midnight (UTC) after ``until``."""
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Rate:
    """``numerator / denominator``; ``value`` is None when nothing was counted."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> float | None:
        return None if self.value is None else round(self.value * 100, 1)


@dataclass(frozen=True)
class Completion:
    invited: int
    completed: int
    expired: int
    failed: int
    in_progress: int

    @property
    def rate(self) -> Rate:
        return Rate(self.completed, self.invited)


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile (linear interpolation, as PostgreSQL's percentile_cont)."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Overrides:
    decisions: int
    overrides: int

    @property
    def rate(self) -> Rate:
        return Rate(self.overrides, self.decisions)


@dataclass(frozen=True)
class UsageDepth:
    decisions: int
    with_card: int
    # Minutes from the decider's first opening of the score card to the decision.
    card_minutes: Durations

    @property
    def without_card(self) -> int:
        return self.decisions - self.with_card

    @property
    def share_with_card(self) -> Rate:
        return Rate(self.with_card, self.decisions)


@dataclass(frozen=True)
class SyncFailures:
    jobs: int
    failed_once: int
    dead: int
    signature_failures: int

    @property
    def failed_once_rate(self) -> Rate:
        return Rate(self.failed_once, self.jobs)

    @property
    def dead_rate(self) -> Rate:
        return Rate(self.dead, self.jobs)


@dataclass(frozen=True)
class ReviewLoad:
    open: int
    claimed: int
    # Hours since the task was created, of every open or claimed task.
    age_hours: Durations
    oldest_hours: float | None

    @property
    def total(self) -> int:
        return self.open + self.claimed


@dataclass(frozen=True)
class HoursSavedRow:
    role_family: str
    baseline_minutes: int
    screened: int
    review_minutes: float

    @property
    def review_minutes_per_candidate(self) -> float | None:
        return self.review_minutes / self.screened if self.screened else None

    @property
    def hours_saved(self) -> float:
        # (baseline − measured minutes per candidate) × screened, in hours.
        return (self.baseline_minutes * self.screened - self.review_minutes) / 60


@dataclass(frozen=True)
class HoursSaved:
    rows: list[HoursSavedRow]
    default_baseline_minutes: int

    @property
    def screened(self) -> int:
        return sum(row.screened for row in self.rows)

    @property
    def review_minutes(self) -> float:
        return sum(row.review_minutes for row in self.rows)

    @property
    def hours(self) -> float:
        return sum(row.hours_saved for row in self.rows)


PASS_THROUGH_STAGES = ("hiring_manager_review", "onsite", "offer", "hired")


@dataclass(frozen=True)
class PassThroughRow:
    """Candidates of one band (or the baseline) and how many later reached each stage."""

    band: str
    candidates: int
    reached: dict[str, int]
    time_to_screen_hours: Durations

    def rate(self, stage: str) -> Rate:
        return Rate(self.reached.get(stage, 0), self.candidates)

    @property
    def rates(self) -> list[tuple[str, Rate]]:
        return [(stage, self.rate(stage)) for stage in PASS_THROUGH_STAGES]


@dataclass(frozen=True)
class WeekPoint:
    week: dt.date
    invited: int = 0
    completed: int = 0
    decisions: int = 0
    overrides: int = 0
    pilot_median_hours: float | None = None
    baseline_median_hours: float | None = None

    @property
    def completion_rate(self) -> Rate:
        return Rate(self.completed, self.invited)

    @property
    def override_rate(self) -> Rate:
        return Rate(self.overrides, self.decisions)


@dataclass(frozen=True)
class CohortMetrics:
    """One side of the comparison. The baseline has no interviews, so its interview-only
    metrics (completion, overrides, usage depth) are None."""

    label: str
    time_to_screen_hours: Durations
    pass_through: list[PassThroughRow]
    completion: Completion | None = None
    overrides: Overrides | None = None
    usage: UsageDepth | None = None


@dataclass(frozen=True)
class MetricsReport:
    filters: MetricsFilters
    generated_at: dt.datetime
    pilot: CohortMetrics
    baseline: CohortMetrics
    sync: SyncFailures
    review_load: ReviewLoad
    hours_saved: HoursSaved
    weekly: list[WeekPoint] = field(default_factory=list)
