"""REST API of the interviews app: the summary of an interview's current result.

What a summary is (the same for every role that may see it; hiring managers included):

- the interview (public id, status, completion time, rehearsal flag) and the requisition
  (id, title);
- the candidate as a display name only — first name and last initial ("Ada L."): no e-mail, no
  ATS ids. A summary is for reading a result, not for identifying or contacting a person;
- the current result: version, score, band and its label, the band's recommendation, vendor
  confidence, flags with labels, the 1–3 evidence bullets and the competency subscores (with the
  reviewer-facing evidence line of each);
- the decisions on the interview (every result version, newest first) and the one in force;
- what the viewer may do here (``capabilities``);
- artifact links (transcript, recording, vendor report): only links made by
  ``governance.artifacts.artifact_url`` — signed for this viewer, checked again when opened,
  expiring within minutes — and only where the viewer holds the kind's capability
  (view_transcript, view_recording; view_summary for the report); ``null`` otherwise. The
  vendor's own URLs are never returned.

Opening a summary writes a view event (``audit.record_view(what="summary")``), the raw material of
the usage-depth metric.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from governance import audit
from governance.api import ERROR_RESPONSES, PUBLIC_ID, DecisionSerializer, ScopedAPIView
from governance.artifacts import ARTIFACT_KINDS, artifact_url
from governance.capabilities import Capability, can
from governance.models import DecisionOutcome
from governance.permissions import get_result_for_user
from governance.selectors import decision_latest, decisions_list, result_competency_scores
from interviews.models import InterviewResult, ResultFlag
from interviews.scoring import recommended_outcome
from interviews.services.results import band_label


def candidate_display_name(first_name: str, last_name: str) -> str:
    """First name and last initial ("Ada L."); whichever part exists when one is missing."""
    first = (first_name or "").strip()
    last = (last_name or "").strip()
    if first and last:
        return f"{first} {last[0].upper()}."
    return first or (f"{last[0].upper()}." if last else "")


class InterviewRefSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    status = serializers.CharField()
    completed_at = serializers.DateTimeField(allow_null=True)
    is_rehearsal = serializers.BooleanField()


class RequisitionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class CandidateRefSerializer(serializers.Serializer):
    display_name = serializers.CharField(help_text="First name and last initial.")


class FlagSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class CompetencySerializer(serializers.Serializer):
    key = serializers.CharField(source="competency.key")
    name = serializers.CharField(source="competency.name")
    score = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    evidence = serializers.CharField()


class CapabilitiesSerializer(serializers.Serializer):
    view_transcript = serializers.BooleanField()
    view_recording = serializers.BooleanField()
    decide = serializers.BooleanField()
    override = serializers.BooleanField()


class ArtifactsSerializer(serializers.Serializer):
    """Signed links that expire within minutes; null when not allowed or absent."""

    transcript = serializers.URLField(allow_null=True)
    recording = serializers.URLField(allow_null=True)
    report = serializers.URLField(allow_null=True)


class ResultSummarySerializer(serializers.Serializer):
    """A compact score card of an interview's current result."""

    interview = InterviewRefSerializer()
    requisition = serializers.SerializerMethodField()
    candidate = serializers.SerializerMethodField()
    version = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    band = serializers.CharField()
    band_label = serializers.SerializerMethodField()
    recommended_outcome = serializers.SerializerMethodField()
    confidence = serializers.FloatField(allow_null=True)
    flags = serializers.SerializerMethodField()
    summary_bullets = serializers.ListField(child=serializers.CharField())
    competencies = serializers.SerializerMethodField()
    decisions = serializers.SerializerMethodField()
    current_decision = serializers.SerializerMethodField()
    capabilities = serializers.SerializerMethodField()
    artifacts = serializers.SerializerMethodField()

    @property
    def viewer(self) -> Any:
        return self.context["viewer"]

    @extend_schema_field(RequisitionRefSerializer)
    def get_requisition(self, result: InterviewResult) -> dict[str, Any]:
        requisition = result.interview.application.requisition
        return {"id": requisition.pk, "title": requisition.title}

    @extend_schema_field(CandidateRefSerializer)
    def get_candidate(self, result: InterviewResult) -> dict[str, str]:
        candidate = result.interview.application.candidate
        return {"display_name": candidate_display_name(candidate.first_name, candidate.last_name)}

    def get_band_label(self, result: InterviewResult) -> str:
        return band_label(result.band)

    @extend_schema_field(serializers.ChoiceField(choices=DecisionOutcome.choices))
    def get_recommended_outcome(self, result: InterviewResult) -> str:
        return recommended_outcome(result.band)

    @extend_schema_field(FlagSerializer(many=True))
    def get_flags(self, result: InterviewResult) -> list[dict[str, str]]:
        labels = dict(ResultFlag.choices)
        return [{"code": flag, "label": labels.get(flag, flag)} for flag in result.flags or []]

    @extend_schema_field(CompetencySerializer(many=True))
    def get_competencies(self, result: InterviewResult) -> Any:
        return CompetencySerializer(result_competency_scores(result=result), many=True).data

    @extend_schema_field(DecisionSerializer(many=True))
    def get_decisions(self, result: InterviewResult) -> Any:
        decisions = decisions_list(viewer=self.viewer, interview=result.interview)
        return DecisionSerializer(decisions, many=True).data

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_current_decision(self, result: InterviewResult) -> int | None:
        if not self.viewer.has_perm("governance.view_decision"):
            return None
        latest = decision_latest(result=result)
        return latest.pk if latest is not None else None

    @extend_schema_field(CapabilitiesSerializer)
    def get_capabilities(self, result: InterviewResult) -> dict[str, bool]:
        return {
            cap: can(self.viewer, cap, result)
            for cap in ("view_transcript", "view_recording", "decide", "override")
        }

    @extend_schema_field(ArtifactsSerializer)
    def get_artifacts(self, result: InterviewResult) -> dict[str, str | None]:
        # artifact_url answers None unless this viewer holds the kind's capability on the result
        # and the artifact exists (not deleted under retention).
        request = self.context.get("request")
        links: dict[str, str | None] = {}
        for kind in ARTIFACT_KINDS:
            url = artifact_url(user=self.viewer, interview_or_result=result, kind=kind)
            links[kind] = request.build_absolute_uri(url) if url and request else url
        return links


class ResultSummaryView(ScopedAPIView):
    """``/api/results/<interview public id>/``"""

    @extend_schema(
        operation_id="results_retrieve",
        summary="Summary of an interview's current result",
        parameters=[PUBLIC_ID],
        responses={200: ResultSummarySerializer, **ERROR_RESPONSES},
        tags=["results"],
    )
    def get(self, request: Request, public_id: str) -> Response:
        result = get_result_for_user(
            request.user, public_id=public_id, capability=Capability.VIEW_SUMMARY
        )
        audit.record_view(user=request.user, target=result, what="summary")
        data = ResultSummarySerializer(result, context={"request": request, "viewer": request.user})
        return Response(data.data)
