"""The synced mirror of ATS records plus the inbound/outbound ledgers.

Identity is always ``(connection, remote_id)``: e-mail addresses are data, never keys.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations import crypto


def choices_check(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    """A check constraint that keeps a TextChoices column inside its declared values."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class CanonicalStage(models.TextChoices):
    APPLIED = "applied", "Applied"
    APPLICATION_REVIEW = "application_review", "Application review"
    AUTOMATED_INTERVIEW = "automated_interview", "Automated interview"
    RECRUITER_SCREEN = "recruiter_screen", "Recruiter screen"
    HIRING_MANAGER_REVIEW = "hiring_manager_review", "Hiring manager review"
    ONSITE = "onsite", "Onsite"
    OFFER = "offer", "Offer"
    HIRED = "hired", "Hired"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    UNMAPPED = "unmapped", "Unmapped"


# Pipeline order of the canonical stages; terminal and unmapped stages have no rank.
STAGE_ORDER: dict[str, int] = {
    CanonicalStage.APPLIED: 0,
    CanonicalStage.APPLICATION_REVIEW: 1,
    CanonicalStage.AUTOMATED_INTERVIEW: 2,
    CanonicalStage.RECRUITER_SCREEN: 3,
    CanonicalStage.HIRING_MANAGER_REVIEW: 4,
    CanonicalStage.ONSITE: 5,
    CanonicalStage.OFFER: 6,
    CanonicalStage.HIRED: 7,
}


def normalize_stage_name(name: str) -> str:
    """Case- and whitespace-insensitive form of a stage name: " Phone  Screen" -> "phone screen"."""
    return re.sub(r"\s+", " ", name).strip().casefold()


class Provider(models.TextChoices):
    GREENHOUSE = "greenhouse", "Greenhouse"
    LEVER = "lever", "Lever"
    ASHBY = "ashby", "Ashby"
    GENERIC = "generic", "Generic webhook ATS"


class ConnectionMode(models.TextChoices):
    LIVE = "live", "Live"
    SANDBOX = "sandbox", "Sandbox (nothing is written to the ATS)"


_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


class CredentialsModel(models.Model):
    """Secrets of an external system (an ATS connection, an interview vendor).

    Secrets are never stored in clear: each is either the *name* of an environment variable
    (``*_env``) or a Fernet-encrypted value (``*_encrypted``). The environment variable wins when
    both are set. Subclasses list their secrets in ``SECRETS`` (name → label); read them with
    :meth:`secret` (or the per-secret helpers), write them with :meth:`set_secret`.
    """

    SECRETS: dict[str, str] = {"webhook_secret": "webhook secret", "api_key": "API key"}

    webhook_secret_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the webhook secret.",
    )
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the API key/secret.",
    )
    api_key_encrypted = models.TextField(blank=True, editable=False)

    class Meta:
        abstract = True

    def clean(self) -> None:
        for name in self.SECRETS:
            value = getattr(self, f"{name}_env")
            if value and not _ENV_NAME.fullmatch(value):
                raise ValidationError(
                    {f"{name}_env": "Use an environment variable name such as GREENHOUSE_SECRET."}
                )

    def set_secret(self, name: str, value: str) -> None:
        """Store ``value`` encrypted (an empty value clears the stored secret)."""
        setattr(self, f"{name}_encrypted", crypto.encrypt(value) if value else "")

    def secret(self, name: str) -> str:
        """The secret's value; :class:`~integrations.crypto.SecretUnavailableError` if unset."""
        label = self.SECRETS[name]
        env_name = getattr(self, f"{name}_env")
        if env_name:
            value = os.environ.get(env_name, "")
            if not value:
                raise crypto.SecretUnavailableError(
                    f"{label} environment variable {env_name} is not set"
                )
            return value
        encrypted = getattr(self, f"{name}_encrypted")
        if encrypted:
            return crypto.decrypt(encrypted)
        raise crypto.SecretUnavailableError(f"no {label} configured for {self}")

    def has_secret(self, name: str) -> bool:
        return bool(getattr(self, f"{name}_env") or getattr(self, f"{name}_encrypted"))

    def set_webhook_secret(self, value: str) -> None:
        self.set_secret("webhook_secret", value)

    def set_api_key(self, value: str) -> None:
        self.set_secret("api_key", value)

    def webhook_secret(self) -> str:
        return self.secret("webhook_secret")

    def api_key(self) -> str:
        return self.secret("api_key")

    @property
    def has_webhook_secret(self) -> bool:
        return self.has_secret("webhook_secret")

    @property
    def has_api_key(self) -> bool:
        return self.has_secret("api_key")


