"""The metric queries: database aggregates only, a fixed number of queries whatever the rows.

Cohorts (see docs/metrics.md):

- **pilot**: automated interviews (not rehearsals) launched in the date range, under a plan in
  pilot or live status, and the human decisions made on their results in the range;
- **baseline**: applications that entered the manual first screen (canonical stage
  ``recruiter_screen``) in the range without an automated interview, in a role family whose
  plan had not yet gone pilot/live at that moment (or that has no plan at all).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least, TruncWeek
from django.utils import timezone

from governance.metrics.aggregates import TOTAL, Stats, grouped_stats
from governance.metrics.report import (
    PASS_THROUGH_STAGES,
    CohortMetrics,
    Completion,
    Durations,
    HoursSaved,
    HoursSavedRow,
    MetricsFilters,
    MetricsReport,
    Overrides,
    PassThroughRow,
    ReviewLoad,
    SyncFailures,
    UsageDepth,
    WeekPoint,
)
from governance.models import Decision
from governance.permissions import requisition_ids_visible_to
from integrations.models import (
    STAGE_ORDER,
    Application,
    ApplicationStageChange,
    CanonicalStage,
    SignatureFailure,
    WritebackAttempt,
    WritebackJob,
    WritebackStatus,
)
from interviews.models import (
    Interview,
    InterviewPlan,
    InterviewStatus,
    ReviewStatus,
    ReviewTask,
    RoleFamily,
)

BASELINE_SCREEN_STAGE = CanonicalStage.RECRUITER_SCREEN
# One opening of a score card counts at most this long towards review minutes (hours saved):
# a card left open over lunch is not an hour of review.
CARD_MINUTES_CAP = 60
BASELINE_LABEL = "baseline"
HOUR = 3600.0
DB = DEFAULT_DB_ALIAS


# -- scoping ------------------------------------------------------------------------------------


class _Paths:
    """Where a model keeps the requisition, role family, connection and time of its rows."""

    def __init__(
        self, requisition: str, role_family: str, connection: str, synthetic: str = ""
    ) -> None:
        self.requisition, self.role_family, self.connection = requisition, role_family, connection
        # Rows not tied to an interview (which carries is_rehearsal) name their application:
        # those of synthetic candidates are left out, so rehearsal runs (manage.py rehearse)
        # never count.
        self.synthetic = synthetic


INTERVIEW = _Paths(
    "application__requisition_id", "plan__role_family_id", "application__connection_id"
)
# Decisions carry their interview's role family and rehearsal flag (stamped on insert).
DECISION = _Paths("application__requisition_id", "role_family_id", "application__connection_id")
REVIEW = _Paths(
    "interview__application__requisition_id",
    "interview__plan__role_family_id",
    "interview__application__connection_id",
)
STAGE_CHANGE = _Paths(
    "application__requisition_id",
    "application__requisition__role_family_membership__role_family_id",
    "application__connection_id",
    synthetic="application",
)
WRITEBACK = _Paths(
    "application__requisition_id",
    "application__requisition__role_family_membership__role_family_id",
    "connection_id",
    synthetic="application",
)


def _scoped[Q_: QuerySet[Any]](
    queryset: Q_, paths: _Paths, filters: MetricsFilters, visible: Any
) -> Q_:
    if paths.synthetic:
        # NOT IN over the few synthetic applications (one hashed subquery, partial index on
        # the candidates) instead of joining application and candidate for every row.
        synthetic = Application.objects.filter(candidate__is_synthetic=True).values("pk")
        queryset = queryset.exclude(**{f"{paths.synthetic}__in": synthetic})
    if visible is not None:
        queryset = queryset.filter(**{f"{paths.requisition}__in": visible})
    if filters.requisition_id is not None:
        queryset = queryset.filter(**{paths.requisition: filters.requisition_id})
    if filters.role_family_id is not None:
        queryset = queryset.filter(**{paths.role_family: filters.role_family_id})
    if filters.connection_id is not None:
        queryset = queryset.filter(**{paths.connection: filters.connection_id})
    return queryset


def _durations(stats: Stats, unit: float) -> Durations:
    median, p90 = stats.percentiles
    return Durations(
        count=stats.count,
        median=None if median is None else median / unit,
        p90=None if p90 is None else p90 / unit,
    )


# -- expressions --------------------------------------------------------------------------------


def _interval(later: Any, earlier: Any) -> ExpressionWrapper:
    return ExpressionWrapper(later - earlier, output_field=DurationField())


def _stage_rank(field: str) -> Case:
    return Case(
        *[When(**{field: stage}, then=Value(rank)) for stage, rank in STAGE_ORDER.items()],
        default=Value(-1),
        output_field=IntegerField(),
    )


def _furthest_rank(application_path: str) -> Greatest:
    """Furthest pipeline stage the application reached: its stamped history rank or now."""
    prefix = "" if application_path == "pk" else application_path.removesuffix("_id") + "__"
    return Greatest(
        Coalesce(F(f"{prefix}furthest_stage_rank"), Value(-1)),
        _stage_rank(f"{prefix}canonical_stage"),
    )


def _number_of(condition: Q | None = None) -> tuple[str, Any]:
    """An extra aggregate for ``grouped_stats``: how many rows meet ``condition`` (all: None)."""
    one = Value(1, output_field=IntegerField())
    if condition is None:
        return ("sum", one)
    return ("sum", Case(When(condition, then=one), default=Value(0), output_field=IntegerField()))


def _reached_counts() -> dict[str, tuple[str, Any]]:
    return {
        f"reached_{stage}": _number_of(Q(furthest__gte=STAGE_ORDER[stage]))
        for stage in PASS_THROUGH_STAGES
    }


# -- the report ---------------------------------------------------------------------------------


def compute(filters: MetricsFilters, *, viewer: Any = None) -> MetricsReport:
    """Every metric for ``filters``; scoped to ``viewer``'s requisitions when one is given.

    ``viewer=None`` (management command) means no scoping. A fixed number of queries.
    """
    with transaction.atomic(using=DB):
        _planner_settings()
        return _compute(filters, viewer)


def _planner_settings() -> None:
    """PostgreSQL planner settings for this transaction only.

    - ``jit = off``: the planner's cost estimates for these aggregates are large enough to
      JIT-compile them; on the 20,000-interview bench 2.4 s of a 3.0 s query was compiling
      and 40 ms was running.
    - ``random_page_cost = 1.1`` (the usual value for SSDs and cached data, instead of the
      spinning-disk default 4): with 4 the "no automated interview" anti-join hashed all 1M
      interviews (1.3 s) instead of probing the index per baseline screen (0.2 s).
    - ``work_mem = 64MB`` (default 4 MB): the grouping-set sorts over 12 weeks of 1M interviews
      spilled to disk.
    """
    database = connections[DB]
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL random_page_cost = 1.1")
            cursor.execute("SET LOCAL work_mem = '64MB'")


def _compute(filters: MetricsFilters, viewer: Any) -> MetricsReport:
    visible = None if viewer is None else requisition_ids_visible_to(viewer)
    start, end = filters.start, filters.end

    interviews = _scoped(
        Interview.objects.filter(is_rehearsal=False, created_at__gte=start, created_at__lt=end),
        INTERVIEW,
        filters,
        visible,
    )
    decisions = _scoped(
        Decision.objects.filter(created_at__gte=start, created_at__lt=end, is_rehearsal=False),
        DECISION,
        filters,
        visible,
    )
    baseline_entries = _baseline_entries(filters, visible)

    # One scan per row set, grouped several ways at once (GROUPING SETS): by week (the chart),
    # by band and role family where needed, and the total over the range.
    interview_stats = _interview_stats(interviews)
    decision_stats = _decision_stats(decisions)
    baseline_stats = _baseline_stats(baseline_entries)
    overall = decision_stats[TOTAL]
    pilot = CohortMetrics(
        label="pilot",
        completion=Completion(**{name: interview_stats[TOTAL].extra[name] for name in COMPLETION}),
        time_to_screen_hours=_durations(interview_stats[TOTAL], HOUR),
        overrides=Overrides(
            decisions=overall.extra["decisions"], overrides=overall.extra["overrides"]
        ),
        usage=UsageDepth(
            decisions=overall.extra["decisions"],
            with_card=overall.count,
            card_minutes=_durations(overall, 60.0),
        ),
        pass_through=_pilot_pass_through(interview_stats),
    )
    baseline = CohortMetrics(
        label=BASELINE_LABEL,
        time_to_screen_hours=_durations(baseline_stats[TOTAL], HOUR),
        pass_through=_baseline_pass_through(baseline_stats[TOTAL]),
    )
    return MetricsReport(
        filters=filters,
        generated_at=timezone.now(),
        pilot=pilot,
        baseline=baseline,
        sync=_sync(filters, visible),
        review_load=_review_load(filters, visible),
        hours_saved=_hours_saved(interview_stats, decision_stats),
        weekly=_weekly(interview_stats, decision_stats, baseline_stats),
    )


def _interview_stats(interviews: QuerySet[Interview]) -> dict[Hashable, Stats]:
    """The completion counts and the time to screen per week, per band of the current result
    (with the pass-through counts), per role family and in total."""
    S = InterviewStatus
    # The current result's band and score are stamped on the interview (InterviewResult.save),
    # so no join to the results; the furthest stage still comes from the application.
    rows = interviews.annotate(
        week=TruncWeek("created_at"),
        band=F("current_band"),
        family=F("plan__role_family"),
        furthest=_furthest_rank("application_id"),
    )
    return grouped_stats(
        rows,
        _interval(F("first_decided_at"), F("stage_entered_at")),
        group=("week", "band", "family"),
        total=True,
        extra={
            "candidates": _number_of(),
            "top": ("max", F("current_score")),
            **_reached_counts(),
            "invited": _number_of(~Q(status__in=[S.CANCELLED, S.PENDING])),
            "completed": _number_of(Q(status=S.COMPLETED)),
            "expired": _number_of(Q(status=S.EXPIRED)),
            "failed": _number_of(Q(status=S.FAILED)),
            "in_progress": _number_of(Q(status__in=[S.INVITED, S.STARTED])),
        },
    )


COMPLETION = ("invited", "completed", "expired", "failed", "in_progress")


def _card_time() -> ExpressionWrapper:
    return _interval(F("created_at"), F("card_opened_at"))


def _decision_stats(decisions: QuerySet[Decision]) -> dict[Hashable, Stats]:
    """Decisions, overrides, the time on card (counted: with a card) and the capped review
    time (hours saved) per week, per role family and in total."""
    cap = Value(dt.timedelta(minutes=CARD_MINUTES_CAP), output_field=DurationField())
    zero = Value(dt.timedelta(0), output_field=DurationField())
    return grouped_stats(
        decisions.annotate(week=TruncWeek("created_at"), family=F("role_family")),
        _card_time(),
        group=("week", "family"),
        total=True,
        extra={
            "decisions": _number_of(),
            "overrides": _number_of(Q(is_override=True)),
            # Coalesce first: PostgreSQL's LEAST ignores NULL (no card view would count as the cap).
            "review": ("sum", Least(Coalesce(_card_time(), zero), cap)),
        },
    )


def _baseline_entries(filters: MetricsFilters, visible: Any) -> QuerySet[ApplicationStageChange]:
    automated = Interview.objects.filter(application=OuterRef("application"), is_rehearsal=False)
    plan_running = InterviewPlan.objects.filter(
        role_family__memberships__requisition=OuterRef("application__requisition"),
        activated_at__lte=OuterRef("changed_at"),
    )
    entries = ApplicationStageChange.objects.filter(
        to_stage=BASELINE_SCREEN_STAGE, changed_at__gte=filters.start, changed_at__lt=filters.end
    ).exclude(Exists(automated))
    # Two excludes, two NOT EXISTS anti-joins: NOT (a OR b) made PostgreSQL hash every interview.
    entries = entries.exclude(Exists(plan_running)).order_by()
    return _scoped(entries, STAGE_CHANGE, filters, visible)


def _next_change_at() -> Subquery:
    """The application's next stage change after this one: the screen's outcome in the ATS."""
    return Subquery(
        ApplicationStageChange.objects.filter(
            application=OuterRef("application"), changed_at__gt=OuterRef("changed_at")
        )
        .order_by("changed_at")
        .values("changed_at")[:1],
        output_field=DateTimeField(),
    )


def _baseline_stats(entries: QuerySet[ApplicationStageChange]) -> dict[Hashable, Stats]:
    """Per week and in total: the time to screen and the pass-through counts."""
    return grouped_stats(
        entries.annotate(week=TruncWeek("changed_at"), furthest=_furthest_rank("application_id")),
        _interval(_next_change_at(), F("changed_at")),
        group="week",
        total=True,
        extra={"candidates": _number_of(), **_reached_counts()},
    )


def _pass_through_row(band: str, stats: Stats) -> PassThroughRow:
    return PassThroughRow(
        band=band,
        candidates=stats.extra["candidates"],
        reached={stage: stats.extra[f"reached_{stage}"] for stage in PASS_THROUGH_STAGES},
        time_to_screen_hours=_durations(stats, HOUR),
    )


def _pilot_pass_through(interviews: dict[Hashable, Stats]) -> list[PassThroughRow]:
    bands = {
        key[1]: stats
        for key, stats in interviews.items()
        if key is not TOTAL and key[0] == "band" and key[1] is not None
    }
    # The best-scoring band first.
    order = sorted(bands, key=lambda band: (-(bands[band].extra["top"] or 0), str(band)))
    return [_pass_through_row(band, bands[band]) for band in order]


def _baseline_pass_through(total: Stats) -> list[PassThroughRow]:
    if not total.extra["candidates"]:
        return []
    return [_pass_through_row(BASELINE_LABEL, total)]


def _sync(filters: MetricsFilters, visible: Any) -> SyncFailures:
    jobs = WritebackJob.objects.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    # Unscoped, this is a connection filter at most, so jobs without an application (they
    # belong to the connection only) count too; any requisition scope leaves them out.
    jobs = _scoped(jobs, WRITEBACK, filters, visible)
    failed_attempt = WritebackAttempt.objects.filter(job=OuterRef("pk"), succeeded=False)
    row = jobs.aggregate(
        jobs=Count("pk"),
        failed_once=Count(
            "pk",
            filter=Q(Exists(failed_attempt))
            | Q(status__in=[WritebackStatus.FAILED, WritebackStatus.DEAD]),
        ),
        dead=Count("pk", filter=Q(status=WritebackStatus.DEAD)),
    )
    signatures = SignatureFailure.objects.filter(
        received_at__gte=filters.start, received_at__lt=filters.end
    )
    if filters.connection_id is not None:
        signatures = signatures.filter(connection_id=filters.connection_id)
    if visible is not None:
        # Refused deliveries belong to a connection, not to a requisition: a scoped viewer
        # sees those of the connections their requisitions come from.
        signatures = signatures.filter(connection__requisitions__pk__in=visible).distinct()
    return SyncFailures(signature_failures=signatures.count(), **row)


def _review_load(filters: MetricsFilters, visible: Any) -> ReviewLoad:
    tasks = _scoped(
        ReviewTask.objects.filter(status__in=[ReviewStatus.OPEN, ReviewStatus.CLAIMED]),
        REVIEW,
        filters,
        visible,
    )
    now = timezone.now()
    age = _interval(Value(now, output_field=DateTimeField()), F("created_at"))
    found = grouped_stats(
        tasks,
        age,
        extra={
            "open": _number_of(Q(status=ReviewStatus.OPEN)),
            "claimed": _number_of(Q(status=ReviewStatus.CLAIMED)),
            "oldest": ("min", F("created_at")),
        },
    )[None]
    oldest = found.extra["oldest"]
    return ReviewLoad(
        open=found.extra["open"],
        claimed=found.extra["claimed"],
        age_hours=_durations(found, HOUR),
        oldest_hours=None if oldest is None else (now - oldest).total_seconds() / HOUR,
    )


def _by(stats: dict[Hashable, Stats], group: str) -> dict[Hashable, Stats]:
    return {key[1]: v for key, v in stats.items() if key is not TOTAL and key[0] == group}


def _hours_saved(interviews: dict[Hashable, Stats], decisions: dict[Hashable, Stats]) -> HoursSaved:
    default = settings.SCREENBRIDGE_MANUAL_SCREEN_MINUTES
    screened = {
        family: stats.extra["completed"]
        for family, stats in _by(interviews, "family").items()
        if stats.extra["completed"]
    }
    reviewed = {
        family: total.total_seconds() / 60 if isinstance(total, dt.timedelta) else 0.0
        for family, total in (
            (family, stats.extra["review"]) for family, stats in _by(decisions, "family").items()
        )
        if family is not None
    }
    families = RoleFamily.objects.filter(pk__in=set(screened) | set(reviewed)).order_by("name")
    rows = [
        HoursSavedRow(
            role_family=family.name,
            baseline_minutes=family.manual_screen_minutes or default,
            screened=screened.get(family.pk, 0),
            review_minutes=reviewed.get(family.pk, 0.0),
        )
        for family in families
    ]
    return HoursSaved(rows=rows, default_baseline_minutes=default)


def _weekly(
    interviews: dict[Hashable, Stats],
    decisions: dict[Hashable, Stats],
    baseline: dict[Hashable, Stats],
) -> list[WeekPoint]:
    weeks: dict[dt.date, dict[str, Any]] = {}

    def week_of(value: Any) -> dt.date:
        return value.date() if isinstance(value, dt.datetime) else value

    def median_hours(stats: Stats) -> float | None:
        median = stats.percentiles[0]
        return None if median is None else median / HOUR

    for key, stats in _by(interviews, "week").items():
        weeks.setdefault(week_of(key), {}).update(
            invited=stats.extra["invited"],
            completed=stats.extra["completed"],
            pilot_median_hours=median_hours(stats),
        )
    for key, stats in _by(decisions, "week").items():
        weeks.setdefault(week_of(key), {}).update(
            decisions=stats.extra["decisions"], overrides=stats.extra["overrides"]
        )
    for key, stats in baseline.items():
        if key is not TOTAL and stats.count:
            weeks.setdefault(week_of(key), {})["baseline_median_hours"] = median_hours(stats)
    return [WeekPoint(week=week, **values) for week, values in sorted(weeks.items())]
