"""Retention purges: set-based, batched deletes per policy, legal holds respected, receipts.

:func:`purge_expired` (the daily beat task ``governance.purge_expired`` and
``manage.py purge_expired [--dry-run] [--batch-size N]``) walks every active
:class:`~governance.models.RetentionPolicy`. For each policy and each *target* of its category
(:data:`TARGETS`) it builds one queryset of expired rows:

- the anchor date (interview completion, requisition close, latest decision, or the row's own
  receipt) is at most ``now − retention_days`` (an absent anchor — a requisition still open —
  never expires);
- the policy's scope: its role family (the requisition's membership) and its jurisdiction
  (requisition locations that ``governance.compliance`` maps to it);
- minus rows a *more specific* active policy of the same category covers (jurisdiction beats
  role family beats global);
- minus rows under an active :class:`~governance.models.LegalHold` on their candidate,
  requisition or ATS connection (subqueries); raw bodies that cannot be joined to a candidate
  are kept when they *mention* a held candidate or interview (over-keeping, never under);
- minus rows already purged.

Then, batch by batch, one transaction each: ``SELECT id … WHERE id > last ORDER BY id LIMIT n``
(keyset order) and one ``UPDATE``
(blanking the artifact columns) or ``DELETE`` on those ids, a :class:`DeletionReceipt` (category,
policy, cutoff, count; no personal data) and an audit event. Artifacts that live at the vendor
(recordings, transcripts, reports) are then deleted there too (``VendorAdapter.delete_data``),
and the receipt records the vendor's confirmation; a failed call is retried by the next run.
A dry run counts the same querysets and changes nothing.

Audit events are never purged here: the trail is append-only (database triggers) and every
audit policy is held to at least :data:`MINIMUM_DAYS` (3 years).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Max, Model, Q, QuerySet
from django.utils import timezone

from governance import audit
from governance.compliance import locations_in
from governance.models import (
    AnchorEvent,
    DataCategory,
    Decision,
    DeletionReceipt,
    LegalHold,
    ReceiptSource,
    RetentionPolicy,
    VendorDeletionStatus,
)
from integrations.crypto import SecretUnavailableError
from integrations.http import AtsError
from integrations.models import Application, InboundEvent
from interviews.models import CompetencyScore, Interview, InterviewResult, VendorEvent
from interviews.vendors.registry import adapter_for

logger = logging.getLogger(__name__)

__all__ = [
    "MINIMUM_DAYS",
    "TARGETS",
    "PolicyOutcome",
    "purge_expired",
    "vendor_deletion_send",
    "vendor_deletions_retry",
]

DEFAULT_BATCH_SIZE = 1000
# Floors no policy can go below (docs/governance.md says why).
MINIMUM_DAYS: dict[str, int] = {DataCategory.AUDIT: 3 * 365, DataCategory.DECISIONS: 183}
# More held ids than this cannot be matched in raw bodies cheaply: such bodies are all kept.
MAX_HOLD_MARKERS = 500
REMOVED_TEXT = "[removed under the retention policy]"
VENDOR_MAX_ATTEMPTS = 10
ACTOR = "system:retention"


@dataclasses.dataclass(frozen=True)
class Target:
    """One table (and columns) a category's policy purges."""

    model: type[Model]
    clear: dict[str, Any] | None  # None: delete the rows; else UPDATE them to these values
    done: Q  # rows already purged
    anchors: dict[str, str]  # anchor → date path ("" for the annotated latest decision)
    requisition: str = ""  # path to the requisition id ("" → global policies only)
    candidate: str = ""
    connection: str = ""
    interview: str = ""  # path to the interview, for vendor deletion
    vendor_artifacts: tuple[str, ...] = ()
    decision_path: str = ""  # path to Decision.created_at for the "decision" anchor
    # Raw bodies: holds matched by markers in the text ("candidates" or "interviews").
    body_markers: str = ""


def _result_target(url_field: str, kind: str) -> Target:
    return Target(
        model=InterviewResult,
        clear={url_field: ""},
        done=Q(**{url_field: ""}),
        anchors={
            AnchorEvent.INTERVIEW_COMPLETED: "interview__completed_at",
            AnchorEvent.REQUISITION_CLOSED: "interview__application__requisition__closed_at",
            AnchorEvent.DECISION: "",
            AnchorEvent.RECEIVED: "received_at",
        },
        requisition="interview__application__requisition",
        candidate="interview__application__candidate",
        connection="interview__application__connection",
        interview="interview",
        vendor_artifacts=(kind,),
        decision_path="decisions__created_at",
    )


