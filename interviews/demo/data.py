"""Fixed demo content: people, connections, role families, requisitions and texts.

Pure data: the planner draws from these lists with a seeded random generator, so changing the
order or the contents of any list changes the whole demo data set.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from governance import roles
from governance.models import OverrideReason
from integrations.models import (
    STAGE_ORDER,
    CanonicalStage,
    ConnectionMode,
    Provider,
    RequisitionStatus,
)
from interviews.models import InterviewStatus, PlanStatus, default_band_thresholds

SEED = 20260601
# Public on purpose: printed at the end of every run and in the README.
DEMO_PASSWORD = "screenbridge-demo"  # noqa: S105
VENDOR = "generic-http"
# Namespace of the writeback jobs' idempotency keys (uuid5 of the job's natural key).
WRITEBACK_KEY_NAMESPACE = uuid.UUID("77f1c7e7-b7ca-4a5e-a564-51bfa03d533e")

C = CanonicalStage
AI_RANK = STAGE_ORDER[C.AUTOMATED_INTERVIEW]

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

# fmt: off
FIRST_NAMES = [
    "Aaliyah", "Adebayo", "Aiko", "Alejandro", "Amara", "Ananya", "Andrei", "Aoife", "Arjun",
    "Beatriz", "Bilal", "Camille", "Carlos", "Chen", "Chioma", "Chloé", "Daniel", "Dmitri",
    "Elena", "Emeka", "Emily", "Farah", "Fatima", "Gabriel", "Grace", "Hamza", "Hannah",
    "Hiroshi", "Ines", "Isabella", "Jamal", "Javier", "Jin", "José", "Julia", "Kai", "Kavya",
    "Kofi", "Laila", "Leon", "Lucas", "Maya", "Mei", "Mohammed", "Nadia", "Nikhil", "Noah",
    "Olivia", "Omar", "Priya", "Rafael", "Renée", "Samira", "Santiago", "Sofia", "Tariq",
    "Thao", "Tomás", "Valentina", "Wei", "Yara", "Yusuf", "Zainab", "Zoë",
]
LAST_NAMES = [
    "Abebe", "Adeyemi", "Ahmed", "Andersson", "Bakker", "Banerjee", "Becker", "Brennan",
    "Castillo", "Chowdhury", "Costa", "Dubois", "Eriksen", "Fernández", "Fischer", "García",
    "Gomez", "Haddad", "Hansen", "Hernandez", "Ibrahim", "Ito", "Jensen", "Kapoor", "Kim",
    "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Mahlangu", "Martin", "Mendes", "Moreau",
    "Müller", "Murphy", "Nakamura", "Novak", "Nowak", "O'Brien", "Okonkwo", "Olsen", "Osei",
    "Patel", "Pereira", "Petrov", "Quinn", "Rahman", "Reyes", "Rossi", "Sato", "Schmidt",
    "Silva", "Singh", "Sokolova", "Tanaka", "Torres", "Tran", "Van Dijk", "Wang", "Williams",
    "Wójcik", "Yilmaz", "Zhang",
]
# fmt: on

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
