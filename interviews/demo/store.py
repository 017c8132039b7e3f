"""Insert what is missing, keyed by natural keys, and count what was created per step."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from django.db import models

Key = tuple[Hashable, ...]


class Tally:
    """Prints one line per step ("created" / "already present") and keeps the running total."""

    def __init__(self, write: Callable[[str], object]) -> None:
        self.write = write
        self.created = 0

    def report(self, label: str, created: int, total: int) -> None:
        self.created += created
        present = total - created
        self.write(f"{label + ':':<24}{created:>5} created{present:>6} already present")


def ensure[M: models.Model](
    tally: Tally,
    label: str,
    queryset: models.QuerySet[M],
    rows: Sequence[M],
    key: Callable[[M], Key],
) -> dict[Key, M]:
    """Insert the rows whose key is not in ``queryset`` yet; return all rows by key.

    Rows arrive complete, historical timestamps included: nothing is updated after the insert,
    so tables with append-only triggers (decisions, audit events) can be seeded too.
    """
    existing = {key(obj): obj for obj in queryset}
    new = [obj for obj in rows if key(obj) not in existing]
    if new:
        queryset.model.objects.bulk_create(new, batch_size=500)
    tally.report(label, len(new), len(rows))
    return existing | {key(obj): obj for obj in new}