TARGETS: dict[str, list[Target]] = {
    DataCategory.RECORDING: [_result_target("recording_url", "recording")],
    DataCategory.TRANSCRIPT: [_result_target("transcript_url", "transcript")],
    DataCategory.REPORT: [_result_target("report_url", "report")],
    DataCategory.RAW_VENDOR_PAYLOAD: [
        dataclasses.replace(
            _result_target("raw_payload", "raw"),
            clear={"raw_payload": {}},
            done=Q(raw_payload={}),
            vendor_artifacts=(),
        ),
        Target(
            model=VendorEvent,
            clear={"raw_body": "", "headers": {}},
            done=Q(raw_body="") | Q(status__in=["received", "processing"]),
            anchors={AnchorEvent.RECEIVED: "received_at"},
            body_markers="interviews",
        ),
    ],
    DataCategory.INBOUND_EVENT: [
        Target(
            model=InboundEvent,
            clear={"raw_body": "", "headers": {}},
            # Deliveries not processed yet keep their body until they are.
            done=Q(raw_body="") | Q(status__in=["received", "processing"]),
            anchors={AnchorEvent.RECEIVED: "received_at"},
            connection="connection",
            body_markers="candidates",
        )
    ],
    DataCategory.SCORES: [
        Target(
            model=CompetencyScore,
            clear=None,
            done=Q(pk__in=[]),
            anchors={
                AnchorEvent.INTERVIEW_COMPLETED: "result__interview__completed_at",
                AnchorEvent.REQUISITION_CLOSED: (
                    "result__interview__application__requisition__closed_at"
                ),
                AnchorEvent.DECISION: "",
                AnchorEvent.RECEIVED: "result__received_at",
            },
            requisition="result__interview__application__requisition",
            candidate="result__interview__application__candidate",
            connection="result__interview__application__connection",
            decision_path="result__decisions__created_at",
        )
    ],
    DataCategory.DECISIONS: [
        Target(
            model=Decision,
            clear={"override_text": REMOVED_TEXT},
            done=Q(override_text__in=["", REMOVED_TEXT]),
            anchors={
                AnchorEvent.INTERVIEW_COMPLETED: "result__interview__completed_at",
                AnchorEvent.REQUISITION_CLOSED: "application__requisition__closed_at",
                AnchorEvent.DECISION: "created_at",
                AnchorEvent.RECEIVED: "created_at",
            },
            requisition="application__requisition",
            candidate="application__candidate",
            connection="application__connection",
        )
    ],
    # Never purged here (append-only); candidate personal data goes by data request.
    DataCategory.AUDIT: [],
    DataCategory.CANDIDATE_PII: [],
}


@dataclasses.dataclass
class PolicyOutcome:
    policy: RetentionPolicy
    model: str
    count: int
    receipts: list[int] = dataclasses.field(default_factory=list)
    note: str = ""


# -- the querysets -----------------------------------------------------------------------------


@dataclasses.dataclass
class Holds:
    candidates: list[int]
    requisitions: list[int]
    connections: list[int]

    @classmethod
    def active(cls) -> Holds:
        rows = LegalHold.objects.filter(released_at__isnull=True).values_list(
            "candidate_id", "requisition_id", "connection_id"
        )
        holds = cls([], [], [])
        for candidate_id, requisition_id, connection_id in rows:
            for bucket, value in (
                (holds.candidates, candidate_id),
                (holds.requisitions, requisition_id),
                (holds.connections, connection_id),
            ):
                if value is not None:
                    bucket.append(value)
        return holds

    def __bool__(self) -> bool:
        return bool(self.candidates or self.requisitions or self.connections)

    def held_applications(self) -> QuerySet[Application]:
        return Application.objects.filter(
            Q(candidate_id__in=self.candidates)
            | Q(requisition_id__in=self.requisitions)
            | Q(connection_id__in=self.connections)
        )

    def markers(self, kind: str) -> list[str] | None:
        """Strings whose presence in a raw body means "held"; None if there are too many."""
        if not self:
            return []
        applications = self.held_applications()
        if kind == "interviews":
            values = Interview.objects.filter(application__in=applications).values_list(
                "public_id", flat=True
            )[: MAX_HOLD_MARKERS + 1]
            markers = [str(value) for value in values]
        else:
            rows = applications.values_list("candidate__remote_id", "remote_id")[
                : MAX_HOLD_MARKERS + 1
            ]
            markers = sorted({value for row in rows for value in row if value})
        return None if len(markers) > MAX_HOLD_MARKERS else markers


