"""Percentiles computed by the database (PostgreSQL ``percentile_cont``), with a SQLite fallback.

PostgreSQL: one grouped query with ``percentile_cont(p) WITHIN GROUP (ORDER BY value)`` over
the filtered rows (a derived table built from the ORM query).
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
from django.db.models import Expression, F, QuerySet


def _postgresql_percentiles(
    queryset: QuerySet[Any],
    expression: Expression,
    group: str | None,
    fractions: tuple[float, ...],
) -> dict[Hashable, tuple[int, list[float | None]]]:
    """One query: the value is computed once per row in a derived table, then aggregated.

    (An ORM aggregate would repeat the value's expression in every percentile and the count.)
    """
    inner = queryset.order_by().annotate(_metric_value=expression)
    columns = ["_metric_value"]
    if group is not None:
        inner = inner.annotate(_metric_group=F(group))
        columns.insert(0, "_metric_group")
    sql, params = inner.values(*columns).query.sql_with_params()
    percentiles = ", ".join(
        f'percentile_cont({float(f)!r}) WITHIN GROUP (ORDER BY m."_metric_value")'
        for f in fractions
    )
    select = 'm."_metric_group", ' if group is not None else ""
    grouping = ' GROUP BY m."_metric_group"' if group is not None else ""
    # ``sql`` is Django's compiled query (its values stay in ``params``); the rest is ours.
    outer = f'SELECT {select}count(m."_metric_value"), {percentiles} FROM ({sql}) AS m{grouping}'  # noqa: S608
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(outer, params)
        rows = cursor.fetchall()
    result: dict[Hashable, tuple[int, list[float | None]]] = {}
    for row in rows:
        key, rest = (row[0], row[1:]) if group is not None else (None, row)
        count, values = rest[0], rest[1:]
        if count or group is None:
            result[key] = (count, [_seconds(value) for value in values])
    if group is None and None not in result:
        result[None] = (0, [None] * len(fractions))
    return result


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
        return _postgresql_percentiles(queryset, expression, group, fractions)
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
