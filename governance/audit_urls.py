"""``/audit/``: the auditor's audit trail (mounted in the ``governance`` namespace)."""

from __future__ import annotations

from django.urls import path

from governance import audit_views

urlpatterns = [
    path("", audit_views.audit_trail, name="audit-trail"),
]
