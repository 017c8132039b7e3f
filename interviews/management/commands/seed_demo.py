"""``manage.py seed_demo``: load a realistic, deterministic demo data set.

Everything except the time anchor (``timezone.now()``) comes from one ``random.Random`` with a
fixed seed and fixed name lists, so two fresh databases get the same people, stages and scores.
The data is first planned in memory (a *blueprint* that never reads the database), then written
with "insert what is missing" keyed by stable natural keys (slugs, remote ids, usernames): a second
run creates nothing and says so.

Contents: one user per role (plus a second recruiter), a live Greenhouse and a sandbox Lever
connection with stage mappings (two remote stages deliberately left unmapped), three role families
(pilot, live and draft plans), ten requisitions, about 300 candidates/applications across every
canonical stage, interviews in every status with results, competency scores, review tasks and
decisions, requisition access grants, writeback jobs with attempts, inbound webhook events,
retention policies and a legal hold. Audit events are left to the audit service.

Greenhouse stage ids differ per job, so its stages are mapped by name; Lever's stage list is
account-wide, so its stages are mapped by id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import time
import unicodedata
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.utils import timezone

from governance import roles
from governance.models import (
    AccessRole,
    DataCategory,
    Decision,
    DecisionOutcome,
    LegalHold,
    OverrideReason,
    RequisitionAccess,
    RetentionAction,
    RetentionPolicy,
)
from integrations.models import (
    STAGE_ORDER,
    Application,
    AtsConnection,
    Candidate,
    CanonicalStage,
    ConnectionMode,
    InboundEvent,
    InboundEventStatus,
    Provider,
    Requisition,
    RequisitionStatus,
    StageMapping,
    WritebackAttempt,
    WritebackJob,
    WritebackKind,
    WritebackStatus,
    normalize_stage_name,
)
from interviews.models import (
    Competency,
    CompetencyScore,
    Interview,
    InterviewPlan,
    InterviewResult,
    InterviewStatus,
    MembershipSource,
    PlanStatus,
    ResultFlag,
    ReviewReason,
    ReviewStatus,
    ReviewTask,
    RoleFamily,
    RoleFamilyMembership,
    default_band_thresholds,
)
from interviews.scoring import band_for, borderline_cut, recommended_outcome

SEED = 20260601
# Public on purpose: printed at the end of every run and in the README.
DEMO_PASSWORD = "screenbridge-demo"  # noqa: S105
VENDOR = "generic-http"
M = TypeVar("M", bound=models.Model)
Key = tuple[Hashable, ...]

C = CanonicalStage
AI_RANK = STAGE_ORDER[C.AUTOMATED_INTERVIEW]

# --- Fixed demo content ----------------------------------------------------------------------

# username, first name, last name, role group, is_staff
USERS = [
    ("rita", "Rita", "Alvarez", roles.RECRUITER, False),
    ("rob", "Rob", "Chen", roles.RECRUITER, False),
    ("hank", "Hank", "Okafor", roles.HIRING_MANAGER, False),
    ("ada", "Ada", "Lindqvist", roles.HIRING_OPS_ADMIN, True),
    ("audrey", "Audrey", "Park", roles.AUDITOR, True),
]

CONNECTIONS = [
    {
        "slug": "greenhouse-prod",
        "name": "Greenhouse (production)",
        "provider": Provider.GREENHOUSE,
        "mode": ConnectionMode.LIVE,
        "on_behalf_of": "4080",
        "webhook_secret": "demo-greenhouse-webhook-secret",
    },
    {
        "slug": "lever-sandbox",
        "name": "Lever (sandbox)",
        "provider": Provider.LEVER,
        "mode": ConnectionMode.SANDBOX,
        "on_behalf_of": "8d49b010-cc6a-4f40-ace5-e86061c677ed",
        "webhook_secret": "demo-lever-signature-token",
    },
]
GH, LV = "greenhouse-prod", "lever-sandbox"

# Remote stages in pipeline order; None = deliberately left unmapped for admins to see.
REMOTE_STAGES: dict[str, list[tuple[str, str | None]]] = {
    GH: [
        ("Applied", C.APPLIED),
        ("Application Review", C.APPLICATION_REVIEW),
        ("Automated Interview", C.AUTOMATED_INTERVIEW),
        ("Phone Screen", C.RECRUITER_SCREEN),
        ("Recruiter Screen", C.RECRUITER_SCREEN),
        ("Take Home Assignment", None),
        ("Hiring Manager Review", C.HIRING_MANAGER_REVIEW),
        ("Onsite", C.ONSITE),
        ("Offer", C.OFFER),
        ("Hired", C.HIRED),
        ("Rejected", C.REJECTED),
        ("Withdrawn", C.WITHDRAWN),
    ],
    LV: [
        ("New applicant", C.APPLIED),
        ("Resume Review", C.APPLICATION_REVIEW),
        ("Automated Interview", C.AUTOMATED_INTERVIEW),
        ("Initial Call", C.RECRUITER_SCREEN),
        ("Hiring Manager Screen", C.HIRING_MANAGER_REVIEW),
        ("On-site Interview", C.ONSITE),
        ("Reference Check", None),
        ("Offer", C.OFFER),
        ("Hired", C.HIRED),
        ("Archived - Not a fit", C.REJECTED),
        ("Archived - Withdrew", C.WITHDRAWN),
    ],
}
# Where an application sits when its remote stage is unmapped, and how far it got before.
UNMAPPED_STAGE = {
    GH: ("Take Home Assignment", C.RECRUITER_SCREEN),
    LV: ("Reference Check", C.ONSITE),
}


def _anchors(low: str, mid: str, high: str) -> dict[str, str]:
    return {"1": low, "3": mid, "5": high}


# Hand-aligned tables below: keep the formatter out.
# fmt: off
# slug, name, description, department rule, title pattern, plan settings, competencies
FAMILIES: list[dict[str, Any]] = [
    {
        "slug": "customer-support",
        "name": "Customer Support",
        "description": "Frontline and technical support roles. Piloting the automated screen.",
        "department_rule": "Customer Experience",
        "title_pattern": r"(?i)\bsupport\b",
        "plan": {
            "name": "Customer Support screen v1",
            "status": PlanStatus.PILOT,
            "vendor_test_id": "cs-screen-2026-01",
            "band_thresholds": default_band_thresholds(),
            "borderline_margin": Decimal("3.0"),
            "expiry_days": 5,
            "reminder_after_hours": 48,
            "required_consents": ["ai_interview"],
            "pilot_review_share": Decimal("0.25"),
            "activated_days_ago": 75,
        },
        "competencies": [
            ("customer_empathy", "Customer empathy", "1.50", _anchors(
                "Focuses on policy or blame; does not acknowledge the customer's situation.",
                "Acknowledges the frustration and keeps a calm tone, with some specifics.",
                "Names the customer's real need, adapts tone and shows how trust was rebuilt.",
            )),
            ("troubleshooting", "Troubleshooting", "1.25", _anchors(
                "Guesses at fixes without gathering facts.",
                "Asks clarifying questions and follows a sensible order of checks.",
                "Isolates the cause methodically, explains why, and prevents a repeat.",
            )),
            ("written_communication", "Written communication", "1.00", _anchors(
                "Vague or hard to follow.",
                "Clear and mostly structured, with some jargon.",
                "Concise, well structured, plain language a customer can act on.",
            )),
            ("ownership", "Ownership and follow-through", "0.75", _anchors(
                "Hands problems off without checking they were solved.",
                "Follows up when reminded or when the process requires it.",
                "Closes the loop unprompted and fixes the process behind the problem.",
            )),
        ],
    },
    {
        "slug": "sdr",
        "name": "SDR",
        "description": "Sales and business development representatives.",
        "department_rule": "Sales",
        "title_pattern": r"(?i)\b(sales|business) development\b",
        "plan": {
            "name": "SDR screen v2",
            "status": PlanStatus.LIVE,
            "vendor_test_id": "sdr-screen-v2",
            "band_thresholds": [
                {"name": "strong", "min": 82},
                {"name": "proceed", "min": 68},
                {"name": "borderline", "min": 52},
                {"name": "insufficient_evidence", "min": 0},
            ],
            "borderline_margin": Decimal("2.5"),
            "expiry_days": 4,
            "reminder_after_hours": 24,
            "required_consents": ["ai_interview"],
            "pilot_review_share": Decimal("0.00"),
            "activated_days_ago": 120,
        },
        "competencies": [
            ("prospect_research", "Prospect research", "1.25", _anchors(
                "Cannot say how they choose or prepare for accounts.",
                "Uses basic firmographics to pick accounts and personalise a little.",
                "Builds a specific angle from the prospect's situation before reaching out.",
            )),
            ("objection_handling", "Objection handling", "1.50", _anchors(
                "Argues, discounts or gives up at the first objection.",
                "Acknowledges objections and answers with a standard reply.",
                "Uncovers the concern behind the objection and moves the conversation on.",
            )),
            ("resilience", "Resilience", "1.00", _anchors(
                "No example of a setback, or blames circumstances.",
                "Describes a setback and staying motivated.",
                "Describes a setback, what they changed, and the measurable result.",
            )),
        ],
    },
    {
        "slug": "software-engineering",
        "name": "Software Engineering",
        "description": "Backend, frontend and platform engineers. Plan still being drafted.",
        "department_rule": "Engineering",
        "title_pattern": r"(?i)\bengineer\b",
        "plan": {
            "name": "Engineering fundamentals (draft)",
            "status": PlanStatus.DRAFT,
            "vendor_test_id": "eng-fundamentals-draft",
            "band_thresholds": default_band_thresholds(),
            "borderline_margin": Decimal("3.0"),
            "expiry_days": 7,
            "reminder_after_hours": 72,
            "required_consents": ["ai_interview"],
            "pilot_review_share": Decimal("0.00"),
            "activated_days_ago": None,
        },
        "competencies": [
            ("system_design", "System design", "1.50", _anchors(
                "Cannot structure a design beyond a single component.",
                "Sketches a workable design and names the main trade-offs.",
                "Designs for failure and scale, and justifies each trade-off.",
            )),
            ("debugging", "Debugging", "1.25", _anchors(
                "Changes code at random until it works.",
                "Reproduces the problem and narrows it down with logs.",
                "Forms and tests hypotheses quickly and adds a test that would have caught it.",
            )),
            ("code_quality", "Code quality and testing", "1.00", _anchors(
                "No mention of tests or readability.",
                "Writes tests for the main paths and keeps functions readable.",
                "Chooses the right test level and explains how they keep code easy to change.",
            )),
        ],
    },
]

# connection, remote id (None = generated), title, department, location, family, status,
# number of applications, recruiter, hiring manager on it?
REQUISITIONS: list[tuple[str, str | None, str, str, str, str, str, int, str, bool]] = [
    (GH, "4101", "Customer Support Specialist", "Customer Experience", "Austin, TX",
     "customer-support", RequisitionStatus.OPEN, 48, "rita", True),
    (GH, "4102", "Senior Customer Support Specialist", "Customer Experience", "Remote (US)",
     "customer-support", RequisitionStatus.OPEN, 30, "rita", False),
    (GH, "4103", "Technical Support Engineer", "Customer Experience", "Dublin, Ireland",
     "customer-support", RequisitionStatus.OPEN, 26, "rita", False),
    (GH, "4104", "Sales Development Representative", "Sales", "New York, NY",
     "sdr", RequisitionStatus.OPEN, 40, "rita", True),
    (GH, "4105", "Senior Backend Engineer (Python)", "Engineering", "Remote (EU)",
     "software-engineering", RequisitionStatus.OPEN, 22, "rita", True),
    (GH, "4106", "Frontend Engineer", "Engineering", "Berlin, Germany",
     "software-engineering", RequisitionStatus.OPEN, 18, "rita", False),
    (LV, None, "Customer Support Associate (Spanish)", "Customer Experience", "Madrid, Spain",
     "customer-support", RequisitionStatus.OPEN, 36, "rita", False),
    (LV, None, "Sales Development Representative, EMEA", "Sales", "London, UK",
     "sdr", RequisitionStatus.OPEN, 34, "rob", False),
    (LV, None, "Business Development Representative", "Sales", "Chicago, IL",
     "sdr", RequisitionStatus.OPEN, 28, "rob", False),
    (LV, None, "Site Reliability Engineer", "Engineering", "Toronto, Canada",
     "software-engineering", RequisitionStatus.CLOSED, 18, "rob", False),
]

# fmt: on

# Exact number of applications per current canonical stage (sums to 300): early stages dominate.
STAGE_COUNTS = {
    C.APPLIED: 48,
    C.APPLICATION_REVIEW: 56,
    C.AUTOMATED_INTERVIEW: 52,
    C.RECRUITER_SCREEN: 30,
    C.HIRING_MANAGER_REVIEW: 20,
    C.ONSITE: 14,
    C.OFFER: 6,
    C.HIRED: 5,
    C.REJECTED: 46,
    C.WITHDRAWN: 12,
    C.UNMAPPED: 11,
}
# How far a rejected / withdrawn application got before it left the pipeline.
# fmt: off
LEFT_AT_WEIGHTS = {
    C.REJECTED: {C.APPLIED: 4, C.APPLICATION_REVIEW: 16, C.AUTOMATED_INTERVIEW: 16,
                 C.RECRUITER_SCREEN: 8, C.HIRING_MANAGER_REVIEW: 4, C.ONSITE: 2},
    C.WITHDRAWN: {C.APPLIED: 2, C.APPLICATION_REVIEW: 4, C.AUTOMATED_INTERVIEW: 3,
                  C.RECRUITER_SCREEN: 2, C.ONSITE: 1},
}
# fmt: on
# Days spent before entering each pipeline stage (uniform range).
STAGE_GAP_DAYS = {
    C.APPLICATION_REVIEW: (0.3, 3.0),
    C.AUTOMATED_INTERVIEW: (0.5, 3.0),
    C.RECRUITER_SCREEN: (0.5, 3.0),
    C.HIRING_MANAGER_REVIEW: (2.0, 6.0),
    C.ONSITE: (3.0, 8.0),
    C.OFFER: (3.0, 8.0),
    C.HIRED: (2.0, 6.0),
}
# Interview status for applications still waiting in the automated-interview stage.
WAITING_STATUS_WEIGHTS = {
    InterviewStatus.PENDING: 1,
    InterviewStatus.INVITED: 4,
    InterviewStatus.STARTED: 2,
    InterviewStatus.COMPLETED: 6,
    InterviewStatus.EXPIRED: 2,
    InterviewStatus.CANCELLED: 1,
    InterviewStatus.FAILED: 1,
}

FIRST_NAMES = [
    "Aaliyah",
    "Adebayo",
    "Aiko",
    "Alejandro",
    "Amara",
    "Ananya",
    "Andrei",
    "Aoife",
    "Arjun",
    "Beatriz",
    "Bilal",
    "Camille",
    "Carlos",
    "Chen",
    "Chioma",
    "Chloé",
    "Daniel",
    "Dmitri",
    "Elena",
    "Emeka",
    "Emily",
    "Farah",
    "Fatima",
    "Gabriel",
    "Grace",
    "Hamza",
    "Hannah",
    "Hiroshi",
    "Ines",
    "Isabella",
    "Jamal",
    "Javier",
    "Jin",
    "José",
    "Julia",
    "Kai",
    "Kavya",
    "Kofi",
    "Laila",
    "Leon",
    "Lucas",
    "Maya",
    "Mei",
    "Mohammed",
    "Nadia",
    "Nikhil",
    "Noah",
    "Olivia",
    "Omar",
    "Priya",
    "Rafael",
    "Renée",
    "Samira",
    "Santiago",
    "Sofia",
    "Tariq",
    "Thao",
    "Tomás",
    "Valentina",
    "Wei",
    "Yara",
    "Yusuf",
    "Zainab",
    "Zoë",
]
LAST_NAMES = [
    "Abebe",
    "Adeyemi",
    "Ahmed",
    "Andersson",
    "Bakker",
    "Banerjee",
    "Becker",
    "Brennan",
    "Castillo",
    "Chowdhury",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fernández",
    "Fischer",
    "García",
    "Gomez",
    "Haddad",
    "Hansen",
    "Hernandez",
    "Ibrahim",
    "Ito",
    "Jensen",
    "Kapoor",
    "Kim",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Lee",
    "Lopez",
    "Mahlangu",
    "Martin",
    "Mendes",
    "Moreau",
    "Müller",
    "Murphy",
    "Nakamura",
    "Novak",
    "Nowak",
    "O'Brien",
    "Okonkwo",
    "Olsen",
    "Osei",
    "Patel",
    "Pereira",
    "Petrov",
    "Quinn",
    "Rahman",
    "Reyes",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Sokolova",
    "Tanaka",
    "Torres",
    "Tran",
    "Van Dijk",
    "Wang",
    "Williams",
    "Wójcik",
    "Yilmaz",
    "Zhang",
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]

BULLETS = {
    "customer-support": (
        [
            "Described de-escalating an angry customer by acknowledging the outage, giving a "
            "concrete ETA and following up the next morning as promised.",
            "Walked through diagnosing a login failure step by step: checked account status, "
            "reproduced it on a test account, then escalated with logs attached.",
            "Explained turning a recurring refund question into a help-centre article that cut "
            "related tickets noticeably within a month.",
            "Gave a clear, jargon-free explanation of a data export problem that a "
            "non-technical customer could act on.",
            "Described spotting a billing bug from three similar tickets and getting engineering "
            "to fix it instead of answering each one by hand.",
        ],
        [
            "Troubleshooting answers stayed general; no example of isolating a root cause.",
            "Relied on 'following the script' when asked how to handle an exception to policy.",
            "Written answer was accurate but long; the customer's next step was buried at the end.",
            "Example of ownership ended with handing the ticket to another team, without "
            "checking it was resolved.",
        ],
    ),
    "sdr": (
        [
            "Described researching a prospect's recent funding round and opening with a relevant "
            "cost-of-hiring angle that led to a booked meeting.",
            "Handled the 'we already use a competitor' objection by asking about switching pain "
            "before pitching anything.",
            "Shared a concrete weekly routine: about 60 touches a day across email and phone, "
            "with reply rates reviewed every Friday.",
            "Talked through a month of missed quota, the change they made to their sequences, and "
            "the meetings booked the month after.",
        ],
        [
            "Objection handling leaned on discounts rather than uncovering the buyer's concern.",
            "Could not describe how they choose which accounts to prioritise.",
            "Example of resilience was general; no specific setback or change in approach.",
        ],
    ),
}
COMPETENCY_EVIDENCE = (
    "Answer stayed general; no specific example of their own actions.",
    "Relevant example with some specifics; outcome only partly described.",
    "Specific example with clear actions, reasoning and a measurable outcome.",
)
OVERRIDE_TEXTS = {
    OverrideReason.ADDITIONAL_EVIDENCE: [
        "Referral from our support lead vouches for strong escalation handling; advancing to "
        "the phone screen to check directly.",
        "Portfolio of help-centre articles shows the writing skill the interview under-scored.",
    ],
    OverrideReason.RUBRIC_MISMATCH: [
        "Rubric penalises short answers; the answers were short but complete and accurate.",
    ],
    OverrideReason.TECHNICAL_ISSUE: [
        "Audio dropped twice during the interview; the low troubleshooting score reflects the "
        "gaps, not the answers.",
    ],
    OverrideReason.OTHER: [
        "Candidate already interviewed with us last quarter for a similar role and did well.",
    ],
}
FAILURE_REASONS = [
    "Vendor rejected the invitation: HTTP 422 'candidate email address is not deliverable'.",
    "Vendor API timed out three times (30 s read timeout); gave up creating the invitation.",
]


# --- Blueprint (pure data, no database) ------------------------------------------------------


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


@dataclass
class WritebackSpec:
    interview: InterviewSpec
    kind: str
    status: str
    payload: dict[str, Any]
    created_at: dt.datetime
    attempts: list[tuple[dt.datetime, int | None, int, bool, str]] = field(default_factory=list)
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


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _score(value: float) -> Decimal:
    return Decimal(f"{min(100.0, max(0.0, value)):.2f}")


class _Planner:
    """Builds the blueprint from the seed; reads nothing but the clock anchor."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.rng = random.Random(SEED)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hours(self, low: float, high: float) -> dt.timedelta:
        return dt.timedelta(hours=self.rng.uniform(low, high))

    def weighted(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def build(self) -> Blueprint:
        bp = Blueprint()
        bp.lever_stage_ids = {name: self.uuid() for name, _ in REMOTE_STAGES[LV]}
        bp.requisition_ids = [remote_id or self.uuid() for _, remote_id, *_ in REQUISITIONS]
        self._people(bp)
        self._timelines(bp)
        self._ledgers(bp)
        return bp

    # -- candidates and applications ---------------------------------------------------------
    def _people(self, bp: Blueprint) -> None:
        rng = self.rng
        names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], 300)
        stages = [stage for stage, count in STAGE_COUNTS.items() for _ in range(count)]
        rng.shuffle(stages)
        gh_candidate, gh_application = 265100, 518200
        per_connection: dict[str, list[CandidateSpec]] = {GH: [], LV: []}
        slot = 0
        for index, (conn, _, _, _, _, family, _, n_apps, recruiter, _) in enumerate(REQUISITIONS):
            req_id = bp.requisition_ids[index]
            on_this_req: set[str] = set()
            for _ in range(n_apps):
                # About one in 25 applications comes from someone who already applied elsewhere.
                earlier = [c for c in per_connection[conn] if c.remote_id not in on_this_req]
                if earlier and rng.random() < 0.04:
                    candidate = rng.choice(earlier)
                else:
                    first, last = names[slot]
                    if conn == GH:
                        gh_candidate += rng.randint(3, 40)
                        remote_id = str(gh_candidate)
                    else:
                        remote_id = self.uuid()
                    local = rng.choice(
                        [
                            f"{_ascii(first)}.{_ascii(last)}",
                            f"{_ascii(first)}{_ascii(last)}",
                            f"{_ascii(first)[0]}{_ascii(last)}",
                            f"{_ascii(first)}.{_ascii(last)}{rng.randint(10, 99)}",
                        ]
                    )
                    email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
                    candidate = CandidateSpec(conn, remote_id, first, last, email)
                    bp.candidates.append(candidate)
                    per_connection[conn].append(candidate)
                on_this_req.add(candidate.remote_id)
                stage = stages[slot]
                slot += 1
                if family == "software-engineering" and stage == C.AUTOMATED_INTERVIEW:
                    stage = C.APPLICATION_REVIEW  # engineering has no automated interview yet
                if stage in LEFT_AT_WEIGHTS:
                    reached = self.weighted(LEFT_AT_WEIGHTS[stage])
                    if family == "software-engineering" and reached == C.AUTOMATED_INTERVIEW:
                        reached = C.APPLICATION_REVIEW
                elif stage == C.UNMAPPED:
                    reached = UNMAPPED_STAGE[conn][1]
                else:
                    reached = stage
                if conn == GH:
                    gh_application += rng.randint(1, 25)
                    app_id = str(gh_application)
                else:
                    app_id = self.uuid()
                bp.applications.append(
                    ApplicationSpec(
                        conn, app_id, candidate.remote_id, req_id, family, recruiter, stage, reached
                    )
                )
        # Two different people share one family address: identity is by remote id, not e-mail.
        first_gh = [c for c in bp.candidates if c.connection == GH]
        for candidate, first in ((first_gh[4], "Linh"), (first_gh[11], "Bao")):
            candidate.first_name, candidate.last_name = first, "Nguyen"
            candidate.email = "nguyen.family@example.net"
        # A few candidates declined automated interviews.
        for candidate in rng.sample(bp.candidates, 6):
            candidate.opted_out = True
        bp.legal_hold_candidate = (GH, first_gh[20].remote_id)

    # -- stage timelines, interviews, results, reviews ---------------------------------------
    def _timelines(self, bp: Blueprint) -> None:
        rng = self.rng
        opted_out = {(c.connection, c.remote_id) for c in bp.candidates if c.opted_out}
        family_by_slug = {f["slug"]: f for f in FAMILIES}
        waiting = [
            a
            for a in bp.applications
            if a.stage == C.AUTOMATED_INTERVIEW and (a.connection, a.candidate) not in opted_out
        ]
        # Every status at least once, the rest weighted.
        waiting_status = list(WAITING_STATUS_WEIGHTS)
        waiting_status += [self.weighted(WAITING_STATUS_WEIGHTS) for _ in waiting[7:]]
        status_for = {id(a): waiting_status[i] for i, a in enumerate(waiting)}
        # The first waiting results carry these flags, whatever the dice say.
        forced_flags: Iterator[str] = iter([ResultFlag.INTEGRITY, ResultFlag.LOW_CONFIDENCE])

        for app in bp.applications:
            plan = family_by_slug[app.family]["plan"]
            running = plan["status"] in (PlanStatus.PILOT, PlanStatus.LIVE)
            has_interview = (
                running
                and STAGE_ORDER[app.reached] >= AI_RANK
                and (app.connection, app.candidate) not in opted_out
            )
            # Relative timeline in hours from the application date.
            t = 0.0
            entered: dict[str, float] = {C.APPLIED: 0.0}
            interview: InterviewSpec | None = None
            end_slack: tuple[float, float] = (2.0, 24.0 * 6)
            rel: dict[str, float | None] = {}
            for stage, rank in STAGE_ORDER.items():
                if rank == 0 or rank > STAGE_ORDER[app.reached]:
                    continue
                low, high = STAGE_GAP_DAYS[stage]
                t += rng.uniform(low, high) * 24
                entered[stage] = t
                if stage == C.AUTOMATED_INTERVIEW and has_interview:
                    status, rel, t, end_slack = self._interview_timeline(app, plan, t, status_for)
                    interview = InterviewSpec(
                        application=app,
                        family=app.family,
                        status=status,
                        vendor_reference="",
                        stage_entered_at=self.now,  # placeholder, anchored below
                    )
            if app.stage in (C.REJECTED, C.WITHDRAWN):
                t += rng.uniform(0.5, 5.0) * 24
                end_slack = (1.0, 24.0 * 8)
            elif app.stage == C.UNMAPPED:
                t += rng.uniform(1.0, 4.0) * 24
            age = t + rng.uniform(*end_slack)
            applied_at = self.now - dt.timedelta(hours=age)

            def at(hours: float | None, applied: dt.datetime = applied_at) -> dt.datetime | None:
                return None if hours is None else applied + dt.timedelta(hours=hours)

            app.applied_at = applied_at
            app.stage_entered_at = at(entered.get(app.stage, t))
            if app.stage == C.UNMAPPED:
                name = UNMAPPED_STAGE[app.connection][0]
            else:
                name = self._remote_stage_name(app)
            app.remote_stage_name = name
            app.remote_stage_id = self._remote_stage_id(bp, app, name)

            if interview is None:
                continue
            reference = hashlib.sha256(f"{app.connection}:{app.remote_id}".encode()).hexdigest()
            interview.vendor_reference = f"ivw_{reference[:20]}"
            interview.stage_entered_at = at(entered[C.AUTOMATED_INTERVIEW])  # type: ignore[assignment]
            for name in (
                "invited_at",
                "reminded_at",
                "started_at",
                "completed_at",
                "expires_at",
                "ended_at",
            ):
                setattr(interview, name, at(rel.get(name)))
            if interview.status == InterviewStatus.FAILED:
                interview.failure_reason = rng.choice(FAILURE_REASONS)
            if interview.status == InterviewStatus.COMPLETED:
                self._result(interview, plan, family_by_slug[app.family], forced_flags)
            self._review(interview, plan)
            bp.interviews.append(interview)

        # Candidates' remote timestamps follow their newest application.
        latest: dict[tuple[str, str], dt.datetime] = {}
        for app in bp.applications:
            key = (app.connection, app.candidate)
            assert app.stage_entered_at is not None  # noqa: S101 - set above for every app
            latest[key] = max(latest.get(key, app.stage_entered_at), app.stage_entered_at)
        for candidate in bp.candidates:
            candidate.remote_updated_at = latest[(candidate.connection, candidate.remote_id)]

    def _interview_timeline(
        self,
        app: ApplicationSpec,
        plan: dict[str, Any],
        t: float,
        status_for: dict[int, str],
    ) -> tuple[str, dict[str, float | None], float, tuple[float, float]]:
        """Status and relative timestamps (hours) of the interview launched at ``t``.

        Returns the status, the timestamps, the time the application's timeline continues from,
        and the range of "time since the last event" that keeps the status true today.
        """
        rng = self.rng
        expiry = plan["expiry_days"] * 24.0
        waiting = app.stage == C.AUTOMATED_INTERVIEW
        if waiting:
            status = status_for[id(app)]
        elif app.reached == C.AUTOMATED_INTERVIEW:  # left the pipeline at this stage
            if app.stage == C.WITHDRAWN:
                status = InterviewStatus.CANCELLED
            else:
                completed = rng.random() < 0.7
                status = InterviewStatus.COMPLETED if completed else InterviewStatus.EXPIRED
        else:  # moved on; a few were skipped by the recruiter
            status = InterviewStatus.COMPLETED if rng.random() < 0.93 else InterviewStatus.CANCELLED

        rel: dict[str, float | None] = {}
        slack = (1.0, 24.0 * 5)
        if status == InterviewStatus.PENDING:
            return status, rel, t, (0.1, 3.0)
        if status == InterviewStatus.FAILED:
            rel["ended_at"] = t + rng.uniform(0.02, 0.2)
            return status, rel, rel["ended_at"], (12.0, 24.0 * 3)
        invited = t + rng.uniform(2, 40) / 60
        rel["invited_at"] = invited
        rel["expires_at"] = invited + expiry
        reminder = invited + plan["reminder_after_hours"]
        end = invited
        if status == InterviewStatus.INVITED:
            slack = (1.0, plan["reminder_after_hours"] - 1.0)
        elif status == InterviewStatus.STARTED:
            rel["started_at"] = end = invited + rng.uniform(1.0, min(40.0, expiry - 30.0))
            slack = (0.2, min(20.0, invited + expiry - end - 2.0))
        elif status == InterviewStatus.COMPLETED:
            rel["started_at"] = invited + rng.uniform(0.5, min(60.0, expiry - 2.0))
            rel["completed_at"] = rel["ended_at"] = end = rel["started_at"] + rng.uniform(0.3, 0.7)
            slack = (1.0, 24.0 * 3) if waiting else slack
        elif status == InterviewStatus.EXPIRED:
            rel["ended_at"] = end = invited + expiry + rng.uniform(0.0, 1.0)
            slack = (3.0, 24.0 * 6)
        elif status == InterviewStatus.CANCELLED:
            rel["ended_at"] = end = invited + rng.uniform(2.0, 30.0)
            slack = (6.0, 24.0 * 4)
        if reminder < end or (status == InterviewStatus.INVITED and rng.random() < 0.5):
            rel["reminded_at"] = reminder
            if status == InterviewStatus.INVITED:
                slack = (plan["reminder_after_hours"] + 1.0, expiry - 6.0)
        return status, rel, end, slack

    def _result(
        self,
        interview: InterviewSpec,
        plan: dict[str, Any],
        family: dict[str, Any],
        forced_flags: Iterator[str],
    ) -> None:
        rng = self.rng
        app = interview.application
        if app.stage == C.AUTOMATED_INTERVIEW:
            mean, spread = 66.0, 14.0
        elif app.reached == C.AUTOMATED_INTERVIEW:
            mean, spread = 40.0, 8.0
        else:
            mean, spread = 79.0, 7.0
        base = rng.gauss(mean, spread)
        subscores: list[tuple[str, Decimal, str]] = []
        weighted_sum, weights = 0.0, 0.0
        for key, _, weight, _ in family["competencies"]:
            value = min(98.0, max(5.0, base + rng.gauss(0, 6)))
            subscore = Decimal(f"{value:.1f}")
            level = 0 if value < 50 else (1 if value < 75 else 2)
            subscores.append((key, subscore, COMPETENCY_EVIDENCE[level]))
            weighted_sum += float(subscore) * float(weight)
            weights += float(weight)
        score = _score(weighted_sum / weights)
        thresholds = plan["band_thresholds"]
        confidence = round(min(0.99, max(0.35, rng.gauss(0.85, 0.1))), 2)
        flags: list[str] = []
        if app.stage == C.AUTOMATED_INTERVIEW:
            forced = next(forced_flags, None)
            if forced == ResultFlag.LOW_CONFIDENCE:
                confidence = 0.48
            elif forced:
                flags.append(forced)
        if rng.random() < 0.03:
            flags.append(ResultFlag.INTEGRITY)
        if confidence < 0.6 and ResultFlag.LOW_CONFIDENCE not in flags:
            flags.append(ResultFlag.LOW_CONFIDENCE)
        if borderline_cut(score, thresholds, plan["borderline_margin"]) is not None:
            flags.insert(0, ResultFlag.BORDERLINE)
        good, weak = BULLETS[interview.family]
        count = 1 + (rng.random() < 0.7) + (rng.random() < 0.4)
        n_good = count if score >= 75 else (count - 1 if score >= 55 else 0)
        bullets = rng.sample(good, n_good) + rng.sample(weak, count - n_good)
        assert interview.completed_at is not None  # noqa: S101 - completed interviews have it
        interview.result = ResultSpec(
            score=score,
            band=band_for(score, thresholds),
            band_thresholds=thresholds,
            confidence=confidence,
            bullets=bullets,
            flags=flags,
            competency_scores=subscores,
            received_at=interview.completed_at + dt.timedelta(minutes=rng.uniform(1, 6)),
            recording=rng.random() < 0.5,
        )

    def _review(self, interview: InterviewSpec, plan: dict[str, Any]) -> None:
        """Route results (and expired waiting interviews) to the review queue."""
        rng = self.rng
        app = interview.application
        waiting = app.stage == C.AUTOMATED_INTERVIEW
        result = interview.result
        if result is None:
            if waiting and interview.status == InterviewStatus.EXPIRED:
                assert interview.ended_at is not None  # noqa: S101
                interview.review = ReviewSpec(
                    reason=ReviewReason.INCOMPLETE,
                    detail=f"Invitation expired after {plan['expiry_days']} days without a "
                    "completed interview.",
                    status=ReviewStatus.OPEN,
                    created_at=interview.ended_at + dt.timedelta(minutes=rng.uniform(1, 15)),
                )
            return
        serious = [f for f in result.flags if f in (ResultFlag.INTEGRITY, ResultFlag.TECHNICAL)]
        cut = borderline_cut(result.score, result.band_thresholds, plan["borderline_margin"])
        if serious:
            reason = ReviewReason.FLAGGED
            detail = "Vendor reported an integrity concern (a second voice was detected)."
        elif ResultFlag.LOW_CONFIDENCE in result.flags:
            reason = ReviewReason.LOW_CONFIDENCE
            detail = f"Vendor confidence {result.confidence:.2f} is below 0.60."
        elif cut is not None:
            reason = ReviewReason.BORDERLINE
            detail = (
                f"Score {result.score} is within {plan['borderline_margin']} points of the "
                f"cut at {cut}."
            )
        elif plan["status"] == PlanStatus.PILOT and rng.random() < plan["pilot_review_share"]:
            reason = ReviewReason.PILOT_SAMPLE
            detail = f"Pilot sample: {plan['pilot_review_share']:.0%} of results are reviewed."
        else:
            return
        created = result.received_at + dt.timedelta(seconds=rng.uniform(1, 20))
        review = ReviewSpec(reason, detail, ReviewStatus.OPEN, created_at=created)
        interview.review = review
        if waiting:
            if rng.random() < 0.4:
                review.status = ReviewStatus.CLAIMED
                review.claimed_by = app.recruiter
                review.claimed_at = min(created + self.hours(0.2, 20), self.now)
            return
        # The application has moved on: a recruiter decided, then moved it in the ATS.
        review.status = ReviewStatus.DONE
        review.claimed_by = app.recruiter
        review.claimed_at = created + self.hours(0.2, 6)
        review.resolved_at = review.claimed_at + self.hours(0.1, 2)
        outcome = (
            DecisionOutcome.DECLINE
            if app.reached == C.AUTOMATED_INTERVIEW
            else DecisionOutcome.ADVANCE
        )
        decision = DecisionSpec(
            decided_by=app.recruiter,
            outcome=outcome,
            recommended=recommended_outcome(result.band),
            created_at=review.resolved_at,
        )
        if decision.outcome != decision.recommended:
            decision.override_reason = rng.choice(list(OVERRIDE_TEXTS))
            decision.override_text = rng.choice(OVERRIDE_TEXTS[decision.override_reason])
        review.decision = decision

    def _remote_stage_name(self, app: ApplicationSpec) -> str:
        stages = REMOTE_STAGES[app.connection]
        names = [name for name, canonical in stages if canonical == app.stage]
        if len(names) > 1:  # Greenhouse: support/sales jobs say "Phone Screen", engineering not
            return names[1] if app.family == "software-engineering" else names[0]
        return names[0]

    def _remote_stage_id(self, bp: Blueprint, app: ApplicationSpec, name: str) -> str:
        if app.connection == LV:
            return bp.lever_stage_ids[name]
        # Greenhouse stage ids are per job: derive one from the job and the stage position.
        position = [n for n, _ in REMOTE_STAGES[GH]].index(name)
        return str(71000 + int(app.requisition) % 100 * 100 + position)

    # -- writebacks and inbound webhooks -----------------------------------------------------
    def _ledgers(self, bp: Blueprint) -> None:
        rng = self.rng
        done = [i for i in bp.interviews if i.result is not None]
        gh = [i for i in done if i.application.connection == GH]
        lv = [i for i in done if i.application.connection == LV]
        plan = [
            (gh[0], WritebackStatus.SUCCEEDED),
            (gh[1], WritebackStatus.SUCCEEDED),
            (gh[2], WritebackStatus.SUCCEEDED),
            (gh[3], WritebackStatus.SUCCEEDED),
            (gh[4], WritebackStatus.FAILED),
            (gh[5], WritebackStatus.DEAD),
            (gh[6], WritebackStatus.PENDING),
            (lv[0], WritebackStatus.SANDBOXED),
            (lv[1], WritebackStatus.SANDBOXED),
            (lv[2], WritebackStatus.SANDBOXED),
        ]
        for interview, status in plan:
            result = interview.result
            assert result is not None  # noqa: S101
            created = result.received_at + dt.timedelta(seconds=rng.uniform(2, 30))
            report = f"{settings.SCREENBRIDGE_PUBLIC_URL}/r/{interview.vendor_reference}"
            if interview.application.connection == GH:
                kind = WritebackKind.CUSTOM_FIELDS
                payload: dict[str, Any] = {
                    "custom_fields": [
                        {"name_key": "ai_interview_status", "value": "Completed"},
                        {"name_key": "ai_interview_score_band", "value": result.band.title()},
                        {"name_key": "ai_interview_report_url", "value": report},
                    ]
                }
            else:
                kind = WritebackKind.NOTE
                band = f"{result.band.title()} ({result.score}/100)"
                lines = [f"AI interview completed — band: {band}"]
                lines += [f"• {bullet}" for bullet in result.bullets]
                lines.append(f"Report: {report}")
                payload = {"value": "\n".join(lines), "secret": False, "notifyFollowers": False}
            spec = WritebackSpec(interview, kind, status, payload, created)
            first = created + dt.timedelta(seconds=rng.uniform(1, 5))
            if status == WritebackStatus.SUCCEEDED:
                spec.attempts = [(first, 200, rng.randint(180, 900), True, "")]
                spec.completed_at = first + dt.timedelta(seconds=1)
            elif status == WritebackStatus.FAILED:
                spec.attempts = [
                    (first, 429, 120, False, "HTTP 429 Too Many Requests (Retry-After: 30)"),
                    (
                        first + dt.timedelta(seconds=31),
                        503,
                        30012,
                        False,
                        "HTTP 503 Service Unavailable",
                    ),
                ]
                spec.last_error = "HTTP 503 Service Unavailable"
                spec.next_attempt_at = self.now + dt.timedelta(minutes=4)
            elif status == WritebackStatus.DEAD:
                error = (
                    "HTTP 422 Unprocessable Entity: custom field 'ai_interview_score_band' has no "
                    f"option '{result.band.title()}'"
                )
                spec.attempts = [(first, 422, 340, False, error)]
                spec.last_error = error
                spec.completed_at = first + dt.timedelta(seconds=1)
            elif status == WritebackStatus.PENDING:
                spec.next_attempt_at = self.now
            else:  # sandbox: recorded only, never sent
                spec.completed_at = created
            bp.writebacks.append(spec)
        self._inbound(bp)

    def _inbound(self, bp: Blueprint) -> None:
        rng = self.rng
        secrets = {c["slug"]: c["webhook_secret"] for c in CONNECTIONS}
        apps = {conn: [a for a in bp.applications if a.connection == conn] for conn in (GH, LV)}
        plan = [
            (GH, InboundEventStatus.PROCESSED),
            (GH, InboundEventStatus.PROCESSED),
            (GH, InboundEventStatus.PROCESSED),
            (GH, InboundEventStatus.PROCESSED),
            (GH, InboundEventStatus.FAILED),
            (GH, InboundEventStatus.STALE),
            (LV, InboundEventStatus.PROCESSED),
            (LV, InboundEventStatus.PROCESSED),
            (LV, InboundEventStatus.FAILED),
        ]
        for index, (conn, status) in enumerate(plan):
            app = apps[conn][index * 7]
            assert app.stage_entered_at is not None  # noqa: S101
            occurred = app.stage_entered_at
            received = occurred + dt.timedelta(seconds=rng.uniform(1, 20))
            secret = secrets[conn].encode()
            if conn == GH:
                action = "candidate_stage_change"
                body = json.dumps(
                    {
                        "action": action,
                        "payload": {
                            "application": {
                                "id": int(app.remote_id),
                                "status": "active",
                                "current_stage": {
                                    "id": int(app.remote_stage_id),
                                    "name": app.remote_stage_name,
                                },
                                "candidate": {"id": int(app.candidate)},
                                "jobs": [{"id": int(app.requisition)}],
                            }
                        },
                    }
                )
                digest = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
                delivery = f"gh-{rng.getrandbits(64):016x}"
                headers = {
                    "Content-Type": "application/json",
                    "Signature": f"sha256 {digest}",
                    "Greenhouse-Event-ID": delivery,
                }
            else:
                action = "candidateStageChange"
                delivery = self.uuid()
                token = f"{rng.getrandbits(192):048x}"
                triggered = int(occurred.timestamp() * 1000)
                signature = hmac.new(secret, f"{token}{triggered}".encode(), hashlib.sha256)
                body = json.dumps(
                    {
                        "id": delivery,
                        "triggeredAt": triggered,
                        "event": action,
                        "data": {
                            "opportunityId": app.remote_id,
                            "contactId": app.candidate,
                            "toStageId": app.remote_stage_id,
                        },
                        "token": token,
                        "signature": signature.hexdigest(),
                    }
                )
                headers = {"Content-Type": "application/json"}
            spec = InboundSpec(conn, delivery, action, body, headers, occurred, received, status, 1)
            if status == InboundEventStatus.FAILED:
                spec.attempts = 3
                spec.error = (
                    f"Requisition {app.requisition} is not synced yet (HTTP 404 from the ATS); "
                    "will retry."
                )
            else:
                spec.processed_at = received + dt.timedelta(seconds=rng.uniform(0.2, 3))
            bp.inbound.append(spec)


