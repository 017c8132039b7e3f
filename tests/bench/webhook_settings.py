"""Production settings plus the bench-only baseline view (used by bench_webhook.py only)."""

from __future__ import annotations

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "tests.bench.baseline_urls"
