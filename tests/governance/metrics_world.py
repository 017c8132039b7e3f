"""A small world whose metrics are worked out by hand in tests/governance/test_metrics.py.

Times are fixed (March 2026, UTC); "now" is ``NOW`` (tests travel there for the review ages).
Role families: Support (plan activated 2026-03-10 00:00, 40 manual minutes per screen) and
Sales (no plan: baseline only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import time_machine
from django.db import transaction

from governance import audit
from governance.roles import RECRUITER
from governance.services import interview_first_decision_stamp, score_card_opened_at
from integrations.models import CanonicalStage as S
from integrations.models import WritebackStatus
from integrations.services.stage_sync import stage_history_record
from interviews.models import InterviewStatus, ReviewStatus
from tests.factories import (
    ApplicationFactory,
    AtsConnectionFactory,
    DecisionFactory,
    InterviewFactory,
    InterviewPlanFactory,
    InterviewResultFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    RoleFamilyFactory,
    RoleFamilyMembershipFactory,
    SignatureFailureFactory,
    UserFactory,
    WritebackAttemptFactory,
    WritebackJobFactory,
)

NOW = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
SINCE = dt.date(2026, 3, 1)
UNTIL = dt.date(2026, 3, 31)


def at(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


@dataclass
class MetricsWorld:
    support: Any
    sales: Any
    support_requisition: Any
    sales_requisition: Any
    connection: Any
    alice: Any
    bob: Any


def _changes(application: Any, *steps: tuple[str, dt.datetime]) -> None:
    # What stage_sync records when it applies each change.
    previous = None
    for stage, when in steps:
        stage_history_record(application=application, old=previous, new=stage, at=when)
        previous = stage


def _decide(result: Any, user: Any, when: dt.datetime, **extra: Any) -> Any:
    # The two stamps governance.services.decision_record makes, on a factory-made decision
    # (the service itself would also enqueue writebacks, which would change the sync figures).
    decision = DecisionFactory(
        result=result,
        decided_by=user,
        created_at=when,
        card_opened_at=score_card_opened_at(user=user, result=result, before=when),
        **extra,
    )
    interview_first_decision_stamp(decision=decision)
    return decision


def _view_card(user: Any, result: Any, when: dt.datetime) -> None:
    # The real view event, as interviews/views_scorecard.py writes it.
    with time_machine.travel(when, tick=False), transaction.atomic():
        audit.record_view(user=user, target=result, what="score_card")


def build(suffix: str = "") -> MetricsWorld:
    """The world; a ``suffix`` builds an independent copy next to an existing one."""
    connection = AtsConnectionFactory(slug=f"metrics-gh{suffix}")
    support = RoleFamilyFactory(
        slug=f"support{suffix}", name=f"Support{suffix}", manual_screen_minutes=40
    )
    sales = RoleFamilyFactory(slug=f"sales{suffix}", name=f"Sales{suffix}")
    plan = InterviewPlanFactory(role_family=support, activated_at=at(10, 0))
    support_req = RequisitionFactory(connection=connection, title="Support agent")
    sales_req = RequisitionFactory(connection=connection, title="Sales rep")
    RoleFamilyMembershipFactory(requisition=support_req, role_family=support)
    RoleFamilyMembershipFactory(requisition=sales_req, role_family=sales)
    alice = UserFactory(username=f"m-alice{suffix}", groups=[RECRUITER])
    bob = UserFactory(username=f"m-bob{suffix}", groups=[RECRUITER])

    def interview(when: dt.datetime, status: str, **extra: Any) -> Any:
        application = ApplicationFactory(
            connection=connection,
            requisition=support_req,
            canonical_stage=S.AUTOMATED_INTERVIEW,
        )
        return InterviewFactory(
            application=application,
            plan=plan,
            status=status,
            stage_entered_at=when,
            created_at=when,
            **extra,
        )

    def scored(when: dt.datetime, score: str) -> tuple[Any, Any]:
        item = interview(when, InterviewStatus.COMPLETED)
        return item, InterviewResultFactory(interview=item, score=Decimal(score))

    # I1: strong, decided 4 h after entering the stage, card opened 10 min before.
    i1, r1 = scored(at(10), "85.00")
    _view_card(alice, r1, at(10, 12, 50))
    _decide(r1, alice, at(10, 13))
    _changes(
        i1.application,
        (S.AUTOMATED_INTERVIEW, at(10)),
        (S.HIRING_MANAGER_REVIEW, at(11)),
        (S.ONSITE, at(14)),
        (S.OFFER, at(18)),
        (S.HIRED, at(20)),
    )
    # I2: proceed, override after 10 h, card opened 30 min before; later HM review, rejected.
    i2, r2 = scored(at(11), "70.00")
    _view_card(alice, r2, at(11, 18, 30))
    _decide(r2, alice, at(11, 19), override=True)
    _changes(
        i2.application,
        (S.AUTOMATED_INTERVIEW, at(11)),
        (S.HIRING_MANAGER_REVIEW, at(12)),
        (S.REJECTED, at(13)),
    )
    # I3: proceed, bob decides after 24 h without opening the card (alice's view is not his).
    i3, r3 = scored(at(12), "66.00")
    _view_card(alice, r3, at(12, 10))
    _decide(r3, bob, at(13, 9))
    _changes(
        i3.application,
        (S.AUTOMATED_INTERVIEW, at(12)),
        (S.RECRUITER_SCREEN, at(13, 10)),  # has an interview: never baseline
        (S.HIRING_MANAGER_REVIEW, at(14)),
        (S.ONSITE, at(16)),
        (S.REJECTED, at(17)),
    )
    # I4: borderline, override after 2 h, card open 120 min (a later view does not count).
    _i4, r4 = scored(at(16), "55.00")
    _view_card(alice, r4, at(16, 9))
    _view_card(alice, r4, at(16, 10))
    _decide(r4, alice, at(16, 11), override=True)
    _view_card(alice, r4, at(16, 11, 30))

    i5 = interview(at(17), InterviewStatus.EXPIRED)
    i6 = interview(at(17, 10), InterviewStatus.FAILED)
    interview(at(18), InterviewStatus.CANCELLED)
    i8 = interview(at(18, 10), InterviewStatus.INVITED)
    interview(at(18, 11), InterviewStatus.PENDING)
    # Not counted: a rehearsal, and an interview (with a decision) before the range.
    rehearsal, rehearsal_result = scored(at(19), "90.00")
    rehearsal.is_rehearsal = True
    rehearsal.save(update_fields=["is_rehearsal"])
    _decide(rehearsal_result, alice, at(19, 10))
    _old, old_result = scored(at(20, month=2), "80.00")
    _decide(old_result, alice, at(20, 10, month=2))

    # Baseline: manual first screens ("recruiter_screen") without an automated interview.
    def manual(requisition: Any, *steps: tuple[str, dt.datetime]) -> None:
        application = ApplicationFactory(connection=connection, requisition=requisition)
        _changes(application, *steps)

    # B1 Sales: screened in 24 h, reached HM review and onsite.
    manual(
        sales_req,
        (S.RECRUITER_SCREEN, at(5)),
        (S.HIRING_MANAGER_REVIEW, at(6)),
        (S.ONSITE, at(8)),
    )
    # B2 Sales: rejected after 6 h.
    manual(sales_req, (S.RECRUITER_SCREEN, at(20)), (S.REJECTED, at(20, 15)))
    # B3 Support before its plan went live: 48 h, then straight to offer and hired.
    manual(
        support_req,
        (S.RECRUITER_SCREEN, at(3)),
        (S.HIRING_MANAGER_REVIEW, at(5)),
        (S.OFFER, at(9)),
        (S.HIRED, at(12)),
    )
    # Not baseline: Support after the plan went live; Sales before the range.
    manual(support_req, (S.RECRUITER_SCREEN, at(12)), (S.HIRING_MANAGER_REVIEW, at(13)))
    manual(sales_req, (S.RECRUITER_SCREEN, at(25, month=2)), (S.REJECTED, at(26, month=2)))

    # Writebacks in March: failed once then succeeded; dead; clean; pending. One in February.
    def job(status: str, when: dt.datetime, *attempts: bool) -> None:
        item = WritebackJobFactory(
            connection=connection, application=i1.application, status=status, created_at=when
        )
        for number, succeeded in enumerate(attempts, start=1):
            WritebackAttemptFactory(job=item, attempt_number=number, succeeded=succeeded)

    job(WritebackStatus.SUCCEEDED, at(10, 14), False, True)
    job(WritebackStatus.DEAD, at(11, 20), False, False, False)
    job(WritebackStatus.SUCCEEDED, at(12, 10), True)
    job(WritebackStatus.PENDING, at(13, 10))
    job(WritebackStatus.DEAD, at(20, month=2), False)
    for when in (at(3), at(21), at(27, month=2)):
        SignatureFailureFactory(connection=connection, received_at=when)

    # Review queue now (NOW = 1 April 12:00): ages 24 h, 48 h (claimed), 84 h; one done.
    ReviewTaskFactory(interview=i5, result=None, created_at=at(31, 12))
    ReviewTaskFactory(
        interview=i6,
        result=None,
        status=ReviewStatus.CLAIMED,
        claimed_by=alice,
        created_at=at(30, 12),
    )
    ReviewTaskFactory(interview=i8, result=None, created_at=at(29, 0))
    ReviewTaskFactory(interview=i1, result=r1, status=ReviewStatus.DONE, created_at=at(10, 11))
    return MetricsWorld(support, sales, support_req, sales_req, connection, alice, bob)
