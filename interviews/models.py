"""Interview plans per role family, interviews, their results and the human review queue."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.models import Application, CanonicalStage, Requisition


def _choices_check(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


def default_band_thresholds() -> list[dict[str, Any]]:
    """Bands from the top down; a score belongs to the first band whose ``min`` it reaches."""
    return [
        {"name": "strong", "min": 80},
        {"name": "proceed", "min": 65},
        {"name": "borderline", "min": 50},
        {"name": "insufficient_evidence", "min": 0},
    ]


def validate_band_thresholds(value: Any) -> None:
    """Bands must be a non-empty list of {name, min}, strictly descending, ending at 0."""
    if not isinstance(value, list) or not value:
        raise ValidationError("Band thresholds must be a non-empty list of {name, min} objects.")
    names: set[str] = set()
    previous: float | None = None
    for index, band in enumerate(value):
        if not isinstance(band, dict) or set(band) != {"name", "min"}:
            raise ValidationError(f"Band #{index + 1} must have exactly the keys 'name' and 'min'.")
        name, cut = band["name"], band["min"]
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
            raise ValidationError(f"Band #{index + 1}: name must be a lower-case identifier.")
        if name in names:
            raise ValidationError(f"Band name {name!r} is used twice.")
        names.add(name)
        if isinstance(cut, bool) or not isinstance(cut, int | float) or not 0 <= cut <= 100:
            raise ValidationError(f"Band {name!r}: min must be a number from 0 to 100.")
        if previous is not None and cut >= previous:
            raise ValidationError(
                f"Band {name!r}: cuts must be in strictly descending order "
                f"({cut} follows {previous})."
            )
        previous = cut
    if previous != 0:
        raise ValidationError("The last band must start at 0 so every score has a band.")


class RoleFamily(models.Model):
    """A group of requisitions sharing an interview plan (e.g. Customer Support, SDR)."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Rules evaluated on sync when a requisition has no explicit assignment.
    department_rule = models.CharField(
        max_length=200,
        blank=True,
        help_text="Requisitions in this department join (case-insensitive).",
    )
    title_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="Regular expression matched against requisition titles.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "role families"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.title_pattern:
            try:
                re.compile(self.title_pattern)
            except re.error as exc:
                raise ValidationError(
                    {"title_pattern": f"Not a valid regular expression: {exc}"}
                ) from exc


class MembershipSource(models.TextChoices):
    MANUAL = "manual", "Assigned by an admin"
    RULE = "rule", "Matched by a rule"


class RoleFamilyMembership(models.Model):
    """Which role family a requisition belongs to (at most one)."""

    requisition = models.OneToOneField(
        Requisition, on_delete=models.CASCADE, related_name="role_family_membership"
    )
    role_family = models.ForeignKey(
        RoleFamily, on_delete=models.CASCADE, related_name="memberships"
    )
    source = models.CharField(
        max_length=10, choices=MembershipSource.choices, default=MembershipSource.MANUAL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            _choices_check("source", MembershipSource, "rolefamilymembership_source_valid")
        ]

    def __str__(self) -> str:
        return f"{self.requisition} in {self.role_family}"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PILOT = "pilot", "Pilot"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"


class InterviewPlan(models.Model):
    """What automated interview runs for a role family when an application enters a stage."""

    role_family = models.ForeignKey(RoleFamily, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=200)
    trigger_stage = models.CharField(
        max_length=32, choices=CanonicalStage.choices, default=CanonicalStage.AUTOMATED_INTERVIEW
    )
    vendor = models.SlugField(max_length=64, help_text="Vendor adapter slug, e.g. 'generic-http'.")
    vendor_test_id = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    band_thresholds = models.JSONField(
        default=default_band_thresholds, validators=[validate_band_thresholds]
    )
    borderline_margin = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=Decimal("3.0"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(20))],
        help_text="Scores within this many points of a cut are borderline and go to review.",
    )
    expiry_days = models.PositiveIntegerField(default=5)
    reminder_after_hours = models.PositiveIntegerField(default=48)
    required_consents = models.JSONField(default=list, blank=True)
    pilot_review_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text="Share (0–1) of all results also sent to review while the plan is in pilot.",
    )
    activated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the plan went pilot or live."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["role_family__name", "name"]
        constraints = [
            _choices_check("status", PlanStatus, "interviewplan_status_valid"),
            _choices_check("trigger_stage", CanonicalStage, "interviewplan_trigger_stage_valid"),
            # Only one running plan per role family and trigger stage, so a launch is unambiguous.
            models.UniqueConstraint(
                fields=["role_family", "trigger_stage"],
                condition=Q(status__in=["pilot", "live"]),
                name="interviewplan_one_running_per_stage",
            ),
            models.CheckConstraint(
                condition=Q(borderline_margin__gte=0, borderline_margin__lte=20),
                name="interviewplan_margin_range",
            ),
            models.CheckConstraint(
                condition=Q(pilot_review_share__gte=0, pilot_review_share__lte=1),
                name="interviewplan_review_share_range",
            ),
            models.CheckConstraint(
                condition=Q(expiry_days__gte=1), name="interviewplan_expiry_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role_family}, {self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in (PlanStatus.PILOT, PlanStatus.LIVE)


class Competency(models.Model):
    """A competency an interview plan scores, with its weight and rubric anchors per level."""

    plan = models.ForeignKey(InterviewPlan, on_delete=models.CASCADE, related_name="competencies")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    weight = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    rubric_anchors = models.JSONField(
        default=dict,
        blank=True,
        help_text='Level → description, e.g. {"1": "...", "3": "...", "5": "..."}.',
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["plan", "position", "pk"]
        verbose_name_plural = "competencies"
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="competency_unique_key_per_plan"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="competency_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class InterviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    INVITED = "invited", "Invited"
    STARTED = "started", "Started"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


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
    vendor = models.SlugField(max_length=64)
    vendor_reference = models.CharField(
        max_length=200, blank=True, help_text="The vendor's id for it."
    )
    invite_url = models.URLField(max_length=1000, blank=True)
    is_rehearsal = models.BooleanField(default=False)
    stage_entered_at = models.DateTimeField(
        null=True, blank=True, help_text="When the application entered the trigger stage."
    )
    invited_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "plan"], name="interview_one_per_application_plan"
            ),
            _choices_check("status", InterviewStatus, "interview_status_valid"),
            models.UniqueConstraint(
                fields=["vendor", "vendor_reference"],
                condition=~Q(vendor_reference=""),
                name="interview_unique_vendor_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="interview_status_expiry_idx")
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
            _choices_check(
                "artifact_retention_class", RetentionClass, "result_artifact_retention_valid"
            ),
            _choices_check(
                "raw_payload_retention_class", RetentionClass, "result_raw_retention_valid"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Result v{self.version} of interview {self.interview_id}: {self.score} ({self.band})"
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
            _choices_check("reason", ReviewReason, "reviewtask_reason_valid"),
            _choices_check("status", ReviewStatus, "reviewtask_status_valid"),
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
        indexes = [models.Index(fields=["status", "reason"], name="reviewtask_status_reason_idx")]

    def __str__(self) -> str:
        return (
            f"Review {self.get_reason_display()} for interview {self.interview_id} ({self.status})"
        )
