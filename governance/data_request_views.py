"""``/data-requests/``: open candidate data requests with their legal clock, and erasure.

Hiring-ops admins and auditors see the page (auditors read-only); only admins with
``governance.change_datarequest`` may erase. Anybody else gets 403, anonymous users the login
page. Each row says in words (not only colour) whether it is due soon (from day 20), overdue or
on legal hold.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from governance.data_requests import WARN_FROM_DAY, data_request_erase, open_requests
from governance.models import DataRequest, DataRequestStatus
from governance.roles import user_roles

TEMPLATE = "governance/data_requests.html"
READ_ROLES = frozenset({"admin", "auditor"})
ERASE_PERMISSION = "governance.change_datarequest"


def _may_erase(user: object) -> bool:
    return "admin" in user_roles(user) and user.has_perm(ERASE_PERMISSION)  # type: ignore[attr-defined]


@require_GET
@login_required
def data_requests(request: HttpRequest) -> HttpResponse:
    if not READ_ROLES & user_roles(request.user):
        raise PermissionDenied("Data requests are for hiring-ops admins and auditors.")
    context = {
        "requests": open_requests(),
        "warn_from_day": WARN_FROM_DAY,
        "may_erase": _may_erase(request.user),
    }
    return render(request, TEMPLATE, context)


@require_POST
@login_required
def data_request_erase_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not _may_erase(request.user):
        raise PermissionDenied("Only hiring-ops admins erase candidate data.")
    data_request = get_object_or_404(DataRequest, pk=pk)
    done = data_request_erase(request_id=data_request.pk, actor=request.user)
    if done.status == DataRequestStatus.COMPLETED:
        messages.success(request, f"Data request {pk}: erased and confirmed by the vendor.")
    elif done.erased_at is None:
        messages.warning(request, f"Data request {pk} was not erased: a legal hold applies.")
    else:
        messages.warning(
            request, f"Data request {pk}: erased here; the vendor has not confirmed yet."
        )
    return redirect("governance:data-requests")
