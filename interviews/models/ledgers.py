"""Vendor webhook deliveries and writeback field mappings."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.models import (
    AtsConnection,
    WritebackKind,
    choices_check,
)
from interviews.models.plans import Vendor


class VendorEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
    IGNORED = "ignored", "Ignored"


class VendorEvent(models.Model):
    """One accepted vendor webhook delivery (status update or result), stored before processing."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="events")
    delivery_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)
    raw_body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    status = models.CharField(
        max_length=12, choices=VendorEventStatus.choices, default=VendorEventStatus.RECEIVED
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "delivery_id"], name="vendorevent_unique"),
            choices_check("status", VendorEventStatus, "vendorevent_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor.slug}:{self.delivery_id} ({self.event_type or 'unknown'})"


class ResultField(models.TextChoices):
    """Canonical result fields that can be written back to the ATS."""

    COMPLETION_STATUS = "completion_status", "Completion status"
    BAND = "band", "Score band"
    OVERALL_SCORE = "overall_score", "Overall score (0–100)"
    COMPETENCY_SCORE = "competency_score", "Competency subscore"
    SUMMARY_BULLETS = "summary_bullets", "Summary bullets"
    ARTIFACT_LINK = "artifact_link", "Link to the full results in Screenbridge"


class WritebackFieldMapping(models.Model):
    """Where one canonical result field goes in one ATS connection.

    ``target_key`` is the provider's identifier: a Greenhouse custom field ``name_key``, an Ashby
    custom field id, a generic JSON key, or a label for notes and tags.
    """

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.CASCADE, related_name="field_mappings"
    )
    source = models.CharField(max_length=20, choices=ResultField.choices)
    competency_key = models.SlugField(
        max_length=64, blank=True, help_text="For competency subscores: the competency's key."
    )
    target_kind = models.CharField(max_length=20, choices=WritebackKind.choices)
    target_key = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["connection", "source", "competency_key"]
        constraints = [
            choices_check("source", ResultField, "writebackfieldmapping_source_valid"),
            choices_check("target_kind", WritebackKind, "writebackfieldmapping_kind_valid"),
            models.UniqueConstraint(
                fields=["connection", "source", "competency_key", "target_kind", "target_key"],
                name="writebackfieldmapping_unique",
            ),
            models.CheckConstraint(
                condition=~Q(source="competency_score") | ~Q(competency_key=""),
                name="writebackfieldmapping_competency_has_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} → {self.target_kind}:{self.target_key}"
