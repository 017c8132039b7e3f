"""A small, real world for the REST API tests: one user per role, data in and out of scope.

Requisition A: rita recruits (grant), hank manages; requisition B: only carl recruits. Each holds
completed interviews with subscores and bullets, open review tasks, a decision and writeback jobs
(one dead, one failed, one done). Every user has an API token whose key is ``KEYS[username]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from governance.models import AccessRole
from governance.roles import AUDITOR, HIRING_MANAGER, HIRING_OPS_ADMIN, RECRUITER, sync_role_groups
from integrations.models import WritebackStatus
from interviews.models import ReviewStatus
from tests.factories import (
    ApiTokenFactory,
    AtsConnectionFactory,
    CompetencyScoreFactory,
    DecisionFactory,
    RequisitionAccessFactory,
    RequisitionFactory,
    ReviewTaskFactory,
    UserFactory,
    WritebackJobFactory,
)
from tests.helpers import completed_result

ROLES = {"rita": RECRUITER, "carl": RECRUITER, "hank": HIRING_MANAGER, "ada": HIRING_OPS_ADMIN}
ROLES["audrey"] = AUDITOR
KEYS = {username: f"test-api-key-of-{username}-0123456789" for username in ROLES}


@dataclass
class Side:
    """What lies on one requisition."""

    requisition: Any
    results: list[Any] = field(default_factory=list)
    tasks: list[Any] = field(default_factory=list)
    decisions: list[Any] = field(default_factory=list)
    jobs: list[Any] = field(default_factory=list)

    @property
    def application(self) -> Any:
        return self.results[0].interview.application

    @property
    def interview(self) -> Any:
        return self.results[0].interview


@dataclass
class ApiWorld:
    users: dict[str, Any]
    mine: Side  # requisition A: rita recruits, hank manages
    theirs: Side  # requisition B: carl recruits

    def auth(self, username: str) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Token {KEYS[username]}"}


def _side(connection: Any, title: str, names: list[tuple[str, str]], recruiter: Any) -> Side:
    requisition = RequisitionFactory(connection=connection, title=title)
    side = Side(requisition)
    for i, (first, last) in enumerate(names):
        result = completed_result(
            requisition,
            candidate={"first_name": first, "last_name": last},
            score=Decimal("66.00") + i * 9,
        )
        for _ in range(2):
            CompetencyScoreFactory(result=result)
        side.results.append(result)
    side.tasks.append(ReviewTaskFactory(interview=side.results[0].interview))
    side.tasks.append(
        ReviewTaskFactory(
            interview=side.results[1].interview,
            status=ReviewStatus.CLAIMED,
            claimed_by=recruiter,
        )
    )
    side.decisions.append(DecisionFactory(result=side.results[2], decided_by=recruiter))
    for status in (WritebackStatus.DEAD, WritebackStatus.FAILED, WritebackStatus.SUCCEEDED):
        side.jobs.append(
            WritebackJobFactory(
                connection=connection,
                application=side.results[2].interview.application,
                status=status,
                target=f"result-{status}",
                attempts=3,
                last_error="HTTP 503 from the ATS" if status != "succeeded" else "",
            )
        )
    return side


def build_api_world() -> ApiWorld:
    sync_role_groups()
    users = {
        name: UserFactory(username=name, groups=[group], is_staff=name in ("ada", "audrey"))
        for name, group in ROLES.items()
    }
    for name, user in users.items():
        ApiTokenFactory(user=user, key=KEYS[name])
    connection = AtsConnectionFactory(slug="acme-gh")
    mine = _side(
        connection,
        "Support A",
        [("Zelda", "Quorum"), ("Ada", "Lovelace"), ("Grace", "Hopper")],
        users["rita"],
    )
    theirs = _side(
        connection,
        "Support B",
        [("Yannick", "Pardo"), ("Alan", "Turing"), ("Edsger", "Dijkstra")],
        users["carl"],
    )
    RequisitionAccessFactory(
        user=users["rita"], requisition=mine.requisition, role=AccessRole.RECRUITER
    )
    RequisitionAccessFactory(
        user=users["hank"], requisition=mine.requisition, role=AccessRole.HIRING_MANAGER
    )
    RequisitionAccessFactory(
        user=users["carl"], requisition=theirs.requisition, role=AccessRole.RECRUITER
    )
    return ApiWorld(users, mine, theirs)
