"""Stop switches: the public check other apps call before launching anything.

A switch is global, per plan or per vendor. While one is active in an interview's scope no new
interview launches — checked at launch time, so it takes effect from the next request on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from governance.models import StopScope, StopSwitch

if TYPE_CHECKING:
    from interviews.models import InterviewPlan, Vendor


def active_stop(
    *, plan: InterviewPlan | None = None, vendor: Vendor | None = None
) -> StopSwitch | None:
    """The active switch that stops launches for this plan/vendor (global first), or None."""
    scope = Q(scope=StopScope.GLOBAL)
    if plan is not None:
        scope |= Q(scope=StopScope.PLAN, plan=plan)
    if vendor is not None:
        scope |= Q(scope=StopScope.VENDOR, vendor=vendor)
    # Global first, then plan, then vendor: the broadest reason is the one reported.
    switches = StopSwitch.objects.filter(scope, active=True).select_related("plan", "vendor")
    order = {StopScope.GLOBAL: 0, StopScope.PLAN: 1, StopScope.VENDOR: 2}
    return min(switches, key=lambda s: order[s.scope], default=None)