class AtsConnection(CredentialsModel):
    """One configured ATS account (secrets: see :class:`CredentialsModel`).

    ``partner_key`` is the key the ATS presents when it calls Screenbridge as an assessment
    partner (Greenhouse Assessment API, Ashby assessments).
    """

    SECRETS = {**CredentialsModel.SECRETS, "partner_key": "assessment partner key"}

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    base_url = models.URLField(
        max_length=500, blank=True, help_text="API base URL; empty means the provider's default."
    )
    mode = models.CharField(
        max_length=10, choices=ConnectionMode.choices, default=ConnectionMode.SANDBOX
    )
    active = models.BooleanField(default=True)
    partner_key_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the assessment partner key.",
    )
    partner_key_encrypted = models.TextField(blank=True, editable=False)
    api_client_id = models.CharField(
        max_length=200, blank=True, help_text="OAuth client id (Greenhouse Harvest v3), if used."
    )
    on_behalf_of = models.CharField(
        max_length=100,
        blank=True,
        help_text=(
            "ATS user id that writes are attributed to (Greenhouse On-Behalf-Of, Lever perform_as)."
        ),
    )
    settings = models.JSONField(default=dict, blank=True, help_text="Provider-specific options.")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            choices_check("provider", Provider, "atsconnection_provider_valid"),
            choices_check("mode", ConnectionMode, "atsconnection_mode_valid"),
            models.CheckConstraint(condition=~Q(slug=""), name="atsconnection_slug_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()}, {self.mode})"

    def __repr__(self) -> str:  # never include secrets
        return f"<AtsConnection {self.slug} provider={self.provider} mode={self.mode}>"

    @property
    def is_sandbox(self) -> bool:
        return self.mode == ConnectionMode.SANDBOX

    def partner_key(self) -> str:
        return self.secret("partner_key")


class Candidate(models.Model):
    """A person as the ATS knows them on one connection."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.PROTECT, related_name="candidates"
    )
    remote_id = models.CharField(max_length=100)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    # Not unique and never used to match people: two candidates may share an address.
    email = models.EmailField(blank=True, db_index=True)
    opted_out = models.BooleanField(
        default=False, help_text="Candidate declined automated interviews; nothing is launched."
    )
    consents = models.JSONField(
        default=list,
        blank=True,
        help_text='Consents the candidate has given, e.g. ["ai_interview"].',
    )
    # Made up by a rehearsal (never a person): kept off metrics and never launched by a stage
    # change; rehearsals create them on their own sandbox connection only.
    is_synthetic = models.BooleanField(
        default=False, help_text="A synthetic candidate of a rehearsal run, not a person."
    )
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="candidate_unique_remote_id"
            ),
            models.CheckConstraint(
                condition=~Q(remote_id=""), name="candidate_remote_id_not_empty"
            ),
        ]
        indexes = [
            # The few synthetic candidates, found without scanning all (metrics leave them out).
            models.Index(fields=["id"], condition=Q(is_synthetic=True), name="candidate_synthetic"),
        ]

    def __str__(self) -> str:
        return self.full_name or f"Candidate {self.remote_id}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def has_consent(self, consent: str) -> bool:
        return consent in (self.consents or [])


class RequisitionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    DRAFT = "draft", "Draft"


class Requisition(models.Model):
    """A job / requisition in the ATS."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.PROTECT, related_name="requisitions"
    )
    remote_id = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    department = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=RequisitionStatus.choices, default=RequisitionStatus.OPEN
    )
    # When the requisition was first seen closed (retention periods can count from it).
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="requisition_unique_remote_id"
            ),
            models.CheckConstraint(
                condition=~Q(remote_id=""), name="requisition_remote_id_not_empty"
            ),
            choices_check("status", RequisitionStatus, "requisition_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.remote_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # closed_at follows the status: set when it closes, cleared when it reopens.
        closed = self.status == RequisitionStatus.CLOSED
        if closed != (self.closed_at is not None):
            self.closed_at = timezone.now() if closed else None
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "closed_at"}
        super().save(*args, **kwargs)


