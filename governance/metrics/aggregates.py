"""Percentiles computed by the database (PostgreSQL ``percentile_cont``), with a SQLite fallback.

PostgreSQL: one grouped query with ``percentile_cont(p) WITHIN GROUP (ORDER BY expr)``.
SQLite has no ordered-set aggregates, so the fallback reads the (group, value) pairs in one query
and interpolates exactly as ``percentile_cont`` does. Either way it is one query per call.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Aggregate, Count, DurationField, Expression, QuerySet


class PercentileCont(Aggregate):
    """``percentile_cont(<fraction>) WITHIN GROUP (ORDER BY <expression>)`` (PostgreSQL)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within 0..1")
        # A float literal we produce ourselves, never user input.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont`` on sorted ``values``: linear interpolation."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def duration_percentiles(
    queryset: QuerySet[Any],
    expression: Expression,
    *,
    group: str | None = None,
    fractions: tuple[float, ...] = (0.5, 0.9),
) -> dict[Hashable, tuple[int, list[float | None]]]:
    """Per group (``None`` when ungrouped): (count of non-null values, percentiles in seconds)."""
    database = connections[queryset.db]
    if database.vendor == "postgresql":
        aggregates = {
            f"p{index}": PercentileCont(expression, fraction=fraction)
            for index, fraction in enumerate(fractions)
        }
        aggregates["n"] = Count(expression)
        if group is None:
            row = queryset.aggregate(**aggregates)
            return {None: (row["n"], [_seconds(row[f"p{i}"]) for i in range(len(fractions))])}
        rows = queryset.order_by().values(group).annotate(**aggregates)
        return {
            row[group]: (row["n"], [_seconds(row[f"p{i}"]) for i in range(len(fractions))])
            for row in rows
            if row["n"]
        }
    values: dict[Hashable, list[float]] = defaultdict(list)
    annotated = queryset.order_by().annotate(_metric_value=expression)
    fields = ("_metric_value",) if group is None else (group, "_metric_value")
    for row in annotated.filter(_metric_value__isnull=False).values_list(*fields):
        key = None if group is None else row[0]
        seconds = _seconds(row[-1])
        if seconds is not None:
            values[key].append(seconds)
    result: dict[Hashable, tuple[int, list[float | None]]] = {}
    for key, items in values.items():
        items.sort()
        result[key] = (len(items), [percentile_cont(items, f) for f in fractions])
    if group is None and None not in result:
        result[None] = (0, [None] * len(fractions))
    return result
