"""Shared fixtures.

Users follow the house convention: alice (recruiter) and bob (a second recruiter on the same
requisitions) share a requisition; charlie is a recruiter on another one. Every view test checks
both allow and deny.
"""

from __future__ import annotations

from typing import Any

import pytest

from governance.models import AccessRole
from governance.roles import RECRUITER, sync_role_groups
from tests.factories import RequisitionAccessFactory, RequisitionFactory, UserFactory

# Headless Chromium (`browser`, `page`); real Redis and Celery worker processes
# (`redis_server`, `celery_worker`); a loopback ATS HTTP server (`ats_server`).
pytest_plugins = ["tests.browser", "tests.processes", "tests.ats_server"]


@pytest.fixture
def role_groups(db: Any) -> None:
    """The role groups (recreated after a transactional test's flush removed them)."""
    sync_role_groups()


@pytest.fixture
def requisition(db: Any) -> Any:
    return RequisitionFactory(title="Customer Support Specialist")


@pytest.fixture
def other_requisition(db: Any) -> Any:
    return RequisitionFactory(title="Account Executive")


def _recruiter_on(username: str, requisition: Any) -> Any:
    user = UserFactory(username=username, groups=[RECRUITER])
    RequisitionAccessFactory(user=user, requisition=requisition, role=AccessRole.RECRUITER)
    return user


@pytest.fixture
def alice(role_groups: None, requisition: Any) -> Any:
    return _recruiter_on("alice", requisition)


@pytest.fixture
def bob(role_groups: None, requisition: Any) -> Any:
    return _recruiter_on("bob", requisition)


@pytest.fixture
def charlie(role_groups: None, other_requisition: Any) -> Any:
    return _recruiter_on("charlie", other_requisition)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Each test starts with an empty cache: the API throttle keeps its history there, keyed by
    user id, and ids are reused after rollbacks (SQLite), so history must not leak across tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
