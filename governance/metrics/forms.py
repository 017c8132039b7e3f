"""The filter form shared by the dashboard, its CSV export and ``manage.py metrics_report``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from governance.metrics.report import MetricsFilters
from governance.permissions import requisition_ids_visible_to
from integrations.models import AtsConnection, Requisition
from interviews.models import RoleFamily

DEFAULT_WEEKS = 12
MAX_RANGE_DAYS = 5 * 366


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last ``DEFAULT_WEEKS`` weeks up to today."""
    today = today or timezone.now().date()
    return today - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1), today


class MetricsFilterForm(forms.Form):
    """Choices are limited to what ``viewer`` may see (``viewer=None``: everything)."""

    role_family = forms.ModelChoiceField(
        queryset=RoleFamily.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="All role families",
    )
    requisition = forms.ModelChoiceField(
        queryset=Requisition.objects.none(), required=False, empty_label="All requisitions"
    )
    connection = forms.ModelChoiceField(
        queryset=AtsConnection.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="All connections",
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data: Any = None, *, viewer: Any = None) -> None:
        super().__init__(data)
        visible = None if viewer is None else requisition_ids_visible_to(viewer)
        families = RoleFamily.objects.order_by("name")
        requisitions = Requisition.objects.order_by("title", "pk")
        connections = AtsConnection.objects.order_by("name")
        if visible is not None:
            families = families.filter(memberships__requisition__in=visible).distinct()
            requisitions = requisitions.filter(pk__in=visible)
            connections = connections.filter(requisitions__in=visible).distinct()
        self.fields["role_family"].queryset = families  # type: ignore[attr-defined]
        self.fields["requisition"].queryset = requisitions  # type: ignore[attr-defined]
        self.fields["connection"].queryset = connections  # type: ignore[attr-defined]
        since, until = default_range()
        self.fields["since"].widget.attrs["placeholder"] = since.isoformat()
        self.fields["until"].widget.attrs["placeholder"] = until.isoformat()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        default_since, default_until = default_range()
        since = cleaned.get("since") or default_since
        until = cleaned.get("until") or default_until
        if since > until:
            raise forms.ValidationError("The start date must not be after the end date.")
        if (until - since).days > MAX_RANGE_DAYS:
            raise forms.ValidationError("Choose a range of at most five years.")
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def filters(self) -> MetricsFilters:
        """The validated filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        return MetricsFilters(
            since=data["since"],
            until=data["until"],
            role_family_id=data["role_family"].pk if data.get("role_family") else None,
            requisition_id=data["requisition"].pk if data.get("requisition") else None,
            connection_id=data["connection"].pk if data.get("connection") else None,
        )
