"""``GET /api/v1/metrics/``: the adoption metrics of ``/metrics/`` as JSON.

Same filters (``role_family`` slug, ``requisition`` id, ``connection`` slug, ``since`` and
``until`` ISO dates), same scope (recruiters and hiring managers: their requisitions only),
same numbers: the form, :func:`governance.metrics.compute` and the flat rows of the CSV export
are shared with the page, the CSV and ``manage.py metrics_report``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from governance.api import ERROR_RESPONSES, LIST_ERROR_RESPONSES, InvalidQueryError, ScopedAPIView
from governance.metrics import compute
from governance.metrics.export import report_rows
from governance.metrics.forms import MetricsFilterForm
from governance.roles import user_roles


class MetricRowSerializer(serializers.Serializer):
    section = serializers.CharField()
    metric = serializers.CharField()
    cohort = serializers.CharField()
    group = serializers.CharField(allow_blank=True)
    value = serializers.FloatField(allow_null=True)
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)
    unit = serializers.CharField(allow_blank=True)


class MetricsFiltersSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    role_family_id = serializers.IntegerField(allow_null=True)
    requisition_id = serializers.IntegerField(allow_null=True)
    connection_id = serializers.IntegerField(allow_null=True)


class MetricsSerializer(serializers.Serializer):
    filters = MetricsFiltersSerializer()
    generated_at = serializers.DateTimeField()
    rows = MetricRowSerializer(many=True)


def _parameter(name: str, kind: Any, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description)


class MetricsView(ScopedAPIView):
    @extend_schema(
        tags=["metrics"],
        summary="Adoption metrics, pilot vs. baseline (the /metrics/ page as rows)",
        parameters=[
            _parameter("role_family", OpenApiTypes.STR, "Role family slug."),
            _parameter("requisition", OpenApiTypes.INT, "Requisition id."),
            _parameter("connection", OpenApiTypes.STR, "ATS connection slug."),
            _parameter("since", OpenApiTypes.DATE, "First day (default: 12 weeks ago)."),
            _parameter("until", OpenApiTypes.DATE, "Last day (default: today)."),
        ],
        responses={
            200: MetricsSerializer,
            **LIST_ERROR_RESPONSES,
            403: OpenApiResponse(ERROR_RESPONSES[403].response, description="No role."),
        },
    )
    def get(self, request: Request) -> Response:
        if not user_roles(request.user):
            raise PermissionDenied("Metrics are for people with a Screenbridge role.")
        form = MetricsFilterForm(request.query_params, viewer=request.user)
        if not form.is_valid():
            raise InvalidQueryError(
                {field: [str(m) for m in messages] for field, messages in form.errors.items()}
            )
        report = compute(form.filters(), viewer=request.user)
        body = {
            "filters": asdict(report.filters),
            "generated_at": report.generated_at,
            "rows": [asdict(row) for row in report_rows(report)],
        }
        return Response(MetricsSerializer(body).data)
