"""Object-level access: every queryset of candidate data is scoped through these helpers.

Who sees which requisitions (and so every application, interview, result, review task and
decision on them):

- **Hiring-ops admins and auditors** see every requisition's records (metadata; transcripts and
  recordings are a separate capability, see ``governance.capabilities``).
- **Recruiters** see the requisitions they hold a ``RequisitionAccess(role=recruiter)`` grant on,
  plus every requisition — present or future — of a role family they hold a
  ``RoleFamilyAccess`` grant on (through the requisition's ``RoleFamilyMembership``).
- **Hiring managers** see only the requisitions they hold a
  ``RequisitionAccess(role=hiring_manager)`` grant on.

A grant only counts for the role group the user is in: a recruiter-only user gains nothing from a
hiring-manager grant and vice versa. A user without any role group sees nothing. On top of the
requisition scope, each helper requires the model's ``view_<model>`` permission, so a hiring
manager (who holds no ``view_reviewtask``) sees no review tasks at all.

Every helper filters with subqueries (``pk__in``/``requisition_id__in``), never with joins over the
grant tables: a user may hold several grants on one requisition, and a join would duplicate rows
(and inflate any counts annotated on them).

Getters: ``get_<object>_for_user(user, *, pk=... | public_id=..., capability=None)``.

- An object outside the user's scope — or one that does not exist — raises ``Http404``. The two
  cases are indistinguishable on purpose: a 403 would confirm that the object exists.
- An object the user may see, but for which they lack the requested ``capability`` (e.g. a hiring
  manager asking to decide, an auditor asking for a transcript), raises ``PermissionDenied``
  (403): the user already knows the object exists, and 403 tells them why they cannot act.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from governance.models import AccessRole, Decision, RequisitionAccess, RoleFamilyAccess
from governance.roles import user_roles
from integrations.models import Application, Requisition, WritebackJob
from interviews.models import Interview, InterviewResult, ReviewTask, RoleFamilyMembership

__all__ = [
    "applications_visible_to",
    "decisions_visible_to",
    "get_application_for_user",
    "get_decision_for_user",
    "get_interview_for_user",
    "get_requisition_for_user",
    "get_result_for_user",
    "get_review_task_for_user",
    "get_writeback_job_for_user",
    "interviews_visible_to",
    "requisition_ids_for_role",
    "requisition_ids_visible_to",
    "requisitions_visible_to",
    "results_visible_to",
    "review_tasks_visible_to",
    "sees_all_requisitions",
    "writeback_jobs_visible_to",
]

# Largest primary key a (bigint) column holds; anything larger cannot exist.
MAX_PK = 2**63 - 1


def sees_all_requisitions(user: Any) -> bool:
    """Admins and auditors see every requisition's metadata."""
    return bool(user_roles(user) & {"admin", "auditor"})


# -- requisition scope ------------------------------------------------------------------------


def requisition_ids_for_role(user: Any, role: str) -> QuerySet[Requisition]:
    """Ids (a ``values("pk")`` subquery) of the requisitions the user works on *as* ``role``.

    ``role`` is an ``AccessRole`` value. Capabilities that belong to one role (deciding is a
    recruiter's job) use this instead of the overall visibility.
    """
    roles = user_roles(user)
    if role == AccessRole.RECRUITER and "recruiter" in roles:
        granted = RequisitionAccess.objects.filter(user=user, role=AccessRole.RECRUITER).values(
            "requisition_id"
        )
        # RoleFamilyAccess covers the family's requisitions at query time, so a requisition that
        # joins the family later is visible without a new grant.
        families = RoleFamilyAccess.objects.filter(user=user).values("role_family_id")
        by_family = RoleFamilyMembership.objects.filter(role_family_id__in=families).values(
            "requisition_id"
        )
        return Requisition.objects.filter(Q(pk__in=granted) | Q(pk__in=by_family)).values("pk")
    if role == AccessRole.HIRING_MANAGER and "hiring_manager" in roles:
        granted = RequisitionAccess.objects.filter(
            user=user, role=AccessRole.HIRING_MANAGER
        ).values("requisition_id")
        return Requisition.objects.filter(pk__in=granted).values("pk")
    return Requisition.objects.none().values("pk")


def requisition_ids_visible_to(user: Any) -> QuerySet[Requisition] | None:
    """Ids (subquery) of every requisition the user sees; ``None`` means "all of them"."""
    if sees_all_requisitions(user):
        return None
    recruiter = requisition_ids_for_role(user, AccessRole.RECRUITER)
    manager = requisition_ids_for_role(user, AccessRole.HIRING_MANAGER)
    return Requisition.objects.filter(Q(pk__in=recruiter) | Q(pk__in=manager)).values("pk")


def _scoped[M: Model](
    user: Any, manager_qs: QuerySet[M], permission: str, requisition_path: str
) -> QuerySet[M]:
    """``manager_qs`` restricted to the user's requisitions, if they hold ``permission``."""
    if not user_roles(user) or not user.has_perm(permission):
        return manager_qs.none()
    ids = requisition_ids_visible_to(user)
    if ids is None:
        return manager_qs
    return manager_qs.filter(**{f"{requisition_path}__in": ids})


