"""Human decisions, the append-only audit trail, retention rules and access grants."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone

from integrations.models import choices_check

models.CharField.register_lookup(Length)
models.TextField.register_lookup(Length)

OVERRIDE_REASON_MIN_LENGTH = 15


class ImmutableRecordError(Exception):
    """Raised when code tries to change or delete a record that is append-only."""


class DecisionOutcome(models.TextChoices):
    ADVANCE = "advance", "Advance"
    HOLD = "hold", "Hold"
    DECLINE = "decline", "Decline"


class OverrideReason(models.TextChoices):
    ADDITIONAL_EVIDENCE = "additional_evidence", "Additional evidence"
    TECHNICAL_ISSUE = "technical_issue", "Technical issue"
    RUBRIC_MISMATCH = "rubric_mismatch", "Rubric mismatch"
    ACCOMMODATION = "accommodation", "Accommodation"
    OTHER = "other", "Other"


class Decision(models.Model):
    """A person's decision on a result. Immutable: a correction is a new row pointing at the old."""

    result = models.ForeignKey(
        "interviews.InterviewResult", on_delete=models.PROTECT, related_name="decisions"
    )
    application = models.ForeignKey(
        "integrations.Application", on_delete=models.PROTECT, related_name="decisions"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    outcome = models.CharField(max_length=10, choices=DecisionOutcome.choices)
    recommended_outcome = models.CharField(
        max_length=10, choices=DecisionOutcome.choices, help_text="What the band recommended."
    )
    is_override = models.BooleanField(default=False)
    override_reason = models.CharField(max_length=30, choices=OverrideReason.choices, blank=True)
    override_text = models.TextField(blank=True)
    corrects = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrected_by"
    )
    # The decider's first opening of this result's score card before deciding (usage metrics).
    card_opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Copied from the result's interview on insert (see ``save``), so the metrics read decisions
    # without joining result -> interview -> plan. Null only on rows older than the column
    # until governance/0010 fills them.
    role_family = models.ForeignKey(
        "interviews.RoleFamily",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        db_index=False,  # the (role_family, created_at) index below serves
    )
    is_rehearsal = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("decide", "Can record advance/hold/decline decisions"),
            ("override", "Can override the band recommendation"),
        ]
        indexes = [
            # The metrics dashboard: a date range, or a date range within one role family.
            models.Index(fields=["role_family", "created_at"], name="decision_family_created"),
        ]
        constraints = [
            choices_check("outcome", DecisionOutcome, "decision_outcome_valid"),
            choices_check("recommended_outcome", DecisionOutcome, "decision_recommended_valid"),
            # An override always carries a reason code and a real explanation.
            models.CheckConstraint(
                condition=Q(is_override=False)
                | (
                    Q(override_reason__in=OverrideReason.values)
                    & Q(override_text__length__gte=OVERRIDE_REASON_MIN_LENGTH)
                ),
                name="decision_override_has_reason",
            ),
            models.CheckConstraint(
                condition=(Q(is_override=True) & ~Q(outcome=models.F("recommended_outcome")))
                | (Q(is_override=False) & Q(outcome=models.F("recommended_outcome"))),
                name="decision_override_flag_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.decided_by} on result {self.result_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableRecordError(
                "Decisions are immutable; record a correcting decision instead."
            )
        self.stamp_from_result()
        super().save(*args, **kwargs)

    def stamp_from_result(self) -> None:
        """Copy the interview's role family and rehearsal flag (also for ``bulk_create``)."""
        interview = self.result.interview
        self.role_family_id = interview.plan.role_family_id
        self.is_rehearsal = interview.is_rehearsal

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRecordError("Decisions are immutable and cannot be deleted.")


class AuditEvent(models.Model):
    """Append-only record of who did what to which object, hash-chained to its predecessor."""

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Snapshot of who acted (username or "system:<component>"), kept even if the user is removed.
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    object_repr = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        permissions = [("export_auditevent", "Can export the audit trail")]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="auditevent_object_idx"),
            models.Index(fields=["actor", "occurred_at"], name="auditevent_actor_idx"),
        ]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d %H:%M}"
        return f"{when} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableRecordError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRecordError("Audit events are append-only.")


