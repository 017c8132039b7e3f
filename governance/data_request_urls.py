"""``/data-requests/``: open candidate data requests (``governance`` namespace)."""

from __future__ import annotations

from django.urls import path

from governance import data_request_views

urlpatterns = [
    path("", data_request_views.data_requests, name="data-requests"),
    path("<int:pk>/erase/", data_request_views.data_request_erase_view, name="data-request-erase"),
]