def requisitions_visible_to(user: Any) -> QuerySet[Requisition]:
    """Requisitions the user may see."""
    return _scoped(user, Requisition.objects.all(), "integrations.view_requisition", "pk")


def applications_visible_to(user: Any) -> QuerySet[Application]:
    """Applications on requisitions the user may see."""
    return _scoped(
        user, Application.objects.all(), "integrations.view_application", "requisition_id"
    )


def interviews_visible_to(user: Any) -> QuerySet[Interview]:
    """Interviews of applications the user may see (hiring managers: none)."""
    return _scoped(
        user, Interview.objects.all(), "interviews.view_interview", "application__requisition_id"
    )


def results_visible_to(user: Any) -> QuerySet[InterviewResult]:
    """Interview results (every version) on requisitions the user may see."""
    return _scoped(
        user,
        InterviewResult.objects.all(),
        "interviews.view_interviewresult",
        "interview__application__requisition_id",
    )


def review_tasks_visible_to(user: Any) -> QuerySet[ReviewTask]:
    """Review-queue items on requisitions the user may see (hiring managers: none)."""
    return _scoped(
        user,
        ReviewTask.objects.all(),
        "interviews.view_reviewtask",
        "interview__application__requisition_id",
    )


def decisions_visible_to(user: Any) -> QuerySet[Decision]:
    """Human decisions on requisitions the user may see."""
    return _scoped(
        user, Decision.objects.all(), "governance.view_decision", "application__requisition_id"
    )


def writeback_jobs_visible_to(user: Any) -> QuerySet[WritebackJob]:
    """Outbox rows of the requisitions the user may see (admins and auditors: the only roles
    holding ``view_writebackjob``, so in practice every job, those without an application too)."""
    return _scoped(
        user,
        WritebackJob.objects.all(),
        "integrations.view_writebackjob",
        "application__requisition_id",
    )


# -- getters ----------------------------------------------------------------------------------


def _get[M: Model](queryset: QuerySet[M], user: Any, capability: str | None, **lookup: Any) -> M:
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise Http404("Not found.")
    if capability is not None:
        from governance.capabilities import can

        if not can(user, capability, obj):
            raise PermissionDenied(f"You do not have the {capability!r} capability here.")
    return obj


def _uuid(value: Any) -> uuid.UUID:
    """A public id from a URL; anything that is not a UUID cannot exist (404)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Http404("Not found.") from None


def get_requisition_for_user(user: Any, *, pk: Any, capability: str | None = None) -> Requisition:
    return _get(requisitions_visible_to(user), user, capability, pk=_int(pk))


def get_application_for_user(user: Any, *, pk: Any, capability: str | None = None) -> Application:
    return _get(
        applications_visible_to(user).select_related("candidate", "requisition"),
        user,
        capability,
        pk=_int(pk),
    )


def get_interview_for_user(
    user: Any, *, public_id: Any, capability: str | None = None
) -> Interview:
    return _get(
        interviews_visible_to(user).select_related("application__requisition", "plan"),
        user,
        capability,
        public_id=_uuid(public_id),
    )


def get_result_for_user(
    user: Any,
    *,
    pk: Any = None,
    public_id: Any = None,
    capability: str | None = "view_summary",
) -> InterviewResult:
    """A result by its own ``pk``, or the *current* result of the interview ``public_id``.

    The interview's public id is what URLs and ATS links carry; the current version is what a
    reviewer reads and decides on.
    """
    if (pk is None) == (public_id is None):
        raise TypeError("pass exactly one of pk and public_id")
    queryset = results_visible_to(user).select_related(
        "interview__application__candidate",
        "interview__application__requisition",
        "interview__application__connection",
        "interview__plan",
    )
    if pk is not None:
        return _get(queryset, user, capability, pk=_int(pk))
    return _get(queryset, user, capability, interview__public_id=_uuid(public_id), is_current=True)


def get_review_task_for_user(user: Any, *, pk: Any, capability: str | None = None) -> ReviewTask:
    return _get(
        review_tasks_visible_to(user).select_related("interview", "result"),
        user,
        capability,
        pk=_int(pk),
    )


def get_decision_for_user(user: Any, *, pk: Any, capability: str | None = None) -> Decision:
    return _get(
        decisions_visible_to(user).select_related("result", "decided_by"),
        user,
        capability,
        pk=_int(pk),
    )


def get_writeback_job_for_user(
    user: Any, *, pk: Any, capability: str | None = None
) -> WritebackJob:
    return _get(
        writeback_jobs_visible_to(user).select_related("connection"), user, capability, pk=_int(pk)
    )


def _int(value: Any) -> int:
    """A primary key from a URL or a form; anything else cannot exist (404)."""
    if isinstance(value, bool):
        raise Http404("Not found.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Http404("Not found.") from None
    if not 1 <= number <= MAX_PK:
        raise Http404("Not found.")
    return number
