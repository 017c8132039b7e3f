"""The auditor's audit trail page and its CSV export (``GET /audit/``).

Auditors and hiring-ops admins only (anybody else gets 403, anonymous users the login page).
Filters: actor (username or ``system:…`` label), object type, object id, action prefix and a date
range. Newest first, 50 per page, with the counts shown. ``?format=csv`` streams the same
selection as CSV; it needs ``governance.export_auditevent`` and is itself audited
(``audit.export``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from governance import audit
from governance.date_filters import DateRangeForm, day_bounds
from governance.models import AuditEvent
from governance.roles import user_roles

AUDIT_ROLES = frozenset({"auditor", "admin"})
EXPORT_PERMISSION = "governance.export_auditevent"
EXPORT_ACTION = "audit.export"
PAGE_SIZE = 50
EXPORT_CHUNK = 2_000
CHANGES_PREVIEW = 120
CSV_COLUMNS = [
    "id",
    "occurred_at",
    "actor",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "request_id",
    "prev_hash",
    "hash",
]
# The model field behind each CSV column (the "actor" column is the hashed actor label).
_EXPORT_FIELDS = ["actor_label" if column == "actor" else column for column in CSV_COLUMNS]
_CHANGES_COLUMN = CSV_COLUMNS.index("changes")
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection); object
# names come from the ATS, so such cells get a leading apostrophe in the export.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterForm(DateRangeForm):
    field_order = ["actor", "object_type", "object_id", "action", "date_from", "date_to"]

    actor = forms.CharField(
        label="Actor", required=False, max_length=200, help_text="Username, or system:…"
    )
    object_type = forms.CharField(
        label="Object type",
        required=False,
        max_length=100,
        help_text="app.model, e.g. interviews.interviewplan",
        widget=forms.TextInput(attrs={"list": "audit-object-types"}),
    )
    object_id = forms.CharField(label="Object id", required=False, max_length=100)
    action = forms.CharField(
        label="Action starts with", required=False, max_length=100, help_text="e.g. admin."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("actor", "object_type", "object_id", "action"):
            cleaned[name] = (cleaned.get(name) or "").strip()
        cleaned["object_type"] = cleaned["object_type"].lower()
        return cleaned


@require_GET
@login_required
@vary_on_headers("HX-Request")
def audit_trail(request: HttpRequest) -> HttpResponse:
    """The filterable audit trail; ``?format=csv`` exports the same selection."""
    if not user_roles(request.user) & AUDIT_ROLES:
        raise PermissionDenied("The audit trail is for auditors and hiring-ops admins.")
    form = AuditFilterForm(request.GET)
    valid = form.is_valid()
    can_export = request.user.has_perm(EXPORT_PERMISSION)
    if request.GET.get("format") == "csv":
        if not can_export:
            raise PermissionDenied("Exporting the audit trail needs the export permission.")
        if not valid:
            errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            return HttpResponseBadRequest(f"Invalid filters: {errors}", content_type="text/plain")
        return _export_csv(request, form.cleaned_data)

    events = _filtered(form.cleaned_data) if valid else AuditEvent.objects.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page.object_list:
        text = _changes_text(event.changes)
        event.changes_text = text  # type: ignore[attr-defined]
        # Long change sets are folded (a <details> element) after a preview.
        event.changes_preview = (  # type: ignore[attr-defined]
            text[:CHANGES_PREVIEW] + "…" if len(text) > CHANGES_PREVIEW else ""
        )
    context = {
        "form": form,
        "page": page,
        "filtered": valid and any(form.cleaned_data.values()),
        "can_export": can_export and valid,
        "object_types": _object_types(),
    }
    template = "governance/audit_trail.html"
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted:
        template += "#audit-results"
    return render(request, template, context)


def _filtered(filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.get("actor"):
        # The label is the hashed snapshot of who acted (kept after a user is deleted).
        events = events.filter(actor_label=filters["actor"])
    if filters.get("object_type"):
        events = events.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        events = events.filter(object_id=filters["object_id"])
    if filters.get("action"):
        events = events.filter(action__startswith=filters["action"])
    start, end = day_bounds(filters.get("date_from"), filters.get("date_to"))
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    if end is not None:
        events = events.filter(occurred_at__lt=end)
    # Insertion order is chain order: newest first.
    return events.order_by("-pk")


def _changes_text(changes: Any) -> str:
    if isinstance(changes, dict) and set(changes) == {"message"}:
        return str(changes["message"])
    if not changes:
        return ""
    return json.dumps(changes, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)


def _object_types() -> list[str]:
    """Suggestions for the object type field, from the model registry (no query)."""
    return sorted(audit.object_type_of(model) for model in apps.get_models())


# -- CSV export --------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose ``write`` returns the line, for streaming ``csv.writer``."""

    def write(self, value: str) -> str:
        return value


def _export_csv(request: HttpRequest, filters: dict[str, Any]) -> StreamingHttpResponse:
    events = _filtered(filters)
    # Fix the selection now: events recorded while the file streams (this export's own event
    # among them) are not in it, so the audited row count is exact.
    summary = events.order_by().aggregate(rows=Count("pk"), last=Max("pk"))
    last_id = summary["last"] or 0
    audit.record(
        actor=request.user,
        action=EXPORT_ACTION,
        object_type=audit.object_type_of(AuditEvent),
        object_repr="Audit trail CSV export",
        changes={
            "format": "csv",
            "filters": {key: value for key, value in filters.items() if value},
            "rows": summary["rows"],
            "up_to_event": last_id,
        },
        request_id=audit.request_id_of(request),
    )
    response = StreamingHttpResponse(
        _csv_lines(events.filter(pk__lte=last_id)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """Header, then rows newest first, read in keyset chunks (no long-lived cursor: the
    response streams after the request's transaction has ended)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    before: int | None = None
    while True:
        chunk = events if before is None else events.filter(pk__lt=before)
        rows = list(chunk.values_list(*_EXPORT_FIELDS)[:EXPORT_CHUNK])
        if not rows:
            return
        for row in rows:
            yield writer.writerow(_csv_row(row))
        before = rows[-1][0]


def _csv_row(row: tuple[Any, ...]) -> list[Any]:
    pk, occurred_at, *rest = row
    values = [pk, occurred_at.astimezone(UTC).isoformat(), *rest]
    values[_CHANGES_COLUMN] = json.dumps(
        values[_CHANGES_COLUMN], sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder
    )
    return [spreadsheet_safe(value) for value in values]


def spreadsheet_safe(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
