"""Role families, vendors, interview plans and their competencies."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from integrations.models import (
    CanonicalStage,
    CredentialsModel,
    Requisition,
    choices_check,
)


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
    manual_screen_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Minutes a manual first screen takes in this role family (recruiter hours saved); "
            "empty means SCREENBRIDGE_MANUAL_SCREEN_MINUTES."
        ),
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
            choices_check("source", MembershipSource, "rolefamilymembership_source_valid")
        ]

    def __str__(self) -> str:
        return f"{self.requisition} in {self.role_family}"


class VendorKind(models.TextChoices):
    GENERIC_HTTP = "generic_http", "Generic HTTP vendor (Standard Webhooks)"
    REHEARSAL = "rehearsal", "Rehearsal vendor (sandbox connections only)"


class Vendor(CredentialsModel):
    """An automated-interview vendor, reached through the adapter of its ``kind``.

    ``webhook_secret`` verifies the vendor's status/result webhooks (Standard Webhooks);
    ``api_key`` authenticates Screenbridge's invitations to the vendor.
    """

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=VendorKind.choices)
    base_url = models.URLField(max_length=500, blank=True, help_text="The vendor's API root.")
    active = models.BooleanField(default=True)
    model_version = models.CharField(
        max_length=100,
        blank=True,
        help_text="The vendor's tool/model version in use; NYC launches need a bias audit of it.",
    )
    settings = models.JSONField(default=dict, blank=True, help_text="Adapter-specific options.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [choices_check("kind", VendorKind, "vendor_kind_valid")]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never include secrets
        return f"<Vendor {self.slug} kind={self.kind}>"


class LaunchMode(models.TextChoices):
    STAGE_CHANGE = "stage_change", "When the application enters the trigger stage"
    GREENHOUSE_ASSESSMENT = "greenhouse_assessment", "Greenhouse assessment partner (Send Test)"
    ASHBY_ASSESSMENT = "ashby_assessment", "Ashby assessment (assessment.start)"


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
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="plans")
    vendor_test_id = models.CharField(max_length=200)
    launch_mode = models.CharField(
        max_length=24, choices=LaunchMode.choices, default=LaunchMode.STAGE_CHANGE
    )
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
            choices_check("status", PlanStatus, "interviewplan_status_valid"),
            choices_check("trigger_stage", CanonicalStage, "interviewplan_trigger_stage_valid"),
            choices_check("launch_mode", LaunchMode, "interviewplan_launch_mode_valid"),
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
