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

The lists under ``/api/v1/`` (applications, interviews, results, review tasks) show candidates the
same way (display name only) and are scoped by ``governance.permissions``; claiming, releasing
and deciding a review task call the review queue's own services (``interviews.services.review``,
``governance.services.decision_record``).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from governance import audit
from governance.api import (
    CONFLICT_RESPONSE,
    ERROR_RESPONSES,
    PARSE_ERROR_RESPONSE,
    PUBLIC_ID,
    ApiCursorPagination,
    BoolFilter,
    Conflict,
    DecisionCreateSerializer,
    DecisionSerializer,
    ErrorSerializer,
    FieldErrorsSerializer,
    IdFilter,
    ScopedAPIView,
    date_range_filters,
    decision_from_request,
    filterset,
    resource_views,
)
from governance.artifacts import ARTIFACT_KINDS, artifact_url
from governance.capabilities import Capability, can
from governance.models import DecisionOutcome
from governance.permissions import (
    applications_visible_to,
    get_application_for_user,
    get_interview_for_user,
    get_result_for_user,
    get_review_task_for_user,
    interviews_visible_to,
    results_visible_to,
    review_tasks_visible_to,
)
from governance.selectors import decision_latest, decisions_list, result_competency_scores
from integrations.models import Application, CanonicalStage
from interviews import scoring
from interviews.models import (
    CompetencyScore,
    Interview,
    InterviewResult,
    InterviewStatus,
    LaunchSource,
    ResultFlag,
    ReviewReason,
    ReviewStatus,
    ReviewTask,
)
from interviews.scoring import recommended_outcome
from interviews.services import review
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


def requisition_ref(application: Application) -> dict[str, Any]:
    requisition = application.requisition
    return {"id": requisition.pk, "title": requisition.title}


def candidate_ref(application: Application) -> dict[str, str]:
    candidate = application.candidate
    return {"display_name": candidate_display_name(candidate.first_name, candidate.last_name)}


class ApplicationRefsMixin(serializers.Serializer):
    """``requisition`` and ``candidate`` of the object's application (``application_path``)."""

    application_path = ""
    requisition = serializers.SerializerMethodField()
    candidate = serializers.SerializerMethodField()

    def _application(self, obj: Any) -> Application:
        for part in self.application_path.split(".") if self.application_path else []:
            obj = getattr(obj, part)
        return obj

    @extend_schema_field(RequisitionRefSerializer)
    def get_requisition(self, obj: Any) -> dict[str, Any]:
        return requisition_ref(self._application(obj))

    @extend_schema_field(CandidateRefSerializer)
    def get_candidate(self, obj: Any) -> dict[str, str]:
        return candidate_ref(self._application(obj))


class BandSerializer(serializers.Serializer):
    """A result's version, score and band with what the band recommends."""

    version = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    band = serializers.CharField()
    band_label = serializers.SerializerMethodField()
    recommended_outcome = serializers.SerializerMethodField()

    def get_band_label(self, result: InterviewResult) -> str:
        return band_label(result.band)

    @extend_schema_field(serializers.ChoiceField(choices=DecisionOutcome.choices))
    def get_recommended_outcome(self, result: InterviewResult) -> str:
        return recommended_outcome(result.band)


class ResultCoreSerializer(ApplicationRefsMixin, BandSerializer):
    """An interview's result: score, band, flags, evidence bullets and subscores."""

    application_path = "interview.application"
    interview = InterviewRefSerializer()
    is_current = serializers.BooleanField()
    received_at = serializers.DateTimeField()
    confidence = serializers.FloatField(allow_null=True)
    flags = serializers.SerializerMethodField()
    summary_bullets = serializers.ListField(child=serializers.CharField())
    competencies = serializers.SerializerMethodField()

    @extend_schema_field(FlagSerializer(many=True))
    def get_flags(self, result: InterviewResult) -> list[dict[str, str]]:
        labels = dict(ResultFlag.choices)
        return [{"code": flag, "label": labels.get(flag, flag)} for flag in result.flags or []]

    @extend_schema_field(CompetencySerializer(many=True))
    def get_competencies(self, result: InterviewResult) -> Any:
        scores = getattr(result, "api_competency_scores", None)  # prefetched by the list
        if scores is None:
            scores = result_competency_scores(result=result)
        return CompetencySerializer(scores, many=True).data


class ResultSummarySerializer(ResultCoreSerializer):
    """A compact score card of an interview's current result."""

    decisions = serializers.SerializerMethodField()
    current_decision = serializers.SerializerMethodField()
    capabilities = serializers.SerializerMethodField()
    artifacts = serializers.SerializerMethodField()

    @property
    def viewer(self) -> Any:
        return self.context["viewer"]

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
    """The score card of an interview's current result (opening it is recorded as a view)."""

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


