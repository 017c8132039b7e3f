"""HTML pages of the interviews app: the recruiters' review queue (``GET /review/``).

One page template (``interviews/review_queue.html``) with partials: ``queue-table`` (filters
apply via htmx), ``queue-row`` (one item, swapped after claim / release / decide) and
``queue-counts`` (sent out-of-band with every row change). Every action is a real POST form with a
``next`` field, so without JavaScript the same endpoints redirect back to the queue.

Recruiters only: anyone without the decide capability gets 403, anonymous users the login page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from governance.capabilities import Capability, can
from governance.models import DecisionOutcome, OverrideReason
from governance.permissions import get_result_for_user, get_review_task_for_user
from governance.services import DecisionError, DecisionValidationError, decision_record
from integrations.models import Requisition
from interviews import scoring
from interviews.models import ReviewReason, ReviewTask, RoleFamily, RoleFamilyMembership
from interviews.services import review
from interviews.services.results import band_label

TEMPLATE = "interviews/review_queue.html"
PAGE_SIZE = 25
AGE_BUCKETS: dict[str, tuple[dt.timedelta | None, dt.timedelta | None]] = {
    # key: (at least this old, younger than this)
    "today": (None, dt.timedelta(days=1)),
    "1-3d": (dt.timedelta(days=1), dt.timedelta(days=3)),
    "3-7d": (dt.timedelta(days=3), dt.timedelta(days=7)),
    "7d+": (dt.timedelta(days=7), None),
}
SORTS = {
    "oldest": ("created_at", "pk"),
    "newest": ("-created_at", "-pk"),
    "score-high": (F("result__score").desc(nulls_last=True), "created_at", "pk"),
    "score-low": (F("result__score").asc(nulls_last=True), "created_at", "pk"),
}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class QueueFilterForm(forms.Form):
    role_family = forms.ChoiceField(required=False, label="Role family")
    requisition = forms.ChoiceField(required=False, label="Requisition")
    reason = forms.ChoiceField(
        required=False, choices=[("", "Any reason"), *ReviewReason.choices], label="Reason"
    )
    band = forms.ChoiceField(
        required=False,
        choices=[("", "Any band")] + [(b, band_label(b)) for b in scoring.BAND_RECOMMENDATION],
        label="Band",
    )
    age = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any age"),
            ("today", "Under a day"),
            ("1-3d", "1–3 days"),
            ("3-7d", "3–7 days"),
            ("7d+", "Over a week"),
        ],
        label="Waiting",
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("oldest", "Oldest first"),
            ("newest", "Newest first"),
            ("score-high", "Highest score"),
            ("score-low", "Lowest score"),
        ],
        label="Sort",
    )

    def __init__(self, *args: Any, requisitions: QuerySet[Requisition], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices come from the viewer's own queue scope (review.review_queue_requisitions, read
        # from the grants, not from the items): no other team's names leak out.
        self.fields["requisition"].choices = [
            ("", "Any requisition"),
            *((str(pk), title) for pk, title in requisitions.values_list("pk", "title")),
        ]
        families = RoleFamily.objects.filter(
            pk__in=RoleFamilyMembership.objects.filter(
                requisition_id__in=requisitions.values("pk")
            ).values("role_family_id")
        ).order_by("name")
        self.fields["role_family"].choices = [("", "Any role family")] + [
            (str(pk), name) for pk, name in families.values_list("pk", "name")
        ]

    def valid_data(self) -> dict[str, Any]:
        """The parameters that are valid; a bad one (``?band=nope``) is ignored on its own
        instead of discarding every other filter with it."""
        self.is_valid()
        return getattr(self, "cleaned_data", {})

    def apply(self, qs: QuerySet[ReviewTask], *, with_reason: bool = True) -> QuerySet[ReviewTask]:
        data = self.valid_data()
        if data.get("role_family"):
            qs = qs.filter(
                interview__application__requisition__role_family_membership__role_family_id=data[
                    "role_family"
                ]
            )
        if data.get("requisition"):
            qs = qs.filter(interview__application__requisition_id=data["requisition"])
        if with_reason and data.get("reason"):
            qs = qs.filter(reason=data["reason"])
        if data.get("band"):
            qs = qs.filter(result__band=data["band"])
        if data.get("age"):
            now = timezone.now()
            older_than, younger_than = AGE_BUCKETS[data["age"]]
            if older_than is not None:
                qs = qs.filter(created_at__lte=now - older_than)
            if younger_than is not None:
                qs = qs.filter(created_at__gt=now - younger_than)
        return qs

    def sort_key(self) -> str:
        return self.valid_data().get("sort") or "oldest"


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=DecisionOutcome.choices, widget=forms.RadioSelect)
    override_reason = forms.ChoiceField(
        required=False,
        choices=[("", "Choose a reason…"), *OverrideReason.choices],
        label="Override reason",
    )
    override_text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why does this depart from the recommendation?",
    )


def _decision_form(task: ReviewTask, data: QueryDict | None = None) -> DecisionForm:
    return DecisionForm(data, prefix=f"task-{task.pk}")


def _require_reviewer(request: HttpRequest) -> None:
    if not can(request.user, Capability.DECIDE):
        raise PermissionDenied("The review queue is for recruiters.")


def _queue_url() -> str:
    return reverse("interviews:review-queue")


def _next_url(request: HttpRequest) -> str:
    """The queue URL (with its filters) to go back to; anything foreign falls back to /review/."""
    candidate = request.POST.get("next", "")
    if (
        candidate
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()})
        and urlsplit(candidate).path == _queue_url()
    ):
        return candidate
    return _queue_url()


def _decorate(tasks: list[ReviewTask], user: Any, bound: dict[int, DecisionForm]) -> None:
    """Per-row display state, computed in Python (no queries per row)."""
    now = timezone.now()
    for task in tasks:
        task.claim = review.claim_state(task, user, now)
        task.recommended = scoring.recommended_outcome(task.result.band) if task.result else ""
        task.band_label = band_label(task.result.band) if task.result else ""
        if task.claim == "mine":
            task.decision_form = bound.get(task.pk) or _decision_form(task)


def _context(
    request: HttpRequest,
    query: QueryDict,
    *,
    bound: dict[int, DecisionForm] | None = None,
) -> dict[str, Any]:
    base = review.review_queue_base(viewer=request.user)
    requisitions = review.review_queue_requisitions(viewer=request.user).order_by("title", "pk")
    form = QueueFilterForm(query, requisitions=requisitions)
    scoped = form.apply(base)
    counts = review.review_queue_reason_counts(form.apply(base, with_reason=False))
    selected_reason = form.valid_data().get("reason", "")
    total = sum(counts.values())
    # Paged over ids only (deferred join): the rows skipped to reach a deep page are sorted and
    # scoped but never joined to candidates, results and requisitions; the page's 25 rows are
    # then read with everything they show.
    paginator = Paginator(
        scoped.order_by(*SORTS[form.sort_key()]).values_list("pk", flat=True), PAGE_SIZE
    )
    # Known from the counts (the same rows, narrowed by reason or not): no COUNT(*) query.
    paginator.count = counts[selected_reason] if selected_reason else total
    page = paginator.get_page(query.get("page"))
    ids = list(page.object_list)
    rows = review.review_queue_list(ReviewTask.objects.filter(pk__in=ids)).in_bulk()
    tasks = [rows[pk] for pk in ids if pk in rows]
    _decorate(tasks, request.user, bound or {})
    reason_counts = [
        (value, label, counts.get(value, 0), value == selected_reason)
        for value, label in ReviewReason.choices
    ]
    return {
        "filter_form": form,
        "page": page,
        "tasks": tasks,
        "reason_counts": reason_counts,
        "total": total,
        "shown_total": page.paginator.count,
        "filtered": any(v for k, v in query.items() if k not in ("page", "sort")),
        "query": query,
        "queue_url": _queue_url(),
        "next_url": f"{_queue_url()}?{query.urlencode()}" if query else _queue_url(),
        "claim_ttl_minutes": int(review.CLAIM_TTL.total_seconds() // 60),
    }


@require_GET
@vary_on_headers("HX-Request")
@login_required
def review_queue(request: HtmxHttpRequest) -> HttpResponse:
    """The queue page; htmx requests (filters, pages, sorting) get the ``queue-table`` partial."""
    _require_reviewer(request)
    context = _context(request, request.GET)
    if request.htmx and not request.htmx.boosted:
        return render(request, f"{TEMPLATE}#queue-table", context)
    return render(request, TEMPLATE, context)


def _row_response(
    request: HttpRequest, task: ReviewTask | None, *, error: str = "", notice: str = ""
) -> HttpResponse:
    """For htmx: the row (or nothing, when it left the queue) plus the counts out of band."""
    next_url = _next_url(request)
    query = QueryDict(urlsplit(next_url).query)
    context = _context(request, query)
    parts: list[str] = []
    if task is not None:
        bound = {task.pk: task.decision_form} if hasattr(task, "decision_form") else {}
        rows = list(review.review_queue_list(ReviewTask.objects.filter(pk=task.pk)))
        _decorate(rows, request.user, bound)
        if rows:
            row = rows[0]
            row.error = error
            parts.append(
                render_to_string(f"{TEMPLATE}#queue-row", {**context, "task": row}, request=request)
            )
    parts.append(
        render_to_string(f"{TEMPLATE}#queue-counts", {**context, "oob": True}, request=request)
    )
    parts.append(
        render_to_string(
            f"{TEMPLATE}#queue-status", {"oob": True, "notice": notice or error}, request=request
        )
    )
    return HttpResponse("".join(parts))


def _task(request: HttpRequest, pk: int) -> ReviewTask:
    _require_reviewer(request)
    task = get_review_task_for_user(request.user, pk=pk, capability=Capability.DECIDE)
    return task


def _claim_action(
    request: HtmxHttpRequest,
    pk: int,
    action: Any,
    *,
    done_inline: str,
    done_page: str,
) -> HttpResponse:
    """Run a claim/release service; htmx gets the row back, plain forms a redirect."""
    task = _task(request, pk)
    try:
        action(task=task, actor=request.user)
    except review.ReviewClaimError as exc:
        if request.htmx:
            return _row_response(request, task, error=str(exc))
        messages.error(request, str(exc))
    else:
        if request.htmx:
            return _row_response(request, task, notice=done_inline)
        messages.success(request, done_page)
    return HttpResponseRedirect(_next_url(request))


@require_POST
@vary_on_headers("HX-Request")
@login_required
def review_claim(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Claim an item; a refused claim (someone else holds it) is shown, not swallowed."""
    return _claim_action(
        request,
        pk,
        review.review_task_claim,
        done_inline="Claimed. The decision form is open.",
        done_page="Claimed. Record your decision below.",
    )