def _held(column: str) -> QuerySet[Any]:
    """Ids under an active legal hold, as a subquery (never NULL: NOT IN would match nothing)."""
    return LegalHold.objects.filter(
        released_at__isnull=True, **{f"{column}__isnull": False}
    ).values(column)


def _scope(policy: RetentionPolicy, target: Target) -> Q | None:
    """Rows of ``target`` in the policy's role family/jurisdiction; None: not applicable."""
    q = Q()
    if policy.role_family_id or policy.jurisdiction:
        if not target.requisition:
            return None
        if policy.role_family_id:
            q &= Q(
                **{
                    f"{target.requisition}__role_family_membership__role_family": (
                        policy.role_family_id
                    )
                }
            )
        if policy.jurisdiction:
            q &= Q(**{f"{target.requisition}__location__in": locations_in(policy.jurisdiction)})
    return q


def _more_specific(policy: RetentionPolicy, others: Iterable[RetentionPolicy]) -> list[Any]:
    return [
        other
        for other in others
        if other.pk != policy.pk
        and other.data_category == policy.data_category
        and other.specificity > policy.specificity
        and (not policy.role_family_id or other.role_family_id == policy.role_family_id)
        and (not policy.jurisdiction or other.jurisdiction == policy.jurisdiction)
    ]


def retention_days(policy: RetentionPolicy) -> int:
    return max(policy.retention_days, MINIMUM_DAYS.get(policy.data_category, 0))


def expired_queryset(
    policy: RetentionPolicy,
    target: Target,
    *,
    now: dt.datetime,
    policies: list[RetentionPolicy],
    holds: Holds,
) -> tuple[QuerySet[Any] | None, dt.datetime, str]:
    """(expired rows of ``target`` under ``policy``, the cutoff, a note); None: nothing."""
    cutoff = now - dt.timedelta(days=retention_days(policy))
    scope = _scope(policy, target)
    if scope is None:
        return None, cutoff, "not applicable (no requisition to scope by)"
    qs = target.model._default_manager.order_by().exclude(target.done).filter(scope)
    anchor_path = target.anchors.get(policy.anchor, target.anchors.get(AnchorEvent.RECEIVED, ""))
    if policy.anchor == AnchorEvent.DECISION and anchor_path == "":
        qs = qs.alias(_anchor=Max(target.decision_path)).filter(_anchor__lte=cutoff)
    else:
        qs = qs.filter(**{f"{anchor_path}__lte": cutoff})
    for other in _more_specific(policy, policies):
        other_scope = _scope(other, target)
        if other_scope is not None:
            qs = qs.exclude(other_scope)
    if holds:
        # Subqueries, not literal id lists: the database hashes them once per query.
        for path, column, ids in (
            (target.candidate, "candidate_id", holds.candidates),
            (target.requisition, "requisition_id", holds.requisitions),
            (target.connection, "connection_id", holds.connections),
        ):
            if path and ids:
                qs = qs.exclude(**{f"{path}__in": _held(column)})
        if target.body_markers:
            markers = holds.markers(target.body_markers)
            if markers is None:
                return None, cutoff, "kept: too many held records to match raw bodies"
            for marker in markers:
                qs = qs.exclude(raw_body__contains=marker)
    return qs, cutoff, ""


# -- the purge ---------------------------------------------------------------------------------


