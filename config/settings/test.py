"""Settings for the test suite. DATABASE_URL selects PostgreSQL (CI) or SQLite (default)."""

from __future__ import annotations

from config.settings.base import *  # noqa: F403
from config.settings.base import env

SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789abcdef"  # noqa: S105
FIELD_ENCRYPTION_KEY = "test-only-field-encryption-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# Login throttling stays on: tests prove it. force_login bypasses authenticate(), so it is never
# counted or refused; failed attempts are database rows, rolled back with each test.
AXES_ENABLED = True
