"""Score-card pages, mounted at ``results/`` by ``interviews.urls`` (namespace ``interviews``)."""

from __future__ import annotations

from django.urls import path

from interviews import views_scorecard

urlpatterns = [
    path("<str:public_id>/", views_scorecard.score_card, name="score-card"),
]
