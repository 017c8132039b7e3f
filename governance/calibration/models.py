"""Calibration sessions: a panel scores the same results blind, per competency.

Imported by ``governance.models`` so the models belong to the governance app. Nothing here
imports the rest of governance (no import cycle through ``governance.models``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.models import choices_check

# Results a session should hold for agreement figures worth reading (the admin form warns below).
RECOMMENDED_RESULTS = 30


class CalibrationStatus(models.TextChoices):
    OPEN = "open", "Open: scoring in progress"
    COMPLETE = "complete", "Complete: every rating is in"


class CalibrationSession(models.Model):
    """A set of results of one interview plan that every panelist scores blind."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    plan = models.ForeignKey(
        "interviews.InterviewPlan", on_delete=models.PROTECT, related_name="calibration_sessions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=CalibrationStatus.choices, default=CalibrationStatus.OPEN
    )
    panelists = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="calibration_panels", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            choices_check("status", CalibrationStatus, "calibrationsession_status_valid"),
            models.CheckConstraint(
                condition=(Q(status="complete") & Q(closed_at__isnull=False))
                | (Q(status="open") & Q(closed_at__isnull=True)),
                name="calibrationsession_closed_iff_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_complete(self) -> bool:
        return self.status == CalibrationStatus.COMPLETE


class CalibrationItem(models.Model):
    """One result in a session; reviewers see it as "Candidate <position>", never by name."""

    session = models.ForeignKey(CalibrationSession, on_delete=models.CASCADE, related_name="items")
    result = models.ForeignKey(
        "interviews.InterviewResult", on_delete=models.PROTECT, related_name="calibration_items"
    )
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "result"], name="calibrationitem_unique"),
            models.UniqueConstraint(
                fields=["session", "position"], name="calibrationitem_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(position__gte=1), name="calibrationitem_position_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Candidate {self.position} of {self.session.name}"


class CalibrationRating(models.Model):
    """One panelist's score of one competency of one item, on the competency's rubric scale."""

    item = models.ForeignKey(CalibrationItem, on_delete=models.PROTECT, related_name="ratings")
    competency = models.ForeignKey(
        "interviews.Competency", on_delete=models.PROTECT, related_name="calibration_ratings"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calibration_ratings"
    )
    score = models.PositiveSmallIntegerField()
    seconds_spent = models.PositiveIntegerField(
        default=0, help_text="Time on the scoring page for this candidate (all competencies)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["item", "competency", "reviewer"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "competency", "reviewer"], name="calibrationrating_unique"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100), name="calibrationrating_score_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} rated {self.competency} {self.score} on {self.item}"