# -- /api/v1/ lists ---------------------------------------------------------------------------


class ApplicationSerializer(ApplicationRefsMixin):
    """A candidate's application to a requisition, as synced from the ATS."""

    id = serializers.IntegerField()
    connection = serializers.CharField(source="connection.slug")
    canonical_stage = serializers.ChoiceField(choices=CanonicalStage.choices)
    remote_stage_name = serializers.CharField()
    stage_entered_at = serializers.DateTimeField(allow_null=True)
    applied_at = serializers.DateTimeField(allow_null=True)
    last_event_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PlanRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class InterviewSerializer(ApplicationRefsMixin):
    """One automated interview (no invitation link, no vendor references)."""

    application_path = "application"
    public_id = serializers.UUIDField()
    application = serializers.IntegerField(source="application_id")
    plan = PlanRefSerializer()
    status = serializers.ChoiceField(choices=InterviewStatus.choices)
    launch_source = serializers.ChoiceField(choices=LaunchSource.choices)
    is_rehearsal = serializers.BooleanField()
    invited_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ReviewTaskSerializer(ApplicationRefsMixin):
    """An item of the review queue and who works on it."""

    application_path = "interview.application"
    id = serializers.IntegerField()
    interview = serializers.UUIDField(source="interview.public_id")
    reason = serializers.ChoiceField(choices=ReviewReason.choices)
    detail = serializers.CharField()
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    claimed_by = serializers.CharField(source="claimed_by.username", allow_null=True, default=None)
    claimed_at = serializers.DateTimeField(allow_null=True)
    claim = serializers.SerializerMethodField(
        help_text="open, mine, stale (someone else's abandoned claim) or other."
    )
    result = BandSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ChoiceField(choices=["open", "mine", "stale", "other"]))
    def get_claim(self, task: ReviewTask) -> str:
        return review.claim_state(task, self.context["request"].user)


ApplicationFilterSet = filterset(
    Application,
    "requisition",
    stage=django_filters.MultipleChoiceFilter(
        field_name="canonical_stage", choices=CanonicalStage.choices
    ),
    connection=django_filters.CharFilter(field_name="connection__slug", max_length=50),
    **date_range_filters("applied_at", "applied"),
    **date_range_filters("updated_at", "updated"),
)

InterviewFilterSet = filterset(
    Interview,
    "application__requisition",
    status=django_filters.MultipleChoiceFilter(choices=InterviewStatus.choices),
    plan=IdFilter(field_name="plan_id", label="Interview plan id"),
    application=IdFilter(field_name="application_id", label="Application id"),
    is_rehearsal=BoolFilter(),
    **date_range_filters("created_at", "created"),
    **date_range_filters("completed_at", "completed"),
)

ResultFilterSet = filterset(
    InterviewResult,
    "interview__application__requisition",
    band=django_filters.CharFilter(max_length=40),
    current=BoolFilter(
        field_name="is_current", label="Only current versions (true) or only older ones (false)"
    ),
    **date_range_filters("received_at", "received"),
)


ReviewTaskFilterSet = filterset(
    ReviewTask,
    "interview__application__requisition",
    status=django_filters.MultipleChoiceFilter(choices=ReviewStatus.choices),
    reason=django_filters.MultipleChoiceFilter(choices=ReviewReason.choices),
    band=django_filters.ChoiceFilter(
        field_name="result__band",
        choices=[(b, band_label(b)) for b in scoring.BAND_RECOMMENDATION],
    ),
    **date_range_filters("created_at", "created"),
)

APPLICATION_RELATED = ("connection", "candidate", "requisition")


def _applications(user: Any) -> QuerySet[Application]:
    return applications_visible_to(user).select_related(*APPLICATION_RELATED)


def _interviews(user: Any) -> QuerySet[Interview]:
    return interviews_visible_to(user).select_related(
        "plan", *(f"application__{name}" for name in APPLICATION_RELATED[1:])
    )


def _results(user: Any) -> QuerySet[InterviewResult]:
    scores = CompetencyScore.objects.select_related("competency").order_by(
        "competency__position", "competency__pk"
    )
    return (
        results_visible_to(user)
        .select_related("interview__application__candidate", "interview__application__requisition")
        .prefetch_related(Prefetch("competency_scores", scores, to_attr="api_competency_scores"))
    )


