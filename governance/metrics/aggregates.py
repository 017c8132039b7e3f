"""Percentiles computed by the database (PostgreSQL ``percentile_cont``), with a SQLite fallback.

PostgreSQL: one query with ``percentile_cont(p) WITHIN GROUP (ORDER BY value)`` and the extra
aggregates over the filtered rows (a derived table built from the ORM query), grouped several
ways at once with ``GROUPING SETS`` so a set of rows is read once.
SQLite has no ordered-set aggregates, so the fallback reads the rows in one query, aggregates
them and interpolates exactly as ``percentile_cont`` does. Either way it is one query per call.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import Expression, F, QuerySet

TOTAL: Hashable = ("all groups",)  # the key of the row over every group (``total=True``)
EXTRA_FUNCTIONS = ("sum", "max", "min")


@dataclass(frozen=True)
class Stats:
    """One group's figures: non-null values, their percentiles (seconds), the extra aggregates."""

    count: int
    percentiles: list[float | None]
    extra: dict[str, Any] = field(default_factory=dict)


Group = str | tuple[str, ...] | None


def _group_names(group: Group) -> list[str]:
    return [] if group is None else [group] if isinstance(group, str) else list(group)


def _key(group: Group, name: str, value: Any) -> Hashable:
    """A group's key: its value, or (name, value) when there are several grouping sets."""
    return value if isinstance(group, str) else (name, value)


def _postgresql_stats(
    queryset: QuerySet[Any],
    expression: Expression,
    group: Group,
    total: bool,
    fractions: tuple[float, ...],
    extra: dict[str, tuple[str, Expression]],
) -> dict[Hashable, Stats]:
    """One query: the values are computed once per row in a derived table, then aggregated.

    (An ORM aggregate would repeat the value's expression in every percentile and the count.)
    Several groups and ``total`` become ``GROUP BY GROUPING SETS``: one scan of the rows.
    """
    groups = _group_names(group)
    inner = queryset.order_by().annotate(_metric_value=expression)
    columns = ["_metric_value"]
    for number, name in enumerate(groups):
        inner = inner.annotate(**{f"_metric_group{number}": F(name)})
        columns.append(f"_metric_group{number}")
    names = list(extra)
    for number, name in enumerate(names):
        inner = inner.annotate(**{f"_metric_extra{number}": extra[name][1]})
        columns.append(f"_metric_extra{number}")
    sql, params = inner.values(*columns).query.sql_with_params()
    group_columns = [f'm."_metric_group{number}"' for number in range(len(groups))]
    select = [f"GROUPING({column})" for column in group_columns] + group_columns
    select += ['count(m."_metric_value")']
    select += [
        f'percentile_cont({float(f)!r}) WITHIN GROUP (ORDER BY m."_metric_value")'
        for f in fractions
    ]
    select += [f'{extra[name][0]}(m."_metric_extra{number}")' for number, name in enumerate(names)]
    grouping = ""
    if len(groups) == 1 and not total:
        grouping = f" GROUP BY {group_columns[0]}"
    elif groups:
        sets = [f"({column})" for column in group_columns] + (["()"] if total else [])
        grouping = f" GROUP BY GROUPING SETS ({', '.join(sets)})"
    # ``sql`` is Django's compiled query (its values stay in ``params``); the rest is ours.
    outer = f"SELECT {', '.join(select)} FROM ({sql}) AS m{grouping}"  # noqa: S608
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(outer, params)
        rows = cursor.fetchall()
    result: dict[Hashable, Stats] = {}
    width = len(groups)
    for row in rows:
        key: Hashable = None
        if groups:
            grouped = [number for number in range(width) if not row[number]]
            key = TOTAL
            if grouped:
                number = grouped[0]
                key = _key(group, groups[number], row[width + number])
        rest = row[2 * width :]
        values = rest[1 : 1 + len(fractions)]
        extras = rest[1 + len(fractions) :]
        result[key] = Stats(
            count=rest[0],
            percentiles=[_seconds(value) for value in values],
            extra={
                name: _extra_value(extra[name][0], value)
                for name, value in zip(names, extras, strict=True)
            },
        )
    return result


def _extra_value(function: str, value: Any) -> Any:
    return 0 if function == "sum" and value is None else value


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


def _python_stats(
    queryset: QuerySet[Any],
    expression: Expression,
    group: Group,
    total: bool,
    fractions: tuple[float, ...],
    extra: dict[str, tuple[str, Expression]],
) -> dict[Hashable, Stats]:
    """The SQLite fallback: one query for the rows, then ``percentile_cont``'s interpolation."""
    groups = _group_names(group)
    names = list(extra)
    annotated = queryset.order_by().annotate(_metric_value=expression)
    for number, name in enumerate(names):
        annotated = annotated.annotate(**{f"_metric_extra{number}": extra[name][1]})
    fields = [*groups, "_metric_value", *(f"_metric_extra{n}" for n in range(len(names)))]
    if not names:
        annotated = annotated.filter(_metric_value__isnull=False)
    values: dict[Hashable, list[float]] = defaultdict(list)
    extras: dict[Hashable, list[list[Any]]] = defaultdict(lambda: [[] for _ in names])
    for row in annotated.values_list(*fields):
        keys: list[Hashable] = [_key(group, name, row[n]) for n, name in enumerate(groups)]
        if not groups:
            keys = [None]
        elif total:
            keys.append(TOTAL)
        seconds = _seconds(row[len(groups)])
        for key in keys:
            if seconds is not None:
                values[key].append(seconds)
            for column, item in zip(extras[key], row[len(groups) + 1 :], strict=True):
                if item is not None:
                    column.append(item)
    result: dict[Hashable, Stats] = {}
    for key in set(values) | set(extras):
        items = sorted(values.get(key, []))
        result[key] = Stats(
            count=len(items),
            percentiles=[percentile_cont(items, f) for f in fractions],
            extra={
                name: _python_aggregate(extra[name][0], column)
                for name, column in zip(names, extras[key], strict=True)
            },
        )
    return result


def _python_aggregate(function: str, items: list[Any]) -> Any:
    if function == "sum":
        return sum(items[1:], items[0]) if items else 0
    if not items:
        return None
    return max(items) if function == "max" else min(items)


def grouped_stats(
    queryset: QuerySet[Any],
    expression: Expression,
    *,
    group: Group = None,
    total: bool = False,
    fractions: tuple[float, ...] = (0.5, 0.9),
    extra: dict[str, tuple[str, Expression]] | None = None,
) -> dict[Hashable, Stats]:
    """Percentiles of ``expression`` (in seconds) and ``extra`` aggregates, in one query.

    Keys: the ``group`` values (``None`` when ungrouped: always present, even without rows); for
    a tuple of groups (grouping sets over the same rows), ``(group, value)``; with ``total=True``
    also ``TOTAL``, the figures over all rows. ``extra`` maps a name to
    (``"sum"``, ``"max"`` or ``"min"``, an expression on the rows); a sum over no rows is 0.
    """
    extra = extra or {}
    for function, _expression in extra.values():
        if function not in EXTRA_FUNCTIONS:
            raise ValueError(f"unknown aggregate {function!r}")
    database = connections[queryset.db]
    compute = _postgresql_stats if database.vendor == "postgresql" else _python_stats
    result = compute(queryset, expression, group, total, fractions, extra)
    for key in [None] if group is None else [TOTAL] if total else []:
        if key not in result:
            result[key] = Stats(
                count=0,
                percentiles=[None] * len(fractions),
                extra={name: _extra_value(function, None) for name, (function, _) in extra.items()},
            )
    return result
