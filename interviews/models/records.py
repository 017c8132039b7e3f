"""Interviews, their results, the review queue and launch skips."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from integrations.models import (
    Application,
    choices_check,
)
from interviews.models.plans import Competency, InterviewPlan, Vendor


class InterviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    INVITED = "invited", "Invited"
    STARTED = "started", "Started"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class LaunchSource(models.TextChoices):
    STAGE_CHANGE = "stage_change", "ATS stage change"
    GREENHOUSE_SEND_TEST = "greenhouse_send_test", "Greenhouse Send Test"
    ASHBY_START = "ashby_start", "Ashby assessment.start"
    REHEARSAL = "rehearsal", "Rehearsal run"


# Allowed transitions of the interview status machine (services enforce them).
INTERVIEW_TRANSITIONS: dict[str, frozenset[str]] = {
    InterviewStatus.PENDING: frozenset({"invited", "cancelled", "failed"}),
    InterviewStatus.INVITED: frozenset({"started", "completed", "expired", "cancelled", "failed"}),
    InterviewStatus.STARTED: frozenset({"completed", "expired", "cancelled", "failed"}),
    InterviewStatus.COMPLETED: frozenset(),
    InterviewStatus.EXPIRED: frozenset(),
    InterviewStatus.CANCELLED: frozenset(),
    InterviewStatus.FAILED: frozenset(),
}


class Interview(models.Model):
    """One automated interview of one application under one plan."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="interviews"
    )
    plan = models.ForeignKey(InterviewPlan, on_delete=models.PROTECT, related_name="interviews")
    status = models.CharField(
        max_length=10, choices=InterviewStatus.choices, default=InterviewStatus.PENDING
    )
    # Our id for it in every external system (never the sequential primary key).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="interviews")
    launch_source = models.CharField(
        max_length=24, choices=LaunchSource.choices, default=LaunchSource.STAGE_CHANGE
    )
    # Where to report completion in assessment-partner modes (Greenhouse PATCH URL).
    callback_url = models.URLField(max_length=1000, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    vendor_reference = models.CharField(
        max_length=200, blank=True, help_text="The vendor's id for it."
    )
    invite_url = models.URLField(max_length=1000, blank=True)
    is_rehearsal = models.BooleanField(default=False)
    stage_entered_at = models.DateTimeField(
        null=True, blank=True, help_text="When the application entered the trigger stage."
    )
    invited_at = models.DateTimeField(null=True, blank=True)
    # Invitation retries (services.lifecycle): a pending interview with invited_at set is being
    # sent; these two say how often that was tried and when the sweeper may try again.
    invite_attempts = models.PositiveIntegerField(
        default=0,
        help_text="Times the invitation was claimed for sending, including failed and lost tries.",
    )
    next_invite_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="After a failed try: when the sweeper sends the invitation again.",
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set once, by governance.services.decision_record: the end of "time to screen".
    first_decided_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the first human decision was made."
    )
    failure_reason = models.TextField(blank=True)
    # Copies of the current result's band and score, kept by InterviewResult.save/delete
    # (stamp_current_result) so the metrics group interviews by band without joining every
    # result. NULL: no current result.
    current_band = models.CharField(  # noqa: DJ001 - NULL (no result) is not a band ""
        max_length=40, null=True, blank=True, editable=False
    )
    current_score = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "plan"], name="interview_one_per_application_plan"
            ),
            choices_check("status", InterviewStatus, "interview_status_valid"),
            choices_check("launch_source", LaunchSource, "interview_launch_source_valid"),
            models.UniqueConstraint(
                fields=["vendor", "vendor_reference"],
                condition=~Q(vendor_reference=""),
                name="interview_unique_vendor_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="interview_status_expiry_idx"),
            models.Index(fields=["status", "next_invite_at"], name="interview_invite_due_idx"),
            models.Index(fields=["created_at"], name="interview_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Interview #{self.pk} ({self.status})"

    def can_transition_to(self, new_status: str) -> bool:
        return new_status in INTERVIEW_TRANSITIONS[self.status]


class RetentionClass(models.TextChoices):
    """How long an artifact is kept; RetentionPolicy rows give the number of days per class."""

    STANDARD = "standard", "Standard"
    SENSITIVE = "sensitive", "Sensitive (transcripts, recordings)"
    RAW_VENDOR = "raw_vendor", "Raw vendor payload"


class ResultFlag(models.TextChoices):
    BORDERLINE = "borderline", "Score within the margin of a band cut"
    INTEGRITY = "integrity", "Vendor reported an integrity concern"
    TECHNICAL = "technical", "Vendor reported a technical problem"
    LOW_CONFIDENCE = "low_confidence", "Vendor confidence below threshold"
    SHORT_TRANSCRIPT = "short_transcript", "Transcript missing or too short"


class InterviewResult(models.Model):
    """A normalized, versioned result of one interview. A resubmission becomes a new version."""

    interview = models.ForeignKey(Interview, on_delete=models.PROTECT, related_name="results")
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    score = models.DecimalField(max_digits=5, decimal_places=2)
    # Stored at computation time: bands are never recomputed when thresholds change later.
    band = models.CharField(max_length=40)
    band_thresholds = models.JSONField(
        default=list, help_text="Thresholds the band was computed with."
    )
    confidence = models.FloatField(null=True, blank=True)
    summary_bullets = models.JSONField(default=list)
    flags = models.JSONField(default=list, blank=True)
    transcript_url = models.URLField(max_length=1000, blank=True)
    recording_url = models.URLField(max_length=1000, blank=True)
    report_url = models.URLField(max_length=1000, blank=True)
    artifact_retention_class = models.CharField(
        max_length=20, choices=RetentionClass.choices, default=RetentionClass.SENSITIVE
    )
    raw_payload = models.JSONField(default=dict, blank=True)
    raw_payload_retention_class = models.CharField(
        max_length=20, choices=RetentionClass.choices, default=RetentionClass.RAW_VENDOR
    )
    artifacts_deleted_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-received_at", "-pk"]
        permissions = [
            ("view_transcript", "Can open interview transcripts"),
            ("view_recording", "Can open interview recordings"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["interview", "version"], name="result_unique_version"),
            models.UniqueConstraint(
                fields=["interview"],
                condition=Q(is_current=True),
                name="result_one_current_per_interview",
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100), name="result_score_range"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="result_version_positive"),
            choices_check(
                "artifact_retention_class", RetentionClass, "result_artifact_retention_valid"
            ),
            choices_check(
                "raw_payload_retention_class", RetentionClass, "result_raw_retention_valid"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Result v{self.version} of interview {self.interview_id}: {self.score} ({self.band})"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if fields is not None and not set(fields) & STAMPED_FROM:
            return  # e.g. artifacts deleted: nothing the interview copies changed
        stamp_current_result(Interview.objects.filter(pk=self.interview_id))
        if self.is_current and type(self).interview.is_cached(self):
            # The caller's interview instance too, so a later full save keeps the stamp.
            self.interview.current_band, self.interview.current_score = self.band, self.score

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        stamp_current_result(Interview.objects.filter(pk=self.interview_id))
        return deleted


# The result fields an interview's stamp depends on (a save touching none of them keeps it).
STAMPED_FROM = frozenset({"interview", "interview_id", "is_current", "band", "score"})


def stamp_current_result(interviews: models.QuerySet[Interview]) -> int:
    """Copy each interview's current result's band and score onto it (NULL: none); one UPDATE.

    Called on every save and delete of a result; bulk inserts (demo data) and queryset updates
    of ``is_current`` must call it themselves.
    """
    current = InterviewResult.objects.filter(interview=OuterRef("pk"), is_current=True)
    return interviews.update(
        current_band=Subquery(current.values("band")[:1]),
        current_score=Subquery(current.values("score")[:1]),
    )

    @property
    def is_flagged(self) -> bool:
        return any(flag != ResultFlag.BORDERLINE for flag in self.flags or [])


class CompetencyScore(models.Model):
    """A competency subscore (0–100) within one result."""

    result = models.ForeignKey(
        InterviewResult, on_delete=models.CASCADE, related_name="competency_scores"
    )
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="scores")
    score = models.DecimalField(max_digits=5, decimal_places=2)
    evidence = models.TextField(blank=True)

    class Meta:
        ordering = ["competency__position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["result", "competency"], name="competencyscore_unique"),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100), name="competencyscore_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.competency}: {self.score}"


class ReviewReason(models.TextChoices):
    BORDERLINE = "borderline", "Borderline score"
    FLAGGED = "flagged", "Flagged by vendor or checks"
    PILOT_SAMPLE = "pilot_sample", "Pilot sample"
    LOW_CONFIDENCE = "low_confidence", "Low confidence"
    INCOMPLETE = "incomplete", "Interview incomplete"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class ReviewTask(models.Model):
    """An item in the human review queue."""

    interview = models.ForeignKey(Interview, on_delete=models.PROTECT, related_name="review_tasks")
    result = models.ForeignKey(
        InterviewResult,
        on_delete=models.PROTECT,
        related_name="review_tasks",
        null=True,
        blank=True,
    )
    reason = models.CharField(max_length=20, choices=ReviewReason.choices)
    detail = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claimed_reviews",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            choices_check("reason", ReviewReason, "reviewtask_reason_valid"),
            choices_check("status", ReviewStatus, "reviewtask_status_valid"),
            # One open item per interview: re-routing adds detail, not a second queue entry.
            models.UniqueConstraint(
                fields=["interview"],
                condition=Q(status__in=["open", "claimed"]),
                name="reviewtask_one_open_per_interview",
            ),
            models.CheckConstraint(
                condition=Q(status="claimed", claimed_by__isnull=False) | ~Q(status="claimed"),
                name="reviewtask_claimed_has_user",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "reason"], name="reviewtask_status_reason_idx"),
            # The review queue: open/claimed items in their default order (oldest first). Done
            # items pile up over months; this index never holds them, so the first page reads
            # 25 entries instead of skipping every resolved item older than the oldest open one.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status__in=["open", "claimed"]),
                name="reviewtask_active_age_idx",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Review {self.get_reason_display()} for interview {self.interview_id} ({self.status})"
        )


