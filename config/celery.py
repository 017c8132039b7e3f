"""Celery application. Settings come from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("screenbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections_around_task(task: Any = None, **kwargs: Any) -> None:
    """Django's rule for a request, around each task: close a connection only when it is past
    ``CONN_MAX_AGE``, broken or left in a transaction; otherwise the next task reuses it.

    Celery's Django fixup would close every connection before and after every task (unless
    ``CELERY_DB_REUSE_MAX`` is set, see config/settings/base.py), so each task paid for a new
    PostgreSQL connection: a third of an invitation's time in the pipeline bench. Eager tasks
    (demo, tests) run inside the caller's transaction and are left alone.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