# --- Writing ---------------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Load deterministic demo data (users, connections, ~300 applications, interviews...)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        now = timezone.now()
        self.created_total = 0
        blueprint = _Planner(now).build()
        with transaction.atomic():
            users = self._users()
            connections = self._connections()
            self._stage_mappings(connections, blueprint)
            families, plans, competencies = self._families(now)
            requisitions = self._requisitions(connections, families, users, blueprint)
            candidates, applications = self._applications(connections, requisitions, blueprint)
            self._interviews(plans, competencies, applications, users, blueprint)
            self._ledgers(connections, applications, blueprint)
            self._governance(families, candidates, users, blueprint)
        elapsed = time.monotonic() - started
        if self.created_total == 0:
            self.stdout.write("Demo data already present; nothing to do.")
        else:
            self.stdout.write(f"Created {self.created_total} rows in {elapsed:.1f} s.")
        self._print_logins()

    # -- helpers -----------------------------------------------------------------------------
    def _report(self, label: str, created: int, total: int) -> None:
        self.created_total += created
        present = total - created
        self.stdout.write(f"{label + ':':<24}{created:>5} created{present:>6} already present")

    def _ensure(
        self,
        label: str,
        queryset: models.QuerySet[M],
        rows: Sequence[M],
        key: Callable[[M], Key],
        backdate: Callable[[M], dict[str, dt.datetime | None]] | None = None,
    ) -> dict[Key, M]:
        """Insert the rows whose key is not in ``queryset`` yet; return all rows by key.

        ``backdate`` gives historical values for ``auto_now_add`` fields, which an insert
        always overwrites with the current time; they are written in one bulk update.
        """
        existing = {key(obj): obj for obj in queryset}
        new = [obj for obj in rows if key(obj) not in existing]
        if new:
            queryset.model.objects.bulk_create(new, batch_size=500)
            if backdate is not None:
                stamps = [backdate(obj) for obj in new]
                for obj, values in zip(new, stamps, strict=True):
                    for name, value in values.items():
                        setattr(obj, name, value)
                queryset.model.objects.bulk_update(new, list(stamps[0]), batch_size=500)
        self._report(label, len(new), len(rows))
        return existing | {key(obj): obj for obj in new}

    # -- steps -------------------------------------------------------------------------------
    def _users(self) -> dict[str, User]:
        # Groups normally come from a data migration; a flushed database lacks them (and their
        # permissions), so recreate both.
        present = Group.objects.filter(name__in=roles.ALL_ROLES).count()
        roles.sync_role_groups()
        groups = {group.name: group for group in Group.objects.filter(name__in=roles.ALL_ROLES)}
        self._report("role groups", len(groups) - present, len(groups))

        users: dict[str, User] = {}
        created_users = 0
        password_hash: str | None = None
        for username, first, last, role, is_staff in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                # Hash once: PBKDF2 is deliberately slow and every demo user shares the password.
                password_hash = password_hash or make_password(DEMO_PASSWORD)
                user = User.objects.create(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@screenbridge.example",
                    is_staff=is_staff,
                    password=password_hash,
                )
                created_users += 1
            user.groups.add(groups[role])
            users[username] = user
        self._report("users", created_users, len(USERS))
        return users

    def _connections(self) -> dict[str, AtsConnection]:
        result: dict[str, AtsConnection] = {}
        created_count = 0
        for spec in CONNECTIONS:
            connection, created = AtsConnection.objects.get_or_create(
                slug=spec["slug"],
                defaults={
                    "name": spec["name"],
                    "provider": spec["provider"],
                    "mode": spec["mode"],
                    "on_behalf_of": spec["on_behalf_of"],
                },
            )
            if created:
                connection.set_webhook_secret(spec["webhook_secret"])
                connection.save(update_fields=["webhook_secret_encrypted"])
                created_count += 1
            result[spec["slug"]] = connection
        self._report("ATS connections", created_count, len(CONNECTIONS))
        return result

    def _stage_mappings(self, connections: dict[str, AtsConnection], bp: Blueprint) -> None:
        rows = []
        for slug, stages in REMOTE_STAGES.items():
            for name, canonical in stages:
                if canonical is None:
                    continue
                rows.append(
                    StageMapping(
                        connection=connections[slug],
                        remote_stage_id=bp.lever_stage_ids[name] if slug == LV else "",
                        remote_stage_name=name,
                        # bulk_create skips save(), which normally fills this in.
                        normalized_name=normalize_stage_name(name),
                        canonical_stage=canonical,
                    )
                )
        self._ensure(
            "stage mappings",
            StageMapping.objects.filter(connection__in=connections.values()),
            rows,
            lambda m: (m.connection_id, m.remote_stage_id, m.normalized_name),
        )

    def _families(
        self, now: dt.datetime
    ) -> tuple[dict[str, RoleFamily], dict[str, InterviewPlan], dict[tuple[str, str], Competency]]:
        families = self._ensure(
            "role families",
            RoleFamily.objects.all(),
            [
                RoleFamily(
                    slug=f["slug"],
                    name=f["name"],
                    description=f["description"],
                    department_rule=f["department_rule"],
                    title_pattern=f["title_pattern"],
                )
                for f in FAMILIES
            ],
            lambda f: (f.slug,),
        )
        by_slug = {slug: family for (slug,), family in families.items()}
        plan_rows = []
        for f in FAMILIES:
            p = dict(f["plan"])
            days_ago = p.pop("activated_days_ago")
            plan_rows.append(
                InterviewPlan(
                    role_family=by_slug[f["slug"]],
                    trigger_stage=C.AUTOMATED_INTERVIEW,
                    vendor=VENDOR,
                    activated_at=None if days_ago is None else now - dt.timedelta(days=days_ago),
                    **p,
                )
            )
        plans = self._ensure(
            "interview plans",
            InterviewPlan.objects.filter(role_family__in=by_slug.values()),
            plan_rows,
            lambda p: (p.role_family_id, p.name),
        )
        plan_by_family = {p.role_family.slug: p for p in plans.values()}
        competency_rows = [
            Competency(
                plan=plan_by_family[f["slug"]],
                key=key,
                name=name,
                weight=Decimal(weight),
                rubric_anchors=anchors,
                position=position,
            )
            for f in FAMILIES
            for position, (key, name, weight, anchors) in enumerate(f["competencies"])
        ]
        competencies = self._ensure(
            "competencies",
            Competency.objects.filter(plan__in=plan_by_family.values()),
            competency_rows,
            lambda c: (c.plan_id, c.key),
        )
        slug_by_plan = {p.pk: slug for slug, p in plan_by_family.items()}
        by_key = {(slug_by_plan[c.plan_id], c.key): c for c in competencies.values()}
        return by_slug, plan_by_family, by_key

    def _requisitions(
        self,
        connections: dict[str, AtsConnection],
        families: dict[str, RoleFamily],
        users: dict[str, User],
        bp: Blueprint,
    ) -> dict[tuple[str, str], Requisition]:
        rows = [
            Requisition(
                connection=connections[conn],
                remote_id=bp.requisition_ids[index],
                title=title,
                department=department,
                location=location,
                status=status,
            )
            for index, (conn, _, title, department, location, _, status, *_) in enumerate(
                REQUISITIONS
            )
        ]
        saved = self._ensure(
            "requisitions",
            Requisition.objects.filter(connection__in=connections.values()),
            rows,
            lambda r: (r.connection_id, r.remote_id),
        )
        slug_by_pk = {c.pk: slug for slug, c in connections.items()}
        by_remote = {(slug_by_pk[k[0]], str(k[1])): r for k, r in saved.items()}
        memberships, grants = [], []
        for index, (conn, _, _, _, _, family, _, _, recruiter, with_manager) in enumerate(
            REQUISITIONS
        ):
            requisition = by_remote[(conn, bp.requisition_ids[index])]
            memberships.append(
                RoleFamilyMembership(
                    requisition=requisition,
                    role_family=families[family],
                    # Half matched by the department rule, half assigned by an admin.
                    source=MembershipSource.RULE if index % 2 else MembershipSource.MANUAL,
                )
            )
            grants.append(
                RequisitionAccess(
                    user=users[recruiter], requisition=requisition, role=AccessRole.RECRUITER
                )
            )
            if with_manager:
                grants.append(
                    RequisitionAccess(
                        user=users["hank"],
                        requisition=requisition,
                        role=AccessRole.HIRING_MANAGER,
                    )
                )
        requisitions = list(by_remote.values())
        self._ensure(
            "role family members",
            RoleFamilyMembership.objects.filter(requisition__in=requisitions),
            memberships,
            lambda m: (m.requisition_id,),
        )
        self._ensure(
            "requisition access",
            RequisitionAccess.objects.filter(requisition__in=requisitions),
            grants,
            lambda g: (g.user_id, g.requisition_id, g.role),
        )
        return by_remote

    def _applications(
        self,
        connections: dict[str, AtsConnection],
        requisitions: dict[tuple[str, str], Requisition],
        bp: Blueprint,
    ) -> tuple[dict[tuple[str, str], Candidate], dict[tuple[str, str], Application]]:
        slug_by_pk = {c.pk: slug for slug, c in connections.items()}
        saved = self._ensure(
            "candidates",
            Candidate.objects.filter(connection__in=connections.values()),
            [
                Candidate(
                    connection=connections[c.connection],
                    remote_id=c.remote_id,
                    first_name=c.first_name,
                    last_name=c.last_name,
                    email=c.email,
                    opted_out=c.opted_out,
                    consents=[] if c.opted_out else ["ai_interview"],
                    remote_updated_at=c.remote_updated_at,
                )
                for c in bp.candidates
            ],
            lambda c: (c.connection_id, c.remote_id),
        )
        candidates = {(slug_by_pk[k[0]], str(k[1])): c for k, c in saved.items()}
        saved_apps = self._ensure(
            "applications",
            Application.objects.filter(connection__in=connections.values()),
            [
                Application(
                    connection=connections[a.connection],
                    remote_id=a.remote_id,
                    candidate=candidates[(a.connection, a.candidate)],
                    requisition=requisitions[(a.connection, a.requisition)],
                    remote_stage_id=a.remote_stage_id,
                    remote_stage_name=a.remote_stage_name,
                    canonical_stage=a.stage,
                    stage_entered_at=a.stage_entered_at,
                    last_event_at=a.stage_entered_at,
                    applied_at=a.applied_at,
                )
                for a in bp.applications
            ],
            lambda a: (a.connection_id, a.remote_id),
        )
        applications = {(slug_by_pk[k[0]], str(k[1])): a for k, a in saved_apps.items()}
        return candidates, applications

    def _interviews(
        self,
        plans: dict[str, InterviewPlan],
        competencies: dict[tuple[str, str], Competency],
        applications: dict[tuple[str, str], Application],
        users: dict[str, User],
        bp: Blueprint,
    ) -> None:
        def app_of(spec: InterviewSpec) -> Application:
            return applications[(spec.application.connection, spec.application.remote_id)]

        interview_rows = [
            Interview(
                application=app_of(spec),
                plan=plans[spec.family],
                status=spec.status,
                vendor=VENDOR,
                vendor_reference=spec.vendor_reference if spec.invited_at else "",
                invite_url=f"https://vendor.example/i/{spec.vendor_reference}"
                if spec.invited_at
                else "",
                stage_entered_at=spec.stage_entered_at,
                invited_at=spec.invited_at,
                reminded_at=spec.reminded_at,
                started_at=spec.started_at,
                completed_at=spec.completed_at,
                expires_at=spec.expires_at,
                ended_at=spec.ended_at,
                failure_reason=spec.failure_reason,
            )
            for spec in bp.interviews
        ]
        stage_entered = {id(row): row.stage_entered_at for row in interview_rows}
        saved = self._ensure(
            "interviews",
            Interview.objects.filter(plan__in=plans.values()),
            interview_rows,
            lambda i: (i.application_id, i.plan_id),
            backdate=lambda i: {"created_at": stage_entered.get(id(i))},
        )
        interviews = {
            id(spec): saved[(app_of(spec).pk, plans[spec.family].pk)] for spec in bp.interviews
        }

        result_rows: list[InterviewResult] = []
        received: dict[int, dt.datetime] = {}
        with_results = [spec for spec in bp.interviews if spec.result is not None]
        for spec in with_results:
            r = spec.result
            assert r is not None  # noqa: S101
            ref = spec.vendor_reference
            row = InterviewResult(
                interview=interviews[id(spec)],
                score=r.score,
                band=r.band,
                band_thresholds=r.band_thresholds,
                confidence=r.confidence,
                summary_bullets=r.bullets,
                flags=r.flags,
                transcript_url=f"https://vendor.example/transcripts/{ref}",
                recording_url=f"https://vendor.example/recordings/{ref}" if r.recording else "",
                report_url=f"https://vendor.example/reports/{ref}",
                raw_payload={
                    "id": ref,
                    "status": "completed",
                    "overall_score": float(r.score),
                    "confidence": r.confidence,
                    "competencies": {k: float(s) for k, s, _ in r.competency_scores},
                    "flags": [f for f in r.flags if f != ResultFlag.BORDERLINE],
                },
            )
            received[id(row)] = r.received_at
            result_rows.append(row)
        saved_results = self._ensure(
            "interview results",
            InterviewResult.objects.filter(interview__plan__in=plans.values()),
            result_rows,
            lambda r: (r.interview_id, r.version),
            backdate=lambda r: {"received_at": received.get(id(r))},
        )
        results = {id(spec): saved_results[(interviews[id(spec)].pk, 1)] for spec in with_results}

        score_rows = [
            CompetencyScore(
                result=results[id(spec)],
                competency=competencies[(spec.family, key)],
                score=score,
                evidence=evidence,
            )
            for spec in with_results
            for key, score, evidence in spec.result.competency_scores  # type: ignore[union-attr]
        ]
        self._ensure(
            "competency scores",
            CompetencyScore.objects.filter(result__in=list(results.values())),
            score_rows,
            lambda s: (s.result_id, s.competency_id),
        )

        reviewed = [spec for spec in bp.interviews if spec.review is not None]
        task_rows = []
        task_created: dict[int, dt.datetime] = {}
        for spec in reviewed:
            review = spec.review
            assert review is not None  # noqa: S101
            row = ReviewTask(
                interview=interviews[id(spec)],
                result=results.get(id(spec)),
                reason=review.reason,
                detail=review.detail,
                status=review.status,
                claimed_by=users[review.claimed_by] if review.claimed_by else None,
                claimed_at=review.claimed_at,
                resolved_at=review.resolved_at,
            )
            task_created[id(row)] = review.created_at
            task_rows.append(row)
        self._ensure(
            "review tasks",
            ReviewTask.objects.filter(interview__plan__in=plans.values()),
            task_rows,
            # One task per demo interview; keyed on the interview alone so a rerun never adds a
            # second open task next to one the review service has created since.
            lambda t: (t.interview_id,),
            backdate=lambda t: {"created_at": task_created.get(id(t))},
        )

        decision_rows = []
        decided: dict[int, dt.datetime] = {}
        for spec in reviewed:
            d = spec.review.decision  # type: ignore[union-attr]
            if d is None:
                continue
            row = Decision(
                result=results[id(spec)],
                application=interviews[id(spec)].application,
                decided_by=users[d.decided_by],
                outcome=d.outcome,
                recommended_outcome=d.recommended,
                is_override=d.outcome != d.recommended,
                override_reason=d.override_reason,
                override_text=d.override_text,
            )
            decided[id(row)] = d.created_at
            decision_rows.append(row)
        # Backdating touches only rows inserted a moment ago in this transaction; decisions
        # are never changed once they exist.
        self._ensure(
            "decisions",
            Decision.objects.filter(result__in=list(results.values())),
            decision_rows,
            lambda d: (d.result_id,),
            backdate=lambda d: {"created_at": decided.get(id(d))},
        )

    def _ledgers(
        self,
        connections: dict[str, AtsConnection],
        applications: dict[tuple[str, str], Application],
        bp: Blueprint,
    ) -> None:
        job_rows = []
        job_specs: dict[int, WritebackSpec] = {}
        for spec in bp.writebacks:
            app = spec.interview.application
            row = WritebackJob(
                connection=connections[app.connection],
                application=applications[(app.connection, app.remote_id)],
                kind=spec.kind,
                target="result",
                payload=spec.payload,
                status=spec.status,
                attempts=len(spec.attempts),
                next_attempt_at=spec.next_attempt_at,
                last_error=spec.last_error,
                completed_at=spec.completed_at,
            )
            job_specs[id(row)] = spec
            job_rows.append(row)
        queryset = WritebackJob.objects.filter(connection__in=connections.values())
        before = set(queryset.values_list("pk", flat=True))
        jobs = self._ensure(
            "writeback jobs",
            queryset,
            job_rows,
            lambda j: (j.application_id, j.kind, j.target),
            backdate=lambda j: {"created_at": job_specs[id(j)].created_at},
        )
        # Attempts have no natural key: add them only for jobs created just now.
        attempt_rows = [
            WritebackAttempt(
                job=job,
                attempt_number=number,
                started_at=when,
                status_code=code,
                latency_ms=latency,
                succeeded=ok,
                error=error,
            )
            for job in jobs.values()
            if job.pk not in before
            for number, (when, code, latency, ok, error) in enumerate(
                job_specs[id(job)].attempts, start=1
            )
        ]
        WritebackAttempt.objects.bulk_create(attempt_rows)
        present = WritebackAttempt.objects.filter(job__pk__in=before).count()
        self._report("writeback attempts", len(attempt_rows), len(attempt_rows) + present)
        received = {(e.connection, e.delivery_id): e.received_at for e in bp.inbound}
        self._ensure(
            "inbound events",
            InboundEvent.objects.filter(connection__in=connections.values()),
            [
                InboundEvent(
                    connection=connections[e.connection],
                    delivery_id=e.delivery_id,
                    action=e.action,
                    raw_body=e.raw_body,
                    headers=e.headers,
                    occurred_at=e.occurred_at,
                    status=e.status,
                    attempts=e.attempts,
                    error=e.error,
                    processed_at=e.processed_at,
                )
                for e in bp.inbound
            ],
            lambda e: (e.connection_id, e.delivery_id),
            backdate=lambda e: {"received_at": received[(e.connection.slug, e.delivery_id)]},
        )

    def _governance(
        self,
        families: dict[str, RoleFamily],
        candidates: dict[tuple[str, str], Candidate],
        users: dict[str, User],
        bp: Blueprint,
    ) -> None:
        self._ensure(
            "retention policies",
            RetentionPolicy.objects.filter(role_family__isnull=True, active=True),
            [
                RetentionPolicy(
                    name="Transcripts: one year",
                    data_category=DataCategory.TRANSCRIPT,
                    retention_days=365,
                    action=RetentionAction.DELETE,
                    notes="Kept for one hiring cycle plus adverse-impact review; then deleted.",
                ),
                RetentionPolicy(
                    name="Raw vendor payloads: 90 days",
                    data_category=DataCategory.RAW_VENDOR_PAYLOAD,
                    retention_days=90,
                    action=RetentionAction.DELETE,
                    notes="Only needed to debug result normalisation.",
                ),
            ],
            lambda p: (p.data_category,),
        )
        candidate = candidates[bp.legal_hold_candidate]
        self._ensure(
            "legal holds",
            LegalHold.objects.filter(candidate=candidate),
            [
                LegalHold(
                    reason="EEOC charge 2026-0417: preserve all screening records for this "
                    "candidate.",
                    candidate=candidate,
                    placed_by=users["ada"],
                )
            ],
            lambda h: (h.candidate_id, h.reason),
        )

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write("Demo logins (password for every account below):")
        self.stdout.write(f"  {'username':<10}{'role':<28}{'password'}")
        for username, _, _, role, is_staff in USERS:
            label = role + (" (staff)" if is_staff else "")
            self.stdout.write(f"  {username:<10}{label:<28}{DEMO_PASSWORD}")
        self.stdout.write("Accounts that already existed keep the password they had.")
