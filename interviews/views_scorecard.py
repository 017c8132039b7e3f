"""Compact score card of an interview's current result: ``/results/<interview public id>/``.

The URL is the ``profile_url`` we hand to ATSs and partner APIs
(``services.results.result_profile_url``), so it must stay exactly there.

The same card, without artifact links, appears on the hiring-manager home page
(``config.views.home``). :func:`score_cards_build` builds any number of cards in a fixed number of
queries (subscores and decisions are fetched for all cards at once), which is why it does not
reuse ``interviews.api.ResultSummarySerializer``: the serializer queries per result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from governance import audit
from governance.artifacts import ARTIFACT_KINDS, artifact_url
from governance.capabilities import Capability
from governance.models import Decision, DecisionOutcome, OverrideReason
from governance.permissions import decisions_visible_to, get_result_for_user
from interviews.api import candidate_display_name
from interviews.models import CompetencyScore, InterviewResult, InterviewStatus, ResultFlag
from interviews.scoring import band_for, recommended_outcome
from interviews.services.results import band_label, score_number

__all__ = ["ScoreCard", "score_card", "score_cards_build"]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# Plain-language explanations of each flag, for people who do not know the scoring rules.
FLAG_EXPLANATIONS: dict[str, str] = {
    ResultFlag.BORDERLINE: (
        "The score is within a few points of a band cut: a small difference would change the "
        "band, so read the evidence before relying on it."
    ),
    ResultFlag.INTEGRITY: (
        "The interview vendor saw signs that the answers may not be the candidate's own. "
        "A recruiter should check before any decision."
    ),
    ResultFlag.TECHNICAL: (
        "Something went wrong technically (audio, connection or similar), so the score may not "
        "reflect the candidate fairly."
    ),
    ResultFlag.LOW_CONFIDENCE: (
        "The vendor was not confident in its own scoring of this interview; treat the score as "
        "a rough guide."
    ),
    ResultFlag.SHORT_TRANSCRIPT: (
        "The transcript is missing or very short, so there is little evidence behind the score."
    ),
}
# Colour of the band badge and bars; the badge always shows the band's name as text too.
BAND_TONES = {
    "strong": "tone-strong",
    "proceed": "tone-proceed",
    "borderline": "tone-borderline",
    "insufficient_evidence": "tone-low",
}
ARTIFACT_LABELS = {"transcript": "Transcript", "recording": "Recording", "report": "Vendor report"}


def _num(value: Decimal | float | int) -> str:
    """A score as SVG/attribute text: "72" or "72.5" (never localized, never "72,5")."""
    return str(score_number(Decimal(str(value))))


@dataclass
class ScoreCard:
    """Everything one card shows; built by :func:`score_cards_build`."""

    result: InterviewResult
    url: str
    candidate: str
    requisition: str
    department: str
    status: str
    completed_at: Any
    is_rehearsal: bool
    score: str
    band: str
    band_label: str
    tone: str
    recommendation: str
    cuts: list[dict[str, str]]
    competencies: list[dict[str, Any]] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    flags: list[dict[str, str]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, str]] = field(default_factory=list)


def score_cards_build(
    results: Iterable[InterviewResult], *, viewer: Any, with_artifacts: bool = False
) -> list[ScoreCard]:
    """Cards for already-scoped results (with interview, application, candidate, requisition
    loaded); two queries for all subscores and decisions, however many cards.

    ``with_artifacts`` adds the signed artifact links ``artifact_url`` allows this viewer (a
    few capability queries per card: use it for one card, not a list).
    """
    results = list(results)
    ids = [r.pk for r in results]
    scores: dict[int, list[CompetencyScore]] = defaultdict(list)
    decisions: dict[int, list[Decision]] = defaultdict(list)
    if ids:
        for row in (
            CompetencyScore.objects.filter(result_id__in=ids)
            .select_related("competency")
            .order_by("competency__position", "competency__pk")
        ):
            scores[row.result_id].append(row)
        interview_ids = {r.interview_id for r in results}
        # Every version's decisions count for the interview (a resubmission keeps history).
        for decision in (
            decisions_visible_to(viewer)
            .filter(result__interview_id__in=interview_ids)
            .select_related("decided_by", "result")
            .order_by("-created_at", "-pk")
        ):
            decisions[decision.result.interview_id].append(decision)
    return [
        _card(r, scores[r.pk], decisions[r.interview_id], viewer, with_artifacts) for r in results
    ]


def _card(
    result: InterviewResult,
    scores: list[CompetencyScore],
    decisions: list[Decision],
    viewer: Any,
    with_artifacts: bool,
) -> ScoreCard:
    interview = result.interview
    application = interview.application
    candidate = application.candidate
    thresholds = result.band_thresholds or []
    flag_labels = dict(ResultFlag.choices)
    outcome_labels = dict(DecisionOutcome.choices)
    override_labels = dict(OverrideReason.choices)
    corrected = {d.corrects_id for d in decisions if d.corrects_id}
    card = ScoreCard(
        result=result,
        url=reverse("interviews:score-card", args=[interview.public_id]),
        candidate=candidate_display_name(candidate.first_name, candidate.last_name),
        requisition=application.requisition.title,
        department=application.requisition.department,
        status=InterviewStatus(interview.status).label,
        completed_at=interview.completed_at,
        is_rehearsal=interview.is_rehearsal,
        score=_num(result.score),
        band=result.band,
        band_label=band_label(result.band),
        tone=BAND_TONES.get(result.band, "tone-other"),
        recommendation=outcome_labels.get(recommended_outcome(result.band), ""),
        # The cuts (not the floor at 0) are drawn as ticks on every bar.
        cuts=[
            {"label": band_label(str(b["name"])), "min": _num(b["min"])}
            for b in thresholds
            if Decimal(str(b["min"])) > 0
        ],
        bullets=list(result.summary_bullets or []),
    )
    card.competencies = [_competency(s, thresholds) for s in scores]
    card.flags = [
        {
            "code": flag,
            "label": flag_labels.get(flag, flag),
            "explanation": FLAG_EXPLANATIONS.get(flag, ""),
        }
        for flag in result.flags or []
    ]
    card.decisions = [
        {
            "outcome": outcome_labels.get(d.outcome, d.outcome),
            "recommended": outcome_labels.get(d.recommended_outcome, d.recommended_outcome),
            "is_override": d.is_override,
            "override_reason": override_labels.get(d.override_reason, ""),
            "override_text": d.override_text,
            "by": d.decided_by.get_full_name() or d.decided_by.get_username(),
            "at": d.created_at,
            "version": d.result.version,
            "superseded": d.pk in corrected,
            "is_correction": d.corrects_id is not None,
        }
        for d in decisions
    ]
    if with_artifacts:
        for kind in ARTIFACT_KINDS:
            # None unless this viewer holds the kind's capability and the artifact still exists.
            url = artifact_url(user=viewer, interview_or_result=result, kind=kind)
            if url:
                card.artifacts.append({"kind": kind, "label": ARTIFACT_LABELS[kind], "url": url})
    return card


def _competency(score: CompetencyScore, thresholds: list[dict[str, Any]]) -> dict[str, Any]:
    """One subscore with the band its own score falls in against the same cuts (colour and
    words: the band is also written next to the number, never shown by colour alone)."""
    band = band_for(score.score, thresholds) if thresholds else ""
    return {
        "name": score.competency.name,
        "score": _num(score.score),
        "evidence": score.evidence,
        "band_label": band_label(band) if band else "",
        "tone": BAND_TONES.get(band, "tone-other"),
    }


@require_GET
@login_required
@vary_on_headers("HX-Request")
def score_card(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """The current result of one interview; 404 outside the viewer's scope (no leak)."""
    result = get_result_for_user(
        request.user, public_id=public_id, capability=Capability.VIEW_SUMMARY
    )
    (card,) = score_cards_build([result], viewer=request.user, with_artifacts=True)
    # ATOMIC_REQUESTS wraps the view, so the view event commits with the response.
    audit.record_view(user=request.user, target=result, what="score_card")
    template = "interviews/score_card.html"
    if request.htmx and not request.htmx.boosted:
        template += "#score-card"
    return render(request, template, {"card": card})
