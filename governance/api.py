"""REST API of the governance app: decisions, and the API's shared machinery.

The API lives under ``/api/v1/`` (``config/api_urls.py``). JSON only. Two ways in:

- a per-user token, ``Authorization: Token <key>`` (``governance.api_tokens``; no CSRF needed);
- the browser session, with CSRF (DRF enforces the token on unsafe methods for
  session-authenticated requests).

Either way the request acts as that user: every list is a ``governance.permissions``
``*_visible_to`` queryset and every object is fetched through a ``get_*_for_user`` getter, the
same ones the pages use. An object outside the user's scope is a 404, a visible object the user
may not act on is a 403. Lists are cursor-paginated (``?cursor=``, ``?page_size=`` up to 100)
and filtered with query parameters (django-filter); requests are throttled per user
(``SCREENBRIDGE_API_THROTTLE_RATE``).

Error bodies (never HTML, never a 500 for bad input):

- 400 ``{"detail", "code", "errors"?}``: malformed JSON, a bad filter value or cursor.
- 401 ``{"detail", "code"}``: not signed in / no valid token.
- 403 ``{"detail", "code"}``: no capability, or a missing/invalid CSRF token.
- 404 ``{"detail", "code"}``: unknown or invisible object (indistinguishable on purpose).
- 409 ``{"detail", "code"}``: the object moved on (a newer result version or decision, a claim
  held by someone else, a writeback that cannot be retried).
- 422 ``{"errors": {field: [message, ...]}}``: invalid fields; nothing was stored.
- 429 ``{"detail", "code"}``: too many requests; ``Retry-After`` says when to come back.
"""

from __future__ import annotations

import logging
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import authentication, exceptions, generics, serializers, status, throttling
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from governance import audit
from governance.api_tokens import api_token_user
from governance.capabilities import Capability
from governance.models import Decision, DecisionOutcome, OverrideReason
from governance.permissions import (
    MAX_PK,
    decisions_visible_to,
    get_decision_for_user,
    get_result_for_user,
)
from governance.selectors import decisions_list
from governance.services import (
    DecisionConflictError,
    DecisionValidationError,
    ResultNotCurrentError,
    decision_record,
)
from interviews.models import InterviewResult

logger = logging.getLogger(__name__)