def _review_tasks(user: Any) -> QuerySet[ReviewTask]:
    return review.review_queue_list(review_tasks_visible_to(user))


class ResultCursorPagination(ApiCursorPagination):
    ordering = ("-received_at", "-pk")


ApplicationListView, ApplicationDetailView = resource_views(
    serializer=ApplicationSerializer,
    filterset_class=ApplicationFilterSet,
    queryset=_applications,
    getter=get_application_for_user,
    tag="applications",
    plural="Applications",
    singular="application",
)
InterviewListView, InterviewDetailView = resource_views(
    serializer=InterviewSerializer,
    filterset_class=InterviewFilterSet,
    queryset=_interviews,
    getter=get_interview_for_user,
    tag="interviews",
    plural="Interviews",
    singular="interview",
    lookup="public_id",
    parameters=[PUBLIC_ID],
)
# Results: the list only; one result is the score card (ResultSummaryView).
ResultListView, _ = resource_views(
    serializer=ResultCoreSerializer,
    filterset_class=ResultFilterSet,
    queryset=_results,
    getter=get_result_for_user,
    tag="results",
    plural="Results (every version; current=true for the current ones)",
    singular="result",
    pagination=ResultCursorPagination,
)
ReviewTaskListView, ReviewTaskDetailView = resource_views(
    serializer=ReviewTaskSerializer,
    filterset_class=ReviewTaskFilterSet,
    queryset=_review_tasks,
    getter=get_review_task_for_user,
    tag="review tasks",
    plural="Review-queue items",
    singular="review-queue item",
)


class ReviewTaskActionView(ScopedAPIView):
    """Base of claim / release / decide: the task must be one the user may decide on."""

    def task(self, request: Request, pk: int) -> ReviewTask:
        return get_review_task_for_user(request.user, pk=pk, capability=Capability.DECIDE)

    def task_response(self, request: Request, task: ReviewTask) -> Response:
        fresh = _review_tasks(request.user).get(pk=task.pk)
        return Response(ReviewTaskSerializer(fresh, context={"request": request}).data)


class ReviewTaskClaimActionView(ReviewTaskActionView):
    """Claim or release through the queue's service (``service``); a refusal is a 409."""

    service: Any = None

    def post(self, request: Request, pk: int) -> Response:
        task = self.task(request, pk)
        try:
            type(self).service(task=task, actor=request.user)
        except review.ReviewClaimError as exc:
            raise Conflict(str(exc), code="claim_conflict") from None
        return self.task_response(request, task)


def _claim_action_view(name: str, action: Any, summary: str) -> type[ReviewTaskClaimActionView]:
    view = extend_schema_view(
        post=extend_schema(
            summary=summary,
            request=None,
            responses={
                200: OpenApiResponse(ReviewTaskSerializer, description="The item as it is now."),
                **ERROR_RESPONSES,
                409: CONFLICT_RESPONSE,
            },
            tags=["review tasks"],
        )
    )(type(name, (ReviewTaskClaimActionView,), {"service": action, "__doc__": summary + "."}))
    return view


ReviewTaskClaimView = _claim_action_view(
    "ReviewTaskClaimView",
    review.review_task_claim,
    "Claim a review item so nobody else works it (recruiters on its requisition)",
)
ReviewTaskReleaseView = _claim_action_view(
    "ReviewTaskReleaseView",
    review.review_task_release,
    "Give a claimed item back to the queue (only its holder can)",
)


class ReviewTaskDecideView(ReviewTaskActionView):
    """Record a decision on an item you have claimed, as the queue's decide button does."""

    @extend_schema(
        summary="Record a decision on an item you have claimed (closes the item)",
        request=DecisionCreateSerializer,
        responses={
            201: DecisionSerializer,
            400: PARSE_ERROR_RESPONSE,
            **ERROR_RESPONSES,
            409: OpenApiResponse(
                ErrorSerializer,
                description="Not claimed by you, no result to decide on, or the result moved on.",
            ),
            422: OpenApiResponse(FieldErrorsSerializer, description="Invalid fields."),
        },
        tags=["review tasks"],
    )
    def post(self, request: Request, pk: int) -> Response:
        task = self.task(request, pk)
        if review.claim_state(task, request.user) != "mine":
            raise Conflict(
                "Claim this item before deciding, so nobody else works on it at the same time.",
                code="not_claimed",
            )
        try:
            result = get_result_for_user(
                request.user, public_id=task.interview.public_id, capability=Capability.DECIDE
            )
        except Http404:
            raise Conflict("This interview has no result to decide on.", code="no_result") from None
        decision = decision_from_request(request, result)
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)