class Application(models.Model):
    """A candidate on one requisition, with the ATS's stage and our canonical reading of it."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.PROTECT, related_name="applications"
    )
    remote_id = models.CharField(max_length=100)
    candidate = models.ForeignKey(Candidate, on_delete=models.PROTECT, related_name="applications")
    requisition = models.ForeignKey(
        Requisition, on_delete=models.PROTECT, related_name="applications"
    )
    remote_stage_id = models.CharField(max_length=100, blank=True)
    remote_stage_name = models.CharField(max_length=200, blank=True)
    canonical_stage = models.CharField(
        max_length=32, choices=CanonicalStage.choices, default=CanonicalStage.UNMAPPED
    )
    stage_entered_at = models.DateTimeField(null=True, blank=True)
    # Provider timestamp of the newest event applied; older events never move the stage back.
    last_event_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    # Highest STAGE_ORDER rank the application ever reached (stage history), kept by stage_sync
    # so metrics read how far a candidate got without scanning the history.
    furthest_stage_rank = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-stage_entered_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"], name="application_unique_remote_id"
            ),
            models.CheckConstraint(
                condition=~Q(remote_id=""), name="application_remote_id_not_empty"
            ),
            choices_check("canonical_stage", CanonicalStage, "application_canonical_stage_valid"),
        ]
        indexes = [
            models.Index(
                fields=["requisition", "canonical_stage"], name="application_req_stage_idx"
            ),
            models.Index(
                fields=["connection", "canonical_stage"], name="application_conn_stage_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} → {self.requisition.title}"


class StageMapping(models.Model):
    """Maps a remote stage (by id, or by normalized name if there is no id) to a canonical stage."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.CASCADE, related_name="stage_mappings"
    )
    remote_stage_id = models.CharField(
        max_length=100, blank=True, help_text="Remote stage id; leave empty to match by name."
    )
    remote_stage_name = models.CharField(max_length=200, blank=True)
    normalized_name = models.CharField(max_length=200, blank=True, editable=False)
    canonical_stage = models.CharField(max_length=32, choices=CanonicalStage.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "remote_stage_name", "remote_stage_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_stage_id"],
                condition=~Q(remote_stage_id=""),
                name="stagemapping_unique_remote_id",
            ),
            models.UniqueConstraint(
                fields=["connection", "normalized_name"],
                condition=Q(remote_stage_id=""),
                name="stagemapping_unique_name",
            ),
            models.CheckConstraint(
                condition=~Q(remote_stage_id="", normalized_name=""),
                name="stagemapping_has_id_or_name",
            ),
            # Mapping to "unmapped" would hide the stage from the admins who must map it.
            models.CheckConstraint(
                condition=Q(
                    canonical_stage__in=[c for c in CanonicalStage.values if c != "unmapped"]
                ),
                name="stagemapping_canonical_stage_valid",
            ),
        ]

    def __str__(self) -> str:
        label = self.remote_stage_name or self.remote_stage_id
        return f"{label} → {self.get_canonical_stage_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalized_name = normalize_stage_name(self.remote_stage_name)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # Set before validate_constraints() so the admin reports a duplicate name clearly.
        self.normalized_name = normalize_stage_name(self.remote_stage_name)


class InboundEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
    STALE = "stale", "Stale (older than the applied state)"
    IGNORED = "ignored", "Ignored (not relevant)"