class LaunchSkipReason(models.TextChoices):
    PLAN_DRAFT = "plan_draft", "The plan is a draft"
    PLAN_PAUSED = "plan_paused", "The plan is paused"
    STOPPED = "stopped", "A stop switch is on"
    OPTED_OUT = "opted_out", "The candidate opted out of automated interviews"
    MISSING_CONSENT = "missing_consent", "The candidate lacks a consent the plan requires"
    SKIPPED_STAGE = "skipped_stage", "The candidate skipped past the trigger stage"
    VENDOR_INACTIVE = "vendor_inactive", "The plan's vendor is inactive"
    NO_ROLE_FAMILY = "no_role_family", "The requisition belongs to no role family"
    IL_CONSENT_MISSING = "il_consent_missing", "Illinois: no AI-interview consent recorded"
    NYC_NOTICE_MISSING = "nyc_notice_missing", "NYC: notice not sent 10 business days before"
    NYC_BIAS_AUDIT = "nyc_bias_audit", "NYC: no bias audit within 365 days for the tool version"
    HUMAN_ONLY = "human_only", "The candidate chose the human-only path"


class LaunchSkip(models.Model):
    """Why an interview was *not* launched for an application, shown to admins."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="launch_skips"
    )
    plan = models.ForeignKey(
        InterviewPlan, on_delete=models.CASCADE, null=True, blank=True, related_name="launch_skips"
    )
    reason = models.CharField(max_length=20, choices=LaunchSkipReason.choices)
    detail = models.CharField(max_length=500, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]
        constraints = [
            choices_check("reason", LaunchSkipReason, "launchskip_reason_valid"),
            models.UniqueConstraint(
                fields=["application", "plan", "reason"],
                condition=Q(plan__isnull=False),
                name="launchskip_unique_per_plan",
            ),
            models.UniqueConstraint(
                fields=["application", "reason"],
                condition=Q(plan__isnull=True),
                name="launchskip_unique_without_plan",
            ),
        ]

    def __str__(self) -> str:
        return f"No launch for {self.application_id}: {self.get_reason_display()}"
