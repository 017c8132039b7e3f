"""Adoption metrics of the automated interview: pilot vs. baseline (issue 7, parts 1–2).

``compute(filters, viewer=None) -> MetricsReport`` is the one entry point: the dashboard
(``/metrics/``), its CSV export and ``manage.py metrics_report`` all print what it returns, and
a later REST endpoint can serialize the same dataclasses. Definitions: docs/metrics.md.
"""

from __future__ import annotations

from governance.metrics.report import MetricsFilters, MetricsReport
from governance.metrics.service import compute

__all__ = ["MetricsFilters", "MetricsReport", "compute"]
