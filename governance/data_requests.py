"""Candidate data requests: record one, keep its legal clock, erase the candidate's data.

Deadlines (:func:`due_at_for`; the facts and their sources are in docs/governance.md, not legal
advice): Illinois AI Video Interview Act §15 — videos deleted within **30 days** of the
request; GDPR Art 12(3) — **one month** (the same day of the next month, or its last day);
otherwise company policy, 30 days. A candidate whose requisitions fall under several rules gets
the earliest deadline. The page of open requests warns from day :data:`WARN_FROM_DAY`.

Erasure (:func:`data_request_erase`, also the Celery task ``governance.data_request_erase``;
idempotent):

1. Refused while a legal hold covers the candidate, one of their requisitions or the
   connection (the request stays open, the page says so, an audit event records it).
2. One transaction: every field of :data:`governance.personal_data.PERSONAL_FIELDS` is emptied
   or pseudonymized on the candidate's rows (candidate, applications, interviews, results,
   subscores, review tasks, decisions, writebacks) and on the stored webhook and vendor bodies
   that mention them. Rows are never deleted, so counts of interviews, results and decisions by
   status stay as they were. A :class:`DeletionReceipt` (counts only) and an audit event
   ``data_request.erase`` are written.
3. The vendor is asked to delete everything it holds on the candidate's interviews
   (``VendorAdapter.delete_data`` with ``["all"]``); its confirmation completes the request.
   A failed call leaves the request "vendor pending"; the daily purge run retries it.

ATS deletion webhooks (Greenhouse ``delete_candidate`` / ``candidate_anonymized``, Lever
``candidateDeleted``, Ashby ``candidateDelete``) arrive as the ``candidate_erasure_requested``
signal of ``integrations`` and open a request with source ``ats_webhook`` that is erased at once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from governance import audit, personal_data
from governance.compliance import jurisdictions_for
from governance.models import (
    CandidateDemographics,
    DataCategory,
    DataRequest,
    DataRequestBasis,
    DataRequestSource,
    DataRequestStatus,
    Decision,
    DeletionReceipt,
    Jurisdiction,
    LegalHold,
    ReceiptSource,
    VendorDeletionStatus,
)
from governance.retention import vendor_deletion_send
from integrations.models import (
    Application,
    Candidate,
    InboundEvent,
    Requisition,
    WritebackAttempt,
    WritebackJob,
)
from interviews.models import (
    CompetencyScore,
    Interview,
    InterviewResult,
    ReviewTask,
    VendorEvent,
)

logger = logging.getLogger(__name__)

__all__ = [
    "WARN_FROM_DAY",
    "candidate_is_held",
    "data_request_erase",
    "data_request_open",
    "due_at_for",
    "open_requests",
]

WARN_FROM_DAY = 20
ACTOR = "system:data-requests"
# Shorter ids could match unrelated webhook bodies too often (those would be scrubbed too).
MIN_MARKER_LENGTH = 3


def _add_month(when: dt.datetime) -> dt.datetime:
    year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def due_at_for(basis: str, received_at: dt.datetime) -> dt.datetime:
    if basis == DataRequestBasis.GDPR:
        return _add_month(received_at)
    return received_at + dt.timedelta(days=30)


def _basis_for(candidate: Candidate, received_at: dt.datetime) -> str:
    places: set[str] = set()
    for requisition in Requisition.objects.filter(applications__candidate=candidate).distinct():
        places |= jurisdictions_for(requisition)
    bases = []
    if Jurisdiction.IL in places:
        bases.append(DataRequestBasis.ILLINOIS)
    if Jurisdiction.EU in places:
        bases.append(DataRequestBasis.GDPR)
    if not bases:
        return DataRequestBasis.OTHER
    return min(bases, key=lambda basis: due_at_for(basis, received_at))


@transaction.atomic
def data_request_open(
    *,
    candidate: Candidate,
    source: str,
    received_at: dt.datetime | None = None,
    reference: str = "",
    basis: str = "",
    actor: Any = None,
) -> tuple[DataRequest, bool]:
    """Record a request (or return the candidate's open one); ``(request, created)``."""
    existing = (
        DataRequest.objects.select_for_update()
        .filter(
            candidate=candidate,
            status__in=[DataRequestStatus.OPEN, DataRequestStatus.VENDOR_PENDING],
        )
        .first()
    )
    if existing is not None:
        return existing, False
    received_at = received_at or timezone.now()
    basis = basis or _basis_for(candidate, received_at)
    request = DataRequest.objects.create(
        candidate=candidate,
        source=source,
        basis=basis,
        reference=reference[:200],
        received_at=received_at,
        due_at=due_at_for(basis, received_at),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor or ACTOR,
        action="data_request.open",
        target=request,
        object_repr=f"Data request {request.pk}",
        changes={"source": source, "basis": basis, "due_at": request.due_at},
    )
    return request, True


def candidate_is_held(candidate: Candidate) -> bool:
    """True while a legal hold covers the candidate, one of their requisitions or connection."""
    requisitions = Application.objects.filter(candidate=candidate).values("requisition_id")
    return LegalHold.objects.filter(
        Q(candidate=candidate)
        | Q(requisition_id__in=requisitions)
        | Q(connection_id=candidate.connection_id),
        released_at__isnull=True,
    ).exists()


# -- erasure -----------------------------------------------------------------------------------


class _Scope:
    """The candidate's rows in each table of the registry (querysets, evaluated lazily)."""

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        self.applications = Application.objects.filter(candidate=candidate)
        self.interviews = Interview.objects.filter(application__candidate=candidate)
        self.public_ids = [str(p) for p in self.interviews.values_list("public_id", flat=True)]
        remote_ids = list(self.applications.values_list("remote_id", flat=True))
        self.markers = [
            m
            for m in {candidate.remote_id, candidate.email, *remote_ids}
            if m and len(m) >= MIN_MARKER_LENGTH
        ]

    def _bodies(self, model: type[Any], markers: list[str], **scope: Any) -> QuerySet[Any]:
        if not markers:
            return model.objects.none()
        mentions = Q(pk__in=[])
        for marker in markers:
            mentions |= Q(raw_body__contains=marker)
        return model.objects.filter(mentions, **scope)

    def querysets(self) -> dict[str, QuerySet[Any]]:
        candidate = self.candidate
        return {
            "integrations.Candidate": Candidate.objects.filter(pk=candidate.pk),
            "integrations.Application": self.applications,
            "integrations.InboundEvent": self._bodies(
                InboundEvent, self.markers, connection_id=candidate.connection_id
            ),
            "integrations.WritebackJob": WritebackJob.objects.filter(
                application__candidate=candidate
            ),
            "integrations.WritebackAttempt": WritebackAttempt.objects.filter(
                job__application__candidate=candidate
            ),
            "interviews.Interview": self.interviews,
            "interviews.InterviewResult": InterviewResult.objects.filter(
                interview__application__candidate=candidate
            ),
            "interviews.CompetencyScore": CompetencyScore.objects.filter(
                result__interview__application__candidate=candidate
            ),
            "interviews.ReviewTask": ReviewTask.objects.filter(
                interview__application__candidate=candidate
            ),
            "interviews.VendorEvent": self._bodies(VendorEvent, self.public_ids),
            "governance.Decision": _decisions(candidate),
        }


def _decisions(candidate: Candidate) -> QuerySet[Any]:
    return Decision.objects.filter(application__candidate=candidate).exclude(override_text="")


def _erased_values(label: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, treatment in personal_data.PERSONAL_FIELDS[label].items():
        if treatment == personal_data.PSEUDONYM:
            values[field] = Concat(Value("erased-"), Cast("pk", output_field=CharField()))
        else:
            values[field] = personal_data.erased_value(treatment)
    return values


def _erase(candidate: Candidate) -> tuple[dict[str, int], list[str]]:
    """Empty every personal field of the candidate's rows; (rows per table, interview ids)."""
    scope = _Scope(candidate)
    public_ids = [
        str(p)
        for p in scope.interviews.filter(vendor_reference__gt="").values_list(
            "public_id", flat=True
        )
    ]
    counts = {}
    querysets = scope.querysets()
    missing = set(personal_data.PERSONAL_FIELDS) - set(querysets)
    if missing:  # a registry entry nobody erases is a bug, not a silent gap
        raise RuntimeError(f"no erasure scope for {sorted(missing)}")
    for label, queryset in querysets.items():
        values = _erased_values(label)
        if label == "interviews.InterviewResult":
            values["artifacts_deleted_at"] = timezone.now()
        counts[label] = queryset.order_by().update(**values)
    # Voluntary demographics (adverse-impact report) are personal as a whole: the row goes.
    deleted, _ = CandidateDemographics.objects.filter(candidate=candidate).delete()
    counts["governance.CandidateDemographics"] = deleted
    return counts, public_ids


def data_request_erase(*, request_id: int, actor: Any = None) -> DataRequest:
    """Erase the request's candidate here, then at the vendor (see module docstring)."""
    with transaction.atomic():
        request = (
            DataRequest.objects.select_for_update().select_related("candidate").get(pk=request_id)
        )
        if request.status in (DataRequestStatus.COMPLETED, DataRequestStatus.CANCELLED):
            return request
        if request.erased_at is None:
            if candidate_is_held(request.candidate):
                audit.record(
                    actor=actor or ACTOR,
                    action="data_request.held",
                    target=request,
                    object_repr=f"Data request {request.pk}",
                    changes={"reason": "a legal hold covers this candidate"},
                )
                return request
            counts, public_ids = _erase(request.candidate)
            receipt = DeletionReceipt.objects.create(
                source=ReceiptSource.DATA_REQUEST,
                data_category=DataCategory.CANDIDATE_PII,
                data_request=request,
                policy_label=f"{request.get_basis_display()} data request",
                count=sum(counts.values()),
                vendor_status=(
                    VendorDeletionStatus.PENDING if public_ids else VendorDeletionStatus.NOT_NEEDED
                ),
                vendor_interviews=sorted(public_ids),
            )
            request.erased_at = timezone.now()
            request.status = DataRequestStatus.VENDOR_PENDING
            request.save(update_fields=["erased_at", "status"])
            audit.record(
                actor=actor or ACTOR,
                action="data_request.erase",
                target=request,
                object_repr=f"Data request {request.pk}",
                changes={
                    "rows": counts,
                    "receipt": receipt.pk,
                    "vendor_interviews": len(public_ids),
                },
            )
    return _vendor_confirm(request, actor=actor)


def _vendor_confirm(request: DataRequest, *, actor: Any) -> DataRequest:
    receipts = list(request.receipts.exclude(vendor_status=VendorDeletionStatus.NOT_NEEDED))
    confirmed = all(vendor_deletion_send(receipt, artifacts=["all"]) for receipt in receipts)
    if not confirmed:
        return request
    with transaction.atomic():
        now = timezone.now()
        updated = DataRequest.objects.filter(
            pk=request.pk, status=DataRequestStatus.VENDOR_PENDING
        ).update(status=DataRequestStatus.COMPLETED, vendor_confirmed_at=now, completed_at=now)
        if updated:
            audit.record(
                actor=actor or ACTOR,
                action="data_request.complete",
                target=request,
                object_repr=f"Data request {request.pk}",
                changes={"vendor_confirmed": bool(receipts)},
            )
    request.refresh_from_db()
    return request


def data_requests_resume() -> int:
    """Daily: erase ATS-webhook requests not erased yet (a lost task) and finish requests whose
    vendor confirmation is missing; how many completed."""
    finished = 0
    pending = DataRequest.objects.filter(
        Q(status=DataRequestStatus.VENDOR_PENDING)
        | Q(status=DataRequestStatus.OPEN, source=DataRequestSource.ATS_WEBHOOK)
    ).values_list("pk", flat=True)
    for request_id in list(pending):
        request = data_request_erase(request_id=request_id)
        finished += request.status == DataRequestStatus.COMPLETED
    return finished


def open_requests(*, now: dt.datetime | None = None) -> list[DataRequest]:
    """Open requests, the earliest deadline first, with ``age_days``, ``days_left``, ``state``
    ("overdue", "warning" from day 20, "ok") and ``held`` set on each."""
    now = now or timezone.now()
    rows = list(
        DataRequest.objects.filter(
            status__in=[DataRequestStatus.OPEN, DataRequestStatus.VENDOR_PENDING]
        )
        .select_related("candidate")
        .order_by("due_at", "pk")
    )
    for row in rows:
        row.age_days = (now - row.received_at).days  # type: ignore[attr-defined]
        row.days_left = (row.due_at - now).days  # type: ignore[attr-defined]
        if now > row.due_at:
            row.state = "overdue"  # type: ignore[attr-defined]
        elif row.age_days >= WARN_FROM_DAY:  # type: ignore[attr-defined]
            row.state = "warning"  # type: ignore[attr-defined]
        else:
            row.state = "ok"  # type: ignore[attr-defined]
        row.held = row.erased_at is None and candidate_is_held(row.candidate)  # type: ignore[attr-defined]
    return rows


def enqueue_erase(request_id: int) -> Callable[[], None]:
    """A callback for ``transaction.on_commit`` that enqueues the erase task."""
    return partial(_enqueue, request_id)


def _enqueue(request_id: int) -> None:
    from governance.tasks import data_request_erase_task

    try:
        data_request_erase_task.delay(request_id)
    except Exception:
        logger.warning(
            "could not enqueue erasure of data request %s; the daily run retries",
            request_id,
            exc_info=True,
        )
