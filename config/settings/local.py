"""Settings for `make demo` and local development: SQLite by default, Celery run eagerly."""

from __future__ import annotations

import os

# The demo runs without a broker: tasks run in-process. Set before base reads it.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("DJANGO_DEBUG", "true")

from config.settings.base import *  # noqa: F403
from config.settings.base import env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-local-development-only-key")
FIELD_ENCRYPTION_KEY = env.str(
    "SCREENBRIDGE_FIELD_ENCRYPTION_KEY", default="local-development-only-encryption-key"
)
