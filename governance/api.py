"""REST API of the governance app: decisions on a result, and the API's shared error handling.

JSON only, session authentication with CSRF (DRF enforces the token on unsafe methods for
session-authenticated requests). Every endpoint fetches its object through a
``governance.permissions`` getter: an object outside the user's scope is a 404, a visible object
the user may not act on is a 403.

Error bodies (never HTML, never a 500 for bad input):

- 400 ``{"detail", "code"}``: malformed JSON.
- 401 ``{"detail", "code"}``: not signed in.
- 403 ``{"detail", "code"}``: no capability, or a missing/invalid CSRF token.
- 404 ``{"detail", "code"}``: unknown or invisible object (indistinguishable on purpose).
- 409 ``{"detail", "code"}``: the result moved on (a newer version, or a newer decision).
- 422 ``{"errors": {field: [message, ...]}}``: invalid fields; nothing was stored.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from governance import audit
from governance.capabilities import Capability
from governance.models import Decision, DecisionOutcome, OverrideReason
from governance.permissions import get_result_for_user
from governance.selectors import decisions_list
from governance.services import (
    DecisionConflictError,
    DecisionValidationError,
    ResultNotCurrentError,
    decision_record,
)

logger = logging.getLogger(__name__)

# Largest id a database column holds (bigint); larger numbers are field errors, not 500s.
MAX_ID = 2**63 - 1


# -- authentication and errors ----------------------------------------------------------------


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, answering 401 (not 403) when nobody is signed in.

    DRF turns "not authenticated" into 403 unless the first authenticator names a
    ``WWW-Authenticate`` challenge; naming one keeps 401 (who are you?) apart from 403 (you may
    not) for API clients.
    """

    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="screenbridge"'


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes the session cookie (and CSRF header) in the OpenAPI schema."""

    target_class = "governance.api.SessionAuthentication"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field; nothing was stored.",
    )


PUBLIC_ID = OpenApiParameter(
    "public_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="The interview's public id (the one in score-card links).",
)

ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
    403: OpenApiResponse(ErrorSerializer, description="No capability, or no valid CSRF token."),
    404: OpenApiResponse(ErrorSerializer, description="Unknown, or outside your scope."),
}


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler plus the decision errors, with a machine-readable ``code`` on every body."""
    if isinstance(exc, DecisionValidationError):
        set_rollback()
        return Response({"errors": exc.errors}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, DecisionConflictError):
        set_rollback()
        return Response({"detail": str(exc), "code": exc.code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response({"errors": detail}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, Http404):
        # Django's message could name the model or the lookup; say nothing more than this.
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        # A bug, not bad input: log it with its traceback, undo the request's writes, and still
        # answer in JSON.
        logger.error("Unhandled API error", exc_info=exc)
        set_rollback()
        return Response(
            {"detail": "Internal error; nothing was stored.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(response.data, dict) and "detail" in response.data:
        response.data["code"] = _code(exc) if isinstance(exc, exceptions.APIException) else "error"
    return response


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """JSON 404 for any path under /api/ that matches no endpoint (instead of an HTML page)."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


class ScopedAPIView(APIView):
    """Base of every API view: session auth (401 when absent), JSON in and out."""

    authentication_classes = [SessionAuthentication]


# -- serializers ------------------------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    """A recorded decision (immutable)."""

    result_version = serializers.IntegerField(source="result.version", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True)
    corrects = serializers.PrimaryKeyRelatedField(read_only=True)
    corrected_by = serializers.SerializerMethodField()

    class Meta:
        model = Decision
        fields = [
            "id",
            "result_version",
            "outcome",
            "recommended_outcome",
            "is_override",
            "override_reason",
            "override_text",
            "corrects",
            "corrected_by",
            "decided_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_corrected_by(self, decision: Decision) -> int | None:
        """The decision that replaced this one, if any."""
        correction = getattr(decision, "corrected_by", None)
        return correction.pk if correction is not None else None


def _optional_id(help_text: str) -> serializers.IntegerField:
    """An optional positive id (or version number) in a request body."""
    return serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_ID,
        help_text=help_text,
    )


class DecisionCreateSerializer(serializers.Serializer):
    """What a reviewer sends: the outcome, and for an override its reason."""

    outcome = serializers.ChoiceField(choices=DecisionOutcome.choices)
    override_reason = serializers.ChoiceField(
        choices=OverrideReason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the outcome departs from the band's recommendation.",
    )
    override_text = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Required for an override: at least 15 characters of explanation.",
    )
    corrects = _optional_id(
        "Id of the latest decision on this result, when this decision replaces it."
    )
    result_version = _optional_id(
        "The result version the reviewer read; 409 if a newer one has arrived."
    )


# -- views ------------------------------------------------------------------------------------


class ResultDecisionsView(ScopedAPIView):
    """``/api/results/<interview public id>/decisions/``"""

    @extend_schema(
        operation_id="results_decisions_list",
        summary="Decisions on an interview's results (every version), newest first",
        parameters=[PUBLIC_ID],
        responses={200: DecisionSerializer(many=True), **ERROR_RESPONSES},
        tags=["decisions"],
    )
    def get(self, request: Request, public_id: str) -> Response:
        result = get_result_for_user(
            request.user, public_id=public_id, capability=Capability.VIEW_SUMMARY
        )
        decisions = decisions_list(viewer=request.user, interview=result.interview)
        return Response(DecisionSerializer(decisions, many=True).data)

    @extend_schema(
        operation_id="results_decisions_create",
        summary="Record a decision on the interview's current result",
        parameters=[PUBLIC_ID],
        request=DecisionCreateSerializer,
        responses={
            201: DecisionSerializer,
            **ERROR_RESPONSES,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The result is no longer current, or already has a newer decision.",
            ),
            422: OpenApiResponse(
                FieldErrorsSerializer,
                description="Invalid fields (e.g. an override without a reason); nothing stored.",
            ),
        },
        tags=["decisions"],
    )
    def post(self, request: Request, public_id: str) -> Response:
        result = get_result_for_user(
            request.user, public_id=public_id, capability=Capability.DECIDE
        )
        payload = DecisionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if data["result_version"] is not None and data["result_version"] != result.version:
            raise ResultNotCurrentError(
                f"You read version {data['result_version']}; the current version is "
                f"{result.version}. Review it and decide again."
            )
        corrects = None
        if data["corrects"] is not None:
            corrects = (
                decisions_list(viewer=request.user, result=result)
                .filter(pk=data["corrects"])
                .first()
            )
            if corrects is None:
                raise DecisionValidationError(
                    {"corrects": ["No such decision on this result's current version."]}
                )
        decision = decision_record(
            result=result,
            actor=request.user,
            outcome=data["outcome"],
            override_reason=data["override_reason"],
            override_text=data["override_text"],
            corrects=corrects,
            request_id=audit.request_id_of(request),
        )
        decision = decisions_list(viewer=request.user, result=result).get(pk=decision.pk)
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)
