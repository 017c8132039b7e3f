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
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least, TruncWeek
from django.utils import timezone

from governance.metrics.aggregates import duration_percentiles
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
    InterviewResult,
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
        # Rows not tied to an interview (which carries is_rehearsal) name the candidate's
        # is_synthetic flag, so rehearsal runs (manage.py rehearse) never count.
        self.synthetic = synthetic


INTERVIEW = _Paths(
    "application__requisition_id", "plan__role_family_id", "application__connection_id"
)
DECISION = _Paths(
    "application__requisition_id",
    "result__interview__plan__role_family_id",
    "application__connection_id",
)
REVIEW = _Paths(
    "interview__application__requisition_id",
    "interview__plan__role_family_id",
    "interview__application__connection_id",
)
RESULT = _Paths(
    "interview__application__requisition_id",
    "interview__plan__role_family_id",
    "interview__application__connection_id",
)
STAGE_CHANGE = _Paths(
    "application__requisition_id",
    "application__requisition__role_family_membership__role_family_id",
    "application__connection_id",
    synthetic="application__candidate__is_synthetic",
)
WRITEBACK = _Paths(
    "application__requisition_id",
    "application__requisition__role_family_membership__role_family_id",
    "connection_id",
    synthetic="application__candidate__is_synthetic",
)


def _scoped[Q_: QuerySet[Any]](
    queryset: Q_, paths: _Paths, filters: MetricsFilters, visible: Any
) -> Q_:
    if paths.synthetic:
        queryset = queryset.exclude(**{paths.synthetic: True})
    if visible is not None:
        queryset = queryset.filter(**{f"{paths.requisition}__in": visible})
    if filters.requisition_id is not None:
        queryset = queryset.filter(**{paths.requisition: filters.requisition_id})
    if filters.role_family_id is not None:
        queryset = queryset.filter(**{paths.role_family: filters.role_family_id})
    if filters.connection_id is not None:
        queryset = queryset.filter(**{paths.connection: filters.connection_id})
    return queryset