class DataCategory(models.TextChoices):
    TRANSCRIPT = "transcript", "Transcripts"
    RECORDING = "recording", "Recordings"
    RAW_VENDOR_PAYLOAD = "raw_vendor_payload", "Raw vendor payloads"
    REPORT = "report", "Vendor reports"
    CANDIDATE_PII = "candidate_pii", "Candidate personal data"
    INBOUND_EVENT = "inbound_event", "Raw webhook bodies"
    SCORES = "scores", "Competency subscores and evidence"
    DECISIONS = "decisions", "Decision explanations"
    AUDIT = "audit", "Audit trail"


class AnchorEvent(models.TextChoices):
    """The event a retention period counts from."""

    INTERVIEW_COMPLETED = "interview_completed", "Interview completion"
    REQUISITION_CLOSED = "requisition_closed", "Requisition close"
    DECISION = "decision", "Latest decision"
    RECEIVED = "received", "When the record was stored"


class Jurisdiction(models.TextChoices):
    """Jurisdiction profiles resolved from a requisition's location (governance.compliance)."""

    IL = "il", "Illinois"
    NYC = "nyc", "New York City"
    EU = "eu", "European Union"
    CO = "co", "Colorado"


class RetentionAction(models.TextChoices):
    DELETE = "delete", "Delete"
    ANONYMIZE = "anonymize", "Anonymize"


class RetentionPolicy(models.Model):
    """How long one category of data is kept after an anchor event, globally or for one role
    family and/or one jurisdiction. The most specific active policy wins (governance.retention).
    """

    name = models.CharField(max_length=200)
    data_category = models.CharField(max_length=30, choices=DataCategory.choices)
    role_family = models.ForeignKey(
        "interviews.RoleFamily",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="retention_policies",
    )
    jurisdiction = models.CharField(
        max_length=10,
        choices=Jurisdiction.choices,
        blank=True,
        help_text="Empty: every jurisdiction without a policy of its own.",
    )
    retention_days = models.PositiveIntegerField()
    anchor = models.CharField(
        max_length=24,
        choices=AnchorEvent.choices,
        default=AnchorEvent.INTERVIEW_COMPLETED,
        help_text="The event the retention days count from.",
    )
    action = models.CharField(
        max_length=10, choices=RetentionAction.choices, default=RetentionAction.DELETE
    )
    active = models.BooleanField(default=True)
    notes = models.TextField(
        blank=True, help_text="Legal basis, e.g. 'Illinois AIVIA: 30 days after request'."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["data_category", "role_family__name"]
        verbose_name_plural = "retention policies"
        constraints = [
            choices_check("data_category", DataCategory, "retentionpolicy_category_valid"),
            choices_check("action", RetentionAction, "retentionpolicy_action_valid"),
            choices_check("anchor", AnchorEvent, "retentionpolicy_anchor_valid"),
            models.CheckConstraint(
                condition=Q(jurisdiction="") | Q(jurisdiction__in=Jurisdiction.values),
                name="retentionpolicy_jurisdiction_valid",
            ),
            models.UniqueConstraint(
                fields=["data_category", "jurisdiction"],
                condition=Q(role_family__isnull=True, active=True),
                name="retentionpolicy_one_global_per_category",
            ),
            models.UniqueConstraint(
                fields=["data_category", "role_family", "jurisdiction"],
                condition=Q(role_family__isnull=False, active=True),
                name="retentionpolicy_one_per_family_category",
            ),
        ]

    def __str__(self) -> str:
        scope = self.role_family.name if self.role_family_id else "all role families"
        if self.jurisdiction:
            scope += f", {self.get_jurisdiction_display()}"
        return (
            f"{self.get_data_category_display()}: {self.retention_days} days after "
            f"{self.get_anchor_display().lower()} ({scope})"
        )

    @property
    def specificity(self) -> int:
        """2 for a jurisdiction, 1 for a role family: the most specific policy wins."""
        return (2 if self.jurisdiction else 0) + (1 if self.role_family_id else 0)


class LegalHold(models.Model):
    """Data under a legal hold is never deleted by retention, whatever the policy says."""

    reason = models.CharField(max_length=300)
    candidate = models.ForeignKey(
        "integrations.Candidate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legal_holds",
    )
    requisition = models.ForeignKey(
        "integrations.Requisition",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legal_holds",
    )
    connection = models.ForeignKey(
        "integrations.AtsConnection",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legal_holds",
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now, editable=False)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(candidate__isnull=False)
                | Q(requisition__isnull=False)
                | Q(connection__isnull=False),
                name="legalhold_has_target",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(released_by__isnull=False),
                name="legalhold_release_has_actor",
            ),
        ]

    def __str__(self) -> str:
        target = self.candidate or self.requisition or self.connection
        return f"Hold on {target}: {self.reason}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class AccessRole(models.TextChoices):
    RECRUITER = "recruiter", "Recruiter"
    HIRING_MANAGER = "hiring_manager", "Hiring manager"


