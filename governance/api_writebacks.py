"""REST API of the writeback outbox: ``/api/v1/writeback-jobs/`` (list, detail, retry).

Who: admins and auditors see every job (``governance.permissions.writeback_jobs_visible_to``);
anybody else sees none (404 for one). Retrying is the sync-health page's action, with the same
rule (``writeback_retry_allowed``: hiring-ops admins with the change permission; others 403) and
the same service (``sync_health_writeback_retry``: queued and audited, or refused with 409 when
the job is no longer failing or a newer write replaced it).
"""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from governance import audit
from governance.api import (
    CONFLICT_RESPONSE,
    ERROR_RESPONSES,
    Conflict,
    IdFilter,
    ScopedAPIView,
    date_range_filters,
    filterset,
    resource_views,
)
from governance.permissions import get_writeback_job_for_user, writeback_jobs_visible_to
from governance.sync_health import sync_health_writeback_retry, writeback_retry_allowed
from integrations.models import WritebackJob, WritebackKind, WritebackStatus

TAG = "writeback jobs"


class WritebackJobSerializer(serializers.ModelSerializer):
    """One write owed to the ATS and its retry state (the payload itself is not exposed)."""

    connection = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = WritebackJob
        fields = [
            "id",
            "connection",
            "application",
            "kind",
            "target",
            "status",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields


WritebackJobFilterSet = filterset(
    WritebackJob,
    "application__requisition",
    status=django_filters.MultipleChoiceFilter(choices=WritebackStatus.choices),
    kind=django_filters.ChoiceFilter(choices=WritebackKind.choices),
    connection=django_filters.CharFilter(field_name="connection__slug", max_length=50),
    application=IdFilter(field_name="application_id", label="Application id"),
    **date_range_filters("created_at", "created"),
    **date_range_filters("updated_at", "updated"),
)


def _jobs(user: Any) -> Any:
    return writeback_jobs_visible_to(user).select_related("connection")


WritebackJobListView, WritebackJobDetailView = resource_views(
    serializer=WritebackJobSerializer,
    filterset_class=WritebackJobFilterSet,
    queryset=_jobs,
    getter=get_writeback_job_for_user,
    tag=TAG,
    plural="Writeback jobs",
    singular="writeback job",
)


class WritebackJobRetryView(ScopedAPIView):
    """The sync-health page's Retry: queued and audited, or 409 when there is nothing to retry."""

    @extend_schema(
        summary="Queue a failed or dead writeback for a new attempt (hiring-ops admins)",
        request=None,
        responses={
            200: OpenApiResponse(WritebackJobSerializer, description="Queued; the job as now."),
            **ERROR_RESPONSES,
            409: CONFLICT_RESPONSE,
        },
        tags=[TAG],
    )
    def post(self, request: Request, pk: int) -> Response:
        job = get_writeback_job_for_user(request.user, pk=pk)
        if not writeback_retry_allowed(request.user):
            raise PermissionDenied("Retrying writebacks is for hiring-ops admins.")
        queued = sync_health_writeback_retry(
            job=job, actor=request.user, request_id=audit.request_id_of(request)
        )
        if not queued:
            raise Conflict(
                f"Writeback {job.pk} was not retried: it is no longer failing "
                "or a newer write replaced it.",
                code="not_retryable",
            )
        return Response(WritebackJobSerializer(_jobs(request.user).get(pk=job.pk)).data)
