"""Rehearsal runs: synthetic candidates sent through the whole pipeline on a sandbox connection.

A :class:`RehearsalRun` is one ``manage.py rehearse`` of one plan; each of its
:class:`RehearsalCandidate` rows says what happened to one synthetic candidate: the band and how
the score mapped to it, the review reason, what would have been written to the ATS and which
field mappings wrote nothing (rejected). The go-live readiness check reads the latest run.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.models import Application, AtsConnection, choices_check
from interviews.models.plans import InterviewPlan, Vendor
from interviews.models.records import Interview


class RehearsalStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class RehearsalOutcome(models.TextChoices):
    COMPLETED = "completed", "Result received"
    NOT_LAUNCHED = "not_launched", "No interview launched"
    INCOMPLETE = "incomplete", "No result"


class RehearsalRun(models.Model):
    """One rehearsal of one plan on the role family's sandbox connection."""

    plan = models.ForeignKey(InterviewPlan, on_delete=models.PROTECT, related_name="rehearsals")
    connection = models.ForeignKey(
        AtsConnection,
        on_delete=models.PROTECT,
        related_name="rehearsal_runs",
        help_text="The sandbox connection the synthetic candidates live on.",
    )
    mirrored_connection = models.ForeignKey(
        AtsConnection,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mirrored_by_rehearsals",
        help_text="The live connection whose stage and field mappings were rehearsed.",
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="rehearsal_runs")
    status = models.CharField(
        max_length=10, choices=RehearsalStatus.choices, default=RehearsalStatus.RUNNING
    )
    seed = models.BigIntegerField(default=0)
    candidates_requested = models.PositiveIntegerField()
    # The mirrored field mappings at the time of the run (source, competency key, kind, key).
    mapping_snapshot = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rehearsal_runs",
    )
    started_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            choices_check("status", RehearsalStatus, "rehearsalrun_status_valid"),
            models.CheckConstraint(
                condition=Q(candidates_requested__gte=1), name="rehearsalrun_candidates_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Rehearsal #{self.pk} of {self.plan.name} ({self.status})"


class RehearsalCandidate(models.Model):
    """What one synthetic candidate of a rehearsal went through."""

    run = models.ForeignKey(RehearsalRun, on_delete=models.CASCADE, related_name="candidates")
    position = models.PositiveIntegerField()
    application = models.ForeignKey(
        Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    interview = models.ForeignKey(
        Interview, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=300)
    # The rehearsal vendor sample assigned by the seed (the vendor's script may override it).
    sample = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(
        max_length=15, choices=RehearsalOutcome.choices, default=RehearsalOutcome.INCOMPLETE
    )
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    band_reasoning = models.CharField(max_length=300, blank=True)
    competency_scores = models.JSONField(default=list, blank=True)
    flags = models.JSONField(default=list, blank=True)
    review_reason = models.CharField(max_length=20, blank=True)
    review_detail = models.CharField(max_length=500, blank=True)
    # [{kind, target, payload}] — the sandboxed outbox jobs, i.e. what the ATS would receive.
    writebacks = models.JSONField(default=list, blank=True)
    # [{mapping, written, problem}] — each mirrored field mapping and whether it wrote a value.
    mappings = models.JSONField(default=list, blank=True)
    rejected = models.BooleanField(
        default=False, help_text="A field mapping wrote nothing for this result."
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="rehearsalcandidate_unique"),
            choices_check("outcome", RehearsalOutcome, "rehearsalcandidate_outcome_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} in rehearsal {self.run_id} ({self.outcome})"
