"""What a user may *do*: role permissions (Django groups) combined with object visibility.

``can(user, capability, obj=None)`` answers one question. Without ``obj`` it says whether the user
holds the capability anywhere (menus, buttons); with ``obj`` (a requisition, application,
interview, result, review task or decision) it also checks that the object lies in the user's
scope (``governance.permissions``).

| capability      | permission needed                  | object scope                            |
|-----------------|------------------------------------|-----------------------------------------|
| view_summary    | interviews.view_interviewresult    | any requisition the user sees           |
| view_transcript | interviews.view_transcript         | any requisition the user sees           |
| view_recording  | interviews.view_recording          | any requisition the user sees           |
| decide          | governance.decide + recruiter role | requisitions granted *as a recruiter*   |
| override        | governance.override + decide       | requisitions granted *as a recruiter*   |
| configure       | hiring-ops admin role              | (global)                                |
| export          | governance.export_auditevent       | (global)                                |

Consequences, by role (the groups in ``governance.roles``):

- Recruiters: everything but configure and export, on their requisitions.
- Hiring managers: view_summary on their requisitions only; never decide, even when a decide
  permission is granted to them by hand — decisions are a recruiter's job.
- Auditors: view_summary on everything, export; transcripts and recordings only when the
  permission is granted to the user explicitly; never decide.
- Admins: view_summary on everything, configure, export; no transcripts unless granted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from governance.models import AccessRole, Decision
from governance.permissions import requisition_ids_for_role, requisition_ids_visible_to
from governance.roles import user_roles
from integrations.models import Application, Requisition
from interviews.models import Interview, InterviewResult, ReviewTask


class Capability(StrEnum):
    VIEW_SUMMARY = "view_summary"
    VIEW_TRANSCRIPT = "view_transcript"
    VIEW_RECORDING = "view_recording"
    DECIDE = "decide"
    OVERRIDE = "override"
    CONFIGURE = "configure"
    EXPORT = "export"


# The Django permission behind each capability (configure is the admin role itself).
PERMISSIONS: dict[Capability, tuple[str, ...]] = {
    Capability.VIEW_SUMMARY: ("interviews.view_interviewresult",),
    Capability.VIEW_TRANSCRIPT: ("interviews.view_transcript",),
    Capability.VIEW_RECORDING: ("interviews.view_recording",),
    Capability.DECIDE: ("governance.decide",),
    Capability.OVERRIDE: ("governance.decide", "governance.override"),
    Capability.CONFIGURE: (),
    Capability.EXPORT: ("governance.export_auditevent",),
}
# Capabilities exercised only in the recruiter role, on requisitions granted to a recruiter.
RECRUITER_ONLY = frozenset({Capability.DECIDE, Capability.OVERRIDE})


def requisition_id_of(obj: Any) -> int:
    """The requisition an object of candidate data belongs to."""
    if isinstance(obj, Requisition):
        return obj.pk
    if isinstance(obj, Application):
        return obj.requisition_id
    if isinstance(obj, Decision):
        return obj.application.requisition_id
    if isinstance(obj, Interview):
        return obj.application.requisition_id
    if isinstance(obj, InterviewResult | ReviewTask):
        return obj.interview.application.requisition_id
    raise TypeError(f"no requisition scope for {type(obj).__name__}")


def can(user: Any, capability: str, obj: Any = None) -> bool:
    """Whether ``user`` holds ``capability`` (on ``obj``, when given). Never raises for users."""
    try:
        cap = Capability(capability)
    except ValueError:
        raise ValueError(f"unknown capability {capability!r}") from None
    roles = user_roles(user)
    if not roles:
        return False
    if cap == Capability.CONFIGURE:
        if "admin" not in roles:
            return False
    elif not all(user.has_perm(permission) for permission in PERMISSIONS[cap]):
        return False
    if cap in RECRUITER_ONLY and "recruiter" not in roles:
        return False
    if obj is None:
        return True
    requisition_id = requisition_id_of(obj)
    if cap in RECRUITER_ONLY:
        return (
            requisition_ids_for_role(user, AccessRole.RECRUITER).filter(pk=requisition_id).exists()
        )
    ids = requisition_ids_visible_to(user)
    if ids is None:
        return True
    return ids.filter(pk=requisition_id).exists()


def capabilities_for(user: Any, obj: Any = None) -> dict[str, bool]:
    """Every capability's answer for one object (what an API response or a page offers)."""
    return {cap.value: can(user, cap, obj) for cap in Capability}