def _durations(
    found: dict[Hashable, tuple[int, list[float | None]]], key: Hashable, unit: float
) -> Durations:
    count, (median, p90) = found.get(key, (0, [None, None]))
    return Durations(
        count=count,
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


def _reached_counts() -> dict[str, Count]:
    return {
        f"reached_{stage}": Count("pk", filter=Q(furthest__gte=STAGE_ORDER[stage]))
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
    """
    database = connections[DB]
    if database.vendor == "postgresql":
        with database.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL random_page_cost = 1.1")


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
        Decision.objects.filter(
            created_at__gte=start, created_at__lt=end, result__interview__is_rehearsal=False
        ),
        DECISION,
        filters,
        visible,
    )
    baseline_entries = _baseline_entries(filters, visible)

    pilot_tts = _pilot_time_to_screen(interviews)
    baseline_tts = _baseline_time_to_screen(baseline_entries)
    overrides = _overrides(decisions)
    pilot = CohortMetrics(
        label="pilot",
        completion=_completion(interviews),
        time_to_screen_hours=_durations(pilot_tts, None, HOUR),
        overrides=overrides,
        usage=_usage(decisions, overrides.decisions),
        pass_through=_pilot_pass_through(filters, visible),
    )
    baseline = CohortMetrics(
        label=BASELINE_LABEL,
        time_to_screen_hours=_durations(baseline_tts, None, HOUR),
        pass_through=_baseline_pass_through(baseline_entries),
    )
    return MetricsReport(
        filters=filters,
        generated_at=timezone.now(),
        pilot=pilot,
        baseline=baseline,
        sync=_sync(filters, visible),
        review_load=_review_load(filters, visible),
        hours_saved=_hours_saved(interviews, decisions),
        weekly=_weekly(interviews, decisions, baseline_entries),
    )


def _completion(interviews: QuerySet[Interview]) -> Completion:
    S = InterviewStatus
    row = interviews.aggregate(
        invited=Count("pk", filter=~Q(status__in=[S.CANCELLED, S.PENDING])),
        completed=Count("pk", filter=Q(status=S.COMPLETED)),
        expired=Count("pk", filter=Q(status=S.EXPIRED)),
        failed=Count("pk", filter=Q(status=S.FAILED)),
        in_progress=Count("pk", filter=Q(status__in=[S.INVITED, S.STARTED])),
    )
    return Completion(**row)


def _pilot_time_to_screen(
    interviews: QuerySet[Interview], group: str | None = None
) -> dict[Hashable, tuple[int, list[float | None]]]:
    return duration_percentiles(
        interviews, _interval(F("first_decided_at"), F("stage_entered_at")), group=group
    )


def _overrides(decisions: QuerySet[Decision]) -> Overrides:
    row = decisions.aggregate(
        decisions=Count("pk"), overrides=Count("pk", filter=Q(is_override=True))
    )
    return Overrides(**row)


def _card_time() -> ExpressionWrapper:
    return _interval(F("created_at"), F("card_opened_at"))


def _usage(decisions: QuerySet[Decision], count: int) -> UsageDepth:
    found = duration_percentiles(decisions, _card_time())
    return UsageDepth(
        decisions=count,
        with_card=found[None][0],
        card_minutes=_durations(found, None, 60.0),
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


def _baseline_time_to_screen(
    entries: QuerySet[ApplicationStageChange], group: str | None = None
) -> dict[Hashable, tuple[int, list[float | None]]]:
    return duration_percentiles(entries, _interval(_next_change_at(), F("changed_at")), group=group)


def _pass_through_row(band: str, row: dict[str, Any], tts: Durations) -> PassThroughRow:
    return PassThroughRow(
        band=band,
        candidates=row["candidates"],
        reached={stage: row[f"reached_{stage}"] for stage in PASS_THROUGH_STAGES},
        time_to_screen_hours=tts,
    )


def _pilot_pass_through(filters: MetricsFilters, visible: Any) -> list[PassThroughRow]:
    results = _scoped(
        InterviewResult.objects.filter(
            is_current=True,
            interview__is_rehearsal=False,
            interview__created_at__gte=filters.start,
            interview__created_at__lt=filters.end,
        ),
        RESULT,
        filters,
        visible,
    )
    rows = (
        results.annotate(furthest=_furthest_rank("interview__application_id"))
        .order_by()
        .values("band")
        .annotate(candidates=Count("pk"), top=Max("score"), **_reached_counts())
        .order_by("-top", "band")
    )
    tts = duration_percentiles(
        results,
        _interval(F("interview__first_decided_at"), F("interview__stage_entered_at")),
        group="band",
    )
    return [_pass_through_row(row["band"], row, _durations(tts, row["band"], HOUR)) for row in rows]


def _baseline_pass_through(entries: QuerySet[ApplicationStageChange]) -> list[PassThroughRow]:
    row = entries.annotate(furthest=_furthest_rank("application_id")).aggregate(
        candidates=Count("pk"), **_reached_counts()
    )
    tts = _baseline_time_to_screen(entries)
    if not row["candidates"]:
        return []
    return [_pass_through_row(BASELINE_LABEL, row, _durations(tts, None, HOUR))]


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
    found = duration_percentiles(tasks, age)
    row = tasks.aggregate(
        open=Count("pk", filter=Q(status=ReviewStatus.OPEN)),
        claimed=Count("pk", filter=Q(status=ReviewStatus.CLAIMED)),
        oldest=Min("created_at"),
    )
    oldest = row["oldest"]
    return ReviewLoad(
        open=row["open"],
        claimed=row["claimed"],
        age_hours=_durations(found, None, HOUR),
        oldest_hours=None if oldest is None else (now - oldest).total_seconds() / HOUR,
    )


def _hours_saved(interviews: QuerySet[Interview], decisions: QuerySet[Decision]) -> HoursSaved:
    default = settings.SCREENBRIDGE_MANUAL_SCREEN_MINUTES
    screened = dict(
        interviews.filter(status=InterviewStatus.COMPLETED)
        .order_by()
        .values("plan__role_family")
        .annotate(n=Count("pk"))
        .values_list("plan__role_family", "n")
    )
    cap = Value(dt.timedelta(minutes=CARD_MINUTES_CAP), output_field=DurationField())
    zero = Value(dt.timedelta(0), output_field=DurationField())
    reviewed = {
        family: total.total_seconds() / 60 if isinstance(total, dt.timedelta) else 0.0
        for family, total in decisions.order_by()
        .values("result__interview__plan__role_family")
        # Coalesce first: PostgreSQL's LEAST ignores NULL (no card view would count as the cap).
        .annotate(total=Sum(Least(Coalesce(_card_time(), zero), cap)))
        .values_list("result__interview__plan__role_family", "total")
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
    interviews: QuerySet[Interview],
    decisions: QuerySet[Decision],
    baseline_entries: QuerySet[ApplicationStageChange],
) -> list[WeekPoint]:
    weeks: dict[dt.date, dict[str, Any]] = {}

    def week_of(value: Any) -> dt.date:
        return value.date() if isinstance(value, dt.datetime) else value

    for row in (
        interviews.annotate(week=TruncWeek("created_at"))
        .order_by()
        .values("week")
        .annotate(
            invited=Count(
                "pk", filter=~Q(status__in=[InterviewStatus.CANCELLED, InterviewStatus.PENDING])
            ),
            completed=Count("pk", filter=Q(status=InterviewStatus.COMPLETED)),
        )
    ):
        weeks.setdefault(week_of(row["week"]), {}).update(
            invited=row["invited"], completed=row["completed"]
        )
    for row in (
        decisions.annotate(week=TruncWeek("created_at"))
        .order_by()
        .values("week")
        .annotate(decisions=Count("pk"), overrides=Count("pk", filter=Q(is_override=True)))
    ):
        weeks.setdefault(week_of(row["week"]), {}).update(
            decisions=row["decisions"], overrides=row["overrides"]
        )
    pilot = _pilot_time_to_screen(interviews.annotate(week=TruncWeek("created_at")), group="week")
    for key, (_, (median, _p90)) in pilot.items():
        weeks.setdefault(week_of(key), {})["pilot_median_hours"] = (
            None if median is None else median / HOUR
        )
    baseline = _baseline_time_to_screen(
        baseline_entries.annotate(week=TruncWeek("changed_at")), group="week"
    )
    for key, (_, (median, _p90)) in baseline.items():
        weeks.setdefault(week_of(key), {})["baseline_median_hours"] = (
            None if median is None else median / HOUR
        )
    return [WeekPoint(week=week, **values) for week, values in sorted(weeks.items())]
