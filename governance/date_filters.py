"""A date range as a page filter: the form fields and the bounds of whole local days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

__all__ = ["DateRangeForm", "day_bounds"]


class DateRangeForm(forms.Form):
    """``date_from`` and ``date_to`` (inclusive), both optional; an inverted range is an error."""

    date_from = forms.DateField(
        label="From (date)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label="To (date, inclusive)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def day_bounds(
    date_from: date | None, date_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """``(start, end)`` for ``column >= start`` and ``column < end``: whole days in the current
    time zone, as bounds on an indexed column. ``None`` for an open end."""
    start = _start_of(date_from) if date_from else None
    end = _start_of(date_to + timedelta(days=1)) if date_to else None
    return start, end
