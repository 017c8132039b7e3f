"""``/webhooks/vendor/``: interview vendors' status updates and results (namespace ``interviews``).

Included by ``interviews.urls`` without a namespace of its own, so the name is
``interviews:vendor-webhook``.
"""

from __future__ import annotations

from django.urls import path

from interviews import webhooks

urlpatterns = [
    # <str:…> rather than <slug:…> so every address under the prefix gets the JSON 404.
    path("<str:slug>/", webhooks.vendor_webhook, name="vendor-webhook"),
]
