"""Events that integrations publishes for the other apps (it imports neither of them).

``application_stage_changed`` is sent after the transaction that moved the application commits,
with keyword arguments ``application`` (Application), ``old`` and ``new`` (canonical stage values)
and ``event`` (the InboundEvent, or None for a reconcile repair).
"""

from __future__ import annotations

from django.dispatch import Signal

application_stage_changed = Signal()