class InboundEvent(models.Model):
    """One accepted webhook delivery, stored before it is processed so nothing is lost."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.PROTECT, related_name="inbound_events"
    )
    delivery_id = models.CharField(max_length=200)
    action = models.CharField(max_length=100, blank=True)
    raw_body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    occurred_at = models.DateTimeField(
        null=True, blank=True, help_text="Provider timestamp, if any."
    )
    status = models.CharField(
        max_length=12, choices=InboundEventStatus.choices, default=InboundEventStatus.RECEIVED
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "delivery_id"], name="inboundevent_unique_delivery"
            ),
            choices_check("status", InboundEventStatus, "inboundevent_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="inboundevent_status_idx")]

    def __str__(self) -> str:
        return f"{self.connection.slug}:{self.delivery_id} ({self.action or 'unknown'})"


class WritebackStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    FAILED = "failed", "Failed (will retry)"
    SUCCEEDED = "succeeded", "Succeeded"
    DEAD = "dead", "Dead (gave up)"
    SUPERSEDED = "superseded", "Superseded by a newer write"
    SANDBOXED = "sandboxed", "Recorded only (sandbox connection)"


class WritebackKind(models.TextChoices):
    CUSTOM_FIELDS = "custom_fields", "Custom fields"
    NOTE = "note", "Note"
    TAGS = "tags", "Tags"
    ASSESSMENT = "assessment", "Assessment result"
    GENERIC = "generic", "Generic JSON"


class WritebackJob(models.Model):
    """Outbox row: one write Screenbridge owes the ATS, with its retry state."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.PROTECT, related_name="writeback_jobs"
    )
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="writeback_jobs", null=True, blank=True
    )
    kind = models.CharField(max_length=20, choices=WritebackKind.choices)
    # What the write is about (e.g. "result", "decision"): a newer unsent job with the same
    # application + kind + target supersedes an older one.
    target = models.CharField(max_length=100, default="result")
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=12, choices=WritebackStatus.choices, default=WritebackStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A claimed job whose lease ran out (its worker died) may be claimed again.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Sent with every attempt so the receiving side can drop duplicates of one logical write.
    idempotency_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            choices_check("status", WritebackStatus, "writebackjob_status_valid"),
            choices_check("kind", WritebackKind, "writebackjob_kind_valid"),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1), name="writebackjob_max_attempts_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="writebackjob_due_idx"),
            models.Index(fields=["created_at"], name="writebackjob_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.connection.slug} ({self.status})"


class WritebackAttempt(models.Model):
    """One HTTP call made for a WritebackJob."""

    job = models.ForeignKey(WritebackJob, on_delete=models.CASCADE, related_name="attempt_log")
    attempt_number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now, editable=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "attempt_number"], name="writebackattempt_unique"
            ),
            models.CheckConstraint(
                condition=Q(attempt_number__gte=1), name="writebackattempt_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"attempt on job {self.job_id}: {self.status_code or self.error[:40]}"


class SignatureFailure(models.Model):
    """A webhook delivery refused for a bad or missing signature (nothing else is stored)."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.CASCADE, related_name="signature_failures"
    )
    received_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    reason = models.CharField(max_length=200)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["connection", "received_at"], name="sigfailure_conn_time_idx")
        ]

    def __str__(self) -> str:
        return f"{self.connection.slug} at {self.received_at:%Y-%m-%d %H:%M}: {self.reason}"


class UnmappedStage(models.Model):
    """A remote stage seen in the ATS that no StageMapping covers yet; shown to admins."""

    connection = models.ForeignKey(
        AtsConnection, on_delete=models.CASCADE, related_name="unmapped_stages"
    )
    remote_stage_id = models.CharField(max_length=100, blank=True)
    remote_stage_name = models.CharField(max_length=200, blank=True)
    seen_count = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When a stage mapping was created for it."
    )

    class Meta:
        ordering = ["-last_seen_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_stage_id", "remote_stage_name"],
                name="unmappedstage_unique",
            ),
            models.CheckConstraint(
                condition=~Q(remote_stage_id="", remote_stage_name=""),
                name="unmappedstage_has_id_or_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.remote_stage_name or self.remote_stage_id} on {self.connection.slug}"


class ApplicationStageChange(models.Model):
    """Append-only history of an application's canonical stage, as the ATS reported it.

    Written by ``stage_sync`` each time an applied change moves the canonical stage; metrics
    read it to see how far a candidate got after the automated interview (pass-through).
    """

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(max_length=32, choices=CanonicalStage.choices, blank=True)
    to_stage = models.CharField(max_length=32, choices=CanonicalStage.choices)
    # The provider's time of the change (the ordering key of stage_sync), not when we saw it.
    changed_at = models.DateTimeField(db_index=True)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["application", "changed_at", "pk"]
        constraints = [
            choices_check("to_stage", CanonicalStage, "stagechange_to_stage_valid"),
            models.CheckConstraint(
                condition=Q(from_stage="") | Q(from_stage__in=CanonicalStage.values),
                name="stagechange_from_stage_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["application", "changed_at"], name="stagechange_app_time_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_stage_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_stage or '—'} → {self.to_stage}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Stage changes are append-only.")
        super().save(*args, **kwargs)