class RequisitionAccess(models.Model):
    """Grants one user a role on one requisition (object-level access)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requisition_access"
    )
    requisition = models.ForeignKey(
        "integrations.Requisition", on_delete=models.CASCADE, related_name="access_grants"
    )
    role = models.CharField(max_length=20, choices=AccessRole.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["requisition", "user"]
        verbose_name_plural = "requisition access"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "requisition", "role"], name="requisitionaccess_unique"
            ),
            choices_check("role", AccessRole, "requisitionaccess_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()} on {self.requisition}"


class StopScope(models.TextChoices):
    GLOBAL = "global", "Everything"
    PLAN = "plan", "One interview plan"
    VENDOR = "vendor", "One vendor"


class StopSwitch(models.Model):
    """While active, no new interviews launch in its scope (from the next request on)."""

    scope = models.CharField(max_length=10, choices=StopScope.choices)
    plan = models.ForeignKey(
        "interviews.InterviewPlan",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="stop_switches",
    )
    vendor = models.ForeignKey(
        "interviews.Vendor",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="stop_switches",
    )
    active = models.BooleanField(default=True)
    reason = models.TextField()
    switched_on_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    switched_on_at = models.DateTimeField(default=timezone.now, editable=False)
    switched_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    switched_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-switched_on_at", "-pk"]
        constraints = [
            choices_check("scope", StopScope, "stopswitch_scope_valid"),
            models.CheckConstraint(
                condition=(
                    Q(scope="global", plan__isnull=True, vendor__isnull=True)
                    | Q(scope="plan", plan__isnull=False, vendor__isnull=True)
                    | Q(scope="vendor", plan__isnull=True, vendor__isnull=False)
                ),
                name="stopswitch_target_matches_scope",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="stopswitch_has_reason"),
            models.UniqueConstraint(
                fields=["scope"],
                condition=Q(active=True, scope="global"),
                name="stopswitch_one_active_global",
            ),
            models.UniqueConstraint(
                fields=["plan"], condition=Q(active=True), name="stopswitch_one_active_per_plan"
            ),
            models.UniqueConstraint(
                fields=["vendor"],
                condition=Q(active=True),
                name="stopswitch_one_active_per_vendor",
            ),
        ]

    def __str__(self) -> str:
        target = self.plan or self.vendor or "everything"
        state = "on" if self.active else "off"
        return f"Stop switch for {target} ({state})"


class RoleFamilyAccess(models.Model):
    """Grants a recruiter every requisition of one role family (present and future)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_family_access"
    )
    role_family = models.ForeignKey(
        "interviews.RoleFamily", on_delete=models.CASCADE, related_name="access_grants"
    )
    granted_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["role_family", "user"]
        verbose_name_plural = "role family access"
        constraints = [
            models.UniqueConstraint(fields=["user", "role_family"], name="rolefamilyaccess_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.role_family}"


# Calibration sessions and the voluntary demographics of the adverse-impact report live in their
# own modules; importing them here makes them models of this app.
from governance.calibration.models import (  # noqa: E402, F401
    CalibrationItem,
    CalibrationRating,
    CalibrationSession,
    CalibrationStatus,
)
from governance.demographics import CandidateDemographics  # noqa: E402, F401

# -- deletion receipts and candidate data requests ---------------------------------------------


class ReceiptSource(models.TextChoices):
    PURGE = "purge", "Retention purge"
    DATA_REQUEST = "data_request", "Candidate data request"


class VendorDeletionStatus(models.TextChoices):
    NOT_NEEDED = "not_needed", "Not needed (nothing stored at a vendor)"
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed by the vendor"
    FAILED = "failed", "Failed (will retry)"


class DeletionReceipt(models.Model):
    """Proof of one deletion batch: what, under which policy, when and how many.

    Holds no personal data: counts, the policy, and our own interview ids (random UUIDs) whose
    vendor copies were asked to be deleted, so a failed vendor call can be retried.
    """

    run_id = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    source = models.CharField(max_length=14, choices=ReceiptSource.choices)
    data_category = models.CharField(max_length=30, choices=DataCategory.choices)
    policy = models.ForeignKey(
        RetentionPolicy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deletion_receipts",
    )
    # Snapshot of the policy at deletion time ("Recordings: 90 days after requisition close").
    policy_label = models.CharField(max_length=300, blank=True)
    data_request = models.ForeignKey(
        "DataRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receipts",
    )
    cutoff = models.DateTimeField(null=True, blank=True, help_text="Anchor dates up to this.")
    count = models.PositiveIntegerField()
    vendor_status = models.CharField(
        max_length=12,
        choices=VendorDeletionStatus.choices,
        default=VendorDeletionStatus.NOT_NEEDED,
    )
    vendor_interviews = models.JSONField(
        default=list, blank=True, help_text="Our interview ids whose vendor copies go too."
    )
    vendor_confirmed_at = models.DateTimeField(null=True, blank=True)
    vendor_error = models.CharField(max_length=500, blank=True)
    vendor_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            choices_check("source", ReceiptSource, "deletionreceipt_source_valid"),
            choices_check("data_category", DataCategory, "deletionreceipt_category_valid"),
            choices_check("vendor_status", VendorDeletionStatus, "deletionreceipt_vendor_valid"),
            models.CheckConstraint(
                condition=Q(source="purge") | Q(data_request__isnull=False),
                name="deletionreceipt_request_has_request",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.count} × {self.get_data_category_display()} "
            f"({self.get_source_display()}, {self.created_at:%Y-%m-%d %H:%M})"
        )


class DataRequestSource(models.TextChoices):
    CANDIDATE_EMAIL = "candidate_email", "Candidate (e-mail or letter)"
    ATS_WEBHOOK = "ats_webhook", "ATS deletion/anonymization webhook"
    ADMIN = "admin", "Hiring-ops admin"


class DataRequestBasis(models.TextChoices):
    """The law the deadline comes from (not legal advice: see docs/governance.md)."""

    ILLINOIS = "il", "Illinois AI Video Interview Act §15 (30 days)"
    GDPR = "gdpr", "GDPR Art 12(3) (one month)"
    OTHER = "other", "Company policy (30 days)"


class DataRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    VENDOR_PENDING = "vendor_pending", "Erased here; vendor confirmation pending"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class DataRequest(models.Model):
    """A candidate's request to erase their data, with its legal deadline."""

    candidate = models.ForeignKey(
        "integrations.Candidate", on_delete=models.PROTECT, related_name="data_requests"
    )
    source = models.CharField(max_length=16, choices=DataRequestSource.choices)
    basis = models.CharField(max_length=6, choices=DataRequestBasis.choices)
    # A ticket number or the ATS event id; never the candidate's name or address.
    reference = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=DataRequestStatus.choices, default=DataRequestStatus.OPEN
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    vendor_confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            choices_check("source", DataRequestSource, "datarequest_source_valid"),
            choices_check("basis", DataRequestBasis, "datarequest_basis_valid"),
            choices_check("status", DataRequestStatus, "datarequest_status_valid"),
            models.CheckConstraint(
                condition=Q(due_at__gte=models.F("received_at")), name="datarequest_due_after"
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="datarequest_completed_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="datarequest_open_idx")]

    def __str__(self) -> str:
        return f"Data request #{self.pk} ({self.get_status_display()}, due {self.due_at:%Y-%m-%d})"

    @property
    def is_open(self) -> bool:
        return self.status in (DataRequestStatus.OPEN, DataRequestStatus.VENDOR_PENDING)


# -- consent, notice and bias audits -----------------------------------------------------------


class ConsentDecision(models.TextChoices):
    GIVEN = "given", "Consented to an AI interview"
    OPTED_OUT = "opted_out", "Opted out: human-only assessment"


class ConsentRecord(models.Model):
    """A candidate's consent to (or opt-out of) an AI interview, per jurisdiction."""

    candidate = models.ForeignKey(
        "integrations.Candidate", on_delete=models.PROTECT, related_name="consent_records"
    )
    application = models.ForeignKey(
        "integrations.Application",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consent_records",
        help_text="Empty: applies to every application of the candidate.",
    )
    jurisdiction = models.CharField(max_length=10, choices=Jurisdiction.choices, blank=True)
    decision = models.CharField(max_length=10, choices=ConsentDecision.choices)
    explanation_version = models.CharField(
        max_length=100, blank=True, help_text="Which AI explanation the candidate was shown."
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        constraints = [
            choices_check("decision", ConsentDecision, "consentrecord_decision_valid"),
            models.CheckConstraint(
                condition=Q(jurisdiction="") | Q(jurisdiction__in=Jurisdiction.values),
                name="consentrecord_jurisdiction_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} ({self.jurisdiction or 'any'}) at {self.recorded_at}"


class NoticeChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    MAIL = "mail", "Mail"
    JOB_POSTING = "job_posting", "Job posting"
    CAREERS_PAGE = "careers_page", "Careers page"


class NoticeRecord(models.Model):
    """An AEDT/AI-use notice sent to a candidate (NYC LL144: ≥ 10 business days before use)."""

    candidate = models.ForeignKey(
        "integrations.Candidate", on_delete=models.PROTECT, related_name="notice_records"
    )
    application = models.ForeignKey(
        "integrations.Application",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notice_records",
    )
    jurisdiction = models.CharField(max_length=10, choices=Jurisdiction.choices)
    channel = models.CharField(max_length=14, choices=NoticeChannel.choices)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            choices_check("jurisdiction", Jurisdiction, "noticerecord_jurisdiction_valid"),
            choices_check("channel", NoticeChannel, "noticerecord_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_jurisdiction_display()} notice by {self.channel} at {self.sent_at}"


class BiasAudit(models.Model):
    """An independent bias audit of one vendor tool version (NYC LL144: ≤ 1 year old)."""

    vendor = models.ForeignKey(
        "interviews.Vendor", on_delete=models.PROTECT, related_name="bias_audits"
    )
    tool_version = models.CharField(max_length=100)
    audit_date = models.DateField()
    auditor = models.CharField(max_length=200)
    summary_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-audit_date", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(tool_version=""), name="biasaudit_has_version"),
        ]

    def __str__(self) -> str:
        return f"Bias audit of {self.vendor} {self.tool_version} on {self.audit_date}"


class ApiToken(models.Model):
    """A user's REST API token. Only its SHA-256 is stored: the key is shown once, when issued.

    Issued by ``manage.py create_api_token <username>`` or in the admin (``governance.api_tokens``);
    one per user, replacing the previous one. Requests authenticate with
    ``Authorization: Token <key>`` and act as the user, with the user's roles and scope.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the key, so a person can tell which key a client holds.
    key_prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user__username"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token of {self.user} ({self.key_prefix}…)"
