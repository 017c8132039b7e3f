"""The recruiters' review queue, mounted at ``/review/`` inside the ``interviews`` namespace."""

from __future__ import annotations

from django.urls import path

from interviews import views

urlpatterns = [
    path("", views.review_queue, name="review-queue"),
    path("<int:pk>/claim/", views.review_claim, name="review-claim"),
    path("<int:pk>/release/", views.review_release, name="review-release"),
    path("<int:pk>/decide/", views.review_decide, name="review-decide"),
]