@require_POST
@vary_on_headers("HX-Request")
@login_required
def review_release(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Give a claimed item back to the queue (only its holder can)."""
    return _claim_action(
        request,
        pk,
        review.review_task_release,
        done_inline="Released back to the queue.",
        done_page="Released back to the queue.",
    )


@require_POST
@vary_on_headers("HX-Request")
@login_required
def review_decide(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Record a decision on a claimed item; invalid input → 200 with the form and its errors."""
    task = _task(request, pk)
    if review.claim_state(task, request.user) != "mine":
        message = "Claim this item before deciding, so nobody else works on it at the same time."
        if request.htmx:
            return _row_response(request, task, error=message)
        messages.error(request, message)
        return HttpResponseRedirect(_next_url(request))
    form = _decision_form(task, request.POST)
    candidate = task.interview.application.candidate
    if form.is_valid():
        result = get_result_for_user(
            request.user, public_id=task.interview.public_id, capability=Capability.DECIDE
        )
        try:
            decision_record(
                result=result,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                override_reason=form.cleaned_data["override_reason"],
                override_text=form.cleaned_data["override_text"],
            )
        except DecisionValidationError as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        except DecisionError as exc:
            form.add_error(None, str(exc))
        else:
            notice = f"Decision recorded for {candidate}: {form.cleaned_data['outcome']}."
            if request.htmx:
                return _row_response(request, None, notice=notice)
            messages.success(request, notice)
            return HttpResponseRedirect(_next_url(request))
    task.decision_form = form
    if request.htmx:
        return _row_response(request, task, error="Please correct the decision form.")
    query = QueryDict(urlsplit(_next_url(request)).query)
    context = _context(request, query, bound={task.pk: form})
    if not any(t.pk == task.pk for t in context["tasks"]):
        # The item is on another page of the filtered queue: show it on top so its errors are seen.
        rows = list(review.review_queue_list(ReviewTask.objects.filter(pk=task.pk)))
        _decorate(rows, request.user, {task.pk: form})
        context["tasks"] = rows + context["tasks"]
    return render(request, TEMPLATE, context)
