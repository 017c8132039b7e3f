"""The demo blueprint: everything the seed will write, planned in memory as plain data.

Specs refer to each other by natural keys (connection slug, remote id, username), never by
database ids, so the planner never needs a database and the writer can match them to rows that
already exist.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class CandidateSpec:
    connection: str
    remote_id: str
    first_name: str
    last_name: str
    email: str
    opted_out: bool = False
    remote_updated_at: dt.datetime | None = None


@dataclass
class ApplicationSpec:
    connection: str
    remote_id: str
    candidate: str
    requisition: str
    family: str
    recruiter: str
    stage: str
    reached: str
    remote_stage_id: str = ""
    remote_stage_name: str = ""
    applied_at: dt.datetime | None = None
    stage_entered_at: dt.datetime | None = None


@dataclass
class DecisionSpec:
    decided_by: str
    outcome: str
    recommended: str
    created_at: dt.datetime
    override_reason: str = ""
    override_text: str = ""


@dataclass
class ReviewSpec:
    reason: str
    detail: str
    status: str
    created_at: dt.datetime
    claimed_by: str | None = None
    claimed_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    decision: DecisionSpec | None = None


@dataclass
class ResultSpec:
    score: Decimal
    band: str
    band_thresholds: list[dict[str, Any]]
    confidence: float
    bullets: list[str]
    flags: list[str]
    competency_scores: list[tuple[str, Decimal, str]]
    received_at: dt.datetime
    recording: bool


@dataclass
class InterviewSpec:
    application: ApplicationSpec
    family: str
    status: str
    vendor_reference: str
    stage_entered_at: dt.datetime
    invited_at: dt.datetime | None = None
    reminded_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    failure_reason: str = ""
    result: ResultSpec | None = None
    review: ReviewSpec | None = None


@dataclass(frozen=True)
class AttemptSpec:
    """One HTTP call of a writeback job; ``number`` is its natural key within the job."""

    number: int
    started_at: dt.datetime
    status_code: int | None
    latency_ms: int
    succeeded: bool
    error: str = ""


@dataclass
class WritebackSpec:
    interview: InterviewSpec
    kind: str
    status: str
    payload: dict[str, Any]
    created_at: dt.datetime
    idempotency_key: uuid.UUID
    attempts: list[AttemptSpec] = field(default_factory=list)
    next_attempt_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    last_error: str = ""


@dataclass
class InboundSpec:
    connection: str
    delivery_id: str
    action: str
    raw_body: str
    headers: dict[str, str]
    occurred_at: dt.datetime
    received_at: dt.datetime
    status: str
    attempts: int
    error: str = ""
    processed_at: dt.datetime | None = None


@dataclass
class Blueprint:
    requisition_ids: list[str] = field(default_factory=list)
    lever_stage_ids: dict[str, str] = field(default_factory=dict)
    candidates: list[CandidateSpec] = field(default_factory=list)
    applications: list[ApplicationSpec] = field(default_factory=list)
    interviews: list[InterviewSpec] = field(default_factory=list)
    writebacks: list[WritebackSpec] = field(default_factory=list)
    inbound: list[InboundSpec] = field(default_factory=list)
    legal_hold_candidate: tuple[str, str] = ("", "")


def random_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from the seeded generator (``uuid.uuid4`` is not reproducible)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