# Largest id a database column holds (bigint); larger numbers are field errors, not 500s.
MAX_ID = MAX_PK


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


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` with a key from ``manage.py create_api_token``.

    No header (or another scheme): not this authenticator's business, so the session may
    still authenticate. A ``Token`` header with a wrong, revoked or inactive user's key: 401.
    """

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Token <key>'.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        user = api_token_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes the token header in the OpenAPI schema."""

    target_class = "governance.api.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; issue a key with `manage.py create_api_token <user>`.",
        }


class UserRateThrottle(throttling.UserRateThrottle):
    """Per-user request budget, ``SCREENBRIDGE_API_THROTTLE_RATE`` (e.g. ``600/minute``);
    read on every request so the setting can change without a restart of the class."""

    def __init__(self) -> None:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate) if self.rate else (None, None)

    def get_rate(self) -> str | None:
        return getattr(settings, "SCREENBRIDGE_API_THROTTLE_RATE", None) or None


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field; nothing was stored.",
    )


class BadRequestSerializer(ErrorSerializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages per query parameter, for a bad filter value.",
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
    429: OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After."),
}
LIST_ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(BadRequestSerializer, description="A bad filter value or cursor."),
    401: ERROR_RESPONSES[401],
    429: ERROR_RESPONSES[429],
}
# For endpoints that read a JSON body: one that does not parse is a 400 (nothing stored).
PARSE_ERROR_RESPONSE = OpenApiResponse(
    ErrorSerializer, description="The body is not valid JSON; nothing was stored."
)
CONFLICT_RESPONSE = OpenApiResponse(
    ErrorSerializer, description="The object moved on; read it again and retry."
)


class Conflict(exceptions.APIException):
    """409: the request does not fit the object's current state (nothing changed)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object changed; read it again."
    default_code = "conflict"


class InvalidQueryError(exceptions.APIException):
    """400 for query parameters that do not parse (filters); ``errors`` names each one."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Invalid query parameters."
    default_code = "invalid_query"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__()
        self.errors = errors


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
    if isinstance(exc, InvalidQueryError):
        set_rollback()
        body = {"detail": str(exc.detail), "code": exc.default_code, "errors": exc.errors}
        return Response(body, status=exc.status_code)
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


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """JSON 404 for any path under /api/ that matches no endpoint (instead of an HTML page).

    CSRF-exempt: it changes nothing, and a POST to a mistyped path should learn "not found",
    not meet Django's HTML CSRF page."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


API_AUTHENTICATION = [SessionAuthentication, TokenAuthentication]


class ScopedAPIView(APIView):
    """Base of every API view: session or token auth (401 when absent), JSON, throttled."""

    authentication_classes = API_AUTHENTICATION
    throttle_classes = [UserRateThrottle]


# -- lists: cursor pagination and filters -----------------------------------------------------


class ApiCursorPagination(CursorPagination):
    """Newest first by default; a cursor that does not decode is a 400, not a 404."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-created_at", "-pk")

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise self._invalid() from None
        if cursor is not None and cursor.position is not None:
            # Our orderings start with a date-time column (``*_at``): the position must be an
            # aware ISO 8601 date-time, as encode_cursor writes it.
            try:
                position = parse_datetime(cursor.position) if len(cursor.position) < 40 else None
            except ValueError:  # well-formed but impossible, e.g. month 13
                position = None
            if position is None or position.tzinfo is None:
                raise self._invalid()
        return cursor

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> Any:
        # A cursor decodes to a position that is compared with the ordering column; a forged
        # position that is no value of that column ("p=abc" for a date) is bad input too.
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError, OverflowError, DatabaseError):
            raise self._invalid() from None

    def _invalid(self) -> InvalidQueryError:
        return InvalidQueryError({self.cursor_query_param: ["Invalid cursor."]})


class FilterBackend(DjangoFilterBackend):
    """django-filter, answering a bad value with our 400 body."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise InvalidQueryError({k: list(v) for k, v in filterset.errors.items()})
        return filterset.qs


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An object id: a whole number in the database's range (anything else is a 400)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_PK)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or 1/0); anything else is an error, not "no filter"."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.VALUES[str(value).lower()]
        except KeyError:
            raise forms.ValidationError("Use true or false.") from None

    def validate(self, value: Any) -> None:
        return None


class BoolFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # A plain text widget: the select widget would turn an unknown value into "unknown".
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class BoundedDateTimeField(forms.DateTimeField):
    """ISO 8601 date-time between the years 1900 and 9000 (far dates cannot overflow)."""

    input_formats = ["iso-8601"]

    def to_python(self, value: Any) -> Any:
        result = super().to_python(value)
        if result is not None and not 1900 <= result.year <= 9000:
            raise forms.ValidationError("Use a date between the years 1900 and 9000.")
        return result


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedDateTimeField


def date_range_filters(field: str, label: str) -> dict[str, DateTimeFilter]:
    """``<label>_after`` (inclusive) and ``<label>_before`` (exclusive) on ``field``."""
    return {
        f"{label}_after": DateTimeFilter(
            field_name=field, lookup_expr="gte", label=f"{label} at or after (ISO 8601)"
        ),
        f"{label}_before": DateTimeFilter(
            field_name=field, lookup_expr="lt", label=f"{label} before (ISO 8601)"
        ),
    }


def scope_filters(requisition_path: str) -> dict[str, IdFilter]:
    """``requisition`` and ``role_family`` ids, for anything that belongs to a requisition."""
    return {
        "requisition": IdFilter(field_name=requisition_path, label="Requisition id"),
        "role_family": IdFilter(
            field_name=f"{requisition_path}__role_family_membership__role_family_id",
            label="Role family id",
        ),
    }


def filterset(model: Any, requisition_path: str | None = None, **filters: Any) -> type:
    """A FilterSet class for ``model``: the scope filters plus ``filters``."""
    declared = {**(scope_filters(requisition_path) if requisition_path else {}), **filters}
    meta = type("Meta", (), {"model": model, "fields": []})
    return type(
        f"{model.__name__}FilterSet", (django_filters.FilterSet,), {**declared, "Meta": meta}
    )


class ScopedListView(ScopedAPIView, generics.ListAPIView):
    """A cursor-paginated, filtered list of the rows ``scoped_queryset`` lets the user see."""

    pagination_class = ApiCursorPagination
    filter_backends = [FilterBackend]

    def scoped_queryset(self, user: Any) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        return self.scoped_queryset(self.request.user)


class ScopedDetailView(ScopedAPIView):
    """``GET`` one object through a ``get_*_for_user`` getter (404 when out of scope)."""

    serializer_class: type[serializers.Serializer]

    def get_object(self, request: Request, **kwargs: Any) -> Any:
        raise NotImplementedError

    def get(self, request: Request, **kwargs: Any) -> Response:
        obj = self.get_object(request, **kwargs)
        return Response(self.serializer_class(obj, context={"request": request}).data)


def detail_schema(
    serializer: Any, *, tag: str, summary: str, parameters: list[OpenApiParameter] | None = None
) -> Any:
    """Schema of a ``ScopedDetailView`` subclass (decorate the class)."""
    return extend_schema_view(
        get=extend_schema(
            summary=summary,
            parameters=parameters or [],
            responses={200: serializer, **ERROR_RESPONSES},
            tags=[tag],
        )
    )


def resource_views(
    *,
    serializer: type[serializers.Serializer],
    filterset_class: type,
    queryset: Any,
    getter: Any,
    tag: str,
    plural: str,
    singular: str,
    lookup: str = "pk",
    parameters: list[OpenApiParameter] | None = None,
    pagination: type[CursorPagination] = ApiCursorPagination,
) -> tuple[type[ScopedListView], type[ScopedDetailView]]:
    """The list and detail views of one resource.

    ``queryset(user)`` is the scoped, ``select_related`` rows the user may see; ``getter`` a
    ``governance.permissions.get_*_for_user`` (404 out of scope), called with ``lookup``.
    """

    @list_schema(serializer, tag=tag, summary=f"{plural} you may see")
    class ListView(ScopedListView):
        serializer_class = serializer
        pagination_class = pagination

        def scoped_queryset(self, user: Any) -> QuerySet:
            return queryset(user)

    @detail_schema(serializer, tag=tag, summary=f"One {singular}", parameters=parameters)
    class DetailView(ScopedDetailView):
        serializer_class = serializer

        def get_object(self, request: Request, **kwargs: Any) -> Any:
            obj = getter(request.user, **{lookup: kwargs[lookup]})
            return queryset(request.user).get(pk=obj.pk)

    ListView.filterset_class = filterset_class
    name = "".join(part.title() for part in singular.split())
    for view, suffix, doc in (
        (ListView, "ListView", f"{plural} you may see, newest first (cursor-paginated)."),
        (DetailView, "DetailView", f"One {singular}; 404 when it is outside your scope."),
    ):
        view.__name__ = view.__qualname__ = f"{name}{suffix}"
        view.__doc__ = doc
    return ListView, DetailView


def list_schema(serializer: Any, *, tag: str, summary: str) -> Any:
    return extend_schema(
        summary=summary, responses={200: serializer(many=True), **LIST_ERROR_RESPONSES}, tags=[tag]
    )


# -- serializers ------------------------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    """A recorded decision (immutable)."""

    result_version = serializers.IntegerField(source="result.version", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True)
    override_reason = serializers.ChoiceField(
        choices=OverrideReason.choices, allow_blank=True, read_only=True
    )
    corrects = serializers.IntegerField(source="corrects_id", allow_null=True, read_only=True)
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
    """Decisions on an interview's results; recording one needs the decide capability."""

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
            400: PARSE_ERROR_RESPONSE,
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
        decision = decision_from_request(request, result)
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


def decision_from_request(request: Request, result: InterviewResult) -> Decision:
    """Validate a ``DecisionCreateSerializer`` body and record it with ``decision_record``.

    Shared by ``POST results/<id>/decisions/`` and ``POST review-tasks/<id>/decide/``; the
    caller has checked the decide capability on ``result``.
    """
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
            decisions_list(viewer=request.user, result=result).filter(pk=data["corrects"]).first()
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
    return decisions_list(viewer=request.user, result=result).get(pk=decision.pk)


# -- decisions across results -----------------------------------------------------------------


class DecisionListItemSerializer(DecisionSerializer):
    """A decision with the interview and requisition it belongs to."""

    interview = serializers.UUIDField(source="result.interview.public_id", read_only=True)
    requisition = serializers.IntegerField(source="application.requisition_id", read_only=True)

    class Meta(DecisionSerializer.Meta):
        fields = ["interview", "requisition", *DecisionSerializer.Meta.fields]
        read_only_fields = fields


DecisionFilterSet = filterset(
    Decision,
    "application__requisition",
    outcome=django_filters.ChoiceFilter(choices=DecisionOutcome.choices),
    is_override=BoolFilter(),
    override_reason=django_filters.ChoiceFilter(choices=OverrideReason.choices),
    **date_range_filters("created_at", "decided"),
)


def decisions_for_api(user: Any) -> QuerySet[Decision]:
    return decisions_visible_to(user).select_related(
        "decided_by", "result__interview", "application", "corrects", "corrected_by"
    )


DecisionListView, DecisionDetailView = resource_views(
    serializer=DecisionListItemSerializer,
    filterset_class=DecisionFilterSet,
    queryset=decisions_for_api,
    getter=get_decision_for_user,
    tag="decisions",
    plural="Decisions",
    singular="decision",
)