def purge_expired(
    *,
    now: dt.datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[PolicyOutcome]:
    """Purge (or, dry, count) everything past its policy; one outcome per policy and table."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or timezone.now()
    say = progress or (lambda message: None)
    policies = list(RetentionPolicy.objects.filter(active=True).select_related("role_family"))
    holds = Holds.active()
    run_id = uuid.uuid4()
    outcomes = []
    for policy in sorted(policies, key=lambda p: (p.data_category, -p.specificity, p.pk)):
        targets = TARGETS.get(policy.data_category, [])
        if not targets:
            outcomes.append(PolicyOutcome(policy, "-", 0, note="never purged by this job"))
            continue
        for target in targets:
            qs, cutoff, note = expired_queryset(
                policy, target, now=now, policies=policies, holds=holds
            )
            outcome = PolicyOutcome(policy, target.model._meta.label, 0, note=note)
            outcomes.append(outcome)
            if qs is None:
                continue
            if dry_run:
                outcome.count = qs.count()
                continue
            last_id = 0
            while True:
                receipt, last_id = _purge_batch(
                    qs, target, policy, cutoff, batch_size, run_id, after=last_id
                )
                if receipt is None:
                    break
                outcome.count += receipt.count
                outcome.receipts.append(receipt.pk)
                say(f"{policy.name}: {outcome.model} {outcome.count} purged")
                if receipt.vendor_status == VendorDeletionStatus.PENDING:
                    vendor_deletion_send(receipt)
    if not dry_run:
        vendor_deletions_retry()
    return outcomes


def _purge_batch(
    qs: QuerySet[Any],
    target: Target,
    policy: RetentionPolicy,
    cutoff: dt.datetime,
    batch_size: int,
    run_id: uuid.UUID,
    *,
    after: int,
) -> tuple[DeletionReceipt | None, int]:
    """One batch: the next ``batch_size`` expired ids above ``after`` (keyset order, so no batch
    rescans what the previous ones purged), one UPDATE/DELETE, a receipt and an audit event."""
    with transaction.atomic():
        ids = list(qs.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return None, after
        rows = target.model._default_manager.filter(pk__in=ids)
        interviews: list[str] = []
        if target.vendor_artifacts:
            interviews = [
                str(public_id)
                for public_id in Interview.objects.filter(
                    results__in=ids, vendor_reference__gt=""
                ).values_list("public_id", flat=True)
            ]
        if target.clear is None:
            rows._raw_delete(rows.db)  # type: ignore[attr-defined]  # no cascades: leaf rows
        else:
            rows.update(**target.clear)
        receipt = DeletionReceipt.objects.create(
            run_id=run_id,
            source=ReceiptSource.PURGE,
            data_category=policy.data_category,
            policy=policy,
            policy_label=str(policy)[:300],
            cutoff=cutoff,
            count=len(ids),
            vendor_status=(
                VendorDeletionStatus.PENDING if interviews else VendorDeletionStatus.NOT_NEEDED
            ),
            vendor_interviews=sorted(set(interviews)),
        )
        audit.record(
            actor=ACTOR,
            action="retention.purge",
            target=receipt,
            changes={
                "category": policy.data_category,
                "policy": policy.pk,
                "table": target.model._meta.label,
                "count": len(ids),
                "cutoff": cutoff,
            },
        )
    return receipt, ids[-1]


# -- vendor deletion ---------------------------------------------------------------------------


def vendor_deletion_send(receipt: DeletionReceipt, *, artifacts: list[str] | None = None) -> bool:
    """Ask each vendor to delete the receipt's interviews; record the confirmation or error.

    Safe to repeat: the deletion id is the same on every retry. True when confirmed.
    """
    if receipt.vendor_status == VendorDeletionStatus.CONFIRMED:
        return True
    kinds = artifacts or _artifacts_of(receipt)
    by_vendor: dict[int, list[Interview]] = defaultdict(list)
    for interview in Interview.objects.filter(
        public_id__in=receipt.vendor_interviews
    ).select_related("vendor"):
        by_vendor[interview.vendor_id].append(interview)
    errors = []
    for interviews in by_vendor.values():
        vendor = interviews[0].vendor
        try:
            adapter_for(vendor).delete_data(
                interviews, artifacts=kinds, deletion_id=f"receipt-{receipt.pk}-{vendor.slug}"
            )
        except (AtsError, SecretUnavailableError, NotImplementedError, OSError) as exc:
            errors.append(f"{vendor.slug}: {type(exc).__name__}: {exc}")
    fields: dict[str, Any] = {"vendor_attempts": receipt.vendor_attempts + 1}
    if errors:
        fields.update(
            vendor_status=VendorDeletionStatus.FAILED, vendor_error="; ".join(errors)[:500]
        )
    else:
        fields.update(
            vendor_status=VendorDeletionStatus.CONFIRMED,
            vendor_error="",
            vendor_confirmed_at=timezone.now(),
        )
    DeletionReceipt.objects.filter(pk=receipt.pk).update(**fields)
    for name, value in fields.items():
        setattr(receipt, name, value)
    if errors:
        logger.warning("vendor deletion for receipt %s failed: %s", receipt.pk, errors)
    return not errors


def _artifacts_of(receipt: DeletionReceipt) -> list[str]:
    if receipt.source == ReceiptSource.DATA_REQUEST:
        return ["all"]
    return {
        DataCategory.RECORDING: ["recording"],
        DataCategory.TRANSCRIPT: ["transcript"],
        DataCategory.REPORT: ["report"],
    }.get(receipt.data_category, ["all"])


def vendor_deletions_retry() -> int:
    """Send again the vendor deletions that failed or never went out; the number confirmed."""
    confirmed = 0
    pending = DeletionReceipt.objects.filter(
        vendor_status__in=[VendorDeletionStatus.PENDING, VendorDeletionStatus.FAILED],
        vendor_attempts__lt=VENDOR_MAX_ATTEMPTS,
    )
    for receipt in pending.order_by("pk")[:500]:
        confirmed += vendor_deletion_send(receipt)
    return confirmed


# -- documented defaults (docs/governance.md; ``manage.py seed_retention_policies``) -----------

# (name, category, days, anchor, why)
DEFAULT_POLICIES: tuple[tuple[str, str, int, str, str], ...] = (
    (
        "Default: recordings",
        DataCategory.RECORDING,
        90,
        AnchorEvent.REQUISITION_CLOSED,
        "Shortest retention: 90 days after the requisition closes (GOV-22; GDPR Art 5(1)(e)).",
    ),
    (
        "Default: transcripts",
        DataCategory.TRANSCRIPT,
        90,
        AnchorEvent.REQUISITION_CLOSED,
        "90 days after the requisition closes (GOV-22; GDPR Art 5(1)(e)).",
    ),
    (
        "Default: vendor reports",
        DataCategory.REPORT,
        180,
        AnchorEvent.REQUISITION_CLOSED,
        "180 days after the requisition closes (company policy).",
    ),
    (
        "Default: raw vendor payloads",
        DataCategory.RAW_VENDOR_PAYLOAD,
        30,
        AnchorEvent.RECEIVED,
        "30 days after receipt: the normalized result is kept, the raw copy is not needed.",
    ),
    (
        "Default: raw webhook bodies",
        DataCategory.INBOUND_EVENT,
        30,
        AnchorEvent.RECEIVED,
        "30 days after receipt: long enough to replay a failed delivery.",
    ),
    (
        "Default: competency subscores",
        DataCategory.SCORES,
        1095,
        AnchorEvent.REQUISITION_CLOSED,
        "3 years after the requisition closes (Colorado SB26-189 records; EU AI Act Art 26(6) "
        "at least 6 months).",
    ),
    (
        "Default: decision explanations",
        DataCategory.DECISIONS,
        1095,
        AnchorEvent.DECISION,
        "3 years after the decision (Colorado SB26-189; GDPR Art 22 contestation).",
    ),
    (
        "Default: audit trail",
        DataCategory.AUDIT,
        1095,
        AnchorEvent.RECEIVED,
        "At least 3 years; never purged by the daily job (append-only hash chain).",
    ),
)


def default_policies_seed() -> list[RetentionPolicy]:
    """Create the default global policy of each category that has no active global policy.

    Never changes an existing policy; returns the policies created (none on a second run).
    """
    created = []
    with transaction.atomic():
        for name, category, days, anchor, notes in DEFAULT_POLICIES:
            exists = RetentionPolicy.objects.filter(
                data_category=category, role_family__isnull=True, jurisdiction="", active=True
            ).exists()
            if not exists:
                policy = RetentionPolicy.objects.create(
                    name=name,
                    data_category=category,
                    retention_days=days,
                    anchor=anchor,
                    notes=notes,
                )
                audit.record(
                    actor="system:seed",
                    action="retention.policy_seed",
                    target=policy,
                    changes={"category": category, "days": days, "anchor": anchor},
                )
                created.append(policy)
    return created
