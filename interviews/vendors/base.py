"""The contract every interview-vendor adapter implements.

An adapter turns one ``Vendor`` row into calls and facts:

- :meth:`VendorAdapter.invite` asks the vendor to interview one candidate and returns the
  vendor's reference and the candidate's link (``Interview.vendor_reference``, ``invite_url``);
- :meth:`VendorAdapter.invited` runs after the invitation is recorded (the rehearsal vendor
  delivers its scripted result from there);
- :meth:`VendorAdapter.cancel` withdraws an invitation (best effort);
- :meth:`VendorAdapter.delete_data` asks the vendor to delete what it stores about some
  interviews (recordings, transcripts, reports, backups) and returns its confirmation
  (retention purges and candidate data requests, ``governance.retention``);
- :meth:`VendorAdapter.verify` checks a webhook delivery's signature on the raw bytes and names
  it (Standard Webhooks for the generic vendor), raising ``SignatureError`` /
  ``MalformedPayloadError`` from ``integrations.connectors.base``;
- :meth:`VendorAdapter.parse` turns a stored delivery into :class:`VendorUpdate` facts, with the
  vendor's scores already normalized to 0–100 (each adapter documents its scale).

Outbound calls go through ``integrations.http`` (timeouts, typed errors, retries decided by the
caller). ``interviews.vendors.registry.adapter_for(vendor)`` picks the adapter by ``vendor.kind``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from integrations.connectors.base import Delivery

if TYPE_CHECKING:
    from interviews.models import Interview, Vendor

__all__ = [
    "DeletionConfirmation",
    "Delivery",
    "Invitation",
    "ResultData",
    "VendorAdapter",
    "VendorUpdate",
]


@dataclass(frozen=True)
class DeletionConfirmation:
    """The vendor's answer to a deletion request: how many interviews it deleted data of."""

    deleted: int
    reference: str = ""


@dataclass(frozen=True)
class Invitation:
    vendor_reference: str
    invite_url: str = ""
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class ResultData:
    """A vendor's result in canonical form (validated by ``services.results``)."""

    score: Decimal  # 0–100
    competency_scores: Mapping[str, Decimal] = field(default_factory=dict)  # key -> 0–100
    summary_bullets: tuple[str, ...] = ()
    # Vendor-reported flags, as ResultFlag values (integrity, technical, low_confidence, ...).
    flags: tuple[str, ...] = ()
    confidence: float | None = None  # 0–1
    transcript_word_count: int | None = None
    transcript_url: str = ""
    recording_url: str = ""
    report_url: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorUpdate:
    """One fact about one interview: it started, completed (with a result), expired, ..."""

    # Which interview: the vendor's reference, or our Interview.public_id (str) if it echoes it.
    vendor_reference: str = ""
    interview_public_id: str = ""
    kind: str = ""  # "started" | "completed" | "expired" | "cancelled" | "failed"
    occurred_at: dt.datetime | None = None
    result: ResultData | None = None
    detail: str = ""


class VendorAdapter:
    """Base of the adapters; subclasses implement the vendor's protocol."""

    def __init__(self, vendor: Vendor) -> None:
        self.vendor = vendor

    def invite(self, interview: Interview) -> Invitation:
        raise NotImplementedError

    def invited(self, interview: Interview) -> None:
        """Called once the invitation is recorded (status ``invited``); nothing by default."""

    def cancel(self, interview: Interview) -> None:
        raise NotImplementedError

    def delete_data(
        self, interviews: list[Interview], *, artifacts: list[str], deletion_id: str
    ) -> DeletionConfirmation:
        """Ask the vendor to delete ``artifacts`` (recording, transcript, report, all) of
        ``interviews`` everywhere, backups included; raise the ``integrations.http`` errors
        on failure. ``deletion_id`` is the same on every retry of one request."""
        raise NotImplementedError

    def verify(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        raise NotImplementedError

    def parse(self, event_type: str, payload: dict[str, Any]) -> list[VendorUpdate]:
        raise NotImplementedError
